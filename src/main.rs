//! The `proxy-triage` binary: command-line arguments to library calls and exit codes.

use std::process::ExitCode;

use clap::Parser;
use mimalloc::MiMalloc;
use proxy_triage::cli::{Cli, Command};
use proxy_triage::cmd;

/// Thousands of small uploads allocate and free from two threads at once; mimalloc's
/// per-thread heaps cut that cost (measured in the README's batch benchmark).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // A closed stdout while printing --help or --version is not an error either.
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(cmd::EXIT_USAGE),
            };
        }
    };
    let ctx = cmd::Context::from_cli(&cli);
    let code = match &cli.command {
        Command::Analyze(args) => cmd::analyze::run(&ctx, args),
        Command::Parse(args) => cmd::parse::run(&ctx, args),
        Command::Decode(args) => cmd::decode::run(&ctx, args),
        Command::Probe(args) => cmd::probe::run(&ctx, args),
        Command::Fix(args) => cmd::fix::run(&ctx, args),
        Command::Completions(args) => cmd::completions::run_completions(&ctx, args.shell),
        Command::Man => cmd::completions::run_man(&ctx),
        Command::Schema => cmd::schema::run(&ctx),
        Command::CollectScript(args) => cmd::collect::run(&ctx, args),
        Command::Pac(args) => cmd::pac::run(&ctx, args),
    };
    ExitCode::from(code)
}
