//! Skimming of `.reg` exports for callers that keep only some keys (the analyser): a reader
//! adapter that drops the lines of keys the caller does not keep *before* they are decoded,
//! so a 500 MB export costs a byte scan, not a decode and parse of every line.
//!
//! The export is cut into segments, each from one key line (a line whose first non-blank
//! character is `[`) to the next. A segment's body is dropped only when regedit's reading is
//! certain not to change:
//! - its key line is a statement (the last non-blank line before it cannot leave a hex
//!   continuation pending: no NUL, does not start with `;`, no `\` followed by blanks and
//!   then the end of the line or `;`),
//! - the key line is plain ASCII, starts with `[` in column 1 (not `[-`), has a valid root
//!   and the caller's `keep` refuses its normalised path,
//! - the body's own last non-blank line cannot leave a continuation pending either, so the
//!   next key line is read the same way with or without the body.
//!
//! Every dropped line is accounted for in a [`LineMap`], so line numbers of everything that
//! is still parsed are the file's own. Diagnostics about lines inside dropped bodies are not
//! produced (their keys are of no interest to the caller). Only UTF-16LE with BOM and the
//! ASCII-compatible 8-bit encodings regedit reads are skimmed; anything else passes through.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

use crate::registry::Root;
use crate::text::TextEncoding;

const LF: u16 = 0x0A;
const CR: u16 = 0x0D;
/// Bytes read from the inner reader at a time.
pub(crate) const CHUNK: usize = 1024 * 1024;
/// The first read of the skimmer (exports that fit in the sniffed head never reach it); later
/// reads grow with the file up to [`CHUNK`].
const FIRST_READ: usize = 16 * 1024;
/// A segment (one key with its values) larger than this stops skimming: the rest of the
/// file passes through unchanged, so memory stays bounded.
pub const MAX_SEGMENT: usize = 32 * 1024 * 1024;

/// Maps the line numbers of the skimmed stream back to the file's own line numbers.
#[derive(Debug, Default)]
pub struct LineMap {
    /// `(first output line shifted, total lines dropped before it)`, in order.
    cuts: VecDeque<(u64, u64)>,
    offset: u64,
}

impl LineMap {
    /// The file's line number of output line `line`; calls must come in non-decreasing order.
    pub fn map(&mut self, line: u64) -> u64 {
        while let Some(&(from, total)) = self.cuts.front() {
            if from > line {
                break;
            }
            self.offset = total;
            self.cuts.pop_front();
        }
        line.saturating_add(self.offset)
    }

    fn push(&mut self, from: u64, total: u64) {
        self.cuts.push_back((from, total));
    }
}

/// A shared handle on the line map (the reader fills it, the parser reads it).
pub type SharedLineMap = Rc<RefCell<LineMap>>;

/// True when exports in `encoding` can be skimmed (regedit reads them and ASCII is one unit).
pub fn skimmable(encoding: TextEncoding) -> bool {
    matches!(
        encoding,
        TextEncoding::Utf16Le
            | TextEncoding::Utf8
            | TextEncoding::Utf8Bom
            | TextEncoding::Windows1252
    )
}

/// The path the parser gives a key named `name` (root spelled out, trailing `\` removed),
/// or `None` for an unknown root.
pub fn normalize_key_path(name: &str) -> Option<String> {
    let mut path = String::with_capacity(name.len() + 16);
    normalize_key_path_into(name, &mut path).then_some(path)
}

/// `name` split at its first `\`: the root and the rest (empty without a `\`). One vectorised
/// search: this runs for every key of an export.
pub(crate) fn split_root(name: &str) -> (&str, &str) {
    match memchr::memchr(b'\\', name.as_bytes()) {
        Some(i) => (
            name.get(..i).unwrap_or(name),
            name.get(i + 1..).unwrap_or(""),
        ),
        None => (name, ""),
    }
}

