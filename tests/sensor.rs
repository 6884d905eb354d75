//! `proxy-triage parse` on sensor logs and SensorConfiguration.json fixtures.

use std::io::Write;

use assert_cmd::Command;
use serde_json::Value;

fn parse_file(path: &str) -> Value {
    let out = Command::cargo_bin("proxy-triage")
        .expect("binary")
        .args(["parse", path])
        .output()
        .expect("run");
    assert!(out.status.success(), "{path}: {out:?}");
    serde_json::from_slice(&out.stdout).expect("json")
}

/// (kind, line, timestamp) of every event.
fn events(v: &Value) -> Vec<(String, u64, Option<String>)> {
    v["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_string(),
                e["line"].as_u64().expect("line"),
                e["timestamp"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn ev(kind: &str, line: u64, ts: &str) -> (String, u64, Option<String>) {
    (kind.to_string(), line, Some(ts.to_string()))
}

#[test]
fn runtime_errors_log_every_kind_with_noise() {
    let v = parse_file("fixtures/logs/Microsoft.Tri.Sensor-Errors.log");
    assert_eq!(v["kind"], "sensor-log");
    assert_eq!(v["encoding"], "utf-8");
    assert_eq!(v["layout"], "runtime");
    assert_eq!(v["records"], 16);
    assert_eq!(
        events(&v),
        vec![
            ev("ssl_inspection_suspected", 3, "2024-03-06 11:41:12.1120"),
            ev("proxy_auth_required", 5, "2024-03-06 11:42:39.6370"),
            ev("tls_trust_failure", 12, "2024-03-06 11:44:05.5005"),
            ev("tls_channel_failure", 14, "2024-03-06 11:45:06.6006"),
            ev("proxy_dns_failure", 15, "2024-03-06 11:46:07.7007"),
            ev("dns_failure", 16, "2024-03-06 11:47:08.8008"),
            ev("service_unavailable_503", 17, "2024-03-06 11:48:09.9009"),
            ev("connection_reset", 18, "2024-03-06 11:49:10.1010"),
            ev("localhost_channel_blocked", 20, "2024-03-06 11:50:11.2011"),
            ev("connect_failed", 23, "2024-03-06 11:51:12.3012"),
            ev("timeout", 25, "2024-03-06 11:52:13.4013"),
            ev("dc_communication_failure", 26, "2024-03-06 11:53:14.5014"),
        ]
    );
    let e = &v["events"];
    assert_eq!(
        e[0]["message"],
        "2024-03-06 11:41:12.1120 Error CommunicationWebClient+<SendWithRetryAsync>d__9`1 Microsoft.Tri.Infrastructure.ExtendedException: ApplyInternal failed two way SSL connection to service. The issue can be caused by a proxy with SSL inspection enabled. [_workspaceApplicationSensorApiEndpoint=Unspecified/contoso-corpsensorapi.atp.azure.com:443 Thumbprint=0DA8BEC4A0E3C9E6D11B6B1A0B6E5D1B2C3D4E5F]"
    );
    assert_eq!(
        e[0]["target"],
        serde_json::json!({"host": "contoso-corpsensorapi.atp.azure.com", "port": 443})
    );
    assert_eq!(e[1]["level"], "Error");
    assert_eq!(e[1]["logger"], "CommunicationWebClient");
    assert_eq!(e[1]["record_lines"], 6);
    assert_eq!(e[4]["proxy_host"], "proxy.contoso.com");
    assert_eq!(
        e[8]["target"],
        serde_json::json!({"host": "127.0.0.1", "port": 444})
    );
    assert_eq!(
        e[9]["target"],
        serde_json::json!({"host": "10.20.30.40", "port": 8080})
    );
    assert_eq!(e[11]["logger"], "DirectoryServicesClient");
}

#[test]
fn noise_only_log_has_no_events() {
    let v = parse_file("fixtures/logs/noise-only.log");
    assert_eq!(v["kind"], "sensor-log");
    assert_eq!(v["records"], 5);
    assert!(events(&v).is_empty());
}

#[test]
fn burn_deployment_log() {
    let v = parse_file("fixtures/logs/Microsoft.Tri.Sensor.Deployment.log");
    assert_eq!(v["layout"], "burn");
    assert_eq!(
        events(&v),
        vec![
            ev("license_invalid_proxy_suspected", 3, "2018-03-24T23:59:13"),
            ev("tls_channel_failure", 5, "2018-03-24T23:59:15"),
            ev("install_failed_0x80070643", 7, "2018-03-24T23:59:20"),
        ]
    );
    assert_eq!(
        v["events"][0]["inner_timestamp"],
        "2018-03-25 02:59:13.1237"
    );
    assert_eq!(v["events"][0]["logger"], "InteractiveDeploymentManager");
}

#[test]
fn ata_layout_log() {
    let v = parse_file("fixtures/logs/ata-gateway.log");
    assert_eq!(v["layout"], "ata");
    assert_eq!(
        events(&v),
        vec![
            ev("proxy_auth_required", 2, "2020-07-29 08:58:44.1234"),
            ev("timeout", 5, "2020-07-29 08:58:46.0000"),
        ]
    );
    assert_eq!(v["events"][0]["logger"], "CenterClient");
}

#[test]
fn utf16le_and_bom_crlf_logs_agree() {
    for (file, enc) in [
        (
            "fixtures/logs/Microsoft.Tri.Sensor.Updater-utf16le.log",
            "utf-16le",
        ),
        (
            "fixtures/logs/Microsoft.Tri.Sensor.Updater-bom-crlf.log",
            "utf-8-bom",
        ),
    ] {
        let v = parse_file(file);
        assert_eq!(v["kind"], "sensor-log", "{file}");
        assert_eq!(v["encoding"], enc);
        assert_eq!(
            events(&v),
            vec![
                ev("service_unavailable_503", 2, "2024-03-07 09:00:01.0000"),
                ev("proxy_auth_required", 4, "2024-03-07 09:00:02.0000"),
            ],
            "{file}"
        );
        assert_eq!(
            v["events"][1]["message"],
            "2024-03-07 09:00:02.0000 Error SensorUpdater System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required."
        );
    }
}

#[test]
fn two_megabyte_log_with_one_buried_event() {
    let mut file = tempfile::Builder::new()
        .suffix(".log")
        .tempfile()
        .expect("temp file");
    let mut text = String::with_capacity(2 * 1024 * 1024 + 4096);
    let mut line = 0u64;
    let mut event_line = 0u64;
    while text.len() < 2 * 1024 * 1024 {
        line += 1;
        let s = line % 60;
        if event_line == 0 && text.len() >= 1024 * 1024 {
            event_line = line;
            text.push_str(&format!("2024-03-06 12:00:{s:02}.4242 Error CommunicationWebClient System.Net.WebException: Unable to connect to the remote server\r\n"));
            line += 1;
            text.push_str(" ---> System.Net.Sockets.SocketException: No connection could be made because the target machine actively refused it 10.9.8.7:3128\r\n");
            continue;
        }
        text.push_str(&format!(
            "2024-03-06 12:00:{s:02}.{:04} Info  NetworkListener Capture statistics [DroppedPackets=503 ErrorCount=0 TimedOutRequests=0 Line={line}]\r\n",
            line % 10_000
        ));
    }
    file.write_all(text.as_bytes()).expect("write");
    let v = parse_file(file.path().to_str().expect("utf-8 path"));
    let got = events(&v);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "connect_failed");
    assert_eq!(got[0].1, event_line);
    assert_eq!(
        got[0].2.as_deref(),
        Some(format!("2024-03-06 12:00:{:02}.4242", event_line % 60).as_str())
    );
    assert_eq!(
        v["events"][0]["target"],
        serde_json::json!({"host": "10.9.8.7", "port": 3128})
    );
    assert_eq!(v["lines"], line);
}

#[test]
fn config_with_proxy_never_prints_the_password() {
    for file in [
        "fixtures/config/SensorConfiguration-proxy.json",
        "fixtures/config/SensorConfiguration-proxy-bom.json",
    ] {
        let out = Command::cargo_bin("proxy-triage")
            .expect("binary")
            .args(["parse", file])
            .output()
            .expect("run");
        assert!(out.status.success());
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for secret in ["c2VjcmV0LXRlc3Qt", "EncryptedBytes"] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{file}"
            );
        }
        let v: Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(v["kind"], "sensor-config", "{file}");
        assert_eq!(
            v["proxy"],
            serde_json::json!({"url": "http://proxy.contoso.com:8080", "host": "proxy.contoso.com",
                "port": 8080, "user_name": "CONTOSO\\svc-mdi-proxy", "password_set": true})
        );
        assert_eq!(v["endpoint"], "contoso-corpsensorapi.atp.azure.com");
        assert_eq!(v["port"], 443);
        assert_eq!(v["workspace"], "contoso-corp");
        assert_eq!(v["diagnostics"], serde_json::json!([]));
    }
    // The table rendering must not leak it either.
    let out = Command::cargo_bin("proxy-triage")
        .expect("binary")
        .args([
            "parse",
            "--format",
            "table",
            "fixtures/config/SensorConfiguration-proxy.json",
        ])
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("c2VjcmV0LXRlc3Qt"));
}

