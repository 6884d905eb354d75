//! Proxy server strings (`ProxyServer`, the blob's proxy field, `netsh winhttp` proxy):
//! `host:port`, `http://host:port`, or a per-scheme list `http=h:p;https=h:p;ftp=…;socks=…`.
//!
//! Rules (notes section d): entries are separated by `;` or whitespace; with no `=` anywhere
//! one proxy serves every scheme; with `=` an `https://` request uses the `https=` entry and
//! goes **direct** when there is none (.NET `WebProxy`; `socks=` is ignored by .NET). Keys are
//! trimmed and lower-cased. A missing port is 80 (.NET prepends `http://`), or the default of
//! an explicit `https://` / `socks://` prefix.

use std::fmt;

use serde::Serialize;

/// One proxy address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ProxyAddr {
    /// Host name or IP literal (IPv6 keeps its brackets), as written.
    pub host: String,
    /// Port (explicit or defaulted).
    pub port: u16,
}

impl fmt::Display for ProxyAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// One entry of a proxy string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyEntry {
    /// The entry as written (credentials redacted).
    pub raw: String,
    /// `https` in `https=host:port`, lower-cased; `None` for a scheme-less entry.
    pub scheme: Option<String>,
    /// `http` in `http://host:port`, lower-cased.
    pub url_scheme: Option<String>,
    /// The address.
    pub addr: ProxyAddr,
    /// True when the port was written.
    pub port_explicit: bool,
    /// User name from `user:password@` (the password is never kept).
    pub user: Option<String>,
}

/// A parsed proxy server string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProxyServerList {
    /// Usable entries in order.
    pub entries: Vec<ProxyEntry>,
    /// Entries that could not be used, with why (bad port, empty host, ...).
    pub problems: Vec<String>,
    per_scheme: bool,
}

impl ProxyServerList {
    /// Parses a proxy string; never fails (unusable entries go to `problems`).
    pub fn parse(s: &str) -> ProxyServerList {
        let per_scheme = s.contains('=');
        let mut list = ProxyServerList {
            per_scheme,
            ..ProxyServerList::default()
        };
        for raw in s
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            match parse_entry(raw) {
                Ok(e) => list.entries.push(e),
                Err(why) => list
                    .problems
                    .push(format!("`{}`: {why}", super::redact(raw))),
            }
        }
        list
    }

    /// True when the string is a per-scheme list (`http=…;https=…`).
    pub fn has_per_scheme_list(&self) -> bool {
        self.per_scheme
    }

    /// True when nothing usable was found.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The proxy a request of this URL scheme uses, `None` = direct. Scheme-less string: its
    /// first entry for every scheme. Per-scheme list: only the entry for this scheme (.NET).
    pub fn for_scheme(&self, scheme: &str) -> Option<&ProxyAddr> {
        self.entry_for_scheme(scheme).map(|e| &e.addr)
    }

    /// Like [`for_scheme`](Self::for_scheme), returning the whole entry.
    pub fn entry_for_scheme(&self, scheme: &str) -> Option<&ProxyEntry> {
        let scheme = scheme.trim().to_ascii_lowercase();
        if self.per_scheme {
            self.entries
                .iter()
                .find(|e| e.scheme.as_deref() == Some(scheme.as_str()))
        } else {
            self.entries.first()
        }
    }

    /// The `socks=` entry (Chromium uses it as "every other scheme"; .NET ignores it).
    pub fn socks(&self) -> Option<&ProxyAddr> {
        self.entries
            .iter()
            .find(|e| e.scheme.as_deref() == Some("socks"))
            .map(|e| &e.addr)
    }
}

