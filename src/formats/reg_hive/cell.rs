//! Cells of the hive bins data: a signed size (negative = allocated) and the cell data.
//! Every offset is checked against the bytes really present before use.

use super::base_block::BASE_BLOCK_LEN;
use super::paged::PagedFile;
use super::{le_u32, HiveError};

/// Offset value meaning "no cell".
pub const NO_CELL: u32 = 0xFFFF_FFFF;
/// Size of an `hbin` header.
pub const HBIN_HEADER_LEN: usize = 32;

/// Where the hive bins data lives: in memory, or in a file read page by page.
#[derive(Debug, Clone, Copy)]
enum Source<'h> {
    Memory(&'h [u8]),
    Paged(&'h PagedFile),
}

/// The hive bins data as present in the file, and the size its header claims.
#[derive(Debug, Clone, Copy)]
pub struct Bins<'h> {
    source: Source<'h>,
    /// Bytes of hive bins data present (bounded by `claimed`).
    present: u64,
    claimed: u64,
}

/// A cell whose size field was read.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'h> {
    /// Offset relative to the hive bins data.
    pub offset: u32,
    pub allocated: bool,
    /// The bytes after the size field, padding included.
    pub data: &'h [u8],
}

impl<'h> Bins<'h> {
    /// `data` starts at file offset 4096; `claimed` is the header's hive bins data size.
    pub fn new(data: &'h [u8], claimed: u64) -> Self {
        Bins {
            source: Source::Memory(data),
            present: data.len() as u64,
            claimed,
        }
    }

    /// Hive bins data read on demand from `file` (whose first 4096 bytes are the base block).
    pub fn paged(file: &'h PagedFile, claimed: u64) -> Self {
        let present = file
            .len()
            .saturating_sub(BASE_BLOCK_LEN as u64)
            .min(claimed);
        Bins {
            source: Source::Paged(file),
            present,
            claimed,
        }
    }

    /// True when the file ends before the claimed hive bins data does.
    pub fn truncated(&self) -> bool {
        self.present < self.claimed
    }

    /// File offset of a cell offset (for messages and evidence).
    pub fn file_offset(offset: u32) -> u64 {
        BASE_BLOCK_LEN as u64 + u64::from(offset)
    }

