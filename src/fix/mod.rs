//! The documented remediation as files a customer's admin can run: `fix.reg` (regedit-identical,
//! both service accounts), `backup.cmd` / `restore.cmd`, and `README.txt`.
//!
//! Independent of the judgement layer: the caller describes the case in a plain
//! [`FixRequest`] (what the evidence showed per account, the current user's value, the other
//! errors) and [`plan`] either returns the files or a typed [`Refusal`].

use std::path::Path;

use serde::Serialize;

use crate::formats::reg_writer::{write_units, WriteKey, WriteValue, HEADER_V5};
use crate::proxy::{ProxyState, ProxyValue};
use crate::registry::{hex_lower, ValueType};

mod readme;
mod scripts;

/// Where the proxy blob lives under each account's hive.
pub const CONNECTIONS_SUBKEY: &str =
    "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";
/// The value the documented procedure copies.
pub const VALUE_NAME: &str = "DefaultConnectionSettings";
/// The version named in every file's marker line.
const VERSION: &str = env!("CARGO_PKG_VERSION");
pub use crate::own_files::is_own_file;
use crate::own_files::{MARKER_TAG, MARKER_TAIL};
/// Name of the file in which `backup.cmd` records its first backup set.
pub const FIRST_BACKUP_FILE: &str = "first-backup.txt";

/// A place in an upload: the file as named in the case, and a 1-based line when known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceRef {
    pub file: String,
    pub line: Option<u64>,
}

impl SourceRef {
    pub fn new(file: impl Into<String>, line: Option<u64>) -> SourceRef {
        SourceRef {
            file: file.into(),
            line: line.filter(|l| *l > 0),
        }
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}", self.file),
            None => write!(f, "{}", self.file),
        }
    }
}

/// The current user's full `DefaultConnectionSettings` as one upload shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserBlob {
    pub bytes: Vec<u8>,
    pub source: SourceRef,
}

/// The two accounts the sensor runs as; the fix writes both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceAccount {
    /// LOCAL SYSTEM, `S-1-5-18`: runs the updater (`AATPSensorUpdater`).
    LocalSystem,
    /// LOCAL SERVICE, `S-1-5-19`: runs the sensor service (`AATPSensor`).
    LocalService,
}

impl ServiceAccount {
    /// Both accounts, in the order the files list them.
    pub const BOTH: [ServiceAccount; 2] =
        [ServiceAccount::LocalSystem, ServiceAccount::LocalService];

    /// The SID key under `HKEY_USERS`.
    pub fn sid(self) -> &'static str {
        match self {
            ServiceAccount::LocalSystem => "S-1-5-18",
            ServiceAccount::LocalService => "S-1-5-19",
        }
    }

    /// The account's name as Windows shows it.
    pub fn name(self) -> &'static str {
        match self {
            ServiceAccount::LocalSystem => "LOCAL SYSTEM",
            ServiceAccount::LocalService => "LOCAL SERVICE",
        }
    }

    /// The sensor service that runs as this account.
    pub fn service(self) -> &'static str {
        match self {
            ServiceAccount::LocalSystem => "the updater (AATPSensorUpdater)",
            ServiceAccount::LocalService => "the sensor service (AATPSensor)",
        }
    }

    /// `HKU\<sid>\...\Connections`, the form `reg.exe` takes.
    pub fn short_key(self) -> String {
        format!("HKU\\{}\\{CONNECTIONS_SUBKEY}", self.sid())
    }

    /// `HKEY_USERS\<sid>\...\Connections`, the form a .reg file takes.
    pub fn full_key(self) -> String {
        format!("HKEY_USERS\\{}\\{CONNECTIONS_SUBKEY}", self.sid())
    }
}

/// What the uploads showed about one service account's value, compared with the current user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    /// No upload speaks of this account at all.
    NotUploaded,
    /// The value (or its key) is shown absent.
    Missing,
    /// The value differs from the current user's in a setting that matters.
    Differs,
    /// Byte-identical to the current user's value.
    Matches,
    /// Differs only in the change counter (or trailer): the same settings.
    Equivalent,
    /// Only a truncated view of the value was uploaded.
    Truncated,
    /// Uploads disagree about this account.
    Conflicting,
    /// Uploaded, but nothing could be learned (e.g. a capture without the value).
    Unknown,
}

