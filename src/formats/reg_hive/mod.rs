//! Binary registry hives (`regf`): `reg save` output and the hives of triage collections.
//!
//! A reader of our own in nt-hive's style: a borrowed byte slice, every offset and count
//! checked against the bytes really present, no recursion, caps on everything a hostile hive
//! could inflate. Layout facts: Maxim Suhanov's "Windows registry file format specification"
//! (msuhanov/regf). Only allocated cells are the registry; remnants of deleted keys are listed
//! apart ([`Hive::deleted_keys`]) and are never evidence.
//!
//! Entry points: [`Hive::open`] (with [`LogInput`]s to replay), [`read_paths`] (only the
//! named keys, as [`RegExport`] keys), [`parse`] / [`write_json_members`] (every key, for the
//! `parse` command), [`mount_from_path`] (whose hive it is) and [`pair_logs`].

pub mod base_block;
#[doc(hidden)]
pub mod build;
pub mod cell;
pub mod key_node;
pub mod log;
pub mod mount;
pub mod paged;
pub mod subkeys;
pub mod value;

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{self, Write};
use std::rc::Rc;

use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::formats::reg_export::{RegExport, RegKey, RegValue};
use crate::registry::{self, ValueType};

pub use base_block::BaseBlock;
pub use cell::Bins;
pub use key_node::KeyNode;
pub use log::{LogInput, LogReport};
pub use mount::{
    mount_from_path, pair_logs, AttributedBy, HiveAccount, HiveFileRole, HiveMount, StaleCopy,
};
pub use value::KeyValue;

/// Default cap on a hive's size (SOFTWARE hives exceed 100 MB; 1 GiB leaves room).
pub const DEFAULT_MAX_HIVE_BYTES: u64 = 1024 * 1024 * 1024;
/// Default cap on one value's data (as for `.reg` exports).
pub const DEFAULT_MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;
/// Default cap on key nesting (Windows allows 512 levels).
pub const DEFAULT_MAX_DEPTH: usize = 512;
/// Most deleted-key remnants listed.
pub const MAX_DELETED_LISTED: usize = 1000;

