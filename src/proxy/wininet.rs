//! WinINet connection blobs (`DefaultConnectionSettings`, `SavedLegacySettings`, named
//! per-connection values): exact decoding, including the WPAD trailer, and exact encoding.
//!
//! Layout (all DWORDs little-endian): version (0x3C IE5/6, 0x46 IE7+), change counter, flags,
//! three length-prefixed narrow strings (proxy, bypass, PAC URL), then an optional trailer
//! (autodiscovery flags, last-known-good PAC URL, FILETIME, detected IPv4 list, secondary URL,
//! reload delay, and for 0x46 the 128-byte network-key records). See
//! `shared/notes/proxy-blobs.md` section a.
//!
//! [`ConnectionSettings::decode`] never fails: a malformed blob keeps the fields decoded before
//! the problem plus the raw rest, so `encode(decode(x)) == x` for every input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::blob::{filetime_to_iso, BlobError, RawString, Reader};
use crate::registry::hex_lower;

/// The IE5/IE6 layout tag (no network-key count in the trailer).
pub const VERSION_IE5: u32 = 0x3C;
/// The IE7+ layout tag written by every modern Windows.
pub const VERSION_IE7: u32 = 0x46;
/// `PROXY_TYPE_DIRECT`: always set by the UI.
pub const FLAG_DIRECT: u32 = 0x01;
/// `PROXY_TYPE_PROXY`: "Use a proxy server for your LAN".
pub const FLAG_PROXY: u32 = 0x02;
/// `PROXY_TYPE_AUTO_PROXY_URL`: "Use automatic configuration script".
pub const FLAG_AUTO_PROXY_URL: u32 = 0x04;
/// `PROXY_TYPE_AUTO_DETECT`: "Automatically detect settings".
pub const FLAG_AUTO_DETECT: u32 = 0x08;
/// Every documented flag bit.
pub const KNOWN_FLAGS: u32 = 0x0F;
/// Size of one network-key record (`WINHTTP_PROXY_NETWORKING_KEY`).
pub const NETWORK_KEY_SIZE: usize = 128;

/// The fields of the fixed part, in blob order (the order matters: see `error_field`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Version,
    Counter,
    Flags,
    ProxyServer,
    BypassList,
    AutoConfigUrl,
}

impl Field {
    /// Every field, in blob order.
    pub const ALL: [Field; 6] = [
        Field::Version,
        Field::Counter,
        Field::Flags,
        Field::ProxyServer,
        Field::BypassList,
        Field::AutoConfigUrl,
    ];

    /// The contract's JSON name of the field.
    pub fn name(self) -> &'static str {
        match self {
            Field::Version => "version",
            Field::Counter => "counter",
            Field::Flags => "flags",
            Field::ProxyServer => "proxy_server",
            Field::BypassList => "bypass_list",
            Field::AutoConfigUrl => "auto_config_url",
        }
    }
}

/// The fields of the WPAD trailer, in blob order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrailerField {
    AutodiscoveryFlags,
    LastKnownGoodAutoConfigUrl,
    LastDetectTime,
    DetectedIpv4,
    AutoConfigSecondaryUrl,
    AutoConfigReloadDelayMins,
    NetworkKeys,
}

impl TrailerField {
    /// The contract's JSON name of the field (inside `trailer`).
    pub fn name(self) -> &'static str {
        match self {
            TrailerField::AutodiscoveryFlags => "autodiscovery_flags",
            TrailerField::LastKnownGoodAutoConfigUrl => "last_known_good_auto_config_url",
            TrailerField::LastDetectTime => "last_detect_time",
            TrailerField::DetectedIpv4 => "detected_ipv4",
            TrailerField::AutoConfigSecondaryUrl => "auto_config_secondary_url",
            TrailerField::AutoConfigReloadDelayMins => "auto_config_reload_delay_mins",
            TrailerField::NetworkKeys => "network_keys",
        }
    }
}

/// One 128-byte network-key record (a sockaddr-storage-like interface address WPAD ran on).
/// The raw bytes are kept so encoding is exact even when the padding is not zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkKey {
    /// Exactly [`NETWORK_KEY_SIZE`] bytes.
    pub raw: Vec<u8>,
}

