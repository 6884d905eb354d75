//! `--format table`: one block per case — the principals side by side, then the findings
//! with severity colours, wrapped to the terminal width.

use comfy_table::{presets, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};

use super::RenderOptions;
use crate::case::model::{CaseReport, Severity, State, Verdict};
use crate::case::principals::Principal;
use crate::text::escape_control;

fn esc(s: &str) -> String {
    escape_control(s).into_owned()
}

fn new_table(opts: &RenderOptions) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = opts.width {
        t.set_width(w);
    }
    // Colours are set per cell only when asked, so nothing here may switch off comfy-table's
    // terminal detection: it is what wraps the table to the window's width.
    if opts.color {
        t.enforce_styling();
    }
    t
}

fn severity_cell(s: Severity, opts: &RenderOptions) -> Cell {
    let cell = Cell::new(s.name());
    if !opts.color {
        return cell;
    }
    match s {
        Severity::Error => cell.fg(Color::Red),
        Severity::Warning => cell.fg(Color::Yellow),
        Severity::Info => cell.fg(Color::Cyan),
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Configured => "configured",
        State::Direct => "direct",
        State::Missing => "MISSING",
        State::Unknown => "unknown",
    }
}

/// Renders one case as text blocks.
pub fn render_case(case: &CaseReport, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let verdict = case.verdict.name().to_uppercase();
    let verdict = if opts.color {
        let code = match case.verdict {
            Verdict::Healthy => "32",
            Verdict::Misconfigured => "31",
            Verdict::Inconclusive => "33",
        };
        format!("\x1b[1;{code}m{verdict}\x1b[0m")
    } else {
        verdict
    };
    out.push_str(&format!("Case {}: {}\n", esc(&case.case), verdict));

    let mut t = new_table(opts);
    t.set_header(vec!["Account", "State", "Settings", "Evidence"]);
    for p in Principal::ALL {
        let Some(r) = case.principals.get(&p) else {
            continue;
        };
        if p == Principal::Sensor && r.state == State::Unknown {
            continue;
        }
        let evidence: Vec<String> = r
            .evidence
            .iter()
            .take(3)
            .map(|e| esc(&super::short_evidence(e, &case.case)))
            .collect();
        let mut ev = evidence.join("\n");
        if r.evidence.len() > 3 {
            ev.push_str(&format!("\n(+{} more)", r.evidence.len() - 3));
        }
        let mut label = p.label().to_string();
        if let Some(reference) = &r.reference {
            label.push_str(&format!("\n{}", esc(reference)));
        }
        t.add_row(vec![
            Cell::new(label),
            Cell::new(state_name(r.state)),
            Cell::new(esc(&r.summary)),
            Cell::new(ev),
        ]);
    }
    out.push_str(&t.to_string());
    out.push('\n');

    if case.findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        let mut f = new_table(opts);
        f.set_header(vec![
            "Severity",
            "Finding",
            "Account",
            "What and what to do",
            "Evidence",
        ]);
        // The explanation gets the room; file:line lists wrap within 30% of the width.
        if let Some(c) = f.column_mut(4) {
            c.set_constraint(ColumnConstraint::UpperBoundary(Width::Percentage(30)));
        }
        for finding in &case.findings {
            let ev: Vec<String> = finding
                .evidence
                .iter()
                .take(4)
                .map(|e| esc(&super::short_evidence(e, &case.case)))
                .collect();
            let mut ev = ev.join("\n");
            if finding.evidence.len() > 4 {
                ev.push_str(&format!("\n(+{} more)", finding.evidence.len() - 4));
            }
            f.add_row(vec![
                severity_cell(finding.severity, opts),
                Cell::new(finding.id),
                Cell::new(finding.principal.as_ref().map_or("-", |p| p.key())),
                Cell::new(format!(
                    "{}\n→ {}",
                    esc(&finding.title),
                    esc(&finding.action)
                )),
                Cell::new(ev),
            ]);
        }
        out.push_str(&f.to_string());
        out.push('\n');
    }
    if let Some(p) = &case.probe {
        out.push_str(&format!(
            "Probe: {} via {} → {} ({})\n",
            esc(&p.url),
            esc(p.proxy.as_deref().unwrap_or("direct")),
            serde_json::to_value(p.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            p.status.map_or_else(
                || esc(p.error.as_deref().unwrap_or("no answer")),
                |s| s.to_string()
            )
        ));
    }
    if !case.unattributed.is_empty() {
        let list: Vec<String> = case
            .unattributed
            .iter()
            .map(|e| esc(&super::short_evidence(e, &case.case)))
            .collect();
        out.push_str(&format!(
            "Captures for an unknown account: {}\n",
            list.join(", ")
        ));
    }
    out.push('\n');
    out
}