/// Everything that can be wrong in a hive or a log; positions are file byte offsets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HiveError {
    #[error("not a registry hive: expected `regf` at byte 0, found {found:02x?}")]
    NotAHive { found: [u8; 4] },
    #[error("file of {size} bytes is shorter than the {need} bytes of a base block")]
    ShortFile { size: u64, need: u64 },
    #[error("file type {file_type} at byte 28: a transaction log, not a primary hive")]
    NotPrimary { file_type: u32 },
    #[error("{size} bytes exceed the hive size cap of {cap} bytes")]
    TooLarge { size: u64, cap: u64 },
    #[error("byte {at}: {what} lies past the end of the file (the hive is truncated)")]
    Truncated { at: u64, what: &'static str },
    #[error("byte {at}: {what} lies outside the hive bins data ({bins_size} bytes)")]
    OutOfRange {
        at: u64,
        what: &'static str,
        bins_size: u64,
    },
    #[error("byte {at}: invalid offset for a {what}")]
    BadOffset { at: u64, what: &'static str },
    #[error("byte {at}: cell size {size} is invalid")]
    BadCellSize { at: u64, size: i32 },
    #[error("byte {at}: expected an allocated {what}, found a free cell")]
    Unallocated { at: u64, what: &'static str },
    #[error("byte {at}: expected signature {expected}")]
    BadSignature { at: u64, expected: &'static str },
    #[error("byte {at}: {what} needs {need} bytes, the cell holds {have}")]
    CellTooSmall {
        at: u64,
        what: &'static str,
        need: u64,
        have: u64,
    },
    #[error("byte {at}: value data of {size} bytes exceeds the cap of {cap} bytes")]
    ValueTooLarge { at: u64, size: u64, cap: u64 },
    #[error("byte {at}: key nested deeper than {cap} levels")]
    TooDeep { at: u64, cap: usize },
    #[error("byte {at}: subkey list leads back to byte {target} (a loop)")]
    Loop { at: u64, target: u64 },
    #[error("byte {at}: big data: {reason}")]
    BadBigData { at: u64, reason: &'static str },
    #[error("{file}, byte {at}: {reason}")]
    Log {
        file: String,
        at: u64,
        reason: String,
    },
    #[error("byte {at}: read failed: {reason}")]
    Read { at: u64, reason: String },
}

impl HiveError {
    /// The file byte offset the error concerns.
    pub fn offset(&self) -> Option<u64> {
        match self {
            HiveError::NotAHive { .. } => Some(0),
            HiveError::NotPrimary { .. } => Some(28),
            HiveError::ShortFile { .. } | HiveError::TooLarge { .. } => None,
            HiveError::Truncated { at, .. }
            | HiveError::OutOfRange { at, .. }
            | HiveError::BadOffset { at, .. }
            | HiveError::BadCellSize { at, .. }
            | HiveError::Unallocated { at, .. }
            | HiveError::BadSignature { at, .. }
            | HiveError::CellTooSmall { at, .. }
            | HiveError::ValueTooLarge { at, .. }
            | HiveError::TooDeep { at, .. }
            | HiveError::Loop { at, .. }
            | HiveError::BadBigData { at, .. }
            | HiveError::Log { at, .. }
            | HiveError::Read { at, .. } => Some(*at),
        }
    }

    /// Stable diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            HiveError::NotAHive { .. } | HiveError::ShortFile { .. } => "hive-unreadable",
            HiveError::NotPrimary { .. } => "hive-is-log",
            HiveError::TooLarge { .. } => "hive-too-large",
            HiveError::Truncated { .. } => "hive-truncated",
            HiveError::ValueTooLarge { .. } => "value-too-large",
            HiveError::TooDeep { .. } => "hive-too-deep",
            HiveError::Loop { .. } => "hive-loop",
            HiveError::Log { .. } => "hive-log-stopped",
            _ => "hive-corrupt",
        }
    }

    /// The error as a diagnostic located at its byte offset.
    pub fn diagnostic(&self, severity: Severity) -> Diagnostic {
        let d = Diagnostic::new(0, 0, severity, self.code(), self.to_string());
        match self.offset() {
            Some(at) => d.at_offset(at),
            None => d,
        }
    }
}

/// Caps applied to one hive and its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HiveLimits {
    /// Largest hive file, and largest size log replay may grow it to.
    pub max_hive_bytes: u64,
    /// Largest value data read.
    pub max_value_bytes: usize,
    /// Deepest key nesting walked.
    pub max_depth: usize,
}

impl Default for HiveLimits {
    fn default() -> Self {
        HiveLimits {
            max_hive_bytes: DEFAULT_MAX_HIVE_BYTES,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// Little-endian u16 at `at`, `None` past the end.
pub(crate) fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

/// Little-endian u32 at `at`, `None` past the end.
pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

/// Little-endian u64 at `at`, `None` past the end.
pub(crate) fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    let s: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(s))
}

/// The contract's `hive` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiveInfo {
    pub embedded_name: String,
    /// Primary and secondary sequence numbers as found (before any replay).
    pub sequence: [u32; 2],
    pub checksum_ok: bool,
    /// As found: sequence numbers differ or the checksum is wrong.
    pub dirty: bool,
    pub logs: Vec<LogReport>,
    /// The file ends before the hive bins data its header claims.
    pub truncated: bool,
    pub minor_version: u32,
}

/// One value of a hive key, data read exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiveValue {
    /// `""` for the default value.
    pub name: String,
    pub value_type: ValueType,
    pub bytes: Vec<u8>,
    /// Cell offset of the `vk` record (relative to the hive bins data).
    pub cell: u32,
}

