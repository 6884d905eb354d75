//! Whose hive a file is: attribution by collection path, embedded name, then whole tokens of
//! the file name; and pairing of `NAME.LOG1`/`NAME.LOG2` with their hive.

use serde::Serialize;

use crate::registry::Root;

/// The account (or machine hive) a hive file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "account")]
pub enum HiveAccount {
    /// `config\DEFAULT`, mounted as `HKEY_USERS\S-1-5-18` (and `.DEFAULT`).
    LocalSystem,
    /// `ServiceProfiles\LocalService\NTUSER.DAT` (`S-1-5-19`).
    LocalService,
    /// `ServiceProfiles\NetworkService\NTUSER.DAT` (`S-1-5-20`).
    NetworkService,
    /// `Users\<name>\NTUSER.DAT`: a user's own hive.
    User { name: String },
    /// `config\SOFTWARE`, mounted as `HKEY_LOCAL_MACHINE\SOFTWARE`.
    Software,
}

impl HiveAccount {
    /// The contract's principal name.
    pub fn principal(&self) -> &'static str {
        match self {
            HiveAccount::LocalSystem => "local_system",
            HiveAccount::LocalService => "local_service",
            HiveAccount::NetworkService => "network_service",
            HiveAccount::User { .. } => "current_user",
            HiveAccount::Software => "machine",
        }
    }

    /// The key the hive's root is mounted at, as a `.reg` export spells it.
    pub fn mount_point(&self) -> (Root, &'static str) {
        match self {
            HiveAccount::LocalSystem => (Root::Users, "S-1-5-18"),
            HiveAccount::LocalService => (Root::Users, "S-1-5-19"),
            HiveAccount::NetworkService => (Root::Users, "S-1-5-20"),
            // A user's hive is what that user sees as HKEY_CURRENT_USER.
            HiveAccount::User { .. } => (Root::CurrentUser, ""),
            HiveAccount::Software => (Root::LocalMachine, "SOFTWARE"),
        }
    }

    /// `HKEY_USERS\S-1-5-19`, `HKEY_LOCAL_MACHINE\SOFTWARE`, `HKEY_CURRENT_USER`.
    pub fn root_path(&self) -> String {
        match self.mount_point() {
            (root, "") => root.full_name().to_string(),
            (root, sub) => format!("{}\\{sub}", root.full_name()),
        }
    }
}

/// How the account was found (the contract's `attribution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributedBy {
    /// The collection's folder layout.
    Path,
    /// The name stored in the base block.
    EmbeddedName,
    /// Whole tokens of the file name (an assumption).
    FileName,
}

/// Why a copy is not the live hive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaleCopy {
    /// `config\RegBack\` (the periodic backup).
    RegBack,
    /// `Windows.old\` (the previous installation).
    WindowsOld,
    /// A volume shadow copy.
    ShadowCopy,
}

/// Where a hive mounts, how that was decided, and whether it is a stale copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiveMount {
    /// `None`: unattributed (never guessed).
    pub account: Option<HiveAccount>,
    pub attribution: Option<AttributedBy>,
    pub stale: Option<StaleCopy>,
}

impl HiveMount {
    /// The full path of a key given relative to the hive root, when the mount is known.
    pub fn full_path(&self, relative: &str) -> Option<String> {
        let root = self.account.as_ref()?.root_path();
        Some(if relative.is_empty() {
            root
        } else {
            format!("{root}\\{relative}")
        })
    }
}

