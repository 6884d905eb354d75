//! `schema`: prints the JSON Schema of the `analyze` document.

use std::io::Write;

use super::{Context, EXIT_INPUT};

pub fn run(ctx: &Context) -> u8 {
    let schema = crate::report::analyze_schema();
    let text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|_| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            ctx.error(&format!("writing the schema: {e}"));
            EXIT_INPUT
        }
    }
}