impl Serialize for HiveValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Credentials in string values never reach output, as for `.reg` exports.
        let hidden = registry::redacted_string_bytes(self.value_type, &self.bytes);
        let shown = hidden.as_deref().unwrap_or(&self.bytes);
        let mut st = s.serialize_struct("HiveValue", 6)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("type", &self.value_type)?;
        st.serialize_field("type_code", &self.value_type.0)?;
        st.serialize_field("data_hex", &registry::hex_lower(shown))?;
        st.serialize_field("data", &registry::decoded_data(self.value_type, shown))?;
        if hidden.is_some() {
            st.serialize_field("redacted", &true)?;
        }
        st.end()
    }
}

/// One allocated key with its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiveKey {
    /// Relative to the hive root (`""` for the root itself).
    pub path: String,
    /// Cell offset of the `nk` record.
    pub cell: u32,
    pub values: Vec<HiveValue>,
}

impl HiveKey {
    /// The key as a `.reg` export key (`line` 0: hives have no lines).
    pub fn into_reg_key(self) -> RegKey {
        RegKey {
            path: self.path,
            line: 0,
            delete: false,
            values: self
                .values
                .into_iter()
                .map(HiveValue::into_reg_value)
                .collect(),
        }
    }
}

impl HiveValue {
    /// The value as a `.reg` export value (`line` 0).
    pub fn into_reg_value(self) -> RegValue {
        RegValue {
            name: self.name,
            value_type: self.value_type,
            type_code: self.value_type.0,
            bytes: Some(self.bytes),
            line: 0,
            delete: false,
        }
    }
}

/// The remnant of a deleted key found in a free cell (never evidence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletedKey {
    pub name: String,
    /// Path of its former parent when that key still exists.
    pub parent: Option<String>,
    pub cell: u32,
    /// Names of the values whose records are still readable.
    pub value_names: Vec<String>,
}

/// The bytes of an opened hive: in memory (borrowed, or owned after replay), or a file read
/// page by page for targeted lookups.
#[derive(Debug)]
enum HiveData<'a> {
    Memory(Cow<'a, [u8]>),
    Paged(paged::PagedFile),
}

/// An opened hive: the file bytes (replayed when logs applied) and what was found.
#[derive(Debug)]
pub struct Hive<'a> {
    data: HiveData<'a>,
    file_len: u64,
    base: BaseBlock,
    info: HiveInfo,
    limits: HiveLimits,
    /// Problems met while opening (dirty without logs, log entries refused).
    problems: Vec<(Severity, HiveError)>,
    dirty_without_logs: bool,
}

