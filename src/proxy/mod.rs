//! The proxy model: what the bytes and strings mean.
//!
//! - [`wininet`]: `DefaultConnectionSettings`-style blobs (exact decode/encode, WPAD trailer).
//! - [`winhttp`]: the `WinHttpSettings` value.
//! - [`server_list`]: proxy strings (`host:port`, per-scheme lists).
//! - [`bypass`]: bypass lists — the one matcher every caller uses.
//! - [`route`]: which way a request to a URL goes under some settings.
//! - [`compare`]: semantic equivalence of two settings (counter and trailer never count).
//! - [`plain`]: the plain `Internet Settings` values and the `ProxySettingsPerUser` policy.
//! - [`hex`]: lenient hex input for `decode` (and PowerShell's decimal byte lists, [`decimal`]).
//! - [`endpoint`]: the sensor endpoint host from `--endpoint` / `--workspace`.
//!
//! [`EffectiveSettings`] is the common shape every source is reduced to. This layer knows
//! nothing of cases, reports or file formats.

use serde::Serialize;

pub mod blob;
pub mod bypass;
pub mod compare;
pub mod decimal;
pub mod endpoint;
pub mod hex;
pub mod plain;
pub mod route;
pub mod server_list;
pub mod winhttp;
pub mod wininet;

pub use blob::{BlobError, RawString};
pub use compare::{compare, compare_effective, Comparison, FieldDiff};
pub use route::{route, Route, RouteKind};

use winhttp::WinHttpSettings;
use wininet::ConnectionSettings;

/// A representative sensor endpoint (`<workspace>sensorapi.atp.azure.com`).
pub const SENSOR_ENDPOINT_EXAMPLE: &str = "contoso-corpsensorapi.atp.azure.com";

/// The sensor endpoint host for a workspace name (`{workspace}sensorapi.atp.azure.com`), or
/// [`SENSOR_ENDPOINT_EXAMPLE`] when the workspace is unknown (any `*.atp.azure.com` host is
/// judged the same way by the bypass rules except for exact-name entries).
pub fn sensor_endpoint_for(workspace: Option<&str>) -> String {
    match workspace.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => {
            let w = w.to_ascii_lowercase();
            if w.ends_with(".atp.azure.com") {
                w
            } else {
                format!("{}sensorapi.atp.azure.com", w.trim_end_matches("sensorapi"))
            }
        }
        None => SENSOR_ENDPOINT_EXAMPLE.to_string(),
    }
}

/// The `https://` URL of a sensor endpoint host.
pub fn sensor_endpoint_url(workspace: Option<&str>) -> String {
    format!("https://{}", sensor_endpoint_for(workspace))
}

/// The value is a `WinHttpSettings` (by name) — any other name is a WinINet blob.
pub fn is_winhttp_value_name(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("WinHttpSettings")
}

/// A decoded proxy value of either family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ProxyValue {
    /// `DefaultConnectionSettings`, `SavedLegacySettings` or a per-connection value.
    WinInet(ConnectionSettings),
    /// `WinHttpSettings`.
    WinHttp(WinHttpSettings),
}

impl ProxyValue {
    /// Decodes `bytes`: WinHTTP when the value name is `WinHttpSettings`, or with no name when
    /// the first DWORD is 0x18 (or the reported 0x28); WinINet otherwise.
    pub fn decode(bytes: &[u8], value_name: Option<&str>) -> ProxyValue {
        let winhttp = match value_name {
            Some(n) => is_winhttp_value_name(n),
            None => matches!(
                bytes.get(..4),
                Some([0x18, 0, 0, 0]) | Some([0x28, 0, 0, 0])
            ),
        };
        if winhttp {
            ProxyValue::WinHttp(WinHttpSettings::decode(bytes))
        } else {
            ProxyValue::WinInet(ConnectionSettings::decode(bytes))
        }
    }

