//! `.reg` files (regedit / reg export), parsed exactly as regedit would import them.
//!
//! The core is a streaming state machine ([`visit`]) that turns physical lines into events
//! (header, key, value, diagnostic) for a [`RegVisitor`], so a 1 GB export never becomes a tree.
//! [`parse`] collects the keys a caller wants; [`write_json_members`] streams the `parse` JSON.
//! Rules and their sources: `notes/reg-format.md` (section numbers are quoted in comments).

use std::io::{self, Read, Write};

use encoding_rs::WINDOWS_1252;
use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};
use crate::registry::{self, Root, ValueType};
use crate::text::{TextEncoding, TextReader};

/// Largest value data kept (16 MiB). regedit has no limit, but a hex value continued over
/// millions of lines must not grow memory without bound: a larger value is dropped with a
/// `value-too-large` error (its continuation lines are still consumed exactly).
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// A parsed export (possibly filtered to some keys).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegExport {
    /// The header line as found, or `None` when the first line is no header at all.
    pub header: Option<String>,
    /// One entry per valid `[key]` line, in file order.
    pub keys: Vec<RegKey>,
}

/// One `[key]` line with the values under it.
#[derive(Debug, Clone, Serialize)]
pub struct RegKey {
    /// Full path, root spelled out, trailing backslashes removed.
    pub path: String,
    pub line: u64,
    /// True for `[-HKEY...]` (the key and its subtree are deleted).
    pub delete: bool,
    pub values: Vec<RegValue>,
}

/// One value statement that regedit would import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegValue {
    /// `""` for the default value `@`.
    pub name: String,
    /// JSON `type`: the Windows type name.
    pub value_type: ValueType,
    pub type_code: u32,
    /// The bytes as stored after import; `None` for a deletion.
    pub bytes: Option<Vec<u8>>,
    pub line: u64,
    /// True for `"name"=-`.
    pub delete: bool,
}

impl Serialize for RegValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("RegValue", 7)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("type", &self.value_type)?;
        st.serialize_field("type_code", &self.type_code)?;
        st.serialize_field("data_hex", &self.bytes.as_deref().map(registry::hex_lower))?;
        st.serialize_field(
            "data",
            &self
                .bytes
                .as_deref()
                .map(|b| registry::decoded_data(self.value_type, b)),
        )?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("delete", &self.delete)?;
        st.end()
    }
}

/// Which dialect the header announced (§1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RegVersion {
    /// `REGEDIT`: the Windows 3.1 format (HKEY_CLASSES_ROOT default values only).
    #[serde(rename = "REGEDIT")]
    Win31,
    /// `REGEDIT4`: string-typed hex data is ANSI.
    #[serde(rename = "REGEDIT4")]
    V4,
    /// `Windows Registry Editor Version 5.00`: string-typed hex data is UTF-16LE.
    #[serde(rename = "5.00")]
    V5,
}

/// A key line as the parser saw it (borrowed from the parser's buffers).
#[derive(Debug, Clone, Copy)]
pub struct KeyEvent<'a> {
    /// Full path, root spelled out, trailing backslashes removed.
    pub path: &'a str,
    pub line: u64,
    pub delete: bool,
    /// The root was abbreviated (`HKLM`), which regedit.exe itself refuses.
    pub abbreviated: bool,
}

/// A value statement that regedit would import (borrowed from the parser's buffers).
#[derive(Debug, Clone, Copy)]
pub struct ValueEvent<'a> {
    pub name: &'a str,
    pub value_type: ValueType,
    /// Stored bytes; `None` for a deletion.
    pub bytes: Option<&'a [u8]>,
    pub line: u64,
    pub delete: bool,
}

/// Receives parse events in file order. Values arrive only for keys whose [`RegVisitor::key`]
/// returned true; values of other keys are syntax-checked without being decoded.
pub trait RegVisitor {
    /// The header line (`None` when the first line is no header), once, before anything else.
    fn header(&mut self, header: Option<&str>, version: Option<RegVersion>) -> io::Result<()>;
    /// A valid key line; return true to receive the values under it.
    fn key(&mut self, key: &KeyEvent<'_>) -> io::Result<bool>;
    /// A value regedit would import, under the last key that returned true.
    fn value(&mut self, value: &ValueEvent<'_>) -> io::Result<()>;
    /// Something regedit would ignore or refuse, or a deviation worth a note.
    fn diagnostic(&mut self, d: Diagnostic) -> io::Result<()>;
}

/// Parses a whole export, keeping only keys for which `keep(full_path)` is true.
pub fn parse<R: Read>(
    reader: TextReader<R>,
    keep: &dyn Fn(&str) -> bool,
) -> (RegExport, Vec<Diagnostic>) {
    let mut c = Collect {
        keep,
        export: RegExport::default(),
        diags: Diagnostics::default(),
    };
    if let Err(e) = visit(reader, &mut c) {
        c.diags.push(Diagnostic::error(
            0,
            1,
            "read-failed",
            format!("reading the file failed: {e}"),
        ));
    }
    (c.export, c.diags.into_vec())
}

struct Collect<'k> {
    keep: &'k dyn Fn(&str) -> bool,
    export: RegExport,
    diags: Diagnostics,
}

impl RegVisitor for Collect<'_> {
    fn header(&mut self, header: Option<&str>, _: Option<RegVersion>) -> io::Result<()> {
        self.export.header = header.map(str::to_string);
        Ok(())
    }
    fn key(&mut self, key: &KeyEvent<'_>) -> io::Result<bool> {
        if !(self.keep)(key.path) {
            return Ok(false);
        }
        self.export.keys.push(RegKey {
            path: key.path.to_string(),
            line: key.line,
            delete: key.delete,
            values: Vec::new(),
        });
        Ok(true)
    }
    fn value(&mut self, v: &ValueEvent<'_>) -> io::Result<()> {
        if let Some(k) = self.export.keys.last_mut() {
            k.values.push(RegValue {
                name: v.name.to_string(),
                value_type: v.value_type,
                type_code: v.value_type.0,
                bytes: v.bytes.map(<[u8]>::to_vec),
                line: v.line,
                delete: v.delete,
            });
        }
        Ok(())
    }
    fn diagnostic(&mut self, d: Diagnostic) -> io::Result<()> {
        self.diags.push(d);
        Ok(())
    }
}