impl<'a> Hive<'a> {
    /// Opens a hive held in memory, replaying its logs when it is dirty. Fails only when the
    /// file is no primary hive at all (or is over the size cap).
    pub fn open(
        bytes: &'a [u8],
        logs: &[LogInput<'_>],
        limits: HiveLimits,
    ) -> Result<Self, HiveError> {
        Self::open_data(Cow::Borrowed(bytes), logs, limits)
    }

    /// [`Hive::open`] on bytes the hive keeps.
    pub fn open_owned(
        bytes: Vec<u8>,
        logs: &[LogInput<'_>],
        limits: HiveLimits,
    ) -> Result<Hive<'static>, HiveError> {
        Hive::open_data(Cow::Owned(bytes), logs, limits)
    }

    /// Opens a hive file for targeted reads without reading it whole: cells are read page by
    /// page as [`Hive::find_key`] follows them. With logs (a replay needs the whole hive) the
    /// file is read into memory, within the size cap.
    pub fn open_file(
        mut file: std::fs::File,
        logs: &[LogInput<'_>],
        limits: HiveLimits,
    ) -> Result<Hive<'static>, HiveError> {
        use std::io::Read;
        let read_err = |e: io::Error| HiveError::Read {
            at: 0,
            reason: e.to_string(),
        };
        let len = file.metadata().map_err(read_err)?.len();
        if len > limits.max_hive_bytes {
            return Err(HiveError::TooLarge {
                size: len,
                cap: limits.max_hive_bytes,
            });
        }
        if !logs.is_empty() {
            let mut bytes = Vec::new();
            (&mut file)
                .take(limits.max_hive_bytes.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(read_err)?;
            return Hive::open_owned(bytes, logs, limits);
        }
        let mut head = Vec::new();
        (&mut file)
            .take(base_block::BASE_BLOCK_LEN as u64)
            .read_to_end(&mut head)
            .map_err(read_err)?;
        let base = Self::primary_base_block(&head)?;
        let mut hive = Hive {
            info: Self::info_of(&base, Vec::new()),
            data: HiveData::Paged(paged::PagedFile::new(file, len)),
            file_len: len,
            dirty_without_logs: base.dirty(),
            base,
            limits,
            problems: Vec::new(),
        };
        hive.info.truncated = hive.bins().truncated();
        Ok(hive)
    }

    /// The base block of a primary hive (a log or another file is refused).
    fn primary_base_block(bytes: &[u8]) -> Result<BaseBlock, HiveError> {
        let found = BaseBlock::parse(bytes)?;
        if found.file_type != base_block::FILE_TYPE_PRIMARY {
            return Err(HiveError::NotPrimary {
                file_type: found.file_type,
            });
        }
        Ok(found)
    }

    /// The `hive` member as found (before any replay).
    fn info_of(found: &BaseBlock, logs: Vec<LogReport>) -> HiveInfo {
        HiveInfo {
            embedded_name: found.embedded_name.clone(),
            sequence: [found.primary_sequence, found.secondary_sequence],
            checksum_ok: found.checksum_ok,
            dirty: found.dirty(),
            logs,
            truncated: false,
            minor_version: found.minor_version,
        }
    }

    fn open_data(
        bytes: Cow<'a, [u8]>,
        logs: &[LogInput<'_>],
        limits: HiveLimits,
    ) -> Result<Self, HiveError> {
        if bytes.len() as u64 > limits.max_hive_bytes {
            return Err(HiveError::TooLarge {
                size: bytes.len() as u64,
                cap: limits.max_hive_bytes,
            });
        }
        let found = Self::primary_base_block(&bytes)?;
        let mut problems = Vec::new();
        let mut reports = Vec::new();
        let mut data = bytes;
        let mut base = found.clone();
        if !logs.is_empty() {
            let r = log::replay(&data, &found, logs, limits.max_hive_bytes);
            reports = r.reports;
            problems.extend(r.problems.into_iter().map(|e| (Severity::Warning, e)));
            if let Some(replayed) = r.bytes {
                base = BaseBlock::parse(&replayed)?;
                data = Cow::Owned(replayed);
            }
        }
        let mut hive = Hive {
            info: Self::info_of(&found, reports),
            file_len: data.len() as u64,
            data: HiveData::Memory(data),
            base,
            limits,
            problems,
            dirty_without_logs: found.dirty() && logs.is_empty(),
        };
        hive.info.truncated = hive.bins().truncated();
        Ok(hive)
    }

    /// The hive bins data, bounded by what the header claims and what the file holds.
    pub fn bins(&self) -> Bins<'_> {
        let claimed = u64::from(self.base.bins_size);
        let present = self
            .file_len
            .saturating_sub(base_block::BASE_BLOCK_LEN as u64);
        let claimed = if claimed != 0 && claimed.is_multiple_of(4096) {
            claimed
        } else {
            present
        };
        match &self.data {
            HiveData::Memory(bytes) => {
                let rest = bytes.get(base_block::BASE_BLOCK_LEN..).unwrap_or(&[]);
                let len = (rest.len() as u64).min(claimed) as usize;
                Bins::new(rest.get(..len).unwrap_or(&[]), claimed)
            }
            HiveData::Paged(file) => Bins::paged(file, claimed),
        }
    }

    /// The hive bytes in effect (after replay); `None` for a hive read page by page.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.data {
            HiveData::Memory(b) => Some(b),
            HiveData::Paged(_) => None,
        }
    }

