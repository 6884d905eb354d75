//! `reg compare` console output: the `<` / `>` / `=` value and key lines, the verdict, the
//! errors (in the languages found in real captures), the echoed command and exit code,
//! several comparisons per file, PowerShell 5.1 wrappers and screenshot transcripts.

use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};
use crate::formats::powershell::{self, LogicalLine};
use crate::formats::probe_capture::{ProbeObservation, ProbeScanner};
pub use crate::formats::reg_exe::messages::{
    classify, has_error_prefix, CompareResult, ErrorKind, Localized, Message,
};
use crate::formats::reg_exe::printed::{self, find_type_token, printed_to_bytes};
use crate::registry::{self, KeyPath, ValueType};

/// Which side a line belongs to: `<` the first key, `>` the second, `=` both (with /oa, /os).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Side {
    #[serde(rename = "<")]
    Left,
    #[serde(rename = ">")]
    Right,
    #[serde(rename = "=")]
    Both,
}

/// A `Value:` line or a `Key:` line (subkeys, with /s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Value,
    Key,
}

/// One `<` / `>` / `=` line.
#[derive(Debug, Clone, Serialize)]
pub struct CompareEntry {
    pub side: Side,
    pub kind: EntryKind,
    /// Key path: root spelled out, rest in the printed casing.
    pub key: String,
    /// Value name (`""` for the default value and for `Key:` lines).
    pub name: String,
    /// `REG_BINARY` etc. (`REG_NONE` for `Key:` lines).
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// The bytes the registry holds, rebuilt from the printed data.
    #[serde(rename = "data_hex", serialize_with = "ser_hex")]
    pub bytes: Vec<u8>,
    /// The printed form (`"0x1"`, the string, the list of strings; null for binary).
    pub data: serde_json::Value,
    /// 1-based physical line of the entry's first row.
    pub line: u64,
    /// The bytes are incomplete (bad hex, cut line): never decode them as a whole blob.
    pub truncated: bool,
}

fn ser_hex<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&registry::hex_lower(b))
}

/// One `reg compare` run inside a capture.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The command as echoed, or null when the capture has no prompt line.
    pub command: Option<String>,
    /// First key (root spelled out), from the command or the `<` lines.
    pub left: Option<String>,
    /// Second key (root spelled out), from the command or the `>` lines.
    pub right: Option<String>,
    /// The `/v` value name (`""` for `/ve`), null when the whole key was compared.
    pub value: Option<String>,
    /// Output option (`/od` default, `/oa`, `/os`, `/on`) when the command shows it.
    pub output: Option<String>,
    pub result: Option<CompareResult>,
    pub error_kind: Option<ErrorKind>,
    /// Exit code echoed after the run (`echo %errorlevel%`, `$LASTEXITCODE`).
    pub exit_code: Option<i32>,
    pub language: Option<String>,
    pub entries: Vec<CompareEntry>,
    /// Line of the command (or of the first line of the run).
    pub line: u64,
}

impl Comparison {
    fn new(line: u64) -> Comparison {
        Comparison {
            command: None,
            left: None,
            right: None,
            value: None,
            output: None,
            result: None,
            error_kind: None,
            exit_code: None,
            language: None,
            entries: Vec::new(),
            line,
        }
    }
}

/// A `reg compare` capture: the first comparison's verdict at the top, all of them in
/// `comparisons`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegCompareCapture {
    pub result: Option<CompareResult>,
    pub error_kind: Option<ErrorKind>,
    pub language: Option<String>,
    pub entries: Vec<CompareEntry>,
    pub comparisons: Vec<Comparison>,
    pub exit_code: Option<i32>,
    pub probe_observations: Vec<ProbeObservation>,
}

/// Parses a `reg compare` capture.
pub fn parse(text: &str, file_name: &str) -> (RegCompareCapture, Vec<Diagnostic>) {
    let _ = file_name;
    let lines = powershell::logical_lines(text, can_continue, starts_shape);
    let mut p = CompareParser::default();
    for ll in &lines {
        p.line(ll);
    }
    p.finish()
}

