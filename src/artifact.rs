//! One upload from bytes to structure: sniff the encoding, detect the kind from content,
//! and hand the text to that kind's parser.

use std::io::{self, Cursor, Read};

use serde::Serialize;

use crate::detect::{self, Kind};
use crate::diag::Diagnostic;
use crate::formats::{
    netsh, pac_script, probe_capture, reg_compare, reg_export, reg_query, sensor_config, sensor_log,
};
use crate::text::{self, LegacyHint, TextEncoding, TextReader};

/// How many bytes are looked at to decide encoding and kind.
pub const SNIFF_BYTES: usize = 64 * 1024;
/// Largest non-streamed capture decoded whole (console captures, configuration files).
pub const MAX_WHOLE_TEXT: u64 = 64 * 1024 * 1024;

/// The parsed content of one artifact, by kind.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Content {
    RegExport(reg_export::RegExport),
    RegCompare(reg_compare::RegCompareCapture),
    RegQuery(reg_query::RegQueryCapture),
    Netsh(netsh::NetshCapture),
    SensorLog(sensor_log::SensorLog),
    SensorConfig(sensor_config::SensorConfig),
    ProbeCapture(probe_capture::ProbeCapture),
    /// A PAC script: entry points and size (never run by `parse`).
    PacScript(pac_script::PacScriptCapture),
    /// A binary hive or an unknown file: nothing but the shared fields.
    None {},
}

/// One parsed upload with the fields every kind shares.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub schema_version: u32,
    pub file: String,
    pub kind: Kind,
    pub encoding: Option<TextEncoding>,
    pub diagnostics: Vec<Diagnostic>,
    #[serde(flatten)]
    pub content: Content,
}

impl Artifact {
    /// True when the input was refused as a whole (an `error` diagnostic and no content).
    pub fn rejected(&self) -> bool {
        match &self.content {
            Content::RegExport(r) => {
                r.keys.is_empty() && self.diagnostics.iter().any(|d| d.code == "rejected-file")
            }
            _ => false,
        }
    }
}

/// The first bytes of an input, its encoding and kind, and a reader that replays them.
pub struct Sniffed<R> {
    pub encoding: TextEncoding,
    pub kind: Kind,
    pub reader: Cursor<Vec<u8>>,
    pub rest: R,
    pub empty: bool,
}

/// Reads the first [`SNIFF_BYTES`] and decides encoding and kind.
pub fn sniff<R: Read>(mut input: R) -> io::Result<Sniffed<R>> {
    // Grown as read: most uploads are a few KiB, and a fresh 64 KiB per file costs page faults.
    let mut prefix = Vec::new();
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)?;
    let eof = prefix.len() < SNIFF_BYTES;
    let empty = prefix.iter().all(|b| b.is_ascii_whitespace());
    if detect::is_hive(&prefix) {
        return Ok(Sniffed {
            encoding: TextEncoding::Windows1252,
            kind: Kind::Hive,
            reader: Cursor::new(prefix),
            rest: input,
            empty,
        });
    }
    let mut encoding = text::sniff(&prefix, eof, LegacyHint::Guess);
    let decoded = text::decode_as(&prefix, encoding);
    let kind = if empty {
        Kind::Unknown
    } else {
        detect::detect_text(&decoded.text)
    };
    if kind == Kind::RegExport && encoding.is_legacy() {
        // regedit reads 8-bit files in the ANSI code page.
        encoding = TextEncoding::Windows1252;
    }
    Ok(Sniffed {
        encoding,
        kind,
        reader: Cursor::new(prefix),
        rest: input,
        empty,
    })
}

/// Which keys of a `.reg` export to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (the `parse` command).
    Full,
    /// Only keys that carry proxy settings (the analyser), so huge exports stay cheap.
    ProxyRelevant,
}

/// True for the keys whose values the analyser needs.
pub fn proxy_relevant_key(path: &str) -> bool {
    // Case-insensitive `contains("\\internet settings")` etc., without allocating: this runs
    // for every key of huge exports.
    const NAMES: [&[u8]; 3] = [
        b"internet settings",
        b"azure advanced threat protection",
        b"winhttp",
    ];
    let b = path.as_bytes();
    memchr::memchr_iter(b'\\', b).any(|i| {
        let rest = b.get(i + 1..).unwrap_or(&[]);
        NAMES.iter().any(|n| {
            rest.get(..n.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(n))
        })
    })
}

