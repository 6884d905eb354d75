//! The kind of an upload, decided from its content (never from its file name alone).

use serde::Serialize;

use crate::text;

/// What an artifact is; names as in the JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    RegExport,
    RegCompare,
    RegQuery,
    NetshWinhttp,
    SensorLog,
    SensorConfig,
    /// A captured `Invoke-WebRequest` / `curl` / browser answer of the 503 test.
    ProbeCapture,
    /// Several console commands pasted as one file, split at their prompt lines.
    ConsoleSession,
    /// `Get-MDISensorProxyConfiguration` output (the sensor-level proxy).
    MdiProxyConfig,
    /// `Test-MDISensorApiConnection` output (`True` / `False`).
    MdiApiTest,
    /// Defender for Endpoint client analyzer results (`Testing URL :` blocks, PROXY SETTINGS).
    MdeAnalyzer,
    /// `Test-MdiReadiness.ps1` JSON report (`mdi-<domain>.json`).
    MdiReadiness,
    /// `New-MDIConfigurationReport` output: auditing configuration, not proxy evidence.
    MdiConfigReport,
    /// `manifest.json` of `collect-mdi-proxy.cmd` (checked before any content sniffing: its
    /// commands say "reg compare" and "reg query").
    CollectorManifest,
    /// A binary registry hive (`regf`, file type 0).
    RegHive,
    /// A transaction log of a hive (`NAME.LOG1`/`.LOG2`: `regf`, file type 1, 2 or 6).
    RegHiveLog,
    /// A proxy auto-config script (`proxy.pac`, `wpad.dat`).
    PacScript,
    Unknown,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::RegExport => "reg-export",
            Kind::RegCompare => "reg-compare",
            Kind::RegQuery => "reg-query",
            Kind::NetshWinhttp => "netsh-winhttp",
            Kind::SensorLog => "sensor-log",
            Kind::SensorConfig => "sensor-config",
            Kind::ProbeCapture => "probe-capture",
            Kind::ConsoleSession => "console-session",
            Kind::MdiProxyConfig => "mdi-proxy-config",
            Kind::MdiApiTest => "mdi-api-test",
            Kind::MdeAnalyzer => "mde-analyzer",
            Kind::MdiReadiness => "mdi-readiness",
            Kind::MdiConfigReport => "mdi-config-report",
            Kind::CollectorManifest => "collector-manifest",
            Kind::RegHive => "reg-hive",
            Kind::RegHiveLog => "reg-hive-log",
            Kind::PacScript => "pac-script",
            Kind::Unknown => "unknown",
        }
    }
}

/// Binary registry file (`regf` signature): a hive or one of its transaction logs.
pub fn is_hive(prefix: &[u8]) -> bool {
    prefix.starts_with(b"regf")
}

/// The kind of a `regf` file from its file type (offset 28): 0 is a primary hive, anything
/// else (1, 2: old-format logs, 6: new-format logs) a transaction log, never a hive.
pub fn hive_kind(prefix: &[u8]) -> Kind {
    match prefix.get(28..32) {
        Some([0, 0, 0, 0]) | None => Kind::RegHive,
        Some(_) => Kind::RegHiveLog,
    }
}