impl NetworkKey {
    /// A record from its 128 bytes (shorter input is zero-padded, longer cut).
    pub fn from_raw(bytes: &[u8]) -> NetworkKey {
        let mut raw = bytes.get(..NETWORK_KEY_SIZE).unwrap_or(bytes).to_vec();
        raw.resize(NETWORK_KEY_SIZE, 0);
        NetworkKey { raw }
    }

    /// An IPv4 record (family 2) for an address and port.
    #[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
    pub fn ipv4(addr: Ipv4Addr, port: u16) -> NetworkKey {
        let mut raw = vec![0u8; NETWORK_KEY_SIZE];
        raw[0..2].copy_from_slice(&2u16.to_le_bytes());
        raw[2..4].copy_from_slice(&port.to_be_bytes());
        raw[4..8].copy_from_slice(&addr.octets());
        NetworkKey { raw }
    }

    fn byte_at(&self, i: usize) -> u8 {
        self.raw.get(i).copied().unwrap_or(0)
    }

    fn u32_le_at(&self, i: usize) -> u32 {
        u32::from_le_bytes([
            self.byte_at(i),
            self.byte_at(i + 1),
            self.byte_at(i + 2),
            self.byte_at(i + 3),
        ])
    }

    /// Address family: 2 = IPv4, 23 = IPv6 (Windows `AF_INET6`).
    pub fn family(&self) -> u16 {
        u16::from_le_bytes([self.byte_at(0), self.byte_at(1)])
    }

    /// Port (network byte order in the record).
    pub fn port(&self) -> u16 {
        u16::from_be_bytes([self.byte_at(2), self.byte_at(3)])
    }

    /// The interface address, for the two known families.
    pub fn address(&self) -> Option<IpAddr> {
        match self.family() {
            2 => Some(IpAddr::V4(Ipv4Addr::new(
                self.byte_at(4),
                self.byte_at(5),
                self.byte_at(6),
                self.byte_at(7),
            ))),
            23 => {
                let mut a = [0u8; 16];
                for (i, b) in a.iter_mut().enumerate() {
                    *b = self.byte_at(8 + i);
                }
                Some(IpAddr::V6(Ipv6Addr::from(a)))
            }
            _ => None,
        }
    }

    /// IPv6 scope id (interface index), for family 23.
    pub fn scope_id(&self) -> Option<u32> {
        (self.family() == 23).then(|| self.u32_le_at(24))
    }
}

impl Serialize for NetworkKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("family", &self.family())?;
        m.serialize_entry("address", &self.address().map(|a| a.to_string()))?;
        m.serialize_entry("port", &self.port())?;
        if let Some(scope) = self.scope_id() {
            m.serialize_entry("scope_id", &scope)?;
        }
        m.end()
    }
}

/// WinINet's own auto-proxy (WPAD) state after the three strings. Never part of the
/// settings' meaning; decoded for display and for exact re-encoding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trailer {
    /// `AUTO_PROXY_FLAG_*` bits (USER_SET 0x1, ALWAYS_DETECT 0x2, DETECTION_RUN 0x4, ...).
    pub autodiscovery_flags: u32,
    /// The PAC URL WPAD last found.
    pub last_known_good_auto_config_url: RawString,
    /// Last detection as a FILETIME (0 = never).
    pub last_detect_time: u64,
    /// Interface IPv4 addresses seen at detection time.
    pub detected_ipv4: Vec<Ipv4Addr>,
    /// Secondary PAC URL.
    pub auto_config_secondary_url: RawString,
    /// PAC reload delay in minutes.
    pub auto_config_reload_delay_mins: u32,
    /// Network keys (0x46 layout); `None` when the blob has no key count (0x3C layout).
    pub network_keys: Option<Vec<NetworkKey>>,
    /// Bytes after the last known field.
    pub extra: Vec<u8>,
    /// Why the trailer could not be decoded to the end (non-fatal).
    pub error: Option<BlobError>,
    /// The trailer field that failed.
    pub error_field: Option<TrailerField>,
    /// When `error` is set: the raw bytes from the failing field on (kept for exact encoding).
    pub raw_tail: Vec<u8>,
}