    /// The exact bytes back.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ProxyValue::WinInet(s) => s.encode(),
            ProxyValue::WinHttp(s) => s.encode(),
        }
    }

    /// The settings this value stands for.
    pub fn effective(&self) -> EffectiveSettings {
        match self {
            ProxyValue::WinInet(s) => s.into(),
            ProxyValue::WinHttp(s) => s.into(),
        }
    }

    /// The contract's error name, if the value is malformed.
    pub fn error(&self) -> Option<BlobError> {
        match self {
            ProxyValue::WinInet(s) => s.error,
            ProxyValue::WinHttp(s) => s.error,
        }
    }
}

/// Where an [`EffectiveSettings`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingsSource {
    /// A WinINet connection blob.
    Blob,
    /// `WinHttpSettings`.
    WinHttp,
    /// The plain `ProxyEnable`/`ProxyServer`/... values.
    PlainValues,
    /// `netsh winhttp show proxy` output.
    Netsh,
    /// The sensor's own proxy configuration.
    SensorProxy,
    /// No value at all: WinINet readers assume automatic detection.
    Missing,
}

/// `configured` or `direct`, per the contract's decision details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyState {
    /// A proxy or a PAC URL is enabled (or, for the current user, auto-detect alone).
    Configured,
    /// No proxy and no PAC URL enabled.
    Direct,
}

/// The proxy settings that matter, whatever their source: flags and the strings gated by
/// them (a string stored while its box is unticked is `None` here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveSettings {
    /// Where these settings came from.
    pub source: SettingsSource,
    /// The raw flags, when the source has them (blob, WinHTTP).
    pub flags: Option<u32>,
    /// The DIRECT bit (0x01) / "direct access" of the source.
    pub direct: bool,
    /// A manual proxy is enabled (0x02, `ProxyEnable=1`, a netsh proxy).
    pub proxy_enabled: bool,
    /// A PAC URL is enabled (0x04, `AutoConfigURL` present).
    pub auto_config_url_enabled: bool,
    /// Automatic detection (WPAD) is on (0x08).
    pub auto_detect: bool,
    /// The proxy string, when the proxy is enabled (serialized with passwords redacted).
    #[serde(serialize_with = "serialize_redacted")]
    pub proxy_server: Option<String>,
    /// The bypass list, when the proxy is enabled.
    pub bypass_list: Option<String>,
    /// The PAC URL, when enabled.
    pub auto_config_url: Option<String>,
    /// The source was malformed; these are the fields decoded before the problem.
    pub incomplete: bool,
}

impl EffectiveSettings {
    fn base(source: SettingsSource) -> EffectiveSettings {
        EffectiveSettings {
            source,
            flags: None,
            direct: true,
            proxy_enabled: false,
            auto_config_url_enabled: false,
            auto_detect: false,
            proxy_server: None,
            bypass_list: None,
            auto_config_url: None,
            incomplete: false,
        }
    }

    /// What WinINet readers assume when the value is missing: automatic detection only.
    pub fn missing() -> EffectiveSettings {
        EffectiveSettings {
            auto_detect: true,
            ..EffectiveSettings::base(SettingsSource::Missing)
        }
    }

    /// From flags and strings as a blob holds them (strings gated by their flag here).
    pub fn from_flags(
        source: SettingsSource,
        flags: u32,
        proxy_server: &str,
        bypass_list: &str,
        auto_config_url: &str,
    ) -> EffectiveSettings {
        let proxy = flags & wininet::FLAG_PROXY != 0;
        let pac = flags & wininet::FLAG_AUTO_PROXY_URL != 0;
        EffectiveSettings {
            source,
            flags: Some(flags),
            direct: flags & wininet::FLAG_DIRECT != 0,
            proxy_enabled: proxy,
            auto_config_url_enabled: pac,
            auto_detect: flags & wininet::FLAG_AUTO_DETECT != 0,
            proxy_server: proxy.then(|| proxy_server.to_string()),
            bypass_list: proxy.then(|| bypass_list.to_string()),
            auto_config_url: pac.then(|| auto_config_url.to_string()),
            incomplete: false,
        }
    }

    /// From the plain `Internet Settings` values (see [`plain::PlainValues::to_effective`]).
    pub fn from_plain(values: &plain::PlainValues) -> EffectiveSettings {
        values.to_effective()
    }

