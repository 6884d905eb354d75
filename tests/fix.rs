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
    assert_eq!(changes[0]["shown"], "differs");
    assert_eq!(
        changes[0]["evidence"][0]["file"],
        "fixtures/uploads/contoso-dc01/compare-system.txt"
    );
    assert_eq!(changes[0]["evidence"][0]["line"], 3);
    assert_eq!(changes[1]["principal"], "local_service");
    assert_eq!(changes[1]["shown"], "missing");
    assert_eq!(
        summary["used"]["file"],
        "fixtures/uploads/contoso-dc01/hkcu-connections.reg"
    );
    assert_eq!(summary["conflict"], serde_json::json!([]));
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
    assert_eq!(p["header"], "Windows Registry Editor Version 5.00");
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Would write"));
    // Each file's content, not only its name.
    for name in ["fix.reg", "backup.cmd", "restore.cmd", "README.txt"] {
        assert!(stdout.contains(&format!("===== {name} =====")), "{name}");
    }
    assert!(
        stdout.contains("\nWindows Registry Editor Version 5.00\n; written by proxy-triage fix ")
    );
    assert!(stdout.contains("\n@echo off\nrem written by proxy-triage fix "));
    assert!(stdout.contains("What this copy does not fix"));
    assert!(!target.exists());

    let out = run_fix(&[case], &target, &["--dry-run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["written"], false);
    assert_eq!(doc["files"][0]["name"], "fix.reg");
    assert!(doc["files"][0]["content"]
        .as_str()
        .is_some_and(|c| c.starts_with("Windows Registry Editor Version 5.00\r\n; written by")));
    assert!(!target.exists());
}

#[test]
fn format_offers_only_table_and_json_and_unreadable_input_is_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = Path::new("fixtures/uploads/contoso-dc01");
    for bad in ["markdown", "csv", "jsonl"] {
        let out = run_fix(&[case], dir.path(), &["--format", bad]);
        assert_eq!(out.status.code(), Some(3), "--format {bad}");
    }
    let out = run_fix(
        &[Path::new("fixtures/no/such/upload.reg")],
        &dir.path().join("o"),
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("nothing to fix"));
    assert!(!dir.path().join("o").exists());
}

#[test]
fn readme_tells_the_admin_per_account_and_lists_the_other_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_fix(
        &[Path::new("fixtures/uploads/contoso-dc01")],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let readme = std::fs::read_to_string(dir.path().join("README.txt")).expect("readme");
    assert!(readme.starts_with("[written by proxy-triage fix "));
    assert!(readme.contains(
        "  LOCAL SYSTEM (S-1-5-18), the updater (AATPSensorUpdater):\r\n    its value differs from the current user's.\r\n    Evidence: fixtures/uploads/contoso-dc01/compare-system.txt:3\r\n"
    ));
    // The sensor log's 407 is not fixed by the copy: listed with its own action.
    assert!(readme.contains(
        "(proxy-auth-required)\r\n    Action: The proxy wants credentials the sensor does not send"
    ));
    assert!(readme
        .contains("Set-MDISensorProxyConfiguration -ProxyUrl 'http://proxy.contoso.com:8080'"));
    assert!(
        readme.contains("Note: proxy-auth-required means the proxy asks the sensor for a login.")
    );
    assert!(readme.contains("/tri/sensor/api/ping"));
    assert!(readme.contains("NT AUTHORITY\\LOCALSERVICE"));
    assert!(readme.contains("Bytes 4-7 of DefaultConnectionSettings are a change counter"));
    assert!(!readme.contains("Result Compared: Identical"));
    assert!(!readme.contains("503 means"));
}

fn write_case(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let case = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        let path = case.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, bytes).expect("write");
    }
    case
}

