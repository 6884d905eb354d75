//! PowerShell's decimal byte lists, as `decode` receives them pasted from a ticket:
//! `Get-ItemProperty … | Select DefaultConnectionSettings` prints `{70, 0, 0, 0...}` (cut after
//! four entries by `$FormatEnumerationLimit`; `…` in PowerShell 7), `-ExpandProperty` prints one
//! number per line, and `-join` / string interpolation print `70, 0, 0, 0` or `70 0 0 0`.
//!
//! The rule, so that hex is never misread as decimal:
//! - `{…}` (braces never occur in hex) whose first entry is a number: the numbers between the
//!   first `{` and the next `}` are the bytes; text around the braces (the property name, a
//!   table header) is ignored;
//! - otherwise the input is decimal only when every token (separated by commas, spaces or line
//!   breaks) is a number from 0 to 255 written without leading zeros, and at least one token has
//!   1 or 3 digits: such a token is not hex (a byte is two hex digits), so the input cannot be
//!   read as hex at all.
//!
//! A final `...` or `…` marks a list PowerShell shortened: the bytes are only its beginning.

use super::hex::HexError;

/// Bytes read from a decimal list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalList {
    /// The bytes, in order.
    pub bytes: Vec<u8>,
    /// The list ended with `...` / `…`: PowerShell printed only its beginning.
    pub shortened: bool,
}

/// One token with its 1-based position.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    line: usize,
    column: usize,
    position: usize,
}

/// Reads `input` as a decimal byte list: `None` when it is not one (see the module doc), an
/// error when it is one with a bad entry (the error names the token and its position).
pub fn parse_decimal_list(input: &str) -> Option<Result<DecimalList, HexError>> {
    if let Some(open) = input.find('{') {
        let inner_start = open + 1;
        let close = inner_start + input.get(inner_start..)?.find('}')?;
        let inner = input.get(inner_start..close)?;
        let (line, column, position) = location_of(input, inner_start);
        let tokens = Tokens::new(inner, line, column, position);
        // A GUID in a pasted key path (`{4D36E972-...}`) is not a list: its first token is
        // not a number, and the hex reader's error stands.
        if let Some(first) = tokens.clone().next() {
            if !is_decimal_shaped(split_ellipsis(first.text).0) {
                return None;
            }
        }
        return Some(read_tokens(tokens, true));
    }
    // First pass: is every token a decimal byte, and can the text not be hex?
    let mut tokens = Tokens::new(input, 1, 1, 1).peekable();
    let mut any = false;
    let mut not_hex = false;
    while let Some(t) = tokens.next() {
        any = true;
        let last = tokens.peek().is_none();
        let text = if last {
            split_ellipsis(t.text).0
        } else {
            t.text
        };
        if !(is_decimal_shaped(text) || (last && text.is_empty())) {
            return None;
        }
        not_hex |= matches!(t.text.len(), 1 | 3) && is_decimal_shaped(t.text);
    }
    if any && not_hex {
        Some(read_tokens(Tokens::new(input, 1, 1, 1), false))
    } else {
        None
    }
}

/// A number without a sign or leading zeros, of at most three digits.
fn is_decimal_shaped(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 3
        && t.bytes().all(|b| b.is_ascii_digit())
        && (t == "0" || !t.starts_with('0'))
}

/// Splits a final `...` / `…` off a token.
fn split_ellipsis(t: &str) -> (&str, bool) {
    if let Some(s) = t.strip_suffix("...") {
        (s, true)
    } else if let Some(s) = t.strip_suffix('…') {
        (s, true)
    } else {
        (t, false)
    }
}

fn read_tokens<'a>(
    tokens: impl Iterator<Item = Token<'a>>,
    braces: bool,
) -> Result<DecimalList, HexError> {
    let mut bytes = Vec::new();
    let mut shortened = false;
    let mut tokens = tokens.peekable();
    while let Some(t) = tokens.next() {
        let last = tokens.peek().is_none();
        let (text, cut) = if last {
            split_ellipsis(t.text)
        } else {
            (t.text, false)
        };
        shortened |= cut;
        if text.is_empty() && cut {
            continue;
        }
        let bad = |found: char| HexError::BadToken {
            token: t.text.to_string(),
            found,
            line: t.line,
            column: t.column,
            position: t.position,
        };
        if let Some(c) = text.chars().find(|c| !c.is_ascii_digit()) {
            return Err(bad(c));
        }
        match text.parse::<u16>().ok().and_then(|n| u8::try_from(n).ok()) {
            Some(b) => bytes.push(b),
            None => {
                return Err(HexError::DecimalOutOfRange {
                    token: t.text.to_string(),
                    line: t.line,
                    column: t.column,
                    position: t.position,
                })
            }
        }
    }
    if bytes.is_empty() && !braces && !shortened {
        return Err(HexError::Empty);
    }
    Ok(DecimalList { bytes, shortened })
}

/// Line, column and character position (1-based) of byte offset `at` in `input`.
fn location_of(input: &str, at: usize) -> (usize, usize, usize) {
    let before = input.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column, before.chars().count() + 1)
}

