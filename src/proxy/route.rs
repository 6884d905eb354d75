//! Which way a request goes under some [`EffectiveSettings`]: direct, a proxy, a PAC script
//! or WPAD, with the reason (which flag, which proxy entry, which bypass entry).
//!
//! Order (WinINet): a PAC URL, when enabled, decides before the manual proxy; the manual proxy
//! then applies with its per-scheme map and bypass list; auto-detect alone means WPAD decides.
//! When auto-detect is on together with a static setting, WPAD runs first on a network that
//! answers it; the reason says so, the route shows the static setting.

use serde::Serialize;

use super::server_list::split_host_port;
use super::EffectiveSettings;

/// The outcome of [`route`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteKind {
    /// No proxy.
    Direct,
    /// Through this proxy.
    Proxy { host: String, port: u16 },
    /// A PAC script decides (cannot be judged offline).
    Pac { url: String },
    /// WPAD decides (cannot be judged offline).
    AutoDetect,
}

/// A route with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Where the request goes.
    #[serde(flatten)]
    pub kind: RouteKind,
    /// Why, in one sentence naming the deciding setting or entry.
    pub reason: String,
    /// The bypass entry that sent the request direct, if that is why.
    pub matched_bypass: Option<String>,
}

impl Route {
    fn new(kind: RouteKind, reason: impl Into<String>) -> Route {
        Route {
            kind,
            reason: reason.into(),
            matched_bypass: None,
        }
    }

    /// The request goes through a proxy.
    pub fn is_proxied(&self) -> bool {
        matches!(self.kind, RouteKind::Proxy { .. })
    }

    /// The route depends on a PAC script or WPAD.
    pub fn is_undecided(&self) -> bool {
        matches!(self.kind, RouteKind::Pac { .. } | RouteKind::AutoDetect)
    }

    /// Short form: `direct`, `proxy host:port`, `PAC url`, `auto-detect (WPAD)`.
    pub fn summary(&self) -> String {
        match &self.kind {
            RouteKind::Direct => "direct".into(),
            RouteKind::Proxy { host, port } => format!("proxy {host}:{port}"),
            RouteKind::Pac { url } => format!("PAC script {url}"),
            RouteKind::AutoDetect => "auto-detect (WPAD)".into(),
        }
    }
}

/// The parts of a URL the route needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// Lower-cased scheme (`https` when the URL has none).
    pub scheme: String,
    /// Host as written (IPv6 with brackets).
    pub host: String,
    /// Explicit or default port.
    pub port: u16,
}

