//! Binary registry hives: `proxy-triage parse` and the library reader on the fixtures of
//! fixtures/hives (made by fixtures/hives/generate.py with hivex; committed), plus hostile
//! hives built at run time for every cap.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use proxy_triage::artifact::{self, Content, Scope};
use proxy_triage::detect::Kind;
use proxy_triage::formats::reg_hive::build::HiveBuilder;
use proxy_triage::formats::reg_hive::log::{build_entry, build_log};
use proxy_triage::formats::reg_hive::{
    self, mount_from_path, read_paths, AttributedBy, Hive, HiveAccount, HiveError, HiveLimits,
    LogInput, USER_PROXY_KEYS,
};
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/hives")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

const LOCAL_SERVICE: &str = "kape/C/Windows/ServiceProfiles/LocalService/NTUSER.DAT";
const DEFAULT: &str = "kape/C/Windows/System32/config/DEFAULT";
const SOFTWARE: &str = "kape/C/Windows/System32/config/SOFTWARE";
const DIRTY: &str = "dirty/C/Windows/ServiceProfiles/LocalService/NTUSER.DAT";
const IS: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";
const CONN: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";

/// Runs `parse FILE [args]`, returns (exit code, JSON).
fn parse(path: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("proxy-triage")
        .unwrap()
        .arg("parse")
        .arg(path)
        .args(args)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    });
    (out.status.code().unwrap(), json)
}

fn key<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["path"] == path)
}

fn value<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    key(doc, path).unwrap_or_else(|| panic!("no key {path}"))["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no value {name} under {path}"))
}

fn codes(doc: &Value) -> Vec<String> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn kape_local_service_hive() {
    let (code, doc) = parse(&fixture(LOCAL_SERVICE), &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["kind"], "reg-hive");
    assert_eq!(doc["principal"], "local_service");
    assert_eq!(doc["attribution"], "path");
    assert_eq!(doc["mount"], "HKEY_USERS\\S-1-5-19");
    assert_eq!(doc["stale"], Value::Null);
    let hive = &doc["hive"];
    assert_eq!(hive["embedded_name"], "rofiles\\LocalService\\NTUSER.DAT");
    assert_eq!(hive["checksum_ok"], true);
    assert_eq!(hive["dirty"], false);
    assert_eq!(hive["truncated"], false);
    assert_eq!(hive["sequence"][0], hive["sequence"][1]);
    assert_eq!(value(&doc, IS, "ProxyEnable")["data"], 1);
    assert_eq!(
        value(&doc, IS, "ProxyServer")["data"],
        "proxy.contoso.com:3128"
    );
    let dcs = value(&doc, CONN, "DefaultConnectionSettings");
    assert_eq!(dcs["type"], "REG_BINARY");
    assert_eq!(dcs["type_code"], 3);
    // 0x46 layout, counter 12, flags 3, 22-byte proxy string.
    assert!(dcs["data_hex"]
        .as_str()
        .unwrap()
        .starts_with("460000000c000000030000001600000070726f7879"));
    // Keys stream parent first, the root as "".
    assert_eq!(doc["keys"][0]["path"], "");
    assert_eq!(doc["keys"][1]["path"], "Software");
    assert!(codes(&doc).is_empty(), "{:?}", doc["diagnostics"]);
    assert_eq!(doc["deleted"], serde_json::json!([]));
}

#[test]
fn reg_save_of_s_1_5_18_is_attributed_by_its_file_name() {
    let (_, doc) = parse(&fixture("reg-save-S-1-5-18.hiv"), &[]);
    assert_eq!(doc["principal"], "local_system");
    assert_eq!(doc["attribution"], "file-name");
    assert_eq!(doc["hive"]["minor_version"], 3);
    assert_eq!(doc["hive"]["embedded_name"], "");
    assert_eq!(
        value(&doc, IS, "ProxyServer")["data"],
        "proxy.contoso.com:8080"
    );
}

#[test]
fn kape_default_is_local_system() {
    let (_, doc) = parse(&fixture(DEFAULT), &[]);
    assert_eq!(doc["principal"], "local_system");
    assert_eq!(doc["attribution"], "path");
    assert_eq!(doc["mount"], "HKEY_USERS\\S-1-5-18");
    assert_eq!(value(&doc, IS, "ProxyEnable")["data"], 0);
    // Direct: flags 1, empty strings.
    assert!(value(&doc, CONN, "DefaultConnectionSettings")["data_hex"]
        .as_str()
        .unwrap()
        .starts_with("4600000003000000010000000000000000000000"));
}

