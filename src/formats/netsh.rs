//! `netsh winhttp show proxy` / `import proxy source=ie` / `set proxy` / `show advproxy`
//! output: the machine's WinHTTP proxy (what services using WinHTTP see).

use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};
use crate::formats::netsh_messages::{self, squash};
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
    /// `known` when the lines matched a language's messages, `guessed` when the structural
    /// fallback read them (unknown display language); null when no settings were found.
    pub layout: Option<NetshLayout>,
    pub probe_observations: Vec<ProbeObservation>,
}

/// How the settings lines were recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetshLayout {
    /// Header, direct line or labels of a language in [`netsh_messages::LANGUAGES`].
    Known,
    /// Recognised by shape only: a header naming WinHTTP, a parenthesised line after it, or
    /// `label : value` lines whose values look like a proxy and a bypass list.
    Guessed,
}

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
        let squashed = squash(t);
        let known_header = netsh_messages::header_language(&squashed);
        if known_header.is_some() || crate::detect::is_winhttp_header(t) {
            match known_header {
                Some(lang) => {
                    set_lang(&mut out.language, lang.code);
                    note_layout(&mut out.layout, NetshLayout::Known);
                }
                None => guessed(&mut out.layout, &mut diags, n, "header"),
            }
            let advanced = squashed.contains("advanced") || lower.contains("erweitert");
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
        if let Some(lang) = netsh_messages::direct_language(&squashed) {
            set_lang(&mut out.language, lang.code);
            note_layout(&mut out.layout, NetshLayout::Known);
            let v = view(&mut out.views, n, pending_source);
            v.direct = true;
            v.shown = true;
            v.direct_line = Some(n);
            continue;
        }
        if let Some((label, value)) = split_label(t) {
            let value = value.trim();
            if let Some((is_proxy, lang)) = netsh_messages::label_role(label) {
                set_lang(&mut out.language, lang.code);
                note_layout(&mut out.layout, NetshLayout::Known);
                let v = view(&mut out.views, n, pending_source);
                set_value(v, is_proxy, value, n);
                continue;
            }
            // Fallback for an unknown language: the values tell what the lines are.
            let open = out.views.last().is_some_and(|v| !v.access_denied);
            let has_proxy = out.views.last().is_some_and(|v| v.proxy.is_some());
            if !has_proxy && looks_like_proxy(value) {
                guessed(&mut out.layout, &mut diags, n, "proxy line");
                let v = view(&mut out.views, n, pending_source);
                set_value(v, true, value, n);
                continue;
            }
            if open
                && has_proxy
                && out.views.last().is_some_and(|v| v.bypass_line.is_none())
                && (looks_like_bypass(value) || is_parenthesised(value))
            {
                guessed(&mut out.layout, &mut diags, n, "bypass line");
                let v = view(&mut out.views, n, pending_source);
                set_value(v, false, value, n);
                continue;
            }
        }
        // Fallback: the one parenthesised sentence right after a header is the direct line.
        if !t.contains(':')
            && !t.contains('：')
            && t.contains(['(', '（'])
            && out.views.last().is_some_and(|v| {
                !v.shown && !v.access_denied && v.source != Some(WinHttpSource::ShowAdvproxy)
            })
            && !lower.contains("(5)")
        {
            guessed(&mut out.layout, &mut diags, n, "direct-access line");
            let v = view(&mut out.views, n, pending_source);
            v.direct = true;
            v.shown = true;
            continue;
        }
        if lower.contains("(5)")
            && (lower.contains("proxy") || lower.contains("access") || lower.contains("拒绝访问"))
        {
            any_denied = true;
            if lower.contains("access is denied") {
                set_lang(&mut out.language, "en");
            } else if lower.contains("zugriff verweigert") {
                set_lang(&mut out.language, "de");
            } else if lower.contains("拒绝访问") {
                // `写入代理服务器设置时出错。(5) 拒绝访问。` (a real zh-CN capture).
                set_lang(&mut out.language, "zh-CN");
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
    if netsh_messages::is_none_word(v) {
        None
    } else {
        Some(v.to_string())
    }
}

/// Stores a proxy (`is_proxy`) or bypass value into the view.
fn set_value(v: &mut WinHttpView, is_proxy: bool, value: &str, line: u64) {
    if is_proxy {
        v.proxy = none_to_null(value);
        v.proxy_line = Some(line);
        v.direct = v.proxy.is_none();
    } else {
        v.bypass = none_to_null(value);
        v.bypass_line = Some(line);
    }
    v.shown = true;
}

/// `label : value` split at the first ASCII or full-width colon; the label holds no colon.
fn split_label(t: &str) -> Option<(&str, &str)> {
    let i = t.find([':', '：'])?;
    let label = t.get(..i)?;
    let sep = t.get(i..)?.chars().next()?.len_utf8();
    let value = t.get(i + sep..)?;
    (!label.trim().is_empty() && label.chars().count() <= 60).then_some((label, value))
}

fn note_layout(slot: &mut Option<NetshLayout>, layout: NetshLayout) {
    if *slot != Some(NetshLayout::Guessed) {
        *slot = Some(layout);
    }
}

/// Marks the capture as read by shape; the first such line gets the diagnostic.
fn guessed(slot: &mut Option<NetshLayout>, diags: &mut Diagnostics, line: u64, what: &str) {
    if *slot != Some(NetshLayout::Guessed) {
        diags.push(Diagnostic::warning(
            line,
            1,
            "guessed-layout",
            format!(
                "the display language of this netsh output is not known: its {what} was recognised by shape only (check the result)"
            ),
        ));
    }
    *slot = Some(NetshLayout::Guessed);
}

/// A proxy value: `host:port`, `http=host:port;https=host:port`, optionally with a scheme.
fn looks_like_proxy(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.contains(char::is_whitespace) {
        return false;
    }
    let mut with_port = false;
    for part in v.split(';').filter(|p| !p.is_empty()) {
        let part = part.split_once('=').map_or(part, |(_, rest)| rest);
        let part = part.split_once("://").map_or(part, |(_, rest)| rest);
        let part = part.rsplit_once('@').map_or(part, |(_, rest)| rest);
        let (host, port) = match part.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
            _ => (part, None),
        };
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':'));
        if !host_ok {
            return false;
        }
        if let Some(p) = port {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 5 {
                return false;
            }
            with_port = true;
        }
    }
    with_port
}

