//! The files this tool writes for the customer (`fix`'s fix.reg, scripts and README) carry a
//! marker line, so that when they come back inside an upload they are listed and ignored,
//! never read as customer evidence. The marker is written by `fix` and recognised here, below
//! every layer that needs it.

/// Text every marker line carries (version-independent).
pub const MARKER_TAG: &str = "written by proxy-triage fix ";
/// Second half of every marker line.
pub const MARKER_TAIL: &str = "not customer evidence";

/// Searchers for the marker tag as 8-bit text and as UTF-16LE, built once.
static TAG_FINDERS: std::sync::LazyLock<(
    memchr::memmem::Finder<'static>,
    memchr::memmem::Finder<'static>,
)> = std::sync::LazyLock::new(|| {
    let tag16: Vec<u8> = MARKER_TAG
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    (
        memchr::memmem::Finder::new(MARKER_TAG.as_bytes()),
        memchr::memmem::Finder::new(&tag16).into_owned(),
    )
});

/// Why a file is one this tool wrote (a `fix` output carrying its marker line), or `None`.
/// `first_bytes` needs only the first few hundred bytes; UTF-16LE and ASCII are recognised.
pub fn is_own_file(name: &str, first_bytes: &[u8]) -> Option<String> {
    let head = first_bytes.get(..first_bytes.len().min(1024))?;
    // Most uploads are customer files: look for the tag's bytes before decoding anything.
    let (tag8, tag16) = &*TAG_FINDERS;
    if tag8.find(head).is_none() && tag16.find(head).is_none() {
        return None;
    }
    let text = match head.strip_prefix(&[0xFF, 0xFE]) {
        Some(rest) => utf16le(rest),
        None => String::from_utf8_lossy(head).into_owned(),
    };
    let line = text.lines().take(3).find(|l| {
        let t = l.trim_start();
        t.contains(MARKER_TAG)
            && t.contains(MARKER_TAIL)
            && [";", "rem ", "REM ", "["].iter().any(|c| t.starts_with(c))
    })?;
    let what = line
        .split_once(MARKER_TAG)
        .and_then(|(_, r)| r.split_once('('))
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(n, _)| n)
        .unwrap_or("a fix file");
    Some(format!(
        "{}: written by proxy-triage fix ({}), not customer evidence",
        crate::text::escape_control(name),
        crate::text::escape_control(what)
    ))
}

/// UTF-16LE bytes as text (an odd last byte is dropped, lone surrogates become U+FFFD).
pub(crate) fn utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| match p {
            [a, b] => u16::from_le_bytes([*a, *b]),
            _ => 0xFFFD,
        })
        .collect();
    String::from_utf16_lossy(&units)
}
