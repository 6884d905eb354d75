//! The effective proxy settings of one account, as the rules compare and route them.
//! A thin view over the proxy model (`crate::proxy`): decoding, comparison, routing, bypass
//! matching and redaction all live there.

use serde_json::Value;

use crate::proxy::compare::{compare_effective, DecodedBlob};
use crate::proxy::plain::PlainValues;
use crate::proxy::route::{route, RouteKind};
use crate::proxy::winhttp::WinHttpSettings;
use crate::proxy::wininet::ConnectionSettings;
use crate::proxy::EffectiveSettings;

/// Effective settings: what the comparison and the route judgement look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The blob was cut or malformed (`truncated`, `length_overrun`, ...).
    pub error: Option<String>,
    /// What the settings were decoded from, turned into JSON only for the report.
    detail: Detail,
    /// The proxy model's view.
    pub model: EffectiveSettings,
}

impl Effective {
    fn new(model: EffectiveSettings, detail: Detail, error: Option<String>) -> Effective {
        Effective {
            error,
            detail,
            model,
        }
    }

    /// These settings as the decoded form of `bytes`, for [`compare_decoded`]; the caller
    /// vouches that they were decoded from those bytes ([`from_blob`]).
    ///
    /// [`compare_decoded`]: crate::proxy::compare::compare_decoded
    pub fn decoded<'a>(&'a self, bytes: &'a [u8]) -> DecodedBlob<'a> {
        DecodedBlob {
            bytes,
            settings: &self.model,
            error: self.error.as_deref(),
        }
    }

    /// The decoded fields for the report (the `decode` JSON for blobs), built on demand:
    /// judging compares many blobs, and only the chosen one is shown.
    pub fn json(&self) -> Value {
        match &self.detail {
            Detail::Blob(b) => serde_json::to_value(b.as_ref()).unwrap_or(Value::Null),
            Detail::WinHttp(w) => serde_json::to_value(w.as_ref()).unwrap_or(Value::Null),
            Detail::Model { source } => {
                let mut v = serde_json::to_value(&self.model).unwrap_or(Value::Null);
                if let (Some(o), Some(source)) = (v.as_object_mut(), source) {
                    o.insert("source".into(), (*source).into());
                }
                v
            }
        }
    }

    /// The report's `settings` object: one shape for every source (the `decode` field
    /// names: `proxy_server`, `bypass_list`, `auto_config_url`, the flags in words), plus the
    /// value's hex when it came from a blob.
    pub fn report_settings(&self, blob: Option<&[u8]>) -> ReportSettings {
        let m = &self.model;
        let (version, counter, error) = match &self.detail {
            Detail::Blob(b) => (Some(b.version), Some(b.counter), self.error.clone()),
            _ => (None, None, None),
        };
        ReportSettings {
            auto_config_url: m.auto_config_url.clone(),
            auto_config_url_enabled: m.auto_config_url_enabled,
            auto_detect: m.auto_detect,
            bypass_list: m.bypass_list.clone(),
            counter,
            data_hex: blob.map(crate::registry::hex_lower),
            direct: m.direct,
            error,
            flags: m.flags,
            incomplete: m.incomplete,
            password_set: None,
            proxy_enabled: m.proxy_enabled,
            proxy_server: m.proxy_server.clone(),
            proxy_url: None,
            source: m.source,
            user_name: None,
            version,
        }
    }

    /// The raw flags (0 when the source has none).
    pub fn flags(&self) -> u32 {
        self.model.flags.unwrap_or(0)
    }

    /// A manual proxy is enabled with a server string.
    pub fn proxy_enabled(&self) -> bool {
        self.model.uses_manual_proxy()
    }

    /// A non-empty PAC URL is enabled.
    pub fn pac_enabled(&self) -> bool {
        self.model.pac_url().is_some()
    }

    /// Automatic detection (WPAD) is on.
    pub fn auto_detect(&self) -> bool {
        self.model.auto_detect
    }

    /// The proxy string when the proxy is enabled, else empty.
    pub fn proxy_server(&self) -> &str {
        self.model.proxy_server.as_deref().unwrap_or("")
    }

    /// The bypass list when the proxy is enabled, else empty.
    pub fn bypass_list(&self) -> &str {
        self.model.bypass_list.as_deref().unwrap_or("")
    }

    /// The PAC URL when enabled, else empty.
    pub fn auto_config_url(&self) -> &str {
        self.model.auto_config_url.as_deref().unwrap_or("")
    }

    /// A proxy or a PAC URL is enabled.
    pub fn uses_proxy_or_pac(&self) -> bool {
        self.proxy_enabled() || self.pac_enabled()
    }

    /// Relies on a PAC URL or on auto-detect alone (no static proxy).
    pub fn pac_or_autodetect_only(&self) -> bool {
        self.model.is_pac_or_autodetect_only()
    }

