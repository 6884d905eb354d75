//! `--format csv`: one row per finding (a case without findings gets one row with its verdict).

use crate::case::model::CaseReport;
use crate::text::escape_control;

/// The header row.
pub const HEADER: &str = "case,verdict,id,severity,principal,title,action,evidence\r\n";

/// Quotes a field; customer text is neutralised, and a leading `=`, `+`, `-`, `@` is defused
/// so a spreadsheet does not run it as a formula.
fn field(s: &str) -> String {
    let s = escape_control(s);
    let defused = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.into_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

/// The rows of one case.
pub fn render_case(case: &CaseReport) -> String {
    let mut out = String::new();
    if case.findings.is_empty() {
        out.push_str(&format!(
            "{},{},,,,,,\r\n",
            field(&case.case),
            case.verdict.name()
        ));
    }
    for f in &case.findings {
        let ev: Vec<String> = f.evidence.iter().map(|e| e.to_string()).collect();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            field(&case.case),
            case.verdict.name(),
            field(f.id.as_str()),
            f.severity.name(),
            f.principal.as_ref().map_or("", |p| p.key()),
            field(&f.title),
            field(&f.action),
            field(&ev.join("; "))
        ));
    }
    out
}