impl Trailer {
    /// The empty trailer Windows writes: all zero, with a key count for the 0x46 layout.
    pub fn empty(version: u32) -> Trailer {
        Trailer {
            network_keys: (version != VERSION_IE5).then(Vec::new),
            ..Trailer::default()
        }
    }

    fn decoded(&self, f: TrailerField) -> bool {
        self.error_field.is_none_or(|e| f < e)
    }

    #[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
    fn decode(bytes: &[u8], version: u32) -> Trailer {
        let mut t = Trailer::default();
        let mut r = Reader::new(bytes);
        macro_rules! fail {
            ($field:expr, $err:expr, $mark:expr) => {{
                t.error = Some($err);
                t.error_field = Some($field);
                t.raw_tail = $mark.rest().to_vec();
                return t;
            }};
        }
        let mark = r.clone();
        match r.u32() {
            Ok(v) => t.autodiscovery_flags = v,
            Err(e) => fail!(TrailerField::AutodiscoveryFlags, e, mark),
        }
        let mark = r.clone();
        match r.string() {
            Ok(v) => t.last_known_good_auto_config_url = v,
            Err(e) => fail!(TrailerField::LastKnownGoodAutoConfigUrl, e, mark),
        }
        let mark = r.clone();
        match r.u64() {
            Ok(v) => t.last_detect_time = v,
            Err(e) => fail!(TrailerField::LastDetectTime, e, mark),
        }
        let mark = r.clone();
        match r.u32().and_then(|n| r.records(n, 4)) {
            Ok(recs) => {
                t.detected_ipv4 = recs
                    .chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect();
            }
            Err(e) => fail!(TrailerField::DetectedIpv4, e, mark),
        }
        let mark = r.clone();
        match r.string() {
            Ok(v) => t.auto_config_secondary_url = v,
            Err(e) => fail!(TrailerField::AutoConfigSecondaryUrl, e, mark),
        }
        let mark = r.clone();
        match r.u32() {
            Ok(v) => t.auto_config_reload_delay_mins = v,
            Err(e) => fail!(TrailerField::AutoConfigReloadDelayMins, e, mark),
        }
        if version != VERSION_IE5 && r.remaining() > 0 {
            let mark = r.clone();
            match r.u32().and_then(|n| r.records(n, NETWORK_KEY_SIZE)) {
                Ok(recs) => {
                    t.network_keys = Some(
                        recs.chunks_exact(NETWORK_KEY_SIZE)
                            .map(NetworkKey::from_raw)
                            .collect(),
                    );
                }
                Err(e) => fail!(TrailerField::NetworkKeys, e, mark),
            }
        }
        t.extra = r.rest().to_vec();
        t
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        let tail = |f: TrailerField, out: &mut Vec<u8>| -> bool {
            if self.error_field == Some(f) {
                out.extend_from_slice(&self.raw_tail);
                true
            } else {
                false
            }
        };
        if tail(TrailerField::AutodiscoveryFlags, out) {
            return;
        }
        out.extend_from_slice(&self.autodiscovery_flags.to_le_bytes());
        if tail(TrailerField::LastKnownGoodAutoConfigUrl, out) {
            return;
        }
        self.last_known_good_auto_config_url.encode_into(out);
        if tail(TrailerField::LastDetectTime, out) {
            return;
        }
        out.extend_from_slice(&self.last_detect_time.to_le_bytes());
        if tail(TrailerField::DetectedIpv4, out) {
            return;
        }
        let n = u32::try_from(self.detected_ipv4.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        for ip in &self.detected_ipv4 {
            out.extend_from_slice(&ip.octets());
        }
        if tail(TrailerField::AutoConfigSecondaryUrl, out) {
            return;
        }
        self.auto_config_secondary_url.encode_into(out);
        if tail(TrailerField::AutoConfigReloadDelayMins, out) {
            return;
        }
        out.extend_from_slice(&self.auto_config_reload_delay_mins.to_le_bytes());
        if tail(TrailerField::NetworkKeys, out) {
            return;
        }
        if let Some(keys) = &self.network_keys {
            let n = u32::try_from(keys.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&n.to_le_bytes());
            for k in keys {
                let mut rec = k.raw.clone();
                rec.resize(NETWORK_KEY_SIZE, 0);
                out.extend_from_slice(&rec);
            }
        }
        out.extend_from_slice(&self.extra);
    }

    /// The last detection time as UTC ISO-8601, `None` when never run (0).
    pub fn last_detect_time_iso(&self) -> Option<String> {
        filetime_to_iso(self.last_detect_time)
    }
}

impl Serialize for Trailer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use TrailerField as F;
        let mut m = s.serialize_map(None)?;
        let d = |f| self.decoded(f);
        m.serialize_entry(
            "autodiscovery_flags",
            &d(F::AutodiscoveryFlags).then_some(self.autodiscovery_flags),
        )?;
        string_entries(
            &mut m,
            "last_known_good_auto_config_url",
            d(F::LastKnownGoodAutoConfigUrl).then_some(&self.last_known_good_auto_config_url),
        )?;
        m.serialize_entry(
            "last_detect_time",
            &d(F::LastDetectTime)
                .then(|| self.last_detect_time_iso())
                .flatten(),
        )?;
        m.serialize_entry(
            "detected_ipv4",
            &d(F::DetectedIpv4).then(|| {
                self.detected_ipv4
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
            }),
        )?;
        string_entries(
            &mut m,
            "auto_config_secondary_url",
            d(F::AutoConfigSecondaryUrl).then_some(&self.auto_config_secondary_url),
        )?;
        m.serialize_entry(
            "auto_config_reload_delay_mins",
            &d(F::AutoConfigReloadDelayMins).then_some(self.auto_config_reload_delay_mins),
        )?;
        let keys: &[NetworkKey] = self.network_keys.as_deref().unwrap_or(&[]);
        m.serialize_entry("network_keys", keys)?;
        m.serialize_entry("has_network_key_count", &self.network_keys.is_some())?;
        m.serialize_entry("extra_bytes", &self.extra.len())?;
        if let Some(e) = self.error {
            m.serialize_entry("error", &e)?;
            m.serialize_entry("error_field", &self.error_field.map(TrailerField::name))?;
        }
        m.end()
    }
}

