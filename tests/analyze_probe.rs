//! `analyze --probe` on loopback only: one probe per distinct route, PAC accounts not probed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use proxy_triage::formats::reg_writer::{write_export, WriteKey, WriteValue};
use proxy_triage::registry::ValueType;
use serde_json::Value;

const CONN: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";

fn blob(flags: u32, proxy: &str, pac: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x46u32, 1, flags] {
        b.extend(v.to_le_bytes());
    }
    for s in [proxy, "", pac] {
        b.extend((s.len() as u32).to_le_bytes());
        b.extend(s.as_bytes());
    }
    b.extend([0u8; 32]);
    b
}

fn export(keys: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let keys: Vec<WriteKey> = keys
        .iter()
        .map(|(sid, bytes)| WriteKey {
            path: format!("{sid}\\{CONN}"),
            values: vec![WriteValue {
                name: "DefaultConnectionSettings".into(),
                value_type: ValueType::BINARY,
                bytes: bytes.clone(),
            }],
        })
        .collect();
    write_export(&keys)
}

/// A server on 127.0.0.1 answering 503 to every request, recording request lines.
/// It stops after `max` connections or 20 seconds, whichever comes first.
fn server_503(max: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut served = 0;
        while served < max && start.elapsed() < Duration::from_secs(20) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    served += 1;
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = [0u8; 4096];
                    let n = s.read(&mut buf).unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n])
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    if let Ok(mut l) = log.lock() {
                        l.push(head);
                    }
                    let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    (port, seen)
}

fn run(case: &std::path::Path, url: &str) -> (i32, Value) {
    run_with(case, url, &["--on-customer-network"])
}

fn run_with(case: &std::path::Path, url: &str, extra: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("proxy-triage")
        .expect("binary")
        .arg("analyze")
        .args(extra)
        .args([
            "--probe",
            "--probe-url",
            url,
            "--timeout",
            "3",
            "--format",
            "json",
            "-q",
        ])
        .arg(case)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).expect("json"),
    )
}

fn ids(case: &Value) -> Vec<String> {
    case["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn direct_and_proxied_routes_are_probed_once_each() {
    let (target, target_seen) = server_503(4);
    let (proxy, proxy_seen) = server_503(4);
    let dir = tempfile::tempdir().expect("tempdir");
    let through = blob(3, &format!("127.0.0.1:{proxy}"), "");
    std::fs::write(
        dir.path().join("all.reg"),
        export(&[
            ("HKEY_CURRENT_USER", through.clone()),
            ("HKEY_USERS\\S-1-5-18", through),
            ("HKEY_USERS\\S-1-5-19", blob(1, "", "")),
        ]),
    )
    .expect("write");
    let url = format!("http://127.0.0.1:{target}/");
    let (_, doc) = run(dir.path(), &url);
    let case = &doc["cases"][0];
    let runs = case["probe"]["runs"].as_array().expect("runs");
    let routes: Vec<&str> = runs.iter().filter_map(|r| r["route"].as_str()).collect();
    assert_eq!(
        routes,
        vec![format!("http://127.0.0.1:{proxy}").as_str(), "direct"]
    );
    assert!(
        ids(case).iter().filter(|i| *i == "probe-ok").count() >= 2,
        "{:?}",
        ids(case)
    );
    // The proxy really carried the request (absolute-form request line), the direct probe did not.
    let via_proxy = proxy_seen.lock().expect("lock").clone();
    assert!(
        via_proxy
            .iter()
            .any(|l| l.starts_with(&format!("GET http://127.0.0.1:{target}/"))),
        "{via_proxy:?}"
    );
    let direct = target_seen.lock().expect("lock").clone();
    assert!(direct.iter().any(|l| l.starts_with("GET / ")), "{direct:?}");
}

#[test]
fn failed_route_is_an_error_and_pac_is_not_probed() {
    // A port with nothing listening: bind, note the port, drop the listener.
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let (target, _) = server_503(2);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("all.reg"),
        export(&[
            (
                "HKEY_USERS\\S-1-5-18",
                blob(3, &format!("127.0.0.1:{closed}"), ""),
            ),
            (
                "HKEY_USERS\\S-1-5-19",
                blob(5, "", "http://wpad.invalid/proxy.pac"),
            ),
        ]),
    )
    .expect("write");
    let (code, doc) = run(dir.path(), &format!("http://127.0.0.1:{target}/"));
    let case = &doc["cases"][0];
    assert_eq!(code, 1);
    assert!(
        ids(case).contains(&"probe-failed".to_string()),
        "{:?}",
        ids(case)
    );
    let not_run = case["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "probe-not-run"))
        .expect("not probed");
    assert_eq!(not_run["principal"], "local_service");
    assert!(not_run["title"].as_str().unwrap_or("").contains("PAC"));
    assert_eq!(case["probe"]["outcome"], "failed");
}

#[test]
fn from_here_only_the_direct_route_is_probed_and_the_verdict_stands() {
    let (target, target_seen) = server_503(2);
    let (proxy, proxy_seen) = server_503(2);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty.txt"), b"").expect("write");
    std::fs::write(
        dir.path().join("all.reg"),
        export(&[(
            "HKEY_USERS\\S-1-5-18",
            blob(3, &format!("127.0.0.1:{proxy}"), ""),
        )]),
    )
    .expect("write");
    // Without --on-customer-network: no name or proxy from the uploads is contacted.
    let (code, doc) = run_with(dir.path(), &format!("http://127.0.0.1:{target}/"), &[]);
    let case = &doc["cases"][0];
    assert_eq!(code, 0, "{case:#}");
    assert_eq!(case["verdict"], "inconclusive");
    assert!(
        ids(case).contains(&"probe-here-ok".to_string()),
        "{:?}",
        ids(case)
    );
    assert!(!ids(case).contains(&"probe-ok".to_string()));
    assert!(proxy_seen.lock().expect("lock").is_empty());
    assert!(!target_seen.lock().expect("lock").is_empty());
    let f = case["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "probe-here-ok"))
        .expect("probe-here-ok");
    assert_eq!(f["evidence"][0]["probe"], "direct");
    assert_eq!(case["probe"]["ran"], "here");
}

#[test]
fn a_failed_probe_from_here_never_makes_a_case_misconfigured() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty.txt"), b"").expect("write");
    let (code, doc) = run_with(dir.path(), &format!("http://127.0.0.1:{closed}/"), &[]);
    let case = &doc["cases"][0];
    assert_eq!(code, 0);
    assert_eq!(case["verdict"], "inconclusive");
    let f = case["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == "probe-here-failed"))
        .expect("probe-here-failed");
    assert_eq!(f["severity"], "warning");
}

#[test]
fn no_traffic_without_probe_flag() {
    let (target, seen) = server_503(1);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("all.reg"),
        export(&[("HKEY_USERS\\S-1-5-18", blob(1, "", ""))]),
    )
    .expect("write");
    let out = Command::cargo_bin("proxy-triage")
        .expect("binary")
        .args([
            "analyze",
            "--probe-url",
            &format!("http://127.0.0.1:{target}/"),
            "--format",
            "json",
            "-q",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(doc["cases"][0]["probe"].is_null());
    std::thread::sleep(Duration::from_millis(100));
    assert!(seen.lock().expect("lock").is_empty());
}
