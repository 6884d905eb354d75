//! Where bytes come from: files, folders (walkdir), `.zip` archives read in memory (never
//! extracted), and stdin — each with caps on every size that comes from the data.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::text::escape_control;

pub mod read_ahead;
pub mod zip_archive;

/// Caps applied to everything read from customer data.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file read from disk or stdin.
    pub max_file: u64,
    /// Largest archive entry inflated in memory.
    pub max_entry: u64,
    /// Total bytes inflated from one archive (with its nested archives).
    pub max_archive_total: u64,
    /// Deepest nesting of archives inside archives.
    pub max_zip_depth: u32,
    /// Most entries read from one archive.
    pub max_entries: usize,
    /// Follow symbolic links (with loop detection).
    pub follow_links: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file: 2048 * 1024 * 1024,
            max_entry: 64 * 1024 * 1024,
            max_archive_total: 1024 * 1024 * 1024,
            max_zip_depth: 3,
            max_entries: 10_000,
            follow_links: false,
        }
    }
}

/// Why an input (or part of one) was skipped.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
    #[error("not a regular file ({0}); skipped")]
    NotRegular(&'static str),
    #[error("symbolic link not followed (use --follow-links)")]
    SymlinkNotFollowed,
    #[error("symbolic link loop")]
    SymlinkLoop,
    #[error(
        "larger than the {limit_mib} MiB limit ({size} bytes); skipped (raise --max-file-mib)"
    )]
    TooLarge { size: u64, limit_mib: u64 },
    #[error("archive: {0}")]
    Archive(String),
}

/// Files larger than this are read ahead on a helper thread.
const READ_AHEAD_FROM: u64 = 16 * 1024 * 1024;

/// Files up to this size are read whole when opened (see [`Upload::open`]).
const SMALL_FILE: usize = 32 * 1024;

/// Where one upload's bytes are.
#[derive(Debug, Clone)]
pub enum Source {
    /// A regular file on disk, opened when it is parsed (streamed, never loaded whole).
    File(PathBuf),
    /// Bytes already in memory (archive entries, stdin).
    Memory(std::sync::Arc<Vec<u8>>),
}

/// One file of a case.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Display name: the path as given, `archive.zip!entry` inside archives.
    pub name: String,
    pub source: Source,
}

impl Upload {
    /// Opens the upload for reading, capped at `max_file` bytes.
    pub fn open(&self, max_file: u64) -> io::Result<Box<dyn Read + Send + '_>> {
        match &self.source {
            Source::File(p) => {
                let mut file = File::open(p)?;
                // Most uploads are small: read whole by the first read, they need neither the
                // size check's `fstat` nor another read to find their end (two system calls
                // less per file in a batch of ten thousand).
                let mut head = Vec::with_capacity(SMALL_FILE + 1);
                (&mut file)
                    .take(SMALL_FILE as u64 + 1)
                    .read_to_end(&mut head)?;
                if head.len() <= SMALL_FILE && head.len() as u64 <= max_file {
                    return Ok(Box::new(Cursor::new(head)));
                }
                // The size is checked here, on the open file, not while walking a folder: one
                // `fstat` per file instead of a path lookup more.
                let len = file.metadata()?.len();
                if len > max_file {
                    return Err(io::Error::new(
                        io::ErrorKind::FileTooLarge,
                        InputError::TooLarge {
                            size: len,
                            limit_mib: max_file / (1024 * 1024),
                        }
                        .to_string(),
                    ));
                }
                let whole = Cursor::new(head).chain(file).take(max_file);
                // Large files are read one step ahead on another core.
                if len > READ_AHEAD_FROM {
                    Ok(Box::new(read_ahead::ReadAhead::new(whole)?))
                } else {
                    Ok(Box::new(whole))
                }
            }
            Source::Memory(b) => Ok(Box::new(Cursor::new(b.as_slice()))),
        }
    }
}

/// An input that was skipped, with the reason (shown as a diagnostic; exit code 2).
#[derive(Debug, Clone)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// Everything that makes one case: its name, its uploads, and what had to be skipped.
#[derive(Debug, Clone, Default)]
pub struct CaseInput {
    pub name: String,
    pub uploads: Vec<Upload>,
    pub skipped: Vec<Skipped>,
}