/// Detects the kind from the first decoded text of a file (a few hundred lines suffice).
pub fn detect_text(sample: &str) -> Kind {
    if crate::formats::collector_manifest::looks_like_manifest(sample) {
        return Kind::CollectorManifest;
    }
    let mut score_export = 0;
    let mut score_compare = 0;
    let mut score_query = 0;
    let mut score_netsh = 0;
    let mut score_log = 0;
    let mut probe = false;
    let mut mdi_proxy = 0;
    let mut mde = 0;
    let mut api_test_command = false;
    let mut lone_boolean = false;
    let mut config_report = false;
    let mut fragment_hits = 0;
    let mut prompt_kinds: Vec<Kind> = Vec::new();
    let mut first_meaningful: Option<&str> = None;
    let trimmed_start = sample.trim_start_matches('\u{feff}');
    let json_like = trimmed_start.trim_start().starts_with('{');
    // One lowercase buffer for the whole sample: no allocation per line.
    let mut lower = String::with_capacity(512);
    for (_, raw) in text::lines(trimmed_start).take(400) {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if first_meaningful.is_none() {
            first_meaningful = Some(line);
            // regedit allows blanks before the header; look-alikes still make it an export.
            if line.starts_with("REGEDIT") || line.starts_with("Windows Registry Editor") {
                return Kind::RegExport;
            }
        }
        lower.clear();
        lower.push_str(line);
        lower.make_ascii_lowercase();
        let all_signals = line_signals(lower.as_bytes());
        let signals = (all_signals & 0xFF) as u8;
        if let Some(cmd) = prompt_command(raw) {
            if let Some(k) = command_kind(cmd) {
                if !prompt_kinds.contains(&k) {
                    prompt_kinds.push(k);
                }
            }
        }
        if all_signals & SIG_API_TEST != 0 {
            api_test_command = true;
        }
        if lower == "true" || lower == "false" {
            lone_boolean = true;
        }
        if lower.starts_with("isauthenticationproxyenabled") && line.contains(':') {
            mdi_proxy += 5;
        } else if (lower.starts_with("isproxyenabled")
            || lower.starts_with("encrypteduserpassworddata"))
            && line.contains(" : ")
        {
            mdi_proxy += 2;
        }
        if lower.starts_with("testing url :")
            || is_mde_method_line(&lower)
            || (all_signals & SIG_PROXY_SETTINGS != 0 && line.starts_with("####"))
        {
            mde += 5;
        }
        if all_signals & SIG_CONFIG_REPORT != 0 {
            config_report = true;
        }
        if all_signals & SIG_FRAGMENT != 0 {
            fragment_hits += 1;
        }
        if is_winhttp_header(line) {
            score_netsh += 5;
        }
        if line.starts_with('[')
            && line.contains(']')
            && upper_starts_with_hkey(line.get(1..).unwrap_or(""))
        {
            score_export += 3;
        } else if (line.starts_with('"') || line.starts_with('@'))
            && (line.contains("\"=") || line.starts_with("@="))
        {
            score_export += 1;
        }
        if line.starts_with("< Value:")
            || line.starts_with("> Value:")
            || line.starts_with("= Value:")
            || line.starts_with("< Key:")
            || line.starts_with("> Key:")
            || line.starts_with("= Key:")
        {
            score_compare += 5;
        }
        if signals & SIG_COMPARE_COMMAND != 0 {
            score_compare += 4;
        }
        if lower.starts_with("result compared")
            || lower.starts_with("ergebnis verglichen")
            || lower.starts_with("résultat comparé")
            || lower.starts_with("resultado comparado")
        {
            score_compare += 5;
        }
        if signals & SIG_NOT_FOUND != 0 {
            score_compare += 2;
        }
        if signals & SIG_QUERY_COMMAND != 0 {
            score_query += 4;
        }
        if raw.starts_with("    ") && line.contains("    REG_") || line.contains("\tREG_") {
            score_query += 3;
        }
        if lower.starts_with("end of search:") {
            score_query += 3;
        }
        if signals & SIG_POWERSHELL != 0
            || (lower.starts_with("defaultconnectionsettings") && line.contains(':'))
            || lower.starts_with("pspath ")
            || is_ps_byte_list(line)
        {
            score_query += 3;
        }
        if signals & SIG_NETSH != 0 || lower.starts_with("proxy server(s)") {
            score_netsh += 5;
        }
        if looks_like_log_line(line) {
            score_log += 2;
        }
        if signals & SIG_PROBE != 0 {
            probe = true;
        }
    }
    let json_start = trimmed_start.trim_start();
    if (json_like || json_start.starts_with('[')) && looks_like_mdi_readiness(sample) {
        return Kind::MdiReadiness;
    }
    if json_start.starts_with('[') && looks_like_config_report_json(sample) || config_report {
        return Kind::MdiConfigReport;
    }
    // Test-MdiReadiness's HTML report links every check to aka.ms/mdi/<Name>.
    if json_start.starts_with('<') && sample.contains("aka.ms/mdi/") {
        return Kind::MdiReadiness;
    }
    if json_like && looks_like_sensor_config(sample) {
        return Kind::SensorConfig;
    }
    if prompt_kinds.len() >= 2 {
        return Kind::ConsoleSession;
    }
    if mde >= 5 {
        return Kind::MdeAnalyzer;
    }
    if mdi_proxy >= 5 {
        return Kind::MdiProxyConfig;
    }
    if api_test_command && lone_boolean {
        return Kind::MdiApiTest;
    }
    let best_other = score_compare
        .max(score_query)
        .max(score_export)
        .max(score_netsh)
        .max(score_log);
    if looks_like_pac(trimmed_start, first_meaningful.unwrap_or(""), best_other) {
        return Kind::PacScript;
    }
    let best = [
        (score_compare, Kind::RegCompare),
        (score_query, Kind::RegQuery),
        (score_export, Kind::RegExport),
        (score_netsh, Kind::NetshWinhttp),
        (score_log, Kind::SensorLog),
    ]
    .into_iter()
    .max_by_key(|(s, _)| *s);
    match best {
        Some((s, k)) if s >= 2 => k,
        // One typed command whose output nothing else recognised: the command says the kind.
        _ if prompt_kinds.len() == 1 => prompt_kinds.first().copied().unwrap_or(Kind::Unknown),
        _ if probe => Kind::ProbeCapture,
        // Log lines pasted into a ticket without their timestamps.
        _ if fragment_hits > 0 => Kind::SensorLog,
        _ => Kind::Unknown,
    }
}

