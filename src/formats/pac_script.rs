//! A proxy auto-config script (`proxy.pac`, `wpad.dat`): which entry points it defines and
//! how big it is. Evaluation is [`crate::pac`]'s business; parsing never runs the script.

use serde::Serialize;

use crate::diag::Diagnostic;

/// A PAC entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EntryPoint {
    /// Netscape's entry point.
    FindProxyForURL,
    /// Microsoft's IPv6-aware entry point, preferred by Windows when defined.
    FindProxyForURLEx,
}

impl EntryPoint {
    pub fn name(self) -> &'static str {
        match self {
            EntryPoint::FindProxyForURL => "FindProxyForURL",
            EntryPoint::FindProxyForURLEx => "FindProxyForURLEx",
        }
    }
}

/// What `parse` reports about a PAC script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacScript {
    /// Entry points declared (`function FindProxyForURL(`, `FindProxyForURLEx = function`),
    /// in the order Windows prefers them (Ex first).
    pub entry_points: Vec<EntryPoint>,
    /// Size of the decoded script in UTF-8 bytes.
    pub size_bytes: usize,
    /// Number of lines.
    pub lines: usize,
}

/// The `pac` member of the parse JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacScriptCapture {
    pub pac: PacScript,
    /// The script itself, for the analyser to evaluate (never printed by `parse`).
    #[serde(skip)]
    pub source: String,
}

/// Entry points a script declares, outside `//` comments, Ex first.
pub fn entry_points_defined(text: &str) -> Vec<EntryPoint> {
    let mut plain = false;
    let mut ex = false;
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut from = 0;
        while let Some(pos) = code.get(from..).and_then(|s| s.find("FindProxyForURL")) {
            let start = from + pos;
            let after = start + "FindProxyForURL".len();
            from = after;
            let rest = code.get(after..).unwrap_or("");
            let (is_ex, rest) = match rest.strip_prefix("Ex") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            if rest
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
            {
                continue;
            }
            let before = code.get(..start).unwrap_or("").trim_end();
            let declared = (before.ends_with("function") && rest.trim_start().starts_with('('))
                || rest
                    .trim_start()
                    .strip_prefix('=')
                    .is_some_and(|r| r.trim_start().starts_with("function"));
            if declared {
                if is_ex {
                    ex = true;
                } else {
                    plain = true;
                }
            }
        }
    }
    let mut out = Vec::new();
    if ex {
        out.push(EntryPoint::FindProxyForURLEx);
    }
    if plain {
        out.push(EntryPoint::FindProxyForURL);
    }
    out
}

/// Describes a decoded PAC script (the name only labels diagnostics).
pub fn parse(text: &str, _name: &str) -> (PacScriptCapture, Vec<Diagnostic>) {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let entry_points = entry_points_defined(body);
    let mut diags = Vec::new();
    if entry_points.is_empty() {
        diags.push(Diagnostic::warning(
            1,
            1,
            "pac-no-entry-point",
            "no FindProxyForURL or FindProxyForURLEx function declared: Windows cannot use this script",
        ));
    }
    let capture = PacScriptCapture {
        pac: PacScript {
            entry_points,
            size_bytes: body.len(),
            lines: body.lines().count(),
        },
        source: body.to_string(),
    };
    (capture, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_found_ex_first() {
        let s = "function FindProxyForURL(url, host) { return \"DIRECT\"; }\r\n\
                 function FindProxyForURLEx (url, host) { return \"DIRECT\"; }\r\n";
        assert_eq!(
            entry_points_defined(s),
            vec![EntryPoint::FindProxyForURLEx, EntryPoint::FindProxyForURL]
        );
        assert_eq!(
            entry_points_defined("var FindProxyForURL = function(u, h) { return 'DIRECT'; };"),
            vec![EntryPoint::FindProxyForURL]
        );
    }

    #[test]
    fn calls_comments_and_longer_names_are_not_declarations() {
        assert!(entry_points_defined(
            "// function FindProxyForURL(url, host)\nx = FindProxyForURL(u, h);"
        )
        .is_empty());
        assert!(entry_points_defined("function FindProxyForURLs(u, h) {}").is_empty());
    }

    #[test]
    fn parse_reports_size_and_missing_entry_point() {
        let (c, d) = parse(
            "\u{feff}function FindProxyForURL(u,h){return 'DIRECT'}\r\n",
            "wpad.dat",
        );
        assert_eq!(c.pac.entry_points, vec![EntryPoint::FindProxyForURL]);
        assert_eq!(c.pac.lines, 1);
        assert!(d.is_empty());
        let (_, d) = parse("var x = 1;", "p.pac");
        assert_eq!(d.first().map(|d| d.code), Some("pac-no-entry-point"));
    }
}