/// A display name safe for terminals; bytes that are not UTF-8 are shown as `\xNN` (not
/// U+FFFD), so two odd names never look alike.
pub fn display_name(path: &Path) -> String {
    escape_control(&lossless_name(path.as_os_str())).into_owned()
}

#[cfg(unix)]
fn lossless_name(name: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    if let Some(valid) = name.to_str() {
        return std::borrow::Cow::Borrowed(valid);
    }
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(not(unix))]
fn lossless_name(name: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    name.to_string_lossy()
}

/// The path named on the command line does not exist (nor does a link's target): the
/// commands exit 2 with one line for it instead of reading an empty case.
pub fn path_is_missing(path: &Path) -> bool {
    matches!(
        std::fs::metadata(path),
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
    )
}

/// The one-line message for a path that [`path_is_missing`].
pub fn missing_message(path: &Path) -> String {
    format!("{}: no such file or directory", display_name(path))
}

/// The cases for `PATH...` as [`case_roots`] groups them, expanded.
pub fn cases_from_paths(paths: &[PathBuf], limits: &Limits) -> Vec<CaseInput> {
    let (roots, _) = case_roots(paths);
    roots.iter().map(|r| case_from_root(r, limits)).collect()
}

/// What one case is made of on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRoot {
    /// A folder, an archive or stdin: one case.
    Path(PathBuf),
    /// A folder its directory listing showed to be one (a `--batch` entry that is not a
    /// link): walked without looking again at what it is.
    Folder(PathBuf),
    /// All loose files of one command line: one case, named after their common folder.
    Files(Vec<PathBuf>),
}

/// Groups command-line paths into cases: each folder or archive is a case; all loose files
/// together are one case (at the place of the first). Paths that do not exist are returned
/// apart, with the reason, and make no case.
pub fn case_roots(paths: &[PathBuf]) -> (Vec<CaseRoot>, Vec<Skipped>) {
    let mut roots = Vec::new();
    let mut missing = Vec::new();
    let mut loose: Option<usize> = None;
    for p in paths {
        if p.as_os_str() == "-" {
            roots.push(CaseRoot::Path(p.clone()));
            continue;
        }
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) => {
                missing.push(Skipped {
                    name: display_name(p),
                    reason: InputError::Io(e).to_string(),
                });
                continue;
            }
        };
        if meta.is_dir() || is_archive_file(p) {
            roots.push(CaseRoot::Path(p.clone()));
            continue;
        }
        match loose.and_then(|i| roots.get_mut(i)) {
            Some(CaseRoot::Files(files)) => files.push(p.clone()),
            _ => {
                loose = Some(roots.len());
                roots.push(CaseRoot::Files(vec![p.clone()]));
            }
        }
    }
    (roots, missing)
}

/// A file whose first bytes are a zip archive's.
fn is_archive_file(path: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| zip_archive::is_zip(&head))
}

/// The display name of a case root.
pub fn root_name(root: &CaseRoot) -> String {
    match root {
        CaseRoot::Path(p) | CaseRoot::Folder(p) => display_name(p),
        CaseRoot::Files(files) => common_folder_name(files),
    }
}

/// The name of the deepest folder holding every file (the working folder's name when the
/// files are given without one).
fn common_folder_name(files: &[PathBuf]) -> String {
    let parents: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            let abs = if f.is_absolute() {
                f.clone()
            } else {
                std::env::current_dir()
                    .map(|d| d.join(f))
                    .unwrap_or_else(|_| f.clone())
            };
            abs.parent().map(Path::to_path_buf).unwrap_or_default()
        })
        .collect();
    let mut common: Option<PathBuf> = None;
    for p in parents {
        common = Some(match common {
            None => p,
            Some(c) => {
                let mut out = PathBuf::new();
                for (a, b) in c.components().zip(p.components()) {
                    if a != b {
                        break;
                    }
                    out.push(a.as_os_str());
                }
                out
            }
        });
    }
    common
        .as_deref()
        .and_then(Path::file_name)
        .map(|n| escape_control(&lossless_name(n)).into_owned())
        .unwrap_or_else(|| "files".to_string())
}

