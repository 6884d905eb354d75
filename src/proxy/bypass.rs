//! Bypass lists (`ProxyOverride`, the blob's bypass field, `netsh winhttp` bypass): the ONE
//! matcher every caller uses. It models what the .NET Framework sensor effectively does
//! (notes section d, reference source `webproxy.cs` / `_WebProxyDataBuilder.cs`):
//!
//! 1. Entries are separated by `;` or whitespace; empties are dropped.
//!    `<local>` bypasses names without a dot; `<-loopback>` turns off the implicit loopback
//!    bypass (`localhost`, `loopback`, `127.*`, `[::1]`), which is otherwise always on.
//! 2. Every other entry is `[scheme://]host-pattern[:port]`, matched anchored and
//!    case-insensitively; `*` is any run of characters (dots included, anywhere) and `?` one
//!    character (WinINet; .NET takes `?` literally); everything else is literal, so a
//!    leading dot (`.azure.com`) or a trailing dot is just a character.
//! 3. The string matched is `scheme://host`, plus `:port` **only when the port is not the
//!    scheme's default**. An entry without a scheme accepts any scheme; an entry without a
//!    port accepts any port; an entry with a port requires that exact `:port` — so
//!    `*.atp.azure.com:443` never matches `https://x.atp.azure.com` (default port).
//! 4. An entry that does not fit that shape is matched as one literal pattern (any scheme,
//!    any port). CIDR (`10.0.0.0/8`) is not supported by WinINet or .NET: it never matches.
//! 5. The host of the URL is used as written: no DNS, no CNAME, no trailing-dot folding.

use serde::Serialize;

/// What kind of entry this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BypassKind {
    /// `<local>`: host names without a dot.
    Local,
    /// `<-loopback>`: removes the implicit loopback bypass.
    NoLoopback,
    /// The implicit loopback bypass (not written in the list).
    ImplicitLoopback,
    /// A wildcard pattern.
    Pattern,
    /// `a.b.c.d/n`: unsupported, never matches.
    Cidr,
}

/// One entry of a bypass list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BypassEntry {
    /// The entry as written.
    pub raw: String,
    /// Its kind.
    pub kind: BypassKind,
    #[serde(skip)]
    scheme: Option<Vec<u8>>,
    #[serde(skip)]
    host: Vec<u8>,
    #[serde(skip)]
    port: Option<Vec<u8>>,
}

impl BypassEntry {
    fn special(raw: &str, kind: BypassKind) -> BypassEntry {
        BypassEntry {
            raw: raw.to_string(),
            kind,
            scheme: None,
            host: Vec::new(),
            port: None,
        }
    }

