//! Which account a piece of evidence speaks of: from key paths, and as a last resort from the
//! upload's file name.

use serde::Serialize;

use crate::registry::{KeyPath, Root};

/// An account (or machine-level setting) whose proxy configuration matters to the sensor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// HKEY_CURRENT_USER or a user hive `HKEY_USERS\S-1-5-21-…`: the reference the procedure copies.
    CurrentUser,
    /// LOCAL SYSTEM: `HKEY_USERS\S-1-5-18` and `HKEY_USERS\.DEFAULT` (the same hive); runs the updater.
    LocalSystem,
    /// LOCAL SERVICE: `HKEY_USERS\S-1-5-19`.
    LocalService,
    /// HKEY_LOCAL_MACHINE Internet Settings and the `ProxySettingsPerUser` policy.
    Machine,
    /// WinHTTP (`WinHttpSettings`, `netsh winhttp`).
    Winhttp,
    /// The sensor's own proxy from `SensorConfiguration.json`.
    Sensor,
}

impl Principal {
    /// The JSON key of the principal.
    pub fn key(&self) -> &'static str {
        match self {
            Principal::CurrentUser => "current_user",
            Principal::LocalSystem => "local_system",
            Principal::LocalService => "local_service",
            Principal::Machine => "machine",
            Principal::Winhttp => "winhttp",
            Principal::Sensor => "sensor",
        }
    }

    /// A short human label.
    pub fn label(&self) -> &'static str {
        match self {
            Principal::CurrentUser => "Current user",
            Principal::LocalSystem => "LOCAL SYSTEM (S-1-5-18)",
            Principal::LocalService => "LOCAL SERVICE (S-1-5-19)",
            Principal::Machine => "Machine (HKLM)",
            Principal::Winhttp => "WinHTTP",
            Principal::Sensor => "Sensor config",
        }
    }

    /// The SID key under HKEY_USERS for the service accounts the fix writes.
    pub fn sid(&self) -> Option<&'static str> {
        match self {
            Principal::LocalSystem => Some("S-1-5-18"),
            Principal::LocalService => Some("S-1-5-19"),
            _ => None,
        }
    }

    /// Every principal in report order.
    pub const ALL: [Principal; 6] = [
        Principal::CurrentUser,
        Principal::LocalSystem,
        Principal::LocalService,
        Principal::Machine,
        Principal::Winhttp,
        Principal::Sensor,
    ];
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

/// The service account named by an upload's file name, when its content does not say
/// (a redirected not-found error): `S-1-5-18`, `1518`, `system` / `S-1-5-19`, `1519`, `service`.
pub fn principal_from_file_name(name: &str) -> Option<Principal> {
    // Only the last path component (and inside archives, the entry's own name) counts.
    let base = name
        .rsplit(['/', '\\', '!'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    let system = base.contains("s-1-5-18") || base.contains("1518") || base.contains("system");
    let service = base.contains("s-1-5-19") || base.contains("1519") || base.contains("service");
    match (system, service) {
        (true, false) => Some(Principal::LocalSystem),
        (false, true) => Some(Principal::LocalService),
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
        assert_eq!(p("HKEY_USERS\\S-1-5-20\\Software"), None);
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
            principal_from_file_name("cmp1518.txt"),
            Some(Principal::LocalSystem)
        );
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
