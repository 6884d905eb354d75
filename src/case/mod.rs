//! Case assembly: what each upload says about each account (with file and line), the
//! decision rules, the findings and the verdict.

use crate::artifact::{self, Scope};
use std::io::{BufRead, BufReader, Read};

use crate::formats::reg_hive::{self, HiveFileRole, HiveLimits, LogInput, LogReport};
use crate::input::zip_archive;
use crate::input::{CaseInput, Limits, Source, Upload};

pub mod evidence;
pub mod findings;
pub mod model;
pub mod principals;
pub mod resolve;
pub mod rules;
pub mod settings;

pub use findings::FindingId;
pub use resolve::{resolve, Assembled, PacOptions, ResolveOptions, Resolved};

use crate::diag::Severity;
use model::{CaseReport, InputDiagnostic, InputRecord, ProbeEvidence, MAX_INPUT_DIAGNOSTICS};

/// Options of the analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyzeOptions {
    /// Caps on everything read (file size, archive entries and nesting).
    pub limits: Limits,
    /// Caps on binary hives and their transaction logs (`--max-hive-mib`, ...).
    pub hive: HiveLimits,
}

/// Judges a resolved case with the probe runs (if any): findings, needs, verdict.
pub fn judge(resolved: &Resolved, probes: &[ProbeEvidence]) -> CaseReport {
    rules::judge(resolved, probes)
}

/// Parses every upload of a case and gathers what each says.
pub fn assemble(input: &CaseInput, options: &AnalyzeOptions) -> Assembled {
    let mut assembled = Assembled {
        name: input.name.clone(),
        ..Assembled::default()
    };
    for s in &input.skipped {
        assembled
            .inputs
            .push(input_error(&s.name, &input.name, s.reason.clone()));
    }
    assemble_uploads(&input.uploads, &input.name, options, &mut assembled);
    apply_manifest(&mut assembled);
    assembled
}

/// What pairing found for one upload of a folder or archive.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Paired {
    /// A hive with its transaction logs (indices into the same list).
    HiveWithLogs(Vec<usize>),
    /// A transaction log of the hive at this index.
    LogOf(usize),
}

/// The transaction logs of hives among `uploads`, told by [`reg_hive::pair_logs`] from the
/// first bytes of the candidates only: files named `NAME.LOG1`/`NAME.LOG2`/`NAME.LOG` beside
/// an upload named `NAME`. A log whose hive is absent is reported when it is parsed.
fn pair_hive_logs(uploads: &[Upload], max_file: u64) -> Vec<Option<Paired>> {
    use std::collections::HashMap;
    let key = |name: &str| name.replace('\\', "/").to_ascii_lowercase();
    let by_name: HashMap<String, usize> = uploads
        .iter()
        .enumerate()
        .map(|(i, u)| (key(&u.name), i))
        .collect();
    let mut candidates: Vec<usize> = Vec::new();
    for (i, u) in uploads.iter().enumerate() {
        let k = key(&u.name);
        let stem = [".log1", ".log2", ".log"]
            .iter()
            .find_map(|ext| k.strip_suffix(ext));
        if let Some(hive) = stem.and_then(|s| by_name.get(s)) {
            for c in [*hive, i] {
                if !candidates.contains(&c) {
                    candidates.push(c);
                }
            }
        }
    }
    let mut out = vec![None; uploads.len()];
    if candidates.is_empty() {
        return out;
    }
    let heads: Vec<(&str, Vec<u8>)> = candidates
        .iter()
        .filter_map(|&i| uploads.get(i))
        .map(|u| (u.name.as_str(), head_of(u, max_file)))
        .collect();
    let files: Vec<(&str, &[u8])> = heads.iter().map(|(n, h)| (*n, h.as_slice())).collect();
    for (c, role) in reg_hive::pair_logs(&files).into_iter().enumerate() {
        let (Some(&log), HiveFileRole::Log { hive: Some(h) }) = (candidates.get(c), role) else {
            continue;
        };
        let Some(&hive) = candidates.get(h) else {
            continue;
        };
        if let Some(slot) = out.get_mut(log) {
            *slot = Some(Paired::LogOf(hive));
        }
        match out.get_mut(hive) {
            Some(Some(Paired::HiveWithLogs(logs))) => logs.push(log),
            Some(slot) => *slot = Some(Paired::HiveWithLogs(vec![log])),
            None => {}
        }
    }
    out
}