/// Messages of sensor, updater and deployment logs that identify a pasted fragment even
/// without the line's timestamp (lowercased). Sources: the MDI known-issues page (proxy
/// authentication as licensing error, connection errors) and .NET's WebException texts.
const FRAGMENT_SIGNATURES: [&str; 8] = [
    "licenseinvalid",
    "(407) proxy authentication required",
    "unable to connect to the remote server",
    "applyinternal failed two way ssl connection",
    "validatecreatesensorasync",
    "the remote name could not be resolved",
    "could not establish trust relationship for the ssl/tls",
    "communicationwebclient",
];

/// A console prompt and the command typed after it: `C:\Windows\system32>reg query …`,
/// `PS C:\> netsh …`, `PS HKCU:\> …`, or a bare `PS> …`. `None` when the line is no prompt.
pub fn prompt_command(line: &str) -> Option<&str> {
    let s = line.trim_start_matches('\u{feff}').trim_start();
    if let Some(rest) = s.strip_prefix("PS>") {
        return Some(rest.trim());
    }
    let s = s.strip_prefix("PS ").unwrap_or(s);
    // The drive: one to eight letters or digits, then `:\` (only the head of the line is
    // examined, not the whole, possibly long, line).
    let colon = s.bytes().position(|c| !c.is_ascii_alphanumeric())?;
    if colon == 0 || colon > 8 || s.as_bytes().get(colon..colon + 2) != Some(b":\\".as_slice()) {
        return None;
    }
    let gt = s.find('>')?;
    let path = s.get(..gt)?;
    if gt < colon || path.contains('"') || path.contains('|') || path.contains('<') {
        return None;
    }
    Some(s.get(gt + 1..)?.trim())
}

/// The kind of output a typed command prints, for the commands customers run for us.
pub fn command_kind(command: &str) -> Option<Kind> {
    let lower = command.to_ascii_lowercase();
    let has = |p: &str| lower.contains(p);
    if has("reg compare") || has("reg.exe compare") {
        Some(Kind::RegCompare)
    } else if has("reg query") || has("reg.exe query") || has("get-itemproperty") {
        Some(Kind::RegQuery)
    } else if has("netsh") && has("winhttp") || has("get-winhttpproxy") {
        Some(Kind::NetshWinhttp)
    } else if has("get-mdisensorproxyconfiguration") {
        Some(Kind::MdiProxyConfig)
    } else if has("test-mdisensorapiconnection") {
        Some(Kind::MdiApiTest)
    } else if has("new-mdiconfigurationreport") {
        Some(Kind::MdiConfigReport)
    } else if has("invoke-webrequest")
        || has("invoke-restmethod")
        || lower.starts_with("iwr ")
        || lower.starts_with("curl")
        || has("curl.exe")
    {
        Some(Kind::ProbeCapture)
    } else if (has("get-content")
        || lower.starts_with("type ")
        || has("select-string")
        || has("findstr"))
        && has(".log")
    {
        Some(Kind::SensorLog)
    } else {
        None
    }
}

/// A header line of `netsh winhttp show proxy` in any language: WinHTTP stays untranslated
/// and the header ends with a colon (`Current WinHTTP proxy settings:`, `当前的 WinHTTP 代理服务器设置:`).
pub fn is_winhttp_header(line: &str) -> bool {
    let t = line.trim();
    (t.ends_with(':') || t.ends_with('：'))
        && t.chars().count() <= 80
        && t.to_ascii_lowercase().contains("winhttp")
        && !t.contains('\\')
        && !t.contains('=')
        && !t.contains('>')
}

