//! Property and mutation runs over binary hives: random bytes after a valid header, and the
//! committed fixtures (hives and logs) with random bytes overwritten or cut. Nothing may panic,
//! every run ends quickly, and memory stays bounded: the process's peak RSS is reset before
//! each run (`/proc/self/clear_refs`, Linux) and read back after it (`VmHWM`).

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proxy_triage::formats::reg_hive::{
    self, base_block::store_checksum, mount_from_path, read_paths, Hive, HiveLimits, LogInput,
};

/// One measured run at a time (the peak RSS is per process).
static MEASURE: Mutex<()> = Mutex::new(());

/// A `kB` field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Growth of the peak RSS while running `f` (`None` where the kernel cannot reset the peak).
fn peak_growth(f: impl FnOnce()) -> Option<usize> {
    let _guard = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_bytes("VmRSS:");
    f();
    let peak = status_bytes("VmHWM:");
    match (reset, before, peak) {
        (true, Some(b), Some(p)) => Some(p.saturating_sub(b)),
        _ => None,
    }
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
    let peak = peak_growth(|| {
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
    if let Some(peak) = peak {
        assert!(
            peak < (40 << 20) + 64 * input,
            "peak RSS grew {peak} bytes for {input} bytes of input"
        );
    }
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

/// The measure sees memory: touching 64 MiB shows in the peak.
#[test]
fn peak_measure_sees_memory() {
    let grown = peak_growth(|| {
        let v = vec![1u8; 64 << 20];
        assert_eq!(
            v.iter()
                .step_by(4096)
                .map(|b| usize::from(*b))
                .sum::<usize>(),
            16384
        );
    });
    if let Some(g) = grown {
        assert!(g > 60 << 20, "{g}");
    }
}
