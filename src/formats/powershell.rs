//! Helpers shared by the console-capture parsers: rejoining lines hard-wrapped by a screenshot
//! transcript, prompts and echoed commands, the Windows PowerShell 5.1 error wrapper around
//! native stderr, and `Get-ItemProperty` output (whose byte arrays PowerShell cuts).

use std::borrow::Cow;

use crate::text;

/// Console widths customers' windows wrap at (conhost defaults and common settings).
pub const WRAP_WIDTHS: [usize; 3] = [80, 100, 120];
/// A wrapped row is at least this long; shorter rows are never joined to the next one.
const MIN_WRAPPED_ROW: usize = 60;

/// One logical line: a physical line, or several rows of one hard-wrapped line joined back.
#[derive(Debug, Clone)]
pub struct LogicalLine<'a> {
    /// 1-based physical line number of the first row.
    pub line: u64,
    /// The text, rows joined (padded back to the wrap width when trailing blanks were lost).
    pub text: Cow<'a, str>,
    /// For joined lines: byte offset in `text` where each further row starts, and its line.
    pub rows: Vec<(usize, u64)>,
}

impl LogicalLine<'_> {
    /// The physical line and 1-based character column of a byte offset in `text`.
    pub fn position(&self, byte_offset: usize) -> (u64, u32) {
        let (start, line) = self
            .rows
            .iter()
            .rev()
            .find(|(off, _)| *off <= byte_offset)
            .copied()
            .unwrap_or((0, self.line));
        let col = self
            .text
            .get(start..byte_offset)
            .map_or(0, |s| s.chars().count());
        (line, u32::try_from(col + 1).unwrap_or(u32::MAX))
    }

    /// The physical line the text ends on.
    pub fn last_line(&self) -> u64 {
        self.rows.last().map_or(self.line, |(_, l)| *l)
    }
}

/// Splits `text` into logical lines. A row is joined to the next one when `can_continue(row)`
/// says it may be wrapped (a value line, an error line), the row is about as long as a console
/// window, and the next row is not blank and does not `starts_shape`. Rows shorter than the
/// wrap width get back the blanks a transcript dropped at the window edge.
pub fn logical_lines<'a>(
    text: &'a str,
    can_continue: impl Fn(&str) -> bool,
    starts_shape: impl Fn(&str) -> bool,
) -> Vec<LogicalLine<'a>> {
    let rows: Vec<(u64, &str)> = text::lines(text.trim_start_matches('\u{feff}')).collect();
    // Pass 1: which rows continue onto the next, and the widest continued row.
    let mut joins = vec![false; rows.len()];
    let mut widest = 0usize;
    let mut in_wrapped = false;
    for i in 0..rows.len() {
        let Some((_, row)) = rows.get(i) else { break };
        let next = rows.get(i + 1).map(|(_, r)| *r);
        let width = row_width(row);
        // The cheap width test first: most rows are too short or too long to be wrapped.
        let joined = (MIN_WRAPPED_ROW..=WRAP_WIDTHS[2]).contains(&width)
            && (in_wrapped || can_continue(row))
            && next.is_some_and(|n| !n.trim().is_empty() && !starts_shape(n));
        if let Some(j) = joins.get_mut(i) {
            *j = joined;
        }
        if joined {
            widest = widest.max(width);
        }
        in_wrapped = joined;
    }
    let wrap = WRAP_WIDTHS.iter().copied().find(|w| *w >= widest);
    // Pass 2: build the logical lines.
    let mut out = Vec::with_capacity(rows.len());
    let mut i = 0;
    while let Some((number, row)) = rows.get(i).copied() {
        if !joins.get(i).copied().unwrap_or(false) {
            out.push(LogicalLine {
                line: number,
                text: Cow::Borrowed(row),
                rows: Vec::new(),
            });
            i += 1;
            continue;
        }
        let mut s = String::with_capacity(row.len() * 2);
        let mut parts = Vec::new();
        let mut cur = row;
        loop {
            s.push_str(cur);
            let continues = joins.get(i).copied().unwrap_or(false);
            if !continues {
                break;
            }
            match wrap {
                Some(w) => {
                    for _ in row_width(cur)..w {
                        s.push(' ');
                    }
                }
                None => s.push(' '),
            }
            i += 1;
            match rows.get(i) {
                Some((n, r)) => {
                    parts.push((s.len(), *n));
                    cur = r;
                }
                None => break,
            }
        }
        out.push(LogicalLine {
            line: number,
            text: Cow::Owned(s),
            rows: parts,
        });
        i += 1;
    }
    out
}

