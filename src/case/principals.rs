//! Which account a piece of evidence speaks of: from key paths, and as a last resort from the
//! upload's file name.

use serde::Serialize;

use crate::registry::{KeyPath, Root};

/// An account (or machine-level setting) whose proxy configuration matters to the sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// HKEY_CURRENT_USER or a user hive `HKEY_USERS\S-1-5-21-…`: the reference the procedure copies.
    CurrentUser,
    /// LOCAL SYSTEM: `HKEY_USERS\S-1-5-18` and `HKEY_USERS\.DEFAULT` (the same hive); runs the updater.
    LocalSystem,
    /// LOCAL SERVICE: `HKEY_USERS\S-1-5-19`; runs the sensor service.
    LocalService,
    /// NETWORK SERVICE: `HKEY_USERS\S-1-5-20`; reported when named, never judged.
    NetworkService,
    /// HKEY_LOCAL_MACHINE Internet Settings and the `ProxySettingsPerUser` policy.
    Machine,
    /// WinHTTP (`WinHttpSettings`, `netsh winhttp`).
    Winhttp,
    /// The sensor's own proxy from `SensorConfiguration.json`.
    Sensor,
}

impl Principal {
    /// The JSON key of the principal.
    pub fn key(self) -> &'static str {
        match self {
            Principal::CurrentUser => "current_user",
            Principal::LocalSystem => "local_system",
            Principal::LocalService => "local_service",
            Principal::NetworkService => "network_service",
            Principal::Machine => "machine",
            Principal::Winhttp => "winhttp",
            Principal::Sensor => "sensor",
        }
    }

    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            Principal::CurrentUser => "Current user",
            Principal::LocalSystem => "LOCAL SYSTEM (S-1-5-18)",
            Principal::LocalService => "LOCAL SERVICE (S-1-5-19)",
            Principal::NetworkService => "NETWORK SERVICE (S-1-5-20)",
            Principal::Machine => "Machine (HKLM)",
            Principal::Winhttp => "WinHTTP",
            Principal::Sensor => "Sensor config",
        }
    }

    /// The SID key under HKEY_USERS of the built-in service accounts.
    pub fn sid(self) -> Option<&'static str> {
        match self {
            Principal::LocalSystem => Some("S-1-5-18"),
            Principal::LocalService => Some("S-1-5-19"),
            Principal::NetworkService => Some("S-1-5-20"),
            _ => None,
        }
    }

    /// The accounts the sensor runs as: the service (LOCAL SERVICE) and its updater (LOCAL SYSTEM).
    pub fn is_sensor_account(self) -> bool {
        matches!(self, Principal::LocalSystem | Principal::LocalService)
    }

    /// Every principal in report order.
    pub const ALL: [Principal; 7] = [
        Principal::CurrentUser,
        Principal::LocalSystem,
        Principal::LocalService,
        Principal::NetworkService,
        Principal::Machine,
        Principal::Winhttp,
        Principal::Sensor,
    ];

    /// The principal of a JSON key (`local_service`, ...).
    pub fn from_key(key: &str) -> Option<Principal> {
        Principal::ALL.into_iter().find(|p| p.key() == key)
    }
}

/// How a piece of evidence was tied to its account, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attribution {
    /// The capture's own command line, or the key paths inside it.
    Content,
    /// The collector's manifest names the account.
    Manifest,
    /// The folder layout of a collection (`ServiceProfiles/LocalService/NTUSER.DAT`, ...).
    Path,
    /// Whole tokens of the file name only: an assumption, shown as such.
    FileName,
}

impl Attribution {
    /// The attribution is an assumption the report must show as such.
    pub fn is_assumption(self) -> bool {
        self == Attribution::FileName
    }
}

/// The account a registry key belongs to, plus the user SID when it is a user hive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub principal: Principal,
    /// `S-1-5-21-…` for a user hive under HKEY_USERS, or `HKEY_CURRENT_USER`.
    pub user: Option<String>,
}

/// Resolves the account of a full key path (root spelled out or abbreviated).
pub fn owner_of_key(path: &str) -> Option<KeyOwner> {
    let key = KeyPath::parse(path)?;
    match key.root {
        Root::CurrentUser => Some(KeyOwner {
            principal: Principal::CurrentUser,
            user: Some("HKEY_CURRENT_USER".to_string()),
        }),
        // WinHttpSettings under HKLM is told apart by its value name, not its key.
        Root::LocalMachine => Some(KeyOwner {
            principal: Principal::Machine,
            user: None,
        }),
        Root::Users => {
            let first = key.subkey.split('\\').next().unwrap_or("");
            let upper = first.to_ascii_uppercase();
            let principal = match upper.as_str() {
                "S-1-5-18" | ".DEFAULT" => Principal::LocalSystem,
                "S-1-5-19" => Principal::LocalService,
                "S-1-5-20" => Principal::NetworkService,
                _ if upper.starts_with("S-1-5-21-") && !upper.ends_with("_CLASSES") => {
                    return Some(KeyOwner {
                        principal: Principal::CurrentUser,
                        user: Some(first.to_string()),
                    })
                }
                _ => return None,
            };
            Some(KeyOwner {
                principal,
                user: None,
            })
        }
        _ => None,
    }
}