/// The first bytes of an upload (enough for a hive's base-block fields), empty if unreadable.
fn head_of(upload: &Upload, max_file: u64) -> Vec<u8> {
    let mut head = Vec::new();
    if let Ok(r) = upload.open(max_file) {
        let _ = r.take(512).read_to_end(&mut head);
    }
    head
}

/// Parses the uploads of one folder or archive: hives with their transaction logs together,
/// every other upload on its own.
fn assemble_uploads(
    uploads: &[Upload],
    case: &str,
    options: &AnalyzeOptions,
    assembled: &mut Assembled,
) {
    let pairs = pair_hive_logs(uploads, options.limits.max_file);
    // Log records are completed once their hive has been replayed (order of listing kept).
    let mut log_records: Vec<(usize, usize)> = Vec::new();
    let mut replays: Vec<(usize, bool, Vec<LogReport>)> = Vec::new();
    for (i, upload) in uploads.iter().enumerate() {
        match pairs.get(i).cloned().flatten() {
            Some(Paired::LogOf(hive)) => {
                log_records.push((assembled.inputs.len(), hive));
                assembled.inputs.push(InputRecord {
                    file: upload.name.clone(),
                    case: case.to_string(),
                    kind: crate::detect::Kind::RegHiveLog.name().to_string(),
                    error: None,
                    ignored: None,
                    encoding: None,
                    diagnostics: Vec::new(),
                    diagnostics_omitted: 0,
                });
            }
            Some(Paired::HiveWithLogs(logs)) => {
                let logs: Vec<&Upload> = logs.iter().filter_map(|&l| uploads.get(l)).collect();
                let (dirty, reports) =
                    assemble_hive_with_logs(upload, &logs, case, options, assembled);
                replays.push((i, dirty, reports));
            }
            None => assemble_upload(upload, case, options, assembled),
        }
    }
    for (record, hive) in log_records {
        let (Some(r), Some(h)) = (assembled.inputs.get_mut(record), uploads.get(hive)) else {
            continue;
        };
        let replay = replays.iter().find(|(i, _, _)| *i == hive);
        let report = replay.and_then(|(_, _, reports)| reports.iter().find(|l| l.file == r.file));
        r.ignored = Some(log_note(&h.name, replay.map(|x| x.1), report));
    }
}

/// Why a transaction log is listed but not used on its own.
fn log_note(hive: &str, dirty: Option<bool>, report: Option<&LogReport>) -> String {
    let name = hive.rsplit(['/', '\\', '!']).next().unwrap_or(hive);
    let seqs = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let Some(report) = report else {
        return format!(
            "transaction log of {name}; not replayed (the hive or the log could not be read)"
        );
    };
    let skipped = if report.skipped.is_empty() {
        String::new()
    } else {
        format!(
            "; entries {} skipped (stale, or after a damaged entry)",
            seqs(&report.skipped)
        )
    };
    match dirty {
        Some(false) => format!("transaction log of {name}; the hive is clean, nothing to replay"),
        _ if report.applied.is_empty() => {
            format!("transaction log of {name}, replayed: no entry applied{skipped}")
        }
        _ => format!(
            "transaction log of {name}, replayed: entries {} applied{skipped}",
            seqs(&report.applied)
        ),
    }
}

/// Reads a hive and its transaction logs (each within the hive cap) and records the hive,
/// replayed. Returns whether the hive was dirty and what each log contributed.
fn assemble_hive_with_logs(
    hive: &Upload,
    logs: &[&Upload],
    case: &str,
    options: &AnalyzeOptions,
    assembled: &mut Assembled,
) -> (bool, Vec<LogReport>) {
    let cap = options.hive.max_hive_bytes.min(options.limits.max_file);
    let read = |u: &Upload| -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        u.open(options.limits.max_file)?
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let bytes = match read(hive) {
        Ok(b) => b,
        Err(e) => {
            assembled
                .inputs
                .push(input_error(&hive.name, case, format!("cannot read: {e}")));
            return (false, Vec::new());
        }
    };
    let log_bytes: Vec<(&str, Vec<u8>)> = logs
        .iter()
        .filter_map(|l| read(l).ok().map(|b| (l.name.as_str(), b)))
        .collect();
    let inputs: Vec<LogInput<'_>> = log_bytes
        .iter()
        .map(|(file, b)| LogInput { file, bytes: b })
        .collect();
    let a = artifact::parse_hive_with_logs(
        &hive.name,
        &bytes,
        &inputs,
        Scope::ProxyRelevant,
        options.hive,
    );
    let dirty = reg_hive::BaseBlock::parse(&bytes).is_ok_and(|b| b.dirty());
    let reports = match &a.content {
        artifact::Content::RegHive(h) => h.logs.clone(),
        _ => Vec::new(),
    };
    record_artifact(&a, None, case, assembled);
    (dirty, reports)
}

