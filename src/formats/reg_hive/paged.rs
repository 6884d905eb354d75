//! A hive file read on demand, 4 KiB page by page (`pread`), so the targeted reader touches
//! only the cells it follows instead of reading a 200 MB SOFTWARE hive whole. Pages are
//! cached for the life of the reader and handed out as plain borrowed slices.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::fs::File;
use std::io;

/// Page size of the cache (the hbin granularity).
pub const PAGE: u64 = 4096;
/// Most ranges spanning a page boundary cached (cells in hbins larger than 4 KiB).
pub const MAX_SPANS: usize = 1 << 16;
/// Largest range spanning pages read at once (a bigger cell is refused as too large).
pub const MAX_SPAN_BYTES: usize = 16 * 1024 * 1024 + 8;

/// A file read lazily by pages.
#[derive(Debug)]
pub struct PagedFile {
    file: File,
    len: u64,
    pages: Box<[OnceCell<Box<[u8]>>]>,
    spans: Box<[OnceCell<Box<[u8]>>]>,
    span_index: RefCell<HashMap<(u64, usize), usize>>,
    next_span: Cell<usize>,
}

impl PagedFile {
    /// Wraps an open file of `len` bytes.
    pub fn new(file: File, len: u64) -> Self {
        let pages = len.div_ceil(PAGE) as usize;
        PagedFile {
            file,
            len,
            pages: (0..pages).map(|_| OnceCell::new()).collect(),
            spans: (0..MAX_SPANS).map(|_| OnceCell::new()).collect(),
            span_index: RefCell::new(HashMap::new()),
            next_span: Cell::new(0),
        }
    }

    /// File length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes `[start, start + len)`; `Ok(None)` when the range runs past the file end.
    pub fn bytes(&self, start: u64, len: usize) -> io::Result<Option<&[u8]>> {
        let Some(end) = start.checked_add(len as u64).filter(|e| *e <= self.len) else {
            return Ok(None);
        };
        let first = start / PAGE;
        if len == 0 || (end - 1) / PAGE == first {
            let page = self.page(first)?;
            let at = (start - first * PAGE) as usize;
            return Ok(page.get(at..at + len));
        }
        if len > MAX_SPAN_BYTES {
            return Err(io::Error::other(format!(
                "{len} bytes at {start}: over the read cap"
            )));
        }
        let key = (start, len);
        if let Some(i) = self.span_index.borrow().get(&key) {
            return Ok(self.spans.get(*i).and_then(OnceCell::get).map(|b| &b[..]));
        }
        let i = self.next_span.get();
        let slot = self
            .spans
            .get(i)
            .ok_or_else(|| io::Error::other("too many multi-page cells read"))?;
        let mut buf = vec![0u8; len];
        read_exact_at(&self.file, &mut buf, start)?;
        let _ = slot.set(buf.into_boxed_slice());
        self.next_span.set(i + 1);
        self.span_index.borrow_mut().insert(key, i);
        Ok(slot.get().map(|b| &b[..]))
    }

    /// One cached page (the last one may be short).
    fn page(&self, index: u64) -> io::Result<&[u8]> {
        let slot = self
            .pages
            .get(index as usize)
            .ok_or_else(|| io::Error::other("page past the end"))?;
        if let Some(p) = slot.get() {
            return Ok(p);
        }
        let start = index * PAGE;
        let len = (self.len - start).min(PAGE) as usize;
        let mut buf = vec![0u8; len];
        read_exact_at(&self.file, &mut buf, start)?;
        let _ = slot.set(buf.into_boxed_slice());
        slot.get()
            .map(|b| &b[..])
            .ok_or_else(|| io::Error::other("page cache"))
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut at: u64) -> io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, at)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf = buf.get_mut(n..).unwrap_or_default();
        at += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn pages_and_spans_match_the_file() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        let p = PagedFile::new(f, data.len() as u64);
        assert_eq!(p.bytes(10, 20).unwrap().unwrap(), &data[10..30]);
        assert_eq!(p.bytes(4090, 20).unwrap().unwrap(), &data[4090..4110]);
        assert_eq!(p.bytes(4090, 20).unwrap().unwrap(), &data[4090..4110]);
        assert_eq!(p.bytes(9990, 10).unwrap().unwrap(), &data[9990..]);
        assert!(p.bytes(9990, 11).unwrap().is_none());
        assert!(p.bytes(u64::MAX, 2).unwrap().is_none());
    }
}
