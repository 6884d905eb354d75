//! Subkey lists: `li` (offsets), `lf` (offsets + name hints), `lh` (offsets + name hashes)
//! and `ri` (a list of such lists, one level only).

use std::collections::HashSet;

use super::cell::{Bins, NO_CELL};
use super::key_node::KeyNode;
use super::{le_u16, le_u32, HiveError};

/// Appends the key node offsets listed under `key` to `out`, in list order.
///
/// An `ri` may not point to another `ri`, and each list it names is read once, so a hostile
/// hive cannot make this loop or fan out: the work is bounded by the list cells' sizes.
pub fn subkey_offsets(
    bins: &Bins<'_>,
    key: &KeyNode<'_>,
    out: &mut Vec<u32>,
) -> Result<(), HiveError> {
    if key.subkey_count == 0 || key.subkey_list == NO_CELL {
        return Ok(());
    }
    let data = bins.cell(key.subkey_list, "subkey list")?;
    match data.get(..2) {
        Some(b"ri") => {
            let mut seen = HashSet::new();
            for list in elements(data, key.subkey_list, 4)? {
                if !seen.insert(list) {
                    return Err(HiveError::Loop {
                        at: Bins::file_offset(key.subkey_list),
                        target: Bins::file_offset(list),
                    });
                }
                let leaf = bins.cell(list, "subkey list")?;
                if leaf.get(..2) == Some(b"ri".as_slice()) {
                    return Err(HiveError::BadSignature {
                        at: Bins::file_offset(list),
                        expected: "li/lf/lh (an index root may not name another)",
                    });
                }
                leaf_offsets(leaf, list, out)?;
            }
            Ok(())
        }
        _ => leaf_offsets(data, key.subkey_list, out),
    }
}

/// Offsets of an `li`, `lf` or `lh` list.
fn leaf_offsets(data: &[u8], offset: u32, out: &mut Vec<u32>) -> Result<(), HiveError> {
    let stride = match data.get(..2) {
        Some(b"li") => 4,
        Some(b"lf") | Some(b"lh") => 8,
        _ => {
            return Err(HiveError::BadSignature {
                at: Bins::file_offset(offset),
                expected: "li/lf/lh/ri",
            })
        }
    };
    out.extend(elements(data, offset, stride)?);
    Ok(())
}

/// The first 4 bytes of each of the list's elements, the count checked against the cell.
fn elements(
    data: &[u8],
    offset: u32,
    stride: usize,
) -> Result<impl Iterator<Item = u32> + '_, HiveError> {
    let count = usize::from(le_u16(data, 2).unwrap_or(0));
    let need = 4 + count * stride;
    let body = data.get(4..need).ok_or(HiveError::CellTooSmall {
        at: Bins::file_offset(offset),
        what: "subkey list",
        need: need as u64,
        have: data.len() as u64,
    })?;
    Ok(body
        .chunks_exact(stride)
        .map(|c| le_u32(c, 0).unwrap_or(NO_CELL)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bins area with cells placed at the given offsets (each cell allocated).
    fn bins_with(cells: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![0u8; 4096];
        for (off, data) in cells {
            let o = *off as usize;
            let size = -((data.len() + 4).next_multiple_of(8) as i32);
            b[o..o + 4].copy_from_slice(&size.to_le_bytes());
            b[o + 4..o + 4 + data.len()].copy_from_slice(data);
        }
        b
    }

    fn list(sig: &[u8; 2], items: &[u32], stride: usize) -> Vec<u8> {
        let mut d = sig.to_vec();
        d.extend_from_slice(&(items.len() as u16).to_le_bytes());
        for i in items {
            d.extend_from_slice(&i.to_le_bytes());
            d.extend(std::iter::repeat_n(0u8, stride - 4));
        }
        d
    }

    fn key_with_list(list: u32) -> Vec<u8> {
        let mut d = vec![0u8; 76];
        d[..2].copy_from_slice(b"nk");
        d[20..24].copy_from_slice(&9u32.to_le_bytes());
        d[28..32].copy_from_slice(&list.to_le_bytes());
        d
    }

    #[test]
    fn every_list_kind() {
        let raw = bins_with(&[
            (0x100, list(b"lf", &[0x400, 0x408], 8)),
            (0x200, list(b"li", &[0x500], 4)),
            (0x300, list(b"ri", &[0x100, 0x200], 4)),
            (0x380, list(b"lh", &[0x600], 8)),
        ]);
        let bins = Bins::new(&raw, 4096);
        let nk = key_with_list(0x300);
        let key = KeyNode::parse(&nk, 0x20).unwrap();
        let mut out = Vec::new();
        subkey_offsets(&bins, &key, &mut out).unwrap();
        assert_eq!(out, vec![0x400, 0x408, 0x500]);
        let nk = key_with_list(0x380);
        let mut out = Vec::new();
        subkey_offsets(&bins, &KeyNode::parse(&nk, 0x20).unwrap(), &mut out).unwrap();
        assert_eq!(out, vec![0x600]);
    }

    #[test]
    fn hostile_lists() {
        // ri naming itself; ri naming the same leaf twice; count larger than the cell.
        let mut big = list(b"lf", &[0x400], 8);
        big[2..4].copy_from_slice(&5000u16.to_le_bytes());
        let raw = bins_with(&[
            (0x100, list(b"ri", &[0x100], 4)),
            (0x200, list(b"ri", &[0x300, 0x300], 4)),
            (0x300, list(b"li", &[0x500], 4)),
            (0x380, big),
        ]);
        let bins = Bins::new(&raw, 4096);
        for (list_at, want) in [(0x100u32, "ri"), (0x200, "loop"), (0x380, "small")] {
            let nk = key_with_list(list_at);
            let key = KeyNode::parse(&nk, 0x20).unwrap();
            let err = subkey_offsets(&bins, &key, &mut Vec::new()).unwrap_err();
            match want {
                "ri" => assert!(matches!(err, HiveError::BadSignature { .. }), "{err}"),
                "loop" => assert!(matches!(err, HiveError::Loop { .. }), "{err}"),
                _ => assert!(matches!(err, HiveError::CellTooSmall { .. }), "{err}"),
            }
        }
    }
}
