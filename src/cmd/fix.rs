//! `fix PATH... --out DIR`: writes the documented remediation for one case.

use std::io::Write;
use std::path::Path;

use crate::case::{self, AnalyzeOptions};
use crate::cli::{FixArgs, FixFormat};
use crate::fix::{self, FixPlan};
use crate::input::{self, CaseInput};

use super::analyze::limits_from;
use super::{Context, EXIT_FINDING, EXIT_INPUT, EXIT_USAGE};

pub fn run(ctx: &Context, args: &FixArgs) -> u8 {
    // A path that does not exist is unreadable input (exit 2), not "nothing to fix".
    let missing = super::missing_paths(&args.paths);
    if !missing.is_empty() {
        for p in missing {
            ctx.error(&input::missing_message(p));
        }
        return EXIT_INPUT;
    }
    let limits = limits_from(&args.limits);
    // Everything given on the command line is one case.
    let mut merged = CaseInput::default();
    for c in input::cases_from_paths(&args.paths, &limits) {
        if merged.name.is_empty() {
            merged.name = c.name.clone();
        }
        merged.uploads.extend(c.uploads);
        merged.skipped.extend(c.skipped);
    }
    for s in &merged.skipped {
        ctx.error(&format!("{}: {}", s.name, s.reason));
    }
    if merged.uploads.is_empty() && !merged.skipped.is_empty() {
        // Nothing could be read: that is unreadable input, not "nothing to fix".
        return EXIT_INPUT;
    }
    let assembled = case::assemble(&merged, &AnalyzeOptions { limits });
    let (report, resolved) = case::judge_with_settings(assembled, Vec::new());
    let plan = match fix::plan(&report, &resolved) {
        Ok(p) => p,
        Err(refusal) => {
            if args.format == FixFormat::Json {
                let doc = serde_json::json!({
                    "schema_version": crate::SCHEMA_VERSION,
                    "case": report.case,
                    "written": false,
                    "refused": refusal.to_string(),
                    "verdict": report.verdict,
                    "changes": [],
                    "files": [],
                });
                if let Err(e) = super::write_stdout(format!("{doc}\n").as_bytes()) {
                    if !super::is_closed_stdout(&e) {
                        ctx.error(&format!("writing the output: {e}"));
                    }
                }
            }
            ctx.warn(&format!("fix: not written: {refusal}"));
            return EXIT_FINDING;
        }
    };
    if !args.dry_run {
        if let Err(msg) = write_files(&args.out, &plan, args.force) {
            ctx.warn(&format!("fix: {msg}"));
            return if msg.starts_with("refusing") {
                EXIT_FINDING
            } else {
                EXIT_INPUT
            };
        }
    }
    print_summary(args, &plan);
    0
}

fn write_files(dir: &Path, plan: &FixPlan, force: bool) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "{} exists and is not a directory",
            input::display_name(dir)
        ));
    }
    if !force {
        let existing: Vec<String> = plan
            .files
            .iter()
            .filter(|f| dir.join(f.name).exists())
            .map(|f| f.name.to_string())
            .collect();
        if !existing.is_empty() {
            return Err(format!(
                "refusing to overwrite {} in {} (use --force)",
                existing.join(", "),
                input::display_name(dir)
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", input::display_name(dir)))?;
    for f in &plan.files {
        let path = dir.join(f.name);
        std::fs::write(&path, &f.bytes)
            .map_err(|e| format!("{}: {e}", input::display_name(&path)))?;
    }
    Ok(())
}

fn print_summary(args: &FixArgs, plan: &FixPlan) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.format == FixFormat::Json {
        let doc = serde_json::json!({
            "schema_version": crate::SCHEMA_VERSION,
            "case": plan.case,
            "written": !args.dry_run,
            "dry_run": args.dry_run,
            "out": args.out.to_string_lossy(),
            "refused": null,
            "changes": plan.changes,
            "files": plan.files,
        });
        let _ = writeln!(out, "{doc}");
        return;
    }
    let verb = if args.dry_run { "Would write" } else { "Wrote" };
    let _ = writeln!(out, "{verb} to {}:", input::display_name(&args.out));
    for f in &plan.files {
        let _ = writeln!(out, "  {} ({} bytes)", f.name, f.size);
    }
    for c in &plan.changes {
        let _ = writeln!(
            out,
            "Sets {}\\{} ({}) from {} because of {}",
            c.key,
            c.value,
            c.principal.label(),
            crate::text::escape_control(&c.source.to_string()),
            c.finding
        );
    }
    let _ = EXIT_USAGE;
}
