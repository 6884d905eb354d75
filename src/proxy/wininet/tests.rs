//! Vectors from `shared/notes/proxy-blobs.md` (real dumps and the note's constructed ones),
//! every flag combination, every malformed shape, and property tests.

use super::*;
use crate::proxy::hex::parse_hex;
use proptest::prelude::*;

fn bytes(h: &str) -> Vec<u8> {
    parse_hex(h).unwrap_or_else(|e| panic!("test vector: {e}"))
}

fn ascii_hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn json(s: &ConnectionSettings) -> serde_json::Value {
    serde_json::to_value(s).unwrap_or_default()
}

const ZERO32: &str = "00000000 00000000 0000000000000000 00000000 00000000 00000000 00000000";

/// Fresh Win10/IE11 user, nothing ticked (soapffz export; also "greenvpn").
#[test]
fn vector_fresh_user_56_bytes() {
    let b = bytes(&format!(
        "46000000 0a000000 01000000 00000000 00000000 00000000 {ZERO32}"
    ));
    assert_eq!(b.len(), 56);
    let s = ConnectionSettings::decode(&b);
    assert_eq!((s.version, s.counter, s.flags), (0x46, 0x0a, 0x01));
    assert!(s.direct() && !s.proxy_enabled() && !s.auto_config_url_enabled() && !s.auto_detect());
    let t = s.trailer.as_ref().unwrap_or_else(|| panic!("trailer"));
    assert_eq!(t.network_keys, Some(vec![]));
    assert_eq!(t.extra, Vec::<u8>::new());
    assert_eq!(s.error, None);
    assert_eq!(s.encode(), b);
    // A fresh blob from the constructor is this blob with counter 0.
    let mut fresh = ConnectionSettings::new(1, "", "", "");
    fresh.counter = 0x0a;
    assert_eq!(fresh.encode(), b);
    let j = json(&s);
    assert_eq!(j["value_kind"], "wininet");
    assert_eq!(j["length"], 56);
    assert_eq!(j["version"], 70);
    assert_eq!(j["counter"], 10);
    assert_eq!(j["flags"], 1);
    assert_eq!(j["direct"], true);
    assert_eq!(j["proxy_enabled"], false);
    assert_eq!(j["unknown_flag_bits"], 0);
    assert_eq!(j["proxy_server"], "");
    assert_eq!(j["trailer"]["autodiscovery_flags"], 0);
    assert_eq!(j["trailer"]["last_detect_time"], serde_json::Value::Null);
    assert_eq!(j["trailer"]["detected_ipv4"], serde_json::json!([]));
    assert_eq!(j["trailer"]["network_keys"], serde_json::json!([]));
    assert_eq!(j["trailer"]["extra_bytes"], 0);
    assert_eq!(j["error"], serde_json::Value::Null);
    assert_eq!(j["error_field"], serde_json::Value::Null);
    assert!(s.warnings().is_empty());
}

/// "Automatically detect settings" only (HKU\.DEFAULT SavedLegacySettings).
#[test]
fn vector_auto_detect_only() {
    let b = bytes(&format!(
        "46000000 0a000000 09000000 00000000 00000000 00000000 01000000 {}",
        "00".repeat(28)
    ));
    assert_eq!(b.len(), 56);
    let s = ConnectionSettings::decode(&b);
    assert_eq!(s.flags, 0x09);
    assert!(s.auto_detect() && s.direct());
    assert_eq!(s.trailer.as_ref().map(|t| t.autodiscovery_flags), Some(1));
    assert_eq!(json(&s)["trailer"]["autodiscovery_flags"], 1);
    assert_eq!(s.encode(), b);
}

/// Manual proxy + `<local>`, flags 0B (75 bytes).
#[test]
fn vector_manual_proxy_local() {
    let b = bytes(&format!(
        "46000000 51000000 0b000000 0c000000 {} 07000000 {} 00000000 {ZERO32}",
        ascii_hex("127.0.0.1:80"),
        ascii_hex("<local>")
    ));
    assert_eq!(b.len(), 75);
    let s = ConnectionSettings::decode(&b);
    assert_eq!(s.counter, 0x51);
    assert_eq!(s.proxy_server.latin1(), "127.0.0.1:80");
    assert_eq!(s.bypass_list.latin1(), "<local>");
    assert!(s.proxy_enabled() && s.auto_detect());
    assert_eq!(s.flags_in_words(), "direct, proxy, auto-detect");
    assert_eq!(s.encode(), b);
}

