//! `backup.cmd` and `restore.cmd`: plain cmd (no PowerShell), built to survive any folder name.
//!
//! Rules they follow (each one broke a real run): no `( ... )` blocks at all, so a `)` in the
//! script's folder (`fix (1)`, `Program Files (x86)`) can never end a block early; every path
//! quoted; delayed expansion off (a `!` in a path stays text); only `reg`, `net` and cmd
//! built-ins (no `timeout`, `fltmc`, `openfiles`, `whoami`, `powershell`); every `reg` exit
//! code checked and each failure printed; ASCII, and CRLF added by the caller.

use super::{marker_line, ServiceAccount, CONNECTIONS_SUBKEY, FIRST_BACKUP_FILE, VALUE_NAME};

/// Lines shared by both scripts: marker, settings, elevation check.
fn prologue(name: &str, purpose: &[&str]) -> String {
    let mut s = String::from("@echo off\n");
    s.push_str(&marker_line("rem", name));
    s.push('\n');
    for line in purpose {
        s.push_str("rem ");
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!(
        "setlocal EnableExtensions DisableDelayedExpansion\n\
         set \"HERE=%~dp0\"\n\
         set \"CONN={CONNECTIONS_SUBKEY}\"\n\
         set \"VALUE={VALUE_NAME}\"\n\
         set \"FAILED=\"\n\
         \n\
         rem Only an elevated prompt may run net session.\n\
         net session >nul 2>&1\n\
         if errorlevel 1 goto not_elevated\n"
    ));
    s
}

/// The label every script ends with when it is not elevated.
const NOT_ELEVATED: &str = "\n:not_elevated\n\
echo This script must run elevated: right-click Command Prompt, choose Run as administrator,\n\
echo change to this folder and run it again. Nothing was changed.\n\
exit /b 1\n";

/// Calls `label` once per service account, with `SID` set.
fn for_each_account(label: &str) -> String {
    ServiceAccount::BOTH
        .iter()
        .map(|a| format!("set \"SID={}\"\ncall :{label}\n", a.sid()))
        .collect()
}

/// `backup.cmd`: saves both accounts' Connections keys as `reg export` files beside itself,
/// under a stamp that never collides; records the first backup set in `first-backup.txt`.
pub fn backup_cmd(fix_value: &[u8]) -> String {
    let mut s = prologue(
        "backup.cmd",
        &[
            "Saves the DefaultConnectionSettings of LOCAL SYSTEM (S-1-5-18) and LOCAL SERVICE",
            "(S-1-5-19) before fix.reg is imported. It changes nothing in the registry.",
            "Each run writes a new backup set beside this script: backup-STAMP-N-SID.reg",
            "(a reg export of the Connections key, with the value's hex in a .hex file beside it)",
            "or backup-STAMP-N-SID.absent (the value did not exist).",
            "The first set is recorded in first-backup.txt, which later runs",
            "never change: restore.cmd restores that set unless told otherwise.",
        ],
    );
    let fix_hex: String = fix_value.iter().map(|b| format!("{b:02X}")).collect();
    s.push_str(&format!(
        "rem The value fix.reg sets, as reg query prints it.\n\
         set \"FIXHEX={fix_hex}\"\n"
    ));
    s.push_str(
        "\n\
         rem A stamp from the date and time in any locale, made safe for a file name.\n\
         set \"STAMP=%DATE%_%TIME%\"\n\
         set \"STAMP=%STAMP:/=-%\"\n\
         set \"STAMP=%STAMP::=-%\"\n\
         set \"STAMP=%STAMP:.=-%\"\n\
         set \"STAMP=%STAMP:,=-%\"\n\
         set \"STAMP=%STAMP: =-%\"\n\
         set \"STAMP=%STAMP:\\=-%\"\n\
         rem The time may have minute resolution: a counter makes the name unique.\n\
         set /a N=0\n\
         :next_id\n\
         set /a N+=1\n\
         if %N% gtr 999 goto no_id\n\
         set \"ID=%STAMP%-%N%\"\n\
         if exist \"%HERE%backup-%ID%-*\" goto next_id\n\
         \n\
         echo Backup set %ID%\n",
    );
    s.push_str(&for_each_account("save"));
    s.push_str(&format!(
        "if defined FAILED goto failed\n\
         \n\
         if exist \"%HERE%{FIRST_BACKUP_FILE}\" goto have_first\n\
         >\"%HERE%{FIRST_BACKUP_FILE}\" echo %ID%\n\
         if not exist \"%HERE%{FIRST_BACKUP_FILE}\" goto first_failed\n\
         echo Recorded backup set %ID% in {FIRST_BACKUP_FILE}: restore.cmd restores it.\n\
         goto done\n\
         :have_first\n\
         echo {FIRST_BACKUP_FILE} already names an earlier backup set; restore.cmd restores that one\n\
         echo (run restore.cmd %ID% to restore this set instead).\n\
         :done\n\
         echo Backup done. Next, from this folder: reg import fix.reg\n\
         exit /b 0\n\
         \n\
         rem Saves the Connections key of account SID, or notes that the value is absent.\n\
         :save\n\
         set \"KEY=HKU\\%SID%\\%CONN%\"\n\
         set \"OUT=backup-%ID%-%SID%\"\n\
         reg query \"%KEY%\" /v %VALUE% >nul 2>&1\n\
         if errorlevel 1 goto save_absent\n\
         reg export \"%KEY%\" \"%HERE%%OUT%.reg\" /y >nul 2>&1\n\
         if errorlevel 1 goto save_failed\n\
         if not exist \"%HERE%%OUT%.reg\" goto save_failed\n\
         rem The value as hex, so that restore.cmd can check what reg import put back.\n\
         set \"HEX=\"\n\
         for /f \"tokens=1-3\" %%a in ('reg query \"%KEY%\" /v %VALUE% 2^>nul') do if /i \"%%b\"==\"REG_BINARY\" set \"HEX=%%c\"\n\
         if not defined HEX goto save_done\n\
         >\"%HERE%%OUT%.hex\" echo %HEX%\n\
         if not exist \"%HERE%%OUT%.hex\" goto save_failed\n\
         :save_done\n\
         echo %SID%: saved its Connections key to %OUT%.reg\n\
         if \"%HEX%\"==\"%FIXHEX%\" echo %SID%: note: it already holds the value fix.reg sets. If fix.reg was imported\n\
         if \"%HEX%\"==\"%FIXHEX%\" echo %SID%: before this run, this set is not the state before the fix.\n\
         exit /b 0\n\
         :save_absent\n\
         >\"%HERE%%OUT%.absent\" echo %VALUE% did not exist under %KEY% when backup.cmd ran.\n\
         if not exist \"%HERE%%OUT%.absent\" goto save_failed\n\
         echo %SID%: %VALUE% does not exist yet; restore.cmd will delete the value fix.reg adds.\n\
         exit /b 0\n\
         :save_failed\n\
         echo %SID%: FAILED: could not write %OUT% (reg export \"%KEY%\").\n\
         set \"FAILED=1\"\n\
         exit /b 1\n\
         \n\
         :failed\n\
         echo Backup FAILED (see above). Do not import fix.reg until a backup succeeds.\n\
         exit /b 1\n\
         :first_failed\n\
         echo FAILED: could not write {FIRST_BACKUP_FILE} beside this script. Do not import fix.reg.\n\
         exit /b 1\n\
         :no_id\n\
         echo FAILED: 999 backup sets with this stamp already exist beside this script.\n\
         exit /b 1\n"
    ));
    s.push_str(NOT_ELEVATED);
    s
}