/// Character width of a row (bounded work: rows longer than a console are not counted exactly).
fn row_width(row: &str) -> usize {
    if row.len() > WRAP_WIDTHS[2] * 4 {
        row.len()
    } else {
        row.chars().count()
    }
}

/// Splits a console prompt from the command typed after it:
/// `C:\Users\me>reg compare …`, `PS C:\> reg compare …`, `PS HKCU:\> …`, `PS> …`. `None` when no prompt.
pub fn strip_prompt(line: &str) -> Option<&str> {
    let s = line.trim_start();
    // The bare prompt of `function prompt { 'PS> ' }` and of pasted examples.
    if let Some(rest) = s.strip_prefix("PS>") {
        return Some(rest.trim());
    }
    let s = s.strip_prefix("PS ").unwrap_or(s);
    let b = s.as_bytes();
    let drive = b.first().is_some_and(u8::is_ascii_alphabetic) && b.get(1) == Some(&b':');
    // A PowerShell drive (`HKLM:\`): letters and digits, then `:\`. Only the head of the
    // line is examined, not the whole (possibly long) line.
    let ps_drive = b
        .iter()
        .position(|c| !c.is_ascii_alphanumeric())
        .is_some_and(|i| i > 0 && b.get(i..i + 2) == Some(b":\\".as_slice()));
    if !(drive || ps_drive) {
        return None;
    }
    let gt = s.find('>')?;
    // The prompt is a path: no quotes or spaces before the '>' except inside folder names.
    let path = s.get(..gt)?;
    if path.contains('"') || path.contains('|') {
        return None;
    }
    Some(s.get(gt + 1..)?.trim())
}

/// True for the lines Windows PowerShell 5.1 wraps around a native command's stderr
/// (`At line:1 char:1`, `+ reg compare …`, `+ ~~~~`, `+ CategoryInfo …`, and their
/// German, French, Spanish and Japanese forms).
pub fn is_ps_error_noise(line: &str) -> bool {
    let s = line.trim();
    if s.starts_with("+ ") || s == "+" || s.starts_with("+~") {
        return true;
    }
    if s.starts_with("発生場所 行:") {
        return true;
    }
    // Every other form starts with a, i, e or + once lowercased; most lines stop here
    // without allocating.
    if !matches!(
        s.bytes().next().map(|b| b.to_ascii_lowercase()),
        Some(b'a' | b'i' | b'e' | b'+')
    ) {
        return false;
    }
    let lower = s.to_lowercase();
    (lower.starts_with("at line:") && lower.contains("char:"))
        || (lower.starts_with("in zeile:") && lower.contains("zeichen:"))
        || lower.starts_with("au caractère ")
        || (lower.starts_with("en línea:") && lower.contains("carácter:"))
        || lower.starts_with("+ categoryinfo")
        || lower.starts_with("+ fullyqualifiederrorid")
}

/// The banner a new console prints (`Microsoft Windows [Version …]`, `(c) Microsoft
/// Corporation…`, `Windows PowerShell`, `Copyright (C) Microsoft…`, transcript headers).
pub fn is_console_banner(line: &str) -> bool {
    let s = line.trim();
    s.starts_with("Microsoft Windows [")
        || s == "Windows PowerShell"
        || (s.contains("Microsoft Corporation")
            && (s.starts_with("(c)") || s.starts_with("Copyright")))
        || s.starts_with("Try the new cross-platform PowerShell")
        || (s.len() >= 10 && s.bytes().all(|b| b == b'*'))
        || s.starts_with("Windows PowerShell transcript")
}

/// Removes PowerShell 5.1's `reg : ` / `netsh.exe : ` prefix from a native stderr line.
pub fn strip_native_prefix(line: &str) -> &str {
    let s = line.trim_start();
    for prefix in ["reg.exe : ", "reg : ", "netsh.exe : ", "netsh : "] {
        if let Some(head) = s.get(..prefix.len()) {
            if head.eq_ignore_ascii_case(prefix) {
                return s.get(prefix.len()..).unwrap_or("");
            }
        }
    }
    s
}

/// Splits a command line into arguments the way cmd.exe passes them to reg.exe
/// (double quotes group, and are removed).
pub fn split_args(command: &str) -> Vec<String> {
    use nom::branch::alt;
    use nom::bytes::complete::{is_not, take_till};
    use nom::character::complete::{char, multispace0};
    use nom::multi::many0;
    use nom::sequence::{delimited, preceded};
    use nom::IResult;

    fn quoted(i: &str) -> IResult<&str, &str> {
        delimited(
            char('"'),
            take_till(|c| c == '"'),
            nom::combinator::opt(char('"')),
        )(i)
    }
    fn bare(i: &str) -> IResult<&str, &str> {
        is_not(" \t\"")(i)
    }
    fn arg(i: &str) -> IResult<&str, String> {
        // An argument is a run of quoted and bare pieces: `"HKCU\A B"\C` is one argument.
        let (rest, pieces) = nom::multi::many1(alt((quoted, bare)))(i)?;
        Ok((rest, pieces.concat()))
    }
    let parsed: IResult<&str, Vec<String>> = many0(preceded(multispace0, arg))(command);
    match parsed {
        Ok((_, args)) => args,
        Err(_) => Vec::new(),
    }
}