/// Proxy + PAC, flags 07 (103 bytes).
#[test]
fn vector_proxy_and_pac() {
    let b = bytes(&format!(
        "46000000 05000000 07000000 0e000000 {} 00000000 21000000 {} {ZERO32}",
        ascii_hex("192.168.1.1:80"),
        ascii_hex("http://xduotai.com/pRsO3NGR3-.pac")
    ));
    assert_eq!(b.len(), 103);
    let s = ConnectionSettings::decode(&b);
    assert!(s.proxy_enabled() && s.auto_config_url_enabled() && !s.auto_detect());
    assert_eq!(
        s.auto_config_url.latin1(),
        "http://xduotai.com/pRsO3NGR3-.pac"
    );
    assert_eq!(s.encode(), b);
}

/// IE6 (0x3C) with one detected IPv4 and a detection time (56 bytes, no key count).
#[test]
fn vector_ie6_0x3c() {
    let b = bytes(
        "3c000000 1e000000 01000000 00000000 00000000 00000000 01000000 00000000 \
         6079ba70e8cec401 01000000 c0a800bd 00000000 00000000",
    );
    assert_eq!(b.len(), 56);
    let s = ConnectionSettings::decode(&b);
    assert_eq!(s.version, VERSION_IE5);
    assert!(s.version_known());
    let t = s.trailer.as_ref().unwrap_or_else(|| panic!("trailer"));
    assert_eq!(t.autodiscovery_flags, 1);
    assert_eq!(t.detected_ipv4, vec![Ipv4Addr::new(192, 168, 0, 189)]);
    assert_eq!(t.network_keys, None);
    assert!(t.extra.is_empty());
    let j = json(&s);
    assert_eq!(
        j["trailer"]["detected_ipv4"],
        serde_json::json!(["192.168.0.189"])
    );
    assert!(j["trailer"]["last_detect_time"]
        .as_str()
        .is_some_and(|t| t.starts_with("2004-11-20T10:05:19")));
    assert_eq!(s.encode(), b);
}

/// Real: HugoCM/-autoProxy `DefaultConnectionSettings.reg` (corpus 004), proxy + bypass + PAC.
#[test]
fn vector_real_autoproxy_corpus_004() {
    let b = bytes(
        "hex:46,00,00,00,38,03,00,00,0b,00,00,00,16,00,00,00,70,72,6f,78,79,2e,65,63,2d,6c,69,6c,6c,65,2e,66,72,3a,33,31,32,38,11,00,00,00,31,32,37,2e,30,2e,30,2e,31,3b,3c,6c,6f,63,61,6c,3e,2d,00,00,00,68,74,74,70,3a,2f,2f,31,32,37,2e,30,2e,30,2e,31,3a,31,30,38,30,2f,70,61,63,3f,74,3d,32,30,31,37,30,39,30,36,31,39,35,34,31,38,33,35,33,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00",
    );
    let s = ConnectionSettings::decode(&b);
    assert_eq!(s.counter, 0x338);
    assert_eq!(s.flags, 0x0b);
    assert_eq!(s.proxy_server.latin1(), "proxy.ec-lille.fr:3128");
    assert_eq!(s.bypass_list.latin1(), "127.0.0.1;<local>");
    assert_eq!(
        s.auto_config_url.latin1(),
        "http://127.0.0.1:1080/pac?t=20170906195418353"
    );
    assert!(!s.auto_config_url_enabled(), "PAC stored but not ticked");
    assert_eq!(s.error, None);
    assert_eq!(s.trailer.as_ref().and_then(|t| t.error), None);
    assert_eq!(s.encode(), b);
}