    fn parse(raw: &str) -> BypassEntry {
        let lower = raw.to_ascii_lowercase();
        match lower.as_str() {
            "<local>" => return BypassEntry::special(raw, BypassKind::Local),
            "<-loopback>" => return BypassEntry::special(raw, BypassKind::NoLoopback),
            _ => {}
        }
        if is_cidr(&lower) {
            return BypassEntry::special(raw, BypassKind::Cidr);
        }
        // .NET: ^(?<scheme>.*://)?(?<host>[^:]*)(?<port>:[0-9]+)?$ , else the whole string.
        let (scheme, rest) = match lower.rfind("://") {
            Some(i) => (
                Some(lower.get(..i + 3).unwrap_or("").as_bytes().to_vec()),
                lower.get(i + 3..).unwrap_or(""),
            ),
            None => (None, lower.as_str()),
        };
        let shaped = match rest.split_once(':') {
            None => Some((rest, None)),
            Some((h, p))
                if !h.contains(':') && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some((h, Some(p)))
            }
            Some(_) => None,
        };
        match shaped {
            Some((host, port)) => BypassEntry {
                raw: raw.to_string(),
                kind: BypassKind::Pattern,
                scheme,
                host: host.as_bytes().to_vec(),
                port: port.map(|p| p.as_bytes().to_vec()),
            },
            None => BypassEntry {
                raw: raw.to_string(),
                kind: BypassKind::Pattern,
                scheme: None,
                host: lower.into_bytes(),
                port: None,
            },
        }
    }

    /// Does this pattern entry match the match string `s` (`scheme://host[:port]`, lower)?
    fn pattern_matches(&self, s: &[u8]) -> bool {
        let mut pat = self.host.clone();
        if let Some(p) = &self.port {
            pat.push(b':');
            pat.extend_from_slice(p);
        }
        let with_port_rule = |c: &[u8]| -> bool {
            if glob(&pat, c) {
                return true;
            }
            // No port in the entry: any `:digits` suffix is accepted.
            self.port.is_none() && strip_port(c).is_some_and(|c2| glob(&pat, c2))
        };
        match &self.scheme {
            Some(sch) => {
                let mut full = sch.clone();
                full.extend_from_slice(&pat);
                glob(&full, s)
                    || (self.port.is_none() && strip_port(s).is_some_and(|s2| glob(&full, s2)))
            }
            None => {
                // `(?:.*://)?`: the whole string, or what follows any "://".
                if with_port_rule(s) {
                    return true;
                }
                let mut i = 0;
                while let Some(off) = find(s.get(i..).unwrap_or(&[]), b"://") {
                    let start = i + off + 3;
                    if with_port_rule(s.get(start..).unwrap_or(&[])) {
                        return true;
                    }
                    i = i + off + 1;
                }
                false
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `c` without a trailing `:digits`, if it has one.
fn strip_port(c: &[u8]) -> Option<&[u8]> {
    let colon = c.iter().rposition(|&b| b == b':')?;
    let digits = c.get(colon + 1..)?;
    (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then(|| c.get(..colon))?
}

fn is_cidr(s: &str) -> bool {
    match s.split_once('/') {
        Some((ip, bits)) => {
            !bits.is_empty()
                && bits.bytes().all(|b| b.is_ascii_digit())
                && ip.parse::<std::net::IpAddr>().is_ok()
        }
        None => false,
    }
}

/// Anchored wildcard match: `*` any run (possibly empty), `?` exactly one byte.
fn glob(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat.get(p..).unwrap_or(&[]).iter().all(|&c| c == b'*')
}

/// The default port of a URL scheme (`None` for schemes without one).
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// A parsed bypass list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BypassList {
    /// Entries in order (`<local>` and `<-loopback>` included).
    pub entries: Vec<BypassEntry>,
    /// Entries that look like mistakes (commas, CIDR, leading dot, default port, ...).
    pub problems: Vec<String>,
    #[serde(skip)]
    loopback: BypassEntry,
}

impl Default for BypassList {
    fn default() -> Self {
        BypassList::parse("")
    }
}

impl BypassList {
    /// Parses a bypass list; never fails.
    pub fn parse(s: &str) -> BypassList {
        let mut list = BypassList {
            entries: Vec::new(),
            problems: Vec::new(),
            loopback: BypassEntry::special("(implicit loopback)", BypassKind::ImplicitLoopback),
        };
        for raw in s
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            let e = BypassEntry::parse(raw);
            if let Some(p) = problem_of(&e) {
                list.problems.push(format!("`{raw}`: {p}"));
            }
            list.entries.push(e);
        }
        list
    }

    /// True when no entry was written.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when `<local>` is present.
    pub fn bypasses_local(&self) -> bool {
        self.entries.iter().any(|e| e.kind == BypassKind::Local)
    }

    /// True unless `<-loopback>` is present.
    pub fn implicit_loopback(&self) -> bool {
        !self
            .entries
            .iter()
            .any(|e| e.kind == BypassKind::NoLoopback)
    }

    /// The entry that sends an `https://host:port` request direct, if any (the sensor's
    /// requests are HTTPS). See [`matches_request`](Self::matches_request).
    pub fn matches(&self, host: &str, port: u16) -> Option<&BypassEntry> {
        self.matches_request("https", host, port)
    }

    /// The first entry that sends a `scheme://host:port` request direct, if any.
    pub fn matches_request(&self, scheme: &str, host: &str, port: u16) -> Option<&BypassEntry> {
        let scheme = scheme.to_ascii_lowercase();
        let host = host.to_ascii_lowercase();
        if self.implicit_loopback() && is_loopback(&host) {
            return Some(&self.loopback);
        }
        let mut s = format!("{scheme}://{host}");
        if default_port(&scheme) != Some(port) {
            s.push(':');
            s.push_str(&port.to_string());
        }
        self.entries.iter().find(|e| match e.kind {
            BypassKind::Local => is_plain_name(&host),
            BypassKind::Pattern => e.pattern_matches(s.as_bytes()),
            BypassKind::NoLoopback | BypassKind::ImplicitLoopback | BypassKind::Cidr => false,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    if matches!(host, "localhost" | "loopback" | "[::1]" | "::1") {
        return true;
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// `<local>`: a name without a dot (IPv6 literals are not names).
fn is_plain_name(host: &str) -> bool {
    !host.is_empty() && !host.contains('.') && !host.contains(':') && !host.starts_with('[')
}

fn problem_of(e: &BypassEntry) -> Option<String> {
    match e.kind {
        BypassKind::Cidr => {
            return Some(
                "CIDR is not supported by WinINet or .NET: this entry never matches".into(),
            )
        }
        BypassKind::Pattern => {}
        _ => return None,
    }
    if e.raw.contains(',') {
        return Some(
            "contains `,`: only `;` and spaces separate entries, so this is taken literally".into(),
        );
    }
    if e.raw.starts_with('.') {
        return Some(
            "leading dot is literal in .NET (Chromium reads it as a subdomain rule)".into(),
        );
    }
    if e.port.as_deref() == Some(b"443") || e.port.as_deref() == Some(b"80") {
        return Some("a default port in an entry never matches a default-port request (the port is left out of the match)".into());
    }
    None
}

#[cfg(test)]
mod tests;