/// `1 - Default proxy: Succeeded (200)` and the other numbered MDE analyzer method lines.
fn is_mde_method_line(lower: &str) -> bool {
    let rest = lower.trim_start();
    let rest = rest
        .strip_prefix(|c: char| c.is_ascii_digit())
        .unwrap_or("");
    let rest = rest.strip_prefix(".1").unwrap_or(rest);
    rest.starts_with(" - default proxy")
        || rest.starts_with(" - proxy auto discovery")
        || rest.starts_with(" - proxy disabled")
        || rest.starts_with(" - named proxy")
        || rest.starts_with(" - command line proxy")
}

/// `Test-MdiReadiness.ps1` JSON: domain controllers with their root certificate checks.
fn looks_like_mdi_readiness(sample: &str) -> bool {
    sample.contains("\"DomainControllers\"")
        && (sample.contains("\"RootCertificates\"") || sample.contains("\"SensorVersion\""))
}

/// `New-MDIConfigurationReport` JSON: an array of `Configuration`/`Mode`/`Status` items.
fn looks_like_config_report_json(sample: &str) -> bool {
    sample.contains("\"Configuration\"")
        && sample.contains("\"Mode\"")
        && sample.contains("\"Status\"")
}

/// A PAC script: it declares `FindProxyForURL`/`FindProxyForURLEx` and nothing marks it as
/// another kind, or (a large script whose function comes after the sample) it starts like
/// JavaScript and uses PAC helpers or result strings.
fn looks_like_pac(sample: &str, first_line: &str, best_other_score: u32) -> bool {
    let js_start = [
        "function",
        "//",
        "/*",
        "var ",
        "let ",
        "const ",
        "'use strict'",
        "\"use strict\"",
    ]
    .iter()
    .any(|p| first_line.starts_with(p))
        || first_line.starts_with("FindProxyForURL");
    let declares = PAC_DECLARATION.find(sample.as_bytes()).is_some() || assigns_entry_point(sample);
    if declares && (js_start || best_other_score < 4) {
        return true;
    }
    js_start
        && (PAC_RESULTS.iter().any(|h| sample.contains(h))
            || PAC_HELPERS.iter().filter(|h| sample.contains(*h)).count() >= 2)
}

/// `function FindProxyForURL` (the Ex name shares the prefix).
static PAC_DECLARATION: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"function FindProxyForURL"));
/// `FindProxyForURL = function` / `FindProxyForURLEx=function`.
fn assigns_entry_point(sample: &str) -> bool {
    static NAME: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"FindProxyForURL"));
    NAME.find_iter(sample.as_bytes()).any(|i| {
        let rest = sample.get(i + NAME.needle().len()..).unwrap_or("");
        let rest = rest.strip_prefix("Ex").unwrap_or(rest).trim_start();
        rest.strip_prefix('=')
            .is_some_and(|r| r.trim_start().starts_with("function"))
    })
}

/// PAC helper calls; two of them in a JavaScript file make a PAC script.
const PAC_HELPERS: [&str; 6] = [
    "shExpMatch(",
    "dnsDomainIs(",
    "isInNet(",
    "isPlainHostName(",
    "myIpAddress(",
    "dnsResolve(",
];
/// The start of a PAC result string literal; one in a JavaScript file makes a PAC script.
const PAC_RESULTS: [&str; 6] = [
    "\"PROXY ", "'PROXY ", "\"DIRECT", "'DIRECT", "\"SOCKS", "'SOCKS",
];

/// SensorConfiguration.json (or `Get-MDISensorProxyConfiguration | ConvertTo-Json`): one of
/// its characteristic keys, in any casing.
fn looks_like_sensor_config(sample: &str) -> bool {
    let lower = sample.to_ascii_lowercase();
    [
        "\"sensorproxyconfiguration\"",
        "sensorapiwebclientconfiguration",
        "sensorapiendpoint",
        "\"secretmanagerconfigurationcertificatethumbprint\"",
        "\"isproxyenabled\"",
    ]
    .iter()
    .any(|k| lower.contains(k))
}

/// A PowerShell byte-array cell: `{70, 0, 0, 0...}` (5.1) or `{70, 0, 0, 0…}` (7).
fn is_ps_byte_list(line: &str) -> bool {
    // The cell ends the line: most lines fail here, before the search for ` : `.
    if !line.trim_end().ends_with('}') {
        return false;
    }
    let cell = line.rsplit(" : ").next().unwrap_or(line).trim();
    cell.starts_with('{')
        && cell.ends_with('}')
        && cell
            .get(1..2)
            .is_some_and(|c| c.bytes().all(|b| b.is_ascii_digit()))
        && cell.contains(',')
}

