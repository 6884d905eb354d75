//! `proxy-triage pac`: the binary on the PAC fixtures (our enterprise scripts around the
//! sensor endpoint, the helper self-test whose facts come from Chromium's and pac-resolver's
//! suites, a BOM/CRLF and a UTF-16 wpad.dat, a 355 KB script), checking the contract's JSON.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const PING: &str = "https://contososensorapi.atp.azure.com/tri/sensor/api/ping";
const ROOT: &str = "https://contososensorapi.atp.azure.com/";

fn bin() -> Command {
    Command::cargo_bin("proxy-triage").unwrap_or_else(|e| panic!("binary: {e}"))
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/pac/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `pac` with JSON output; returns the document and the exit code.
fn pac(file: &str, url: &str, extra: &[&str]) -> (Value, i32) {
    let out = bin()
        .arg("pac")
        .arg(fixture(file))
        .args(["--url", url, "--format", "json"])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

#[test]
fn contract_header_and_a_bypassed_endpoint() {
    let (v, code) = pac("enterprise/bypass_atp.pac", PING, &[]);
    assert_eq!(code, 0);
    assert_eq!(v["schema_version"], 2);
    assert!(v["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("bypass_atp.pac")));
    assert_eq!(v["url"], PING);
    assert_eq!(v["host"], "contososensorapi.atp.azure.com");
    assert_eq!(v["entry_point"], "FindProxyForURL");
    assert_eq!(v["result"], "DIRECT");
    assert!(v["error"].is_null());
    assert_eq!(v["route"]["kind"], "direct");
    assert_eq!(v["depends_on"], serde_json::json!([]));
    assert!(v["elapsed_ms"].is_u64());
    // Any other host goes through the proxy, DIRECT second and never tried.
    let (v, _) = pac("enterprise/bypass_atp.pac", "https://www.bing.com/", &[]);
    assert_eq!(v["route"]["kind"], "proxy");
    assert_eq!(v["route"]["host"], "proxy.contoso.local");
    assert_eq!(v["route"]["port"], 8080);
    assert_eq!(v["route"]["then"], serde_json::json!(["DIRECT"]));
}

#[test]
fn shexp_url_trap_depends_on_the_path() {
    // The ping URL's path matches "*/tri/sensor/*": the sensor proxy.
    let (v, _) = pac("enterprise/shexp_url_trap.pac", PING, &[]);
    assert_eq!(v["route"]["host"], "sensor-proxy.contoso.local");
    assert_eq!(v["route"]["port"], 3128);
    // The bare host URL ends in "/": "*.atp.azure.com" does not match it either.
    let (v, _) = pac("enterprise/shexp_url_trap.pac", ROOT, &[]);
    assert_eq!(v["route"]["host"], "proxy.contoso.local");
    assert_eq!(v["route"]["port"], 8080);
}

#[test]
fn dc_subnet_depends_on_my_ip() {
    let (v, _) = pac("enterprise/dc_subnet.pac", PING, &[]);
    assert_eq!(v["route"]["host"], "user-proxy.contoso.local");
    assert_eq!(v["depends_on"], serde_json::json!(["myIpAddress"]));
    assert!(v.get("facts_used").is_none(), "no fact given, none listed");
    let (v, _) = pac("enterprise/dc_subnet.pac", PING, &["--my-ip", "10.20.1.5"]);
    assert_eq!(v["route"]["host"], "dc-proxy.contoso.local");
    assert_eq!(v["route"]["port"], 8080);
    assert_eq!(v["depends_on"], serde_json::json!([]));
    // The fact given is named as given.
    assert_eq!(
        v["facts_used"],
        serde_json::json!(["myIpAddress=10.20.1.5"])
    );
}

#[test]
fn split_dns_uses_only_the_given_facts() {
    let (v, _) = pac("enterprise/split_dns.pac", PING, &[]);
    assert_eq!(v["route"]["kind"], "direct");
    assert_eq!(
        v["depends_on"],
        serde_json::json!([
            "dnsResolve:contososensorapi.atp.azure.com",
            "dnsResolve:proxy.contoso.local"
        ])
    );
    let (v, _) = pac(
        "enterprise/split_dns.pac",
        PING,
        &[
            "--resolve",
            "contososensorapi.atp.azure.com=20.44.1.1",
            "--resolve",
            "PROXY.contoso.local=10.0.0.8",
        ],
    );
    assert_eq!(v["route"]["kind"], "proxy");
    assert_eq!(v["route"]["host"], "proxy.contoso.local");
    assert_eq!(v["depends_on"], serde_json::json!([]));
    let (v, _) = pac(
        "enterprise/split_dns.pac",
        PING,
        &[
            "--resolve",
            "contososensorapi.atp.azure.com=10.9.9.9",
            "--unresolvable",
            "proxy.contoso.local",
        ],
    );
    assert_eq!(v["route"]["kind"], "direct");
    assert_eq!(v["depends_on"], serde_json::json!([]));
    // Only the facts the script consulted: the endpoint is internal, so the proxy's name is
    // never looked up.
    assert_eq!(
        v["facts_used"],
        serde_json::json!(["dnsResolve:contososensorapi.atp.azure.com=10.9.9.9"])
    );
}

#[test]
fn ex_entry_point_preferred_with_ipv6_facts() {
    let (v, _) = pac("enterprise/ex_entry.pac", PING, &[]);
    assert_eq!(v["entry_point"], "FindProxyForURLEx");
    assert_eq!(v["route"]["host"], "proxy6.contoso.local");
    assert_eq!(v["depends_on"], serde_json::json!(["myIpAddress"]));
    let (v, _) = pac("enterprise/ex_entry.pac", PING, &["--my-ip", "fd00:20::15"]);
    assert_eq!(v["result"], "PROXY [fd00:20::8]:8080");
    assert_eq!(v["route"]["host"], "fd00:20::8");
    assert_eq!(v["route"]["port"], 8080);
}

#[test]
fn socks_first_is_unusable() {
    let (v, code) = pac("enterprise/socks_first.pac", PING, &[]);
    assert_eq!(code, 0);
    assert_eq!(v["route"]["kind"], "unusable");
    assert!(v["route"]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("SOCKS")));
    assert_eq!(
        v["route"]["then"],
        serde_json::json!(["PROXY proxy.contoso.local:8080"])
    );
}

#[test]
fn script_error_exits_1_and_falls_back_direct() {
    let (v, code) = pac("enterprise/broken.pac", PING, &[]);
    assert_eq!(code, 1);
    assert!(v["result"].is_null());
    assert_eq!(v["error"]["kind"], "exception");
    assert_eq!(v["error"]["line"], 5);
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("proxyFor")));
    assert_eq!(v["route"]["kind"], "pac-failed");
    assert_eq!(v["route"]["fallback"], "direct");
}

#[test]
fn helper_library_self_test_passes() {
    let (v, code) = pac(
        "library_selftest.pac",
        "http://www.example.com/",
        &["--now", "2009-03-03T03:34:01Z"],
    );
    assert_eq!(code, 0);
    assert_eq!(v["result"], "PROXY success:80", "alerts: {}", v["alerts"]);
    assert!(v["facts_used"]
        .as_array()
        .is_some_and(|f| f.contains(&serde_json::json!("clock=2009-03-03T03:34:01Z"))));
    // isInNet("192.89.132.a", ...) looks the name up: recorded as an assumption.
    assert_eq!(
        v["depends_on"],
        serde_json::json!(["dnsResolve:192.89.132.a"])
    );
}

#[test]
fn wpad_dat_with_bom_crlf_and_utf16() {
    for f in ["wpad.dat", "wpad_utf16.dat"] {
        let (v, code) = pac(f, PING, &["--my-ip", "10.20.0.4"]);
        assert_eq!(code, 0, "{f}");
        assert_eq!(v["result"], "PROXY dc-proxy.contoso.local:8080", "{f}");
    }
}

#[test]
fn large_script_within_budget() {
    let t = Instant::now();
    let (v, code) = pac("large_whitelist.pac", PING, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["route"]["kind"], "proxy");
    assert_eq!(v["route"]["host"], "proxy.contoso.local");
    let (v, _) = pac("large_whitelist.pac", "https://x.aaalddzkutka.cn/", &[]);
    assert_eq!(v["result"], "DIRECT;");
    assert!(t.elapsed() < Duration::from_secs(20));
}

#[test]
fn limits_from_flags() {
    let (v, code) = pac("large_whitelist.pac", PING, &["--max-pac-kib", "100"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["kind"], "limit-size");
    assert!(v["entry_point"].is_null());
}

#[test]
fn hostile_script_ends_quickly_with_its_limit() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("loop.pac");
    std::fs::write(
        &path,
        "function FindProxyForURL(u, h) { while (true) { try { for (;;) {} } catch (e) {} } }",
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    let t = Instant::now();
    let out = bin()
        .arg("pac")
        .arg(&path)
        .args(["--url", PING, "--format", "json", "--pac-timeout-ms", "200"])
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}"));
    assert_eq!(v["error"]["kind"], "limit-time");
}

#[test]
fn table_names_the_assumptions() {
    let out = bin()
        .arg("pac")
        .arg(fixture("enterprise/dc_subnet.pac"))
        .args(["--url", PING, "--format", "table"])
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("myIpAddress() = 127.0.0.1"), "{s}");
    assert!(s.contains("proxy user-proxy.contoso.local:3128"), "{s}");
}