/// The collector's manifest names the account of every file the script wrote: captures whose
/// content does not say (or says only through their file name) are attributed by it, and its
/// endpoint is the one the script probed. Content attribution always stays first.
fn apply_manifest(assembled: &mut Assembled) {
    use crate::formats::collector_manifest::{ManifestPrincipal, Role};
    use evidence::Fact;
    use principals::{Attribution, Principal};
    let Some((dir, manifest)) = &assembled.manifest else {
        return;
    };
    if let Some(host) = &manifest.endpoint {
        assembled.observations.push(evidence::Observation {
            principal: None,
            user: None,
            fact: Fact::CollectorEndpoint { host: host.clone() },
            at: model::EvidenceRef::new(format!("{dir}manifest.json"), 0),
            attribution: Attribution::Manifest,
        });
    }
    for o in &mut assembled.observations {
        if o.principal.is_some() && o.attribution != Attribution::FileName {
            continue;
        }
        let Some(rel) = o.at.file.strip_prefix(dir.as_str()) else {
            continue;
        };
        let Some((item, role)) = manifest.lookup(rel) else {
            continue;
        };
        let principal = match item.principal {
            Some(ManifestPrincipal::CurrentUser) => Principal::CurrentUser,
            Some(ManifestPrincipal::LocalSystem) => Principal::LocalSystem,
            Some(ManifestPrincipal::LocalService) => Principal::LocalService,
            Some(ManifestPrincipal::NetworkService) => Principal::NetworkService,
            Some(ManifestPrincipal::Machine) => Principal::Machine,
            Some(ManifestPrincipal::Winhttp) => Principal::Winhttp,
            Some(ManifestPrincipal::Sensor) => Principal::Sensor,
            None => continue,
        };
        // An error file says why a step failed: only a not-found error is evidence (absence).
        if role == Role::Stderr && !matches!(o.fact, Fact::Missing { .. }) {
            continue;
        }
        if matches!(o.fact, Fact::Unattributed) {
            continue;
        }
        o.principal = Some(principal);
        o.attribution = Attribution::Manifest;
    }
}

fn input_error(file: &str, case: &str, error: String) -> InputRecord {
    InputRecord {
        file: file.to_string(),
        case: case.to_string(),
        kind: "unknown".into(),
        error: Some(error),
        ignored: None,
        encoding: None,
        diagnostics: Vec::new(),
        diagnostics_omitted: 0,
    }
}

