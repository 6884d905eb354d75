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

use super::reg_skim::{normalize_key_path_into, split_root, SharedLineMap, SkimReader};

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
        // Credentials in string values never reach output (the library keeps the real bytes).
        let hidden = self
            .bytes
            .as_deref()
            .and_then(|b| registry::redacted_string_bytes(self.value_type, b));
        let shown = hidden.as_deref().or(self.bytes.as_deref());
        let mut st = s.serialize_struct("RegValue", 8)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("type", &self.value_type)?;
        st.serialize_field("type_code", &self.type_code)?;
        st.serialize_field("data_hex", &shown.map(registry::hex_lower))?;
        st.serialize_field(
            "data",
            &shown.map(|b| registry::decoded_data(self.value_type, b)),
        )?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("delete", &self.delete)?;
        if hidden.is_some() {
            st.serialize_field("redacted", &true)?;
        }
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
        let hidden = v
            .bytes
            .and_then(|b| registry::redacted_string_bytes(v.value_type, b));
        match hidden.as_deref().or(v.bytes) {
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
        if hidden.is_some() {
            self.out.write_all(b",\"redacted\":true")?;
        }
        write!(self.out, ",\"line\":{},\"delete\":{}}}", v.line, v.delete)
    }
    fn diagnostic(&mut self, d: Diagnostic) -> io::Result<()> {
        self.diags.push(d);
        Ok(())
    }
}

#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
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
pub fn visit<R: Read, V: RegVisitor>(reader: TextReader<R>, visitor: &mut V) -> io::Result<()> {
    visit_capped(reader, visitor, MAX_VALUE_BYTES)
}

/// [`visit`] with another cap on a single value's data than [`MAX_VALUE_BYTES`].
pub fn visit_capped<R: Read, V: RegVisitor>(
    reader: TextReader<R>,
    visitor: &mut V,
    max_value: usize,
) -> io::Result<()> {
    visit_mapped(reader, visitor, max_value, &mut |n| n)
}

/// Parses an export keeping only keys for which `keep(full_path)` is true, without decoding
/// the lines of the other keys (see [`reg_skim`](super::reg_skim)): the analyser's path for
/// huge exports. Keys, values and line numbers are those of [`parse`]; diagnostics about lines
/// inside keys that are not kept are not produced. `input` is the whole file, BOM included.
pub fn parse_skimming<R: Read>(
    input: R,
    encoding: TextEncoding,
    keep: &dyn Fn(&str) -> bool,
) -> (RegExport, Vec<Diagnostic>) {
    parse_skimming_in_chunks(input, encoding, keep, super::reg_skim::CHUNK)
}

/// [`parse_skimming`] reading `chunk` bytes at a time (tests use tiny chunks to cross every
/// buffer boundary).
pub(crate) fn parse_skimming_in_chunks<R: Read>(
    input: R,
    encoding: TextEncoding,
    keep: &dyn Fn(&str) -> bool,
    chunk: usize,
) -> (RegExport, Vec<Diagnostic>) {
    let mut c = Collect {
        keep,
        export: RegExport::default(),
        diags: Diagnostics::default(),
    };
    let map: SharedLineMap = Default::default();
    let skim = SkimReader::new(input, encoding, keep, map.clone()).with_chunk(chunk);
    let result = TextReader::with_detector(skim, |_, _| encoding).and_then(|reader| {
        visit_mapped(reader, &mut c, MAX_VALUE_BYTES, &mut |n| {
            map.borrow_mut().map(n)
        })
    });
    if let Err(e) = result {
        c.diags.push(Diagnostic::error(
            0,
            1,
            "read-failed",
            format!("reading the file failed: {e}"),
        ));
    }
    (c.export, c.diags.into_vec())
}

