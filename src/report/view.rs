//! The display model every human report shares: labels, human account names, evidence
//! relative to the case, state names, one action per distinct remedy. Built once per case;
//! renderers only lay it out and escape it for their medium.

use crate::case::model::{
    CaseReport, EndpointSource, EvidenceRef, InputRecord, ProbeSite, Severity, State, Verdict,
};
use crate::case::principals::Principal;
use crate::case::FindingId;
use crate::detect::Kind;

/// One account (or machine-level setting) the case says something about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub principal: Principal,
    /// Human name: `LOCAL SYSTEM (S-1-5-18)`, never the JSON key.
    pub label: &'static str,
    /// For the current user: which hive was the reference (`HKEY_CURRENT_USER`, a SID).
    pub reference: Option<String>,
    pub state: State,
    /// The state in words (`configured`, `direct`, `missing`, `unknown`).
    pub state_name: &'static str,
    /// One line: proxy, bypass, PAC (empty when nothing is known).
    pub settings: String,
    /// `file:line` relative to the case.
    pub evidence: Vec<String>,
    /// For the current user, when several user hives carry settings: one line each
    /// (`S-1-5-21-…: configured, proxy … (file:line)`).
    pub users: Vec<String>,
}

/// One finding, with its remedy given as a reference into [`CaseView::actions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    pub id: FindingId,
    pub severity: Severity,
    /// Human account name, if the finding concerns one account.
    pub account: Option<&'static str>,
    /// The title, with file paths shortened to the case.
    pub title: String,
    /// Index into [`CaseView::actions`] (0-based), if the finding has something to do.
    pub action: Option<usize>,
    pub evidence: Vec<String>,
    /// The customer's own log line behind the finding.
    pub excerpt: Option<String>,
}

/// Something to ask the customer for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedView {
    pub blocking: bool,
    pub account: Option<&'static str>,
    pub what: String,
    pub why: String,
    pub command: Option<String>,
}

/// How an input file was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputUse {
    /// Read and used as evidence.
    Used,
    /// Read but not used (the tool's own files, content not recognised).
    Ignored,
    /// Could not be read or was rejected.
    Unreadable,
}

/// One input file of the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputView {
    /// Relative to the case.
    pub file: String,
    /// What the file was taken to be, in words.
    pub kind: &'static str,
    pub usage: InputUse,
    /// Why it was ignored or could not be read.
    pub reason: Option<String>,
}

/// Everything a human report shows of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseView {
    pub name: String,
    pub verdict: Verdict,
    /// The one-line summary: verdict, main reason, endpoint judged.
    pub summary: String,
    /// The endpoint host judged.
    pub endpoint: String,
    /// Where the endpoint host came from, in words.
    pub endpoint_source: &'static str,
    pub accounts: Vec<AccountView>,
    /// Accounts the case says nothing about (said once, not as rows of "unknown").
    pub silent: Vec<&'static str>,
    /// What states rest on without the evidence showing it (file-name attribution, ...).
    pub assumptions: Vec<String>,
    pub findings: Vec<FindingView>,
    /// Distinct remedies in the order findings first cite them.
    pub actions: Vec<String>,
    pub needs: Vec<NeedView>,
    pub inputs: Vec<InputView>,
    /// The reachability probe in one line, if any.
    pub probe: Option<String>,
    /// Captures whose account could not be told.
    pub unattributed: Vec<String>,
}

/// A state in words.
pub fn state_name(s: State) -> &'static str {
    match s {
        State::Configured => "configured",
        State::Direct => "direct",
        State::Missing => "missing",
        State::Unknown => "unknown",
    }
}

/// Every input kind; [`InputRecord::kind`] keeps the contract's name, read back here.
const KINDS: [Kind; 18] = [
    Kind::RegExport,
    Kind::RegCompare,
    Kind::RegQuery,
    Kind::NetshWinhttp,
    Kind::SensorLog,
    Kind::SensorConfig,
    Kind::ProbeCapture,
    Kind::ConsoleSession,
    Kind::MdiProxyConfig,
    Kind::MdiApiTest,
    Kind::MdeAnalyzer,
    Kind::MdiReadiness,
    Kind::MdiConfigReport,
    Kind::CollectorManifest,
    Kind::RegHive,
    Kind::RegHiveLog,
    Kind::PacScript,
    Kind::Unknown,
];

/// The kind an input record names (`unknown` for a name no kind has).
fn kind_of(name: &str) -> Kind {
    KINDS
        .into_iter()
        .find(|k| k.name() == name)
        .unwrap_or(Kind::Unknown)
}