    /// The flags a WinINet blob needs to express these settings (0x01 always set, as the UI
    /// does; the raw flags when the source had them).
    pub fn wininet_flags(&self) -> u32 {
        if let (Some(f), SettingsSource::Blob) = (self.flags, self.source) {
            return f;
        }
        let mut f = wininet::FLAG_DIRECT;
        if self.proxy_enabled {
            f |= wininet::FLAG_PROXY;
        }
        if self.auto_config_url_enabled {
            f |= wininet::FLAG_AUTO_PROXY_URL;
        }
        if self.auto_detect {
            f |= wininet::FLAG_AUTO_DETECT;
        }
        f
    }

    /// A fresh 0x46 WinINet blob carrying these settings (for remediation files).
    pub fn to_connection_settings(&self) -> ConnectionSettings {
        ConnectionSettings::new(
            self.wininet_flags(),
            self.proxy_server.as_deref().unwrap_or(""),
            self.bypass_list.as_deref().unwrap_or(""),
            self.auto_config_url.as_deref().unwrap_or(""),
        )
    }

    /// From `netsh winhttp show proxy`: `proxy` `None` (or `(none)`) = direct access.
    pub fn from_netsh(proxy: Option<&str>, bypass: Option<&str>) -> EffectiveSettings {
        let proxy = proxy
            .map(str::trim)
            .filter(|p| !p.is_empty() && !p.eq_ignore_ascii_case("(none)"));
        let bypass = bypass
            .map(str::trim)
            .filter(|b| !b.eq_ignore_ascii_case("(none)"));
        match proxy {
            Some(p) => EffectiveSettings {
                proxy_enabled: true,
                proxy_server: Some(p.to_string()),
                bypass_list: Some(bypass.unwrap_or("").to_string()),
                ..EffectiveSettings::base(SettingsSource::Netsh)
            },
            None => EffectiveSettings::base(SettingsSource::Netsh),
        }
    }

    /// From the sensor's own proxy URL (`http://[user:password@]host:port`); credentials are
    /// dropped, the bypass list is empty.
    pub fn from_sensor_proxy_url(url: &str) -> EffectiveSettings {
        let url = url.trim();
        if url.is_empty() {
            return EffectiveSettings::base(SettingsSource::SensorProxy);
        }
        let list = server_list::ProxyServerList::parse(url);
        let server = match list.entries.first() {
            Some(e) => e.addr.to_string(),
            None => redact(url).into_owned(),
        };
        EffectiveSettings {
            proxy_enabled: true,
            proxy_server: Some(server),
            bypass_list: Some(String::new()),
            ..EffectiveSettings::base(SettingsSource::SensorProxy)
        }
    }

    /// `Configured` when a proxy (0x02) or a PAC URL (0x04) is enabled, or — for the current
    /// user only — auto-detect alone (0x08); else `Direct` (the untouched 0x09 default of a
    /// service account is `Direct`).
    pub fn state(&self, is_current_user: bool) -> ProxyState {
        if self.proxy_enabled
            || self.auto_config_url_enabled
            || (is_current_user && self.auto_detect)
        {
            ProxyState::Configured
        } else {
            ProxyState::Direct
        }
    }

    /// True when the route depends on a PAC script or WPAD: no usable manual proxy, and a PAC
    /// URL or auto-detect is on (the route cannot be judged offline).
    pub fn is_pac_or_autodetect_only(&self) -> bool {
        !self.uses_manual_proxy() && (self.pac_url().is_some() || self.auto_detect)
    }

    /// The manual proxy is enabled with a non-empty server string.
    pub fn uses_manual_proxy(&self) -> bool {
        self.proxy_enabled
            && self
                .proxy_server
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
    }

    /// The enabled, non-empty PAC URL.
    pub fn pac_url(&self) -> Option<&str> {
        self.auto_config_url
            .as_deref()
            .map(str::trim)
            .filter(|u| self.auto_config_url_enabled && !u.is_empty())
    }

