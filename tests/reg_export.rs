//! `proxy-triage parse` on `.reg` fixtures (fixtures/reg, made by fixtures/reg/generate.py,
//! and real files copied from the corpus into fixtures/reg/corpus).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use proxy_triage::formats::reg_export;
use proxy_triage::formats::reg_writer::{write_export, WriteKey, WriteValue};
use proxy_triage::registry::ValueType;
use proxy_triage::text::{LegacyHint, TextReader};
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/reg")
        .join(rel)
}

/// Runs `parse FILE`, returns (exit code, JSON).
fn parse(path: &Path) -> (i32, Value) {
    let out = Command::cargo_bin("proxy-triage")
        .unwrap()
        .arg("parse")
        .arg(path)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}",
            String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(500)])
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn diags(j: &Value) -> Vec<(u64, u64, String)> {
    j["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] != "info")
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn key<'a>(j: &'a Value, path: &str) -> &'a Value {
    j["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["path"] == path)
        .unwrap_or_else(|| panic!("no key {path}"))
}

fn value<'a>(k: &'a Value, name: &str) -> &'a Value {
    k["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no value {name}"))
}

const IS: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";

fn blob_hex(counter: u8, flags: u8, proxy: &str, bypass: &str) -> String {
    let mut b = vec![0x46, 0, 0, 0, counter, 0, 0, 0, flags, 0, 0, 0];
    for s in [proxy, bypass, ""] {
        b.extend_from_slice(&(s.len() as u32).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    }
    b.extend_from_slice(&[0; 32]);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn regedit_style_internet_settings_export() {
    let (code, j) = parse(&fixture("internet-settings-hkcu-hku.reg"));
    assert_eq!(code, 0);
    assert_eq!(j["kind"], "reg-export");
    assert_eq!(j["encoding"], "utf-16le");
    assert_eq!(j["header"], "Windows Registry Editor Version 5.00");
    assert!(diags(&j).is_empty(), "{:?}", j["diagnostics"]);
    assert_eq!(j["keys"].as_array().unwrap().len(), 6);
    let user = key(&j, &format!("HKEY_CURRENT_USER\\{IS}\\Connections"));
    assert_eq!(user["line"], 15);
    let dcs = value(user, "DefaultConnectionSettings");
    assert_eq!(dcs["type"], "REG_BINARY");
    assert_eq!(dcs["type_code"], 3);
    assert_eq!(dcs["line"], 16);
    assert_eq!(
        dcs["data_hex"],
        blob_hex(0x0a, 3, "proxy.contoso.com:8080", "<local>")
    );
    assert_eq!(dcs["data"], Value::Null);
    // The blob is wrapped over four lines, so the next value starts at line 20.
    assert_eq!(value(user, "SavedLegacySettings")["line"], 20);
    let system = key(&j, &format!("HKEY_USERS\\S-1-5-18\\{IS}\\Connections"));
    assert_eq!(
        value(system, "DefaultConnectionSettings")["data_hex"],
        blob_hex(2, 9, "", "")
    );
    let settings = key(&j, &format!("HKEY_USERS\\S-1-5-19\\{IS}"));
    let ps = value(settings, "ProxyServer");
    assert_eq!(ps["data"], "proxy.contoso.com:8080");
    assert_eq!(
        ps["data_hex"],
        "700072006f00780079002e0063006f006e0074006f0073006f002e0063006f006d003a0038003000380030000000"
    );
    assert_eq!(value(settings, "ProxyEnable")["data"], 1);
}

/// Parse the regedit-style fixture, write it back with our writer: byte-identical.
#[test]
fn writer_reproduces_the_regedit_export_byte_for_byte() {
    for name in ["internet-settings-hkcu-hku.reg", "all-types.reg"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let reader = TextReader::new(&bytes[..], LegacyHint::Ansi).unwrap();
        let (export, diags) = reg_export::parse(reader, &|_| true);
        assert!(diags
            .iter()
            .all(|d| d.code == "dword-size" || d.severity == proxy_triage::diag::Severity::Info));
        let keys: Vec<WriteKey> = export
            .keys
            .iter()
            .map(|k| WriteKey {
                path: k.path.clone(),
                values: k
                    .values
                    .iter()
                    .map(|v| WriteValue {
                        name: v.name.clone(),
                        value_type: v.value_type,
                        bytes: v.bytes.clone().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect();
        assert_eq!(write_export(&keys), bytes, "{name}");
    }
}

#[test]
fn every_value_type() {
    let (code, j) = parse(&fixture("all-types.reg"));
    assert_eq!(code, 0);
    let k = key(&j, "HKEY_CURRENT_USER\\Software\\proxy-triage\\Types");
    let expect = [
        ("", "REG_SZ", 1, None),
        ("none", "REG_NONE", 0, Some("")),
        ("sz", "REG_SZ", 1, Some("74006500780074000000")),
        ("dword", "REG_DWORD", 4, Some("78563412")),
        ("dword_be", "REG_DWORD_BIG_ENDIAN", 5, Some("12345678")),
        ("link", "REG_LINK", 6, None),
        ("multi", "REG_MULTI_SZ", 7, Some("610000006200630000000000")),
        ("resource_list", "REG_RESOURCE_LIST", 8, Some("010203")),
        (
            "full_resource",
            "REG_FULL_RESOURCE_DESCRIPTOR",
            9,
            Some("04"),
        ),
        (
            "requirements",
            "REG_RESOURCE_REQUIREMENTS_LIST",
            10,
            Some("0506"),
        ),
        ("qword", "REG_QWORD", 11, Some("0807060504030201")),
        ("custom", "0xabcd", 0xabcd, Some("abcd")),
        ("dword_short", "REG_DWORD", 4, Some("0102")),
    ];
    for (name, ty, code, hex) in expect {
        let v = value(k, name);
        assert_eq!(v["type"], ty, "{name}");
        assert_eq!(v["type_code"], code, "{name}");
        if let Some(h) = hex {
            assert_eq!(v["data_hex"], h, "{name}");
        }
    }
    assert_eq!(value(k, "")["data"], "default \"quoted\" C:\\path");
    assert_eq!(value(k, "multi")["data"], serde_json::json!(["a", "bc"]));
    assert_eq!(value(k, "qword")["data"], 0x0102030405060708u64);
    // REG_LINK is not NUL-terminated (not a string type for import): stored as listed.
    assert!(value(k, "link")["data_hex"]
        .as_str()
        .unwrap()
        .ends_with("6500"));
    assert_eq!(diags(&j), vec![(22, 1, "dword-size".to_string())]);
}

#[test]
fn regedit4_ansi_file_widens_string_hex() {
    let (code, j) = parse(&fixture("regedit4-ansi.reg"));
    assert_eq!(code, 0);
    assert_eq!(j["encoding"], "windows-1252");
    assert_eq!(j["header"], "REGEDIT4");
    let k = key(&j, "HKEY_CURRENT_USER\\Software\\proxy-triage\\Ansi");
    assert_eq!(value(k, "Café")["data"], "crème brûlée");
    let path = value(k, "Path");
    assert_eq!(path["type"], "REG_EXPAND_SZ");
    assert_eq!(path["data"], "%SystemRoot%\\é");
    assert_eq!(
        path["data_hex"],
        "2500530079007300740065006d0052006f006f00740025005c00e9000000"
    );
    assert_eq!(value(k, "List")["data_hex"], "61000000e90000000000");
    assert!(diags(&j).is_empty());
}

#[test]
fn corpus_007_without_header_is_refused_exit_2() {
    let (code, j) = parse(&fixture("corpus/007_noproxy-without-header.reg"));
    assert_eq!(code, 2);
    assert_eq!(j["header"], Value::Null);
    assert_eq!(j["keys"], serde_json::json!([]));
    assert_eq!(diags(&j), vec![(1, 1, "rejected-file".to_string())]);
    assert_eq!(j["diagnostics"][0]["severity"], "error");
}

#[test]
fn corpus_008_regedit4_wrong_case_is_refused_exit_2() {
    let (code, j) = parse(&fixture("corpus/008_proxy-on-Regedit4-header.reg"));
    assert_eq!(code, 2);
    assert_eq!(j["header"], "Regedit4");
    assert_eq!(j["keys"], serde_json::json!([]));
    assert_eq!(diags(&j), vec![(1, 1, "rejected-file".to_string())]);
}

#[test]
fn corpus_009_blank_after_bracket_is_fine() {
    let (code, j) = parse(&fixture("corpus/009_disable-proxy-space-after-bracket.reg"));
    assert_eq!(code, 0);
    let k = key(&j, &format!("HKEY_CURRENT_USER\\{IS}"));
    assert_eq!(value(k, "ProxyEnable")["data_hex"], "00000000");
    assert!(diags(&j).is_empty());
}

#[test]
fn corpus_027_stray_line_is_ignored_with_a_warning() {
    let (code, j) = parse(&fixture("corpus/027_mikaelaize-stray-line.reg"));
    assert_eq!(code, 0);
    assert_eq!(diags(&j), vec![(12, 1, "ignored-line".to_string())]);
    let k = key(
        &j,
        "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer",
    );
    assert_eq!(k["values"], serde_json::json!([]));
}

#[test]
fn corpus_035_broken_quote_rejects_that_value_only() {
    let (code, j) = parse(&fixture("corpus/035_vscode-menu-broken-quote.reg"));
    assert_eq!(code, 0);
    assert_eq!(diags(&j), vec![(19, 118, "rejected-value".to_string())]);
    assert!(j["diagnostics"][1]["message"]
        .as_str()
        .unwrap()
        .contains("found ','"));
    let k = key(
        &j,
        "HKEY_CLASSES_ROOT\\Directory\\Background\\shell\\vscode",
    );
    assert_eq!(k["values"].as_array().unwrap().len(), 1);
}

#[test]
fn corpus_041_missing_equals_rejects_the_value() {
    let (code, j) = parse(&fixture("corpus/041_timeouts-missing-equals.reg"));
    assert_eq!(code, 0);
    assert_eq!(
        diags(&j),
        vec![
            (26, 28, "rejected-value".to_string()),
            (32, 28, "rejected-value".to_string())
        ]
    );
    let k = key(&j, "HKEY_CURRENT_USER\\Control Panel\\Desktop");
    assert_eq!(value(k, "ForegroundLockTimeout")["data_hex"], "00000000");
}

#[test]
fn corpus_utf16_files() {
    let (code, j) = parse(&fixture(
        "corpus/047_autoproxy-connection-blob-pac-utf16.reg",
    ));
    assert_eq!(code, 0);
    assert_eq!(j["encoding"], "utf-16le");
    let k = key(&j, &format!("HKEY_CURRENT_USER\\{IS}\\Connections"));
    let hex = value(k, "DefaultConnectionSettings")["data_hex"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(hex.starts_with("46000000"), "{hex}");
    assert_eq!(hex.len(), 2 * 140);

    let (code, j) = parse(&fixture("corpus/048_putty-vscode-colours-utf16.reg"));
    assert_eq!(code, 0);
    let k = key(
        &j,
        "HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\Default%20Settings",
    );
    assert_eq!(k["values"].as_array().unwrap().len(), 22);

    let (code, j) = parse(&fixture("corpus/049_pac-all-accounts-hku-utf16.reg"));
    assert_eq!(code, 0);
    let paths: Vec<&str> = j["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&format!("HKEY_USERS\\S-1-5-18\\{IS}").as_str()));
    assert!(paths.contains(&format!("HKEY_USERS\\S-1-5-19\\{IS}").as_str()));
    assert!(diags(&j).is_empty());
}

#[test]
fn corpus_020_cp895_table_with_indented_continuations() {
    let (code, j) = parse(&fixture("corpus/020_far-codetable-cp895-czech.reg"));
    assert_eq!(code, 0);
    assert_eq!(j["keys"][0]["delete"], true);
    let table = j["keys"][1]["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["type"] == "REG_BINARY" && v["data_hex"].as_str().unwrap().len() == 512);
    assert!(table.is_some(), "{}", j["keys"][1]);
}

#[test]
fn bad_truncated_utf16_odd_byte_count() {
    let (code, j) = parse(&fixture("bad/truncated-utf16.reg"));
    assert_eq!(code, 0);
    let d = diags(&j);
    assert!(
        d.contains(&(65, 39, "invalid-encoding".to_string())),
        "{d:?}"
    );
    assert!(d.contains(&(65, 39, "rejected-value".to_string())), "{d:?}");
    assert_eq!(j["keys"].as_array().unwrap().len(), 6);
}

#[test]
fn bad_nul_flood_and_binary_junk_do_not_panic() {
    let (code, j) = parse(&fixture("bad/nul-flood.reg"));
    assert_eq!(code, 0);
    assert_eq!(diags(&j), vec![(2, 1, "nul-in-line".to_string())]);
    let (code, j) = parse(&fixture("bad/binary-junk.reg"));
    assert_eq!(code, 0);
    assert_eq!(j["keys"][0]["path"], "HKEY_CURRENT_USER\\J");
    assert!(!diags(&j).is_empty());
}

#[test]
fn bad_utf16_without_bom_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nobom.reg");
    let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\A]\r\n";
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    std::fs::write(&p, bytes).unwrap();
    let (code, j) = parse(&p);
    assert_eq!(code, 2);
    assert_eq!(diags(&j), vec![(1, 1, "rejected-file".to_string())]);
}

#[test]
fn bad_50_mb_single_line_is_cut_with_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.reg");
    let mut s = String::from("REGEDIT4\r\n[HKEY_CURRENT_USER\\A]\r\n\"big\"=hex:");
    s.push_str(&"ab,".repeat(50 * 1024 * 1024 / 3));
    s.push_str("00\r\n\"after\"=dword:00000002\r\n");
    std::fs::write(&p, s).unwrap();
    let (code, j) = parse(&p);
    assert_eq!(code, 0);
    let d = diags(&j);
    assert!(d.contains(&(3, 1, "value-too-large".to_string())), "{d:?}");
    assert!(d.contains(&(3, 1, "line-too-long".to_string())), "{d:?}");
    let k = key(&j, "HKEY_CURRENT_USER\\A");
    assert_eq!(k["values"].as_array().unwrap().len(), 1);
    assert_eq!(value(k, "after")["line"], 4);
    assert_eq!(value(k, "after")["data_hex"], "02000000");
    // The generic ValueType name for an unknown type code.
    assert_eq!(ValueType(0x20).name(), "0x20");
}
