//! `analyze` subcommand. STUB: not implemented yet.

use crate::cli::AnalyzeArgs;

use super::Context;

pub fn run(ctx: &Context, args: &AnalyzeArgs) -> u8 {
    let _ = args;
    ctx.warn("analyze: not implemented yet");
    super::EXIT_USAGE
}
