//! `netsh winhttp show proxy` / `import proxy source=ie` / `set proxy` / `show advproxy`
//! output: the machine's WinHTTP proxy (what services using WinHTTP see).

use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};
use crate::formats::powershell;
use crate::formats::probe_capture::{ProbeObservation, ProbeScanner};
use crate::text;

/// Which netsh command printed a settings block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WinHttpSource {
    /// `netsh winhttp show proxy`
    ShowProxy,
    /// `netsh winhttp import proxy source=ie` (copies the current user's WinINet proxy)
    ImportIe,
    /// `netsh winhttp set proxy …`
    SetProxy,
    /// `netsh winhttp reset proxy`
    ResetProxy,
    /// `netsh winhttp show advproxy` (Windows 11 / Server 2022 and later, JSON body)
    ShowAdvproxy,
}

/// The WinHTTP proxy as one block of netsh output shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WinHttpView {
    /// `Direct access (no proxy server).` (or advproxy without proxy and auto-config).
    pub direct: bool,
    /// `Proxy Server(s)` as printed (per-scheme lists kept verbatim; passwords redacted when
    /// serialized).
    #[serde(serialize_with = "crate::secrets::serialize_redacted")]
    pub proxy: Option<String>,
    /// `Bypass List` as printed; `(none)` becomes null.
    pub bypass: Option<String>,
    /// The command that printed the block, when echoed (or `show-advproxy` from its header).
    pub source: Option<WinHttpSource>,
    /// `Error writing proxy settings. (5) Access is denied.`: the import/set did not happen.
    pub access_denied: bool,
    /// The block showed settings (false when only an error or nothing was printed).
    pub shown: bool,
    /// advproxy `AutoConfigUrl` when enabled.
    pub auto_config_url: Option<String>,
    /// advproxy `AutoDetect`.
    pub auto_detect: Option<bool>,
    /// advproxy `PerUserProxySettings`.
    pub per_user: Option<bool>,
    /// Line of the block's header (or first settings line).
    pub line: u64,
    pub proxy_line: Option<u64>,
    pub bypass_line: Option<u64>,
    /// Line of the `Direct access (no proxy server).` statement.
    pub direct_line: Option<u64>,
}

impl WinHttpView {
    /// The line that says what the setting is (not the block's header).
    pub fn statement_line(&self) -> u64 {
        self.proxy_line.or(self.direct_line).unwrap_or(self.line)
    }
}

/// A netsh capture: the last settings shown, and every block in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetshCapture {
    /// The state the capture ends with (the last block that showed settings); its
    /// `access_denied` is true when any write in the capture was refused.
    pub winhttp: WinHttpView,
    /// Every block in file order.
    pub views: Vec<WinHttpView>,
    pub language: Option<String>,
    pub probe_observations: Vec<ProbeObservation>,
}

const HEADERS: &[(&str, &str)] = &[
    ("current winhttp proxy settings", "en"),
    ("current winhttp advanced proxy settings", "en"),
    ("aktuelle winhttp-proxyeinstellungen", "de"),
    ("paramètres actuels du proxy winhttp", "fr"),
    ("configuración actual de proxy de winhttp", "es"),
    ("現在の winhttp プロキシ設定", "ja"),
];
const DIRECT: &[(&str, &str)] = &[
    ("direct access (no proxy server)", "en"),
    ("direkter zugriff (kein proxyserver)", "de"),
    ("accès direct (pas de serveur proxy)", "fr"),
    ("acceso directo (sin servidor proxy)", "es"),
    ("直接アクセス (プロキシ サーバーなし)", "ja"),
];
const PROXY_LABELS: &[&str] = &[
    "proxy server(s)",
    "proxyserver",
    "serveur(s) proxy",
    "servidores proxy",
    "プロキシ サーバー",
];
const BYPASS_LABELS: &[&str] = &[
    "bypass list",
    "umgehungsliste",
    "liste de contournement",
    "lista de omisión",
    "バイパス一覧",
];
const NONE_WORDS: &[&str] = &[
    "(none)",
    "(keine)",
    "(aucun)",
    "(aucune)",
    "(ninguno)",
    "(なし)",
    "",
];

