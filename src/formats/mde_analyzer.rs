//! Defender for Endpoint client analyzer results (`MDEClientAnalyzer.txt`): the connectivity
//! blocks (`Testing URL : …` then numbered methods `Succeeded (n)` / `Failed (n)` /
//! `Doesn't exist`), which the analyzer runs as LOCAL SYSTEM through WinHTTP, and its
//! `PROXY SETTINGS` section (legacy `ProxyServer` values, bitsadmin, raw netsh output).

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::formats::netsh::{self, WinHttpView};
use crate::text;

/// Most URL blocks kept.
const MAX_URLS: usize = 500;

/// What one method line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodOutcome {
    Succeeded,
    Failed,
    /// `Doesn't exist`: no such proxy configured (named / command line proxy).
    DoesNotExist,
    /// `The proxy isn't in valid format`.
    InvalidProxy,
}

/// One numbered method line (`2 - Proxy auto discovery (WPAD): Failed (12007)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodResult {
    /// `1` … `5`, or `4.1`.
    pub number: String,
    /// `Default proxy`, `Proxy auto discovery (WPAD)`, ….
    pub method: String,
    pub outcome: MethodOutcome,
    /// The HTTP status or WinHTTP error code in parentheses.
    pub code: Option<u32>,
    pub line: u64,
}

impl MethodResult {
    /// The analyzer's own rule for one method: an answer of 200, 400 or 404, or a succeeded
    /// 405, means the URL is reachable this way (MDEClientAnalyzer.ps1, `ValidateURLs`).
    pub fn reachable(&self) -> bool {
        matches!(self.code, Some(200 | 400 | 404))
            || (self.outcome == MethodOutcome::Succeeded && self.code == Some(405))
    }

    /// Which way of finding a proxy the line tested, from its number.
    pub fn way(&self) -> MethodWay {
        match self.number.split('.').next().unwrap_or("") {
            "1" => MethodWay::DefaultProxy,
            "2" => MethodWay::AutoDiscovery,
            "3" => MethodWay::Direct,
            "4" => MethodWay::NamedProxy,
            "5" => MethodWay::CommandLineProxy,
            _ => MethodWay::Other,
        }
    }
}

/// The analyzer's numbered ways of reaching a URL (the labels of its exe, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodWay {
    /// 1: WinHTTP's default proxy setting (`netsh winhttp`).
    DefaultProxy,
    /// 2: automatic discovery (WPAD).
    AutoDiscovery,
    /// 3: no proxy at all (direct).
    Direct,
    /// 4: the named (static) proxy of the MDE policy (`TelemetryProxyServer`).
    NamedProxy,
    /// 5: a proxy given on the analyzer's command line.
    CommandLineProxy,
    Other,
}

/// One `Testing URL :` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrlTest {
    pub url: String,
    pub line: u64,
    pub methods: Vec<MethodResult>,
    /// The analyzer's own rule: reachable when any method answered 200, 400 or 404, or
    /// succeeded with 405.
    pub reachable: bool,
}

impl UrlTest {
    /// The tested URL's host, lower-cased.
    pub fn host(&self) -> Option<String> {
        crate::proxy::route::parse_url(&self.url).map(|u| u.host.to_ascii_lowercase())
    }

    /// True when a method of this way reached the URL.
    pub fn reached_by(&self, way: MethodWay) -> bool {
        self.methods.iter().any(|m| m.way() == way && m.reachable())
    }

    /// The method lines in words: `Default proxy: failed (12029); Proxy disabled: succeeded (200)`
    /// (methods that do not exist on the machine are left out).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .methods
            .iter()
            .filter(|m| m.outcome != MethodOutcome::DoesNotExist)
            .map(|m| {
                let outcome = match m.outcome {
                    MethodOutcome::Succeeded => "succeeded",
                    MethodOutcome::Failed => "failed",
                    MethodOutcome::DoesNotExist => "does not exist",
                    MethodOutcome::InvalidProxy => "proxy not in a valid format",
                };
                match m.code {
                    Some(c) => format!("{}: {outcome} ({c})", m.method),
                    None => format!("{}: {outcome}", m.method),
                }
            })
            .collect();
        if parts.is_empty() {
            "no method line".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// A legacy `ProxyServer` value the PROXY SETTINGS section reports for one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyProxy {
    pub proxy_server: String,
    /// `ProxyEnable is set to : n`.
    pub proxy_enable: Option<String>,
    pub line: u64,
}

/// The PROXY SETTINGS section.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MdeProxySettings {
    /// `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings` (machine).
    pub machine: Option<LegacyProxy>,
    /// `HKU\S-1-5-18` (LOCAL SYSTEM).
    pub local_system: Option<LegacyProxy>,
    /// `HKCU` of the account that ran the analyzer.
    pub current_user: Option<LegacyProxy>,
    /// `HKU\.DEFAULT`.
    pub default_user: Option<LegacyProxy>,
    /// `bitsadmin /util /getieproxy LOCALSYSTEM` output, joined.
    pub bitsadmin: Option<String>,
    /// The raw `netsh winhttp show proxy` lines of the section, when present.
    pub winhttp: Option<WinHttpView>,
    pub line: u64,
}