/// Streams the `"header"` and `"keys"` members of the parse JSON (no surrounding braces).
pub fn write_json_members<R: Read, W: Write>(
    reader: TextReader<R>,
    out: &mut W,
) -> io::Result<Vec<Diagnostic>> {
    let mut j = JsonWriter {
        out,
        header_done: false,
        in_key: false,
        first_key: true,
        first_value: true,
        hex: Vec::new(),
        diags: Diagnostics::default(),
    };
    visit(reader, &mut j)?;
    if !j.header_done {
        j.out.write_all(b"\"header\":null,\"keys\":[")?;
    }
    if j.in_key {
        j.out.write_all(b"]}")?;
    }
    j.out.write_all(b"]")?;
    Ok(j.diags.into_vec())
}

struct JsonWriter<'w, W> {
    out: &'w mut W,
    header_done: bool,
    in_key: bool,
    first_key: bool,
    first_value: bool,
    hex: Vec<u8>,
    diags: Diagnostics,
}

fn json_str<W: Write>(out: &mut W, s: &str) -> io::Result<()> {
    serde_json::to_writer(out, s).map_err(io::Error::other)
}

impl<W: Write> RegVisitor for JsonWriter<'_, W> {
    fn header(&mut self, header: Option<&str>, _: Option<RegVersion>) -> io::Result<()> {
        self.out.write_all(b"\"header\":")?;
        match header {
            Some(h) => json_str(self.out, h)?,
            None => self.out.write_all(b"null")?,
        }
        self.out.write_all(b",\"keys\":[")?;
        self.header_done = true;
        Ok(())
    }
    fn key(&mut self, key: &KeyEvent<'_>) -> io::Result<bool> {
        if self.in_key {
            self.out.write_all(b"]}")?;
        }
        if !self.first_key {
            self.out.write_all(b",")?;
        }
        self.first_key = false;
        self.out.write_all(b"{\"path\":")?;
        json_str(self.out, key.path)?;
        write!(
            self.out,
            ",\"line\":{},\"delete\":{},\"values\":[",
            key.line, key.delete
        )?;
        self.in_key = true;
        self.first_value = true;
        Ok(true)
    }
    fn value(&mut self, v: &ValueEvent<'_>) -> io::Result<()> {
        if !self.first_value {
            self.out.write_all(b",")?;
        }
        self.first_value = false;
        self.out.write_all(b"{\"name\":")?;
        json_str(self.out, v.name)?;
        self.out.write_all(b",\"type\":")?;
        json_str(self.out, &v.value_type.name())?;
        write!(self.out, ",\"type_code\":{},\"data_hex\":", v.value_type.0)?;
        match v.bytes {
            Some(b) => {
                self.hex.clear();
                self.hex.push(b'"');
                push_hex(&mut self.hex, b);
                self.hex.extend_from_slice(b"\",\"data\":");
                self.out.write_all(&self.hex)?;
                let data = registry::decoded_data(v.value_type, b);
                serde_json::to_writer(&mut *self.out, &data).map_err(io::Error::other)?;
            }
            None => self.out.write_all(b"null,\"data\":null")?,
        }
        write!(self.out, ",\"line\":{},\"delete\":{}}}", v.line, v.delete)
    }
    fn diagnostic(&mut self, d: Diagnostic) -> io::Result<()> {
        self.diags.push(d);
        Ok(())
    }
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
}

