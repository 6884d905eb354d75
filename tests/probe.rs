//! `proxy-triage probe` against loopback servers only: the service's 503, the ping API, portal
//! pages, closed ports, silent servers, CONNECT proxies (tunnelling, 407, 503) and an HTTPS
//! server with a certificate generated per run.

mod support;

use std::time::Duration;

use assert_cmd::Command;
use proxy_triage::probe::{probe, FailureKind, ProbeOutcome, ProbeRequest, StatusSource};
use serde_json::Value;
use support::{Answer, SERVICE_HOST, TEST_CA_CN};

/// Output of one run of the binary.
struct Run {
    code: i32,
    json: Value,
    stdout: String,
    stderr: String,
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::cargo_bin("proxy-triage").expect("binary");
    cmd.arg("probe").args(args).timeout(Duration::from_secs(20));
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, &[])
}

fn portal_routes(path: &str) -> Answer {
    match path {
        "/tri/sensor/api/ping" => Answer::new(200, "OK", "2.250.18383.0"),
        "/login" => Answer::new(302, "Found", "").header("Location", "http://portal.contoso.test/auth?x=1"),
        _ => Answer::new(
            200,
            "OK",
            "<html><head><title>Contoso Web Gateway - Accept Policy</title></head><body>x</body></html>",
        ),
    }
}

fn ca_file(pki: &support::TestPki) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &pki.ca_pem).expect("write CA");
    file
}

