//! Read-ahead for large files: a helper thread reads the next chunks while the caller parses
//! the current one, so the kernel's copy runs on another core. Memory is bounded to a few
//! chunks; buffers are recycled.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Size of one read-ahead chunk.
pub const CHUNK: usize = 1024 * 1024;
/// Chunks read ahead of the consumer.
const DEPTH: usize = 2;

/// A reader whose input is read by a helper thread, [`DEPTH`] chunks ahead.
pub struct ReadAhead {
    full: Receiver<io::Result<Vec<u8>>>,
    empty: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
    worker: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts reading `inner` on a helper thread.
    pub fn new<R: Read + Send + 'static>(mut inner: R) -> io::Result<ReadAhead> {
        let (full_tx, full) = mpsc::sync_channel::<io::Result<Vec<u8>>>(DEPTH);
        let (empty, empty_rx) = mpsc::sync_channel::<Vec<u8>>(DEPTH + 1);
        let worker = std::thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || loop {
                // Recycled buffers keep their length, so a read lands in memory already
                // touched: no reallocation, no fresh pages to zero per chunk.
                let mut buf = empty_rx.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                match crate::read_full::read_full(&mut inner, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        if full_tx.send(Ok(buf)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        break;
                    }
                }
            })?;
        Ok(ReadAhead {
            full,
            empty,
            current: Vec::new(),
            pos: 0,
            done: false,
            worker: Some(worker),
        })
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.full.recv() {
                Ok(Ok(next)) => {
                    let spent = std::mem::replace(&mut self.current, next);
                    let _ = self.empty.try_send(spent);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let rest = self.current.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Dropping the receivers stops the worker at its next send; then wait for it.
        let (_, dead) = mpsc::sync_channel(0);
        self.full = dead;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_exactly_the_input_across_chunks() {
        let data: Vec<u8> = (0..(3 * CHUNK + 12345)).map(|i| (i % 251) as u8).collect();
        let mut r = ReadAhead::new(std::io::Cursor::new(data.clone())).unwrap();
        let mut got = Vec::new();
        let mut small = [0u8; 7777];
        loop {
            let n = r.read(&mut small).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&small[..n]);
        }
        assert_eq!(got, data);
    }

    #[test]
    fn dropping_early_stops_the_worker() {
        let data = vec![7u8; 5 * CHUNK];
        let mut r = ReadAhead::new(std::io::Cursor::new(data)).unwrap();
        let mut b = [0u8; 10];
        assert_eq!(r.read(&mut b).unwrap(), 10);
        drop(r);
    }
}
