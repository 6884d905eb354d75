//! One PAC evaluation (fresh QuickJS runtime, script load, call, result reading) of a 355 KB
//! whitelist script and of a small enterprise script, for the sensor's ping URL.
//!
//! `cargo bench --bench pac -- --warm-up-time 1 --measurement-time 3`
//! (fixtures: `python3 fixtures/pac/generate.py` writes `large_whitelist.pac`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proxy_triage::pac::{evaluate, PacFacts, PacLimits, PacRequest};

const PING: &str = "https://contososensorapi.atp.azure.com/tri/sensor/api/ping";

fn load(name: &str) -> String {
    let path = format!("{}/fixtures/pac/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bench(c: &mut Criterion) {
    let req = PacRequest::for_url(PING);
    let facts = PacFacts {
        my_ips: vec!["10.20.1.5".parse().unwrap_or_else(|e| panic!("{e}"))],
        ..PacFacts::default()
    };
    let limits = PacLimits::default();
    let mut g = c.benchmark_group("pac");
    g.measurement_time(Duration::from_secs(3));
    for (label, file) in [
        ("large_whitelist_355k", "large_whitelist.pac"),
        ("enterprise_small", "wpad.dat"),
    ] {
        let script = load(file);
        let check = evaluate(&script, &req, &facts, &limits);
        assert!(check.error.is_none(), "{label}: {:?}", check.error);
        g.throughput(Throughput::Bytes(script.len() as u64));
        g.bench_function(label, |b| {
            b.iter(|| evaluate(&script, &req, &facts, &limits))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
