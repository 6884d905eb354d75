//! One case from its command-line root to its report: input → assemble → resolve →
//! (probe, on request) → judge. Used by `analyze`, `fix` and the benchmarks, so every entry
//! point judges the same way and resolves each case once.

use std::time::Duration;

use crate::case::model::{CaseReport, ProbeEvidence, ProbeSite};
use crate::case::{self, AnalyzeOptions, ResolveOptions, Resolved};
use crate::input::{self, CaseRoot};
use crate::probe::{probe_routes, ProbeOutcome};

/// How `--probe` runs.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The URL given with `--probe-url`, or the ping URL of `--endpoint`/`--workspace`.
    pub url: Option<String>,
    /// The user vouches that this machine sits on the customer's network: each distinct
    /// route of the case is probed and counts as customer-side evidence.
    pub on_customer_network: bool,
    pub ca_cert: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// Everything the analysis of one case needs.
#[derive(Debug, Clone, Default)]
pub struct PipelineOptions {
    pub analyze: AnalyzeOptions,
    pub resolve: ResolveOptions,
    pub probe: Option<ProbeOptions>,
}

/// Builds the automata and tables the parsers share, on two threads of the current pool at
/// once. Each is built on first use anyway; built up front, the first cases of a batch do not
/// wait on each other's builds one after another (about 25 M instructions in all).
pub fn warm_up() {
    use crate::formats::{netsh_messages, probe_capture, reg_exe::messages, sensor_log};
    rayon::join(
        || {
            crate::detect::warm_up();
            sensor_log::warm_up();
        },
        || {
            messages::warm_up();
            probe_capture::warm_up();
            netsh_messages::warm_up();
        },
    );
}

/// Analyses one case: its report and its resolution (the fix needs the latter).
pub fn analyze_case(root: &CaseRoot, options: &PipelineOptions) -> (CaseReport, Resolved) {
    let input = input::case_from_root(root, &options.analyze.limits);
    let assembled = case::assemble(&input, &options.analyze);
    drop(input);
    let resolved = case::resolve(assembled, &options.resolve);
    let runs = match &options.probe {
        Some(p) => probe_runs(&resolved, p),
        None => Vec::new(),
    };
    let report = case::judge(&resolved, &runs);
    (report, resolved)
}

/// The URL a probe of this case goes to: the one given, else (on the customer's network)
/// the case's own endpoint, else the documented 2018 processor endpoint.
fn probe_url(resolved: &Resolved, p: &ProbeOptions) -> String {
    if let Some(u) = &p.url {
        return u.clone();
    }
    if p.on_customer_network && resolved.endpoint.source != case::model::EndpointSource::Default {
        return resolved.endpoint.ping_url();
    }
    crate::PROCESSOR_ENDPOINT_URL.to_string()
}

/// Probes the case's routes: only the direct route from here, or each distinct route when
/// this machine is on the customer's network.
pub fn probe_runs(resolved: &Resolved, p: &ProbeOptions) -> Vec<ProbeEvidence> {
    let url = probe_url(resolved, p);
    let routes = resolved.routes(p.on_customer_network);
    let site = if p.on_customer_network {
        ProbeSite::Customer
    } else {
        ProbeSite::Here
    };
    probe_routes(&url, &routes, p.ca_cert.as_deref(), p.timeout)
        .into_iter()
        .map(|rp| {
            let (status, outcome, error, proxy, elapsed) = match &rp.result {
                Some(r) => (
                    r.status,
                    Some(r.outcome),
                    r.error.clone().or_else(|| {
                        Some(r.explanation.clone())
                            .filter(|e| !e.is_empty() && r.outcome != ProbeOutcome::Reachable)
                    }),
                    r.proxy.clone(),
                    Some(r.elapsed_ms),
                ),
                None => (None, None, None, None, None),
            };
            ProbeEvidence {
                route: rp.route.clone(),
                principals: rp.principals.clone(),
                url: rp
                    .result
                    .as_ref()
                    .map_or_else(|| url.clone(), |r| r.url.clone()),
                proxy,
                status,
                outcome,
                error,
                not_probed: rp.not_probed.clone(),
                elapsed_ms: elapsed,
                site,
            }
        })
        .collect()
}
