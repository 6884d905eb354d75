//! `reg query` console output (and PowerShell `Get-ItemProperty` output, which answers the same
//! question), decoded into keys and values shaped like a `.reg` export. Also home of
//! [`printed_to_bytes`], which rebuilds the registry bytes from reg.exe's printed data
//! (`reg compare` prints data the same way).

use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};
use crate::formats::powershell::{self, LogicalLine};
use crate::formats::probe_capture::{ProbeObservation, ProbeScanner};
use crate::formats::reg_exe::messages::{self, ErrorKind, Message};
use crate::formats::reg_exe::printed::shorten;
pub use crate::formats::reg_exe::printed::{
    find_type_token, is_default_name, printed_to_bytes, PrintedValue, MAX_VALUE_BYTES,
};
use crate::registry::{self, KeyPath, ValueType};

/// A `reg query` / `Get-ItemProperty` capture.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegQueryCapture {
    /// The keys printed, in order (the same key may appear twice in a capture of two runs).
    pub keys: Vec<QueryKey>,
    /// `End of search: N match(es) found.` when printed.
    pub match_count: Option<u64>,
    /// A reg.exe error printed instead of (or after) the output: `not_found` etc.
    pub error_kind: Option<ErrorKind>,
    /// Language of the localised lines, or null when none appear.
    pub language: Option<String>,
    /// Echoed commands (`reg query …`, `Get-ItemProperty …`) with their line.
    pub commands: Vec<EchoedCommand>,
    /// Captured 503-test lines pasted into the same file.
    pub probe_observations: Vec<ProbeObservation>,
}

/// A command echoed after a prompt.
#[derive(Debug, Clone, Serialize)]
pub struct EchoedCommand {
    pub command: String,
    pub line: u64,
}

/// One key line with the values printed under it.
#[derive(Debug, Clone, Serialize)]
pub struct QueryKey {
    /// Root spelled out, rest as printed (`""` when a PowerShell table gave no path).
    pub path: String,
    pub line: u64,
    /// Always false (kept so the shape matches `reg-export` keys).
    pub delete: bool,
    /// True when the key was printed only as a subkey of the queried key (its values not shown).
    pub listed_only: bool,
    pub values: Vec<QueryValue>,
}

/// One printed value.
#[derive(Debug, Clone)]
pub struct QueryValue {
    /// `""` for `(Default)` and its translations.
    pub name: String,
    /// JSON `type`.
    pub value_type: ValueType,
    pub type_code: u32,
    /// The bytes the registry holds, rebuilt from the printed data; `None` when unreadable.
    /// JSON `data_hex`.
    pub bytes: Option<Vec<u8>>,
    /// The printed form (`"0x1"`, the string, the list of strings; null for binary).
    pub data: serde_json::Value,
    pub line: u64,
    /// The bytes are only the start of the value (PowerShell `{70, 0, 0, 0...}`, bad hex, cap).
    pub truncated: bool,
    /// The type was guessed from a PowerShell cell (PowerShell does not print types).
    pub type_inferred: bool,
}

impl Serialize for QueryValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // Credentials in string values never reach output (the library keeps the real bytes).
        let hidden = self
            .bytes
            .as_deref()
            .and_then(|b| registry::redacted_string_bytes(self.value_type, b));
        let mut st = s.serialize_struct("QueryValue", 9)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("type", &self.value_type)?;
        st.serialize_field("type_code", &self.type_code)?;
        match &hidden {
            Some(h) => {
                st.serialize_field("data_hex", &registry::hex_lower(h))?;
                st.serialize_field("data", &registry::decoded_data(self.value_type, h))?;
            }
            None => {
                st.serialize_field("data_hex", &self.bytes.as_deref().map(registry::hex_lower))?;
                st.serialize_field("data", &self.data)?;
            }
        }
        st.serialize_field("line", &self.line)?;
        st.serialize_field("truncated", &self.truncated)?;
        if self.type_inferred {
            st.serialize_field("type_inferred", &true)?;
        }
        if hidden.is_some() {
            st.serialize_field("redacted", &true)?;
        }
        st.end()
    }
}

