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
        let route = if eff.proxy_enabled {
            match settings::https_route(&eff, endpoint) {
                settings::HttpsRoute::Proxy(proxy) => RouteToProbe::Proxy(proxy_url(&proxy)),
                _ => RouteToProbe::Direct,
            }
        } else if eff.pac_or_autodetect_only()
            && !(matches!(p, Principal::LocalSystem | Principal::LocalService)
                && eff.is_untouched_default())
        {
            let why = if eff.pac_enabled {
                format!("PAC script {} decides the route", eff.auto_config_url)
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