    /// The `hive` member of the parse JSON.
    pub fn info(&self) -> &HiveInfo {
        &self.info
    }

    /// The base block in effect (after replay).
    pub fn base_block(&self) -> &BaseBlock {
        &self.base
    }

    /// Diagnostics from opening: truncation, dirty state, log replay.
    pub fn open_diagnostics(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .problems
            .iter()
            .map(|(s, e)| e.diagnostic(*s))
            .collect();
        if self.dirty_without_logs {
            out.push(Diagnostic::warning(
                0,
                0,
                "hive-dirty-no-logs",
                "the hive is dirty and its transaction logs (.LOG1/.LOG2) were not given: the newest writes may be missing",
            ));
        }
        if self.info.truncated {
            out.push(
                Diagnostic::warning(
                    0,
                    0,
                    "hive-truncated",
                    format!(
                        "the file ends at byte {} but its header claims {} bytes: keys past the cut are unknown",
                        self.file_len,
                        base_block::BASE_BLOCK_LEN as u64 + u64::from(self.base.bins_size)
                    ),
                )
                .at_offset(self.file_len),
            );
        }
        out
    }

    /// The root key node.
    pub fn root(&self) -> Result<KeyNode<'_>, HiveError> {
        KeyNode::read(&self.bins(), self.base.root_cell)
    }

    /// The values of `key`, each read exactly; unreadable ones are returned as errors.
    pub fn values(&self, key: &KeyNode<'_>) -> (Vec<HiveValue>, Vec<HiveError>) {
        let bins = self.bins();
        let mut errors = Vec::new();
        let offsets = match value::value_offsets(&bins, key) {
            Ok(o) => o,
            Err(e) => return (Vec::new(), vec![e]),
        };
        let mut out = Vec::with_capacity(offsets.len());
        for off in offsets {
            let read = KeyValue::read(&bins, off).and_then(|v| {
                let data = v.data(&bins, self.limits.max_value_bytes)?;
                Ok(HiveValue {
                    name: v.name().into_owned(),
                    value_type: ValueType(v.data_type),
                    bytes: data.into_owned(),
                    cell: off,
                })
            });
            match read {
                Ok(v) => out.push(v),
                Err(e) => errors.push(e),
            }
        }
        (out, errors)
    }

    /// Finds a key by its path relative to the root (components separated by `\`).
    /// `Ok(None)`: the key is absent. `Err`: it could not be decided (truncation, damage).
    pub fn find_key(&self, relative: &str) -> Result<Option<KeyNode<'_>>, HiveError> {
        let bins = self.bins();
        let mut key = self.root()?;
        let mut children = Vec::new();
        for (depth, part) in relative.split('\\').filter(|p| !p.is_empty()).enumerate() {
            if depth >= self.limits.max_depth {
                return Err(HiveError::TooDeep {
                    at: Bins::file_offset(key.offset),
                    cap: self.limits.max_depth,
                });
            }
            children.clear();
            subkeys::subkey_offsets(&bins, &key, &mut children)?;
            let mut undecided = None;
            let mut next = None;
            for off in &children {
                match KeyNode::read(&bins, *off) {
                    Ok(k) if k.name_matches(part) => {
                        next = Some(k);
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        undecided.get_or_insert(e);
                    }
                }
            }
            match (next, undecided) {
                (Some(k), _) => key = k,
                // A child we could not read might have been the one.
                (None, Some(e)) => return Err(e),
                (None, None) => return Ok(None),
            }
        }
        Ok(Some(key))
    }

    /// Every allocated key, parent before children, subkeys in list order (sorted by name in
    /// hives Windows writes), like a `.reg` export. Problems are reported and skipped.
    pub fn walk(
        &self,
        mut on_key: impl FnMut(&HiveKey) -> io::Result<()>,
        mut on_problem: impl FnMut(HiveError),
    ) -> io::Result<()> {
        let bins = self.bins();
        let root_path: Rc<str> = Rc::from("");
        let mut stack: Vec<(u32, Rc<str>, usize)> = vec![(self.base.root_cell, root_path, 0)];
        let mut visited: HashSet<u32> = HashSet::new();
        let mut children = Vec::new();
        let mut first = true;
        while let Some((off, parent, depth)) = stack.pop() {
            if !visited.insert(off) {
                on_problem(HiveError::Loop {
                    at: Bins::file_offset(off),
                    target: Bins::file_offset(off),
                });
                continue;
            }
            let key = match KeyNode::read(&bins, off) {
                Ok(k) => k,
                Err(e) => {
                    on_problem(e);
                    continue;
                }
            };
            let path: Rc<str> = if first {
                first = false;
                Rc::from("")
            } else if parent.is_empty() {
                Rc::from(key.name().as_ref())
            } else {
                Rc::from(format!("{parent}\\{}", key.name()))
            };
            let (values, errors) = self.values(&key);
            errors.into_iter().for_each(&mut on_problem);
            on_key(&HiveKey {
                path: path.to_string(),
                cell: off,
                values,
            })?;
            if key.subkey_count == 0 {
                continue;
            }
            if depth >= self.limits.max_depth {
                on_problem(HiveError::TooDeep {
                    at: Bins::file_offset(off),
                    cap: self.limits.max_depth,
                });
                continue;
            }
            children.clear();
            if let Err(e) = subkeys::subkey_offsets(&bins, &key, &mut children) {
                on_problem(e);
            }
            for child in children.iter().rev() {
                stack.push((*child, Rc::clone(&path), depth + 1));
            }
        }
        Ok(())
    }

    /// The relative path of an allocated key, following parent links (bounded, loop-safe).
    fn path_of(&self, offset: u32) -> Option<String> {
        let bins = self.bins();
        let mut names = Vec::new();
        let mut at = offset;
        let mut seen = HashSet::new();
        loop {
            if !seen.insert(at) || names.len() > self.limits.max_depth {
                return None;
            }
            let key = KeyNode::read(&bins, at).ok()?;
            if at == self.base.root_cell {
                break;
            }
            names.push(key.name().into_owned());
            at = key.parent;
        }
        names.reverse();
        Some(names.join("\\"))
    }

    /// Remnants of deleted keys: `nk` records in free cells (at most [`MAX_DELETED_LISTED`]).
    pub fn deleted_keys(&self) -> Vec<DeletedKey> {
        let bins = self.bins();
        let mut found = Vec::new();
        let _ = bins.scan(|c| {
            if c.allocated || found.len() >= MAX_DELETED_LISTED || c.data.get(..2) != Some(b"nk") {
                return;
            }
            if let Ok(k) = KeyNode::parse(c.data, c.offset) {
                found.push(k);
            }
        });
        found
            .into_iter()
            .map(|k| {
                let value_names = self.deleted_value_names(&k);
                DeletedKey {
                    name: k.name().into_owned(),
                    parent: self.path_of(k.parent),
                    cell: k.offset,
                    value_names,
                }
            })
            .collect()
    }

    /// Names of a deleted key's values whose records survive (free or reused cells).
    fn deleted_value_names(&self, key: &KeyNode<'_>) -> Vec<String> {
        let bins = self.bins();
        let Ok(list) = bins.cell_any(key.value_list, "value list") else {
            return Vec::new();
        };
        let count = (key.value_count as usize).min(list.data.len() / 4);
        (0..count)
            .filter_map(|i| le_u32(list.data, i * 4))
            .filter_map(|off| {
                let c = bins.cell_any(off, "value").ok()?;
                KeyValue::parse(c.data, off)
                    .ok()
                    .map(|v| v.name().into_owned())
            })
            .collect()
    }
}

