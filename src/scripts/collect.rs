//! `collect-mdi-proxy.cmd`: the script the customer's admin runs, elevated, on the domain
//! controller. It writes every piece of proxy evidence the analyser reads into one folder, with
//! `manifest.json` saying which command wrote each file, as which account, with which exit code
//! and where its error output went, then zips the folder. Read-only: every registry, netsh and
//! file step uses built-in console tools; PowerShell (`-EncodedCommand`, so no script file and
//! no execution policy) only probes HTTPS, removes the encrypted password from a copy of the
//! sensor configuration, asks the DefenderForIdentity module, and zips.

use serde::Serialize;

use super::cmd::{self, EchoPart, Script, ScriptError};
use crate::detect::Kind;
use crate::formats::collector_manifest::{ManifestPrincipal, COLLECTOR_NAME};

/// The script's file name.
pub const SCRIPT_NAME: &str = "collect-mdi-proxy.cmd";
/// The instructions written beside it.
pub const README_NAME: &str = "README.txt";
/// A log larger than this is not copied (the sensor rotates its logs at 50 MB).
pub const LOG_CAP_BYTES: u64 = 64 * 1024 * 1024;
/// How long the script waits for each scheduled-task probe, in seconds.
pub const PROBE_WAIT_SECONDS: u32 = 90;
/// The exit code recorded when a scheduled-task probe did not finish in time (WAIT_TIMEOUT).
pub const EXIT_PROBE_TIMEOUT: u32 = 258;

const INTERNET_SETTINGS: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";

/// Why no script was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    #[error("--endpoint {0:?}: expected a host name (letters, digits, '.', '-'), such as contososensorapi.atp.azure.com")]
    InvalidEndpoint(String),
    #[error(transparent)]
    Script(#[from] ScriptError),
}

/// Checks a host name given with `--endpoint` (it is baked into the script and the manifest),
/// as every command checks `--endpoint`; a URL gives its host.
pub fn validate_endpoint(host: &str) -> Result<String, CollectError> {
    crate::proxy::endpoint::host_from_endpoint(host)
        .map_err(|_| CollectError::InvalidEndpoint(host.to_string()))
}

/// What the generated script is told when it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectOptions {
    /// The sensor API host (validated); `None`: the script reads it from the sensor configuration.
    pub endpoint: Option<String>,
}

/// What the analyser is expected to make of a step's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// Parsed as this kind.
    Kind(Kind),
    /// Kept for the reader; no parser reads it yet (the reason is given).
    Raw(&'static str),
}

/// One file the script writes, as its manifest will record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedItem {
    /// Relative to the collection folder (`logs\Microsoft.Tri.Sensor.log`).
    pub file: &'static str,
    /// Where the command's error output goes (also the console messages of commands whose
    /// real output is a file they write themselves, such as `reg export`).
    pub stderr_file: &'static str,
    pub principal: Option<ManifestPrincipal>,
    /// The command as recorded in the manifest.
    pub command: String,
    pub expected: Expected,
}

/// One file of the generated set.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedFile {
    pub name: &'static str,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub size: usize,
}

/// How a step runs.
#[derive(Debug, Clone)]
enum Action {
    /// `reg export KEY FILE /y` (recursive: subkeys included).
    RegExport(String),
    /// A console command; stdout to the file, stderr to its own file.
    Console(String),
    /// `powershell -EncodedCommand`; stdout to the file, stderr to its own file.
    PowerShell(String),
    /// SensorConfiguration.json, the encrypted password removed.
    SensorConfig,
    /// Copy of a log, size-capped. `dir`: a cmd expression for the folder (ends with `\`),
    /// `pattern`: the file name or a wildcard (the newest match is taken).
    Log {
        dir: &'static str,
        pattern: &'static str,
    },
    /// The HTTPS probe as the account running the script.
    ProbeCurrentUser,
    /// The HTTPS probe through a scheduled task as `ru`; `tag` names its files and labels.
    TaskProbe { tag: &'static str, ru: &'static str },
}

#[derive(Debug, Clone)]
struct Step {
    item: PlannedItem,
    action: Action,
}

fn reg_export(
    file: &'static str,
    stderr_file: &'static str,
    key: String,
    principal: Option<ManifestPrincipal>,
) -> Step {
    Step {
        item: PlannedItem {
            file,
            stderr_file,
            principal,
            command: format!("reg export \"{key}\" {file} /y"),
            expected: Expected::Kind(Kind::RegExport),
        },
        action: Action::RegExport(key),
    }
}

fn console(
    file: &'static str,
    stderr_file: &'static str,
    command: String,
    principal: Option<ManifestPrincipal>,
    expected: Expected,
) -> Step {
    Step {
        item: PlannedItem {
            file,
            stderr_file,
            principal,
            command: command.clone(),
            expected,
        },
        action: Action::Console(command),
    }
}

fn log(
    file: &'static str,
    stderr_file: &'static str,
    dir: &'static str,
    pattern: &'static str,
    principal: Option<ManifestPrincipal>,
    shown_dir: &str,
) -> Step {
    Step {
        item: PlannedItem {
            file,
            stderr_file,
            principal,
            command: format!(
                "copy newest \"{shown_dir}{pattern}\" (not copied when over {LOG_CAP_BYTES} bytes)"
            ),
            expected: Expected::Kind(Kind::SensorLog),
        },
        action: Action::Log { dir, pattern },
    }
}

