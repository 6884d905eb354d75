//! The decision rules: from observations per account to findings and a verdict.
//! Documented procedure first (compare the service accounts with the current user), then
//! the checks an expert adds (route to the endpoint, WinHTTP, logs, captured probes).

use std::collections::BTreeMap;

use super::evidence::{CompareVerdict, Fact, Observation, PlainData};
use super::model::{
    CaseProbe, CaseReport, EvidenceRef, Finding, InputRecord, PrincipalReport, Severity, State,
    UserSettings, Verdict,
};
use super::principals::Principal;
use super::settings::{self, Effective, HttpsRoute};
use super::ProbeEvidence;

/// The documented fix, quoted in actions.
const COPY_STEP: &str = "back up the Connections key (reg export), then copy the current user's DefaultConnectionSettings to HKU\\S-1-5-18 and HKU\\S-1-5-19; `proxy-triage fix` writes fix.reg and the backup script";

/// What is known of one account after weighing all its observations.
#[derive(Debug, Clone, Default)]
struct Account {
    /// Full blobs, each with where it came from and (for user hives) which user.
    blobs: Vec<(Vec<u8>, EvidenceRef, Option<String>)>,
    missing: Vec<EvidenceRef>,
    truncated: Vec<EvidenceRef>,
    /// Plain values by name: last assignment wins.
    plain: BTreeMap<String, (PlainData, EvidenceRef)>,
    verdicts: Vec<(CompareVerdict, EvidenceRef)>,
    winhttp_text: Vec<(Effective, EvidenceRef)>,
}

impl Account {
    fn evidence(&self) -> Vec<EvidenceRef> {
        let mut v: Vec<EvidenceRef> = self
            .blobs
            .iter()
            .map(|b| b.1.clone())
            .chain(self.missing.iter().cloned())
            .chain(self.truncated.iter().cloned())
            .chain(self.plain.values().map(|p| p.1.clone()))
            .chain(self.verdicts.iter().map(|v| v.1.clone()))
            .chain(self.winhttp_text.iter().map(|w| w.1.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn plain_effective(&self) -> Option<Effective> {
        if self.plain.is_empty() {
            return None;
        }
        let dword = |n: &str| match self.plain.get(n) {
            Some((PlainData::Dword(v), _)) => Some(*v),
            _ => None,
        };
        let text = |n: &str| match self.plain.get(n) {
            Some((PlainData::Text(t), _)) => Some(t.as_str()),
            _ => None,
        };
        Some(settings::from_plain(
            dword("ProxyEnable"),
            text("ProxyServer"),
            text("ProxyOverride"),
            text("AutoConfigURL"),
            dword("AutoDetect"),
        ))
    }
}

/// Everything assembled for one case before judgement.
#[derive(Debug, Clone, Default)]
pub struct Assembled {
    pub name: String,
    pub inputs: Vec<InputRecord>,
    pub observations: Vec<Observation>,
}

/// The effective settings each principal resolved to (for probing and the fix).
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub effective: BTreeMap<Principal, Effective>,
    /// The current user's blob bytes taken as the reference (what the fix copies).
    pub reference_blob: Option<(Vec<u8>, EvidenceRef)>,
    pub states: BTreeMap<Principal, State>,
    pub machine_wide: bool,
    pub sensor_proxy: Option<String>,
}

struct Ctx {
    accounts: BTreeMap<Principal, Account>,
    findings: Vec<Finding>,
}

fn finding(
    id: &str,
    severity: Severity,
    principal: Option<Principal>,
    title: String,
    action: String,
    mut evidence: Vec<EvidenceRef>,
) -> Finding {
    evidence.sort();
    evidence.dedup();
    Finding {
        id: id.to_string(),
        severity,
        principal,
        title,
        action,
        evidence,
    }
}

/// Picks the current user's reference: HKCU, or the user hive that has a proxy.
fn pick_reference(acc: &Account) -> Option<(Vec<u8>, EvidenceRef, Option<String>)> {
    let with_proxy = acc
        .blobs
        .iter()
        .rev()
        .find(|(b, _, _)| settings::from_blob(b).uses_proxy_or_pac());
    let hkcu = acc
        .blobs
        .iter()
        .rev()
        .find(|(_, _, u)| u.as_deref() == Some("HKEY_CURRENT_USER"));
    match (hkcu, with_proxy) {
        (Some(h), _) if settings::from_blob(&h.0).uses_proxy_or_pac() => Some(h.clone()),
        (_, Some(p)) => Some(p.clone()),
        (Some(h), None) => Some(h.clone()),
        (None, None) => acc.blobs.last().cloned(),
    }
}

/// Every user hive with a blob, when there is more than one (the last blob of each wins).
fn user_hives(acc: &Account) -> Vec<UserSettings> {
    let mut users: Vec<UserSettings> = Vec::new();
    for (bytes, at, user) in &acc.blobs {
        let name = user
            .clone()
            .unwrap_or_else(|| "HKEY_CURRENT_USER".to_string());
        let eff = settings::from_blob(bytes);
        let entry = UserSettings {
            user: name.clone(),
            state: state_of(&eff, &Principal::CurrentUser),
            summary: eff.summary(),
            evidence: vec![at.clone()],
        };
        match users
            .iter_mut()
            .find(|u| u.user.eq_ignore_ascii_case(&name))
        {
            Some(u) => {
                u.evidence.push(at.clone());
                u.state = entry.state;
                u.summary = entry.summary;
            }
            None => users.push(entry),
        }
    }
    if users.len() > 1 {
        users
    } else {
        Vec::new()
    }
}

fn state_of(eff: &Effective, principal: &Principal) -> State {
    if eff.uses_proxy_or_pac() || (eff.auto_detect() && *principal == Principal::CurrentUser) {
        State::Configured
    } else {
        State::Direct
    }
}

/// Judges one case: findings, principals, verdict.
pub fn judge(assembled: Assembled, probes: Vec<ProbeEvidence>) -> (CaseReport, Resolved) {
    let mut ctx = Ctx {
        accounts: BTreeMap::new(),
        findings: Vec::new(),
    };
    let mut empty = Vec::new();
    let mut captured_probes = Vec::new();
    let mut log_events: BTreeMap<String, (bool, Vec<EvidenceRef>, String)> = BTreeMap::new();
    let mut unattributed = Vec::new();
    let mut policy: Option<(u32, EvidenceRef)> = None;
    let mut sensor_proxy: Option<(String, Option<String>, bool, EvidenceRef)> = None;
    let mut workspace: Option<String> = None;

    for o in &assembled.observations {
        fn acc<'a>(ctx: &'a mut Ctx, o: &Observation) -> Option<&'a mut Account> {
            o.principal
                .clone()
                .map(|p| ctx.accounts.entry(p).or_default())
        }
        match &o.fact {
            Fact::ConnectionBlob { bytes } => {
                if let Some(a) = acc(&mut ctx, o) {
                    if settings::from_blob(bytes).error.is_some() {
                        a.truncated.push(o.at.clone());
                    } else {
                        a.blobs.push((bytes.clone(), o.at.clone(), o.user.clone()));
                    }
                }
            }
            Fact::WinHttpBlob { bytes } => {
                if let Some(a) = acc(&mut ctx, o) {
                    a.winhttp_text
                        .push((settings::from_winhttp_blob(bytes), o.at.clone()));
                }
            }
            Fact::TruncatedBlob { .. } => {
                if let Some(a) = acc(&mut ctx, o) {
                    a.truncated.push(o.at.clone());
                } else {
                    unattributed.push(o.at.clone());
                }
            }
            Fact::Missing { .. } => {
                if let Some(a) = acc(&mut ctx, o) {
                    a.missing.push(o.at.clone());
                }
            }
            Fact::Plain { name, data } => {
                if let Some(a) = acc(&mut ctx, o) {
                    a.plain.insert(name.clone(), (data.clone(), o.at.clone()));
                }
            }
            Fact::PerUserPolicy(v) => policy = Some((*v, o.at.clone())),
            Fact::WinHttpText {
                direct,
                proxy,
                bypass,
            } => {
                let eff = settings::from_winhttp_text(*direct, proxy.as_deref(), bypass.as_deref());
                ctx.accounts
                    .entry(Principal::Winhttp)
                    .or_default()
                    .winhttp_text
                    .push((eff, o.at.clone()));
            }
            Fact::CompareVerdict { result, .. } => {
                if let Some(a) = acc(&mut ctx, o) {
                    a.verdicts.push((*result, o.at.clone()));
                }
            }
            Fact::SensorProxy {
                url,
                user,
                password_set,
            } => sensor_proxy = Some((url.clone(), user.clone(), *password_set, o.at.clone())),
            Fact::Workspace(w) => workspace = Some(w.clone()),
            Fact::ProbeCaptured { status, text } => {
                captured_probes.push((*status, text.clone(), o.at.clone()))
            }
            Fact::LogEvent {
                finding_id,
                proxy_problem,
                message,
            } => {
                let e = log_events
                    .entry(finding_id.clone())
                    .or_insert_with(|| (*proxy_problem, Vec::new(), message.clone()));
                e.1.push(o.at.clone());
            }
            Fact::CaptureEmpty => empty.push(o.at.clone()),
            Fact::Unattributed { .. } => unattributed.push(o.at.clone()),
        }
    }

