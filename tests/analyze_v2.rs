//! The version-2 judgement end to end: real-looking uploads in, the contract's JSON out.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::cargo_bin("proxy-triage").expect("binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn analyze(args: &[&str]) -> (i32, Value) {
    let out = bin()
        .arg("analyze")
        .args(args)
        .args(["--format", "json", "-q"])
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    (out.status.code().unwrap_or(-1), doc)
}

fn case(path: &str) -> Value {
    analyze(&[path]).1["cases"][0].clone()
}

fn ids(case: &Value) -> Vec<(String, Option<String>)> {
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

fn has(case: &Value, id: &str, principal: Option<&str>) -> bool {
    ids(case)
        .iter()
        .any(|(i, p)| i == id && p.as_deref() == principal)
}

fn blocking_for(case: &Value, principal: &str) -> Vec<Value> {
    case["needs"]
        .as_array()
        .expect("needs")
        .iter()
        .filter(|n| n["blocking"] == true && n["principal"] == principal)
        .cloned()
        .collect()
}

#[test]
fn hkcu_and_a_matching_local_system_are_not_healthy_without_local_service() {
    let c = case("fixtures/cases/no-local-service");
    assert_eq!(c["verdict"], "inconclusive");
    assert!(has(&c, "proxy-matches", Some("local_system")));
    let need = &blocking_for(&c, "local_service")[0];
    assert_eq!(
        need["command"],
        "reg compare \"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" \"HKU\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" /v DefaultConnectionSettings > compare-1519.txt 2>&1"
    );
}

#[test]
fn every_sensor_account_through_the_proxy_is_healthy() {
    let (code, doc) = analyze(&["fixtures/cases/healthy"]);
    let c = &doc["cases"][0];
    assert_eq!(code, 0);
    assert_eq!(c["verdict"], "healthy");
    assert!(c["needs"]
        .as_array()
        .expect("needs")
        .iter()
        .all(|n| n["blocking"] == false));
    assert!(c["summary"].as_str().unwrap_or("").starts_with("HEALTHY"));
}

#[test]
fn a_bypassed_endpoint_is_never_healthy() {
    let c = case("fixtures/cases/route");
    assert!(has(&c, "endpoint-bypassed", Some("local_system")));
    assert!(has(&c, "https-not-proxied", Some("local_service")));
    assert_eq!(c["verdict"], "inconclusive");
    assert!(!blocking_for(&c, "local_system").is_empty());
    assert!(!blocking_for(&c, "local_service").is_empty());
}

#[test]
fn digits_inside_a_ticket_number_are_not_an_account() {
    let (code, doc) = analyze(&["fixtures/cases/ticket-number"]);
    let c = &doc["cases"][0];
    assert_eq!(code, 0);
    assert!(!has(c, "proxy-missing", Some("local_service")));
    assert!(!has(c, "proxy-missing", Some("local_system")));
    assert!(has(c, "capture-unattributed", None));
    assert_eq!(c["principals"]["local_service"]["state"], "unknown");
    assert_eq!(c["verdict"], "inconclusive");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .args([
            "fix",
            "fixtures/cases/ticket-number",
            "--dry-run",
            "-q",
            "--out",
        ])
        .arg(out_dir.path())
        .output()
        .expect("run");
    // fix copies to both accounts (the documented procedure) and tells the admin that nothing
    // was uploaded for LOCAL SERVICE, instead of acting on a guessed error.
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nothing was uploaded for LOCAL SERVICE"),
        "{text}"
    );
    assert!(!text.contains("INC0011519"), "{text}");
}

#[test]
fn a_file_name_attribution_is_shown_as_an_assumption() {
    let c = case("fixtures/uploads/contoso-dc01");
    let ls = &c["principals"]["local_service"];
    assert_eq!(ls["evidence"][0]["attribution"], "file-name");
    assert!(ls["assumptions"][0]
        .as_str()
        .unwrap_or("")
        .contains("because of its file name only"));
    let cu = &c["principals"]["current_user"];
    assert_eq!(cu["evidence"][0]["attribution"], "content");
}

#[test]
fn a_recursive_export_without_connections_shows_the_value_absent() {
    let c = case("fixtures/cases/recursive-absent");
    assert!(has(&c, "proxy-missing", Some("local_service")));
    let ls = &c["principals"]["local_service"];
    assert_eq!(ls["state"], "missing");
    assert_eq!(ls["evidence"][0]["line"], 3);
    assert!(ls["assumptions"][0]
        .as_str()
        .unwrap_or("")
        .contains("no Connections key"));
}