/// The service account named by an upload's file name, when its content does not say (a
/// redirected not-found error). Whole tokens only: the name is split at every character that
/// is not a letter or digit; `S-1-5-18`/`19`/`20` also count written with `-` or `_`. Digits
/// inside a longer number or word (`INC0011519`, `2411151800`) never count.
pub fn principal_from_file_name(name: &str) -> Option<Principal> {
    // Only the last path component (and inside archives, the entry's own name) counts.
    let base = name
        .rsplit(['/', '\\', '!'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    let tokens: Vec<&str> = base
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let mut found: Vec<Principal> = Vec::new();
    let mut note = |p: Principal| {
        if !found.contains(&p) {
            found.push(p);
        }
    };
    // `s-1-5-18` is four tokens: s, 1, 5, 18.
    for w in tokens.windows(4) {
        if let [s, one, five, rid] = w {
            if *s == "s" && *one == "1" && *five == "5" {
                match *rid {
                    "18" => note(Principal::LocalSystem),
                    "19" => note(Principal::LocalService),
                    "20" => note(Principal::NetworkService),
                    _ => {}
                }
            }
        }
    }
    for t in &tokens {
        match *t {
            "1518" | "system" | "localsystem" | "s1518" => note(Principal::LocalSystem),
            "1519" | "service" | "localservice" | "s1519" => note(Principal::LocalService),
            "1520" | "networkservice" => note(Principal::NetworkService),
            _ => {}
        }
    }
    match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_resolve_to_accounts() {
        let p = |s: &str| owner_of_key(s).map(|o| o.principal);
        assert_eq!(
            p("HKEY_CURRENT_USER\\Software"),
            Some(Principal::CurrentUser)
        );
        assert_eq!(p("HKCU\\Software"), Some(Principal::CurrentUser));
        assert_eq!(
            p("HKEY_USERS\\S-1-5-18\\Software"),
            Some(Principal::LocalSystem)
        );
        assert_eq!(
            p("HKEY_USERS\\.DEFAULT\\Software"),
            Some(Principal::LocalSystem)
        );
        assert_eq!(p("HKU\\s-1-5-19\\Software"), Some(Principal::LocalService));
        assert_eq!(
            p("HKEY_USERS\\S-1-5-20\\Software"),
            Some(Principal::NetworkService)
        );
        assert_eq!(p("HKEY_USERS\\S-1-5-21-1-2-3-1001_Classes\\x"), None);
        assert_eq!(p("HKEY_LOCAL_MACHINE\\SOFTWARE"), Some(Principal::Machine));
        let u = owner_of_key("HKEY_USERS\\S-1-5-21-1-2-3-1001\\Software").unwrap();
        assert_eq!(
            (u.principal, u.user.as_deref()),
            (Principal::CurrentUser, Some("S-1-5-21-1-2-3-1001"))
        );
    }

    #[test]
    fn file_name_fallback() {
        assert_eq!(
            principal_from_file_name("case/compare_S-1-5-18.txt"),
            Some(Principal::LocalSystem)
        );
        assert_eq!(
            principal_from_file_name("cmp-1518.txt"),
            Some(Principal::LocalSystem)
        );
        assert_eq!(
            principal_from_file_name("compare_S_1_5_19.txt"),
            Some(Principal::LocalService)
        );
        // Digits inside longer numbers or words never count.
        assert_eq!(principal_from_file_name("INC0011519.txt"), None);
        assert_eq!(principal_from_file_name("case-2411151800.txt"), None);
        assert_eq!(principal_from_file_name("cmp1518.txt"), None);
        assert_eq!(
            principal_from_file_name("ticket-1518-notes.txt"),
            Some(Principal::LocalSystem)
        );
        assert_eq!(principal_from_file_name("systeminfo.txt"), None);
        assert_eq!(
            principal_from_file_name("LocalService.txt"),
            Some(Principal::LocalService)
        );
        assert_eq!(
            principal_from_file_name("x.zip!reg-1519.log"),
            Some(Principal::LocalService)
        );
        assert_eq!(principal_from_file_name("compare.txt"), None);
        // Both named: ambiguous, never guessed.
        assert_eq!(principal_from_file_name("system-and-service.txt"), None);
    }
}