    /// `len` bytes at bins offset `start`; `Ok(None)` past the data present.
    fn slice(&self, start: u64, len: usize) -> Result<Option<&'h [u8]>, HiveError> {
        let Some(end) = start.checked_add(len as u64).filter(|e| *e <= self.present) else {
            return Ok(None);
        };
        match self.source {
            Source::Memory(d) => Ok(d.get(start as usize..end as usize)),
            Source::Paged(p) => {
                p.bytes(BASE_BLOCK_LEN as u64 + start, len)
                    .map_err(|e| HiveError::Read {
                        at: BASE_BLOCK_LEN as u64 + start,
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// Reads the cell at `offset`, allocated or not.
    pub fn cell_any(&self, offset: u32, what: &'static str) -> Result<Cell<'h>, HiveError> {
        let at = Self::file_offset(offset);
        if offset == NO_CELL || !offset.is_multiple_of(8) {
            return Err(HiveError::BadOffset { at, what });
        }
        let start = u64::from(offset);
        let Some(size) = self
            .slice(start, 4)?
            .and_then(|s| le_u32(s, 0))
            .map(|s| s as i32)
        else {
            return Err(self.past_end(offset, 4, what));
        };
        let allocated = size < 0;
        let len = size.unsigned_abs() as usize;
        if len < 8 {
            return Err(HiveError::BadCellSize { at, size });
        }
        let Some(data) = self.slice(start + 4, len - 4)? else {
            return Err(self.past_end(offset, len as u64, what));
        };
        Ok(Cell {
            offset,
            allocated,
            data,
        })
    }

    /// Reads an allocated cell: a free one is no part of the registry.
    pub fn cell(&self, offset: u32, what: &'static str) -> Result<&'h [u8], HiveError> {
        let c = self.cell_any(offset, what)?;
        if !c.allocated {
            return Err(HiveError::Unallocated {
                at: Self::file_offset(offset),
                what,
            });
        }
        Ok(c.data)
    }

    /// The error for a cell that ends past the bytes present: truncation when the header
    /// claims more data, corruption otherwise.
    fn past_end(&self, offset: u32, len: u64, what: &'static str) -> HiveError {
        let at = Self::file_offset(offset);
        if u64::from(offset).saturating_add(len) <= self.claimed {
            HiveError::Truncated { at, what }
        } else {
            HiveError::OutOfRange {
                at,
                what,
                bins_size: self.claimed,
            }
        }
    }

    /// Walks the cells of every `hbin` in order, for the scan of deleted keys. Stops at the
    /// first damaged `hbin` header (reported once through the returned error).
    /// Only for a hive in memory (a paged hive is read for targeted lookups only).
    pub fn scan(&self, mut f: impl FnMut(Cell<'h>)) -> Option<HiveError> {
        let Source::Memory(data) = self.source else {
            return None;
        };
        let mut bin = 0usize;
        while bin < data.len() {
            let header = data.get(bin..bin + HBIN_HEADER_LEN);
            let size = header.and_then(|h| le_u32(h, 8)).unwrap_or(0) as usize;
            if header.and_then(|h| h.get(..4)) != Some(b"hbin".as_slice())
                || size < 4096
                || !size.is_multiple_of(4096)
            {
                if bin as u64 >= self.claimed {
                    return None; // padding after the last bin
                }
                return Some(HiveError::BadSignature {
                    at: BASE_BLOCK_LEN as u64 + bin as u64,
                    expected: "hbin",
                });
            }
            let end = bin.saturating_add(size).min(data.len());
            let mut at = bin + HBIN_HEADER_LEN;
            while at + 4 <= end {
                let raw = le_u32(data, at).unwrap_or(0) as i32;
                let len = raw.unsigned_abs() as usize;
                if len < 8 || at + len > end {
                    break; // damaged cell: skip the rest of this bin
                }
                if let Some(data) = data.get(at + 4..at + len) {
                    f(Cell {
                        offset: at as u32,
                        allocated: raw < 0,
                        data,
                    });
                }
                at += len;
            }
            bin = bin.saturating_add(size);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin() -> Vec<u8> {
        let mut b = vec![0u8; 4096];
        b[..4].copy_from_slice(b"hbin");
        b[8..12].copy_from_slice(&4096u32.to_le_bytes());
        b[32..36].copy_from_slice(&(-16i32).to_le_bytes());
        b[36..38].copy_from_slice(b"nk");
        b[48..52].copy_from_slice(&(4096i32 - 48).to_le_bytes());
        b
    }

    #[test]
    fn allocated_and_free_cells() {
        let b = bin();
        let bins = Bins::new(&b, 4096);
        assert_eq!(bins.cell(32, "key").unwrap().len(), 12);
        assert!(matches!(
            bins.cell(48, "key"),
            Err(HiveError::Unallocated { at: 4144, .. })
        ));
        let mut seen = Vec::new();
        assert!(bins.scan(|c| seen.push((c.offset, c.allocated))).is_none());
        assert_eq!(seen, vec![(32, true), (48, false)]);
    }

    #[test]
    fn truncated_versus_out_of_range() {
        let b = bin();
        let short = Bins::new(&b[..40], 4096);
        assert!(short.truncated());
        assert!(matches!(
            short.cell(32, "key"),
            Err(HiveError::Truncated { at: 4128, .. })
        ));
        let bins = Bins::new(&b, 4096);
        assert!(matches!(
            bins.cell(8192, "key"),
            Err(HiveError::OutOfRange { .. })
        ));
        assert!(matches!(
            bins.cell(33, "key"),
            Err(HiveError::BadOffset { .. })
        ));
        assert!(matches!(
            bins.cell(NO_CELL, "key"),
            Err(HiveError::BadOffset { .. })
        ));
    }

    #[test]
    fn huge_size_field_is_an_error_not_a_panic() {
        let mut b = bin();
        b[32..36].copy_from_slice(&i32::MIN.to_le_bytes());
        let bins = Bins::new(&b, 4096);
        assert!(bins.cell(32, "key").is_err());
    }
}
