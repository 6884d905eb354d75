//! `fix PATH... --out DIR`: writes the documented remediation for one case.
//!
//! [`request_from_case`] is the only place that knows the case layer: it turns today's
//! `CaseReport`/`Resolved` into a [`fix::FixRequest`]. Everything else is plain I/O.

use std::io::{Read, Write};
use std::path::Path;

use crate::case::evidence::{Fact, Observation};
use crate::case::model::{CaseReport, EvidenceRef, Severity, State};
use crate::case::principals::Principal;
use crate::case::{self, AnalyzeOptions, Resolved};
use crate::cli::{FixArgs, FixFormat};
use crate::fix::{
    self, AccountEvidence, FixPlan, FixRequest, OtherError, Refusal, ServiceAccount, Shown,
    SourceRef, UserBlob,
};
use crate::input::{self, CaseInput};

use super::analyze::limits_from;
use super::{Context, EXIT_FINDING, EXIT_INPUT};

/// Bytes read from each upload to recognise the tool's own files.
const OWN_FILE_PROBE: u64 = 1024;

pub fn run(ctx: &Context, args: &FixArgs) -> u8 {
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
    merged.uploads.retain(|u| match own_file(u) {
        Some(reason) => {
            ctx.warn(&format!("ignored: {reason}"));
            false
        }
        None => true,
    });
    let assembled = case::assemble(&merged, &AnalyzeOptions { limits });
    // A fix written from part of the evidence could copy the wrong value: stop instead.
    let unreadable: Vec<String> = assembled
        .inputs
        .iter()
        .filter_map(|i| i.error.as_ref().map(|e| format!("{}: {e}", i.file)))
        .collect();
    if !unreadable.is_empty() {
        for u in &unreadable {
            ctx.warn(u);
        }
        ctx.warn("fix: not written: some input could not be read (see above)");
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
    let observations = assembled.observations.clone();
    let (report, resolved) = case::judge_with_settings(assembled, Vec::new());
    let mut request = request_from_case(&report, &resolved, &observations);
    if let Some(host) = &args.endpoint {
        request.endpoint_host = Some(host.trim().to_ascii_lowercase());
    } else if let Some(name) = &args.workspace {
        request.endpoint_host = Some(crate::proxy::sensor_endpoint_for(Some(name)));
    }
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

/// Why a file this tool wrote is ignored, from its first bytes (unreadable: not ignored here;
/// the parser reports it).
fn own_file(upload: &input::Upload) -> Option<String> {
    let mut head = Vec::new();
    upload
        .open(OWN_FILE_PROBE)
        .ok()?
        .take(OWN_FILE_PROBE)
        .read_to_end(&mut head)
        .ok()?;
    fix::is_own_file(&upload.name, &head)
}

/// The case as the fix needs it. The lead rewrites this against the new case layer; each
/// field says where it comes from today.
pub fn request_from_case(
    report: &CaseReport,
    resolved: &Resolved,
    observations: &[Observation],
) -> FixRequest {
    let to_ref = |e: &EvidenceRef| SourceRef::new(e.file.clone(), Some(e.line));
    let user_blob = resolved
        .reference_blob
        .as_ref()
        .map(|(bytes, at)| UserBlob {
            bytes: bytes.clone(),
            source: to_ref(at),
        });
    // Other uploads whose current-user value has different settings (the counter never counts).
    let mut user_conflict: Vec<UserBlob> = Vec::new();
    if let Some(reference) = &user_blob {
        let mut per_file: Vec<(String, UserBlob, bool)> = Vec::new();
        for o in observations {
            let (Some(Principal::CurrentUser), Fact::ConnectionBlob { bytes }) =
                (&o.principal, &o.fact)
            else {
                continue;
            };
            let hkcu = o.user.as_deref() == Some("HKEY_CURRENT_USER");
            let blob = UserBlob {
                bytes: bytes.clone(),
                source: to_ref(&o.at),
            };
            match per_file.iter_mut().find(|(f, _, _)| *f == o.at.file) {
                // Within one file the HKCU value wins, and a later one over an earlier one.
                Some(slot) if hkcu || !slot.2 => *slot = (o.at.file.clone(), blob, hkcu),
                Some(_) => {}
                None => per_file.push((o.at.file.clone(), blob, hkcu)),
            }
        }
        for (file, blob, _) in per_file {
            if file != reference.source.file
                && !crate::proxy::compare::compare(&blob.bytes, &reference.bytes).equivalent
            {
                user_conflict.push(blob);
            }
        }
    }
    let accounts = [
        (ServiceAccount::LocalSystem, Principal::LocalSystem),
        (ServiceAccount::LocalService, Principal::LocalService),
    ]
    .into_iter()
    .map(|(account, p)| {
        let has = |id: &str| {
            report
                .findings
                .iter()
                .any(|f| f.id == id && f.principal.as_ref() == Some(&p))
        };
        let principal = report.principals.get(p.key());
        let evidence: Vec<SourceRef> = principal
            .map(|r| r.evidence.iter().map(to_ref).collect())
            .unwrap_or_default();
        let state = resolved.states.get(&p).copied().unwrap_or(State::Unknown);
        let shown = if evidence.is_empty() {
            Shown::NotUploaded
        } else if has("evidence-conflict") {
            Shown::Conflicting
        } else if has("proxy-differs") {
            Shown::Differs
        } else if has("proxy-missing") || state == State::Missing {
            Shown::Missing
        } else if has("proxy-equivalent") {
            Shown::Equivalent
        } else if has("proxy-matches") {
            Shown::Matches
        } else if principal.is_some_and(|r| r.summary.contains("truncated")) {
            Shown::Truncated
        } else {
            Shown::Unknown
        };
        AccountEvidence {
            account,
            shown,
            evidence,
        }
    })
    .collect();
    let copy_findings = ["proxy-missing", "proxy-differs"];
    let other_errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && !copy_findings.contains(&f.id.as_str()))
        .map(|f| OtherError {
            id: f.id.clone(),
            title: f.title.clone(),
            action: f.action.clone(),
        })
        .collect();
    let endpoint_host = observations.iter().find_map(|o| match &o.fact {
        Fact::Workspace(w) => Some(crate::proxy::sensor_endpoint_for(Some(w))),
        _ => None,
    });
    FixRequest {
        case: report.case.clone(),
        endpoint_host,
        user_blob,
        user_conflict,
        accounts,
        other_errors,
        sensor_proxy: resolved
            .sensor_proxy
            .as_deref()
            .map(|u| crate::secrets::redact(u).into_owned()),
        machine_wide: resolved.machine_wide,
        current_user_direct: resolved.states.get(&Principal::CurrentUser) == Some(&State::Direct),
        collector_available: false,
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
                if args.dry_run {
                    v["content"] = f.text().into();
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
