//! Throughput of the `.reg` parser on a ~100 MB UTF-16LE export generated on the fly into
//! `target/reg-bench/big.reg` (69k keys with long paths, 4 values each incl. wrapped hex), against regashii.
//!
//! `cargo bench --bench reg_parse -- --warm-up-time 1 --measurement-time 3`

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proxy_triage::formats::reg_export;
use proxy_triage::formats::reg_writer::{write_units, WriteKey, WriteValue, HEADER_V5};
use proxy_triage::registry::{utf16le_with_nul, ValueType};
use proxy_triage::text::{LegacyHint, TextReader};

const KEYS: usize = 69_000;

fn batch(start: usize, n: usize) -> Vec<WriteKey> {
    (start..start + n)
        .map(|i| {
            let blob: Vec<u8> = (0..96u32).map(|b| (b.wrapping_mul(31) ^ i as u32) as u8).collect();
            WriteKey {
                path: format!(
                    "HKEY_USERS\\S-1-5-21-{}\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Key{i}",
                    i % 97
                ),
                values: vec![
                    WriteValue {
                        name: "ProxyServer".into(),
                        value_type: ValueType::SZ,
                        bytes: utf16le_with_nul(&format!("proxy{i}.contoso.com:8080;https=p:443")),
                    },
                    WriteValue {
                        name: "ProxyEnable".into(),
                        value_type: ValueType::DWORD,
                        bytes: (i as u32).to_le_bytes().to_vec(),
                    },
                    WriteValue {
                        name: "DefaultConnectionSettings".into(),
                        value_type: ValueType::BINARY,
                        bytes: blob,
                    },
                    WriteValue {
                        name: "AutoConfigURL".into(),
                        value_type: ValueType::EXPAND_SZ,
                        bytes: utf16le_with_nul("%ProgramData%\\pac\\proxy.pac"),
                    },
                ],
            }
        })
        .collect()
}

/// Writes the big export once (kept across runs); returns its path and size.
fn big_file() -> io::Result<(PathBuf, u64)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/reg-bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("big.reg");
    if let Ok(m) = std::fs::metadata(&path) {
        if (90_000_000..=115_000_000).contains(&m.len()) {
            return Ok((path, m.len()));
        }
    }
    let mut out = BufWriter::new(File::create(&path)?);
    let skip = HEADER_V5.len() + 2;
    let mut first = true;
    for start in (0..KEYS).step_by(1000) {
        let units = write_units(&batch(start, 1000.min(KEYS - start)));
        // Keep the header of the first batch only; drop each batch's final CRLF.
        let body = units
            .get(if first { 0 } else { skip }..units.len().saturating_sub(2))
            .unwrap_or(&[]);
        if first {
            out.write_all(&[0xFF, 0xFE])?;
            first = false;
        }
        let bytes: Vec<u8> = body.iter().flat_map(|u| u.to_le_bytes()).collect();
        out.write_all(&bytes)?;
    }
    out.write_all(&[b'\r', 0, b'\n', 0])?;
    out.flush()?;
    let len = std::fs::metadata(&path)?.len();
    Ok((path, len))
}

fn bench(c: &mut Criterion) {
    let (path, len) = match big_file() {
        Ok(x) => x,
        Err(e) => panic!("cannot write the benchmark file: {e}"),
    };
    let mut g = c.benchmark_group("reg_parse_100mb");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(len));
    let open = || {
        TextReader::new(File::open(&path).expect("bench file"), LegacyHint::Ansi).expect("reader")
    };
    g.bench_function("parse_keep_nothing", |b| {
        b.iter(|| reg_export::parse(open(), &|_| false))
    });
    g.bench_function("parse_full", |b| {
        b.iter(|| reg_export::parse(open(), &|_| true))
    });
    g.bench_function("write_json_members_to_sink", |b| {
        b.iter(|| reg_export::write_json_members(open(), &mut io::sink()).expect("json"))
    });
    g.bench_function("regashii_deserialize_file", |b| {
        b.iter(|| regashii::Registry::deserialize_file(&path).expect("regashii"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