#[test]
fn loose_files_of_one_command_line_are_one_case() {
    let (code, doc) = analyze(&[
        "fixtures/cases/missing/hkcu.reg",
        "fixtures/cases/missing/compare.txt",
    ]);
    assert_eq!(code, 1);
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["case"], "missing");
    assert!(has(&cases[0], "proxy-missing", Some("local_system")));
    assert_eq!(
        cases[0]["principals"]["current_user"]["state"],
        "configured"
    );
}

#[test]
fn the_tools_own_fix_reg_is_listed_and_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["hkcu.reg", "compare.txt"] {
        std::fs::copy(
            Path::new("fixtures/cases/missing").join(f),
            dir.path().join(f),
        )
        .expect("copy");
    }
    // The tool's own remediation, written into the ticket folder: it would contradict the
    // uploads (LOCAL SYSTEM has the user's proxy in fix.reg) if it were taken for evidence.
    let fix = bin()
        .args(["fix", "-q", "--out"])
        .arg(dir.path().join("fix"))
        .arg(dir.path())
        .output()
        .expect("fix");
    assert_eq!(fix.status.code(), Some(0), "{fix:?}");
    let (_, doc) = analyze(&[dir.path().to_str().expect("utf-8")]);
    let c = &doc["cases"][0];
    assert!(!has(c, "evidence-conflict", Some("local_system")), "{c:#}");
    assert!(has(c, "proxy-missing", Some("local_system")));
    let fix = doc["inputs"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|i| i["file"].as_str().unwrap_or("").ends_with("fix.reg"))
        })
        .expect("fix.reg listed");
    assert!(fix["ignored"]
        .as_str()
        .unwrap_or("")
        .contains("written by proxy-triage"));
}

#[test]
fn the_endpoint_says_where_it_came_from() {
    let c = case("fixtures/cases/missing");
    assert_eq!(c["endpoint"]["source"], "default");
    assert_eq!(c["endpoint"]["host"], "<workspace>sensorapi.atp.azure.com");
    let c = case("fixtures/cases/log407");
    assert_eq!(c["endpoint"]["source"], "sensor-log");
    assert_eq!(c["endpoint"]["host"], "contoso-corpsensorapi.atp.azure.com");
    let c = case("fixtures/cases/sensor-proxy");
    assert_eq!(c["endpoint"]["source"], "sensor-config");
    let (_, doc) = analyze(&["fixtures/cases/missing", "--workspace", "fabrikam"]);
    assert_eq!(doc["cases"][0]["endpoint"]["source"], "flag");
    assert_eq!(
        doc["cases"][0]["endpoint"]["host"],
        "fabrikamsensorapi.atp.azure.com"
    );
}

#[test]
fn another_cloud_is_judged_against_its_own_host() {
    let c = case("fixtures/cases/gov-cloud");
    assert_eq!(c["endpoint"]["host"], "contoso-govsensorapi.atp.azure.us");
    assert!(has(&c, "endpoint-bypassed", Some("local_service")));
    assert!(has(&c, "endpoint-bypassed", Some("local_system")));
    assert_ne!(c["verdict"], "healthy");
    // The same bypass list against a .com workspace bypasses nothing.
    let (_, doc) = analyze(&[
        "fixtures/cases/gov-cloud",
        "--endpoint",
        "contososensorapi.atp.azure.com",
    ]);
    assert!(!has(
        &doc["cases"][0],
        "endpoint-bypassed",
        Some("local_service")
    ));
}

#[test]
fn two_hkcu_exports_that_disagree_are_a_conflict_citing_both() {
    let c = case("fixtures/cases/user-conflict");
    let f = c["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "evidence-conflict"))
        .expect("evidence-conflict");
    assert_eq!(f["principal"], "current_user");
    let files: Vec<&str> = f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|e| e["file"].as_str())
        .collect();
    assert!(files.iter().any(|f| f.contains("2024-03-01")), "{files:?}");
    assert!(files.iter().any(|f| f.contains("2024-03-06")), "{files:?}");
}

