//! The string a PAC script returns, read as WinHTTP reads it: entries separated by `;` or
//! spaces, only the first one used (no failover), `PROXY host` meaning port 80, `SOCKS` and
//! `HTTPS` entries of no use to the sensor.

use serde::Serialize;

/// What the sensor does with the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PacRouteKind {
    /// The first entry is `DIRECT` (or the result names no entry at all).
    Direct,
    /// The first entry is `PROXY host[:port]`.
    Proxy,
    /// The first entry is one WinHTTP cannot use (SOCKS, HTTPS, garbage, bad port...).
    Unusable,
    /// The script failed: .NET Framework then goes direct.
    PacFailed,
}

/// What the sensor falls back to when the script fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fallback {
    Direct,
}

/// The route the sensor takes under the script's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacRoute {
    pub kind: PacRouteKind,
    /// Proxy host of the first entry (kind `proxy`).
    pub host: Option<String>,
    /// Proxy port of the first entry (kind `proxy`; 80 when the entry names none).
    pub port: Option<u16>,
    /// The entries after the first, normalised (`PROXY h:p`, `DIRECT`, others as written);
    /// WinHTTP never tries them.
    pub then: Vec<String>,
    /// One sentence saying why.
    pub reason: String,
    /// What the sensor does instead (`direct` when the script failed).
    pub fallback: Option<Fallback>,
}

impl PacRoute {
    /// The route of a script that failed: the .NET Framework goes direct.
    pub fn failed(what: &str) -> PacRoute {
        PacRoute {
            kind: PacRouteKind::PacFailed,
            host: None,
            port: None,
            then: Vec::new(),
            reason: format!(
                "the script failed ({what}); the .NET Framework then finds no proxy and the sensor goes direct"
            ),
            fallback: Some(Fallback::Direct),
        }
    }

    /// Short form for tables: `direct`, `proxy host:port`, `unusable`, `PAC failed -> direct`.
    pub fn summary(&self) -> String {
        match (self.kind, &self.host, self.port) {
            (PacRouteKind::Proxy, Some(h), Some(p)) => format!("proxy {}", host_port(h, p)),
            (PacRouteKind::Direct, ..) => "direct".into(),
            (PacRouteKind::PacFailed, ..) => "PAC failed -> direct".into(),
            _ => "unusable".into(),
        }
    }
}

/// One entry of the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacEntry {
    Direct,
    Proxy {
        host: String,
        port: u16,
    },
    /// An entry the sensor cannot use, as written, with why.
    Unusable {
        text: String,
        why: String,
    },
}

impl PacEntry {
    /// Normalised text: `DIRECT`, `PROXY host:port`, or the entry as written.
    pub fn text(&self) -> String {
        match self {
            PacEntry::Direct => "DIRECT".into(),
            PacEntry::Proxy { host, port } => format!("PROXY {}", host_port(host, *port)),
            PacEntry::Unusable { text, .. } => text.clone(),
        }
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Most entries read from one result (a longer list is cut; only the first matters).
pub const MAX_ENTRIES: usize = 32;

/// Splits a result into entries: `;` and whitespace both separate, a keyword takes the next
/// token as its host, empty entries (a trailing `;`) are dropped.
pub fn entries(result: &str) -> Vec<PacEntry> {
    let mut tokens = result
        .split(|c: char| c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty());
    let mut out = Vec::new();
    while let Some(keyword) = tokens.next() {
        if out.len() >= MAX_ENTRIES {
            break;
        }
        let upper = keyword.to_ascii_uppercase();
        let entry = match upper.as_str() {
            "DIRECT" => PacEntry::Direct,
            "PROXY" => match tokens.next() {
                Some(hp) => proxy_entry(hp),
                None => PacEntry::Unusable {
                    text: keyword.to_string(),
                    why: "PROXY without a host".into(),
                },
            },
            "SOCKS" | "SOCKS4" | "SOCKS5" | "HTTPS" | "HTTP" | "QUIC" => {
                let host = tokens.next().unwrap_or("");
                let why = match upper.as_str() {
                    "HTTPS" => "an HTTPS proxy entry (a Chromium/Firefox extension, undocumented for WinHTTP)",
                    "HTTP" | "QUIC" => "a browser-only keyword WinHTTP does not document",
                    _ => "a SOCKS proxy: WinHTTP, which the sensor uses, has no SOCKS client",
                };
                PacEntry::Unusable {
                    text: format!("{keyword} {host}").trim_end().to_string(),
                    why: why.into(),
                }
            }
            _ => PacEntry::Unusable {
                text: keyword.to_string(),
                why: "not a PAC keyword (DIRECT or PROXY host:port)".into(),
            },
        };
        out.push(entry);
    }
    out
}

/// `host[:port]` or `[v6][:port]` after `PROXY`.
fn proxy_entry(hp: &str) -> PacEntry {
    let bad = |why: &str| PacEntry::Unusable {
        text: format!("PROXY {hp}"),
        why: why.into(),
    };
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return bad("malformed bracketed IPv6 host"),
            },
            None => return bad("malformed bracketed IPv6 host"),
        }
    } else {
        match hp.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return bad("several ':' in the host (an IPv6 address needs brackets)"),
            None => (hp, None),
        }
    };
    if host.is_empty() {
        return bad("empty proxy host");
    }
    if !host.is_ascii() {
        return bad("non-ASCII proxy host");
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._:%".contains(&b))
    {
        return bad("invalid characters in the proxy host");
    }
    let port = match port {
        None => 80,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return bad("invalid port"),
        },
    };
    PacEntry::Proxy {
        host: host.to_string(),
        port,
    }
}

