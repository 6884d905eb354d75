//! `fix` output run for real under Wine: `backup.cmd` from a folder named `fix (1)`, `reg
//! import fix.reg`, `restore.cmd`, and the registry compared byte for byte. Skipped, with a
//! message, when Wine is not installed.
//!
//! Wine facts this relies on (`notes/collector.md` of the project research): `HKU\S-1-5-18`
//! and `S-1-5-19` are volatile and vanish when the wineserver exits, so a persistent
//! wineserver is started before `wineboot -i`; `net session` exits 0 there; `reg` prints its
//! errors on stdout; a `)` that ends a block early makes Wine run the rest in pieces instead
//! of aborting, so the scripts' output is checked, not only their exit codes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::Command as BinCommand;
use serde_json::Value;

const CONN: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";
/// Seconds any one Wine command may take.
const WINE_TIMEOUT: &str = "180";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A throwaway Wine prefix with its own persistent wineserver (killed on drop).
struct Wine {
    prefix: PathBuf,
    home: PathBuf,
    logs: PathBuf,
    calls: std::cell::Cell<u32>,
}

/// What one Wine command did: exit code and its output (stdout and stderr together).
struct Ran {
    code: Option<i32>,
    output: String,
}

impl Wine {
    fn available() -> bool {
        Command::new("timeout")
            .args(["60", "wine", "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start(dir: &Path) -> Wine {
        let wine = Wine {
            prefix: dir.join("prefix"),
            home: dir.join("home"),
            logs: dir.join("logs"),
            calls: std::cell::Cell::new(0),
        };
        for d in [&wine.prefix, &wine.home, &wine.logs] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        // Before wineboot: started after it, the server does nothing and the service
        // accounts' hives vanish between commands.
        let server = wine
            .command("wineserver", dir)
            .args(["-p", "900"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("wineserver");
        assert!(server.success(), "wineserver -p");
        let boot = wine.run(dir, "wineboot", &["-i"]);
        assert_eq!(boot.code, Some(0), "wineboot: {}", boot.output);
        wine
    }

    /// `timeout N program` with this prefix's environment.
    fn command(&self, program: &str, cwd: &Path) -> Command {
        let mut c = Command::new("timeout");
        c.arg(WINE_TIMEOUT)
            .arg(program)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env("HOME", &self.home)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .current_dir(cwd);
        c
    }

    /// Runs `program args` with output redirected to a file (Wine's console behaves
    /// differently on pipes), and returns the exit code and what it printed.
    fn run(&self, cwd: &Path, program: &str, args: &[&str]) -> Ran {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        let log = self.logs.join(format!("{n}.txt"));
        let out = File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let status = self
            .command(program, cwd)
            .args(args)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .status()
            .expect("run wine");
        let output =
            String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).replace("\r\n", "\n");
        Ran {
            code: status.code(),
            output,
        }
    }

    fn cmd(&self, cwd: &Path, script: &str, args: &[&str]) -> Ran {
        let mut all = vec!["cmd", "/c", script];
        all.extend_from_slice(args);
        let ran = self.run(cwd, "wine", &all);
        // Nothing the scripts call may be missing, and no line may be cut apart.
        for bad in ["is not recognized", "Can't recognize", "Syntax error"] {
            assert!(
                !ran.output.contains(bad),
                "{script}: {bad}:\n{}",
                ran.output
            );
        }
        ran
    }

    fn reg(&self, cwd: &Path, args: &[&str]) -> Ran {
        let mut all = vec!["reg"];
        all.extend_from_slice(args);
        self.run(cwd, "wine", &all)
    }

    /// The value's hex as `reg query` prints it (uppercase), or None when absent.
    fn value_hex(&self, cwd: &Path, sid: &str) -> Option<String> {
        let key = format!("HKU\\{sid}\\{CONN}");
        let ran = self.reg(cwd, &["query", &key, "/v", "DefaultConnectionSettings"]);
        if ran.code != Some(0) {
            return None;
        }
        ran.output.lines().find_map(|l| {
            let mut it = l.split_whitespace();
            match (it.next(), it.next(), it.next()) {
                (Some("DefaultConnectionSettings"), Some("REG_BINARY"), Some(hex)) => {
                    Some(hex.to_string())
                }
                _ => None,
            }
        })
    }

    /// `reg export` of one account's Connections key, as bytes.
    fn export(&self, cwd: &Path, sid: &str, name: &str) -> Vec<u8> {
        let key = format!("HKU\\{sid}\\{CONN}");
        let ran = self.reg(cwd, &["export", &key, name, "/y"]);
        assert_eq!(ran.code, Some(0), "reg export {key}: {}", ran.output);
        std::fs::read(cwd.join(name)).expect("export")
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = self
            .command("wineserver", &self.home)
            .arg("-k")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn backup_sets(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("backup-") && !n.ends_with(".cmd"))
        .collect();
    names.sort();
    names
}

#[test]
fn backup_import_restore_under_wine() {
    if !Wine::available() {
        eprintln!(
            "SKIPPED fix_wine: wine is not installed (apt-get install wine64 to run this test)"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // A browser's second download of the files: parentheses and a space in the folder name.
    let fix_dir = dir.path().join("fix (1)");
    let out = BinCommand::cargo_bin("proxy-triage")
        .expect("binary")
        .current_dir(root())
        .args([
            "fix",
            "fixtures/uploads/contoso-dc01",
            "--format",
            "json",
            "--out",
        ])
        .arg(&fix_dir)
        .output()
        .expect("fix");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("json");
    let user_hex = summary["changes"][0]["data_hex"]
        .as_str()
        .expect("hex")
        .to_ascii_uppercase();

    let wine = Wine::start(dir.path());
    let here = fix_dir.as_path();
    // LOCAL SYSTEM has a direct value and another value; LOCAL SERVICE has the key without
    // DefaultConnectionSettings.
    let k18 = format!("HKU\\S-1-5-18\\{CONN}");
    let k19 = format!("HKU\\S-1-5-19\\{CONN}");
    let system_before = "46000000020000000100000000000000000000000000000000000000";
    for (key, name, data) in [
        (&k18, "DefaultConnectionSettings", system_before),
        (&k18, "SavedLegacySettings", "4600000003000000"),
        (&k19, "SavedLegacySettings", "4600000009000000"),
    ] {
        let ran = wine.reg(
            here,
            &["add", key, "/v", name, "/t", "REG_BINARY", "/d", data, "/f"],
        );
        assert_eq!(ran.code, Some(0), "reg add: {}", ran.output);
    }
    let before18 = wine.export(here, "S-1-5-18", "x-before-18.reg");
    let before19 = wine.export(here, "S-1-5-19", "x-before-19.reg");
    assert_eq!(wine.value_hex(here, "S-1-5-19"), None);

    // 1. Backup: changes nothing, exits 0, writes its files beside itself.
    let b1 = wine.cmd(here, "backup.cmd", &[]);
    assert_eq!(b1.code, Some(0), "{}", b1.output);
    assert!(
        b1.output
            .contains("S-1-5-18: saved its Connections key to backup-"),
        "{}",
        b1.output
    );
    assert!(
        b1.output
            .contains("S-1-5-19: DefaultConnectionSettings does not exist yet"),
        "{}",
        b1.output
    );
    assert!(b1.output.contains("Backup done."), "{}", b1.output);
    assert!(!b1.output.contains("note:"), "{}", b1.output);
    let first_id = std::fs::read_to_string(here.join("first-backup.txt"))
        .expect("first-backup.txt")
        .trim()
        .to_string();
    let sets = backup_sets(here);
    assert_eq!(
        sets,
        vec![
            format!("backup-{first_id}-S-1-5-18.hex"),
            format!("backup-{first_id}-S-1-5-18.reg"),
            format!("backup-{first_id}-S-1-5-19.absent"),
        ]
    );
    assert_eq!(
        std::fs::read(here.join(format!("backup-{first_id}-S-1-5-18.reg"))).expect("backup"),
        before18,
        "the backup is a reg export of the key"
    );
    assert_eq!(
        wine.export(here, "S-1-5-18", "x-same.reg"),
        before18,
        "backup changed nothing"
    );

    // 2. Import: both accounts hold the user's exact bytes.
    let import = wine.reg(here, &["import", "fix.reg"]);
    assert_eq!(
        import.code,
        Some(0),
        "reg import fix.reg: {}",
        import.output
    );
    assert_eq!(
        wine.value_hex(here, "S-1-5-18").as_deref(),
        Some(user_hex.as_str())
    );
    assert_eq!(
        wine.value_hex(here, "S-1-5-19").as_deref(),
        Some(user_hex.as_str())
    );

    // 3. Backup again after the import: a new set, first-backup.txt unchanged.
    let b2 = wine.cmd(here, "backup.cmd", &[]);
    assert_eq!(b2.code, Some(0), "{}", b2.output);
    assert!(
        b2.output
            .contains("S-1-5-19: note: it already holds the value fix.reg sets."),
        "{}",
        b2.output
    );
    assert!(
        b2.output
            .contains("first-backup.txt already names an earlier backup set"),
        "{}",
        b2.output
    );
    assert_eq!(backup_sets(here).len(), 3 + 4, "a second, complete set");
    assert_eq!(
        std::fs::read_to_string(here.join("first-backup.txt"))
            .expect("first")
            .trim(),
        first_id
    );

    // 4. Restore: the state before the first import, byte for byte; the absent value absent.
    let r1 = wine.cmd(here, "restore.cmd", &[]);
    assert_eq!(r1.code, Some(0), "{}", r1.output);
    assert!(
        r1.output
            .contains(&format!("Restoring backup set {first_id}")),
        "{}",
        r1.output
    );
    assert!(
        r1.output.contains("S-1-5-18: restored from backup-"),
        "{}",
        r1.output
    );
    assert!(
        r1.output
            .contains("S-1-5-19: deleted DefaultConnectionSettings"),
        "{}",
        r1.output
    );
    assert_eq!(wine.export(here, "S-1-5-18", "x-after-18.reg"), before18);
    assert_eq!(wine.export(here, "S-1-5-19", "x-after-19.reg"), before19);
    assert_eq!(wine.value_hex(here, "S-1-5-19"), None);
    assert_eq!(
        wine.value_hex(here, "S-1-5-18").as_deref(),
        Some(system_before.to_ascii_uppercase().as_str())
    );

    // 5. A damaged backup: restore.cmd says what failed and exits non-zero.
    let saved = here.join(format!("backup-{first_id}-S-1-5-18.reg"));
    let good = std::fs::read(&saved).expect("backup");
    // Cut in the middle of the value's hex: reg import keeps going, the check catches it.
    let half = (good.len() / 2) & !1;
    for damaged in [
        good[..half].to_vec(),
        b"garbage\r\nnot a registry file\r\n".to_vec(),
    ] {
        let import = wine.reg(here, &["import", "fix.reg"]);
        assert_eq!(import.code, Some(0), "{}", import.output);
        std::fs::write(&saved, &damaged).expect("damage");
        let r = wine.cmd(here, "restore.cmd", &[]);
        assert_ne!(r.code, Some(0), "{}", r.output);
        assert!(r.output.contains("S-1-5-18: FAILED"), "{}", r.output);
        assert!(r.output.contains("Restore FAILED"), "{}", r.output);
    }

    // 6. An unknown backup set changes nothing.
    let r = wine.cmd(here, "restore.cmd", &["no-such-set"]);
    assert_eq!(r.code, Some(1), "{}", r.output);
    assert!(
        r.output
            .contains("Backup set no-such-set is incomplete; nothing was changed"),
        "{}",
        r.output
    );

    // 7. Other characters cmd treats specially, in the folder name. (Not `%`: Wine's cmd
    // expands a `%` inside a variable's value again, which Windows does not.)
    let odd = dir.path().join("R&D fix (x86) !x;y'^");
    let out = BinCommand::cargo_bin("proxy-triage")
        .expect("binary")
        .current_dir(root())
        .args(["fix", "fixtures/uploads/contoso-dc01", "-q", "--out"])
        .arg(&odd)
        .output()
        .expect("fix");
    assert_eq!(out.status.code(), Some(0));
    let b = wine.cmd(&odd, "backup.cmd", &[]);
    assert_eq!(b.code, Some(0), "{}", b.output);
    assert!(b.output.contains("Backup done."), "{}", b.output);
    assert_eq!(wine.reg(&odd, &["import", "fix.reg"]).code, Some(0));
    let r = wine.cmd(&odd, "restore.cmd", &[]);
    assert_eq!(r.code, Some(0), "{}", r.output);
    assert!(r.output.contains("Restore done."), "{}", r.output);
    assert_eq!(wine.export(&odd, "S-1-5-19", "x-odd-19.reg"), before19);
}
