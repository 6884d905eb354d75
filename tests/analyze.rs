//! `analyze` end to end on tickets built like real ones (fixtures/generate_cases.py).

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::cargo_bin("proxy-triage").expect("binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("NO_COLOR");
    c
}

/// Runs `analyze PATH --format json` and returns (exit code, document).
fn analyze(paths: &[&str]) -> (i32, Value) {
    let out = bin()
        .arg("analyze")
        .args(paths)
        .args(["--format", "json", "-q"])
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    (out.status.code().unwrap_or(-1), doc)
}

fn findings(case: &Value) -> Vec<(String, Option<String>)> {
    case["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or("").to_string(),
                f["principal"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn finding<'a>(case: &'a Value, id: &str) -> &'a Value {
    case["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id} in {case:#}"))
}

fn has(case: &Value, id: &str, principal: Option<&str>) -> bool {
    findings(case)
        .iter()
        .any(|(i, p)| i == id && p.as_deref() == principal)
}

fn one_case(path: &str) -> (i32, Value) {
    let (code, doc) = analyze(&[path]);
    let case = doc["cases"][0].clone();
    assert_eq!(doc["schema_version"], 2);
    (code, case)
}

#[test]
fn example_ticket_is_misconfigured_with_evidence() {
    let (code, case) = one_case("fixtures/uploads/contoso-dc01");
    assert_eq!(code, 1);
    assert_eq!(case["case"], "contoso-dc01");
    assert_eq!(case["verdict"], "misconfigured");
    assert!(has(&case, "proxy-differs", Some("local_system")));
    // compare-1519.txt has no echoed command: the account comes from the file name.
    assert!(has(&case, "proxy-missing", Some("local_service")));
    assert!(has(&case, "proxy-auth-required", None));
    assert!(has(&case, "winhttp-mismatch", Some("winhttp")));
    let missing = finding(&case, "proxy-missing");
    assert_eq!(missing["severity"], "error");
    assert_eq!(
        missing["evidence"][0]["file"],
        "fixtures/uploads/contoso-dc01/compare-1519.txt"
    );
    assert_eq!(missing["evidence"][0]["line"], 1);
    let log = finding(&case, "proxy-auth-required");
    // The line carrying the 407 (the record starts on line 3), and its text.
    assert_eq!(log["evidence"][0]["line"], 4);
    assert_eq!(log["evidence"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        log["excerpt"],
        "---> System.Net.Http.HttpRequestException: Response status code does not indicate success: 407 (Proxy Authentication Required)."
    );
    let p = &case["principals"];
    assert_eq!(p["current_user"]["state"], "configured");
    assert_eq!(
        p["current_user"]["settings"]["proxy_server"],
        "proxy.contoso.com:8080"
    );
    assert_eq!(p["local_system"]["state"], "direct");
    assert_eq!(p["local_system"]["settings"]["flags"], 9);
    assert_eq!(p["local_service"]["state"], "missing");
    assert_eq!(p["winhttp"]["state"], "direct");
}

#[test]
fn example_ticket_lists_every_input_with_its_kind() {
    let (_, doc) = analyze(&["fixtures/uploads/contoso-dc01"]);
    let kinds: Vec<(String, String)> = doc["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            let f = i["file"].as_str().unwrap_or("");
            let name = Path::new(f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, i["kind"].as_str().unwrap_or("").to_string())
        })
        .collect();
    for (file, kind) in [
        ("compare-1519.txt", "reg-compare"),
        ("compare-system.txt", "reg-compare"),
        ("customer-notes.txt", "unknown"),
        ("hkcu-connections.reg", "reg-export"),
        ("netsh-winhttp.txt", "netsh-winhttp"),
        ("Microsoft.Tri.Sensor-Errors.log", "sensor-log"),
    ] {
        assert!(
            kinds.contains(&(file.to_string(), kind.to_string())),
            "{file} as {kind} in {kinds:?}"
        );
    }
    assert!(doc["inputs"].as_array().is_some_and(|a| a
        .iter()
        .all(|i| i["error"].is_null() && i["case"] == "contoso-dc01")));
}

#[test]
fn proxy_missing_from_the_documented_not_found_error() {
    let (code, case) = one_case("fixtures/cases/missing");
    assert_eq!(code, 1);
    assert_eq!(
        findings(&case),
        vec![("proxy-missing".into(), Some("local_system".into()))]
    );
    assert_eq!(case["principals"]["local_system"]["state"], "missing");
}

