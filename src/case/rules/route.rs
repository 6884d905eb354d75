//! The route of the accounts the sensor runs as to the sensor endpoint.

use super::super::findings::FindingId;
use super::super::model::ProbeEvidence;
use super::super::principals::Principal;
use super::super::resolve::Resolved;
use super::super::settings::redact;
use super::Findings;
use crate::proxy::RouteKind;

/// `https-not-proxied` and `endpoint-bypassed` for the sensor's accounts (judged after the
/// documented copy when an account's own value is missing).
pub fn endpoint_route(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    let host = &r.endpoint.host;
    for p in r.route_principals() {
        let Some(a) = r.account(p) else { continue };
        let (Some(route), Some(eff)) = (
            &a.route,
            a.settings.as_ref().or_else(|| {
                a.route_after_fix
                    .then(|| {
                        r.account(Principal::CurrentUser)
                            .and_then(|u| u.settings.as_ref())
                    })
                    .flatten()
            }),
        ) else {
            continue;
        };
        let note = if a.route_after_fix {
            " (after the documented copy from the current user)"
        } else {
            ""
        };
        if route.kind != RouteKind::Direct {
            continue;
        }
        if let Some(entry) = &route.matched_bypass {
            f.add(
                FindingId::EndpointBypassed,
                Some(p),
                format!("The bypass entry `{entry}` matches {host}, so {} goes direct instead of through the proxy{note}", p.label()),
                "Remove the entry from the bypass list, or make sure the domain controller reaches *.atp.azure.com:443 directly".into(),
                a.evidence.clone(),
            );
        } else if eff.model.https_not_proxied() {
            f.add(
                FindingId::HttpsNotProxied,
                Some(p),
                format!("The per-scheme proxy list `{}` has no https= entry: HTTPS from {} to {host} goes direct{note}", redact(eff.proxy_server()), p.label()),
                "Add an https= entry (or use one proxy for all schemes), or open *.atp.azure.com:443 in the firewall".into(),
                a.evidence.clone(),
            );
        }
    }
}

/// `pac-only`: a principal that relies on a PAC URL or auto-detect alone, whose script is
/// not evaluated (the untouched 0x09 default of a service account excepted).
pub fn pac_only(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    for p in [
        Principal::CurrentUser,
        Principal::LocalSystem,
        Principal::LocalService,
        Principal::Machine,
    ] {
        let Some(a) = r.account(p) else { continue };
        let Some(eff) = &a.settings else { continue };
        if a.pac.is_some() {
            continue;
        }
        if !eff.pac_or_autodetect_only() || (p.is_sensor_account() && eff.is_untouched_default()) {
            continue;
        }
        let what = if eff.pac_enabled() {
            format!("the PAC script {}", eff.auto_config_url())
        } else {
            "automatic detection (WPAD) alone".to_string()
        };
        f.add(
            FindingId::PacOnly,
            Some(p),
            format!(
                "{} relies on {what}: the route to {} depends on that script, which is not in the uploads",
                p.label(),
                r.endpoint.host
            ),
            "Ask for the PAC script (see What we still need); a static proxy for the sensor (Set-MDISensorProxyConfiguration) avoids the dependency".into(),
            a.evidence.clone(),
        );
    }
}

/// A PAC script of the case evaluated for each account that uses it: `pac-evaluated`, and
/// `pac-direct` (judged like a bypass), `pac-error` or `pac-unusable` from its first entry.
pub fn pac_evaluated(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    use crate::pac::PacRouteKind;
    for (p, a) in &r.accounts {
        let Some(pac) = &a.pac else { continue };
        let ping = &pac.evaluation.ping;
        let facts: Vec<String> = ping.depends_on.iter().map(|d| d.sentence()).collect();
        let result = ping.result.clone().unwrap_or_else(|| "no result".into());
        let differ = if pac.evaluation.routes_differ {
            format!(
                "; for https://{}/ it answers {} (the script looks at the path)",
                r.endpoint.host,
                pac.evaluation.root.result.clone().unwrap_or_default()
            )
        } else {
            String::new()
        };
        let given: Vec<String> = ping.facts_used.iter().map(|f| f.sentence()).collect();
        let mut notes = Vec::new();
        if !given.is_empty() {
            notes.push(format!("given: {}", given.join(", ")));
        }
        notes.extend(facts);
        let assumed = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        f.add(
            FindingId::PacEvaluated,
            Some(*p),
            format!(
                "{}: the PAC script answers `{result}` for {}{differ}{assumed}",
                p.label(),
                r.endpoint.ping_url()
            ),
            "None by itself; see the route findings".into(),
            vec![pac.script.clone()],
        );
        let sensor = r.route_principals().contains(p);
        match ping.route.kind {
            PacRouteKind::Direct if sensor => f.add(
                FindingId::PacDirect,
                Some(*p),
                format!("The PAC script sends {} to {} direct, not through a proxy", p.label(), r.endpoint.host),
                "Make the script return the proxy for *.atp.azure.com, or make sure the domain controller reaches *.atp.azure.com:443 directly".into(),
                vec![pac.script.clone()],
            ),
            PacRouteKind::PacFailed if sensor => f.add(
                FindingId::PacError,
                Some(*p),
                format!(
                    "The PAC script fails for {}: {}; the sensor then goes direct",
                    p.label(),
                    ping.error.as_ref().map_or_else(String::new, |e| e.message.clone())
                ),
                "Fix the script (or give the sensor a static proxy with Set-MDISensorProxyConfiguration)".into(),
                vec![pac.script.clone()],
            ),
            PacRouteKind::Unusable if sensor => f.add(
                FindingId::PacUnusable,
                Some(*p),
                format!(
                    "The PAC script's first answer for {} is not usable by the sensor: {}",
                    p.label(),
                    ping.route.reason
                ),
                "Make the first entry a PROXY host:port (the sensor never tries the next entries), or give the sensor a static proxy".into(),
                vec![pac.script.clone()],
            ),
            _ => {}
        }
    }
}
