//! `--format table`: one block per case. From 100 columns on, the accounts and findings are
//! grids; below, a stacked layout (account blocks, findings as paragraphs). No line is ever
//! wider than the width, and `file:line` tokens are not split where they fit on a line.

use comfy_table::{presets, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};

use super::view::{CaseView, InputUse};
use super::{Render, RenderOptions};
use crate::case::model::{CaseReport, Severity, Verdict};
use crate::text::escape_control;

/// Below this width the grid gives way to the stacked layout.
pub const GRID_MIN_WIDTH: u16 = 100;
/// The width used when none is known.
pub const DEFAULT_WIDTH: u16 = 100;
/// Narrowest width honoured (narrower terminals get this and may wrap).
const MIN_WIDTH: u16 = 40;
/// What precedes a command the customer runs, on a line of its own that is never wrapped.
pub const COMMAND_INDENT: &str = "      ";

fn esc(s: &str) -> String {
    escape_control(s).into_owned()
}

/// The table renderer.
#[derive(Debug, Clone, Copy)]
pub struct TableRender {
    pub opts: RenderOptions,
}

impl Render for TableRender {
    fn case(&self, case: &CaseReport) -> String {
        render_case(case, &self.opts)
    }
}

/// The units [`wrap`] places: words, except that a code span (`` `netsh winhttp set proxy` ``)
/// is one unit, so an inline command is not broken at its spaces; a span wider than `room`
/// (or never closed) goes word by word.
fn units(text: &str, room: usize) -> Vec<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    let mut out: Vec<Cow<'_, str>> = Vec::new();
    let mut words = text.split_whitespace();
    while let Some(word) = words.next() {
        let opens = word.starts_with('`') && !word.get(1..).is_some_and(|w| w.contains('`'));
        if !opens {
            out.push(Cow::Borrowed(word));
            continue;
        }
        let mut span = vec![word];
        let mut closed = false;
        for next in words.by_ref() {
            span.push(next);
            if next.contains('`') {
                closed = true;
                break;
            }
        }
        let joined = span.join(" ");
        if closed && joined.chars().count() <= room {
            out.push(Cow::Owned(joined));
        } else {
            out.extend(span.into_iter().map(Cow::Borrowed));
        }
    }
    out
}

/// Wraps `text` to `width` columns, continuation lines indented by `indent` spaces, the
/// first by `first`. Words are never split unless one alone is wider than a line; a code span
/// between backticks is kept on one line when it fits on one.
pub fn wrap(text: &str, first: usize, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = " ".repeat(first);
    let mut col = first;
    let mut empty = true;
    for word in units(text, width.saturating_sub(first.max(indent))) {
        let word = word.as_ref();
        let w = word.chars().count();
        if !empty && col + 1 + w > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(indent);
            col = indent;
            empty = true;
        }
        if !empty {
            line.push(' ');
            col += 1;
        }
        // A word wider than a whole line is cut where the line ends.
        if col + w > width {
            for c in word.chars() {
                if col >= width {
                    out.push_str(line.trim_end());
                    out.push('\n');
                    line = " ".repeat(indent);
                    col = indent;
                }
                line.push(c);
                col += 1;
            }
            empty = false;
            continue;
        }
        line.push_str(word);
        col += w;
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

fn paint(s: &str, code: &str, opts: &RenderOptions) -> String {
    if opts.color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn verdict_code(v: Verdict) -> &'static str {
    match v {
        Verdict::Healthy => "1;32",
        Verdict::Misconfigured => "1;31",
        Verdict::Inconclusive => "1;33",
    }
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Error => "31",
        Severity::Warning => "33",
        Severity::Info => "36",
    }
}

fn new_table(width: u16, opts: &RenderOptions) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(width);
    if opts.color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t
}

/// The width to lay out for.
fn width_of(opts: &RenderOptions) -> u16 {
    opts.width.unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH)
}

/// Renders one case as text blocks.
pub fn render_case(case: &CaseReport, opts: &RenderOptions) -> String {
    let view = CaseView::new(case);
    let width = width_of(opts);
    let mut out = header(&view, width as usize, opts);
    if width >= GRID_MIN_WIDTH {
        grid(&view, width, opts, &mut out);
    } else {
        stacked(&view, width as usize, opts, &mut out);
    }
    trailer(&view, width as usize, &mut out);
    out.push('\n');
    out
}

fn header(v: &CaseView, width: usize, opts: &RenderOptions) -> String {
    let verdict = v.verdict.name().to_uppercase();
    let mut out = format!(
        "Case {}: {}\n",
        esc(&v.name),
        paint(&verdict, verdict_code(v.verdict), opts)
    );
    out.push_str(&wrap(&esc(&v.summary), 0, 2, width));
    out.push_str(&wrap(
        &format!(
            "Endpoint judged: {} ({})",
            esc(&v.endpoint),
            v.endpoint_source
        ),
        0,
        2,
        width,
    ));
    out
}

