//! Captured answers of the documented reachability test: `Invoke-WebRequest` (Windows
//! PowerShell 5.1 and PowerShell 7), `curl` and the browser's HTTP.sys page. In the documented
//! procedure a 503 from the sensor API URL means the proxy path works; these lines are kept as
//! evidence for the analyser, from a file of their own or from any other console capture.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::diag::Diagnostic;
use crate::text;

/// Most observations kept per capture (a hostile file cannot grow the list without bound).
pub const MAX_OBSERVATIONS: usize = 1000;
/// Longest observation text kept (characters); longer lines are cut.
const MAX_TEXT: usize = 400;

/// One line of captured probe output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeObservation {
    /// 1-based physical line.
    pub line: u64,
    /// The HTTP status the line reports (`503`), or `None` for a failure without an answer.
    pub status: Option<u16>,
    /// The line as printed (trimmed, cut to a few hundred characters).
    pub text: String,
    /// The URL probed, from this line or the command before it.
    pub url: Option<String>,
}

/// A file holding only probe output (kind `probe-capture`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeCapture {
    pub observations: Vec<ProbeObservation>,
}

/// The answers that carry an HTTP status, as one regular expression (one search per line, not
/// one per pattern); each alternative captures the status in its own group.
static STATUS_PATTERN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        // .NET Framework / Windows PowerShell 5.1 WebException.
        r"(?i:returned an error: \((\d{3})\))",
        // PowerShell 7 / HttpClient.
        r"|(?i:status code does not indicate success: (\d{3}))",
        // HTTP.sys error page (browser, curl body).
        r"|(?i:HTTP Error (\d{3})\.)",
        // curl -i / -v status line.
        r"|^(?:< )?HTTP/\d(?:\.\d)? (\d{3})\b",
        // Invoke-WebRequest success output.
        r"|^StatusCode\s*:\s*(\d{3})\s*$",
        // Plain ".. (503) Server Unavailable" from other .NET tools.
        r"|\((\d{3})\) (?:Server|Service) Unavailable",
    ))
    .ok()
});

/// Literals one of which every alternative of [`STATUS_PATTERN`] holds (ASCII, any case).
static STATUS_HINTS: LazyLock<Option<aho_corasick::AhoCorasick>> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["(", "http", "status"])
        .ok()
});

/// A cheap test before the regular expression: false only when no alternative can match.
fn may_hold_status(t: &str) -> bool {
    STATUS_HINTS.as_ref().is_none_or(|ac| ac.is_match(t))
}

/// The HTTP status a line reports, if it is one of the answers of [`STATUS_PATTERN`].
fn status_in(t: &str) -> Option<u16> {
    let re = STATUS_PATTERN.as_ref()?;
    let caps = re.captures(t)?;
    caps.iter()
        .skip(1)
        .flatten()
        .next()
        .and_then(|m| m.as_str().parse::<u16>().ok())
}

static FAILURE_PATTERNS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)unable to connect to the remote server|could not be resolved|no such host is known|the operation has timed out|could not establish trust relationship|the underlying connection was closed|^curl: \(\d+\)|actively refused|no connection could be made|the ssl connection could not be established",
    )
    .ok()
});

static URL: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r#"https?://[^\s"'<>]+"#).ok());

/// Builds the patterns every capture line meets now (see [`crate::pipeline::warm_up`]). The
/// status pattern (5 M instructions to build), needed only for lines that pass
/// [`may_hold_status`], and the URL pattern, needed only for probe commands, stay built on
/// first use.
pub fn warm_up() {
    LazyLock::force(&STATUS_HINTS);
    LazyLock::force(&FAILURE_PATTERNS);
}

/// Collects probe observations line by line, remembering the URL of the last probe command.
#[derive(Debug, Default)]
pub struct ProbeScanner {
    url: Option<String>,
    observations: Vec<ProbeObservation>,
}

impl ProbeScanner {
    /// Looks at one line; returns true when it was probe evidence (a command or an answer).
    pub fn feed(&mut self, line: u64, text: &str) -> bool {
        let t = text.trim();
        if t.is_empty() || t.len() > 64 * 1024 {
            return false;
        }
        // Registry value lines (hex blobs) are never probe output: skip the regexes.
        if t.contains(" REG_") {
            return false;
        }
        // The probed URL: the first one that is not the argument of a proxy option
        // (`curl -x http://proxy`, `-Proxy http://proxy`), with any password hidden.
        let own_url = || {
            URL.as_ref().and_then(|re| {
                re.find_iter(t)
                    .find(|m| !follows_proxy_option(t.get(..m.start()).unwrap_or("")))
                    .map(|m| {
                        crate::secrets::redact(m.as_str().trim_end_matches(['.', ',', ')']))
                            .into_owned()
                    })
            })
        };
        // Every status pattern holds three digits: lines without a digit skip the search.
        let status = if t.bytes().any(|b| b.is_ascii_digit()) && may_hold_status(t) {
            status_in(t)
        } else {
            None
        };
        if status.is_none() && is_probe_command(t) {
            if let Some(url) = own_url() {
                self.url = Some(url);
            }
            return true;
        }
        let failure = FAILURE_PATTERNS.as_ref().is_some_and(|re| re.is_match(t));
        if status.is_none() && !failure {
            return false;
        }
        if self.observations.len() < MAX_OBSERVATIONS {
            // A pasted `curl -x http://user:password@proxy` must not carry its password on.
            let shown = crate::secrets::redact(t);
            let mut text: String = shown.chars().take(MAX_TEXT).collect();
            if text.len() < shown.len() {
                text.push('…');
            }
            self.observations.push(ProbeObservation {
                line,
                status,
                text,
                url: own_url().or_else(|| self.url.clone()),
            });
        }
        true
    }

