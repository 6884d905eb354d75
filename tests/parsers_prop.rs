//! Property tests over every parser and decoder not covered beside its code: arbitrary input
//! never panics, and a known-good input with one corrupted line keeps every value the
//! corruption did not touch.

use proptest::prelude::*;
use proxy_triage::artifact::{self, Scope};
use proxy_triage::formats::{
    console_session, mde_analyzer, mdi_tools, netsh, powershell, probe_capture, reg_compare,
    reg_export, reg_query, sensor_config,
};
use proxy_triage::proxy::{bypass::BypassList, route, server_list::ProxyServerList, ProxyValue};
use proxy_triage::text::{LegacyHint, TextReader};

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn text_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        let t = lossy(&bytes);
        let _ = netsh::parse(&t, "x.txt");
        let _ = probe_capture::parse(&t, "x.txt");
        let _ = reg_query::parse(&t, "x.txt");
        let _ = reg_compare::parse(&t, "x.txt");
        let _ = sensor_config::parse(&t, "SensorConfiguration.json");
        let _ = powershell::parse_byte_list(&t);
        let _ = BypassList::parse(&t);
        let _ = ProxyServerList::parse(&t);
        let _ = route::parse_url(&t);
        let _ = mdi_tools::parse_proxy_config(&t);
        let _ = mdi_tools::parse_api_test(&t);
        let _ = mdi_tools::parse_readiness(&t);
        let _ = mdi_tools::parse_config_report(&t);
        let _ = mde_analyzer::parse(&t);
        let (spans, _) = console_session::split(&t);
        for s in &spans {
            let _ = console_session::section_text(&t, s);
            let _ = console_session::section_kind(&t, s);
        }
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let v = ProxyValue::decode(&bytes, None);
        let _ = serde_json::to_string(&v);
        let v = ProxyValue::decode(&bytes, Some("WinHttpSettings"));
        let _ = serde_json::to_string(&v);
        let _ = v.effective();
    }

    #[test]
    fn every_kind_from_bytes_never_panics(
        prefix in prop::sample::select(vec![
            &b"Windows Registry Editor Version 5.00\r\n"[..],
            b"\xff\xfeW\0i\0n\0",
            b"HKEY_CURRENT_USER\\Software\\x\r\n",
            b"Current WinHTTP proxy settings:\r\n",
            b"{\"$type\":\"SensorConfiguration\",",
            b"2024-03-06 11:42:39.6370 Error ",
            b"Result Compared: Different\r\n",
            b"StatusCode        : 503\r\n",
            b"C:\\>reg query HKU\r\nHKEY_USERS\r\nPS C:\\> netsh winhttp show proxy\r\n",
            b"Testing URL : https://x\r\n1 - Default proxy: ",
            b"IsAuthenticationProxyEnabled : True\r\n",
            b"{\"DomainControllers\":[{\"RootCertificates\":",
            b"\xb5\xb1\xc7\xb0\xb5\xc4 WinHTTP \xb4\xfa\xc0\xed:\r\n",
            b"regf",
            b"",
        ]),
        bytes in proptest::collection::vec(any::<u8>(), 0..1500),
    ) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&bytes);
        let a = artifact::parse_bytes("x", &input, Scope::Full);
        let _ = serde_json::to_string(&a);
    }
}

// ---------------------------------------------------------------------------------------------
// Corruption keeps what it did not touch.

/// Junk that cannot start a key, continue a line, or open a string over the next line.
fn junk() -> impl Strategy<Value = String> {
    "[a-z0-9 ,:;=()#!*.-]{0,60}".prop_map(|s| s.trim_end_matches('\\').to_string())
}

/// Value lines that may be corrupted (three per key; the `@` lines stay).
const EXPORT_VALUES: usize = 9;

/// A three-key export with four values each; returns the text and each value's line.
fn export() -> (String, Vec<usize>) {
    let mut lines = vec![
        "Windows Registry Editor Version 5.00".to_string(),
        String::new(),
    ];
    let mut value_lines = Vec::new();
    for k in 0..3 {
        lines.push(format!("[HKEY_CURRENT_USER\\Software\\Test{k}]"));
        value_lines.push(lines.len());
        lines.push(format!("\"S{k}\"=\"text {k}\""));
        value_lines.push(lines.len());
        lines.push(format!("\"D{k}\"=dword:0000000{k}"));
        value_lines.push(lines.len());
        lines.push(format!("\"B{k}\"=hex:46,00,00,00,0{k}"));
        value_lines.push(lines.len());
        lines.push(format!("@=hex(2):41,00,0{k},00,00,00"));
        lines.push(String::new());
    }
    (lines.join("\r\n") + "\r\n", value_lines)
}

