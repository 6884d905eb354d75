//! Shared pieces of the binary proxy values: a bounds-checked little-endian reader, the
//! length-prefixed narrow string, and the error kinds of a malformed blob.

use std::fmt;

use serde::Serialize;

/// Why a blob (or its trailer) could not be decoded to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobError {
    /// Fewer than the 12 header bytes (version, counter, flags).
    TruncatedHeader,
    /// A fixed-size field (a length DWORD, a count, a FILETIME) is cut.
    Truncated,
    /// A declared length or count runs past the end of the data.
    LengthOverrun,
}

impl BlobError {
    /// The contract's name (`truncated_header`, `truncated`, `length_overrun`).
    pub fn as_str(self) -> &'static str {
        match self {
            BlobError::TruncatedHeader => "truncated_header",
            BlobError::Truncated => "truncated",
            BlobError::LengthOverrun => "length_overrun",
        }
    }
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A narrow string from a blob: raw bytes, no terminator, no code page (Windows does not
/// document one). Shown byte-per-character (Latin-1); non-ASCII is flagged, never guessed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RawString(pub Vec<u8>);

impl RawString {
    /// A string from text; characters above U+00FF become `?` (the blob is 8-bit).
    pub fn from_text(s: &str) -> RawString {
        RawString(
            s.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
        )
    }

    /// The bytes as stored.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Byte-per-character (Latin-1) text: exact and reversible for every byte.
    pub fn latin1(&self) -> String {
        // ASCII (nearly every proxy string) is the same text in UTF-8: copied as it is.
        if self.0.is_ascii() {
            return String::from_utf8_lossy(&self.0).into_owned();
        }
        self.0.iter().map(|&b| char::from(b)).collect()
    }

    /// True when a byte above 0x7F is present (the contract then adds `<field>_hex`).
    pub fn has_high_bytes(&self) -> bool {
        self.0.iter().any(|&b| b > 0x7F)
    }

    /// True when a NUL byte is present (typical of a UTF-16 string written by a script).
    pub fn has_nul(&self) -> bool {
        self.0.contains(&0)
    }

    /// Appends the length DWORD and the bytes, as a blob stores them.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        let len = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.0);
    }
}

/// A bounds-checked little-endian reader over blob bytes. Never allocates from a length
/// read out of the data: strings are borrowed slices, checked against what remains.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    #[cfg(test)]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// The bytes from the current position to the end.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    /// `n` bytes, or `Truncated` (position unchanged).
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], BlobError> {
        let end = self.pos.checked_add(n).ok_or(BlobError::Truncated)?;
        let s = self.data.get(self.pos..end).ok_or(BlobError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, BlobError> {
        let s = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(s);
        Ok(u32::from_le_bytes(a))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, BlobError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-prefixed string: `Truncated` if the length DWORD is cut, `LengthOverrun` if
    /// the declared length passes the end. On error the position is unchanged.
    pub(crate) fn string(&mut self) -> Result<RawString, BlobError> {
        let start = self.pos;
        let len = self.u32()?;
        if u64::from(len) > self.remaining() as u64 {
            self.pos = start;
            return Err(BlobError::LengthOverrun);
        }
        // The length fits in what remains, so it fits in usize and the take succeeds.
        let body = match usize::try_from(len).map_err(|_| BlobError::LengthOverrun) {
            Ok(n) => self.take(n),
            Err(e) => Err(e),
        };
        match body {
            Ok(b) => Ok(RawString(b.to_vec())),
            Err(e) => {
                self.pos = start;
                Err(e)
            }
        }
    }

    /// `count` records of `size` bytes each, checked against what remains before anything is
    /// allocated (`LengthOverrun` otherwise; position unchanged).
    pub(crate) fn records(&mut self, count: u32, size: usize) -> Result<&'a [u8], BlobError> {
        let total = u64::from(count)
            .checked_mul(size as u64)
            .ok_or(BlobError::LengthOverrun)?;
        if total > self.remaining() as u64 {
            return Err(BlobError::LengthOverrun);
        }
        let n = usize::try_from(total).map_err(|_| BlobError::LengthOverrun)?;
        self.take(n)
    }
}

/// FILETIME (100 ns ticks since 1601-01-01 UTC) as an ISO-8601 UTC string; 0 gives `None`.
pub fn filetime_to_iso(ft: u64) -> Option<String> {
    if ft == 0 {
        return None;
    }
    const UNIX_EPOCH_SECS_SINCE_1601: i64 = 11_644_473_600;
    let secs_1601 = i64::try_from(ft / 10_000_000).ok()?;
    let frac = ft % 10_000_000;
    let unix = secs_1601 - UNIX_EPOCH_SECS_SINCE_1601;
    let days = unix.div_euclid(86_400);
    let sod = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    if frac == 0 {
        Some(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"))
    } else {
        Some(format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:07}Z"
        ))
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    // d is in 1..=31 and m in 1..=12 by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_known_values() {
        assert_eq!(filetime_to_iso(0), None);
        // 1601-01-01 + 1 s
        assert_eq!(
            filetime_to_iso(10_000_000).as_deref(),
            Some("1601-01-01T00:00:01Z")
        );
        // Unix epoch
        assert_eq!(
            filetime_to_iso(116_444_736_000_000_000).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        // IE6 vector: 60 79 ba 70 e8 ce c4 01
        let ft = u64::from_le_bytes([0x60, 0x79, 0xba, 0x70, 0xe8, 0xce, 0xc4, 0x01]);
        let s = filetime_to_iso(ft).unwrap_or_default();
        assert!(s.starts_with("2004-11-20T"), "{s}");
        // Largest value does not panic.
        assert!(filetime_to_iso(u64::MAX).is_some());
    }

    #[test]
    fn reader_checks_lengths() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2]);
        assert_eq!(r.string(), Err(BlobError::LengthOverrun));
        assert_eq!(r.pos(), 0);
        let mut r = Reader::new(&[2, 0, 0]);
        assert_eq!(r.string(), Err(BlobError::Truncated));
        let mut r = Reader::new(&[2, 0, 0, 0, b'a', b'b', 9]);
        assert_eq!(r.string(), Ok(RawString(b"ab".to_vec())));
        assert_eq!(r.rest(), &[9]);
        let mut r = Reader::new(&[0; 8]);
        assert_eq!(r.records(u32::MAX, 128), Err(BlobError::LengthOverrun));
        assert_eq!(r.records(2, 4).map(<[u8]>::len), Ok(8));
    }

    #[test]
    fn raw_string_latin1() {
        let s = RawString(vec![b'a', 0xe9, 0]);
        assert_eq!(s.latin1(), "a\u{e9}\u{0}");
        assert!(s.has_high_bytes());
        assert!(s.has_nul());
        assert_eq!(
            RawString::from_text("a\u{e9}\u{263a}").0,
            vec![b'a', 0xe9, b'?']
        );
    }
}
