//! `fix PATH... --out DIR`: writes the documented remediation for one case.
//!
//! [`request_from_case`] is the only place that knows the case layer: it turns today's
//! `CaseReport`/`Resolved` into a [`fix::FixRequest`]. Everything else is plain I/O.

use std::io::Write;
use std::path::Path;

use crate::case::model::{CaseReport, State};
use crate::case::principals::Principal;
use crate::case::resolve::CompareOutcome;
use crate::case::{self, AnalyzeOptions, FindingId, ResolveOptions, Resolved};
use crate::cli::{FixArgs, FixFormat};
use crate::fix::{
    self, AccountEvidence, FixPlan, FixRequest, OtherError, Refusal, ServiceAccount, Shown,
    SourceRef, UserBlob,
};
use crate::input::{self, CaseInput};

use super::analyze::limits_from;
use super::{Context, EXIT_FINDING, EXIT_INPUT};

pub fn run(ctx: &Context, args: &FixArgs) -> u8 {
    // A path that does not exist: one line, exit 2, never "nothing to fix".
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
    let (roots, missing) = input::case_roots(&args.paths);
    merged.skipped.extend(missing);
    for c in roots.iter().map(|r| input::case_from_root(r, &limits)) {
        if merged.name.is_empty() {
            merged.name = c.name.clone();
        }
        merged.uploads.extend(c.uploads);
        merged.skipped.extend(c.skipped);
    }
    let endpoint = args.endpoint.host();
    let assembled = case::assemble(
        &merged,
        &AnalyzeOptions {
            limits,
            hive: super::analyze::hive_limits_from(&args.limits),
        },
    );
    // A fix written from part of the evidence could copy the wrong value: stop instead.
    let unreadable: Vec<String> = assembled
        .inputs
        .iter()
        .filter_map(|i| i.error.as_ref().map(|e| format!("{}: {e}", i.file)))
        .collect();
    if !unreadable.is_empty() {
        for u in &unreadable {
            ctx.error(u);
        }
        ctx.error("fix: not written: some input could not be read (see above)");
        if args.format == FixFormat::Json {
            println!(
                "{}",
                serde_json::json!({
                    "schema_version": crate::SCHEMA_VERSION,
                    "written": false,
                    "refused": null,
                    "unreadable": unreadable,
                })
            );
        }
        return EXIT_INPUT;
    }
    // The tool's own files (an earlier fix's output) are read but never evidence.
    for i in assembled.inputs.iter() {
        if let Some(why) = &i.ignored {
            ctx.warn(&format!("ignored: {}: {why}", i.file));
        }
    }
    let resolved = case::resolve(
        assembled,
        &ResolveOptions {
            endpoint,
            ..ResolveOptions::default()
        },
    );
    let report = case::judge(&resolved, &[]);
    let request = request_from_case(&report, &resolved);
    let plan = match fix::plan(&request, args.use_file.as_deref()) {
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
                println!("{doc}");
            }
            ctx.warn(&format!("fix: not written: {refusal}"));
            return match refusal {
                Refusal::UseNotFound { .. } => EXIT_INPUT,
                Refusal::SensorProxy(_)
                | Refusal::MachineWidePolicy
                | Refusal::CurrentUserDirect
                | Refusal::NothingToFix
                | Refusal::NoReferenceBlob
                | Refusal::UsersDisagree { .. }
                | Refusal::UseNotACandidate { .. } => EXIT_FINDING,
            };
        }
    };
    if !args.dry_run {
        if let Err(e) = write_files(&args.out, &plan, args.force) {
            ctx.warn(&format!("fix: {e}"));
            return match e {
                WriteError::WouldOverwrite(_) => EXIT_FINDING,
                WriteError::NotADirectory(_) | WriteError::Io(_) => EXIT_INPUT,
            };
        }
    }
    print_summary(args, &plan);
    0
}