fn steps(opts: &CollectOptions) -> Vec<Step> {
    use ManifestPrincipal as P;
    let is = INTERNET_SETTINGS;
    let conn = format!("{is}\\Connections");
    let compare = |sid: &str| {
        format!("reg compare \"HKCU\\{conn}\" \"HKU\\{sid}\\{conn}\" /v DefaultConnectionSettings")
    };
    let endpoint_shown = opts
        .endpoint
        .clone()
        .unwrap_or_else(|| "<endpoint from SensorConfiguration.json>".to_string());
    let ping =
        format!("Invoke-WebRequest -UseBasicParsing https://{endpoint_shown}/tri/sensor/api/ping");
    vec![
        reg_export(
            "hkcu-internet-settings.reg",
            "hkcu-internet-settings.reg.stderr.txt",
            format!("HKCU\\{is}"),
            Some(P::CurrentUser),
        ),
        reg_export(
            "hku-s-1-5-18-internet-settings.reg",
            "hku-s-1-5-18-internet-settings.reg.stderr.txt",
            format!("HKU\\S-1-5-18\\{is}"),
            Some(P::LocalSystem),
        ),
        reg_export(
            "hku-s-1-5-19-internet-settings.reg",
            "hku-s-1-5-19-internet-settings.reg.stderr.txt",
            format!("HKU\\S-1-5-19\\{is}"),
            Some(P::LocalService),
        ),
        reg_export(
            "hku-s-1-5-20-internet-settings.reg",
            "hku-s-1-5-20-internet-settings.reg.stderr.txt",
            format!("HKU\\S-1-5-20\\{is}"),
            Some(P::NetworkService),
        ),
        reg_export(
            "hklm-internet-settings.reg",
            "hklm-internet-settings.reg.stderr.txt",
            format!("HKLM\\{is}"),
            Some(P::Machine),
        ),
        reg_export(
            "hklm-policies-internet-settings.reg",
            "hklm-policies-internet-settings.reg.stderr.txt",
            "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
                .to_string(),
            Some(P::Machine),
        ),
        console(
            "reg-compare-hkcu-s-1-5-18.txt",
            "reg-compare-hkcu-s-1-5-18.stderr.txt",
            compare("S-1-5-18"),
            Some(P::LocalSystem),
            Expected::Kind(Kind::RegCompare),
        ),
        console(
            "reg-compare-hkcu-s-1-5-19.txt",
            "reg-compare-hkcu-s-1-5-19.stderr.txt",
            compare("S-1-5-19"),
            Some(P::LocalService),
            Expected::Kind(Kind::RegCompare),
        ),
        console(
            "netsh-winhttp-show-proxy.txt",
            "netsh-winhttp-show-proxy.stderr.txt",
            "netsh winhttp show proxy".to_string(),
            Some(P::Winhttp),
            Expected::Kind(Kind::NetshWinhttp),
        ),
        console(
            "bitsadmin-getieproxy-localsystem.txt",
            "bitsadmin-getieproxy-localsystem.stderr.txt",
            "bitsadmin /util /getieproxy LOCALSYSTEM".to_string(),
            Some(P::LocalSystem),
            Expected::Raw("bitsadmin's output layout is undocumented: kept for the reader"),
        ),
        console(
            "bitsadmin-getieproxy-localservice.txt",
            "bitsadmin-getieproxy-localservice.stderr.txt",
            "bitsadmin /util /getieproxy LOCALSERVICE".to_string(),
            Some(P::LocalService),
            Expected::Raw("bitsadmin's output layout is undocumented: kept for the reader"),
        ),
        reg_export(
            "hklm-service-aatpsensor.reg",
            "hklm-service-aatpsensor.reg.stderr.txt",
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\AATPSensor".to_string(),
            None,
        ),
        reg_export(
            "hklm-service-aatpsensorupdater.reg",
            "hklm-service-aatpsensorupdater.reg.stderr.txt",
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\AATPSensorUpdater".to_string(),
            None,
        ),
        Step {
            item: PlannedItem {
                file: "SensorConfiguration.json",
                stderr_file: "SensorConfiguration.json.stderr.txt",
                principal: Some(P::Sensor),
                command: String::new(), // decided when the script runs (copy or sanitize)
                expected: Expected::Kind(Kind::SensorConfig),
            },
            action: Action::SensorConfig,
        },
        Step {
            item: PlannedItem {
                file: "get-mdisensorproxyconfiguration.txt",
                stderr_file: "get-mdisensorproxyconfiguration.stderr.txt",
                principal: Some(P::Sensor),
                command: format!("powershell -NoProfile -EncodedCommand: {MDI_PROXY_PS_SHOWN}"),
                expected: Expected::Raw("kind mdi-proxy-config is not implemented yet"),
            },
            action: Action::PowerShell(MDI_PROXY_PS.to_string()),
        },
        log(
            "logs\\Microsoft.Tri.Sensor.log",
            "logs-microsoft.tri.sensor.log.stderr.txt",
            "%SENSORDIR%Logs\\",
            "Microsoft.Tri.Sensor.log",
            Some(P::LocalService),
            "<sensor folder>\\Logs\\",
        ),
        log(
            "logs\\Microsoft.Tri.Sensor-Errors.log",
            "logs-microsoft.tri.sensor-errors.log.stderr.txt",
            "%SENSORDIR%Logs\\",
            "Microsoft.Tri.Sensor-Errors.log",
            Some(P::LocalService),
            "<sensor folder>\\Logs\\",
        ),
        log(
            "logs\\Microsoft.Tri.Sensor.Updater.log",
            "logs-microsoft.tri.sensor.updater.log.stderr.txt",
            "%SENSORDIR%Logs\\",
            "Microsoft.Tri.Sensor.Updater.log",
            Some(P::LocalSystem),
            "<sensor folder>\\Logs\\",
        ),
        log(
            "logs\\Microsoft.Tri.Sensor.Updater-Errors.log",
            "logs-microsoft.tri.sensor.updater-errors.log.stderr.txt",
            "%SENSORDIR%Logs\\",
            "Microsoft.Tri.Sensor.Updater-Errors.log",
            Some(P::LocalSystem),
            "<sensor folder>\\Logs\\",
        ),
        log(
            "logs\\deployment-user-temp.log",
            "logs-deployment-user-temp.stderr.txt",
            "%TEMP%\\",
            "Azure Advanced Threat Protection*.log",
            None,
            "%TEMP%\\",
        ),
        log(
            "logs\\deployment-windows-temp.log",
            "logs-deployment-windows-temp.stderr.txt",
            "%SystemRoot%\\Temp\\",
            "Azure Advanced Threat Protection*.log",
            None,
            "%SystemRoot%\\Temp\\",
        ),
        log(
            "logs\\deployment-systemtemp.log",
            "logs-deployment-systemtemp.stderr.txt",
            "%SystemRoot%\\SystemTemp\\",
            "Azure Advanced Threat Protection*.log",
            None,
            "%SystemRoot%\\SystemTemp\\",
        ),
        Step {
            item: PlannedItem {
                file: "probe-current-user.txt",
                stderr_file: "probe-current-user.stderr.txt",
                principal: Some(P::CurrentUser),
                command: format!("powershell -NoProfile -EncodedCommand: {ping}"),
                expected: Expected::Kind(Kind::ProbeCapture),
            },
            action: Action::ProbeCurrentUser,
        },
        Step {
            item: PlannedItem {
                file: "probe-local-system.txt",
                stderr_file: "probe-local-system.stderr.txt",
                principal: Some(P::LocalSystem),
                command: format!("schtasks /create /ru SYSTEM (then /run, /delete): {ping}"),
                expected: Expected::Kind(Kind::ProbeCapture),
            },
            action: Action::TaskProbe {
                tag: "system",
                ru: "SYSTEM",
            },
        },
        Step {
            item: PlannedItem {
                file: "probe-local-service.txt",
                stderr_file: "probe-local-service.stderr.txt",
                principal: Some(P::LocalService),
                command: format!(
                    "schtasks /create /ru \"NT AUTHORITY\\LOCALSERVICE\" (then /run, /delete): {ping}"
                ),
                expected: Expected::Kind(Kind::ProbeCapture),
            },
            action: Action::TaskProbe {
                tag: "localservice",
                ru: "\"NT AUTHORITY\\LOCALSERVICE\"",
            },
        },
    ]
}