#[test]
fn netsh_direct_against_a_winhttp_value_with_a_proxy_is_a_conflict() {
    let c = case("fixtures/cases/winhttp-conflict");
    let f = c["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "evidence-conflict"))
        .expect("evidence-conflict");
    assert_eq!(f["principal"], "winhttp");
    let wh = &c["principals"]["winhttp"];
    // The worst reading stands, and the netsh file is not cited for it as if it agreed.
    assert_eq!(wh["state"], "configured");
    assert_eq!(wh["settings"]["proxy_server"], "proxy.contoso.com:8080");
}

#[test]
fn the_netsh_evidence_is_the_line_that_says_it() {
    let c = case("fixtures/uploads/contoso-dc01");
    let wh = &c["principals"]["winhttp"]["evidence"][0];
    assert_eq!(wh["line"], 4);
}

/// Every fixture's JSON carries the version-2 fields with their shapes.
#[test]
fn every_fixture_has_the_version_2_fields() {
    let mut roots: Vec<String> = std::fs::read_dir("fixtures/cases")
        .expect("cases")
        .filter_map(|e| e.ok())
        .map(|e| e.path().to_string_lossy().into_owned())
        .collect();
    roots.push("fixtures/uploads/contoso-dc01".into());
    roots.sort();
    for root in roots {
        let (_, doc) = analyze(&[&root]);
        assert_eq!(doc["schema_version"], 2, "{root}");
        for c in doc["cases"].as_array().expect("cases") {
            assert!(c["needs"].is_array(), "{root}");
            assert!(c["summary"].is_string(), "{root}");
            assert!(c["endpoint"]["host"].is_string(), "{root}");
            assert!(c["endpoint"]["source"].is_string(), "{root}");
            if c["verdict"] == "inconclusive" {
                assert!(
                    c["needs"]
                        .as_array()
                        .expect("needs")
                        .iter()
                        .any(|n| n["blocking"] == true),
                    "{root}: inconclusive without a blocking need"
                );
            }
            for (name, p) in c["principals"].as_object().expect("principals") {
                for e in p["evidence"].as_array().expect("evidence") {
                    assert!(e["attribution"].is_string(), "{root} {name}: {e}");
                    check_line(&root, e);
                }
            }
            for f in c["findings"].as_array().expect("findings") {
                for e in f["evidence"].as_array().expect("evidence") {
                    check_line(&root, e);
                }
            }
        }
        for i in doc["inputs"].as_array().expect("inputs") {
            assert!(i.get("ignored").is_some(), "{root}: {i}");
            assert!(i["diagnostics"].is_array(), "{root}: {i}");
        }
    }
}

fn check_line(root: &str, e: &Value) {
    if e.get("probe").is_some() {
        return;
    }
    let line = &e["line"];
    assert!(
        line.is_null() || line.as_u64().is_some_and(|l| l >= 1),
        "{root}: evidence line {line}"
    );
}

#[test]
fn a_console_session_is_read_section_by_section_with_the_files_lines() {
    let c = case("fixtures/console/session-cmd.txt");
    let p = &c["principals"];
    assert_eq!(p["local_system"]["state"], "direct");
    assert_eq!(p["local_system"]["evidence"][0]["line"], 7);
    assert_eq!(p["local_service"]["state"], "missing");
    assert_eq!(p["local_service"]["evidence"][0]["line"], 23);
    assert_eq!(p["winhttp"]["state"], "configured");
    assert!(has(&c, "proxy-missing", Some("local_service")));
    // Nothing of the paste is pinned on the current user.
    assert_eq!(p["current_user"]["state"], "unknown");
}

#[test]
fn a_pac_script_in_the_case_is_evaluated_for_the_endpoint() {
    let c = case("fixtures/cases/pac-proxy");
    assert_eq!(c["verdict"], "healthy", "{c:#}");
    assert!(has(&c, "pac-evaluated", Some("local_service")));
    assert!(!has(&c, "pac-only", Some("local_service")));
    let f = c["findings"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|f| f["id"] == "pac-evaluated" && f["principal"] == "local_service")
        })
        .expect("pac-evaluated");
    assert!(f["title"]
        .as_str()
        .unwrap_or("")
        .contains("PROXY proxy.contoso.com:8080; DIRECT"));
    // The script itself is the evidence.
    assert!(f["evidence"][0]["file"]
        .as_str()
        .unwrap_or("")
        .ends_with("proxy.pac"));
}