/// Runs the streaming parser over `reader`, reporting events to `visitor` in file order.
///
/// A file regedit refuses as a whole yields one `rejected-file` error and no keys.
pub fn visit<R: Read, V: RegVisitor>(mut reader: TextReader<R>, visitor: &mut V) -> io::Result<()> {
    let encoding = reader.encoding();
    let refused = match encoding {
        TextEncoding::Utf16LeNoBom => Some("UTF-16LE without a byte-order mark"),
        TextEncoding::Utf16Be => Some("UTF-16BE"),
        TextEncoding::Utf16BeNoBom => Some("UTF-16BE without a byte-order mark"),
        _ => None,
    };
    if let Some(what) = refused {
        visitor.header(None, None)?;
        return visitor.diagnostic(Diagnostic::error(
            1,
            1,
            "rejected-file",
            format!(
                "regedit refuses this file: it is {what}; expected UTF-16LE with BOM (FF FE) or \
                 8-bit text (\"The specified file is not a registry script\"). Re-save it as \
                 \"Unicode\" (UTF-16LE with BOM) to import it"
            ),
        ));
    }
    if encoding == TextEncoding::Utf8Bom {
        visitor.diagnostic(Diagnostic::info(
            1,
            1,
            "utf8-bom",
            "UTF-8 with BOM: current Windows imports it, older regedit and Wine refuse it",
        ))?;
    }
    let mut p = Parser::new(encoding);
    let mut started = false;
    while let Some(line) = reader.next_line() {
        let line = line?;
        started = true;
        let (number, text, truncated) = (line.number, line.text, line.truncated);
        let go_on = p.line(number, text, truncated, visitor)?;
        for d in reader.take_diagnostics() {
            visitor.diagnostic(d)?;
        }
        if !go_on {
            return Ok(());
        }
    }
    if !started {
        visitor.header(None, None)?;
        return visitor.diagnostic(Diagnostic::error(
            1,
            1,
            "rejected-file",
            "regedit refuses this file: it is empty; expected the header \
             `Windows Registry Editor Version 5.00` or `REGEDIT4`",
        ));
    }
    p.finish(visitor)
}

/// Whether values currently have a key to go to (§3).
#[derive(Debug, Clone, Copy)]
enum KeyState {
    /// No key line yet.
    NoneYet,
    /// The last key line was invalid (unknown root) at this line: values are dropped.
    Invalid(u64),
    /// The last key line deleted a key: values are dropped.
    Deleted(u64),
    /// A key is open; `keep` says whether the visitor wants its values.
    Open { keep: bool },
}

/// A hex value continued on following lines (§4.3).
#[derive(Debug)]
struct Pending {
    line: u64,
    column: u32,
    type_code: u32,
    store: bool,
    overflow: bool,
}

struct Parser {
    encoding: TextEncoding,
    version: Option<RegVersion>,
    header_seen: bool,
    key: KeyState,
    pending: Option<Pending>,
    mismatch_warned: bool,
    path: String,
    name: String,
    scratch: String,
    data: Vec<u8>,
}

/// An error inside one line: byte offset into the line and what was expected vs found.
struct Bad {
    at: usize,
    msg: String,
}

fn bad(at: usize, msg: impl Into<String>) -> Bad {
    Bad {
        at,
        msg: msg.into(),
    }
}

/// How a hex payload line ended.
enum HexEnd {
    /// The value is complete.
    Done,
    /// `,\`: the data goes on on the next non-empty line.
    Continue,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| is_blank(*c)) {
        i += 1;
    }
    i
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The character at byte offset `at` for messages (`end of line` past the end).
fn found(text: &str, at: usize) -> String {
    match text.get(at..).and_then(|s| s.chars().next()) {
        Some(c) => format!("{:?}", c),
        None => "end of line".to_string(),
    }
}

/// 1-based character column of byte offset `at`.
fn column(text: &str, at: usize) -> u32 {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let n = text.get(..at).map_or(0, |p| p.chars().count());
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

/// Parses one line of a comma-separated hex payload from byte `i` (§4.3), appending to
/// `out` when given (at most up to [`MAX_VALUE_BYTES`]; `overflow` is set beyond).
fn parse_hex_csv(
    b: &[u8],
    mut i: usize,
    mut out: Option<&mut Vec<u8>>,
    overflow: &mut bool,
) -> Result<HexEnd, Bad> {
    // Trailing blanks end the data like the end of the line.
    let mut len = b.len();
    while len > i && b.get(len - 1).is_some_and(|c| is_blank(*c)) {
        len -= 1;
    }
    let b = b.get(..len).unwrap_or(&[]);
    loop {
        let j = skip_blanks(b, i);
        let Some(&c) = b.get(j) else {
            return Ok(HexEnd::Done);
        };
        if let Some(hi) = hex_val(c) {
            let mut e = j + 1;
            let mut v = hi;
            if let Some(lo) = b.get(e).copied().and_then(hex_val) {
                v = (hi << 4) | lo;
                e += 1;
            }
            if b.get(e).copied().and_then(hex_val).is_some() {
                return Err(bad(
                    j,
                    "expected a byte of one or two hex digits, found three or more digits",
                ));
            }
            if let Some(o) = out.as_deref_mut() {
                if o.len() < MAX_VALUE_BYTES {
                    o.push(v);
                } else {
                    *overflow = true;
                }
            }
            match b.get(e) {
                None => return Ok(HexEnd::Done),
                Some(b',') => i = e + 1,
                Some(_) => {
                    let k = skip_blanks(b, e);
                    return match b.get(k) {
                        None | Some(b';') => Ok(HexEnd::Done),
                        Some(b'\\') => Err(bad(
                            k,
                            "expected ',' before the line-continuation '\\', found '\\' \
                             right after a byte",
                        )),
                        Some(_) => Err(bad(e, "expected ',' or end of line after a byte")),
                    };
                }
            }
        } else {
            match c {
                b'\\' => {
                    let k = skip_blanks(b, j + 1);
                    return match b.get(k) {
                        None | Some(b';') => Ok(HexEnd::Continue),
                        Some(_) => Err(bad(
                            k,
                            "expected end of line or ';' after the continuation '\\'",
                        )),
                    };
                }
                b';' => return Ok(HexEnd::Done),
                _ => return Err(bad(j, "expected a hex byte (1-2 hex digits)")),
            }
        }
    }
}

/// Unescapes a quoted string starting right after its opening quote (§4.2).
/// Returns the byte offset just past the closing quote, relative to `s`.
fn unescape(s: &str, mut out: Option<&mut String>) -> Result<usize, Bad> {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        let rest = b.get(i..).unwrap_or(&[]);
        let Some(off) = memchr::memchr2(b'\\', b'"', rest) else {
            return Err(bad(
                b.len(),
                "expected a closing '\"', found end of line (strings cannot span lines)",
            ));
        };
        if let Some(o) = out.as_deref_mut() {
            o.push_str(s.get(i..i + off).unwrap_or(""));
        }
        let at = i + off;
        if b.get(at) == Some(&b'"') {
            return Ok(at + 1);
        }
        let esc = s.get(at + 1..).and_then(|t| t.chars().next());
        let c = match esc {
            None => {
                return Err(bad(
                    at,
                    "expected an escaped character after '\\', found end of line",
                ))
            }
            Some('0') => {
                return Err(bad(
                    at,
                    "'\\0' inside a string makes regedit refuse the value",
                ))
            }
            Some('n') => '\n',
            Some('r') => '\r',
            Some(c) => c,
        };
        if let Some(o) = out.as_deref_mut() {
            o.push(c);
        }
        i = at + 1 + esc.map_or(1, char::len_utf8);
    }
}