/// Parses a netsh winhttp capture.
pub fn parse(text: &str, file_name: &str) -> (NetshCapture, Vec<Diagnostic>) {
    let _ = file_name;
    let mut out = NetshCapture::default();
    let mut diags = Diagnostics::default();
    let mut probes = ProbeScanner::default();
    let mut pending_source: Option<WinHttpSource> = None;
    let mut any_denied = false;
    let rows: Vec<(u64, &str)> = text::lines(text.trim_start_matches('\u{feff}')).collect();
    let mut i = 0;
    while let Some((n, raw)) = rows.get(i).copied() {
        i += 1;
        let t = powershell::strip_native_prefix(raw.trim());
        if t.is_empty() || powershell::is_ps_error_noise(raw) {
            continue;
        }
        if let Some(cmd) = powershell::strip_prompt(raw)
            .or_else(|| t.to_ascii_lowercase().starts_with("netsh ").then_some(t))
        {
            pending_source = command_source(cmd);
            if pending_source.is_none() {
                probes.feed(n, cmd);
            }
            continue;
        }
        let lower = t.to_lowercase();
        if let Some((_, lang)) = HEADERS.iter().find(|(h, _)| lower.starts_with(h)) {
            set_lang(&mut out.language, lang);
            let advanced = lower.contains("advanced") || lower.contains("erweitert");
            let mut v = WinHttpView {
                line: n,
                source: if advanced {
                    Some(WinHttpSource::ShowAdvproxy)
                } else {
                    pending_source
                },
                ..WinHttpView::default()
            };
            if advanced {
                i = advproxy(&rows, i, &mut v, &mut diags);
            }
            out.views.push(v);
            continue;
        }
        if let Some((_, lang)) = DIRECT.iter().find(|(d, _)| lower.starts_with(d)) {
            set_lang(&mut out.language, lang);
            let v = view(&mut out.views, n, pending_source);
            v.direct = true;
            v.shown = true;
            v.direct_line = Some(n);
            continue;
        }
        if let Some((label, value)) = t.split_once(':') {
            let label = label.trim().to_lowercase();
            let value = value.trim();
            if PROXY_LABELS.contains(&label.as_str()) {
                let v = view(&mut out.views, n, pending_source);
                v.proxy = none_to_null(value);
                v.proxy_line = Some(n);
                v.shown = true;
                v.direct = v.proxy.is_none();
                continue;
            }
            if BYPASS_LABELS.contains(&label.as_str()) {
                let v = view(&mut out.views, n, pending_source);
                v.bypass = none_to_null(value);
                v.bypass_line = Some(n);
                v.shown = true;
                continue;
            }
        }
        if lower.contains("(5)") && (lower.contains("proxy") || lower.contains("access")) {
            any_denied = true;
            if lower.contains("access is denied") {
                set_lang(&mut out.language, "en");
            } else if lower.contains("zugriff verweigert") {
                set_lang(&mut out.language, "de");
            }
            let v = view(&mut out.views, n, pending_source);
            if !v.shown {
                v.access_denied = true;
            } else {
                out.views.push(WinHttpView {
                    line: n,
                    source: pending_source,
                    access_denied: true,
                    ..WinHttpView::default()
                });
            }
            continue;
        }
        if probes.feed(n, t) {
            continue;
        }
        diags.push(Diagnostic::info(
            n,
            1,
            "unrecognised-line",
            format!(
                "expected a netsh winhttp line (settings header, `Direct access`, `Proxy Server(s) :`, `Bypass List :`); found {:?}",
                t.chars().take(60).collect::<String>()
            ),
        ));
    }
    let mut final_view = out
        .views
        .iter()
        .rev()
        .find(|v| v.shown)
        .or_else(|| out.views.last())
        .cloned()
        .unwrap_or_default();
    final_view.access_denied = any_denied;
    if out.views.iter().all(|v| !v.shown) {
        diags.push(Diagnostic::warning(
            1,
            1,
            "no-winhttp-settings",
            "no WinHTTP settings block (`Direct access` or `Proxy Server(s)`) was found",
        ));
    }
    out.winhttp = final_view;
    out.probe_observations = probes.finish();
    (out, diags.into_vec())
}

fn set_lang(slot: &mut Option<String>, lang: &str) {
    if slot.is_none() {
        *slot = Some(lang.to_string());
    }
}

fn none_to_null(value: &str) -> Option<String> {
    let v = value.trim();
    if NONE_WORDS.contains(&v.to_lowercase().as_str()) {
        None
    } else {
        Some(v.to_string())
    }
}

/// The current block, or a new one when none is open (pastes without the header line).
#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
fn view(
    views: &mut Vec<WinHttpView>,
    line: u64,
    source: Option<WinHttpSource>,
) -> &mut WinHttpView {
    let reuse = views.last().is_some_and(|v| !v.access_denied);
    if !reuse {
        views.push(WinHttpView {
            line,
            source,
            ..WinHttpView::default()
        });
    }
    let last = views.len() - 1;
    &mut views[last]
}

fn command_source(cmd: &str) -> Option<WinHttpSource> {
    let args: Vec<String> = powershell::split_args(&cmd.to_ascii_lowercase());
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let pos = words.iter().position(|w| *w == "winhttp")?;
    match (words.get(pos + 1).copied(), words.get(pos + 2).copied()) {
        (Some("show"), Some("advproxy")) => Some(WinHttpSource::ShowAdvproxy),
        (Some("show"), _) => Some(WinHttpSource::ShowProxy),
        (Some("import"), _) => Some(WinHttpSource::ImportIe),
        (Some("set"), _) => Some(WinHttpSource::SetProxy),
        (Some("reset"), _) => Some(WinHttpSource::ResetProxy),
        _ => None,
    }
}