    let mut resolved = Resolved::default();
    let mut principals: BTreeMap<&'static str, PrincipalReport> = BTreeMap::new();

    // 0. The sensor's own proxy comes first: then the registry matters only for the updater.
    if let Some((url, user, password_set, at)) = &sensor_proxy {
        let shown = settings::redact(url);
        resolved.sensor_proxy = Some(url.clone());
        ctx.findings.push(finding(
            "sensor-proxy-configured",
            Severity::Info,
            Some(Principal::Sensor),
            format!("The sensor has its own proxy ({shown}) in SensorConfiguration.json; the registry comparison below matters only for the updater (LOCAL SYSTEM)"),
            "Change the sensor proxy with the sensor installer or deployment tool, not in the registry".to_string(),
            vec![at.clone()],
        ));
        let eff = settings::from_sensor_proxy(url);
        resolved.effective.insert(Principal::Sensor, eff);
        resolved.states.insert(Principal::Sensor, State::Configured);
        principals.insert(
            Principal::Sensor.key(),
            PrincipalReport {
                state: State::Configured,
                settings: Some(serde_json::json!({
                    "source": "SensorConfiguration.json",
                    "proxy_url": shown,
                    "user_name": user,
                    "password_set": password_set,
                })),
                evidence: vec![at.clone()],
                summary: format!("proxy {shown}"),
                reference: None,
                users: Vec::new(),
            },
        );
    }

    // 1. Resolve each account's state and settings.
    for p in [
        Principal::CurrentUser,
        Principal::LocalSystem,
        Principal::LocalService,
        Principal::Machine,
        Principal::Winhttp,
    ] {
        let acc = ctx.accounts.get(&p).cloned().unwrap_or_default();
        let mut report = PrincipalReport::unknown();
        report.evidence = acc.evidence();
        let chosen = if p == Principal::CurrentUser {
            pick_reference(&acc)
        } else {
            acc.blobs.last().cloned()
        };
        let service = matches!(p, Principal::LocalSystem | Principal::LocalService);
        if service && !acc.missing.is_empty() {
            // Conflicting evidence never resolves to the reassuring file: missing stands.
            report.state = State::Missing;
            report.summary = if acc.blobs.is_empty() {
                "no DefaultConnectionSettings".to_string()
            } else {
                "no DefaultConnectionSettings (another upload shows one: see evidence-conflict)"
                    .to_string()
            };
        } else if let Some((bytes, at, user)) = chosen {
            let eff = settings::from_blob(&bytes);
            report.state = state_of(&eff, &p);
            report.summary = eff.summary();
            let mut json = eff.json();
            if let Some(obj) = json.as_object_mut() {
                obj.insert("source".into(), "DefaultConnectionSettings".into());
                obj.insert("data_hex".into(), crate::registry::hex_lower(&bytes).into());
            }
            report.settings = Some(json);
            if p == Principal::CurrentUser {
                report.users = user_hives(&acc);
                report.reference = user.clone();
                resolved.reference_blob = Some((bytes.clone(), at.clone()));
            }
            resolved.effective.insert(p.clone(), eff);
        } else if let Some((eff, _)) = acc.winhttp_text.last() {
            report.state = if eff.proxy_enabled() {
                State::Configured
            } else {
                State::Direct
            };
            report.summary = eff.summary();
            report.settings = Some(eff.json());
            resolved.effective.insert(p.clone(), eff.clone());
        } else if !acc.missing.is_empty() {
            report.state = State::Missing;
            report.summary = "no DefaultConnectionSettings".to_string();
        } else if let Some(eff) = acc.plain_effective() {
            report.state = state_of(&eff, &p);
            report.summary = format!("{} (plain values)", eff.summary());
            report.settings = Some(eff.json());
            resolved.effective.insert(p.clone(), eff);
        } else if !acc.truncated.is_empty() {
            report.summary = "blob shown truncated; content unknown".to_string();
        }
        resolved.states.insert(p.clone(), report.state);
        principals.insert(p.key(), report);
    }