fn upper_starts_with_hkey(s: &str) -> bool {
    let s = s.trim_start_matches('-');
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("HKEY"))
        || s.get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("HKLM") || p.eq_ignore_ascii_case("HKCU"))
        || s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("HKU\\"))
}

const SIG_COMPARE_COMMAND: u8 = 1;
const SIG_QUERY_COMMAND: u8 = 2;
const SIG_NOT_FOUND: u8 = 4;
const SIG_POWERSHELL: u8 = 8;
const SIG_NETSH: u8 = 16;
const SIG_PROBE: u8 = 32;
/// Needles of `detect_text` itself (not hints of one kind).
const SIG_API_TEST: u16 = 64;
const SIG_PROXY_SETTINGS: u16 = 128;
const SIG_CONFIG_REPORT: u16 = 256;
const SIG_FRAGMENT: u16 = 512;

/// Substrings (of an ASCII-lowercased line) that hint at a kind, with the signal each gives.
const SIGNATURES: [(&str, u8); 18] = [
    ("reg compare", SIG_COMPARE_COMMAND),
    ("reg.exe compare", SIG_COMPARE_COMMAND),
    ("reg query", SIG_QUERY_COMMAND),
    ("reg.exe query", SIG_QUERY_COMMAND),
    (
        "unable to find the specified registry key or value",
        SIG_NOT_FOUND,
    ),
    (
        "registrierungsschlüssel bzw. wert wurde nicht gefunden",
        SIG_NOT_FOUND,
    ),
    ("trouvé la clé ou la valeur de registre", SIG_NOT_FOUND),
    (
        "no pudo encontrar la clave o el valor del registro",
        SIG_NOT_FOUND,
    ),
    (
        "指定されたレジストリ キーまたは値が見つかりませんでした",
        SIG_NOT_FOUND,
    ),
    ("get-itemproperty", SIG_POWERSHELL),
    ("winhttp proxy settings", SIG_NETSH),
    ("direct access (no proxy server)", SIG_NETSH),
    ("winhttp advanced proxy settings", SIG_NETSH),
    ("error writing proxy settings", SIG_NETSH),
    ("netsh winhttp", SIG_NETSH),
    ("(503) server unavailable", SIG_PROBE),
    ("503 (service unavailable)", SIG_PROBE),
    ("http error 503", SIG_PROBE),
];

/// Every needle of the per-line search with its signal bit.
fn needles() -> impl Iterator<Item = (&'static str, u16)> {
    SIGNATURES
        .iter()
        .map(|(p, sig)| (*p, u16::from(*sig)))
        .chain([
            ("invoke-webrequest", u16::from(SIG_PROBE)),
            ("test-mdisensorapiconnection", SIG_API_TEST),
            ("proxy settings", SIG_PROXY_SETTINGS),
            ("set-mdiconfiguration -mode", SIG_CONFIG_REPORT),
            ("mdi-configuration-report-", SIG_CONFIG_REPORT),
        ])
        .chain(FRAGMENT_SIGNATURES.iter().map(|f| (*f, SIG_FRAGMENT)))
}

/// One automaton for all needles, built once: a line is searched once, not once per needle
/// (the per-needle search dominated the cost of detecting ten thousand small uploads).
static NEEDLES: std::sync::LazyLock<Option<Needles>> = std::sync::LazyLock::new(|| {
    let (patterns, bits): (Vec<&str>, Vec<u16>) = needles().unzip();
    let hex_suffix = patterns
        .iter()
        .map(|p| match p.bytes().rposition(|b| !b.is_ascii_hexdigit()) {
            Some(last_other) => p.len() - last_other - 1,
            // A needle of hex digits alone could match anywhere in a run of them.
            None => usize::MAX,
        })
        .max()
        .unwrap_or(0);
    aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::Standard)
        .build(patterns)
        .ok()
        .map(|ac| Needles {
            ac,
            bits,
            hex_suffix,
        })
});

/// The signature automaton, the signal of each needle, and the longest run of hex digits
/// any needle ends with.
struct Needles {
    ac: aho_corasick::AhoCorasick,
    bits: Vec<u16>,
    hex_suffix: usize,
}

