//! `parse FILE`: the structured content of one artifact (JSON streams as it goes).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use crate::artifact::{self, Scope};
use crate::cli::{ParseArgs, ParseFormat};
use crate::detect::Kind;
use crate::formats::reg_export;
use crate::formats::reg_hive::{self, HiveLimits, LogInput};
use crate::report::generic_table;
use crate::text::TextReader;

use super::{is_closed_stdout, Context, EXIT_INPUT, EXIT_OK};

/// Exit 0 parsed, 2 unreadable, missing or refused as a whole (the reason on stderr, even
/// with `-q`), 0 also when stdout closes early.
pub fn run(ctx: &Context, args: &ParseArgs) -> u8 {
    let name = args.file.to_string_lossy().into_owned();
    let cap = args.limits.max_file_mib.saturating_mul(1024 * 1024);
    let input: Box<dyn Read> = if name == "-" {
        Box::new(io::stdin().lock().take(cap))
    } else if crate::input::path_is_missing(&args.file) {
        ctx.error(&crate::input::missing_message(&args.file));
        return EXIT_INPUT;
    } else {
        match open_regular(&args.file) {
            Ok(f) => Box::new(f.take(cap)),
            Err(e) => {
                ctx.error(&format!("{}: {e}", crate::input::display_name(&args.file)));
                return EXIT_INPUT;
            }
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let hive = HiveSource {
        path: (name != "-").then_some(args.file.as_path()),
        limits: HiveLimits {
            max_hive_bytes: args.limits.max_hive_mib.saturating_mul(1024 * 1024),
            ..HiveLimits::default()
        },
    };
    let result = match args.format {
        ParseFormat::Json => stream_json(&name, input, &hive, &mut out),
        ParseFormat::Table if sniff_is_hive(&args.file) => table_hive(&name, &hive, &mut out),
        ParseFormat::Table => artifact::parse_reader(&name, input, Scope::Full).and_then(|a| {
            let rejected = a.rejected();
            let value = serde_json::to_value(&a).map_err(io::Error::other)?;
            out.write_all(generic_table(&value).as_bytes())?;
            Ok(rejected)
        }),
    };
    let flushed = out.flush();
    let shown = crate::text::escape_control(&name);
    match (result, flushed) {
        (Ok(rejected), Ok(())) => {
            if rejected {
                ctx.error(&format!("{shown}: refused as a whole (see diagnostics)"));
                EXIT_INPUT
            } else {
                EXIT_OK
            }
        }
        // The reader of stdout went away (`| head`): quiet success.
        (Err(e), _) | (_, Err(e)) if is_closed_stdout(&e) => EXIT_OK,
        (Err(e), _) | (_, Err(e)) => {
            ctx.error(&format!("{shown}: {e}"));
            EXIT_INPUT
        }
    }
}

/// Opens only regular files (no FIFOs, devices or directories).
pub fn open_regular(path: &std::path::Path) -> io::Result<File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    File::open(path)
}

/// Where a hive comes from: its path (to find `NAME.LOG1`/`NAME.LOG2` beside it) and caps.
struct HiveSource<'p> {
    path: Option<&'p std::path::Path>,
    limits: HiveLimits,
}

