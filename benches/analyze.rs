//! The `analyze` pipeline through the library API (`input::case_from_path` → `case::assemble`
//! → `case::judge`, then JSON and table rendering), on data generated once into
//! `target/analyze-bench-criterion/` (kept across runs):
//!
//! - `big-export/huge.reg`: a ~50 MB regedit export (UTF-16LE with BOM, CRLF) of ordinary
//!   `HKEY_CURRENT_USER\Software\Vendor{n}\App{m}` keys with the proxy keys buried in the middle
//!   (HKCU `DefaultConnectionSettings` = proxy.contoso.com:8080, `HKU\S-1-5-18` = the 0x09
//!   default), so LOCAL SYSTEM gets `proxy-differs`;
//! - `batch/case-NNNN/`: 200 small case folders (HKCU export, `reg compare` not-found capture,
//!   `netsh winhttp show proxy` direct), so LOCAL SYSTEM gets `proxy-missing`.
//!
//! `cargo bench --bench analyze` (about a minute and a half on 2 cores; the first run also
//! writes the data, a few seconds).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proxy_triage::case::model::CaseReport;
use proxy_triage::case::principals::Principal;
use proxy_triage::case::AnalyzeOptions;
use proxy_triage::formats::reg_writer::{
    write_export, write_units, WriteKey, WriteValue, HEADER_V5,
};
use proxy_triage::input::{CaseRoot, Limits};
use proxy_triage::pipeline::{self, PipelineOptions};
use proxy_triage::registry::{utf16le_with_nul, ValueType};
use proxy_triage::report::{table, RenderOptions};

/// Size the big export aims at (it ends up a little above).
const EXPORT_TARGET: u64 = 50_000_000;
/// Ordinary keys written per `write_units` call.
const KEYS_PER_CHUNK: usize = 1000;
/// Case folders in the batch.
const CASES: usize = 200;

const CONN: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";
const CONN_UP: &str =
    "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/analyze-bench-criterion")
}

/// A WinINet connection blob: version 0x46, counter, flags, three u32-length-prefixed ASCII
/// strings (proxy, bypass, PAC URL), 32 zero bytes.
fn blob(counter: u32, flags: u32, proxy: &str, bypass: &str, pac: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for n in [0x46, counter, flags] {
        b.extend_from_slice(&n.to_le_bytes());
    }
    for s in [proxy, bypass, pac] {
        b.extend_from_slice(&(s.len() as u32).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    }
    b.extend_from_slice(&[0u8; 32]);
    b
}

/// HKCU's blob: proxy.contoso.com:8080 (flags 3 = direct + proxy), bypass `<local>`.
fn cu_blob() -> Vec<u8> {
    blob(9, 3, "proxy.contoso.com:8080", "<local>", "")
}

/// The blob Windows leaves for an account nobody configured (flags 9 = direct + auto-detect).
fn default_blob() -> Vec<u8> {
    blob(1, 9, "", "", "")
}

fn value(name: &str, value_type: ValueType, bytes: Vec<u8>) -> WriteValue {
    WriteValue {
        name: name.to_string(),
        value_type,
        bytes,
    }
}

fn connections_key(path: String, b: Vec<u8>) -> WriteKey {
    WriteKey {
        path,
        values: vec![value("DefaultConnectionSettings", ValueType::BINARY, b)],
    }
}

/// Ordinary key number `n`: a string, a dword and a wrapped hex value (48..448 bytes).
fn ordinary_key(n: usize) -> WriteKey {
    let vendor = n / 16;
    let app = n % 16;
    let blob_len = 48 + (n * 37) % 400;
    let data: Vec<u8> = (0..blob_len).map(|i| ((i * 31) ^ n) as u8).collect();
    WriteKey {
        path: format!("HKEY_CURRENT_USER\\Software\\Vendor{vendor}\\App{app}"),
        values: vec![
            value(
                "DisplayName",
                ValueType::SZ,
                utf16le_with_nul(&format!(
                    "Vendor{vendor} App{app} window {n} \"quoted\" C:\\Users\\Public\\App{app}"
                )),
            ),
            value(
                "Enabled",
                ValueType::DWORD,
                ((n as u32).wrapping_mul(2_654_435_761))
                    .to_le_bytes()
                    .to_vec(),
            ),
            value("WindowState", ValueType::BINARY, data),
        ],
    }
}

/// UTF-16LE bytes of `keys` as regedit lays them out, without the header and the final CRLF
/// (so chunks can be concatenated into one export).
fn body_bytes(keys: &[WriteKey]) -> Vec<u8> {
    let units = write_units(keys);
    let skip = HEADER_V5.len() + 2;
    units
        .get(skip..units.len().saturating_sub(2))
        .unwrap_or(&[])
        .iter()
        .flat_map(|u| u.to_le_bytes())
        .collect()
}

fn chunk(index: usize) -> Vec<WriteKey> {
    let start = index * KEYS_PER_CHUNK;
    (start..start + KEYS_PER_CHUNK).map(ordinary_key).collect()
}

/// Writes `path` via a temporary file and a rename, so an interrupted run leaves nothing
/// that looks complete.
fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    fill(&mut out)?;
    out.flush()?;
    drop(out);
    fs::rename(&tmp, path)
}

