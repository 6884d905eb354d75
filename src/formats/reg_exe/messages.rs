//! reg.exe's messages in the languages found in real captures: errors, usage, success and the
//! comparison verdict. Shared by the `reg compare` and `reg query` parsers and by detection.

use serde::Serialize;

use crate::formats::powershell;

/// The verdict of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareResult {
    /// `Result Compared: Identical` (or exit code 0).
    Identical,
    /// `Result Compared: Different`, or `<`/`>` lines whatever the language.
    Different,
    /// The not-found error: the documented procedure reads it as "no proxy for that account".
    Missing,
    /// Any other error.
    Error,
}

/// What kind of error reg.exe printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    AccessDenied,
    InvalidSyntax,
    InvalidKey,
    Other,
}

/// A message reg.exe prints, recognised in one of the known languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Error(ErrorKind),
    /// `Type "REG COMPARE /?" for usage.`
    Usage,
    /// `The operation completed successfully.`
    Success,
    /// `Result Compared:  Different` (the verdict word in any known language).
    Result(CompareResult),
}

/// A recognised message and the language it was written in (null when it says nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Localized {
    pub message: Message,
    pub language: Option<&'static str>,
}

const MESSAGES: &[(&str, Message, &str)] = &[
    (
        "unable to find the specified registry key or value",
        Message::Error(ErrorKind::NotFound),
        "en",
    ),
    (
        "registrierungsschlüssel bzw. wert wurde nicht gefunden",
        Message::Error(ErrorKind::NotFound),
        "de",
    ),
    (
        "la clé ou la valeur de registre",
        Message::Error(ErrorKind::NotFound),
        "fr",
    ),
    (
        "no pudo encontrar la clave o el valor del registro",
        Message::Error(ErrorKind::NotFound),
        "es",
    ),
    (
        "キーまたは値が見つかりません",
        Message::Error(ErrorKind::NotFound),
        "ja",
    ),
    // pl, cs, tr: only as Microsoft's localized Defender docs quote the message (low
    // confidence, see docs/languages.md); the stem common to the quotes is matched.
    (
        "odnaleźć określonego klucza rejestru",
        Message::Error(ErrorKind::NotFound),
        "pl",
    ),
    (
        "nelze najít zadaný klíč registru",
        Message::Error(ErrorKind::NotFound),
        "cs",
    ),
    (
        "belirtilen kayıt defteri anahtarını veya değerini bulamadı",
        Message::Error(ErrorKind::NotFound),
        "tr",
    ),
    (
        "access is denied",
        Message::Error(ErrorKind::AccessDenied),
        "en",
    ),
    (
        "zugriff verweigert",
        Message::Error(ErrorKind::AccessDenied),
        "de",
    ),
    (
        "accès refusé",
        Message::Error(ErrorKind::AccessDenied),
        "fr",
    ),
    (
        "acceso denegado",
        Message::Error(ErrorKind::AccessDenied),
        "es",
    ),
    (
        "アクセスが拒否されました",
        Message::Error(ErrorKind::AccessDenied),
        "ja",
    ),
    (
        "invalid syntax",
        Message::Error(ErrorKind::InvalidSyntax),
        "en",
    ),
    (
        "ungültige syntax",
        Message::Error(ErrorKind::InvalidSyntax),
        "de",
    ),
    (
        "syntaxe non valide",
        Message::Error(ErrorKind::InvalidSyntax),
        "fr",
    ),
    (
        "sintaxis no válida",
        Message::Error(ErrorKind::InvalidSyntax),
        "es",
    ),
    (
        "構文が無効です",
        Message::Error(ErrorKind::InvalidSyntax),
        "ja",
    ),
    (
        "invalid key name",
        Message::Error(ErrorKind::InvalidKey),
        "en",
    ),
    (
        "ungültiger schlüsselname",
        Message::Error(ErrorKind::InvalidKey),
        "de",
    ),
    (
        "nom de clé non valide",
        Message::Error(ErrorKind::InvalidKey),
        "fr",
    ),
    (
        "nombre de clave no válido",
        Message::Error(ErrorKind::InvalidKey),
        "es",
    ),
    (
        "キー名が無効です",
        Message::Error(ErrorKind::InvalidKey),
        "ja",
    ),
    (
        "the operation completed successfully",
        Message::Success,
        "en",
    ),
    (
        "der vorgang wurde erfolgreich beendet",
        Message::Success,
        "de",
    ),
    ("l'opération a réussi", Message::Success, "fr"),
    ("l’opération a réussi", Message::Success, "fr"),
    (
        "la operación se completó correctamente",
        Message::Success,
        "es",
    ),
    ("この操作を正しく終了しました", Message::Success, "ja"),
];

const ERROR_PREFIXES: &[(&str, Option<&str>)] = &[
    ("error:", None),
    ("fehler:", Some("de")),
    ("erreur :", Some("fr")),
    ("erreur:", Some("fr")),
    ("エラー:", Some("ja")),
    ("błąd:", Some("pl")),
    ("chyba:", Some("cs")),
    ("hata:", Some("tr")),
];

const RESULT_LABELS: &[(&str, &str)] = &[
    ("result compared", "en"),
    ("ergebnis verglichen", "de"),
    ("résultat comparé", "fr"),
    ("resultado comparado", "es"),
    ("比較結果", "ja"),
];

const RESULT_WORDS: &[(&str, CompareResult, &str)] = &[
    ("different", CompareResult::Different, "en"),
    ("identical", CompareResult::Identical, "en"),
    ("unterschiedlich", CompareResult::Different, "de"),
    ("identisch", CompareResult::Identical, "de"),
    ("différent", CompareResult::Different, "fr"),
    ("identique", CompareResult::Identical, "fr"),
    ("diferente", CompareResult::Different, "es"),
    ("idéntico", CompareResult::Identical, "es"),
    ("idéntica", CompareResult::Identical, "es"),
    ("異なる", CompareResult::Different, "ja"),
    ("同一", CompareResult::Identical, "ja"),
];