/// [`normalize_key_path`] into a caller's buffer (cleared first); false for an unknown root.
pub(crate) fn normalize_key_path_into(name: &str, path: &mut String) -> bool {
    path.clear();
    let (root, rest) = split_root(name);
    let Some((root, _)) = Root::parse(root) else {
        return false;
    };
    let rest = rest.trim_end_matches('\\');
    path.push_str(root.full_name());
    if !rest.is_empty() {
        path.push('\\');
        path.push_str(rest);
    }
    true
}

/// Line terminators (LF, CR, CRLF as one) in UTF-16LE code units; a branch-free loop the
/// compiler vectorises (`hay` starts on a unit boundary).
#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
fn count_terminators_u16(hay: &[u8]) -> u64 {
    const B: usize = 64;
    let (mut lf, mut cr, mut crlf) = (0u64, 0u64, 0u64);
    let mut blocks = hay.chunks_exact(2 * B);
    let mut carry_cr = false;
    for blk in &mut blocks {
        // Fixed-size array: constant indices, no bounds checks, so the loops vectorise.
        let Ok(arr) = <&[u8; 2 * B]>::try_from(blk) else {
            continue;
        };
        let mut u = [0u16; B];
        for k in 0..B {
            u[k] = u16::from_le_bytes([arr[2 * k], arr[2 * k + 1]]);
        }
        let (mut l, mut c, mut p) = (0u16, 0u16, 0u16);
        for x in u {
            l += u16::from(x == LF);
            c += u16::from(x == CR);
        }
        for k in 1..B {
            p += u16::from((u[k - 1] == CR) & (u[k] == LF));
        }
        p += u16::from(carry_cr & (u[0] == LF));
        carry_cr = u[B - 1] == CR;
        lf += u64::from(l);
        cr += u64::from(c);
        crlf += u64::from(p);
    }
    for c in blocks.remainder().chunks_exact(2) {
        let u = u16::from_le_bytes([c[0], c[1]]);
        lf += u64::from(u == LF);
        cr += u64::from(u == CR);
        crlf += u64::from(carry_cr && u == LF);
        carry_cr = u == CR;
    }
    lf + cr - crlf
}

/// Line terminators (LF, CR, CRLF as one) in 8-bit text.
fn count_terminators_u8(hay: &[u8]) -> u64 {
    let lf = hay.iter().filter(|b| **b == b'\n').count() as u64;
    let cr = hay.iter().filter(|b| **b == b'\r').count() as u64;
    if cr == 0 {
        return lf;
    }
    let crlf = hay.windows(2).filter(|w| w == b"\r\n").count() as u64;
    lf + cr - crlf
}

/// The reader adapter: yields the export with the bodies of unwanted keys removed.
pub struct SkimReader<'k, R> {
    inner: R,
    keep: &'k dyn Fn(&str) -> bool,
    map: SharedLineMap,
    /// Bytes per code unit (1 or 2); 0 when the encoding is not skimmed.
    width: usize,
    bom: usize,
    /// The buffer; only `buf[..end]` holds input. Its length is a high-water mark, so reads
    /// land in memory initialised once instead of being zeroed before every read.
    buf: Vec<u8>,
    end: usize,
    /// Bytes read from the input per fill.
    chunk: usize,
    /// Scratch buffers of the key-line check (no allocation per key).
    scratch_line: Vec<u8>,
    scratch_path: String,
    /// `buf` offsets `p` with `(p + phase) % width == 0` are code-unit boundaries.
    phase: usize,
    eof: bool,
    /// Output range `[out_lo, out_hi)` of `buf` not yet handed out.
    out_lo: usize,
    out_hi: usize,
    /// Start of the next segment (everything before it is decided).
    seg: usize,
    /// Where the search for the end of the current segment resumes.
    scan: usize,
    started: bool,
    header_done: bool,
    /// A segment end found ahead by [`SkimReader::segment_ready`].
    found: Option<usize>,
    passthrough: bool,
    /// Whether the next segment's key line is certainly a statement.
    next_is_statement: bool,
    out_lines: u64,
    dropped: u64,
}