/// Writes `name` (Latin-1 text or null) and, for bytes above 0x7F, `name_hex`.
pub(crate) fn string_entries<M: SerializeMap>(
    m: &mut M,
    name: &'static str,
    value: Option<&RawString>,
) -> Result<(), M::Error> {
    // Every string field may hold `user:password@` (proxy, PAC URL): passwords never leave.
    let shown = value.map(|v| {
        let text = v.latin1();
        match super::redact(&text) {
            std::borrow::Cow::Borrowed(_) => (text, None),
            std::borrow::Cow::Owned(r) => {
                let bytes = RawString::from_text(&r);
                (r, Some(bytes))
            }
        }
    });
    m.serialize_entry(name, &shown.as_ref().map(|(t, _)| t))?;
    if let (Some(v), Some((_, redacted))) = (value.filter(|v| v.has_high_bytes()), &shown) {
        let bytes = redacted.as_ref().map_or(v.bytes(), RawString::bytes);
        m.serialize_entry(&format!("{name}_hex"), &hex_lower(bytes))?;
    }
    Ok(())
}

/// A problem worth telling the support engineer about, found in a decoded value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobWarning {
    /// Stable identifier (`unknown-version`, `direct-bit-missing`, ...).
    pub code: &'static str,
    /// One sentence for people.
    pub message: String,
}

fn warn(code: &'static str, message: impl Into<String>) -> BlobWarning {
    BlobWarning {
        code,
        message: message.into(),
    }
}

/// A decoded WinINet connection blob. `Serialize` gives the contract's `decode` JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Layout tag: 0x3C (IE5/6) or 0x46 (IE7+); others are decoded with the same layout.
    pub version: u32,
    /// Change counter: bumped on every save, never part of the settings.
    pub counter: u32,
    /// `PROXY_TYPE_*` bits.
    pub flags: u32,
    /// Proxy server string (`host:port` or a per-scheme list); meaningful with 0x02.
    pub proxy_server: RawString,
    /// Bypass list (`ProxyOverride`); meaningful with 0x02.
    pub bypass_list: RawString,
    /// PAC URL; meaningful with 0x04.
    pub auto_config_url: RawString,
    /// The WPAD trailer, `None` when the blob ends after the PAC URL.
    pub trailer: Option<Trailer>,
    /// Why decoding stopped early (fields from `error_field` on are not decoded).
    pub error: Option<BlobError>,
    /// The field that could not be decoded.
    pub error_field: Option<Field>,
    /// When `error` is set: the raw bytes from the failing field on (kept for exact encoding).
    pub raw_tail: Vec<u8>,
}