    /// The untouched LOCAL SYSTEM default: flags 0x09 (direct + auto-detect), nothing else.
    pub fn is_untouched_default(&self) -> bool {
        self.flags() & 0x0F == 0x09 && !self.pac_enabled()
    }

    /// One line for tables: proxy, bypass, PAC, auto-detect.
    pub fn summary(&self) -> String {
        // Parts joined by "; ", written into one string (this runs for every account).
        let mut s = String::with_capacity(64);
        let part = |s: &mut String, text: &[&str]| {
            if !s.is_empty() {
                s.push_str("; ");
            }
            text.iter().for_each(|t| s.push_str(t));
        };
        if self.proxy_enabled() {
            part(
                &mut s,
                &["proxy ", &crate::proxy::redact(self.proxy_server())],
            );
            if !self.bypass_list().is_empty() {
                part(&mut s, &["bypass ", self.bypass_list()]);
            }
        }
        if self.pac_enabled() {
            part(&mut s, &["PAC ", self.auto_config_url()]);
        }
        if self.auto_detect() {
            part(&mut s, &["auto-detect"]);
        }
        if s.is_empty() {
            s.push_str("direct");
        }
        if let Some(e) = &self.error {
            part(&mut s, &["(blob ", e, ")"]);
        }
        s
    }

    /// The fields that differ in a way that matters (counter and trailer never count; the
    /// auto-detect bit alone counts only next to a proxy or a PAC URL).
    pub fn differences(&self, other: &Effective) -> Vec<&'static str> {
        compare_effective(&self.model, &other.model)
            .differences
            .iter()
            .map(|d| d.field)
            .collect()
    }
}

/// Where an [`Effective`] came from, kept for its report JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Detail {
    Blob(Box<ConnectionSettings>),
    WinHttp(Box<WinHttpSettings>),
    /// Only the effective settings (printed or plain values), with where they came from when
    /// the report says it.
    Model {
        source: Option<&'static str>,
    },
}

/// An account's settings as the report prints them (`principals.<p>.settings`). The fields are
/// in alphabetical order, the order the JSON has always listed them in; the optional ones are
/// left out when they do not apply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ReportSettings {
    /// The PAC URL, when enabled.
    pub auto_config_url: Option<String>,
    /// A PAC URL is enabled (flag 0x04, `AutoConfigURL`).
    pub auto_config_url_enabled: bool,
    /// Automatic detection (WPAD) is on (flag 0x08).
    pub auto_detect: bool,
    /// The bypass list, when the proxy is enabled.
    pub bypass_list: Option<String>,
    /// The blob's change counter (blobs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u32>,
    /// The value's bytes in lowercase hex (blobs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_hex: Option<String>,
    /// The DIRECT flag (0x01).
    pub direct: bool,
    /// Why the blob is malformed, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The raw flags, when the source has them.
    pub flags: Option<u32>,
    /// The source was malformed: these are the fields decoded before the problem.
    pub incomplete: bool,
    /// The sensor-level proxy has a password (sensor only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_set: Option<bool>,
    /// A manual proxy is enabled (flag 0x02).
    pub proxy_enabled: bool,
    /// The proxy string, when the proxy is enabled (passwords redacted).
    #[serde(serialize_with = "crate::proxy::serialize_redacted")]
    pub proxy_server: Option<String>,
    /// The sensor-level proxy URL, password redacted (sensor only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Where the settings came from.
    pub source: crate::proxy::SettingsSource,
    /// The sensor-level proxy's user name, or null (sensor only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<Option<String>>,
    /// The blob's version (blobs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// Decodes a `DefaultConnectionSettings` blob.
pub fn from_blob(bytes: &[u8]) -> Effective {
    let decoded = ConnectionSettings::decode(bytes);
    let error = decoded.error.map(|e| e.as_str().to_string());
    let model = EffectiveSettings::from(&decoded);
    Effective::new(model, Detail::Blob(Box::new(decoded)), error)
}

/// Effective settings from the plain values (`ProxyEnable`, `ProxyServer`, ...).
pub fn from_plain(
    proxy_enable: Option<u32>,
    proxy_server: Option<&str>,
    proxy_override: Option<&str>,
    auto_config_url: Option<&str>,
    auto_detect: Option<u32>,
) -> Effective {
    let mut plain = PlainValues::default();
    plain.set("ProxyEnable", proxy_enable, None);
    plain.set("ProxyServer", None, proxy_server);
    plain.set("ProxyOverride", None, proxy_override);
    plain.set("AutoConfigURL", None, auto_config_url);
    plain.set("AutoDetect", auto_detect, None);
    let model = plain.to_effective();
    Effective::new(
        model,
        Detail::Model {
            source: Some("plain values"),
        },
        None,
    )
}