#[test]
fn direct_503_is_reachable() {
    let server = support::http_server(|_| support::service_503());
    let url = server.http_url("/");
    let r = run(&["--url", &url, "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json["outcome"], "reachable");
    assert_eq!(r.json["status"], 503);
    assert_eq!(r.json["status_source"], "response");
    assert_eq!(r.json["url"], url);
    assert_eq!(r.json["proxy"], Value::Null);
    assert_eq!(r.json["tls"], Value::Null);
    assert_eq!(r.json["error"], Value::Null);
    assert_eq!(r.json["proxy_auth_schemes"], serde_json::json!([]));
    assert!(r.json["elapsed_ms"].is_u64());
    // Plain HTTP is flagged as not a valid test of the sensor's route.
    assert!(r.json["explanation"]
        .as_str()
        .unwrap_or("")
        .contains("Plain HTTP"));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, "GET / HTTP/1.1");
}

#[test]
fn ping_200_is_reachable_but_portal_200_and_redirect_are_not() {
    let server = support::http_server(portal_routes);
    let r = run(&[
        "--url",
        &server.http_url("/tri/sensor/api/ping"),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        (r.json["outcome"].as_str(), r.json["status"].as_u64()),
        (Some("reachable"), Some(200))
    );

    let r = run(&["--url", &server.http_url("/"), "--format", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["outcome"], "unexpected_status");
    assert_eq!(r.json["status"], 200);
    assert_eq!(r.json["page_title"], "Contoso Web Gateway - Accept Policy");
    assert!(r.json["explanation"]
        .as_str()
        .unwrap_or("")
        .contains("portal"));

    let r = run(&["--url", &server.http_url("/login"), "--format", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["outcome"], "unexpected_status");
    assert_eq!(r.json["status"], 302);
    assert_eq!(r.json["location"], "http://portal.contoso.test/auth?x=1");
    assert!(r.json["explanation"]
        .as_str()
        .unwrap_or("")
        .contains("http://portal.contoso.test/auth?x=1"));
    // Redirects are not followed: three requests, three connections.
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn closed_port_fails_as_refused() {
    let addr = support::closed_port();
    let r = run(&["--url", &format!("http://{addr}/"), "--format", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["outcome"], "failed");
    assert_eq!(r.json["error_kind"], "refused");
    assert_eq!(r.json["status"], Value::Null);
    assert!(r.json["error"].as_str().unwrap_or("").contains("refused"));
}

#[test]
fn silent_server_times_out() {
    let server = support::silent_server();
    let r = run(&[
        "--url",
        &server.http_url("/"),
        "--timeout",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["outcome"], "failed");
    assert_eq!(r.json["error_kind"], "timeout");
    let elapsed = r.json["elapsed_ms"].as_u64().unwrap_or(u64::MAX);
    assert!((900..5000).contains(&elapsed), "elapsed {elapsed}");
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn https_with_ca_cert_reports_the_peer_certificate() {
    let pki = support::test_pki();
    let server = support::https_server(&pki, support::service_503());
    let ca = ca_file(&pki);
    let ca_path = ca.path().to_str().expect("utf-8 path");
    let r = run(&[
        "--url",
        &server.https_url("/"),
        "--ca-cert",
        ca_path,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json["outcome"], "reachable");
    assert_eq!(r.json["status"], 503);
    assert_eq!(r.json["tls"]["subject"], "CN=localhost");
    assert_eq!(
        r.json["tls"]["issuer"],
        format!("CN={TEST_CA_CN}, O=Contoso Test")
    );
    assert_eq!(r.json["tls"]["issued_by_ca_cert"], true);
    // 127.0.0.1 is not a Microsoft host: no inspection verdict, but the explanation is honest.
    assert_eq!(r.json["inspection_suspected"], false);
    assert!(r.json["explanation"]
        .as_str()
        .unwrap_or("")
        .contains("only through --ca-cert"));
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn https_without_ca_cert_fails_on_tls() {
    let pki = support::test_pki();
    let server = support::https_server(&pki, support::service_503());
    let r = run(&["--url", &server.https_url("/"), "--format", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["outcome"], "failed");
    assert_eq!(r.json["error_kind"], "tls");
    assert!(
        r.json["error"]
            .as_str()
            .unwrap_or("")
            .contains("UnknownIssuer"),
        "{}",
        r.json["error"]
    );
    assert!(r.json["explanation"]
        .as_str()
        .unwrap_or("")
        .contains("SSL-inspecting"));
    // The certificate is still reported (read without trusting it), marked untrusted.
    assert_eq!(r.json["tls"]["subject"], "CN=localhost");
    assert_eq!(
        r.json["tls"]["issuer"],
        format!("CN={TEST_CA_CN}, O=Contoso Test")
    );
    assert_eq!(r.json["tls"]["trusted"], false);
    assert_eq!(r.json["inspection_suspected"], false);
    // No handshake completed, so no request reached the server (the client's attempt and the
    // certificate read).
    assert!(server.seen().is_empty());
    assert_eq!(server.connection_count(), 2);
}

#[test]
fn https_url_on_a_plain_http_port_is_a_tls_failure() {
    let server = support::http_server(|_| support::service_503());
    let r = run(&["--url", &server.https_url("/"), "--format", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["error_kind"], "tls");
    assert_eq!(r.json["tls"], Value::Null);
    assert!(
        r.json["explanation"]
            .as_str()
            .unwrap_or("")
            .contains("not TLS"),
        "{}",
        r.stdout
    );
}

#[test]
fn https_through_tunnel_proxy_with_credentials() {
    let pki = support::test_pki();
    let server = support::https_server(&pki, support::service_503());
    let proxy = support::tunnel_proxy();
    let ca = ca_file(&pki);
    let proxy_url = format!("http://u:s3cr3tpw@{}", proxy.addr);
    let r = run(&[
        "--url",
        &server.https_url("/"),
        "--proxy",
        &proxy_url,
        "--ca-cert",
        ca.path().to_str().expect("utf-8 path"),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json["outcome"], "reachable");
    assert_eq!(r.json["status"], 503);
    assert_eq!(r.json["proxy"], format!("http://***@{}", proxy.addr));
    assert_eq!(r.json["tls"]["subject"], "CN=localhost");
    assert_eq!(r.json["tls"]["trusted"], true);
    assert_eq!(r.json["tls"]["issued_by_ca_cert"], true);
    // The proxy carried everything: the request's CONNECT and the certificate read's, both
    // with the credentials; one HTTP request reached the server.
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for s in &seen {
        assert_eq!(s.request_line, format!("CONNECT {} HTTP/1.1", server.addr));
        assert_eq!(
            s.header("proxy-authorization"),
            Some("Basic dTpzM2NyM3Rwdw==")
        );
    }
    assert_eq!(server.seen().len(), 1);
    assert_eq!(server.seen()[0].request_line, "GET / HTTP/1.1");
    // Credentials never appear in output.
    for text in [&r.stdout, &r.stderr] {
        assert!(
            !text.contains("s3cr3tpw") && !text.contains("dTpzM2NyM3Rwdw"),
            "{text}"
        );
    }
}

#[test]
fn proxy_407_to_connect_lists_schemes() {
    let proxy = support::answering_proxy(
        Answer::new(407, "Proxy Authentication Required", "")
            .header("Proxy-Authenticate", "NTLM")
            .header("Proxy-Authenticate", "Basic realm=\"x\""),
    );
    let proxy_url = format!("http://u:secret@{}", proxy.addr);
    let r = run(&[
        "--url",
        "https://contososensorapi.atp.azure.com/tri/sensor/api/ping",
        "--proxy",
        &proxy_url,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json["outcome"], "proxy_auth_required");
    assert_eq!(r.json["status"], 407);
    assert_eq!(r.json["status_source"], "proxy_connect");
    assert_eq!(
        r.json["proxy_auth_schemes"],
        serde_json::json!(["NTLM", "Basic"])
    );
    let explanation = r.json["explanation"].as_str().unwrap_or("");
    assert!(explanation.contains("LocalService"), "{explanation}");
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    assert!(seen
        .iter()
        .all(|s| s.request_line == "CONNECT contososensorapi.atp.azure.com:443 HTTP/1.1"));
    for text in [&r.stdout, &r.stderr] {
        assert!(!text.contains("secret"), "{text}");
    }
}

#[test]
fn proxy_407_to_plain_http_request_lists_schemes() {
    let proxy = support::answering_proxy(
        Answer::new(407, "Proxy Authentication Required", "")
            .header("Proxy-Authenticate", "Negotiate, NTLM"),
    );
    let r = run(&[
        "--url",
        "http://contososensorapi.atp.azure.com/",
        "--proxy",
        &proxy.addr.to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["outcome"], "proxy_auth_required");
    assert_eq!(r.json["status_source"], "response");
    assert_eq!(
        r.json["proxy_auth_schemes"],
        serde_json::json!(["Negotiate", "NTLM"])
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].request_line,
        "GET http://contososensorapi.atp.azure.com/ HTTP/1.1"
    );
}

#[test]
fn proxy_503_to_connect_is_not_the_service() {
    let proxy = support::answering_proxy(Answer::new(503, "Service Unavailable", "upstream down"));
    let r = run(&[
        "--url",
        "https://contososensorapi.atp.azure.com/",
        "--proxy",
        &format!("http://{}", proxy.addr),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.json["outcome"], "unexpected_status");
    assert_eq!(r.json["status"], 503);
    assert_eq!(r.json["status_source"], "proxy_connect");
    assert!(r.json["explanation"]
        .as_str()
        .unwrap_or("")
        .contains("not the service's 503"));
}

#[test]
fn inspected_service_host_is_not_a_pass() {
    // The tunnel proxy plays DNS: the Microsoft host name lands on the local HTTPS server,
    // whose certificate (issued by the test CA) stands in for an inspection proxy's.
    let pki = support::test_pki();
    let server = support::https_server(&pki, support::service_503());
    let proxy = support::tunnel_proxy();
    let result = probe(&ProbeRequest {
        url: format!("https://{SERVICE_HOST}:{}/", server.addr.port()),
        proxy: Some(format!("http://{}", proxy.addr)),
        ca_cert_pem: Some(pki.ca_pem.clone().into_bytes()),
        timeout: Duration::from_secs(5),
    });
    assert_eq!(result.status, Some(503));
    assert_eq!(result.outcome, ProbeOutcome::UnexpectedStatus);
    assert!(result.inspection_suspected);
    assert!(
        result.explanation.contains("SSL-inspecting proxy"),
        "{}",
        result.explanation
    );
    assert_eq!(
        result.tls.as_ref().map(|t| t.issuer.as_str()),
        Some(format!("CN={TEST_CA_CN}, O=Contoso Test").as_str())
    );
    assert_eq!(
        proxy.seen().first().map(|s| s.request_line.clone()),
        Some(format!(
            "CONNECT {SERVICE_HOST}:{} HTTP/1.1",
            server.addr.port()
        ))
    );

    // Without the inspection CA the handshake fails, and the certificate read names the CA.
    let result = probe(&ProbeRequest {
        url: format!("https://{SERVICE_HOST}:{}/", server.addr.port()),
        proxy: Some(format!("http://{}", proxy.addr)),
        ca_cert_pem: None,
        timeout: Duration::from_secs(5),
    });
    assert_eq!(result.outcome, ProbeOutcome::Failed);
    assert_eq!(result.error_kind, Some(FailureKind::Tls));
    assert!(result.inspection_suspected);
    assert_eq!(result.tls.as_ref().map(|t| t.trusted), Some(false));
    assert!(
        result.explanation.contains(TEST_CA_CN),
        "{}",
        result.explanation
    );
}

#[test]
fn library_probe_through_proxy_refused() {
    let addr = support::closed_port();
    let result = probe(&ProbeRequest {
        url: "https://contososensorapi.atp.azure.com/".into(),
        proxy: Some(format!("http://CORP%5Calice:pa%40ss@{addr}")),
        ca_cert_pem: None,
        timeout: Duration::from_secs(5),
    });
    assert_eq!(result.outcome, ProbeOutcome::Failed);
    assert_eq!(result.error_kind, Some(FailureKind::Refused));
    assert_eq!(result.status_source, None::<StatusSource>);
    assert!(
        result.explanation.contains(&addr.to_string()),
        "{}",
        result.explanation
    );
    let json = serde_json::to_string(&result).unwrap_or_default();
    assert!(
        !json.contains("alice") && !json.contains("pa%40ss") && !json.contains("pa@ss"),
        "{json}"
    );
}

#[test]
fn environment_proxies_are_ignored() {
    let server = support::http_server(|_| support::service_503());
    let env_proxy = support::answering_proxy(Answer::new(407, "Proxy Authentication Required", ""));
    let env_url = format!("http://{}", env_proxy.addr);
    let vars: Vec<(&str, &str)> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .into_iter()
    .map(|v| (v, env_url.as_str()))
    .collect();
    let r = run_with(&["--url", &server.http_url("/"), "--format", "json"], &vars);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json["outcome"], "reachable");
    assert_eq!(r.json["proxy"], Value::Null);
    assert_eq!(env_proxy.connection_count(), 0);
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn table_output() {
    let server = support::http_server(|_| support::service_503());
    let r = run(&["--url", &server.http_url("/"), "--format", "table"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("reachable"), "{}", r.stdout);
    assert!(r.stdout.contains("503"));
    assert!(r.stdout.contains("(direct)"));
}

#[test]
fn usage_errors_exit_3_and_name_the_flag() {
    let r = run(&["--proxy", "socks5://u:secret@127.0.0.1:1080"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("--proxy"), "{}", r.stderr);
    assert!(!r.stderr.contains("secret"), "{}", r.stderr);

    let r = run(&["--ca-cert", "/nonexistent/ca.pem"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("--ca-cert /nonexistent/ca.pem"),
        "{}",
        r.stderr
    );

    let junk = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(junk.path(), b"\x30\x82\x01\x0a not pem").expect("write");
    let r = run(&["--ca-cert", junk.path().to_str().expect("utf-8")]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("--ca-cert") && r.stderr.contains("PEM"),
        "{}",
        r.stderr
    );

    let r = run(&["--url", "ftp://example.test/"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("--url"), "{}", r.stderr);

    let r = run(&["--timeout", "0"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
    // Nothing was probed, nothing printed on stdout.
    assert!(r.stdout.is_empty());
}