    // Identical-without-content compares inherit the current user's state.
    let cu_state = resolved
        .states
        .get(&Principal::CurrentUser)
        .copied()
        .unwrap_or(State::Unknown);
    for p in [Principal::LocalSystem, Principal::LocalService] {
        let acc = ctx.accounts.get(&p).cloned().unwrap_or_default();
        let identical = acc
            .verdicts
            .iter()
            .any(|(v, _)| *v == CompareVerdict::Identical);
        if identical && resolved.states.get(&p) == Some(&State::Unknown) {
            if let Some(r) = principals.get_mut(p.key()) {
                r.state = if cu_state == State::Unknown {
                    State::Unknown
                } else {
                    cu_state
                };
                r.summary =
                    "identical to the current user per reg compare (content not shown)".into();
                resolved.states.insert(p.clone(), r.state);
            }
            if let Some(eff) = resolved.effective.get(&Principal::CurrentUser).cloned() {
                resolved.effective.insert(p.clone(), eff);
            }
        }
    }

    // 2. Machine-wide policy.
    let machine_wide = matches!(policy, Some((0, _)));
    resolved.machine_wide = machine_wide;
    if let Some((0, at)) = &policy {
        ctx.findings.push(finding(
            "machine-wide-policy",
            Severity::Info,
            Some(Principal::Machine),
            "ProxySettingsPerUser = 0: every account, the sensor's included, uses the HKLM proxy settings; per-user comparisons do not apply".into(),
            "Judge and change the proxy in HKLM (or the policy), not per account".into(),
            vec![at.clone()],
        ));
    }

    // 3. The documented comparison, for the two service accounts.
    let cu_eff = resolved.effective.get(&Principal::CurrentUser).cloned();
    let cu_blob = resolved.reference_blob.clone();
    let cu_evidence = principals
        .get(Principal::CurrentUser.key())
        .map(|r| r.evidence.clone())
        .unwrap_or_default();
    let compare_applies = !machine_wide && matches!(cu_state, State::Configured | State::Unknown);
    for p in [Principal::LocalSystem, Principal::LocalService] {
        let acc = ctx.accounts.get(&p).cloned().unwrap_or_default();
        compare_account(
            &mut ctx,
            &p,
            &acc,
            compare_applies,
            cu_eff.as_ref(),
            cu_blob.as_ref(),
            &cu_evidence,
        );
    }

    // 4. Route to the endpoint for the accounts the sensor runs as.
    let endpoint = match &workspace {
        Some(w) => format!("{w}sensorapi.atp.azure.com"),
        None => "workspacesensorapi.atp.azure.com".to_string(),
    };
    let route_principals: Vec<Principal> = if machine_wide {
        vec![Principal::Machine]
    } else {
        vec![Principal::LocalSystem, Principal::LocalService]
    };
    for p in &route_principals {
        let state = resolved.states.get(p).copied().unwrap_or(State::Unknown);
        let (eff, after_fix) = match resolved.effective.get(p) {
            Some(e) => (Some(e.clone()), false),
            None if state == State::Missing => (cu_eff.clone(), true),
            None => (None, false),
        };
        let Some(eff) = eff else { continue };
        let ev = principals
            .get(p.key())
            .map(|r| r.evidence.clone())
            .unwrap_or_default();
        let note = if after_fix {
            " (after the documented copy from the current user)"
        } else {
            ""
        };
        match settings::https_route(&eff, &endpoint) {
            HttpsRoute::DirectNoHttpsEntry => ctx.findings.push(finding(
                "https-not-proxied",
                Severity::Warning,
                Some(p.clone()),
                format!("The per-scheme proxy list `{}` has no https= entry: HTTPS to {endpoint} goes direct{note}", settings::redact(eff.proxy_server())),
                "Add an https= entry (or use a single proxy for all schemes), or open *.atp.azure.com:443 in the firewall".into(),
                ev.clone(),
            )),
            HttpsRoute::Bypassed(entry) => ctx.findings.push(finding(
                "endpoint-bypassed",
                Severity::Warning,
                Some(p.clone()),
                format!("The bypass entry `{entry}` matches {endpoint}, so the sensor goes direct instead of through the proxy{note}"),
                "Remove the entry from the bypass list, or make sure *.atp.azure.com:443 is reachable directly".into(),
                ev.clone(),
            )),
            HttpsRoute::Proxy(_) | HttpsRoute::Direct => {}
        }
    }
    for p in [
        Principal::CurrentUser,
        Principal::LocalSystem,
        Principal::LocalService,
        Principal::Machine,
    ] {
        let Some(eff) = resolved.effective.get(&p) else {
            continue;
        };
        let service = matches!(p, Principal::LocalSystem | Principal::LocalService);
        if eff.pac_or_autodetect_only() && !(service && eff.is_untouched_default()) {
            let what = if eff.pac_enabled() {
                format!("the PAC script {}", eff.auto_config_url())
            } else {
                "auto-detect (WPAD) alone".to_string()
            };
            let ev = principals
                .get(p.key())
                .map(|r| r.evidence.clone())
                .unwrap_or_default();
            ctx.findings.push(finding(
                "pac-only",
                Severity::Warning,
                Some(p.clone()),
                format!("{} relies on {what}: the route to the sensor endpoint cannot be judged offline", p.label()),
                "Check the PAC result for https://*.atp.azure.com (or run `proxy-triage probe` through the proxy it returns); prefer a static proxy for the service accounts".into(),
                ev,
            ));
        }
    }

