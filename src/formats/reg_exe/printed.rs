//! reg.exe's printed value forms (`0x1`, strings, `a\\0b`, uppercase hex) rebuilt into the
//! bytes the registry holds. Shared by the `reg compare` and `reg query` parsers.

use crate::registry::{self, ValueType};

/// Largest value rebuilt from printed data; beyond it the value is cut and flagged.
pub const MAX_VALUE_BYTES: usize = 4 * 1024 * 1024;

/// Data rebuilt from reg.exe's printed form.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintedValue {
    /// The bytes as the registry holds them (possibly only a prefix, see `truncated`).
    pub bytes: Vec<u8>,
    /// The contract's `data`: the printed form for numbers and strings, null for binary.
    pub data: serde_json::Value,
    /// The bytes are incomplete (bad hex, cut, too large) and must not be decoded as a whole.
    pub truncated: bool,
    /// Byte offset in the printed data and description of the first problem.
    pub problem: Option<(usize, String)>,
}

/// Rebuilds the stored bytes from reg.exe's printed data: `0x1` → `01 00 00 00`, a string →
/// UTF-16LE + NUL, `a\0b` → `a`, `b` and the closing NUL, uppercase hex → bytes.
pub fn printed_to_bytes(ty: ValueType, printed: &str) -> PrintedValue {
    use serde_json::Value;
    match ty {
        ValueType::SZ | ValueType::EXPAND_SZ | ValueType::LINK => PrintedValue {
            bytes: cap_bytes(registry::utf16le_with_nul(printed)).0,
            data: Value::String(printed.to_string()),
            truncated: false,
            problem: None,
        },
        ValueType::MULTI_SZ => {
            let items: Vec<&str> = if printed.is_empty() {
                Vec::new()
            } else {
                printed.split("\\0").collect()
            };
            let mut bytes = Vec::with_capacity(printed.len() * 2 + 4);
            for item in &items {
                bytes.extend(registry::utf16le_with_nul(item));
            }
            bytes.extend_from_slice(&[0, 0]);
            PrintedValue {
                bytes: cap_bytes(bytes).0,
                data: Value::Array(items.iter().map(|s| Value::String(s.to_string())).collect()),
                truncated: false,
                problem: None,
            }
        }
        ValueType::DWORD | ValueType::DWORD_BIG_ENDIAN | ValueType::QWORD => {
            let t = printed.trim();
            let digits = t
                .strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(t);
            let parsed = u64::from_str_radix(digits, 16)
                .ok()
                .filter(|v| ty == ValueType::QWORD || u32::try_from(*v).is_ok());
            let data = Value::String(t.to_string());
            match parsed {
                Some(v) => {
                    let bytes = match ty {
                        ValueType::QWORD => v.to_le_bytes().to_vec(),
                        ValueType::DWORD_BIG_ENDIAN => (v as u32).to_be_bytes().to_vec(),
                        _ => (v as u32).to_le_bytes().to_vec(),
                    };
                    PrintedValue {
                        bytes,
                        data,
                        truncated: false,
                        problem: None,
                    }
                }
                None => PrintedValue {
                    bytes: Vec::new(),
                    data,
                    truncated: true,
                    problem: Some((
                        0,
                        format!(
                            "expected a hexadecimal number like 0x1 for {}, found {:?}",
                            ty.name(),
                            shorten(t)
                        ),
                    )),
                },
            }
        }
        _ => {
            let (bytes, truncated, problem) = hex_to_bytes(printed);
            PrintedValue {
                bytes,
                data: Value::Null,
                truncated,
                problem,
            }
        }
    }
}

fn cap_bytes(mut b: Vec<u8>) -> (Vec<u8>, bool) {
    let cut = b.len() > MAX_VALUE_BYTES;
    b.truncate(MAX_VALUE_BYTES);
    (b, cut)
}