/// Turns a PowerShell registry path into a key path with the root spelled out:
/// `HKCU:\Software\…`, `Registry::HKEY_USERS\…`,
/// `Microsoft.PowerShell.Core\Registry::HKEY_CURRENT_USER\…`.
pub fn ps_path_to_key(path: &str) -> Option<String> {
    let p = path.trim().trim_matches(|c| c == '"' || c == '\'');
    let p = match p.find("::") {
        Some(i) => p.get(i + 2..)?,
        None => p,
    };
    let p = match p.split_once(":\\") {
        Some((drive, rest)) => format!("{drive}\\{rest}"),
        None => p.trim_end_matches(':').to_string(),
    };
    crate::registry::KeyPath::parse(&p).map(|k| k.full())
}

/// A PowerShell cell that shows a byte array: `{70, 0, 0, 0...}` (5.1) or `{70, 0, 0, 0…}` (7),
/// or the full `{70, 0, 0, 0, 3, …}` when `$FormatEnumerationLimit` was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsByteList {
    /// The bytes shown.
    pub bytes: Vec<u8>,
    /// PowerShell cut the list (`...` / `…`): the bytes are only the start of the value.
    pub truncated: bool,
    /// Byte offset (in the cell text) of the first element that is not a byte, if any.
    pub bad_at: Option<usize>,
}

/// Parses `{70, 0, 0, 0...}`; `None` when the text is not a brace list.
pub fn parse_byte_list(cell: &str) -> Option<PsByteList> {
    let s = cell.trim();
    let inner = s.strip_prefix('{')?;
    let (inner, closed) = match inner.strip_suffix('}') {
        Some(i) => (i, true),
        None => (inner, false),
    };
    let base = s.len() - s.trim_start_matches('{').len();
    let mut truncated = !closed;
    let mut bytes = Vec::new();
    let mut bad_at = None;
    let mut offset = base;
    for item in inner.split(',') {
        let t = item.trim();
        let (num, cut) = if let Some(n) = t.strip_suffix("...") {
            (n.trim(), true)
        } else if let Some(n) = t.strip_suffix('…') {
            (n.trim(), true)
        } else {
            (t, false)
        };
        truncated |= cut;
        if !num.is_empty() || !cut {
            match num.parse::<u8>() {
                Ok(b) => bytes.push(b),
                Err(_) => {
                    if bad_at.is_none() {
                        bad_at = Some(offset + item.len() - item.trim_start().len());
                    }
                    truncated = true;
                    break;
                }
            }
        }
        offset += item.len() + 1;
        if cut {
            break;
        }
    }
    if inner.trim().is_empty() && closed {
        bytes.clear();
    }
    Some(PsByteList {
        bytes,
        truncated,
        bad_at,
    })
}

/// PowerShell's own provider properties of `Get-ItemProperty` output (not registry values).
pub fn is_ps_provider_property(name: &str) -> bool {
    matches!(
        name,
        "PSPath" | "PSParentPath" | "PSChildName" | "PSDrive" | "PSProvider"
    )
}

/// Splits a `Format-List` row `Name   : value` into name and value.
pub fn split_list_row(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(" : ").or_else(|| {
        line.strip_suffix(" :")
            .map(|n| (n, ""))
            .or_else(|| line.split_once(": "))
    })?;
    let name = name.trim();
    if name.is_empty() || name.len() > 260 || name.contains('\\') || name.starts_with('{') {
        return None;
    }
    Some((name, value.trim()))
}

