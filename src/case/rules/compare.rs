//! The documented procedure: compare LOCAL SYSTEM's and LOCAL SERVICE's
//! `DefaultConnectionSettings` with the current user's; and what replaces it (a sensor-level
//! proxy, the machine-wide policy).

use super::super::findings::FindingId;
use super::super::model::{ProbeEvidence, State};
use super::super::principals::Principal;
use super::super::resolve::{CompareOutcome, Resolved};
use super::super::settings::redact;
use super::Findings;

/// The remedy for a service account without the user's proxy: the current method first,
/// then the documented registry copy.
pub const COPY_ACTION: &str = "Give the sensor a proxy of its own (recommended: Set-MDISensorProxyConfiguration, or the installer's ProxyUrl), or copy the current user's DefaultConnectionSettings to HKU\\S-1-5-18 and HKU\\S-1-5-19 (the documented legacy method; back up the Connections keys first)";

/// The sensor's own proxy comes first: then the per-account WinINet settings do not decide
/// the route of either service.
pub fn sensor_proxy(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    let Some(sp) = &r.sensor_proxy else { return };
    let auth = match (&sp.user, sp.password_set) {
        (Some(u), true) => format!(", as {u} with a stored password"),
        (Some(u), false) => format!(", as {u} without a password"),
        _ => String::new(),
    };
    f.add(
        FindingId::SensorProxyConfigured,
        Some(Principal::Sensor),
        format!(
            "The sensor has its own proxy ({}{auth}) in SensorConfiguration.json: the sensor service and its updater both use it, so the per-account registry settings do not decide their route",
            redact(&sp.url)
        ),
        "Nothing to copy in the registry. To change the proxy, use Set-MDISensorProxyConfiguration (or reinstall with ProxyUrl)".into(),
        vec![sp.at.clone()],
    );
}

/// `ProxySettingsPerUser` = 0: every account reads the HKLM settings.
pub fn machine_wide(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    let Some(at) = &r.machine_wide else { return };
    f.add(
        FindingId::MachineWidePolicy,
        Some(Principal::Machine),
        "ProxySettingsPerUser = 0: every account, the sensor's included, uses the machine-wide (HKLM) proxy settings; per-user comparisons do not apply".into(),
        "Judge and change the proxy in HKLM (or its Group Policy), not per account".into(),
        vec![at.clone()],
    );
}

/// Human words for the fields the proxy model compares.
pub fn field_words(field: &str) -> &'static str {
    match field {
        "proxy_enabled" => "whether a proxy is used",
        "auto_config_url_enabled" => "whether a PAC script is used",
        "auto_detect" => "automatic detection",
        "direct" => "the direct-access flag",
        "proxy_server" => "the proxy server",
        "bypass_list" => "the bypass list",
        "auto_config_url" => "the PAC script address",
        "error" => "a damaged value",
        _ => "another setting",
    }
}

/// The documented comparison for the two service accounts, with conflicts between uploads.
pub fn documented_comparison(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    let user = r.state(Principal::CurrentUser);
    // The registry copy only matters when the registry decides the route.
    let applies = r.sensor_proxy.is_none()
        && r.machine_wide.is_none()
        && matches!(user, State::Configured | State::Unknown);
    let user_evidence: Vec<_> = r
        .account(Principal::CurrentUser)
        .map(|a| a.evidence.iter().take(4).cloned().collect())
        .unwrap_or_default();
    for p in [Principal::LocalSystem, Principal::LocalService] {
        let Some(a) = r.account(p) else { continue };
        let with_user = |at: &super::super::model::EvidenceRef| {
            let mut v = vec![at.clone()];
            v.extend(user_evidence.iter().cloned());
            v
        };
        let pick = |want: fn(&CompareOutcome) -> bool| -> Vec<_> {
            a.comparisons
                .iter()
                .filter(|c| want(&c.outcome))
                .flat_map(|c| with_user(&c.at))
                .collect()
        };
        let missing = pick(|o| *o == CompareOutcome::Missing);
        let differs = pick(|o| matches!(o, CompareOutcome::Differs(_)));
        let equivalent = pick(|o| *o == CompareOutcome::Equivalent);
        let matches = pick(|o| *o == CompareOutcome::Matches);
        let user_words = if user == State::Unknown {
            "the documented procedure treats the not-found error alone as the problem (the current user's setting is not in the uploads)"
        } else {
            "the current user goes through a proxy or PAC script"
        };
        let (has_missing, has_differs) = (!missing.is_empty(), !differs.is_empty());
        if applies && has_missing {
            f.add(
                FindingId::ProxyMissing,
                Some(p),
                format!(
                    "{} has no DefaultConnectionSettings; {user_words}",
                    p.label()
                ),
                COPY_ACTION.into(),
                missing,
            );
        }
        if applies && has_differs {
            let mut fields: Vec<&str> = a
                .comparisons
                .iter()
                .filter_map(|c| match &c.outcome {
                    CompareOutcome::Differs(d) => Some(d.iter().map(|x| field_words(x))),
                    _ => None,
                })
                .flatten()
                .collect();
            fields.sort();
            fields.dedup();
            let what = if fields.is_empty() {
                "reg compare says Different".to_string()
            } else {
                format!("they differ in {}", fields.join(", "))
            };
            f.add(
                FindingId::ProxyDiffers,
                Some(p),
                format!(
                    "{} does not use the current user's proxy settings: {what}",
                    p.label()
                ),
                COPY_ACTION.into(),
                differs,
            );
        }
        if !equivalent.is_empty() && !has_differs && !has_missing {
            f.add(
                FindingId::ProxyEquivalent,
                Some(p),
                format!("{} has the same effective settings as the current user; the values differ only in the change counter or trailer, so reg compare says Different", p.label()),
                "Nothing to copy: this Different is harmless".into(),
                equivalent,
            );
        }
        if !matches.is_empty() && !has_differs && !has_missing {
            f.add(
                FindingId::ProxyMatches,
                Some(p),
                format!(
                    "{} has the same proxy settings as the current user",
                    p.label()
                ),
                "Nothing to change for this account".into(),
                matches,
            );
        }
        conflict(p, &a.conflict, f);
    }
}

/// Uploads that disagree about the current user's own value.
pub fn user_conflict(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    if let Some(a) = r.account(Principal::CurrentUser) {
        conflict(Principal::CurrentUser, &a.conflict, f);
    }
}

/// `evidence-conflict` for one principal, citing the files on every side.
pub fn conflict(
    p: Principal,
    sides: &[(super::super::model::EvidenceRef, String)],
    f: &mut Findings,
) {
    if sides.len() < 2 {
        return;
    }
    let said: Vec<String> = sides
        .iter()
        .map(|(at, s)| format!("{at} shows {s}"))
        .collect();
    f.add(
        FindingId::EvidenceConflict,
        Some(p),
        format!("Uploads disagree about {}: {}", p.label(), said.join("; ")),
        "The worst reading stands. Ask the customer which capture is current, or collect again"
            .into(),
        sides.iter().map(|(at, _)| at.clone()).collect(),
    );
}
