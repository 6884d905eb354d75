//! The plain values under `…\Internet Settings` (`ProxyEnable`, `ProxyServer`,
//! `ProxyOverride`, `AutoConfigURL`, `AutoDetect`) and the `ProxySettingsPerUser` policy.
//!
//! Precedence (notes section b): WinINet reads the `Connections` blob, so **the blob wins**
//! over the plain values (they are compatibility mirrors; WinINet migrates them into a blob
//! when `MigrateProxy` asks). A missing blob means automatic detection only. With
//! `ProxySettingsPerUser` = 0 (HKLM policy) every account, SYSTEM and LocalService included,
//! uses the HKLM settings.

use serde::Serialize;

use super::compare::{compare_effective, Comparison};
use super::wininet::ConnectionSettings;
use super::{EffectiveSettings, SettingsSource};

/// The plain values of one `Internet Settings` key (each `None` when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlainValues {
    /// `ProxyEnable` (DWORD): mirror of flag 0x02.
    pub proxy_enable: Option<u32>,
    /// `ProxyServer` (REG_SZ).
    pub proxy_server: Option<String>,
    /// `ProxyOverride` (REG_SZ): the bypass list.
    pub proxy_override: Option<String>,
    /// `AutoConfigURL` (REG_SZ): present only while the PAC box is ticked in practice.
    pub auto_config_url: Option<String>,
    /// `AutoDetect` (DWORD): seen in scripts; no evidence WinINet reads it.
    pub auto_detect: Option<u32>,
    /// `MigrateProxy` (DWORD): asks WinINet to build the blob from these values.
    pub migrate_proxy: Option<u32>,
}

impl PlainValues {
    /// True when none of the values is present.
    pub fn is_empty(&self) -> bool {
        self.proxy_enable.is_none()
            && self.proxy_server.is_none()
            && self.proxy_override.is_none()
            && self.auto_config_url.is_none()
            && self.auto_detect.is_none()
    }

    /// Records a registry value by name (case-insensitive); other names are ignored.
    /// Returns true when the name was one of the plain proxy values.
    pub fn set(&mut self, name: &str, dword: Option<u32>, string: Option<&str>) -> bool {
        let s = || string.map(str::to_string);
        match name.to_ascii_lowercase().as_str() {
            "proxyenable" => self.proxy_enable = dword,
            "proxyserver" => self.proxy_server = s(),
            "proxyoverride" => self.proxy_override = s(),
            "autoconfigurl" => self.auto_config_url = s(),
            "autodetect" => self.auto_detect = dword,
            "migrateproxy" => self.migrate_proxy = dword,
            _ => return false,
        }
        true
    }

    /// The settings these values describe (what clients that read them directly use).
    pub fn to_effective(&self) -> EffectiveSettings {
        let proxy = self.proxy_enable.is_some_and(|v| v != 0);
        let pac = self
            .auto_config_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty());
        let mut flags = super::wininet::FLAG_DIRECT;
        if proxy {
            flags |= super::wininet::FLAG_PROXY;
        }
        if pac {
            flags |= super::wininet::FLAG_AUTO_PROXY_URL;
        }
        if self.auto_detect.is_some_and(|v| v != 0) {
            flags |= super::wininet::FLAG_AUTO_DETECT;
        }
        let mut e = EffectiveSettings::from_flags(
            SettingsSource::PlainValues,
            flags,
            self.proxy_server.as_deref().unwrap_or(""),
            self.proxy_override.as_deref().unwrap_or(""),
            self.auto_config_url.as_deref().unwrap_or(""),
        );
        e.flags = None;
        e
    }
}

/// `ProxySettingsPerUser` = 0 makes the settings per machine (.NET: the value must be an
/// integer equal to 0; anything else, or absent, is per user).
pub fn is_per_machine(proxy_settings_per_user: Option<u32>) -> bool {
    proxy_settings_per_user == Some(0)
}

/// The settings an account uses, with where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The settings in force.
    pub settings: EffectiveSettings,
    /// True when the policy sent this account to the HKLM settings.
    pub machine_wide: bool,
    /// The plain values disagree with the blob (some clients then behave differently).
    pub plain_mismatch: Option<Comparison>,
    /// One sentence on how the settings were chosen.
    pub note: String,
}

