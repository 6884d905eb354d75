//! `parse FILE`: the structured content of one artifact (JSON streams as it goes).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use crate::artifact::{self, Scope};
use crate::cli::{Format, ParseArgs};
use crate::detect::Kind;
use crate::formats::reg_export;
use crate::report::generic_table;
use crate::text::TextReader;

use super::{Context, EXIT_INPUT, EXIT_USAGE};

pub fn run(ctx: &Context, args: &ParseArgs) -> u8 {
    let name = args.file.to_string_lossy().into_owned();
    let cap = args.limits.max_file_mib.saturating_mul(1024 * 1024);
    let input: Box<dyn Read> = if name == "-" {
        Box::new(io::stdin().lock().take(cap))
    } else {
        match open_regular(&args.file) {
            Ok(f) => Box::new(f.take(cap)),
            Err(e) => {
                ctx.warn(&format!("{name}: {e}"));
                return EXIT_INPUT;
            }
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = match args.format {
        Format::Json => stream_json(&name, input, &mut out),
        Format::Table => artifact::parse_reader(&name, input, Scope::Full).and_then(|a| {
            let rejected = a.rejected();
            let value = serde_json::to_value(&a).map_err(io::Error::other)?;
            out.write_all(generic_table(&value).as_bytes())?;
            Ok(rejected)
        }),
        other => {
            ctx.warn(&format!(
                "parse: --format {other:?} is not supported (json or table)"
            ));
            return EXIT_USAGE;
        }
    };
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(rejected), Ok(())) => {
            if rejected {
                ctx.warn(&format!("{name}: refused as a whole (see diagnostics)"));
                EXIT_INPUT
            } else {
                0
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            ctx.warn(&format!("{name}: {e}"));
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

/// Writes the parse JSON; a `.reg` export is streamed key by key. Returns "rejected".
fn stream_json<R: Read, W: Write>(name: &str, input: R, out: &mut W) -> io::Result<bool> {
    let sniffed = artifact::sniff(input)?;
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