impl Shown {
    /// One sentence for the README.
    pub fn describe(self) -> &'static str {
        match self {
            Shown::NotUploaded => "nothing was uploaded for this account",
            Shown::Missing => "the value does not exist (no proxy setting for this account)",
            Shown::Differs => "its value differs from the current user's",
            Shown::Matches => "its value is already identical to the current user's",
            Shown::Equivalent => {
                "its value already has the current user's settings (only the change counter differs)"
            }
            Shown::Truncated => "only a truncated view of its value was uploaded",
            Shown::Conflicting => "the uploads disagree about its value",
            Shown::Unknown => "the uploads do not show its value",
        }
    }

    /// Already what the fix would write (in effect): nothing to change for this account.
    fn already_done(self) -> bool {
        matches!(self, Shown::Matches | Shown::Equivalent)
    }
}

/// What the evidence showed about one service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvidence {
    pub account: ServiceAccount,
    pub shown: Shown,
    /// The uploads (and lines) behind `shown`; empty for [`Shown::NotUploaded`].
    pub evidence: Vec<SourceRef>,
}

/// An error finding of the case that copying the value does not fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherError {
    pub id: String,
    pub title: String,
    pub action: String,
}

/// Everything the fix needs to know about a judged case; filled by the caller from the case
/// layer, so this module depends on no judgement type.
#[derive(Debug, Clone, Default)]
pub struct FixRequest {
    /// The case name (shown in the README).
    pub case: String,
    /// The sensor endpoint (`<workspace>sensorapi.atp.azure.com`) when known.
    pub endpoint_host: Option<String>,
    /// The current user's full value the fix copies (the case's reference).
    pub user_blob: Option<UserBlob>,
    /// Other uploads whose current-user value has different settings than `user_blob`.
    pub user_conflict: Vec<UserBlob>,
    /// What the evidence showed for LOCAL SYSTEM and LOCAL SERVICE (a missing entry counts
    /// as [`Shown::NotUploaded`]).
    pub accounts: Vec<AccountEvidence>,
    /// Error findings the copy does not fix, each with its own action.
    pub other_errors: Vec<OtherError>,
    /// The sensor-level proxy from `SensorConfiguration.json` (redacted), when one is set.
    pub sensor_proxy: Option<String>,
    /// `ProxySettingsPerUser` = 0: every account reads the HKLM settings.
    pub machine_wide: bool,
    /// The evidence shows the current user goes direct (nothing to copy).
    pub current_user_direct: bool,
    /// `proxy-triage collect-script` exists in this build (the README points to it).
    pub collector_available: bool,
}

impl FixRequest {
    /// What the evidence showed for `account`.
    pub fn shown(&self, account: ServiceAccount) -> (Shown, &[SourceRef]) {
        self.accounts
            .iter()
            .find(|a| a.account == account)
            .map(|a| (a.shown, a.evidence.as_slice()))
            .unwrap_or((Shown::NotUploaded, &[]))
    }
}

/// One value the fix sets.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    #[serde(rename = "principal")]
    pub account: ServiceAccount,
    pub sid: &'static str,
    pub key: String,
    pub value: &'static str,
    /// What the evidence showed about the account before the fix.
    pub shown: Shown,
    /// The evidence about the account.
    pub evidence: Vec<SourceRef>,
    /// Where the bytes written come from (the current user's value).
    pub source: SourceRef,
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

impl FixFile {
    /// The content as text (fix.reg is UTF-16LE; the others are ASCII).
    pub fn text(&self) -> String {
        match self.bytes.strip_prefix(&[0xFF, 0xFE]) {
            Some(rest) => crate::own_files::utf16le(rest),
            None => String::from_utf8_lossy(&self.bytes).into_owned(),
        }
    }
}

/// The remediation for a case: the changes and the files that make them.
#[derive(Debug, Clone, Serialize)]
pub struct FixPlan {
    pub case: String,
    pub changes: Vec<Change>,
    pub files: Vec<FixFile>,
    /// The upload whose current-user value is copied.
    pub used: SourceRef,
    /// The other uploads that disagreed about the current user (empty when none did).
    pub conflict: Vec<SourceRef>,
}

