//! `probe` subcommand: run the documented reachability probe once and print the result.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use comfy_table::{presets::UTF8_FULL, ContentArrangement, Table};

use crate::cli::{Format, ProbeArgs};
use crate::probe::{self, ProbeRequest, ProbeResult, MAX_CA_CERT_BYTES};
use crate::text::escape_control;

use super::Context;

/// Table width when stdout is not a terminal.
const TABLE_WIDTH: u16 = 100;

/// Runs the probe; exit 0 when reachable, 1 otherwise, 3 for a usage error.
pub fn run(ctx: &Context, args: &ProbeArgs) -> u8 {
    let format = ctx.auto_format(args.format);
    if !matches!(format, Format::Json | Format::Jsonl | Format::Table) {
        return usage("probe: --format must be json, jsonl or table");
    }
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
        url: args.url.clone(),
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
    let out = match format {
        Format::Table => render_table(&result),
        Format::Jsonl => serde_json::to_string(&result).unwrap_or_default(),
        _ => serde_json::to_string_pretty(&result).unwrap_or_default(),
    };
    println!("{out}");
    if result.is_reachable() {
        0
    } else {
        super::EXIT_FINDING
    }
}

/// Prints a usage error (always, even with --quiet: nothing else explains exit 3).
fn usage(msg: &str) -> u8 {
    eprintln!("proxy-triage: {}", escape_control(msg));
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

fn render_table(result: &ProbeResult) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        // Not a terminal: wrap at a readable width instead of one line per field.
        table.set_width(TABLE_WIDTH);
    }
    for (label, value) in result.table_rows() {
        table.add_row(vec![label.to_string(), escape_control(&value).into_owned()]);
    }
    table.to_string()
}