#[test]
fn config_without_proxy() {
    let v = parse_file("fixtures/config/SensorConfiguration-noproxy.json");
    assert_eq!(v["kind"], "sensor-config");
    assert_eq!(v["proxy"], Value::Null);
    assert_eq!(v["proxy_key_present"], true);
    assert_eq!(v["endpoint"], "fabrikamsensorapi.atp.azure.com");
    assert_eq!(v["workspace"], "fabrikam");
}

/// A sensor-log finding cites the line carrying the signature (the inner `407` line, third of
/// its record), in the first and in the last record over the rotated logs, with its excerpt.
#[test]
fn log_finding_cites_the_signature_lines_of_the_first_and_last_record() {
    let out = Command::cargo_bin("proxy-triage")
        .expect("binary")
        .args(["analyze", "fixtures/logs/rotated", "--format", "json", "-q"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = doc["cases"][0]["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(f["id"], "proxy-auth-required");
    assert_eq!(
        f["title"],
        "Sensor log: the proxy demands authentication (407) (3 records, first 2024-03-05 23:59:10.4410, last 2024-03-06 08:01:01.2340)"
    );
    assert_eq!(
        f["evidence"],
        serde_json::json!([
            { "file": "fixtures/logs/rotated/Microsoft.Tri.Sensor-Errors-Archived-00000.log", "line": 4 },
            { "file": "fixtures/logs/rotated/Microsoft.Tri.Sensor-Errors.log", "line": 10 },
        ])
    );
    assert_eq!(
        f["excerpt"],
        "---> System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required."
    );

    // `parse` keeps the record's first line and adds the signature line and its excerpt.
    let v = parse_file("fixtures/logs/rotated/Microsoft.Tri.Sensor-Errors.log");
    let e = &v["events"];
    assert_eq!(
        (e[0]["line"].as_u64(), e[0]["signature_line"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(
        (e[1]["line"].as_u64(), e[1]["signature_line"].as_u64()),
        (Some(8), Some(10))
    );
    assert_eq!(e[1]["excerpt"], f["excerpt"]);
    let c = &v["event_counts"][0];
    assert_eq!(c["count"], 2);
    assert_eq!(
        (
            c["first_signature_line"].as_u64(),
            c["last_signature_line"].as_u64()
        ),
        (Some(4), Some(10))
    );
    assert_eq!(c["last_timestamp"], "2024-03-06 08:01:01.2340");
}
