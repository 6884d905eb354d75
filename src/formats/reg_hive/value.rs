//! Values (`vk`) and their data: inline in the offset field (4 bytes or less), in one cell,
//! or in big-data (`db`) segments. Data is read to its exact length: never cell padding,
//! never the slack after the last segment.

use std::borrow::Cow;

use super::cell::{Bins, NO_CELL};
use super::key_node::{decode_name, KeyNode};
use super::{le_u16, le_u32, HiveError};

/// Data size bit meaning "stored in the offset field".
const DATA_INLINE: u32 = 0x8000_0000;
/// Value name is Latin-1 ("compressed"), otherwise UTF-16LE.
const VALUE_COMP_NAME: u16 = 0x0001;
/// Largest data one big-data segment holds (and the threshold above which Windows uses `db`).
pub const BIG_DATA_SEGMENT: usize = 16_344;
/// Fixed part of a value before its name.
const FIXED_LEN: usize = 20;

/// One value record, borrowed from the hive bytes.
#[derive(Debug, Clone, Copy)]
pub struct KeyValue<'h> {
    /// Cell offset relative to the hive bins data.
    pub offset: u32,
    pub data_type: u32,
    raw_size: u32,
    data_offset: u32,
    flags: u16,
    name: &'h [u8],
}

impl<'h> KeyValue<'h> {
    /// Reads the allocated value at `offset`.
    pub fn read(bins: &Bins<'h>, offset: u32) -> Result<Self, HiveError> {
        Self::parse(bins.cell(offset, "value")?, offset)
    }

    /// Parses value cell data.
    pub fn parse(data: &'h [u8], offset: u32) -> Result<Self, HiveError> {
        let at = Bins::file_offset(offset);
        if data.get(..2) != Some(b"vk".as_slice()) {
            return Err(HiveError::BadSignature { at, expected: "vk" });
        }
        let name_len = usize::from(le_u16(data, 2).unwrap_or(0));
        let name = data
            .get(FIXED_LEN..FIXED_LEN + name_len)
            .ok_or(HiveError::CellTooSmall {
                at,
                what: "value",
                need: (FIXED_LEN + name_len) as u64,
                have: data.len() as u64,
            })?;
        Ok(KeyValue {
            offset,
            raw_size: le_u32(data, 4).unwrap_or(0),
            data_offset: le_u32(data, 8).unwrap_or(NO_CELL),
            data_type: le_u32(data, 12).unwrap_or(0),
            flags: le_u16(data, 16).unwrap_or(0),
            name,
        })
    }

    /// The value name (`""` for the default value).
    pub fn name(&self) -> Cow<'h, str> {
        decode_name(self.name, self.flags & VALUE_COMP_NAME != 0)
    }

    /// The data length the record claims.
    pub fn data_len(&self) -> u32 {
        self.raw_size & !DATA_INLINE
    }

    /// The value's data, exactly `data_len` bytes, refused over `max` bytes.
    pub fn data(&self, bins: &Bins<'h>, max: usize) -> Result<Cow<'h, [u8]>, HiveError> {
        let at = Bins::file_offset(self.offset);
        let len = self.data_len() as usize;
        if len > max {
            return Err(HiveError::ValueTooLarge {
                at,
                size: len as u64,
                cap: max as u64,
            });
        }
        if self.raw_size & DATA_INLINE != 0 {
            if len > 4 {
                return Err(HiveError::CellTooSmall {
                    at,
                    what: "inline value data",
                    need: len as u64,
                    have: 4,
                });
            }
            let bytes = self.data_offset.to_le_bytes();
            return Ok(Cow::Owned(bytes.get(..len).unwrap_or(&[]).to_vec()));
        }
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        let cell = bins.cell(self.data_offset, "value data")?;
        if let Some(direct) = cell.get(..len) {
            // One cell (also how hivex stores data over 16,344 bytes).
            return Ok(Cow::Borrowed(direct));
        }
        if len > BIG_DATA_SEGMENT && cell.get(..2) == Some(b"db".as_slice()) {
            return big_data(bins, cell, self.data_offset, len).map(Cow::Owned);
        }
        Err(HiveError::CellTooSmall {
            at: Bins::file_offset(self.data_offset),
            what: "value data",
            need: len as u64,
            have: cell.len() as u64,
        })
    }
}

/// Concatenates the segments of a `db` record: each segment gives at most 16,344 bytes, the
/// last one only what remains (its slack is garbage).
fn big_data(bins: &Bins<'_>, db: &[u8], db_offset: u32, len: usize) -> Result<Vec<u8>, HiveError> {
    let at = Bins::file_offset(db_offset);
    let segments = usize::from(le_u16(db, 2).unwrap_or(0));
    if segments.saturating_mul(BIG_DATA_SEGMENT) < len {
        return Err(HiveError::BadBigData {
            at,
            reason: "fewer segments than the value size needs",
        });
    }
    let list_offset = le_u32(db, 4).unwrap_or(NO_CELL);
    let list = bins.cell(list_offset, "big data segment list")?;
    let refs = list.get(..segments * 4).ok_or(HiveError::CellTooSmall {
        at: Bins::file_offset(list_offset),
        what: "big data segment list",
        need: (segments * 4) as u64,
        have: list.len() as u64,
    })?;
    let mut out = Vec::with_capacity(len);
    for r in refs.chunks_exact(4) {
        let remaining = len - out.len();
        if remaining == 0 {
            break;
        }
        let seg_offset = le_u32(r, 0).unwrap_or(NO_CELL);
        let seg = bins.cell(seg_offset, "big data segment")?;
        let take = remaining.min(BIG_DATA_SEGMENT);
        let part = seg.get(..take).ok_or(HiveError::CellTooSmall {
            at: Bins::file_offset(seg_offset),
            what: "big data segment",
            need: take as u64,
            have: seg.len() as u64,
        })?;
        out.extend_from_slice(part);
    }
    Ok(out)
}