/// Expands one case root (walks folders, reads archives lazily later).
pub fn case_from_root(root: &CaseRoot, limits: &Limits) -> CaseInput {
    match root {
        CaseRoot::Path(p) => case_from_path(p, limits),
        CaseRoot::Folder(p) => {
            let mut case = CaseInput {
                name: case_name(p),
                ..CaseInput::default()
            };
            walk_folder(p, limits, &mut case);
            case
        }
        CaseRoot::Files(files) => {
            let mut case = CaseInput {
                name: common_folder_name(files),
                ..CaseInput::default()
            };
            for f in files {
                let one = case_from_path(f, limits);
                case.uploads.extend(one.uploads);
                case.skipped.extend(one.skipped);
            }
            case
        }
    }
}

/// The case roots of `--batch DIR`: each entry directly under DIR, sorted by name. Each is
/// expanded with [`case_from_root`] only when its case is analysed, so a day of tickets never
/// sits in memory at once. Folders (by the listing's file type, links excluded) are
/// [`CaseRoot::Folder`]: one system call less per case than finding out again.
pub fn batch_entries(dir: &Path) -> Result<Vec<CaseRoot>, InputError> {
    let mut entries: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)?
        .filter_map(|e| {
            let e = e.ok()?;
            let folder = e.file_type().is_ok_and(|t| t.is_dir());
            Some((e.path(), folder))
        })
        .collect();
    entries.sort();
    Ok(entries
        .into_iter()
        .map(|(path, folder)| {
            if folder {
                CaseRoot::Folder(path)
            } else {
                CaseRoot::Path(path)
            }
        })
        .collect())
}

/// One case from one path given by the user (`-` is stdin).
pub fn case_from_path(path: &Path, limits: &Limits) -> CaseInput {
    let name = display_name(path);
    let mut case = CaseInput {
        name: case_name(path),
        ..CaseInput::default()
    };
    if path.as_os_str() == "-" {
        case.name = "stdin".to_string();
        let mut buf = Vec::new();
        match io::stdin()
            .lock()
            .take(limits.max_file)
            .read_to_end(&mut buf)
        {
            Ok(_) => case.uploads.push(Upload {
                name: "-".to_string(),
                source: Source::Memory(std::sync::Arc::new(buf)),
            }),
            Err(e) => case.skipped.push(Skipped {
                name,
                reason: InputError::Io(e).to_string(),
            }),
        }
        return case;
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => {
            case.skipped.push(Skipped {
                name,
                reason: InputError::Io(e).to_string(),
            });
            return case;
        }
    };
    // A path named on the command line is followed even when it is a link: the user chose it.
    let meta = if meta.file_type().is_symlink() {
        match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                case.skipped.push(Skipped {
                    name,
                    reason: InputError::Io(e).to_string(),
                });
                return case;
            }
        }
    } else {
        meta
    };
    if meta.is_dir() {
        walk_folder(path, limits, &mut case);
    } else {
        add_file(path, &meta, &mut case);
    }
    case
}

fn case_name(path: &Path) -> String {
    let base = path
        .file_name()
        .map(lossless_name)
        .unwrap_or_else(|| lossless_name(path.as_os_str()));
    escape_control(&base).into_owned()
}

/// `ELOOP`: a link that resolves to itself (too many levels of symbolic links).
#[cfg(target_os = "linux")]
const ELOOP: Option<i32> = Some(40);
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
const ELOOP: Option<i32> = Some(62);
#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
)))]
const ELOOP: Option<i32> = None;

fn walk_folder(root: &Path, limits: &Limits, case: &mut CaseInput) {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(limits.follow_links)
        .sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let name = e
                    .path()
                    .map(display_name)
                    .unwrap_or_else(|| display_name(root));
                let eloop = e
                    .io_error()
                    .and_then(io::Error::raw_os_error)
                    .is_some_and(|c| Some(c) == ELOOP);
                let reason = if e.loop_ancestor().is_some() || eloop {
                    InputError::SymlinkLoop.to_string()
                } else {
                    format!("cannot read: {e}")
                };
                case.skipped.push(Skipped { name, reason });
                continue;
            }
        };
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let name = display_name(entry.path());
        if ft.is_symlink() {
            case.skipped.push(Skipped {
                name,
                reason: InputError::SymlinkNotFollowed.to_string(),
            });
            continue;
        }
        if ft.is_file() {
            // The type comes from the directory listing; the size is checked when it is opened.
            case.uploads.push(Upload {
                name,
                source: Source::File(entry.path().to_path_buf()),
            });
            continue;
        }
        match entry.metadata() {
            Ok(meta) => add_file(entry.path(), &meta, case),
            Err(e) => case.skipped.push(Skipped {
                name,
                reason: format!("cannot read: {e}"),
            }),
        }
    }
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let ft = meta.file_type();
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