/// The route the sensor takes for a result string.
pub fn parse_result(result: &str) -> PacRoute {
    let list = entries(result);
    let then: Vec<String> = list.iter().skip(1).map(PacEntry::text).collect();
    let (kind, host, port, reason) = match list.first() {
        None => (
            PacRouteKind::Direct,
            None,
            None,
            "the script returned no entry: WinHTTP finds no proxy and the sensor goes direct"
                .to_string(),
        ),
        Some(PacEntry::Direct) => (
            PacRouteKind::Direct,
            None,
            None,
            "the first entry is DIRECT: the sensor connects directly".to_string(),
        ),
        Some(PacEntry::Proxy { host, port }) => (
            PacRouteKind::Proxy,
            Some(host.clone()),
            Some(*port),
            format!(
                "the first entry is PROXY {}: WinHTTP uses it and never fails over to later entries",
                host_port(host, *port)
            ),
        ),
        Some(PacEntry::Unusable { text, why }) => (
            PacRouteKind::Unusable,
            None,
            None,
            format!("the first entry `{text}` is of no use to the sensor: {why}"),
        ),
    };
    PacRoute {
        kind,
        host,
        port,
        then,
        reason,
        fallback: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entry_only_and_default_port() {
        let r = parse_result("PROXY proxy.corp; DIRECT");
        assert_eq!(r.kind, PacRouteKind::Proxy);
        assert_eq!(r.host.as_deref(), Some("proxy.corp"));
        assert_eq!(r.port, Some(80));
        assert_eq!(r.then, vec!["DIRECT".to_string()]);
    }

    #[test]
    fn spaces_separate_like_semicolons() {
        let r = parse_result("PROXY a:8080 PROXY b:3128;");
        assert_eq!(r.host.as_deref(), Some("a"));
        assert_eq!(r.port, Some(8080));
        assert_eq!(r.then, vec!["PROXY b:3128".to_string()]);
        let r = parse_result("  proxy   a:1 ;;; direct ;");
        assert_eq!(r.kind, PacRouteKind::Proxy);
        assert_eq!(r.then, vec!["DIRECT".to_string()]);
    }

    #[test]
    fn direct_and_empty() {
        assert_eq!(parse_result("DIRECT").kind, PacRouteKind::Direct);
        assert_eq!(parse_result("").kind, PacRouteKind::Direct);
        assert_eq!(parse_result(" ; ").kind, PacRouteKind::Direct);
    }

    #[test]
    fn unusable_entries() {
        for r in [
            "SOCKS s:1080; PROXY p:80",
            "SOCKS5 s:1080",
            "HTTPS p:443",
            "PROXY",
            "PROXY p:0",
            "PROXY p:99999",
            "PROXY p:80x",
            "PROXY prôxy:80",
            "PROXY ::1:80",
            "GARBAGE",
        ] {
            assert_eq!(parse_result(r).kind, PacRouteKind::Unusable, "{r}");
        }
        assert_eq!(
            parse_result("SOCKS s:1080; PROXY p:80").then,
            vec!["PROXY p:80".to_string()]
        );
    }

    #[test]
    fn bracketed_ipv6() {
        let r = parse_result("PROXY [fd00::1]:3128");
        assert_eq!(r.host.as_deref(), Some("fd00::1"));
        assert_eq!(r.port, Some(3128));
        assert_eq!(r.summary(), "proxy [fd00::1]:3128");
        assert_eq!(parse_result("PROXY [fd00::1]").port, Some(80));
    }

    #[test]
    fn entry_count_is_bounded() {
        let long = "PROXY a:1;".repeat(10_000);
        assert_eq!(entries(&long).len(), MAX_ENTRIES);
    }
}
