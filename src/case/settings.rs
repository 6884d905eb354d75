//! The effective proxy settings of one account, as the rules compare and route them.
//! A thin view over the proxy model (`crate::proxy`), so the rules stay independent of its shape.

use serde_json::Value;

/// Effective settings: what the comparison and the route judgement look at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Effective {
    pub flags: u32,
    pub proxy_enabled: bool,
    pub pac_enabled: bool,
    pub auto_detect: bool,
    pub proxy_server: String,
    pub bypass_list: String,
    pub auto_config_url: String,
    /// The blob was cut or malformed (`truncated`, `length_overrun`, ...).
    pub error: Option<String>,
    /// The decoded fields for the report (`decode` JSON).
    pub json: Value,
}

impl Effective {
    /// A proxy or a PAC URL is enabled.
    pub fn uses_proxy_or_pac(&self) -> bool {
        self.proxy_enabled || self.pac_enabled
    }

    /// Relies on a PAC URL or on auto-detect alone (no static proxy).
    pub fn pac_or_autodetect_only(&self) -> bool {
        !self.proxy_enabled && (self.pac_enabled || self.auto_detect)
    }

    /// The untouched LOCAL SYSTEM default: flags 0x09 (direct + auto-detect), nothing else.
    pub fn is_untouched_default(&self) -> bool {
        self.flags & 0x0F == 0x09 && !self.pac_enabled
    }

    /// One line for tables: proxy, bypass, PAC, auto-detect.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.proxy_enabled {
            parts.push(format!("proxy {}", redact(&self.proxy_server)));
            if !self.bypass_list.is_empty() {
                parts.push(format!("bypass {}", self.bypass_list));
            }
        }
        if self.pac_enabled {
            parts.push(format!("PAC {}", self.auto_config_url));
        }
        if self.auto_detect {
            parts.push("auto-detect".to_string());
        }
        if parts.is_empty() {
            parts.push("direct".to_string());
        }
        if let Some(e) = &self.error {
            parts.push(format!("(blob {e})"));
        }
        parts.join("; ")
    }

    /// Field-by-field differences that matter (the counter and trailer never count; the
    /// auto-detect bit alone makes no difference when neither side uses a proxy or PAC).
    pub fn differences(&self, other: &Effective) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.proxy_enabled != other.proxy_enabled {
            d.push("proxy enabled");
        }
        if self.pac_enabled != other.pac_enabled {
            d.push("PAC enabled");
        }
        if self.auto_detect != other.auto_detect
            && (self.uses_proxy_or_pac() || other.uses_proxy_or_pac())
        {
            d.push("auto-detect");
        }
        if (self.proxy_enabled || other.proxy_enabled)
            && !self.proxy_server.eq_ignore_ascii_case(&other.proxy_server)
        {
            d.push("proxy server");
        }
        if (self.proxy_enabled || other.proxy_enabled)
            && normalise_bypass(&self.bypass_list) != normalise_bypass(&other.bypass_list)
        {
            d.push("bypass list");
        }
        if (self.pac_enabled || other.pac_enabled) && self.auto_config_url != other.auto_config_url
        {
            d.push("PAC URL");
        }
        d
    }
}

fn normalise_bypass(s: &str) -> Vec<String> {
    s.split([';', ' ', '\t', '\r', '\n'])
        .filter(|e| !e.is_empty())
        .map(|e| e.to_ascii_lowercase())
        .collect()
}

/// Decodes a `DefaultConnectionSettings` blob.
pub fn from_blob(bytes: &[u8]) -> Effective {
    shim::from_blob(bytes)
}

/// Effective settings from the plain values (`ProxyEnable`, `ProxyServer`, ...).
pub fn from_plain(
    proxy_enable: Option<u32>,
    proxy_server: Option<&str>,
    proxy_override: Option<&str>,
    auto_config_url: Option<&str>,
    auto_detect: Option<u32>,
) -> Effective {
    let proxy_enabled = proxy_enable == Some(1) && proxy_server.is_some_and(|s| !s.is_empty());
    let pac_enabled = auto_config_url.is_some_and(|s| !s.is_empty());
    let auto_detect = auto_detect == Some(1);
    let flags = 1
        | if proxy_enabled { 2 } else { 0 }
        | if pac_enabled { 4 } else { 0 }
        | if auto_detect { 8 } else { 0 };
    let json = serde_json::json!({
        "source": "plain values",
        "proxy_enable": proxy_enable,
        "proxy_server": proxy_server,
        "proxy_override": proxy_override,
        "auto_config_url": auto_config_url,
        "auto_detect": auto_detect,
    });
    Effective {
        flags,
        proxy_enabled,
        pac_enabled,
        auto_detect,
        proxy_server: proxy_server.unwrap_or("").to_string(),
        bypass_list: proxy_override.unwrap_or("").to_string(),
        auto_config_url: auto_config_url.unwrap_or("").to_string(),
        error: None,
        json,
    }
}

