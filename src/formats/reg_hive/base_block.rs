//! The 4 KiB base block (`regf` header): sequence numbers, version, root cell, embedded name,
//! XOR-32 checksum. Transaction logs carry a 512-byte copy of it (file type 6).

use super::{le_u16, le_u32, le_u64, HiveError};

/// Length of the base block of a primary file; hive bins start right after it.
pub const BASE_BLOCK_LEN: usize = 4096;
/// Bytes covered by the checksum; the checksum itself sits right after them.
const CHECKSUM_SPAN: usize = 508;
/// File type of a primary hive.
pub const FILE_TYPE_PRIMARY: u32 = 0;
/// File type of a new-format (Windows 8.1+) transaction log.
pub const FILE_TYPE_LOG_NEW: u32 = 6;

/// The fields of a base block the reader uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseBlock {
    /// Incremented when a write starts.
    pub primary_sequence: u32,
    /// Incremented when a write ends; differs from the primary one in a dirty hive.
    pub secondary_sequence: u32,
    /// FILETIME of the last write.
    pub last_written: u64,
    pub major_version: u32,
    /// 3: `lf` lists only; 4 and later: `lh` lists and big data.
    pub minor_version: u32,
    /// 0 primary, 1/2 old-format log, 6 new-format log.
    pub file_type: u32,
    /// Offset of the root key node, relative to the hive bins data.
    pub root_cell: u32,
    /// Size of the hive bins data the header claims.
    pub bins_size: u32,
    /// The last characters of the path Windows loaded the hive from (often empty).
    pub embedded_name: String,
    /// The stored checksum equals the one computed over the first 508 bytes.
    pub checksum_ok: bool,
}

impl BaseBlock {
    /// Reads a base block from the first 512 bytes of `bytes` (a hive or a log).
    pub fn parse(bytes: &[u8]) -> Result<BaseBlock, HiveError> {
        let head = bytes.get(..512).ok_or(HiveError::ShortFile {
            size: bytes.len() as u64,
            need: 512,
        })?;
        if head.get(..4) != Some(b"regf".as_slice()) {
            let mut found = [0u8; 4];
            for (d, s) in found.iter_mut().zip(head.iter()) {
                *d = *s;
            }
            return Err(HiveError::NotAHive { found });
        }
        let field = |at: usize| le_u32(head, at).unwrap_or(0);
        let stored = field(CHECKSUM_SPAN);
        Ok(BaseBlock {
            primary_sequence: field(4),
            secondary_sequence: field(8),
            last_written: le_u64(head, 12).unwrap_or(0),
            major_version: field(20),
            minor_version: field(24),
            file_type: field(28),
            root_cell: field(36),
            bins_size: field(40),
            embedded_name: embedded_name(head.get(48..112).unwrap_or(&[])),
            checksum_ok: checksum(head) == Some(stored),
        })
    }

    /// Dirty: a write was interrupted (sequence numbers differ) or the header is damaged.
    pub fn dirty(&self) -> bool {
        self.primary_sequence != self.secondary_sequence || !self.checksum_ok
    }
}

/// The XOR-32 checksum of the first 508 bytes, with Windows' two special cases
/// (`0xFFFFFFFF` is stored as `0xFFFFFFFE`, `0` as `1`).
pub fn checksum(head: &[u8]) -> Option<u32> {
    let span = head.get(..CHECKSUM_SPAN)?;
    let x = span
        .chunks_exact(4)
        .fold(0u32, |acc, c| acc ^ le_u32(c, 0).unwrap_or(0));
    Some(match x {
        0xFFFF_FFFF => 0xFFFF_FFFE,
        0 => 1,
        other => other,
    })
}

/// Rewrites the checksum of a base block held in `head` (used after log replay).
pub fn store_checksum(head: &mut [u8]) {
    if let Some(sum) = checksum(head) {
        put_u32(head, CHECKSUM_SPAN, sum);
    }
}

/// Writes a little-endian u32 at `at` when it fits (base block and log headers).
pub fn put_u32(buf: &mut [u8], at: usize, value: u32) {
    if let Some(slot) = buf.get_mut(at..at + 4) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

/// UTF-16LE up to the first NUL.
fn embedded_name(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .filter_map(|c| le_u16(c, 0))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> Vec<u8> {
        let mut b = vec![0u8; BASE_BLOCK_LEN];
        b[..4].copy_from_slice(b"regf");
        b[4..8].copy_from_slice(&7u32.to_le_bytes());
        b[8..12].copy_from_slice(&7u32.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..28].copy_from_slice(&5u32.to_le_bytes());
        b[36..40].copy_from_slice(&32u32.to_le_bytes());
        b[40..44].copy_from_slice(&4096u32.to_le_bytes());
        for (i, u) in "temRoot\\System32\\Config\\DEFAULT"
            .encode_utf16()
            .enumerate()
        {
            b[48 + 2 * i..50 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        store_checksum(&mut b);
        b
    }

    #[test]
    fn fields_and_checksum() {
        let b = BaseBlock::parse(&block()).unwrap();
        assert_eq!(b.primary_sequence, 7);
        assert_eq!(b.minor_version, 5);
        assert_eq!(b.root_cell, 32);
        assert_eq!(b.bins_size, 4096);
        assert_eq!(b.embedded_name, "temRoot\\System32\\Config\\DEFAULT");
        assert!(b.checksum_ok);
        assert!(!b.dirty());
    }

    #[test]
    fn dirty_by_sequence_or_checksum() {
        let mut raw = block();
        raw[8] = 6;
        store_checksum(&mut raw);
        assert!(BaseBlock::parse(&raw).unwrap().dirty());
        let mut raw = block();
        raw[100] ^= 1;
        let b = BaseBlock::parse(&raw).unwrap();
        assert!(!b.checksum_ok && b.dirty());
    }

    #[test]
    fn refuses_other_files() {
        assert!(matches!(
            BaseBlock::parse(b"regf"),
            Err(HiveError::ShortFile { size: 4, .. })
        ));
        let mut raw = block();
        raw[0] = b'X';
        assert!(matches!(
            BaseBlock::parse(&raw),
            Err(HiveError::NotAHive { found }) if &found == b"Xegf"
        ));
    }

    #[test]
    fn checksum_special_values() {
        let zero = vec![0u8; 512];
        assert_eq!(checksum(&zero), Some(1));
        let mut ones = vec![0u8; 512];
        ones[..4].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        assert_eq!(checksum(&ones), Some(0xFFFF_FFFE));
    }
}
