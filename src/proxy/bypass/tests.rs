//! The bypass decision table: every row cites the rule (module doc of `bypass.rs`, notes
//! section d) that decides it.

use super::*;

const SENSOR: &str = "contoso-corpsensorapi.atp.azure.com";
const PROCESSOR: &str = "triprd1wcuse1sensorapi.eastus.cloudapp.azure.com";

/// (bypass list, scheme, host, port, entry expected to match (None = goes to the proxy), rule)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    u16,
    Option<&'static str>,
    &'static str,
);

const TABLE: &[Row] = &[
    // --- the sensor endpoint, https default port ---
    (
        "*.azure.com",
        "https",
        SENSOR,
        443,
        Some("*.azure.com"),
        "2: `*` covers `contoso-corpsensorapi.atp`",
    ),
    (
        "*.atp.azure.com",
        "https",
        SENSOR,
        443,
        Some("*.atp.azure.com"),
        "2: suffix wildcard",
    ),
    (
        "*azure.com",
        "https",
        SENSOR,
        443,
        Some("*azure.com"),
        "2: `*` anywhere",
    ),
    (
        "*azure.com",
        "https",
        "notazure.com",
        443,
        Some("*azure.com"),
        "2: `*azure.com` also matches notazure.com",
    ),
    (
        "https://*.atp.azure.com",
        "https",
        SENSOR,
        443,
        Some("https://*.atp.azure.com"),
        "3: the scheme part matches",
    ),
    (
        "http://*.atp.azure.com",
        "https",
        SENSOR,
        443,
        None,
        "3: the scheme differs",
    ),
    (
        "*.atp.azure.com:443",
        "https",
        SENSOR,
        443,
        None,
        "3: default port is left out of the match string",
    ),
    (
        "*.atp.azure.com:443",
        "https",
        SENSOR,
        8443,
        None,
        "3: explicit port must be equal",
    ),
    (
        "*.atp.azure.com:8443",
        "https",
        SENSOR,
        8443,
        Some("*.atp.azure.com:8443"),
        "3: non-default port is in the match string",
    ),
    (
        "*.atp.azure.com",
        "https",
        SENSOR,
        8443,
        Some("*.atp.azure.com"),
        "3: entry without port accepts any port",
    ),
    (
        "atp.azure.com",
        "https",
        SENSOR,
        443,
        None,
        "2: exact-host pattern, anchored",
    ),
    (
        "*.atp.azure.com",
        "https",
        "atp.azure.com",
        443,
        None,
        "2: `*.` needs a literal dot before `atp`",
    ),
    (
        ".azure.com",
        "https",
        SENSOR,
        443,
        None,
        "2: leading dot is literal (.NET)",
    ),
    (
        "*.cloudapp.azure.com",
        "https",
        SENSOR,
        443,
        None,
        "5: the URL host is ...atp.azure.com, no CNAME",
    ),
    (
        "<local>",
        "https",
        SENSOR,
        443,
        None,
        "1: <local> is names without a dot",
    ),
    (
        "10.*",
        "https",
        SENSOR,
        443,
        None,
        "2: IP wildcard only matches IP-literal hosts",
    ),
    (
        "10.0.0.0/8",
        "https",
        "10.1.2.3",
        443,
        None,
        "4: CIDR never matches",
    ),
    (
        "*",
        "https",
        SENSOR,
        443,
        Some("*"),
        "2: `*` bypasses everything",
    ),
    (
        "XYZ.ATP.AZURE.COM",
        "https",
        "xyz.atp.azure.com",
        443,
        Some("XYZ.ATP.AZURE.COM"),
        "2: case-insensitive",
    ),
    (
        "*.atp.azure.com",
        "https",
        "CONTOSO-CORPSENSORAPI.ATP.AZURE.COM",
        443,
        Some("*.atp.azure.com"),
        "2: case-insensitive host",
    ),
    (
        "*.atp.azure.com",
        "https",
        "contoso-corpsensorapi.atp.azure.com.",
        443,
        None,
        "5: trailing dot in the host is not folded",
    ),
    (
        "*.atp.azure.com.",
        "https",
        SENSOR,
        443,
        None,
        "2: trailing dot in the entry is literal",
    ),
    (
        "*.atp.azure.com*",
        "https",
        "contoso-corpsensorapi.atp.azure.com.",
        443,
        Some("*.atp.azure.com*"),
        "2: `*` at the end covers a trailing dot",
    ),
    (
        "contoso-corpsensorapi.atp.azure.co?",
        "https",
        SENSOR,
        443,
        Some("contoso-corpsensorapi.atp.azure.co?"),
        "2: `?` is one character",
    ),
    (
        "contoso-corpsensorapi.atp.azure.com?",
        "https",
        SENSOR,
        443,
        None,
        "2: `?` needs exactly one character",
    ),
    // --- the processor endpoint (only if a client uses that name) ---
    (
        "*.azure.com",
        "https",
        PROCESSOR,
        443,
        Some("*.azure.com"),
        "2: suffix wildcard",
    ),
    (
        "*.cloudapp.azure.com",
        "https",
        PROCESSOR,
        443,
        Some("*.cloudapp.azure.com"),
        "2: suffix wildcard",
    ),
    (
        "*azure.com",
        "https",
        PROCESSOR,
        443,
        Some("*azure.com"),
        "2: `*` anywhere",
    ),
    (
        "*.atp.azure.com",
        "https",
        PROCESSOR,
        443,
        None,
        "2: different suffix",
    ),
    // --- separators, <local>, loopback, IP literals ---
    (
        "localhost;*.contoso.com <local>",
        "https",
        "intranet",
        443,
        Some("<local>"),
        "1: <local> matches a dotless name",
    ),
    (
        "<LOCAL>",
        "http",
        "fileserver",
        80,
        Some("<LOCAL>"),
        "1: <local> is case-insensitive",
    ),
    (
        "<local>",
        "https",
        "10.1.2.3",
        443,
        None,
        "1: an IP has dots",
    ),
    (
        "<local>",
        "https",
        "[fe80::1]",
        443,
        None,
        "1: an IPv6 literal is not a name",
    ),
    (
        "",
        "https",
        "localhost",
        443,
        Some("(implicit loopback)"),
        "1: loopback is always bypassed",
    ),
    (
        "",
        "http",
        "127.0.0.1",
        8080,
        Some("(implicit loopback)"),
        "1: loopback is always bypassed",
    ),
    (
        "",
        "https",
        "[::1]",
        443,
        Some("(implicit loopback)"),
        "1: loopback is always bypassed",
    ),
    (
        "<-loopback>",
        "https",
        "localhost",
        443,
        None,
        "1: <-loopback> removes the implicit bypass",
    ),
    (
        "10.*;192.168.*.*",
        "https",
        "192.168.1.20",
        443,
        Some("192.168.*.*"),
        "2: IP wildcard against an IP-literal host",
    ),
    (
        "10.*",
        "https",
        "100.1.2.3",
        443,
        None,
        "2: literal dot after 10",
    ),
    (
        "a.com;  ;;b.com\t*.atp.azure.com",
        "https",
        SENSOR,
        443,
        Some("*.atp.azure.com"),
        "1: `;` and whitespace separate, empties dropped",
    ),
    (
        "*.cs.kadaster.nl, *.atp.azure.com,",
        "https",
        SENSOR,
        443,
        None,
        "1: `,` is not a separator: `*.atp.azure.com,` is literal",
    ),
    (
        "*.contoso.com",
        "https",
        "www.contoso.com",
        8443,
        Some("*.contoso.com"),
        "3: any port when the entry has none",
    ),
    (
        "*://*.atp.azure.com",
        "https",
        SENSOR,
        443,
        Some("*://*.atp.azure.com"),
        "3: wildcard scheme",
    ),
    (
        "https://*.atp.azure.com:8443",
        "https",
        SENSOR,
        8443,
        Some("https://*.atp.azure.com:8443"),
        "3: scheme and port",
    ),
    (
        "[::1]:8080",
        "http",
        "[::2]",
        8080,
        None,
        "4: unshaped entry is one literal pattern",
    ),
    (
        "www.example.com:80",
        "http",
        "www.example.com",
        80,
        None,
        "3: default port left out of the match string",
    ),
    (
        "www.example.com:80",
        "http",
        "www.example.com",
        8080,
        None,
        "3: explicit port must be equal",
    ),
];

