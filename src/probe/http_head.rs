//! HTTP/1.x response heads as a proxy sends them back to `CONNECT` (status line and headers), and
//! the authentication schemes a `Proxy-Authenticate` challenge offers.

use thiserror::Error;

/// Largest response head read from a proxy; a longer one is refused, not buffered.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header lines kept from one head.
pub const MAX_HEADERS: usize = 256;

/// Status line and headers of one HTTP/1.x response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code (e.g. 407).
    pub status: u16,
    /// Reason phrase as sent (may be empty).
    pub reason: String,
    /// Header names and values in order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// Every value of header `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why bytes are not an HTTP/1.x response head.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeadError {
    /// The first line is not `HTTP/1.x NNN reason`.
    #[error("expected a status line `HTTP/1.x NNN reason`, found {found:?}")]
    BadStatusLine {
        /// The line (shortened).
        found: String,
    },
}

/// Offset just past the blank line that ends a head (`\r\n\r\n`, or a bare `\n\n`), if present.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(buf, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Parses a response head (status line, headers, folded continuation lines). Header lines
/// without a colon are skipped; at most [`MAX_HEADERS`] headers are kept.
pub fn parse_response_head(head: &[u8]) -> Result<ResponseHead, HeadError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines.next().unwrap_or("");
    let bad = || HeadError::BadStatusLine {
        found: status_line.chars().take(80).collect(),
    };
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/") {
        return Err(bad());
    }
    let code = parts.next().unwrap_or("");
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let status: u16 = code.parse().map_err(|_| bad())?;
    let reason = parts.next().unwrap_or("").trim().to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if headers.len() >= MAX_HEADERS {
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    Ok(ResponseHead {
        status,
        reason,
        headers,
    })
}

/// The authentication schemes offered by `Proxy-Authenticate` (or `WWW-Authenticate`) header
/// values, in order, without duplicates (compared case-insensitively), spelled as sent
/// (`NTLM`, `Negotiate`, `Basic`). One value may carry several comma-separated challenges.
pub fn auth_schemes<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut schemes: Vec<String> = Vec::new();
    for value in values {
        for segment in split_outside_quotes(value) {
            let segment = segment.trim();
            let token_end = segment
                .find(|c: char| c.is_whitespace() || c == '=')
                .unwrap_or(segment.len());
            let (token, after) = segment.split_at(token_end);
            // `name=value` continues the previous challenge's parameters; a token followed by
            // nothing, by a space then a token68 or parameters, starts a new challenge.
            if token.is_empty() || after.trim_start().starts_with('=') {
                continue;
            }
            if !token.chars().all(is_token_char) {
                continue;
            }
            if !schemes.iter().any(|s| s.eq_ignore_ascii_case(token)) {
                schemes.push(token.to_string());
            }
        }
    }
    schemes
}

/// RFC 9110 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Splits on commas that are not inside a quoted string (backslash escapes honoured).
fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                out.push(value.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value.get(start..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_407_head() {
        let raw = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
            Proxy-Authenticate: NTLM\r\n\
            proxy-authenticate: Basic realm=\"x\"\r\n\
            X-Folded: a\r\n  b\r\n\
            garbage line\r\n\
            Content-Length: 0\r\n\r\nbody";
        let end = head_end(raw).unwrap_or(0);
        assert_eq!(raw.get(end..), Some(&b"body"[..]));
        let head = parse_response_head(raw.get(..end).unwrap_or(&[])).unwrap();
        assert_eq!(head.status, 407);
        assert_eq!(head.reason, "Proxy Authentication Required");
        assert_eq!(head.headers.len(), 4);
        assert_eq!(head.values("x-folded").collect::<Vec<_>>(), ["a b"]);
        assert_eq!(
            auth_schemes(head.values("Proxy-Authenticate")),
            ["NTLM", "Basic"]
        );
    }

    #[test]
    fn bare_lf_heads_and_missing_reason() {
        let raw = b"HTTP/1.0 200\nVia: x\n\n";
        assert_eq!(head_end(raw), Some(raw.len()));
        let head = parse_response_head(raw).unwrap();
        assert_eq!((head.status, head.reason.as_str()), (200, ""));
    }

    #[test]
    fn rejects_non_http_status_lines() {
        for raw in [
            &b""[..],
            b"SSH-2.0-OpenSSH\r\n",
            b"HTTP/1.1 20 OK",
            b"HTTP/1.1 abc OK",
        ] {
            assert!(
                matches!(
                    parse_response_head(raw),
                    Err(HeadError::BadStatusLine { .. })
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn schemes_from_combined_and_quoted_challenges() {
        assert_eq!(
            auth_schemes([r#"Basic realm="a, b=c", NTLM, Negotiate YIIB=="#]),
            ["Basic", "NTLM", "Negotiate"]
        );
        assert_eq!(
            auth_schemes([
                r#"Digest realm="r", qop="auth,auth-int", nonce="n""#,
                "Kerberos"
            ]),
            ["Digest", "Kerberos"]
        );
        assert_eq!(auth_schemes(["NTLM", "ntlm", "", " , "]), ["NTLM"]);
        assert_eq!(
            auth_schemes([r#"Basic realm="unterminated, NTLM"#]),
            ["Basic"]
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = head_end(&bytes);
            if let Ok(head) = parse_response_head(&bytes) {
                let _ = auth_schemes(head.values("proxy-authenticate"));
            }
            let _ = auth_schemes([String::from_utf8_lossy(&bytes).as_ref()]);
        }
    }
}