/// Every file the script writes (besides `manifest.json`), in the order it writes them.
pub fn planned_items(opts: &CollectOptions) -> Vec<PlannedItem> {
    steps(opts).into_iter().map(|s| s.item).collect()
}

/// What `Get-MDISensorProxyConfiguration` step runs (the encrypted password left out).
const MDI_PROXY_PS: &str = "if (-not (Get-Module -ListAvailable -Name DefenderForIdentity)) {\n\
  [Console]::Error.WriteLine('The DefenderForIdentity module is not installed.'); exit 3 }\n\
Import-Module DefenderForIdentity\n\
Get-MDISensorProxyConfiguration | Select-Object * -ExcludeProperty EncryptedUserPasswordData | Format-List\n";
const MDI_PROXY_PS_SHOWN: &str =
    "Get-MDISensorProxyConfiguration | Select-Object * -ExcludeProperty EncryptedUserPasswordData";

/// Copies SensorConfiguration.json ($env:PT_SENSORCFG) to stdout with the value of every
/// `EncryptedBytes` replaced; refuses to print anything if one is left.
const SANITIZE_PS: &str = "$t = [IO.File]::ReadAllText($env:PT_SENSORCFG)\n\
$t = [Regex]::Replace($t, '(\"EncryptedBytes\"\\s*:\\s*)\"[^\"]*\"', '$1\"(removed by collect-mdi-proxy.cmd)\"', 'IgnoreCase')\n\
if ($t -match '\"EncryptedBytes\"\\s*:\\s*\"(?!\\(removed)') { [Console]::Error.WriteLine('EncryptedBytes could not be removed: not copied.'); exit 2 }\n\
[Console]::Out.Write($t)\n";

/// The HTTPS probe. Prints lines the analyser's probe-capture parser reads (`StatusCode : 200`
/// or the .NET error text with its status), after `#` lines naming the account, the endpoint
/// and the proxy that account's WinINet settings choose. The endpoint comes from
/// $env:PT_ENDPOINT, else from the sensor's configuration (service ImagePath -> folder).
const PROBE_PS: &str = "$ep = $env:PT_ENDPOINT\n\
if (-not $ep) { try {\n\
  $img = (Get-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AATPSensor').ImagePath.Trim('\"')\n\
  $cfg = [IO.File]::ReadAllText((Join-Path (Split-Path $img) 'SensorConfiguration.json')) | ConvertFrom-Json\n\
  $ep = $cfg.WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint.Address } catch { } }\n\
'# proxy-triage probe as ' + [Security.Principal.WindowsIdentity]::GetCurrent().Name + ' at ' + (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')\n\
if (-not $ep) { '# endpoint unknown: no --endpoint when the script was written, and no sensor configuration'; exit 4 }\n\
'# endpoint: ' + $ep\n\
$u = 'https://' + $ep + '/tri/sensor/api/ping'\n\
try { $p = [Net.WebRequest]::DefaultWebProxy.GetProxy([Uri]$u); if ($p.AbsoluteUri -eq $u) { '# proxy: DIRECT' } else { '# proxy: ' + $p.AbsoluteUri } } catch { '# proxy: unknown' }\n\
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor 3072\n\
'PS> Invoke-WebRequest -UseBasicParsing ' + $u\n\
try { $r = Invoke-WebRequest -UseBasicParsing -Uri $u -TimeoutSec 30\n\
  'StatusCode        : ' + [int]$r.StatusCode\n\
  $c = [string]$r.Content; 'Content           : ' + $c.Substring(0, [Math]::Min(200, $c.Length)); exit 0 }\n\
catch { 'Invoke-WebRequest : ' + $_.Exception.Message\n\
  $e = $_.Exception.InnerException; while ($e) { '    ' + $e.Message; $e = $e.InnerException }\n\
  $h = $_.Exception.Response; if ($h) { 'StatusCode        : ' + [int]$h.StatusCode; foreach ($n in 'Proxy-Authenticate', 'Via', 'Server') { if ($h.Headers[$n]) { $n + ': ' + $h.Headers[$n] } } }\n\
  exit 1 }\n";

