//! Keeping proxy credentials out of every string the probe returns: URL redaction, a scrubber for
//! free text (error chains), and the small encoders the `Proxy-Authorization` header needs.

pub use crate::secrets::REDACTED;

/// A URL with its proxy password hidden (`http://user:***@host:port`), via the crate's one
/// redactor, so credentials never reach output or logs.
pub fn redact_url(url: &str) -> String {
    crate::secrets::redact(url).into_owned()
}

/// Credentials known to be in a request, removed from any free text (error messages) before it
/// leaves the probe: libraries sometimes echo URLs, and a password must never be printed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Secrets {
    values: Vec<String>,
}

/// Shortest user name scrubbed on its own: shorter ones would mangle ordinary words.
const MIN_SCRUBBED_USER: usize = 3;

impl Secrets {
    /// Collects the user info of `url` (raw and percent-decoded forms).
    pub(crate) fn add_url(&mut self, url: &str) {
        let scheme_end = url.find("://").map_or(0, |i| i + 3);
        let rest = url.get(scheme_end..).unwrap_or("");
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest.get(..authority_end).unwrap_or("");
        let Some(at) = authority.rfind('@') else {
            return;
        };
        let userinfo = authority.get(..at).unwrap_or("");
        self.push(userinfo.to_string());
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, p),
            None => (userinfo, ""),
        };
        for part in [password.to_string(), percent_decode(password)] {
            self.push(part);
        }
        for part in [user.to_string(), percent_decode(user)] {
            if part.chars().count() >= MIN_SCRUBBED_USER {
                self.push(part);
            }
        }
    }

    fn push(&mut self, value: String) {
        if !value.is_empty() && !self.values.contains(&value) {
            self.values.push(value);
        }
    }

    /// Returns `text` with every known credential replaced by `***` (longest first).
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut values: Vec<&String> = self.values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let mut out = text.to_string();
        for v in values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), REDACTED);
            }
        }
        out
    }
}

/// Decodes `%XX` escapes (as URLs carry user names and passwords); invalid escapes stay as they
/// are and invalid UTF-8 is replaced, so any input is accepted.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                // Two hex digits: at most 0xFF, so the cast is exact.
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 (with padding), for the `Proxy-Authorization: Basic` header.
pub(crate) fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |n: u32| -> char {
        // `n & 63` is below 64, the table's length.
        TABLE.get((n & 63) as usize).map_or('=', |&c| c as char)
    };
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let n = (b0 << 16) | (b1 << 8) | b2;
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_and_password() {
        assert_eq!(
            redact_url("http://u:secret@127.0.0.1:8080"),
            "http://***@127.0.0.1:8080"
        );
        assert_eq!(
            redact_url("http://DOMAIN%5Cuser:p%40ss@proxy:3128/x?y"),
            "http://***@proxy:3128/x?y"
        );
        assert_eq!(redact_url("u:p@proxy:80"), "***@proxy:80");
        assert_eq!(redact_url("http://proxy:80/a@b"), "http://proxy:80/a@b");
        assert_eq!(redact_url("http://proxy:80"), "http://proxy:80");
        assert_eq!(redact_url(""), "");
        // A password containing '@' (unescaped): everything before the last '@' goes.
        assert_eq!(redact_url("http://u:a@b@h:1"), "http://***@h:1");
    }

    #[test]
    fn scrubs_raw_and_decoded_credentials() {
        let mut s = Secrets::default();
        s.add_url("http://CORP%5Calice:p%40ss@proxy:3128");
        let text = "failed for CORP\\alice with p@ss and CORP%5Calice:p%40ss";
        let out = s.scrub(text);
        assert!(!out.contains("p@ss"), "{out}");
        assert!(!out.contains("alice"), "{out}");
        assert!(!out.contains("p%40ss"), "{out}");
        // Short user names are left alone (they would mangle words), passwords never.
        let mut s = Secrets::default();
        s.add_url("http://u:secret@h:1");
        assert_eq!(s.scrub("user u, secret"), "user u, ***");
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%40b%5Cc"), "a@b\\c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("u:secret", "dTpzZWNyZXQ="),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
    }
}
