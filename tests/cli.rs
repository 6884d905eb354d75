//! The command line as a whole: `--format` per command, exit codes for a closed stdout and for
//! paths that do not exist, `--threads 0`, `-q`, `decode`'s short blobs, decimal lists and
//! endpoint flags, `probe`'s endpoint flags (loopback proxies only), completions and man.

mod support;

use std::io::Read;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use support::Answer;

/// A fresh user's blob: version 0x46, counter 10, flags 0x01 (direct), empty strings, trailer.
const FRESH_BLOB: &str = "46000000 0a000000 01000000 00000000 00000000 00000000 \
    00000000000000000000000000000000 00000000000000000000000000000000";

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("proxy-triage").unwrap_or_else(|e| panic!("binary: {e}"));
    cmd.timeout(Duration::from_secs(30));
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
    // Piped tables follow COLUMNS: every test starts from the 100-column default.
    cmd.env_remove("COLUMNS");
    cmd
}

/// Exit code, stdout and stderr of one run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("json: {e}\n{}\n{}", self.stdout, self.stderr))
    }
}

fn run(args: &[&str]) -> Run {
    run_stdin(args, None)
}

fn run_stdin(args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = bin();
    cmd.args(args);
    if let Some(s) = stdin {
        cmd.write_stdin(s);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the binary with stdout a pipe whose reader is already gone, as after `| head` has
/// exited: every write fails with EPIPE.
fn run_with_closed_stdout(args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("pipe: {e}"));
    drop(reader);
    let path = assert_cmd::cargo::cargo_bin("proxy-triage");
    let mut child = StdCommand::new(path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    (status.code().unwrap_or(-1), stderr)
}

/// The `[possible values: ...]` of `--format` in a command's `-h`.
fn format_values(command: &str) -> String {
    let r = run(&[command, "-h"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let at = r
        .stdout
        .find("--format <")
        .unwrap_or_else(|| panic!("no --format in {command} --help"));
    let rest = r.stdout.get(at..).unwrap_or("");
    let start = rest
        .find("[possible values: ")
        .unwrap_or_else(|| panic!("no possible values in {rest}"));
    let rest = rest.get(start + "[possible values: ".len()..).unwrap_or("");
    rest.get(..rest.find(']').unwrap_or(0))
        .unwrap_or("")
        .to_string()
}

#[test]
fn each_command_offers_only_its_formats() {
    assert_eq!(format_values("parse"), "json, table");
    assert_eq!(format_values("decode"), "table, json, jsonl");
    assert_eq!(format_values("probe"), "table, json, jsonl");
    assert_eq!(format_values("fix"), "table, json");
    assert_eq!(format_values("pac"), "table, json, jsonl");
    assert_eq!(format_values("collect-script"), "table, json");
    assert_eq!(
        format_values("analyze"),
        "table, json, jsonl, markdown, csv, summary"
    );
    // What a command does not support is a usage error (exit 3) naming the valid values.
    let r = run(&[
        "parse",
        "fixtures/cases/missing/hkcu.reg",
        "--format",
        "csv",
    ]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("[possible values: json, table]"),
        "{}",
        r.stderr
    );
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let r = run(&[
        "fix",
        "fixtures/cases/missing",
        "--out",
        &out.path().join("fix").to_string_lossy(),
        "--format",
        "markdown",
    ]);
    assert_eq!(r.code, 3);
    assert!(!out.path().join("fix").exists());
    assert_eq!(run(&["decode", "46", "--format", "csv"]).code, 3);
    assert_eq!(run(&["probe", "--format", "markdown"]).code, 3);
    let r = run(&[
        "pac",
        "fixtures/pac/wpad.dat",
        "--url",
        "https://contoso-corpsensorapi.atp.azure.com/",
        "--format",
        "markdown",
    ]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("[possible values: table, json, jsonl]"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "collect-script",
        "--out",
        &out.path().join("collect").to_string_lossy(),
        "--format",
        "csv",
    ]);
    assert_eq!(r.code, 3);
    assert!(!out.path().join("collect").exists());
}

#[test]
fn every_help_has_examples() {
    for command in [
        "analyze",
        "parse",
        "decode",
        "probe",
        "fix",
        "completions",
        "pac",
        "collect-script",
        "schema",
        "man",
    ] {
        let r = run(&[command, "--help"]);
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("Examples:\n  proxy-triage "),
            "{command}: {}",
            r.stdout
        );
    }
    let r = run(&["--help"]);
    assert!(
        r.stdout.contains("Exit codes (all commands):"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("completions"), "{}", r.stdout);
}

#[test]
fn closed_stdout_is_a_quiet_success() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let fix_out = out.path().join("fix").to_string_lossy().into_owned();
    let probe_port = support::closed_port().to_string();
    let probe_url = format!("http://{probe_port}/");
    for args in [
        vec!["parse", "fixtures/cases/missing/hkcu.reg"],
        vec![
            "parse",
            "fixtures/cases/missing/hkcu.reg",
            "--format",
            "table",
        ],
        vec!["decode", FRESH_BLOB, "--format", "json"],
        vec!["decode", FRESH_BLOB, "--format", "table"],
        // A probe that fails still exits 0 when nobody reads its answer.
        vec!["probe", "--url", &probe_url, "--timeout", "2"],
        vec![
            "fix",
            "fixtures/cases/missing",
            "--out",
            &fix_out,
            "--dry-run",
        ],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["--help"],
    ] {
        let (code, stderr) = run_with_closed_stdout(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// `2>&1 | head`: stderr is the same closed pipe. Warnings then fail too, without a panic.
#[test]
fn closed_stdout_and_stderr_do_not_panic() {
    let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("pipe: {e}"));
    drop(reader);
    let err = writer.try_clone().unwrap_or_else(|e| panic!("clone: {e}"));
    let path = assert_cmd::cargo::cargo_bin("proxy-triage");
    // JSON without --workspace: the placeholder warning goes to stderr after the output.
    let status = StdCommand::new(path)
        .args(["decode", FRESH_BLOB, "--format", "json"])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(err)
        .status()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(status.code(), Some(0));
}

/// `analyze` maps its own writes (the lead's `src/cmd/analyze.rs`): it must use
/// `Context::stdout_failed` for this to pass.
#[test]
fn closed_stdout_is_a_quiet_success_for_analyze() {
    let (code, stderr) = run_with_closed_stdout(&["analyze", "fixtures/cases/missing"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn missing_paths_exit_2_with_one_line() {
    for quiet in [false, true] {
        let mut args = vec!["parse", "fixtures/no/such.reg"];
        if quiet {
            args.push("-q");
        }
        let r = run(&args);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        assert_eq!(
            r.stderr,
            "proxy-triage: fixtures/no/such.reg: no such file or directory\n"
        );
    }
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let fix_out = out.path().join("fix");
    let r = run(&[
        "fix",
        "fixtures/cases/missing/hkcu.reg",
        "fixtures/no/such.txt",
        "--out",
        &fix_out.to_string_lossy(),
        "-q",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "proxy-triage: fixtures/no/such.txt: no such file or directory\n"
    );
    assert!(!r.stderr.contains("nothing to fix"), "{}", r.stderr);
    assert!(!fix_out.exists(), "nothing is written");
}

#[test]
fn quiet_never_hides_why_an_input_was_unreadable() {
    // A directory given to parse: not a regular file.
    let r = run(&["parse", "fixtures/cases", "-q"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one line for the input: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("fixtures/cases: not a regular file"),
        "{}",
        r.stderr
    );
    // decode's rejected input, with -q.
    let r = run(&["decode", "46 00 zz", "-q"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("\"zz\" at line 1, column 7"),
        "{}",
        r.stderr
    );
}

#[test]
fn threads_zero_means_one_per_core() {
    let help = run(&["analyze", "--help"]).stdout;
    assert!(help.contains("(0, or not given: one per core)"), "{help}");
    let default = run(&[
        "analyze",
        "fixtures/cases/missing",
        "--format",
        "json",
        "-q",
    ]);
    let zero = run(&[
        "analyze",
        "fixtures/cases/missing",
        "--format",
        "json",
        "-q",
        "--threads",
        "0",
    ]);
    assert_eq!(zero.code, default.code, "{}", zero.stderr);
    assert_eq!(zero.json()["cases"], default.json()["cases"]);
}

#[test]
fn decode_short_and_empty_blobs_are_truncated_header() {
    for (input, length) in [
        ("", 0),
        ("hex:", 0),
        ("\"DefaultConnectionSettings\"=hex:", 0),
        ("4600", 2),
        ("46 00 00 00 0a 00 00 00 01 00 00", 11),
    ] {
        let r = run(&["decode", input, "--format", "json"]);
        assert_eq!(r.code, 2, "{input:?}: {}", r.stderr);
        let v = r.json();
        assert_eq!(v["schema_version"], 2);
        assert_eq!(v["error"], "truncated_header", "{input:?}");
        assert_eq!(v["length"], length, "{input:?}");
        assert_eq!(v["routes"][0]["kind"], "unknown", "{input:?}");
        assert_eq!(v["routes"][1]["kind"], "unknown", "{input:?}");
        assert_ne!(v["routes"][0]["kind"], "direct");
    }
    // Why it was rejected is said even with -q.
    let r = run(&["decode", "4600", "-q"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("truncated_header"), "{}", r.stderr);
    // Twelve bytes are a header: not truncated_header, exit 0.
    let r = run(&["decode", "46000000 0a000000 01000000", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["error"], "truncated");
}

#[test]
fn decode_reads_powershell_decimal_lists() {
    // The fresh blob in decimal, one number per line (`-ExpandProperty`).
    let mut per_line: Vec<String> = vec!["70", "0", "0", "0", "10", "0", "0", "0", "1"]
        .into_iter()
        .map(String::from)
        .collect();
    per_line.extend(std::iter::repeat_n("0".to_string(), 47));
    for stdin in [per_line.join("\r\n") + "\r\n", per_line.join(", ")] {
        let r = run_stdin(&["decode", "-", "--format", "json"], Some(&stdin));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = r.json();
        assert_eq!(v["length"], 56);
        assert_eq!(v["counter"], 10);
        assert_eq!(v["flags"], 1);
        assert_eq!(v["input"]["notation"], "decimal");
        assert_eq!(v["trailer"]["extra_bytes"], 0);
    }
    // The table cell of Get-ItemProperty: shortened to four entries.
    let r = run(&["decode", "{70, 0, 0, 0...}", "--format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["length"], 4);
    assert_eq!(v["version"], 70);
    assert_eq!(v["error"], "truncated_header");
    assert_eq!(v["input"]["shortened"], true);
    assert!(r.stderr.contains("-ExpandProperty"), "{}", r.stderr);
    // A number above 255, with the token's own position.
    let r = run(&["decode", "70, 0, 0, 0,\n10, 300", "-q"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("\"300\" at line 2, column 5"),
        "{}",
        r.stderr
    );
}

#[test]
fn piped_tables_fit_columns_else_100() {
    let closed = format!("http://{}/", support::closed_port());
    for (columns, width) in [(Some("80"), 80), (None, 100), (Some("150"), 150)] {
        for args in [
            vec![
                "probe",
                "--url",
                closed.as_str(),
                "--format",
                "table",
                "--timeout",
                "2",
            ],
            vec!["decode", "hex:46,00,00,00", "--format", "table"],
            vec!["decode", FRESH_BLOB, "--format", "table"],
        ] {
            let mut cmd = bin();
            cmd.args(&args).env_remove("COLUMNS");
            if let Some(c) = columns {
                cmd.env("COLUMNS", c);
            }
            let out = cmd.output().unwrap_or_else(|e| panic!("run: {e}"));
            let text = String::from_utf8_lossy(&out.stdout);
            let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            assert!(widest <= width, "{columns:?}: {widest} > {width}\n{text}");
        }
    }
}

#[test]
fn decode_judges_the_given_endpoint() {
    let r = run(&["decode", FRESH_BLOB, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Without a flag the endpoint is a placeholder, and the output says so.
    let v = r.json();
    assert_eq!(v["endpoint"]["source"], "default");
    assert_eq!(v["endpoint"]["host"], "<workspace>sensorapi.atp.azure.com");
    assert!(r.stderr.contains("is a placeholder"), "{}", r.stderr);

    let r = run(&[
        "decode",
        FRESH_BLOB,
        "--workspace",
        "Contoso-Corp",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["endpoint"]["host"], "contoso-corpsensorapi.atp.azure.com");
    assert_eq!(v["endpoint"]["source"], "flag");
    assert_eq!(
        v["routes"][0]["url"],
        "https://contoso-corpsensorapi.atp.azure.com"
    );
    assert!(!r.stderr.contains("placeholder"), "{}", r.stderr);

    let r = run(&[
        "decode",
        FRESH_BLOB,
        "--endpoint",
        "ContosoSensorApi.atp.azure.us",
        "--format",
        "table",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("https://contososensorapi.atp.azure.us: direct"),
        "{}",
        r.stdout
    );
    // Bad names and both flags at once are usage errors.
    assert_eq!(
        run(&["decode", FRESH_BLOB, "--workspace", "contoso.corp"]).code,
        3
    );
    assert_eq!(run(&["decode", FRESH_BLOB, "--endpoint", "a b"]).code, 3);
    assert_eq!(
        run(&[
            "decode",
            FRESH_BLOB,
            "--workspace",
            "contoso",
            "--endpoint",
            "x.atp.azure.com"
        ])
        .code,
        3
    );
}

/// `--endpoint`/`--workspace` are one set of flags, checked the same way by every command that
/// takes them: the same bad value is the same usage error, with the same words.
#[test]
fn every_command_checks_the_endpoint_flags_alike() {
    let out = std::env::temp_dir().join("proxy-triage-endpoint-flags");
    let out = out.to_str().expect("utf-8 temp dir");
    let commands: [&[&str]; 5] = [
        &["analyze", "fixtures/cases/missing"],
        &["fix", "fixtures/cases/missing", "--out", out],
        &["collect-script", "--out", out],
        &["decode", FRESH_BLOB],
        &["probe"],
    ];
    for command in commands {
        for bad in [["--workspace", "contoso.corp"], ["--endpoint", "a b"]] {
            let args: Vec<&str> = command.iter().chain(bad.iter()).copied().collect();
            let r = run(&args);
            assert_eq!(r.code, 3, "{args:?}: {}", r.stderr);
            assert!(r.stderr.contains(bad[0]), "{args:?}: {}", r.stderr);
        }
    }
    let both = run(&[
        "analyze",
        "fixtures/cases/missing",
        "--workspace",
        "contoso",
        "--endpoint",
        "x.atp.azure.com",
    ]);
    assert_eq!(both.code, 3, "{}", both.stderr);
}

#[test]
fn decode_bypass_is_judged_against_the_real_host() {
    // Proxy `proxy:8080`, bypass `*.atp.azure.us`: the US endpoint goes direct, the commercial
    // one through the proxy.
    let hex = "46000000 02000000 03000000 0a000000 70726f78793a38303830 \
               0e000000 2a2e6174702e617a7572652e7573 00000000";
    let us = run(&[
        "decode",
        hex,
        "--endpoint",
        "contososensorapi.atp.azure.us",
        "--format",
        "json",
    ]);
    assert_eq!(us.code, 0, "{}", us.stderr);
    assert_eq!(us.json()["routes"][0]["kind"], "direct");
    assert_eq!(us.json()["routes"][0]["matched_bypass"], "*.atp.azure.us");
    let com = run(&["decode", hex, "--workspace", "contoso", "--format", "json"]);
    assert_eq!(com.json()["routes"][0]["kind"], "proxy");
    assert_eq!(com.json()["routes"][0]["host"], "proxy");
}

#[test]
fn probe_with_workspace_asks_the_ping_url() {
    // Through a loopback proxy: the name in CONNECT is the workspace's host, never resolved here.
    let proxy = support::answering_proxy(Answer::new(503, "Service Unavailable", ""));
    let proxy_url = format!("http://{}", proxy.addr);
    let r = run(&[
        "probe",
        "--workspace",
        "contoso",
        "--proxy",
        &proxy_url,
        "--format",
        "json",
        "--timeout",
        "5",
    ]);
    let v = r.json();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(
        v["url"],
        "https://contososensorapi.atp.azure.com/tri/sensor/api/ping"
    );
    assert_eq!(v["url_source"], "flag");
    assert_eq!(v["note"], Value::Null);
    let seen = proxy.seen();
    assert!(!seen.is_empty(), "the proxy saw no request");
    assert!(
        seen.iter()
            .all(|s| s.request_line == "CONNECT contososensorapi.atp.azure.com:443 HTTP/1.1"),
        "{:?}",
        seen.iter().map(|s| &s.request_line).collect::<Vec<_>>()
    );

    let r = run(&[
        "probe",
        "--endpoint",
        "contososensorapi.atp.azure.us",
        "--proxy",
        &proxy_url,
        "--format",
        "jsonl",
        "--timeout",
        "5",
    ]);
    assert_eq!(r.stdout.lines().count(), 1);
    assert_eq!(
        r.json()["url"],
        "https://contososensorapi.atp.azure.us/tri/sensor/api/ping"
    );
    // A timeout out of range is a usage error that names the range.
    let r = run(&["probe", "--workspace", "contoso", "--timeout", "0"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("0 is not in 1..=600"), "{}", r.stderr);
    // --url and an endpoint flag together are a usage error.
    assert_eq!(
        run(&[
            "probe",
            "--url",
            "https://x.test/",
            "--workspace",
            "contoso"
        ])
        .code,
        3
    );
}

#[test]
fn probe_default_url_says_it_dates_from_2018() {
    let proxy = support::answering_proxy(
        Answer::new(407, "Proxy Authentication Required", "").header("Proxy-Authenticate", "NTLM"),
    );
    let proxy_url = format!("http://{}", proxy.addr);
    let r = run(&[
        "probe",
        "--proxy",
        &proxy_url,
        "--format",
        "json",
        "--timeout",
        "5",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        v["url"],
        "https://triprd1wcuse1sensorapi.eastus.cloudapp.azure.com"
    );
    assert_eq!(v["url_source"], "default");
    let note = v["note"].as_str().unwrap_or("");
    assert!(
        note.contains("2018") && note.contains("--workspace"),
        "{note}"
    );
    let r = run(&[
        "probe",
        "--proxy",
        &proxy_url,
        "--format",
        "table",
        "--timeout",
        "5",
    ]);
    assert!(r.stdout.contains("Note"), "{}", r.stdout);
    assert!(r.stdout.contains("2018"), "{}", r.stdout);
}

#[test]
fn bash_completions_parse() {
    let r = run(&["completions", "bash"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("_proxy__triage()"), "{}", r.stdout);
    // Only parse's formats are offered after `parse --format`.
    assert!(r.stdout.contains("json table"), "{}", r.stdout);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let script = dir.path().join("proxy-triage.bash");
    std::fs::write(&script, &r.stdout).unwrap_or_else(|e| panic!("write: {e}"));
    match StdCommand::new("bash").arg("-n").arg(&script).output() {
        Ok(out) => assert!(
            out.status.success(),
            "bash -n: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("bash not found ({e}): syntax not checked"),
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("proxy-triage"), "{shell}");
    }
    assert_eq!(run(&["completions", "tcsh"]).code, 3);
}

#[test]
fn man_page_is_roff() {
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with(".TH proxy-triage 1"), "{}", r.stdout);
    for want in [".SH NAME", ".SH \"PROXY-TRIAGE DECODE\"", "\\-\\-workspace"] {
        assert!(r.stdout.contains(want), "missing {want}");
    }
}

/// The file-size limit: 0 is a usage error; a file over it inside a folder is listed with the
/// reason (checked when the file is opened) and the rest of the case is still judged.
#[test]
fn max_file_mib_limits_files_and_refuses_zero() {
    assert_eq!(
        run(&["analyze", "fixtures/cases/missing", "--max-file-mib", "0"]).code,
        3
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        "fixtures/cases/missing/compare.txt",
        dir.path().join("compare.txt"),
    )
    .expect("copy");
    std::fs::write(dir.path().join("big.log"), vec![b'x'; 2 * 1024 * 1024 + 1]).expect("write");
    let path = dir.path().to_str().expect("utf-8");
    let r = run(&[
        "analyze",
        path,
        "--max-file-mib",
        "1",
        "--format",
        "json",
        "-q",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let inputs = doc["inputs"].as_array().expect("inputs");
    let big = inputs
        .iter()
        .find(|i| i["file"].as_str().unwrap_or("").ends_with("big.log"))
        .expect("big.log listed");
    assert!(
        big["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("larger than the 1 MiB limit"),
        "{big:#}"
    );
    assert!(inputs.iter().any(
        |i| i["file"].as_str().unwrap_or("").ends_with("compare.txt") && i["kind"] == "reg-compare"
    ));
    // The same limit, with the same words, for a file named on the command line.
    let big = dir.path().join("big.log");
    let r = run(&[
        "analyze",
        big.to_str().expect("utf-8"),
        "--max-file-mib",
        "1",
        "--format",
        "json",
        "-q",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert!(
        doc["inputs"][0]["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("larger than the 1 MiB limit"),
        "{doc:#}"
    );
}