/// The keys the proxy analysis needs in a user hive (`reg save HKU\S-1-5-19`, NTUSER.DAT,
/// DEFAULT), relative to the hive root.
pub const USER_PROXY_KEYS: [&str; 3] = [
    "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings",
    "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections",
    "Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings",
];

/// The keys the proxy analysis needs in a SOFTWARE hive: machine Internet Settings,
/// `WinHttpSettings` (Connections), the `ProxySettingsPerUser` policy, and their 32-bit views.
pub const SOFTWARE_PROXY_KEYS: [&str; 5] = [
    "Microsoft\\Windows\\CurrentVersion\\Internet Settings",
    "Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections",
    "Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings",
    "WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings",
    "WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections",
];

/// The proxy keys to read for a hive of this account (both sets when it is unknown).
pub fn proxy_key_paths(account: Option<&HiveAccount>) -> Vec<&'static str> {
    match account {
        Some(HiveAccount::Software) => SOFTWARE_PROXY_KEYS.to_vec(),
        Some(_) => USER_PROXY_KEYS.to_vec(),
        None => USER_PROXY_KEYS
            .iter()
            .chain(SOFTWARE_PROXY_KEYS.iter())
            .copied()
            .collect(),
    }
}

/// A key that could not be read: its state is unknown, never missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Relative to the hive root.
    pub path: String,
    pub error: HiveError,
}