/// Why no remediation is written. The command picks its exit code from the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the sensor has its own proxy in SensorConfiguration.json ({0}); both sensor services use it, so the registry copy would not change their route. Change it with Set-MDISensorProxyConfiguration or the sensor installer's ProxyUrl")]
    SensorProxy(String),
    #[error("ProxySettingsPerUser = 0: every account reads the HKLM proxy settings, so a per-user copy would have no effect. Change the machine-wide (HKLM) settings instead")]
    MachineWidePolicy,
    #[error(
        "the current user's own setting is direct (no proxy, no PAC): there is nothing to copy"
    )]
    CurrentUserDirect,
    #[error(
        "nothing to fix: LOCAL SYSTEM and LOCAL SERVICE already hold the current user's settings"
    )]
    NothingToFix,
    #[error("the current user's full DefaultConnectionSettings is not in the evidence (a not-found capture or a truncated PowerShell table does not contain it). Ask for `reg export \"HKCU\\{CONNECTIONS_SUBKEY}\" hkcu.reg`")]
    NoReferenceBlob,
    #[error("uploads disagree about the current user's DefaultConnectionSettings: {}; run again with --use FILE naming the one to copy", .files.join(" vs "))]
    UsersDisagree { files: Vec<String> },
    #[error("--use {path}: no such file")]
    UseNotFound { path: String },
    #[error("--use {path}: not one of the uploads holding the current user's DefaultConnectionSettings to choose from: {}", .candidates.join(", "))]
    UseNotACandidate {
        path: String,
        candidates: Vec<String>,
    },
}

/// Builds the remediation, or says why it must not be written. `use_file` (as typed by the
/// user) picks the upload to copy when uploads disagree about the current user.
pub fn plan(req: &FixRequest, use_file: Option<&Path>) -> Result<FixPlan, Refusal> {
    if let Some(url) = &req.sensor_proxy {
        return Err(Refusal::SensorProxy(url.clone()));
    }
    if req.machine_wide {
        return Err(Refusal::MachineWidePolicy);
    }
    let Some(reference) = &req.user_blob else {
        return Err(if req.current_user_direct {
            Refusal::CurrentUserDirect
        } else {
            Refusal::NoReferenceBlob
        });
    };
    let candidates: Vec<&UserBlob> = std::iter::once(reference)
        .chain(req.user_conflict.iter())
        .collect();
    let chosen: &UserBlob = match use_file {
        Some(path) => match candidates.iter().find(|c| same_file(path, &c.source.file)) {
            Some(c) => c,
            None if !path.exists() => {
                return Err(Refusal::UseNotFound {
                    path: crate::input::display_name(path),
                })
            }
            None => {
                return Err(Refusal::UseNotACandidate {
                    path: crate::input::display_name(path),
                    candidates: distinct_files(&candidates),
                })
            }
        },
        None if !req.user_conflict.is_empty() => {
            return Err(Refusal::UsersDisagree {
                files: distinct_files(&candidates),
            })
        }
        None => reference,
    };
    let decoded = ProxyValue::decode(&chosen.bytes, Some(VALUE_NAME));
    if decoded.error().is_some() {
        return Err(Refusal::NoReferenceBlob);
    }
    if decoded.effective().state(true) == ProxyState::Direct
        || (req.current_user_direct && chosen == reference)
    {
        return Err(Refusal::CurrentUserDirect);
    }
    if chosen == reference
        && ServiceAccount::BOTH
            .iter()
            .all(|a| req.shown(*a).0.already_done())
    {
        return Err(Refusal::NothingToFix);
    }
    let conflict: Vec<SourceRef> = candidates
        .iter()
        .filter(|c| c.source != chosen.source)
        .map(|c| c.source.clone())
        .collect();
    let changes: Vec<Change> = ServiceAccount::BOTH
        .iter()
        .map(|&account| {
            let (shown, evidence) = req.shown(account);
            Change {
                account,
                sid: account.sid(),
                key: account.full_key(),
                value: VALUE_NAME,
                shown,
                evidence: evidence.to_vec(),
                source: chosen.source.clone(),
                data_hex: hex_lower(&chosen.bytes),
            }
        })
        .collect();
    let context = readme::Context {
        req,
        chosen,
        conflict: &conflict,
        effective: decoded.effective(),
    };
    let files = vec![
        file("fix.reg", fix_reg(&chosen.bytes)),
        file("backup.cmd", crlf(&scripts::backup_cmd(&chosen.bytes))),
        file("restore.cmd", crlf(&scripts::restore_cmd())),
        file("README.txt", crlf(&readme::readme(&context))),
    ];
    Ok(FixPlan {
        case: req.case.clone(),
        changes,
        files,
        used: chosen.source.clone(),
        conflict,
    })
}

