//! Shared registry vocabulary: root keys, value types, key paths and value data, as every
//! format (exports, console captures) names them.

use std::borrow::Cow;

use serde::Serialize;

/// A predefined registry root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Root {
    #[serde(rename = "HKEY_LOCAL_MACHINE")]
    LocalMachine,
    #[serde(rename = "HKEY_CURRENT_USER")]
    CurrentUser,
    #[serde(rename = "HKEY_USERS")]
    Users,
    #[serde(rename = "HKEY_CLASSES_ROOT")]
    ClassesRoot,
    #[serde(rename = "HKEY_CURRENT_CONFIG")]
    CurrentConfig,
    #[serde(rename = "HKEY_DYN_DATA")]
    DynData,
}

impl Root {
    /// The long name regedit writes.
    pub fn full_name(self) -> &'static str {
        match self {
            Root::LocalMachine => "HKEY_LOCAL_MACHINE",
            Root::CurrentUser => "HKEY_CURRENT_USER",
            Root::Users => "HKEY_USERS",
            Root::ClassesRoot => "HKEY_CLASSES_ROOT",
            Root::CurrentConfig => "HKEY_CURRENT_CONFIG",
            Root::DynData => "HKEY_DYN_DATA",
        }
    }

    /// Parses a root name case-insensitively; the flag says it was an abbreviation (`HKLM`).
    pub fn parse(name: &str) -> Option<(Root, bool)> {
        const LONG: [(&str, Root); 6] = [
            ("HKEY_LOCAL_MACHINE", Root::LocalMachine),
            ("HKEY_CURRENT_USER", Root::CurrentUser),
            ("HKEY_USERS", Root::Users),
            ("HKEY_CLASSES_ROOT", Root::ClassesRoot),
            ("HKEY_CURRENT_CONFIG", Root::CurrentConfig),
            ("HKEY_DYN_DATA", Root::DynData),
        ];
        const SHORT: [(&str, Root); 5] = [
            ("HKLM", Root::LocalMachine),
            ("HKCU", Root::CurrentUser),
            ("HKU", Root::Users),
            ("HKCR", Root::ClassesRoot),
            ("HKCC", Root::CurrentConfig),
        ];
        if let Some((_, r)) = LONG.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Some((*r, false));
        }
        SHORT
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, r)| (*r, true))
    }
}

/// A key path split at its root: `HKU\S-1-5-18\Software` → (Users, "S-1-5-18\Software").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyPath {
    pub root: Root,
    /// The part under the root, trailing backslashes removed, casing as written.
    pub subkey: String,
    /// The root was written abbreviated (`HKLM`), which regedit itself refuses.
    pub abbreviated: bool,
}

impl KeyPath {
    /// Parses `ROOT[\sub...]`; `None` when the root is unknown.
    pub fn parse(path: &str) -> Option<KeyPath> {
        let path = path.trim_end_matches('\\');
        let (root, rest) = match path.split_once('\\') {
            Some((r, rest)) => (r, rest),
            None => (path, ""),
        };
        let (root, abbreviated) = Root::parse(root)?;
        Some(KeyPath {
            root,
            subkey: rest.trim_end_matches('\\').to_string(),
            abbreviated,
        })
    }

    /// The path with the root spelled out in full.
    pub fn full(&self) -> String {
        if self.subkey.is_empty() {
            self.root.full_name().to_string()
        } else {
            format!("{}\\{}", self.root.full_name(), self.subkey)
        }
    }
}

/// A registry value type code with its Windows name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValueType(pub u32);

impl ValueType {
    pub const NONE: ValueType = ValueType(0);
    pub const SZ: ValueType = ValueType(1);
    pub const EXPAND_SZ: ValueType = ValueType(2);
    pub const BINARY: ValueType = ValueType(3);
    pub const DWORD: ValueType = ValueType(4);
    pub const DWORD_BIG_ENDIAN: ValueType = ValueType(5);
    pub const LINK: ValueType = ValueType(6);
    pub const MULTI_SZ: ValueType = ValueType(7);
    pub const RESOURCE_LIST: ValueType = ValueType(8);
    pub const FULL_RESOURCE_DESCRIPTOR: ValueType = ValueType(9);
    pub const RESOURCE_REQUIREMENTS_LIST: ValueType = ValueType(10);
    pub const QWORD: ValueType = ValueType(11);

    const NAMES: [&'static str; 12] = [
        "REG_NONE",
        "REG_SZ",
        "REG_EXPAND_SZ",
        "REG_BINARY",
        "REG_DWORD",
        "REG_DWORD_BIG_ENDIAN",
        "REG_LINK",
        "REG_MULTI_SZ",
        "REG_RESOURCE_LIST",
        "REG_FULL_RESOURCE_DESCRIPTOR",
        "REG_RESOURCE_REQUIREMENTS_LIST",
        "REG_QWORD",
    ];

