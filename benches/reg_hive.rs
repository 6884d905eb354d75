//! Reading the proxy values from a ~200 MB SOFTWARE-sized hive (generated on first run into
//! `target/hive-bench/SOFTWARE`: 50,000 class keys of 4 KiB values, 2,000 vendor keys, the
//! proxy keys written last, far from the root) against `cat` reading the same file, and the
//! peak RSS of one read (measured in a child process). Two readers: page by page
//! (`Hive::open_file`, what the analyser uses) and the whole file read first (`Hive::open`).
//!
//! `cargo bench --bench reg_hive -- --warm-up-time 1 --measurement-time 5`

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use proxy_triage::formats::reg_hive::build::HiveBuilder;
use proxy_triage::formats::reg_hive::{
    mount_from_path, read_paths, Hive, HiveLimits, SOFTWARE_PROXY_KEYS,
};

const CLASS_KEYS: usize = 50_000;
const VALUES_PER_KEY: usize = 4;
const VALUE_BYTES: usize = 1000;
const RSS_CHILD: &str = "PROXY_TRIAGE_HIVE_RSS";

fn hive_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/hive-bench/SOFTWARE")
}

/// Builds a chain `names[0]\names[1]\...` whose last key is `leaf`; returns the top key.
fn chain(b: &mut HiveBuilder, names: &[&str], leaf: u32, siblings_at_top: &[u32]) -> u32 {
    let mut child = leaf;
    for (i, name) in names.iter().enumerate().rev() {
        // Siblings first, so the lookup scans past them.
        let mut subs = if i == 0 {
            siblings_at_top.to_vec()
        } else {
            Vec::new()
        };
        subs.push(child);
        child = b.key(name, &subs, &[]);
    }
    child
}

fn generate(path: &Path) {
    let mut b = HiveBuilder::new().header(5, "emRoot\\System32\\Config\\SOFTWARE");
    let mut classes = Vec::with_capacity(CLASS_KEYS);
    for i in 0..CLASS_KEYS {
        let values: Vec<u32> = (0..VALUES_PER_KEY)
            .map(|v| {
                let data: Vec<u8> = (0..VALUE_BYTES).map(|k| (k ^ i ^ v) as u8).collect();
                b.value(&format!("Value{v}"), 3, &data)
            })
            .collect();
        classes.push(b.key(
            &format!("{{{i:08X}-0000-0000-0000-000000000000}}"),
            &[],
            &values,
        ));
    }
    let classes = b.key("Classes", &classes, &[]);
    let vendors: Vec<u32> = (0..2000)
        .map(|i| b.key(&format!("Vendor{i:04}"), &[], &[]))
        .collect();
    let cv_siblings: Vec<u32> = (0..500)
        .map(|i| b.key(&format!("Component{i:03}"), &[], &[]))
        .collect();
    let lp = |s: &str| {
        let mut v = (s.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    };
    let mut winhttp = vec![0x18, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0];
    winhttp.extend(lp("proxy.contoso.com:8080"));
    winhttp.extend(lp("<local>"));
    let w = b.value("WinHttpSettings", 3, &winhttp);
    let conn = b.key("Connections", &[], &[w]);
    let e = b.value("EnableNegotiate", 4, &1u32.to_le_bytes());
    let is = b.key("Internet Settings", &[conn], &[e]);
    let mut cv_subs = cv_siblings.clone();
    cv_subs.push(is);
    let cv = b.key("CurrentVersion", &cv_subs, &[]);
    let microsoft = chain(&mut b, &["Microsoft", "Windows"], cv, &vendors);
    let per_user = b.value("ProxySettingsPerUser", 4, &0u32.to_le_bytes());
    let pis = b.key("Internet Settings", &[], &[per_user]);
    let policies = chain(
        &mut b,
        &["Policies", "Microsoft", "Windows", "CurrentVersion"],
        pis,
        &[],
    );
    let root = b.key("ROOT", &[classes, microsoft, policies], &[]);
    let bytes = b.finish(root);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// One read as the analyser does it: the file opened, only the pages of the cells on the
/// way to the proxy keys read (`Hive::open_file`).
fn read_proxy_values(path: &Path) -> usize {
    let file = std::fs::File::open(path).unwrap();
    let hive = Hive::open_file(file, &[], HiveLimits::default()).unwrap();
    let mount = mount_from_path("C/Windows/System32/config/SOFTWARE", "");
    let r = read_paths(&hive, &mount, &SOFTWARE_PROXY_KEYS);
    assert_eq!(r.export.keys.len(), 3, "{:?}", r.missing);
    r.export.keys.iter().map(|k| k.values.len()).sum()
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let path = hive_path();
    if std::env::var_os(RSS_CHILD).is_some() {
        let before = vm_hwm_kib();
        read_proxy_values(&path);
        println!("{before} {}", vm_hwm_kib());
        return;
    }
    if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) < 150 << 20 {
        generate(&path);
    }
    let size = std::fs::metadata(&path).unwrap().len();
    // Peak RSS of one read, in a fresh process (the generator's memory does not count).
    let out = Command::new(std::env::current_exe().unwrap())
        .env(RSS_CHILD, "1")
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut nums = text
        .split_whitespace()
        .filter_map(|n| n.parse::<u64>().ok());
    let (before, after) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    println!(
        "hive {:.1} MB; peak RSS of one read {:.1} MB (process start {:.1} MB), {:.1} MB beyond the file",
        size as f64 / 1e6,
        after as f64 * 1024.0 / 1e6,
        before as f64 * 1024.0 / 1e6,
        (after as f64 * 1024.0 - size as f64) / 1e6
    );
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut g = c.benchmark_group("reg_hive_200mb");
    g.throughput(Throughput::Bytes(size));
    g.bench_function(BenchmarkId::new("read_proxy_values", "SOFTWARE"), |b| {
        b.iter(|| read_proxy_values(&path))
    });
    g.bench_function(
        BenchmarkId::new("read_whole_then_proxy_values", "SOFTWARE"),
        |b| {
            b.iter(|| {
                let bytes = std::fs::read(&path).unwrap();
                let hive = Hive::open(&bytes, &[], HiveLimits::default()).unwrap();
                let mount = mount_from_path("C/Windows/System32/config/SOFTWARE", "");
                read_paths(&hive, &mount, &SOFTWARE_PROXY_KEYS)
                    .export
                    .keys
                    .len()
            })
        },
    );
    g.bench_function(BenchmarkId::new("cat", "SOFTWARE"), |b| {
        b.iter(|| {
            let s = Command::new("cat")
                .arg(&path)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(s.success());
        })
    });
    g.finish();
    c.final_summary();
}
