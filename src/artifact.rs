//! One upload from bytes to structure: sniff the encoding, detect the kind from content,
//! and hand the text to that kind's parser.

use std::io::{self, Cursor, Read};

use serde::Serialize;

use crate::detect::{self, Kind};
use crate::diag::{Diagnostic, Severity};
use crate::formats::reg_hive::{self, HiveLimits, LogInput};
use crate::formats::{
    collector_manifest, console_session, mde_analyzer, mdi_tools, netsh, pac_script, probe_capture,
    reg_compare, reg_export, reg_query, sensor_config, sensor_log,
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
    ConsoleSession(Box<ConsoleSession>),
    MdiProxyConfig(mdi_tools::MdiProxyConfig),
    MdiApiTest(mdi_tools::MdiApiTest),
    MdeAnalyzer(Box<mde_analyzer::MdeAnalyzer>),
    MdiReadiness(mdi_tools::MdiReadiness),
    MdiConfigReport(mdi_tools::MdiConfigReport),
    /// `manifest.json` of the collector script: serialized under `manifest`.
    CollectorManifest {
        manifest: collector_manifest::CollectorManifest,
    },
    /// A PAC script: entry points and size (never run by `parse`).
    PacScript(pac_script::PacScriptCapture),
    /// The analyser's view of a binary hive: its proxy keys and whose hive it is.
    RegHive(Box<HiveProxyKeys>),
    /// A hive's transaction log or an unknown file: nothing but the shared fields.
    None {},
}

/// The proxy keys of a binary hive, shaped like a `.reg` export with full paths (relative to
/// the hive's root when the hive's account is unknown or it is a stale copy), with what the
/// evidence needs to know about the file.
#[derive(Debug, Clone, Serialize)]
pub struct HiveProxyKeys {
    #[serde(flatten)]
    pub export: reg_export::RegExport,
    /// Whose hive this is, how that was told, and whether the file is a stale copy.
    pub mount: reg_hive::HiveMount,
    /// Requested keys (relative to the hive's root) that do not exist in the hive: absent,
    /// not unknown (a key past a truncation is never listed here).
    pub missing_keys: Vec<String>,
    /// The hive is dirty and no transaction log was given: the newest writes may be missing.
    pub dirty_without_logs: bool,
    /// What each transaction log given with the hive contributed.
    pub logs: Vec<reg_hive::LogReport>,
}

/// A console session split at its prompt lines (kind `console-session`).
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleSession {
    pub sections: Vec<Section>,
}

/// One command of a console session and its output, parsed as its own kind. Line numbers
/// (here and inside `content`) are the file's.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub kind: Kind,
    pub first_line: u64,
    pub last_line: u64,
    /// The command typed after the prompt (null for text before the first prompt): the
    /// section is attributed by it.
    pub command: Option<String>,
    #[serde(flatten)]
    pub content: Content,
}

/// One piece of parsed content and the command that printed it: the whole file for most kinds,
/// one per section for a console session (so evidence can be attributed by its own command).
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub kind: Kind,
    /// The typed command (sections of a console session only).
    pub command: Option<&'a str>,
    /// First line of the part in the file (1 for a whole file).
    pub first_line: u64,
    pub content: &'a Content,
}

impl Artifact {
    /// The content as evidence sees it: a console session's sections one by one, any other
    /// kind as one part.
    pub fn parts(&self) -> Vec<Part<'_>> {
        match &self.content {
            Content::ConsoleSession(session) => session
                .sections
                .iter()
                .map(|s| Part {
                    kind: s.kind,
                    command: s.command.as_deref(),
                    first_line: s.first_line,
                    content: &s.content,
                })
                .collect(),
            content => vec![Part {
                kind: self.kind,
                command: None,
                first_line: 1,
                content,
            }],
        }
    }
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
    /// The sniffed bytes are the whole input.
    pub complete: bool,
    /// The whole input decoded, when it was read whole and decoded without a problem: what
    /// a reader would decode again ([`TextReader::from_decoded`] reads it instead).
    sample: Option<String>,
}

/// The sniff buffer's first capacity: most uploads fit.
const SNIFF_START: usize = 4 * 1024;

