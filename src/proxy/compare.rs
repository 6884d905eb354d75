//! Semantic comparison of proxy settings: what `reg compare` cannot tell.
//!
//! Two settings are equivalent when flags, proxy, bypass list and PAC URL agree; the change
//! counter and the WPAD trailer never count. Strings are compared only where their flag
//! enables them. The auto-detect bit alone makes no difference when neither side enables a
//! proxy or a PAC URL, and the DIRECT bit only matters next to an enabled proxy (0x02 without
//! 0x01 is reported not to take effect). Proxy strings compare case-insensitively after
//! trimming; bypass lists compare as sets of entries (order and separators do not matter).

use serde::Serialize;

use super::blob::BlobError;
use super::wininet::ConnectionSettings;
use super::EffectiveSettings;

/// One field that differs, in display form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    /// The contract's field name (`proxy_enabled`, `proxy_server`, `bypass_list`, ...).
    pub field: &'static str,
    /// Left value (`null` when not enabled).
    pub left: Option<String>,
    /// Right value.
    pub right: Option<String>,
}

/// The result of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// The bytes are the same (always false when comparing effective settings).
    pub byte_identical: bool,
    /// Same effective settings.
    pub equivalent: bool,
    /// What differs (empty when equivalent).
    pub differences: Vec<FieldDiff>,
}

impl Comparison {
    /// `matches` (byte-identical), `equivalent` (only counter/trailer differ) or `differs`.
    pub fn verdict(&self) -> &'static str {
        if self.byte_identical {
            "matches"
        } else if self.equivalent {
            "equivalent"
        } else {
            "differs"
        }
    }
}

/// A blob with what it decodes to, so blobs decoded once can be compared many times.
#[derive(Debug, Clone, Copy)]
pub struct DecodedBlob<'a> {
    pub bytes: &'a [u8],
    pub settings: &'a EffectiveSettings,
    /// The decoding error's contract name (`truncated`, ...) when the blob is cut.
    pub error: Option<&'a str>,
}

/// Compares two WinINet blobs.
pub fn compare(a: &[u8], b: &[u8]) -> Comparison {
    let (da, db) = (ConnectionSettings::decode(a), ConnectionSettings::decode(b));
    let (sa, sb) = (EffectiveSettings::from(&da), EffectiveSettings::from(&db));
    compare_decoded(
        DecodedBlob {
            bytes: a,
            settings: &sa,
            error: da.error.map(BlobError::as_str),
        },
        DecodedBlob {
            bytes: b,
            settings: &sb,
            error: db.error.map(BlobError::as_str),
        },
    )
}

/// Compares two blobs already decoded: the same result as [`compare`] on their bytes.
pub fn compare_decoded(a: DecodedBlob<'_>, b: DecodedBlob<'_>) -> Comparison {
    if a.bytes == b.bytes {
        return Comparison {
            byte_identical: true,
            equivalent: true,
            differences: Vec::new(),
        };
    }
    let mut c = compare_effective(a.settings, b.settings);
    if a.error.is_some() || b.error.is_some() {
        // A cut blob's missing fields cannot be judged equal to anything.
        c.differences.push(FieldDiff {
            field: "error",
            left: a.error.map(str::to_string),
            right: b.error.map(str::to_string),
        });
        c.equivalent = false;
    }
    c
}

/// Compares two effective settings (see the module doc for the rules).
pub fn compare_effective(a: &EffectiveSettings, b: &EffectiveSettings) -> Comparison {
    let mut d = Vec::new();
    let mut push = |field, left: Option<String>, right: Option<String>| {
        d.push(FieldDiff { field, left, right })
    };
    let yn = |v: bool| Some(v.to_string());
    if a.proxy_enabled != b.proxy_enabled {
        push("proxy_enabled", yn(a.proxy_enabled), yn(b.proxy_enabled));
    }
    if a.auto_config_url_enabled != b.auto_config_url_enabled {
        push(
            "auto_config_url_enabled",
            yn(a.auto_config_url_enabled),
            yn(b.auto_config_url_enabled),
        );
    }
    let any_static = a.proxy_enabled
        || b.proxy_enabled
        || a.auto_config_url_enabled
        || b.auto_config_url_enabled;
    if any_static && a.auto_detect != b.auto_detect {
        push("auto_detect", yn(a.auto_detect), yn(b.auto_detect));
    }
    if (a.proxy_enabled || b.proxy_enabled) && a.direct != b.direct {
        push("direct", yn(a.direct), yn(b.direct));
    }
    if !same_proxy(a.proxy_server.as_deref(), b.proxy_server.as_deref()) {
        push(
            "proxy_server",
            a.proxy_server.clone(),
            b.proxy_server.clone(),
        );
    }
    if !same_bypass(a.bypass_list.as_deref(), b.bypass_list.as_deref()) {
        push("bypass_list", a.bypass_list.clone(), b.bypass_list.clone());
    }
    let pac = |s: &EffectiveSettings| {
        s.auto_config_url
            .as_deref()
            .map(str::trim)
            .map(str::to_string)
    };
    if pac(a) != pac(b) {
        push(
            "auto_config_url",
            a.auto_config_url.clone(),
            b.auto_config_url.clone(),
        );
    }
    Comparison {
        byte_identical: false,
        equivalent: d.is_empty(),
        differences: d,
    }
}