/// The part of a lowercased line a needle can occur in: a line that ends in a run of hex
/// digits (a printed value) is searched only `hex_suffix` bytes into that run, since a
/// needle reaching further would end with a longer run of hex digits than any needle has.
fn searchable(lower: &[u8], hex_suffix: usize) -> &[u8] {
    let run = lower
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    let end = (lower.len() - run).saturating_add(hex_suffix);
    lower.get(..end).unwrap_or(lower)
}

/// Builds the detection automaton now (see [`crate::pipeline::warm_up`]).
pub fn warm_up() {
    std::sync::LazyLock::force(&NEEDLES);
}

/// Every signal whose needle occurs in the (lowercased) line.
fn line_signals(lower: &[u8]) -> u16 {
    match &*NEEDLES {
        Some(n) => {
            n.ac.find_overlapping_iter(searchable(lower, n.hex_suffix))
                .filter_map(|m| n.bits.get(m.pattern().as_usize()))
                .fold(0, |acc, b| acc | b)
        }
        // The automaton of fixed needles always builds; without it, search needle by needle.
        None => needles()
            .filter(|(n, _)| memchr::memmem::find(lower, n.as_bytes()).is_some())
            .fold(0, |acc, (_, b)| acc | b),
    }
}

/// Every kind hint whose signature occurs in the (lowercased) line.
fn signals_in(lower: &[u8]) -> u8 {
    (line_signals(lower) & 0xFF) as u8
}

/// True when an (ASCII-lowercased) text holds a localized "unable to find the specified
/// registry key or value" message.
pub fn mentions_not_found(lower: &str) -> bool {
    signals_in(lower.as_bytes()) & SIG_NOT_FOUND != 0
}