impl HiveSource<'_> {
    /// The transaction logs beside the hive (`NAME.LOG1`, `NAME.LOG2`, any case), each read
    /// within the hive cap. Unreadable or oversized logs are left out.
    fn logs(&self) -> Vec<(String, Vec<u8>)> {
        let Some(path) = self.path else {
            return Vec::new();
        };
        let (Some(dir), Some(file)) = (path.parent(), path.file_name()) else {
            return Vec::new();
        };
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        };
        let base = file.to_string_lossy().to_lowercase();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<(String, std::path::PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                let lower = n.to_lowercase();
                (lower == format!("{base}.log1") || lower == format!("{base}.log2"))
                    .then(|| (n, e.path()))
            })
            .collect();
        found.sort_by_key(|(n, _)| n.to_lowercase());
        found
            .into_iter()
            .filter_map(|(n, p)| {
                let mut bytes = Vec::new();
                open_regular(&p)
                    .ok()?
                    .take(self.limits.max_hive_bytes)
                    .read_to_end(&mut bytes)
                    .ok()?;
                Some((n, bytes))
            })
            .collect()
    }

    /// Reads the hive whole, within the cap (one byte more tells an oversized file).
    fn read<R: Read>(&self, input: R) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        input
            .take(self.limits.max_hive_bytes.saturating_add(1))
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// True when the file starts like a primary hive (the table path needs to know up front).
fn sniff_is_hive(path: &std::path::Path) -> bool {
    let mut head = [0u8; 32];
    open_regular(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && crate::detect::is_hive(&head)
        && crate::detect::hive_kind(&head) == Kind::RegHive
}

/// `parse --format table` of a hive: the document as JSON, rendered as a generic table.
fn table_hive<W: Write>(name: &str, hive: &HiveSource<'_>, out: &mut W) -> io::Result<bool> {
    let file = open_regular(hive.path.unwrap_or(std::path::Path::new("-")))?;
    let bytes = hive.read(file)?;
    let logs = hive.logs();
    let inputs: Vec<LogInput<'_>> = logs
        .iter()
        .map(|(n, b)| LogInput { file: n, bytes: b })
        .collect();
    let (parsed, diagnostics) = reg_hive::parse(name, &bytes, &inputs, hive.limits);
    let rejected = parsed.is_none();
    let mut value = serde_json::json!({
        "schema_version": crate::SCHEMA_VERSION,
        "file": name,
        "kind": "reg-hive",
        "diagnostics": diagnostics,
    });
    if let (Some(p), Some(obj)) = (parsed, value.as_object_mut()) {
        if let serde_json::Value::Object(m) = serde_json::to_value(&p).map_err(io::Error::other)? {
            obj.extend(m);
        }
    }
    out.write_all(generic_table(&value).as_bytes())?;
    Ok(rejected)
}

/// Writes the `reg-hive` parse JSON, key by key. Returns "rejected" (no hive at all).
fn stream_hive_json<R: Read, W: Write>(
    name: &str,
    input: R,
    hive: &HiveSource<'_>,
    out: &mut W,
) -> io::Result<bool> {
    let bytes = hive.read(input)?;
    let logs = hive.logs();
    let inputs: Vec<LogInput<'_>> = logs
        .iter()
        .map(|(n, b)| LogInput { file: n, bytes: b })
        .collect();
    // A file that does not open as a hive gets a document with only its diagnostics.
    write!(
        out,
        "{{\"schema_version\":{},\"file\":{},\"kind\":\"reg-hive\",\"encoding\":null,",
        crate::SCHEMA_VERSION,
        serde_json::to_string(name).map_err(io::Error::other)?
    )?;
    let (opened, diags) = reg_hive::write_json_members(name, &bytes, &inputs, hive.limits, out)?;
    if opened {
        out.write_all(b",")?;
    }
    out.write_all(b"\"diagnostics\":")?;
    serde_json::to_writer(&mut *out, &diags).map_err(io::Error::other)?;
    out.write_all(b"}\n")?;
    Ok(!opened)
}

/// Writes the parse JSON; a `.reg` export is streamed key by key. Returns "rejected".
fn stream_json<R: Read, W: Write>(
    name: &str,
    input: R,
    hive: &HiveSource<'_>,
    out: &mut W,
) -> io::Result<bool> {
    let sniffed = artifact::sniff(input)?;
    if sniffed.kind == Kind::RegHive {
        return stream_hive_json(name, sniffed.reader.chain(sniffed.rest), hive, out);
    }
    if sniffed.kind != Kind::RegExport {
        let a = artifact::parse_reader(name, sniffed.reader.chain(sniffed.rest), Scope::Full)?;
        serde_json::to_writer(&mut *out, &a).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        return Ok(a.rejected());
    }
    let encoding = sniffed.encoding;
    write!(
        out,
        "{{\"schema_version\":{},\"file\":{},\"kind\":\"reg-export\",\"encoding\":\"{}\",",
        crate::SCHEMA_VERSION,
        serde_json::to_string(name).map_err(io::Error::other)?,
        encoding.name()
    )?;
    let reader = TextReader::with_detector(sniffed.reader.chain(sniffed.rest), |_, _| encoding)?;
    let diags = reg_export::write_json_members(reader, out)?;
    out.write_all(b",\"diagnostics\":")?;
    serde_json::to_writer(&mut *out, &diags).map_err(io::Error::other)?;
    out.write_all(b"}\n")?;
    Ok(diags.iter().any(|d| d.code == "rejected-file"))
}
