//! Filling a buffer from a reader: the one loop the chunked readers share (the read-ahead
//! thread and the export skimmer), so a short read never ends a chunk early.

use std::io::{self, Read};

/// Reads until `buf` is full or the input ends; the number of bytes read. Interrupted reads are
/// retried; any other error is returned (what was read before it is in `buf` but not counted).
pub fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while let Some(dst) = buf.get_mut(n..).filter(|d| !d.is_empty()) {
        match reader.read(dst) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call and is interrupted every other call.
    struct Trickle<'a> {
        data: &'a [u8],
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let Some((first, rest)) = self.data.split_first() else {
                return Ok(0);
            };
            let Some(slot) = out.first_mut() else {
                return Ok(0);
            };
            *slot = *first;
            self.data = rest;
            Ok(1)
        }
    }

    #[test]
    fn fills_across_short_and_interrupted_reads() {
        let mut r = Trickle {
            data: b"abcdef",
            interrupt: false,
        };
        let mut buf = [0u8; 4];
        assert_eq!(read_full(&mut r, &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        assert_eq!(read_full(&mut r, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"ef");
        assert_eq!(read_full(&mut r, &mut buf).unwrap(), 0);
    }
}