fn utf16_into(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() * 2 + 2);
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

impl Parser {
    fn new(encoding: TextEncoding) -> Parser {
        Parser {
            encoding,
            version: None,
            header_seen: false,
            key: KeyState::NoneYet,
            pending: None,
            mismatch_warned: false,
            path: String::new(),
            name: String::new(),
            scratch: String::new(),
            data: Vec::new(),
        }
    }

    /// Handles one physical line; false stops the parse (refused file).
    fn line<V: RegVisitor>(
        &mut self,
        no: u64,
        text: &str,
        truncated: bool,
        v: &mut V,
    ) -> io::Result<bool> {
        // Everything after a NUL is invisible to regedit (C strings).
        let text = match memchr::memchr(0, text.as_bytes()) {
            Some(i) => {
                v.diagnostic(Diagnostic::warning(
                    no,
                    column(text, i),
                    "nul-in-line",
                    "NUL character: regedit ignores the rest of this line",
                ))?;
                text.get(..i).unwrap_or("")
            }
            None => text,
        };
        if !self.header_seen {
            self.header_seen = true;
            return self.header(no, text, v);
        }
        if self.version == Some(RegVersion::Win31) {
            return self.win31_line(no, text, v).map(|_| true);
        }
        if self.pending.is_some() {
            return self.continuation(no, text, truncated, v).map(|_| true);
        }
        self.statement(no, text, truncated, v)?;
        Ok(true)
    }

    fn header<V: RegVisitor>(&mut self, no: u64, text: &str, v: &mut V) -> io::Result<bool> {
        let b = text.as_bytes();
        let start = skip_blanks(b, 0);
        let h = text.get(start..).unwrap_or("");
        let lower = h.to_ascii_lowercase();
        let header_like = lower.starts_with("regedit") || lower.starts_with("windows registry");
        const V5: &str = "Windows Registry Editor Version 5.00";
        let trimmed = h.trim_end_matches([' ', '\t']);
        let version = match trimmed {
            "REGEDIT4" => Some(RegVersion::V4),
            V5 => Some(RegVersion::V5),
            "REGEDIT" => Some(RegVersion::Win31),
            _ => None,
        };
        v.header(header_like.then_some(text), version)?;
        let Some(version) = version else {
            if h.starts_with("REGEDIT") {
                v.diagnostic(Diagnostic::warning(
                    no,
                    column(text, start),
                    "lookalike-header",
                    format!(
                        "header {h:?} only looks like `REGEDIT4`: reg.exe reports success but \
                         imports NOTHING from this file; expected exactly `REGEDIT4` or `{V5}`"
                    ),
                ))?;
                return Ok(false);
            }
            let msg = if h.is_empty() {
                format!(
                    "regedit refuses this file: expected the header `{V5}` or `REGEDIT4` on \
                     the first line, found a blank line"
                )
            } else {
                format!(
                    "regedit refuses this file: expected the header `{V5}` or `REGEDIT4` \
                     (case-sensitive) on the first line, found {:?}",
                    truncate_for_message(h)
                )
            };
            v.diagnostic(Diagnostic::error(
                no,
                column(text, start),
                "rejected-file",
                msg,
            ))?;
            return Ok(false);
        };
        if trimmed.len() != h.len() {
            v.diagnostic(Diagnostic::warning(
                no,
                column(text, start + trimmed.len()),
                "header-trailing-blank",
                "blanks after the header: Windows imports such files in practice, but Wine's \
                 regedit treats the header as a look-alike and imports nothing",
            ))?;
        }
        self.version = Some(version);
        let ansi = !self.encoding.is_utf16();
        match version {
            RegVersion::V4 if !ansi => v.diagnostic(Diagnostic::info(
                no,
                1,
                "header-encoding-mismatch",
                "REGEDIT4 header in a UTF-16 file: string-typed hex data is read as ANSI \
                 (by header); Wine would read it as UTF-16LE (by encoding)",
            ))?,
            RegVersion::V5 if ansi => v.diagnostic(Diagnostic::info(
                no,
                1,
                "header-encoding-mismatch",
                format!(
                    "version 5.00 header in an 8-bit ({}) file: string-typed hex data is read \
                     as UTF-16LE (by header); Wine would widen it a second time (by encoding)",
                    self.encoding.name()
                ),
            ))?,
            RegVersion::Win31 => v.diagnostic(Diagnostic::warning(
                no,
                1,
                "win31-format",
                "Windows 3.1 `REGEDIT` file: only `HKEY_CLASSES_ROOT` lines (default values) \
                 are imported, everything else is ignored",
            ))?,
            _ => {}
        }
        Ok(true)
    }

