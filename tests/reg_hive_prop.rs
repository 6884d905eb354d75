//! Property and mutation runs over binary hives: random bytes after a valid header, and the
//! committed fixtures (hives and logs) with random bytes overwritten or cut. Nothing may panic,
//! every run ends quickly, and the memory a run allocates stays bounded (measured by a
//! counting allocator, per thread).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proxy_triage::formats::reg_hive::{
    self, base_block::store_checksum, mount_from_path, read_paths, Hive, HiveLimits, LogInput,
};

/// Counts live and peak bytes allocated by the current thread.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|l| {
            let now = l.get() + layout.size();
            l.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(layout.size())));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak bytes allocated (above the level at the start) while running `f`.
fn peak_during(f: impl FnOnce()) -> usize {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    PEAK.with(Cell::get).saturating_sub(base)
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/hives")
            .join(rel),
    )
    .unwrap()
}

/// Everything a caller can do with a hive; returns nothing, must not panic.
fn exercise(name: &str, bytes: &[u8], logs: &[LogInput<'_>]) {
    let limits = HiveLimits {
        max_hive_bytes: 8 << 20,
        max_value_bytes: 1 << 20,
        ..HiveLimits::default()
    };
    let start = Instant::now();
    let peak = peak_during(|| {
        if let Ok(hive) = Hive::open(bytes, logs, limits) {
            let mut n = 0usize;
            let _ = hive.walk(
                |k| {
                    n += k.values.len();
                    Ok(())
                },
                |_| {},
            );
            let _ = hive.deleted_keys();
            let mount = mount_from_path(name, &hive.info().embedded_name);
            let _ = read_paths(&hive, &mount, &reg_hive::proxy_key_paths(None));
            let _ = hive.open_diagnostics();
        }
        let (_, _) = reg_hive::parse(name, bytes, logs, limits);
        // The same bytes read page by page from a file.
        if logs.is_empty() {
            use std::io::Write;
            let mut f = tempfile::tempfile().unwrap();
            f.write_all(bytes).unwrap();
            if let Ok(hive) = Hive::open_file(f, &[], limits) {
                let mount = mount_from_path(name, &hive.info().embedded_name);
                let _ = read_paths(&hive, &mount, &reg_hive::proxy_key_paths(None));
            }
        }
    });
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "slow: {:?}",
        start.elapsed()
    );
    // A replayed copy (up to the 8 MiB cap), values up to 1 MiB each, and per-key overhead
    // proportional to the input: nothing near what a hostile length field could claim.
    let input = bytes.len() + logs.iter().map(|l| l.bytes.len()).sum::<usize>();
    assert!(
        peak < (40 << 20) + 64 * input,
        "peak {peak} bytes for {input} bytes of input"
    );
}

const FIXTURES: [&str; 7] = [
    "kape/C/Windows/ServiceProfiles/LocalService/NTUSER.DAT",
    "kape/C/Windows/System32/config/DEFAULT",
    "kape/C/Windows/System32/config/SOFTWARE",
    "reg-save-S-1-5-18.hiv",
    "deleted-connections.hiv",
    "truncated.hiv",
    "dirty/C/Windows/ServiceProfiles/LocalService/NTUSER.DAT",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// A valid base block followed by random bins, with a random root offset.
    #[test]
    fn random_bins_never_panic(
        bins in proptest::collection::vec(any::<u8>(), 0..12_000),
        root in 0u32..12_000,
        claimed in prop_oneof![Just(4096u32), Just(8192), Just(12_288), Just(0xFFFF_F000), any::<u32>()],
    ) {
        let mut h = vec![0u8; 4096];
        h[..4].copy_from_slice(b"regf");
        h[24..28].copy_from_slice(&5u32.to_le_bytes());
        h[36..40].copy_from_slice(&(root & !7).to_le_bytes());
        h[40..44].copy_from_slice(&claimed.to_le_bytes());
        store_checksum(&mut h);
        h.extend_from_slice(&bins);
        exercise("random.hiv", &h, &[]);
    }

    /// A fixture with up to 48 bytes overwritten (biased toward the first cells, where the
    /// structures are) and possibly cut short.
    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..FIXTURES.len(),
        edits in proptest::collection::vec((0usize..1 << 16, any::<u8>()), 1..48),
        cut in proptest::option::of(4096usize..200_000),
    ) {
        let mut h = fixture(FIXTURES[which]);
        for (at, b) in &edits {
            let len = h.len();
            // Half the edits land in the first 8 KiB of bins (key nodes and lists).
            let at = if at % 2 == 0 { 4096 + at % 8192 } else { *at };
            if let Some(slot) = h.get_mut(at % len) {
                *slot = *b;
            }
        }
        if let Some(c) = cut {
            h.truncate(c.min(h.len()));
        }
        exercise(FIXTURES[which], &h, &[]);
    }

    /// The dirty fixture with its logs mutated: replay must stop cleanly, never panic or grow
    /// past the cap.
    #[test]
    fn mutated_logs_never_panic(
        edits in proptest::collection::vec((0usize..14_000, any::<u8>(), any::<bool>()), 1..24),
    ) {
        let dir = "dirty/C/Windows/ServiceProfiles/LocalService/NTUSER.DAT";
        let hive = fixture(dir);
        let mut log1 = fixture(&format!("{dir}.LOG1"));
        let mut log2 = fixture(&format!("{dir}.LOG2"));
        for (at, b, first) in &edits {
            let log = if *first { &mut log1 } else { &mut log2 };
            let len = log.len();
            if let Some(slot) = log.get_mut(at % len) {
                *slot = *b;
            }
        }
        let logs = [
            LogInput { file: "NTUSER.DAT.LOG1", bytes: &log1 },
            LogInput { file: "NTUSER.DAT.LOG2", bytes: &log2 },
        ];
        exercise(dir, &hive, &logs);
    }
}

/// The allocator counts: assembling the 40,000-byte big-data value shows in the peak.
#[test]
fn allocation_counter_sees_the_big_value() {
    let h = fixture(FIXTURES[2]);
    let peak = peak_during(|| {
        let _ = reg_hive::parse("SOFTWARE", &h, &[], HiveLimits::default());
    });
    assert!(peak > 40_000, "{peak}");
}
