//! New-format transaction logs (`NAME.LOG1`, `NAME.LOG2`, Windows 8.1 and later): `HvLE`
//! entries, each a sequence number, two Marvin32 hashes and dirty pages.
//!
//! Replay (Suhanov's specification, "New format"): only a dirty hive is replayed; entries
//! are taken in sequence order from both logs starting at the hive's secondary sequence
//! number; an entry older than that is stale and skipped; the replay stops at a gap or at the
//! first entry whose hashes or hive bins size do not verify.

use serde::Serialize;

use super::base_block::{
    put_u32, store_checksum, BaseBlock, BASE_BLOCK_LEN, FILE_TYPE_LOG_NEW, FILE_TYPE_PRIMARY,
};
use super::{le_u32, le_u64, HiveError};

/// Seed of both entry hashes (14219357686671994754, stored little-endian).
const SEED: u64 = 0x82EF_4D88_7A4E_55C5;
/// Log entries start after the 512-byte copy of the base block, on 512-byte boundaries.
const SECTOR: usize = 512;
/// Fixed header of an `HvLE` entry.
const ENTRY_HEADER: usize = 40;

/// One transaction log given with a hive.
#[derive(Debug, Clone, Copy)]
pub struct LogInput<'a> {
    /// Display name (file name or path).
    pub file: &'a str,
    pub bytes: &'a [u8],
}

/// What happened to one log's entries (the contract's `hive.logs[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogReport {
    pub file: String,
    /// Sequence numbers written into the hive, in order.
    pub applied: Vec<u32>,
    /// Sequence numbers not written: stale (already in the hive), duplicates, or after a stop.
    pub skipped: Vec<u32>,
}

/// A hive after replay, with what each log contributed and why replay stopped, if it did.
#[derive(Debug)]
pub struct Replayed {
    /// The recovered hive (base block rewritten), or `None` when nothing was applied.
    pub bytes: Option<Vec<u8>>,
    pub reports: Vec<LogReport>,
    /// Problems met: bad entries, gaps, growth past the cap.
    pub problems: Vec<HiveError>,
}

/// One verified entry.
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    seq: u32,
    bins_size: u32,
    log: usize,
    /// Byte offset of the entry in its log.
    at: u64,
    refs: &'a [u8],
    pages: &'a [u8],
}

/// The Marvin32 hash Windows uses for log entries (`(p1 << 32) | p0`).
pub fn marvin32(data: &[u8], seed: u64) -> u64 {
    let mut lo = seed as u32;
    let mut hi = (seed >> 32) as u32;
    let mut mix = |v: u32| {
        lo = lo.wrapping_add(v);
        hi ^= lo;
        lo = lo.rotate_left(20).wrapping_add(hi);
        hi = hi.rotate_left(9) ^ lo;
        lo = lo.rotate_left(27).wrapping_add(hi);
        hi = hi.rotate_left(19);
    };
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        mix(le_u32(w, 0).unwrap_or(0));
    }
    let last = words
        .remainder()
        .iter()
        .rev()
        .fold(0x80u32, |acc, b| (acc << 8) | u32::from(*b));
    mix(last);
    mix(0);
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Reads a log's entries up to the first one that is absent or does not verify.
/// Returns the entries and the error that ended the scan (none at a clean end).
fn scan<'a>(
    log: usize,
    input: &LogInput<'a>,
    max_hive: u64,
) -> (Vec<Entry<'a>>, Option<HiveError>) {
    let bytes = input.bytes;
    let mut entries = Vec::new();
    match BaseBlock::parse(bytes) {
        Ok(b) if b.file_type == FILE_TYPE_LOG_NEW => {}
        Ok(b) => {
            return (
                entries,
                Some(HiveError::Log {
                    file: input.file.to_string(),
                    at: 28,
                    reason: format!("file type {} is not a new-format log (6)", b.file_type),
                }),
            )
        }
        Err(e) => return (entries, Some(e)),
    }
    let bad = |at: usize, reason: String| HiveError::Log {
        file: input.file.to_string(),
        at: at as u64,
        reason,
    };
    let mut at = SECTOR;
    while let Some(head) = bytes.get(at..at + ENTRY_HEADER) {
        if head.get(..4) != Some(b"HvLE".as_slice()) {
            break; // end of the entries (zeros or old remnants)
        }
        let field = |o: usize| le_u32(head, o).unwrap_or(0);
        let size = field(4) as usize;
        let seq = field(12);
        let bins_size = field(16);
        let pages = field(20) as usize;
        if size < ENTRY_HEADER || !size.is_multiple_of(SECTOR) {
            return (
                entries,
                Some(bad(
                    at,
                    format!("entry {seq}: size {size} is not a multiple of 512"),
                )),
            );
        }
        let Some(entry) = bytes.get(at..at.saturating_add(size)) else {
            return (
                entries,
                Some(bad(
                    at,
                    format!("entry {seq}: {size} bytes run past the end of the log"),
                )),
            );
        };
        let body = entry.get(ENTRY_HEADER..).unwrap_or(&[]);
        if le_u64(head, 24) != Some(marvin32(body, SEED))
            || le_u64(head, 32) != Some(marvin32(head.get(..32).unwrap_or(&[]), SEED))
        {
            return (
                entries,
                Some(bad(at, format!("entry {seq}: hash does not verify"))),
            );
        }
        if bins_size == 0 || !bins_size.is_multiple_of(4096) {
            return (
                entries,
                Some(bad(
                    at,
                    format!("entry {seq}: hive bins size {bins_size} is not a multiple of 4096"),
                )),
            );
        }
        if BASE_BLOCK_LEN as u64 + u64::from(bins_size) > max_hive {
            return (
                entries,
                Some(HiveError::TooLarge {
                    size: BASE_BLOCK_LEN as u64 + u64::from(bins_size),
                    cap: max_hive,
                }),
            );
        }
        let refs_len = pages.saturating_mul(8);
        let Some(refs) = body.get(..refs_len) else {
            return (
                entries,
                Some(bad(
                    at,
                    format!("entry {seq}: {pages} page references do not fit"),
                )),
            );
        };
        let total: u64 = refs
            .chunks_exact(8)
            .map(|r| u64::from(le_u32(r, 4).unwrap_or(0)))
            .sum();
        let Some(data) = body.get(refs_len..).filter(|d| d.len() as u64 >= total) else {
            return (
                entries,
                Some(bad(
                    at,
                    format!("entry {seq}: dirty pages ({total} bytes) do not fit"),
                )),
            );
        };
        entries.push(Entry {
            seq,
            bins_size,
            log,
            at: at as u64,
            refs,
            pages: data,
        });
        at += size;
    }
    (entries, None)
}