/// The parse loop; `map` turns the reader's line numbers into the file's.
fn visit_mapped<R: Read, V: RegVisitor>(
    mut reader: TextReader<R>,
    visitor: &mut V,
    max_value: usize,
    map: &mut dyn FnMut(u64) -> u64,
) -> io::Result<()> {
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
    p.max_value = max_value;
    let mut started = false;
    while let Some(line) = reader.next_line() {
        let line = line?;
        started = true;
        let (number, text, truncated) = (map(line.number), line.text, line.truncated);
        let go_on = p.line(number, text, truncated, visitor)?;
        for mut d in reader.take_diagnostics() {
            d.line = map(d.line);
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
    max_value: usize,
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
/// `out` when given (at most `cap` bytes in all; `overflow` is set beyond).
fn parse_hex_csv(
    b: &[u8],
    mut i: usize,
    mut out: Option<&mut Vec<u8>>,
    cap: usize,
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
        if let Some(hi) = registry::hex_digit(c) {
            let mut e = j + 1;
            let mut v = hi;
            if let Some(lo) = b.get(e).copied().and_then(registry::hex_digit) {
                v = (hi << 4) | lo;
                e += 1;
            }
            if b.get(e).copied().and_then(registry::hex_digit).is_some() {
                return Err(bad(
                    j,
                    "expected a byte of one or two hex digits, found three or more digits",
                ));
            }
            if let Some(o) = out.as_deref_mut() {
                if o.len() < cap {
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
            max_value: MAX_VALUE_BYTES,
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
        // A header that does not match the file's encoding (a hand-written ASCII file with the
        // 5.00 header is the common case): said once, plainly, what regedit does with it.
        let ansi = !self.encoding.is_utf16();
        let plain = match version {
            RegVersion::V5 if ansi => Some(
                "8-bit text file (written by hand?) with the `Windows Registry Editor Version 5.00` \
                 header: regedit imports it as it is and stores its text values as Unicode. Only \
                 hex(1)/hex(2)/hex(7) data would be stored byte for byte as UTF-16LE, so such bytes \
                 must already be UTF-16LE (`41,00,...`)",
            ),
            RegVersion::V4 if !ansi => Some(
                "UTF-16 file with the `REGEDIT4` header: regedit imports it as it is and stores its \
                 text values as Unicode. Only hex(1)/hex(2)/hex(7) data would be read as ANSI bytes",
            ),
            _ => None,
        };
        if let Some(message) = plain {
            self.mismatch_warned = true;
            v.diagnostic(Diagnostic::info(no, 1, "header-encoding-mismatch", message))?;
        }
        if version == RegVersion::Win31 {
            v.diagnostic(Diagnostic::warning(
                no,
                1,
                "win31-format",
                "Windows 3.1 `REGEDIT` file: only `HKEY_CLASSES_ROOT` lines (default values) \
                 are imported, everything else is ignored",
            ))?;
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

    /// Canonical path into `self.path` (the skimmer's form): root spelled out, trailing
    /// backslashes removed. Returns false for an unknown root. Abbreviation is reported by
    /// [`Parser::root_of`].
    fn set_path(&mut self, raw: &str) -> bool {
        normalize_key_path_into(raw, &mut self.path)
    }

    fn root_of(raw: &str) -> Option<(Root, bool)> {
        Root::parse(split_root(raw).0)
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
            let root = split_root(name).0;
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
            while let Some(d) = b.get(e).copied().and_then(registry::hex_digit) {
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
            while let Some(d) = b.get(e).copied().and_then(registry::hex_digit) {
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
        match parse_hex_csv(b, payload, out, self.max_value, &mut overflow)? {
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
        if registry::hex_digit(c).is_none() {
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
        let r = parse_hex_csv(b, i, out, self.max_value, &mut overflow);
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
                            "value data larger than {} bytes: not reported (regedit would \
                             import it)",
                            self.max_value
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
                    "regedit stores these hex(…) bytes as ANSI text, because the header says \
                     REGEDIT4, although the file is UTF-16: check the value (Wine would keep \
                     the bytes as UTF-16LE)"
                } else {
                    "regedit stores these hex(…) bytes unchanged as UTF-16LE text, because the \
                     header says version 5.00, although the file is 8-bit text: they must \
                     already be UTF-16LE (`41,00,…`), else the value is garbage (Wine would \
                     widen them a second time)"
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;
    use crate::registry::utf16le_with_nul;

    const H5: &str = "Windows Registry Editor Version 5.00";

    fn run_enc(bytes: &[u8], enc: TextEncoding) -> (RegExport, Vec<Diagnostic>) {
        let r = TextReader::with_detector(bytes, |_, _| enc).unwrap();
        parse(r, &|_| true)
    }

    fn run(text: &str) -> (RegExport, Vec<Diagnostic>) {
        run_enc(text.as_bytes(), TextEncoding::Utf8)
    }

    fn utf16(text: &str) -> Vec<u8> {
        let mut v = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    /// A UTF-16LE v5 file with one key (line 3) and `body` from line 4 on.
    fn keyed(body: &str) -> (RegExport, Vec<Diagnostic>) {
        let text = format!("{H5}\r\n\r\n[HKEY_CURRENT_USER\\T]\r\n{body}");
        run_enc(&utf16(&text), TextEncoding::Utf16Le)
    }

    fn values(body: &str) -> Vec<RegValue> {
        keyed(body)
            .0
            .keys
            .into_iter()
            .flat_map(|k| k.values)
            .collect()
    }

    fn bytes_of(body: &str) -> Option<Vec<u8>> {
        let vs = values(body);
        assert!(vs.len() <= 1, "{vs:?}");
        vs.into_iter().next().and_then(|v| v.bytes)
    }

    /// (line, column, code) of warnings and errors.
    fn issues(d: &[Diagnostic]) -> Vec<(u64, u32, &'static str)> {
        d.iter()
            .filter(|d| d.severity != Severity::Info)
            .map(|d| (d.line, d.column, d.code))
            .collect()
    }

    fn rejected_lines(d: &[Diagnostic]) -> Vec<u64> {
        d.iter()
            .filter(|d| d.code == "rejected-value")
            .map(|d| d.line)
            .collect()
    }

    fn refused(r: &(RegExport, Vec<Diagnostic>)) -> bool {
        r.0.keys.is_empty()
            && r.1
                .iter()
                .any(|d| d.code == "rejected-file" && d.severity == Severity::Error)
    }

    // ---- §1.3 header ----

    #[test]
    fn header_exact_v5_and_regedit4_import() {
        let r = run(&format!(
            "{H5}\r\n[HKEY_CURRENT_USER\\A]\r\n\"x\"=dword:1\r\n"
        ));
        assert_eq!(r.0.header.as_deref(), Some(H5));
        assert_eq!(r.0.keys[0].values[0].bytes, Some(vec![1, 0, 0, 0]));
        let r = run("REGEDIT4\n[HKEY_CURRENT_USER\\A]\n\"x\"=\"y\"\n");
        assert_eq!(r.0.keys[0].values[0].bytes, Some(utf16le_with_nul("y")));
        assert!(issues(&r.1).is_empty(), "{:?}", r.1);
    }

    #[test]
    fn header_leading_blanks_are_skipped() {
        for h in [
            " REGEDIT4",
            "\tREGEDIT4",
            "  \tWindows Registry Editor Version 5.00",
        ] {
            let r = run(&format!("{h}\n[HKEY_CURRENT_USER\\A]\n@=\"v\"\n"));
            assert_eq!(r.0.keys.len(), 1, "{h}");
        }
    }

    #[test]
    fn header_blank_line_before_it_refuses_the_file() {
        let r = run("\nREGEDIT4\n[HKEY_CURRENT_USER\\A]\n");
        assert!(refused(&r));
        assert_eq!(r.1[0].line, 1);
    }

    #[test]
    fn header_invalid_refuses_the_file() {
        for h in [
            "regedit4",
            "Regedit4",
            "Windows Registry Editor Version 4.00",
            "Windows Registry Editor Version 5",
            "WINDOWS REGISTRY EDITOR VERSION 5.00",
            "Windows Registry Editor version 5.00",
            "AREGEDIT4",
            "[HKEY_CURRENT_USER\\A]",
        ] {
            let r = run(&format!("{h}\n[HKEY_CURRENT_USER\\A]\n\"x\"=\"y\"\n"));
            assert!(refused(&r), "{h}");
            assert_eq!(r.1.len(), 1, "{h}: {:?}", r.1);
            assert!(r.1[0].message.contains("expected the header"), "{h}");
        }
        assert_eq!(run("[HKEY_CURRENT_USER\\A]\n").0.header, None);
        assert_eq!(run("Regedit4\n").0.header.as_deref(), Some("Regedit4"));
    }

    #[test]
    fn header_lookalike_warns_and_imports_nothing() {
        for h in [
            "REGEDIT 4",
            "REGEDIT4FOO",
            "REGEDIT4 FOO",
            "REGEDIT3",
            "REGEDIT5",
            "REGEDIT9",
        ] {
            let r = run(&format!("{h}\n[HKEY_CURRENT_USER\\A]\n\"x\"=\"y\"\n"));
            assert!(r.0.keys.is_empty(), "{h}");
            assert_eq!(issues(&r.1), vec![(1, 1, "lookalike-header")], "{h}");
            assert_eq!(r.1[0].severity, Severity::Warning);
        }
    }

    #[test]
    fn header_trailing_blank_is_accepted_with_a_warning() {
        let r = run("REGEDIT4 \n[HKEY_CURRENT_USER\\A]\n@=\"v\"\n");
        assert_eq!(r.0.keys.len(), 1);
        assert_eq!(issues(&r.1), vec![(1, 9, "header-trailing-blank")]);
    }

    #[test]
    fn header_needs_no_blank_line_after_it() {
        let r = run("REGEDIT4\n[HKEY_CURRENT_USER\\A]\n@=\"v\"\n");
        assert_eq!(r.0.keys[0].line, 2);
    }

    #[test]
    fn empty_file_is_refused() {
        assert!(refused(&run("")));
    }

    // ---- §1.1 encodings / BOM ----

    #[test]
    fn bom_utf16le_is_accepted_and_not_a_character() {
        let r = run_enc(
            &utf16(&format!(
                "{H5}\r\n\r\n[HKEY_USERS\\S-1-5-18]\r\n@=\"x\"\r\n"
            )),
            TextEncoding::Utf16Le,
        );
        assert_eq!(r.0.header.as_deref(), Some(H5));
        assert_eq!(r.0.keys[0].path, "HKEY_USERS\\S-1-5-18");
        assert!(r.1.is_empty(), "{:?}", r.1);
    }

    #[test]
    fn bom_missing_on_utf16_or_big_endian_refuses_the_file() {
        for enc in [
            TextEncoding::Utf16LeNoBom,
            TextEncoding::Utf16Be,
            TextEncoding::Utf16BeNoBom,
        ] {
            let r = run_enc(b"R\0E\0", enc);
            assert!(refused(&r), "{enc:?}");
            assert_eq!(r.1.len(), 1);
        }
    }

    #[test]
    fn bom_utf8_is_accepted_with_a_note() {
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice(b"REGEDIT4\r\n[HKEY_CURRENT_USER\\A]\r\n@=\"v\"\r\n");
        let r = run_enc(&b, TextEncoding::Utf8Bom);
        assert_eq!(r.0.keys.len(), 1);
        assert!(r
            .1
            .iter()
            .any(|d| d.code == "utf8-bom" && d.severity == Severity::Info));
    }

    // ---- §1.2 line breaks ----

    #[test]
    fn line_breaks_mixed_and_no_final_newline() {
        let r = run("REGEDIT4\r[HKEY_CURRENT_USER\\A]\n\"a\"=\"1\"\r\n\"b\"=\"2\"\r\"c\"=\"3\"");
        let vs = &r.0.keys[0].values;
        let got: Vec<_> = vs.iter().map(|v| (v.name.as_str(), v.line)).collect();
        assert_eq!(got, vec![("a", 3), ("b", 4), ("c", 5)]);
    }

    // ---- §2 line classification ----

    #[test]
    fn lines_semicolon_comments_and_blank_lines_are_silent_and_keep_the_key_open() {
        let vs = values("; comment\r\n\r\n   \r\n\t;x\r\n\"a\"=\"1\"\r\n");
        assert_eq!(vs.len(), 1);
        assert_eq!(vs[0].line, 8);
    }

    #[test]
    fn lines_starting_with_hash_are_ignored_with_a_warning() {
        let (_, d) = keyed("# not a comment\r\n  #x\r\n");
        assert_eq!(
            issues(&d),
            vec![(4, 1, "hash-comment"), (5, 3, "hash-comment")]
        );
    }

    #[test]
    fn lines_of_other_garbage_are_ignored_with_a_warning() {
        let (e, d) = keyed("EnableAutoTray 0\r\n,00\r\n\"a\"=\"1\"\r\n");
        assert_eq!(
            issues(&d),
            vec![(4, 1, "ignored-line"), (5, 1, "ignored-line")]
        );
        assert_eq!(e.keys[0].values.len(), 1);
    }

    // ---- §3 key lines ----

    #[test]
    fn key_blanks_before_bracket_are_fine() {
        let (e, _) = run("REGEDIT4\n \t[HKEY_CURRENT_USER\\A]\n@=\"v\"\n");
        assert_eq!(e.keys[0].path, "HKEY_CURRENT_USER\\A");
        assert_eq!(e.keys[0].values.len(), 1);
    }

    #[test]
    fn key_blank_after_bracket_is_rejected_and_previous_key_stays_open() {
        let (e, d) =
            keyed("[ HKEY_CURRENT_USER\\B]\r\n\"a\"=\"1\"\r\n[\tHKEY_CURRENT_USER\\C]\r\n");
        assert_eq!(e.keys.len(), 1);
        assert_eq!(e.keys[0].values[0].name, "a");
        assert_eq!(
            issues(&d),
            vec![(4, 2, "rejected-key"), (6, 2, "rejected-key")]
        );
    }

    #[test]
    fn key_name_ends_at_the_last_bracket() {
        let (e, d) = run("REGEDIT4\n[HKEY_CURRENT_USER\\a]b]c ; x\n");
        assert_eq!(e.keys[0].path, "HKEY_CURRENT_USER\\a]b");
        assert_eq!(issues(&d), vec![(2, 24, "text-after-key")]);
    }

    #[test]
    fn key_without_closing_bracket_is_ignored() {
        let (e, d) = keyed("[HKEY_CURRENT_USER\\B\r\n\"a\"=\"1\"\r\n");
        assert_eq!(e.keys.len(), 1);
        assert_eq!(e.keys[0].values.len(), 1);
        assert_eq!(issues(&d), vec![(4, 21, "rejected-key")]);
    }

    #[test]
    fn key_without_opening_bracket_is_an_ignored_line() {
        let (e, d) = keyed("HKEY_CURRENT_USER\\B]\r\n");
        assert_eq!(e.keys.len(), 1);
        assert_eq!(issues(&d), vec![(4, 1, "ignored-line")]);
    }

    #[test]
    fn key_blank_before_closing_bracket_belongs_to_the_name() {
        let (e, _) = run("REGEDIT4\n[HKEY_CURRENT_USER\\Subkey1c ]\n");
        assert_eq!(e.keys[0].path, "HKEY_CURRENT_USER\\Subkey1c ");
    }

    #[test]
    fn key_roots_case_insensitive_and_spelled_out() {
        let (e, d) = run("REGEDIT4\n[HKey_Current_User\\A]\n[hkey_local_machine]\n[HKEY_DYN_DATA\\x]\n[HKEY_CURRENT_CONFIG\\x]\n[HKEY_CLASSES_ROOT\\*]\n");
        let paths: Vec<_> = e.keys.iter().map(|k| k.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "HKEY_CURRENT_USER\\A",
                "HKEY_LOCAL_MACHINE",
                "HKEY_DYN_DATA\\x",
                "HKEY_CURRENT_CONFIG\\x",
                "HKEY_CLASSES_ROOT\\*"
            ]
        );
        assert!(issues(&d).is_empty());
    }

    #[test]
    fn key_abbreviated_root_is_accepted_normalised_and_flagged() {
        let (e, d) = run("REGEDIT4\n[HKU\\S-1-5-18\\Software]\n@=\"v\"\n");
        assert_eq!(e.keys[0].path, "HKEY_USERS\\S-1-5-18\\Software");
        assert_eq!(e.keys[0].values.len(), 1);
        assert_eq!(issues(&d), vec![(2, 2, "abbreviated-root")]);
    }

    #[test]
    fn key_unknown_root_is_rejected_and_closes_the_previous_key() {
        let (e, d) = keyed("[HKEY_CURRENT_USERS\\B]\r\n\"a\"=\"1\"\r\n[HKEY_CURRENT_USERX]\r\n");
        assert_eq!(e.keys.len(), 1);
        assert!(e.keys[0].values.is_empty());
        assert_eq!(
            issues(&d),
            vec![
                (4, 2, "rejected-key"),
                (5, 1, "rejected-value"),
                (6, 2, "rejected-key")
            ]
        );
        assert!(d[1].message.contains("line 4"));
    }

    #[test]
    fn key_trailing_backslashes_are_stripped() {
        let (e, _) = run("REGEDIT4\n[HKEY_CURRENT_USER\\Subkey1e\\]\n[HKEY_CURRENT_USER\\]\n");
        assert_eq!(e.keys[0].path, "HKEY_CURRENT_USER\\Subkey1e");
        assert_eq!(e.keys[1].path, "HKEY_CURRENT_USER");
    }

    #[test]
    fn key_names_may_hold_quotes_slashes_colons() {
        let (e, _) =
            run("REGEDIT4\n[HKEY_CURRENT_USER\\Subkey\"1\\Subkey/2\\https://winehq.org]\n");
        assert_eq!(
            e.keys[0].path,
            "HKEY_CURRENT_USER\\Subkey\"1\\Subkey/2\\https://winehq.org"
        );
    }

    #[test]
    fn key_lines_cannot_be_continued() {
        let (e, _) = run("REGEDIT4\n[HKEY_CURRENT_USER\\A\\\nB]\n");
        assert!(e.keys.is_empty());
    }

    #[test]
    fn key_deletion_and_values_after_it_are_dropped() {
        let (e, d) = keyed("[-HKEY_CURRENT_USER\\T\\Sub\\]\r\n\"a\"=\"1\"\r\n");
        assert_eq!(e.keys.len(), 2);
        assert_eq!(
            (e.keys[1].path.as_str(), e.keys[1].line, e.keys[1].delete),
            ("HKEY_CURRENT_USER\\T\\Sub", 4, true)
        );
        assert_eq!(issues(&d), vec![(5, 1, "rejected-value")]);
    }

    #[test]
    fn key_deletion_with_blank_does_nothing() {
        // `[- ROOT]` closes the open key and deletes nothing; `[ -ROOT]` is ignored entirely.
        let (e, d) = keyed("[ -HKEY_CURRENT_USER\\T]\r\n\"a\"=\"1\"\r\n[- HKEY_CURRENT_USER\\T]\r\n\"b\"=\"2\"\r\n");
        assert_eq!(e.keys.len(), 1);
        assert_eq!(e.keys[0].values.len(), 1);
        assert_eq!(
            issues(&d),
            vec![
                (4, 2, "rejected-key"),
                (6, 3, "rejected-key"),
                (7, 1, "rejected-value")
            ]
        );
    }

    #[test]
    fn key_opened_twice_gives_two_entries() {
        let (e, _) = keyed("[HKEY_CURRENT_USER\\T]\r\n\"a\"=\"2\"\r\n");
        assert_eq!(e.keys.len(), 2);
        assert_eq!(e.keys[1].line, 4);
    }

    // ---- §4 value lines and §4.1 names ----

    #[test]
    fn value_default_at_and_empty_name() {
        let vs = values("@=\"d\"\r\n\"\"=\"e\"\r\n");
        assert_eq!(vs[0].name, "");
        assert_eq!(vs[1].name, "");
        assert_eq!(vs[1].bytes, Some(utf16le_with_nul("e")));
    }

    #[test]
    fn value_whitespace_around_equals_and_trailing() {
        let vs = values(" \t\"a\" \t= \t\"x\" \t\r\n@ = dword:2 \r\n\"b\"=\thex:01 \r\n");
        assert_eq!(vs.len(), 3);
        assert_eq!(vs[1].bytes, Some(vec![2, 0, 0, 0]));
        assert_eq!(vs[2].bytes, Some(vec![1]));
    }

    #[test]
    fn value_name_escapes_and_ordinary_characters() {
        let vs = values("\"With=Equals\"=\"1\"\r\n\"123/\\\"4;'5\"=\"2\"\r\n\"a\\\\b\"=\"3\"\r\n\" sp \"=\"4\"\r\n");
        let names: Vec<_> = vs.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, vec!["With=Equals", "123/\"4;'5", "a\\b", " sp "]);
    }

    #[test]
    fn value_name_followed_by_other_than_equals_is_rejected() {
        let (e, d) = keyed("\"DisableRemoteScmEndpoints\"dword:00000000\r\n\"a\" x=\"1\"\r\n");
        assert!(e.keys[0].values.is_empty());
        assert_eq!(
            issues(&d),
            vec![(4, 28, "rejected-value"), (5, 5, "rejected-value")]
        );
        assert!(d[0].message.contains("expected '='"), "{}", d[0].message);
        assert!(d[0].message.contains("'d'"), "{}", d[0].message);
    }

    #[test]
    fn value_outside_any_key_is_rejected() {
        let (_, d) = run("REGEDIT4\n\"a\"=\"1\"\n@=hex:01,\\\n  02\n");
        assert_eq!(rejected_lines(&d), vec![2, 3]);
    }

    // ---- §4.2 strings ----

    #[test]
    fn string_escapes_backslash_quote_newline() {
        let b = bytes_of("\"a\"=\"C:\\\\x\\\"y\\nz\\r\"\r\n");
        assert_eq!(b, Some(utf16le_with_nul("C:\\x\"y\nz\r")));
    }

    #[test]
    fn string_backslash_zero_invalidates_the_value() {
        let (e, d) = keyed("\"a\"=\"x\\0\"\r\n\"b\"=\"x\\\\0\"\r\n");
        assert_eq!(e.keys[0].values.len(), 1);
        assert_eq!(e.keys[0].values[0].bytes, Some(utf16le_with_nul("x\\0")));
        assert_eq!(issues(&d), vec![(4, 7, "rejected-value")]);
    }

    #[test]
    fn string_other_escape_keeps_the_character() {
        assert_eq!(
            bytes_of("\"a\"=\"\\t\\x\\é\"\r\n"),
            Some(utf16le_with_nul("txé"))
        );
    }

    #[test]
    fn string_trailing_backslash_or_missing_quote_is_rejected() {
        let (_, d) = keyed("\"a\"=\"abc\\\r\n\"b\"=\"abc\r\n");
        assert_eq!(
            issues(&d),
            vec![(4, 9, "rejected-value"), (5, 9, "rejected-value")]
        );
    }

    #[test]
    fn string_garbage_after_closing_quote_is_rejected() {
        let (e, d) = keyed(
            "\"a\"=\"foo\"bar\"\r\n\"b\"=\"Value\"#comment\r\n\"c\"=\"a\"\"b\"\r\n\"d\"=\"ok\" ;comment\r\n",
        );
        assert_eq!(e.keys[0].values.len(), 1);
        assert_eq!(e.keys[0].values[0].name, "d");
        assert_eq!(rejected_lines(&d), vec![4, 5, 6]);
        assert!(d[0].message.contains("after the closing quote"));
    }

    #[test]
    fn string_missing_quotes_are_rejected() {
        let (e, d) = keyed(
            "\"a\"=Asdf\"\r\n\"b\"=Asdf\r\n\"c\"=\"Asdf\r\n\"d\"=\r\n\"e\"=\\\"Value\\\"\r\n",
        );
        assert!(e.keys[0].values.is_empty());
        assert_eq!(rejected_lines(&d), vec![4, 5, 6, 7, 8]);
    }

    #[test]
    fn string_cannot_span_lines() {
        let (e, d) = keyed("\"a\"=\"abc\\\r\ndef\"\r\n");
        assert!(e.keys[0].values.is_empty());
        assert_eq!(
            issues(&d),
            vec![(4, 9, "rejected-value"), (5, 1, "ignored-line")]
        );
    }

    #[test]
    fn string_empty_is_a_lone_nul() {
        assert_eq!(bytes_of("\"a\"=\"\"\r\n"), Some(vec![0, 0]));
    }

    // ---- §4.3 dword ----

    #[test]
    fn dword_valid_forms() {
        for (data, n) in [
            ("dword:00000001", 1u32),
            ("dword:1", 1),
            ("dword: \t12345678 ", 0x1234_5678),
            ("dword:FFFFFFFF", u32::MAX),
            ("dword:aBcD ;comment", 0xabcd),
        ] {
            assert_eq!(
                bytes_of(&format!("\"a\"={data}\r\n")),
                Some(n.to_le_bytes().to_vec()),
                "{data}"
            );
        }
    }

    #[test]
    fn dword_invalid_forms() {
        for data in [
            "dword:000000001",
            "dword:0x1",
            "dword:123 456",
            "dword:12345678abc",
            "dword:1234#5678",
            "dword:",
            "dword:  ",
            "DWORD:1",
            "dword:1,\\",
        ] {
            let (e, d) = keyed(&format!("\"a\"={data}\r\n"));
            assert!(e.keys[0].values.is_empty(), "{data}");
            assert_eq!(rejected_lines(&d), vec![4], "{data}");
        }
    }

    // ---- §4.3 hex / hex(N) ----

    #[test]
    fn hex_type_numbers() {
        for (tag, t) in [
            ("hex", 3u32),
            ("hex(0)", 0),
            ("hex(2)", 2),
            ("hex(b)", 11),
            ("hex(B)", 11),
            ("hex(100)", 0x100),
            ("hex(abcd)", 0xabcd),
            ("hex(ffffffff)", u32::MAX),
        ] {
            let vs = values(&format!("\"a\"={tag}:01\r\n"));
            assert_eq!(vs[0].type_code, t, "{tag}");
            assert_eq!(vs[0].value_type, ValueType(t));
        }
        for tag in [
            "hex(100000000)",
            "hex(0x2)",
            "hex(0X2)",
            "hex(x2)",
            "hex()",
            "HEX",
            "Hex(2)",
            "hex(2)",
        ] {
            let (e, d) = keyed(&format!("\"a\"={tag}01\r\n"));
            assert!(e.keys[0].values.is_empty(), "{tag}");
            assert_eq!(rejected_lines(&d), vec![4], "{tag}");
        }
    }

    #[test]
    fn hex_bytes_have_one_or_two_digits() {
        assert_eq!(
            bytes_of("\"a\"=hex:1,a,ff,0F\r\n"),
            Some(vec![1, 0xa, 0xff, 0xf])
        );
        for data in ["100", "1a4", "01,001"] {
            let (_, d) = keyed(&format!("\"a\"=hex:{data}\r\n"));
            assert_eq!(rejected_lines(&d), vec![4], "{data}");
        }
    }

    #[test]
    fn hex_empty_payload_is_a_zero_length_value_of_any_type() {
        for tag in ["hex", "hex(0)", "hex(1)", "hex(2)", "hex(4)", "hex(7)"] {
            assert_eq!(
                bytes_of(&format!("\"a\"={tag}:\r\n")),
                Some(vec![]),
                "{tag}"
            );
        }
        assert_eq!(bytes_of("\"a\"=hex: ;c\r\n"), Some(vec![]));
    }

    #[test]
    fn hex_trailing_comma_is_ignored() {
        assert_eq!(bytes_of("\"a\"=hex:01,02,\r\n"), Some(vec![1, 2]));
    }

    #[test]
    fn hex_blanks_after_comma_ok_before_comma_error() {
        assert_eq!(bytes_of("\"a\"=hex:01, 02,\t03\r\n"), Some(vec![1, 2, 3]));
        let (_, d) = keyed("\"a\"=hex:01 ,02\r\n");
        assert_eq!(issues(&d), vec![(4, 11, "rejected-value")]);
    }

    #[test]
    fn hex_semicolon_comment_ok_hash_not() {
        assert_eq!(bytes_of("\"a\"=hex:01,02 ;c\r\n"), Some(vec![1, 2]));
        assert_eq!(bytes_of("\"a\"=hex:01,02;c\r\n"), Some(vec![1, 2]));
        for data in ["01,02 #c", "01,02#c", "01,#c"] {
            let (_, d) = keyed(&format!("\"a\"=hex:{data}\r\n"));
            assert_eq!(rejected_lines(&d), vec![4], "{data}");
        }
    }

    #[test]
    fn hex_empty_elements_are_invalid() {
        let (_, d) = keyed("\"a\"=hex:63,,6f\r\n");
        assert_eq!(issues(&d), vec![(4, 12, "rejected-value")]);
    }

    #[test]
    fn hex4_of_wrong_size_is_stored_as_given_and_flagged() {
        let (e, d) = keyed("\"a\"=hex(4):01\r\n\"b\"=hex(4):01,00,00,00\r\n");
        assert_eq!(e.keys[0].values[0].bytes, Some(vec![1]));
        assert_eq!(e.keys[0].values[1].bytes, Some(vec![1, 0, 0, 0]));
        assert_eq!(issues(&d), vec![(4, 1, "dword-size")]);
    }

    // ---- §4.3 continuation ----

    #[test]
    fn continuation_joins_lines_with_comments_and_blank_lines_between() {
        let vs = values(
            "\"a\"=hex:01,02,\\ ;c\r\n\r\n  ;x\r\n \t \r\n  03,\\\r\n\t04\r\n\"b\"=\"x\"\r\n",
        );
        assert_eq!(vs[0].bytes, Some(vec![1, 2, 3, 4]));
        assert_eq!(vs[0].line, 4);
        assert_eq!(vs[1].line, 10);
    }

    #[test]
    fn continuation_killer_line_is_consumed_with_the_value() {
        for (killer, code) in [
            (",05", None),
            ("\\05", None),
            ("#05", None),
            ("\"b\"=\"x\"", Some("rejected-value")),
            ("@=\"x\"", Some("rejected-value")),
            ("[HKEY_CURRENT_USER\\U]", Some("rejected-key")),
        ] {
            let (e, d) = keyed(&format!("\"a\"=hex:01,\\\r\n{killer}\r\n\"c\"=\"y\"\r\n"));
            // The key on the killer line is never opened: "c" lands in the first key.
            assert_eq!(e.keys.len(), 1, "{killer}");
            let names: Vec<_> = e.keys[0].values.iter().map(|v| v.name.as_str()).collect();
            assert_eq!(names, vec!["c"], "{killer}");
            let mut want = vec![(5, 1, "rejected-value")];
            if let Some(c) = code {
                want.push((5, 1, c));
            }
            assert_eq!(issues(&d), want, "{killer}");
            assert!(d[0].message.contains("line 4"));
        }
    }

    #[test]
    fn continuation_backslash_without_comma_is_invalid_and_next_line_is_normal() {
        let (e, d) = keyed("\"a\"=hex:01,20\\\r\n\"b\"=\"x\"\r\n");
        assert_eq!(e.keys[0].values.len(), 1);
        assert_eq!(e.keys[0].values[0].name, "b");
        assert_eq!(issues(&d), vec![(4, 14, "rejected-value")]);
    }

    #[test]
    fn continuation_cannot_split_a_byte() {
        let (e, d) = keyed("\"a\"=hex:01,7\\\r\n5,00\r\n");
        assert!(e.keys[0].values.is_empty());
        assert_eq!(
            issues(&d),
            vec![(4, 13, "rejected-value"), (5, 1, "ignored-line")]
        );
    }

    #[test]
    fn continuation_backslash_elsewhere_is_invalid() {
        for data in ["25,48\\,4f", "\\25", "4\\f", "01,\\ 02"] {
            let (e, d) = keyed(&format!("\"a\"=hex:{data}\r\n"));
            assert!(e.keys[0].values.is_empty(), "{data}");
            assert_eq!(rejected_lines(&d), vec![4], "{data}");
        }
    }

    #[test]
    fn continuation_plain_comma_ends_the_value() {
        let (e, d) = keyed("\"a\"=hex:01,02,\r\n  03,04\r\n");
        assert_eq!(e.keys[0].values[0].bytes, Some(vec![1, 2]));
        assert_eq!(issues(&d), vec![(5, 3, "ignored-line")]);
    }

    #[test]
    fn continuation_at_eof_keeps_the_bytes_read() {
        let (e, d) = keyed("\"a\"=hex:01,02,\\\r\n  03,\\\r\n");
        assert_eq!(e.keys[0].values[0].bytes, Some(vec![1, 2, 3]));
        assert!(d
            .iter()
            .any(|d| d.code == "continuation-at-eof" && d.line == 4));
        assert!(rejected_lines(&d).is_empty());
    }

    #[test]
    fn continuation_backslash_without_comma_at_eof_is_invalid() {
        let (e, d) = keyed("\"a\"=hex:01,20\\");
        assert!(e.keys[0].values.is_empty());
        assert_eq!(rejected_lines(&d), vec![4]);
    }

    #[test]
    fn continuation_error_on_a_later_line_rejects_the_value() {
        let (e, d) = keyed("\"a\"=hex:01,\\\r\n  02,zz\r\n\"b\"=\"x\"\r\n");
        assert_eq!(e.keys[0].values.len(), 1);
        assert_eq!(issues(&d), vec![(5, 6, "rejected-value")]);
        assert!(d[0].message.contains("line 4"));
    }

    // ---- §4.3 string-typed hex, §1.4 REGEDIT4 widening ----

    #[test]
    fn nul_terminator_added_to_v5_string_hex_once() {
        assert_eq!(
            bytes_of("\"a\"=hex(2):25,00,50,00\r\n"),
            Some(vec![0x25, 0, 0x50, 0, 0, 0])
        );
        assert_eq!(
            bytes_of("\"a\"=hex(1):25,00,00,00\r\n"),
            Some(vec![0x25, 0, 0, 0])
        );
        // REG_MULTI_SZ gets one NUL, not its final double NUL.
        assert_eq!(
            bytes_of("\"a\"=hex(7):61,00,00,00,62,00\r\n"),
            Some(vec![0x61, 0, 0, 0, 0x62, 0, 0, 0])
        );
        // Embedded NULs are kept; other types are untouched.
        assert_eq!(bytes_of("\"a\"=hex(0):25,00\r\n"), Some(vec![0x25, 0]));
        assert_eq!(bytes_of("\"a\"=hex:25\r\n"), Some(vec![0x25]));
    }

    #[test]
    fn regedit4_string_hex_is_ansi_widened_to_utf16_with_nul() {
        let r = run_enc(
            b"REGEDIT4\r\n[HKEY_CURRENT_USER\\A]\r\n\"a\"=hex(2):25,50,e9\r\n\"b\"=hex(7):61,00,62,00,00\r\n\"c\"=hex:e9\r\n\"d\"=\"\xe9\"\r\n\"e\"=hex(1):\r\n",
            TextEncoding::Windows1252,
        );
        let vs = &r.0.keys[0].values;
        assert_eq!(vs[0].bytes, Some(utf16le_with_nul("%Pé")));
        assert_eq!(vs[1].bytes, Some(vec![0x61, 0, 0, 0, 0x62, 0, 0, 0, 0, 0]));
        assert_eq!(vs[2].bytes, Some(vec![0xe9]));
        assert_eq!(vs[3].bytes, Some(utf16le_with_nul("é")));
        assert_eq!(vs[4].bytes, Some(vec![]));
        assert!(issues(&r.1).is_empty(), "{:?}", r.1);
    }

    #[test]
    fn header_encoding_mismatch_is_reported() {
        let r = run(&format!(
            "{H5}\n[HKEY_CURRENT_USER\\A]\n\"a\"=hex(2):25,00\n"
        ));
        assert_eq!(r.0.keys[0].values[0].bytes, Some(vec![0x25, 0, 0, 0]));
        // Said once, plainly, at the header.
        let all: Vec<_> =
            r.1.iter()
                .filter(|d| d.code == "header-encoding-mismatch")
                .map(|d| (d.line, d.severity))
                .collect();
        assert_eq!(all, [(1, Severity::Info)]);
        assert!(issues(&r.1).is_empty(), "{:?}", r.1);
    }

    #[test]
    fn hand_written_ascii_export_gets_one_plain_info() {
        let r = run(&format!(
            "{H5}\n[HKEY_CURRENT_USER\\A]\n\"a\"=dword:00000001\n\"b\"=\"x\"\n"
        ));
        let all: Vec<_> =
            r.1.iter()
                .filter(|d| d.code == "header-encoding-mismatch")
                .collect();
        assert_eq!(all.len(), 1, "{:?}", r.1);
        assert_eq!(all[0].severity, Severity::Info);
        assert!(all[0].message.contains("regedit imports it as it is"));
    }

    // ---- §4.5 value deletion ----

    #[test]
    fn deletion_forms() {
        let (e, d) = keyed("\"a\"=-\r\n\"b\"=  -\r\n\"c\"=\t-\t\r\n\"d\"=- ;c\r\n@=-\r\n\"x\"=-\"Test\"\r\n\"y\"=- #c\r\n");
        let got: Vec<_> = e.keys[0]
            .values
            .iter()
            .map(|v| (v.name.as_str(), v.delete, v.bytes.is_none()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", true, true),
                ("b", true, true),
                ("c", true, true),
                ("d", true, true),
                ("", true, true)
            ]
        );
        assert_eq!(rejected_lines(&d), vec![9, 10]);
    }

    // ---- §1.5 Windows 3.1 ----

    #[test]
    fn win31_hkcr_lines_become_default_values() {
        let (e, d) = run("REGEDIT\nHKEY_CLASSES_ROOT\\.txt = txtfile \nHKEY_CLASSES_ROOT\\x\n  HKEY_CLASSES_ROOT\\y = z\nfoo\n");
        assert_eq!(e.keys.len(), 2);
        assert_eq!(e.keys[0].path, "HKEY_CLASSES_ROOT\\.txt");
        assert_eq!(
            e.keys[0].values[0].bytes,
            Some(utf16le_with_nul("txtfile "))
        );
        assert_eq!(e.keys[1].values[0].bytes, Some(vec![0, 0]));
        assert_eq!(issues(&d), vec![(1, 1, "win31-format")]);
    }

    // ---- robustness ----

    #[test]
    fn nul_in_line_hides_the_rest() {
        let (e, d) = keyed("\"a\"=\"x\"\0garbage\r\n");
        assert_eq!(e.keys[0].values[0].bytes, Some(utf16le_with_nul("x")));
        assert_eq!(issues(&d), vec![(4, 8, "nul-in-line")]);
    }

    #[test]
    fn value_over_the_cap_is_dropped_with_a_diagnostic_and_continuation_followed() {
        let text =
            format!("{H5}\n[HKEY_CURRENT_USER\\A]\n\"a\"=hex:01,02,03,\\\n 04,05\n\"b\"=hex:01\n");
        let r = TextReader::with_detector(text.as_bytes(), |_, _| TextEncoding::Utf8).unwrap();
        let mut c = Collect {
            keep: &|_| true,
            export: RegExport::default(),
            diags: Diagnostics::default(),
        };
        visit_capped(r, &mut c, 4).unwrap();
        let d = c.diags.into_vec();
        assert_eq!(c.export.keys[0].values.len(), 1);
        assert_eq!(c.export.keys[0].values[0].name, "b");
        assert_eq!(issues(&d), vec![(3, 1, "value-too-large")]);
    }

    #[test]
    fn keep_filter_skips_values_but_tracks_continuations() {
        let text = format!(
            "{H5}\n[HKEY_CURRENT_USER\\Skip]\n\"a\"=hex:01,\\\n[HKEY_CURRENT_USER\\Keep]\n\"b\"=\"x\"\n[HKEY_CURRENT_USER\\Keep2]\n\"c\"=\"y\"\n"
        );
        let r = TextReader::with_detector(text.as_bytes(), |_, _| TextEncoding::Utf8).unwrap();
        let (e, d) = parse(r, &|p| p.contains("Keep"));
        // The [Keep] line is swallowed by the broken continuation: "b" goes to the skipped key.
        assert_eq!(e.keys.len(), 1);
        assert_eq!(e.keys[0].path, "HKEY_CURRENT_USER\\Keep2");
        assert_eq!(e.keys[0].values[0].name, "c");
        assert_eq!(
            issues(&d),
            vec![(4, 1, "rejected-value"), (4, 1, "rejected-key")]
        );
    }

    #[test]
    fn json_members_match_the_collected_export() {
        let body = "@=\"v\"\r\n\"b\"=hex:01,02\r\n\"d\"=dword:10\r\n\"x\"=-\r\n[-HKEY_CURRENT_USER\\T\\Z]\r\n";
        let text = format!("{H5}\r\n\r\n[HKEY_CURRENT_USER\\T]\r\n{body}");
        let bytes = utf16(&text);
        let r = TextReader::with_detector(&bytes[..], |_, _| TextEncoding::Utf16Le).unwrap();
        let mut out = Vec::new();
        let diags = write_json_members(r, &mut out).unwrap();
        assert!(diags.is_empty());
        let streamed: serde_json::Value =
            serde_json::from_slice(&[b"{", &out[..], b"}"].concat()).unwrap();
        let (e, _) = run_enc(&bytes, TextEncoding::Utf16Le);
        assert_eq!(streamed, serde_json::to_value(&e).unwrap());
        assert_eq!(streamed["keys"][0]["values"][1]["data_hex"], "0102");
        assert_eq!(streamed["keys"][0]["values"][2]["data"], 16);
        assert_eq!(streamed["keys"][0]["values"][0]["data"], "v");
        assert_eq!(
            streamed["keys"][0]["values"][3]["data_hex"],
            serde_json::Value::Null
        );
        assert_eq!(streamed["keys"][1]["delete"], true);
    }

    #[test]
    fn json_members_of_a_refused_file() {
        let r = TextReader::with_detector(&b"hello\n"[..], |_, _| TextEncoding::Utf8).unwrap();
        let mut out = Vec::new();
        let diags = write_json_members(r, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"header\":null,\"keys\":[]"
        );
        assert_eq!(diags[0].code, "rejected-file");
    }

    mod props {
        use super::*;
        use crate::formats::reg_writer::{write_export, WriteKey, WriteValue};
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = WriteValue> {
            let name = "[^\u{0}\r\n]{0,12}";
            prop_oneof![
                // REG_SZ round-trips only as a NUL-free string with its terminator.
                (name, "[^\u{0}]{0,40}").prop_map(|(n, s)| WriteValue {
                    name: n,
                    value_type: ValueType::SZ,
                    bytes: utf16le_with_nul(&s),
                }),
                (
                    name,
                    any::<u32>(),
                    proptest::collection::vec(any::<u8>(), 0..300)
                )
                    .prop_filter_map(
                        "string types and SZ are normalised",
                        |(n, t, b)| {
                            let t = ValueType(t % 16);
                            let last = b.len().checked_sub(2).and_then(|i| b.get(i..));
                            let terminated =
                                b.is_empty() || b.len() % 2 == 0 && last == Some(&[0, 0][..]);
                            if t == ValueType::SZ || (t.is_string() && !terminated) {
                                None
                            } else {
                                Some(WriteValue {
                                    name: n,
                                    value_type: t,
                                    bytes: b,
                                })
                            }
                        }
                    ),
                (
                    name,
                    any::<u32>(),
                    proptest::collection::vec(any::<u8>(), 0..20)
                )
                    .prop_map(|(n, t, b)| WriteValue {
                        name: n,
                        value_type: ValueType(t),
                        bytes: b
                    })
                    .prop_filter("string types", |v| !v.value_type.is_string()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            #[test]
            fn writer_output_parses_back_to_the_same_values(
                keys in proptest::collection::vec(
                    ("[A-Za-z0-9 _.-]{1,10}", proptest::collection::vec(value(), 0..5)),
                    0..4,
                )
            ) {
                let keys: Vec<WriteKey> = keys
                    .into_iter()
                    .map(|(p, values)| WriteKey { path: format!("HKEY_USERS\\S-1-5-18\\{p}"), values })
                    .collect();
                let bytes = write_export(&keys);
                let (e, d) = run_enc(&bytes, TextEncoding::Utf16Le);
                prop_assert!(
                    issues(&d).iter().all(|i| i.2 == "dword-size"),
                    "{:?}",
                    d
                );
                prop_assert_eq!(e.keys.len(), keys.len());
                for (k, w) in e.keys.iter().zip(&keys) {
                    prop_assert_eq!(&k.path, &w.path);
                    prop_assert_eq!(k.values.len(), w.values.len());
                    for (v, wv) in k.values.iter().zip(&w.values) {
                        prop_assert_eq!(&v.name, &wv.name);
                        prop_assert_eq!(v.value_type, wv.value_type);
                        prop_assert_eq!(v.bytes.as_deref(), Some(&wv.bytes[..]));
                    }
                }
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
                for enc in [TextEncoding::Utf16Le, TextEncoding::Windows1252, TextEncoding::Utf8] {
                    let _ = run_enc(&bytes, enc);
                }
            }

            #[test]
            fn arbitrary_lines_after_a_header_never_panic(
                lines in proptest::collection::vec("[\\[\\]\"@=:;#,\\\\ \thexdwor()0-9a-fA-FHKEY_\\-\u{0}\r\n]{0,40}", 0..20)
            ) {
                let text = format!("{H5}\n[HKEY_CURRENT_USER\\A]\n{}", lines.join("\n"));
                let (_, d) = run(&text);
                prop_assert!(d.iter().all(|d| d.line >= 1));
            }
        }
    }
}