#[test]
fn usage_and_input_errors() {
    let code = |args: &[&str]| {
        bin()
            .arg("pac")
            .args(args)
            .output()
            .map(|o| o.status.code())
            .unwrap_or_else(|e| panic!("run: {e}"))
    };
    let f = fixture("enterprise/bypass_atp.pac");
    assert_eq!(code(&[&f]), Some(3), "--url is required");
    assert_eq!(code(&[&f, "--url", PING, "--my-ip", "10.0.0"]), Some(3));
    assert_eq!(code(&[&f, "--url", PING, "--resolve", "x"]), Some(3));
    assert_eq!(code(&[&f, "--url", PING, "--now", "monday"]), Some(3));
    assert_eq!(code(&[&f, "--url", PING, "--format", "csv"]), Some(3));
    assert_eq!(code(&["/nonexistent/proxy.pac", "--url", PING]), Some(2));
    let dir = env!("CARGO_MANIFEST_DIR");
    assert_eq!(code(&[dir, "--url", PING]), Some(2));
}

#[test]
fn parse_reports_a_pac_script() {
    let out = bin()
        .arg("parse")
        .arg(fixture("wpad.dat"))
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}"));
    assert_eq!(v["kind"], "pac-script");
    assert_eq!(v["encoding"], "utf-8-bom");
    assert_eq!(
        v["pac"]["entry_points"],
        serde_json::json!(["FindProxyForURL"])
    );
    assert_eq!(v["pac"]["lines"], 8);
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    let out = bin()
        .arg("parse")
        .arg(fixture("enterprise/ex_entry.pac"))
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}"));
    assert_eq!(
        v["pac"]["entry_points"],
        serde_json::json!(["FindProxyForURLEx", "FindProxyForURL"])
    );
    let out = bin()
        .arg("parse")
        .arg(fixture("large_whitelist.pac"))
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}"));
    assert_eq!(v["kind"], "pac-script");
    assert_eq!(v["pac"]["size_bytes"], 362_291);
}

