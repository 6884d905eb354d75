//! The documented remediation as files a customer can run: `fix.reg` (regedit-identical),
//! `backup.cmd` / `restore.cmd`, and `README.txt`. Decides nothing itself: it takes the
//! judged case and refuses when the copy would be wrong or useless.

use serde::Serialize;

use crate::case::model::{CaseReport, EvidenceRef, State};
use crate::case::principals::Principal;
use crate::case::{FindingId, Resolved};
use crate::formats::reg_writer::{write_export, WriteKey, WriteValue};
use crate::registry::{hex_lower, ValueType};

/// Where the proxy blob lives under each account's hive.
pub const CONNECTIONS_SUBKEY: &str =
    "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";
/// The value the documented procedure copies.
pub const VALUE_NAME: &str = "DefaultConnectionSettings";

/// One value the fix sets, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub principal: Principal,
    pub sid: &'static str,
    pub key: String,
    pub value: &'static str,
    /// The finding that asks for it (`proxy-missing` or `proxy-differs`).
    pub finding: String,
    /// Where the current user's blob (the bytes written) comes from.
    pub source: EvidenceRef,
    /// The finding's evidence about the account.
    pub evidence: Vec<EvidenceRef>,
    pub data_hex: String,
}

/// One file of the remediation.
#[derive(Debug, Clone, Serialize)]
pub struct FixFile {
    pub name: &'static str,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub size: usize,
}

/// The remediation for a case: the changes and the files that make them.
#[derive(Debug, Clone, Serialize)]
pub struct FixPlan {
    pub case: String,
    pub changes: Vec<Change>,
    pub files: Vec<FixFile>,
}

/// Why no remediation is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the sensor has its own proxy in SensorConfiguration.json ({0}); the registry copy would not change what the sensor uses. Change the sensor proxy with the sensor installer or the deployment tool")]
    SensorProxy(String),
    #[error("ProxySettingsPerUser = 0: every account reads the HKLM proxy settings, so a per-user copy would have no effect. Change the machine-wide (HKLM) settings instead")]
    MachineWidePolicy,
    #[error(
        "the current user's own setting is direct (no proxy, no PAC): there is nothing to copy"
    )]
    CurrentUserDirect,
    #[error("nothing to fix: no proxy-missing or proxy-differs finding for LOCAL SYSTEM or LOCAL SERVICE")]
    NothingToFix,
    #[error("the current user's full DefaultConnectionSettings is not in the evidence (a not-found capture or a truncated PowerShell table does not contain it). Ask for `reg export \"HKCU\\{CONNECTIONS_SUBKEY}\" hkcu.reg`")]
    NoReferenceBlob,
}

/// Builds the remediation for a judged case, or says why it must not be written.
pub fn plan(report: &CaseReport, resolved: &Resolved) -> Result<FixPlan, Refusal> {
    if let Some(sp) = &resolved.sensor_proxy {
        return Err(Refusal::SensorProxy(crate::case::settings::redact(&sp.url)));
    }
    if resolved.machine_wide.is_some() {
        return Err(Refusal::MachineWidePolicy);
    }
    if resolved.state(Principal::CurrentUser) == State::Direct {
        return Err(Refusal::CurrentUserDirect);
    }
    let targets: Vec<(&Principal, &crate::case::model::Finding)> =
        [Principal::LocalSystem, Principal::LocalService]
            .iter()
            .filter_map(|p| {
                report
                    .findings
                    .iter()
                    .find(|f| {
                        f.principal.as_ref() == Some(p)
                            && matches!(f.id, FindingId::ProxyMissing | FindingId::ProxyDiffers)
                    })
                    .map(|f| (p, f))
            })
            .collect();
    if targets.is_empty() {
        return Err(Refusal::NothingToFix);
    }
    let Some((blob, source)) = resolved.reference_blob.clone() else {
        return Err(Refusal::NoReferenceBlob);
    };
    let mut changes = Vec::new();
    let mut keys = Vec::new();
    for (p, f) in targets {
        let sid = p.sid().unwrap_or("S-1-5-18");
        let key = format!("HKEY_USERS\\{sid}\\{CONNECTIONS_SUBKEY}");
        keys.push(WriteKey {
            path: key.clone(),
            values: vec![WriteValue {
                name: VALUE_NAME.to_string(),
                value_type: ValueType::BINARY,
                bytes: blob.clone(),
            }],
        });
        changes.push(Change {
            principal: *p,
            sid,
            key,
            value: VALUE_NAME,
            finding: f.id.as_str().to_string(),
            source: source.clone(),
            evidence: f.evidence.clone(),
            data_hex: hex_lower(&blob),
        });
    }
    let files = vec![
        file("fix.reg", write_export(&keys)),
        file("backup.cmd", crlf(&backup_cmd(&changes))),
        file("restore.cmd", crlf(&restore_cmd(&changes))),
        file("README.txt", crlf(&readme(&report.case, &changes))),
    ];
    Ok(FixPlan {
        case: report.case.clone(),
        changes,
        files,
    })
}

fn file(name: &'static str, bytes: Vec<u8>) -> FixFile {
    FixFile {
        name,
        size: bytes.len(),
        bytes,
    }
}

/// Windows line ends for the scripts and the README.
fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

fn short_key(c: &Change) -> String {
    format!("HKU\\{}\\{}", c.sid, CONNECTIONS_SUBKEY)
}

