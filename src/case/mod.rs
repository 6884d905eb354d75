//! Case assembly: what each upload says about each account (with file and line), the
//! decision rules, the findings and the verdict.

use crate::artifact::{self, Scope};
use std::io::{BufRead, BufReader, Read};

use crate::input::zip_archive;
use crate::input::{CaseInput, Limits, Upload};

pub mod evidence;
pub mod model;
pub mod principals;
pub mod rules;
pub mod settings;

pub use rules::{Assembled, Resolved};

use model::{CaseReport, InputRecord, State};
use principals::Principal;

/// Options of the analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyzeOptions {
    /// Caps on everything read (file size, archive entries and nesting).
    pub limits: Limits,
}

/// The result of one probe run for a route, as the rules see it.
#[derive(Debug, Clone)]
pub struct ProbeEvidence {
    pub url: String,
    pub proxy: Option<String>,
    pub status: Option<u16>,
    pub outcome: String,
    pub error: Option<String>,
    /// The accounts that take this route.
    pub principals: Vec<Principal>,
    /// The full probe result for the report.
    pub detail: serde_json::Value,
}

/// How one account would reach the endpoint, as far as static settings tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteToProbe {
    /// No proxy for the endpoint (none set, or the endpoint is bypassed).
    Direct,
    /// Through this static proxy (`http://host:port`).
    Proxy(String),
    /// A PAC script or WPAD decides on the customer's machine: not reproducible here.
    NotProbeable(String),
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
    assembled
}

fn input_error(file: &str, case: &str, error: String) -> InputRecord {
    InputRecord {
        file: file.to_string(),
        kind: "unknown".into(),
        case: case.to_string(),
        error: Some(error),
        encoding: None,
        diagnostics: 0,
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
    let is_zip = match reader.fill_buf() {
        Ok(head) => zip_archive::is_zip(head),
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
            assembled.inputs.push(InputRecord {
                file: a.file.clone(),
                kind: a.kind.name().to_string(),
                case: case.to_string(),
                error: if rejected {
                    a.diagnostics
                        .iter()
                        .find(|d| d.code == "rejected-file")
                        .map(|d| d.message.clone())
                } else {
                    None
                },
                encoding: a.encoding.map(|e| e.name().to_string()),
                diagnostics: a
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity >= crate::diag::Severity::Warning)
                    .count(),
            });
            assembled.observations.extend(evidence::observations(&a));
        }
        Err(e) => {
            assembled
                .inputs
                .push(input_error(&upload.name, case, format!("cannot read: {e}")))
        }
    }
}

/// The route of each account the sensor runs as (and the sensor's own proxy), for the probe.
pub fn routes_to_probe(assembled: &Assembled) -> Vec<(Principal, RouteToProbe)> {
    let (_, resolved) = rules::judge(assembled.clone(), Vec::new());
    let endpoint = crate::proxy::SENSOR_ENDPOINT_EXAMPLE;
    let mut routes = Vec::new();
    for p in [
        Principal::Sensor,
        Principal::LocalSystem,
        Principal::LocalService,
        Principal::CurrentUser,
    ] {
        let state = resolved.states.get(&p).copied().unwrap_or(State::Unknown);
        let eff = match resolved.effective.get(&p) {
            Some(e) => e.clone(),
            // A missing value means the untouched default: direct.
            None if state == State::Missing => {
                routes.push((p, RouteToProbe::Direct));
                continue;
            }
            None => continue,
        };
        let route = if eff.proxy_enabled() {
            match settings::https_route(&eff, endpoint) {
                settings::HttpsRoute::Proxy(proxy) => RouteToProbe::Proxy(proxy_url(&proxy)),
                _ => RouteToProbe::Direct,
            }
        } else if eff.pac_or_autodetect_only()
            && !(matches!(p, Principal::LocalSystem | Principal::LocalService)
                && eff.is_untouched_default())
        {
            let why = if eff.pac_enabled() {
                format!("PAC script {} decides the route", eff.auto_config_url())
            } else {
                "auto-detect (WPAD) decides the route".to_string()
            };
            RouteToProbe::NotProbeable(why)
        } else {
            RouteToProbe::Direct
        };
        routes.push((p, route));
    }
    if routes.is_empty() {
        routes.push((Principal::CurrentUser, RouteToProbe::Direct));
    }
    routes
}

fn proxy_url(server: &str) -> String {
    if server.contains("://") {
        server.to_string()
    } else {
        format!("http://{server}")
    }
}

/// Runs the rules with the probe results and returns the case report.
pub fn judge(assembled: Assembled, probes: Vec<ProbeEvidence>) -> CaseReport {
    rules::judge(assembled, probes).0
}

/// Judges and also returns the resolved settings (the fix needs the reference blob).
pub fn judge_with_settings(
    assembled: Assembled,
    probes: Vec<ProbeEvidence>,
) -> (CaseReport, Resolved) {
    rules::judge(assembled, probes)
}
