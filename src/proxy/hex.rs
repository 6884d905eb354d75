//! Lenient hex input for `decode`: what support engineers paste from `.reg` files, `reg query`
//! and e-mails. Accepts spaces, commas, `hex:`/`hex(3):` and `0x` prefixes, `\` line
//! continuations, upper or lower case, a leading `"Name"=` (a `.reg` line) and the
//! `Name    REG_BINARY    ` columns of `reg query`; key lines (`HKEY_…`, `[…]`), `.reg`
//! headers and `;` comments are skipped. Anything else is refused with its position.

use thiserror::Error;

/// Why hex input was refused; positions are 1-based (line, column in characters, and the
/// character's index in the whole input).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// A character that is neither a hex digit nor an accepted separator or prefix.
    #[error("bad hex character {found:?} at line {line}, column {column} (character {position})")]
    BadChar {
        found: char,
        line: usize,
        column: usize,
        position: usize,
    },
    /// A group of digits with an odd count (a byte is two digits).
    #[error("odd number of hex digits in {token:?} at line {line}, column {column} (character {position})")]
    OddDigits {
        token: String,
        line: usize,
        column: usize,
        position: usize,
    },
    /// No hex digit at all.
    #[error("no hex digits in the input")]
    Empty,
}

/// Parses lenient hex into bytes (see the module doc for what is accepted).
pub fn parse_hex(input: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(input.len() / 2);
    let mut position = 0usize; // characters before the current line
    for (idx, raw_line) in input.split('\n').enumerate() {
        let line_no = idx + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let chars: Vec<char> = line.chars().collect();
        let start = content_start(&chars);
        parse_line(&chars, start, line_no, position, &mut out)?;
        position += raw_line.chars().count() + 1;
    }
    if out.is_empty() {
        return Err(HexError::Empty);
    }
    Ok(out)
}

/// Where the hex data starts on a line: after `"Name"=` / `@=` or after `REG_BINARY`; the
/// end of the line for the key, header and comment lines of pasted `reg query` / `.reg` text.
fn content_start(chars: &[char]) -> usize {
    let lower: String = chars.iter().map(|c| c.to_ascii_lowercase()).collect();
    let trimmed = lower.trim_start();
    if ["hkey_", "[", ";", "windows registry editor", "regedit4"]
        .iter()
        .any(|p| trimmed.starts_with(p))
    {
        return chars.len();
    }
    if let Some(i) = lower.find("reg_binary") {
        return lower.get(..i).map_or(0, |p| p.chars().count()) + "reg_binary".len();
    }
    let first = chars.iter().position(|c| !c.is_whitespace());
    match first.and_then(|i| chars.get(i)) {
        Some('"') => {
            // A .reg value line: skip the quoted name (with \" escapes) and the '='.
            let mut i = first.unwrap_or(0) + 1;
            while let Some(&c) = chars.get(i) {
                if c == '\\' {
                    i += 2;
                    continue;
                }
                if c == '"' {
                    break;
                }
                i += 1;
            }
            let mut j = i + 1;
            while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                j += 1;
            }
            if chars.get(j) == Some(&'=') {
                j + 1
            } else {
                0
            }
        }
        Some('@') => {
            let i = first.unwrap_or(0) + 1;
            let mut j = i;
            while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                j += 1;
            }
            if chars.get(j) == Some(&'=') {
                j + 1
            } else {
                0
            }
        }
        _ => 0,
    }
}

fn is_sep(c: char) -> bool {
    c.is_whitespace() || c == ','
}

#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
fn parse_line(
    chars: &[char],
    start: usize,
    line: usize,
    before: usize,
    out: &mut Vec<u8>,
) -> Result<(), HexError> {
    let bad = |i: usize, found: char| HexError::BadChar {
        found,
        line,
        column: i + 1,
        position: before + i + 1,
    };
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        if is_sep(c) {
            i += 1;
            continue;
        }
        if c == '\\' {
            // A continuation: only whitespace may follow on this line.
            if let Some(j) = (i + 1..chars.len()).find(|&j| !chars[j].is_whitespace()) {
                return Err(bad(j, chars[j]));
            }
            return Ok(());
        }
        // A token runs to the next separator or backslash.
        let end = (i..chars.len())
            .find(|&j| is_sep(chars[j]) || chars[j] == '\\')
            .unwrap_or(chars.len());
        let token = chars.get(i..end).unwrap_or(&[]);
        let skip = prefix_len(token);
        let digits_start = i + skip;
        let digits = chars.get(digits_start..end).unwrap_or(&[]);
        if skip == 2 && digits.is_empty() {
            // A lone `0x` is not a byte.
            return Err(bad(i + 1, chars.get(i + 1).copied().unwrap_or('x')));
        }
        if let Some(k) = digits.iter().position(|c| !c.is_ascii_hexdigit()) {
            return Err(bad(digits_start + k, digits[k]));
        }
        if digits.len() % 2 != 0 {
            return Err(HexError::OddDigits {
                token: token.iter().collect(),
                line,
                column: i + 1,
                position: before + i + 1,
            });
        }
        for pair in digits.chunks_exact(2) {
            let hi = pair[0].to_digit(16).unwrap_or(0);
            let lo = pair[1].to_digit(16).unwrap_or(0);
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(0));
        }
        i = end;
    }
    Ok(())
}