    /// The observations gathered.
    pub fn finish(self) -> Vec<ProbeObservation> {
        self.observations
    }
}

/// True when the text before a URL ends with a proxy option (`-x`, `--proxy`, `-Proxy`, …).
fn follows_proxy_option(before: &str) -> bool {
    let last = before
        .split_whitespace()
        .last()
        .unwrap_or("")
        .to_ascii_lowercase();
    let last = last.trim_end_matches(['=', ':']);
    matches!(
        last,
        "-x" | "--proxy" | "--preproxy" | "-proxy" | "-proxyuri" | "--proxy-url"
    ) || last.ends_with("--proxy")
}

/// A command line that runs the probe (`Invoke-WebRequest`, `iwr`, `curl`, `wget`).
fn is_probe_command(t: &str) -> bool {
    let cmd = crate::formats::powershell::strip_prompt(t).unwrap_or(t);
    let lower = cmd.to_ascii_lowercase();
    let first = lower.split_whitespace().next().unwrap_or("");
    // `Invoke-WebRequest : …` is PowerShell's error record, not the command.
    let rest = lower.get(first.len()..).unwrap_or("").trim_start();
    if first.ends_with(':') || rest.starts_with(':') {
        return false;
    }
    matches!(
        first,
        "invoke-webrequest" | "iwr" | "curl" | "curl.exe" | "wget" | "invoke-restmethod" | "irm"
    ) || lower.starts_with("(invoke-webrequest")
        || lower.starts_with("$r = invoke-webrequest")
}

/// Parses a probe capture. `file_name` is not used: the content decides.
pub fn parse(text: &str, file_name: &str) -> (ProbeCapture, Vec<Diagnostic>) {
    let _ = file_name;
    let mut scanner = ProbeScanner::default();
    let mut seen_text = false;
    for (n, line) in text::lines(text.trim_start_matches('\u{feff}')) {
        seen_text |= !line.trim().is_empty();
        scanner.feed(n, line);
    }
    let observations = scanner.finish();
    let mut diags = Vec::new();
    if observations.is_empty() && seen_text {
        diags.push(Diagnostic::warning(
            1,
            1,
            "no-probe-answer",
            "expected the output of the 503 test (Invoke-WebRequest, curl or the browser page); found none",
        ));
    }
    (ProbeCapture { observations }, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_option_url_is_not_the_probed_url_and_never_leaks() {
        let (c, _) = parse(
            "C:\\> curl -x http://bob:Hunter2pw@proxy:8080 https://contososensorapi.atp.azure.com\r\ncurl: (56) CONNECT tunnel failed, response 407\r\n",
            "",
        );
        assert_eq!(
            c.observations[0].url.as_deref(),
            Some("https://contososensorapi.atp.azure.com")
        );
        let (c, _) = parse(
            "C:\\> curl https://bob:Hunter2pw@host/x\r\ncurl: (56) CONNECT tunnel failed, response 407\r\n",
            "",
        );
        assert!(!serde_json::to_string(&c)
            .unwrap_or_default()
            .contains("Hunter2pw"));
    }

    #[test]
    fn powershell_51_and_7_and_http_sys() {
        let t = "PS C:\\> Invoke-WebRequest https://triprd1wcuse1sensorapi.eastus.cloudapp.azure.com\r\n\
Invoke-WebRequest : The remote server returned an error: (503) Server Unavailable.\r\n\
At line:1 char:1\r\n\
PS C:\\> iwr https://x.example/tri\r\n\
Invoke-WebRequest: Response status code does not indicate success: 503 (Service Unavailable).\r\n\
<TITLE>Service Unavailable</TITLE>\r\n\
<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n";
        let (c, d) = parse(t, "x.txt");
        assert!(d.is_empty());
        let got: Vec<_> = c
            .observations
            .iter()
            .map(|o| (o.line, o.status, o.url.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    2,
                    Some(503),
                    Some("https://triprd1wcuse1sensorapi.eastus.cloudapp.azure.com")
                ),
                (5, Some(503), Some("https://x.example/tri")),
                (7, Some(503), Some("https://x.example/tri")),
            ]
        );
    }

    #[test]
    fn failures_have_no_status() {
        let (c, _) = parse(
            "curl: (7) Failed to connect to proxy port 8080: Connection refused\n",
            "",
        );
        assert_eq!(c.observations[0].status, None);
        assert_eq!(c.observations[0].line, 1);
    }

    #[test]
    fn proxy_auth_status() {
        let (c, _) = parse(
            "Invoke-WebRequest : The remote server returned an error: (407) Proxy Authentication Required.\n",
            "",
        );
        assert_eq!(c.observations[0].status, Some(407));
    }
}
