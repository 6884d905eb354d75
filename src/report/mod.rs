//! Renderers: one per output format, each reading the analysed case; they compute nothing.
//! Every string that comes from customer data is neutralised for terminals in `table` and
//! `markdown`; JSON escapes it as JSON does.

use serde_json::Value;

use crate::text::escape_control;

pub mod csv;
pub mod markdown;
pub mod table;

/// Options every renderer may use.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// ANSI colours for severities and verdicts (table only).
    pub color: bool,
    /// Width to wrap tables to (None: no wrapping limit).
    pub width: Option<u16>,
}

/// An evidence location as people read it inside a case: relative to the case folder or
/// archive (`compare-system.txt:2` rather than `uploads/contoso-dc01/compare-system.txt:2`).
pub fn short_evidence(e: &crate::case::model::EvidenceRef, case: &str) -> String {
    let file = e.file.as_str();
    let rel = [format!("/{case}/"), format!("{case}/"), format!("{case}!")]
        .iter()
        .find_map(|p| {
            if file.starts_with(p.as_str()) {
                file.get(p.len()..)
            } else {
                file.find(p.as_str()).and_then(|i| file.get(i + p.len()..))
            }
        })
        .filter(|r| !r.is_empty())
        .unwrap_or(file)
        .to_string();
    if let Some(route) = &e.probe {
        format!("probe via {route}")
    } else if let Some(line) = e.line {
        format!("{rel}:{line}")
    } else {
        rel
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