    // 5. WinHTTP against WinINet.
    if let Some(wh) = resolved.effective.get(&Principal::Winhttp).cloned() {
        let wininet = [Principal::LocalSystem, Principal::CurrentUser]
            .into_iter()
            .find_map(|p| {
                resolved
                    .effective
                    .get(&p)
                    .filter(|e| e.proxy_enabled())
                    .map(|e| (p, e.clone()))
            });
        if let Some((_, wi)) = wininet {
            let mismatch =
                !wh.proxy_enabled() || !wh.proxy_server().eq_ignore_ascii_case(wi.proxy_server());
            if mismatch {
                let ev = principals
                    .get(Principal::Winhttp.key())
                    .map(|r| r.evidence.clone())
                    .unwrap_or_default();
                let now = if wh.proxy_enabled() {
                    format!("uses {}", settings::redact(wh.proxy_server()))
                } else {
                    "is direct".to_string()
                };
                ctx.findings.push(finding(
                    "winhttp-mismatch",
                    Severity::Warning,
                    Some(Principal::Winhttp),
                    format!("WinHTTP {now} while WinINet uses the proxy {}", settings::redact(wi.proxy_server())),
                    "If a component uses WinHTTP, align it: `netsh winhttp import proxy source=ie` from an elevated prompt, or `netsh winhttp set proxy`".into(),
                    ev,
                ));
            }
        }
    }

