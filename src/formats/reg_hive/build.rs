//! A minimal hive writer for tests, benchmarks and hostile inputs built at run time (not used
//! by the reader). Cells are appended to one hbin; keys are written bottom-up.
//! Its inputs come from test code, never from customer data: fixed-offset slicing is allowed.
#![allow(clippy::indexing_slicing)]

use super::base_block::{store_checksum, BASE_BLOCK_LEN};
use super::cell::{HBIN_HEADER_LEN, NO_CELL};

/// Builds a primary hive cell by cell.
#[derive(Debug, Clone)]
pub struct HiveBuilder {
    bins: Vec<u8>,
    minor: u32,
    embedded_name: String,
}

impl Default for HiveBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl HiveBuilder {
    pub fn new() -> Self {
        HiveBuilder {
            bins: vec![0u8; HBIN_HEADER_LEN],
            minor: 5,
            embedded_name: String::new(),
        }
    }

    /// Sets the minor version (3 = `reg save` style) and the embedded name.
    pub fn header(mut self, minor: u32, embedded_name: &str) -> Self {
        self.minor = minor;
        self.embedded_name = embedded_name.to_string();
        self
    }

    /// Appends an allocated cell holding `data`; returns its offset.
    pub fn cell(&mut self, data: &[u8]) -> u32 {
        let off = self.bins.len() as u32;
        let len = (4 + data.len()).next_multiple_of(8);
        self.bins.extend_from_slice(&(-(len as i32)).to_le_bytes());
        self.bins.extend_from_slice(data);
        self.bins.resize(off as usize + len, 0);
        off
    }

    /// Appends a value (`vk` plus its data: inline up to 4 bytes, else one cell).
    pub fn value(&mut self, name: &str, data_type: u32, data: &[u8]) -> u32 {
        let (size, data_off) = if data.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..data.len()].copy_from_slice(data);
            (0x8000_0000 | data.len() as u32, u32::from_le_bytes(inline))
        } else {
            (data.len() as u32, self.cell(data))
        };
        let mut vk = Vec::with_capacity(20 + name.len());
        vk.extend_from_slice(b"vk");
        vk.extend_from_slice(&(name.len() as u16).to_le_bytes());
        vk.extend_from_slice(&size.to_le_bytes());
        vk.extend_from_slice(&data_off.to_le_bytes());
        vk.extend_from_slice(&data_type.to_le_bytes());
        vk.extend_from_slice(&1u16.to_le_bytes()); // ASCII name
        vk.extend_from_slice(&0u16.to_le_bytes());
        vk.extend_from_slice(name.as_bytes());
        self.cell(&vk)
    }

    /// Appends a key with an `lh` subkey list and a values list; children's parent fields
    /// are patched to point at it.
    pub fn key(&mut self, name: &str, subkeys: &[u32], values: &[u32]) -> u32 {
        let list = if subkeys.is_empty() {
            NO_CELL
        } else {
            let mut lh = Vec::with_capacity(4 + subkeys.len() * 8);
            lh.extend_from_slice(b"lh");
            lh.extend_from_slice(&(subkeys.len() as u16).to_le_bytes());
            for s in subkeys {
                lh.extend_from_slice(&s.to_le_bytes());
                lh.extend_from_slice(&0u32.to_le_bytes());
            }
            self.cell(&lh)
        };
        let vlist = if values.is_empty() {
            NO_CELL
        } else {
            let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.cell(&raw)
        };
        let mut nk = vec![0u8; 76];
        nk[..2].copy_from_slice(b"nk");
        nk[2..4].copy_from_slice(&0x20u16.to_le_bytes());
        nk[16..20].copy_from_slice(&NO_CELL.to_le_bytes());
        nk[20..24].copy_from_slice(&(subkeys.len() as u32).to_le_bytes());
        nk[28..32].copy_from_slice(&list.to_le_bytes());
        nk[32..36].copy_from_slice(&NO_CELL.to_le_bytes());
        nk[36..40].copy_from_slice(&(values.len() as u32).to_le_bytes());
        nk[40..44].copy_from_slice(&vlist.to_le_bytes());
        nk[44..48].copy_from_slice(&NO_CELL.to_le_bytes());
        nk[48..52].copy_from_slice(&NO_CELL.to_le_bytes());
        nk[72..74].copy_from_slice(&(name.len() as u16).to_le_bytes());
        nk.extend_from_slice(name.as_bytes());
        let off = self.cell(&nk);
        for s in subkeys {
            self.patch_u32(*s, 16, off);
        }
        off
    }

    /// Overwrites a u32 inside the data of the cell at `cell` (for hostile edits).
    pub fn patch_u32(&mut self, cell: u32, field: usize, value: u32) {
        let at = cell as usize + 4 + field;
        if let Some(slot) = self.bins.get_mut(at..at + 4) {
            slot.copy_from_slice(&value.to_le_bytes());
        }
    }

    /// The hive bytes: base block, then one hbin holding every cell (root flagged as such).
    pub fn finish(mut self, root: u32) -> Vec<u8> {
        let at = root as usize + 4 + 2;
        if let Some(flags) = self.bins.get_mut(at..at + 2) {
            flags.copy_from_slice(&0x2Cu16.to_le_bytes());
        }
        let used = self.bins.len();
        let size = (used + 8).next_multiple_of(4096);
        self.bins.resize(size, 0);
        let free = (size - used) as i32;
        self.bins[used..used + 4].copy_from_slice(&free.to_le_bytes());
        self.bins[..4].copy_from_slice(b"hbin");
        self.bins[8..12].copy_from_slice(&(size as u32).to_le_bytes());
        let mut out = vec![0u8; BASE_BLOCK_LEN];
        out[..4].copy_from_slice(b"regf");
        out[4..8].copy_from_slice(&1u32.to_le_bytes());
        out[8..12].copy_from_slice(&1u32.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[24..28].copy_from_slice(&self.minor.to_le_bytes());
        out[32..36].copy_from_slice(&1u32.to_le_bytes());
        out[36..40].copy_from_slice(&root.to_le_bytes());
        out[40..44].copy_from_slice(&(size as u32).to_le_bytes());
        out[44..48].copy_from_slice(&1u32.to_le_bytes());
        for (i, u) in self.embedded_name.encode_utf16().take(31).enumerate() {
            out[48 + 2 * i..50 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        store_checksum(&mut out);
        out.extend_from_slice(&self.bins);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::reg_hive::{mount_from_path, read_paths, Hive, HiveLimits};

    #[test]
    fn built_hive_reads_back() {
        let mut b = HiveBuilder::new();
        let v1 = b.value("ProxyEnable", 4, &1u32.to_le_bytes());
        let v2 = b.value(
            "ProxyServer",
            1,
            "p:8080\0"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>()
                .as_slice(),
        );
        let is = b.key("Internet Settings", &[], &[v1, v2]);
        let sw = b.key("Software", &[is], &[]);
        let root = b.key("ROOT", &[sw], &[]);
        let bytes = b.finish(root);
        let hive = Hive::open(&bytes, &[], HiveLimits::default()).unwrap();
        let m = mount_from_path("S-1-5-19.hiv", "");
        let r = read_paths(
            &hive,
            &m,
            &["Software\\Internet Settings", "Software\\Nope"],
        );
        assert_eq!(r.export.keys.len(), 1);
        assert_eq!(
            r.export.keys[0].path,
            "HKEY_USERS\\S-1-5-19\\Software\\Internet Settings"
        );
        assert_eq!(r.export.keys[0].values[1].name, "ProxyServer");
        assert_eq!(r.missing, vec!["Software\\Nope".to_string()]);
    }
}