#[test]
fn proxy_differs_when_local_system_has_another_proxy() {
    let (code, case) = one_case("fixtures/cases/differs");
    assert_eq!(code, 1);
    assert_eq!(case["verdict"], "misconfigured");
    let f = finding(&case, "proxy-differs");
    assert_eq!(f["principal"], "local_system");
    let title = f["title"].as_str().unwrap_or("");
    assert!(
        title.contains("the proxy server") && title.contains("the bypass list"),
        "{title}"
    );
    assert!(!title.contains("proxy_server"), "{title}");
    assert_eq!(f["evidence"][0]["line"], 2);
}

#[test]
fn proxy_equivalent_is_the_harmless_different() {
    let (code, case) = one_case("fixtures/cases/equivalent");
    assert_eq!(code, 0);
    assert_eq!(case["verdict"], "healthy");
    assert!(has(&case, "proxy-equivalent", Some("local_system")));
    assert!(has(&case, "proxy-equivalent", Some("local_service")));
    assert!(!has(&case, "proxy-differs", Some("local_system")));
}

#[test]
fn proxy_matches_from_one_export() {
    let (code, case) = one_case("fixtures/cases/matches");
    assert_eq!(code, 0);
    assert_eq!(case["verdict"], "healthy");
    assert!(has(&case, "proxy-matches", Some("local_system")));
    assert!(has(&case, "proxy-matches", Some("local_service")));
}

#[test]
fn route_findings_bypass_and_https() {
    let (code, case) = one_case("fixtures/cases/route");
    assert_eq!(code, 0);
    let bypass = finding(&case, "endpoint-bypassed");
    assert_eq!(bypass["principal"], "local_system");
    assert!(bypass["title"]
        .as_str()
        .unwrap_or("")
        .contains("*.azure.com"));
    assert_eq!(
        finding(&case, "https-not-proxied")["principal"],
        "local_service"
    );
}

#[test]
fn pac_only_for_pac_accounts() {
    let (_, case) = one_case("fixtures/cases/pac");
    assert!(has(&case, "pac-only", Some("current_user")));
    assert!(has(&case, "pac-only", Some("local_system")));
    assert_eq!(finding(&case, "pac-only")["severity"], "warning");
}

#[test]
fn machine_wide_policy_suppresses_per_user_findings() {
    let (code, case) = one_case("fixtures/cases/policy");
    assert_eq!(code, 0);
    assert_eq!(
        findings(&case),
        vec![("machine-wide-policy".into(), Some("machine".into()))]
    );
    assert_eq!(case["principals"]["machine"]["state"], "configured");
    assert_eq!(case["verdict"], "healthy");
}

#[test]
fn winhttp_mismatch_when_netsh_is_direct() {
    let (_, case) = one_case("fixtures/cases/winhttp");
    let f = finding(&case, "winhttp-mismatch");
    assert_eq!(f["principal"], "winhttp");
    assert_eq!(f["evidence"][0]["file"], "fixtures/cases/winhttp/netsh.txt");
}

#[test]
fn empty_capture_is_a_warning_and_inconclusive() {
    let (code, case) = one_case("fixtures/cases/empty");
    assert_eq!(code, 0);
    assert_eq!(case["verdict"], "inconclusive");
    assert_eq!(findings(&case), vec![("capture-empty".into(), None)]);
}

#[test]
fn truncated_powershell_table_is_never_decoded() {
    let (code, case) = one_case("fixtures/cases/truncated");
    assert_eq!(code, 0);
    assert_eq!(case["verdict"], "inconclusive");
    assert!(has(&case, "capture-truncated", None));
    assert!(case["principals"]["local_system"]["settings"].is_null());
}

#[test]
fn captured_503_is_probe_ok() {
    let (_, case) = one_case("fixtures/cases/probe-ok");
    let f = finding(&case, "probe-ok");
    assert_eq!(f["severity"], "info");
    assert_eq!(f["evidence"][0]["line"], 2);
    assert_eq!(case["probe"]["status"], 503);
    assert_eq!(case["probe"]["outcome"], "reachable");
}

#[test]
fn sensor_log_alone_is_misconfigured() {
    let (code, case) = one_case("fixtures/cases/log407");
    assert_eq!(code, 1);
    assert_eq!(case["verdict"], "misconfigured");
    assert_eq!(finding(&case, "proxy-auth-required")["severity"], "error");
}

