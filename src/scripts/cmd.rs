//! Writing Windows batch (`.cmd`) files: CRLF line ends, ASCII only, quoting, the elevation
//! check, and `echo` lines that write JSON (escaped when the script is generated, because cmd
//! itself cannot escape anything reliably).

/// Why a script could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// cmd reads a `.cmd` file in the OEM code page: anything but ASCII would be mangled.
    #[error("script line {line}, column {column}: expected ASCII, found {found:?}")]
    NonAscii {
        line: usize,
        column: usize,
        found: char,
    },
    /// A value placed between double quotes must not contain one (cmd has no escape for it).
    #[error("cannot quote {0:?} for cmd: it contains a double quote or a line break")]
    Unquotable(String),
}

/// A batch file being written, line by line (LF inside, CRLF on [`Script::finish`]).
#[derive(Debug, Clone, Default)]
pub struct Script {
    text: String,
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    /// Appends one line as given (no escaping).
    pub fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    /// Appends several lines as given.
    pub fn lines(&mut self, lines: &[&str]) {
        for l in lines {
            self.line(l);
        }
    }

    /// Appends an empty line.
    pub fn blank(&mut self) {
        self.text.push('\n');
    }

    /// Appends a `rem` comment (percent signs doubled, so cmd never expands them).
    pub fn rem(&mut self, s: &str) {
        self.line(&format!("rem {}", s.replace('%', "%%")));
    }

    /// Appends `>>"FILE" echo ...` (or `>` when `append` is false) writing `parts` literally,
    /// with the quoting rules of cmd applied here.
    pub fn echo_to(&mut self, file: &str, append: bool, parts: &[EchoPart<'_>]) {
        let op = if append { ">>" } else { ">" };
        self.line(&format!("{op}{file} echo {}", echo_text(parts)));
    }

    /// The finished file: CRLF line ends, checked to be ASCII.
    pub fn finish(self) -> Result<Vec<u8>, ScriptError> {
        ascii_only(&self.text)?;
        Ok(crlf(&self.text))
    }

    /// The text so far (LF line ends), for tests.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A piece of an `echo` line: literal text (escaped for cmd here) or a reference to a variable
/// expanded when the script runs (`%RC%`). A variable's value must not contain an odd number
/// of double quotes or any of `& | < > ^`: the script's own values (numbers, `null`,
/// `"file.txt"`) satisfy that.
#[derive(Debug, Clone, Copy)]
pub enum EchoPart<'a> {
    Literal(&'a str),
    Var(&'a str),
}

/// Escapes `parts` for an `echo` command line: `%` is doubled everywhere (batch files expand
/// it even between quotes); `^ & | < > ( )` get a caret only outside double quotes, where cmd
/// treats them as operators (between quotes a caret would be printed).
pub fn echo_text(parts: &[EchoPart<'_>]) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for part in parts {
        match part {
            EchoPart::Var(name) => {
                out.push('%');
                out.push_str(name);
                out.push('%');
            }
            EchoPart::Literal(s) => {
                for c in s.chars() {
                    match c {
                        '"' => {
                            quoted = !quoted;
                            out.push(c);
                        }
                        '%' => out.push_str("%%"),
                        '^' | '&' | '|' | '<' | '>' | '(' | ')' if !quoted => {
                            out.push('^');
                            out.push(c);
                        }
                        _ => out.push(c),
                    }
                }
            }
        }
    }
    out
}

/// A JSON string literal (with its quotes) that is pure ASCII: non-ASCII and control
/// characters become `\uXXXX`, so the bytes cmd's `echo` writes are valid UTF-8 JSON.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// `"value"` for a cmd command line; refuses values holding a double quote or a line break.
pub fn quote(value: &str) -> Result<String, ScriptError> {
    if value.contains(['"', '\r', '\n']) {
        return Err(ScriptError::Unquotable(value.to_string()));
    }
    Ok(format!("\"{value}\""))
}

/// The elevation check: `net session` fails unless the prompt runs as administrator. Jumps to
/// `label` when it fails (the caller writes that label, saying so plainly).
pub fn elevation_check(label: &str) -> String {
    format!("net session >nul 2>&1\nif errorlevel 1 goto :{label}")
}

/// LF (or mixed) line ends to CRLF.
pub fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// Checks that every character is ASCII; reports the first one that is not, with its position.
pub fn ascii_only(text: &str) -> Result<(), ScriptError> {
    for (i, line) in text.split('\n').enumerate() {
        if let Some((col, c)) = line.chars().enumerate().find(|(_, c)| !c.is_ascii()) {
            return Err(ScriptError::NonAscii {
                line: i + 1,
                column: col + 1,
                found: c,
            });
        }
    }
    Ok(())
}

/// The argument of `powershell -EncodedCommand`: the script as UTF-16LE, base64.
pub fn encoded_command(ps: &str) -> String {
    let bytes: Vec<u8> = ps.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64(&bytes)
}

/// Standard base64 with padding (RFC 4648), which is what `-EncodedCommand` expects.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0);
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        let idx = |shift: u32| {
            char::from(
                ALPHABET
                    .get(((n >> shift) & 63) as usize)
                    .copied()
                    .unwrap_or(b'A'),
            )
        };
        out.push(idx(18));
        out.push(idx(12));
        out.push(if chunk.len() > 1 { idx(6) } else { '=' });
        out.push(if chunk.len() > 2 { idx(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_escapes_operators_only_outside_quotes() {
        let t = echo_text(&[
            EchoPart::Literal("{\"a\": \"x & y (50%)\", \"b\": "),
            EchoPart::Var("RC"),
            EchoPart::Literal("} & (z)"),
        ]);
        assert_eq!(t, "{\"a\": \"x & y (50%%)\", \"b\": %RC%} ^& ^(z^)");
    }

    #[test]
    fn json_strings_are_ascii() {
        assert_eq!(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(json_string("é\u{1F600}"), "\"\\u00e9\\ud83d\\ude00\"");
        let v: String = serde_json::from_str(&json_string("é\u{1F600}\t")).unwrap();
        assert_eq!(v, "é\u{1F600}\t");
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // `-EncodedCommand` of "dir" as PowerShell's own docs compute it (UTF-16LE).
        assert_eq!(encoded_command("dir"), "ZABpAHIA");
    }

    #[test]
    fn finish_is_crlf_and_ascii() {
        let mut s = Script::new();
        s.line("@echo off");
        s.rem("50% done");
        assert_eq!(
            s.clone().finish().unwrap(),
            b"@echo off\r\nrem 50%% done\r\n"
        );
        s.line("echo caf\u{e9}");
        assert_eq!(
            s.finish(),
            Err(ScriptError::NonAscii {
                line: 3,
                column: 9,
                found: '\u{e9}'
            })
        );
        assert!(quote("a\"b").is_err());
        assert_eq!(quote("C:\\a b").unwrap(), "\"C:\\a b\"");
    }
}