/// A parsed analyzer result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MdeAnalyzer {
    /// `running-as-system` or `psexec` when the header line says how the tests ran.
    pub run_as: Option<String>,
    /// The `Proxy config: Method=…` line the exe prints.
    pub proxy_config: Option<String>,
    pub urls: Vec<UrlTest>,
    pub proxy_settings: Option<MdeProxySettings>,
}

/// Parses the analyzer's text result.
pub fn parse(text_in: &str) -> (MdeAnalyzer, Vec<Diagnostic>) {
    let text = text_in.trim_start_matches('\u{feff}');
    let mut out = MdeAnalyzer::default();
    let mut diags = Vec::new();
    let mut in_proxy = false;
    // The first line of the raw `netsh winhttp show proxy` output inside PROXY SETTINGS.
    let mut netsh_first: Option<(u64, usize)> = None;
    let mut proxy_end = text.len();
    let base = text.as_ptr() as usize;
    for (n, raw) in text::lines(text) {
        let t = raw.trim();
        let lower = t.to_ascii_lowercase();
        let offset = (raw.as_ptr() as usize).saturating_sub(base);
        if t.starts_with("####") {
            if in_proxy {
                proxy_end = offset;
            }
            in_proxy = lower.contains("proxy settings");
            if in_proxy {
                out.proxy_settings = Some(MdeProxySettings {
                    line: n,
                    ..MdeProxySettings::default()
                });
            }
            continue;
        }
        if lower.starts_with("connectivity output, running as system") {
            out.run_as = Some("running-as-system".into());
        } else if lower.starts_with("connectivity output, using psexec") {
            out.run_as = Some("psexec".into());
        }
        if let Some(rest) = t.strip_prefix("Proxy config: ") {
            out.proxy_config = Some(rest.chars().take(400).collect());
            continue;
        }
        if let Some(url) = t
            .strip_prefix("Testing URL :")
            .or_else(|| t.strip_prefix("Testing URL:"))
        {
            if out.urls.len() < MAX_URLS {
                out.urls.push(UrlTest {
                    url: url.trim().chars().take(400).collect(),
                    line: n,
                    methods: Vec::new(),
                    reachable: false,
                });
            }
            continue;
        }
        if let Some(m) = method_line(t, n) {
            if let Some(u) = out.urls.last_mut() {
                if u.methods.len() < 20 {
                    u.reachable |= m.reachable();
                    u.methods.push(m);
                }
            }
            continue;
        }
        if in_proxy {
            if netsh_first.is_none() && crate::detect::is_winhttp_header(t) {
                netsh_first = Some((n, offset));
            }
            if let Some(ps) = out.proxy_settings.as_mut() {
                proxy_line(ps, t, n);
            }
        }
    }
    // Only from netsh's own header on: the section's `… are :  host:port` lines are registry
    // values, which the structural netsh reader would otherwise take for WinHTTP's proxy.
    if let (Some((first, start)), Some(ps)) = (netsh_first, out.proxy_settings.as_mut()) {
        // The raw netsh lines keep the file's line numbers.
        let body = text.get(start..proxy_end).unwrap_or("");
        let mut padded = "\n".repeat(usize::try_from(first.saturating_sub(1)).unwrap_or(0));
        padded.push_str(body);
        let (capture, _) = netsh::parse(&padded, "");
        if capture.winhttp.shown {
            ps.winhttp = Some(capture.winhttp);
        }
    }
    if out.urls.is_empty() && out.proxy_settings.is_none() {
        diags.push(Diagnostic::warning(
            1,
            1,
            "not-understood",
            "no `Testing URL :` block and no PROXY SETTINGS section was found",
        ));
    }
    for u in &out.urls {
        if u.methods.is_empty() {
            diags.push(Diagnostic::warning(
                u.line,
                1,
                "partly-understood",
                "a `Testing URL :` block without any numbered method line (cut paste?)",
            ));
        }
    }
    (out, diags)
}

