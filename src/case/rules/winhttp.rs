//! WinHTTP against WinINet, and uploads that disagree about WinHTTP.

use super::super::findings::FindingId;
use super::super::model::ProbeEvidence;
use super::super::principals::Principal;
use super::super::resolve::Resolved;
use super::super::settings::redact;
use super::compare::conflict;
use super::Findings;

/// `winhttp-mismatch`: WinHTTP is direct (or another proxy) while WinINet uses a proxy.
pub fn mismatch(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    let Some(wh) = r.account(Principal::Winhttp) else {
        return;
    };
    conflict(Principal::Winhttp, &wh.conflict, f);
    let Some(wh_eff) = &wh.settings else { return };
    let wininet = [Principal::LocalSystem, Principal::CurrentUser]
        .into_iter()
        .find_map(|p| {
            r.account(p)
                .and_then(|a| a.settings.as_ref())
                .filter(|e| e.proxy_enabled())
        });
    let Some(wi) = wininet else { return };
    if wh_eff.proxy_enabled()
        && wh_eff
            .proxy_server()
            .eq_ignore_ascii_case(wi.proxy_server())
    {
        return;
    }
    let now = if wh_eff.proxy_enabled() {
        format!("uses {}", redact(wh_eff.proxy_server()))
    } else {
        "is direct".to_string()
    };
    f.add(
        FindingId::WinhttpMismatch,
        Some(Principal::Winhttp),
        format!(
            "WinHTTP {now} while WinINet uses the proxy {}",
            redact(wi.proxy_server())
        ),
        "Sensors of version 3 (inside Defender for Endpoint) and other WinHTTP clients use this setting: align it from an elevated prompt with `netsh winhttp import proxy source=ie` or `netsh winhttp set proxy`".into(),
        wh.evidence.clone(),
    );
}