/// Zips $env:PT_OUT into $env:PT_ZIP (Windows PowerShell 5.0 and later).
const ZIP_PS: &str =
    "Compress-Archive -Path (Join-Path $env:PT_OUT '*') -DestinationPath $env:PT_ZIP -Force\n";

fn powershell(ps: &str) -> String {
    format!(
        "powershell -NoProfile -NonInteractive -EncodedCommand {}",
        cmd::encoded_command(ps)
    )
}

fn principal_json(p: Option<ManifestPrincipal>) -> String {
    p.map_or_else(|| "null".to_string(), |p| cmd::json_string(p.key()))
}

/// Appends the manifest line for `item` (after `:finish_item` set SE), `command` as recorded.
fn record(s: &mut Script, item: &PlannedItem, command: &str, guard: &str) {
    let line = cmd::echo_text(&[
        EchoPart::Var("SEP"),
        EchoPart::Literal("{\"file\": "),
        EchoPart::Literal(&cmd::json_string(item.file)),
        EchoPart::Literal(", \"command\": "),
        EchoPart::Literal(&cmd::json_string(command)),
        EchoPart::Literal(", \"principal\": "),
        EchoPart::Literal(&principal_json(item.principal)),
        EchoPart::Literal(", \"exit_code\": "),
        EchoPart::Var("RC"),
        EchoPart::Literal(", \"stderr_file\": "),
        EchoPart::Var("SE"),
        EchoPart::Literal("}"),
    ]);
    s.line(&format!("{guard}>>\"%ITEMS%\" echo {line}"));
    s.line("set \"SEP=,\"");
}

fn finish_item(s: &mut Script, item: &PlannedItem) {
    s.line(&format!(
        "call :finish_item \"{}\" \"{}\"",
        item.file, item.stderr_file
    ));
}

fn progress(s: &mut Script, n: usize, total: usize, what: &str) {
    s.line(&format!(
        "echo [{n}/{total}] {}",
        cmd::echo_text(&[EchoPart::Literal(what)])
    ));
}

/// Writes the script and its README.
pub fn generate(opts: &CollectOptions) -> Result<Vec<GeneratedFile>, CollectError> {
    if let Some(e) = &opts.endpoint {
        validate_endpoint(e)?;
    }
    let script = script(opts)?;
    let readme = cmd::crlf(&readme(opts));
    cmd::ascii_only(&String::from_utf8_lossy(&readme))?;
    Ok(vec![file(SCRIPT_NAME, script), file(README_NAME, readme)])
}

fn file(name: &'static str, bytes: Vec<u8>) -> GeneratedFile {
    GeneratedFile {
        name,
        size: bytes.len(),
        bytes,
    }
}