/// Real: IP_Transformer script output cut after 9 bytes (corpus 003).
#[test]
fn vector_real_truncated_corpus_003() {
    let b = bytes("hex:46,00,00,00,00,00,00,00,01");
    let s = ConnectionSettings::decode(&b);
    assert_eq!(s.error, Some(BlobError::TruncatedHeader));
    assert_eq!(s.error_field, Some(Field::Flags));
    assert_eq!((s.version, s.counter), (0x46, 0));
    let j = json(&s);
    assert_eq!(j["error"], "truncated_header");
    assert_eq!(j["error_field"], "flags");
    assert_eq!(j["version"], 70);
    assert_eq!(j["counter"], 0);
    assert_eq!(j["flags"], serde_json::Value::Null);
    assert_eq!(j["proxy_server"], serde_json::Value::Null);
    assert_eq!(j["length"], 9);
    assert_eq!(s.encode(), b);
}

/// After WPAD detection: 5 network keys (IPv6 link-local with scope ids 11, 12, 13, IPv4
/// 192.168.1.101, Teredo), LKG URL, FILETIME 2011-04-11T04:55:58Z — 723 bytes.
fn wpad_723() -> Vec<u8> {
    let mut b = bytes("46000000 2a000000 09000000 00000000 00000000 00000000 04000000");
    let lkg = "http://wpad.domain/wpad.dat";
    b.extend_from_slice(&(lkg.len() as u32).to_le_bytes());
    b.extend_from_slice(lkg.as_bytes());
    b.extend_from_slice(&129_469_713_580_000_000u64.to_le_bytes());
    b.extend_from_slice(&[0; 12]); // no IPv4, empty secondary URL, reload 0
    b.extend_from_slice(&5u32.to_le_bytes());
    let v6 = |addr: [u8; 16], scope: u32| {
        let mut r = vec![0u8; 128];
        r[0] = 23;
        r[8..24].copy_from_slice(&addr);
        r[24..28].copy_from_slice(&scope.to_le_bytes());
        r
    };
    let mut ll = [0u8; 16];
    ll[0] = 0xfe;
    ll[1] = 0x80;
    ll[15] = 1;
    for scope in [11, 12, 13] {
        b.extend(v6(ll, scope));
    }
    b.extend(NetworkKey::ipv4(Ipv4Addr::new(192, 168, 1, 101), 0).raw);
    let mut teredo = [0u8; 16];
    teredo[..4].copy_from_slice(&[0x20, 0x01, 0, 0]);
    teredo[15] = 0x42;
    b.extend(v6(teredo, 0));
    b
}

#[test]
fn vector_wpad_five_network_keys() {
    let b = wpad_723();
    assert_eq!(b.len(), 723);
    let s = ConnectionSettings::decode(&b);
    let t = s.trailer.as_ref().unwrap_or_else(|| panic!("trailer"));
    assert_eq!(t.autodiscovery_flags, 4);
    assert_eq!(
        t.last_known_good_auto_config_url.latin1(),
        "http://wpad.domain/wpad.dat"
    );
    assert_eq!(
        t.last_detect_time_iso().as_deref(),
        Some("2011-04-11T04:55:58Z")
    );
    let keys = t.network_keys.as_deref().unwrap_or(&[]);
    assert_eq!(keys.len(), 5);
    assert_eq!(keys[0].scope_id(), Some(11));
    assert_eq!(keys[2].scope_id(), Some(13));
    assert_eq!(
        keys[0].address().map(|a| a.to_string()).as_deref(),
        Some("fe80::1")
    );
    assert_eq!(
        keys[3].address().map(|a| a.to_string()).as_deref(),
        Some("192.168.1.101")
    );
    assert_eq!(
        keys[4].address().map(|a| a.to_string()).as_deref(),
        Some("2001::42")
    );
    assert!(t.extra.is_empty());
    let j = json(&s);
    assert_eq!(j["trailer"]["last_detect_time"], "2011-04-11T04:55:58Z");
    assert_eq!(j["trailer"]["network_keys"][0]["family"], 23);
    assert_eq!(j["trailer"]["network_keys"][0]["scope_id"], 11);
    assert_eq!(j["trailer"]["network_keys"][3]["address"], "192.168.1.101");
    assert_eq!(s.encode(), b);
}

