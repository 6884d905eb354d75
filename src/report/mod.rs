//! Renderers: one per output format, each reading the analysed case; they compute nothing.
//! Every string that comes from customer data is neutralised for terminals in `table` and
//! `markdown`; JSON escapes it as JSON does.

use serde_json::Value;

use crate::case::model::{CaseReport, InputRecord, Verdict};
use crate::text::escape_control;

pub mod csv;
pub mod markdown;
pub mod table;
pub mod view;

pub use view::short_evidence;

/// Options every renderer may use.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// ANSI colours for severities and verdicts (table only).
    pub color: bool,
    /// Width to lay tables out for (None: 100 columns).
    pub width: Option<u16>,
}

/// One output format of `analyze`: text before the first case, each case (rendered on the
/// worker threads, so `case` takes `&self`), the text between two cases, and the end.
pub trait Render: Sync {
    /// Printed once before the first case (a CSV header, the opening of a JSON document).
    fn begin(&self) -> String {
        String::new()
    }
    /// One case.
    fn case(&self, case: &CaseReport) -> String;
    /// Printed between two cases.
    fn separator(&self) -> &'static str {
        ""
    }
    /// Printed once at the end, with every input of the cases printed.
    fn end(&self, _inputs: &[InputRecord]) -> String {
        String::new()
    }
}

/// The formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Accounts and findings for people (a grid from 100 columns, stacked below).
    Table,
    /// One JSON document (its schema: `proxy-triage schema`).
    Json,
    /// One JSON case per line, printed as each case is done.
    Jsonl,
    /// A ticket comment for the customer's admin.
    Markdown,
    /// One row per finding.
    Csv,
    /// One line per case: verdict, case, main reason, endpoint.
    Summary,
}

/// The renderer of a format.
pub fn renderer(format: ReportFormat, opts: RenderOptions) -> Box<dyn Render> {
    match format {
        ReportFormat::Table => Box::new(table::TableRender { opts }),
        ReportFormat::Json => Box::new(JsonRender),
        ReportFormat::Jsonl => Box::new(JsonlRender),
        ReportFormat::Markdown => Box::new(markdown::MarkdownRender),
        ReportFormat::Csv => Box::new(csv::CsvRender),
        ReportFormat::Summary => Box::new(SummaryRender),
    }
}

/// The `analyze` JSON document, streamed: the cases as they come, the inputs at the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRender;

fn indent(s: &str, by: &str) -> String {
    s.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn json_error(e: serde_json::Error) -> String {
    serde_json::json!({ "error": e.to_string() }).to_string()
}

impl Render for JsonRender {
    fn begin(&self) -> String {
        format!(
            "{{\n  \"schema_version\": {},\n  \"cases\": [\n",
            crate::SCHEMA_VERSION
        )
    }
    fn case(&self, case: &CaseReport) -> String {
        let json = serde_json::to_string_pretty(case).unwrap_or_else(json_error);
        indent(&json, "    ")
    }
    fn separator(&self) -> &'static str {
        ",\n"
    }
    fn end(&self, inputs: &[InputRecord]) -> String {
        let json = serde_json::to_string_pretty(inputs).unwrap_or_else(|_| "[]".into());
        format!(
            "\n  ],\n  \"inputs\": {}\n}}\n",
            indent(&json, "  ").trim_start()
        )
    }
}

/// One case object per line, each with `schema_version`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonlRender;

impl Render for JsonlRender {
    fn case(&self, case: &CaseReport) -> String {
        #[derive(serde::Serialize)]
        struct Line<'a> {
            schema_version: u32,
            #[serde(flatten)]
            case: &'a CaseReport,
        }
        let line = Line {
            schema_version: crate::SCHEMA_VERSION,
            case,
        };
        // `to_string` knows its output is UTF-8; writing to bytes would validate every line
        // again to make it a String.
        match serde_json::to_string(&line) {
            Ok(mut text) => {
                text.push('\n');
                text
            }
            Err(e) => json_error(e) + "\n",
        }
    }
}

/// `--format summary`: one line per case: verdict, case, main reason, endpoint (when known).
#[derive(Debug, Clone, Copy, Default)]
pub struct SummaryRender;

impl Render for SummaryRender {
    fn case(&self, case: &CaseReport) -> String {
        let v = view::CaseView::new(case);
        // The placeholder endpoint would repeat on every line of a batch: named only when known.
        let endpoint = if case.endpoint.source == crate::case::model::EndpointSource::Default {
            String::new()
        } else {
            format!("  [endpoint {}]", v.endpoint)
        };
        let line = format!(
            "{:<13} {}  {}{endpoint}",
            v.verdict.name(),
            v.name,
            v.main_reason(),
        );
        format!("{}\n", escape_control(&line))
    }
}

/// The JSON Schema (draft 2020-12) of the `analyze --format json` document, derived from
/// the model types so it cannot drift from what is printed.
pub fn analyze_schema() -> Value {
    let mut schema = schemars::schema_for!(crate::case::model::AnalysisReport);
    schema.insert(
        "title".into(),
        Value::String("proxy-triage analyze --format json".into()),
    );
    schema.to_value()
}

/// Cases per verdict, for the totals at the end of a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub healthy: usize,
    pub misconfigured: usize,
    pub inconclusive: usize,
    /// Inputs that could not be read or were rejected.
    pub unreadable: usize,
}

impl Totals {
    /// Counts one case.
    pub fn add(&mut self, verdict: Verdict, unreadable: usize) {
        match verdict {
            Verdict::Healthy => self.healthy += 1,
            Verdict::Misconfigured => self.misconfigured += 1,
            Verdict::Inconclusive => self.inconclusive += 1,
        }
        self.unreadable += unreadable;
    }

    /// Every case counted.
    pub fn cases(&self) -> usize {
        self.healthy + self.misconfigured + self.inconclusive
    }

    /// `12 cases: 7 misconfigured, 3 inconclusive, 2 healthy; 1 unreadable input`.
    pub fn line(&self) -> String {
        let plural = |n: usize, one: &str, many: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {many}")
            }
        };
        format!(
            "{}: {} misconfigured, {} inconclusive, {} healthy; {}",
            plural(self.cases(), "case", "cases"),
            self.misconfigured,
            self.inconclusive,
            self.healthy,
            plural(self.unreadable, "unreadable input", "unreadable inputs")
        )
    }
}

/// A readable two-column listing of any JSON document (used by `parse --format table`).
pub fn generic_table(value: &Value) -> String {
    let mut out = String::new();
    walk(value, "", &mut out);
    out
}

fn walk(value: &Value, path: &str, out: &mut String) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, &p, out);
            }
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str(&format!("{path}  []\n"));
            }
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => out.push_str(&format!("{path}  {}\n", escape_control(s))),
        other => out.push_str(&format!("{path}  {other}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_and_read() {
        let mut t = Totals::default();
        t.add(Verdict::Misconfigured, 1);
        t.add(Verdict::Healthy, 0);
        assert_eq!(
            t.line(),
            "2 cases: 1 misconfigured, 0 inconclusive, 1 healthy; 1 unreadable input"
        );
    }
}