#[test]
fn software_hive_policy_winhttp_and_big_data() {
    let (_, doc) = parse(&fixture(SOFTWARE), &[]);
    assert_eq!(doc["principal"], "machine");
    assert_eq!(doc["mount"], "HKEY_LOCAL_MACHINE\\SOFTWARE");
    let policy = "Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";
    assert_eq!(value(&doc, policy, "ProxySettingsPerUser")["data"], 0);
    let conn = "Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let winhttp = format!(
        "180000000000000003000000{}{}{}{}",
        "16000000",
        hex("proxy.contoso.com:8080"),
        "07000000",
        hex("<local>")
    );
    assert_eq!(
        value(&doc, conn, "WinHttpSettings")["data_hex"],
        winhttp.as_str()
    );
    // The big value comes back exactly from its db segments, without the 0xEE slack.
    let big = value(&doc, "Microsoft\\ProxyTriage\\BigData", "Big")["data_hex"]
        .as_str()
        .unwrap()
        .to_string();
    let want: String = (0..40000u32)
        .map(|i| format!("{:02x}", (i * 7 + 3) % 256))
        .collect();
    assert_eq!(big.len(), 80000);
    assert_eq!(big, want);
}

#[test]
fn deleted_connections_key_is_missing_and_listed_apart() {
    let (_, doc) = parse(&fixture("deleted-connections.hiv"), &[]);
    assert!(key(&doc, CONN).is_none());
    assert!(key(&doc, IS).is_some());
    let deleted = doc["deleted"].as_array().unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["name"], "Connections");
    assert_eq!(deleted[0]["parent"], IS);
    // The targeted reader says missing (not unknown), and never returns the remnant.
    let bytes = read("deleted-connections.hiv");
    let hive = Hive::open(&bytes, &[], HiveLimits::default()).unwrap();
    let mount = mount_from_path("x/deleted-connections.hiv", &hive.info().embedded_name);
    assert_eq!(mount.account, Some(HiveAccount::LocalService));
    assert_eq!(mount.attribution, Some(AttributedBy::EmbeddedName));
    let r = read_paths(&hive, &mount, &USER_PROXY_KEYS);
    assert_eq!(
        r.missing,
        vec![CONN.to_string(), USER_PROXY_KEYS[2].to_string()]
    );
    assert!(r.unreadable.is_empty());
    assert_eq!(r.export.keys.len(), 1);
}

#[test]
fn truncated_hive_reports_what_precedes_the_cut_and_unknown_after() {
    let (code, doc) = parse(&fixture("truncated.hiv"), &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["hive"]["truncated"], true);
    assert!(key(&doc, "Software\\Filler").is_some());
    assert!(key(&doc, CONN).is_none());
    assert!(codes(&doc).iter().all(|c| c == "hive-truncated"));
    assert_eq!(doc["diagnostics"][0]["offset"], 28672);
    let bytes = read("truncated.hiv");
    let hive = Hive::open(&bytes, &[], HiveLimits::default()).unwrap();
    let mount = mount_from_path("truncated.hiv", &hive.info().embedded_name);
    let r = read_paths(&hive, &mount, &[IS, CONN]);
    // Both depend on cells past the cut: unknown, never missing.
    assert!(r.missing.is_empty(), "{:?}", r.missing);
    let unknown: Vec<&str> = r.unreadable.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(unknown, vec![IS, CONN]);
    assert!(r
        .unreadable
        .iter()
        .all(|u| matches!(u.error, HiveError::Truncated { .. })));
}