/// Parses a `reg query` or `Get-ItemProperty` capture.
pub fn parse(text: &str, file_name: &str) -> (RegQueryCapture, Vec<Diagnostic>) {
    let _ = file_name;
    let mut p = QueryParser::default();
    let lines = powershell::logical_lines(text, can_continue, starts_shape);
    let mut i = 0;
    while let Some(ll) = lines.get(i) {
        i += 1;
        p.line(ll, lines.get(i));
    }
    p.finish()
}

fn can_continue(row: &str) -> bool {
    (row.starts_with(' ') && find_type_token(row).is_some())
        || row.starts_with("HKEY_")
        || messages::has_error_prefix(row)
}

fn starts_shape(row: &str) -> bool {
    row.starts_with("    ")
        || row.starts_with('\t')
        || row.starts_with("HKEY_")
        || powershell::strip_prompt(row).is_some()
        || row.to_ascii_lowercase().starts_with("end of search")
        || messages::classify(row).is_some()
}

/// A live `Format-Table` layout: property names and their column ranges.
type PsTable = (Vec<String>, Vec<(usize, usize)>);

#[derive(Default)]
struct QueryParser {
    out: RegQueryCapture,
    diags: Diagnostics,
    probes: ProbeScanner,
    /// A `reg query` command without `/s` was echoed: later key lines are a subkey listing.
    listing_after_values: bool,
    /// PowerShell context: the key path named by the last `Get-ItemProperty` command.
    ps_key: Option<String>,
    ps_mode: bool,
    /// Table header names waiting for their underline, and the live column layout.
    table_header: Option<(u64, String)>,
    table: Option<PsTable>,
    /// A blank line was seen since the last key line.
    blank_since_key: bool,
}

impl QueryParser {
    fn line(&mut self, ll: &LogicalLine<'_>, next: Option<&LogicalLine<'_>>) {
        let raw: &str = &ll.text;
        let t = raw.trim_end();
        if self.probes.feed(ll.line, t) {
            return;
        }
        if t.trim().is_empty() {
            self.blank_since_key = true;
            self.table = None;
            return;
        }
        if let Some(cmd) = powershell::strip_prompt(t) {
            self.command(ll.line, cmd);
            return;
        }
        let lower_start = t.trim_start().to_ascii_lowercase();
        if lower_start.starts_with("reg query") || lower_start.starts_with("reg.exe query") {
            self.command(ll.line, t.trim());
            return;
        }
        if powershell::is_ps_error_noise(t) || powershell::is_console_banner(t) {
            return;
        }
        let t = powershell::strip_native_prefix(t);
        if let Some(end) = end_of_search(t) {
            self.out.match_count = end;
            return;
        }
        if let Some(loc) = messages::classify(t) {
            self.set_language(loc.language);
            match loc.message {
                Message::Error(kind) => {
                    if self.out.error_kind.is_none() {
                        self.out.error_kind = Some(kind);
                    }
                }
                Message::Usage => {
                    if matches!(self.out.error_kind, None | Some(ErrorKind::Other)) {
                        self.out.error_kind = Some(ErrorKind::InvalidSyntax);
                    }
                }
                Message::Success | Message::Result(_) => {}
            }
            return;
        }
        if !raw.starts_with([' ', '\t']) {
            if let Some(k) = KeyPath::parse(t.trim()) {
                if t.starts_with("HKEY_") || t.starts_with("HK") && !t.contains(' ') {
                    self.key_line(ll.line, k, next);
                    return;
                }
            }
        }
        if raw.starts_with([' ', '\t']) {
            if let Some((start, end, ty)) = find_type_token(t) {
                self.value_line(ll, t, start, end, ty);
                return;
            }
        }
        if self.powershell_line(ll.line, t) {
            return;
        }
        self.diags.push(Diagnostic::info(
            ll.line,
            1,
            "unrecognised-line",
            format!(
                "expected a key line, an indented `name    REG_TYPE    data` line or a blank line; found {:?}",
                shorten(t.trim())
            ),
        ));
    }

    fn set_language(&mut self, lang: Option<&'static str>) {
        if self.out.language.is_none() {
            self.out.language = lang.map(str::to_string);
        }
    }