fn entry_prefix(row: &str) -> Option<(Side, EntryKind, usize)> {
    let side = match row.as_bytes().first()? {
        b'<' => Side::Left,
        b'>' => Side::Right,
        b'=' => Side::Both,
        _ => return None,
    };
    let rest = row.get(1..)?;
    let trimmed = rest.trim_start();
    let skipped = 1 + rest.len() - trimmed.len();
    for (word, kind) in [("Value:", EntryKind::Value), ("Key:", EntryKind::Key)] {
        if trimmed
            .get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
        {
            return Some((side, kind, skipped + word.len()));
        }
    }
    None
}

fn can_continue(row: &str) -> bool {
    let s = powershell::strip_native_prefix(row);
    // An echoed command is joined only when its row fills the window (the last character or
    // a blank lost at the edge), since any output line may follow it.
    let width = row.chars().count();
    let full_row = powershell::WRAP_WIDTHS
        .iter()
        .any(|w| width == *w || width + 1 == *w);
    let command_row = full_row
        && powershell::strip_prompt(row).is_some_and(|c| c.to_ascii_lowercase().starts_with("reg"));
    command_row
        || entry_prefix(row).is_some()
        || (has_error_prefix(row) && !s.trim_end().ends_with(['.', '。']))
}

fn starts_shape(row: &str) -> bool {
    entry_prefix(row).is_some()
        || powershell::strip_prompt(row).is_some()
        || powershell::is_ps_error_noise(row)
        || has_error_prefix(row)
        || classify(row).is_some_and(|l| !matches!(l.message, Message::Error(ErrorKind::Other)))
}

#[derive(Default)]
struct CompareParser {
    comparisons: Vec<Comparison>,
    /// State of the last comparison: it printed its verdict, success line or error.
    done: bool,
    saw_result_line: Option<CompareResult>,
    saw_success: bool,
    /// Lines of the current run seen since its command (for the "unknown first line" rule).
    lines_since_command: u32,
    expect_exit_code: bool,
    language: Option<&'static str>,
    diags: Diagnostics,
    probes: ProbeScanner,
}

impl CompareParser {
    #[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
    fn current(&mut self, line: u64) -> &mut Comparison {
        if self.comparisons.is_empty() || self.done {
            self.close();
            self.comparisons.push(Comparison::new(line));
            self.done = false;
            self.lines_since_command = 0;
        }
        let last = self.comparisons.len() - 1;
        &mut self.comparisons[last]
    }

    fn line(&mut self, ll: &LogicalLine<'_>) {
        let t = ll.text.trim_end();
        if t.trim().is_empty() {
            return;
        }
        if self.expect_exit_code {
            self.expect_exit_code = false;
            if let Ok(code) = t.trim().parse::<i32>() {
                if let Some(c) = self.comparisons.last_mut() {
                    c.exit_code = Some(code);
                }
                return;
            }
        }
        if let Some(cmd) = powershell::strip_prompt(t) {
            self.command(ll.line, cmd);
            return;
        }
        let lower: String = t
            .trim_start()
            .chars()
            .take(24)
            .collect::<String>()
            .to_lowercase();
        if lower.starts_with("reg compare") || lower.starts_with("reg.exe compare") {
            self.command(ll.line, t.trim());
            return;
        }
        if lower.starts_with("echo %errorlevel%")
            || lower.starts_with("$lastexitcode")
            || lower.starts_with("echo $lastexitcode")
        {
            self.expect_exit_code = true;
            return;
        }
        if self.probes.feed(ll.line, t) {
            return;
        }
        if powershell::is_ps_error_noise(t) || powershell::is_console_banner(t) {
            return;
        }
        if let Some((side, kind, off)) = entry_prefix(t) {
            self.entry(ll, t, side, kind, off);
            return;
        }
        if let Some(loc) = classify(t) {
            self.message(ll.line, loc);
            return;
        }
        // An unknown line right after the command is reg.exe's answer in an unknown language.
        let first_after_command = self
            .comparisons
            .last()
            .is_some_and(|c| c.command.is_some() && !self.done && c.entries.is_empty())
            && self.lines_since_command == 0;
        self.lines_since_command += 1;
        if first_after_command {
            let c = self.current(ll.line);
            c.error_kind = Some(ErrorKind::Other);
            self.done = true;
            self.diags.push(Diagnostic::warning(
                ll.line,
                1,
                "unrecognised-error",
                format!(
                    "expected `<`/`>` value lines or a known reg.exe message after the command; found {:?} (treated as an error in an unknown language)",
                    short(t)
                ),
            ));
            return;
        }
        self.diags.push(Diagnostic::info(
            ll.line,
            1,
            "unrecognised-line",
            format!(
                "expected a `<`/`>`/`=` line, `Result Compared:`, a reg.exe message or a prompt; found {:?}",
                short(t)
            ),
        ));
    }