fn same_proxy(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        (None, None) => true,
        _ => false,
    }
}

fn same_bypass(a: Option<&str>, b: Option<&str>) -> bool {
    let set = |s: &str| {
        let mut v: Vec<String> = s
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    match (a, b) {
        (Some(a), Some(b)) => set(a) == set(b),
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::wininet::Trailer;

    fn blob(counter: u32, flags: u32, proxy: &str, bypass: &str, pac: &str) -> ConnectionSettings {
        let mut s = ConnectionSettings::new(flags, proxy, bypass, pac);
        s.counter = counter;
        s
    }

    #[test]
    fn identical_equivalent_differs() {
        let a = blob(0x048b, 0x03, "proxy:8080", "<local>", "").encode();
        let c = compare(&a, &a);
        assert!(c.byte_identical && c.equivalent);
        assert_eq!(c.verdict(), "matches");

        // Counter only (real pairs: 0x048b vs 0x0a99).
        let b = blob(0x0a99, 0x03, "proxy:8080", "<local>", "").encode();
        let c = compare(&a, &b);
        assert!(!c.byte_identical && c.equivalent, "{c:?}");
        assert_eq!(c.verdict(), "equivalent");

        // Trailer only.
        let mut t = blob(0x048b, 0x03, "proxy:8080", "<local>", "");
        t.trailer = Some(Trailer {
            autodiscovery_flags: 4,
            detected_ipv4: vec![std::net::Ipv4Addr::new(192, 168, 0, 189)],
            ..Trailer::empty(0x46)
        });
        assert!(compare(&a, &t.encode()).equivalent);
        // No trailer at all.
        t.trailer = None;
        assert!(compare(&a, &t.encode()).equivalent);

        // Stored-but-disabled PAC URL does not count.
        let b = blob(1, 0x03, "proxy:8080", "<local>", "http://old/pac").encode();
        assert!(compare(&a, &b).equivalent);

        // Real differences, named.
        let b = blob(1, 0x03, "other:8080", "<local>;*.azure.com", "").encode();
        let c = compare(&a, &b);
        assert!(!c.equivalent);
        let fields: Vec<_> = c.differences.iter().map(|d| d.field).collect();
        assert_eq!(fields, vec!["proxy_server", "bypass_list"]);
        assert_eq!(c.differences[0].left.as_deref(), Some("proxy:8080"));
        assert_eq!(c.differences[0].right.as_deref(), Some("other:8080"));
    }

    #[test]
    fn flag_rules() {
        let f = |x: u32, y: u32| {
            compare(
                &blob(0, x, "p:80", "", "http://pac").encode(),
                &blob(0, y, "p:80", "", "http://pac").encode(),
            )
        };
        // Auto-detect alone makes no difference without proxy or PAC (0x01 vs 0x09).
        assert!(f(0x01, 0x09).equivalent);
        // ...but does next to a proxy.
        assert_eq!(f(0x03, 0x0B).differences[0].field, "auto_detect");
        // DIRECT bit matters only next to a proxy.
        assert!(f(0x00, 0x01).equivalent);
        assert_eq!(f(0x02, 0x03).differences[0].field, "direct");
        assert_eq!(f(0x01, 0x03).differences[0].field, "proxy_enabled");
        assert_eq!(
            f(0x01, 0x05).differences[0].field,
            "auto_config_url_enabled"
        );
        // Unknown bits are not settings.
        assert!(f(0x03, 0x13).equivalent);
    }

    #[test]
    fn lenient_string_rules() {
        let a = blob(0, 3, "Proxy.Contoso.com:8080 ", "<local>;*.contoso.com", "").encode();
        let b = blob(0, 3, "proxy.contoso.com:8080", "*.CONTOSO.com <local>", "").encode();
        assert!(compare(&a, &b).equivalent);
    }

    #[test]
    fn malformed_is_never_equivalent() {
        let a = blob(0, 1, "", "", "").encode();
        let cut = a.get(..9).unwrap_or(&[]).to_vec();
        let c = compare(&a, &cut);
        assert!(!c.equivalent);
        assert!(c.differences.iter().any(|d| d.field == "error"));
        assert!(compare(&cut, &cut).equivalent, "byte-identical");
    }

    #[test]
    fn effective_vs_missing() {
        let user = EffectiveSettings::from(&blob(0, 3, "p:80", "", ""));
        let c = compare_effective(&user, &EffectiveSettings::missing());
        assert!(!c.equivalent);
        assert!(!c.byte_identical);
    }
}
