//! `completions SHELL` and `man`: generated from the clap definition in [`crate::cli`], so
//! they list exactly the commands, flags and `--format` values the binary accepts.

use std::io;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

use super::{write_stdout, Context, EXIT_OK};

/// The binary's name in completion scripts and the man page.
const BIN: &str = "proxy-triage";

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    // Generated into memory: clap_complete panics on a failing writer (a closed stdout).
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    out
}

/// The man page (roff): the main page, then one section per command with its synopsis,
/// options and examples.
pub fn man_page() -> io::Result<Vec<u8>> {
    let mut cmd = Cli::command().bin_name(BIN);
    cmd.build();
    let mut main = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut main)?;
    let mut out = title_first(&main);
    // `help` has its own `proxy-triage help COMMAND`; it needs no section.
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let has_extra = sub.get_after_help().is_some() || sub.get_after_long_help().is_some();
        let name = format!("{BIN} {}", sub.get_name());
        let sub = sub.clone().bin_name(name.clone());
        let man = clap_mangen::Man::new(sub);
        let mut part = Vec::new();
        man.render_description_section(&mut part)?;
        man.render_synopsis_section(&mut part)?;
        man.render_options_section(&mut part)?;
        if has_extra {
            man.render_extra_section(&mut part)?;
        }
        out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        out.extend_from_slice(&demote_headings(&part));
    }
    Ok(tidy(&out))
}

/// Final touches: the `after_help` text (exit codes, examples) kept as written (`.nf`) under a
/// real heading instead of clap_mangen's `EXTRA`, and the `Aq` string defined once.
fn tidy(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len() + 64);
    let mut aq_defined = false;
    let mut in_nofill = false;
    for line in text.lines() {
        // clap_mangen defines `Aq` (`.ie` + `.el`) at the start of every rendered part.
        if line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq") {
            if !aq_defined {
                out.push_str(line);
                out.push('\n');
                aq_defined = line.starts_with(".el");
            }
            continue;
        }
        if in_nofill && (line.starts_with(".SH") || line.starts_with(".SS")) {
            out.push_str(".fi\n");
            in_nofill = false;
        }
        match line {
            ".SH EXTRA" => {
                out.push_str(".SH \"EXIT CODES AND EXAMPLES\"\n.nf\n");
                in_nofill = true;
            }
            ".SS EXTRA" => {
                out.push_str(".SS EXAMPLES\n.nf\n");
                in_nofill = true;
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if in_nofill {
        out.push_str(".fi\n");
    }
    out.into_bytes()
}

/// Moves the `.TH` line to the top: clap_mangen writes the definition of the `Aq` string
/// first, and `man`/`file`/`mandb` expect a page to start with `.TH`. The definition still
/// precedes every use.
fn title_first(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let (title, rest): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with(".TH "));
    let mut out = String::with_capacity(text.len() + 1);
    for line in title.into_iter().chain(rest) {
        out.push_str(line);
        out.push('\n');
    }
    out.into_bytes()
}

/// Turns `.SH` headings into `.SS` (a command's sections sit under its own heading), and
/// drops the sub-page's `DESCRIPTION` heading (the command's heading stands for it).
fn demote_headings(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line == ".SH DESCRIPTION" {
            continue;
        }
        match line.strip_prefix(".SH ") {
            Some(rest) => {
                out.push_str(".SS ");
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// `completions SHELL`.
pub fn run_completions(ctx: &Context, shell: Shell) -> u8 {
    match write_stdout(&completion_script(shell)) {
        Ok(()) => EXIT_OK,
        Err(e) => ctx.stdout_failed(&e),
    }
}

/// `man`.
pub fn run_man(ctx: &Context) -> u8 {
    let page = match man_page() {
        Ok(p) => p,
        Err(e) => {
            ctx.error(&format!("man: {e}"));
            return super::EXIT_INPUT;
        }
    };
    match write_stdout(&page) {
        Ok(()) => EXIT_OK,
        Err(e) => ctx.stdout_failed(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_every_command_and_only_the_right_formats() {
        let bash = String::from_utf8(completion_script(Shell::Bash))
            .unwrap_or_else(|e| panic!("utf-8: {e}"));
        for cmd in [
            "analyze",
            "parse",
            "decode",
            "probe",
            "fix",
            "completions",
            "man",
        ] {
            assert!(bash.contains(cmd), "{cmd} missing");
        }
        for shell in [Shell::Zsh, Shell::Fish, Shell::PowerShell, Shell::Elvish] {
            assert!(!completion_script(shell).is_empty(), "{shell}");
        }
    }

    #[test]
    fn man_page_has_a_section_per_command() {
        let page = man_page().unwrap_or_else(|e| panic!("man: {e}"));
        let page = String::from_utf8_lossy(&page);
        assert!(page.starts_with(".TH"), "{}", page.get(..80).unwrap_or(""));
        for heading in [
            ".SH \"PROXY-TRIAGE ANALYZE\"",
            ".SH \"PROXY-TRIAGE DECODE\"",
            ".SH \"PROXY-TRIAGE MAN\"",
        ] {
            assert!(page.contains(heading), "{heading} missing");
        }
        assert!(page.contains("Exit codes"), "exit codes missing");
        assert!(page.contains(".SH \"EXIT CODES AND EXAMPLES\"\n.nf\n"));
        assert_eq!(
            page.matches(".ds Aq").count(),
            2,
            "Aq defined once (.ie/.el)"
        );
        let lines: Vec<&str> = page.lines().collect();
        let count = |l: &str| lines.iter().filter(|x| **x == l).count();
        assert_eq!(count(".nf"), count(".fi"));
        assert_eq!(
            count(".nf"),
            11,
            "the main page and each of its ten commands"
        );
        assert!(!page.contains("PROXY-TRIAGE HELP"));
    }
}
