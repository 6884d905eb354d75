//! Writes `.reg` text byte-identical to regedit's export (`regedit /e`, `reg export`):
//! UTF-16LE with BOM, CRLF, `Windows Registry Editor Version 5.00`, a blank line after each
//! key, hex data wrapped at 80 columns (`notes/reg-format.md` §5).

use crate::registry::ValueType;

/// The header regedit writes for version 5 exports.
pub const HEADER_V5: &str = "Windows Registry Editor Version 5.00";

/// regedit breaks a hex line after `xx,` once the line is this long (Wine `MAX_HEX_CHARS`).
const MAX_HEX_CHARS: usize = 77;

/// One key to export, with its values in the order they should appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteKey {
    /// Full path with the root spelled out (`HKEY_USERS\S-1-5-18\...`).
    pub path: String,
    pub values: Vec<WriteValue>,
}

/// One value to export: name (`""` = default `@`), type and the raw registry bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteValue {
    pub name: String,
    pub value_type: ValueType,
    pub bytes: Vec<u8>,
}

/// The export as UTF-16 code units (no BOM), exactly as regedit lays it out.
pub fn write_units(keys: &[WriteKey]) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::new();
    push_str(&mut out, HEADER_V5);
    push_str(&mut out, "\r\n");
    for key in keys {
        push_str(&mut out, "\r\n[");
        push_str(&mut out, &key.path);
        push_str(&mut out, "]\r\n");
        for v in &key.values {
            write_value(&mut out, v);
        }
    }
    push_str(&mut out, "\r\n");
    out
}