    /// `REG_SZ` etc., or `0x…` for a type without a Windows name.
    pub fn name(self) -> Cow<'static, str> {
        match Self::NAMES.get(self.0 as usize) {
            Some(n) => Cow::Borrowed(n),
            None => Cow::Owned(format!("0x{:x}", self.0)),
        }
    }

    /// Parses a Windows type name as reg.exe prints it (`REG_BINARY`).
    pub fn from_name(name: &str) -> Option<ValueType> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| ValueType(i as u32))
    }

    /// String-typed values whose hex form gets a NUL terminator on import.
    pub fn is_string(self) -> bool {
        matches!(self, Self::SZ | Self::EXPAND_SZ | Self::MULTI_SZ)
    }
}

impl Serialize for ValueType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// The value of an ASCII hex digit, either case; None for any other byte.
pub fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of bytes, no separators (the contract's `data_hex`).
#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// A string as the registry stores it: UTF-16LE with a terminating NUL.
pub fn utf16le_with_nul(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() * 2 + 2);
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v.extend_from_slice(&[0, 0]);
    v
}

/// UTF-16LE bytes to a string, stopping at the first NUL; an odd last byte is ignored.
#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
pub fn utf16le_to_string(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// UTF-16LE REG_MULTI_SZ bytes to its strings (the closing empty string is not one).
#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
pub fn utf16le_to_multi(bytes: &[u8]) -> Vec<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    let mut out: Vec<String> = units
        .split(|u| *u == 0)
        .map(String::from_utf16_lossy)
        .collect();
    // "a\0b\0\0" splits into a, b, "", "": drop the terminator's empties at the end.
    while out.last().is_some_and(|s| s.is_empty()) {
        out.pop();
    }
    out
}

/// For string data that holds `user:password@` (a `ProxyServer` with credentials, say), the
/// registry bytes of the redacted string; `None` when there is nothing to hide. Output shows
/// these instead of the real bytes (marked `"redacted": true`); the library keeps the real ones.
pub fn redacted_string_bytes(ty: ValueType, bytes: &[u8]) -> Option<Vec<u8>> {
    if !ty.is_string() || !bytes.chunks_exact(2).any(|u| u == [b'@', 0]) {
        return None;
    }
    if ty == ValueType::MULTI_SZ {
        let items = utf16le_to_multi(bytes);
        let hidden: Vec<String> = items
            .iter()
            .map(|i| crate::secrets::redact(i).into_owned())
            .collect();
        if hidden == items {
            return None;
        }
        let mut out = Vec::new();
        for h in &hidden {
            out.extend(utf16le_with_nul(h));
        }
        out.extend_from_slice(&[0, 0]);
        return Some(out);
    }
    let text = utf16le_to_string(bytes);
    match crate::secrets::redact(&text) {
        std::borrow::Cow::Owned(hidden) => Some(utf16le_with_nul(&hidden)),
        std::borrow::Cow::Borrowed(_) => None,
    }
}