#[test]
fn a_pac_script_that_sends_the_endpoint_direct_blocks_a_verdict() {
    let c = case("fixtures/cases/pac-direct");
    assert!(has(&c, "pac-direct", Some("local_service")));
    assert!(has(&c, "pac-direct", Some("local_system")));
    assert_eq!(c["verdict"], "inconclusive");
    assert!(!blocking_for(&c, "local_service").is_empty());
    // Without the script the route cannot be judged: a blocking need names the URL.
    let c = case("fixtures/cases/pac");
    assert!(has(&c, "pac-only", Some("local_system")));
    let need = blocking_for(&c, "local_system");
    assert!(need[0]["what"]
        .as_str()
        .unwrap_or("")
        .contains("http://wpad.contoso.com/proxy.pac"));
}

fn finding<'a>(case: &'a Value, id: &str) -> &'a Value {
    case["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {:#}", case["findings"]))
}

fn lines_of(f: &Value) -> Vec<(String, Option<u64>)> {
    f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|e| {
            (
                e["file"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                e["line"].as_u64(),
            )
        })
        .collect()
}

/// The MDE client analyzer ran as LOCAL SYSTEM through WinHTTP: its sensor URL failure is a
/// warning about LOCAL SYSTEM, its PROXY SETTINGS section is LOCAL SYSTEM's and WinHTTP's
/// evidence, and LOCAL SERVICE is still needed.
#[test]
fn mde_analyzer_is_local_system_evidence_never_local_service() {
    let (code, doc) = analyze(&["fixtures/cases/mde-analyzer"]);
    let c = &doc["cases"][0];
    assert_eq!(c["verdict"], "inconclusive");
    assert_eq!(code, 0);
    let f = finding(c, "mde-sensor-url-failed");
    assert_eq!(
        (f["severity"].as_str(), f["principal"].as_str()),
        (Some("warning"), Some("local_system"))
    );
    assert_eq!(
        lines_of(f),
        [("MDEClientAnalyzer.txt".to_string(), Some(3))]
    );
    assert_eq!(f["evidence"][0]["attribution"], "content");
    let f = finding(c, "mde-urls-failed");
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        lines_of(f),
        [("MDEClientAnalyzer.txt".to_string(), Some(10))]
    );
    assert!(f["title"].as_str().unwrap().contains("1 of 2"));
    assert!(has(c, "winhttp-mismatch", Some("winhttp")));
    let ls = &c["principals"]["local_system"];
    assert_eq!(ls["state"], "configured");
    assert_eq!(ls["evidence"][0]["line"], 26);
    assert_eq!(ls["evidence"][0]["attribution"], "content");
    assert_eq!(c["principals"]["local_service"]["state"], "unknown");
    assert!(!blocking_for(c, "local_service").is_empty());
    assert!(blocking_for(c, "local_system").is_empty());
}

/// The analyzer reached the sensor without a proxy: that shows LOCAL SYSTEM's direct route
/// works (its need goes), not LOCAL SERVICE's.
#[test]
fn mde_analyzer_direct_success_answers_local_system_only() {
    let c = case("fixtures/cases/mde-analyzer-direct");
    let f = finding(&c, "mde-sensor-url-ok");
    assert_eq!(
        (f["severity"].as_str(), f["principal"].as_str()),
        (Some("info"), Some("local_system"))
    );
    assert!(f["title"].as_str().unwrap().contains("Proxy disabled"));
    assert_eq!(
        lines_of(f),
        [("MDEClientAnalyzer.txt".to_string(), Some(3))]
    );
    assert!(
        blocking_for(&c, "local_system").is_empty(),
        "{:#}",
        c["needs"]
    );
    assert_eq!(blocking_for(&c, "local_service").len(), 1);
    assert_eq!(c["verdict"], "inconclusive");
}

