//! A console session pasted as one file: several commands, each after its prompt line
//! (`C:\Windows\system32>reg query …`, `PS C:\> netsh winhttp show proxy`, `PS> …`). The file is
//! split at the prompt lines into sections; each section is then parsed as its own kind (by the
//! artifact layer), keeping the file's line numbers and the command that printed it.

use serde::Serialize;

use crate::detect::{self, Kind};
use crate::diag::Diagnostic;
use crate::formats::powershell;
use crate::text;

/// Most sections kept; the rest of a longer paste stays in the last section.
pub const MAX_SECTIONS: usize = 256;
/// Budget of padding lines (see [`section_text`]) over all sections, so that a hostile paste
/// with a prompt on every line cannot make the split quadratic.
const MAX_PADDING: u64 = 4 * 1024 * 1024;

/// Where one command's section lies in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionSpan {
    /// 1-based line of the prompt line (or of the first line of text before any prompt).
    pub first_line: u64,
    /// 1-based last line of the section (trailing blank lines excluded).
    pub last_line: u64,
    /// The command typed after the prompt; null for text before the first prompt.
    pub command: Option<String>,
    /// The kind the command prints, when the command is one we know.
    pub command_kind: Option<Kind>,
    /// Byte range of the section in the text.
    #[serde(skip)]
    pub bytes: std::ops::Range<usize>,
}

/// Splits `text` at its prompt lines. Blank text before the first prompt makes no section.
pub fn split(text: &str) -> (Vec<SectionSpan>, Vec<Diagnostic>) {
    let mut spans: Vec<SectionSpan> = Vec::new();
    let mut diags = Vec::new();
    let mut padding = 0u64;
    let mut capped = false;
    let base = text.as_ptr() as usize;
    for (n, line) in text::lines(text) {
        let start = (line.as_ptr() as usize).saturating_sub(base);
        let end = start + line.len();
        let prompt = detect::prompt_command(line);
        let can_open = spans.len() < MAX_SECTIONS && padding.saturating_add(n) <= MAX_PADDING;
        if let (Some(cmd), true) = (prompt, can_open) {
            padding = padding.saturating_add(n);
            spans.push(SectionSpan {
                first_line: n,
                last_line: n,
                command: Some(cmd.chars().take(1000).collect()),
                command_kind: detect::command_kind(cmd),
                bytes: start..end,
            });
            continue;
        }
        if prompt.is_some() && !capped {
            capped = true;
            diags.push(Diagnostic::warning(
                n,
                1,
                "sections-capped",
                format!("more than {MAX_SECTIONS} commands (or a very long paste): the rest of the file is read as part of the last section"),
            ));
        }
        // The banner of a new console (`Microsoft Windows [Version …]`) is nobody's output.
        if line.trim().is_empty() || powershell::is_console_banner(line) {
            continue;
        }
        match spans.last_mut() {
            Some(s) => {
                s.last_line = n;
                s.bytes.end = end;
            }
            None => spans.push(SectionSpan {
                first_line: n,
                last_line: n,
                command: None,
                command_kind: None,
                bytes: start..end,
            }),
        }
    }
    // A prompt with nothing typed and nothing printed (the paste's last line) is no section.
    spans.retain(|s| s.command.as_deref() != Some("") || s.last_line > s.first_line);
    (spans, diags)
}

/// The section's text preceded by blank lines, so that a parser numbering from 1 reports the
/// file's line numbers.
pub fn section_text(text: &str, span: &SectionSpan) -> String {
    let body = text.get(span.bytes.clone()).unwrap_or("");
    let pad = usize::try_from(span.first_line.saturating_sub(1)).unwrap_or(0);
    let mut out = String::with_capacity(pad + body.len() + 1);
    out.extend(std::iter::repeat_n('\n', pad));
    out.push_str(body);
    out.push('\n');
    out
}

/// The kind a section is parsed as: the command's when known, else what its text looks like.
pub fn section_kind(text: &str, span: &SectionSpan) -> Kind {
    if let Some(k) = span.command_kind {
        return k;
    }
    let body = text.get(span.bytes.clone()).unwrap_or("");
    // The prompt line itself says nothing about the output.
    let output = match span.command {
        Some(_) => body.split_once('\n').map_or("", |(_, rest)| rest),
        None => body,
    };
    match detect::detect_text(output) {
        Kind::ConsoleSession => Kind::Unknown,
        k => k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_on_every_line_is_capped() {
        let t = "C:\\>whoami\n".repeat(5000);
        let (spans, d) = split(&t);
        assert_eq!(spans.len(), MAX_SECTIONS);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "sections-capped");
        assert_eq!(spans.last().map(|s| s.last_line), Some(5000));
    }

    #[test]
    fn cmd_and_powershell_prompts_split_and_keep_line_numbers() {
        let t = "Microsoft Windows [Version 10.0.17763.5820]\n\nC:\\Windows\\system32>reg query \"HKU\\S-1-5-18\\x\" /v DefaultConnectionSettings\n\nHKEY_USERS\\S-1-5-18\\x\n    DefaultConnectionSettings    REG_BINARY    4600\n\nC:\\Windows\\system32>netsh winhttp show proxy\n\nCurrent WinHTTP proxy settings:\n\n    Direct access (no proxy server).\n\nPS C:\\> Invoke-WebRequest https://x/tri/sensor/api/ping\n{\n  \"metadata\": {},\n}\nPS>\n";
        let (spans, d) = split(t);
        assert!(d.is_empty());
        let got: Vec<_> = spans
            .iter()
            .map(|s| (s.first_line, s.last_line, s.command_kind))
            .collect();
        assert_eq!(
            got,
            [
                (3, 6, Some(Kind::RegQuery)),
                (8, 12, Some(Kind::NetshWinhttp)),
                (14, 17, Some(Kind::ProbeCapture)),
            ]
        );
        let text = section_text(t, &spans[1]);
        assert_eq!(text::lines(&text).count(), 12);
        // The console banner before the first prompt makes no section.
        let (spans, _) = split("Microsoft Windows [Version 10.0.17763.5820]\nC:\\>whoami\nx\\y\n");
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].first_line, 2);
    }
}
