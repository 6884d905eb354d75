//! `proxy-triage decode`: the binary on real and constructed blobs, in every input shape
//! support engineers paste, checking the contract's JSON fields.

use assert_cmd::Command;
use serde_json::Value;

/// Real blob (HugoCM/-autoProxy, corpus 004): proxy, bypass and a stored PAC URL, flags 0B.
const AUTOPROXY_HEX: &str = "46,00,00,00,38,03,00,00,0b,00,00,00,16,00,00,00,70,72,6f,78,79,2e,65,63,2d,6c,69,6c,6c,65,2e,66,72,3a,33,31,32,38,11,00,00,00,31,32,37,2e,30,2e,30,2e,31,3b,3c,6c,6f,63,61,6c,3e,2d,00,00,00,68,74,74,70,3a,2f,2f,31,32,37,2e,30,2e,30,2e,31,3a,31,30,38,30,2f,70,61,63,3f,74,3d,32,30,31,37,30,39,30,36,31,39,35,34,31,38,33,35,33,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00";

fn bin() -> Command {
    Command::cargo_bin("proxy-triage").unwrap_or_else(|e| panic!("binary: {e}"))
}

fn decode_json(args: &[&str], stdin: Option<&str>) -> (Value, String) {
    decode_json_exit(args, stdin, 0)
}