    fn command(&mut self, line: u64, cmd: &str) {
        let lower = cmd.to_ascii_lowercase();
        if lower.starts_with("echo %errorlevel%")
            || lower.starts_with("$lastexitcode")
            || lower.starts_with("echo $lastexitcode")
        {
            self.expect_exit_code = true;
            return;
        }
        if !(lower.starts_with("reg compare") || lower.starts_with("reg.exe compare")) {
            // Another command (probe, reg query, cls...): its output is looked at line by line.
            self.probes.feed(line, cmd);
            return;
        }
        self.close();
        let mut c = Comparison::new(line);
        c.command = Some(cmd.to_string());
        let args = powershell::split_args(cmd);
        let mut keys = Vec::new();
        let mut it = args.iter().skip(2);
        while let Some(a) = it.next() {
            let la = a.to_ascii_lowercase();
            match la.as_str() {
                "/v" => c.value = it.next().cloned(),
                "/ve" => c.value = Some(String::new()),
                "/oa" | "/od" | "/os" | "/on" => c.output = Some(la.clone()),
                _ if la.starts_with('/') => {}
                // Redirections end reg.exe's arguments (`2>&1`, `> out.txt`, `| clip`).
                _ if is_redirection(&la) => break,
                _ => keys.push(a.as_str()),
            }
        }
        let full = |k: &str, diags: &mut Diagnostics| -> String {
            // A remote key `\\HOST\HKLM\…`: keep the host, spell the root out.
            let (host, path) = match k.strip_prefix("\\\\").and_then(|r| r.split_once('\\')) {
                Some((h, p)) => (Some(h), p),
                None => (None, k),
            };
            match KeyPath::parse(path) {
                Some(kp) => match host {
                    Some(h) => format!("\\\\{h}\\{}", kp.full()),
                    None => kp.full(),
                },
                None => {
                    diags.push(Diagnostic::warning(
                        line,
                        1,
                        "unknown-root",
                        format!("expected a key starting with HKLM, HKCU, HKCR, HKU or HKCC; found {:?}", short(k)),
                    ));
                    k.to_string()
                }
            }
        };
        c.left = keys.first().map(|k| full(k, &mut self.diags));
        c.right = keys.get(1).map(|k| full(k, &mut self.diags));
        if keys.len() != 2 {
            self.diags.push(Diagnostic::info(
                line,
                1,
                "command-arguments",
                format!(
                    "expected two keys after `reg compare`, found {}",
                    keys.len()
                ),
            ));
        }
        self.comparisons.push(c);
        self.done = false;
        self.saw_result_line = None;
        self.saw_success = false;
        self.lines_since_command = 0;
    }