    /// §1.5: `HKEY_CLASSES_ROOT\path [=] value` lines only.
    fn win31_line<V: RegVisitor>(&mut self, no: u64, text: &str, v: &mut V) -> io::Result<()> {
        const HKCR: &str = "HKEY_CLASSES_ROOT";
        if !text.starts_with(HKCR) {
            return Ok(());
        }
        let b = text.as_bytes();
        let key_end = b
            .iter()
            .position(|c| c.is_ascii_whitespace())
            .unwrap_or(b.len());
        let mut val = skip_blanks(b, key_end);
        if b.get(val) == Some(&b'=') {
            val += 1;
        }
        if b.get(val) == Some(&b' ') {
            val += 1;
        }
        let key = text.get(..key_end).unwrap_or("");
        if !self.set_path(key) {
            return v.diagnostic(Diagnostic::error(
                no,
                1,
                "rejected-key",
                format!("expected `{HKCR}` or `{HKCR}\\...`, found {key:?}"),
            ));
        }
        let keep = v.key(&KeyEvent {
            path: &self.path,
            line: no,
            delete: false,
            abbreviated: false,
        })?;
        if keep {
            self.data.clear();
            utf16_into(text.get(val..).unwrap_or(""), &mut self.data);
            self.data.extend_from_slice(&[0, 0]);
            v.value(&ValueEvent {
                name: "",
                value_type: ValueType::SZ,
                bytes: Some(&self.data),
                line: no,
                delete: false,
            })?;
        }
        Ok(())
    }

    /// Canonical path into `self.path`: root spelled out, trailing backslashes removed.
    /// Returns false for an unknown root. Abbreviation is reported by [`Parser::root_of`].
    fn set_path(&mut self, raw: &str) -> bool {
        let Some((root, _)) = Self::root_of(raw) else {
            return false;
        };
        let rest = raw.split_once('\\').map_or("", |(_, r)| r);
        let rest = rest.trim_end_matches('\\');
        self.path.clear();
        self.path.push_str(root.full_name());
        if !rest.is_empty() {
            self.path.push('\\');
            self.path.push_str(rest);
        }
        true
    }

    fn root_of(raw: &str) -> Option<(Root, bool)> {
        let root = raw.split_once('\\').map_or(raw, |(r, _)| r);
        Root::parse(root)
    }

    /// A line outside a hex continuation (§2).
    fn statement<V: RegVisitor>(
        &mut self,
        no: u64,
        text: &str,
        truncated: bool,
        v: &mut V,
    ) -> io::Result<()> {
        let b = text.as_bytes();
        let i = skip_blanks(b, 0);
        match b.get(i) {
            None | Some(b';') => Ok(()),
            Some(b'[') => self.key_line(no, text, i, v),
            Some(b'@') | Some(b'"') => {
                if truncated {
                    return v.diagnostic(Diagnostic::error(
                        no,
                        column(text, i),
                        "value-too-large",
                        "value line longer than the line limit: the value is not reported \
                         (regedit would import it); its continuation, if any, is not followed",
                    ));
                }
                self.value_line(no, text, i, v)
            }
            Some(b'#') => v.diagnostic(Diagnostic::warning(
                no,
                column(text, i),
                "hash-comment",
                "`#` is not a comment character in .reg files; regedit ignores this line \
                 only because it starts with `#` (after a value it would break the value)",
            )),
            Some(_) => v.diagnostic(Diagnostic::warning(
                no,
                column(text, i),
                "ignored-line",
                format!(
                    "regedit ignores this line: expected `[key]`, `\"name\"=...`, `@=...`, \
                     `;comment` or a blank line, found {}",
                    found(text, i)
                ),
            )),
        }
    }