fn decode_json_exit(args: &[&str], stdin: Option<&str>, code: i32) -> (Value, String) {
    let mut cmd = bin();
    cmd.arg("decode").args(args).args(["--format", "json"]);
    if let Some(s) = stdin {
        cmd.write_stdin(s);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}"));
    assert_eq!(v["schema_version"], 2);
    (v, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_autoproxy(v: &Value) {
    assert_eq!(v["value_kind"], "wininet");
    assert_eq!(v["length"], 140);
    assert_eq!(v["version"], 70);
    assert_eq!(v["counter"], 0x338);
    assert_eq!(v["flags"], 11);
    assert_eq!(v["direct"], true);
    assert_eq!(v["proxy_enabled"], true);
    assert_eq!(v["auto_config_url_enabled"], false);
    assert_eq!(v["auto_detect"], true);
    assert_eq!(v["unknown_flag_bits"], 0);
    assert_eq!(v["proxy_server"], "proxy.ec-lille.fr:3128");
    assert_eq!(v["bypass_list"], "127.0.0.1;<local>");
    assert_eq!(
        v["auto_config_url"],
        "http://127.0.0.1:1080/pac?t=20170906195418353"
    );
    assert_eq!(v["trailer"]["autodiscovery_flags"], 0);
    assert_eq!(v["trailer"]["last_detect_time"], Value::Null);
    assert_eq!(v["trailer"]["network_keys"], serde_json::json!([]));
    assert_eq!(v["trailer"]["extra_bytes"], 0);
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["error_field"], Value::Null);
    // No --endpoint/--workspace: a placeholder host, and JSON says so.
    assert_eq!(
        v["routes"][0]["url"],
        "https://<workspace>sensorapi.atp.azure.com"
    );
    assert_eq!(v["endpoint"]["source"], "default");
    assert_eq!(v["routes"][0]["kind"], "proxy");
    assert_eq!(v["routes"][0]["host"], "proxy.ec-lille.fr");
    assert_eq!(v["routes"][0]["port"], 3128);
}

#[test]
fn spaced_hex_fresh_blob() {
    let hex = format!("46 00 00 00 0a 00 00 00 01 00 00 00 {}", "00 ".repeat(44));
    let (v, _) = decode_json(&[&hex], None);
    assert_eq!(v["length"], 56);
    assert_eq!(v["counter"], 10);
    assert_eq!(v["flags"], 1);
    assert_eq!(v["direct"], true);
    assert_eq!(v["proxy_enabled"], false);
    assert_eq!(v["proxy_server"], "");
    assert_eq!(v["trailer"]["detected_ipv4"], serde_json::json!([]));
    assert_eq!(v["routes"][0]["kind"], "direct");
}

#[test]
fn reg_hex_prefix_with_commas() {
    let (v, _) = decode_json(&[&format!("hex:{AUTOPROXY_HEX}")], None);
    assert_autoproxy(&v);
}

#[test]
fn regedit_continuation_lines_from_stdin() {
    let text = std::fs::read_to_string("fixtures/decode/autoproxy-regedit-wrapped.txt")
        .unwrap_or_else(|e| panic!("fixture: {e}"));
    assert!(text.contains("\\\r\n  "), "fixture has CRLF continuations");
    let (v, _) = decode_json(&["-"], Some(&text));
    assert_autoproxy(&v);
}

#[test]
fn reg_query_uppercase_from_stdin() {
    let text = std::fs::read_to_string("fixtures/decode/autoproxy-reg-query.txt")
        .unwrap_or_else(|e| panic!("fixture: {e}"));
    let (v, _) = decode_json(&["-"], Some(&text));
    assert_autoproxy(&v);
    let upper = AUTOPROXY_HEX.replace(',', "").to_uppercase();
    let (v, _) = decode_json(&[&upper], None);
    assert_autoproxy(&v);
}

#[test]
fn bad_hex_exits_2_with_position() {
    let out = bin()
        .args(["decode", "46,00,00,0x,00", "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    // The position of the bad token `0x` itself (column 10), and what is wrong in it.
    assert!(
        err.contains("\"0x\" at line 1, column 10") && err.contains("'x'"),
        "{err}"
    );

    let out = bin()
        .args(["decode", "-", "--format", "json"])
        .write_stdin("hex:46,00,\\\n  00,zz")
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2, column 6"), "{err}");
}

#[test]
fn usage_errors_exit_3() {
    let out = bin()
        .args(["decode"])
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(3));
    let out = bin()
        .args(["decode", "46000000", "--format", "csv"])
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn truncated_blob_is_decoded_and_flagged() {
    // Shorter than the 12-byte header: exit 2, the fields before the cut, route unknown.
    let (v, err) = decode_json_exit(&["hex:46,00,00,00,00,00,00,00,01"], None, 2);
    assert_eq!(v["error"], "truncated_header");
    assert_eq!(v["error_field"], "flags");
    assert_eq!(v["version"], 70);
    assert_eq!(v["flags"], Value::Null);
    assert_eq!(v["routes"][0]["kind"], "unknown");
    assert!(err.contains("malformed"), "{err}");
    // A declared length of 0xFFFFFFFF.
    let (v, _) = decode_json(&["46000000 01000000 03000000 ffffffff 41"], None);
    assert_eq!(v["error"], "length_overrun");
    assert_eq!(v["error_field"], "proxy_server");
    assert_eq!(v["flags"], 3);
}

#[test]
fn winhttp_by_name_and_by_header() {
    let direct = "1800000000000000010000000000000000000000";
    for args in [
        vec![direct],
        vec![direct, "--value-name", "WinHttpSettings"],
    ] {
        let (v, _) = decode_json(&args, None);
        assert_eq!(v["value_kind"], "winhttp");
        assert_eq!(v["length"], 20);
        assert_eq!(v["version"], 24);
        assert_eq!(v["counter"], 0);
        assert_eq!(v["flags"], 1);
        assert_eq!(v["direct"], true);
        assert_eq!(v["proxy_enabled"], false);
        assert_eq!(v["unknown_flag_bits"], 0);
        assert_eq!(v["proxy_server"], "");
        assert_eq!(v["bypass_list"], "");
        assert_eq!(v["extra_bytes"], 0);
        assert_eq!(v["error"], Value::Null);
        assert_eq!(v["error_field"], Value::Null);
        assert!(v.get("trailer").is_none());
    }
    // netsh-written named proxy with a bypass sending the sensor direct.
    let proxy = "proxy:8080";
    let bypass = "<local>;*.azure.com";
    let mut hex = String::from("18000000 00000000 03000000 ");
    for s in [proxy, bypass] {
        hex.push_str(&format!("{:08x} ", (s.len() as u32).swap_bytes()));
        hex.extend(s.bytes().map(|b| format!("{b:02x}")));
        hex.push(' ');
    }
    let (v, _) = decode_json(&[&hex, "--value-name", "WinHttpSettings"], None);
    assert_eq!(v["proxy_server"], proxy);
    assert_eq!(v["bypass_list"], bypass);
    assert_eq!(v["routes"][0]["kind"], "direct");
    assert_eq!(v["routes"][0]["matched_bypass"], "*.azure.com");
    // The same bytes named as a WinINet value decode with the WinINet layout.
    let (v, _) = decode_json(&[&hex, "--value-name", "DefaultConnectionSettings"], None);
    assert_eq!(v["value_kind"], "wininet");
    assert_eq!(v["version_known"], false);
}

#[test]
fn non_ascii_string_gets_hex_field() {
    // proxy "pä:8" (0xe4)
    let (v, _) = decode_json(
        &["46000000 00000000 03000000 04000000 70e43a38 00000000 00000000"],
        None,
    );
    assert_eq!(v["proxy_server"], "p\u{e4}:8");
    assert_eq!(v["proxy_server_hex"], "70e43a38");
    assert_eq!(v["trailer"], Value::Null);
}

#[test]
fn table_view_for_people() {
    let out = bin()
        .args([
            "decode",
            &format!("hex:{AUTOPROXY_HEX}"),
            "--format",
            "table",
        ])
        // Piped tables are COLUMNS wide: wide enough that no value below wraps.
        .env("COLUMNS", "160")
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8_lossy(&out.stdout);
    for want in [
        "0x0B: direct, proxy, auto-detect",
        "proxy.ec-lille.fr:3128",
        "127.0.0.1;<local>",
        "(stored, not enabled)",
        "https://<workspace>sensorapi.atp.azure.com: proxy proxy.ec-lille.fr:3128",
        "<workspace>sensorapi.atp.azure.com (a placeholder: give --workspace NAME",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
}

#[test]
fn json_is_default_when_piped() {
    let out = bin()
        .args(["decode", "1800000000000000010000000000000000000000"])
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}"));
    assert_eq!(v["value_kind"], "winhttp");
}