/// Corporate ISA/TMG client: 1049-byte bypass (length `19 04 00 00`), stored-but-inactive PAC,
/// LKG URL, three IPv4 network keys — 1610 bytes.
#[test]
fn vector_corporate_1610_bytes() {
    let mut bypass = String::from("localhost;127.0.0.1;10.*.*.*;192.168.*.*;172.30.*.*");
    let mut i = 0;
    while bypass.len() < 1049 {
        bypass.push_str(&format!(";host{i}.carnival.com"));
        i += 1;
    }
    bypass.truncate(1049);
    let pac = "http://proxy.carnival.com:8080/array.dll?Get.Routing.Script";
    let lkg = "http://proxy.carnival.com:8080/wpad.dat";
    let mut s = ConnectionSettings::new(0x03, "proxy.carnival.com:8080", &bypass, pac);
    s.counter = 0x048b;
    s.trailer = Some(Trailer {
        autodiscovery_flags: 1,
        last_known_good_auto_config_url: RawString::from_text(lkg),
        network_keys: Some(
            [1u8, 2, 3]
                .iter()
                .map(|n| NetworkKey::ipv4(Ipv4Addr::new(10, 20, 30, *n), 0))
                .collect(),
        ),
        ..Trailer::empty(VERSION_IE7)
    });
    let b = s.encode();
    assert_eq!(b.len(), 1610);
    assert_eq!(
        b.get(39..43),
        Some(&[0x19, 0x04, 0, 0][..]),
        "bypass length 1049"
    );
    let d = ConnectionSettings::decode(&b);
    assert_eq!(d, s);
    assert_eq!(d.bypass_list.0.len(), 1049);
    assert!(!d.auto_config_url_enabled());
    assert_eq!(
        d.trailer
            .as_ref()
            .and_then(|t| t.network_keys.as_ref())
            .map(Vec::len),
        Some(3)
    );
}

/// Script-made blob: 32 zero bytes appended (Set-ProxyBytes.ps1) decodes as an empty trailer.
#[test]
fn script_blob_with_32_zero_bytes() {
    let s = ConnectionSettings::new(0x03, "proxy:8080", "<local>", "");
    let b = s.encode();
    assert_eq!(b.len(), 12 + 4 + 10 + 4 + 7 + 4 + 32);
    assert_eq!(ConnectionSettings::decode(&b), s);
}

#[test]
fn all_flag_combinations() {
    for flags in 0u32..=0x1F {
        let s = ConnectionSettings::new(flags, "p:1", "b", "http://u");
        let d = ConnectionSettings::decode(&s.encode());
        assert_eq!(d.direct(), flags & 1 != 0);
        assert_eq!(d.proxy_enabled(), flags & 2 != 0);
        assert_eq!(d.auto_config_url_enabled(), flags & 4 != 0);
        assert_eq!(d.auto_detect(), flags & 8 != 0);
        assert_eq!(d.unknown_flag_bits(), flags & 0x10);
        let j = json(&d);
        assert_eq!(j["flags"], flags);
        assert_eq!(j["unknown_flag_bits"], flags & 0x10);
        let codes: Vec<_> = d.warnings().iter().map(|w| w.code).collect();
        assert_eq!(
            codes.contains(&"unknown-flag-bits"),
            flags & 0x10 != 0,
            "{flags:#x}"
        );
        assert_eq!(
            codes.contains(&"direct-bit-missing"),
            flags & 3 == 2,
            "{flags:#x}"
        );
    }
    assert_eq!(flags_in_words(0), "none");
    assert_eq!(
        flags_in_words(0x0F),
        "direct, proxy, PAC script, auto-detect"
    );
    assert_eq!(flags_in_words(0x11), "direct, unknown 0x10");
    assert_eq!(
        flags_in_words(0xFFFF_FFFF),
        "direct, proxy, PAC script, auto-detect, unknown 0xFFFFFFF0"
    );
}