/// A sensor, updater or installer log line: runtime `2024-03-06 11:42:39.6370 Error Logger ...`,
/// ATA `2020-07-29 08:58:43.8995 6584 18  Debug [Logger] ...`, or a WiX Burn line
/// `[0A1C:0B2D][2024-03-06T11:42:39]i000: ...`.
fn looks_like_log_line(line: &str) -> bool {
    let b = line.as_bytes();
    if text::starts_with_datetime(b) {
        return true;
    }
    // Burn: [hex:hex][YYYY-MM-DDTHH:MM:SS]x000:
    let Some(rest) = b.strip_prefix(b"[") else {
        return false;
    };
    let Some(close) = rest.iter().take(24).position(|c| *c == b']') else {
        return false;
    };
    let ids = rest.get(..close).unwrap_or(&[]);
    let ids_ok = ids.contains(&b':')
        && ids.iter().all(|c| c.is_ascii_hexdigit() || *c == b':')
        && ids.len() >= 3;
    ids_ok
        && rest.get(close + 1) == Some(&b'[')
        && rest
            .get(close + 2..)
            .is_some_and(text::starts_with_datetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_tail_is_searched_only_as_far_as_a_needle_can_reach_into_it() {
        let Some(n) = &*NEEDLES else {
            panic!("the needles build")
        };
        assert!(n.hex_suffix < 8, "no needle ends in a long hex run");
        let every = |hay: &[u8]| -> u16 {
            needles()
                .filter(|(p, _)| memchr::memmem::find(hay, p.as_bytes()).is_some())
                .fold(0, |acc, (_, b)| acc | b)
        };
        let value = "4600000002000000030000001700000070726f7879";
        let mut lines: Vec<String> = needles()
            .flat_map(|(p, _)| {
                [
                    format!("    x    reg_binary    {p}{value}"),
                    format!("< value: hklm\\x  y reg_binary {value}{p}"),
                    p.to_string(),
                    format!("0a{p}"),
                ]
            })
            .collect();
        lines.push(format!("c:\\>reg query hku  {value}"));
        lines.push(value.to_string());
        for line in &lines {
            assert_eq!(
                line_signals(line.as_bytes()),
                every(line.as_bytes()),
                "{line}"
            );
        }
    }

    #[test]
    fn prompts_and_their_commands() {
        assert_eq!(
            prompt_command("C:\\Windows\\system32>reg query HKU"),
            Some("reg query HKU")
        );
        assert_eq!(
            prompt_command("\u{feff}PS C:\\Users\\me> netsh winhttp show proxy"),
            Some("netsh winhttp show proxy")
        );
        assert_eq!(prompt_command("PS HKCU:\\> dir"), Some("dir"));
        assert_eq!(prompt_command("PS> whoami"), Some("whoami"));
        assert_eq!(prompt_command("HKEY_USERS\\S-1-5-18\\Software"), None);
        assert_eq!(
            prompt_command("    Proxy Server(s) :  http=proxy:8080"),
            None
        );
        assert_eq!(prompt_command("https://host/path>x"), None);
        assert_eq!(
            command_kind("netsh winhttp show proxy"),
            Some(Kind::NetshWinhttp)
        );
        assert_eq!(
            command_kind("curl.exe -i https://x"),
            Some(Kind::ProbeCapture)
        );
        assert_eq!(
            command_kind("Get-MDISensorProxyConfiguration"),
            Some(Kind::MdiProxyConfig)
        );
        assert_eq!(command_kind("echo %errorlevel%"), None);
    }

    #[test]
    fn several_kinds_of_commands_make_a_console_session() {
        let s = "C:\\>reg query HKCU\\x\n\nHKEY_CURRENT_USER\\x\n    A    REG_SZ    b\n\nC:\\>netsh winhttp show proxy\n\nCurrent WinHTTP proxy settings:\n\n    Direct access (no proxy server).\n";
        assert_eq!(detect_text(s), Kind::ConsoleSession);
        // One command (and an echo) stays its own kind.
        let one = "C:\\>netsh winhttp show proxy\n\nCurrent WinHTTP proxy settings:\n\n    Direct access (no proxy server).\nC:\\>echo %errorlevel%\n0\n";
        assert_eq!(detect_text(one), Kind::NetshWinhttp);
    }

    #[test]
    fn tool_outputs_and_fragments() {
        assert_eq!(detect_text("IsProxyEnabled               : True\nIsAuthenticationProxyEnabled : False\nUrl                          : http://p:8080\n"), Kind::MdiProxyConfig);
        assert_eq!(
            detect_text("PS C:\\> Test-MDISensorApiConnection\nTrue\n"),
            Kind::MdiApiTest
        );
        assert_eq!(
            detect_text("Testing URL : https://x/y\n1 - Default proxy: Succeeded (200)\n"),
            Kind::MdeAnalyzer
        );
        assert_eq!(
            detect_text("{\"Domain\":\"c\",\"DomainControllers\":[{\"RootCertificates\":true}]}"),
            Kind::MdiReadiness
        );
        assert_eq!(
            detect_text(
                "[{\"Configuration\":\"NTLMAuditing\",\"Mode\":\"Domain\",\"Status\":true}]"
            ),
            Kind::MdiConfigReport
        );
        assert_eq!(
            detect_text(
                "ValidateCreateSensorAsync returned [validateCreateSensorResult=LicenseInvalid]]\n"
            ),
            Kind::SensorLog
        );
        // A probe answer stays a probe answer.
        assert_eq!(
            detect_text("Invoke-WebRequest : Unable to connect to the remote server\n"),
            Kind::ProbeCapture
        );
        assert!(is_winhttp_header("当前的 WinHTTP 代理服务器设置:"));
        assert!(!is_winhttp_header("C:\\>netsh winhttp show proxy:"));
    }

    #[test]
    fn reg_export_by_header_even_with_leading_blanks() {
        assert_eq!(
            detect_text("  Windows Registry Editor Version 5.00\r\n"),
            Kind::RegExport
        );
        assert_eq!(
            detect_text("REGEDIT4\n[HKEY_CURRENT_USER\\x]\n"),
            Kind::RegExport
        );
        assert_eq!(detect_text("REGEDIT 4\n"), Kind::RegExport);
    }

    #[test]
    fn headerless_reg_export() {
        let s = "[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]\n\"ProxyEnable\"=dword:00000000\n";
        assert_eq!(detect_text(s), Kind::RegExport);
    }

    #[test]
    fn reg_compare_shapes() {
        let s = "< Value: HKEY_CURRENT_USER\\X  DefaultConnectionSettings REG_BINARY 4600\n\nResult Compared:  Different\nThe operation completed successfully.\n";
        assert_eq!(detect_text(s), Kind::RegCompare);
        assert_eq!(
            detect_text(
                "ERROR: The system was unable to find the specified registry key or value.\r\n"
            ),
            Kind::RegCompare
        );
    }

    #[test]
    fn reg_query_netsh_log_config() {
        let q = "\r\nHKEY_CURRENT_USER\\Software\\X\r\n    DefaultConnectionSettings    REG_BINARY    4600\r\n";
        assert_eq!(detect_text(q), Kind::RegQuery);
        let n =
            "\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n";
        assert_eq!(detect_text(n), Kind::NetshWinhttp);
        let l = "2024-03-06 11:42:39.6370 Error CommunicationWebClient Microsoft.Tri.Common...\n";
        assert_eq!(detect_text(l), Kind::SensorLog);
        let c = "{\"SensorProxyConfiguration\":{\"Url\":\"http://proxy:8080\"}}";
        assert_eq!(detect_text(c), Kind::SensorConfig);
        let c2 = "\u{feff}{\"WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint\":{\"Address\":\"x\",\"Port\":443},\"SensorProxyConfiguration\":null}";
        assert_eq!(detect_text(c2), Kind::SensorConfig);
        let ata = "2020-07-29 08:58:43.8995 6584 18  Debug [DirectoryServicesResolver] x\n";
        assert_eq!(detect_text(ata), Kind::SensorLog);
        let burn = "[1C60:1AA8][2018-03-24T23:59:13]i001: Burn v3.10.3.3007, Windows v10.0\n[1C60:1AA8][2018-03-24T23:59:13]i000: Initializing string variable\n";
        assert_eq!(detect_text(burn), Kind::SensorLog);
        // A bracketed line that is not a Burn prefix is not a log line.
        assert!(!looks_like_log_line("[HKEY_CURRENT_USER\\x]"));
        assert!(!looks_like_log_line("[general] w=1"));
        let ps =
            "\r\nDefaultConnectionSettings\r\n-------------------------\r\n{70, 0, 0, 0...}\r\n";
        assert_eq!(detect_text(ps), Kind::RegQuery);
        assert_eq!(detect_text("Hi, please see attached.\n"), Kind::Unknown);
    }

    #[test]
    fn collector_manifest_before_content_sniffing() {
        // Its commands say "reg compare" and "reg query", which alone would make it a capture.
        let m = "{\r\n  \"collector\": \"proxy-triage collect-script\",\r\n  \"items\": [\r\n {\"file\": \"reg-compare-hkcu-s-1-5-19.txt\", \"command\": \"reg compare \\\"HKCU\\\\x\\\" \\\"HKU\\\\S-1-5-19\\\\x\\\" /v DefaultConnectionSettings\"}\r\n,{\"file\": \"q.txt\", \"command\": \"reg query HKU\"}\r\n  ]\r\n}\r\n";
        assert_eq!(detect_text(m), Kind::CollectorManifest);
        assert!(mentions_not_found(
            "error: the system was unable to find the specified registry key or value."
        ));
    }

    #[test]
    fn pac_scripts() {
        let wpad = "\u{feff}function FindProxyForURL(url, host) {\r\n  return \"DIRECT\";\r\n}\r\n";
        assert_eq!(detect_text(wpad), Kind::PacScript);
        let commented = "/* corp PAC, 2024-03-06 11:42:39 */\n// owner: netops\nfunction FindProxyForURLEx(url, host) { return \"PROXY p:8080\"; }\n";
        assert_eq!(detect_text(commented), Kind::PacScript);
        let assigned = "FindProxyForURL = function(url, host) { return 'DIRECT'; };";
        assert_eq!(detect_text(assigned), Kind::PacScript);
        // A big script whose function comes after the sniffed prefix.
        let big = "var proxy = \"PROXY p:3128; DIRECT\";\nvar domains = {\n  \"example.com\": 1,\n";
        assert_eq!(detect_text(big), Kind::PacScript);
        // JavaScript that is not a PAC script.
        assert_eq!(
            detect_text("var x = 1;\nfunction f() { return x; }\n"),
            Kind::Unknown
        );
    }

    #[test]
    fn other_kinds_mentioning_pac_stay_what_they_are() {
        let reg = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"Note\"=\"function FindProxyForURL(url, host)\"\r\n";
        assert_eq!(detect_text(reg), Kind::RegExport);
        let log = "2024-03-06 11:42:39.6370 Error WebProxy function FindProxyForURL(url, host) failed\n2024-03-06 11:42:40.6370 Error WebProxy retry\n";
        assert_eq!(detect_text(log), Kind::SensorLog);
        let q = "\r\nHKEY_CURRENT_USER\\Software\\X\r\n    AutoConfigURL    REG_SZ    http://wpad/wpad.dat\r\n";
        assert_eq!(detect_text(q), Kind::RegQuery);
    }
}