/// Effective settings of WinHTTP as `netsh winhttp show proxy` printed them.
pub fn from_winhttp_text(direct: bool, proxy: Option<&str>, bypass: Option<&str>) -> Effective {
    let model = if direct {
        EffectiveSettings::from_netsh(None, None)
    } else {
        EffectiveSettings::from_netsh(proxy, bypass)
    };
    Effective::new(model, Detail::Model { source: None }, None)
}

/// The sensor's own proxy (`SensorConfiguration.json`).
pub fn from_sensor_proxy(url: &str) -> Effective {
    let model = EffectiveSettings::from_sensor_proxy_url(url);
    Effective::new(model, Detail::Model { source: None }, None)
}

/// Decodes a `WinHttpSettings` blob.
pub fn from_winhttp_blob(bytes: &[u8]) -> Effective {
    let decoded = WinHttpSettings::decode(bytes);
    let error = decoded.error.map(|e| e.as_str().to_string());
    let model = EffectiveSettings::from(&decoded);
    Effective::new(model, Detail::WinHttp(Box::new(decoded)), error)
}

/// How a request to `https://host:443` would leave, judged on static settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpsRoute {
    /// Through this proxy (`host:port`).
    Proxy(String),
    /// Direct, because a per-scheme list has no `https=` entry.
    DirectNoHttpsEntry,
    /// Direct, because this bypass entry matches the host.
    Bypassed(String),
    /// No static proxy enabled (or a PAC / WPAD decides).
    Direct,
}

/// The route of an HTTPS request to `host` under these settings (static proxy only).
pub fn https_route(eff: &Effective, host: &str) -> HttpsRoute {
    if !eff.model.uses_manual_proxy() {
        return HttpsRoute::Direct;
    }
    if eff.model.https_not_proxied() {
        return HttpsRoute::DirectNoHttpsEntry;
    }
    // Judge the static proxy alone: a PAC URL next to it is reported separately.
    let mut manual = eff.model.clone();
    manual.auto_config_url_enabled = false;
    manual.auto_detect = false;
    let r = route(&manual, &format!("https://{host}/"));
    match (r.kind, r.matched_bypass) {
        (_, Some(entry)) => HttpsRoute::Bypassed(entry),
        (RouteKind::Proxy { host, port }, None) => HttpsRoute::Proxy(format!("{host}:{port}")),
        _ => HttpsRoute::Direct,
    }
}

/// Redacts `user:password@` in a proxy string.
pub fn redact(s: &str) -> String {
    crate::proxy::redact(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::compare::{compare, compare_decoded};

    #[test]
    fn summaries_name_each_enabled_part_once() {
        let blob = |flags: u32, proxy: &str, bypass: &str, pac: &str| {
            from_blob(&ConnectionSettings::new(flags, proxy, bypass, pac).encode())
        };
        let cases = [
            (blob(1, "", "", ""), "direct"),
            (blob(3, "p:8080", "", ""), "proxy p:8080"),
            (
                blob(
                    0x0f,
                    "http://u:secret@p:8080",
                    "<local>",
                    "http://wpad/p.pac",
                ),
                "proxy http://***@p:8080; bypass <local>; PAC http://wpad/p.pac; auto-detect",
            ),
            (blob(9, "", "", ""), "auto-detect"),
        ];
        for (eff, want) in cases {
            assert_eq!(eff.summary(), want);
        }
        let mut cut = ConnectionSettings::new(3, "p:8080", "", "").encode();
        cut.truncate(20);
        let eff = from_blob(&cut);
        assert!(
            eff.summary()
                .ends_with(&format!("; (blob {})", eff.error.as_deref().unwrap_or("?"))),
            "{}",
            eff.summary()
        );
    }

    #[test]
    fn blobs_decoded_once_compare_as_their_bytes_do() {
        let blob = |counter: u32, flags: u32, proxy: &str, bypass: &str| {
            let mut s = ConnectionSettings::new(flags, proxy, bypass, "");
            s.counter = counter;
            s.encode()
        };
        let a = blob(9, 3, "proxy:8080", "<local>");
        let counter_only = blob(2, 3, "proxy:8080", "<local>");
        let other_proxy = blob(9, 3, "other:3128", "<local>");
        let cut = a.get(..20).unwrap_or(&[]).to_vec();
        for (x, y) in [
            (&a, &a),
            (&a, &counter_only),
            (&a, &other_proxy),
            (&a, &cut),
            (&cut, &cut),
        ] {
            let (ex, ey) = (from_blob(x), from_blob(y));
            assert_eq!(
                compare_decoded(ex.decoded(x), ey.decoded(y)),
                compare(x, y),
                "{x:02x?} vs {y:02x?}"
            );
        }
        assert!(from_blob(&cut).error.is_some(), "the cut blob is malformed");
    }
}