#[test]
fn malformed_header_shapes() {
    for (len, field) in [
        (0, Field::Version),
        (3, Field::Version),
        (4, Field::Counter),
        (8, Field::Flags),
        (11, Field::Flags),
    ] {
        let b = vec![0x46u8; len];
        let s = ConnectionSettings::decode(&b);
        assert_eq!(s.error, Some(BlobError::TruncatedHeader), "len {len}");
        assert_eq!(s.error_field, Some(field), "len {len}");
        assert_eq!(s.encode(), b);
    }
}

#[test]
fn malformed_string_shapes() {
    let hdr = "46000000 01000000 03000000";
    let cases: &[(&str, BlobError, Field, Option<&str>)] = &[
        ("", BlobError::Truncated, Field::ProxyServer, None),
        ("0500", BlobError::Truncated, Field::ProxyServer, None),
        (
            "ffffffff 41",
            BlobError::LengthOverrun,
            Field::ProxyServer,
            None,
        ),
        (
            "05000000 4142",
            BlobError::LengthOverrun,
            Field::ProxyServer,
            None,
        ),
        (
            "02000000 4142",
            BlobError::Truncated,
            Field::BypassList,
            Some("AB"),
        ),
        (
            "02000000 4142 ffffffff",
            BlobError::LengthOverrun,
            Field::BypassList,
            Some("AB"),
        ),
        (
            "02000000 4142 00000000 01",
            BlobError::Truncated,
            Field::AutoConfigUrl,
            Some("AB"),
        ),
        (
            "02000000 4142 00000000 00000080",
            BlobError::LengthOverrun,
            Field::AutoConfigUrl,
            Some("AB"),
        ),
    ];
    for (rest, err, field, proxy) in cases {
        let b = bytes(&format!("{hdr} {rest}"));
        let s = ConnectionSettings::decode(&b);
        assert_eq!(s.error, Some(*err), "{rest}");
        assert_eq!(s.error_field, Some(*field), "{rest}");
        assert_eq!(
            (s.version, s.counter, s.flags),
            (0x46, 1, 3),
            "header kept: {rest}"
        );
        let j = json(&s);
        assert_eq!(j["error"], err.as_str());
        assert_eq!(j["error_field"], field.name());
        assert_eq!(j["proxy_server"].as_str(), *proxy, "{rest}");
        assert_eq!(s.encode(), b, "exact bytes back: {rest}");
        assert_eq!(s.warnings()[0].code, "blob-malformed");
    }
}

#[test]
fn trailer_problems_are_not_fatal() {
    let base = ConnectionSettings::new(0x03, "p:80", "", "").encode();
    let head = base.get(..12 + 8 + 4 + 4).unwrap_or(&[]).to_vec();
    assert_eq!(head.len(), 28);
    let cases: &[(&str, BlobError, TrailerField)] = &[
        ("01", BlobError::Truncated, TrailerField::AutodiscoveryFlags),
        (
            "01000000 ffffffff",
            BlobError::LengthOverrun,
            TrailerField::LastKnownGoodAutoConfigUrl,
        ),
        (
            "01000000 00000000 0000",
            BlobError::Truncated,
            TrailerField::LastDetectTime,
        ),
        (
            "01000000 00000000 0000000000000000 ffffffff 01020304",
            BlobError::LengthOverrun,
            TrailerField::DetectedIpv4,
        ),
        (
            "01000000 00000000 0000000000000000 00000000 00",
            BlobError::Truncated,
            TrailerField::AutoConfigSecondaryUrl,
        ),
        (
            "01000000 00000000 0000000000000000 00000000 00000000 00",
            BlobError::Truncated,
            TrailerField::AutoConfigReloadDelayMins,
        ),
        (
            "01000000 00000000 0000000000000000 00000000 00000000 00000000 01",
            BlobError::Truncated,
            TrailerField::NetworkKeys,
        ),
        (
            "01000000 00000000 0000000000000000 00000000 00000000 00000000 ffffffff 00",
            BlobError::LengthOverrun,
            TrailerField::NetworkKeys,
        ),
        (
            "01000000 00000000 0000000000000000 00000000 00000000 00000000 02000000 00",
            BlobError::LengthOverrun,
            TrailerField::NetworkKeys,
        ),
    ];
    for (rest, err, field) in cases {
        let mut b = head.clone();
        b.extend(bytes(rest));
        let s = ConnectionSettings::decode(&b);
        assert_eq!(s.error, None, "{rest}");
        assert_eq!(s.proxy_server.latin1(), "p:80");
        let t = s.trailer.as_ref().unwrap_or_else(|| panic!("trailer"));
        assert_eq!(t.error, Some(*err), "{rest}");
        assert_eq!(t.error_field, Some(*field), "{rest}");
        let j = json(&s);
        assert_eq!(j["error"], serde_json::Value::Null);
        assert_eq!(j["trailer"]["error"], err.as_str());
        assert_eq!(j["trailer"]["error_field"], field.name());
        if *field > TrailerField::AutodiscoveryFlags {
            assert_eq!(j["trailer"]["autodiscovery_flags"], 1, "kept: {rest}");
        }
        assert_eq!(s.encode(), b, "{rest}");
        assert!(s.warnings().iter().any(|w| w.code == "trailer-malformed"));
    }
}