    fn command(&mut self, line: u64, cmd: &str) {
        let lower = cmd.to_ascii_lowercase();
        self.out.commands.push(EchoedCommand {
            command: cmd.to_string(),
            line,
        });
        self.table = None;
        self.table_header = None;
        if lower.starts_with("reg query") || lower.starts_with("reg.exe query") {
            let args = powershell::split_args(cmd);
            self.listing_after_values = !args.iter().any(|a| a.eq_ignore_ascii_case("/s"));
            self.ps_mode = false;
        } else if lower.starts_with("get-itemproperty") || lower.starts_with("gp ") {
            self.ps_mode = true;
            self.ps_key = powershell::split_args(cmd)
                .iter()
                .skip(1)
                .filter(|a| !a.starts_with('-'))
                .find_map(|a| powershell::ps_path_to_key(a));
            if self.ps_key.is_some() {
                self.open_ps_key(line);
            }
        }
    }

    fn open_ps_key(&mut self, line: u64) {
        let path = self.ps_key.clone().unwrap_or_default();
        self.out.keys.push(QueryKey {
            path,
            line,
            delete: false,
            listed_only: false,
            values: Vec::new(),
        });
    }

    fn key_line(&mut self, line: u64, k: KeyPath, next: Option<&LogicalLine<'_>>) {
        let next_is_key = next.is_some_and(|n| n.text.starts_with("HKEY_"));
        let prev_listed = self.out.keys.last().is_some_and(|k| k.listed_only);
        let prev_had_values = self.out.keys.last().is_some_and(|k| !k.values.is_empty());
        let prev_key_directly = self.out.keys.last().is_some() && !self.blank_since_key;
        // Without /s, reg query lists subkeys as bare key lines after the values.
        let listed_only = prev_listed
            || prev_key_directly
            || (next_is_key && !self.out.keys.is_empty())
            || (self.listing_after_values && prev_had_values && self.blank_since_key);
        if listed_only && prev_key_directly {
            let several = self.out.keys.len() > 1;
            if let Some(prev) = self.out.keys.last_mut() {
                if prev.values.is_empty() && several {
                    prev.listed_only = true;
                }
            }
        }
        self.out.keys.push(QueryKey {
            path: k.full(),
            line,
            delete: false,
            listed_only,
            values: Vec::new(),
        });
        self.blank_since_key = false;
        self.ps_mode = false;
    }

    fn value_line(
        &mut self,
        ll: &LogicalLine<'_>,
        t: &str,
        start: usize,
        end: usize,
        ty: ValueType,
    ) {
        let raw_name = t.get(..start).unwrap_or("").trim();
        let name = match is_default_name(raw_name) {
            Some(lang) => {
                if raw_name != "(Default)" {
                    self.set_language(lang);
                }
                String::new()
            }
            None => raw_name.to_string(),
        };
        // reg query separates the type and the data by four blanks (a tab in older builds).
        let after = t.get(end..).unwrap_or("");
        let data_start = end + leading_separator(after);
        let printed = t.get(data_start..).unwrap_or("");
        let printed = if ty.is_string() {
            printed
        } else {
            printed.trim_end()
        };
        let pv = printed_to_bytes(ty, printed);
        if let Some((off, msg)) = &pv.problem {
            let (line, col) = ll.position(data_start + off);
            self.diags.push(Diagnostic::warning(
                line,
                col,
                "bad-value-data",
                msg.clone(),
            ));
        }
        if self.out.keys.is_empty() {
            self.diags.push(Diagnostic::warning(
                ll.line,
                1,
                "value-without-key",
                "a value line before any key line; the key is unknown",
            ));
            self.out.keys.push(QueryKey {
                path: String::new(),
                line: ll.line,
                delete: false,
                listed_only: false,
                values: Vec::new(),
            });
        }
        let value = QueryValue {
            name,
            value_type: ty,
            type_code: ty.0,
            bytes: Some(pv.bytes),
            data: pv.data,
            line: ll.line,
            truncated: pv.truncated,
            type_inferred: false,
        };
        if let Some(k) = self.out.keys.last_mut() {
            k.values.push(value);
        }
    }