#[test]
fn decision_table() {
    assert!(TABLE.len() >= 30);
    for (list, scheme, host, port, want, rule) in TABLE {
        let l = BypassList::parse(list);
        let got = l
            .matches_request(scheme, host, *port)
            .map(|e| e.raw.as_str());
        assert_eq!(
            got, *want,
            "list {list:?}, {scheme}://{host}:{port} (rule {rule})"
        );
    }
}

#[test]
fn matches_is_https() {
    let l = BypassList::parse("https://*.atp.azure.com");
    assert!(l.matches(SENSOR, 443).is_some());
    let l = BypassList::parse("http://*.atp.azure.com");
    assert!(l.matches(SENSOR, 443).is_none());
}

#[test]
fn problems_flagged() {
    let l = BypassList::parse("*.a.com, 10.0.0.0/8 .azure.com *.atp.azure.com:443 <local>");
    assert_eq!(l.problems.len(), 4, "{:?}", l.problems);
    assert!(l.bypasses_local());
    assert!(l.implicit_loopback());
    assert_eq!(l.entries.len(), 5);
    assert_eq!(l.entries[1].kind, BypassKind::Cidr);
}

#[test]
fn glob_basics() {
    assert!(glob(b"", b""));
    assert!(glob(b"*", b""));
    assert!(glob(b"a*b*c", b"axxbyyc"));
    assert!(!glob(b"a*b*c", b"axxbyy"));
    assert!(glob(b"**a", b"a"));
    assert!(!glob(b"?", b""));
}

#[test]
fn long_pathological_list_is_fast() {
    let list = "*a".repeat(2000);
    let l = BypassList::parse(&list);
    let host = "a".repeat(300) + "b";
    let t = std::time::Instant::now();
    assert!(l.matches(&host, 443).is_none());
    assert!(t.elapsed().as_secs() < 5);
}