/// The text of `collect-mdi-proxy.cmd` (CRLF, ASCII).
pub fn script(opts: &CollectOptions) -> Result<Vec<u8>, CollectError> {
    let version = env!("CARGO_PKG_VERSION");
    let endpoint = opts.endpoint.as_deref().unwrap_or("");
    let mut s = Script::new();
    s.line("@echo off");
    s.rem(&format!(
        "{SCRIPT_NAME}: written by proxy-triage collect-script {version}."
    ));
    s.rem(
        "Collects the proxy evidence of the Microsoft Defender for Identity sensor on this domain",
    );
    s.rem("controller into one folder, with manifest.json, then zips it for proxy-triage analyze.");
    s.rem(
        "Read-only: it changes no setting and writes no password. Its two scheduled tasks and its",
    );
    s.rem("staging folder under ProgramData exist only while it runs. See README.txt.");
    s.rem(&format!(
        "Usage, from an elevated command prompt:  {SCRIPT_NAME} [FOLDER]"
    ));
    s.line("setlocal EnableExtensions DisableDelayedExpansion");
    s.line(&format!("set \"EP={endpoint}\""));
    s.line("set \"PT_ENDPOINT=%EP%\"");
    s.line("if /i \"%~1\"==\"--probe\" goto :probe_mode");
    s.blank();
    s.rem("Elevated? Reading HKU\\S-1-5-19 and creating the probe tasks need it.");
    s.line(&cmd::elevation_check("not_elevated"));
    s.blank();
    s.rem("The folder: the first argument, else a new one beside this script.");
    s.lines(&[
        "set \"STARTED=%DATE% %TIME%\"",
        "set \"STAMP=%DATE%_%TIME%\"",
        "set \"STAMP=%STAMP:/=-%\"",
        "set \"STAMP=%STAMP::=-%\"",
        "set \"STAMP=%STAMP:.=-%\"",
        "set \"STAMP=%STAMP:,=-%\"",
        "set \"STAMP=%STAMP: =_%\"",
        "set \"OUT=%~f1\"",
        "if \"%~1\"==\"\" set \"OUT=%~dp0mdi-proxy-%COMPUTERNAME%-%STAMP%\"",
        "for %%I in (\"%OUT%\\.\") do set \"OUT=%%~fI\"",
        "if not exist \"%OUT%\\\" mkdir \"%OUT%\"",
        "if not exist \"%OUT%\\\" goto :no_folder",
        "if not exist \"%OUT%\\logs\\\" mkdir \"%OUT%\\logs\"",
        "set \"ITEMS=%OUT%\\manifest.items.tmp\"",
        "type nul >\"%ITEMS%\"",
        "set \"SEP= \"",
        &format!("set \"LOGCAP={LOG_CAP_BYTES}\""),
        "echo Collecting into \"%OUT%\"",
    ]);
    s.blank();
    s.rem("The sensor's folder, from its service's binary path.");
    s.lines(&[
        "set \"IMG=\"",
        "set \"SENSORDIR=\"",
        "for /f \"tokens=1,2,*\" %%A in ('reg query \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\AATPSensor\" /v ImagePath 2^>nul') do if /i \"%%A\"==\"ImagePath\" set \"IMG=%%C\"",
        "if defined IMG set \"IMG=%IMG:\"=%\"",
        "if defined IMG for %%I in (\"%IMG%\") do set \"SENSORDIR=%%~dpI\"",
        "if not defined SENSORDIR set \"SENSORDIR=%ProgramFiles%\\Azure Advanced Threat Protection Sensor\\(service AATPSensor not found)\\\"",
    ]);

    let steps = steps(opts);
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let item = &step.item;
        s.blank();
        match &step.action {
            Action::RegExport(key) => {
                progress(&mut s, n, total, &format!("reg export {key}"));
                s.line(&format!(
                    "reg export {} \"%OUT%\\{}\" /y >\"%OUT%\\{}\" 2>&1",
                    cmd::quote(key)?,
                    item.file,
                    item.stderr_file
                ));
                s.line("set \"RC=%errorlevel%\"");
                finish_item(&mut s, item);
                record(&mut s, item, &item.command, "");
            }
            Action::Console(command) => {
                progress(&mut s, n, total, command);
                s.line(&format!(
                    "{command} >\"%OUT%\\{}\" 2>\"%OUT%\\{}\"",
                    item.file, item.stderr_file
                ));
                s.line("set \"RC=%errorlevel%\"");
                finish_item(&mut s, item);
                record(&mut s, item, &item.command, "");
            }
            Action::PowerShell(ps) => {
                progress(&mut s, n, total, &item.command);
                s.line(&format!(
                    "{} >\"%OUT%\\{}\" 2>\"%OUT%\\{}\"",
                    powershell(ps),
                    item.file,
                    item.stderr_file
                ));
                s.line("set \"RC=%errorlevel%\"");
                finish_item(&mut s, item);
                record(&mut s, item, &item.command, "");
            }
            Action::SensorConfig => sensor_config_step(&mut s, n, total, item),
            Action::Log { dir, pattern } => {
                progress(&mut s, n, total, &item.command);
                s.line("set \"SRC=\"");
                s.line(&format!(
                    "for /f \"delims=\" %%L in ('dir /b /a-d /o:d \"{dir}{pattern}\" 2^>nul') do set \"SRC={dir}%%L\""
                ));
                s.line(&format!("if not defined SRC set \"SRC={dir}{pattern}\""));
                s.line(&format!(
                    "call :copy_capped \"{}\" \"{}\"",
                    item.file, item.stderr_file
                ));
                finish_item(&mut s, item);
                record(&mut s, item, &item.command, "");
            }
            Action::ProbeCurrentUser => {
                progress(
                    &mut s,
                    n,
                    total,
                    "HTTPS probe of the sensor API as the current user",
                );
                s.line(&format!(
                    "{} >\"%OUT%\\{}\" 2>\"%OUT%\\{}\"",
                    powershell(PROBE_PS),
                    item.file,
                    item.stderr_file
                ));
                s.line("set \"RC=%errorlevel%\"");
                finish_item(&mut s, item);
                record(&mut s, item, &item.command, "");
                endpoint_from_probe(&mut s, item);
                staging(&mut s);
            }
            Action::TaskProbe { tag, ru } => task_probe(&mut s, n, total, item, tag, ru),
        }
    }
    s.blank();
    s.rem("The staging folder of the probe tasks goes.");
    s.line("if exist \"%STAGE%\\\" rmdir /s /q \"%STAGE%\"");
    manifest_and_zip(&mut s, version);
    subroutines(&mut s);
    Ok(s.finish()?)
}

