//! `--format markdown`: a case as a ticket comment (tables render in most trackers).

use crate::case::model::{CaseReport, State};
use crate::case::principals::Principal;
use crate::text::escape_control;

/// Escapes customer text for a Markdown table cell.
fn cell(s: &str) -> String {
    let s = escape_control(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Configured => "configured",
        State::Direct => "direct",
        State::Missing => "**missing**",
        State::Unknown => "unknown",
    }
}

/// Renders one case.
pub fn render_case(case: &CaseReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "### Case {} — **{}**\n\n",
        cell(&case.case),
        case.verdict.name()
    ));
    out.push_str("| Account | State | Settings | Evidence |\n|---|---|---|---|\n");
    for p in Principal::ALL {
        let Some(r) = case.principals.get(&p) else {
            continue;
        };
        if p == Principal::Sensor && r.state == State::Unknown {
            continue;
        }
        let ev: Vec<String> = r
            .evidence
            .iter()
            .map(|e| cell(&super::short_evidence(e, &case.case)))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            p.label(),
            state_name(r.state),
            cell(&r.summary),
            ev.join("<br>")
        ));
    }
    out.push('\n');
    if case.findings.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        out.push_str("| Severity | Finding | Account | What and what to do | Evidence |\n|---|---|---|---|---|\n");
        for f in &case.findings {
            let ev: Vec<String> = f
                .evidence
                .iter()
                .map(|e| cell(&super::short_evidence(e, &case.case)))
                .collect();
            out.push_str(&format!(
                "| {} | `{}` | {} | {} → {} | {} |\n",
                f.severity.name(),
                f.id,
                f.principal.as_ref().map_or("-", |p| p.key()),
                cell(&f.title),
                cell(&f.action),
                ev.join("<br>")
            ));
        }
        out.push('\n');
    }
    if let Some(p) = &case.probe {
        out.push_str(&format!(
            "Probe: {} via {}: **{}** ({})\n\n",
            cell(&p.url),
            cell(p.proxy.as_deref().unwrap_or("direct")),
            serde_json::to_value(p.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            p.status.map_or_else(
                || cell(p.error.as_deref().unwrap_or("no answer")),
                |s| s.to_string()
            )
        ));
    }
    out
}