impl ConnectionSettings {
    /// A fresh 0x46 blob as Windows writes it (empty trailer, 56 bytes when strings are empty).
    pub fn new(flags: u32, proxy_server: &str, bypass_list: &str, auto_config_url: &str) -> Self {
        ConnectionSettings {
            version: VERSION_IE7,
            counter: 0,
            flags,
            proxy_server: RawString::from_text(proxy_server),
            bypass_list: RawString::from_text(bypass_list),
            auto_config_url: RawString::from_text(auto_config_url),
            trailer: Some(Trailer::empty(VERSION_IE7)),
            error: None,
            error_field: None,
            raw_tail: Vec::new(),
        }
    }

    /// Decodes a blob. Never fails: problems go to `error`/`error_field` (fatal, later fields
    /// not decoded) or `trailer.error` (non-fatal). No allocation is sized from the data.
    pub fn decode(bytes: &[u8]) -> ConnectionSettings {
        let mut s = ConnectionSettings {
            version: 0,
            counter: 0,
            flags: 0,
            proxy_server: RawString::default(),
            bypass_list: RawString::default(),
            auto_config_url: RawString::default(),
            trailer: None,
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
            Err(_) => fail!(Field::Version, BlobError::TruncatedHeader),
        }
        match r.u32() {
            Ok(v) => s.counter = v,
            Err(_) => fail!(Field::Counter, BlobError::TruncatedHeader),
        }
        match r.u32() {
            Ok(v) => s.flags = v,
            Err(_) => fail!(Field::Flags, BlobError::TruncatedHeader),
        }
        match r.string() {
            Ok(v) => s.proxy_server = v,
            Err(e) => fail!(Field::ProxyServer, e),
        }
        match r.string() {
            Ok(v) => s.bypass_list = v,
            Err(e) => fail!(Field::BypassList, e),
        }
        match r.string() {
            Ok(v) => s.auto_config_url = v,
            Err(e) => fail!(Field::AutoConfigUrl, e),
        }
        if r.remaining() > 0 {
            s.trailer = Some(Trailer::decode(r.rest(), s.version));
        }
        s
    }