/// Length of an accepted prefix at the start of a token: `hex:`, `hex(N):`, `0x`.
fn prefix_len(token: &[char]) -> usize {
    let lower: String = token.iter().map(|c| c.to_ascii_lowercase()).collect();
    if lower.starts_with("hex:") {
        return 4;
    }
    if let Some(rest) = lower.strip_prefix("hex(") {
        if let Some(close) = rest.find("):") {
            let inner = rest.get(..close).unwrap_or("");
            if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_hexdigit()) {
                return 4 + close + 2;
            }
        }
    }
    if lower.starts_with("0x") {
        return 2;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_shapes() {
        let want = vec![0x46, 0, 0, 0, 0x0a, 0xff];
        for input in [
            "46 00 00 00 0a ff",
            "4600 0000 0AFF",
            "46000000 0aFF",
            "hex:46,00,00,00,0a,ff",
            "hex:46,00,00,\\\n  00,0a,ff\n",
            "hex:46,00,00,\\\r\n  00,0a,ff\r\n",
            "\"DefaultConnectionSettings\"=hex:46,00,00,00,0a,ff",
            "@=hex(3):46,00,00,00,0a,ff",
            "    DefaultConnectionSettings    REG_BINARY    460000000AFF",
            "0x46 0x00 0x00 0x00 0x0a 0xff",
            "\r\nHKEY_CURRENT_USER\\Software\r\n    DefaultConnectionSettings    REG_BINARY    460000000AFF\r\n\r\n",
            "Windows Registry Editor Version 5.00\n\n[HKEY_CURRENT_USER\\X]\n; c\n\"A\"=hex:46,00,00,00,0a,ff\n",
            "  46,00,00,00,\t0a,ff,  ",
        ] {
            assert_eq!(parse_hex(input).as_ref(), Ok(&want), "{input:?}");
        }
    }

    #[test]
    fn bad_character_position() {
        let e = parse_hex("46 00 0g 00").unwrap_err();
        assert_eq!(
            e,
            HexError::BadChar {
                found: 'g',
                line: 1,
                column: 8,
                position: 8
            }
        );
        assert!(e.to_string().contains("column 8"), "{e}");
        let e = parse_hex("46,00,\\\n  00,zz").unwrap_err();
        assert_eq!(
            e,
            HexError::BadChar {
                found: 'z',
                line: 2,
                column: 6,
                position: 14
            }
        );
        // Decimal PowerShell output is refused, not misread.
        let e = parse_hex("{70, 0, 0, 0...}").unwrap_err();
        assert!(matches!(e, HexError::BadChar { found: '{', .. }), "{e:?}");
        // Text after a continuation backslash.
        let e = parse_hex("46,0x,00").unwrap_err();
        assert!(
            matches!(
                e,
                HexError::BadChar {
                    found: 'x',
                    column: 5,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse_hex("46,\\ 00").unwrap_err();
        assert!(
            matches!(
                e,
                HexError::BadChar {
                    found: '0',
                    column: 6,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn odd_and_empty() {
        assert!(matches!(
            parse_hex("46 0 00"),
            Err(HexError::OddDigits { column: 4, .. })
        ));
        assert_eq!(parse_hex(""), Err(HexError::Empty));
        assert_eq!(parse_hex("hex: , \\\n"), Err(HexError::Empty));
    }

    proptest::proptest! {
        #[test]
        fn prop_never_panics(s in "\\PC{0,200}") {
            let _ = parse_hex(&s);
        }

        #[test]
        fn prop_reg_style_round_trip(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..200), upper in proptest::prelude::any::<bool>()) {
            let mut text = String::from("hex:");
            for (i, x) in b.iter().enumerate() {
                let h = if upper { format!("{x:02X}") } else { format!("{x:02x}") };
                text.push_str(&h);
                if i + 1 < b.len() {
                    text.push(',');
                    if i % 20 == 19 {
                        text.push_str("\\\r\n  ");
                    }
                }
            }
            proptest::prop_assert_eq!(parse_hex(&text), Ok(b));
        }
    }
}