/// Column ranges of a `Format-Table` header underline (`----  -----`).
pub fn table_columns(underline: &str) -> Option<Vec<(usize, usize)>> {
    let t = underline.trim_end();
    if t.is_empty() || !t.bytes().all(|b| b == b'-' || b == b' ') || !t.contains("--") {
        return None;
    }
    let mut cols = Vec::new();
    let mut start = None;
    for (i, b) in t.bytes().enumerate() {
        match (b, start) {
            (b'-', None) => start = Some(i),
            (b' ', Some(s)) => {
                cols.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        cols.push((s, t.len()));
    }
    Some(cols)
}

/// The cell of a `Format-Table` row under column `i` of `cols` (the last column takes the rest).
pub fn table_cell<'a>(row: &'a str, cols: &[(usize, usize)], i: usize) -> &'a str {
    let Some((start, end)) = cols.get(i).copied() else {
        return "";
    };
    let end = if i + 1 == cols.len() { row.len() } else { end };
    let start = floor_char(row, start.min(row.len()));
    let end = floor_char(row, end.min(row.len()));
    row.get(start..end).unwrap_or("").trim()
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts() {
        assert_eq!(
            strip_prompt("C:\\Users\\admin>reg compare a b"),
            Some("reg compare a b")
        );
        assert_eq!(
            strip_prompt("PS C:\\> Get-ItemProperty x"),
            Some("Get-ItemProperty x")
        );
        assert_eq!(strip_prompt("PS HKCU:\\Software> dir"), Some("dir"));
        assert_eq!(strip_prompt("< Value: HKEY_CURRENT_USER\\x"), None);
    }

    #[test]
    fn args_follow_cmd_quoting() {
        let a = split_args(
            r#"reg compare "HKCU\Software\Internet Settings\Connections" HKU\S-1-5-18\X /v DefaultConnectionSettings"#,
        );
        assert_eq!(
            a,
            vec![
                "reg",
                "compare",
                "HKCU\\Software\\Internet Settings\\Connections",
                "HKU\\S-1-5-18\\X",
                "/v",
                "DefaultConnectionSettings"
            ]
        );
        assert_eq!(split_args("\"unclosed"), vec!["unclosed"]);
    }

    #[test]
    fn byte_lists() {
        let l = parse_byte_list("{70, 0, 0, 0...}").unwrap();
        assert_eq!((l.bytes, l.truncated), (vec![70, 0, 0, 0], true));
        let l = parse_byte_list("{70, 0, 0, 0…}").unwrap();
        assert_eq!((l.bytes, l.truncated), (vec![70, 0, 0, 0], true));
        let l = parse_byte_list("{70, 0, 3}").unwrap();
        assert_eq!((l.bytes, l.truncated), (vec![70, 0, 3], false));
        let l = parse_byte_list("{70, 300, 3}").unwrap();
        assert_eq!((l.bytes, l.truncated, l.bad_at), (vec![70], true, Some(5)));
        assert!(parse_byte_list("70").is_none());
    }

    #[test]
    fn ps_paths() {
        assert_eq!(
            ps_path_to_key("Microsoft.PowerShell.Core\\Registry::HKEY_USERS\\S-1-5-18\\X")
                .as_deref(),
            Some("HKEY_USERS\\S-1-5-18\\X")
        );
        assert_eq!(
            ps_path_to_key("\"HKCU:\\Software\\X\"").as_deref(),
            Some("HKEY_CURRENT_USER\\Software\\X")
        );
    }

    #[test]
    fn wrapped_rows_are_rejoined_with_their_lost_blanks() {
        // A 98-character row whose two separating blanks were lost at the window edge.
        let first = format!("< Value: {}", "K".repeat(89));
        assert_eq!(first.chars().count(), 98);
        let text =
            format!("{first}\r\nName REG_BINARY 4600\r\n\r\nResult Compared:  Different\r\n");
        let ls = logical_lines(&text, |r| r.starts_with("< "), |r| r.starts_with("Result"));
        assert_eq!(ls.len(), 3);
        assert_eq!(ls[0].text, format!("{first}  Name REG_BINARY 4600"));
        assert_eq!(ls[0].rows, vec![(100, 2)]);
        assert_eq!(ls[0].position(100), (2, 1));
        assert_eq!(ls[1].line, 3);
        assert_eq!(ls[2].line, 4);
    }

    #[test]
    fn noise_lines() {
        assert!(is_ps_error_noise("At line:1 char:1"));
        assert!(is_ps_error_noise(
            "    + CategoryInfo          : NotSpecified: (x:String) [], RemoteException"
        ));
        assert!(is_ps_error_noise("+ ~~~~~~~~~"));
        assert!(!is_ps_error_noise("< Value: x"));
        assert_eq!(strip_native_prefix("reg : ERROR: x"), "ERROR: x");
    }

    #[test]
    fn tables() {
        let cols = table_columns("-------------------------  ---").unwrap();
        assert_eq!(cols, vec![(0, 25), (27, 30)]);
        assert_eq!(
            table_cell("{70, 0, 0, 0...}           x", &cols, 0),
            "{70, 0, 0, 0...}"
        );
        assert_eq!(
            split_list_row("PSPath    : Microsoft"),
            Some(("PSPath", "Microsoft"))
        );
    }
}