/// `restore.cmd [ID]`: restores the backup set named in `first-backup.txt` (or set `ID`):
/// imports each saved key, deletes the value where it did not exist, checks every `reg`.
pub fn restore_cmd() -> String {
    let mut s = prologue(
        "restore.cmd",
        &[
            "Puts back the DefaultConnectionSettings of LOCAL SYSTEM and LOCAL SERVICE as",
            "backup.cmd saved them before fix.reg was imported.",
            "  restore.cmd        restores the first backup set (named in first-backup.txt)",
            "  restore.cmd ID     restores backup set ID (the files backup-ID-S-1-5-18.* ...)",
            "A value that did not exist before is deleted. Every reg command is checked.",
        ],
    );
    s.push_str(&format!(
        "\n\
         set \"ID=%~1\"\n\
         if defined ID goto have_id\n\
         if not exist \"%HERE%{FIRST_BACKUP_FILE}\" goto no_first\n\
         set /p ID=<\"%HERE%{FIRST_BACKUP_FILE}\"\n\
         if not defined ID goto no_first\n\
         :have_id\n\
         echo Restoring backup set %ID%\n\
         rem Check that the whole set is there before changing anything.\n"
    ));
    for a in ServiceAccount::BOTH {
        s.push_str(&format!(
            "set \"SID={}\"\ncall :check\nif errorlevel 1 goto incomplete\n",
            a.sid()
        ));
    }
    s.push_str(&for_each_account("restore"));
    s.push_str(
        "if defined FAILED goto failed\n\
         echo Restore done. Restart the sensor services (see README.txt).\n\
         exit /b 0\n\
         \n\
         rem Exit code 0 when account SID has a backup in set ID.\n\
         :check\n\
         if exist \"%HERE%backup-%ID%-%SID%.reg\" exit /b 0\n\
         if exist \"%HERE%backup-%ID%-%SID%.absent\" exit /b 0\n\
         echo %SID%: no backup-%ID%-%SID%.reg or .absent beside this script.\n\
         exit /b 1\n\
         \n\
         rem Restores account SID from set ID.\n\
         :restore\n\
         set \"KEY=HKU\\%SID%\\%CONN%\"\n\
         set \"IN=backup-%ID%-%SID%\"\n\
         if exist \"%HERE%%IN%.reg\" goto restore_import\n\
         reg query \"%KEY%\" /v %VALUE% >nul 2>&1\n\
         if errorlevel 1 goto restore_still_absent\n\
         reg delete \"%KEY%\" /v %VALUE% /f >nul 2>&1\n\
         if errorlevel 1 goto restore_delete_failed\n\
         reg query \"%KEY%\" /v %VALUE% >nul 2>&1\n\
         if not errorlevel 1 goto restore_delete_failed\n\
         echo %SID%: deleted %VALUE%, which did not exist before fix.reg.\n\
         exit /b 0\n\
         :restore_still_absent\n\
         echo %SID%: %VALUE% is absent, as it was before fix.reg.\n\
         exit /b 0\n\
         :restore_delete_failed\n\
         echo %SID%: FAILED: reg delete \"%KEY%\" /v %VALUE% did not remove the value.\n\
         set \"FAILED=1\"\n\
         exit /b 1\n\
         :restore_import\n\
         reg import \"%HERE%%IN%.reg\" >nul 2>&1\n\
         if errorlevel 1 goto restore_import_failed\n\
         reg query \"%KEY%\" /v %VALUE% >nul 2>&1\n\
         if errorlevel 1 goto restore_import_incomplete\n\
         if not exist \"%HERE%%IN%.hex\" goto restore_imported\n\
         set \"WANT=\"\n\
         for /f \"usebackq delims=\" %%h in (\"%HERE%%IN%.hex\") do set \"WANT=%%h\"\n\
         set \"NOW=\"\n\
         for /f \"tokens=1-3\" %%a in ('reg query \"%KEY%\" /v %VALUE% 2^>nul') do if /i \"%%b\"==\"REG_BINARY\" set \"NOW=%%c\"\n\
         if not \"%NOW%\"==\"%WANT%\" goto restore_import_mismatch\n\
         :restore_imported\n\
         echo %SID%: restored from %IN%.reg\n\
         exit /b 0\n\
         :restore_import_mismatch\n\
         echo %SID%: FAILED: after reg import %IN%.reg the value differs from the one saved in\n\
         echo %IN%.hex; the backup file may be damaged.\n\
         set \"FAILED=1\"\n\
         exit /b 1\n\
         :restore_import_failed\n\
         echo %SID%: FAILED: reg import %IN%.reg returned an error; the file may be damaged.\n\
         set \"FAILED=1\"\n\
         exit /b 1\n\
         :restore_import_incomplete\n\
         echo %SID%: FAILED: after reg import %IN%.reg the value %VALUE% is still missing.\n\
         set \"FAILED=1\"\n\
         exit /b 1\n\
         \n\
         :failed\n\
         echo Restore FAILED for the accounts marked FAILED above; the others were restored.\n\
         exit /b 1\n\
         :incomplete\n\
         echo Backup set %ID% is incomplete; nothing was changed. Run restore.cmd ID with a\n\
         echo complete set (the ID is the part between backup- and -S-1-5-1x in the file names).\n\
         exit /b 1\n\
         :no_first\n\
         echo No first-backup.txt beside this script: backup.cmd has not run here, so there\n\
         echo is nothing to restore. Nothing was changed.\n\
         exit /b 1\n",
    );
    s.push_str(NOT_ELEVATED);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_have_no_blocks_and_no_forbidden_commands() {
        for (name, text) in [
            ("backup", backup_cmd(&[0x46, 0, 0, 0])),
            ("restore", restore_cmd()),
        ] {
            assert!(text.is_ascii(), "{name}");
            for line in text.lines() {
                let code = line.trim_start();
                if code.starts_with("rem ") || code.starts_with("echo ") {
                    // cmd still parses these lines: no redirection or pipe characters.
                    assert!(!code.contains(['<', '>', '|', '&']), "{name}: {line}");
                    // Echo text outside a block may hold parentheses.
                    assert!(!code.starts_with("echo ") || !code.ends_with('('), "{line}");
                    continue;
                }
                if code.starts_with("for /f ") {
                    // The only parentheses: a for's set, whose paths are quoted.
                    assert!(code.contains(" do ") && !code.ends_with('('), "{line}");
                } else {
                    assert!(!code.contains('('), "{name}: block or paren in: {line}");
                    assert!(!code.contains(')'), "{name}: paren in: {line}");
                }
                for bad in ["powershell", "timeout", "fltmc", "openfiles", "whoami", "!"] {
                    assert!(
                        !code.to_ascii_lowercase().contains(bad),
                        "{name}: {bad} in {line}"
                    );
                }
                if code.contains("%HERE%") {
                    assert!(code.contains("\"%HERE%"), "{name}: unquoted path in {line}");
                }
            }
            assert!(text.contains("net session >nul 2>&1"));
        }
    }

    #[test]
    fn every_reg_command_is_followed_by_a_check() {
        for text in [backup_cmd(&[0x46]), restore_cmd()] {
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                if l.starts_with("reg ") {
                    let next = lines.get(i + 1).copied().unwrap_or("");
                    assert!(
                        next.starts_with("if errorlevel 1 goto ")
                            || next.starts_with("if not errorlevel 1 goto "),
                        "{l} / {next}"
                    );
                }
            }
        }
    }
}