    /// `Get-ItemProperty` output in list (`Name : value`) or table form. True when consumed.
    fn powershell_line(&mut self, line: u64, t: &str) -> bool {
        if let Some(cols) = powershell::table_columns(t) {
            if let Some((_, header)) = self.table_header.take() {
                let names = cols
                    .iter()
                    .enumerate()
                    .map(|(i, _)| powershell::table_cell(&header, &cols, i).to_string())
                    .collect();
                self.table = Some((names, cols));
                if self.ps_key.is_none() && !self.ps_mode {
                    self.ps_mode = true;
                }
                return true;
            }
        }
        if let Some((names, cols)) = self.table.clone() {
            if self.out.keys.is_empty() || !self.ps_mode {
                self.open_ps_key(line);
                self.ps_mode = true;
            }
            for (i, name) in names.iter().enumerate() {
                let cell = powershell::table_cell(t, &cols, i);
                self.ps_value(line, name, cell);
            }
            return true;
        }
        if let Some((name, value)) = powershell::split_list_row(t) {
            if !self.ps_mode
                && !value.starts_with('{')
                && !powershell::is_ps_provider_property(name)
            {
                return false;
            }
            if !self.ps_mode {
                self.ps_mode = true;
                self.open_ps_key(line);
            }
            if name == "PSPath" {
                if let (Some(path), Some(k)) =
                    (powershell::ps_path_to_key(value), self.out.keys.last_mut())
                {
                    if k.path.is_empty() {
                        k.path = path;
                    }
                }
                return true;
            }
            if powershell::is_ps_provider_property(name) {
                return true;
            }
            if self.out.keys.is_empty() {
                self.open_ps_key(line);
            }
            self.ps_value(line, name, value);
            return true;
        }
        // A table header: one or more property names, the underline follows.
        if !t.starts_with(' ') && t.len() < 1024 && !t.contains(':') {
            self.table_header = Some((line, t.to_string()));
            return true;
        }
        false
    }

    fn ps_value(&mut self, line: u64, name: &str, cell: &str) {
        use serde_json::Value;
        if powershell::is_ps_provider_property(name) {
            if name == "PSPath" {
                if let (Some(p), Some(k)) =
                    (powershell::ps_path_to_key(cell), self.out.keys.last_mut())
                {
                    if k.path.is_empty() {
                        k.path = p;
                    }
                }
            }
            return;
        }
        let (ty, bytes, data, truncated) = if let Some(list) = powershell::parse_byte_list(cell) {
            if let Some(at) = list.bad_at {
                self.diags.push(Diagnostic::warning(
                    line,
                    u32::try_from(at + 1).unwrap_or(u32::MAX),
                    "bad-value-data",
                    "expected a decimal byte (0-255) in the PowerShell list; the value is cut here",
                ));
            }
            if list.truncated {
                self.diags.push(Diagnostic::warning(
                    line,
                    1,
                    "value-truncated",
                    format!(
                        "PowerShell showed only the first {} bytes of {name} ($FormatEnumerationLimit); ask for `reg query` output",
                        list.bytes.len()
                    ),
                ));
            }
            (ValueType::BINARY, list.bytes, Value::Null, list.truncated)
        } else if let Ok(n) = cell.parse::<u32>() {
            (
                ValueType::DWORD,
                n.to_le_bytes().to_vec(),
                Value::String(format!("0x{n:x}")),
                false,
            )
        } else {
            let b = registry::utf16le_with_nul(cell);
            (ValueType::SZ, b, Value::String(cell.to_string()), false)
        };
        if let Some(k) = self.out.keys.last_mut() {
            k.values.push(QueryValue {
                name: name.to_string(),
                value_type: ty,
                type_code: ty.0,
                bytes: Some(bytes),
                data,
                line,
                truncated,
                type_inferred: true,
            });
        }
    }

    fn finish(mut self) -> (RegQueryCapture, Vec<Diagnostic>) {
        self.out.probe_observations = self.probes.finish();
        for k in self.out.keys.iter().filter(|k| k.path.is_empty()) {
            self.diags.push(Diagnostic::info(
                k.line,
                1,
                "key-unknown",
                "the capture does not say which key these values belong to (no key line, PSPath or command)",
            ));
        }
        if self.out.keys.is_empty() && self.out.error_kind.is_none() {
            self.diags.push(Diagnostic::warning(
                1,
                1,
                "no-keys",
                "no key line was found in this reg query capture",
            ));
        }
        (self.out, self.diags.into_vec())
    }
}

/// Length of the blank run between the type token and the data (at most four blanks or a tab).
fn leading_separator(after: &str) -> usize {
    if after.starts_with('\t') {
        return 1;
    }
    after.bytes().take(4).take_while(|b| *b == b' ').count()
}

