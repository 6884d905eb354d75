//! Credentials in customer data: the one place that knows how `user:password@` is hidden.
//! Every output path (proxy strings, netsh captures, sensor configuration, probe URLs) uses it.

use std::borrow::Cow;

/// What replaces a password in output.
pub const REDACTED: &str = "***";

/// A proxy string or URL with every `user:password@` replaced by `***@`
/// (`http://CORP\svc:pw@proxy:8080` → `http://***@proxy:8080`). Per-scheme lists
/// (`http=u:p@a:80;https=…`) are handled entry by entry; the last `@` of an authority wins, so
/// a password containing `@` is hidden whole.
pub fn redact(s: &str) -> Cow<'_, str> {
    if !s.contains('@') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut previous_redacted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == ';' || c.is_whitespace() {
            let (entry, redacted) = redact_entry(s.get(start..i).unwrap_or(""), previous_redacted);
            out.push_str(&entry);
            out.push(c);
            previous_redacted = redacted;
            start = i + c.len_utf8();
        }
    }
    let (entry, _) = redact_entry(s.get(start..).unwrap_or(""), previous_redacted);
    out.push_str(&entry);
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

/// Redacts one entry; `after_redacted` says the previous entry held a password, so a
/// userinfo without `:` here is the tail of a password that contained `;` and goes whole.
fn redact_entry(e: &str, after_redacted: bool) -> (Cow<'_, str>, bool) {
    // `https=` prefix of a per-scheme list.
    let scheme_eq = match e.find('=') {
        Some(i) if !e.get(..i).unwrap_or("").contains(['/', '@', ':']) => i + 1,
        _ => 0,
    };
    let body = e.get(scheme_eq..).unwrap_or("");
    let authority_start = body.find("://").map_or(0, |i| i + 3);
    let rest = body.get(authority_start..).unwrap_or("");
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or("");
    let Some(at) = authority.rfind('@') else {
        return (Cow::Borrowed(e), false);
    };
    let userinfo = authority.get(..at).unwrap_or("");
    let prefix = e.get(..scheme_eq + authority_start).unwrap_or("");
    let host_and_tail = rest.get(at..).unwrap_or("");
    match userinfo.find(':') {
        Some(_) => (
            Cow::Owned(format!("{prefix}{REDACTED}{host_and_tail}")),
            true,
        ),
        None if after_redacted => (
            Cow::Owned(format!("{prefix}{REDACTED}{host_and_tail}")),
            true,
        ),
        None => (Cow::Borrowed(e), false),
    }
}

/// `serialize_with` helper: an optional proxy string written with its passwords redacted, so
/// no output format (JSON included) ever carries one.
pub fn serialize_redacted<S: serde::Serializer>(
    value: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_some(redact(v).as_ref()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn credentials_go_hosts_stay() {
        assert_eq!(redact("proxy:8080"), "proxy:8080");
        assert_eq!(
            redact("http://svc-mdi:s3cret@proxy.contoso.com:8080"),
            "http://***@proxy.contoso.com:8080"
        );
        assert_eq!(redact("user:pw@proxy:3128"), "***@proxy:3128");
        assert_eq!(
            redact("http=a:b@p1:80;https=c:d@p2:443"),
            "http=***@p1:80;https=***@p2:443"
        );
        assert_eq!(redact("user@proxy:80"), "user@proxy:80");
        assert_eq!(redact("http://proxy:80/a@b"), "http://proxy:80/a@b");
        assert_eq!(redact(""), "");
    }

    #[test]
    fn passwords_with_separators_are_hidden_whole() {
        // '@' inside the password: the last '@' of the authority ends the userinfo.
        assert_eq!(redact("http://u:a@b@h:1"), "http://***@h:1");
        // ';' inside the password splits the entry: its tail is hidden too.
        let r = redact("http://svc-mdi:P@ss;w0rd@proxy:8080");
        assert!(!r.contains("ss;w0rd"), "{r}");
        assert!(!r.contains("w0rd@"), "{r}");
        assert_eq!(
            redact("http://DOMAIN%5Cuser:p%40ss@proxy:3128/x?y"),
            "http://***@proxy:3128/x?y"
        );
    }
}