#[test]
fn dirty_hive_replays_both_logs_skipping_the_stale_entry() {
    let (_, doc) = parse(&fixture(DIRTY), &[]);
    let hive = &doc["hive"];
    assert_eq!(hive["dirty"], true);
    assert_eq!(hive["sequence"], serde_json::json!([11, 10]));
    assert_eq!(
        hive["logs"],
        serde_json::json!([
            {"file": "NTUSER.DAT.LOG1", "applied": [10], "skipped": [9]},
            {"file": "NTUSER.DAT.LOG2", "applied": [11], "skipped": []}
        ])
    );
    assert_eq!(value(&doc, IS, "ProxyEnable")["data"], 1);
    assert_eq!(
        value(&doc, IS, "ProxyServer")["data"],
        "newproxy.contoso.com:8080"
    );
    assert!(codes(&doc).is_empty(), "{:?}", doc["diagnostics"]);
    // Byte for byte what hivex wrote for the newest state.
    let bytes = read(DIRTY);
    let log1 = read(&format!("{DIRTY}.LOG1"));
    let log2 = read(&format!("{DIRTY}.LOG2"));
    let logs = [
        LogInput {
            file: "NTUSER.DAT.LOG1",
            bytes: &log1,
        },
        LogInput {
            file: "NTUSER.DAT.LOG2",
            bytes: &log2,
        },
    ];
    let hive = Hive::open(&bytes, &logs, HiveLimits::default()).unwrap();
    assert_eq!(
        &hive.bytes().unwrap()[4096..],
        read("dirty-expected-bins.bin").as_slice()
    );
    assert!(!hive.base_block().dirty());
}

#[test]
fn dirty_hive_without_logs_is_read_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("NTUSER.DAT");
    std::fs::copy(fixture(DIRTY), &copy).unwrap();
    let (code, doc) = parse(&copy, &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["hive"]["logs"], serde_json::json!([]));
    assert_eq!(codes(&doc), vec!["hive-dirty-no-logs"]);
    // The older state the primary file holds.
    assert_eq!(value(&doc, IS, "ProxyEnable")["data"], 0);
}

#[test]
fn logs_are_not_hives() {
    let (_, doc) = parse(&fixture(&format!("{DIRTY}.LOG1")), &[]);
    assert_eq!(doc["kind"], "reg-hive-log");
    assert_eq!(codes(&doc), vec!["hive-log"]);
    let files: Vec<(String, Vec<u8>)> = ["", ".LOG1", ".LOG2"]
        .iter()
        .map(|ext| (format!("{DIRTY}{ext}"), read(&format!("{DIRTY}{ext}"))))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    assert_eq!(
        reg_hive::pair_logs(&refs),
        vec![
            reg_hive::HiveFileRole::Hive,
            reg_hive::HiveFileRole::Log { hive: Some(0) },
            reg_hive::HiveFileRole::Log { hive: Some(0) },
        ]
    );
}

#[test]
fn analyser_scope_gives_full_paths_like_a_reg_export() {
    let a = artifact::parse_bytes(LOCAL_SERVICE, &read(LOCAL_SERVICE), Scope::ProxyRelevant);
    assert_eq!(a.kind, Kind::RegHive);
    let Content::RegHive(hive) = &a.content else {
        panic!("{:?}", a.content)
    };
    let export = &hive.export;
    let paths: Vec<&str> = export.keys.iter().map(|k| k.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "HKEY_USERS\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings",
            "HKEY_USERS\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections",
        ]
    );
    let dcs = &export.keys[1].values[0];
    assert_eq!(dcs.name, "DefaultConnectionSettings");
    assert_eq!(dcs.bytes.as_ref().unwrap()[..4], [0x46, 0, 0, 0]);
    // The absent policy key is reported as missing, not as an error.
    assert!(a
        .diagnostics
        .iter()
        .any(|d| d.code == "hive-key-missing" && d.message.contains("Policies")));
}