/// Replays `logs` onto a dirty hive. A clean hive is left alone (its log entries are all
/// reported as skipped). `max_hive` caps the size the hive may grow to.
pub fn replay(hive: &[u8], base: &BaseBlock, logs: &[LogInput<'_>], max_hive: u64) -> Replayed {
    let mut reports: Vec<LogReport> = logs
        .iter()
        .map(|l| LogReport {
            file: l.file.to_string(),
            ..LogReport::default()
        })
        .collect();
    let mut problems = Vec::new();
    let mut all = Vec::new();
    for (i, log) in logs.iter().enumerate() {
        let (entries, stop) = scan(i, log, max_hive);
        all.extend(entries);
        problems.extend(stop);
    }
    // In sequence order; for equal numbers the first log wins (LOG1, then LOG2).
    all.sort_by_key(|e| (e.seq, e.log));
    let skip = |reports: &mut Vec<LogReport>, e: &Entry<'_>| {
        if let Some(r) = reports.get_mut(e.log) {
            r.skipped.push(e.seq);
        }
    };
    if !base.dirty() {
        for e in &all {
            skip(&mut reports, e);
        }
        return Replayed {
            bytes: None,
            reports,
            problems,
        };
    }
    let mut out = hive.to_vec();
    // A damaged base block is taken from the first log whose copy is sound.
    let mut start = base.secondary_sequence;
    if !base.checksum_ok {
        let sound = logs.iter().find_map(|l| {
            let head = l.bytes.get(..SECTOR)?;
            let b = BaseBlock::parse(head).ok()?;
            b.checksum_ok.then_some((head, b))
        });
        if let Some((head, b)) = sound {
            if let Some(dst) = out.get_mut(..SECTOR) {
                dst.copy_from_slice(head);
                put_u32(dst, 28, FILE_TYPE_PRIMARY);
            }
            start = b.secondary_sequence;
        }
    }
    let mut expected = start;
    let mut applied_any = false;
    let mut stopped = false;
    let mut bins_size = base.bins_size;
    for e in &all {
        if stopped || e.seq < expected {
            skip(&mut reports, e);
            continue;
        }
        if e.seq > expected {
            problems.push(HiveError::Log {
                file: logs
                    .get(e.log)
                    .map_or_else(String::new, |l| l.file.to_string()),
                at: e.at,
                reason: format!(
                    "entry {} found where {expected} was expected: replay stops",
                    e.seq
                ),
            });
            stopped = true;
            skip(&mut reports, e);
            continue;
        }
        match apply(&mut out, e) {
            Ok(()) => {
                if let Some(r) = reports.get_mut(e.log) {
                    r.applied.push(e.seq);
                }
                applied_any = true;
                bins_size = e.bins_size;
                expected = e.seq.wrapping_add(1);
            }
            Err(reason) => {
                problems.push(HiveError::Log {
                    file: logs
                        .get(e.log)
                        .map_or_else(String::new, |l| l.file.to_string()),
                    at: e.at,
                    reason,
                });
                stopped = true;
                skip(&mut reports, e);
            }
        }
    }
    if !applied_any {
        return Replayed {
            bytes: None,
            reports,
            problems,
        };
    }
    let last = expected.wrapping_sub(1);
    if let Some(head) = out.get_mut(..BASE_BLOCK_LEN) {
        put_u32(head, 4, last);
        put_u32(head, 8, last);
        put_u32(head, 40, bins_size);
        store_checksum(head);
    }
    Replayed {
        bytes: Some(out),
        reports,
        problems,
    }
}