/// Tokens separated by commas and whitespace, located in the whole input (streamed: a list
/// of millions of entries is never held as tokens).
#[derive(Clone)]
struct Tokens<'a> {
    text: &'a str,
    chars: std::str::CharIndices<'a>,
    line: usize,
    column: usize,
    position: usize,
}

impl<'a> Tokens<'a> {
    /// `line`, `column`, `position` locate the first character of `text` in the whole input.
    fn new(text: &'a str, line: usize, column: usize, position: usize) -> Self {
        Tokens {
            text,
            chars: text.char_indices(),
            line,
            column,
            position,
        }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let mut start: Option<(usize, usize, usize, usize)> = None;
        loop {
            let Some((i, c)) = self.chars.next() else {
                return start.map(|(s, line, column, position)| Token {
                    text: self.text.get(s..).unwrap_or(""),
                    line,
                    column,
                    position,
                });
            };
            let here = (self.line, self.column, self.position);
            self.position += 1;
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
            if c == ',' || c.is_whitespace() {
                if let Some((s, line, column, position)) = start {
                    return Some(Token {
                        text: self.text.get(s..i).unwrap_or(""),
                        line,
                        column,
                        position,
                    });
                }
            } else if start.is_none() {
                start = Some((i, here.0, here.1, here.2));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> DecimalList {
        match parse_decimal_list(input) {
            Some(Ok(l)) => l,
            other => panic!("{input:?}: {other:?}"),
        }
    }

    #[test]
    fn powershell_shapes() {
        let want = vec![70, 0, 0, 0, 10, 255];
        for input in [
            "70, 0, 0, 0, 10, 255",
            "70,0,0,0,10,255",
            "70\n0\n0\n0\n10\n255\n",
            "70\r\n0\r\n0\r\n0\r\n10\r\n255\r\n",
            "70 0 0 0 10 255",
            "{70, 0, 0, 0, 10, 255}",
            "DefaultConnectionSettings : {70, 0, 0, 0,\n                              10, 255}",
            "DefaultConnectionSettings\n-------------------------\n{70, 0, 0, 0, 10, 255}\n",
        ] {
            let l = ok(input);
            assert_eq!(l.bytes, want, "{input:?}");
            assert!(!l.shortened, "{input:?}");
        }
    }

    #[test]
    fn shortened_lists() {
        for input in ["{70, 0, 0, 0...}", "{70, 0, 0, 0…}", "70, 0, 0, 0..."] {
            let l = ok(input);
            assert_eq!(l.bytes, vec![70, 0, 0, 0], "{input:?}");
            assert!(l.shortened, "{input:?}");
        }
        let l = ok("{}");
        assert!(l.bytes.is_empty());
    }

    #[test]
    fn hex_is_never_read_as_decimal() {
        for input in [
            "46 00 00 00",
            "46,00,00,00,0a,ff",
            "46 0 00",   // "00" has a leading zero: a hex typo, not decimal
            "4600 0000", // four digits
            "10 20 30",  // two digits each: valid hex
            "hex:46,00",
            "0x46 0x0",
            "",
        ] {
            assert!(parse_decimal_list(input).is_none(), "{input:?}");
        }
    }

    #[test]
    fn a_guid_is_not_a_list() {
        assert!(
            parse_decimal_list("[HKEY_LOCAL_MACHINE\\X\\{4D36E972-E325-11CE}]\n46 0g").is_none()
        );
        assert!(parse_decimal_list("[HKEY_X\\{12345678-1234}]\n46 0g").is_none());
    }

    #[test]
    fn errors_point_at_the_token() {
        assert_eq!(
            parse_decimal_list("70, 0, 300, 0"),
            Some(Err(HexError::DecimalOutOfRange {
                token: "300".into(),
                line: 1,
                column: 8,
                position: 8
            }))
        );
        assert_eq!(
            parse_decimal_list("Name : {70, 0,\n  0, x1}"),
            Some(Err(HexError::BadToken {
                token: "x1".into(),
                found: 'x',
                line: 2,
                column: 6,
                position: 21
            }))
        );
        // Non-ASCII before the token: columns count characters, not bytes.
        assert!(matches!(
            parse_decimal_list("é {1, 256}"),
            Some(Err(HexError::DecimalOutOfRange {
                column: 7,
                position: 7,
                ..
            }))
        ));
    }

    proptest::proptest! {
        #[test]
        fn prop_never_panics(s in "\\PC{0,200}") {
            let _ = parse_decimal_list(&s);
        }

        #[test]
        fn prop_joined_lists_round_trip(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..100), sep in proptest::sample::select(vec![", ", ",", "\n", "\r\n", " "])) {
            let mut b = b;
            b.push(0); // one single-digit entry, as every real blob has
            let text: Vec<String> = b.iter().map(|x| x.to_string()).collect();
            let parsed = parse_decimal_list(&text.join(sep));
            proptest::prop_assert_eq!(parsed, Some(Ok(DecimalList { bytes: b, shortened: false })));
        }
    }
}