#[test]
fn conflicting_uploads_keep_the_worst_reading() {
    let (code, case) = one_case("fixtures/cases/conflict");
    assert_eq!(code, 1);
    assert!(has(&case, "proxy-missing", Some("local_system")));
    let c = finding(&case, "evidence-conflict");
    let files: Vec<&str> = c["evidence"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["file"].as_str()).collect())
        .unwrap_or_default();
    assert!(files.contains(&"fixtures/cases/conflict/new-compare.txt"));
    assert!(files.contains(&"fixtures/cases/conflict/old-export.reg"));
    assert!(!has(&case, "proxy-matches", Some("local_system")));
    assert_eq!(case["principals"]["local_system"]["state"], "missing");
}

#[test]
fn capture_without_account_is_not_guessed() {
    let (code, case) = one_case("fixtures/cases/unattributed");
    assert_eq!(code, 0);
    assert_eq!(case["verdict"], "inconclusive");
    assert!(has(&case, "capture-unattributed", None));
    assert!(!has(&case, "proxy-missing", Some("local_system")));
    assert_eq!(
        case["unattributed"][0]["file"],
        "fixtures/cases/unattributed/output.txt"
    );
}

#[test]
fn identical_under_od_is_known_but_without_content() {
    let (code, case) = one_case("fixtures/cases/identical-od");
    assert_eq!(code, 0);
    // LOCAL SYSTEM is known (identical), LOCAL SERVICE is not: no verdict without it.
    assert_eq!(case["verdict"], "inconclusive");
    let needs = case["needs"].as_array().unwrap();
    assert!(needs
        .iter()
        .any(|n| n["principal"] == "local_service" && n["blocking"] == true));
    // LOCAL SYSTEM equals the current user, so the user's export answers it.
    assert!(needs.iter().any(|n| n["principal"] == "current_user"
        && n["blocking"] == true
        && n["command"]
            .as_str()
            .unwrap_or("")
            .starts_with("reg export \"HKCU\\")));
    assert!(has(&case, "proxy-matches", Some("local_system")));
    assert!(case["principals"]["local_system"]["summary"]
        .as_str()
        .unwrap_or("")
        .contains("content not shown"));
}

#[test]
fn nested_zip_is_read_in_memory() {
    let (code, case) = one_case("fixtures/cases/zipped.zip");
    assert_eq!(code, 1);
    assert_eq!(case["case"], "zipped.zip");
    let f = finding(&case, "proxy-missing");
    assert_eq!(f["principal"], "local_system");
    let files: Vec<&str> = f["evidence"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["file"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        files.contains(&"fixtures/cases/zipped.zip!ticket/more/inner.zip!compare-1518.txt"),
        "{files:?}"
    );
    assert!(
        files.contains(&"fixtures/cases/zipped.zip!ticket/hkcu.reg"),
        "{files:?}"
    );
}

#[test]
fn batch_jsonl_is_one_case_per_entry_in_order() {
    let out = bin()
        .args([
            "analyze",
            "--batch",
            "fixtures/cases",
            "--format",
            "jsonl",
            "-q",
            "--threads",
            "2",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf8");
    let names: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("one JSON object per line")["case"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let mut expected: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cases"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn a_large_batch_prints_every_case_once_in_input_order_from_any_number_of_workers() {
    // 300 cases on 3 workers: runs of 6 cases each, finished out of order by the workers
    // and printed by whichever worker holds the next one.
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cases");
    let sources = ["missing", "differs", "matches", "log407"];
    let mut expected = Vec::new();
    for i in 0..300 {
        let source = sources[i % sources.len()];
        let name = format!("ticket-{i:03}-{source}");
        let case = dir.path().join(&name);
        std::fs::create_dir(&case).expect("case dir");
        for entry in std::fs::read_dir(fixtures.join(source)).expect("fixture dir") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), case.join(entry.file_name())).expect("copy");
        }
        expected.push(name);
    }
    for threads in ["1", "3"] {
        let out = bin()
            .args(["analyze", "--batch"])
            .arg(dir.path())
            .args(["--format", "jsonl", "--threads", threads])
            .output()
            .expect("run");
        let text = String::from_utf8(out.stdout).expect("utf8");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        let names: Vec<&str> = lines.iter().filter_map(|l| l["case"].as_str()).collect();
        assert_eq!(names, expected, "--threads {threads}");
        // The same case gives the same verdict wherever it falls in the batch.
        for (line, name) in lines.iter().zip(&expected) {
            let want = if name.ends_with("matches") {
                "healthy"
            } else {
                "misconfigured"
            };
            assert_eq!(line["verdict"], want, "{name}");
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("300 cases"), "{stderr}");
    }
}

#[test]
fn stdin_is_a_case_of_its_own() {
    let capture = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cases/missing/compare.txt"),
    )
    .expect("fixture");
    let out = bin()
        .args(["analyze", "-", "--format", "json", "-q"])
        .write_stdin(capture)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["cases"][0]["case"], "stdin");
    assert!(has(&doc["cases"][0], "proxy-missing", Some("local_system")));
}