    /// The parsed proxy string (empty when no proxy is enabled).
    pub fn server_list(&self) -> server_list::ProxyServerList {
        server_list::ProxyServerList::parse(self.proxy_server.as_deref().unwrap_or(""))
    }

    /// The parsed bypass list (empty when no proxy is enabled).
    pub fn bypass(&self) -> bypass::BypassList {
        bypass::BypassList::parse(self.bypass_list.as_deref().unwrap_or(""))
    }

    /// A per-scheme proxy list without an `https=` entry: HTTPS goes direct.
    pub fn https_not_proxied(&self) -> bool {
        if !self.uses_manual_proxy() {
            return false;
        }
        let l = self.server_list();
        l.has_per_scheme_list() && l.for_scheme("https").is_none()
    }
}

impl From<&ConnectionSettings> for EffectiveSettings {
    fn from(s: &ConnectionSettings) -> EffectiveSettings {
        if s.ignored_by_readers() {
            // What the reader does with it: automatic detection only, like a missing value.
            return EffectiveSettings {
                source: SettingsSource::Blob,
                ..EffectiveSettings::missing()
            };
        }
        let flags = if s.decoded(wininet::Field::Flags) {
            s.flags
        } else {
            0
        };
        let mut e = EffectiveSettings::from_flags(
            SettingsSource::Blob,
            flags,
            &s.proxy_server.latin1(),
            &s.bypass_list.latin1(),
            &s.auto_config_url.latin1(),
        );
        e.incomplete = s.error.is_some();
        e
    }
}

impl From<&WinHttpSettings> for EffectiveSettings {
    fn from(s: &WinHttpSettings) -> EffectiveSettings {
        let flags = if s.decoded(winhttp::WinHttpField::Flags) {
            s.flags
        } else {
            0
        };
        let proxy = flags & winhttp::FLAG_PROXY != 0;
        EffectiveSettings {
            source: SettingsSource::WinHttp,
            flags: Some(flags),
            direct: flags & winhttp::FLAG_DIRECT != 0,
            proxy_enabled: proxy,
            auto_config_url_enabled: false,
            auto_detect: false,
            proxy_server: proxy.then(|| s.proxy_server.latin1()),
            bypass_list: proxy.then(|| s.bypass_list.latin1()),
            auto_config_url: None,
            incomplete: s.error.is_some(),
        }
    }
}