    /// §3 key lines; `i` is the offset of `[`.
    fn key_line<V: RegVisitor>(
        &mut self,
        no: u64,
        text: &str,
        i: usize,
        v: &mut V,
    ) -> io::Result<()> {
        let b = text.as_bytes();
        let inner = i + 1;
        if b.get(inner).is_some_and(|c| is_blank(*c)) {
            // regedit skips the line without closing the previous key.
            return v.diagnostic(Diagnostic::error(
                no,
                column(text, inner),
                "rejected-key",
                "expected a root key name right after '[', found a blank: regedit ignores this \
                 key line (values below still go to the previous key)",
            ));
        }
        let Some(close) = memchr::memrchr(b']', b.get(inner..).unwrap_or(&[])) else {
            return v.diagnostic(Diagnostic::error(
                no,
                column(text, b.len()),
                "rejected-key",
                "expected ']' to close the key name, found end of line: regedit ignores this \
                 key line (values below still go to the previous key)",
            ));
        };
        let close = inner + close;
        let name = text.get(inner..close).unwrap_or("");
        let after = skip_blanks(b, close + 1);
        if after < b.len() {
            v.diagnostic(Diagnostic::warning(
                no,
                column(text, after),
                "text-after-key",
                format!(
                    "text after the closing ']' is ignored, found {}",
                    found(text, after)
                ),
            ))?;
        }
        if let Some(del) = name.strip_prefix('-') {
            if !del.starts_with(['H', 'h']) {
                self.key = KeyState::Deleted(no);
                return v.diagnostic(Diagnostic::error(
                    no,
                    column(text, inner + 1),
                    "rejected-key",
                    format!(
                        "expected a root key right after `[-`, found {}: regedit deletes \
                         nothing (and values below are dropped)",
                        found(text, inner + 1)
                    ),
                ));
            }
            return self.open_key(no, text, inner + 1, del, true, v);
        }
        self.open_key(no, text, inner, name, false, v)
    }

    fn open_key<V: RegVisitor>(
        &mut self,
        no: u64,
        text: &str,
        at: usize,
        name: &str,
        delete: bool,
        v: &mut V,
    ) -> io::Result<()> {
        let Some((_, abbreviated)) = Self::root_of(name) else {
            self.key = KeyState::Invalid(no);
            let root = name.split_once('\\').map_or(name, |(r, _)| r);
            return v.diagnostic(Diagnostic::error(
                no,
                column(text, at),
                "rejected-key",
                format!(
                    "expected a root key (HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS, \
                     HKEY_CLASSES_ROOT, HKEY_CURRENT_CONFIG), found {:?}: regedit rejects the \
                     key and drops the values below it",
                    truncate_for_message(root)
                ),
            ));
        };
        self.set_path(name);
        if abbreviated {
            v.diagnostic(Diagnostic::warning(
                no,
                column(text, at),
                "abbreviated-root",
                "abbreviated root key: reg.exe import accepts it, regedit.exe refuses the key \
                 (and drops its values); write the root in full (HKEY_...)",
            ))?;
        }
        if delete && !self.path.contains('\\') {
            v.diagnostic(Diagnostic::warning(
                no,
                column(text, at),
                "delete-root",
                "deleting a whole root key is refused by regedit",
            ))?;
        }
        let keep = v.key(&KeyEvent {
            path: &self.path,
            line: no,
            delete,
            abbreviated,
        })?;
        self.key = if delete {
            KeyState::Deleted(no)
        } else {
            KeyState::Open { keep }
        };
        Ok(())
    }

    /// §4 value lines; `i` is the offset of `@` or `"`.
    fn value_line<V: RegVisitor>(
        &mut self,
        no: u64,
        text: &str,
        i: usize,
        v: &mut V,
    ) -> io::Result<()> {
        let store = matches!(self.key, KeyState::Open { keep: true });
        match self.value_syntax(no, text, i, store) {
            Ok(Some(end)) => self.finish_value(no, end, v),
            Ok(None) => Ok(()),
            Err(e) => v.diagnostic(Diagnostic::error(
                no,
                column(text, e.at),
                "rejected-value",
                format!("regedit does not import this value: {}", e.msg),
            )),
        }
    }

