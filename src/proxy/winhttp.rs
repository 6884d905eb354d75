//! `WinHttpSettings` (HKLM, written by `netsh winhttp set proxy`): a 0x18 header (version,
//! counter, flags) and two length-prefixed strings (proxy, bypass); no trailer. A direct
//! value is exactly 20 bytes: `18000000 00000000 01000000 00000000 00000000`.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::blob::{BlobError, RawString, Reader};
use super::wininet::BlobWarning;

/// The tag in every Microsoft-published sample.
pub const VERSION_WINHTTP: u32 = 0x18;
/// A tag seen only in third-party tooling (decoded with the same layout, with a warning).
pub const VERSION_WINHTTP_REPORTED: u32 = 0x28;
/// Flag: direct access.
pub const FLAG_DIRECT: u32 = 0x01;
/// Flag: named proxy.
pub const FLAG_PROXY: u32 = 0x02;

/// The fields of `WinHttpSettings`, in blob order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WinHttpField {
    Version,
    Counter,
    Flags,
    ProxyServer,
    BypassList,
}

impl WinHttpField {
    /// The contract's JSON name.
    pub fn name(self) -> &'static str {
        match self {
            WinHttpField::Version => "version",
            WinHttpField::Counter => "counter",
            WinHttpField::Flags => "flags",
            WinHttpField::ProxyServer => "proxy_server",
            WinHttpField::BypassList => "bypass_list",
        }
    }
}

/// A decoded `WinHttpSettings` value. `Serialize` gives the contract's `decode` JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinHttpSettings {
    /// Layout tag (0x18).
    pub version: u32,
    /// Counter (0 in every published sample).
    pub counter: u32,
    /// 1 = direct, 2 = proxy (netsh writes 3).
    pub flags: u32,
    /// Proxy server string.
    pub proxy_server: RawString,
    /// Bypass list.
    pub bypass_list: RawString,
    /// Bytes after the bypass list.
    pub extra: Vec<u8>,
    /// Why decoding stopped early.
    pub error: Option<BlobError>,
    /// The field that could not be decoded.
    pub error_field: Option<WinHttpField>,
    /// When `error` is set: the raw bytes from the failing field on (exact encoding).
    pub raw_tail: Vec<u8>,
}

impl WinHttpSettings {
    /// A value as `netsh winhttp set proxy` writes it (flags 3), or the direct reset value.
    pub fn new(proxy_server: Option<&str>, bypass_list: &str) -> WinHttpSettings {
        WinHttpSettings {
            version: VERSION_WINHTTP,
            counter: 0,
            flags: if proxy_server.is_some() {
                FLAG_DIRECT | FLAG_PROXY
            } else {
                FLAG_DIRECT
            },
            proxy_server: RawString::from_text(proxy_server.unwrap_or("")),
            bypass_list: RawString::from_text(bypass_list),
            extra: Vec::new(),
            error: None,
            error_field: None,
            raw_tail: Vec::new(),
        }
    }

    /// Decodes the value; never fails (problems go to `error`/`error_field`).
    pub fn decode(bytes: &[u8]) -> WinHttpSettings {
        let mut s = WinHttpSettings {
            version: 0,
            counter: 0,
            flags: 0,
            proxy_server: RawString::default(),
            bypass_list: RawString::default(),
            extra: Vec::new(),
            error: None,
            error_field: None,
            raw_tail: Vec::new(),
        };
        let mut r = Reader::new(bytes);
        macro_rules! fail {
            ($field:expr, $err:expr) => {{
                s.error = Some($err);
                s.error_field = Some($field);
                s.raw_tail = r.rest().to_vec();
                return s;
            }};
        }
        match r.u32() {
            Ok(v) => s.version = v,
            Err(_) => fail!(WinHttpField::Version, BlobError::TruncatedHeader),
        }
        match r.u32() {
            Ok(v) => s.counter = v,
            Err(_) => fail!(WinHttpField::Counter, BlobError::TruncatedHeader),
        }
        match r.u32() {
            Ok(v) => s.flags = v,
            Err(_) => fail!(WinHttpField::Flags, BlobError::TruncatedHeader),
        }
        match r.string() {
            Ok(v) => s.proxy_server = v,
            Err(e) => fail!(WinHttpField::ProxyServer, e),
        }
        match r.string() {
            Ok(v) => s.bypass_list = v,
            Err(e) => fail!(WinHttpField::BypassList, e),
        }
        s.extra = r.rest().to_vec();
        s
    }

