//! `probe` subcommand: run the documented reachability probe once and print the result.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use comfy_table::{presets::UTF8_FULL, ContentArrangement, Table};

use serde::Serialize;

use crate::cli::{ProbeArgs, ProbeFormat};
use crate::probe::{self, ProbeRequest, ProbeResult, MAX_CA_CERT_BYTES, PING_PATH};
use crate::text::escape_control;

use super::{write_stdout, Context};

/// Said when the 2018 default URL was probed (no `--endpoint`/`--workspace`/`--url`).
const DEFAULT_URL_NOTE: &str = "this is the processor host of the 2018 documentation, not your \
workspace's sensor endpoint: give --workspace NAME (or --endpoint HOST) to probe \
https://NAMEsensorapi.atp.azure.com/tri/sensor/api/ping, the current documented test";

/// The probe JSON: the contract's fields, `schema_version` first and a note when the URL
/// is the 2018 default.
#[derive(Debug, Serialize)]
struct ProbeOutput<'a> {
    schema_version: u32,
    #[serde(flatten)]
    result: &'a ProbeResult,
    url_source: UrlSource,
    /// What the reader should know about the URL (the 2018 default), or null.
    note: Option<&'static str>,
}

/// Where the probed URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum UrlSource {
    /// `--endpoint` / `--workspace`: the ping URL of that host.
    Flag,
    /// `--url`, as given.
    Url,
    /// None of them: the 2018 processor URL.
    Default,
}

/// The URL to probe and where it came from.
fn probe_url(args: &ProbeArgs) -> (String, UrlSource) {
    if let Some(url) = &args.url {
        return (url.clone(), UrlSource::Url);
    }
    match args.endpoint.host() {
        Some(host) => (format!("https://{host}{PING_PATH}"), UrlSource::Flag),
        None => (
            crate::PROCESSOR_ENDPOINT_URL.to_string(),
            UrlSource::Default,
        ),
    }
}

/// Runs the probe; exit 0 when reachable, 1 otherwise, 3 for a usage error.
pub fn run(ctx: &Context, args: &ProbeArgs) -> u8 {
    let format = ctx.pick_format(args.format, ProbeFormat::Table, ProbeFormat::Json);
    let (url, url_source) = probe_url(args);
    let note = (url_source == UrlSource::Default).then_some(DEFAULT_URL_NOTE);
    let ca_cert_pem = match &args.ca_cert {
        None => None,
        Some(path) => match read_capped(path) {
            Ok(bytes) => Some(bytes),
            Err(e) => return usage(&format!("probe: --ca-cert {}: {e}", path.display())),
        },
    };
    let proxy = match args
        .proxy
        .as_deref()
        .map(probe::normalize_proxy)
        .transpose()
    {
        Ok(p) => p,
        Err(e) => return usage(&format!("probe: --proxy: {e}")),
    };
    let request = ProbeRequest {
        url,
        proxy,
        ca_cert_pem,
        timeout: Duration::from_secs(args.timeout),
    };
    if let Err(e) = request.validate() {
        let flag = match e {
            probe::ProbeError::InvalidUrl { .. } => "--url",
            probe::ProbeError::InvalidProxy { .. } => "--proxy",
            probe::ProbeError::InvalidCaCert { .. } => "--ca-cert",
            probe::ProbeError::InvalidTimeout { .. } => "--timeout",
        };
        return usage(&format!("probe: {flag}: {e}"));
    }
    let result = probe::probe(&request);
    let doc = ProbeOutput {
        schema_version: crate::SCHEMA_VERSION,
        result: &result,
        url_source,
        note,
    };
    let out = match format {
        ProbeFormat::Table => render_table(&result, note),
        ProbeFormat::Jsonl => serde_json::to_string(&doc).unwrap_or_default(),
        ProbeFormat::Json => serde_json::to_string_pretty(&doc).unwrap_or_default(),
    };
    if let Err(e) = write_stdout(format!("{out}\n").as_bytes()) {
        return ctx.stdout_failed(&e);
    }
    if result.is_reachable() {
        0
    } else {
        super::EXIT_FINDING
    }
}

/// Prints a usage error (always, even with --quiet: nothing else explains exit 3).
fn usage(msg: &str) -> u8 {
    let _ = writeln!(
        std::io::stderr().lock(),
        "proxy-triage: {}",
        escape_control(msg)
    );
    super::EXIT_USAGE
}

/// Reads the PEM file, refusing more than [`MAX_CA_CERT_BYTES`].
fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_CA_CERT_BYTES).unwrap_or(u64::MAX) + 1;
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > MAX_CA_CERT_BYTES {
        return Err(format!("larger than {MAX_CA_CERT_BYTES} bytes"));
    }
    Ok(bytes)
}

fn render_table(result: &ProbeResult, note: Option<&str>) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        // Not a terminal: wrap at a readable width instead of one line per field.
        table.set_width(super::piped_table_width());
    }
    for (label, value) in result.table_rows() {
        table.add_row(vec![label.to_string(), escape_control(&value).into_owned()]);
    }
    if let Some(note) = note {
        table.add_row(vec!["Note".to_string(), note.to_string()]);
    }
    table.to_string()
}