    /// Parses a value statement. `Ok(None)`: a hex continuation is pending.
    /// `Ok(Some(kind))`: complete (`self.name`/`self.data` hold it when `store`).
    fn value_syntax(
        &mut self,
        no: u64,
        text: &str,
        i: usize,
        store: bool,
    ) -> Result<Option<Done>, Bad> {
        let b = text.as_bytes();
        self.name.clear();
        let mut p = if b.get(i) == Some(&b'@') {
            i + 1
        } else {
            let body = text.get(i + 1..).unwrap_or("");
            let end = unescape(body, store.then_some(&mut self.name)).map_err(|e| Bad {
                at: e.at + i + 1,
                msg: format!("in the value name: {}", e.msg),
            })?;
            i + 1 + end
        };
        p = skip_blanks(b, p);
        if b.get(p) != Some(&b'=') {
            return Err(bad(
                p,
                format!(
                    "expected '=' after the value name, found {}",
                    found(text, p)
                ),
            ));
        }
        p = skip_blanks(b, p + 1);
        let rest = b.get(p..).unwrap_or(&[]);
        if rest.first() == Some(&b'-') {
            let k = skip_blanks(b, p + 1);
            return match b.get(k) {
                None | Some(b';') => Ok(Some(Done::Delete)),
                Some(_) => Err(bad(
                    k,
                    format!(
                        "expected end of line after `=-` (value deletion), found {}",
                        found(text, k)
                    ),
                )),
            };
        }
        self.data.clear();
        if rest.first() == Some(&b'"') {
            let body = text.get(p + 1..).unwrap_or("");
            self.scratch.clear();
            let end = unescape(body, store.then_some(&mut self.scratch)).map_err(|e| Bad {
                at: e.at + p + 1,
                msg: e.msg,
            })?;
            let k = skip_blanks(b, p + 1 + end);
            return match b.get(k) {
                None | Some(b';') => {
                    if store {
                        utf16_into(&self.scratch, &mut self.data);
                        self.data.extend_from_slice(&[0, 0]);
                    }
                    Ok(Some(Done::Data(ValueType::SZ.0)))
                }
                Some(_) => Err(bad(
                    k,
                    format!(
                        "expected end of line or ';' after the closing quote, found {}",
                        found(text, k)
                    ),
                )),
            };
        }
        if rest.starts_with(b"dword:") {
            let s = skip_blanks(b, p + 6);
            let mut e = s;
            let mut n: u32 = 0;
            while let Some(d) = b.get(e).copied().and_then(hex_val) {
                n = (n << 4) | u32::from(d);
                e += 1;
                if e - s > 8 {
                    return Err(bad(s, "expected at most 8 hex digits after `dword:`"));
                }
            }
            if e == s {
                return Err(bad(
                    s,
                    format!(
                        "expected 1 to 8 hex digits after `dword:`, found {}",
                        found(text, s)
                    ),
                ));
            }
            let k = skip_blanks(b, e);
            return match b.get(k) {
                None | Some(b';') => {
                    self.data.extend_from_slice(&n.to_le_bytes());
                    Ok(Some(Done::Data(ValueType::DWORD.0)))
                }
                Some(_) => Err(bad(
                    k,
                    format!(
                        "expected end of line after the dword digits, found {}",
                        found(text, k)
                    ),
                )),
            };
        }
        let (type_code, payload) = if rest.starts_with(b"hex:") {
            (ValueType::BINARY.0, p + 4)
        } else if rest.starts_with(b"hex(") {
            let s = p + 4;
            let mut e = s;
            let mut n: u64 = 0;
            while let Some(d) = b.get(e).copied().and_then(hex_val) {
                n = (n << 4) | u64::from(d);
                e += 1;
                if n > u64::from(u32::MAX) {
                    return Err(bad(
                        s,
                        "expected a type number of at most ffffffff in hex(N)",
                    ));
                }
            }
            if e == s || b.get(e) != Some(&b')') || b.get(e + 1) != Some(&b':') {
                let at = if e == s || b.get(e) != Some(&b')') {
                    e
                } else {
                    e + 1
                };
                return Err(bad(
                    at,
                    format!(
                        "expected `hex(N):` with N in hex digits, found {}",
                        found(text, at)
                    ),
                ));
            }
            (u32::try_from(n).unwrap_or(u32::MAX), e + 2)
        } else {
            return Err(bad(
                p,
                format!(
                    "expected \"string\", dword:, hex: or hex(N): (lower case), found {:?}",
                    truncate_for_message(text.get(p..).unwrap_or(""))
                ),
            ));
        };
        let mut overflow = false;
        let out = store.then_some(&mut self.data);
        match parse_hex_csv(b, payload, out, &mut overflow)? {
            HexEnd::Done => Ok(Some(Done::Hex {
                type_code,
                overflow,
            })),
            HexEnd::Continue => {
                self.pending = Some(Pending {
                    line: no,
                    column: column(text, i),
                    type_code,
                    store,
                    overflow,
                });
                Ok(None)
            }
        }
    }

    /// A line while a hex value is continued (§4.3 continuation rules).
    fn continuation<V: RegVisitor>(
        &mut self,
        no: u64,
        text: &str,
        truncated: bool,
        v: &mut V,
    ) -> io::Result<()> {
        let b = text.as_bytes();
        let i = skip_blanks(b, 0);
        let Some(pending) = self.pending.as_mut() else {
            return Ok(());
        };
        let c = match b.get(i) {
            None | Some(b';') => return Ok(()),
            Some(c) => *c,
        };
        let started = pending.line;
        if hex_val(c).is_none() {
            self.pending = None;
            self.data.clear();
            v.diagnostic(Diagnostic::error(
                no,
                column(text, i),
                "rejected-value",
                format!(
                    "regedit does not import the value started on line {started}: its \
                     continuation expected a line starting with a hex digit, found {}; \
                     regedit drops the value and this whole line",
                    found(text, i)
                ),
            ))?;
            return match c {
                b'"' | b'@' => v.diagnostic(Diagnostic::error(
                    no,
                    column(text, i),
                    "rejected-value",
                    format!(
                        "this value line is swallowed by the broken continuation of the value \
                         on line {started}: regedit never reads it"
                    ),
                )),
                b'[' => v.diagnostic(Diagnostic::error(
                    no,
                    column(text, i),
                    "rejected-key",
                    format!(
                        "this key line is swallowed by the broken continuation of the value on \
                         line {started}: regedit never opens the key and the values below go \
                         to the previous key"
                    ),
                )),
                _ => Ok(()),
            };
        }
        let out = pending.store.then_some(&mut self.data);
        let mut overflow = pending.overflow;
        let r = parse_hex_csv(b, i, out, &mut overflow);
        pending.overflow = overflow;
        match r {
            Ok(HexEnd::Continue) if !truncated => Ok(()),
            Ok(_) => self.end_pending(no, truncated, v),
            Err(e) => {
                self.pending = None;
                self.data.clear();
                v.diagnostic(Diagnostic::error(
                    no,
                    column(text, e.at),
                    "rejected-value",
                    format!(
                        "regedit does not import the value started on line {started}: {}",
                        e.msg
                    ),
                ))
            }
        }
    }