pub(crate) fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Decodes reg.exe's hex string (uppercase, no separators; blanks from rejoined rows skipped).
/// Stops at the first non-hex character; an odd digit at the end is reported and dropped.
fn hex_to_bytes(s: &str) -> (Vec<u8>, bool, Option<(usize, String)>) {
    let trimmed = s.trim_end();
    let mut bytes = Vec::with_capacity((trimmed.len() / 2).min(MAX_VALUE_BYTES));
    // The usual value is one run of digit pairs: read pairs until a blank, a non-digit or
    // the cap, then go on byte by byte from there.
    let mut pairs = 0;
    for pair in trimmed.as_bytes().chunks_exact(2) {
        let &[h, l] = pair else { break };
        match (registry::hex_digit(h), registry::hex_digit(l)) {
            (Some(h), Some(l)) if bytes.len() < MAX_VALUE_BYTES => bytes.push(h << 4 | l),
            _ => break,
        }
        pairs += 1;
    }
    let mut high: Option<(u8, usize)> = None;
    // Byte by byte: hex digits are ASCII, and any other byte ends the value.
    for (i, &b) in trimmed.as_bytes().iter().enumerate().skip(pairs * 2) {
        if b == b' ' || b == b'\t' {
            continue;
        }
        let Some(d) = registry::hex_digit(b) else {
            let c = trimmed
                .get(i..)
                .and_then(|r| r.chars().next())
                .unwrap_or('?');
            return (
                bytes,
                true,
                Some((
                    i,
                    format!("expected a hexadecimal digit, found {c:?}; the value is cut here"),
                )),
            );
        };
        match high.take() {
            None => high = Some((d, i)),
            Some((h, _)) => {
                if bytes.len() >= MAX_VALUE_BYTES {
                    return (
                        bytes,
                        true,
                        Some((
                            i,
                            format!(
                                "value longer than {MAX_VALUE_BYTES} bytes; only its start was kept"
                            ),
                        )),
                    );
                }
                bytes.push(h << 4 | d);
            }
        }
    }
    match high {
        Some((_, i)) => (
            bytes,
            true,
            Some((
                i,
                "odd number of hex digits: the last digit has no pair (line cut?)".to_string(),
            )),
        ),
        None => (bytes, false, None),
    }
}

/// `(Default)` and the translations reg.exe prints for the unnamed value.
pub fn is_default_name(name: &str) -> Option<Option<&'static str>> {
    match name {
        "(Default)" | "<NO NAME>" => Some(Some("en")),
        "(Standard)" => Some(Some("de")),
        "(par défaut)" | "(Par défaut)" => Some(Some("fr")),
        "(Predeterminado)" | "(predeterminado)" => Some(Some("es")),
        "(既定)" | "(既定値)" => Some(Some("ja")),
        _ => None,
    }
}

/// Finds the ` REG_xxx` type token in `s` (after at least one blank): returns the byte range
/// of the token and its type. The first token naming a real type wins.
pub fn find_type_token(s: &str) -> Option<(usize, usize, ValueType)> {
    let mut from = 0;
    while let Some(off) = s.get(from..).and_then(|r| r.find("REG_")) {
        let start = from + off;
        let preceded = start == 0
            || s.as_bytes()
                .get(start - 1)
                .is_some_and(|b| *b == b' ' || *b == b'\t');
        let end = s
            .get(start..)
            .and_then(|r| r.find([' ', '\t']))
            .map_or(s.len(), |e| start + e);
        if preceded {
            if let Some(ty) = s.get(start..end).and_then(ValueType::from_name) {
                return Some((start, end, ty));
            }
        }
        from = start + 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_become_bytes_and_blanks_of_rejoined_rows_are_skipped() {
        assert_eq!(
            hex_to_bytes("4600 0000\t0aFF  "),
            (vec![0x46, 0, 0, 0, 0x0a, 0xff], false, None)
        );
        assert_eq!(hex_to_bytes(""), (vec![], false, None));
    }

    #[test]
    fn pairs_read_fast_hand_over_to_the_byte_loop_at_the_same_offset() {
        // A blank after an odd number of digits, inside what would be a pair.
        assert_eq!(
            hex_to_bytes("0a0 b0c"),
            (vec![0x0a, 0x0b, 0x0c], false, None)
        );
        // A non-digit as the second digit of a pair is found at its own offset.
        let (bytes, cut, problem) = hex_to_bytes("0a1z");
        assert_eq!((bytes, cut), (vec![0x0a], true));
        assert_eq!(problem.map(|p| p.0), Some(3));
        // The cap holds on the fast path: the first byte past it is named where it stands.
        let digits = "ab".repeat(MAX_VALUE_BYTES + 1);
        let (bytes, cut, problem) = hex_to_bytes(&digits);
        assert_eq!((bytes.len(), cut), (MAX_VALUE_BYTES, true));
        assert!(bytes.iter().all(|b| *b == 0xab));
        assert_eq!(problem.map(|p| p.0), Some(MAX_VALUE_BYTES * 2 + 1));
    }

    #[test]
    fn the_first_non_hex_character_cuts_the_value_where_it_stands() {
        let (bytes, cut, problem) = hex_to_bytes("0102zz");
        assert_eq!((bytes, cut), (vec![1, 2], true));
        assert_eq!(
            problem,
            Some((
                4,
                "expected a hexadecimal digit, found 'z'; the value is cut here".into()
            ))
        );
        // A non-ASCII character is named whole, at its byte offset.
        let (bytes, _, problem) = hex_to_bytes("01é0");
        assert_eq!(bytes, vec![1]);
        assert_eq!(
            problem,
            Some((
                2,
                "expected a hexadecimal digit, found 'é'; the value is cut here".into()
            ))
        );
        let (bytes, cut, problem) = hex_to_bytes("010");
        assert_eq!((bytes, cut), (vec![1], true));
        assert_eq!(problem.map(|p| p.0), Some(2));
    }
}