#[test]
fn extra_bytes_and_no_trailer() {
    let mut b = ConnectionSettings::new(1, "", "", "").encode();
    b.extend_from_slice(&[0xde, 0xad]);
    let s = ConnectionSettings::decode(&b);
    assert_eq!(s.trailer.as_ref().map(|t| t.extra.len()), Some(2));
    assert_eq!(json(&s)["trailer"]["extra_bytes"], 2);
    assert!(s.warnings().iter().any(|w| w.code == "extra-bytes"));
    assert_eq!(s.encode(), b);
    // 0x3C: everything after the reload delay is extra (no key count).
    let mut b = bytes("3c000000 00000000 01000000 00000000 00000000 00000000");
    b.extend(bytes(
        "00000000 00000000 0000000000000000 00000000 00000000 00000000 00000000",
    ));
    let s = ConnectionSettings::decode(&b);
    assert_eq!(s.trailer.as_ref().map(|t| t.extra.len()), Some(4));
    assert_eq!(s.encode(), b);
    // No trailer at all.
    let b = bytes("46000000 00000000 01000000 00000000 00000000 00000000");
    let s = ConnectionSettings::decode(&b);
    assert_eq!(s.trailer, None);
    assert_eq!(json(&s)["trailer"], serde_json::Value::Null);
    assert_eq!(s.encode(), b);
}

#[test]
fn non_ascii_and_utf16_strings() {
    let mut s = ConnectionSettings::new(3, "", "", "");
    s.proxy_server = RawString(vec![b'p', 0xe4, b':', b'8']);
    s.bypass_list = RawString(b"<\0l\0o\0".to_vec());
    let d = ConnectionSettings::decode(&s.encode());
    let j = json(&d);
    assert_eq!(j["proxy_server"], "p\u{e4}:8");
    assert_eq!(j["proxy_server_hex"], "70e43a38");
    assert_eq!(j.get("bypass_list_hex"), None, "NUL is not above 0x7F");
    assert_eq!(j["bypass_list"], "<\u{0}l\u{0}o\u{0}");
    let codes: Vec<_> = d.warnings().iter().map(|w| w.code).collect();
    assert_eq!(codes, vec!["non-ascii-string", "nul-in-string"]);
}