/// Offsets of the values of `key`, the count checked against the list cell.
pub fn value_offsets(bins: &Bins<'_>, key: &KeyNode<'_>) -> Result<Vec<u32>, HiveError> {
    if key.value_count == 0 || key.value_list == NO_CELL {
        return Ok(Vec::new());
    }
    let list = bins.cell(key.value_list, "value list")?;
    let need = (key.value_count as usize).saturating_mul(4);
    let body = list.get(..need).ok_or(HiveError::CellTooSmall {
        at: Bins::file_offset(key.value_list),
        what: "value list",
        need: need as u64,
        have: list.len() as u64,
    })?;
    Ok(body
        .chunks_exact(4)
        .map(|c| le_u32(c, 0).unwrap_or(NO_CELL))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(b: &mut [u8], off: usize, data: &[u8], cell_len: usize) {
        b[off..off + 4].copy_from_slice(&(-(cell_len as i32)).to_le_bytes());
        b[off + 4..off + 4 + data.len()].copy_from_slice(data);
    }

    fn vk(name: &str, size: u32, data_off: u32, ty: u32) -> Vec<u8> {
        let mut d = vec![0u8; 20];
        d[..2].copy_from_slice(b"vk");
        d[2..4].copy_from_slice(&(name.len() as u16).to_le_bytes());
        d[4..8].copy_from_slice(&size.to_le_bytes());
        d[8..12].copy_from_slice(&data_off.to_le_bytes());
        d[12..16].copy_from_slice(&ty.to_le_bytes());
        d[16..18].copy_from_slice(&1u16.to_le_bytes());
        d.extend_from_slice(name.as_bytes());
        d
    }

    #[test]
    fn inline_and_cell_data_exact() {
        let mut b = vec![0u8; 4096];
        let d = vk("ProxyEnable", 0x8000_0004, 1, 4);
        put(&mut b, 0x20, &d, 40);
        let d = vk("ProxyServer", 5, 0x60, 1);
        put(&mut b, 0x48, &d, 40);
        put(&mut b, 0x60, b"abcdeGARBAGE", 24);
        let bins = Bins::new(&b, 4096);
        let v = KeyValue::read(&bins, 0x20).unwrap();
        assert_eq!(v.name(), "ProxyEnable");
        assert_eq!(v.data(&bins, 1 << 20).unwrap().as_ref(), &[1, 0, 0, 0]);
        let v = KeyValue::read(&bins, 0x48).unwrap();
        assert_eq!(v.data(&bins, 1 << 20).unwrap().as_ref(), b"abcde");
        assert!(matches!(
            v.data(&bins, 4),
            Err(HiveError::ValueTooLarge {
                size: 5,
                cap: 4,
                ..
            })
        ));
    }

    #[test]
    fn big_data_segments_without_slack() {
        let len = BIG_DATA_SEGMENT + 100;
        let mut b = vec![0u8; 64 * 1024];
        let d = vk("Big", len as u32, 0x60, 3);
        put(&mut b, 0x20, &d, 32);
        let mut db = b"db".to_vec();
        db.extend_from_slice(&2u16.to_le_bytes());
        db.extend_from_slice(&0x70u32.to_le_bytes());
        put(&mut b, 0x60, &db, 16);
        let mut list = 0x80u32.to_le_bytes().to_vec();
        list.extend_from_slice(&0x8000u32.to_le_bytes());
        put(&mut b, 0x70, &list, 16);
        let seg1: Vec<u8> = (0..BIG_DATA_SEGMENT).map(|i| (i % 251) as u8).collect();
        put(&mut b, 0x80, &seg1, BIG_DATA_SEGMENT + 8);
        // The last segment is full-size like Windows allocates it: slack is 0xEE.
        let mut seg2 = vec![0xEEu8; BIG_DATA_SEGMENT];
        seg2[..100].fill(7);
        put(&mut b, 0x8000, &seg2, BIG_DATA_SEGMENT + 8);
        let bins = Bins::new(&b, b.len() as u64);
        let v = KeyValue::read(&bins, 0x20).unwrap();
        let data = v.data(&bins, 1 << 20).unwrap();
        assert_eq!(data.len(), len);
        assert_eq!(&data[..BIG_DATA_SEGMENT], &seg1[..]);
        assert!(data[BIG_DATA_SEGMENT..].iter().all(|b| *b == 7));
        // Too few segments for the size.
        b[0x60 + 6..0x60 + 8].copy_from_slice(&1u16.to_le_bytes());
        let bins = Bins::new(&b, b.len() as u64);
        let v = KeyValue::read(&bins, 0x20).unwrap();
        assert!(matches!(
            v.data(&bins, 1 << 20),
            Err(HiveError::BadBigData { .. })
        ));
    }

    #[test]
    fn inline_longer_than_four_is_refused() {
        let mut b = vec![0u8; 4096];
        put(&mut b, 0x20, &vk("x", 0x8000_0005, 1, 4), 32);
        let bins = Bins::new(&b, 4096);
        assert!(KeyValue::read(&bins, 0x20)
            .unwrap()
            .data(&bins, 100)
            .is_err());
    }
}