pub use crate::secrets::{redact, serialize_redacted};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_filled_blob_means_automatic_detection_as_a_missing_value() {
        let v = ProxyValue::decode(&[0u8; 56], Some("DefaultConnectionSettings"));
        let ProxyValue::WinInet(s) = &v else {
            panic!("WinINet layout expected");
        };
        assert!(s.ignored_by_readers());
        let e = v.effective();
        assert!(e.auto_detect && !e.proxy_enabled && !e.auto_config_url_enabled);
        assert_eq!(e.source, SettingsSource::Blob);
        let r = route::route(&e, "https://contoso-corpsensorapi.atp.azure.com");
        assert_eq!(r.kind, route::RouteKind::AutoDetect);
        assert!(r.reason.contains("below 0x3C"), "{}", r.reason);
        // A 0x46 blob with flags 0 is direct.
        let mut b = vec![0u8; 56];
        b[0] = 0x46;
        let e = ProxyValue::decode(&b, None).effective();
        assert_eq!(route::route(&e, "https://x").kind, route::RouteKind::Direct);
    }

    #[test]
    fn sensor_endpoints() {
        assert_eq!(sensor_endpoint_for(None), SENSOR_ENDPOINT_EXAMPLE);
        assert_eq!(
            sensor_endpoint_for(Some("Contoso-Corp")),
            "contoso-corpsensorapi.atp.azure.com"
        );
        assert_eq!(
            sensor_endpoint_for(Some("contoso-corpsensorapi")),
            "contoso-corpsensorapi.atp.azure.com"
        );
        assert_eq!(
            sensor_endpoint_for(Some("x.atp.azure.com")),
            "x.atp.azure.com"
        );
        assert_eq!(
            sensor_endpoint_url(None),
            "https://contoso-corpsensorapi.atp.azure.com"
        );
    }

    #[test]
    fn states_per_contract() {
        let st = |flags, user| {
            EffectiveSettings::from_flags(SettingsSource::Blob, flags, "p:80", "", "http://pac")
                .state(user)
        };
        assert_eq!(
            st(0x09, false),
            ProxyState::Direct,
            "untouched SYSTEM default"
        );
        assert_eq!(
            st(0x09, true),
            ProxyState::Configured,
            "auto-detect only, current user"
        );
        assert_eq!(st(0x01, true), ProxyState::Direct);
        assert_eq!(st(0x03, false), ProxyState::Configured);
        assert_eq!(st(0x05, false), ProxyState::Configured);
        assert_eq!(st(0x02, false), ProxyState::Configured);
        assert_eq!(
            EffectiveSettings::missing().state(false),
            ProxyState::Direct
        );
    }

    #[test]
    fn pac_or_autodetect_only() {
        let e = |flags, proxy: &str, pac: &str| {
            EffectiveSettings::from_flags(SettingsSource::Blob, flags, proxy, "", pac)
                .is_pac_or_autodetect_only()
        };
        assert!(e(0x09, "", ""));
        assert!(e(0x05, "", "http://wpad/wpad.dat"));
        assert!(e(0x0D, "", "http://wpad/wpad.dat"));
        assert!(!e(0x0B, "p:80", ""));
        assert!(e(0x0B, "", ""), "proxy bit without server: WPAD decides");
        assert!(!e(0x01, "", ""));
        assert!(!e(0x05, "", ""), "PAC bit without URL, no auto-detect");
    }

    #[test]
    fn effective_from_sources() {
        let b = ConnectionSettings::new(0x03, "proxy:8080", "<local>", "http://stale/pac");
        let e = EffectiveSettings::from(&b);
        assert_eq!(e.proxy_server.as_deref(), Some("proxy:8080"));
        assert_eq!(e.bypass_list.as_deref(), Some("<local>"));
        assert_eq!(e.auto_config_url, None, "PAC stored but not enabled");
        let n = EffectiveSettings::from_netsh(Some("proxy:8080"), Some("(none)"));
        assert!(n.proxy_enabled);
        assert_eq!(n.bypass_list.as_deref(), Some(""));
        let n = EffectiveSettings::from_netsh(None, None);
        assert!(!n.proxy_enabled && n.direct);
        let s = EffectiveSettings::from_sensor_proxy_url("http://u:pw@proxy.contoso.com:3128");
        assert_eq!(s.proxy_server.as_deref(), Some("proxy.contoso.com:3128"));
        let w = WinHttpSettings::new(Some("wp:80"), "*.local");
        let e = EffectiveSettings::from(&w);
        assert_eq!(e.source, SettingsSource::WinHttp);
        assert_eq!(e.proxy_server.as_deref(), Some("wp:80"));
    }

    #[test]
    fn to_blob_and_back() {
        let n = EffectiveSettings::from_netsh(Some("proxy:8080"), Some("<local>"));
        let b = n.to_connection_settings();
        assert_eq!(b.flags, 0x03);
        let back = EffectiveSettings::from(&b);
        assert!(compare_effective(&n, &back).equivalent);
        let user = EffectiveSettings::from(&ConnectionSettings::new(0x0B, "p:80", "", "x"));
        assert_eq!(user.to_connection_settings().flags, 0x0B);
    }

    #[test]
    fn value_kind_detection() {
        let w = [
            0x18u8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(matches!(
            ProxyValue::decode(&w, None),
            ProxyValue::WinHttp(_)
        ));
        assert!(matches!(
            ProxyValue::decode(&w, Some("DefaultConnectionSettings")),
            ProxyValue::WinInet(_)
        ));
        let b = ConnectionSettings::new(1, "", "", "").encode();
        assert!(matches!(
            ProxyValue::decode(&b, None),
            ProxyValue::WinInet(_)
        ));
        assert!(matches!(
            ProxyValue::decode(&b, Some("winhttpsettings")),
            ProxyValue::WinHttp(_)
        ));
    }
}
