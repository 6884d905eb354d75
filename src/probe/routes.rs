//! `analyze --probe`: one probe per distinct route the case's principals would take to the
//! endpoint (direct, or each static proxy); principals whose route cannot be known offline (PAC,
//! auto-detect) are reported as not probed, with the reason.

use std::time::Duration;

use serde::Serialize;

use super::{normalize_proxy, probe, redact_url, ProbeRequest, ProbeResult};

/// How one principal reaches the endpoint, as far as the probe can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// No proxy for the endpoint (no proxy set, or the endpoint is bypassed).
    Direct,
    /// Through this static proxy (`host:port` or `http://[user:password@]host:port`).
    Proxy(String),
    /// The route is decided at run time on the customer's machine (PAC script, WPAD) and cannot
    /// be reproduced here; the reason is reported.
    NotProbeable(String),
}

/// The probe of one distinct route and the principals that take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteProbe<K> {
    /// `direct`, the proxy URL (credentials redacted), or `not_probed`.
    pub route: String,
    /// Who takes this route (principals, or any key the caller uses), in input order.
    pub principals: Vec<K>,
    /// The probe's result; `None` when not probed.
    pub result: Option<ProbeResult>,
    /// Why the route was not probed (PAC, auto-detect), `None` when it was.
    pub not_probed: Option<String>,
}

/// Probes each distinct route once, in order of first appearance; `NotProbeable` principals
/// each get an entry with their reason and no traffic. Proxies are compared after
/// [`normalize_proxy`] (so `proxy:8080` and `http://proxy:8080` are one route); an invalid
/// proxy string is still an entry, with a `failed` / `config` result.
pub fn probe_routes<K: Clone + PartialEq>(
    url: &str,
    routes: &[(K, Route)],
    ca_cert_pem: Option<&[u8]>,
    timeout: Duration,
) -> Vec<RouteProbe<K>> {
    // (key, entry); the key keeps credentials (distinct users are distinct routes) but is never
    // output.
    let mut out: Vec<(Option<String>, RouteProbe<K>)> = Vec::new();
    for (principal, route) in routes {
        let key = match route {
            Route::Direct => Some(String::new()),
            Route::Proxy(p) => Some(normalize_proxy(p).unwrap_or_else(|_| p.trim().to_string())),
            Route::NotProbeable(reason) => {
                out.push((
                    None,
                    RouteProbe {
                        route: "not_probed".into(),
                        principals: vec![principal.clone()],
                        result: None,
                        not_probed: Some(reason.clone()),
                    },
                ));
                continue;
            }
        };
        if let Some((_, entry)) = out.iter_mut().find(|(k, _)| k.is_some() && *k == key) {
            if !entry.principals.contains(principal) {
                entry.principals.push(principal.clone());
            }
            continue;
        }
        let proxy = key.clone().filter(|k| !k.is_empty());
        let result = probe(&ProbeRequest {
            url: url.to_string(),
            proxy: proxy.clone(),
            ca_cert_pem: ca_cert_pem.map(<[u8]>::to_vec),
            timeout,
        });
        out.push((
            key,
            RouteProbe {
                route: proxy.map_or_else(|| "direct".into(), |p| redact_url(&p)),
                principals: vec![principal.clone()],
                result: Some(result),
                not_probed: None,
            },
        ));
    }
    out.into_iter().map(|(_, entry)| entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{FailureKind, ProbeOutcome};

    #[test]
    fn distinct_routes_are_probed_once() {
        // Nothing listens on port 1 of 127.0.0.1: every probe fails fast, offline.
        let routes = vec![
            (
                "current_user".to_string(),
                Route::Proxy("127.0.0.1:1".into()),
            ),
            (
                "local_system".to_string(),
                Route::Proxy("http://127.0.0.1:1".into()),
            ),
            ("local_service".to_string(), Route::Direct),
            (
                "machine".to_string(),
                Route::NotProbeable("PAC script http://wpad/wpad.dat".into()),
            ),
            (
                "winhttp".to_string(),
                Route::Proxy("http://u:secret@bad host:1".into()),
            ),
        ];
        let probes = probe_routes("http://127.0.0.1:1/", &routes, None, Duration::from_secs(2));
        assert_eq!(probes.len(), 4);
        assert_eq!(probes[0].route, "http://127.0.0.1:1");
        assert_eq!(probes[0].principals, ["current_user", "local_system"]);
        assert_eq!(
            probes[0].result.as_ref().and_then(|r| r.error_kind),
            Some(FailureKind::Refused)
        );
        assert_eq!(probes[1].route, "direct");
        assert_eq!(probes[1].principals, ["local_service"]);
        assert_eq!(probes[2].route, "not_probed");
        assert_eq!(probes[2].result, None);
        assert_eq!(
            probes[2].not_probed.as_deref(),
            Some("PAC script http://wpad/wpad.dat")
        );
        let bad = probes[3].result.as_ref();
        assert_eq!(bad.map(|r| r.outcome), Some(ProbeOutcome::Failed));
        assert_eq!(bad.and_then(|r| r.error_kind), Some(FailureKind::Config));
        let json = serde_json::to_string(&probes).unwrap_or_default();
        assert!(!json.contains("secret"), "{json}");
    }
}