/// The ~50 MB export (written once); returns its path, its size and the line of the
/// `HKEY_USERS\S-1-5-18` key.
fn big_export() -> io::Result<(PathBuf, u64, u64)> {
    let dir = data_dir().join("big-export");
    fs::create_dir_all(&dir)?;
    let path = dir.join("huge.reg");
    let proxy_keys = [
        connections_key(format!("HKEY_CURRENT_USER\\{CONN}"), cu_blob()),
        connections_key(format!("HKEY_USERS\\S-1-5-18\\{CONN}"), default_blob()),
    ];
    let proxy_body = body_bytes(&proxy_keys);
    let lines_in = |bytes: &[u8]| bytes.chunks_exact(2).filter(|u| u == b"\n\0").count() as u64;
    // Ordinary keys until the target size, the proxy keys once half of it is written.
    let mut written = 0u64;
    let mut line_feeds = 1u64; // the header's; the next line is `line_feeds + 1`
    let mut system_line = 0u64;
    let mut chunks = 0usize;
    let mut middle = None;
    while written < EXPORT_TARGET {
        if middle.is_none() && written >= EXPORT_TARGET / 2 {
            middle = Some(chunks);
            // HKCU's export alone is the header, a blank line, HKCU's key and values and a
            // blank line: S-1-5-18's key line comes one line after it.
            let text = String::from_utf16_lossy(&write_units(&proxy_keys[..1]));
            system_line = line_feeds + text.matches("\r\n").count() as u64;
            written += proxy_body.len() as u64;
            line_feeds += lines_in(&proxy_body);
        }
        let body = body_bytes(&chunk(chunks));
        written += body.len() as u64;
        line_feeds += lines_in(&body);
        chunks += 1;
    }
    let middle = middle.unwrap_or(0);
    let size = 2 + ((HEADER_V5.len() + 2) * 2) as u64 + written + 4;
    if fs::metadata(&path).map(|m| m.len()).ok() != Some(size) {
        write_atomically(&path, |out| {
            out.write_all(&[0xFF, 0xFE])?;
            let header: Vec<u8> = HEADER_V5
                .encode_utf16()
                .chain("\r\n".encode_utf16())
                .flat_map(|u| u.to_le_bytes())
                .collect();
            out.write_all(&header)?;
            for i in 0..chunks {
                if i == middle {
                    out.write_all(&proxy_body)?;
                }
                out.write_all(&body_bytes(&chunk(i)))?;
            }
            out.write_all(&[b'\r', 0, b'\n', 0])
        })?;
    }
    Ok((path, size, system_line))
}

/// `reg compare` run for LOCAL SYSTEM when it has no `DefaultConnectionSettings` (CRLF).
fn compare_not_found() -> Vec<u8> {
    format!(
        "C:\\Windows\\system32>reg compare \"HKCU\\{CONN_UP}\" \"HKU\\S-1-5-18\\{CONN}\" /v DefaultConnectionSettings\r\n\
         ERROR: The system was unable to find the specified registry key or value.\r\n\r\n"
    )
    .into_bytes()
}

fn netsh_direct() -> &'static [u8] {
    b"\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n\r\n"
}

