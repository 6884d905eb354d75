//! `decode` subcommand. STUB: not implemented yet.

use crate::cli::DecodeArgs;

use super::Context;

pub fn run(ctx: &Context, args: &DecodeArgs) -> u8 {
    let _ = args;
    ctx.warn("decode: not implemented yet");
    super::EXIT_USAGE
}