    /// The exact bytes (`encode(decode(x)) == x` for every `x`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + self.proxy_server.0.len() + self.bypass_list.0.len());
        let stop = |f: WinHttpField, out: &mut Vec<u8>| {
            if self.error_field == Some(f) {
                out.extend_from_slice(&self.raw_tail);
                true
            } else {
                false
            }
        };
        for (f, v) in [
            (WinHttpField::Version, self.version),
            (WinHttpField::Counter, self.counter),
            (WinHttpField::Flags, self.flags),
        ] {
            if stop(f, &mut out) {
                return out;
            }
            out.extend_from_slice(&v.to_le_bytes());
        }
        if stop(WinHttpField::ProxyServer, &mut out) {
            return out;
        }
        self.proxy_server.encode_into(&mut out);
        if stop(WinHttpField::BypassList, &mut out) {
            return out;
        }
        self.bypass_list.encode_into(&mut out);
        out.extend_from_slice(&self.extra);
        out
    }

    /// True when `f` was decoded.
    pub fn decoded(&self, f: WinHttpField) -> bool {
        self.error_field.is_none_or(|e| f < e)
    }

    /// Bit 0x01.
    pub fn direct(&self) -> bool {
        self.flags & FLAG_DIRECT != 0
    }

    /// Bit 0x02: a named proxy.
    pub fn proxy_enabled(&self) -> bool {
        self.flags & FLAG_PROXY != 0
    }

    /// Bits other than 0x01 and 0x02.
    pub fn unknown_flag_bits(&self) -> u32 {
        self.flags & !(FLAG_DIRECT | FLAG_PROXY)
    }

    /// True when the tag is 0x18.
    pub fn version_known(&self) -> bool {
        self.version == VERSION_WINHTTP
    }

    /// Encoded length.
    pub fn length(&self) -> usize {
        self.encode().len()
    }

    /// Everything odd about this value.
    pub fn warnings(&self) -> Vec<BlobWarning> {
        let mut w = Vec::new();
        let mut push = |code, message: String| w.push(BlobWarning { code, message });
        if let (Some(e), Some(f)) = (self.error, self.error_field) {
            push(
                "blob-malformed",
                format!("the value is malformed ({e} at {})", f.name()),
            );
        }
        if self.decoded(WinHttpField::Version) && !self.version_known() {
            push(
                "unknown-version",
                format!(
                    "version 0x{:X} is not the documented 0x18; decoded with the same layout",
                    self.version
                ),
            );
        }
        if self.decoded(WinHttpField::Flags) && self.unknown_flag_bits() != 0 {
            push(
                "unknown-flag-bits",
                format!("undocumented flag bits 0x{:X}", self.unknown_flag_bits()),
            );
        }
        if self.decoded(WinHttpField::BypassList)
            && self.proxy_enabled()
            && self.proxy_server.is_empty()
        {
            push(
                "proxy-without-server",
                "the proxy flag is set but the proxy server is empty: effectively direct".into(),
            );
        }
        if !self.extra.is_empty() {
            push(
                "extra-bytes",
                format!("{} bytes after the bypass list", self.extra.len()),
            );
        }
        w
    }
}