    fn end_pending<V: RegVisitor>(
        &mut self,
        no: u64,
        truncated: bool,
        v: &mut V,
    ) -> io::Result<()> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        if truncated {
            self.data.clear();
            return v.diagnostic(Diagnostic::error(
                no,
                1,
                "value-too-large",
                format!(
                    "the value started on line {} continues on a line longer than the line \
                     limit: it is not reported",
                    p.line
                ),
            ));
        }
        let _ = p.column;
        self.finish_value(
            p.line,
            Done::Hex {
                type_code: p.type_code,
                overflow: p.overflow,
            },
            v,
        )
    }

    /// A complete value statement: report it if a wanted key is open (§4, §6).
    fn finish_value<V: RegVisitor>(&mut self, no: u64, done: Done, v: &mut V) -> io::Result<()> {
        let reason = match self.key {
            KeyState::Open { keep } => {
                if !keep {
                    return Ok(());
                }
                None
            }
            KeyState::NoneYet => Some("it comes before any [key] line".to_string()),
            KeyState::Invalid(l) => Some(format!("the key line above it (line {l}) is invalid")),
            KeyState::Deleted(l) => Some(format!(
                "the key line above it (line {l}) deletes a key, so no key is open"
            )),
        };
        if let Some(reason) = reason {
            return v.diagnostic(Diagnostic::error(
                no,
                1,
                "rejected-value",
                format!("regedit does not import this value: {reason}"),
            ));
        }
        let (type_code, bytes) = match done {
            Done::Delete => (ValueType::NONE.0, None),
            Done::Data(t) => (t, Some(())),
            Done::Hex {
                type_code,
                overflow,
            } => {
                if overflow {
                    self.data.clear();
                    return v.diagnostic(Diagnostic::error(
                        no,
                        1,
                        "value-too-large",
                        format!(
                            "value data larger than {MAX_VALUE_BYTES} bytes: not reported \
                             (regedit would import it)"
                        ),
                    ));
                }
                self.fix_string_hex(no, type_code, v)?;
                if type_code == ValueType::DWORD.0 && self.data.len() != 4 {
                    v.diagnostic(Diagnostic::warning(
                        no,
                        1,
                        "dword-size",
                        format!(
                            "hex(4) (REG_DWORD) with {} bytes instead of 4: Windows stores it \
                             as given, programs reading a DWORD may fail",
                            self.data.len()
                        ),
                    ))?;
                }
                (type_code, Some(()))
            }
        };
        let r = v.value(&ValueEvent {
            name: &self.name,
            value_type: ValueType(type_code),
            bytes: bytes.map(|_| self.data.as_slice()),
            line: no,
            delete: bytes.is_none(),
        });
        self.data.clear();
        r
    }

    /// §4.3: string-typed hex gets its NUL terminator; REGEDIT4 bytes are ANSI → UTF-16LE.
    fn fix_string_hex<V: RegVisitor>(
        &mut self,
        no: u64,
        type_code: u32,
        v: &mut V,
    ) -> io::Result<()> {
        if !ValueType(type_code).is_string() || self.data.is_empty() {
            return Ok(());
        }
        let ansi_file = !self.encoding.is_utf16();
        let v4 = self.version == Some(RegVersion::V4);
        if ansi_file != v4 && !self.mismatch_warned {
            self.mismatch_warned = true;
            v.diagnostic(Diagnostic::warning(
                no,
                1,
                "header-encoding-mismatch",
                if v4 {
                    "string-typed hex in a REGEDIT4 file saved as UTF-16: read as ANSI bytes \
                     (by header); Wine would store the bytes as UTF-16LE"
                } else {
                    "string-typed hex in a version 5.00 file saved as 8-bit text: read as \
                     UTF-16LE (by header); Wine would widen the bytes a second time"
                },
            ))?;
        }
        if v4 {
            if self.data.last() != Some(&0) {
                self.data.push(0);
            }
            let (wide, _) = WINDOWS_1252.decode_without_bom_handling(&self.data);
            let mut out = Vec::with_capacity(wide.len() * 2);
            utf16_into(&wide, &mut out);
            self.data = out;
        } else {
            let units = self.data.len() / 2;
            let last = units
                .checked_sub(1)
                .and_then(|u| self.data.get(u * 2..u * 2 + 2));
            if last.is_some_and(|l| l != [0, 0]) {
                self.data.extend_from_slice(&[0, 0]);
            }
        }
        Ok(())
    }

    /// End of input: a pending continuation keeps the bytes read so far (§4.3).
    fn finish<V: RegVisitor>(&mut self, v: &mut V) -> io::Result<()> {
        if let Some(p) = &self.pending {
            let line = p.line;
            v.diagnostic(Diagnostic::info(
                line,
                p.column,
                "continuation-at-eof",
                "the file ends while this hex value is continued: regedit keeps the bytes read",
            ))?;
            self.end_pending(line, false, v)?;
        }
        Ok(())
    }
}

/// What a complete value statement holds.
#[derive(Debug, Clone, Copy)]
enum Done {
    Delete,
    Data(u32),
    Hex { type_code: u32, overflow: bool },
}

fn truncate_for_message(s: &str) -> &str {
    let mut end = s.len().min(60);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}