/// Reads the JSON object after the advproxy header; returns the index of the next row.
fn advproxy(
    rows: &[(u64, &str)],
    mut i: usize,
    v: &mut WinHttpView,
    diags: &mut Diagnostics,
) -> usize {
    let mut json = String::new();
    let mut depth = 0i32;
    let mut started = false;
    let mut start_line = v.line;
    while let Some((n, raw)) = rows.get(i).copied() {
        let t = raw.trim();
        if !started {
            if t.is_empty() {
                i += 1;
                continue;
            }
            if !t.starts_with('{') {
                break;
            }
            started = true;
            start_line = n;
        }
        i += 1;
        json.push_str(raw);
        json.push('\n');
        depth += t.matches('{').count() as i32 - t.matches('}').count() as i32;
        if depth <= 0 || json.len() > 1024 * 1024 {
            break;
        }
    }
    if !started {
        diags.push(Diagnostic::warning(
            v.line,
            1,
            "advproxy-json",
            "expected a JSON object after the advanced proxy settings header; found none",
        ));
        return i;
    }
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(obj) => {
            let get_bool = |k: &str| obj.get(k).and_then(serde_json::Value::as_bool);
            let get_str = |k: &str| {
                obj.get(k)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
                    .filter(|s| !s.is_empty())
            };
            let proxy_enabled = get_bool("ProxyIsEnabled").unwrap_or(false);
            let pac_enabled = get_bool("AutoConfigIsEnabled").unwrap_or(false);
            v.proxy = if proxy_enabled {
                get_str("Proxy")
            } else {
                None
            };
            v.bypass = if proxy_enabled {
                get_str("ProxyBypass")
            } else {
                None
            };
            v.auto_config_url = if pac_enabled {
                get_str("AutoConfigUrl")
            } else {
                None
            };
            v.auto_detect = get_bool("AutoDetect");
            v.per_user = get_bool("PerUserProxySettings");
            v.direct =
                v.proxy.is_none() && v.auto_config_url.is_none() && v.auto_detect != Some(true);
            v.shown = true;
            v.proxy_line = v.proxy.as_ref().map(|_| start_line);
        }
        Err(e) => diags.push(Diagnostic::warning(
            start_line.saturating_add(e.line().saturating_sub(1) as u64),
            u32::try_from(e.column()).unwrap_or(1),
            "advproxy-json",
            format!("the advanced proxy settings are not valid JSON: {e}"),
        )),
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct() {
        let (c, d) = parse("\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n\r\n", "");
        assert!(d.is_empty(), "{d:?}");
        assert!(c.winhttp.direct);
        assert_eq!(c.winhttp.line, 2);
        assert_eq!(c.language.as_deref(), Some("en"));
    }

    #[test]
    fn proxy_with_bypass_and_none() {
        let t = "C:\\>netsh winhttp show proxy\n\nCurrent WinHTTP proxy settings:\n\n    Proxy Server(s) :  http=proxy:8080;https=proxy:8443\n    Bypass List     :  <local>;*.corp\n";
        let (c, _) = parse(t, "");
        assert_eq!(
            c.winhttp.proxy.as_deref(),
            Some("http=proxy:8080;https=proxy:8443")
        );
        assert_eq!(c.winhttp.bypass.as_deref(), Some("<local>;*.corp"));
        assert_eq!(c.winhttp.source, Some(WinHttpSource::ShowProxy));
        assert_eq!(
            (c.winhttp.proxy_line, c.winhttp.bypass_line),
            (Some(5), Some(6))
        );
        assert!(!c.winhttp.direct);
        let (c, _) = parse(
            "    Proxy Server(s) :  p:1\n    Bypass List     :  (none)\n",
            "",
        );
        assert_eq!(c.winhttp.bypass, None);
    }

    #[test]
    fn import_denied() {
        let t = "C:\\>netsh winhttp import proxy source=ie\nError writing proxy settings. (5) Access is denied.\n";
        let (c, _) = parse(t, "");
        assert!(c.winhttp.access_denied);
        assert!(!c.winhttp.shown);
        assert_eq!(c.views[0].source, Some(WinHttpSource::ImportIe));
        assert_eq!(c.views[0].line, 2);
    }

    #[test]
    fn advproxy_json() {
        let t = "Current WinHTTP advanced proxy settings:\n\n{\n\t\"ProxyIsEnabled\": true,\n\t\"Proxy\": \"proxy:8080\",\n\t\"ProxyBypass\": \"<local>\",\n\t\"AutoDetect\": false\n}\n";
        let (c, d) = parse(t, "");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.winhttp.proxy.as_deref(), Some("proxy:8080"));
        assert_eq!(c.winhttp.source, Some(WinHttpSource::ShowAdvproxy));
        assert_eq!(c.winhttp.auto_detect, Some(false));
    }
}