    fn message(&mut self, line: u64, loc: Localized) {
        if self.language.is_none() {
            self.language = loc.language;
        }
        match loc.message {
            Message::Error(kind) => {
                let c = self.current(line);
                if c.language.is_none() {
                    c.language = loc.language.map(str::to_string);
                }
                if c.error_kind.is_none() || c.error_kind == Some(ErrorKind::Other) {
                    c.error_kind = Some(kind);
                }
                // The usage line follows; the run is over after it.
                self.lines_since_command += 1;
                if !matches!(
                    kind,
                    ErrorKind::InvalidSyntax | ErrorKind::InvalidKey | ErrorKind::Other
                ) {
                    self.done = true;
                }
            }
            Message::Usage => {
                let c = self.current(line);
                if matches!(c.error_kind, None | Some(ErrorKind::Other)) {
                    c.error_kind = Some(ErrorKind::InvalidSyntax);
                }
                self.done = true;
            }
            Message::Result(r) => {
                let c = self.current(line);
                if loc.language.is_some() && c.language.is_none() {
                    c.language = loc.language.map(str::to_string);
                }
                if c.result.is_none() {
                    c.result = Some(r);
                }
                self.saw_result_line = Some(r);
                self.lines_since_command += 1;
            }
            Message::Success => {
                let c = self.current(line);
                if c.language.is_none() {
                    c.language = loc.language.map(str::to_string);
                }
                self.saw_success = true;
                self.done = true;
            }
        }
    }

    fn entry(&mut self, ll: &LogicalLine<'_>, t: &str, side: Side, kind: EntryKind, off: usize) {
        // A new run starts when value lines follow a finished one without a command.
        let (known_name, line) = {
            let c = self.current(ll.line);
            (c.value.clone(), ll.line)
        };
        self.lines_since_command += 1;
        let body_start = off + leading_blanks(t.get(off..).unwrap_or(""));
        let body = t.get(body_start..).unwrap_or("");
        let entry = match kind {
            EntryKind::Key => CompareEntry {
                side,
                kind,
                key: full_key(body.trim()),
                name: String::new(),
                value_type: ValueType::NONE,
                bytes: Vec::new(),
                data: serde_json::Value::Null,
                line,
                truncated: false,
            },
            EntryKind::Value => match find_type_token(body) {
                Some((ts, te, ty)) => {
                    let head = body.get(..ts).unwrap_or("").trim_end();
                    let (key, name) = split_key_and_name(head, known_name.as_deref());
                    let after = body.get(te..).unwrap_or("");
                    let sep = usize::from(after.starts_with(' ') || after.starts_with('\t'));
                    let data_at = body_start + te + sep;
                    let printed = t.get(data_at..).unwrap_or("");
                    let printed = if ty.is_string() {
                        printed
                    } else {
                        printed.trim()
                    };
                    let pv = printed_to_bytes(ty, printed);
                    if let Some((o, msg)) = &pv.problem {
                        let (pl, pc) = ll.position(data_at + o);
                        self.diags
                            .push(Diagnostic::warning(pl, pc, "bad-value-data", msg.clone()));
                    }
                    let name = match printed::is_default_name(&name) {
                        Some(_) => String::new(),
                        None => name,
                    };
                    CompareEntry {
                        side,
                        kind,
                        key: full_key(&key),
                        name,
                        value_type: ty,
                        bytes: pv.bytes,
                        data: pv.data,
                        line,
                        truncated: pv.truncated,
                    }
                }
                None => {
                    let (pl, pc) = ll.position(body_start);
                    self.diags.push(Diagnostic::warning(
                        pl,
                        pc,
                        "bad-entry",
                        format!(
                            "expected `KEY  NAME REG_TYPE DATA` after `Value:`; found no REG_ type in {:?} (half line?)",
                            short(body)
                        ),
                    ));
                    CompareEntry {
                        side,
                        kind,
                        key: full_key(body.trim()),
                        name: String::new(),
                        value_type: ValueType::NONE,
                        bytes: Vec::new(),
                        data: serde_json::Value::Null,
                        line,
                        truncated: true,
                    }
                }
            },
        };
        let c = self.current(ll.line);
        let valid = entry.kind == EntryKind::Value && entry.value_type != ValueType::NONE
            || !entry.truncated;
        match entry.side {
            Side::Left if valid && c.left.is_none() && entry.kind == EntryKind::Value => {
                c.left = Some(entry.key.clone())
            }
            Side::Right if valid && c.right.is_none() && entry.kind == EntryKind::Value => {
                c.right = Some(entry.key.clone())
            }
            _ => {}
        }
        if c.entries.len() < 100_000 {
            c.entries.push(entry);
        }
    }