fn add_file(path: &Path, meta: &std::fs::Metadata, case: &mut CaseInput) {
    let name = display_name(path);
    if !meta.is_file() {
        case.skipped.push(Skipped {
            name,
            reason: InputError::NotRegular(file_kind(meta)).to_string(),
        });
        return;
    }
    // The size is checked when the file is opened (`Upload::open`), as for files of folders.
    // Archives are recognised by their first bytes when the upload is read (one open per
    // file), and expanded in memory there: see `case::assemble`.
    case.uploads.push(Upload {
        name,
        source: Source::File(path.to_path_buf()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_entries_are_sorted_and_only_real_folders_skip_the_second_look() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("b-folder")).expect("folder");
        std::fs::write(d.join("a-file.txt"), b"x").expect("file");
        #[cfg(unix)]
        std::os::unix::fs::symlink(d.join("b-folder"), d.join("c-link")).expect("link");
        let entries = batch_entries(d).expect("listing");
        let mut want = vec![
            CaseRoot::Path(d.join("a-file.txt")),
            CaseRoot::Folder(d.join("b-folder")),
        ];
        #[cfg(unix)]
        want.push(CaseRoot::Path(d.join("c-link")));
        assert_eq!(entries, want);
        // A folder root gives the case a folder path gives.
        let limits = Limits::default();
        let by_folder = case_from_root(&CaseRoot::Folder(d.join("b-folder")), &limits);
        let by_path = case_from_root(&CaseRoot::Path(d.join("b-folder")), &limits);
        assert_eq!(
            (
                by_folder.name,
                by_folder.uploads.len(),
                by_folder.skipped.len()
            ),
            (by_path.name, by_path.uploads.len(), by_path.skipped.len())
        );
    }

    #[test]
    fn missing_paths_are_told_apart_from_unreadable_ones() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let file = dir.path().join("a.reg");
        std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("write: {e}"));
        assert!(!path_is_missing(dir.path()));
        assert!(!path_is_missing(&file));
        assert!(path_is_missing(&dir.path().join("nope.reg")));
        // A path through a file is missing too (ENOTDIR).
        assert!(path_is_missing(&file.join("x")));
        #[cfg(unix)]
        {
            let link = dir.path().join("dangling");
            std::os::unix::fs::symlink(dir.path().join("gone"), &link)
                .unwrap_or_else(|e| panic!("symlink: {e}"));
            assert!(path_is_missing(&link));
        }
        assert_eq!(
            missing_message(Path::new("up\nload")),
            "up\\u{a}load: no such file or directory"
        );
    }

    #[test]
    fn small_and_large_files_read_back_whole_and_the_limit_holds_for_both() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let read = |bytes: &[u8], max_file: u64| {
            let path = dir.path().join("upload.bin");
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write: {e}"));
            let upload = Upload {
                name: "upload.bin".into(),
                source: Source::File(path),
            };
            let mut out = Vec::new();
            upload
                .open(max_file)
                .and_then(|mut r| r.read_to_end(&mut out))
                .map(|_| out)
        };
        let mib = 1024 * 1024;
        // Read whole by the first read, at the boundary, and past it (then the size is checked).
        for len in [
            0,
            1,
            SMALL_FILE - 1,
            SMALL_FILE,
            SMALL_FILE + 1,
            3 * SMALL_FILE + 7,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            assert_eq!(read(&bytes, mib).ok(), Some(bytes), "{len} bytes");
        }
        let too_big = vec![b'x'; mib as usize + 1];
        let err = read(&too_big, mib).err();
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::FileTooLarge));
    }
}
