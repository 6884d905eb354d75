//! Probes: captured on the customer's side (evidence), or run from this machine (never
//! evidence about the customer's network unless the user vouches for it).

use super::super::findings::FindingId;
use super::super::model::{CaseProbe, EvidenceRef, ProbeEvidence, ProbeSite};
use super::super::resolve::Resolved;
use super::Findings;
use crate::probe::ProbeOutcome;

fn outcome_words(p: &ProbeEvidence) -> String {
    let status = p.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
    let what = match p.outcome {
        Some(ProbeOutcome::Reachable) => "got the expected answer",
        Some(ProbeOutcome::ProxyAuthRequired) => {
            "was refused by the proxy: authentication required"
        }
        Some(ProbeOutcome::UnexpectedStatus) => "got an unexpected answer",
        Some(ProbeOutcome::Failed) | None => "got no answer",
    };
    let err = p
        .error
        .as_deref()
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    format!("{what}{status}{err}")
}

/// Findings for captured probes and for the runs of `--probe`.
pub fn probes(r: &Resolved, runs: &[ProbeEvidence], f: &mut Findings) {
    for p in runs.iter().filter(|p| p.not_probed.is_some()) {
        let who: Vec<&str> = p.principals.iter().map(|x| x.label()).collect();
        f.add(
            FindingId::ProbeNotRun,
            p.principals.first().copied(),
            format!(
                "Not probed for {}: {}",
                who.join(", "),
                p.not_probed.clone().unwrap_or_default()
            ),
            "The route is decided by a script on the customer's network; see What we still need"
                .into(),
            Vec::new(),
        );
    }
    for p in runs.iter().filter(|p| p.not_probed.is_none()) {
        let ok = p.outcome == Some(ProbeOutcome::Reachable);
        let who: Vec<&str> = p.principals.iter().map(|x| x.label()).collect();
        let ev = vec![EvidenceRef::probe_here(p.route.clone())];
        match p.site {
            ProbeSite::Here => f.add(
                if ok { FindingId::ProbeHereOk } else { FindingId::ProbeHereFailed },
                None,
                format!(
                    "From this machine (not the customer's network), {} via {} {}",
                    p.url,
                    p.route,
                    outcome_words(p)
                ),
                if ok {
                    "None: this says nothing about the customer's network".into()
                } else {
                    "Check this machine's own network first; the customer's route is judged from the uploads".into()
                },
                ev,
            ),
            ProbeSite::Customer => f.add(
                if ok { FindingId::ProbeOk } else { FindingId::ProbeFailed },
                p.principals.first().copied(),
                format!("The probe via {} ({}) {}", p.route, who.join(", "), outcome_words(p)),
                if ok {
                    "None for this route".into()
                } else {
                    probe_action(p.outcome).into()
                },
                ev,
            ),
        }
    }
    let (ok, bad): (Vec<_>, Vec<_>) = r.captured_probes.iter().partition(|c| c.reached_service());
    if let Some(first) = bad.first() {
        let status = match first.status {
            Some(407) => "407: the proxy demands authentication".to_string(),
            Some(s) => format!("HTTP {s}"),
            None => "no HTTP answer".to_string(),
        };
        f.add(
            FindingId::ProbeFailed,
            None,
            format!(
                "A captured probe (route as captured) did not get the expected answer: {status}"
            ),
            probe_action(if first.status == Some(407) {
                Some(ProbeOutcome::ProxyAuthRequired)
            } else {
                Some(ProbeOutcome::UnexpectedStatus)
            })
            .into(),
            bad.iter().map(|c| c.at.clone()).collect(),
        );
    }
    if !ok.is_empty() {
        f.add(
            FindingId::ProbeOk,
            None,
            "A captured probe got the service's answer (503 from the processor endpoint, or 200 from the ping URL; route as captured): the account that ran it can reach the service".into(),
            "None for that account; the sensor's own accounts are judged separately".into(),
            ok.iter().map(|c| c.at.clone()).collect(),
        );
    }
}

fn probe_action(outcome: Option<ProbeOutcome>) -> &'static str {
    match outcome {
        Some(ProbeOutcome::ProxyAuthRequired) => "The proxy wants credentials the sensor's service accounts do not send: exempt *.atp.azure.com from authentication on the proxy, or give the sensor proxy credentials (Set-MDISensorProxyConfiguration -ProxyCredential, or the installer's ProxyUserName/ProxyUserPassword)",
        _ => "The proxy or firewall must allow *.atp.azure.com:443 for the service accounts, without authentication and without SSL inspection",
    }
}

/// The probe summary of a case: the first failed customer-side run, else the first run,
/// else the first captured probe.
pub fn case_probe(r: &Resolved, runs: &[ProbeEvidence]) -> Option<CaseProbe> {
    let probed: Vec<&ProbeEvidence> = runs.iter().filter(|p| p.not_probed.is_none()).collect();
    let first = probed
        .iter()
        .find(|p| p.outcome != Some(ProbeOutcome::Reachable))
        .or(probed.first())
        .copied();
    if let Some(p) = first {
        return Some(CaseProbe {
            url: p.url.clone(),
            proxy: p.proxy.clone(),
            status: p.status,
            outcome: p.outcome.unwrap_or(ProbeOutcome::Failed),
            error: p.error.clone(),
            ran: p.site,
            runs: runs.to_vec(),
        });
    }
    let c = r
        .captured_probes
        .iter()
        .find(|c| !c.reached_service())
        .or(r.captured_probes.first())?;
    Some(CaseProbe {
        url: crate::PROCESSOR_ENDPOINT_URL.to_string(),
        proxy: None,
        status: c.status,
        outcome: match c.status {
            _ if c.reached_service() => ProbeOutcome::Reachable,
            Some(407) => ProbeOutcome::ProxyAuthRequired,
            Some(_) => ProbeOutcome::UnexpectedStatus,
            None => ProbeOutcome::Failed,
        },
        error: None,
        ran: ProbeSite::Customer,
        runs: Vec::new(),
    })
}