/// Writes an entry's dirty pages into the hive, growing it to the entry's hive bins size.
fn apply(out: &mut Vec<u8>, e: &Entry<'_>) -> Result<(), String> {
    let new_len = BASE_BLOCK_LEN + e.bins_size as usize;
    if out.len() < new_len {
        out.resize(new_len, 0);
    }
    let mut src = 0usize;
    for r in e.refs.chunks_exact(8) {
        let offset = le_u32(r, 0).unwrap_or(0) as usize;
        let size = le_u32(r, 4).unwrap_or(0) as usize;
        if offset.saturating_add(size) > e.bins_size as usize {
            return Err(format!(
                "entry {}: page at {offset} ({size} bytes) lies past its hive bins size {}",
                e.seq, e.bins_size
            ));
        }
        let page = e
            .pages
            .get(src..src + size)
            .ok_or_else(|| format!("entry {}: dirty page data missing", e.seq))?;
        let dst = out
            .get_mut(BASE_BLOCK_LEN + offset..BASE_BLOCK_LEN + offset + size)
            .ok_or_else(|| format!("entry {}: page outside the hive", e.seq))?;
        dst.copy_from_slice(page);
        src += size;
    }
    Ok(())
}

/// Builds one `HvLE` entry (for tests and fixtures): pages are `(offset, bytes)`.
#[doc(hidden)]
pub fn build_entry(seq: u32, bins_size: u32, pages: &[(u32, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (off, data) in pages {
        body.extend_from_slice(&off.to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    }
    for (_, data) in pages {
        body.extend_from_slice(data);
    }
    let size = (ENTRY_HEADER + body.len()).next_multiple_of(SECTOR);
    body.resize(size - ENTRY_HEADER, 0);
    let mut e = Vec::with_capacity(size);
    e.extend_from_slice(b"HvLE");
    e.extend_from_slice(&(size as u32).to_le_bytes());
    e.extend_from_slice(&0u32.to_le_bytes());
    e.extend_from_slice(&seq.to_le_bytes());
    e.extend_from_slice(&bins_size.to_le_bytes());
    e.extend_from_slice(&(pages.len() as u32).to_le_bytes());
    e.extend_from_slice(&marvin32(&body, SEED).to_le_bytes());
    let h2 = marvin32(&e, SEED);
    e.extend_from_slice(&h2.to_le_bytes());
    e.extend_from_slice(&body);
    e
}

/// Builds a new-format log (for tests and fixtures): the hive's first 512 bytes with file
/// type 6 and a fresh checksum, then the entries.
#[doc(hidden)]
pub fn build_log(hive_head: &[u8], entries: &[Vec<u8>]) -> Vec<u8> {
    let mut log = hive_head.get(..SECTOR).unwrap_or(&[]).to_vec();
    log.resize(SECTOR, 0);
    put_u32(&mut log, 28, FILE_TYPE_LOG_NEW);
    store_checksum(&mut log);
    for e in entries {
        log.extend_from_slice(e);
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marvin32_known_answers() {
        let collapse = |h: u64| (h as u32) ^ ((h >> 32) as u32);
        assert_eq!(collapse(marvin32(b"", SEED)), 0xb008_92ac);
        assert_eq!(collapse(marvin32(b"h", SEED)), 0xf41a_608e);
        assert_eq!(collapse(marvin32(b"hel", SEED)), 0x2405_6a46);
        assert_eq!(collapse(marvin32(b"hello, world!", SEED)), 0x00c1_8515);
    }

    fn hive(primary: u32, secondary: u32) -> Vec<u8> {
        let mut h = vec![0u8; BASE_BLOCK_LEN + 4096];
        h[..4].copy_from_slice(b"regf");
        h[4..8].copy_from_slice(&primary.to_le_bytes());
        h[8..12].copy_from_slice(&secondary.to_le_bytes());
        h[40..44].copy_from_slice(&4096u32.to_le_bytes());
        store_checksum(&mut h);
        h
    }

    #[test]
    fn replays_in_order_across_logs_skipping_stale() {
        let h = hive(11, 10);
        let base = BaseBlock::parse(&h).unwrap();
        let p9 = [9u8; 512];
        let p10 = [10u8; 512];
        let p11 = [11u8; 512];
        let log1 = build_log(
            &h,
            &[
                build_entry(9, 4096, &[(0, &p9)]),
                build_entry(11, 8192, &[(4096, &p11)]),
            ],
        );
        let log2 = build_log(&h, &[build_entry(10, 4096, &[(512, &p10)])]);
        let logs = [
            LogInput {
                file: "X.LOG1",
                bytes: &log1,
            },
            LogInput {
                file: "X.LOG2",
                bytes: &log2,
            },
        ];
        let r = replay(&h, &base, &logs, 1 << 20);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.reports[0].applied, vec![11]);
        assert_eq!(r.reports[0].skipped, vec![9]);
        assert_eq!(r.reports[1].applied, vec![10]);
        let out = r.bytes.unwrap();
        assert_eq!(out.len(), BASE_BLOCK_LEN + 8192);
        assert_eq!(out[BASE_BLOCK_LEN + 512], 10);
        assert_eq!(out[BASE_BLOCK_LEN + 4096], 11);
        assert_eq!(out[BASE_BLOCK_LEN], 0, "stale entry not applied");
        let b = BaseBlock::parse(&out).unwrap();
        assert_eq!(
            (b.primary_sequence, b.secondary_sequence, b.bins_size),
            (11, 11, 8192)
        );
        assert!(b.checksum_ok && !b.dirty());
    }

    #[test]
    fn stops_at_a_bad_hash_and_at_a_gap() {
        let h = hive(11, 10);
        let base = BaseBlock::parse(&h).unwrap();
        let p = [1u8; 512];
        let mut bad = build_entry(11, 4096, &[(0, &p)]);
        bad[100] ^= 0xff;
        let log1 = build_log(
            &h,
            &[
                build_entry(10, 4096, &[(0, &p)]),
                bad,
                build_entry(12, 4096, &[(0, &p)]),
            ],
        );
        let logs = [LogInput {
            file: "X.LOG1",
            bytes: &log1,
        }];
        let r = replay(&h, &base, &logs, 1 << 20);
        assert_eq!(r.reports[0].applied, vec![10]);
        assert!(
            matches!(&r.problems[0], HiveError::Log { at: 1536, reason, .. } if reason.contains("hash"))
        );
        // A gap (10 missing) stops before anything is applied.
        let log1 = build_log(&h, &[build_entry(11, 4096, &[(0, &p)])]);
        let logs = [LogInput {
            file: "X.LOG1",
            bytes: &log1,
        }];
        let r = replay(&h, &base, &logs, 1 << 20);
        assert!(r.bytes.is_none());
        assert_eq!(r.reports[0].skipped, vec![11]);
    }

    #[test]
    fn growth_past_the_cap_is_refused() {
        let h = hive(11, 10);
        let base = BaseBlock::parse(&h).unwrap();
        // A 1 KiB log claiming a 4 GiB hive.
        let log1 = build_log(&h, &[build_entry(10, 0xFFFF_F000, &[])]);
        let logs = [LogInput {
            file: "X.LOG1",
            bytes: &log1,
        }];
        let r = replay(&h, &base, &logs, 64 << 20);
        assert!(r.bytes.is_none());
        assert!(matches!(r.problems[0], HiveError::TooLarge { .. }));
    }

    #[test]
    fn clean_hive_is_not_replayed() {
        let h = hive(10, 10);
        let base = BaseBlock::parse(&h).unwrap();
        let log1 = build_log(&h, &[build_entry(10, 4096, &[(0, &[1u8; 512])])]);
        let r = replay(
            &h,
            &base,
            &[LogInput {
                file: "L",
                bytes: &log1,
            }],
            1 << 20,
        );
        assert!(r.bytes.is_none());
        assert_eq!(r.reports[0].skipped, vec![10]);
    }
}