#[test]
fn a_path_that_does_not_exist_exits_2_without_a_fake_case() {
    let out = bin()
        .args([
            "analyze",
            "fixtures/cases/missing",
            "fixtures/cases/does-not-exist",
            "--format",
            "json",
            "-q",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["cases"].as_array().map(Vec::len), Some(1));
    assert!(has(&doc["cases"][0], "proxy-missing", Some("local_system")));
    // -q never hides why an input could not be read.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fixtures/cases/does-not-exist"), "{err}");
}

#[test]
fn no_paths_is_a_usage_error() {
    bin().arg("analyze").assert().code(3);
    bin()
        .args(["analyze", "--format", "yaml", "x"])
        .assert()
        .code(3);
}

#[test]
fn healthy_case_exits_0() {
    bin()
        .args(["analyze", "fixtures/cases/matches", "-q"])
        .assert()
        .code(0);
}

fn render(format: &str) -> String {
    let out = bin()
        .args([
            "analyze",
            "fixtures/uploads/contoso-dc01",
            "--format",
            format,
            "--color",
            "never",
            "-q",
        ])
        .output()
        .expect("run");
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn snapshot_table() {
    insta::assert_snapshot!("table", render("table"));
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!("markdown", render("markdown"));
}

#[test]
fn snapshot_csv() {
    insta::assert_snapshot!("csv", render("csv"));
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!("json", render("json"));
}

#[test]
fn table_colours_only_when_asked() {
    let plain = render("table");
    assert!(!plain.contains('\u{1b}'));
    let out = bin()
        .args([
            "analyze",
            "fixtures/uploads/contoso-dc01",
            "--color",
            "always",
            "-q",
        ])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\u{1b}[1;31mMISCONFIGURED"));
}

#[test]
fn captured_407_is_probe_failed() {
    let (code, case) = one_case("fixtures/cases/probe-failed");
    assert_eq!(code, 1);
    let f = finding(&case, "probe-failed");
    assert_eq!(f["severity"], "error");
    assert!(f["principal"].is_null());
    assert_eq!(f["evidence"][0]["line"], 2);
}

#[test]
fn sensor_proxy_is_said_first_and_replaces_the_registry_copy() {
    let (code, case) = one_case("fixtures/cases/sensor-proxy");
    // Both services use the sensor-level proxy: the per-account values neither matter nor
    // block, and no action tells the user to copy them.
    assert_eq!(code, 0);
    assert_eq!(case["verdict"], "healthy");
    assert_eq!(case["findings"][0]["id"], "sensor-proxy-configured");
    assert_eq!(case["findings"][0]["principal"], "sensor");
    assert!(!has(&case, "proxy-missing", Some("local_system")));
    for f in case["findings"].as_array().unwrap() {
        let action = f["action"].as_str().unwrap_or("");
        assert!(!action.contains("copy the current user"), "{action}");
        assert!(!action.contains("proxy-triage fix"), "{action}");
    }
    assert_eq!(case["principals"]["sensor"]["state"], "configured");
    assert_eq!(
        case["principals"]["sensor"]["settings"]["password_set"],
        true
    );
    for format in ["json", "table", "markdown", "csv", "jsonl"] {
        let out = bin()
            .args([
                "analyze",
                "fixtures/cases/sensor-proxy",
                "--format",
                format,
                "-q",
            ])
            .output()
            .expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("c2VjcmV0LXRlc3Qt"),
            "encrypted password leaked in {format}"
        );
    }
}

#[test]
fn dc_communication_failure_is_info_not_a_proxy_error() {
    let (code, case) = one_case("fixtures/cases/dc-failure");
    assert_eq!(code, 0);
    let f = finding(&case, "dc-communication-failure");
    assert_eq!(f["severity"], "info");
    assert_ne!(case["verdict"], "misconfigured");
}