fn sensor_config_step(s: &mut Script, n: usize, total: usize, item: &PlannedItem) {
    progress(
        s,
        n,
        total,
        "SensorConfiguration.json (the encrypted password removed)",
    );
    s.rem("A file without EncryptedBytes is copied as is; otherwise PowerShell writes a copy with");
    s.rem(
        "the value replaced, or nothing. A file findstr cannot read goes the PowerShell way too.",
    );
    s.lines(&[
        "set \"PT_SENSORCFG=%SENSORDIR%SensorConfiguration.json\"",
        "if not exist \"%PT_SENSORCFG%\" goto :cfg_copy",
        "findstr /i /c:\"EncryptedBytes\" \"%PT_SENSORCFG%\" >nul 2>&1",
        "if not errorlevel 1 goto :cfg_sanitize",
        "findstr /i /c:\"Workspace\" \"%PT_SENSORCFG%\" >nul 2>&1",
        "if errorlevel 1 goto :cfg_sanitize",
        ":cfg_copy",
        &format!(
            "copy /y \"%PT_SENSORCFG%\" \"%OUT%\\{}\" >nul 2>\"%OUT%\\{}\"",
            item.file, item.stderr_file
        ),
        "set \"RC=%errorlevel%\"",
        "set \"HOW=copy\"",
        "goto :cfg_done",
        ":cfg_sanitize",
        &format!(
            "{} >\"%OUT%\\{}\" 2>\"%OUT%\\{}\"",
            powershell(SANITIZE_PS),
            item.file,
            item.stderr_file
        ),
        "set \"RC=%errorlevel%\"",
        "set \"HOW=sanitize\"",
        ":cfg_done",
    ]);
    finish_item(s, item);
    record(
        s,
        item,
        "copy \"<sensor folder>\\SensorConfiguration.json\" (it holds no EncryptedBytes)",
        "if \"%HOW%\"==\"copy\" ",
    );
    record(
        s,
        item,
        "powershell -NoProfile -EncodedCommand: copy of \"<sensor folder>\\SensorConfiguration.json\" with every EncryptedBytes value replaced",
        "if \"%HOW%\"==\"sanitize\" ",
    );
}

fn endpoint_from_probe(s: &mut Script, item: &PlannedItem) {
    s.rem("The endpoint for the manifest: as written into the script, else as the probe found it");
    s.rem("(kept only when it is a plain host name).");
    s.lines(&[
        "if defined EP goto :ep_known",
        &format!(
            "if exist \"%OUT%\\{f}\" for /f \"usebackq tokens=1,2,*\" %%A in (\"%OUT%\\{f}\") do if \"%%A %%B\"==\"# endpoint:\" set \"EP=%%C\"",
            f = item.file
        ),
        "if defined EP set \"EP=%EP:\"=%\"",
        "if defined EP for /f \"delims=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-\" %%X in (\"%EP%\") do set \"EP=\"",
        ":ep_known",
        "set \"EPJSON=null\"",
        "if defined EP set EPJSON=\"%EP%\"",
    ]);
}

fn staging(s: &mut Script) {
    s.blank();
    s.rem("Staging for the probe tasks: a copy of this script that the task accounts can run and");
    s.rem("write results beside (LOCAL SERVICE cannot read an administrator's TEMP folder).");
    s.lines(&[
        "set \"RUNID=%RANDOM%%RANDOM%\"",
        "set \"STAGE=%ProgramData%\\proxy-triage-collect-%RUNID%\"",
        "if not exist \"%STAGE%\\\" mkdir \"%STAGE%\"",
        "copy /y \"%~f0\" \"%STAGE%\\probe.cmd\" >nul 2>&1",
        "icacls \"%STAGE%\" /grant \"*S-1-5-19:(OI)(CI)M\" >nul 2>&1",
    ]);
}

fn task_probe(s: &mut Script, n: usize, total: usize, item: &PlannedItem, tag: &str, ru: &str) {
    progress(
        s,
        n,
        total,
        &format!("HTTPS probe of the sensor API as {ru} (scheduled task)"),
    );
    let l = format!("task_{tag}");
    s.lines(&[
        &format!("set \"TN=proxy-triage-probe-%RUNID%-{tag}\""),
        &format!("set \"PERR=%OUT%\\{}\"", item.stderr_file),
        &format!(
            "schtasks /create /tn \"%TN%\" /ru {ru} /sc once /st 00:00 /tr \"\\\"%STAGE%\\probe.cmd\\\" --probe {tag}\" /f >\"%PERR%\" 2>&1"
        ),
        "set \"RC=%errorlevel%\"",
    ]);
    s.rem("Never wait on a task that was not created.");
    s.lines(&[
        &format!("if \"%RC%\"==\"0\" goto :{l}_run"),
        ">>\"%PERR%\" echo proxy-triage: schtasks /create failed with exit code %RC%; the probe did not run.",
        &format!("goto :{l}_recorded"),
        &format!(":{l}_run"),
        "schtasks /run /tn \"%TN%\" >>\"%PERR%\" 2>&1",
        "set \"RC=%errorlevel%\"",
        &format!("if not \"%RC%\"==\"0\" goto :{l}_delete"),
        "set \"WAITED=0\"",
        &format!(":{l}_wait"),
        &format!("if exist \"%STAGE%\\probe-{tag}.done\" goto :{l}_done"),
        &format!("if %WAITED% GEQ {PROBE_WAIT_SECONDS} goto :{l}_timeout"),
        "ping -n 2 127.0.0.1 >nul",
        "set /a WAITED+=1",
        &format!("goto :{l}_wait"),
        &format!(":{l}_timeout"),
        &format!(
            ">>\"%PERR%\" echo proxy-triage: no result after {PROBE_WAIT_SECONDS} seconds; the task was ended."
        ),
        "schtasks /end /tn \"%TN%\" >>\"%PERR%\" 2>&1",
        &format!("set \"RC={EXIT_PROBE_TIMEOUT}\""),
        &format!("goto :{l}_delete"),
        &format!(":{l}_done"),
        &format!(
            "copy /y \"%STAGE%\\probe-{tag}.txt\" \"%OUT%\\{}\" >nul 2>&1",
            item.file
        ),
        &format!("type \"%STAGE%\\probe-{tag}.stderr.txt\" >>\"%PERR%\" 2>nul"),
        "set \"RC=1\"",
        &format!("set /p RC=<\"%STAGE%\\probe-{tag}.rc\""),
        &format!(":{l}_delete"),
        "schtasks /delete /tn \"%TN%\" /f >>\"%PERR%\" 2>&1",
        &format!(":{l}_recorded"),
    ]);
    finish_item(s, item);
    record(s, item, &item.command, "");
}