    /// Settles the verdict of the last comparison from everything it printed.
    fn close(&mut self) {
        let saw_success = std::mem::take(&mut self.saw_success);
        let saw_result = self.saw_result_line.take();
        let Some(c) = self.comparisons.last_mut() else {
            return;
        };
        let structural_diff = c
            .entries
            .iter()
            .any(|e| matches!(e.side, Side::Left | Side::Right));
        let by_exit = match c.exit_code {
            Some(0) => Some(CompareResult::Identical),
            Some(2) => Some(CompareResult::Different),
            Some(1) => Some(CompareResult::Error),
            _ => None,
        };
        let result = match c.error_kind {
            Some(ErrorKind::NotFound) => Some(CompareResult::Missing),
            Some(_) => Some(CompareResult::Error),
            None => match saw_result {
                Some(r) => {
                    if r == CompareResult::Identical && structural_diff {
                        self.diags.push(Diagnostic::warning(
                            c.line,
                            1,
                            "result-conflict",
                            "the verdict says identical but `<`/`>` lines show differences; keeping different",
                        ));
                        Some(CompareResult::Different)
                    } else {
                        Some(r)
                    }
                }
                None if structural_diff => Some(CompareResult::Different),
                None => by_exit.or(if saw_success && !c.entries.is_empty() {
                    Some(CompareResult::Identical)
                } else {
                    None
                }),
            },
        };
        if let (Some(r), Some(e)) = (result, by_exit) {
            let consistent = r == e || (r == CompareResult::Missing && e == CompareResult::Error);
            if !consistent {
                self.diags.push(Diagnostic::warning(
                    c.line,
                    1,
                    "exit-code-conflict",
                    format!(
                        "the echoed exit code {:?} does not match the printed result",
                        c.exit_code
                    ),
                ));
            }
        }
        c.result = result;
    }

    fn finish(mut self) -> (RegCompareCapture, Vec<Diagnostic>) {
        self.close();
        // A run with nothing in it (no command, entries, verdict) is dropped.
        self.comparisons.retain(|c| {
            c.command.is_some()
                || c.result.is_some()
                || !c.entries.is_empty()
                || c.exit_code.is_some()
        });
        let mut out = RegCompareCapture {
            language: self.language.map(str::to_string),
            probe_observations: self.probes.finish(),
            ..RegCompareCapture::default()
        };
        if let Some(first) = self.comparisons.first() {
            out.result = first.result;
            out.error_kind = first.error_kind;
            out.entries = first.entries.clone();
            out.exit_code = first.exit_code;
        } else {
            self.diags.push(Diagnostic::warning(
                1,
                1,
                "no-comparison",
                "no reg compare output (value lines, verdict or error) was found",
            ));
        }
        out.comparisons = self.comparisons;
        (out, self.diags.into_vec())
    }
}

/// `>`, `>>`, `2>&1`, `1>file`, `|`, `&`, `&&`: cmd/PowerShell syntax after the arguments.
fn is_redirection(arg: &str) -> bool {
    let a = arg.trim_start_matches(|c: char| c.is_ascii_digit() || c == '*');
    a.starts_with('>') || a.starts_with('|') || a.starts_with('&') || a.starts_with('<')
}

