//! Throughput of the sensor log scanner on a generated 50 MB runtime log (the rotation size):
//! mostly `Info` noise with `k=v` counters, some multi-line exceptions, a few events.
//! `scan` includes decoding; `decode_only` is the `TextReader` line loop alone, for comparison;
//! `scan_utf16le` is the same text as UTF-16LE (throughput counted in UTF-16 bytes).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proxy_triage::formats::sensor_log;
use proxy_triage::text::{LegacyHint, TextReader};

const TARGET_BYTES: usize = 50 * 1024 * 1024;

fn generate() -> Vec<u8> {
    let noise = [
        "Info  NetworkListener Capture statistics [DroppedPackets=503 ErrorCount=0 TimedOutRequests=0 ParsedPackets=1048576 Entities=42]",
        "Info  SensorConfigurationManager Proxy configuration loaded [IsProxyEnabled=True RequestTimeout=00:01:40 ProxyUrl=http://proxy.contoso.com:8080]",
        "Debug CommunicationWebClient+<SendWithRetryAsync>d__9`1 SendAsync finished [Uri=https://contososensorapi.atp.azure.com/tri/sensor/api/batch StatusCode=OK Duration=00:00:00.1234567]",
        "Info  ImpersonationManager CreateImpersonatorAsync started [UserName=CONTOSO\\gmsa-mdi$ IsGroupManagedServiceAccount=True]",
        "Info  DirectoryServicesClient Connected to domain controller [DomainController=dc01.contoso.com:389 Latency=3]",
        "Warn  EventLogReader Backlog growing [Queued=2048 Dropped=0]",
    ];
    let exception = "Error CommunicationWebClient Microsoft.Tri.Infrastructure.ExtendedException: Batch upload failed\r\n ---> System.Net.Http.HttpRequestException: An error occurred while sending the request.\r\n ---> System.Net.WebException: Unable to connect to the remote server\r\n ---> System.Net.Sockets.SocketException: A connection attempt failed because the connected party did not properly respond after a period of time 10.1.2.3:8080\r\n   at async Task<HttpResponseMessage> System.Net.Http.HttpClient.FinishSendAsyncBuffered(HttpRequestMessage request)\r\n   --- End of inner exception stack trace ---\r\n   at void Microsoft.Tri.Common.ExceptionExtension.Throw(int errorCode)";
    let handled = "Warn  SensorUpdater Update check skipped\r\n   at void Microsoft.Tri.Sensor.Updater.Check()\r\n   at async Task Microsoft.Tri.Sensor.Updater.RunAsync()";
    let mut out = Vec::with_capacity(TARGET_BYTES + 4096);
    let mut i: u64 = 0;
    while out.len() < TARGET_BYTES {
        let secs = i / 10;
        let ts = format!(
            "2024-03-{:02} {:02}:{:02}:{:02}.{:04} ",
            6 + (secs / 86_400) % 20,
            (secs / 3600) % 24,
            (secs / 60) % 60,
            secs % 60,
            (i * 37) % 10_000
        );
        out.extend_from_slice(ts.as_bytes());
        let body = if i % 20_000 == 19_999 {
            exception
        } else if i % 997 == 500 {
            handled
        } else {
            noise[(i % noise.len() as u64) as usize]
        };
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(b"\r\n");
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let log = generate();
    let mut group = c.benchmark_group("sensor_log_50MB");
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.sample_size(10);
    group.bench_function("scan", |b| {
        b.iter(|| {
            let reader = TextReader::new(&log[..], LegacyHint::Ansi).expect("in-memory reader");
            let (parsed, _) = sensor_log::parse(reader);
            assert!(!parsed.events.is_empty());
            parsed.records
        })
    });
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            let mut reader = TextReader::new(&log[..], LegacyHint::Ansi).expect("in-memory reader");
            let mut n = 0u64;
            while let Some(Ok(line)) = reader.next_line() {
                n += line.text.len() as u64;
            }
            n
        })
    });
    // The same log re-saved by Windows PowerShell 5.1 (UTF-16LE with BOM).
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in String::from_utf8_lossy(&log).encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    group.throughput(Throughput::Bytes(utf16.len() as u64));
    group.bench_function("scan_utf16le", |b| {
        b.iter(|| {
            let reader = TextReader::new(&utf16[..], LegacyHint::Ansi).expect("in-memory reader");
            sensor_log::parse(reader).0.records
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