/// Effective settings of WinHTTP as `netsh winhttp show proxy` printed them.
pub fn from_winhttp_text(direct: bool, proxy: Option<&str>, bypass: Option<&str>) -> Effective {
    let proxy_enabled = !direct && proxy.is_some_and(|p| !p.is_empty());
    Effective {
        flags: if proxy_enabled { 2 } else { 1 },
        proxy_enabled,
        proxy_server: proxy.unwrap_or("").to_string(),
        bypass_list: bypass.unwrap_or("").to_string(),
        json: serde_json::json!({"source": "netsh winhttp", "direct": direct, "proxy": proxy, "bypass": bypass}),
        ..Effective::default()
    }
}

/// Decodes a `WinHttpSettings` blob.
pub fn from_winhttp_blob(bytes: &[u8]) -> Effective {
    shim::from_winhttp_blob(bytes)
}

/// How a request to `https://host:443` would leave, judged on static settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpsRoute {
    /// Through this proxy.
    Proxy(String),
    /// Direct, because a per-scheme list has no `https=` entry.
    DirectNoHttpsEntry,
    /// Direct, because this bypass entry matches the host.
    Bypassed(String),
    /// No static proxy enabled.
    Direct,
}

/// The route of an HTTPS request to `host` under these settings.
pub fn https_route(eff: &Effective, host: &str) -> HttpsRoute {
    shim::https_route(eff, host)
}

/// Redacts `user:password@` in a proxy string.
pub fn redact(s: &str) -> String {
    shim::redact(s)
}

/// TEMPORARY stand-in for the proxy model until it lands (replaced by calls into `crate::proxy`).
mod shim {
    use super::{Effective, HttpsRoute};

    fn u32_at(b: &[u8], o: usize) -> Option<u32> {
        Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
    }

    fn str_at(b: &[u8], o: &mut usize) -> Option<String> {
        let n = u32_at(b, *o)? as usize;
        let s = b.get(*o + 4..(*o + 4).checked_add(n)?)?;
        *o += 4 + n;
        Some(s.iter().map(|c| char::from(*c)).collect())
    }

    pub fn from_blob(b: &[u8]) -> Effective {
        let flags = u32_at(b, 8).unwrap_or(0);
        let mut o = 12;
        let proxy = str_at(b, &mut o);
        let bypass = str_at(b, &mut o);
        let pac = str_at(b, &mut o);
        let error = if b.len() < 12 {
            Some("truncated_header".into())
        } else if pac.is_none() {
            Some("truncated".into())
        } else {
            None
        };
        Effective {
            flags,
            proxy_enabled: flags & 2 != 0,
            pac_enabled: flags & 4 != 0,
            auto_detect: flags & 8 != 0,
            proxy_server: proxy.unwrap_or_default(),
            bypass_list: bypass.unwrap_or_default(),
            auto_config_url: pac.unwrap_or_default(),
            error,
            json: serde_json::json!({"flags": flags}),
        }
    }

    pub fn from_winhttp_blob(b: &[u8]) -> Effective {
        let flags = u32_at(b, 8).unwrap_or(0);
        let mut o = 12;
        let proxy = str_at(b, &mut o);
        let bypass = str_at(b, &mut o);
        Effective {
            flags,
            proxy_enabled: flags & 2 != 0,
            proxy_server: proxy.unwrap_or_default(),
            bypass_list: bypass.unwrap_or_default(),
            json: serde_json::json!({"flags": flags}),
            ..Effective::default()
        }
    }

    pub fn redact(s: &str) -> String {
        match (s.find("://"), s.rfind('@')) {
            (Some(i), Some(j)) if j > i => format!("{}***@{}", &s[..i + 3], &s[j + 1..]),
            (None, Some(j)) => format!("***@{}", &s[j + 1..]),
            _ => s.to_string(),
        }
    }

    fn wildcard(p: &str, h: &str) -> bool {
        let (p, h) = (p.as_bytes(), h.as_bytes());
        let (mut i, mut j, mut star, mut mark) = (0usize, 0usize, None, 0usize);
        while j < h.len() {
            if i < p.len() && (p[i] == b'?' || p[i].eq_ignore_ascii_case(&h[j])) {
                i += 1;
                j += 1;
            } else if i < p.len() && p[i] == b'*' {
                star = Some(i);
                mark = j;
                i += 1;
            } else if let Some(s) = star {
                i = s + 1;
                mark += 1;
                j = mark;
            } else {
                return false;
            }
        }
        p[i..].iter().all(|c| *c == b'*')
    }

    pub fn https_route(eff: &Effective, host: &str) -> HttpsRoute {
        if !eff.proxy_enabled {
            return HttpsRoute::Direct;
        }
        let proxy = if eff.proxy_server.contains('=') {
            match eff
                .proxy_server
                .split(';')
                .find_map(|e| e.trim().strip_prefix("https="))
            {
                Some(p) => p.to_string(),
                None => return HttpsRoute::DirectNoHttpsEntry,
            }
        } else {
            eff.proxy_server.clone()
        };
        for entry in eff.bypass_list.split([';', ' ']).filter(|e| !e.is_empty()) {
            if (entry.eq_ignore_ascii_case("<local>") && !host.contains('.'))
                || wildcard(entry, host)
            {
                return HttpsRoute::Bypassed(entry.to_string());
            }
        }
        HttpsRoute::Proxy(proxy)
    }
}