/// The 200 case folders (written once); returns their paths and total size.
fn batch() -> io::Result<(Vec<PathBuf>, u64)> {
    let dir = data_dir().join("batch");
    let done = dir.join(".complete");
    if fs::read_to_string(&done).ok().as_deref() != Some(&CASES.to_string()) {
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for i in 0..CASES {
            let case = dir.join(format!("case-{i:04}"));
            fs::create_dir_all(&case)?;
            let cu = blob(
                9 + (i % 7) as u32,
                3,
                &format!("proxy{}.contoso.com:{}", i % 13, 8080 + i % 5),
                "<local>;*.contoso.com",
                "",
            );
            let hkcu = write_export(&[WriteKey {
                path: format!("HKEY_CURRENT_USER\\{CONN}"),
                values: vec![
                    value("DefaultConnectionSettings", ValueType::BINARY, cu.clone()),
                    value("SavedLegacySettings", ValueType::BINARY, cu),
                ],
            }]);
            fs::write(case.join("hkcu-connections.reg"), hkcu)?;
            fs::write(case.join("compare-system.txt"), compare_not_found())?;
            fs::write(case.join("netsh-winhttp.txt"), netsh_direct())?;
        }
        fs::write(&done, CASES.to_string())?;
    }
    let mut cases = Vec::with_capacity(CASES);
    let mut total = 0u64;
    for i in 0..CASES {
        let case = dir.join(format!("case-{i:04}"));
        for entry in fs::read_dir(&case)? {
            total += entry?.metadata()?.len();
        }
        cases.push(case);
    }
    Ok((cases, total))
}

/// The whole pipeline for one case, as `analyze` runs it without `--probe`.
fn analyze(path: &Path, limits: &Limits) -> CaseReport {
    let options = PipelineOptions {
        analyze: AnalyzeOptions {
            limits: *limits,
            ..AnalyzeOptions::default()
        },
        ..PipelineOptions::default()
    };
    pipeline::analyze_case(&CaseRoot::Path(path.to_path_buf()), &options).0
}

fn has_finding(report: &CaseReport, id: &str, principal: Principal) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.id.as_str() == id && f.principal == Some(principal))
}

fn finding_ids(report: &CaseReport) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| format!("{}:{}", f.id, f.principal.map_or("-", Principal::key)))
        .collect()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let (export, export_len, system_line) = big_export().expect("writing the big export");
    let (cases, cases_len) = batch().expect("writing the batch cases");

    // Correctness, once, outside the timing.
    let report = analyze(&export, &limits);
    assert!(
        has_finding(&report, "proxy-differs", Principal::LocalSystem),
        "big export: expected proxy-differs for local_system, got {:?}",
        finding_ids(&report)
    );
    // The evidence is the value's first line, right under the key: the skimmer's line
    // numbers must be the file's own across the ~190,000 lines dropped before it.
    let lines: Vec<u64> = report
        .findings
        .iter()
        .filter(|f| f.id.as_str() == "proxy-differs")
        .flat_map(|f| f.evidence.iter().filter_map(|e| e.line))
        .collect();
    assert!(
        lines.contains(&(system_line + 1)),
        "big export: expected evidence at line {} (S-1-5-18's value), got {lines:?}",
        system_line + 1
    );
    let first = analyze(cases.first().expect("cases"), &limits);
    assert!(
        has_finding(&first, "proxy-missing", Principal::LocalSystem),
        "batch case: expected proxy-missing for local_system, got {:?}",
        finding_ids(&first)
    );

    let mut g = c.benchmark_group("analyze");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Bytes(export_len));
    g.bench_function("export_50mb", |b| b.iter(|| analyze(&export, &limits)));
    g.throughput(Throughput::Bytes(cases_len));
    g.bench_function("batch_200_cases", |b| {
        b.iter(|| {
            cases
                .iter()
                .map(|p| analyze(p, &limits).findings.len())
                .sum::<usize>()
        })
    });
    g.finish();

    let render = RenderOptions {
        color: false,
        width: Some(120),
    };
    let json = serde_json::to_string(&report).expect("json");
    let text = table::render_case(&report, &render);
    let mut g = c.benchmark_group("render");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Bytes((json.len() + text.len()) as u64));
    g.bench_function("json_and_table", |b| {
        b.iter(|| {
            let json = serde_json::to_string(&report).expect("json");
            let text = table::render_case(&report, &render);
            json.len() + text.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