/// Parses one input completely. `name` is the display name (also a hint for captures).
pub fn parse_reader<R: Read>(name: &str, input: R, scope: Scope) -> io::Result<Artifact> {
    let sniffed = sniff(input)?;
    let encoding = sniffed.encoding;
    let kind = sniffed.kind;
    let unknown = (kind == Kind::Unknown && !sniffed.empty)
        .then(|| unknown_content(sniffed.reader.get_ref()));
    let stream = sniffed.reader.chain(sniffed.rest);
    let mut diagnostics = Vec::new();
    let content = match kind {
        Kind::Hive => {
            diagnostics.push(Diagnostic::warning(
                1,
                1,
                "hive-not-supported",
                "binary registry hive: export the key with `reg export` or `reg query` instead",
            ));
            Content::None {}
        }
        Kind::Unknown => {
            if sniffed.empty {
                diagnostics.push(Diagnostic::warning(
                    1,
                    1,
                    "empty-capture",
                    "the upload is empty (typical of `reg compare > file` when the error went to stderr)",
                ));
            }
            diagnostics.extend(unknown);
            Content::None {}
        }
        Kind::RegExport => {
            let (export, diags) = match scope {
                Scope::Full => {
                    let reader = TextReader::with_detector(stream, |_, _| encoding)?;
                    reg_export::parse(reader, &|_| true)
                }
                // Keys without proxy settings are skimmed, not decoded.
                Scope::ProxyRelevant => {
                    reg_export::parse_skimming(stream, encoding, &proxy_relevant_key)
                }
            };
            diagnostics.extend(diags);
            Content::RegExport(export)
        }
        Kind::SensorLog => {
            let reader = TextReader::with_detector(stream, |_, _| encoding)?;
            let (log, diags) = sensor_log::parse(reader);
            diagnostics.extend(diags);
            Content::SensorLog(log)
        }
        _ => {
            let whole = read_whole_text(stream, encoding)?;
            diagnostics.extend(whole.diagnostics);
            let t = whole.text.as_str();
            match kind {
                Kind::RegCompare => wrap(
                    reg_compare::parse(t, name),
                    &mut diagnostics,
                    Content::RegCompare,
                ),
                Kind::RegQuery => wrap(
                    reg_query::parse(t, name),
                    &mut diagnostics,
                    Content::RegQuery,
                ),
                Kind::NetshWinhttp => wrap(netsh::parse(t, name), &mut diagnostics, Content::Netsh),
                Kind::SensorConfig => wrap(
                    sensor_config::parse(t, name),
                    &mut diagnostics,
                    Content::SensorConfig,
                ),
                Kind::PacScript => wrap(
                    pac_script::parse(t, name),
                    &mut diagnostics,
                    Content::PacScript,
                ),
                _ => wrap(
                    probe_capture::parse(t, name),
                    &mut diagnostics,
                    Content::ProbeCapture,
                ),
            }
        }
    };
    Ok(Artifact {
        schema_version: crate::SCHEMA_VERSION,
        file: name.to_string(),
        kind,
        encoding: if kind == Kind::Hive {
            None
        } else {
            Some(encoding)
        },
        diagnostics,
        content,
    })
}

/// A whole capture decoded to text, its lines capped at [`text::DEFAULT_MAX_LINE`] and its
/// size at [`MAX_WHOLE_TEXT`] (both reported), so a hostile upload cannot blow up memory.
fn read_whole_text<R: Read>(stream: R, encoding: TextEncoding) -> io::Result<text::Decoded> {
    let mut limited = stream.take(MAX_WHOLE_TEXT);
    let mut reader = TextReader::with_detector(&mut limited, |_, _| encoding)?;
    reader.set_max_line(text::DEFAULT_MAX_LINE);
    let mut out = String::new();
    let mut last_line = 0;
    while let Some(line) = reader.next_line() {
        let line = line?;
        last_line = line.number;
        out.push_str(line.text);
        out.push('\n');
    }
    let mut diagnostics = reader.take_diagnostics();
    drop(reader);
    // `take` stops at the cap silently: look one byte further to tell the user.
    if limited.limit() == 0 {
        let mut probe = [0u8; 1];
        if limited.into_inner().read(&mut probe)? > 0 {
            diagnostics.push(Diagnostic::warning(
                last_line.max(1),
                1,
                "input-truncated",
                format!(
                    "capture larger than {} MiB: only its start was read",
                    MAX_WHOLE_TEXT / (1024 * 1024)
                ),
            ));
        }
    }
    Ok(text::Decoded {
        encoding,
        text: out,
        diagnostics,
    })
}

/// The diagnostic for content no parser recognises (random bytes, NUL floods, images...).
fn unknown_content(prefix: &[u8]) -> Diagnostic {
    let nul = prefix.iter().filter(|b| **b == 0).count();
    let what = if nul == prefix.len() {
        "only NUL bytes".to_string()
    } else if nul * 4 > prefix.len() {
        "binary data (many NUL bytes)".to_string()
    } else {
        "content".to_string()
    };
    let head: Vec<String> = prefix.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Diagnostic::warning(
        1,
        1,
        "unknown-content",
        format!(
            "{what} not recognised as a .reg export, console capture, sensor log, configuration or PAC script (starts with {}); ignored",
            head.join(" ")
        ),
    )
}

fn wrap<T>(
    (value, diags): (T, Vec<Diagnostic>),
    diagnostics: &mut Vec<Diagnostic>,
    f: impl FnOnce(T) -> Content,
) -> Content {
    diagnostics.extend(diags);
    f(value)
}

/// Parses an in-memory upload.
pub fn parse_bytes(name: &str, bytes: &[u8], scope: Scope) -> Artifact {
    match parse_reader(name, bytes, scope) {
        Ok(a) => a,
        // Reading from a slice cannot fail; keep a diagnostic rather than a panic anyway.
        Err(e) => Artifact {
            schema_version: crate::SCHEMA_VERSION,
            file: name.to_string(),
            kind: Kind::Unknown,
            encoding: None,
            diagnostics: vec![Diagnostic::error(1, 1, "read-failed", e.to_string())],
            content: Content::None {},
        },
    }
}
