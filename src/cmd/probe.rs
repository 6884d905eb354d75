//! `probe` subcommand. STUB: not implemented yet.

use crate::cli::ProbeArgs;

use super::Context;

pub fn run(ctx: &Context, args: &ProbeArgs) -> u8 {
    let _ = args;
    ctx.warn("probe: not implemented yet");
    super::EXIT_USAGE
}