/// Reads the first [`SNIFF_BYTES`] and decides encoding and kind.
pub fn sniff<R: Read>(mut input: R) -> io::Result<Sniffed<R>> {
    // Sized for a typical upload (a few KiB) and grown as read beyond: a fresh 64 KiB per
    // file costs page faults, and growing from nothing costs a reallocation per doubling.
    let mut prefix = Vec::with_capacity(SNIFF_START);
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)?;
    let eof = prefix.len() < SNIFF_BYTES;
    let empty = prefix.iter().all(|b| b.is_ascii_whitespace());
    if detect::is_hive(&prefix) {
        return Ok(Sniffed {
            encoding: TextEncoding::Windows1252,
            kind: detect::hive_kind(&prefix),
            reader: Cursor::new(prefix),
            rest: input,
            empty,
            complete: eof,
            sample: None,
        });
    }
    let mut encoding = text::sniff(&prefix, eof, LegacyHint::Guess);
    let decoded = text::decode_as(&prefix, encoding);
    let kind = if empty {
        Kind::Unknown
    } else {
        detect::detect_text(&decoded.text)
    };
    let mut sample = None;
    if kind == Kind::RegExport && encoding.is_legacy() {
        // regedit reads 8-bit files in the ANSI code page.
        encoding = TextEncoding::Windows1252;
    } else if eof && decoded.diagnostics.is_empty() {
        // Read whole, decoded cleanly, and small enough that a reader keeps every line whole:
        // reading it again would decode the same text.
        sample = Some(decoded.text);
    }
    Ok(Sniffed {
        encoding,
        kind,
        reader: Cursor::new(prefix),
        rest: input,
        empty,
        complete: eof,
        sample,
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
        // Most components (`Software`, `Classes`, GUIDs) differ in their first letter: the
        // whole comparison runs only for the few that could match.
        let Some(first) = rest.first().map(u8::to_ascii_lowercase) else {
            return false;
        };
        NAMES.iter().any(|n| {
            n.first() == Some(&first)
                && rest
                    .get(..n.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(n))
        })
    })
}

/// Parses one input completely. `name` is the display name (also a hint for captures).
pub fn parse_reader<R: Read>(name: &str, input: R, scope: Scope) -> io::Result<Artifact> {
    parse_reader_with(name, input, scope, HiveLimits::default())
}