/// Picks an account's settings per the documented precedence: with `ProxySettingsPerUser`=0
/// the HKLM blob (`machine_blob`); else the account's own blob; a missing blob means
/// automatic detection only, even when plain values exist (noted, with `MigrateProxy`).
pub fn resolve(
    proxy_settings_per_user: Option<u32>,
    machine_blob: Option<&ConnectionSettings>,
    account_blob: Option<&ConnectionSettings>,
    account_plain: Option<&PlainValues>,
) -> Resolved {
    let machine_wide = is_per_machine(proxy_settings_per_user);
    let blob = if machine_wide {
        machine_blob
    } else {
        account_blob
    };
    let where_ = if machine_wide {
        "ProxySettingsPerUser=0: the HKLM DefaultConnectionSettings applies to every account"
    } else {
        "the account's own DefaultConnectionSettings"
    };
    match blob {
        Some(b) => {
            let settings = EffectiveSettings::from(b);
            let plain_mismatch = account_plain
                .filter(|p| !machine_wide && !p.is_empty())
                .map(|p| compare_effective(&settings, &p.to_effective()))
                .filter(|c| !c.equivalent);
            Resolved {
                settings,
                machine_wide,
                plain_mismatch,
                note: format!("{where_} (the blob wins over the plain values)"),
            }
        }
        None => {
            let plain = account_plain.filter(|p| !machine_wide && !p.is_empty());
            let note = match plain {
                Some(p) if p.migrate_proxy.is_some_and(|v| v != 0) => format!(
                    "{where_} is missing; MigrateProxy=1 asks WinINet to build it from the plain values, until then automatic detection only"
                ),
                Some(_) => format!(
                    "{where_} is missing: automatic detection only (the plain values are not what WinINet reads)"
                ),
                None => format!("{where_} is missing: automatic detection only"),
            };
            Resolved {
                settings: EffectiveSettings::missing(),
                machine_wide,
                plain_mismatch: None,
                note,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(enable: u32, server: &str, over: &str) -> PlainValues {
        let mut p = PlainValues::default();
        assert!(p.set("ProxyEnable", Some(enable), None));
        assert!(p.set("ProxyServer", None, Some(server)));
        assert!(p.set("proxyoverride", None, Some(over)));
        assert!(!p.set("ProxyHttp1.1", Some(0), None));
        p
    }

    #[test]
    fn plain_to_effective() {
        // Corpus 002 (kadaster): comma-separated override kept as written.
        let p = plain(
            1,
            "www-proxy.cs.kadaster.nl:8082",
            "*.cs.kadaster.nl, *.so.kadaster.nl, kadaster.local, localhost, <local>",
        );
        let e = p.to_effective();
        assert!(e.proxy_enabled);
        assert_eq!(
            e.proxy_server.as_deref(),
            Some("www-proxy.cs.kadaster.nl:8082")
        );
        assert_eq!(e.source, SettingsSource::PlainValues);
        let p = plain(0, "proxy:80", "");
        assert!(!p.to_effective().proxy_enabled);
        assert_eq!(p.to_effective().proxy_server, None);
        let mut p = PlainValues::default();
        p.set(
            "AutoConfigURL",
            None,
            Some("https://www.proxynova.com/proxy.pac"),
        );
        let e = p.to_effective();
        assert_eq!(e.pac_url(), Some("https://www.proxynova.com/proxy.pac"));
    }

    #[test]
    fn blob_wins_and_mismatch_reported() {
        let blob = ConnectionSettings::new(0x03, "proxy:8080", "<local>", "");
        let p = plain(1, "other:3128", "<local>");
        let r = resolve(None, None, Some(&blob), Some(&p));
        assert!(!r.machine_wide);
        assert_eq!(r.settings.proxy_server.as_deref(), Some("proxy:8080"));
        let m = r
            .plain_mismatch
            .unwrap_or_else(|| panic!("mismatch expected"));
        assert_eq!(m.differences[0].field, "proxy_server");
        // Agreeing plain values: no mismatch.
        let p = plain(1, "proxy:8080", "<local>");
        assert!(resolve(Some(1), None, Some(&blob), Some(&p))
            .plain_mismatch
            .is_none());
    }

    #[test]
    fn per_machine_policy() {
        let machine = ConnectionSettings::new(0x03, "hklm-proxy:8080", "", "");
        let account = ConnectionSettings::new(0x01, "", "", "");
        let r = resolve(Some(0), Some(&machine), Some(&account), None);
        assert!(r.machine_wide);
        assert_eq!(r.settings.proxy_server.as_deref(), Some("hklm-proxy:8080"));
        assert!(is_per_machine(Some(0)));
        assert!(!is_per_machine(Some(1)));
        assert!(!is_per_machine(None));
        // Policy set, HKLM value missing: auto-detect only.
        let r = resolve(Some(0), None, Some(&account), None);
        assert_eq!(r.settings.source, SettingsSource::Missing);
    }

    #[test]
    fn missing_blob_is_autodetect() {
        let mut p = plain(1, "proxy:80", "");
        p.set("MigrateProxy", Some(1), None);
        let r = resolve(None, None, None, Some(&p));
        assert_eq!(r.settings, EffectiveSettings::missing());
        assert!(r.note.contains("MigrateProxy"));
    }
}