/// Splits `scheme://[user@]host[:port][/...]`; a bare host means `https://host`.
pub fn parse_url(url: &str) -> Option<UrlParts> {
    let url = url.trim();
    let (scheme, rest) = match url.find("://") {
        Some(i) => (
            url.get(..i).unwrap_or("").to_ascii_lowercase(),
            url.get(i + 3..).unwrap_or(""),
        ),
        None => ("https".to_string(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = split_host_port(hostport).ok()?;
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => p,
        None => super::bypass::default_port(&scheme)?,
    };
    Some(UrlParts {
        scheme,
        host: host.to_string(),
        port,
    })
}

/// The route a request to `url` takes under `settings` (for settings decoded from a
/// malformed blob the reason says they are incomplete).
pub fn route(settings: &EffectiveSettings, url: &str) -> Route {
    let mut r = route_inner(settings, url);
    if settings.incomplete {
        r.reason
            .push_str(" (the value is malformed: judged on the fields decoded before the error)");
    }
    r
}

fn route_inner(settings: &EffectiveSettings, url: &str) -> Route {
    let wpad_note = if settings.auto_detect {
        " (auto-detect is also on: a WPAD script found on the network would be used first)"
    } else {
        ""
    };
    if let Some(pac) = settings.pac_url() {
        return Route::new(
            RouteKind::Pac {
                url: pac.to_string(),
            },
            format!("the PAC script {pac} decides (flag 0x04){wpad_note}"),
        );
    }
    if settings.uses_manual_proxy() {
        let Some(u) = parse_url(url) else {
            return Route::new(RouteKind::Direct, format!("cannot parse the URL `{url}`"));
        };
        let list = settings.server_list();
        let Some(entry) = list.entry_for_scheme(&u.scheme) else {
            let reason = if list.has_per_scheme_list() {
                format!(
                    "the per-scheme proxy list `{}` has no `{}=` entry, so {} goes direct{wpad_note}",
                    super::redact(settings.proxy_server.as_deref().unwrap_or("")),
                    u.scheme,
                    u.scheme.to_ascii_uppercase()
                )
            } else {
                format!(
                    "the proxy string `{}` has no usable entry ({}){wpad_note}",
                    super::redact(settings.proxy_server.as_deref().unwrap_or("")),
                    list.problems.join("; ")
                )
            };
            return Route::new(RouteKind::Direct, reason);
        };
        let bypass = settings.bypass();
        if let Some(b) = bypass.matches_request(&u.scheme, &u.host, u.port) {
            let mut r = Route::new(
                RouteKind::Direct,
                format!(
                    "the bypass entry `{}` matches {}, so the request goes direct{wpad_note}",
                    b.raw, u.host
                ),
            );
            r.matched_bypass = Some(b.raw.clone());
            return r;
        }
        let via = if list.has_per_scheme_list() {
            format!("the `{}=` entry", u.scheme)
        } else {
            "the proxy server".to_string()
        };
        return Route::new(
            RouteKind::Proxy {
                host: entry.addr.host.clone(),
                port: entry.addr.port,
            },
            format!(
                "{via} `{}` (flag 0x02); no bypass entry matches {}{wpad_note}",
                entry.raw, u.host
            ),
        );
    }
    if settings.auto_detect {
        let why = if settings.proxy_enabled {
            "the proxy flag is set without a server; only automatic detection (WPAD) is left"
        } else if settings.source == super::SettingsSource::Blob && settings.flags.is_none() {
            "the blob's version is below 0x3C: the .NET reader ignores it and assumes automatic detection (WPAD) only"
        } else if settings.source == super::SettingsSource::Missing {
            "no value: the reader assumes automatic detection (WPAD) only"
        } else {
            "only automatic detection (WPAD, flag 0x08) is on"
        };
        return Route::new(RouteKind::AutoDetect, why);
    }
    let why = if settings.proxy_enabled {
        "the proxy flag is set but the proxy server is empty: direct"
    } else if settings.auto_config_url_enabled {
        "the PAC flag is set but the PAC URL is empty: direct"
    } else {
        "no proxy, no PAC script and no auto-detect are enabled"
    };
    Route::new(RouteKind::Direct, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::{wininet::ConnectionSettings, SettingsSource, SENSOR_ENDPOINT_EXAMPLE};

    const SENSOR_URL: &str = "https://contoso-corpsensorapi.atp.azure.com";

    fn eff(flags: u32, proxy: &str, bypass: &str, pac: &str) -> EffectiveSettings {
        EffectiveSettings::from(&ConnectionSettings::new(flags, proxy, bypass, pac))
    }

    #[test]
    fn url_parts() {
        assert_eq!(
            parse_url("https://x.atp.azure.com/tri/sensor/api/ping"),
            Some(UrlParts {
                scheme: "https".into(),
                host: "x.atp.azure.com".into(),
                port: 443
            })
        );
        assert_eq!(
            parse_url(SENSOR_ENDPOINT_EXAMPLE).map(|u| u.port),
            Some(443)
        );
        assert_eq!(
            parse_url("http://[::1]:8080").map(|u| u.host),
            Some("[::1]".into())
        );
        assert_eq!(parse_url("gopher://x"), None);
        assert_eq!(parse_url("https://x:99999"), None);
    }

    #[test]
    fn proxy_route() {
        let r = route(
            &eff(0x03, "proxy.contoso.com:8080", "<local>", ""),
            SENSOR_URL,
        );
        assert_eq!(
            r.kind,
            RouteKind::Proxy {
                host: "proxy.contoso.com".into(),
                port: 8080
            }
        );
        assert!(r.reason.contains("proxy.contoso.com:8080"), "{}", r.reason);
        assert!(r.is_proxied());
    }

    #[test]
    fn bypassed_route() {
        let r = route(
            &eff(0x03, "proxy:8080", "<local>;*.azure.com", ""),
            SENSOR_URL,
        );
        assert_eq!(r.kind, RouteKind::Direct);
        assert_eq!(r.matched_bypass.as_deref(), Some("*.azure.com"));
        assert!(r.reason.contains("*.azure.com"));
    }

    #[test]
    fn http_only_map_goes_direct() {
        let r = route(&eff(0x03, "http=proxy:8080;ftp=f:21", "", ""), SENSOR_URL);
        assert_eq!(r.kind, RouteKind::Direct);
        assert!(r.reason.contains("no `https=` entry"), "{}", r.reason);
        let r = route(
            &eff(0x03, "http=proxy:8080;https=sp:8443", "", ""),
            SENSOR_URL,
        );
        assert_eq!(
            r.kind,
            RouteKind::Proxy {
                host: "sp".into(),
                port: 8443
            }
        );
    }

    #[test]
    fn pac_autodetect_direct() {
        let r = route(
            &eff(0x0F, "proxy:8080", "", "http://wpad/wpad.dat"),
            SENSOR_URL,
        );
        assert_eq!(
            r.kind,
            RouteKind::Pac {
                url: "http://wpad/wpad.dat".into()
            }
        );
        assert!(r.reason.contains("auto-detect is also on"));
        assert_eq!(
            route(&eff(0x09, "", "", ""), SENSOR_URL).kind,
            RouteKind::AutoDetect
        );
        assert_eq!(
            route(&eff(0x01, "p:80", "", ""), SENSOR_URL).kind,
            RouteKind::Direct
        );
        let r = route(&eff(0x03, "", "", ""), SENSOR_URL);
        assert_eq!(r.kind, RouteKind::Direct);
        assert!(r.reason.contains("empty"));
        let r = route(&eff(0x0B, "127.0.0.1:80", "<local>", ""), SENSOR_URL);
        assert!(r.is_proxied());
        assert!(r.reason.contains("WPAD"));
        assert_eq!(
            route(&EffectiveSettings::missing(), SENSOR_URL).kind,
            RouteKind::AutoDetect
        );
    }

    #[test]
    fn processor_endpoint_and_sensor_proxy() {
        let s = eff(0x03, "proxy:8080", "*.cloudapp.azure.com", "");
        assert_eq!(
            route(&s, crate::PROCESSOR_ENDPOINT_URL).kind,
            RouteKind::Direct
        );
        assert!(route(&s, SENSOR_URL).is_proxied());
        let s = EffectiveSettings::from_sensor_proxy_url("http://u:pw@10.0.0.5:3128");
        assert_eq!(s.source, SettingsSource::SensorProxy);
        assert_eq!(
            route(&s, SENSOR_URL).kind,
            RouteKind::Proxy {
                host: "10.0.0.5".into(),
                port: 3128
            }
        );
    }
}