/// The decoded form of value data for JSON: string types as text, numbers as numbers,
/// REG_MULTI_SZ as a list, anything else `null` (the bytes are in `data_hex`).
#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
pub fn decoded_data(ty: ValueType, bytes: &[u8]) -> serde_json::Value {
    use serde_json::Value;
    match ty {
        ValueType::SZ | ValueType::EXPAND_SZ | ValueType::LINK => {
            Value::String(utf16le_to_string(bytes))
        }
        ValueType::MULTI_SZ => Value::Array(
            utf16le_to_multi(bytes)
                .into_iter()
                .map(Value::String)
                .collect(),
        ),
        ValueType::DWORD if bytes.len() == 4 => {
            Value::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        }
        ValueType::DWORD_BIG_ENDIAN if bytes.len() == 4 => {
            Value::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        }
        ValueType::QWORD if bytes.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(bytes);
            Value::from(u64::from_le_bytes(a))
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_case_insensitive_and_abbreviations_flagged() {
        assert_eq!(Root::parse("hkey_users"), Some((Root::Users, false)));
        assert_eq!(Root::parse("HKU"), Some((Root::Users, true)));
        assert_eq!(Root::parse("HKEY_CURRENT_USERS"), None);
    }

    #[test]
    fn key_path_spells_root_and_strips_trailing_backslashes() {
        let k = KeyPath::parse("HKU\\S-1-5-18\\Software\\\\").unwrap();
        assert_eq!(k.full(), "HKEY_USERS\\S-1-5-18\\Software");
        assert!(k.abbreviated);
    }

    #[test]
    fn type_names() {
        assert_eq!(ValueType(3).name(), "REG_BINARY");
        assert_eq!(ValueType(0xabcd).name(), "0xabcd");
        assert_eq!(ValueType::from_name("REG_QWORD"), Some(ValueType::QWORD));
    }

    #[test]
    fn credentials_in_string_values_are_redacted_for_output() {
        let b = utf16le_with_nul("http://svc:Pw0rd@proxy:8080");
        let hidden = redacted_string_bytes(ValueType::SZ, &b).unwrap();
        assert_eq!(utf16le_to_string(&hidden), "http://***@proxy:8080");
        assert!(redacted_string_bytes(ValueType::SZ, &utf16le_with_nul("proxy:8080")).is_none());
        assert!(redacted_string_bytes(ValueType::BINARY, &b).is_none());
    }

    #[test]
    fn multi_sz_round_trip() {
        let mut b = Vec::new();
        for s in ["a", "b", ""] {
            b.extend(utf16le_with_nul(s));
        }
        assert_eq!(utf16le_to_multi(&b), vec!["a", "b"]);
        assert_eq!(hex_lower(&utf16le_with_nul("t")), "74000000");
    }
}

/// The registry keys that hold proxy settings, spelled once for every reader and writer.
pub mod keys {
    /// An account's (or HKLM's) WinINet settings, below its hive root.
    pub const INTERNET_SETTINGS: &str =
        "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";
    /// Where `DefaultConnectionSettings` (and HKLM's `WinHttpSettings`) live.
    pub const CONNECTIONS: &str =
        "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";
    /// The Group Policy key that holds `ProxySettingsPerUser`.
    pub const POLICY_INTERNET_SETTINGS: &str =
        "Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";
    /// The value the documented procedure compares and copies.
    pub const CONNECTION_VALUE: &str = "DefaultConnectionSettings";

    /// What a key holding proxy settings is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KeyRole {
        Connections,
        InternetSettings,
        Policy,
        Other,
    }

    /// The role of a full key path (any root, any casing).
    pub fn key_role(path: &str) -> KeyRole {
        // Called for every key line and value of every capture: no allocation.
        if POLICY_FINDER.is_match(path) {
            KeyRole::Policy
        } else if ends_with_ignore_ascii_case(path, "\\internet settings\\connections") {
            KeyRole::Connections
        } else if ends_with_ignore_ascii_case(path, "\\internet settings") {
            KeyRole::InternetSettings
        } else {
            KeyRole::Other
        }
    }

    const POLICY_NEEDLE: &str = "\\policies\\microsoft\\windows\\currentversion\\internet settings";

    /// The policy key's path, found in any ASCII casing.
    static POLICY_FINDER: std::sync::LazyLock<PolicyFinder> = std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([POLICY_NEEDLE])
            .map_or(PolicyFinder::Lowercase, PolicyFinder::Automaton)
    });

    enum PolicyFinder {
        Automaton(aho_corasick::AhoCorasick),
        /// The automaton of one fixed needle always builds; without it, lowercase and search.
        Lowercase,
    }

    impl PolicyFinder {
        fn is_match(&self, path: &str) -> bool {
            match self {
                PolicyFinder::Automaton(ac) => ac.is_match(path),
                PolicyFinder::Lowercase => path.to_ascii_lowercase().contains(POLICY_NEEDLE),
            }
        }
    }

    fn ends_with_ignore_ascii_case(s: &str, suffix: &str) -> bool {
        s.len()
            .checked_sub(suffix.len())
            .and_then(|start| s.as_bytes().get(start..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn roles_of_the_proxy_keys() {
            assert_eq!(
                key_role(&format!("HKEY_USERS\\S-1-5-19\\{CONNECTIONS}")),
                KeyRole::Connections
            );
            assert_eq!(
                key_role(&format!("HKCU\\{INTERNET_SETTINGS}")),
                KeyRole::InternetSettings
            );
            assert_eq!(
                key_role(&format!("HKEY_LOCAL_MACHINE\\{POLICY_INTERNET_SETTINGS}")),
                KeyRole::Policy
            );
            assert_eq!(key_role("HKCU\\Software\\Other"), KeyRole::Other);
            assert_eq!(
                key_role("hkcu\\SOFTWARE\\MICROSOFT\\WINDOWS\\CURRENTVERSION\\INTERNET SETTINGS\\CONNECTIONS"),
                KeyRole::Connections
            );
            assert_eq!(
                key_role("HKLM\\SOFTWARE\\POLICIES\\MICROSOFT\\Windows\\CurrentVersion\\Internet Settings\\Connections"),
                KeyRole::Policy
            );
            assert_eq!(key_role("Internet Settings"), KeyRole::Other);
            assert_eq!(key_role(""), KeyRole::Other);
        }
    }
}
