//! `parse FILE`: the structured content of one artifact (JSON streams as it goes).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use crate::artifact::{self, Scope};
use crate::cli::{ParseArgs, ParseFormat};
use crate::detect::Kind;
use crate::formats::reg_export;
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
    let result = match args.format {
        ParseFormat::Json => stream_json(&name, input, &mut out),
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