fn leading_blanks(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

fn full_key(printed: &str) -> String {
    KeyPath::parse(printed).map_or_else(|| printed.to_string(), |k| k.full())
}

/// Splits `KEY␠␠NAME` using the `/v` name when known, else the last double blank,
/// else the first blank of the last path component.
fn split_key_and_name(head: &str, known: Option<&str>) -> (String, String) {
    if let Some(name) = known.filter(|n| !n.is_empty()) {
        if head.len() > name.len() {
            let cut = head.len() - name.len();
            if let (Some(k), Some(n)) = (head.get(..cut), head.get(cut..)) {
                if n.eq_ignore_ascii_case(name) && !k.trim_end().is_empty() {
                    return (k.trim_end().to_string(), n.to_string());
                }
            }
        }
    }
    if let Some(i) = head.rfind("  ") {
        let key = head.get(..i).unwrap_or("").trim_end();
        let name = head.get(i..).unwrap_or("").trim_start();
        return (key.to_string(), name.to_string());
    }
    let last_sep = head.rfind('\\').map_or(0, |i| i + 1);
    match head.get(last_sep..).and_then(|r| r.find(' ')) {
        Some(sp) => {
            let i = last_sep + sp;
            (
                head.get(..i).unwrap_or("").to_string(),
                head.get(i + 1..).unwrap_or("").to_string(),
            )
        }
        None => (head.to_string(), String::new()),
    }
}

fn short(s: &str) -> String {
    let mut out: String = s.trim().chars().take(60).collect();
    if out.len() < s.trim().len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CU: &str = "HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";

    #[test]
    fn different_capture_sides_bytes_lines() {
        let t = format!(
            "C:\\>reg compare \"HKCU\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" \"HKU\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" /v DefaultConnectionSettings\r\n\
< Value: {CU}  DefaultConnectionSettings REG_BINARY 4600000003000000\r\n\
> Value: HKEY_USERS\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections  DefaultConnectionSettings REG_BINARY 4600000001000000\r\n\
\r\n\
Result Compared:  Different\r\n\
The operation completed successfully.\r\n"
        );
        let (c, d) = parse(&t, "");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.result, Some(CompareResult::Different));
        assert_eq!(c.language.as_deref(), Some("en"));
        assert_eq!(c.comparisons.len(), 1);
        let cmp = &c.comparisons[0];
        assert_eq!(cmp.left.as_deref(), Some(CU));
        assert!(cmp
            .right
            .as_deref()
            .unwrap()
            .starts_with("HKEY_USERS\\S-1-5-18\\Software"));
        assert_eq!(cmp.value.as_deref(), Some("DefaultConnectionSettings"));
        let e = &c.entries[0];
        assert_eq!((e.side, e.line, e.key.as_str()), (Side::Left, 2, CU));
        assert_eq!(e.bytes, vec![0x46, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(c.entries[1].side, Side::Right);
        assert_eq!(c.entries[1].line, 3);
    }

    #[test]
    fn not_found_is_missing_and_languages() {
        for (text, lang) in [
            ("ERROR: The system was unable to find the specified registry key or value.", "en"),
            ("FEHLER: Der angegebene Registrierungsschlüssel bzw. Wert wurde nicht gefunden.", "de"),
            ("ERREUR : le système n’a pas trouvé la clé ou la valeur de Registre spécifiée.", "fr"),
            ("ERROR: El sistema no pudo encontrar la clave o el valor del Registro especificado.", "es"),
            ("エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。", "ja"),
        ] {
            let (c, _) = parse(text, "");
            assert_eq!(c.result, Some(CompareResult::Missing), "{text}");
            assert_eq!(c.error_kind, Some(ErrorKind::NotFound));
            assert_eq!(c.language.as_deref(), Some(lang));
        }
    }

    #[test]
    fn structure_only_unknown_language() {
        let t = format!("< Value: {CU}  X REG_DWORD 0x1\n> Value: HKEY_USERS\\S-1-5-18\\X  X REG_DWORD 0x2\n\nWynik: coś\n");
        let (c, d) = parse(&t, "");
        assert_eq!(c.result, Some(CompareResult::Different));
        assert_eq!(c.language, None);
        assert_eq!(c.entries[0].bytes, vec![1, 0, 0, 0]);
        assert!(d
            .iter()
            .any(|d| d.code == "unrecognised-line" && d.line == 4));
    }

    #[test]
    fn identical_od_has_no_entries() {
        let (c, _) = parse(
            "\r\nResult Compared: Identical\r\nThe operation completed successfully.\r\n",
            "",
        );
        assert_eq!(c.result, Some(CompareResult::Identical));
        assert!(c.entries.is_empty());
        assert_eq!(c.comparisons.len(), 1);
    }

    #[test]
    fn invalid_syntax_with_usage_and_exit_code() {
        let t = "C:\\>reg compare HKCU\\x\r\nERROR: Invalid syntax.\r\nType \"REG COMPARE /?\" for usage.\r\n\r\nC:\\>echo %errorlevel%\r\n1\r\n";
        let (c, _) = parse(t, "");
        assert_eq!(c.error_kind, Some(ErrorKind::InvalidSyntax));
        assert_eq!(c.result, Some(CompareResult::Error));
        assert_eq!(c.exit_code, Some(1));
    }

    #[test]
    fn key_name_split_without_double_blank() {
        assert_eq!(
            split_key_and_name(
                "HKEY_USERS\\S\\Internet Settings\\Connections DefaultConnectionSettings",
                None
            ),
            (
                "HKEY_USERS\\S\\Internet Settings\\Connections".into(),
                "DefaultConnectionSettings".into()
            )
        );
        assert_eq!(
            split_key_and_name(
                "HKEY_USERS\\S\\ConnectionsDefaultConnectionSettings",
                Some("DefaultConnectionSettings")
            ),
            (
                "HKEY_USERS\\S\\Connections".into(),
                "DefaultConnectionSettings".into()
            )
        );
        assert_eq!(
            split_key_and_name("HKEY_USERS\\A  User Agent", None),
            ("HKEY_USERS\\A".into(), "User Agent".into())
        );
    }

    #[test]
    fn bad_hex_in_a_wrapped_row_points_at_its_physical_line() {
        // Screenshot transcript at 80 columns: the bad digit is on the third row.
        let line = format!(
            "< Value: {CU}  DefaultConnectionSettings REG_BINARY {}",
            "46".repeat(60)
        );
        let mut rows: Vec<String> = line
            .as_bytes()
            .chunks(80)
            .map(|c| String::from_utf8_lossy(c).trim_end().to_string())
            .collect();
        rows[2].replace_range(10..11, "x");
        let text = rows.join("\r\n") + "\r\n\r\nResult Compared:  Different\r\n";
        let (c, d) = parse(&text, "");
        assert_eq!(c.entries.len(), 1);
        assert!(c.entries[0].truncated);
        let bad = d.iter().find(|d| d.code == "bad-value-data").unwrap();
        assert_eq!((bad.line, bad.column), (3, 11));
    }

    #[test]
    fn value_lines_after_a_finished_run_start_a_new_comparison() {
        let t = format!(
            "< Value: {CU}  A REG_DWORD 0x1\n\nResult Compared:  Different\nThe operation completed successfully.\n\nResult Compared:  Identical\nThe operation completed successfully.\n"
        );
        let (c, _) = parse(&t, "");
        let r: Vec<_> = c.comparisons.iter().map(|c| (c.result, c.line)).collect();
        assert_eq!(
            r,
            vec![
                (Some(CompareResult::Different), 1),
                (Some(CompareResult::Identical), 6)
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
            let _ = parse(&s, "");
            let _ = crate::formats::reg_query::parse(&s, "");
            let _ = crate::formats::netsh::parse(&s, "");
            let _ = crate::formats::probe_capture::parse(&s, "");
        }

        #[test]
        fn shaped_lines_never_panic(
            side in "[<>= ]", body in "[ -~\\u{e9}\\u{3042}]{0,120}", ty in "(REG_BINARY|REG_DWORD|REG_MULTI_SZ|REG_SZ|REG_)",
            data in "[0-9A-Fa-fxX\\\\ ]{0,90}"
        ) {
            let line = format!("{side} Value: HKCU\\{body}  N {ty} {data}\r\n    N    {ty}    {data}\n{{70, 0{data}...}}\n");
            let _ = parse(&line, "");
            let _ = crate::formats::reg_query::parse(&line, "");
        }
    }

    #[test]
    fn bad_hex_has_line_and_column() {
        let t = format!("< Value: {CU}  X REG_BINARY 46000Z00\n");
        let (c, d) = parse(&t, "");
        assert!(c.entries[0].truncated);
        assert_eq!(c.entries[0].bytes, vec![0x46, 0]);
        let bad = d.iter().find(|d| d.code == "bad-value-data").unwrap();
        let col = t.find('Z').unwrap() + 1;
        assert_eq!((bad.line, bad.column as usize), (1, col));
    }
}
