//! Key nodes (`nk`): name, flags, parent, subkey list and values list offsets.

use std::borrow::Cow;

use super::cell::Bins;
use super::{le_u16, le_u32, HiveError};

/// Name is Latin-1 ("compressed"), otherwise UTF-16LE.
const KEY_COMP_NAME: u16 = 0x0020;
/// Root key of the hive.
pub const KEY_HIVE_ENTRY: u16 = 0x0004;
/// Fixed part of a key node before its name.
const FIXED_LEN: usize = 76;

/// One key node, borrowed from the hive bytes.
#[derive(Debug, Clone, Copy)]
pub struct KeyNode<'h> {
    /// Cell offset relative to the hive bins data.
    pub offset: u32,
    pub flags: u16,
    pub last_written: u64,
    pub parent: u32,
    pub subkey_count: u32,
    pub subkey_list: u32,
    pub value_count: u32,
    pub value_list: u32,
    name: &'h [u8],
}

impl<'h> KeyNode<'h> {
    /// Reads the allocated key node at `offset`.
    pub fn read(bins: &Bins<'h>, offset: u32) -> Result<Self, HiveError> {
        Self::parse(bins.cell(offset, "key node")?, offset)
    }

    /// Parses key node cell data (also used on free cells by the deleted-key scan).
    pub fn parse(data: &'h [u8], offset: u32) -> Result<Self, HiveError> {
        let at = Bins::file_offset(offset);
        if data.get(..2) != Some(b"nk".as_slice()) {
            return Err(HiveError::BadSignature { at, expected: "nk" });
        }
        let u32_at = |o: usize| le_u32(data, o).unwrap_or(0);
        let name_len = usize::from(le_u16(data, 72).unwrap_or(0));
        let name = data
            .get(FIXED_LEN..FIXED_LEN + name_len)
            .filter(|_| data.len() >= FIXED_LEN)
            .ok_or(HiveError::CellTooSmall {
                at,
                what: "key node",
                need: (FIXED_LEN + name_len) as u64,
                have: data.len() as u64,
            })?;
        Ok(KeyNode {
            offset,
            flags: le_u16(data, 2).unwrap_or(0),
            last_written: super::le_u64(data, 4).unwrap_or(0),
            parent: u32_at(16),
            subkey_count: u32_at(20),
            subkey_list: u32_at(28),
            value_count: u32_at(36),
            value_list: u32_at(40),
            name,
        })
    }

    /// The key name, decoded as flagged (Latin-1 or UTF-16LE).
    pub fn name(&self) -> Cow<'h, str> {
        decode_name(self.name, self.flags & KEY_COMP_NAME != 0)
    }

    /// Case-insensitive comparison, as the registry compares names.
    pub fn name_matches(&self, wanted: &str) -> bool {
        names_equal(&self.name(), wanted)
    }
}

/// Decodes a key or value name: Latin-1 bytes when `compressed`, else UTF-16LE (lossy).
pub fn decode_name(raw: &[u8], compressed: bool) -> Cow<'_, str> {
    if compressed {
        if raw.is_ascii() {
            // ASCII is valid UTF-8: no copy.
            return Cow::Borrowed(std::str::from_utf8(raw).unwrap_or_default());
        }
        return Cow::Owned(raw.iter().map(|b| char::from(*b)).collect());
    }
    let units: Vec<u16> = raw.chunks_exact(2).filter_map(|c| le_u16(c, 0)).collect();
    Cow::Owned(String::from_utf16_lossy(&units))
}

/// Registry name equality: case-insensitive (simple uppercase per character).
pub fn names_equal(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_uppercase)
        .eq(b.chars().flat_map(char::to_uppercase))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn nk(name: &[u8], flags: u16) -> Vec<u8> {
        let mut d = vec![0u8; FIXED_LEN];
        d[..2].copy_from_slice(b"nk");
        d[2..4].copy_from_slice(&flags.to_le_bytes());
        d[20..24].copy_from_slice(&3u32.to_le_bytes());
        d[28..32].copy_from_slice(&0x120u32.to_le_bytes());
        d[72..74].copy_from_slice(&(name.len() as u16).to_le_bytes());
        d.extend_from_slice(name);
        d
    }

    #[test]
    fn ascii_and_utf16_names() {
        let d = nk(b"Internet Settings", KEY_COMP_NAME);
        let k = KeyNode::parse(&d, 32).unwrap();
        assert_eq!(k.name(), "Internet Settings");
        assert!(k.name_matches("INTERNET settings"));
        assert_eq!(k.subkey_count, 3);
        assert_eq!(k.subkey_list, 0x120);
        let utf16: Vec<u8> = "Verbindungen\u{e9}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let d = nk(&utf16, 0);
        let k = KeyNode::parse(&d, 32).unwrap();
        assert_eq!(k.name(), "Verbindungen\u{e9}");
        assert!(k.name_matches("VERBINDUNGEN\u{c9}"));
        let d = nk(&[0x43, 0xe9], KEY_COMP_NAME);
        assert_eq!(KeyNode::parse(&d, 32).unwrap().name(), "C\u{e9}");
    }

    #[test]
    fn name_longer_than_cell_is_an_error() {
        let mut d = nk(b"abc", KEY_COMP_NAME);
        d[72..74].copy_from_slice(&500u16.to_le_bytes());
        assert!(matches!(
            KeyNode::parse(&d, 32),
            Err(HiveError::CellTooSmall { need: 576, .. })
        ));
        assert!(matches!(
            KeyNode::parse(b"vk", 32),
            Err(HiveError::BadSignature { at: 4128, .. })
        ));
    }
}