/// Parses one upload (opened once); a zip archive, recognised by its first bytes, is
/// expanded in memory and each entry parsed in turn.
fn assemble_upload(
    upload: &Upload,
    case: &str,
    options: &AnalyzeOptions,
    assembled: &mut Assembled,
) {
    let limits = &options.limits;
    let mut reader = match upload.open(limits.max_file) {
        // Small: it only has to show the first bytes (zip or not); larger reads pass through.
        Ok(r) => BufReader::with_capacity(8 * 1024, r),
        Err(e) => {
            // Over the size limit is a reason of its own, not a read failure.
            let reason = if e.kind() == std::io::ErrorKind::FileTooLarge {
                e.to_string()
            } else {
                format!("cannot read: {e}")
            };
            assembled
                .inputs
                .push(input_error(&upload.name, case, reason));
            return;
        }
    };
    let (is_zip, ignored) = match reader.fill_buf() {
        Ok(head) => (
            zip_archive::is_zip(head),
            crate::own_files::is_own_file(&upload.name, head),
        ),
        Err(e) => {
            assembled
                .inputs
                .push(input_error(&upload.name, case, format!("cannot read: {e}")));
            return;
        }
    };
    if is_zip {
        let mut bytes = Vec::new();
        if let Err(e) = reader.take(limits.max_file).read_to_end(&mut bytes) {
            assembled
                .inputs
                .push(input_error(&upload.name, case, format!("cannot read: {e}")));
            return;
        }
        let mut archive = CaseInput::default();
        zip_archive::expand(&upload.name, bytes, 1, limits, &mut archive);
        for s in &archive.skipped {
            assembled
                .inputs
                .push(input_error(&s.name, case, s.reason.clone()));
        }
        assemble_uploads(&archive.uploads, case, options, assembled);
        return;
    }
    // A hive on disk is read page by page, only the proxy keys (SOFTWARE can be huge).
    if let (Source::File(path), Ok(head)) = (&upload.source, reader.fill_buf()) {
        if crate::detect::is_hive(head)
            && crate::detect::hive_kind(head) == crate::detect::Kind::RegHive
        {
            drop(reader);
            match std::fs::File::open(path) {
                Ok(file) => {
                    let a = artifact::read_hive_file(&upload.name, file, &[], options.hive);
                    record_artifact(&a, ignored, case, assembled);
                }
                Err(e) => assembled.inputs.push(input_error(
                    &upload.name,
                    case,
                    format!("cannot read: {e}"),
                )),
            }
            return;
        }
    }
    match artifact::parse_reader_with(&upload.name, reader, Scope::ProxyRelevant, options.hive) {
        Ok(a) => record_artifact(&a, ignored, case, assembled),
        Err(e) => {
            assembled
                .inputs
                .push(input_error(&upload.name, case, format!("cannot read: {e}")))
        }
    }
}

/// Lists a parsed upload among the inputs and, unless it is ignored, adds what it says.
/// Stale hive copies and transaction logs read alone are listed as ignored, with why.
fn record_artifact(
    a: &artifact::Artifact,
    ignored: Option<String>,
    case: &str,
    assembled: &mut Assembled,
) {
    let ignored = ignored.or_else(|| match &a.content {
        artifact::Content::RegHive(h) => h.mount.stale.map(|stale| {
            let what = match stale {
                reg_hive::StaleCopy::RegBack => "a RegBack backup",
                reg_hive::StaleCopy::WindowsOld => "from Windows.old (the previous installation)",
                reg_hive::StaleCopy::ShadowCopy => "from a volume shadow copy",
            };
            format!("stale copy of a hive ({what}), not the live registry")
        }),
        _ if a.kind == crate::detect::Kind::RegHiveLog => {
            let name = a.file.rsplit(['/', '\\', '!']).next().unwrap_or(&a.file);
            let lower = name.to_ascii_lowercase();
            let hive = [".log1", ".log2", ".log"].iter().find_map(|ext| {
                lower
                    .strip_suffix(ext)
                    .map(|s| name.get(..s.len()).unwrap_or(s))
            });
            Some(match hive {
                Some(h) => format!(
                    "transaction log of the hive {h}, which is not among the uploads; not used"
                ),
                None => {
                    "transaction log of a registry hive that is not among the uploads; not used"
                        .into()
                }
            })
        }
        _ => None,
    });
    let rejected = a.rejected();
    let mut diagnostics: Vec<InputDiagnostic> = a
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .map(|d| InputDiagnostic {
            severity: d.severity,
            code: d.code,
            message: d.message.clone(),
            line: (d.line > 0).then_some(d.line),
        })
        .collect();
    let omitted = diagnostics.len().saturating_sub(MAX_INPUT_DIAGNOSTICS);
    diagnostics.truncate(MAX_INPUT_DIAGNOSTICS);
    assembled.inputs.push(InputRecord {
        file: a.file.clone(),
        case: case.to_string(),
        kind: a.kind.name().to_string(),
        error: if rejected {
            a.diagnostics
                .iter()
                .find(|d| d.code == "rejected-file")
                .map(|d| d.message.clone())
        } else {
            None
        },
        ignored: ignored.clone(),
        encoding: a.encoding.map(|e| e.name().to_string()),
        diagnostics,
        diagnostics_omitted: omitted,
    });
    if let artifact::Content::CollectorManifest { manifest } = &a.content {
        let dir = a
            .file
            .rfind(['/', '\\', '!'])
            .and_then(|i| a.file.get(..=i))
            .unwrap_or("")
            .to_string();
        assembled.manifest = Some((dir, manifest.clone()));
    }
    if ignored.is_none() {
        assembled.observations.extend(evidence::observations(a));
    }
}