impl<'k, R: Read> SkimReader<'k, R> {
    /// Wraps `inner` (the whole file, BOM included) read as `encoding`.
    pub fn new(
        inner: R,
        encoding: TextEncoding,
        keep: &'k dyn Fn(&str) -> bool,
        map: SharedLineMap,
    ) -> Self {
        let width = match encoding {
            TextEncoding::Utf16Le => 2,
            e if skimmable(e) => 1,
            _ => 0,
        };
        let bom = encoding.bom_len();
        SkimReader {
            inner,
            keep,
            map,
            width,
            bom,
            buf: Vec::new(),
            end: 0,
            chunk: CHUNK,
            scratch_line: Vec::new(),
            scratch_path: String::new(),
            phase: if width == 0 {
                0
            } else {
                (width - bom % width) % width
            },
            eof: false,
            out_lo: 0,
            out_hi: 0,
            seg: 0,
            scan: 0,
            started: false,
            header_done: false,
            found: None,
            passthrough: width == 0,
            next_is_statement: false,
            out_lines: 0,
            dropped: 0,
        }
    }

    /// Reads `chunk` bytes at a time instead of [`CHUNK`].
    pub(crate) fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    fn unit(&self, p: usize) -> Option<u16> {
        let data = self.data();
        if self.width == 2 {
            let lo = *data.get(p)?;
            let hi = *data.get(p + 1)?;
            Some(u16::from_le_bytes([lo, hi]))
        } else {
            data.get(p).map(|b| u16::from(*b))
        }
    }

    fn aligned(&self, p: usize) -> bool {
        (p + self.phase).is_multiple_of(self.width)
    }

    /// The input read so far and not yet compacted away.
    fn data(&self) -> &[u8] {
        self.buf.get(..self.end).unwrap_or(&[])
    }