#[test]
fn a_case_showing_local_system_only_still_fixes_local_service() {
    let case = write_case(&[(
        "all.reg",
        export(&[
            (
                &format!("HKEY_CURRENT_USER\\{CONN}"),
                blob(7, 3, "proxy:8080"),
            ),
            (&format!("HKEY_USERS\\S-1-5-18\\{CONN}"), blob(2, 1, "")),
        ]),
    )]);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_fix(&[case.path()], dir.path(), &["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["changes"][0]["shown"], "differs");
    assert_eq!(doc["changes"][1]["principal"], "local_service");
    assert_eq!(doc["changes"][1]["shown"], "not_uploaded");
    let reg = utf16_to_string(&std::fs::read(dir.path().join("fix.reg")).expect("fix.reg")[2..]);
    assert!(reg.contains(&format!("[HKEY_USERS\\S-1-5-19\\{CONN}]")));
    let readme = std::fs::read_to_string(dir.path().join("README.txt")).expect("readme");
    assert!(
        readme.contains("nothing was uploaded for LOCAL SERVICE"),
        "{readme}"
    );
}

#[test]
fn disagreeing_uploads_are_refused_unless_use_picks_one() {
    let newer = blob(9, 3, "proxy-new:8080");
    let older = blob(4, 3, "proxy-old:3128");
    let case = write_case(&[
        (
            "new/hkcu.reg",
            export(&[(&format!("HKEY_CURRENT_USER\\{CONN}"), newer.clone())]),
        ),
        (
            "old/hkcu.reg",
            export(&[(&format!("HKEY_CURRENT_USER\\{CONN}"), older.clone())]),
        ),
        ("compare.txt", not_found_capture()),
    ]);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let target = out_dir.path().join("fix");
    let out = run_fix(&[case.path()], &target, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!target.exists(), "nothing written");
    let err = String::from_utf8_lossy(&out.stderr);
    let new_name = case.path().join("new/hkcu.reg");
    let old_name = case.path().join("old/hkcu.reg");
    assert!(err.contains(&*new_name.to_string_lossy()), "{err}");
    assert!(err.contains(&*old_name.to_string_lossy()), "{err}");
    assert!(err.contains("--use"), "{err}");

    // --use takes the path as typed: here with a `..` in it.
    let typed = case.path().join("new/../old/hkcu.reg");
    let out = run_fix(
        &[case.path()],
        &target,
        &["--use", &typed.to_string_lossy(), "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["used"]["file"], old_name.to_string_lossy().as_ref());
    assert_eq!(
        doc["conflict"][0]["file"],
        new_name.to_string_lossy().as_ref()
    );
    let hex: String = older.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(doc["changes"][0]["data_hex"], hex.as_str());
    let readme = std::fs::read_to_string(target.join("README.txt")).expect("readme");
    assert!(readme.contains("The uploads DISAGREE about the current user's value"));

    let out = run_fix(
        &[case.path()],
        &out_dir.path().join("x"),
        &["--use", "no/such/file.reg"],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run_fix(
        &[case.path()],
        &out_dir.path().join("x"),
        &["--use", "Cargo.toml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("to choose from"));
}

#[test]
fn the_tools_own_files_are_not_evidence() {
    // A fix written into the case folder, then fix run on that folder again: same value.
    let case = write_case(&[
        (
            "hkcu.reg",
            export(&[(&format!("HKEY_CURRENT_USER\\{CONN}"), blob(3, 3, "p:1"))]),
        ),
        ("compare.txt", not_found_capture()),
    ]);
    let first = run_fix(&[case.path()], &case.path().join("fix"), &[]);
    assert_eq!(first.status.code(), Some(0));
    let out_dir = tempfile::tempdir().expect("tempdir");
    let again = run_fix(&[case.path()], out_dir.path(), &["--format", "json"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("fix/fix.reg: written by proxy-triage fix"),
        "{err}"
    );
    for name in ["backup.cmd", "restore.cmd", "README.txt"] {
        assert!(
            err.contains(&format!("fix/{name}: written by proxy-triage fix")),
            "{name}: {err}"
        );
    }
    let doc: Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(doc["conflict"], serde_json::json!([]));

    // analyze lists them as inputs, ignored with the reason.
    let a = bin()
        .arg("analyze")
        .arg(case.path())
        .args(["--format", "json", "-q"])
        .output()
        .expect("analyze");
    let doc: Value = serde_json::from_slice(&a.stdout).expect("json");
    let inputs = doc["inputs"].as_array().expect("inputs");
    for name in ["fix.reg", "backup.cmd", "restore.cmd", "README.txt"] {
        let input = inputs
            .iter()
            .find(|i| {
                i["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with(&format!("fix/{name}")))
            })
            .unwrap_or_else(|| panic!("{name} not listed: {inputs:#?}"));
        assert!(
            input["ignored"]
                .as_str()
                .is_some_and(|r| r.contains("proxy-triage fix")),
            "{name}: {input}"
        );
    }
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

#[test]
fn the_readme_check_uses_the_workspace_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = Path::new("fixtures/uploads/contoso-dc01");
    let out = run_fix(&[case], dir.path(), &["--workspace", "contoso-corp"]);
    assert_eq!(out.status.code(), Some(0));
    let readme = std::fs::read_to_string(dir.path().join("README.txt")).expect("readme");
    assert!(readme.contains(
        "(Invoke-WebRequest -UseBasicParsing https://contoso-corpsensorapi.atp.azure.com/tri/sensor/api/ping)"
    ));
    assert!(!readme.contains("<workspace>"));
    // Without it (and no upload naming it) the README says what to put in.
    let case = tempfile::tempdir().expect("tempdir");
    for name in ["hkcu-connections.reg", "compare-1519.txt"] {
        std::fs::copy(
            root().join("fixtures/uploads/contoso-dc01").join(name),
            case.path().join(name),
        )
        .expect("copy");
    }
    let other = tempfile::tempdir().expect("tempdir");
    let out = run_fix(&[case.path()], other.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readme = std::fs::read_to_string(other.path().join("README.txt")).expect("readme");
    assert!(readme.contains("(<workspace> stands for your workspace name"));
}