impl Serialize for WinHttpSettings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use WinHttpField as F;
        let mut m = s.serialize_map(None)?;
        let fl = self.decoded(F::Flags);
        m.serialize_entry("value_kind", "winhttp")?;
        m.serialize_entry("length", &self.length())?;
        m.serialize_entry("version", &self.decoded(F::Version).then_some(self.version))?;
        m.serialize_entry(
            "version_known",
            &(self.decoded(F::Version) && self.version_known()),
        )?;
        m.serialize_entry("counter", &self.decoded(F::Counter).then_some(self.counter))?;
        m.serialize_entry("flags", &fl.then_some(self.flags))?;
        m.serialize_entry("direct", &fl.then(|| self.direct()))?;
        m.serialize_entry("proxy_enabled", &fl.then(|| self.proxy_enabled()))?;
        m.serialize_entry("unknown_flag_bits", &fl.then(|| self.unknown_flag_bits()))?;
        for (f, name, v) in [
            (F::ProxyServer, "proxy_server", &self.proxy_server),
            (F::BypassList, "bypass_list", &self.bypass_list),
        ] {
            super::wininet::string_entries(&mut m, name, self.decoded(f).then_some(v))?;
        }
        m.serialize_entry("extra_bytes", &self.extra.len())?;
        m.serialize_entry("error", &self.error)?;
        m.serialize_entry("error_field", &self.error_field.map(WinHttpField::name))?;
        m.serialize_entry("warnings", &self.warnings())?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::hex::parse_hex;

    fn bytes(h: &str) -> Vec<u8> {
        parse_hex(h).unwrap_or_default()
    }

    #[test]
    fn direct_reset_value() {
        let b = bytes("1800000000000000010000000000000000000000");
        let w = WinHttpSettings::decode(&b);
        assert_eq!(w.version, 0x18);
        assert!(w.direct() && !w.proxy_enabled());
        assert_eq!(w.error, None);
        assert_eq!(w.encode(), b);
        assert_eq!(WinHttpSettings::new(None, "").encode(), b);
        let j = serde_json::to_value(&w).unwrap_or_default();
        assert_eq!(j["value_kind"], "winhttp");
        assert_eq!(j["length"], 20);
        assert_eq!(j["proxy_server"], "");
        assert_eq!(j["extra_bytes"], 0);
        assert_eq!(j["error"], serde_json::Value::Null);
    }

    #[test]
    fn named_proxy() {
        let w = WinHttpSettings::new(Some("proxy.contoso.com:8080"), "<local>;*.contoso.com");
        let b = w.encode();
        assert_eq!(
            b.get(..12),
            Some(&[0x18, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0][..])
        );
        let d = WinHttpSettings::decode(&b);
        assert_eq!(d, w);
        assert_eq!(d.proxy_server.latin1(), "proxy.contoso.com:8080");
        assert_eq!(d.bypass_list.latin1(), "<local>;*.contoso.com");
        assert!(d.warnings().is_empty());
    }

    #[test]
    fn malformed_shapes() {
        let w = WinHttpSettings::decode(&bytes("18000000 00000000 0300"));
        assert_eq!(w.error, Some(BlobError::TruncatedHeader));
        assert_eq!(w.error_field, Some(WinHttpField::Flags));
        let w = WinHttpSettings::decode(&bytes("18000000 00000000 03000000 ffffffff 41"));
        assert_eq!(w.error, Some(BlobError::LengthOverrun));
        assert_eq!(w.error_field, Some(WinHttpField::ProxyServer));
        let w = WinHttpSettings::decode(&bytes("18000000 00000000 03000000 01000000 41 0000"));
        assert_eq!(w.error, Some(BlobError::Truncated));
        assert_eq!(w.error_field, Some(WinHttpField::BypassList));
        assert_eq!(w.proxy_server.latin1(), "A");
        let j = serde_json::to_value(&w).unwrap_or_default();
        assert_eq!(j["error"], "truncated");
        assert_eq!(j["error_field"], "bypass_list");
        assert_eq!(j["proxy_server"], "A");
        assert_eq!(j["bypass_list"], serde_json::Value::Null);
    }

    #[test]
    fn reported_0x28_tag_and_extra() {
        let b = bytes("28000000 00000000 03000000 00000000 00000000 abcd");
        let w = WinHttpSettings::decode(&b);
        assert_eq!(w.version, 0x28);
        assert_eq!(w.extra, vec![0xab, 0xcd]);
        let codes: Vec<_> = w.warnings().iter().map(|w| w.code).collect();
        assert_eq!(
            codes,
            vec!["unknown-version", "proxy-without-server", "extra-bytes"]
        );
        assert_eq!(w.encode(), b);
    }
}