/// The case as the fix needs it: the only code here that knows the case layer.
pub fn request_from_case(report: &CaseReport, resolved: &Resolved) -> FixRequest {
    let to_ref = |e: &crate::case::model::EvidenceRef| SourceRef::new(e.file.clone(), e.line);
    let user_blob = resolved
        .reference_blob
        .as_ref()
        .map(|(bytes, at)| UserBlob {
            bytes: bytes.clone(),
            source: to_ref(at),
        });
    let user_conflict = resolved
        .user_conflicts
        .iter()
        .map(|(bytes, at)| UserBlob {
            bytes: bytes.clone(),
            source: to_ref(at),
        })
        .collect();
    let accounts = [
        (ServiceAccount::LocalSystem, Principal::LocalSystem),
        (ServiceAccount::LocalService, Principal::LocalService),
    ]
    .into_iter()
    .map(|(account, p)| {
        let Some(a) = resolved.account(p).filter(|a| !a.evidence.is_empty()) else {
            return AccountEvidence {
                account,
                shown: Shown::NotUploaded,
                evidence: Vec::new(),
            };
        };
        let any =
            |want: fn(&CompareOutcome) -> bool| a.comparisons.iter().any(|c| want(&c.outcome));
        let shown = if !a.conflict.is_empty() {
            Shown::Conflicting
        } else if any(|o| matches!(o, CompareOutcome::Differs(_))) {
            Shown::Differs
        } else if a.state == State::Missing || any(|o| *o == CompareOutcome::Missing) {
            Shown::Missing
        } else if any(|o| *o == CompareOutcome::Equivalent) {
            Shown::Equivalent
        } else if a.identical_to_user || any(|o| *o == CompareOutcome::Matches) {
            Shown::Matches
        } else if !a.truncated.is_empty() {
            Shown::Truncated
        } else {
            Shown::Unknown
        };
        AccountEvidence {
            account,
            shown,
            evidence: a.evidence.iter().map(to_ref).collect(),
        }
    })
    .collect();
    let other_errors = report
        .findings
        .iter()
        .filter(|f| {
            f.severity == crate::diag::Severity::Error
                && !matches!(f.id, FindingId::ProxyMissing | FindingId::ProxyDiffers)
        })
        .map(|f| OtherError {
            id: f.id.as_str().to_string(),
            title: f.title.clone(),
            action: f.action.clone(),
        })
        .collect();
    FixRequest {
        case: report.case.clone(),
        endpoint_host: (report.endpoint.source != crate::case::model::EndpointSource::Default)
            .then(|| report.endpoint.host.clone()),
        user_blob,
        user_conflict,
        accounts,
        other_errors,
        sensor_proxy: resolved
            .sensor_proxy
            .as_ref()
            .map(|sp| crate::secrets::redact(&sp.url).into_owned()),
        machine_wide: resolved.machine_wide.is_some(),
        current_user_direct: resolved.state(Principal::CurrentUser) == State::Direct,
        collector_available: true,
    }
}

/// Why the files could not be written.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("{0} exists and is not a directory")]
    NotADirectory(String),
    #[error("refusing to overwrite {0} (use --force)")]
    WouldOverwrite(String),
    #[error("{0}")]
    Io(String),
}

fn write_files(dir: &Path, plan: &FixPlan, force: bool) -> Result<(), WriteError> {
    let shown = input::display_name(dir);
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotADirectory(shown));
    }
    if !force {
        let existing: Vec<&str> = plan
            .files
            .iter()
            .filter(|f| dir.join(f.name).exists())
            .map(|f| f.name)
            .collect();
        if !existing.is_empty() {
            return Err(WriteError::WouldOverwrite(format!(
                "{} in {shown}",
                existing.join(", ")
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| WriteError::Io(format!("{shown}: {e}")))?;
    for f in &plan.files {
        let path = dir.join(f.name);
        std::fs::write(&path, &f.bytes)
            .map_err(|e| WriteError::Io(format!("{}: {e}", input::display_name(&path))))?;
    }
    Ok(())
}

fn print_summary(args: &FixArgs, plan: &FixPlan) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.format == FixFormat::Json {
        let files: Vec<serde_json::Value> = plan
            .files
            .iter()
            .map(|f| {
                let mut v = serde_json::json!({ "name": f.name, "size": f.size });
                if let (true, Some(o)) = (args.dry_run, v.as_object_mut()) {
                    o.insert("content".into(), f.text().into());
                }
                v
            })
            .collect();
        let doc = serde_json::json!({
            "schema_version": crate::SCHEMA_VERSION,
            "case": plan.case,
            "written": !args.dry_run,
            "dry_run": args.dry_run,
            "out": input::display_name(&args.out),
            "refused": null,
            "used": plan.used,
            "conflict": plan.conflict,
            "changes": plan.changes,
            "files": files,
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
            "Sets {}\\{} ({} {}; the evidence showed: {}) from {}",
            c.key,
            c.value,
            c.account.name(),
            c.sid,
            c.shown.describe(),
            crate::text::escape_control(&c.source.to_string()),
        );
    }
    if !plan.conflict.is_empty() {
        let others: Vec<String> = plan.conflict.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(
            out,
            "Uploads disagreed about the current user; used {}, not {}",
            crate::text::escape_control(&plan.used.to_string()),
            crate::text::escape_control(&others.join(", "))
        );
    }
    if args.dry_run {
        for f in &plan.files {
            let _ = writeln!(out, "\n===== {} =====", f.name);
            for line in f.text().lines() {
                let _ = writeln!(out, "{}", crate::text::escape_control(line));
            }
        }
    }
}