    /// Reads more of the input (after dropping what is decided); false at its end.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.compact();
        // Small files stay small: reads grow with what the file has shown so far.
        let step = self.chunk.min(self.end.max(FIRST_READ));
        let want = self.end + step;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let n = match self.buf.get_mut(self.end..want) {
            Some(dst) => crate::read_full::read_full(&mut self.inner, dst)?,
            None => 0,
        };
        self.end += n;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Drops decided bytes from the front of the buffer (the output is drained whenever the
    /// input is read). Only when the undecided rest is no larger than what is dropped, so a
    /// long segment is not moved again at every read.
    fn compact(&mut self) {
        let cut = self.seg;
        if cut == 0 || self.out_lo < self.out_hi || self.end - cut > cut {
            return;
        }
        self.buf.copy_within(cut..self.end, 0);
        self.end -= cut;
        self.seg -= cut;
        self.scan = self.scan.saturating_sub(cut);
        self.out_lo = 0;
        self.out_hi = 0;
        self.found = self.found.map(|f| f - cut);
        if self.width > 0 {
            self.phase = (self.phase + cut) % self.width;
        }
    }

    /// The end of the line starting at `from` (offset of its terminator) and the offset just
    /// past the terminator; `None` when more input is needed to know.
    fn line_end(&self, from: usize) -> Option<(usize, usize)> {
        let w = self.width;
        let mut at = from;
        loop {
            let off = memchr::memchr2(b'\n', b'\r', self.data().get(at..)?)?;
            let p = at + off;
            if self.aligned(p) && (w == 1 || self.data().get(p + 1) == Some(&0)) {
                if self.unit(p) == Some(CR) {
                    return match self.unit(p + w) {
                        Some(LF) => Some((p, p + 2 * w)),
                        Some(_) => Some((p, p + w)),
                        None if self.eof => Some((p, p + w)),
                        None => None,
                    };
                }
                return Some((p, p + w));
            }
            at = p + 1;
        }
    }

    /// The next line start at or after `self.scan` whose first non-blank unit is `[`.
    fn next_candidate(&mut self) -> Option<usize> {
        let w = self.width;
        loop {
            let hay = self.data().get(self.scan..)?;
            let Some(off) = memchr::memchr(b'[', hay) else {
                self.scan = self.end;
                return None;
            };
            let h = self.scan + off;
            if w == 2 && self.data().get(h + 1).is_none() {
                self.scan = h;
                return None;
            }
            self.scan = h + 1;
            if !self.aligned(h) || (w == 2 && self.data().get(h + 1) != Some(&0)) {
                continue;
            }
            // Walk back over blanks to the terminator that starts the line.
            let mut p = h;
            loop {
                if p < self.seg + w {
                    break;
                }
                match self.unit(p - w) {
                    Some(0x20) | Some(0x09) => p -= w,
                    Some(LF) | Some(CR) => return Some(p),
                    _ => break,
                }
            }
        }
    }

    /// Lines ended in `[a, b)` (a and b are line starts, so no CRLF straddles `b`).
    fn count_lines(&self, a: usize, b: usize) -> u64 {
        match self.data().get(a..b) {
            Some(hay) if self.width == 2 => count_terminators_u16(hay),
            Some(hay) => count_terminators_u8(hay),
            None => 0,
        }
    }

    /// Whether the last non-blank line in `[a, b)` (b a line start) certainly leaves no hex
    /// continuation pending.
    fn ends_safely(&self, a: usize, b: usize) -> bool {
        let w = self.width;
        let mut end = b;
        while end > a {
            // `end` is a line start: step back over its terminator.
            let mut le = end - w;
            if self.unit(le) == Some(LF) && le >= a + w && self.unit(le - w) == Some(CR) {
                le -= w;
            }
            // Find this line's start.
            let mut ls = le;
            while ls >= a + w {
                match self.unit(ls - w) {
                    Some(LF) | Some(CR) => break,
                    _ => ls -= w,
                }
            }
            match self.line_safety(ls, le) {
                Some(safe) => return safe,
                None => end = ls,
            }
        }
        true
    }

    /// `None` for a blank line, else whether the line cannot leave a continuation pending.
    fn line_safety(&self, ls: usize, le: usize) -> Option<bool> {
        let w = self.width;
        let mut first: Option<u16> = None;
        let mut after_backslash = false;
        let mut p = ls;
        while p < le {
            let u = self.unit(p).unwrap_or(0);
            p += w;
            match u {
                0 => return Some(false),
                0x20 | 0x09 => continue,
                _ => {}
            }
            if first.is_none() {
                if u == u16::from(b';') {
                    return Some(false);
                }
                first = Some(u);
            }
            if after_backslash && u == u16::from(b';') {
                return Some(false);
            }
            after_backslash = u == u16::from(b'\\');
        }
        first?;
        Some(!after_backslash)
    }

    /// True when `[ls, le)` is a plain key line whose normalised path the caller does not
    /// keep. Reuses two scratch buffers: it runs for every key of huge exports.
    fn is_unkept_plain_key(&mut self, ls: usize, le: usize) -> bool {
        let mut ascii = std::mem::take(&mut self.scratch_line);
        let mut path = std::mem::take(&mut self.scratch_path);
        let unkept = self.plain_key_path_into(ls, le, &mut ascii, &mut path) && !(self.keep)(&path);
        self.scratch_line = ascii;
        self.scratch_path = path;
        unkept
    }

    /// Writes the normalised path of a plain key line `[ls, le)` into `path`; false when the
    /// line is not one.
    fn plain_key_path_into(
        &self,
        ls: usize,
        le: usize,
        ascii: &mut Vec<u8>,
        path: &mut String,
    ) -> bool {
        // Branch-free over the whole line, then one check: every unit in 1..=0x7F.
        let Some(raw) = self.data().get(ls..le) else {
            return false;
        };
        ascii.clear();
        let mut ok = true;
        if self.width == 2 {
            let units = raw.chunks_exact(2);
            ok &= units.remainder().is_empty();
            for pair in units {
                if let [lo, hi] = pair {
                    ok &= (*hi == 0) & (lo.wrapping_sub(1) < 0x7F);
                    ascii.push(*lo);
                }
            }
        } else {
            for b in raw {
                ok &= b.wrapping_sub(1) < 0x7F;
            }
            ascii.extend_from_slice(raw);
        }
        let Some(s) = ok.then(|| std::str::from_utf8(ascii).ok()).flatten() else {
            return false;
        };
        let Some(rest) = s.strip_prefix('[') else {
            return false;
        };
        if rest.starts_with(['-', ' ', '\t']) {
            return false;
        }
        let Some(name) = rest.rfind(']').and_then(|close| rest.get(..close)) else {
            return false;
        };
        normalize_key_path_into(name, path)
    }

    /// True when the next segment can be decided from what is buffered.
    fn segment_ready(&mut self) -> bool {
        self.started && (self.eof || self.next_candidate_peek())
    }

    fn next_candidate_peek(&mut self) -> bool {
        // `next_candidate` only moves `scan` forward over bytes that hold no candidate.
        match self.next_candidate() {
            Some(c) => {
                self.found = Some(c);
                true
            }
            None => false,
        }
    }

    /// Decides the next segment and sets the output range. False at the end of the input.
    fn step(&mut self) -> io::Result<bool> {
        let w = self.width;
        if !self.started {
            // The header line must be exactly one regedit writes (else: pass through).
            let (le, next) = loop {
                match self.line_end(self.bom) {
                    Some(x) => break x,
                    None if self.eof => {
                        self.passthrough = true;
                        return Ok(false);
                    }
                    None => {
                        if self.end > MAX_SEGMENT {
                            self.passthrough = true;
                            return Ok(false);
                        }
                        self.fill()?;
                    }
                }
            };
            let mut header = String::new();
            let mut p = self.bom;
            while p < le {
                match self.unit(p) {
                    Some(u) if u > 0 && u < 0x80 => header.push(char::from(u as u8)),
                    _ => break,
                }
                p += w;
            }
            let trimmed = header.trim_end_matches([' ', '\t']);
            if p < le
                || !(trimmed == "Windows Registry Editor Version 5.00" || trimmed == "REGEDIT4")
            {
                self.passthrough = true;
                return Ok(false);
            }
            self.started = true;
            self.scan = next;
        }
        // (`fill` may compact the buffer: `seg` is read again after it.)
        let end = loop {
            if let Some(c) = self.found.take().or_else(|| self.next_candidate()) {
                break c;
            }
            if self.eof {
                break self.end;
            }
            if self.end - self.seg > MAX_SEGMENT {
                self.passthrough = true;
                return Ok(false);
            }
            self.fill()?;
        };
        let start = self.seg;
        let is_statement = std::mem::take(&mut self.next_is_statement);
        let at_eof = end == self.end && self.eof;
        // Header segment: everything before the first key line.
        if !self.header_done {
            self.header_done = true;
            self.out_lines += self.count_lines(self.bom, end);
            self.next_is_statement = self.ends_safely(self.bom, end);
            self.emit(start, end, end);
            return Ok(true);
        }
        let key = self.line_end(start).filter(|(_, next)| *next <= end);
        let drop = match key {
            Some((le, next)) if is_statement && next < end => {
                let unkept = self.is_unkept_plain_key(start, le);
                unkept && (at_eof || self.ends_safely(start, end))
            }
            _ => false,
        };
        if let (true, Some((_, next))) = (drop, key) {
            self.out_lines += 1;
            if !at_eof {
                self.dropped += self.count_lines(next, end);
                self.map.borrow_mut().push(self.out_lines + 1, self.dropped);
            }
            self.next_is_statement = true;
            self.emit(start, next, end);
        } else {
            if !at_eof {
                self.out_lines += self.count_lines(start, end);
                self.next_is_statement = self.ends_safely(start, end);
            }
            self.emit(start, end, end);
        }
        Ok(true)
    }

    fn emit(&mut self, lo: usize, hi: usize, next_segment: usize) {
        self.out_lo = lo;
        self.out_hi = hi;
        self.seg = next_segment;
        self.scan = self.scan.max(next_segment);
    }
}

impl<R: Read> Read for SkimReader<'_, R> {
    /// Fills `out` with as many decided segments as fit, so the decoder sees big pieces.
    #[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        loop {
            if self.out_lo < self.out_hi {
                let k = (self.out_hi - self.out_lo).min(out.len() - n);
                out[n..n + k].copy_from_slice(&self.buf[self.out_lo..self.out_lo + k]);
                self.out_lo += k;
                n += k;
                if n == out.len() {
                    return Ok(n);
                }
                continue;
            }
            if self.passthrough {
                // Whatever is buffered and undecided, then the rest straight from the input.
                if self.seg < self.end {
                    self.out_lo = self.seg;
                    self.out_hi = self.end;
                    self.seg = self.end;
                    continue;
                }
                if n > 0 {
                    return Ok(n);
                }
                return self.inner.read(out);
            }
            if self.seg >= self.end && self.eof {
                return Ok(n);
            }
            // Deciding the next segment may need a read from the input: hand out what we
            // have first.
            if n > 0 && !self.segment_ready() {
                return Ok(n);
            }
            if !self.step()? && !self.passthrough {
                return Ok(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::reg_export;

    fn keep(path: &str) -> bool {
        crate::artifact::proxy_relevant_key(path)
    }

    fn encode(text: &str, enc: TextEncoding) -> Vec<u8> {
        match enc {
            TextEncoding::Utf16Le => {
                let mut v = vec![0xFF, 0xFE];
                v.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                v
            }
            TextEncoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
            _ => text.as_bytes().to_vec(),
        }
    }

    /// Keys, values and line numbers must be those of the full parse.
    fn same_as_full(text: &str, enc: TextEncoding) {
        let bytes = encode(text, enc);
        let reader = crate::text::TextReader::with_detector(&bytes[..], |_, _| enc).unwrap();
        let (full, full_diags) = reg_export::parse(reader, &keep);
        let (skim, skim_diags) = reg_export::parse_skimming(&bytes[..], enc, &keep);
        assert_eq!(
            serde_json::to_string(&skim).unwrap(),
            serde_json::to_string(&full).unwrap(),
            "{enc:?}: {text:?}"
        );
        // The same through tiny reads: every buffer boundary and compaction is crossed.
        for chunk in [1, 3, 64] {
            let (small, _) = reg_export::parse_skimming_in_chunks(&bytes[..], enc, &keep, chunk);
            assert_eq!(
                serde_json::to_string(&small).unwrap(),
                serde_json::to_string(&full).unwrap(),
                "{enc:?}, chunk {chunk}: {text:?}"
            );
        }
        // Every diagnostic of the skim is one of the full parse (same line and code).
        for d in &skim_diags {
            assert!(
                full_diags
                    .iter()
                    .any(|f| f.line == d.line && f.code == d.code && f.column == d.column),
                "{d:?} not in full parse of {text:?}"
            );
        }
    }

    const IS: &str = "HKEY_USERS\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";

    const PIECES: &[&str] = &[
        "[HKEY_CURRENT_USER\\Software\\Contoso\\App]",
        "[HKEY_CURRENT_USER\\Software\\Fabrikam]",
        "[HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]",
        "[HKEY_USERS\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections]",
        "  [HKEY_USERS\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections]",
        "[-HKEY_CURRENT_USER\\Software\\Old]",
        "[HKEY_NOPE\\Software]",
        "[ HKEY_CURRENT_USER\\Software\\Blank]",
        "\"DefaultConnectionSettings\"=hex:46,00,00,00,01,00,00,00,09,00,00,00,00,\\",
        "  00,00,00,00,00,00,00,00,\\",
        "  00,00,00,00",
        "  00,00 ; end",
        "  01,02,\\ ; comment",
        "\"ProxyServer\"=\"proxy:8080\"",
        "\"Path\"=\"C:\\\\dir\\\\\"",
        "\"Odd\"=\"a;b\\\\\"",
        "\"ProxyEnable\"=dword:00000001",
        "@=\"default\"",
        "; a comment \\",
        "# hash",
        "garbage",
        "",
        "   ",
        "\"Nul\"=\"a\u{0}b\"",
        "\"Uni\"=\"Čeština ĊĎ\u{0A0D}\u{0D0A}\"",
        "[HKEY_CURRENT_USER\\Software\\Ünïcode]",
        "\"Multi\"=hex(7):61,00,00,00,00,00",
        "\"Bad\"=hex:zz",
        "\"Cont\"=hex:01,\\",
    ];

    fn generated(seed: u64, eol: &str) -> String {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut out = String::from("Windows Registry Editor Version 5.00");
        out.push_str(eol);
        for _ in 0..60 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (x >> 33) as usize % PIECES.len();
            out.push_str(PIECES[i]);
            out.push_str(eol);
        }
        out
    }

    #[test]
    fn skim_equals_full_parse_on_generated_exports() {
        for seed in 0..150 {
            for eol in ["\r\n", "\n", "\r"] {
                let text = generated(seed, eol);
                for enc in [
                    TextEncoding::Utf16Le,
                    TextEncoding::Utf8,
                    TextEncoding::Utf8Bom,
                ] {
                    same_as_full(&text, enc);
                }
            }
        }
    }

    #[test]
    fn skim_keeps_line_numbers_and_drops_unwanted_bodies() {
        let mut text = String::from("Windows Registry Editor Version 5.00\r\n\r\n");
        for i in 0..50 {
            text.push_str(&format!(
                "[HKEY_CURRENT_USER\\Software\\Vendor\\App{i}]\r\n\"A\"=hex:01,02,\\\r\n  03\r\n\r\n"
            ));
        }
        text.push_str(&format!(
            "[{IS}]\r\n\"DefaultConnectionSettings\"=hex:46,00\r\n"
        ));
        same_as_full(&text, TextEncoding::Utf16Le);
        let bytes = encode(&text, TextEncoding::Utf16Le);
        let (skim, _) = reg_export::parse_skimming(&bytes[..], TextEncoding::Utf16Le, &keep);
        assert_eq!(skim.keys.len(), 1);
        assert_eq!(skim.keys[0].line, 203);
        assert_eq!(skim.keys[0].values[0].line, 204);
        let mut out = Vec::new();
        let map: SharedLineMap = Default::default();
        SkimReader::new(&bytes[..], TextEncoding::Utf16Le, &keep, map)
            .read_to_end(&mut out)
            .unwrap();
        // The 50 bodies are gone, their key lines stay.
        let kept = String::from_utf16_lossy(
            &out.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        );
        assert_eq!(kept.matches("\"A\"=hex").count(), 0);
        assert_eq!(kept.matches("[HKEY_CURRENT_USER").count(), 50);
        // A continuation left pending swallows the key line: regedit never opens it.
        let swallowed = format!(
            "REGEDIT4\n[HKEY_CURRENT_USER\\Software\\X]\n\"A\"=hex:01,\\\n[{IS}]\n\"DefaultConnectionSettings\"=hex:46\n"
        );
        same_as_full(&swallowed, TextEncoding::Utf8);
    }

    #[test]
    fn terminators_are_counted_per_code_unit() {
        let units = |s: &str| {
            s.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>()
        };
        let long = "a\r\n".repeat(100) + "b\rc\n\u{0A0D}\u{0D0A}Ċč\r";
        assert_eq!(count_terminators_u16(&units(&long)), 103);
        assert_eq!(count_terminators_u8(b"a\r\nb\rc\n\r"), 4);
        assert_eq!(
            normalize_key_path("hkcu\\Software\\X\\\\").as_deref(),
            Some("HKEY_CURRENT_USER\\Software\\X")
        );
    }
}