/// A bypass list: `<local>`, wildcards or several `;`-separated hosts.
fn looks_like_bypass(value: &str) -> bool {
    let v = value.trim();
    v.contains("<local>") || v.contains(';') || v.contains('*')
}

/// `(none)` in some language: one parenthesised word group.
fn is_parenthesised(value: &str) -> bool {
    let v = value.trim();
    (v.starts_with('(') && v.ends_with(')')) || (v.starts_with('（') && v.ends_with('）'))
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
    fn chinese_access_denied_then_direct() {
        let t = "C:\\>netsh winhttp import proxy source=ie\n写入代理服务器设置时出错。(5) 拒绝访问。\n\n\n当前的 WinHTTP 代理服务器设置:\n\n    直接访问(没有代理服务器)。\n";
        let (c, d) = parse(t, "");
        assert!(d.is_empty(), "{d:?}");
        assert!(c.winhttp.access_denied && c.winhttp.direct);
        assert_eq!(c.language.as_deref(), Some("zh-CN"));
        assert_eq!(c.layout, Some(NetshLayout::Known));
    }

    #[test]
    fn unknown_language_direct_line_after_a_header_is_guessed() {
        // Placeholder words, not a translation: only the shape is real.
        let t = "\nXxxxx WinHTTP xxxxx:\n\n    Xxxxx xxxxx (xxxx xxxxx).\n";
        let (c, d) = parse(t, "");
        assert!(c.winhttp.direct && c.winhttp.shown);
        assert_eq!(c.layout, Some(NetshLayout::Guessed));
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].code, d[0].line), ("guessed-layout", 2));
    }

    #[test]
    fn fallback_does_not_take_prose_for_a_proxy() {
        assert!(looks_like_proxy("http=proxy:8080;https=proxy:8443"));
        assert!(looks_like_proxy("10.0.0.1:3128"));
        assert!(!looks_like_proxy("see attached file"));
        assert!(!looks_like_proxy("proxy.contoso.com"));
        assert!(!looks_like_proxy("C:8080x"));
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