/// The distinct file names of the candidates, in order.
fn distinct_files(candidates: &[&UserBlob]) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for c in candidates {
        if !files.contains(&c.source.file) {
            files.push(c.source.file.clone());
        }
    }
    files
}

/// True when `typed` (a path as the user typed it) names the upload `recorded` (the name the
/// case gave it: the path as given, or `archive.zip!entry`): equal as typed, or equal after
/// canonicalising both (the archive part only, for entries).
pub fn same_file(typed: &Path, recorded: &str) -> bool {
    let typed_text = typed.to_string_lossy();
    if typed_text == recorded {
        return true;
    }
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    match (recorded.split_once('!'), typed_text.split_once('!')) {
        (Some((archive, entry)), Some((t_archive, t_entry))) => {
            entry == t_entry
                && canon(Path::new(archive)).is_some()
                && canon(Path::new(archive)) == canon(Path::new(t_archive))
        }
        (None, None) => canon(Path::new(recorded)).is_some_and(|r| Some(r) == canon(typed)),
        _ => false,
    }
}

/// `fix.reg`: regedit's own layout, with the marker comment right after the header line.
fn fix_reg(blob: &[u8]) -> Vec<u8> {
    let keys: Vec<WriteKey> = ServiceAccount::BOTH
        .iter()
        .map(|a| WriteKey {
            path: a.full_key(),
            values: vec![WriteValue {
                name: VALUE_NAME.to_string(),
                value_type: ValueType::BINARY,
                bytes: blob.to_vec(),
            }],
        })
        .collect();
    let units = write_units(&keys);
    let header_len = HEADER_V5.encode_utf16().count() + 2;
    let marker = format!("{}\r\n", marker_line(";", "fix.reg"));
    let mut bytes = Vec::with_capacity(units.len() * 2 + marker.len() * 2 + 2);
    bytes.extend_from_slice(&[0xFF, 0xFE]);
    let (head, rest) = units.split_at(header_len.min(units.len()));
    for u in head
        .iter()
        .copied()
        .chain(marker.encode_utf16())
        .chain(rest.iter().copied())
    {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    bytes
}

/// The marker line of one file: `<comment> written by proxy-triage fix X.Y.Z (<name>) - not
/// customer evidence`.
fn marker_line(comment: &str, name: &str) -> String {
    format!("{comment} {MARKER_TAG}{VERSION} ({name}) - {MARKER_TAIL}")
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn request() -> FixRequest {
        FixRequest {
            case: "dc01".into(),
            user_blob: Some(UserBlob {
                bytes: blob(5, 3, "proxy:8080"),
                source: SourceRef::new("case/hkcu.reg", Some(4)),
            }),
            accounts: vec![AccountEvidence {
                account: ServiceAccount::LocalSystem,
                shown: Shown::Missing,
                evidence: vec![SourceRef::new("case/compare.txt", Some(2))],
            }],
            ..FixRequest::default()
        }
    }

    #[test]
    fn writes_both_accounts_even_when_only_one_was_uploaded() {
        let p = plan(&request(), None).expect("plan");
        let sids: Vec<&str> = p.changes.iter().map(|c| c.sid).collect();
        assert_eq!(sids, ["S-1-5-18", "S-1-5-19"]);
        assert_eq!(p.changes[1].shown, Shown::NotUploaded);
        let reg = p.files[0].text();
        let lines: Vec<&str> = reg.split("\r\n").collect();
        assert_eq!(lines[0], HEADER_V5);
        assert!(
            lines[1].starts_with("; written by proxy-triage fix "),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "");
        assert_eq!(
            lines[3],
            format!("[HKEY_USERS\\S-1-5-18\\{CONNECTIONS_SUBKEY}]")
        );
        assert!(!reg.contains("=-"), "deletes nothing");
        assert!(!reg.contains("[-"), "deletes no key");
        assert_eq!(reg.matches("\"DefaultConnectionSettings\"=hex:").count(), 2);
    }

    #[test]
    fn refusals_in_order() {
        let mut r = request();
        r.sensor_proxy = Some("http://p:1".into());
        assert!(matches!(plan(&r, None), Err(Refusal::SensorProxy(_))));
        let mut r = request();
        r.machine_wide = true;
        assert_eq!(plan(&r, None).err(), Some(Refusal::MachineWidePolicy));
        let mut r = request();
        r.user_blob = None;
        assert_eq!(plan(&r, None).err(), Some(Refusal::NoReferenceBlob));
        r.current_user_direct = true;
        assert_eq!(plan(&r, None).err(), Some(Refusal::CurrentUserDirect));
        let mut r = request();
        if let Some(u) = r.user_blob.as_mut() {
            u.bytes = blob(5, 1, "");
        }
        assert_eq!(plan(&r, None).err(), Some(Refusal::CurrentUserDirect));
        let mut r = request();
        if let Some(u) = r.user_blob.as_mut() {
            u.bytes.truncate(20);
        }
        assert_eq!(plan(&r, None).err(), Some(Refusal::NoReferenceBlob));
        let mut r = request();
        r.accounts = ServiceAccount::BOTH
            .iter()
            .map(|&account| AccountEvidence {
                account,
                shown: Shown::Equivalent,
                evidence: vec![],
            })
            .collect();
        assert_eq!(plan(&r, None).err(), Some(Refusal::NothingToFix));
    }

    #[test]
    fn disagreeing_uploads_need_use_and_the_refusal_names_both() {
        let mut r = request();
        r.user_conflict = vec![UserBlob {
            bytes: blob(9, 3, "other:3128"),
            source: SourceRef::new("case/old/hkcu.reg", Some(7)),
        }];
        let e = plan(&r, None).expect_err("refused");
        assert_eq!(
            e,
            Refusal::UsersDisagree {
                files: vec!["case/hkcu.reg".into(), "case/old/hkcu.reg".into()]
            }
        );
        assert!(e.to_string().contains("case/hkcu.reg vs case/old/hkcu.reg"));
        let p = plan(&r, Some(Path::new("case/old/hkcu.reg"))).expect("picked");
        assert_eq!(p.used.file, "case/old/hkcu.reg");
        assert_eq!(p.conflict, vec![SourceRef::new("case/hkcu.reg", Some(4))]);
        assert!(
            p.files[0].text().contains("6f,74,68,65,72"),
            "other's bytes"
        );
        assert!(matches!(
            plan(&r, Some(Path::new("no/such/file.reg"))),
            Err(Refusal::UseNotFound { .. })
        ));
        assert!(matches!(
            plan(&r, Some(Path::new("Cargo.toml"))),
            Err(Refusal::UseNotACandidate { .. })
        ));
    }

    #[test]
    fn use_matches_after_canonicalising() {
        assert!(same_file(Path::new("./Cargo.toml"), "Cargo.toml"));
        assert!(same_file(Path::new("src/../Cargo.toml"), "./Cargo.toml"));
        assert!(!same_file(Path::new("src/lib.rs"), "Cargo.toml"));
        assert!(same_file(
            Path::new("./Cargo.toml!a/b.reg"),
            "Cargo.toml!a/b.reg"
        ));
        assert!(!same_file(
            Path::new("./Cargo.toml!a/c.reg"),
            "Cargo.toml!a/b.reg"
        ));
        assert!(!same_file(Path::new("missing.reg"), "other-missing.reg"));
    }

    #[test]
    fn own_files_are_recognised_by_their_marker() {
        let p = plan(&request(), None).expect("plan");
        for f in &p.files {
            let reason = is_own_file(f.name, &f.bytes[..f.bytes.len().min(400)]);
            let reason = reason.unwrap_or_else(|| panic!("{} not recognised", f.name));
            assert!(reason.contains(f.name), "{reason}");
        }
        assert_eq!(
            is_own_file(
                "hkcu.reg",
                b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\x]\r\n"
            ),
            None
        );
        // The tag alone, in customer text, is not enough.
        assert_eq!(
            is_own_file("notes.txt", b"this was written by proxy-triage fix\r\n"),
            None
        );
    }
}