// ---------------------------------------------------------------- analyze --pac and facts ---

/// `analyze CASE --format json ARGS...` from the repository root: the first case and the
/// exit code.
fn analyze(case: &str, extra: &[&str]) -> (Value, i32) {
    let out = bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("analyze")
        .arg(case)
        .args(["--format", "json", "-q"])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v["cases"][0].clone(), out.status.code().unwrap_or(-1))
}

fn finding<'a>(case: &'a Value, id: &str, principal: &str) -> Option<&'a Value> {
    case["findings"].as_array().and_then(|a| {
        a.iter()
            .find(|f| f["id"] == id && f["principal"] == principal)
    })
}

/// `fixtures/cases/pac` uses http://wpad.contoso.com/proxy.pac without uploading it.
const PAC_CASE: &str = "fixtures/cases/pac";

#[test]
fn analyze_pac_file_evaluates_the_accounts_without_their_script() {
    let (c, _) = analyze(PAC_CASE, &[]);
    assert!(finding(&c, "pac-only", "local_system").is_some(), "{c:#}");
    assert!(c["principals"]["local_system"].get("pac").is_none());

    let (c, _) = analyze(PAC_CASE, &["--pac", "fixtures/cases/pac-proxy/proxy.pac"]);
    assert!(finding(&c, "pac-only", "local_system").is_none(), "{c:#}");
    let f = finding(&c, "pac-evaluated", "local_system").expect("pac-evaluated");
    assert!(f["title"]
        .as_str()
        .is_some_and(|t| t.contains("`PROXY proxy.contoso.com:8080; DIRECT`")));
    // Cited by its path as given.
    assert_eq!(
        f["evidence"][0]["file"],
        "fixtures/cases/pac-proxy/proxy.pac"
    );
    let pac = &c["principals"]["local_system"]["pac"];
    assert_eq!(pac["script"], "fixtures/cases/pac-proxy/proxy.pac");
    assert_eq!(pac["route"], "proxy");
    assert_eq!(pac["proxy"], "proxy.contoso.com:8080");
    assert_eq!(pac["entry_point"], "FindProxyForURL");
    assert_eq!(pac["depends_on"], serde_json::json!([]));

    // A script that bypasses *.atp.azure.com: the sensor goes direct.
    let (c, _) = analyze(
        PAC_CASE,
        &["--pac", "fixtures/pac/enterprise/bypass_atp.pac"],
    );
    assert!(finding(&c, "pac-direct", "local_system").is_some(), "{c:#}");
    assert_eq!(c["principals"]["local_system"]["pac"]["route"], "direct");
    assert_eq!(c["verdict"], "inconclusive");
}

