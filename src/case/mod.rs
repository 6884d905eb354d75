//! Case assembly: what each upload says about each account (with file and line), the
//! decision rules, the findings and the verdict.

use crate::artifact::{self, Scope};
use std::io::{BufRead, BufReader, Read};

use crate::input::zip_archive;
use crate::input::{CaseInput, Limits, Upload};

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
    for upload in &input.uploads {
        assemble_upload(upload, &input.name, options, &mut assembled);
    }
    apply_manifest(&mut assembled);
    assembled
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
            assembled
                .inputs
                .push(input_error(&upload.name, case, format!("cannot read: {e}")));
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
        for entry in &archive.uploads {
            assemble_upload(entry, case, options, assembled);
        }
        return;
    }
    match artifact::parse_reader(&upload.name, reader, Scope::ProxyRelevant) {
        Ok(a) => {
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
                assembled.observations.extend(evidence::observations(&a));
            }
        }
        Err(e) => {
            assembled
                .inputs
                .push(input_error(&upload.name, case, format!("cannot read: {e}")))
        }
    }
}