/// Percent-decodes a collector path (`C%3A/Windows/...`), leaving bad escapes as they are.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = |k: usize| b.get(k).and_then(|h| (*h as char).to_digit(16));
        if c == b'%' {
            if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Path components as written, split at `/`, `\\` and the `!` of archive members.
fn components(path: &str) -> Vec<String> {
    url_decode(path)
        .split(['/', '\\', '!'])
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// The account from a folder layout (KAPE, Velociraptor, a plain copy of `C:\`).
fn from_layout(parts: &[String]) -> Option<HiveAccount> {
    let n = parts.len();
    let at = |k: usize| n.checked_sub(k + 1).and_then(|i| parts.get(i));
    let lower = |k: usize| at(k).map(|s| s.to_ascii_lowercase());
    let (file, parent, grand) = (lower(0)?, lower(1), lower(2));
    match (grand.as_deref(), parent.as_deref(), file.as_str()) {
        (_, Some("config" | "regback"), "default") => Some(HiveAccount::LocalSystem),
        (_, Some("config" | "regback"), "software") => Some(HiveAccount::Software),
        (Some("serviceprofiles"), Some("localservice"), "ntuser.dat") => {
            Some(HiveAccount::LocalService)
        }
        (Some("serviceprofiles"), Some("networkservice"), "ntuser.dat") => {
            Some(HiveAccount::NetworkService)
        }
        (Some("users" | "documents and settings"), Some(_), "ntuser.dat") => {
            Some(HiveAccount::User {
                name: at(1).cloned().unwrap_or_default(),
            })
        }
        _ => None,
    }
}

/// The account from the name embedded in the base block (last 31 characters of the path).
fn from_embedded(name: &str) -> Option<HiveAccount> {
    let lower = name.to_ascii_lowercase().replace('/', "\\");
    if lower.ends_with("\\localservice\\ntuser.dat") {
        Some(HiveAccount::LocalService)
    } else if lower.ends_with("\\networkservice\\ntuser.dat") {
        Some(HiveAccount::NetworkService)
    } else if lower.ends_with("config\\default") {
        Some(HiveAccount::LocalSystem)
    } else if lower.ends_with("config\\software") {
        Some(HiveAccount::Software)
    } else {
        None
    }
}

/// The account from whole tokens of the file name (split at every non-alphanumeric).
fn from_file_name(file: &str) -> Option<HiveAccount> {
    let tokens: Vec<String> = file
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut found: Option<HiveAccount> = None;
    let note = |a: HiveAccount, found: &mut Option<HiveAccount>| -> bool {
        match found {
            Some(f) if *f != a => false, // two accounts named: ambiguous
            _ => {
                *found = Some(a);
                true
            }
        }
    };
    let mut i = 0;
    while let Some(t) = tokens.get(i) {
        // S-1-5-18 written with `-` or `_` splits into s, 1, 5, 18.
        let sid = (t == "s"
            && tokens.get(i + 1).map(String::as_str) == Some("1")
            && tokens.get(i + 2).map(String::as_str) == Some("5"))
        .then(|| tokens.get(i + 3).map(String::as_str))
        .flatten();
        let account = match (sid, t.as_str()) {
            (Some("18"), _) => Some(HiveAccount::LocalSystem),
            (Some("19"), _) => Some(HiveAccount::LocalService),
            (Some("20"), _) => Some(HiveAccount::NetworkService),
            (_, "1518" | "system" | "localsystem" | "default") => Some(HiveAccount::LocalSystem),
            (_, "1519" | "service" | "localservice") => Some(HiveAccount::LocalService),
            (_, "1520" | "networkservice") => Some(HiveAccount::NetworkService),
            (_, "software") => Some(HiveAccount::Software),
            _ => None,
        };
        if let Some(a) = account {
            if !note(a, &mut found) {
                return None;
            }
        }
        i += if sid.is_some() { 4 } else { 1 };
    }
    found
}

/// A stale copy marker anywhere in the path.
fn stale(parts: &[String]) -> Option<StaleCopy> {
    parts.iter().find_map(|p| {
        let p = p.to_ascii_lowercase();
        if p == "regback" {
            Some(StaleCopy::RegBack)
        } else if p == "windows.old" {
            Some(StaleCopy::WindowsOld)
        } else if p.contains("shadowcopy") || p.starts_with("vss") || p.contains("volume shadow") {
            Some(StaleCopy::ShadowCopy)
        } else {
            None
        }
    })
}

/// Attributes a hive: the collection path (URL-decoded), then the embedded name, then whole
/// tokens of the file name; otherwise unattributed.
pub fn mount_from_path(path: &str, embedded_name: &str) -> HiveMount {
    let parts = components(path);
    let stale = stale(&parts);
    let (account, attribution) = if let Some(a) = from_layout(&parts) {
        (Some(a), Some(AttributedBy::Path))
    } else if let Some(a) = from_embedded(embedded_name) {
        (Some(a), Some(AttributedBy::EmbeddedName))
    } else if let Some(a) = parts.last().and_then(|f| from_file_name(f)) {
        (Some(a), Some(AttributedBy::FileName))
    } else {
        (None, None)
    };
    HiveMount {
        account,
        attribution,
        stale,
    }
}

/// What a `regf` file is, from its file type and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HiveFileRole {
    /// A primary hive.
    Hive,
    /// `NAME.LOG1`/`NAME.LOG2` (or any log by file type): the index of its hive in the list
    /// given to [`pair_logs`], `None` when that hive is not among the files.
    Log { hive: Option<usize> },
    /// Not a registry file.
    Other,
}

/// Tells, for files given as `(path, first bytes)`, which are hives and which are the
/// transaction logs of which hive (a log beside `NAME` is `NAME.LOG1`/`NAME.LOG2`, any case;
/// logs also start with `regf`, with file type 1, 2 or 6).
pub fn pair_logs(files: &[(&str, &[u8])]) -> Vec<HiveFileRole> {
    let key = |p: &str| url_decode(p).replace('\\', "/").to_ascii_lowercase();
    files
        .iter()
        .map(|(path, head)| {
            if head.get(..4) != Some(b"regf".as_slice()) {
                return HiveFileRole::Other;
            }
            let ftype = super::le_u32(head, 28).unwrap_or(0);
            let lower = key(path);
            let stem = [".log1", ".log2", ".log"]
                .iter()
                .find_map(|ext| lower.strip_suffix(ext));
            if ftype == 0 && stem.is_none() {
                return HiveFileRole::Hive;
            }
            let hive = stem.and_then(|stem| {
                files
                    .iter()
                    .position(|(p, h)| key(p) == stem && super::le_u32(h, 28) == Some(0))
            });
            HiveFileRole::Log { hive }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(path: &str, embedded: &str) -> (Option<HiveAccount>, Option<AttributedBy>) {
        let m = mount_from_path(path, embedded);
        (m.account, m.attribution)
    }

    #[test]
    fn collection_layouts() {
        use AttributedBy::*;
        use HiveAccount::*;
        assert_eq!(
            who("kape/C/Windows/System32/config/DEFAULT", ""),
            (Some(LocalSystem), Some(Path))
        );
        assert_eq!(
            who(
                "uploads/auto/C%3A/Windows/ServiceProfiles/LocalService/NTUSER.DAT",
                ""
            ),
            (Some(LocalService), Some(Path))
        );
        assert_eq!(
            who(
                "case.zip!C\\Windows\\ServiceProfiles\\NetworkService\\NTUSER.DAT",
                ""
            ),
            (Some(NetworkService), Some(Path))
        );
        assert_eq!(
            who("x/Windows/System32/config/SOFTWARE", ""),
            (Some(Software), Some(Path))
        );
        assert_eq!(
            who("x/C/Users/jdoe/NTUSER.DAT", ""),
            (
                Some(User {
                    name: "jdoe".into()
                }),
                Some(Path)
            )
        );
        let m = mount_from_path("C/Windows/System32/config/RegBack/DEFAULT", "");
        assert_eq!(
            (m.account, m.stale),
            (Some(LocalSystem), Some(StaleCopy::RegBack))
        );
        let m = mount_from_path("Windows.old/Windows/System32/config/DEFAULT", "");
        assert_eq!(m.stale, Some(StaleCopy::WindowsOld));
        let m = mount_from_path(
            "HarddiskVolumeShadowCopy3/Windows/System32/config/DEFAULT",
            "",
        );
        assert_eq!(m.stale, Some(StaleCopy::ShadowCopy));
    }

    #[test]
    fn embedded_name_then_file_name() {
        use AttributedBy::*;
        use HiveAccount::*;
        assert_eq!(
            who("upload/NTUSER.DAT", "rofiles\\LocalService\\NTUSER.DAT"),
            (Some(LocalService), Some(EmbeddedName))
        );
        assert_eq!(
            who("upload/hive.bin", "temRoot\\System32\\Config\\DEFAULT"),
            (Some(LocalSystem), Some(EmbeddedName))
        );
        assert_eq!(who("S-1-5-18.hiv", ""), (Some(LocalSystem), Some(FileName)));
        assert_eq!(
            who("hku_S_1_5_19.hiv", ""),
            (Some(LocalService), Some(FileName))
        );
        assert_eq!(
            who("reg-1519.hiv", ""),
            (Some(LocalService), Some(FileName))
        );
        assert_eq!(who("system.hiv", ""), (Some(LocalSystem), Some(FileName)));
        assert_eq!(
            who("localservice.dat", ""),
            (Some(LocalService), Some(FileName))
        );
        // Digits inside a longer number or word never count.
        assert_eq!(who("INC0011519.hiv", ""), (None, None));
        assert_eq!(who("2411151800.hiv", ""), (None, None));
        assert_eq!(who("systemsettings.hiv", ""), (None, None));
        assert_eq!(who("NTUSER.DAT", ""), (None, None));
        // Two accounts named: unattributed, never guessed.
        assert_eq!(who("1518-1519.hiv", ""), (None, None));
    }

    #[test]
    fn full_paths() {
        let m = mount_from_path("C/Windows/ServiceProfiles/LocalService/NTUSER.DAT", "");
        assert_eq!(
            m.full_path("Software\\Microsoft").as_deref(),
            Some("HKEY_USERS\\S-1-5-19\\Software\\Microsoft")
        );
        let m = mount_from_path("C/Windows/System32/config/SOFTWARE", "");
        assert_eq!(
            m.full_path("").as_deref(),
            Some("HKEY_LOCAL_MACHINE\\SOFTWARE")
        );
        assert_eq!(mount_from_path("x.bin", "").full_path("a"), None);
    }

    #[test]
    fn logs_pair_with_their_hive() {
        let mut hive = vec![0u8; 512];
        hive[..4].copy_from_slice(b"regf");
        let mut log = hive.clone();
        log[28] = 6;
        let files: [(&str, &[u8]); 5] = [
            ("c/config/DEFAULT", &hive),
            ("c/config/DEFAULT.LOG1", &log),
            ("c/config/default.log2", &log),
            ("c/config/SOFTWARE.LOG1", &log),
            ("c/config/notes.txt", b"hello"),
        ];
        assert_eq!(
            pair_logs(&files),
            vec![
                HiveFileRole::Hive,
                HiveFileRole::Log { hive: Some(0) },
                HiveFileRole::Log { hive: Some(0) },
                HiveFileRole::Log { hive: None },
                HiveFileRole::Other,
            ]
        );
    }
}