#[test]
fn analyze_my_ip_changes_the_route_and_clears_the_assumption() {
    let script = "fixtures/pac/enterprise/dc_subnet.pac";
    let (c, _) = analyze(PAC_CASE, &["--pac", script]);
    let pac = &c["principals"]["local_system"]["pac"];
    assert_eq!(pac["proxy"], "user-proxy.contoso.local:3128");
    assert_eq!(pac["depends_on"], serde_json::json!(["myIpAddress"]));
    assert_eq!(pac["facts_used"], serde_json::json!([]));
    let title = finding(&c, "pac-evaluated", "local_system").expect("finding")["title"].clone();
    assert!(title
        .as_str()
        .is_some_and(|t| t.contains("the answer assumes myIpAddress() = 127.0.0.1")));

    let (c, _) = analyze(PAC_CASE, &["--pac", script, "--my-ip", "10.20.1.5"]);
    let pac = &c["principals"]["local_system"]["pac"];
    assert_eq!(pac["proxy"], "dc-proxy.contoso.local:8080");
    assert_eq!(pac["depends_on"], serde_json::json!([]));
    assert_eq!(
        pac["facts_used"],
        serde_json::json!(["myIpAddress=10.20.1.5"])
    );
    let title = finding(&c, "pac-evaluated", "local_system").expect("finding")["title"].clone();
    let title = title.as_str().unwrap_or("");
    assert!(!title.contains("assumes"), "{title}");
    assert!(
        title.contains("given: myIpAddress() = 10.20.1.5 (--my-ip)"),
        "{title}"
    );
}

#[test]
fn analyze_resolve_and_unresolvable_feed_dns_resolve() {
    let script = "fixtures/pac/enterprise/split_dns.pac";
    let endpoint = ["--endpoint", "contososensorapi.atp.azure.com"];
    let (c, _) = analyze(PAC_CASE, &[&["--pac", script][..], &endpoint].concat());
    let pac = &c["principals"]["local_system"]["pac"];
    assert_eq!(pac["route"], "direct");
    assert_eq!(
        pac["depends_on"],
        serde_json::json!([
            "dnsResolve:contososensorapi.atp.azure.com",
            "dnsResolve:proxy.contoso.local"
        ])
    );
    assert!(finding(&c, "pac-direct", "local_system").is_some());

    let args = [
        &["--pac", script][..],
        &endpoint,
        &[
            "--resolve",
            "contososensorapi.atp.azure.com=20.44.1.1",
            "--resolve",
            "proxy.contoso.local=10.0.0.8",
        ],
    ]
    .concat();
    let (c, _) = analyze(PAC_CASE, &args);
    let pac = &c["principals"]["local_system"]["pac"];
    assert_eq!(pac["route"], "proxy");
    assert_eq!(pac["proxy"], "proxy.contoso.local:8080");
    assert_eq!(pac["depends_on"], serde_json::json!([]));
    assert_eq!(
        pac["facts_used"],
        serde_json::json!([
            "dnsResolve:contososensorapi.atp.azure.com=20.44.1.1",
            "dnsResolve:proxy.contoso.local=10.0.0.8"
        ])
    );
    assert!(finding(&c, "pac-direct", "local_system").is_none());

    // --unresolvable: the same route as the default, but no longer an assumption.
    let args = [
        &["--pac", script][..],
        &endpoint,
        &[
            "--resolve",
            "contososensorapi.atp.azure.com=20.44.1.1",
            "--unresolvable",
            "proxy.contoso.local",
        ],
    ]
    .concat();
    let (c, _) = analyze(PAC_CASE, &args);
    let pac = &c["principals"]["local_system"]["pac"];
    assert_eq!(pac["route"], "direct");
    assert_eq!(pac["depends_on"], serde_json::json!([]));
    assert_eq!(
        pac["facts_used"],
        serde_json::json!([
            "dnsResolve:contososensorapi.atp.azure.com=20.44.1.1",
            "dnsResolve:proxy.contoso.local=unresolvable"
        ])
    );
}

#[test]
fn analyze_pac_must_be_a_pac_script() {
    let run = |pac: &str| {
        bin()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["analyze", PAC_CASE, "--format", "json", "--pac", pac])
            .output()
            .unwrap_or_else(|e| panic!("run: {e}"))
    };
    let out = run("fixtures/cases/pac/export.reg");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--pac fixtures/cases/pac/export.reg: not a PAC script"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let out = run("fixtures/pac/missing.pac");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fixtures/pac/missing.pac"));
    // A UTF-16 wpad.dat is read like an upload.
    let (c, code) = analyze(
        PAC_CASE,
        &[
            "--pac",
            "fixtures/pac/wpad_utf16.dat",
            "--my-ip",
            "10.20.0.4",
        ],
    );
    assert_eq!(code, 0, "{c:#}");
    assert_eq!(
        c["principals"]["local_system"]["pac"]["proxy"],
        "dc-proxy.contoso.local:8080"
    );
}