    /// The exact bytes of this blob (`encode(decode(x)) == x` for every `x`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            56 + self.proxy_server.0.len()
                + self.bypass_list.0.len()
                + self.auto_config_url.0.len()
                + self.raw_tail.len(),
        );
        for f in Field::ALL {
            if self.error_field == Some(f) {
                out.extend_from_slice(&self.raw_tail);
                return out;
            }
            match f {
                Field::Version => out.extend_from_slice(&self.version.to_le_bytes()),
                Field::Counter => out.extend_from_slice(&self.counter.to_le_bytes()),
                Field::Flags => out.extend_from_slice(&self.flags.to_le_bytes()),
                Field::ProxyServer => self.proxy_server.encode_into(&mut out),
                Field::BypassList => self.bypass_list.encode_into(&mut out),
                Field::AutoConfigUrl => self.auto_config_url.encode_into(&mut out),
            }
        }
        if let Some(t) = &self.trailer {
            t.encode_into(&mut out);
        }
        out
    }

    /// True when `f` was decoded (it comes before the failing field, if any).
    pub fn decoded(&self, f: Field) -> bool {
        self.error_field.is_none_or(|e| f < e)
    }

    /// The version tag is below 0x3C (a zero-filled value, a hand-made blob): the .NET
    /// Framework reader (the sensor's) ignores the blob and assumes automatic detection only,
    /// as for a missing value. This is the one meaning `decode` and the analysis both use.
    pub fn ignored_by_readers(&self) -> bool {
        self.decoded(Field::Version) && self.version < VERSION_IE5
    }

    /// The layout tag is one Windows writes (0x3C or 0x46).
    pub fn version_known(&self) -> bool {
        self.version == VERSION_IE5 || self.version == VERSION_IE7
    }

    /// Bit 0x01 (`PROXY_TYPE_DIRECT`).
    pub fn direct(&self) -> bool {
        self.flags & FLAG_DIRECT != 0
    }

    /// Bit 0x02: the manual proxy is on.
    pub fn proxy_enabled(&self) -> bool {
        self.flags & FLAG_PROXY != 0
    }

    /// Bit 0x04: the PAC URL is on.
    pub fn auto_config_url_enabled(&self) -> bool {
        self.flags & FLAG_AUTO_PROXY_URL != 0
    }

    /// Bit 0x08: automatic detection (WPAD) is on.
    pub fn auto_detect(&self) -> bool {
        self.flags & FLAG_AUTO_DETECT != 0
    }

    /// Flag bits above 0x08 (never written by Windows; typically a script's typo).
    pub fn unknown_flag_bits(&self) -> u32 {
        self.flags & !KNOWN_FLAGS
    }

    /// Length in bytes of the encoded blob (the input length for a decoded one).
    pub fn length(&self) -> usize {
        self.encode().len()
    }

    /// The flags in words, e.g. `direct, proxy, auto-detect`.
    pub fn flags_in_words(&self) -> String {
        flags_in_words(self.flags)
    }

    /// Everything odd about this blob, for people (the analyser turns some into findings).
    pub fn warnings(&self) -> Vec<BlobWarning> {
        let mut w = Vec::new();
        if let (Some(e), Some(f)) = (self.error, self.error_field) {
            w.push(warn(
                "blob-malformed",
                format!(
                    "the blob is malformed ({e} at {}); fields from there on are not decoded",
                    f.name()
                ),
            ));
        }
        if !self.decoded(Field::Version) {
            return w;
        }
        if self.version < VERSION_IE5 {
            w.push(warn(
                "unknown-version",
                format!(
                    "version 0x{:X} is below 0x3C: .NET ignores such a blob and assumes automatic detection",
                    self.version
                ),
            ));
        } else if !self.version_known() {
            w.push(warn(
                "unknown-version",
                format!(
                    "version 0x{:X} is neither 0x3C nor 0x46; decoded with the 0x46 layout",
                    self.version
                ),
            ));
        }
        if !self.decoded(Field::Flags) {
            return w;
        }
        if self.unknown_flag_bits() != 0 {
            w.push(warn(
                "unknown-flag-bits",
                format!(
                    "flags 0x{:X} carry undocumented bits 0x{:X} (a script writing decimal as hex?)",
                    self.flags,
                    self.unknown_flag_bits()
                ),
            ));
        }
        if self.proxy_enabled() && !self.direct() {
            w.push(warn(
                "direct-bit-missing",
                "the proxy bit 0x02 is set without the direct bit 0x01 (UI always writes both; reported not to take effect)",
            ));
        }
        if self.proxy_enabled() && self.decoded(Field::ProxyServer) && self.proxy_server.is_empty()
        {
            w.push(warn(
                "proxy-without-server",
                "the proxy bit 0x02 is set but the proxy server is empty: effectively direct",
            ));
        }
        if self.auto_config_url_enabled()
            && self.decoded(Field::AutoConfigUrl)
            && self.auto_config_url.is_empty()
        {
            w.push(warn(
                "pac-without-url",
                "the PAC bit 0x04 is set but the PAC URL is empty",
            ));
        }
        for (f, v) in [
            (Field::ProxyServer, &self.proxy_server),
            (Field::BypassList, &self.bypass_list),
            (Field::AutoConfigUrl, &self.auto_config_url),
        ] {
            if !self.decoded(f) {
                continue;
            }
            if v.has_nul() {
                w.push(warn(
                    "nul-in-string",
                    format!(
                        "{} contains NUL bytes (a UTF-16 string written by a script?)",
                        f.name()
                    ),
                ));
            } else if v.has_high_bytes() {
                w.push(warn(
                    "non-ascii-string",
                    format!(
                        "{} contains bytes above 0x7F (code page undocumented; see {}_hex)",
                        f.name(),
                        f.name()
                    ),
                ));
            }
        }
        if let Some(t) = &self.trailer {
            if let (Some(e), Some(f)) = (t.error, t.error_field) {
                w.push(warn(
                    "trailer-malformed",
                    format!(
                        "the WPAD trailer is malformed ({e} at {}); the settings are unaffected",
                        f.name()
                    ),
                ));
            }
            if !t.extra.is_empty() {
                w.push(warn(
                    "extra-bytes",
                    format!("{} bytes after the last known field", t.extra.len()),
                ));
            }
        }
        w
    }
}