fn manifest_and_zip(s: &mut Script, version: &str) {
    s.blank();
    s.rem("manifest.json, by echo (PowerShell may be blocked); JSON escaping was done when the");
    s.rem("script was written.");
    s.line("set \"MANIFEST=%OUT%\\manifest.json\"");
    let collector = format!("  \"collector\": {},", cmd::json_string(COLLECTOR_NAME));
    let version = format!("  \"version\": {},", cmd::json_string(version));
    let header: [Vec<EchoPart>; 8] = [
        vec![EchoPart::Literal("{")],
        vec![EchoPart::Literal(&collector)],
        vec![EchoPart::Literal(&version)],
        vec![
            EchoPart::Literal("  \"computer\": \""),
            EchoPart::Var("COMPUTERNAME"),
            EchoPart::Literal("\","),
        ],
        vec![
            EchoPart::Literal("  \"started\": \""),
            EchoPart::Var("STARTED"),
            EchoPart::Literal("\","),
        ],
        vec![
            EchoPart::Literal("  \"endpoint\": "),
            EchoPart::Var("EPJSON"),
            EchoPart::Literal(","),
        ],
        vec![EchoPart::Literal("  \"elevated\": true,")],
        vec![EchoPart::Literal("  \"items\": [")],
    ];
    for (i, parts) in header.iter().enumerate() {
        let op = if i == 0 { ">" } else { ">>" };
        s.line(&format!(
            "{op}\"%MANIFEST%\" echo {}",
            cmd::echo_text(parts)
        ));
    }
    s.lines(&[
        "type \"%ITEMS%\" >>\"%MANIFEST%\"",
        ">>\"%MANIFEST%\" echo   ]",
        ">>\"%MANIFEST%\" echo }",
        "del \"%ITEMS%\"",
        "echo Wrote \"%MANIFEST%\"",
    ]);
    s.blank();
    s.rem("The zip: tar (Windows Server 2019 and later), else Compress-Archive; checked to exist.");
    s.lines(&[
        "set \"PT_OUT=%OUT%\"",
        "set \"PT_ZIP=%OUT%.zip\"",
        "if exist \"%PT_ZIP%\" del \"%PT_ZIP%\"",
        "tar -a -c -f \"%PT_ZIP%\" -C \"%OUT%\" . >nul 2>&1",
        "if exist \"%PT_ZIP%\" goto :zipped",
        &format!("{} >nul 2>&1", powershell(ZIP_PS)),
        "if exist \"%PT_ZIP%\" goto :zipped",
        "echo.",
        "echo Could not zip the folder. Please zip it yourself (right-click, Send to, Compressed",
        "echo folder) and send it to support:",
        "echo   \"%OUT%\"",
        "endlocal",
        "exit /b 0",
        ":zipped",
        "echo.",
        "echo Done. Please send this file to support:",
        "echo   \"%PT_ZIP%\"",
        "endlocal",
        "exit /b 0",
    ]);
}

fn subroutines(s: &mut Script) {
    s.blank();
    s.rem("---- Only reached by goto / call from here on. ----");
    s.blank();
    s.line(":not_elevated");
    s.line("echo.");
    s.line(&format!(
        "echo {}",
        cmd::echo_text(&[EchoPart::Literal(
            "This script must run elevated. Right-click Command Prompt, choose \"Run as administrator\","
        )])
    ));
    s.line("echo then run it again. Nothing was collected.");
    s.line("exit /b 1");
    s.blank();
    s.line(":no_folder");
    s.line("echo Could not create the folder \"%OUT%\". Nothing was collected.");
    s.line("exit /b 1");
    s.blank();
    s.rem("A scheduled task runs this script again as:  probe.cmd --probe TAG");
    s.line(":probe_mode");
    s.line(&format!(
        "{} >\"%~dp0probe-%~2.txt\" 2>\"%~dp0probe-%~2.stderr.txt\"",
        powershell(PROBE_PS)
    ));
    s.line(">\"%~dp0probe-%~2.rc\" echo %errorlevel%");
    s.line(">\"%~dp0probe-%~2.done\" echo done");
    s.line("exit /b 0");
    s.blank();
    s.rem("call :finish_item FILE STDERR_FILE -- drops empty files; SE = the stderr file as JSON.");
    s.lines(&[
        ":finish_item",
        "set \"SZ=\"",
        "if exist \"%OUT%\\%~1\" for %%F in (\"%OUT%\\%~1\") do set \"SZ=%%~zF\"",
        "if \"%SZ%\"==\"0\" del \"%OUT%\\%~1\"",
        "set \"SE=null\"",
        "set \"SZ=\"",
        "if exist \"%OUT%\\%~2\" for %%F in (\"%OUT%\\%~2\") do set \"SZ=%%~zF\"",
        "if \"%SZ%\"==\"0\" del \"%OUT%\\%~2\"",
        "if defined SZ if not \"%SZ%\"==\"0\" set SE=\"%~2\"",
        "goto :eof",
    ]);
    s.blank();
    s.rem("call :copy_capped FILE STDERR_FILE -- copies %SRC% unless it is over %LOGCAP% bytes; sets RC.");
    s.lines(&[
        ":copy_capped",
        "if exist \"%SRC%\" goto :copy_capped_found",
        ">\"%OUT%\\%~2\" echo File not found: \"%SRC%\"",
        "set \"RC=2\"",
        "goto :eof",
        ":copy_capped_found",
        "set \"SZ=0\"",
        "for %%F in (\"%SRC%\") do set \"SZ=%%~zF\"",
        "if %SZ% GTR %LOGCAP% goto :copy_capped_big",
        "copy /y \"%SRC%\" \"%OUT%\\%~1\" >nul 2>\"%OUT%\\%~2\"",
        "set \"RC=%errorlevel%\"",
        "goto :eof",
        ":copy_capped_big",
        ">\"%OUT%\\%~2\" echo Not copied: \"%SRC%\" has %SZ% bytes, over the cap of %LOGCAP% bytes.",
        "set \"RC=3\"",
        "goto :eof",
    ]);
}

