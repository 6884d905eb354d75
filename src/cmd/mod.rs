//! Glue for each subcommand: arguments in, library calls, exit code out.

use std::io::IsTerminal;

use crate::cli::{Cli, ColorChoice, Format};

pub mod analyze;
pub mod decode;
pub mod fix;
pub mod pac;
pub mod parse;
pub mod probe;

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

    /// The format a command uses when none was given: a table for people, JSON for pipes.
    pub fn auto_format(&self, given: Option<Format>) -> Format {
        given.unwrap_or(if self.stdout_is_terminal {
            Format::Table
        } else {
            Format::Json
        })
    }

    /// Prints a diagnostic line to stderr unless quiet (customer text escaped).
    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            eprintln!("proxy-triage: {}", crate::text::escape_control(msg));
        }
    }
}
