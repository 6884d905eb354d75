//! The decision rules, one small function per concern, each reading the resolved case:
//! the documented comparison, routes, WinHTTP, captures, probes, sensor logs; then the
//! needs (what to ask the customer for) and the verdict.

use std::collections::BTreeMap;

use super::findings::FindingId;
use super::model::{
    CaseReport, EvidenceRef, Finding, PrincipalReport, ProbeEvidence, Severity, State,
};
use super::principals::Principal;
use super::resolve::Resolved;

mod captures;
mod compare;
mod needs;
mod probe;
mod route;
mod sensor_log;
mod tools;
mod verdict;
mod winhttp;

/// Findings collected by the rules.
#[derive(Debug, Default)]
pub struct Findings(Vec<Finding>);

impl Findings {
    /// Adds a finding with the id's contract severity.
    pub fn add(
        &mut self,
        id: FindingId,
        principal: Option<Principal>,
        title: String,
        action: String,
        evidence: Vec<EvidenceRef>,
    ) {
        self.add_with(id, id.severity(), principal, title, action, evidence);
    }

    /// Adds a finding with an explicit severity.
    pub fn add_with(
        &mut self,
        id: FindingId,
        severity: Severity,
        principal: Option<Principal>,
        title: String,
        action: String,
        mut evidence: Vec<EvidenceRef>,
    ) {
        evidence.sort();
        evidence.dedup();
        self.0.push(Finding {
            id,
            severity,
            principal,
            title,
            action,
            evidence,
            excerpt: None,
        });
    }

    /// Attaches the customer's own words to the finding added last.
    pub fn with_excerpt(&mut self, text: &str) {
        if let Some(f) = self.0.last_mut() {
            let mut out: String = text.chars().take(300).collect();
            if out.len() < text.len() {
                out.push('…');
            }
            f.excerpt = Some(out);
        }
    }

    /// Replaces the evidence of the finding added last, kept in the order given (the first
    /// and the last record of a log finding), duplicates dropped.
    pub fn with_evidence_in_order(&mut self, evidence: Vec<EvidenceRef>) {
        if let Some(f) = self.0.last_mut() {
            let mut kept: Vec<EvidenceRef> = Vec::with_capacity(evidence.len());
            for e in evidence {
                if !kept.contains(&e) {
                    kept.push(e);
                }
            }
            f.evidence = kept;
        }
    }

    /// Any finding with this id.
    pub fn has(&self, id: FindingId) -> bool {
        self.0.iter().any(|f| f.id == id)
    }

    /// Any finding with this id for this principal.
    pub fn has_for(&self, id: FindingId, p: Principal) -> bool {
        self.0.iter().any(|f| f.id == id && f.principal == Some(p))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter()
    }
}

/// A rule: reads the resolved case and the probes, adds findings.
type Rule = fn(&Resolved, &[ProbeEvidence], &mut Findings);

/// Every rule, in the documented order.
const RULES: &[Rule] = &[
    compare::sensor_proxy,
    compare::machine_wide,
    compare::documented_comparison,
    compare::user_conflict,
    route::endpoint_route,
    route::pac_only,
    route::pac_evaluated,
    winhttp::mismatch,
    captures::empty_truncated_unattributed,
    probe::probes,
    sensor_log::events,
    tools::mde_analyzer,
    tools::api_test,
    tools::readiness,
];

/// Judges a resolved case: findings, needs, verdict and the report. Runs each rule once.
pub fn judge(resolved: &Resolved, probes: &[ProbeEvidence]) -> CaseReport {
    let mut findings = Findings::default();
    for rule in RULES {
        rule(resolved, probes, &mut findings);
    }
    let needs = needs::needs(resolved, probes, &findings);
    let mut list = findings.0;
    // Severity first, then cause: sensor-log precedence, then account findings; stable.
    list.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.id.cause_rank()));
    let verdict = verdict::verdict(&list, &needs);
    let probe = probe::case_probe(resolved, probes);
    let principals = principal_reports(resolved);
    let mut report = CaseReport {
        case: resolved.case.clone(),
        verdict,
        summary: String::new(),
        endpoint: resolved.endpoint.clone(),
        principals,
        findings: list,
        needs,
        probe,
        unattributed: resolved.unattributed.clone(),
        inputs: resolved.inputs.clone(),
    };
    report.summary = verdict::summary(&report);
    report
}

/// The report of each principal the case says something about (current user, LOCAL SYSTEM
/// and LOCAL SERVICE always).
fn principal_reports(resolved: &Resolved) -> BTreeMap<Principal, PrincipalReport> {
    let mut out = BTreeMap::new();
    for (p, a) in &resolved.accounts {
        let always = matches!(
            p,
            Principal::CurrentUser | Principal::LocalSystem | Principal::LocalService
        );
        if !always && a.state == State::Unknown && a.evidence.is_empty() {
            continue;
        }
        let mut settings = a
            .settings
            .as_ref()
            .map(|s| s.report_settings(a.blob.as_deref()));
        if let (Principal::Sensor, Some(sp), Some(shown)) =
            (p, &resolved.sensor_proxy, settings.as_mut())
        {
            shown.proxy_url = Some(super::settings::redact(&sp.url));
            shown.user_name = Some(sp.user.clone());
            shown.password_set = Some(sp.password_set);
        }
        out.insert(
            *p,
            PrincipalReport {
                state: a.state,
                settings,
                evidence: a.evidence.clone(),
                summary: a.summary.clone(),
                reference: a.reference_user.clone(),
                users: a.users.clone(),
                assumptions: a.assumptions.clone(),
                pac: a
                    .pac
                    .as_ref()
                    .map(|pac| pac_report(pac, &resolved.endpoint)),
            },
        );
    }
    out
}

/// The JSON view of a PAC evaluation for the sensor's ping URL.
fn pac_report(
    pac: &super::resolve::PacOutcome,
    endpoint: &super::model::Endpoint,
) -> super::model::PacReport {
    let ping = &pac.evaluation.ping;
    super::model::PacReport {
        script: pac.script.file.clone(),
        url: crate::pac::ping_url(&endpoint.judged_host()),
        entry_point: ping.entry_point.map(|e| e.name().to_string()),
        result: ping.result.clone(),
        route: ping.route.kind,
        proxy: match (&ping.route.host, ping.route.port) {
            (Some(h), Some(p)) => Some(super::resolve::join_host_port(h, p)),
            _ => None,
        },
        error: ping.error.as_ref().map(|e| {
            let kind = serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{kind}: {}", e.message)
        }),
        depends_on: ping.depends_on.iter().map(|d| d.as_string()).collect(),
        facts_used: ping.facts_used.iter().map(|f| f.as_string()).collect(),
        routes_differ: pac.evaluation.routes_differ,
    }
}

#[cfg(test)]
mod tests;