/// `End of search: 2 match(es) found.` (and the German form); the count when readable.
fn end_of_search(t: &str) -> Option<Option<u64>> {
    let lower = t.trim().to_lowercase();
    if !(lower.starts_with("end of search:") || lower.starts_with("suche beendet:")) {
        return None;
    }
    Some(
        lower
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|s| s.parse().ok()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_forms_rebuild_registry_bytes() {
        let d = printed_to_bytes(ValueType::DWORD, "0x1");
        assert_eq!(d.bytes, vec![1, 0, 0, 0]);
        assert_eq!(d.data, serde_json::json!("0x1"));
        assert_eq!(
            printed_to_bytes(ValueType::QWORD, "0x1d5").bytes,
            vec![0xd5, 1, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            registry::hex_lower(&printed_to_bytes(ValueType::MULTI_SZ, "a\\0b").bytes),
            "61000000620000000000"
        );
        assert_eq!(
            registry::hex_lower(&printed_to_bytes(ValueType::SZ, "t").bytes),
            "74000000"
        );
        let b = printed_to_bytes(ValueType::BINARY, "4600000A");
        assert_eq!((b.bytes, b.truncated), (vec![0x46, 0, 0, 0x0a], false));
        let bad = printed_to_bytes(ValueType::BINARY, "46000");
        assert_eq!((bad.bytes.clone(), bad.truncated), (vec![0x46, 0], true));
        assert_eq!(bad.problem.map(|p| p.0), Some(4));
        let bad = printed_to_bytes(ValueType::BINARY, "46G0");
        assert_eq!((bad.bytes, bad.problem.map(|p| p.0)), (vec![0x46], Some(2)));
        assert!(printed_to_bytes(ValueType::DWORD, "0x1ffffffff").truncated);
    }

    #[test]
    fn single_key_with_default_and_empty_data() {
        let t = "\r\nHKEY_CURRENT_USER\\Software\\X\r\n    (Standard)    REG_SZ    \r\n    User Agent    REG_SZ    Mozilla/4.0 (compatible)\r\n    ProxyEnable    REG_DWORD    0x1\r\n    Empty    REG_SZ\r\n\r\n";
        let (c, d) = parse(t, "");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.language.as_deref(), Some("de"));
        let k = &c.keys[0];
        assert_eq!(
            (k.path.as_str(), k.line),
            ("HKEY_CURRENT_USER\\Software\\X", 2)
        );
        let names: Vec<_> = k.values.iter().map(|v| (v.name.as_str(), v.line)).collect();
        assert_eq!(
            names,
            vec![("", 3), ("User Agent", 4), ("ProxyEnable", 5), ("Empty", 6)]
        );
        assert_eq!(
            k.values[1].data,
            serde_json::json!("Mozilla/4.0 (compatible)")
        );
        assert_eq!(k.values[2].bytes, Some(vec![1, 0, 0, 0]));
        assert_eq!(k.values[3].bytes, Some(vec![0, 0]));
    }

    #[test]
    fn subkey_listing_and_end_of_search() {
        let t = "\nHKEY_CURRENT_USER\\A\n    V    REG_DWORD    0x2\n\nHKEY_CURRENT_USER\\A\\B\nHKEY_CURRENT_USER\\A\\C\n\nEnd of search: 1 match(es) found.\n";
        let (c, _) = parse(t, "");
        let flags: Vec<_> = c.keys.iter().map(|k| k.listed_only).collect();
        assert_eq!(flags, vec![false, true, true]);
        assert_eq!(c.match_count, Some(1));
    }

    #[test]
    fn get_itemproperty_list_is_truncated_not_a_blob() {
        let t = "DefaultConnectionSettings : {70, 0, 0, 0...}\r\nPSPath                    : Microsoft.PowerShell.Core\\Registry::HKEY_USERS\\S-1-5-18\\Conn\r\n";
        let (c, d) = parse(t, "");
        let k = &c.keys[0];
        assert_eq!(k.path, "HKEY_USERS\\S-1-5-18\\Conn");
        assert_eq!(k.values[0].bytes, Some(vec![70, 0, 0, 0]));
        assert!(k.values[0].truncated);
        assert_eq!(d[0].code, "value-truncated");
    }
}