#[test]
fn unknown_versions() {
    for (v, known, warn) in [
        (0x3C, true, false),
        (0x46, true, false),
        (0x47, false, true),
        (0x10, false, true),
    ] {
        let mut s = ConnectionSettings::new(1, "", "", "");
        s.version = v;
        let d = ConnectionSettings::decode(&s.encode());
        assert_eq!(d.version_known(), known);
        assert_eq!(json(&d)["version_known"], known);
        assert_eq!(
            d.warnings().iter().any(|w| w.code == "unknown-version"),
            warn,
            "{v:#x}"
        );
    }
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    // Every length/count field set to 0xFFFFFFFF in turn.
    let b = bytes("46000000 00000000 01000000 ffffffff");
    assert_eq!(
        ConnectionSettings::decode(&b).error,
        Some(BlobError::LengthOverrun)
    );
    let mut b = ConnectionSettings::new(1, "", "", "").encode();
    let n = b.len();
    if let Some(x) = b.get_mut(n - 4..) {
        x.copy_from_slice(&[0xff; 4]);
    }
    let s = ConnectionSettings::decode(&b);
    assert_eq!(
        s.trailer.as_ref().and_then(|t| t.error),
        Some(BlobError::LengthOverrun)
    );
    assert_eq!(s.encode(), b);
}

// ---------------------------------------------------------------- property tests

fn raw_string(max: usize) -> impl Strategy<Value = RawString> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(RawString)
}

fn trailer(version: u32) -> impl Strategy<Value = Trailer> {
    let keys = if version == VERSION_IE5 {
        Just(None).boxed()
    } else {
        prop::option::of(prop::collection::vec(
            prop::collection::vec(any::<u8>(), NETWORK_KEY_SIZE)
                .prop_map(|r| NetworkKey::from_raw(&r)),
            0..4,
        ))
        .boxed()
    };
    (
        any::<u32>(),
        raw_string(40),
        any::<u64>(),
        prop::collection::vec(any::<[u8; 4]>().prop_map(Ipv4Addr::from), 0..4),
        raw_string(40),
        any::<u32>(),
        keys,
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(move |(af, lkg, ft, ips, sec, rd, keys, extra)| {
            // Extra bytes after the reload delay are only unambiguous with a key count
            // (0x46) or in the 0x3C layout.
            let extra = if version != VERSION_IE5 && keys.is_none() {
                Vec::new()
            } else {
                extra
            };
            Trailer {
                autodiscovery_flags: af,
                last_known_good_auto_config_url: lkg,
                last_detect_time: ft,
                detected_ipv4: ips,
                auto_config_secondary_url: sec,
                auto_config_reload_delay_mins: rd,
                network_keys: keys,
                extra,
                ..Trailer::default()
            }
        })
}

fn settings() -> impl Strategy<Value = ConnectionSettings> {
    prop_oneof![Just(VERSION_IE5), Just(VERSION_IE7), 0x3Cu32..0x100]
        .prop_flat_map(|version| {
            (
                Just(version),
                any::<u32>(),
                any::<u32>(),
                raw_string(300),
                raw_string(300),
                raw_string(100),
                prop::option::of(trailer(version)),
            )
        })
        .prop_map(
            |(version, counter, flags, p, b, u, trailer)| ConnectionSettings {
                version,
                counter,
                flags,
                proxy_server: p,
                bypass_list: b,
                auto_config_url: u,
                trailer,
                error: None,
                error_field: None,
                raw_tail: Vec::new(),
            },
        )
}

proptest! {
    #[test]
    fn prop_encode_decode_round_trip(s in settings()) {
        let b = s.encode();
        let d = ConnectionSettings::decode(&b);
        prop_assert_eq!(&d, &s);
        prop_assert_eq!(d.encode(), b);
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic_and_round_trip(b in prop::collection::vec(any::<u8>(), 0..400)) {
        let s = ConnectionSettings::decode(&b);
        prop_assert_eq!(s.encode(), b);
        let _ = serde_json::to_string(&s);
        let _ = s.warnings();
        let w = crate::proxy::winhttp::WinHttpSettings::decode(s.encode().as_slice());
        prop_assert_eq!(w.encode(), s.encode());
    }

    #[test]
    fn prop_mutated_valid_blobs(s in settings(), pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut b = s.encode();
        let i = pos.index(b.len());
        if let Some(x) = b.get_mut(i) { *x = byte; }
        b.truncate(cut.index(b.len() + 1));
        let d = ConnectionSettings::decode(&b);
        prop_assert_eq!(d.encode(), b);
        let _ = serde_json::to_string(&d);
    }
}