/// True when a line starts with reg.exe's error prefix in a known language.
pub fn has_error_prefix(line: &str) -> bool {
    let s = powershell::strip_native_prefix(line).trim_start();
    // Every prefix starts with e, f, c, h, b (any case) or エ: most lines stop here.
    let plausible = match s.as_bytes().first() {
        Some(b) if b.is_ascii() => {
            matches!(b.to_ascii_lowercase(), b'e' | b'f' | b'c' | b'h' | b'b')
        }
        Some(_) => s.starts_with('エ'),
        None => false,
    };
    if !plausible {
        return false;
    }
    // The lowercased first eight characters (the longest prefix), on the stack: this runs
    // for every line of every capture.
    let mut buf = [0u8; 96];
    let mut len = 0;
    for lower in s.chars().take(8).flat_map(char::to_lowercase) {
        let mut utf8 = [0u8; 4];
        let bytes = lower.encode_utf8(&mut utf8).as_bytes();
        let Some(slot) = buf.get_mut(len..len + bytes.len()) else {
            break;
        };
        slot.copy_from_slice(bytes);
        len += bytes.len();
    }
    let head = buf.get(..len).unwrap_or_default();
    ERROR_PREFIXES
        .iter()
        .any(|(p, _)| head.starts_with(p.as_bytes()))
}

/// The [`MESSAGES`] automaton, built once: one pass over a line instead of one search per
/// message and language.
static MESSAGE_SEARCH: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(MESSAGES.iter().map(|(needle, _, _)| needle))
            .ok()
    });

/// Builds the message automaton now (see [`crate::pipeline::warm_up`]).
pub fn warm_up() {
    std::sync::LazyLock::force(&MESSAGE_SEARCH);
}

/// The first entry of [`MESSAGES`] (in table order) whose needle occurs in `collapsed`.
fn first_message_in(collapsed: &str) -> Option<&'static (&'static str, Message, &'static str)> {
    match &*MESSAGE_SEARCH {
        Some(ac) => ac
            .find_overlapping_iter(collapsed)
            .map(|m| m.pattern().as_usize())
            .min()
            .and_then(|i| MESSAGES.get(i)),
        None => MESSAGES.iter().find(|(n, _, _)| collapsed.contains(n)),
    }
}

/// Recognises a reg.exe message (error, usage, success, verdict) in a known language.
pub fn classify(line: &str) -> Option<Localized> {
    let s = powershell::strip_native_prefix(line).trim();
    if s.is_empty() || s.len() > 2048 {
        return None;
    }
    // Value and key lines (`< Value: …`, `    Name    REG_BINARY    …`) are never messages;
    // skipping them keeps long hex data out of the message search.
    if s.contains(" REG_") || s.starts_with("< ") || s.starts_with("> ") || s.starts_with("= ") {
        return None;
    }
    let collapsed: String = {
        let mut out = String::with_capacity(s.len());
        let mut blank = false;
        for c in s.chars() {
            if c.is_whitespace() {
                if !blank {
                    out.push(' ');
                }
                blank = true;
            } else {
                if c.is_ascii() {
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.extend(c.to_lowercase());
                }
                blank = false;
            }
        }
        out
    };
    if let Some((_, message, lang)) = first_message_in(&collapsed) {
        return Some(Localized {
            message: *message,
            language: Some(lang),
        });
    }
    if collapsed.contains("reg compare /?") || collapsed.contains("reg query /?") {
        return Some(Localized {
            message: Message::Usage,
            language: None,
        });
    }
    for (prefix, lang) in ERROR_PREFIXES {
        if collapsed.starts_with(prefix) {
            return Some(Localized {
                message: Message::Error(ErrorKind::Other),
                language: *lang,
            });
        }
    }
    // The verdict: `label : word`, known label or known word.
    let (label, word) = collapsed.split_once(':')?;
    let (label, word) = (label.trim(), word.trim().trim_end_matches('.'));
    if label.is_empty() || label.chars().count() > 40 || label.contains('\\') {
        return None;
    }
    let known_label = RESULT_LABELS.iter().find(|(l, _)| label == *l);
    let known_word = RESULT_WORDS.iter().find(|(w, _, _)| word == *w);
    match (known_label, known_word) {
        (Some((_, ll)), Some((_, r, _))) => Some(Localized {
            message: Message::Result(*r),
            language: Some(ll),
        }),
        (None, Some((_, r, wl))) => Some(Localized {
            message: Message::Result(*r),
            language: Some(wl),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_prefix_is_found_in_any_case_and_after_a_native_prefix() {
        for (prefix, _) in ERROR_PREFIXES {
            let mut capitalised: Vec<char> = prefix.chars().collect();
            if let Some(first) = capitalised.first_mut() {
                *first = first.to_uppercase().next().unwrap_or(*first);
            }
            let capitalised: String = capitalised.into_iter().collect();
            for form in [prefix.to_string(), capitalised, prefix.to_uppercase()] {
                let line = format!("{form} the system was unable to find the key");
                assert!(has_error_prefix(&line), "{line}");
                assert!(has_error_prefix(&format!("reg : {line}")), "{line}");
                assert!(has_error_prefix(&format!("   {line}")), "{line}");
            }
        }
        for other in [
            "",
            "< Value: HKEY_USERS\\S-1-5-18",
            "C:\\>reg compare",
            "Errors: none",
            "Eroare: nu",
            "エ",
        ] {
            assert!(!has_error_prefix(other), "{other}");
        }
    }
}
