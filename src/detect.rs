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
    /// A proxy auto-config script (`proxy.pac`, `wpad.dat`).
    PacScript,
    Hive,
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
            Kind::PacScript => "pac-script",
            Kind::Hive => "hive",
            Kind::Unknown => "unknown",
        }
    }
}

/// Binary registry hive (`regf` signature).
pub fn is_hive(prefix: &[u8]) -> bool {
    prefix.starts_with(b"regf")
}

/// Detects the kind from the first decoded text of a file (a few hundred lines suffice).
pub fn detect_text(sample: &str) -> Kind {
    let mut score_export = 0;
    let mut score_compare = 0;
    let mut score_query = 0;
    let mut score_netsh = 0;
    let mut score_log = 0;
    let mut probe = false;
    let mut first_meaningful: Option<&str> = None;
    let trimmed_start = sample.trim_start_matches('\u{feff}');
    let json_like = trimmed_start.trim_start().starts_with('{');
    // One lowercase buffer for the whole sample: no allocation per line.
    let mut lower = String::new();
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
        let signals = signals_in(lower.as_bytes());
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
    if json_like && looks_like_sensor_config(sample) {
        return Kind::SensorConfig;
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
        _ if probe => Kind::ProbeCapture,
        _ => Kind::Unknown,
    }
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
    sample.match_indices("FindProxyForURL").any(|(i, m)| {
        let rest = sample.get(i + m.len()..).unwrap_or("");
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

/// Searchers built once (building one per call dominated detection time).
static FINDERS: std::sync::LazyLock<Vec<(memchr::memmem::Finder<'static>, u8)>> =
    std::sync::LazyLock::new(|| {
        SIGNATURES
            .iter()
            .chain([("invoke-webrequest", SIG_PROBE)].iter())
            .map(|(p, sig)| (memchr::memmem::Finder::new(p.as_bytes()), *sig))
            .collect()
    });

/// Every signal whose signature occurs in the (lowercased) line.
fn signals_in(lower: &[u8]) -> u8 {
    FINDERS
        .iter()
        .filter(|(f, _)| f.find(lower).is_some())
        .fold(0, |acc, (_, sig)| acc | sig)
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