fn grid(v: &CaseView, width: u16, opts: &RenderOptions, out: &mut String) {
    if !v.accounts.is_empty() {
        let mut t = new_table(width, opts);
        t.set_header(vec!["Account", "State", "Settings", "Evidence"]);
        for a in &v.accounts {
            let mut label = a.label.to_string();
            if let Some(reference) = &a.reference {
                label.push('\n');
                label.push_str(&esc(reference));
            }
            let ev: Vec<String> = a.evidence.iter().map(|e| esc(e)).collect();
            let mut settings = esc(&a.settings);
            for u in &a.users {
                settings.push_str(&format!("\n{}", esc(u)));
            }
            t.add_row(vec![
                Cell::new(label),
                Cell::new(a.state_name),
                Cell::new(settings),
                Cell::new(ev.join("\n")),
            ]);
        }
        keep_tokens_whole(
            &mut t,
            3,
            v.accounts.iter().flat_map(|a| &a.evidence),
            width,
        );
        out.push_str(&t.to_string());
        out.push('\n');
    }
    accounts_notes(v, width as usize, out);
    if v.findings.is_empty() {
        out.push_str("No findings.\n");
        return;
    }
    // Three columns: the explanation gets the room, its evidence listed inside it.
    let mut t = new_table(width, opts);
    t.set_header(vec!["Severity", "Finding", "What we found"]);
    for f in &v.findings {
        let sev = Cell::new(f.severity.name());
        let sev = if opts.color {
            sev.fg(match f.severity {
                Severity::Error => Color::Red,
                Severity::Warning => Color::Yellow,
                Severity::Info => Color::Cyan,
            })
        } else {
            sev
        };
        let mut what = esc(&f.title);
        if let Some(excerpt) = &f.excerpt {
            what.push_str(&format!("\nLog line: {}", esc(excerpt)));
        }
        if !f.evidence.is_empty() {
            let ev: Vec<String> = f.evidence.iter().map(|e| esc(e)).collect();
            what.push_str(&format!("\nEvidence: {}", ev.join(", ")));
        }
        if let Some(a) = f.action {
            what.push_str(&format!("\nWhat to do: action {}", a + 1));
        }
        t.add_row(vec![sev, Cell::new(f.id), Cell::new(what)]);
    }
    let ids: Vec<String> = v.findings.iter().map(|f| f.id.to_string()).collect();
    keep_tokens_whole(&mut t, 1, ids.iter(), width);
    out.push_str(&t.to_string());
    out.push('\n');
    actions(v, width as usize, out);
}

/// Gives the evidence column room for its longest `file:line` when that fits in 40% of
/// the width, so comfy-table does not split it mid-token.
fn keep_tokens_whole<'a>(
    t: &mut Table,
    column: usize,
    tokens: impl Iterator<Item = &'a String>,
    width: u16,
) {
    let longest = tokens.map(|s| s.chars().count()).max().unwrap_or(0);
    let cap = (width as usize * 2) / 5;
    let want = (longest.min(cap) + 2) as u16;
    if let Some(c) = t.column_mut(column) {
        c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(want)));
    }
}

fn accounts_notes(v: &CaseView, width: usize, out: &mut String) {
    if !v.silent.is_empty() {
        out.push_str(&wrap(
            &format!("Nothing in the uploads shows: {}.", v.silent.join(", ")),
            0,
            2,
            width,
        ));
    }
    for a in &v.assumptions {
        out.push_str(&wrap(&format!("Assumed: {}", esc(a)), 0, 2, width));
    }
}

fn actions(v: &CaseView, width: usize, out: &mut String) {
    if v.actions.is_empty() {
        return;
    }
    out.push_str("\nWhat to do\n");
    for (i, a) in v.actions.iter().enumerate() {
        let n = format!("{}. ", i + 1);
        out.push_str(&wrap(&format!("{n}{}", esc(a)), 2, 2 + n.len(), width));
    }
}

