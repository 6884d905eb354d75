//! `.zip` uploads, read entirely in memory: nothing is ever written to disk, entry names are
//! only displayed (escaped), every inflated size is capped, nested archives up to a depth.

use std::io::{Cursor, Read};
use std::sync::Arc;

use super::{CaseInput, Limits, Skipped, Source, Upload};
use crate::text::escape_control;

/// Local file header signature.
const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";
/// Empty archive (end of central directory only).
const ZIP_EMPTY_MAGIC: &[u8; 4] = b"PK\x05\x06";

/// True when bytes start like a zip archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(ZIP_EMPTY_MAGIC)
}

/// Adds the entries of an in-memory archive to the case (recursing into nested archives).
pub fn expand(name: &str, bytes: Vec<u8>, depth: u32, limits: &Limits, case: &mut CaseInput) {
    let mut budget = limits.max_archive_total;
    expand_inner(name, bytes, depth, limits, case, &mut budget);
}

fn expand_inner(
    name: &str,
    bytes: Vec<u8>,
    depth: u32,
    limits: &Limits,
    case: &mut CaseInput,
    budget: &mut u64,
) {
    if depth > limits.max_zip_depth {
        case.skipped.push(Skipped {
            name: name.to_string(),
            reason: format!(
                "archive nested deeper than {} levels; not opened (raise --max-zip-depth)",
                limits.max_zip_depth
            ),
        });
        return;
    }
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            case.skipped.push(Skipped {
                name: name.to_string(),
                reason: format!("archive: unreadable zip ({e})"),
            });
            return;
        }
    };
    let count = archive.len();
    if count > limits.max_entries {
        case.skipped.push(Skipped {
            name: name.to_string(),
            reason: format!(
                "archive has {count} entries; only the first {} are read",
                limits.max_entries
            ),
        });
    }
    for i in 0..count.min(limits.max_entries) {
        // The raw view (no decryption, no inflation) tells the name and the encryption flag
        // even for entries `by_index` refuses.
        let (entry_name, is_dir, encrypted, declared) = match archive.by_index_raw(i) {
            Ok(e) => (
                format!("{name}!{}", escape_control(e.name())),
                e.is_dir(),
                e.encrypted(),
                e.size(),
            ),
            Err(e) => {
                case.skipped.push(Skipped {
                    name: format!("{name}!#{i}"),
                    reason: format!("archive entry unreadable ({e})"),
                });
                continue;
            }
        };
        if is_dir {
            continue;
        }
        if encrypted {
            case.skipped.push(Skipped {
                name: entry_name,
                reason: "encrypted archive entry; not read (ask for an unencrypted archive)".into(),
            });
            continue;
        }
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                case.skipped.push(Skipped {
                    name: entry_name,
                    reason: format!("archive entry unreadable ({e})"),
                });
                continue;
            }
        };
        let cap = limits.max_entry.min(*budget);
        if declared > cap {
            // Declared larger than the cap: refused without inflating a byte.
            case.skipped.push(Skipped {
                name: entry_name,
                reason: format!(
                    "archive entry declares {declared} bytes, past the {} MiB limit (zip bomb?); skipped (raise --max-entry-mib)",
                    cap / (1024 * 1024)
                ),
            });
            continue;
        }
        // The declared size is only a hint (capped above): a lying entry still stops at `cap`.
        let mut data = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        let read = (&mut entry)
            .take(cap.saturating_add(1))
            .read_to_end(&mut data);
        if let Err(e) = read {
            case.skipped.push(Skipped {
                name: entry_name,
                reason: format!("archive entry is corrupt or truncated ({e})"),
            });
            continue;
        }
        if data.len() as u64 > cap {
            case.skipped.push(Skipped {
                name: entry_name,
                reason: format!(
                    "archive entry inflates past {} MiB (zip bomb?); stopped and skipped (raise --max-entry-mib)",
                    cap / (1024 * 1024)
                ),
            });
            *budget = budget.saturating_sub(cap);
            continue;
        }
        *budget = budget.saturating_sub(data.len() as u64);
        if is_zip(&data) {
            expand_inner(&entry_name, data, depth + 1, limits, case, budget);
        } else {
            case.uploads.push(Upload {
                name: entry_name,
                source: Source::Memory(Arc::new(data)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (n, d) in entries {
            w.start_file(*n, opts).unwrap();
            w.write_all(d).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn entries_become_uploads_with_escaped_names() {
        let z = make_zip(&[("a.reg", b"REGEDIT4\r\n"), ("../../x\x1b[2J", b"hi")]);
        let mut case = CaseInput::default();
        expand("up.zip", z, 1, &Limits::default(), &mut case);
        let names: Vec<_> = case.uploads.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, vec!["up.zip!a.reg", "up.zip!../../x\\u{1b}[2J"]);
    }

    #[test]
    fn zip_bomb_entry_is_stopped_at_the_cap() {
        let big = vec![0u8; 4 * 1024 * 1024];
        let z = make_zip(&[("bomb.bin", &big), ("ok.txt", b"fine")]);
        let limits = Limits {
            max_entry: 1024 * 1024,
            ..Limits::default()
        };
        let mut case = CaseInput::default();
        expand("b.zip", z, 1, &limits, &mut case);
        assert_eq!(case.uploads.len(), 1);
        assert_eq!(case.uploads[0].name, "b.zip!ok.txt");
        assert!(case.skipped[0].reason.contains("zip bomb"));
        assert!(case.skipped[0].reason.contains("declares 4194304 bytes"));
    }

    #[test]
    fn an_entry_lying_about_its_size_still_stops_at_the_cap() {
        let big = vec![0u8; 3 * 1024 * 1024];
        let mut z = make_zip(&[("liar.bin", &big)]);
        // Patch the uncompressed size (local header offset 22, central directory offset 24).
        z[22..26].copy_from_slice(&16u32.to_le_bytes());
        let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        z[cd + 24..cd + 28].copy_from_slice(&16u32.to_le_bytes());
        let limits = Limits {
            max_entry: 1024 * 1024,
            ..Limits::default()
        };
        let mut case = CaseInput::default();
        expand("l.zip", z, 1, &limits, &mut case);
        assert!(case.uploads.is_empty());
        assert_eq!(case.skipped.len(), 1);
        let r = &case.skipped[0].reason;
        assert!(
            r.contains("inflates past 1 MiB") || r.contains("corrupt"),
            "{r}"
        );
    }

    #[test]
    fn nesting_deeper_than_the_cap_is_refused() {
        let mut z = make_zip(&[("leaf.txt", b"x")]);
        for i in 0..4 {
            z = make_zip(&[(&format!("n{i}.zip"), &z)]);
        }
        let mut case = CaseInput::default();
        expand("top.zip", z, 1, &Limits::default(), &mut case);
        assert!(case.uploads.is_empty());
        assert!(case.skipped[0].reason.contains("nested deeper than 3"));
    }

    #[test]
    fn truncated_zip_is_a_skip_not_a_panic() {
        let z = make_zip(&[("a.txt", b"hello hello hello")]);
        let cut = z[..z.len() / 2].to_vec();
        let mut case = CaseInput::default();
        expand("t.zip", cut, 1, &Limits::default(), &mut case);
        assert!(case.uploads.is_empty());
        assert_eq!(case.skipped.len(), 1);
    }
}
