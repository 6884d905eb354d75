//! `fix` subcommand. STUB: not implemented yet.

use crate::cli::FixArgs;

use super::Context;

pub fn run(ctx: &Context, args: &FixArgs) -> u8 {
    let _ = args;
    ctx.warn("fix: not implemented yet");
    super::EXIT_USAGE
}
