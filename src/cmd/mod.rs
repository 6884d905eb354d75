//! Glue for each subcommand: arguments in, library calls, exit code out.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use crate::cli::{Cli, ColorChoice};

pub mod analyze;
pub mod collect;
pub mod completions;
pub mod decode;
pub mod fix;
pub mod pac;
pub mod parse;
pub mod probe;
pub mod schema;

/// Exit code: success, and also a closed stdout (`| head`): the reader has what it wanted.
pub const EXIT_OK: u8 = 0;
/// Exit code: a finding of severity error (analyze), a refused fix, a failed probe.
pub const EXIT_FINDING: u8 = 1;
/// Exit code: some input could not be read or parsed at all.
pub const EXIT_INPUT: u8 = 2;
/// Exit code: usage error.
pub const EXIT_USAGE: u8 = 3;

/// Settings every command shares.
#[derive(Debug, Clone)]
pub struct Context {
    pub quiet: bool,
    pub color: bool,
    pub threads: Option<usize>,
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> Context {
        let stdout_is_terminal = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && !no_color,
        };
        Context {
            quiet: cli.quiet,
            color,
            threads: cli.threads,
            stdout_is_terminal,
            stderr_is_terminal: std::io::stderr().is_terminal(),
        }
    }

    /// The format a command uses when none was given: `table` for people (stdout is a
    /// terminal), `json` for pipes. Generic over each command's own format enum.
    pub fn pick_format<F>(&self, given: Option<F>, table: F, json: F) -> F {
        given.unwrap_or(if self.stdout_is_terminal { table } else { json })
    }

    /// Prints a diagnostic line to stderr unless quiet (customer text escaped). Never for why
    /// an input could not be read: that is [`Context::error`].
    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            self.error(msg);
        }
    }

    /// Prints an error line to stderr even with `-q`: why an input could not be read, why a
    /// command refused. Quiet hides progress and diagnostics, never the reason for exit 2.
    pub fn error(&self, msg: &str) {
        let mut err = io::stderr().lock();
        // Not eprintln!, which panics when stderr is a closed pipe (`2>&1 | head`); a failing
        // stderr has nowhere left to be reported.
        let _ = writeln!(err, "proxy-triage: {}", crate::text::escape_control(msg));
    }

    /// The exit code after writing the result to stdout failed: 0 when the reader went away
    /// (`| head`, a closed pager), silently; otherwise the error on stderr and exit 2.
    pub fn stdout_failed(&self, e: &io::Error) -> u8 {
        if is_closed_stdout(e) {
            EXIT_OK
        } else {
            self.error(&format!("writing the output: {e}"));
            EXIT_INPUT
        }
    }
}

/// Width of a table when stdout is not a terminal: `COLUMNS` when it holds a usable number,
/// else 100 (on a terminal, comfy-table reads the terminal's width itself).
pub fn piped_table_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w >= MIN_TABLE_WIDTH)
        .unwrap_or(DEFAULT_TABLE_WIDTH)
}

/// Table width when stdout is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_TABLE_WIDTH: u16 = 100;
/// Narrowest `COLUMNS` honoured (below it a two-column table cannot show anything).
const MIN_TABLE_WIDTH: u16 = 40;

/// The error means stdout's reader has gone (a broken pipe): not a failure of the command.
pub fn is_closed_stdout(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Writes `bytes` to stdout and flushes. Use it (never `println!`, which panics on a closed
/// pipe) and map an error with [`Context::stdout_failed`].
pub fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// The command-line paths that do not exist (`-`, stdin, always exists). A path that is
/// there but unreadable is left to the reader, which says why.
pub fn missing_paths<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> Vec<&'a PathBuf> {
    paths
        .into_iter()
        .filter(|p| p.as_os_str() != "-" && crate::input::path_is_missing(p))
        .collect()
}