/// Test-MDISensorApiConnection is weak: False beside a healthy case leaves it healthy (with
/// the ambiguity said), True alone does not make a case healthy.
#[test]
fn the_api_test_never_decides_a_verdict() {
    let (code, doc) = analyze(&["fixtures/cases/api-test-false"]);
    let c = &doc["cases"][0];
    assert_eq!((code, c["verdict"].as_str()), (0, Some("healthy")));
    let f = finding(c, "mdi-api-test-false");
    assert_eq!(f["severity"], "warning");
    assert_eq!(lines_of(f), [("api-test.txt".to_string(), Some(2))]);
    assert!(f["title"].as_str().unwrap().contains("503"));
    assert!(c["needs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["blocking"] == false
            && n["command"]
                .as_str()
                .is_some_and(|s| s.contains("-Verbose"))));

    let c = case("fixtures/cases/api-test-true");
    assert_eq!(c["verdict"], "inconclusive");
    let f = finding(&c, "mdi-api-test-true");
    assert_eq!(
        (f["severity"].as_str(), f["principal"].as_str()),
        (Some("info"), None)
    );
    assert_eq!(lines_of(f), [("api-test.txt".to_string(), Some(2))]);
    assert!(!blocking_for(&c, "local_service").is_empty());
}

/// Test-MdiReadiness: the details list decides (DC1's False is the old counting bug), a DC
/// without the root is an error with its name and line, an unreachable DC says nothing.
#[test]
fn readiness_root_certificates_feed_the_tls_findings() {
    let (code, doc) = analyze(&["fixtures/cases/readiness"]);
    let c = &doc["cases"][0];
    assert_eq!((code, c["verdict"].as_str()), (1, Some("misconfigured")));
    let missing: Vec<&Value> = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "root-cert-missing")
        .collect();
    assert_eq!(missing.len(), 1);
    let f = missing[0];
    assert_eq!(f["severity"], "error");
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains("DC2.contoso.com") && title.contains("DigiCert Global Root G2"),
        "{title}"
    );
    assert_eq!(
        lines_of(f),
        [("mdi-CONTOSO.COM.json".to_string(), Some(19))]
    );
    let f = finding(c, "root-cert-present");
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains("DC1.contoso.com") && title.contains("counting bug"),
        "{title}"
    );
    let f = finding(c, "sensor-version");
    let title = f["title"].as_str().unwrap();
    assert!(title.contains("DC1.contoso.com 2.250.18972.0"), "{title}");
    assert!(title.contains("DC3.contoso.com not reached"), "{title}");
}

/// A Polish `reg compare` capture (cmd `>` in code page 852): the not-found error reads as
/// the documented "no proxy for LOCAL SYSTEM", attributed by the echoed command.
#[test]
fn a_polish_not_found_in_cp852_is_the_documented_missing() {
    let (code, doc) = analyze(&["fixtures/console/pl-cp852-notfound.txt"]);
    let c = &doc["cases"][0];
    assert_eq!(doc["inputs"][0]["encoding"], "cp852");
    assert_eq!(code, 1);
    let f = finding(c, "proxy-missing");
    assert_eq!(f["principal"], "local_system");
    assert_eq!(f["evidence"][0]["line"], 1);
    assert_eq!(f["evidence"][0]["attribution"], "content");
    assert_eq!(c["principals"]["local_system"]["state"], "missing");
}

/// `reg query KEY` (every value of the key) printing the LOCAL SERVICE Connections key with
/// nothing under it shows the value absent: `missing`, at the key line. The same listing
/// filtered with `/v` something else says nothing about DefaultConnectionSettings.
#[test]
fn an_empty_reg_query_listing_of_the_key_is_missing() {
    const KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections";
    let write = |command_tail: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(
            "fixtures/cases/missing/hkcu.reg",
            dir.path().join("hkcu.reg"),
        )
        .expect("copy");
        let capture = format!(
            "C:\\Users\\admin>reg query \"HKU\\S-1-5-19\\{KEY}\"{command_tail}\r\n\r\nHKEY_USERS\\S-1-5-19\\{KEY}\r\n\r\n"
        );
        std::fs::write(dir.path().join("query-1519.txt"), capture).expect("write");
        dir
    };
    let all = write("");
    let c = case(all.path().to_str().expect("utf-8"));
    assert_eq!(
        c["principals"]["local_service"]["state"], "missing",
        "{c:#}"
    );
    let f = c["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == "proxy-missing" && f["principal"] == "local_service")
        .expect("proxy-missing for LOCAL SERVICE");
    assert!(f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .any(|e| e["file"].as_str().unwrap_or("").ends_with("query-1519.txt") && e["line"] == 3));
    let filtered = write(" /v SavedLegacySettings");
    let c = case(filtered.path().to_str().expect("utf-8"));
    assert_eq!(
        c["principals"]["local_service"]["state"], "unknown",
        "{c:#}"
    );
}
