//! `collect-script --out DIR`: writes collect-mdi-proxy.cmd and its README.

use std::io::Write;
use std::path::Path;

use crate::cli::{CollectFormat, CollectScriptArgs};
use crate::input;
use crate::scripts::collect::{self, CollectOptions, GeneratedFile};

use super::{Context, EXIT_FINDING, EXIT_INPUT, EXIT_USAGE};

pub fn run(ctx: &Context, args: &CollectScriptArgs) -> u8 {
    // `--endpoint`/`--workspace` were checked when the command line was read.
    let opts = CollectOptions {
        endpoint: args.endpoint.host(),
    };
    let files = match collect::generate(&opts) {
        Ok(f) => f,
        Err(e) => {
            ctx.warn(&format!("collect-script: {e}"));
            return EXIT_USAGE;
        }
    };
    if let Err((msg, code)) = write_files(&args.out, &files, args.force) {
        ctx.warn(&format!("collect-script: {msg}"));
        return code;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.format == CollectFormat::Json {
        let doc = serde_json::json!({
            "schema_version": crate::SCHEMA_VERSION,
            "out": args.out.to_string_lossy(),
            "endpoint": opts.endpoint,
            "files": files,
            "items": collect::planned_items(&opts),
        });
        let _ = writeln!(out, "{doc}");
    } else {
        let _ = writeln!(out, "Wrote to {}:", input::display_name(&args.out));
        for f in &files {
            let _ = writeln!(out, "  {} ({} bytes)", f.name, f.size);
        }
        let _ = writeln!(
            out,
            "Probe endpoint: {}",
            opts.endpoint
                .as_deref()
                .unwrap_or("read from SensorConfiguration.json on the domain controller")
        );
        let _ = writeln!(
            out,
            "Have the customer run {} from an elevated command prompt and send back the zip it names.",
            collect::SCRIPT_NAME
        );
    }
    0
}

/// Writes the files; refuses to overwrite without `--force`.
fn write_files(dir: &Path, files: &[GeneratedFile], force: bool) -> Result<(), (String, u8)> {
    if dir.exists() && !dir.is_dir() {
        return Err((
            format!("{} exists and is not a directory", input::display_name(dir)),
            EXIT_INPUT,
        ));
    }
    if !force {
        let existing: Vec<&str> = files
            .iter()
            .filter(|f| dir.join(f.name).exists())
            .map(|f| f.name)
            .collect();
        if !existing.is_empty() {
            return Err((
                format!(
                    "refusing to overwrite {} in {} (use --force)",
                    existing.join(", "),
                    input::display_name(dir)
                ),
                EXIT_FINDING,
            ));
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| (format!("{}: {e}", input::display_name(dir)), EXIT_INPUT))?;
    for f in files {
        let path = dir.join(f.name);
        std::fs::write(&path, &f.bytes)
            .map_err(|e| (format!("{}: {e}", input::display_name(&path)), EXIT_INPUT))?;
    }
    Ok(())
}