fn backup_cmd(changes: &[Change]) -> String {
    let mut s = String::from(
        "@echo off\n\
         rem proxy-triage: back up every key that fix.reg changes, to dated files next to this script.\n\
         rem Run from an elevated command prompt. Existing backups are never overwritten.\n\
         setlocal\n\
         net session >nul 2>&1\n\
         if errorlevel 1 (\n  echo Run this from an elevated command prompt ^(Run as administrator^).\n  exit /b 1\n)\n\
         for /f %%i in ('powershell -NoProfile -Command \"Get-Date -Format yyyyMMdd-HHmmss\"') do set STAMP=%%i\n\
         if not defined STAMP (\n  echo Could not read the date; nothing backed up.\n  exit /b 1\n)\n",
    );
    for c in changes {
        let k = short_key(c);
        s.push_str(&format!(
            "\nset \"OUT=%~dp0backup-{sid}-%STAMP%.reg\"\n\
             if exist \"%OUT%\" (\n  echo %OUT% already exists; not overwritten.\n  exit /b 1\n)\n\
             reg query \"{k}\" /v {v} >nul 2>&1\n\
             if errorlevel 1 (\n  echo {sid}: {v} does not exist yet; restore.cmd will delete the value fix.reg adds.\n  echo absent> \"%~dp0backup-{sid}-%STAMP%.absent\"\n) else (\n  reg export \"{k}\" \"%OUT%\"\n  if errorlevel 1 (\n    echo Backup of {k} failed; do not import fix.reg.\n    exit /b 1\n  )\n  echo Backed up {k} to %OUT%\n)\n",
            sid = c.sid,
            v = VALUE_NAME,
        ));
    }
    s.push_str("\necho Backup done. Next: reg import \"%~dp0fix.reg\"\nexit /b 0\n");
    s
}

fn restore_cmd(changes: &[Change]) -> String {
    let mut s = String::from(
        "@echo off\n\
         rem proxy-triage: undo fix.reg from the newest backups made by backup.cmd.\n\
         rem Run from an elevated command prompt.\n\
         setlocal\n\
         net session >nul 2>&1\n\
         if errorlevel 1 (\n  echo Run this from an elevated command prompt ^(Run as administrator^).\n  exit /b 1\n)\n",
    );
    for c in changes {
        let k = short_key(c);
        s.push_str(&format!(
            "\nset \"LAST=\"\n\
             for /f \"delims=\" %%f in ('dir /b /o:d \"%~dp0backup-{sid}-*.*\" 2^>nul') do set \"LAST=%%f\"\n\
             if not defined LAST (\n  echo No backup for {sid} found next to this script; nothing restored for it.\n) else if /i \"%LAST:~-7%\"==\".absent\" (\n  reg delete \"{k}\" /v {v} /f\n  echo {sid}: removed the {v} value that fix.reg added.\n) else (\n  reg import \"%~dp0%LAST%\"\n  echo {sid}: restored from %LAST%\n)\n",
            sid = c.sid,
            v = VALUE_NAME,
        ));
    }
    s.push_str("\necho Restore done. Restart the sensor services (see README.txt).\nexit /b 0\n");
    s
}

fn readme(case: &str, changes: &[Change]) -> String {
    let case = crate::text::escape_control(case);
    let mut s = format!(
        "Proxy fix for the Microsoft Defender for Identity sensor ({case})\n\
         ================================================================\n\n\
         The sensor's service accounts do not use the proxy that the current user uses.\n\
         These files copy the current user's DefaultConnectionSettings to:\n\n"
    );
    for c in changes {
        s.push_str(&format!(
            "  - {} ({}): {}\n",
            c.principal.label(),
            c.finding,
            short_key(c)
        ));
    }
    s.push_str(
        "\nSteps (on the domain controller):\n\n\
         1. Open an elevated command prompt (right-click Command Prompt, Run as administrator)\n   \
            and change to the folder with these files.\n\n\
         2. Back up the keys:   backup.cmd\n   \
            It writes dated backup-<SID>-<date>.reg files here and never overwrites one.\n\n\
         3. Import the fix:     reg import fix.reg\n\n\
         4. Check it. Each command must now print \"Result Compared: Identical\":\n\n",
    );
    for c in changes {
        s.push_str(&format!(
            "   reg compare \"HKCU\\{sub}\" \"HKU\\{sid}\\{sub}\" /v {v}\n",
            sub = CONNECTIONS_SUBKEY,
            sid = c.sid,
            v = VALUE_NAME
        ));
    }
    s.push_str(
        "\n5. Restart the sensor services:\n\n   \
            net stop AATPSensorUpdater && net start AATPSensorUpdater\n   \
            net stop AATPSensor && net start AATPSensor\n\n   \
            Then browse to https://triprd1wcuse1sensorapi.eastus.cloudapp.azure.com as the\n   \
            current user: HTTP 503 means the proxy path works.\n\n\
         To undo: run restore.cmd from an elevated prompt (it imports the newest backups, or\n\
         removes the value where none existed before), then restart the services again.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_use_crlf_and_quote_every_key() {
        let c = Change {
            principal: Principal::LocalSystem,
            sid: "S-1-5-18",
            key: format!("HKEY_USERS\\S-1-5-18\\{CONNECTIONS_SUBKEY}"),
            value: VALUE_NAME,
            finding: "proxy-missing".into(),
            source: EvidenceRef::new("hkcu.reg", 4),
            evidence: vec![],
            data_hex: String::new(),
        };
        let b = crlf(&backup_cmd(std::slice::from_ref(&c)));
        let text = String::from_utf8(b).unwrap();
        assert!(text.contains("reg export \"HKU\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" \"%OUT%\"\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
        let r = restore_cmd(&[c]);
        assert!(r.contains("reg delete \"HKU\\S-1-5-18\\"));
    }
}