#[test]
fn paged_reads_match_in_memory_reads() {
    for rel in [
        LOCAL_SERVICE,
        DEFAULT,
        SOFTWARE,
        "deleted-connections.hiv",
        "truncated.hiv",
    ] {
        let bytes = read(rel);
        let mem = Hive::open(&bytes, &[], HiveLimits::default()).unwrap();
        let file = std::fs::File::open(fixture(rel)).unwrap();
        let paged = Hive::open_file(file, &[], HiveLimits::default()).unwrap();
        assert!(paged.bytes().is_none());
        assert_eq!(mem.info(), paged.info());
        let mount = mount_from_path(rel, &mem.info().embedded_name);
        let paths = reg_hive::proxy_key_paths(None);
        let (a, b) = (
            read_paths(&mem, &mount, &paths),
            read_paths(&paged, &mount, &paths),
        );
        assert_eq!(
            format!("{:?}", a.export.keys),
            format!("{:?}", b.export.keys),
            "{rel}"
        );
        assert_eq!(a.missing, b.missing, "{rel}");
        assert_eq!(a.unreadable, b.unreadable, "{rel}");
    }
    // The analyser's entry point on a file.
    let file = std::fs::File::open(fixture(SOFTWARE)).unwrap();
    let a = artifact::read_hive_file(SOFTWARE, file, &[], HiveLimits::default());
    let Content::RegHive(hive) = &a.content else {
        panic!("{:?}", a.content)
    };
    let export = &hive.export;
    assert_eq!(
        export.keys[1].path,
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"
    );
    assert_eq!(export.keys[1].values[0].name, "WinHttpSettings");
    assert!(a.diagnostics.iter().any(|d| d.code == "hive-attribution"
        && d.message == "HKEY_LOCAL_MACHINE\\SOFTWARE by the collection path"));
}

#[test]
fn stale_copies_are_flagged_and_not_mounted() {
    let name = "C/Windows/System32/config/RegBack/DEFAULT";
    let a = artifact::parse_bytes(name, &read(DEFAULT), Scope::ProxyRelevant);
    let Content::RegHive(hive) = &a.content else {
        panic!("{:?}", a.content)
    };
    let export = &hive.export;
    assert_eq!(export.keys[0].path, IS);
    let stale = a
        .diagnostics
        .iter()
        .find(|d| d.code == "hive-stale-copy")
        .unwrap();
    assert!(
        stale
            .message
            .starts_with("HKEY_USERS\\S-1-5-18 by the collection path"),
        "{}",
        stale.message
    );
}

#[test]
fn parse_table_of_a_hive() {
    let out = Command::cargo_bin("proxy-triage")
        .unwrap()
        .args(["parse", "--format", "table"])
        .arg(fixture(SOFTWARE))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ProxySettingsPerUser"), "{text}");
}

// ---------------------------------------------------------------- caps ---

/// A small valid hive: ROOT\Software\<name> with one value.
fn small_hive() -> (HiveBuilder, u32) {
    let mut b = HiveBuilder::new();
    let v = b.value("ProxyEnable", 4, &1u32.to_le_bytes());
    let k = b.key("Internet Settings", &[], &[v]);
    let sw = b.key("Software", &[k], &[]);
    let root = b.key("ROOT", &[sw], &[]);
    (b, root)
}

fn walk_all(hive: &Hive<'_>) -> (usize, Vec<HiveError>) {
    let mut keys = 0;
    let mut problems = Vec::new();
    hive.walk(
        |_| {
            keys += 1;
            Ok(())
        },
        |e| problems.push(e),
    )
    .unwrap();
    (keys, problems)
}