    // 6. Captures that say nothing.
    if !empty.is_empty() {
        ctx.findings.push(finding(
            "capture-empty",
            Severity::Warning,
            None,
            format!("{} upload(s) are empty: typical of `reg compare … > file` when the error went to stderr", empty.len()),
            "Ask for the capture again with `2>&1` (cmd: `reg compare … > out.txt 2>&1`)".into(),
            empty,
        ));
    }
    let mut truncated: Vec<EvidenceRef> = ctx
        .accounts
        .values()
        .flat_map(|a| a.truncated.clone())
        .collect();
    truncated.extend(
        assembled
            .observations
            .iter()
            .filter(|o| o.principal.is_none() && matches!(o.fact, Fact::TruncatedBlob { .. }))
            .map(|o| o.at.clone()),
    );
    if !truncated.is_empty() {
        ctx.findings.push(finding(
            "capture-truncated",
            Severity::Warning,
            None,
            "A proxy blob is cut (e.g. PowerShell printed `{70, 0, 0, 0...}`): its content is unknown".into(),
            "Ask for `reg query \"HKU\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" /v DefaultConnectionSettings` (and the same for HKCU and S-1-5-19)".into(),
            truncated,
        ));
    }
    if !unattributed.is_empty() {
        ctx.findings.push(finding(
            "capture-unattributed",
            Severity::Info,
            None,
            "A capture does not say which account it is about (no command, no key, no SID in its name)".into(),
            "Ask the customer which command produced it, or for a capture with the echoed command".into(),
            unattributed.clone(),
        ));
    }

    // 7. Probes: re-run ones, then captured ones.
    let mut probe_report: Option<CaseProbe> = None;
    let all_runs: Vec<serde_json::Value> = probes.iter().map(|p| p.detail.clone()).collect();
    for p in probes.iter().filter(|p| p.outcome == "not_probed") {
        let who: Vec<&str> = p.principals.iter().map(|x| x.key()).collect();
        ctx.findings.push(finding(
            "probe-not-run",
            Severity::Info,
            p.principals.first().cloned(),
            format!(
                "Not probed for {}: {}",
                who.join(", "),
                p.error.clone().unwrap_or_default()
            ),
            "Evaluate the PAC script for https://*.atp.azure.com on the DC and probe the proxy it returns with `proxy-triage probe --proxy`".into(),
            Vec::new(),
        ));
    }
    let probes: Vec<ProbeEvidence> = probes
        .into_iter()
        .filter(|p| p.outcome != "not_probed")
        .collect();
    if !probes.is_empty() {
        let failed: Vec<&ProbeEvidence> =
            probes.iter().filter(|p| p.outcome != "reachable").collect();
        let first = failed.first().copied().or(probes.first());
        if let Some(p) = first {
            probe_report = Some(CaseProbe {
                url: p.url.clone(),
                proxy: p.proxy.clone(),
                status: p.status,
                outcome: p.outcome.clone(),
                error: p.error.clone(),
                runs: all_runs.clone(),
            });
        }
        for p in &probes {
            let via = p.proxy.clone().unwrap_or_else(|| "direct".to_string());
            let who: Vec<&str> = p.principals.iter().map(|x| x.key()).collect();
            let ev = vec![EvidenceRef::new(format!("probe via {via}"), 0)];
            if p.outcome == "reachable" {
                ctx.findings.push(finding(
                    "probe-ok",
                    Severity::Info,
                    None,
                    format!(
                        "The probe via {via} ({}) got the expected answer ({})",
                        who.join(", "),
                        p.status.map_or("-".into(), |s| s.to_string())
                    ),
                    "None for this route".into(),
                    ev,
                ));
            } else {
                ctx.findings.push(finding(
                    "probe-failed",
                    Severity::Error,
                    None,
                    format!("The probe via {via} ({}) did not get 503: {} {}", who.join(", "), p.outcome, p.error.clone().or(p.status.map(|s| s.to_string())).unwrap_or_default()),
                    "Review the proxy configuration (documented step 2): the proxy must allow *.atp.azure.com:443 without authentication for the service accounts and without SSL inspection".into(),
                    ev,
                ));
            }
        }
    }
    let ok: Vec<EvidenceRef> = captured_probes
        .iter()
        .filter(|c| c.0 == Some(503))
        .map(|c| c.2.clone())
        .collect();
    let bad: Vec<&(Option<u16>, String, EvidenceRef)> = captured_probes
        .iter()
        .filter(|c| c.0 != Some(503))
        .collect();
    if !bad.is_empty() {
        ctx.findings.push(finding(
            "probe-failed",
            Severity::Error,
            None,
            format!(
                "A captured probe did not get 503: {}",
                bad.first().map_or("", |c| c.1.as_str())
            ),
            "Review the proxy configuration (documented step 2) and test again".into(),
            bad.iter().map(|c| c.2.clone()).collect(),
        ));
    }
    if !ok.is_empty() {
        ctx.findings.push(finding(
            "probe-ok",
            Severity::Info,
            None,
            "The captured probe got 503 from the processor endpoint: the current user's route works".into(),
            "None for the current user; check the service accounts".into(),
            ok,
        ));
    }
    if probe_report.is_none() {
        if let Some(c) = captured_probes.first() {
            probe_report = Some(CaseProbe {
                url: crate::PROCESSOR_ENDPOINT_URL.to_string(),
                proxy: None,
                status: c.0,
                outcome: if c.0 == Some(503) {
                    "reachable".into()
                } else if c.0.is_some() {
                    "unexpected_status".into()
                } else {
                    "failed".into()
                },
                error: None,
                runs: Vec::new(),
            });
        }
    }

    // 8. Sensor logs.
    for (id, (proxy_problem, mut ev, message)) in log_events {
        let count = ev.len();
        ev.truncate(20);
        ctx.findings.push(finding(
            &id,
            if proxy_problem {
                Severity::Error
            } else {
                Severity::Info
            },
            None,
            format!(
                "Sensor log: {} ({count} record(s)); first: {}",
                id.replace('-', " "),
                excerpt(&message, 120)
            ),
            log_action(&id).to_string(),
            ev,
        ));
    }

    let ctx_verdicts: BTreeMap<Principal, bool> = ctx
        .accounts
        .iter()
        .map(|(p, a)| (p.clone(), !a.verdicts.is_empty()))
        .collect();
    // Order: errors first, then warnings, then info; stable within a severity.
    let mut findings = ctx.findings;
    let sensor_first = findings
        .iter()
        .position(|f| f.id == "sensor-proxy-configured");
    let head = sensor_first.map(|i| findings.remove(i));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if let Some(h) = head {
        findings.insert(0, h);
    }

    // Known: a state, or a comparison verdict (identical under /od shows no content but
    // does say the account equals the current user).
    let ls_known = [Principal::LocalSystem, Principal::LocalService]
        .iter()
        .any(|p| {
            resolved.states.get(p).is_some_and(|s| *s != State::Unknown)
                || ctx_verdicts.get(p).is_some_and(|v| *v)
        });
    let machine_known = machine_wide && resolved.effective.contains_key(&Principal::Machine);
    let verdict = if findings.iter().any(|f| f.severity == Severity::Error) {
        Verdict::Misconfigured
    } else if !ls_known && !machine_known {
        Verdict::Inconclusive
    } else {
        Verdict::Healthy
    };
    let report = CaseReport {
        case: assembled.name,
        verdict,
        principals,
        findings,
        probe: probe_report,
        unattributed,
        inputs: assembled.inputs,
    };
    (report, resolved)
}

/// The documented comparison for one service account against the current user.
fn compare_account(
    ctx: &mut Ctx,
    p: &Principal,
    acc: &Account,
    applies: bool,
    cu_eff: Option<&Effective>,
    cu_blob: Option<&(Vec<u8>, EvidenceRef)>,
    cu_evidence: &[EvidenceRef],
) {
    // Outcome per piece of evidence: (kind, evidence, what differs).
    #[derive(PartialEq, Clone, Copy, Debug)]
    enum Outcome {
        Matches,
        Equivalent,
        Differs,
        Missing,
    }
    let mut outcomes: Vec<(Outcome, EvidenceRef, Vec<&'static str>)> = Vec::new();
    for at in &acc.missing {
        outcomes.push((Outcome::Missing, at.clone(), Vec::new()));
    }
    for (bytes, at, _) in &acc.blobs {
        let eff = settings::from_blob(bytes);
        if let Some((cu_bytes, _)) = cu_blob {
            if cu_bytes == bytes {
                outcomes.push((Outcome::Matches, at.clone(), Vec::new()));
                continue;
            }
        }
        if let Some(cu) = cu_eff {
            let diff = eff.differences(cu);
            if diff.is_empty() {
                outcomes.push((Outcome::Equivalent, at.clone(), diff));
            } else {
                outcomes.push((Outcome::Differs, at.clone(), diff));
            }
        }
    }
    if acc.blobs.is_empty() {
        for (v, at) in &acc.verdicts {
            let o = match v {
                CompareVerdict::Identical => Outcome::Matches,
                CompareVerdict::Different => Outcome::Differs,
            };
            outcomes.push((o, at.clone(), Vec::new()));
        }
    }
    if outcomes.is_empty() {
        return;
    }
    let mut cu_ev: Vec<EvidenceRef> = cu_evidence.to_vec();
    cu_ev.truncate(4);
    let with = |at: &EvidenceRef| {
        let mut v = vec![at.clone()];
        v.extend(cu_ev.iter().cloned());
        v
    };
    let missing: Vec<&(Outcome, EvidenceRef, Vec<&str>)> = outcomes
        .iter()
        .filter(|o| o.0 == Outcome::Missing)
        .collect();
    let differs: Vec<&(Outcome, EvidenceRef, Vec<&str>)> = outcomes
        .iter()
        .filter(|o| o.0 == Outcome::Differs)
        .collect();
    let equivalent: Vec<&(Outcome, EvidenceRef, Vec<&str>)> = outcomes
        .iter()
        .filter(|o| o.0 == Outcome::Equivalent)
        .collect();
    let matches: Vec<&(Outcome, EvidenceRef, Vec<&str>)> = outcomes
        .iter()
        .filter(|o| o.0 == Outcome::Matches)
        .collect();
    if applies && !missing.is_empty() {
        ctx.findings.push(finding(
            "proxy-missing",
            Severity::Error,
            Some(p.clone()),
            format!("{} has no DefaultConnectionSettings while the current user goes through a proxy or PAC (or is not shown)", p.label()),
            format!("Copy the proxy setting across: {COPY_STEP}"),
            missing.iter().flat_map(|o| with(&o.1)).collect(),
        ));
    }
    if applies && !differs.is_empty() {
        let fields: Vec<&str> = differs.iter().flat_map(|o| o.2.iter().copied()).collect();
        let what = if fields.is_empty() {
            "reg compare says Different".to_string()
        } else {
            let mut f = fields.clone();
            f.dedup();
            format!("differs in: {}", f.join(", "))
        };
        ctx.findings.push(finding(
            "proxy-differs",
            Severity::Error,
            Some(p.clone()),
            format!(
                "{} does not use the current user's proxy settings: {what}",
                p.label()
            ),
            format!("Copy the proxy setting across: {COPY_STEP}"),
            differs.iter().flat_map(|o| with(&o.1)).collect(),
        ));
    }
    if !equivalent.is_empty() {
        ctx.findings.push(finding(
            "proxy-equivalent",
            Severity::Info,
            Some(p.clone()),
            format!("{} has the same effective settings as the current user; the blobs differ only in the change counter or trailer, so `reg compare` says Different", p.label()),
            "Nothing to copy: this Different is harmless".into(),
            equivalent.iter().flat_map(|o| with(&o.1)).collect(),
        ));
    }
    if !matches.is_empty() && missing.is_empty() && differs.is_empty() {
        ctx.findings.push(finding(
            "proxy-matches",
            Severity::Info,
            Some(p.clone()),
            format!(
                "{} has the same proxy settings as the current user",
                p.label()
            ),
            "None".into(),
            matches.iter().flat_map(|o| with(&o.1)).collect(),
        ));
    }
    // Conflicting evidence: files that disagree about this account.
    let kinds: Vec<Outcome> = {
        let mut k: Vec<Outcome> = outcomes
            .iter()
            .map(|o| {
                if o.0 == Outcome::Equivalent {
                    Outcome::Matches
                } else {
                    o.0
                }
            })
            .collect();
        k.dedup();
        k.sort_by_key(|o| *o as u8);
        k.dedup();
        k
    };
    let files: Vec<&str> = {
        let mut f: Vec<&str> = outcomes.iter().map(|o| o.1.file.as_str()).collect();
        f.sort();
        f.dedup();
        f
    };
    if kinds.len() > 1 && files.len() > 1 {
        let said: Vec<String> = outcomes
            .iter()
            .map(|o| format!("{} says {:?}", o.1, o.0).to_lowercase())
            .collect();
        ctx.findings.push(finding(
            "evidence-conflict",
            Severity::Warning,
            Some(p.clone()),
            format!("Uploads disagree about {}: {}", p.label(), said.join("; ")),
            "The worst reading stands; ask which capture is current and re-run the comparison"
                .into(),
            outcomes.iter().map(|o| o.1.clone()).collect(),
        ));
    }
}

/// At most `max` characters of customer text, with an ellipsis when cut.
fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The documented action for a sensor-log finding.
fn log_action(id: &str) -> &'static str {
    match id {
        "ssl-inspection-suspected" => "Exclude *.atp.azure.com from SSL/TLS inspection on the proxy (inspection is not supported)",
        "proxy-auth-required" => "The proxy demands authentication the sensor cannot give as a service account: exempt *.atp.azure.com, or configure the sensor proxy with credentials at install time",
        "license-invalid-proxy-suspected" => "Usually the proxy blocks or rewrites the connection: check the sensor's proxy and that *.atp.azure.com:443 is allowed",
        "tls-trust-failure" => "Install the root CA the sensor endpoint chain needs (or remove TLS interception) on the domain controller",
        "tls-channel-failure" => "Enable TLS 1.2 on the server and check cipher suites and interception",
        "proxy-dns-failure" => "The proxy host name does not resolve from the DC: fix the proxy name or DNS",
        "dns-failure" => "The endpoint does not resolve: allow DNS resolution of *.atp.azure.com or use a proxy that resolves it",
        "service-unavailable-503" => "A 503 from the proxy (not the service) usually means the proxy cannot reach the endpoint: check the proxy's upstream",
        "connection-reset" => "Something between the DC and the endpoint resets the connection: check firewall and proxy rules for *.atp.azure.com:443",
        "localhost-channel-blocked" => "The sensor cannot reach its updater on localhost:444: check local firewall/endpoint protection rules, not the proxy",
        "connect-failed" => "The connection was refused or unreachable: open *.atp.azure.com:443 or set the proxy for the service accounts",
        "timeout" => "Connections time out: the traffic is probably dropped; open *.atp.azure.com:443 or route it through the proxy",
        "install-failed-0x80070643" => "The installer failed (0x80070643): check the deployment log for the connectivity test and the proxy given to the installer",
        "dc-communication-failure" => "Not a proxy problem: check the sensor's domain controller connectivity and permissions",
        _ => "See the sensor log record",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::evidence::{Fact, Observation};

    /// A 0x46 DefaultConnectionSettings blob with a 32-byte zero trailer.
    fn blob(counter: u32, flags: u32, proxy: &str, bypass: &str, pac: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0x46u32, counter, flags] {
            b.extend(v.to_le_bytes());
        }
        for s in [proxy, bypass, pac] {
            b.extend((s.len() as u32).to_le_bytes());
            b.extend(s.as_bytes());
        }
        b.extend([0u8; 32]);
        b
    }

    fn obs(p: Option<Principal>, fact: Fact, file: &str, line: u64) -> Observation {
        let user = (p == Some(Principal::CurrentUser)).then(|| "HKEY_CURRENT_USER".to_string());
        Observation {
            principal: p,
            user,
            fact,
            at: EvidenceRef::new(file, line),
        }
    }

    fn run(observations: Vec<Observation>) -> CaseReport {
        judge(
            Assembled {
                name: "t".into(),
                inputs: vec![],
                observations,
            },
            vec![],
        )
        .0
    }

    fn ids(r: &CaseReport) -> Vec<(String, Option<&'static str>)> {
        r.findings
            .iter()
            .map(|f| (f.id.clone(), f.principal.as_ref().map(|p| p.key())))
            .collect()
    }

    fn cu_proxy() -> Observation {
        obs(
            Some(Principal::CurrentUser),
            Fact::ConnectionBlob {
                bytes: blob(9, 3, "proxy.contoso.com:8080", "<local>", ""),
            },
            "hkcu.reg",
            5,
        )
    }

    #[test]
    fn missing_local_system_is_an_error() {
        let r = run(vec![
            cu_proxy(),
            obs(
                Some(Principal::LocalSystem),
                Fact::Missing {
                    how: "not found".into(),
                },
                "cmp18.txt",
                3,
            ),
        ]);
        assert_eq!(r.verdict, Verdict::Misconfigured);
        assert_eq!(ids(&r)[0], ("proxy-missing".into(), Some("local_system")));
        assert_eq!(r.principals["local_system"].state, State::Missing);
        assert_eq!(r.findings[0].evidence[0], EvidenceRef::new("cmp18.txt", 3));
    }

    #[test]
    fn counter_only_difference_is_equivalent_and_healthy() {
        let r = run(vec![
            cu_proxy(),
            obs(
                Some(Principal::LocalSystem),
                Fact::ConnectionBlob {
                    bytes: blob(2, 3, "proxy.contoso.com:8080", "<local>", ""),
                },
                "ls.reg",
                9,
            ),
            obs(
                Some(Principal::LocalService),
                Fact::ConnectionBlob {
                    bytes: blob(9, 3, "proxy.contoso.com:8080", "<local>", ""),
                },
                "lsvc.reg",
                9,
            ),
        ]);
        assert_eq!(r.verdict, Verdict::Healthy);
        assert_eq!(
            ids(&r),
            vec![
                ("proxy-equivalent".into(), Some("local_system")),
                ("proxy-matches".into(), Some("local_service"))
            ]
        );
    }

    #[test]
    fn untouched_default_differs_from_a_proxy() {
        let r = run(vec![
            cu_proxy(),
            obs(
                Some(Principal::LocalSystem),
                Fact::ConnectionBlob {
                    bytes: blob(1, 9, "", "", ""),
                },
                "ls.reg",
                9,
            ),
        ]);
        assert_eq!(
            ids(&r),
            vec![("proxy-differs".into(), Some("local_system"))]
        );
        assert_eq!(r.principals["local_system"].state, State::Direct);
        assert!(r.findings[0].title.contains("proxy_enabled"));
    }

    #[test]
    fn direct_current_user_never_raises_missing() {
        let r = run(vec![
            obs(
                Some(Principal::CurrentUser),
                Fact::ConnectionBlob {
                    bytes: blob(1, 1, "", "", ""),
                },
                "hkcu.reg",
                5,
            ),
            obs(
                Some(Principal::LocalSystem),
                Fact::Missing { how: "x".into() },
                "cmp.txt",
                1,
            ),
        ]);
        assert!(ids(&r).iter().all(|(id, _)| id != "proxy-missing"));
        assert_eq!(r.verdict, Verdict::Healthy);
    }

    #[test]
    fn unknown_current_user_and_missing_system_follow_the_procedure() {
        let r = run(vec![obs(
            Some(Principal::LocalSystem),
            Fact::Missing { how: "x".into() },
            "cmp.txt",
            1,
        )]);
        assert_eq!(
            ids(&r),
            vec![("proxy-missing".into(), Some("local_system"))]
        );
    }

    #[test]
    fn machine_wide_policy_replaces_per_user_comparison() {
        let r = run(vec![
            cu_proxy(),
            obs(
                Some(Principal::LocalSystem),
                Fact::Missing { how: "x".into() },
                "cmp.txt",
                1,
            ),
            obs(
                Some(Principal::Machine),
                Fact::PerUserPolicy(0),
                "hklm.reg",
                7,
            ),
        ]);
        let ids = ids(&r);
        assert!(ids.contains(&("machine-wide-policy".into(), Some("machine"))));
        assert!(!ids
            .iter()
            .any(|(i, _)| i == "proxy-missing" || i == "proxy-differs"));
    }

    #[test]
    fn bypassed_endpoint_and_https_not_proxied() {
        let r = run(vec![
            obs(
                Some(Principal::LocalSystem),
                Fact::ConnectionBlob {
                    bytes: blob(1, 3, "proxy:8080", "*.azure.com;<local>", ""),
                },
                "ls.reg",
                4,
            ),
            obs(
                Some(Principal::LocalService),
                Fact::ConnectionBlob {
                    bytes: blob(1, 3, "http=proxy:8080;ftp=proxy:21", "", ""),
                },
                "lsvc.reg",
                4,
            ),
        ]);
        let ids = ids(&r);
        assert!(ids.contains(&("endpoint-bypassed".into(), Some("local_system"))));
        assert!(ids.contains(&("https-not-proxied".into(), Some("local_service"))));
        assert_eq!(r.verdict, Verdict::Healthy);
    }

    #[test]
    fn route_of_a_missing_account_is_judged_after_the_fix() {
        let r = run(vec![
            obs(
                Some(Principal::CurrentUser),
                Fact::ConnectionBlob {
                    bytes: blob(1, 3, "proxy:8080", "*.atp.azure.com", ""),
                },
                "hkcu.reg",
                4,
            ),
            obs(
                Some(Principal::LocalService),
                Fact::Missing { how: "x".into() },
                "1519.txt",
                1,
            ),
        ]);
        let f = r
            .findings
            .iter()
            .find(|f| f.id == "endpoint-bypassed")
            .expect("bypass finding");
        assert_eq!(f.principal, Some(Principal::LocalService));
        assert!(f.title.contains("after the documented copy"));
    }

    #[test]
    fn conflicting_files_keep_the_worst_reading() {
        let r = run(vec![
            cu_proxy(),
            obs(
                Some(Principal::LocalSystem),
                Fact::ConnectionBlob {
                    bytes: blob(9, 3, "proxy.contoso.com:8080", "<local>", ""),
                },
                "old.reg",
                4,
            ),
            obs(
                Some(Principal::LocalSystem),
                Fact::Missing { how: "x".into() },
                "new.txt",
                2,
            ),
        ]);
        let ids = ids(&r);
        assert!(ids.contains(&("proxy-missing".into(), Some("local_system"))));
        assert!(ids.contains(&("evidence-conflict".into(), Some("local_system"))));
        assert!(!ids.iter().any(|(i, _)| i == "proxy-matches"));
        assert_eq!(r.verdict, Verdict::Misconfigured);
    }

    #[test]
    fn current_user_alone_is_inconclusive() {
        let r = run(vec![cu_proxy()]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn compare_verdict_without_content() {
        let diff = run(vec![obs(
            Some(Principal::LocalSystem),
            Fact::CompareVerdict {
                result: CompareVerdict::Different,
                against: Some(Principal::CurrentUser),
            },
            "c.txt",
            4,
        )]);
        assert_eq!(
            ids(&diff),
            vec![("proxy-differs".into(), Some("local_system"))]
        );
        let same = run(vec![
            cu_proxy(),
            obs(
                Some(Principal::LocalSystem),
                Fact::CompareVerdict {
                    result: CompareVerdict::Identical,
                    against: Some(Principal::CurrentUser),
                },
                "c.txt",
                4,
            ),
        ]);
        assert_eq!(
            ids(&same),
            vec![("proxy-matches".into(), Some("local_system"))]
        );
        assert_eq!(same.principals["local_system"].state, State::Configured);
    }

    #[test]
    fn pac_only_except_untouched_service_default() {
        let r = run(vec![
            obs(
                Some(Principal::CurrentUser),
                Fact::ConnectionBlob {
                    bytes: blob(1, 5, "", "", "http://wpad/proxy.pac"),
                },
                "hkcu.reg",
                4,
            ),
            obs(
                Some(Principal::LocalSystem),
                Fact::ConnectionBlob {
                    bytes: blob(1, 9, "", "", ""),
                },
                "ls.reg",
                4,
            ),
        ]);
        let pac: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.id == "pac-only")
            .map(|f| f.principal.clone())
            .collect();
        assert_eq!(pac, vec![Some(Principal::CurrentUser)]);
    }

    #[test]
    fn empty_and_truncated_captures_are_warnings_and_inconclusive() {
        let r = run(vec![
            obs(None, Fact::CaptureEmpty, "empty.txt", 0),
            obs(
                Some(Principal::CurrentUser),
                Fact::TruncatedBlob {
                    detail: "{70, 0, 0, 0...}".into(),
                },
                "ps.txt",
                3,
            ),
        ]);
        assert_eq!(
            ids(&r),
            vec![
                ("capture-empty".into(), None),
                ("capture-truncated".into(), None)
            ]
        );
        assert_eq!(r.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn winhttp_direct_while_wininet_proxies() {
        let r = run(vec![
            cu_proxy(),
            obs(
                Some(Principal::LocalSystem),
                Fact::ConnectionBlob {
                    bytes: blob(9, 3, "proxy.contoso.com:8080", "<local>", ""),
                },
                "ls.reg",
                4,
            ),
            obs(
                None,
                Fact::WinHttpText {
                    direct: true,
                    proxy: None,
                    bypass: None,
                },
                "netsh.txt",
                4,
            ),
        ]);
        assert!(ids(&r).contains(&("winhttp-mismatch".into(), Some("winhttp"))));
    }

    #[test]
    fn log_events_are_errors_except_dc_communication() {
        let r = run(vec![
            obs(
                None,
                Fact::LogEvent {
                    finding_id: "proxy-auth-required".into(),
                    proxy_problem: true,
                    message: "407".into(),
                },
                "s.log",
                12,
            ),
            obs(
                None,
                Fact::LogEvent {
                    finding_id: "dc-communication-failure".into(),
                    proxy_problem: false,
                    message: "dc".into(),
                },
                "s.log",
                40,
            ),
        ]);
        assert_eq!(r.findings[0].id, "proxy-auth-required");
        assert_eq!(r.findings[0].severity, Severity::Error);
        assert_eq!(r.findings[1].severity, Severity::Info);
        assert_eq!(r.verdict, Verdict::Misconfigured);
    }
}

#[cfg(test)]
mod user_tests {
    use super::*;
    use crate::case::evidence::{Fact, Observation};

    fn blob(flags: u32, proxy: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0x46u32, 1, flags] {
            b.extend(v.to_le_bytes());
        }
        for s in [proxy, "", ""] {
            b.extend((s.len() as u32).to_le_bytes());
            b.extend(s.as_bytes());
        }
        b
    }

    #[test]
    fn the_user_hive_with_a_proxy_is_the_reference_and_all_are_reported() {
        let o = |user: &str, b: Vec<u8>, line| Observation {
            principal: Some(Principal::CurrentUser),
            user: Some(user.to_string()),
            fact: Fact::ConnectionBlob { bytes: b },
            at: EvidenceRef::new("users.reg", line),
        };
        let (r, resolved) = judge(
            Assembled {
                name: "t".into(),
                inputs: vec![],
                observations: vec![
                    o("HKEY_CURRENT_USER", blob(1, ""), 3),
                    o("S-1-5-21-1-2-3-1104", blob(3, "proxy:8080"), 9),
                ],
            },
            vec![],
        );
        let cu = &r.principals["current_user"];
        assert_eq!(cu.reference.as_deref(), Some("S-1-5-21-1-2-3-1104"));
        assert_eq!(cu.state, State::Configured);
        assert_eq!(cu.users.len(), 2);
        assert_eq!(cu.users[0].state, State::Direct);
        assert_eq!(resolved.reference_blob.map(|b| b.1.line), Some(9));
    }
}