fn readme(opts: &CollectOptions) -> String {
    let endpoint = match &opts.endpoint {
        Some(e) => format!("The probes test https://{e}/tri/sensor/api/ping (given when the script was written)."),
        None => "The probes test https://<endpoint>/tri/sensor/api/ping, the endpoint read from the\nsensor's SensorConfiguration.json.".to_string(),
    };
    format!(
        "Proxy evidence for the Microsoft Defender for Identity sensor: {SCRIPT_NAME}\n\
         ==========================================================================\n\n\
         What it does\n\
         ------------\n\
         It collects, on the domain controller where the sensor runs, everything support needs to\n\
         judge whether the sensor's accounts (LOCAL SERVICE for the sensor, LOCAL SYSTEM for its\n\
         updater) can reach the Defender for Identity service through your proxy:\n\n  \
           - the Internet Settings registry keys of the current user, LOCAL SYSTEM (S-1-5-18),\n    \
             LOCAL SERVICE (S-1-5-19), NETWORK SERVICE (S-1-5-20) and the machine (HKLM, and its\n    \
             policy key), each exported with reg export, one .reg file per account;\n  \
           - the documented reg compare commands, netsh winhttp show proxy, and\n    \
             bitsadmin /util /getieproxy LOCALSYSTEM and LOCALSERVICE;\n  \
           - the sensor's SensorConfiguration.json with the encrypted proxy password removed,\n    \
             Get-MDISensorProxyConfiguration when the DefenderForIdentity module is installed,\n    \
             the newest sensor and updater logs and deployment logs (up to 64 MB each);\n  \
           - an HTTPS test of the sensor API as the current user, as LOCAL SYSTEM and as LOCAL\n    \
             SERVICE (through two temporary scheduled tasks).\n\n\
         {endpoint}\n\n\
         manifest.json in the folder records each command, the account it concerns, its exit code\n\
         and the file holding its error messages.\n\n\
         What it never does\n\
         ------------------\n\
         It changes no setting. It reads the registry, copies files and runs read-only commands.\n\
         The two scheduled tasks (proxy-triage-probe-*) and the staging folder\n\
         %ProgramData%\\proxy-triage-collect-* exist only while it runs and are deleted afterwards.\n\
         It writes no password: the encrypted proxy password of the sensor configuration is\n\
         replaced before the copy is written, and is left out of the module's output.\n\n\
         How to run it\n\
         -------------\n\
         1. Copy {SCRIPT_NAME} to the domain controller.\n\
         2. Open Command Prompt with \"Run as administrator\".\n\
         3. Run:   {SCRIPT_NAME}\n   \
            or:    {SCRIPT_NAME} \"D:\\some folder\"\n   \
            Without a folder it creates mdi-proxy-<COMPUTERNAME>-<date and time> beside the script.\n\
         4. It takes about a minute or two, then prints the path of the zip file to send. If it\n   \
            cannot zip (older Windows without tar and PowerShell 5), send the folder, zipped by\n   \
            Explorer (right-click, Send to, Compressed (zipped) folder).\n\n\
         Then: proxy-triage analyze <the zip or the folder>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_validated() {
        // `--workspace` is checked by the command line's own parser (`proxy::endpoint`).
        let workspace = crate::proxy::endpoint::host_for_workspace;
        assert_eq!(
            workspace("Contoso-Corp").unwrap(),
            "contoso-corpsensorapi.atp.azure.com"
        );
        assert!(workspace("a b").is_err());
        assert!(workspace("").is_err());
        assert_eq!(
            validate_endpoint("ContosoSensorApi.atp.azure.com").unwrap(),
            "contososensorapi.atp.azure.com"
        );
        for bad in ["x\"&calc", "a..b", ".a", "a b", "", "a%b"] {
            assert!(validate_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_item_has_its_own_files() {
        let items = planned_items(&CollectOptions::default());
        let mut names: Vec<String> = items
            .iter()
            .flat_map(|i| [i.file.to_lowercase(), i.stderr_file.to_lowercase()])
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "file names must be unique");
        // Stderr files sit in the top folder (the script writes their names into JSON as is).
        assert!(items.iter().all(|i| !i.stderr_file.contains('\\')));
    }

    #[test]
    fn script_is_crlf_ascii_and_bakes_the_endpoint() {
        let opts = CollectOptions {
            endpoint: Some("contososensorapi.atp.azure.com".into()),
        };
        let bytes = script(&opts).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.replace("\r\n", "").contains('\n'));
        assert!(text.contains("set \"EP=contososensorapi.atp.azure.com\"\r\n"));
        // Each command is followed at once by its exit code.
        let lines: Vec<&str> = text.split("\r\n").collect();
        for (i, l) in lines.iter().enumerate() {
            if l.starts_with("reg export ")
                || l.starts_with("netsh ")
                || l.starts_with("bitsadmin ")
            {
                assert_eq!(lines[i + 1], "set \"RC=%errorlevel%\"", "after {l}");
            }
        }
        // No parenthesised block: a path with ')' (Program Files (x86)) would end it early.
        assert!(!lines.iter().any(|l| l.trim_end().ends_with('(')));
    }
}