#[test]
fn cap_hive_size_flag() {
    // A 2 MiB hive refused under --max-hive-mib 1, read under the default.
    let mut b = HiveBuilder::new();
    let v = b.value("Filler", 3, &vec![0x5a; 2 << 20]);
    let root = b.key("ROOT", &[], &[v]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.hiv");
    std::fs::write(&path, b.finish(root)).unwrap();
    let (code, doc) = parse(&path, &["--max-hive-mib", "1"]);
    assert_eq!(code, 2);
    assert_eq!(codes(&doc), vec!["hive-too-large"]);
    let (code, doc) = parse(&path, &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["keys"][0]["values"][0]["name"], "Filler");
}

#[test]
fn cap_value_size() {
    // A value claiming 2 GiB at the end of the file, and one just over a small cap.
    let (mut b, _) = small_hive();
    let huge = b.value("Huge", 3, &[1, 2, 3, 4, 5, 6, 7, 8]);
    b.patch_u32(huge, 4, 0x7FFF_FFF0);
    let ok = b.value("Ok", 3, &[9u8; 64]);
    let root = b.key("ROOT", &[], &[huge, ok]);
    let bytes = b.finish(root);
    let limits = HiveLimits {
        max_value_bytes: 32,
        ..HiveLimits::default()
    };
    let hive = Hive::open(&bytes, &[], limits).unwrap();
    let (values, errors) = hive.values(&hive.root().unwrap());
    assert!(values.is_empty());
    assert!(matches!(
        errors[0],
        HiveError::ValueTooLarge {
            size: 0x7FFF_FFF0,
            cap: 32,
            ..
        }
    ));
    assert!(matches!(
        errors[1],
        HiveError::ValueTooLarge {
            size: 64,
            cap: 32,
            ..
        }
    ));
    // Under the default cap the huge claim is an error about the cell, never an allocation.
    let hive = Hive::open(&bytes, &[], HiveLimits::default()).unwrap();
    let (values, errors) = hive.values(&hive.root().unwrap());
    assert_eq!(values.len(), 1);
    assert!(matches!(errors[0], HiveError::ValueTooLarge { .. }));
}

#[test]
fn cap_key_depth() {
    let mut b = HiveBuilder::new();
    let mut child = b.key("leaf", &[], &[]);
    for i in 0..700 {
        child = b.key(&format!("k{i}"), &[child], &[]);
    }
    let root = b.key("ROOT", &[child], &[]);
    let bytes = b.finish(root);
    let hive = Hive::open(&bytes, &[], HiveLimits::default()).unwrap();
    let (keys, problems) = walk_all(&hive);
    assert_eq!(keys, 513);
    assert!(matches!(
        problems[..],
        [HiveError::TooDeep { cap: 512, .. }]
    ));
    let deep: Vec<String> = (100..700).rev().map(|i| format!("k{i}")).collect();
    let deep = deep.join("\\");
    assert!(matches!(
        hive.find_key(&deep),
        Err(HiveError::TooDeep { .. })
    ));
}

#[test]
fn cap_subkey_list_loops() {
    // Software's list names ROOT (its parent) and itself.
    let (mut b, _) = small_hive();
    let sw = b.key("Loop", &[], &[]);
    let list = b.cell(&{
        let mut lf = b"lf".to_vec();
        lf.extend_from_slice(&3u16.to_le_bytes());
        for _ in 0..3 {
            lf.extend_from_slice(&0u32.to_le_bytes());
            lf.extend_from_slice(b"xxxx");
        }
        lf
    });
    let root = b.key("ROOT", &[sw], &[]);
    for (i, target) in [root, sw, sw].iter().enumerate() {
        b.patch_u32(list, 4 + 8 * i, *target);
    }
    b.patch_u32(sw, 20, 3);
    b.patch_u32(sw, 28, list);
    let bytes = b.finish(root);
    let hive = Hive::open(&bytes, &[], HiveLimits::default()).unwrap();
    let start = Instant::now();
    let (keys, problems) = walk_all(&hive);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(keys, 2);
    assert_eq!(problems.len(), 3);
    assert!(problems.iter().all(|p| matches!(p, HiveError::Loop { .. })));
    // The targeted reader descends named paths only: it ends too.
    assert!(hive.find_key("Loop\\Loop\\Loop\\x").unwrap().is_none());
}

#[test]
fn cap_log_growth() {
    // A dirty 8 KiB hive with a 1.5 KiB log whose entry claims a 4 GiB hive.
    let (b, root) = small_hive();
    let mut bytes = b.finish(root);
    bytes[4] = 2; // primary 2, secondary 1: dirty
    proxy_triage::formats::reg_hive::base_block::store_checksum(&mut bytes);
    let log = build_log(&bytes, &[build_entry(1, 0xFFFF_F000, &[(0, &[0u8; 512])])]);
    assert_eq!(log.len(), 1536);
    let logs = [LogInput {
        file: "h.LOG1",
        bytes: &log,
    }];
    let hive = Hive::open(&bytes, &logs, HiveLimits::default()).unwrap();
    assert_eq!(
        hive.bytes().unwrap().len(),
        bytes.len(),
        "nothing applied, nothing grown"
    );
    assert_eq!(hive.info().logs[0].applied, Vec::<u32>::new());
    assert!(hive
        .open_diagnostics()
        .iter()
        .any(|d| d.code == "hive-too-large"));
    // A hive read whole over the cap is refused before anything is parsed.
    let small = HiveLimits {
        max_hive_bytes: 4096,
        ..HiveLimits::default()
    };
    assert!(matches!(
        Hive::open(&bytes, &[], small),
        Err(HiveError::TooLarge { .. })
    ));
}

// ---------------------------------------------------------------- analyze on collections ---

/// Runs `analyze PATH --format FORMAT -q` from the repository root; returns (exit code, stdout).
fn analyze_as(path: &Path, format: &str) -> (i32, String) {
    let out = Command::cargo_bin("proxy-triage")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("analyze")
        .arg(path)
        .args(["--format", format, "-q"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The first case of `analyze PATH --format json`.
fn analyze(path: &Path) -> Value {
    let (_, out) = analyze_as(path, "json");
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    doc["cases"][0].clone()
}

fn input<'a>(case: &'a Value, ends_with: &str) -> &'a Value {
    case["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["file"].as_str().unwrap().ends_with(ends_with))
        .unwrap_or_else(|| panic!("no input {ends_with}: {:#}", case["inputs"]))
}

fn diag_codes(input: &Value) -> Vec<&str> {
    input["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect()
}

const SERVICE_HIVE: &str = "C/Windows/ServiceProfiles/LocalService/NTUSER.DAT";

/// A KAPE-style collection: the dirty LOCAL SERVICE hive is replayed from its logs (the
/// primary file alone says direct, the logs set the proxy), its evidence cites the hive and
/// the key and is attributed by the collection path; the logs are inputs, not evidence; the
/// RegBack copy of DEFAULT (which shows a proxy) is flagged stale and never evidence.
#[test]
fn analyze_replays_a_dirty_hive_of_a_collection() {
    let c = analyze(&fixture("cases/kape-dirty"));
    let ls = &c["principals"]["local_service"];
    assert_eq!(ls["state"], "configured", "{c:#}");
    assert_eq!(ls["settings"]["proxy_server"], "proxy.contoso.com:3128");
    let ev = ls["evidence"].as_array().unwrap();
    let conn = ev
        .iter()
        .find(|e| e["key"] == CONN)
        .unwrap_or_else(|| panic!("{ev:#?}"));
    assert!(conn["file"].as_str().unwrap().ends_with(SERVICE_HIVE));
    assert!(conn["line"].is_null());
    assert_eq!(conn["attribution"], "path");
    assert!(ev.iter().all(|e| e["attribution"] == "path"));

    let hive = input(&c, SERVICE_HIVE);
    assert_eq!(hive["kind"], "reg-hive");
    assert!(hive["ignored"].is_null());
    assert!(!diag_codes(hive).contains(&"hive-dirty-no-logs"));
    let log1 = input(&c, "NTUSER.DAT.LOG1");
    assert_eq!(log1["kind"], "reg-hive-log");
    assert_eq!(
        log1["ignored"],
        "transaction log of NTUSER.DAT, replayed: entries 10 applied; entries 9 skipped (stale, or after a damaged entry)"
    );
    let log2 = input(&c, "NTUSER.DAT.LOG2");
    assert_eq!(
        log2["ignored"],
        "transaction log of NTUSER.DAT, replayed: entries 11 applied"
    );
    // No need for the logs: they were there.
    assert!(!c["needs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["what"].as_str().unwrap().contains(".LOG1")));

    // LOCAL SYSTEM from the live DEFAULT (direct), never from the RegBack copy (a proxy).
    let lsys = &c["principals"]["local_system"];
    assert_eq!(lsys["state"], "direct");
    assert!(lsys["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["file"].as_str().unwrap().ends_with("config/DEFAULT")
            && e["attribution"] == "path"));
    let stale = input(&c, "RegBack/DEFAULT");
    assert_eq!(stale["kind"], "reg-hive");
    assert!(stale["ignored"]
        .as_str()
        .unwrap()
        .starts_with("stale copy of a hive (a RegBack backup)"));
    assert!(diag_codes(stale).contains(&"hive-stale-copy"));
    assert!(!serde_json::to_string(&c["principals"])
        .unwrap()
        .contains("RegBack"));
}

/// The same collection without the logs: the primary file is read as it is (direct), with a
/// warning on the input and a non-blocking need for NAME.LOG1/NAME.LOG2.
#[test]
fn analyze_dirty_hive_without_logs_warns_and_asks_for_them() {
    let c = analyze(&fixture("cases/kape-dirty-no-logs"));
    let ls = &c["principals"]["local_service"];
    assert_eq!(ls["state"], "direct", "{c:#}");
    let hive = input(&c, SERVICE_HIVE);
    assert!(hive["ignored"].is_null());
    assert!(diag_codes(hive).contains(&"hive-dirty-no-logs"), "{hive:#}");
    let needs = c["needs"].as_array().unwrap();
    let need = needs
        .iter()
        .find(|n| {
            n["what"]
                .as_str()
                .unwrap()
                .contains("NTUSER.DAT.LOG1 and NTUSER.DAT.LOG2")
        })
        .unwrap_or_else(|| panic!("{needs:#?}"));
    assert_eq!(need["blocking"], false);
    assert_eq!(need["principal"], "local_service");
    assert!(need["what"].as_str().unwrap().contains(SERVICE_HIVE));
    assert_eq!(
        need["command"],
        "reg save \"HKU\\S-1-5-19\" hku-s-1-5-19.hiv /y"
    );
}

/// Logs pair with their hive inside a zip too; a log without its hive is listed with why.
#[test]
fn analyze_pairs_logs_inside_an_archive_and_reports_orphans() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("collection.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for ext in ["", ".LOG1", ".LOG2"] {
        w.start_file(format!("{SERVICE_HIVE}{ext}"), opts).unwrap();
        w.write_all(&read(&format!("{DIRTY}{ext}"))).unwrap();
    }
    // A log whose hive (DEFAULT) is not in the archive.
    w.start_file("C/Windows/System32/config/DEFAULT.LOG1", opts)
        .unwrap();
    w.write_all(&read(&format!("{DIRTY}.LOG1"))).unwrap();
    w.finish().unwrap();
    let c = analyze(&zip_path);
    assert_eq!(
        c["principals"]["local_service"]["settings"]["proxy_server"], "proxy.contoso.com:3128",
        "{c:#}"
    );
    let log1 = input(&c, &format!("collection.zip!{SERVICE_HIVE}.LOG1"));
    assert!(log1["ignored"]
        .as_str()
        .unwrap()
        .starts_with("transaction log of NTUSER.DAT, replayed: entries 10 applied"));
    let orphan = input(&c, "DEFAULT.LOG1");
    assert_eq!(orphan["kind"], "reg-hive-log");
    assert_eq!(
        orphan["ignored"],
        "transaction log of the hive DEFAULT, which is not among the uploads; not used"
    );
    assert!(c["principals"]["local_system"]["evidence"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Attribution of loose hives: the embedded name is the hive's own content; a `reg save`
/// named only by its file name is an assumption. A deleted Connections key is the value
/// missing; a key past a truncation is unknown, never missing.
#[test]
fn analyze_loose_hives_attribution_and_absence() {
    let c = analyze(&fixture("deleted-connections.hiv"));
    let ls = &c["principals"]["local_service"];
    assert_eq!(ls["state"], "missing", "{c:#}");
    let ev = ls["evidence"].as_array().unwrap();
    assert!(ev
        .iter()
        .any(|e| e["key"] == CONN && e["attribution"] == "content"));

    let c = analyze(&fixture("reg-save-S-1-5-18.hiv"));
    let lsys = &c["principals"]["local_system"];
    assert_eq!(lsys["state"], "configured");
    assert!(lsys["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["attribution"] == "file-name"));
    assert!(lsys["assumptions"][0]
        .as_str()
        .unwrap()
        .contains("because of its file name only"));

    let c = analyze(&fixture("truncated.hiv"));
    assert_eq!(
        c["principals"]["local_service"]["state"], "unknown",
        "{c:#}"
    );
}

/// The human reports cite the hive and the key path.
#[test]
fn reports_cite_the_hive_and_the_key() {
    let (_, md) = analyze_as(&fixture("cases/kape-dirty"), "markdown");
    assert!(
        md.contains("C/Windows/ServiceProfiles/LocalService/NTUSER.DAT \\[Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Internet Settings\\\\Connections\\]"),
        "{md}"
    );
    let (_, table) = analyze_as(&fixture("cases/kape-dirty"), "table");
    let flat: String = table
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect();
    assert!(flat.contains("LocalService/N"), "{table}");
    assert!(table.contains("[Software\\Microsoft"), "{table}");
}