fn stacked(v: &CaseView, width: usize, opts: &RenderOptions, out: &mut String) {
    out.push_str("\nAccounts\n");
    for a in &v.accounts {
        let mut head = format!("{}: {}", a.label, a.state_name.to_uppercase());
        if let Some(r) = &a.reference {
            head = format!("{} ({}): {}", a.label, esc(r), a.state_name.to_uppercase());
        }
        out.push_str(&wrap(&head, 2, 4, width));
        if !a.settings.is_empty() {
            out.push_str(&wrap(&esc(&a.settings), 4, 6, width));
        }
        if !a.evidence.is_empty() {
            let ev: Vec<String> = a.evidence.iter().map(|e| esc(e)).collect();
            out.push_str(&wrap(&format!("evidence: {}", ev.join(", ")), 4, 6, width));
        }
        for u in &a.users {
            out.push_str(&wrap(&format!("user {}", esc(u)), 4, 6, width));
        }
    }
    accounts_notes(v, width, out);
    out.push('\n');
    if v.findings.is_empty() {
        out.push_str("No findings.\n");
        return;
    }
    out.push_str("Findings\n");
    for (i, f) in v.findings.iter().enumerate() {
        let sev = f.severity.name().to_uppercase();
        let n = format!("{}. ", i + 1);
        let mut head = format!("{n}{} {}", sev, f.id);
        if let Some(a) = f.account {
            head.push_str(&format!(", {a}"));
        }
        let head = wrap(&head, 2, 2 + n.len(), width);
        // Colour the severity word only once wrapped, so widths stay true.
        let head = if opts.color {
            head.replacen(&sev, &paint(&sev, severity_code(f.severity), opts), 1)
        } else {
            head
        };
        out.push_str(&head);
        let indent = 2 + n.len();
        out.push_str(&wrap(&esc(&f.title), indent, indent, width));
        if let Some(excerpt) = &f.excerpt {
            out.push_str(&wrap(
                &format!("log line: {}", esc(excerpt)),
                indent,
                indent + 2,
                width,
            ));
        }
        if !f.evidence.is_empty() {
            let ev: Vec<String> = f.evidence.iter().map(|e| esc(e)).collect();
            out.push_str(&wrap(
                &format!("evidence: {}", ev.join(", ")),
                indent,
                indent + 2,
                width,
            ));
        }
        if let Some(a) = f.action {
            out.push_str(&wrap(
                &format!("what to do: action {}", a + 1),
                indent,
                indent,
                width,
            ));
        }
    }
    actions(v, width, out);
}

fn trailer(v: &CaseView, width: usize, out: &mut String) {
    if let Some(p) = &v.probe {
        out.push_str(&wrap(&format!("Probe: {}", esc(p)), 0, 2, width));
    }
    if !v.unattributed.is_empty() {
        let list: Vec<String> = v.unattributed.iter().map(|e| esc(e)).collect();
        out.push_str(&wrap(
            &format!("Captures for an unknown account: {}", list.join(", ")),
            0,
            2,
            width,
        ));
    }
    if !v.needs.is_empty() {
        out.push_str("\nWhat we still need\n");
        for n in &v.needs {
            let tag = if n.blocking { "[blocking] " } else { "" };
            out.push_str(&wrap(
                &format!("- {tag}{}: {}", esc(&n.what), esc(&n.why)),
                2,
                4,
                width,
            ));
            if let Some(c) = &n.command {
                // Never wrapped: a break at a space inside `"HKU\S-1-5-19\..."` would paste as
                // two commands. The terminal soft-wraps an overlong line and copies it whole.
                out.push_str(&format!("{COMMAND_INDENT}{}\n", esc(c)));
            }
        }
    }
    out.push_str("\nInputs\n");
    for i in &v.inputs {
        let mut line = format!("{} ({})", esc(&i.file), i.kind);
        match (i.usage, &i.reason) {
            (InputUse::Used, _) => {}
            (InputUse::Ignored, Some(r)) => line.push_str(&format!(": ignored, {}", esc(r))),
            (InputUse::Ignored, None) => line.push_str(": ignored"),
            (InputUse::Unreadable, r) => line.push_str(&format!(
                ": not read, {}",
                esc(r.as_deref().unwrap_or("unreadable"))
            )),
        }
        out.push_str(&wrap(&line, 2, 4, width));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_tokens_and_width() {
        let s = wrap(
            "evidence: compare-system.txt:2, hkcu-connections.reg:4",
            4,
            6,
            30,
        );
        for line in s.lines() {
            assert!(line.chars().count() <= 30, "{line}");
        }
        assert!(s.contains("compare-system.txt:2,"));
        assert!(s.contains("hkcu-connections.reg:4"));
    }

    #[test]
    fn wrap_keeps_a_code_span_on_one_line() {
        let text = "align it from an elevated prompt with `netsh winhttp import proxy source=ie` or `netsh winhttp set proxy`";
        let s = wrap(text, 5, 5, 80);
        assert!(s.lines().all(|l| l.chars().count() <= 80), "{s}");
        assert!(
            s.lines()
                .any(|l| l.contains("`netsh winhttp import proxy source=ie`")),
            "{s}"
        );
        // A span wider than a line, or never closed, goes word by word.
        let s = wrap("run `a b c d e f g h i j k l m n o p` now", 0, 0, 12);
        assert!(s.lines().all(|l| l.chars().count() <= 12), "{s}");
        assert_eq!(
            wrap("x `open and never closed", 0, 0, 200),
            "x `open and never closed\n"
        );
    }

    #[test]
    fn wrap_cuts_only_words_wider_than_a_line() {
        let long = "x".repeat(50);
        let s = wrap(&format!("a {long}"), 0, 2, 20);
        assert!(s.lines().all(|l| l.chars().count() <= 20), "{s}");
        assert_eq!(s.chars().filter(|c| *c == 'x').count(), 50);
    }
}