/// A kind in words, for people who do not know the tool's kind names.
fn words(kind: Kind) -> &'static str {
    match kind {
        Kind::RegExport => ".reg export",
        Kind::RegCompare => "reg compare output",
        Kind::RegQuery => "reg query output",
        Kind::NetshWinhttp => "netsh winhttp output",
        Kind::SensorLog => "sensor log",
        Kind::SensorConfig => "sensor configuration",
        Kind::ProbeCapture => "connectivity test output",
        Kind::ConsoleSession => "console session",
        Kind::MdiProxyConfig => "Get-MDISensorProxyConfiguration output",
        Kind::MdiApiTest => "Test-MDISensorApiConnection output",
        Kind::MdeAnalyzer => "Defender for Endpoint client analyzer output",
        Kind::MdiReadiness => "Test-MdiReadiness report",
        Kind::MdiConfigReport => "MDI configuration report",
        Kind::CollectorManifest => "collector manifest",
        Kind::RegHive => "registry hive",
        Kind::RegHiveLog => "registry hive transaction log",
        Kind::PacScript => "PAC script",
        Kind::Unknown => "not recognised",
    }
}

/// An input kind (its contract name) in words.
pub fn kind_words(kind: &str) -> &'static str {
    words(kind_of(kind))
}

/// Where the endpoint came from, in words.
pub fn endpoint_source_words(s: EndpointSource) -> &'static str {
    match s {
        EndpointSource::Flag => "given by the support engineer",
        EndpointSource::SensorConfig => "from the sensor configuration",
        EndpointSource::Manifest => "from the collector's manifest",
        EndpointSource::SensorLog => "from the sensor logs",
        EndpointSource::Default => "no upload names the workspace: a placeholder",
    }
}

/// An evidence location as people read it inside a case: relative to the case folder or
/// archive (`compare-system.txt:2` rather than `uploads/contoso-dc01/compare-system.txt:2`).
pub fn short_evidence(e: &EvidenceRef, case: &str) -> String {
    if let Some(route) = &e.probe {
        return format!("probe from here via {route}");
    }
    let rel = short_file(&e.file, case);
    let at = match e.line {
        Some(line) => format!("{rel}:{line}"),
        None => rel,
    };
    match &e.key {
        Some(key) => format!("{at} [{key}]"),
        None => at,
    }
}

/// A file name relative to its case (the part after the case folder or `case.zip!`).
pub fn short_file(file: &str, case: &str) -> String {
    if case.is_empty() {
        return file.to_string();
    }
    [format!("/{case}/"), format!("{case}/"), format!("{case}!")]
        .iter()
        .find_map(|p| {
            if file.starts_with(p.as_str()) {
                file.get(p.len()..)
            } else {
                file.find(p.as_str()).and_then(|i| file.get(i + p.len()..))
            }
        })
        .filter(|r| !r.is_empty())
        .unwrap_or(file)
        .to_string()
}

/// Replaces every full input path in `text` by its short form.
fn shorten_paths(text: &str, files: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (full, short) in files {
        if full != short && out.contains(full.as_str()) {
            out = out.replace(full.as_str(), short);
        }
    }
    out
}

fn input_view(i: &InputRecord, case: &str) -> InputView {
    let unknown_reason = || {
        i.diagnostics
            .iter()
            .find(|d| d.code == "unknown-content" || d.severity == Severity::Error)
            .or_else(|| i.diagnostics.first())
            .map(|d| d.message.clone())
    };
    let (usage, reason) = if let Some(e) = &i.error {
        (InputUse::Unreadable, Some(e.clone()))
    } else if let Some(why) = &i.ignored {
        (InputUse::Ignored, Some(why.clone()))
    } else if kind_of(&i.kind) == Kind::Unknown {
        (
            InputUse::Ignored,
            unknown_reason().or_else(|| Some("content not recognised".into())),
        )
    } else {
        (InputUse::Used, None)
    };
    let reason = reason.map(|r| r.trim_end_matches("; ignored").to_string());
    InputView {
        file: short_file(&i.file, case),
        kind: kind_words(&i.kind),
        usage,
        reason,
    }
}