fn parse_entry(raw: &str) -> Result<ProxyEntry, String> {
    let (scheme, rest) = match raw.split_once('=') {
        Some((k, v)) => (Some(k.trim().to_ascii_lowercase()), v.trim()),
        None => (None, raw.trim()),
    };
    if scheme.as_deref() == Some("") {
        return Err("empty scheme before `=`".into());
    }
    let (url_scheme, rest) = match rest.find("://") {
        Some(i) => (
            Some(rest.get(..i).unwrap_or("").to_ascii_lowercase()),
            rest.get(i + 3..).unwrap_or(""),
        ),
        None => (None, rest),
    };
    // Drop any path after the authority.
    let authority = rest.split('/').next().unwrap_or("");
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((ui, hp)) => (Some(ui.split(':').next().unwrap_or("").to_string()), hp),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty() {
        return Err("no host".into());
    }
    let default_port = match url_scheme.as_deref() {
        Some("https") => 443,
        Some("socks") | Some("socks4") | Some("socks5") => 1080,
        _ if scheme.as_deref() == Some("socks") => 1080,
        _ => 80,
    };
    Ok(ProxyEntry {
        raw: super::redact(raw).into_owned(),
        scheme,
        url_scheme,
        addr: ProxyAddr {
            host: host.to_string(),
            port: port.unwrap_or(default_port),
        },
        port_explicit: port.is_some(),
        user,
    })
}

/// Splits `host[:port]` (IPv6 in brackets); a bad port is an error.
pub(crate) fn split_host_port(s: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if s.starts_with('[') {
        match s.find(']') {
            Some(close) => {
                let host = s.get(..=close).unwrap_or(s);
                let after = s.get(close + 1..).unwrap_or("");
                match after.strip_prefix(':') {
                    Some(p) => (host, Some(p)),
                    None if after.is_empty() => (host, None),
                    None => return Err(format!("unexpected `{after}` after the IPv6 address")),
                }
            }
            None => return Err("unclosed `[`".into()),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("bad port `{p}`")),
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: &str, port: u16) -> ProxyAddr {
        ProxyAddr {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn single_proxy_serves_every_scheme() {
        for (s, want) in [
            ("proxy.contoso.com:8080", addr("proxy.contoso.com", 8080)),
            ("http://Proxyservername:80", addr("Proxyservername", 80)),
            ("proxy", addr("proxy", 80)),
            ("[::1]:8118", addr("[::1]", 8118)),
            ("https://secure-proxy", addr("secure-proxy", 443)),
            ("  10.0.0.1:3128  ", addr("10.0.0.1", 3128)),
            ("http://user:secret@proxy:8080", addr("proxy", 8080)),
        ] {
            let l = ProxyServerList::parse(s);
            assert!(!l.has_per_scheme_list(), "{s}");
            assert_eq!(l.for_scheme("https"), Some(&want), "{s}");
            assert_eq!(l.for_scheme("http"), Some(&want), "{s}");
        }
        let l = ProxyServerList::parse("http://user:secret@proxy:8080");
        assert_eq!(l.entries[0].user.as_deref(), Some("user"));
        assert!(!l.entries[0].raw.contains("secret"));
    }

    #[test]
    fn per_scheme_lists() {
        let l = ProxyServerList::parse("http=web:8080;https=secure:8443;ftp=ftp:21;socks=s:1081");
        assert!(l.has_per_scheme_list());
        assert_eq!(l.for_scheme("https"), Some(&addr("secure", 8443)));
        assert_eq!(l.for_scheme("HTTP"), Some(&addr("web", 8080)));
        assert_eq!(l.socks(), Some(&addr("s", 1081)));
        // No https= entry: HTTPS goes direct.
        let l = ProxyServerList::parse("http=proxy:8080");
        assert_eq!(l.for_scheme("https"), None);
        assert_eq!(l.for_scheme("http"), Some(&addr("proxy", 8080)));
        // Keys trimmed and lower-cased, whitespace separators, default port 80.
        let l = ProxyServerList::parse(" HTTPS = p1 http=p2:81");
        assert_eq!(l.for_scheme("https"), None, "spaces split ` HTTPS = p1`");
        let l = ProxyServerList::parse("HTTPS=p1 http=p2:81");
        assert_eq!(l.for_scheme("https"), Some(&addr("p1", 80)));
        assert_eq!(l.for_scheme("http"), Some(&addr("p2", 81)));
        let l = ProxyServerList::parse("socks=s");
        assert_eq!(l.socks(), Some(&addr("s", 1080)));
        assert_eq!(l.for_scheme("https"), None);
    }

    #[test]
    fn problems_are_reported() {
        let l = ProxyServerList::parse("proxy:99999;=x;:80;[::1");
        assert!(l.is_empty());
        assert_eq!(l.problems.len(), 4, "{:?}", l.problems);
        assert!(l.problems[0].contains("bad port"));
    }
}
