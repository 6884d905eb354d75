//! `collect-script`: the generated collect-mdi-proxy.cmd (snapshot), that every file it writes
//! is one the analyser reads, and a run of the script under Wine (skipped, with a message,
//! where `wine` is absent).

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use assert_cmd::Command;
use proxy_triage::artifact::{self, Content, Scope};
use proxy_triage::formats::collector_manifest::{
    CollectorManifest, Failure, ManifestPrincipal as P,
};
use proxy_triage::formats::reg_writer::{write_export, WriteKey, WriteValue};
use proxy_triage::registry::ValueType;
use proxy_triage::scripts::collect::{self, CollectOptions, Expected};
use serde_json::Value;

const IS: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::cargo_bin("proxy-triage").expect("binary");
    c.current_dir(root());
    c
}

/// Writes the script with `args` into a new temporary folder.
fn generate(args: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .arg("collect-script")
        .arg("--out")
        .arg(dir.path())
        .args(args)
        .output()
        .expect("run");
    (dir, out)
}

/// A DefaultConnectionSettings blob (version 0x46, counter, flags, proxy, no bypass/PAC).
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

#[test]
fn script_and_readme_snapshot() {
    let (dir, out) = generate(&["--workspace", "contoso"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = std::fs::read(dir.path().join("collect-mdi-proxy.cmd")).unwrap();
    assert!(script.is_ascii());
    let text = String::from_utf8(script).unwrap();
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    assert!(text.contains("set \"EP=contososensorapi.atp.azure.com\"\r\n"));
    insta::assert_snapshot!("collect_mdi_proxy_cmd", text.replace("\r\n", "\n"));
    let readme = std::fs::read_to_string(dir.path().join("README.txt")).unwrap();
    insta::assert_snapshot!("collect_readme_txt", readme.replace("\r\n", "\n"));
}

#[test]
fn refuses_bad_endpoints_and_overwrites() {
    let (_, out) = generate(&["--endpoint", "x\"&calc.exe"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--endpoint"));
    let (_, out) = generate(&["--workspace", "con toso"]);
    assert_eq!(out.status.code(), Some(3));
    let (_, out) = generate(&["--workspace", "a", "--endpoint", "b.example"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the two flags exclude each other"
    );
    let (dir, out) = generate(&["--format", "json"]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["endpoint"], Value::Null);
    assert_eq!(doc["files"][0]["name"], "collect-mdi-proxy.cmd");
    assert_eq!(
        doc["items"][2]["file"],
        "hku-s-1-5-19-internet-settings.reg"
    );
    assert_eq!(doc["items"][2]["principal"], "local_service");
    let again = bin()
        .arg("collect-script")
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
}

/// What each step writes, as the analyser will see it. A new step without a sample here fails
/// the test below, so every command the script runs is matched with a parser (or declared raw).
fn sample_output(file: &str) -> Option<Vec<u8>> {
    let export = |root: &str| {
        write_export(&[WriteKey {
            path: format!("{root}\\{IS}\\Connections"),
            values: vec![WriteValue {
                name: "DefaultConnectionSettings".into(),
                value_type: ValueType::BINARY,
                bytes: blob(3, 3, "proxy.contoso.com:8080"),
            }],
        }])
    };
    let probe = |who: &str, status: &str| {
        format!(
            "# proxy-triage probe as {who} at 2026-12-01T10:04:55Z\r\n# endpoint: contososensorapi.atp.azure.com\r\n# proxy: http://proxy.contoso.com:8080/\r\nPS> Invoke-WebRequest -UseBasicParsing https://contososensorapi.atp.azure.com/tri/sensor/api/ping\r\n{status}\r\n"
        )
        .into_bytes()
    };
    let read = |p: &str| std::fs::read(root().join(p)).ok();
    let sanitized_config = || {
        let text =
            std::fs::read_to_string(root().join("fixtures/config/SensorConfiguration-proxy.json"))
                .ok()?;
        let re = regex::Regex::new(r#"("EncryptedBytes"\s*:\s*)"[^"]*""#).ok()?;
        Some(
            re.replace_all(&text, "${1}\"(removed by collect-mdi-proxy.cmd)\"")
                .into_owned()
                .into_bytes(),
        )
    };
    Some(match file {
        "hkcu-internet-settings.reg" => export("HKEY_CURRENT_USER"),
        "hku-s-1-5-18-internet-settings.reg" => export("HKEY_USERS\\S-1-5-18"),
        "hku-s-1-5-19-internet-settings.reg" => export("HKEY_USERS\\S-1-5-19"),
        "hku-s-1-5-20-internet-settings.reg" => export("HKEY_USERS\\S-1-5-20"),
        "hklm-internet-settings.reg" => export("HKEY_LOCAL_MACHINE"),
        "hklm-policies-internet-settings.reg" => write_export(&[WriteKey {
            path: "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings".into(),
            values: vec![WriteValue {
                name: "ProxySettingsPerUser".into(),
                value_type: ValueType::DWORD,
                bytes: 0u32.to_le_bytes().to_vec(),
            }],
        }]),
        "hklm-service-aatpsensor.reg" | "hklm-service-aatpsensorupdater.reg" => {
            write_export(&[WriteKey {
                path: "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\AATPSensor".into(),
                values: vec![WriteValue {
                    name: "ObjectName".into(),
                    value_type: ValueType::SZ,
                    bytes: "NT AUTHORITY\\LocalService\0"
                        .encode_utf16()
                        .flat_map(u16::to_le_bytes)
                        .collect(),
                }],
            }])
        }
        "reg-compare-hkcu-s-1-5-18.txt" | "reg-compare-hkcu-s-1-5-19.txt" => {
            b"\r\nResult Compared:  Identical\r\nThe operation completed successfully.\r\n".to_vec()
        }
        "netsh-winhttp-show-proxy.txt" => {
            b"\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n\r\n"
                .to_vec()
        }
        "bitsadmin-getieproxy-localsystem.txt" | "bitsadmin-getieproxy-localservice.txt" => {
            b"\r\nBITSADMIN version 3.0\r\nBITS administration utility.\r\n(C) Copyright Microsoft Corp.\r\n\r\nProxy usage:  AUTODETECT\r\n".to_vec()
        }
        "get-mdisensorproxyconfiguration.txt" => {
            b"\r\nIsProxyEnabled               : True\r\nProxyUrl                     : http://proxy.contoso.com:8080\r\nIsAuthenticationProxyEnabled : False\r\nUserName                     :\r\nCertificateThumbprint        :\r\n\r\n".to_vec()
        }
        "SensorConfiguration.json" => sanitized_config()?,
        "logs\\Microsoft.Tri.Sensor.log" | "logs\\Microsoft.Tri.Sensor-Errors.log" => {
            read("fixtures/logs/Microsoft.Tri.Sensor-Errors.log")?
        }
        "logs\\Microsoft.Tri.Sensor.Updater.log" | "logs\\Microsoft.Tri.Sensor.Updater-Errors.log" => {
            read("fixtures/logs/Microsoft.Tri.Sensor.Updater-bom-crlf.log")?
        }
        "logs\\deployment-user-temp.log"
        | "logs\\deployment-windows-temp.log"
        | "logs\\deployment-systemtemp.log" => read("fixtures/logs/Microsoft.Tri.Sensor.Deployment.log")?,
        "probe-current-user.txt" => probe("CONTOSO\\admin", "StatusCode        : 200"),
        "probe-local-system.txt" => probe(
            "NT AUTHORITY\\SYSTEM",
            "Invoke-WebRequest : The remote server returned an error: (407) Proxy Authentication Required.\r\nStatusCode        : 407\r\nProxy-Authenticate: NTLM",
        ),
        "probe-local-service.txt" => probe(
            "NT AUTHORITY\\LOCAL SERVICE",
            "Invoke-WebRequest : Unable to connect to the remote server\r\n    No connection could be made because the target machine actively refused it 10.0.0.1:443",
        ),
        _ => return None,
    })
}

#[test]
fn every_step_writes_a_kind_the_analyser_reads() {
    let items = collect::planned_items(&CollectOptions::default());
    assert_eq!(items.len(), 25);
    let mut raw = Vec::new();
    for item in &items {
        let sample = sample_output(item.file)
            .unwrap_or_else(|| panic!("no sample output for {}: add one", item.file));
        let a = artifact::parse_bytes(item.file, &sample, Scope::Full);
        match item.expected {
            Expected::Kind(kind) => {
                assert_eq!(a.kind, kind, "{}: {:?}", item.file, a.diagnostics);
                assert!(
                    !a.diagnostics
                        .iter()
                        .any(|d| d.severity == proxy_triage::diag::Severity::Error),
                    "{}: {:?}",
                    item.file,
                    a.diagnostics
                );
            }
            Expected::Raw(why) => raw.push((item.file, why)),
        }
    }
    // What no parser reads yet, stated so that adding one is a conscious change.
    let raw_files: Vec<&str> = raw.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        raw_files,
        [
            "bitsadmin-getieproxy-localsystem.txt",
            "bitsadmin-getieproxy-localservice.txt",
            "get-mdisensorproxyconfiguration.txt"
        ]
    );
    // The probes are read as probes with their status.
    let a = artifact::parse_bytes(
        "probe-local-system.txt",
        &sample_output("probe-local-system.txt").unwrap(),
        Scope::Full,
    );
    let Content::ProbeCapture(p) = &a.content else {
        panic!("not a probe capture")
    };
    assert_eq!(p.observations.first().and_then(|o| o.status), Some(407));
    // The sanitised configuration still says a password is set, without its bytes.
    let a = artifact::parse_bytes(
        "SensorConfiguration.json",
        &sample_output("SensorConfiguration.json").unwrap(),
        Scope::Full,
    );
    let Content::SensorConfig(c) = &a.content else {
        panic!("not a sensor config")
    };
    assert!(c.proxy.as_ref().is_some_and(|p| p.password_set));
}

// ---------------------------------------------------------------------------------------------
// Under Wine.

/// `timeout SECS program args...` with the Wine environment; stdin closed. Output goes to
/// files, never pipes: `wineserver -p` forks a server that would hold a pipe open for good.
fn wine_cmd(env: &WineEnv, secs: u32, program: &str, args: &[&str]) -> std::process::Output {
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let out_path = env.root.join(format!("wine-{n}.out"));
    let err_path = env.root.join(format!("wine-{n}.err"));
    let status = Process::new("timeout")
        .arg(secs.to_string())
        .arg(program)
        .args(args)
        .env("WINEPREFIX", &env.prefix)
        .env("WINEDEBUG", "-all")
        .env("HOME", &env.home)
        .env_remove("DISPLAY")
        .current_dir(&env.root)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .status()
        .expect("timeout/wine");
    std::process::Output {
        status,
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
    }
}

static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct WineEnv {
    root: PathBuf,
    prefix: PathBuf,
    home: PathBuf,
}

impl Drop for WineEnv {
    fn drop(&mut self) {
        // Ends this prefix's server (and its services) so nothing outlives the test.
        let _ = Process::new("timeout")
            .args(["20", "wineserver", "-k"])
            .env("WINEPREFIX", &self.prefix)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn wine_available() -> bool {
    Process::new("wine")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `Z:\tmp\...` for a Linux path (Wine maps Z: to /).
fn wine_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

/// The seed's problem: the user has a proxy, LOCAL SYSTEM a copy of it, LOCAL SERVICE an
/// Internet Settings key (with a subkey) but no Connections key.
fn seed_reg() -> String {
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let user = hex(&blob(5, 3, "proxy.contoso.com:8080"));
    [
        "Windows Registry Editor Version 5.00".to_string(),
        String::new(),
        format!("[HKEY_CURRENT_USER\\{IS}]"),
        "\"ProxyEnable\"=dword:00000001".into(),
        "\"ProxyServer\"=\"proxy.contoso.com:8080\"".into(),
        String::new(),
        format!("[HKEY_CURRENT_USER\\{IS}\\Connections]"),
        format!("\"DefaultConnectionSettings\"=hex:{user}"),
        String::new(),
        format!("[HKEY_USERS\\S-1-5-18\\{IS}\\Connections]"),
        format!("\"DefaultConnectionSettings\"=hex:{user}"),
        String::new(),
        format!("[HKEY_USERS\\S-1-5-19\\{IS}]"),
        "\"ProxyEnable\"=dword:00000000".into(),
        String::new(),
        format!("[HKEY_USERS\\S-1-5-19\\{IS}\\ZoneMap]"),
        "\"ProxyBypass\"=dword:00000001".into(),
        String::new(),
    ]
    .join("\r\n")
}

/// Runs the generated script under Wine into a folder whose name has a space. Returns the
/// environment (kept alive for the caller), the folder and the script's console output.
fn run_under_wine(tmp: &Path) -> (WineEnv, PathBuf, String) {
    let env = WineEnv {
        root: tmp.to_path_buf(),
        prefix: tmp.join("prefix"),
        home: tmp.join("home"),
    };
    std::fs::create_dir_all(&env.prefix).unwrap();
    std::fs::create_dir_all(&env.home).unwrap();
    // The server must be persistent BEFORE wineboot, or HKU\S-1-5-18/19 vanish with it.
    let ws = wine_cmd(&env, 20, "wineserver", &["-p", "300"]);
    assert!(ws.status.success(), "wineserver -p: {ws:?}");
    let boot = wine_cmd(&env, 180, "wineboot", &["-i"]);
    assert!(boot.status.success(), "wineboot -i: {boot:?}");
    std::fs::write(tmp.join("seed.reg"), seed_reg()).unwrap();
    let seed = wine_path(&tmp.join("seed.reg"));
    let r = wine_cmd(&env, 60, "wine", &["regedit", "/s", &seed]);
    assert!(r.status.success(), "regedit /s: {r:?}");

    let gen = bin()
        .arg("collect-script")
        .arg("--out")
        .arg(tmp.join("gen"))
        .output()
        .unwrap();
    assert!(gen.status.success());
    let script = wine_path(&tmp.join("gen").join("collect-mdi-proxy.cmd"));
    let folder = tmp.join("collected evidence");
    let run = wine_cmd(
        &env,
        300,
        "wine",
        &["cmd", "/c", &script, &wine_path(&folder)],
    );
    let console = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "script: {console}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    (env, folder, console)
}

fn parse_file(path: &Path) -> Value {
    let out = bin().arg("parse").arg(path).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn collection_under_wine_is_complete_and_attributed() {
    if !wine_available() {
        eprintln!("SKIPPED collection_under_wine_is_complete_and_attributed: `wine` is not installed (apt-get install wine64)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (_env, folder, console) = run_under_wine(tmp.path());
    assert!(folder.is_dir(), "the folder with a space was created");
    assert!(
        console.contains("[25/25]"),
        "went through every step: {console}"
    );
    assert!(
        console.contains("Could not zip the folder"),
        "no tar and a stub PowerShell under Wine: the script says so: {console}"
    );

    // The manifest parses, as its own kind.
    let doc = parse_file(&folder.join("manifest.json"));
    assert_eq!(doc["kind"], "collector-manifest");
    let manifest: CollectorManifest = {
        let text = std::fs::read_to_string(folder.join("manifest.json")).unwrap();
        let (m, diags) = proxy_triage::formats::collector_manifest::parse(&text, "manifest.json");
        assert!(diags.is_empty(), "{diags:?}");
        m
    };
    assert_eq!(manifest.items.len(), 25);
    assert_eq!(manifest.endpoint, None);
    assert_eq!(manifest.computer.as_deref().map(str::is_empty), Some(false));

    // Every .reg parses and is attributed by the manifest.
    let expected = [
        ("hkcu-internet-settings.reg", P::CurrentUser),
        ("hku-s-1-5-18-internet-settings.reg", P::LocalSystem),
        ("hku-s-1-5-19-internet-settings.reg", P::LocalService),
        ("hklm-internet-settings.reg", P::Machine),
    ];
    let mut regs: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".reg"))
        .collect();
    regs.sort();
    assert_eq!(regs.len(), expected.len(), "{regs:?}");
    for (file, principal) in expected {
        let doc = parse_file(&folder.join(file));
        assert_eq!(doc["kind"], "reg-export", "{file}");
        assert!(
            !doc["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["severity"] == "error"),
            "{file}: {doc}"
        );
        let item = manifest
            .item_for(file)
            .unwrap_or_else(|| panic!("{file} not in manifest"));
        assert_eq!(item.principal, Some(principal), "{file}");
        assert_eq!(item.exit_code, Some(0), "{file}");
    }

    // LOCAL SERVICE: Internet Settings and a subkey, no Connections: the value is provably absent.
    let doc = parse_file(&folder.join("hku-s-1-5-19-internet-settings.reg"));
    let keys: Vec<&str> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            format!("HKEY_USERS\\S-1-5-19\\{IS}"),
            format!("HKEY_USERS\\S-1-5-19\\{IS}\\ZoneMap")
        ]
    );
    // LOCAL SYSTEM holds only its own keys, with the copy.
    let doc = parse_file(&folder.join("hku-s-1-5-18-internet-settings.reg"));
    let text = doc.to_string();
    assert!(text.contains("S-1-5-18\\\\Software") && !text.contains("HKEY_CURRENT_USER"));

    // Failed steps are recorded as what they are, and the script went on past them.
    let stderr_of = |file: &str| {
        let item = manifest.item_for(file).unwrap();
        let text = item
            .stderr_file
            .as_ref()
            .map(|s| std::fs::read_to_string(folder.join(s)).unwrap());
        (item, text)
    };
    let (item, text) = stderr_of("hku-s-1-5-20-internet-settings.reg");
    assert_eq!(
        item.failure(text.as_deref()),
        Some(Failure::NotFound),
        "{text:?}"
    );
    let (item, text) = stderr_of("hklm-policies-internet-settings.reg");
    assert_eq!(item.failure(text.as_deref()), Some(Failure::NotFound));
    let (item, text) = stderr_of("bitsadmin-getieproxy-localservice.txt");
    assert_eq!(
        item.failure(text.as_deref()),
        Some(Failure::ToolMissing),
        "{text:?}"
    );
    // Stubs (rc 0, no output): netsh, PowerShell.
    for file in [
        "netsh-winhttp-show-proxy.txt",
        "probe-current-user.txt",
        "get-mdisensorproxyconfiguration.txt",
    ] {
        let (item, text) = stderr_of(file);
        let present = folder.join(file).exists();
        assert_eq!(
            item.failure_with_output(text.as_deref(), present),
            Some(Failure::NoOutput),
            "{file}"
        );
    }
    // schtasks /create as SYSTEM fails under Wine: recorded, never waited on. On a loaded
    // machine Wine sometimes fails to start schtasks at all ("Can't recognize"), which is
    // recorded as a missing tool: either way the step is a recorded failure.
    for file in ["probe-local-system.txt", "probe-local-service.txt"] {
        let (item, text) = stderr_of(file);
        let failure = item.failure(text.as_deref());
        assert!(
            matches!(failure, Some(Failure::Other | Failure::ToolMissing)),
            "{file}: {failure:?} {text:?}"
        );
        assert!(
            text.as_deref()
                .unwrap_or("")
                .contains("schtasks /create failed"),
            "{file}: {text:?}"
        );
    }
    // No sensor under Wine: its files are missing, and said so.
    let (item, text) = stderr_of("logs\\Microsoft.Tri.Sensor.log");
    assert_eq!(
        item.failure(text.as_deref()),
        Some(Failure::NotFound),
        "{text:?}"
    );
    // Nothing is left behind: no staging folder, no temporary item list.
    assert!(!folder.join("manifest.items.tmp").exists());
    let program_data = tmp.path().join("prefix/drive_c/ProgramData");
    if let Ok(entries) = std::fs::read_dir(&program_data) {
        for e in entries.flatten() {
            assert!(
                !e.file_name()
                    .to_string_lossy()
                    .starts_with("proxy-triage-collect-"),
                "staging folder left: {:?}",
                e.path()
            );
        }
    }

    // Every file in the folder is the output or the error output of a manifest item.
    for entry in walk(&folder) {
        let rel = entry
            .strip_prefix(&folder)
            .unwrap()
            .to_string_lossy()
            .replace('/', "\\");
        if rel == "manifest.json" {
            continue;
        }
        assert!(
            manifest.item_for(&rel).is_some(),
            "{rel} is not in the manifest"
        );
    }

    analyze_collection(&folder);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `analyze` on the collected folder: prints the JSON and checks only that it is a report.
fn analyze_collection(folder: &Path) {
    let out = bin()
        .arg("analyze")
        .arg(folder)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).expect("analyze prints JSON");
    eprintln!("analyze of the Wine collection:\n{doc:#}");
    let case = &doc["cases"][0];
    let findings = case["findings"].as_array().expect("findings");
    let missing = findings
        .iter()
        .find(|f| f["id"] == "proxy-missing" && f["principal"] == "local_service")
        .unwrap_or_else(|| panic!("no proxy-missing for LOCAL SERVICE: {case:#}"));
    let ev = missing["evidence"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|e| {
                e["file"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with("hku-s-1-5-19-internet-settings.reg")
            })
        })
        .cloned()
        .unwrap_or_else(|| panic!("S-1-5-19 export not cited: {missing:#}"));
    // The export's own key paths tell the account (content comes before the manifest).
    assert!(
        matches!(ev["attribution"].as_str(), Some("content" | "manifest")),
        "{ev}"
    );
    assert!(findings
        .iter()
        .any(|f| f["id"] == "proxy-matches" && f["principal"] == "local_system"));
    assert!(
        !findings.iter().any(|f| f["id"] == "capture-unattributed"),
        "{case:#}"
    );
    // Every file the script wrote is attributed by the manifest or its content, never by name.
    for (_, p) in case["principals"].as_object().expect("principals") {
        for e in p["evidence"].as_array().expect("evidence") {
            assert_ne!(e["attribution"], "file-name", "{e}");
        }
    }
}
