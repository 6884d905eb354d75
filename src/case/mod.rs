//! Case assembly: what each upload says about each account (with file and line), the
//! decision rules, the findings and the verdict.

use crate::artifact::{self, Scope};
use crate::input::CaseInput;

pub mod evidence;
pub mod model;
pub mod principals;
pub mod rules;
pub mod settings;

pub use rules::{Assembled, Resolved};

use model::{CaseReport, InputRecord, State};
use principals::Principal;

/// Options of the analysis.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeOptions {
    /// Largest file read.
    pub max_file: u64,
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

/// One distinct route some accounts would take to the endpoint (a static proxy, or direct).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteToProbe {
    pub proxy: Option<String>,
    pub principals: Vec<Principal>,
}

/// Parses every upload of a case and gathers what each says.
pub fn assemble(input: &CaseInput, options: &AnalyzeOptions) -> Assembled {
    let mut assembled = Assembled {
        name: input.name.clone(),
        ..Assembled::default()
    };
    for s in &input.skipped {
        assembled.inputs.push(InputRecord {
            file: s.name.clone(),
            kind: "unknown".into(),
            case: input.name.clone(),
            error: Some(s.reason.clone()),
            encoding: None,
            diagnostics: 0,
        });
    }
    for upload in &input.uploads {
        let parsed = upload
            .open(options.max_file)
            .and_then(|r| artifact::parse_reader(&upload.name, r, Scope::ProxyRelevant));
        match parsed {
            Ok(a) => {
                let rejected = a.rejected();
                assembled.inputs.push(InputRecord {
                    file: a.file.clone(),
                    kind: a.kind.name().to_string(),
                    case: input.name.clone(),
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
            Err(e) => assembled.inputs.push(InputRecord {
                file: upload.name.clone(),
                kind: "unknown".into(),
                case: input.name.clone(),
                error: Some(format!("cannot read: {e}")),
                encoding: None,
                diagnostics: 0,
            }),
        }
    }
    assembled
}

/// The distinct static routes the service accounts (and the sensor) would take; accounts on
/// PAC or auto-detect are not probed.
pub fn routes_to_probe(assembled: &Assembled) -> Vec<RouteToProbe> {
    let (_, resolved) = rules::judge(assembled.clone(), Vec::new());
    let mut routes: Vec<RouteToProbe> = Vec::new();
    for p in [
        Principal::Sensor,
        Principal::LocalSystem,
        Principal::LocalService,
        Principal::CurrentUser,
    ] {
        let state = resolved.states.get(&p).copied().unwrap_or(State::Unknown);
        let eff = match resolved.effective.get(&p) {
            Some(e) => Some(e.clone()),
            None if state == State::Missing => None,
            None => continue,
        };
        let proxy = match eff {
            Some(e) if e.proxy_enabled => {
                match settings::https_route(&e, "workspacesensorapi.atp.azure.com") {
                    settings::HttpsRoute::Proxy(p) => Some(proxy_url(&p)),
                    _ => None,
                }
            }
            Some(e) if e.pac_or_autodetect_only() && !e.is_untouched_default() => continue,
            _ => None,
        };
        match routes.iter_mut().find(|r| r.proxy == proxy) {
            Some(r) => r.principals.push(p),
            None => routes.push(RouteToProbe {
                proxy,
                principals: vec![p],
            }),
        }
    }
    if routes.is_empty() {
        routes.push(RouteToProbe {
            proxy: None,
            principals: Vec::new(),
        });
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