/// The complete file: `FF FE` and the UTF-16LE text of [`write_units`].
pub fn write_export(keys: &[WriteKey]) -> Vec<u8> {
    let units = write_units(keys);
    let mut bytes = Vec::with_capacity(units.len() * 2 + 2);
    bytes.extend_from_slice(&[0xFF, 0xFE]);
    for u in units {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    bytes
}

/// The export text before UTF-16 encoding (lone surrogates in REG_SZ data become U+FFFD).
pub fn write_text(keys: &[WriteKey]) -> String {
    String::from_utf16_lossy(&write_units(keys))
}

fn push_str(out: &mut Vec<u16>, s: &str) {
    out.extend(s.encode_utf16());
}

/// Escapes `\`, `"`, CR and LF; stops at the first NUL (as regedit does).
fn push_escaped(out: &mut Vec<u16>, units: impl Iterator<Item = u16>) -> usize {
    let start = out.len();
    for u in units {
        match u {
            0 => break,
            0x5C => out.extend_from_slice(&[0x5C, 0x5C]),
            0x22 => out.extend_from_slice(&[0x5C, 0x22]),
            0x0D => out.extend_from_slice(&[0x5C, u16::from(b'r')]),
            0x0A => out.extend_from_slice(&[0x5C, u16::from(b'n')]),
            _ => out.push(u),
        }
    }
    out.len() - start
}

fn write_value(out: &mut Vec<u16>, v: &WriteValue) {
    // Name part; its length (in UTF-16 units) counts for the hex wrapping.
    let line_len = if v.name.is_empty() {
        push_str(out, "@=");
        2
    } else {
        out.push(u16::from(b'"'));
        let n = push_escaped(out, v.name.encode_utf16());
        push_str(out, "\"=");
        n + 3
    };
    match v.value_type {
        ValueType::SZ => {
            out.push(u16::from(b'"'));
            let units = v.bytes.chunks_exact(2).map(|p| match p {
                [a, b] => u16::from_le_bytes([*a, *b]),
                _ => 0,
            });
            push_escaped(out, units);
            out.push(u16::from(b'"'));
        }
        ValueType::DWORD if v.bytes.len() == 4 => {
            let mut a = [0u8; 4];
            a.copy_from_slice(&v.bytes);
            push_str(out, &format!("dword:{:08x}", u32::from_le_bytes(a)));
        }
        t => write_hex(out, t, line_len, &v.bytes),
    }
    push_str(out, "\r\n");
}

#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
fn write_hex(out: &mut Vec<u16>, t: ValueType, mut line_len: usize, bytes: &[u8]) {
    let tag = if t == ValueType::BINARY {
        "hex:".to_string()
    } else {
        format!("hex({:x}):", t.0)
    };
    push_str(out, &tag);
    line_len += tag.len();
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let last = bytes.len().saturating_sub(1);
    for (i, b) in bytes.iter().enumerate() {
        out.push(u16::from(DIGITS[usize::from(b >> 4)]));
        out.push(u16::from(DIGITS[usize::from(b & 0x0f)]));
        if i == last {
            break;
        }
        out.push(u16::from(b','));
        line_len += 3;
        if line_len >= MAX_HEX_CHARS {
            push_str(out, "\\\r\n  ");
            line_len = 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str, values: Vec<WriteValue>) -> WriteKey {
        WriteKey {
            path: path.to_string(),
            values,
        }
    }

    fn val(name: &str, t: ValueType, bytes: &[u8]) -> WriteValue {
        WriteValue {
            name: name.to_string(),
            value_type: t,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn layout_bom_header_blank_line_after_each_key_and_final_crlf() {
        let keys = [
            key(
                "HKEY_CURRENT_USER\\A",
                vec![val("x", ValueType::DWORD, &[1, 0, 0, 0])],
            ),
            key("HKEY_CURRENT_USER\\A\\B", vec![]),
        ];
        assert_eq!(
            write_text(&keys),
            "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\A]\r\n\
             \"x\"=dword:00000001\r\n\r\n[HKEY_CURRENT_USER\\A\\B]\r\n\r\n"
        );
        let bytes = write_export(&keys);
        assert_eq!(&bytes[..4], &[0xFF, 0xFE, b'W', 0]);
        assert_eq!(&bytes[bytes.len() - 4..], &[b'\r', 0, b'\n', 0]);
    }

    #[test]
    fn sz_escaped_and_cut_at_first_nul_default_is_at() {
        let mut data = crate::registry::utf16le_with_nul("a\\b\"c\r\nd");
        data.extend(crate::registry::utf16le_with_nul("hidden"));
        let k = [key(
            "HKEY_CURRENT_USER\\A",
            vec![
                val("", ValueType::SZ, &data),
                val("q\"n", ValueType::SZ, &[]),
            ],
        )];
        let t = write_text(&k);
        assert!(t.contains("\r\n@=\"a\\\\b\\\"c\\r\\nd\"\r\n"), "{t}");
        assert!(t.contains("\r\n\"q\\\"n\"=\"\"\r\n"), "{t}");
    }

    #[test]
    fn dword_of_other_size_is_hex4_and_custom_types_are_lowercase_unpadded() {
        let k = [key(
            "HKEY_CURRENT_USER\\A",
            vec![
                val("d", ValueType::DWORD, &[1, 2]),
                val("e", ValueType::DWORD, &[]),
                val("q", ValueType::QWORD, &[1, 0, 0, 0, 0, 0, 0, 0]),
                val("c", ValueType(0xabcd), &[0xAB]),
                val("n", ValueType::NONE, &[]),
            ],
        )];
        let t = write_text(&k);
        assert!(t.contains("\"d\"=hex(4):01,02\r\n"));
        assert!(t.contains("\"e\"=hex(4):\r\n"));
        assert!(t.contains("\"q\"=hex(b):01,00,00,00,00,00,00,00\r\n"));
        assert!(t.contains("\"c\"=hex(abcd):ab\r\n"));
        assert!(t.contains("\"n\"=hex(0):\r\n"));
    }

    #[test]
    fn hex_wraps_after_77_columns_with_two_space_indent() {
        let data: Vec<u8> = (0..60).collect();
        let k = [key(
            "HKEY_CURRENT_USER\\A",
            vec![val("DefaultConnectionSettings", ValueType::BINARY, &data)],
        )];
        let t = write_text(&k);
        let lines: Vec<&str> = t.split("\r\n").collect();
        let first = lines
            .iter()
            .position(|l| l.starts_with("\"Default"))
            .unwrap();
        // `"DefaultConnectionSettings"=hex:` is 32 columns: 15 bytes reach 77, then `\`.
        assert_eq!(lines[first].len(), 78);
        assert!(lines[first].ends_with("0e,\\"));
        // Continuation lines: two blanks + 25 bytes = 77, then `\`.
        assert_eq!(lines[first + 1].len(), 78);
        assert!(lines[first + 1].starts_with("  0f,10"));
        assert!(lines[first + 1].ends_with("27,\\"));
        assert_eq!(
            lines[first + 2],
            "  28,29,2a,2b,2c,2d,2e,2f,30,31,32,33,34,35,36,37,38,39,3a,3b"
        );
        // A short name wraps later: `"x"=hex:` is 8 columns, 23 bytes reach 77.
        let k = [key(
            "HKEY_CURRENT_USER\\A",
            vec![val("x", ValueType::BINARY, &data)],
        )];
        let t = write_text(&k);
        let l = t.split("\r\n").find(|l| l.starts_with("\"x\"")).unwrap();
        assert_eq!(l.len(), 78);
    }
}
