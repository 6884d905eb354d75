//! `fix`: the documented remediation as files, exact to the byte, and every refusal.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use proxy_triage::formats::reg_writer::{write_export, WriteKey, WriteValue};
use proxy_triage::registry::ValueType;
use serde_json::Value;

const CONN: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::cargo_bin("proxy-triage").expect("binary");
    c.current_dir(root());
    c
}

fn blob(counter: u32, flags: u32, proxy: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x46u32, counter, flags] {
        b.extend(v.to_le_bytes());
    }
    for s in [proxy, "", ""] {
        b.extend((s.len() as u32).to_le_bytes());
        b.extend(s.as_bytes());
    }
    b.extend([0u8; 32]);
    b
}

fn export(keys: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let keys: Vec<WriteKey> = keys
        .iter()
        .map(|(path, bytes)| WriteKey {
            path: path.to_string(),
            values: vec![WriteValue {
                name: "DefaultConnectionSettings".into(),
                value_type: ValueType::BINARY,
                bytes: bytes.clone(),
            }],
        })
        .collect();
    write_export(&keys)
}

fn utf16_to_string(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

fn run_fix(paths: &[&Path], out: &Path, extra: &[&str]) -> std::process::Output {
    bin()
        .arg("fix")
        .args(paths)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run")
}

#[test]
fn example_fix_round_trips_through_our_parser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_fix(
        &[Path::new("fixtures/uploads/contoso-dc01")],
        dir.path(),
        &["--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["written"], true);
    let changes = summary["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["principal"], "local_system");
    assert_eq!(changes[0]["finding"], "proxy-differs");
    assert_eq!(changes[1]["principal"], "local_service");
    assert_eq!(changes[1]["finding"], "proxy-missing");
    assert_eq!(
        changes[0]["source"]["file"],
        "fixtures/uploads/contoso-dc01/hkcu-connections.reg"
    );
    assert_eq!(changes[0]["source"]["line"], 4);

    // The current user's bytes, as analyze decoded them.
    let a = bin()
        .args([
            "analyze",
            "fixtures/uploads/contoso-dc01",
            "--format",
            "json",
            "-q",
        ])
        .output()
        .expect("analyze");
    let doc: Value = serde_json::from_slice(&a.stdout).expect("json");
    let cu_hex = doc["cases"][0]["principals"]["current_user"]["settings"]["data_hex"]
        .as_str()
        .expect("hex")
        .to_string();

    let parsed = bin()
        .arg("parse")
        .arg(dir.path().join("fix.reg"))
        .output()
        .expect("parse");
    assert_eq!(parsed.status.code(), Some(0));
    let p: Value = serde_json::from_slice(&parsed.stdout).expect("json");
    assert_eq!(p["kind"], "reg-export");
    assert_eq!(p["encoding"], "utf-16le");
    assert!(
        p["diagnostics"].as_array().is_some_and(|d| d.is_empty()),
        "{:#}",
        p["diagnostics"]
    );
    let keys = p["keys"].as_array().expect("keys");
    let paths: Vec<&str> = keys.iter().filter_map(|k| k["path"].as_str()).collect();
    assert_eq!(
        paths,
        vec![
            format!("HKEY_USERS\\S-1-5-18\\{CONN}").as_str(),
            format!("HKEY_USERS\\S-1-5-19\\{CONN}").as_str()
        ]
    );
    for k in keys {
        let values = k["values"].as_array().expect("values");
        assert_eq!(values.len(), 1, "exactly one value per key");
        assert_eq!(values[0]["name"], "DefaultConnectionSettings");
        assert_eq!(values[0]["type"], "REG_BINARY");
        assert_eq!(values[0]["data_hex"], cu_hex.as_str());
    }
}

#[test]
fn example_fix_files_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_fix(
        &[Path::new("fixtures/uploads/contoso-dc01")],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let reg = std::fs::read(dir.path().join("fix.reg")).expect("fix.reg");
    assert_eq!(&reg[..2], &[0xFF, 0xFE], "UTF-16LE BOM");
    let text = utf16_to_string(&reg[2..]);
    // Hex lines wrap before column 80 (key lines are never wrapped).
    assert!(text.lines().filter(|l| !l.starts_with('[')).all(|l| l
        .trim_end_matches('\r')
        .chars()
        .count()
        <= 80));
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    insta::assert_snapshot!("fix_reg", text);
    for name in ["backup.cmd", "restore.cmd", "README.txt"] {
        let bytes = std::fs::read(dir.path().join(name)).expect(name);
        let t = String::from_utf8(bytes).expect("ascii");
        assert!(t.is_ascii(), "{name} is plain ASCII");
        assert!(!t.replace("\r\n", "").contains('\n'), "{name} uses CRLF");
        insta::assert_snapshot!(name.replace('.', "_"), t);
    }
}

#[test]
fn never_overwrites_without_force_and_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = Path::new("fixtures/uploads/contoso-dc01");
    std::fs::write(dir.path().join("fix.reg"), b"customer's own file").expect("write");
    let out = run_fix(&[case], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read(dir.path().join("fix.reg")).expect("read"),
        b"customer's own file"
    );
    assert!(!dir.path().join("backup.cmd").exists());

    let out = run_fix(&[case], dir.path(), &["--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert_ne!(
        std::fs::read(dir.path().join("fix.reg")).expect("read"),
        b"customer's own file"
    );

    let dry = tempfile::tempdir().expect("tempdir");
    let target = dry.path().join("new");
    let out = run_fix(&[case], &target, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Would write"));
    assert!(!target.exists());
}

/// Writes a ticket into a temp dir and returns the refusal text (asserting exit 1, no files).
fn refusal(files: &[(&str, Vec<u8>)]) -> String {
    let case = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        std::fs::write(case.path().join(name), bytes).expect("write");
    }
    let out_dir = tempfile::tempdir().expect("tempdir");
    let target = out_dir.path().join("fix");
    let out = run_fix(&[case.path()], &target, &["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!target.exists(), "nothing written");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["written"], false);
    doc["refused"].as_str().unwrap_or("").to_string()
}

fn not_found_capture() -> Vec<u8> {
    std::fs::read(root().join("fixtures/cases/missing/compare.txt")).expect("fixture")
}

#[test]
fn refuses_when_there_is_nothing_to_fix() {
    let proxy = blob(3, 3, "proxy:8080");
    let r = refusal(&[(
        "all.reg",
        export(&[
            (&format!("HKEY_CURRENT_USER\\{CONN}"), proxy.clone()),
            (&format!("HKEY_USERS\\S-1-5-18\\{CONN}"), proxy.clone()),
            (&format!("HKEY_USERS\\S-1-5-19\\{CONN}"), proxy),
        ]),
    )]);
    assert!(r.contains("nothing to fix"), "{r}");
}

#[test]
fn refuses_without_the_current_users_full_blob() {
    let r = refusal(&[("compare.txt", not_found_capture())]);
    assert!(r.contains("not in the evidence"), "{r}");
    // A truncated PowerShell table does not contain it either.
    let mut ps = vec![0xFF, 0xFE];
    let text = format!("PS C:\\> Get-ItemProperty 'Registry::HKEY_CURRENT_USER\\{CONN}' | Select DefaultConnectionSettings\r\n\r\nDefaultConnectionSettings\r\n-------------------------\r\n{{70, 0, 0, 0...}}\r\n");
    for u in text.encode_utf16() {
        ps.extend(u.to_le_bytes());
    }
    let r = refusal(&[("compare.txt", not_found_capture()), ("ps.txt", ps)]);
    assert!(r.contains("not in the evidence"), "{r}");
}

#[test]
fn refuses_when_the_current_user_is_direct() {
    let r = refusal(&[
        (
            "hkcu.reg",
            export(&[(&format!("HKEY_CURRENT_USER\\{CONN}"), blob(2, 1, ""))]),
        ),
        ("compare.txt", not_found_capture()),
    ]);
    assert!(r.contains("direct"), "{r}");
}

#[test]
fn refuses_under_the_machine_wide_policy() {
    let case = root().join("fixtures/cases/policy");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = run_fix(&[&case], out_dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ProxySettingsPerUser = 0"));
}

#[test]
fn refuses_when_the_sensor_has_its_own_proxy() {
    let config = std::fs::read(root().join("fixtures/config/SensorConfiguration-proxy.json"))
        .expect("fixture");
    let r = refusal(&[
        (
            "hkcu.reg",
            export(&[(
                &format!("HKEY_CURRENT_USER\\{CONN}"),
                blob(2, 3, "proxy:8080"),
            )]),
        ),
        ("compare.txt", not_found_capture()),
        ("SensorConfiguration.json", config),
    ]);
    assert!(r.contains("installer"), "{r}");
}

/// Imports fix.reg into a throwaway Wine prefix and exports it back. Skips without Wine.
#[test]
fn wine_imports_fix_reg_byte_exact() {
    let wine = std::process::Command::new("wine").arg("--version").output();
    if !wine.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: wine is not installed (apt-get install wine64 to run this check)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_fix(
        &[Path::new("fixtures/uploads/contoso-dc01")],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let prefix = dir.path().join("prefix");
    // `timeout` bounds every Wine call, so a stuck wineserver cannot hang the suite.
    let run = |args: &[&str]| {
        std::process::Command::new("timeout")
            .arg("120")
            .arg("wine")
            .args(args)
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .env_remove("DISPLAY")
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("wine")
    };
    assert!(run(&["regedit", "/s", "fix.reg"]).success());
    assert!(run(&[
        "reg",
        "export",
        &format!("HKU\\S-1-5-18\\{CONN}"),
        "back.reg",
        "/y"
    ])
    .success());
    let back = std::fs::read(dir.path().join("back.reg")).expect("export");
    let original = std::fs::read(dir.path().join("fix.reg")).expect("fix");
    let want = utf16_to_string(&original[2..]);
    let got = utf16_to_string(&back[2..]);
    let section = |t: &str| t.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    assert_eq!(section(&got), section(&want));
}