/// [`parse_reader`] with the caps of binary hives (`--max-hive-mib`).
pub fn parse_reader_with<R: Read>(
    name: &str,
    input: R,
    scope: Scope,
    hive_limits: HiveLimits,
) -> io::Result<Artifact> {
    let mut sniffed = sniff(input)?;
    let sample = sniffed.sample.take();
    let (sniffed_len, sniffed_complete) = (sniffed.reader.get_ref().len(), sniffed.complete);
    // A reader over the sniffer's decoded sample gives the lines reading the bytes would.
    let decoded = |text| TextReader::from_decoded(text, sniffed.encoding, sniffed_len as u64);
    let encoding = sniffed.encoding;
    let kind = sniffed.kind;
    let unknown = (kind == Kind::Unknown && !sniffed.empty)
        .then(|| unknown_content(sniffed.reader.get_ref()));
    let stream = sniffed.reader.chain(sniffed.rest);
    let mut diagnostics = Vec::new();
    let content = match kind {
        Kind::RegHive => {
            let limits = hive_limits;
            let mut bytes = Vec::new();
            stream
                .take(limits.max_hive_bytes.saturating_add(1))
                .read_to_end(&mut bytes)?;
            let (content, diags) = hive_content(name, &bytes, &[], scope, limits);
            diagnostics.extend(diags);
            content
        }
        Kind::RegHiveLog => {
            diagnostics.push(Diagnostic::info(
                0,
                0,
                "hive-log",
                "transaction log of a registry hive (NAME.LOG1/NAME.LOG2): replayed with its hive, never read alone",
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
            let keep: &dyn Fn(&str) -> bool = match scope {
                Scope::Full => &|_| true,
                Scope::ProxyRelevant => &proxy_relevant_key,
            };
            let (export, diags) = match (scope, sample) {
                // Read whole and decoded cleanly by the sniffer: parsed from that text.
                (_, Some(text)) => reg_export::parse(decoded(text), keep),
                // Keys without proxy settings are skimmed, not decoded; a small export (read
                // whole by the sniffer) is parsed as it is: skimming only pays on large files.
                (Scope::ProxyRelevant, None) if !sniffed_complete => {
                    reg_export::parse_skimming(stream, encoding, keep)
                }
                (_, None) => {
                    let reader = TextReader::with_detector(stream, |_, _| encoding)?;
                    reg_export::parse(reader, keep)
                }
            };
            diagnostics.extend(diags);
            Content::RegExport(export)
        }
        Kind::SensorLog => {
            let (log, diags) = match sample {
                Some(text) => sensor_log::parse(decoded(text)),
                None => sensor_log::parse(TextReader::with_detector(stream, |_, _| encoding)?),
            };
            diagnostics.extend(diags);
            Content::SensorLog(log)
        }
        _ => {
            let whole = match sample {
                Some(text) => lines_of(decoded(text))?,
                None => read_whole_text(stream, encoding)?,
            };
            diagnostics.extend(whole.diagnostics);
            parse_text(kind, whole.text.as_str(), name, &mut diagnostics)
        }
    };
    note_partly_understood(&mut diagnostics);
    Ok(Artifact {
        schema_version: crate::SCHEMA_VERSION,
        file: name.to_string(),
        kind,
        encoding: if matches!(kind, Kind::RegHive | Kind::RegHiveLog) {
            None
        } else {
            Some(encoding)
        },
        diagnostics,
        content,
    })
}

/// Parses decoded text of a kind read whole (every kind but exports, logs and hives, which
/// stream; a log is read from the text here too, for sections of a console session).
fn parse_text(kind: Kind, t: &str, name: &str, diagnostics: &mut Vec<Diagnostic>) -> Content {
    match kind {
        Kind::RegCompare => wrap(
            reg_compare::parse(t, name),
            diagnostics,
            Content::RegCompare,
        ),
        Kind::RegQuery => wrap(reg_query::parse(t, name), diagnostics, Content::RegQuery),
        Kind::NetshWinhttp => wrap(netsh::parse(t, name), diagnostics, Content::Netsh),
        Kind::SensorConfig => wrap(
            sensor_config::parse(t, name),
            diagnostics,
            Content::SensorConfig,
        ),
        Kind::SensorLog => match TextReader::with_detector(t.as_bytes(), |_, _| TextEncoding::Utf8)
        {
            Ok(reader) => wrap(sensor_log::parse(reader), diagnostics, Content::SensorLog),
            Err(e) => {
                diagnostics.push(Diagnostic::error(1, 1, "read-failed", e.to_string()));
                Content::None {}
            }
        },
        Kind::ConsoleSession => console(t, name, diagnostics),
        Kind::PacScript => wrap(pac_script::parse(t, name), diagnostics, Content::PacScript),
        Kind::CollectorManifest => wrap(
            collector_manifest::parse(t, name),
            diagnostics,
            |manifest| Content::CollectorManifest { manifest },
        ),
        Kind::MdiProxyConfig => wrap(
            mdi_tools::parse_proxy_config(t),
            diagnostics,
            Content::MdiProxyConfig,
        ),
        Kind::MdiApiTest => wrap(
            mdi_tools::parse_api_test(t),
            diagnostics,
            Content::MdiApiTest,
        ),
        Kind::MdeAnalyzer => wrap(mde_analyzer::parse(t), diagnostics, |a| {
            Content::MdeAnalyzer(Box::new(a))
        }),
        Kind::MdiReadiness => wrap(
            mdi_tools::parse_readiness(t),
            diagnostics,
            Content::MdiReadiness,
        ),
        Kind::MdiConfigReport => wrap(
            mdi_tools::parse_config_report(t),
            diagnostics,
            Content::MdiConfigReport,
        ),
        Kind::Unknown | Kind::RegHive | Kind::RegHiveLog => Content::None {},
        Kind::ProbeCapture | Kind::RegExport => wrap(
            probe_capture::parse(t, name),
            diagnostics,
            Content::ProbeCapture,
        ),
    }
}

/// Splits a console session and parses every section as its own kind.
fn console(t: &str, name: &str, diagnostics: &mut Vec<Diagnostic>) -> Content {
    let (spans, diags) = console_session::split(t);
    diagnostics.extend(diags);
    let mut sections = Vec::with_capacity(spans.len());
    for span in &spans {
        let kind = console_session::section_kind(t, span);
        let text = console_session::section_text(t, span);
        let content = match kind {
            Kind::Unknown
            | Kind::RegHive
            | Kind::RegHiveLog
            | Kind::ConsoleSession
            | Kind::RegExport => {
                if span.command.is_some() || span.last_line > span.first_line {
                    diagnostics.push(Diagnostic::info(
                        span.first_line,
                        1,
                        "not-understood",
                        format!(
                            "lines {}-{}{}: output of no known kind; not used",
                            span.first_line,
                            span.last_line,
                            span.command
                                .as_deref()
                                .map(|c| format!(" (`{}`)", c.chars().take(80).collect::<String>()))
                                .unwrap_or_default()
                        ),
                    ));
                }
                Content::None {}
            }
            k => {
                // Diagnostics a parser places before the section (its "line 1") belong to the
                // section's first line.
                let mut own = Vec::new();
                let content = parse_text(k, &text, name, &mut own);
                for mut d in own {
                    if d.line < span.first_line {
                        d.line = span.first_line;
                    }
                    diagnostics.push(d);
                }
                content
            }
        };
        let kind = match content {
            Content::None {} => Kind::Unknown,
            _ => kind,
        };
        sections.push(Section {
            kind,
            first_line: span.first_line,
            last_line: span.last_line,
            command: span.command.clone(),
            content,
        });
    }
    Content::ConsoleSession(Box::new(ConsoleSession { sections }))
}

/// Diagnostic codes that mean "this line was not understood".
const NOT_UNDERSTOOD_LINE: [&str; 1] = ["unrecognised-line"];

/// Adds one `partly-understood` warning when a parser skipped lines it did not understand,
/// so that no file is silently half-read.
fn note_partly_understood(diagnostics: &mut Vec<Diagnostic>) {
    let skipped: Vec<u64> = diagnostics
        .iter()
        .filter(|d| NOT_UNDERSTOOD_LINE.contains(&d.code))
        .map(|d| d.line)
        .collect();
    if let Some(first) = skipped.first() {
        diagnostics.push(Diagnostic::warning(
            *first,
            1,
            "partly-understood",
            format!(
                "{} line(s) were not understood and not used (first at line {first})",
                skipped.len()
            ),
        ));
    }
}

/// The content of a hive: every key (`Scope::Full`, the `parse` command), or only the proxy
/// keys as a `.reg`-shaped export with full paths (`Scope::ProxyRelevant`, the analyser), so
/// the evidence code reads them like `reg export` output. `name` attributes the hive.
pub fn hive_content(
    name: &str,
    bytes: &[u8],
    logs: &[LogInput<'_>],
    scope: Scope,
    limits: HiveLimits,
) -> (Content, Vec<Diagnostic>) {
    if bytes.len() as u64 > limits.max_hive_bytes {
        let e = reg_hive::HiveError::TooLarge {
            size: bytes.len() as u64,
            cap: limits.max_hive_bytes,
        };
        return (Content::None {}, vec![e.diagnostic(Severity::Error)]);
    }
    match scope {
        // Every key, paths relative to the hive root (the `parse` command prints the full
        // `reg-hive` document through `reg_hive::write_json_members` instead).
        Scope::Full => {
            let (parsed, diags) = reg_hive::parse(name, bytes, logs, limits);
            let content = parsed.map_or(Content::None {}, |p| {
                Content::RegExport(reg_export::RegExport {
                    header: None,
                    keys: p
                        .keys
                        .into_iter()
                        .map(reg_hive::HiveKey::into_reg_key)
                        .collect(),
                })
            });
            (content, diags)
        }
        Scope::ProxyRelevant => match reg_hive::Hive::open(bytes, logs, limits) {
            Ok(hive) => proxy_keys_of(name, &hive),
            Err(e) => (Content::None {}, vec![e.diagnostic(Severity::Error)]),
        },
    }
}

/// The analyser's view of a hive file (the proxy keys only, as a `.reg`-shaped export with
/// full paths), reading the file page by page rather than whole unless logs need a replay.
pub fn read_hive_file(
    name: &str,
    file: std::fs::File,
    logs: &[LogInput<'_>],
    limits: HiveLimits,
) -> Artifact {
    let (content, diagnostics) = match reg_hive::Hive::open_file(file, logs, limits) {
        Ok(hive) => proxy_keys_of(name, &hive),
        Err(e) => (Content::None {}, vec![e.diagnostic(Severity::Error)]),
    };
    Artifact {
        schema_version: crate::SCHEMA_VERSION,
        file: name.to_string(),
        kind: Kind::RegHive,
        encoding: None,
        diagnostics,
        content,
    }
}

/// The proxy keys of an opened hive with their full paths, and what could not be read.
fn proxy_keys_of(name: &str, hive: &reg_hive::Hive<'_>) -> (Content, Vec<Diagnostic>) {
    let mount = reg_hive::mount_from_path(name, &hive.info().embedded_name);
    let paths = reg_hive::proxy_key_paths(mount.account.as_ref());
    // A stale copy (RegBack, Windows.old, shadow copy) is not the live registry: its keys keep
    // paths relative to the hive root, so they are never taken as an account's settings.
    let mounted = if mount.stale.is_some() {
        reg_hive::HiveMount {
            account: None,
            attribution: None,
            stale: mount.stale,
        }
    } else {
        mount.clone()
    };
    let read = reg_hive::read_paths(hive, &mounted, &paths);
    let info = hive.info();
    let content = Content::RegHive(Box::new(HiveProxyKeys {
        export: read.export,
        mount: mount.clone(),
        missing_keys: read.missing.clone(),
        dirty_without_logs: info.dirty && info.logs.is_empty(),
        logs: info.logs.clone(),
    }));
    let mut diags = read.diagnostics;
    diags.push(attribution_diagnostic(&mount));
    diags.extend(read.missing.iter().map(|p| {
        Diagnostic::info(
            0,
            0,
            "hive-key-missing",
            format!("key absent from the hive: {p}"),
        )
    }));
    diags.extend(read.unreadable.iter().map(|u| {
        Diagnostic::warning(
            0,
            0,
            "hive-key-unknown",
            format!(
                "key could not be read (unknown, not missing): {}: {}",
                u.path, u.error
            ),
        )
    }));
    (content, diags)
}

/// Says whose hive this is and how that was decided (a file-name attribution is an
/// assumption; a stale copy or an unattributed hive is a warning).
fn attribution_diagnostic(mount: &reg_hive::HiveMount) -> Diagnostic {
    let Some(account) = &mount.account else {
        return Diagnostic::warning(
            0,
            0,
            "hive-unattributed",
            "neither the collection path, the hive's embedded name nor the file name says whose hive this is",
        );
    };
    let by = match mount.attribution {
        Some(reg_hive::AttributedBy::Path) => "the collection path",
        Some(reg_hive::AttributedBy::EmbeddedName) => "the name embedded in the hive",
        _ => "the file name (an assumption)",
    };
    let root = account.root_path();
    match mount.stale {
        Some(stale) => Diagnostic::warning(
            0,
            0,
            "hive-stale-copy",
            format!(
                "{root} by {by}, but the file is a stale copy ({stale:?}): not the live registry"
            ),
        ),
        None => Diagnostic::info(0, 0, "hive-attribution", format!("{root} by {by}")),
    }
}

/// Parses a hive together with its transaction logs (paired by [`reg_hive::pair_logs`]).
pub fn parse_hive_with_logs(
    name: &str,
    bytes: &[u8],
    logs: &[LogInput<'_>],
    scope: Scope,
    limits: HiveLimits,
) -> Artifact {
    let (content, diagnostics) = hive_content(name, bytes, logs, scope, limits);
    Artifact {
        schema_version: crate::SCHEMA_VERSION,
        file: name.to_string(),
        kind: Kind::RegHive,
        encoding: None,
        diagnostics,
        content,
    }
}

/// A whole capture decoded to text, its lines capped at [`text::DEFAULT_MAX_LINE`] and its
/// size at [`MAX_WHOLE_TEXT`] (both reported), so a hostile upload cannot blow up memory.
fn read_whole_text<R: Read>(stream: R, encoding: TextEncoding) -> io::Result<text::Decoded> {
    let mut limited = stream.take(MAX_WHOLE_TEXT);
    let mut reader = TextReader::with_detector(&mut limited, |_, _| encoding)?;
    reader.set_max_line(text::DEFAULT_MAX_LINE);
    let mut whole = lines_of(reader)?;
    // `take` stops at the cap silently: look one byte further to tell the user.
    if limited.limit() == 0 {
        let mut probe = [0u8; 1];
        if limited.into_inner().read(&mut probe)? > 0 {
            let last_line = memchr::memchr_iter(b'\n', whole.text.as_bytes()).count() as u64;
            whole.diagnostics.push(Diagnostic::warning(
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
    Ok(whole)
}

/// Every line of `reader` ended by `\n` (the last one too), with the reader's diagnostics.
fn lines_of<R: Read>(mut reader: TextReader<R>) -> io::Result<text::Decoded> {
    let mut text = String::new();
    while let Some(line) = reader.next_line() {
        text.push_str(line?.text);
        text.push('\n');
    }
    Ok(text::Decoded {
        encoding: reader.encoding(),
        text,
        diagnostics: reader.take_diagnostics(),
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
        "not-understood",
        format!(
            "{what} not recognised as a .reg export, console capture, sensor log, configuration, MDI/MDE tool output or PAC script (starts with {}); ignored",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_read_whole_gives_the_text_reading_line_by_line_gives() {
        let utf16 = |s: &str| {
            let mut b = vec![0xFF, 0xFE];
            b.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
            b
        };
        let texts = [
            "",
            "\r\n",
            "one line",
            "a\r\nb\r\n",
            "a\nb\n\n",
            "a\rb\r\r\nc",
            "C:\\>reg query HKU\r\n\r\nHKEY_USERS\\S-1-5-19\r\n    X    REG_SZ    é\r",
        ];
        for t in texts {
            for (bytes, encoding) in [
                (t.as_bytes().to_vec(), TextEncoding::Utf8),
                (utf16(t), TextEncoding::Utf16Le),
            ] {
                let sample = text::decode_as(&bytes, encoding);
                assert!(sample.diagnostics.is_empty());
                let read = read_whole_text(bytes.as_slice(), encoding).unwrap();
                let len = bytes.len() as u64;
                let reused = lines_of(TextReader::from_decoded(sample.text, encoding, len));
                assert_eq!(reused.unwrap().text, read.text, "{t:?} as {encoding:?}");
            }
        }
    }

    #[test]
    fn only_clean_whole_samples_are_kept() {
        let whole = sniff(&b"netsh>show proxy\r\n"[..]).unwrap();
        assert_eq!(whole.sample.as_deref(), Some("netsh>show proxy\r\n"));
        let invalid = sniff(&b"C:\\>reg query HKU\r\n\xff\xfe\xfd bad\r\n"[..]).unwrap();
        if invalid.encoding == TextEncoding::Utf8 {
            assert!(
                invalid.sample.is_none(),
                "a replaced byte is reported by the reader"
            );
        }
        let big = "x".repeat(SNIFF_BYTES + 1);
        assert!(
            sniff(big.as_bytes()).unwrap().sample.is_none(),
            "not read whole"
        );
    }

    #[test]
    fn proxy_relevant_keys_in_any_casing() {
        for key in [
            "HKEY_USERS\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections",
            "HKEY_CURRENT_USER\\SOFTWARE\\MICROSOFT\\WINDOWS\\CURRENTVERSION\\INTERNET SETTINGS",
            "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\internet settings",
            "HKLM\\SOFTWARE\\Microsoft\\Azure Advanced Threat Protection\\Sensor",
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\\WinHttp",
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WINHTTP",
        ] {
            assert!(proxy_relevant_key(key), "{key}");
        }
        for key in [
            "",
            "HKEY_USERS\\S-1-5-19\\Software\\Classes\\CLSID",
            "HKLM\\SOFTWARE\\Microsoft\\Internet Explorer",
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet",
            "HKLM\\SOFTWARE\\Microsoft\\Azure",
            "HKLM\\SOFTWARE\\Microsoft\\WinHTT",
            "Internet Settings",
        ] {
            assert!(!proxy_relevant_key(key), "{key}");
        }
    }

    #[test]
    fn parts_of_a_console_session_are_its_sections() {
        let text = "C:\\>netsh winhttp show proxy\r\n\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n\r\nC:\\>Test-MDISensorApiConnection\r\nTrue\r\n";
        let a = parse_bytes("paste.txt", text.as_bytes(), Scope::Full);
        assert_eq!(a.kind, Kind::ConsoleSession);
        let parts = a.parts();
        let got: Vec<_> = parts
            .iter()
            .map(|p| (p.kind, p.command, p.first_line))
            .collect();
        assert_eq!(
            got,
            [
                (Kind::NetshWinhttp, Some("netsh winhttp show proxy"), 1),
                (Kind::MdiApiTest, Some("Test-MDISensorApiConnection"), 7),
            ]
        );
        assert!(matches!(parts[1].content, Content::MdiApiTest(t) if t.result == Some(true)));
        let single = parse_bytes("n.txt", b"Current WinHTTP proxy settings:\r\n", Scope::Full);
        assert_eq!(single.parts().len(), 1);
    }
}