/// The result of [`read_paths`].
#[derive(Debug, Clone, Default)]
pub struct TargetedRead {
    /// The keys found, shaped like a `.reg` export (`line` is 0: hives have no lines;
    /// the key's cell offset is in [`TargetedRead::cells`]).
    pub export: RegExport,
    /// `nk` cell offset of each key of `export.keys`, same order.
    pub cells: Vec<u32>,
    /// Requested keys that do not exist in the hive (relative paths).
    pub missing: Vec<String>,
    /// Requested keys whose existence could not be decided (truncated or damaged hive).
    pub unreadable: Vec<Unreadable>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads only the named keys (paths relative to the hive root), descending just those
/// paths. Keys get their full path (`HKEY_USERS\S-1-5-19\...`) when the mount is known,
/// else their relative path, so the `.reg` evidence code reads them unchanged.
pub fn read_paths(hive: &Hive<'_>, mount: &HiveMount, paths: &[&str]) -> TargetedRead {
    let mut out = TargetedRead {
        diagnostics: hive.open_diagnostics(),
        ..TargetedRead::default()
    };
    for rel in paths {
        let rel = rel.trim_matches('\\');
        match hive.find_key(rel) {
            Ok(Some(key)) => {
                let (values, mut errors) = hive.values(&key);
                if !errors.is_empty() {
                    // A value we could not read may be the one that matters: the key is
                    // unknown as a whole rather than shown without it.
                    let error = errors.swap_remove(0);
                    out.diagnostics.push(error.diagnostic(Severity::Warning));
                    out.unreadable.push(Unreadable {
                        path: rel.to_string(),
                        error,
                    });
                    continue;
                }
                out.export.keys.push(RegKey {
                    path: mount.full_path(rel).unwrap_or_else(|| rel.to_string()),
                    line: 0,
                    delete: false,
                    values: values.into_iter().map(HiveValue::into_reg_value).collect(),
                });
                out.cells.push(key.offset);
            }
            Ok(None) => out.missing.push(rel.to_string()),
            Err(error) => {
                out.diagnostics.push(error.diagnostic(Severity::Warning));
                out.unreadable.push(Unreadable {
                    path: rel.to_string(),
                    error,
                });
            }
        }
    }
    out
}

/// The `parse` result for a hive (the contract's `reg-hive` members).
#[derive(Debug, Clone, Serialize)]
pub struct HiveParse {
    pub hive: HiveInfo,
    /// `local_system`, `local_service`, `network_service`, `current_user`, `machine`, or null.
    pub principal: Option<&'static str>,
    pub attribution: Option<AttributedBy>,
    /// Where the root mounts (`HKEY_USERS\S-1-5-19`), when attributed.
    pub mount: Option<String>,
    /// Set for `RegBack\`, `Windows.old\` and shadow copies.
    pub stale: Option<StaleCopy>,
    /// A user hive's folder name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub keys: Vec<HiveKey>,
    pub deleted: Vec<DeletedKey>,
}

/// Header members shared by [`parse`] and [`write_json_members`].
fn attribution_of(hive: &Hive<'_>, path: &str) -> (HiveMount, Option<String>) {
    let mount = mount_from_path(path, &hive.info().embedded_name);
    let user = match &mount.account {
        Some(HiveAccount::User { name }) => Some(name.clone()),
        _ => None,
    };
    (mount, user)
}

/// Parses a whole hive (every allocated key) into memory. `path` attributes it.
pub fn parse(
    path: &str,
    bytes: &[u8],
    logs: &[LogInput<'_>],
    limits: HiveLimits,
) -> (Option<HiveParse>, Vec<Diagnostic>) {
    let hive = match Hive::open(bytes, logs, limits) {
        Ok(h) => h,
        Err(e) => return (None, vec![e.diagnostic(Severity::Error)]),
    };
    let mut diags = Diagnostics::default();
    diags.extend(hive.open_diagnostics());
    let mut keys = Vec::new();
    let walked = hive.walk(
        |k| {
            keys.push(k.clone());
            Ok(())
        },
        |e| diags.push(e.diagnostic(Severity::Warning)),
    );
    if let Err(e) = walked {
        diags.push(Diagnostic::error(0, 0, "hive-walk-failed", e.to_string()));
    }
    let (mount, user) = attribution_of(&hive, path);
    let parsed = HiveParse {
        hive: hive.info().clone(),
        principal: mount.account.as_ref().map(HiveAccount::principal),
        attribution: mount.attribution,
        mount: mount.full_path(""),
        stale: mount.stale,
        user,
        keys,
        deleted: hive.deleted_keys(),
    };
    (Some(parsed), diags.into_vec())
}

/// Streams the `reg-hive` members of the parse JSON (`"hive":...,"principal":...,"keys":[...],
/// "deleted":[...]`, no surrounding braces), key by key. Returns the diagnostics, or `None`
/// as the first element when the file is no hive at all (nothing was written).
pub fn write_json_members<W: Write>(
    path: &str,
    bytes: &[u8],
    logs: &[LogInput<'_>],
    limits: HiveLimits,
    out: &mut W,
) -> io::Result<(bool, Vec<Diagnostic>)> {
    let hive = match Hive::open(bytes, logs, limits) {
        Ok(h) => h,
        Err(e) => return Ok((false, vec![e.diagnostic(Severity::Error)])),
    };
    let mut diags = Diagnostics::default();
    diags.extend(hive.open_diagnostics());
    let (mount, user) = attribution_of(&hive, path);
    let head = serde_json::json!({
        "hive": hive.info(),
        "principal": mount.account.as_ref().map(HiveAccount::principal),
        "attribution": mount.attribution,
        "mount": mount.full_path(""),
        "stale": mount.stale,
    });
    let head = serde_json::to_string(&head).map_err(io::Error::other)?;
    // The object's members without its braces.
    out.write_all(
        head.get(1..head.len().saturating_sub(1))
            .unwrap_or("")
            .as_bytes(),
    )?;
    if let Some(u) = user {
        write!(
            out,
            ",\"user\":{}",
            serde_json::to_string(&u).map_err(io::Error::other)?
        )?;
    }
    out.write_all(b",\"keys\":[")?;
    let mut first = true;
    hive.walk(
        |k| {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut *out, k).map_err(io::Error::other)
        },
        |e| diags.push(e.diagnostic(Severity::Warning)),
    )?;
    out.write_all(b"],\"deleted\":")?;
    serde_json::to_writer(&mut *out, &hive.deleted_keys()).map_err(io::Error::other)?;
    Ok((true, diags.into_vec()))
}
