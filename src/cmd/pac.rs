//! `pac FILE --url URL`: one PAC evaluation with the customer's facts, as the contract's JSON
//! or a table for support engineers.
//!
//! Exit codes: 0 the script returned a string, 1 the script failed (syntax, exception, limit,
//! bad return), 2 the file is unreadable, 3 usage.

use std::io::{self, Read, Write};
use std::time::Duration;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

use crate::cli::{PacArgs, PacFormat};
use crate::pac::{self, Dependency, PacEvaluation, PacFacts, PacLimits, PacRequest};
use crate::text::{self, escape_control, LegacyHint};

use super::{Context, EXIT_FINDING, EXIT_INPUT};

/// Schema version of the `pac` document (Version 2 of the contract).
const PAC_SCHEMA_VERSION: u32 = 2;

/// The `pac` JSON document.
#[derive(Debug, Serialize)]
struct PacOutput<'a> {
    schema_version: u32,
    file: &'a str,
    url: &'a str,
    host: &'a str,
    #[serde(flatten)]
    evaluation: &'a PacEvaluation,
}

pub fn run(ctx: &Context, args: &PacArgs) -> u8 {
    let name = args.file.to_string_lossy().into_owned();
    let limits = PacLimits {
        max_script_bytes: usize::try_from(args.max_pac_kib.saturating_mul(1024))
            .unwrap_or(usize::MAX),
        time: Duration::from_millis(args.pac_timeout_ms),
        ..PacLimits::default()
    };
    let format = ctx.pick_format(args.format, PacFormat::Table, PacFormat::Json);
    // Enough bytes that a script over the limit is still over it once decoded (UTF-16 halves).
    let cap = (limits.max_script_bytes as u64)
        .saturating_mul(4)
        .saturating_add(16);
    let bytes = match read_capped(&name, args, cap) {
        Ok(b) => b,
        Err(e) => {
            ctx.warn(&format!("{name}: {e}"));
            return EXIT_INPUT;
        }
    };
    let decoded = text::decode(&bytes, LegacyHint::Ansi);
    for d in &decoded.diagnostics {
        ctx.warn(&format!("{name}:{}:{}: {}", d.line, d.column, d.message));
    }
    let mut req = PacRequest::for_url(&args.url);
    if let Some(h) = &args.host {
        req.host = h.clone();
    }
    let mut facts = PacFacts {
        my_ips: args.my_ip.clone(),
        now: args.now,
        ..PacFacts::default()
    };
    for (n, ips) in &args.resolve {
        facts.add_resolve(n, ips.iter().copied());
    }
    for n in &args.unresolvable {
        facts.add_unresolvable(n);
    }
    let evaluation = pac::evaluate(&decoded.text, &req, &facts, &limits);
    let out = PacOutput {
        schema_version: PAC_SCHEMA_VERSION,
        file: &name,
        url: &req.url,
        host: &req.host,
        evaluation: &evaluation,
    };
    let rendered = match format {
        PacFormat::Table => Ok(table(&out)),
        PacFormat::Jsonl => serde_json::to_string(&out).map(|s| s + "\n"),
        PacFormat::Json => serde_json::to_string_pretty(&out).map(|s| s + "\n"),
    };
    let rendered = match rendered {
        Ok(r) => r,
        Err(e) => {
            ctx.warn(&format!("pac: {e}"));
            return EXIT_INPUT;
        }
    };
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_all(rendered.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return 0;
        }
        ctx.warn(&format!("pac: {e}"));
        return EXIT_INPUT;
    }
    if evaluation.returned() {
        0
    } else {
        EXIT_FINDING
    }
}

/// Reads the script (a regular file, or stdin for `-`), at most `cap` bytes.
fn read_capped(name: &str, args: &PacArgs, cap: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if name == "-" {
        io::stdin().lock().take(cap).read_to_end(&mut bytes)?;
    } else {
        super::parse::open_regular(&args.file)?
            .take(cap)
            .read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

fn table(out: &PacOutput<'_>) -> String {
    let e = out.evaluation;
    let mut rows: Vec<(&str, String)> = vec![
        ("File", out.file.to_string()),
        ("URL", out.url.to_string()),
        ("Host", out.host.to_string()),
        (
            "Entry point",
            e.entry_point
                .map_or("(none)".into(), |p| p.name().to_string()),
        ),
        (
            "Result",
            e.result
                .as_deref()
                .map_or("(none)".into(), |r| format!("\"{r}\"")),
        ),
        (
            "Route",
            format!("{}\n{}", e.route.summary(), e.route.reason),
        ),
    ];
    if !e.route.then.is_empty() {
        rows.push(("Then (never tried)", e.route.then.join("; ")));
    }
    if let Some(err) = &e.error {
        let at = err
            .line
            .map(|l| format!(" at line {l}"))
            .unwrap_or_default();
        rows.push((
            "Error",
            format!(
                "{}{at}: {}",
                serde_json::to_value(err.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                err.message
            ),
        ));
    }
    if !e.depends_on.is_empty() {
        let lines: Vec<String> = e.depends_on.iter().map(Dependency::sentence).collect();
        rows.push(("Depends on", lines.join("\n")));
    }
    if !e.alerts.is_empty() {
        rows.push(("alert()", e.alerts.join("\n")));
    }
    rows.push(("Elapsed", format!("{} ms", e.elapsed.as_millis())));
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["Field", "Value"]);
    if t.width().is_none() {
        t.set_width(120);
    }
    for (k, v) in rows {
        let v: Vec<String> = v.lines().map(|l| escape_control(l).into_owned()).collect();
        t.add_row(vec![k.to_string(), v.join("\n")]);
    }
    format!("{t}\n")
}
