//! `--format markdown`: a case as a ticket comment, read by the customer's admin: human
//! account names, customer text escaped, no command names of this tool, the tool version.

use super::view::{CaseView, InputUse};
use super::Render;
use crate::case::model::CaseReport;
use crate::text::escape_control;

/// The markdown renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownRender;

impl Render for MarkdownRender {
    fn case(&self, case: &CaseReport) -> String {
        render_case(case)
    }
}

/// Escapes customer text for Markdown (inline or in a table cell): every character with a
/// meaning in CommonMark/GFM gets a backslash; newlines become spaces.
pub fn text(s: &str) -> String {
    let s = escape_control(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '|' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '\\' | '#' | '~' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// The tool's own prose, where `backticked` parts are code: they become code spans, the
/// rest is escaped.
pub fn prose(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 && !part.is_empty() {
            out.push_str(&code_span(part));
        } else {
            out.push_str(&text(part));
        }
    }
    out
}

/// A code span that holds `s` whatever backticks it contains.
fn code_span(s: &str) -> String {
    let s = escape_control(s).replace(['\n', '\r'], " ");
    let fence = "`".repeat(longest_backtick_run(&s) + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn longest_backtick_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// A fenced code block for a command the customer runs.
fn code_block(s: &str) -> String {
    let s = escape_control(s);
    let fence = "`".repeat((longest_backtick_run(&s) + 1).max(3));
    format!("{fence}\n{s}\n{fence}\n")
}

/// Renders one case.
pub fn render_case(case: &CaseReport) -> String {
    let v = CaseView::new(case);
    let mut out = String::new();
    out.push_str(&format!(
        "### {}: **{}**\n\n",
        text(&v.name),
        v.verdict.name()
    ));
    out.push_str(&format!("{}\n\n", text(&v.summary)));
    out.push_str(&format!(
        "Endpoint judged: {} ({})\n\n",
        text(&v.endpoint),
        v.endpoint_source
    ));

    if !v.accounts.is_empty() {
        out.push_str("| Account | State | Settings | Evidence |\n|---|---|---|---|\n");
        for a in &v.accounts {
            let mut label = a.label.to_string();
            if let Some(r) = &a.reference {
                label.push_str(&format!(" ({})", text(r)));
            }
            let ev: Vec<String> = a.evidence.iter().map(|e| text(e)).collect();
            let mut settings = text(&a.settings);
            for u in &a.users {
                settings.push_str(&format!("<br>{}", text(u)));
            }
            out.push_str(&format!(
                "| {label} | {} | {settings} | {} |\n",
                a.state_name,
                ev.join("<br>")
            ));
        }
        out.push('\n');
    }
    if !v.silent.is_empty() {
        out.push_str(&format!(
            "Nothing in the uploads shows: {}.\n\n",
            v.silent.join(", ")
        ));
    }
    for a in &v.assumptions {
        out.push_str(&format!("*Assumed:* {}\n\n", text(a)));
    }

    if v.findings.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        out.push_str("#### Findings\n\n");
        for (i, f) in v.findings.iter().enumerate() {
            // The account is named once: titles usually name it already.
            let account = f
                .account
                .filter(|a| !f.title.contains(a))
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "{}. **{}**{account}: {}.",
                i + 1,
                f.severity.name(),
                prose(f.title.trim_end_matches('.'))
            ));
            if let Some(a) = f.action {
                out.push_str(&format!(" See action {}.", a + 1));
            }
            out.push('\n');
            // Nested items, so each renders on a line of its own under the finding.
            if let Some(excerpt) = &f.excerpt {
                out.push_str(&format!("   - Log line: {}\n", text(excerpt)));
            }
            if !f.evidence.is_empty() {
                let ev: Vec<String> = f.evidence.iter().map(|e| text(e)).collect();
                out.push_str(&format!("   - Evidence: {}\n", ev.join(", ")));
            }
        }
        out.push('\n');
    }
    if !v.actions.is_empty() {
        out.push_str("#### What to do\n\n");
        for (i, a) in v.actions.iter().enumerate() {
            out.push_str(&format!("{}. {}\n", i + 1, prose(a)));
        }
        out.push('\n');
    }
    if let Some(p) = &v.probe {
        out.push_str(&format!("Connectivity test: {}\n\n", text(p)));
    }
    if !v.unattributed.is_empty() {
        let list: Vec<String> = v.unattributed.iter().map(|e| text(e)).collect();
        out.push_str(&format!(
            "Files whose account could not be told: {}\n\n",
            list.join(", ")
        ));
    }
    if !v.needs.is_empty() {
        out.push_str("#### What we still need\n\n");
        for n in &v.needs {
            let tag = if n.blocking { "**needed:** " } else { "" };
            out.push_str(&format!("- {tag}{}: {}\n", prose(&n.what), prose(&n.why)));
            if let Some(c) = &n.command {
                out.push('\n');
                for line in code_block(c).lines() {
                    out.push_str(&format!("  {line}\n"));
                }
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out.push_str("#### Files received\n\n");
    for i in &v.inputs {
        let note = match (i.usage, &i.reason) {
            (InputUse::Used, _) => String::new(),
            (InputUse::Ignored, Some(r)) => format!(": not used, {}", text(r)),
            (InputUse::Ignored, None) => ": not used".into(),
            (InputUse::Unreadable, r) => format!(
                ": could not be read, {}",
                text(r.as_deref().unwrap_or("unreadable"))
            ),
        };
        out.push_str(&format!("- {} ({}){note}\n", text(&i.file), i.kind));
    }
    out.push_str(&format!(
        "\n*Offline analysis of the uploaded files by proxy-triage {}.*\n\n",
        env!("CARGO_PKG_VERSION")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_text_is_escaped() {
        assert_eq!(text("a|b`c<d>*e_"), "a\\|b\\`c\\<d\\>\\*e\\_");
        assert!(!text("x\ny").contains('\n'));
    }

    #[test]
    fn tool_prose_keeps_its_code_spans() {
        assert_eq!(
            prose("run `netsh winhttp import proxy source=ie` now"),
            "run `netsh winhttp import proxy source=ie` now"
        );
        assert_eq!(code_span("a`b"), "``a`b``");
    }

    #[test]
    fn code_blocks_outlast_backticks() {
        assert_eq!(code_block("a ``` b"), "````\na ``` b\n````\n");
    }
}