/// `1 - Default proxy: Succeeded (200)`, `4 - Named proxy: Doesn't exist`.
fn method_line(t: &str, n: u64) -> Option<MethodResult> {
    let (number, rest) = t.split_once(" - ")?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let find = |pat: &'static str| rest.rfind(pat).map(|i| (i, pat));
    let (at, pat) = find("Succeeded (")
        .or_else(|| find("Failed ("))
        .or_else(|| find("Doesn't exist"))
        .or_else(|| find("The proxy isn't in valid format"))?;
    let outcome = match pat {
        "Succeeded (" => MethodOutcome::Succeeded,
        "Failed (" => MethodOutcome::Failed,
        "Doesn't exist" => MethodOutcome::DoesNotExist,
        _ => MethodOutcome::InvalidProxy,
    };
    let code = rest
        .get(at + pat.len()..)
        .filter(|_| pat.ends_with('('))
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.trim().parse().ok());
    let method = rest
        .get(..at)
        .unwrap_or("")
        .trim()
        .trim_end_matches(':')
        .trim()
        .chars()
        .take(200)
        .collect();
    Some(MethodResult {
        number: number.to_string(),
        method,
        outcome,
        code,
        line: n,
    })
}

/// One line of the PROXY SETTINGS section.
fn proxy_line(ps: &mut MdeProxySettings, t: &str, n: u64) {
    let lower = t.to_ascii_lowercase();
    let value = || {
        t.split_once(" are :")
            .map(|(_, v)| v.trim().chars().take(400).collect::<String>())
    };
    let legacy = |v: String| LegacyProxy {
        proxy_server: v,
        proxy_enable: None,
        line: n,
    };
    if lower.starts_with("the detected proxy settings in device path") {
        ps.machine = value().map(legacy);
    } else if lower.starts_with("the detected proxy settings in system hku path") {
        ps.local_system = value().map(legacy);
    } else if lower.starts_with("the detected proxy settings in current user path") {
        ps.current_user = value().map(legacy);
    } else if lower.starts_with("the detected proxy settings in the default user path") {
        ps.default_user = value().map(legacy);
    } else if let Some(v) = t.strip_prefix("ProxyEnable is set to :") {
        let last = [
            ps.default_user.as_mut(),
            ps.current_user.as_mut(),
            ps.local_system.as_mut(),
            ps.machine.as_mut(),
        ]
        .into_iter()
        .flatten()
        .max_by_key(|p| p.line);
        if let Some(p) = last {
            p.proxy_enable = Some(v.trim().chars().take(40).collect());
        }
    } else if let Some(v) = t.strip_prefix("Proxy setting detected via bitsadmin:") {
        ps.bitsadmin = Some(v.trim().chars().take(1000).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_connectivity_block() {
        let t = "Testing URL : https://xxx.microsoft.com/xxx\n1 - Default proxy: Succeeded (200)\n2 - Proxy auto discovery (WPAD): Succeeded (200)\n3 - Proxy disabled: Succeeded (200)\n4 - Named proxy: Doesn't exist\n5 - Command line proxy: Doesn't exist\n";
        let (a, d) = parse(t);
        assert!(d.is_empty(), "{d:?}");
        let u = &a.urls[0];
        assert_eq!(u.url, "https://xxx.microsoft.com/xxx");
        assert!(u.reachable);
        assert_eq!(u.methods.len(), 5);
        assert_eq!(u.methods[1].method, "Proxy auto discovery (WPAD)");
        assert_eq!(u.methods[3].outcome, MethodOutcome::DoesNotExist);
        assert_eq!(u.methods[3].line, 5);
    }

    #[test]
    fn registry_lines_of_the_section_are_not_winhttp() {
        let t = "########################### PROXY SETTINGS ################################\r\nProxy setting in current user level were detected\r\nThe detected proxy settings in current user path (HKCU) are :  proxy.contoso.com:8080\r\nProxyEnable is set to :  1\r\n";
        let (a, _) = parse(t);
        let ps = a.proxy_settings.unwrap();
        assert_eq!(
            ps.current_user.unwrap().proxy_server,
            "proxy.contoso.com:8080"
        );
        assert!(ps.winhttp.is_none());
    }

    #[test]
    fn failed_methods_are_unreachable() {
        let t = "Testing URL : https://winatp-gw-weu.microsoft.com/test\n1 - Default proxy: Failed (12029)\n2 - Proxy auto discovery (WPAD): Failed (12180)\n3 - Proxy disabled: Failed (12029)\n";
        let (a, _) = parse(t);
        assert!(!a.urls[0].reachable);
        assert_eq!(a.urls[0].methods[0].code, Some(12029));
    }
}