fn probe_line(case: &CaseReport) -> Option<String> {
    let p = case.probe.as_ref()?;
    let outcome = match p.outcome {
        crate::probe::ProbeOutcome::Reachable => "reachable",
        crate::probe::ProbeOutcome::UnexpectedStatus => "unexpected answer",
        crate::probe::ProbeOutcome::ProxyAuthRequired => "the proxy demands authentication",
        crate::probe::ProbeOutcome::Failed => "failed",
    };
    let answer = match (p.status, &p.error) {
        (Some(s), _) => format!("HTTP {s}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "no answer".into(),
    };
    let route = match &p.proxy {
        Some(proxy) => format!("through {proxy}"),
        None if p.ran == ProbeSite::Customer => "as captured".into(),
        None => "direct".into(),
    };
    let site = match p.ran {
        ProbeSite::Customer => "on the customer's network",
        ProbeSite::Here => {
            "from the support engineer's machine (says nothing about the customer's network)"
        }
    };
    Some(format!("{} {route}, {site}: {outcome} ({answer})", p.url))
}

impl CaseView {
    /// The display model of one case.
    pub fn new(case: &CaseReport) -> CaseView {
        let name = case.case.as_str();
        let files: Vec<(String, String)> = case
            .inputs
            .iter()
            .map(|i| (i.file.clone(), short_file(&i.file, name)))
            .collect();
        let short = |e: &EvidenceRef| short_evidence(e, name);

        let mut accounts = Vec::new();
        let mut silent = Vec::new();
        let mut assumptions = Vec::new();
        for p in Principal::ALL {
            let Some(r) = case.principals.get(&p) else {
                continue;
            };
            for a in &r.assumptions {
                let a = shorten_paths(a, &files);
                if !assumptions.contains(&a) {
                    assumptions.push(a);
                }
            }
            if r.state == State::Unknown && r.evidence.is_empty() && r.users.is_empty() {
                // The sensor's own proxy is only worth a word when the configuration is there.
                if p != Principal::Sensor {
                    silent.push(p.label());
                }
                continue;
            }
            accounts.push(AccountView {
                principal: p,
                label: p.label(),
                reference: r.reference.clone(),
                state: r.state,
                state_name: state_name(r.state),
                settings: r.summary.clone(),
                evidence: r.evidence.iter().map(short).collect(),
                users: r
                    .users
                    .iter()
                    .map(|u| {
                        let ev: Vec<String> = u.evidence.iter().map(short).collect();
                        let mut line = format!("{}: {}", u.user, state_name(u.state));
                        if !u.summary.is_empty() {
                            line.push_str(&format!(", {}", u.summary));
                        }
                        if !ev.is_empty() {
                            line.push_str(&format!(" ({})", ev.join(", ")));
                        }
                        line
                    })
                    .collect(),
            });
        }

        let mut actions: Vec<String> = Vec::new();
        let findings = case
            .findings
            .iter()
            .map(|f| {
                let text = f.action.trim();
                // A finding that only confirms (same settings) has nothing to do: no action.
                let confirms = matches!(f.id, FindingId::ProxyMatches | FindingId::ProxyEquivalent);
                let action = (!confirms && !text.is_empty() && text != "None").then(|| {
                    let text = shorten_paths(text, &files);
                    match actions.iter().position(|a| *a == text) {
                        Some(i) => i,
                        None => {
                            actions.push(text);
                            actions.len() - 1
                        }
                    }
                });
                let mut evidence: Vec<String> = Vec::new();
                for e in &f.evidence {
                    let s = short(e);
                    if !evidence.contains(&s) {
                        evidence.push(s);
                    }
                }
                // A sensor-log finding cites its first and its last record, in that order.
                if let (FindingId::Log(_), [first, last]) = (f.id, evidence.as_mut_slice()) {
                    *first = format!("first {first}");
                    *last = format!("last {last}");
                }
                FindingView {
                    id: f.id,
                    severity: f.severity,
                    account: f.principal.map(Principal::label),
                    title: shorten_paths(&f.title, &files),
                    action,
                    evidence,
                    excerpt: f.excerpt.clone(),
                }
            })
            .collect();

        let needs = case
            .needs
            .iter()
            .map(|n| NeedView {
                blocking: n.blocking,
                account: n.principal.map(Principal::label),
                what: n.what.clone(),
                why: n.why.clone(),
                command: n.command.clone(),
            })
            .collect();

        CaseView {
            name: name.to_string(),
            verdict: case.verdict,
            summary: shorten_paths(&case.summary, &files),
            endpoint: case.endpoint.host.clone(),
            endpoint_source: endpoint_source_words(case.endpoint.source),
            accounts,
            silent,
            assumptions,
            findings,
            actions,
            needs,
            inputs: case.inputs.iter().map(|i| input_view(i, name)).collect(),
            probe: probe_line(case),
            unattributed: case.unattributed.iter().map(short).collect(),
        }
    }

    /// The inputs that were not used, with their reason.
    pub fn unused_inputs(&self) -> impl Iterator<Item = &InputView> {
        self.inputs.iter().filter(|i| i.usage != InputUse::Used)
    }

    /// The main reason of the verdict in a few words (for one-line summaries): the first
    /// finding of the verdict's severity, else the first blocking need.
    pub fn main_reason(&self) -> String {
        let blocking = self.needs.iter().find(|n| n.blocking);
        match self.verdict {
            Verdict::Misconfigured => self
                .findings
                .iter()
                .find(|f| f.severity == Severity::Error)
                .map(|f| format!("{}: {}", f.id, f.title)),
            Verdict::Inconclusive => blocking.map(|n| format!("needs {}", n.what)),
            Verdict::Healthy => self
                .findings
                .first()
                .map(|f| format!("{}: {}", f.id, f.title)),
        }
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::{Endpoint, Finding, PrincipalReport, UserSettings};
    use std::collections::BTreeMap;

    fn case_with(
        principals: BTreeMap<Principal, PrincipalReport>,
        findings: Vec<Finding>,
    ) -> CaseReport {
        CaseReport {
            case: "c".into(),
            verdict: Verdict::Misconfigured,
            summary: "MISCONFIGURED: x".into(),
            endpoint: Endpoint {
                host: "h".into(),
                source: EndpointSource::Default,
            },
            principals,
            findings,
            needs: Vec::new(),
            probe: None,
            unattributed: Vec::new(),
            inputs: Vec::new(),
        }
    }

    fn finding(id: FindingId, action: &str) -> Finding {
        Finding {
            id,
            severity: id.severity(),
            principal: Some(Principal::LocalSystem),
            title: "t".into(),
            action: action.into(),
            evidence: vec![
                EvidenceRef::new("up/c/a.txt", 2),
                EvidenceRef::new("up/c/a.txt", 2),
            ],
            excerpt: None,
        }
    }

    #[test]
    fn same_remedy_is_one_action_and_silent_accounts_are_listed_once() {
        let mut principals = BTreeMap::new();
        principals.insert(Principal::LocalService, PrincipalReport::unknown());
        principals.insert(Principal::Sensor, PrincipalReport::unknown());
        let mut user = PrincipalReport::unknown();
        user.state = State::Configured;
        user.evidence = vec![EvidenceRef::new("up/c/hkcu.reg", 4)];
        user.users = vec![UserSettings {
            user: "S-1-5-21-1".into(),
            state: State::Direct,
            summary: "direct".into(),
            evidence: vec![EvidenceRef::new("up/c/u.reg", 7)],
        }];
        principals.insert(Principal::CurrentUser, user);
        let case = case_with(
            principals,
            vec![
                finding(FindingId::ProxyMissing, "copy it"),
                finding(FindingId::ProxyDiffers, "copy it"),
                finding(FindingId::ProxyMatches, "Nothing to change"),
                finding(FindingId::WinhttpMismatch, "None"),
            ],
        );
        let v = CaseView::new(&case);
        assert_eq!(v.actions, vec!["copy it".to_string()]);
        let refs: Vec<Option<usize>> = v.findings.iter().map(|f| f.action).collect();
        assert_eq!(refs, vec![Some(0), Some(0), None, None]);
        assert_eq!(v.findings[0].evidence, vec!["a.txt:2".to_string()]);
        assert_eq!(v.findings[0].account, Some("LOCAL SYSTEM (S-1-5-18)"));
        assert_eq!(v.silent, vec!["LOCAL SERVICE (S-1-5-19)"]);
        assert_eq!(v.accounts.len(), 1);
        assert_eq!(
            v.accounts[0].users,
            vec!["S-1-5-21-1: direct, direct (u.reg:7)".to_string()]
        );
    }

    #[test]
    fn short_file_is_relative_to_the_case() {
        assert_eq!(
            short_file("fixtures/uploads/contoso-dc01/logs/a.log", "contoso-dc01"),
            "logs/a.log"
        );
        assert_eq!(
            short_file("case.zip!inner.zip!x.txt", "case.zip"),
            "inner.zip!x.txt"
        );
        assert_eq!(short_file("other/x.txt", "contoso"), "other/x.txt");
    }

    #[test]
    fn paths_in_prose_are_shortened() {
        let files = vec![("a/case/x.txt".to_string(), "x.txt".to_string())];
        assert_eq!(
            shorten_paths("a/case/x.txt is taken to show", &files),
            "x.txt is taken to show"
        );
    }

    #[test]
    fn kinds_have_words() {
        assert_eq!(kind_words("reg-compare"), "reg compare output");
        assert_eq!(kind_words("reg-hive"), "registry hive");
        assert_eq!(kind_words("console-session"), "console session");
        assert_eq!(kind_words("whatever"), "not recognised");
        // Every kind but `unknown` is named in words, and read back from its own name.
        for k in KINDS {
            assert_eq!(kind_of(k.name()), k);
            assert_eq!(words(k) == "not recognised", k == Kind::Unknown, "{k:?}");
        }
    }
}