/// Flag bits in words (`direct, proxy, pac, auto-detect`, unknown bits in hex).
pub fn flags_in_words(flags: u32) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (bit, word) in [
        (FLAG_DIRECT, "direct"),
        (FLAG_PROXY, "proxy"),
        (FLAG_AUTO_PROXY_URL, "PAC script"),
        (FLAG_AUTO_DETECT, "auto-detect"),
    ] {
        if flags & bit != 0 {
            parts.push(word.to_string());
        }
    }
    if flags & !KNOWN_FLAGS != 0 {
        parts.push(format!("unknown 0x{:X}", flags & !KNOWN_FLAGS));
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

/// `AUTO_PROXY_FLAG_*` bits of the trailer in words (`USER_SET, DETECTION_RUN`, ...).
pub fn autodiscovery_flags_in_words(flags: u32) -> String {
    const NAMES: [(u32, &str); 7] = [
        (0x01, "USER_SET"),
        (0x02, "ALWAYS_DETECT"),
        (0x04, "DETECTION_RUN"),
        (0x08, "MIGRATED"),
        (0x10, "DONT_CACHE_PROXY_RESULT"),
        (0x20, "CACHE_INIT_RUN"),
        (0x40, "DETECTION_SUSPECT"),
    ];
    let mut parts: Vec<String> = NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .collect();
    if flags & !0x7F != 0 {
        parts.push(format!("unknown 0x{:X}", flags & !0x7F));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// A narrow string for people: printable ASCII as is, every other byte as `\xNN`.
pub fn display_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..0x7F).contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02X}"));
        }
    }
    s
}

impl Serialize for ConnectionSettings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let hdr = |f: Field, v: u32| self.decoded(f).then_some(v);
        let fl = self.decoded(Field::Flags);
        m.serialize_entry("value_kind", "wininet")?;
        m.serialize_entry("length", &self.length())?;
        m.serialize_entry("version", &hdr(Field::Version, self.version))?;
        m.serialize_entry(
            "version_known",
            &(self.decoded(Field::Version) && self.version_known()),
        )?;
        m.serialize_entry("counter", &hdr(Field::Counter, self.counter))?;
        m.serialize_entry("flags", &hdr(Field::Flags, self.flags))?;
        m.serialize_entry("direct", &fl.then(|| self.direct()))?;
        m.serialize_entry("proxy_enabled", &fl.then(|| self.proxy_enabled()))?;
        m.serialize_entry(
            "auto_config_url_enabled",
            &fl.then(|| self.auto_config_url_enabled()),
        )?;
        m.serialize_entry("auto_detect", &fl.then(|| self.auto_detect()))?;
        m.serialize_entry("unknown_flag_bits", &fl.then(|| self.unknown_flag_bits()))?;
        string_entries(
            &mut m,
            "proxy_server",
            self.decoded(Field::ProxyServer)
                .then_some(&self.proxy_server),
        )?;
        string_entries(
            &mut m,
            "bypass_list",
            self.decoded(Field::BypassList).then_some(&self.bypass_list),
        )?;
        string_entries(
            &mut m,
            "auto_config_url",
            self.decoded(Field::AutoConfigUrl)
                .then_some(&self.auto_config_url),
        )?;
        m.serialize_entry("trailer", &self.trailer)?;
        m.serialize_entry("error", &self.error)?;
        m.serialize_entry("error_field", &self.error_field.map(Field::name))?;
        m.serialize_entry("warnings", &self.warnings())?;
        m.end()
    }
}

#[cfg(test)]
mod tests;