fn export_values(text: &str) -> Vec<(String, String, Option<Vec<u8>>, u64)> {
    let reader = TextReader::new(text.as_bytes(), LegacyHint::Guess).unwrap();
    let (e, _) = reg_export::parse(reader, &|_| true);
    e.keys
        .iter()
        .flat_map(|k| {
            k.values
                .iter()
                .map(move |v| (k.path.clone(), v.name.clone(), v.bytes.clone(), v.line))
        })
        .collect()
}

/// reg query output of two keys with three values each; returns the text and value lines.
fn query() -> (String, Vec<usize>) {
    let mut lines = vec![String::new()];
    let mut value_lines = Vec::new();
    for k in 0..2 {
        lines.push(format!("HKEY_CURRENT_USER\\Software\\Test{k}"));
        value_lines.push(lines.len());
        lines.push(format!("    S{k}    REG_SZ    text {k}"));
        value_lines.push(lines.len());
        lines.push(format!("    D{k}    REG_DWORD    0x{k}"));
        value_lines.push(lines.len());
        lines.push(format!("    B{k}    REG_BINARY    460000000{k}"));
        lines.push(String::new());
    }
    (lines.join("\r\n") + "\r\n", value_lines)
}

fn query_values(text: &str) -> Vec<serde_json::Value> {
    let (q, _) = reg_query::parse(text, "query.txt");
    let v = serde_json::to_value(&q.keys).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|k| {
            let path = k["path"].clone();
            k["values"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |mut val| {
                    val["key"] = path.clone();
                    val
                })
        })
        .collect()
}

fn replace_line(text: &str, index: usize, with: &str) -> String {
    let mut lines: Vec<&str> = text.split("\r\n").collect();
    lines[index] = with;
    lines.join("\r\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_corrupted_export_line_leaves_the_other_values_intact(
        which in 0..EXPORT_VALUES, bad in junk()
    ) {
        let (good, value_lines) = export();
        let before = export_values(&good);
        prop_assert_eq!(before.len(), 12);
        let line = value_lines[which];
        let after = export_values(&replace_line(&good, line, &bad));
        let untouched: Vec<_> = before.iter().filter(|v| v.3 != line as u64 + 1).cloned().collect();
        let kept: Vec<_> = after.iter().filter(|v| v.3 != line as u64 + 1).cloned().collect();
        prop_assert_eq!(kept, untouched);
    }

    #[test]
    fn a_corrupted_query_line_leaves_the_other_values_intact(
        which in 0..6usize, bad in junk()
    ) {
        let (good, value_lines) = query();
        let before = query_values(&good);
        prop_assert_eq!(before.len(), 6);
        let line = value_lines[which] as u64 + 1;
        let after = query_values(&replace_line(&good, value_lines[which], &bad));
        let untouched: Vec<_> = before.iter().filter(|v| v["line"] != line).cloned().collect();
        let kept: Vec<_> = after.iter().filter(|v| v["line"] != line).cloned().collect();
        prop_assert_eq!(kept, untouched);
    }

    #[test]
    fn a_corrupted_compare_line_leaves_the_other_entries_intact(
        which in 0..2usize, bad in junk()
    ) {
        let lines = [
            "C:\\>reg compare \"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" \"HKU\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" /v DefaultConnectionSettings",
            "",
            "< Value: HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections  DefaultConnectionSettings REG_BINARY 46000000030000000300000000",
            "> Value: HKEY_USERS\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections  DefaultConnectionSettings REG_BINARY 46000000090000000100000000",
            "Result Compared:  Different",
            "The operation completed successfully.",
            "",
        ];
        let good = lines.join("\r\n");
        let entries = |t: &str| {
            let (c, _) = reg_compare::parse(t, "compare.txt");
            // Every comparison's entries: a corrupted line may start a comparison of its own.
            let v = serde_json::to_value(&c).unwrap();
            let mut all: Vec<serde_json::Value> = v["entries"].as_array().cloned().unwrap_or_default();
            for cmp in v["comparisons"].as_array().cloned().unwrap_or_default() {
                for e in cmp["entries"].as_array().cloned().unwrap_or_default() {
                    if !all.contains(&e) {
                        all.push(e);
                    }
                }
            }
            all
        };
        let before = entries(&good);
        prop_assert_eq!(before.len(), 2);
        let target = 2 + which;
        let after = entries(&replace_line(&good, target, &bad));
        let other = &before[1 - which];
        prop_assert!(after.contains(other), "{:?} lost from {:?}", other, after);
    }
}
