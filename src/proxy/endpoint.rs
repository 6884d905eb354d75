//! The sensor endpoint a route is judged for or a probe is sent to, from `--endpoint HOST` or
//! `--workspace NAME` (`NAME` + `sensorapi.atp.azure.com`). Checked as a host name, never
//! resolved; other clouds (`.atp.azure.us`, `.gcc.atp.azure.com`) keep their domain through
//! `--endpoint`.

use thiserror::Error;

/// What a workspace name is followed by in its sensor endpoint host.
pub const WORKSPACE_SUFFIX: &str = "sensorapi.atp.azure.com";
/// The host shown when no endpoint is known: a placeholder, never a real workspace.
pub const PLACEHOLDER_HOST: &str = "<workspace>sensorapi.atp.azure.com";
/// Longest DNS name (RFC 1035).
const MAX_HOST_LEN: usize = 253;
/// Longest DNS label (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// Why an `--endpoint` or `--workspace` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EndpointError {
    /// Nothing but spaces.
    #[error("empty value")]
    Empty,
    /// A character a host name cannot hold.
    #[error("{given:?} is not a host name: {found:?} at character {position} (letters, digits, '-' and '.' only)")]
    BadHostChar {
        given: String,
        found: char,
        position: usize,
    },
    /// A label that is empty, too long, or starts or ends with `-`.
    #[error("{given:?} is not a host name: the label {label:?} is empty, longer than 63 characters, or starts or ends with '-'")]
    BadLabel { given: String, label: String },
    /// Longer than a DNS name can be.
    #[error("host name longer than {MAX_HOST_LEN} characters")]
    TooLong,
    /// A workspace name holding something else than letters, digits and `-`.
    #[error("{given:?} is not a workspace name: {found:?} at character {position} (letters, digits and '-' only; give a full host with --endpoint)")]
    BadWorkspaceChar {
        given: String,
        found: char,
        position: usize,
    },
    /// A URL whose host cannot be read.
    #[error("{given:?}: no host name in this URL")]
    NoHost { given: String },
}

/// The host of `--endpoint`: a bare host name, or a URL whose host is taken
/// (`https://contososensorapi.atp.azure.com/tri/sensor/api/ping`). Lower-cased.
pub fn host_from_endpoint(given: &str) -> Result<String, EndpointError> {
    let trimmed = given.trim();
    if trimmed.is_empty() {
        return Err(EndpointError::Empty);
    }
    let host = if trimmed.contains("://") {
        super::route::parse_url(trimmed)
            .map(|u| u.host)
            .ok_or_else(|| EndpointError::NoHost {
                given: given.to_string(),
            })?
    } else {
        trimmed.to_string()
    };
    check_host(&host, given)
}

/// The host of `--workspace NAME`: `NAME` + `sensorapi.atp.azure.com`, lower-cased.
pub fn host_for_workspace(name: &str) -> Result<String, EndpointError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(EndpointError::Empty);
    }
    if let Some((i, c)) = trimmed
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(EndpointError::BadWorkspaceChar {
            given: name.to_string(),
            found: c,
            position: i + 1,
        });
    }
    check_host(
        &format!("{}{WORKSPACE_SUFFIX}", trimmed.to_ascii_lowercase()),
        name,
    )
}

/// Checks a DNS host name (letters, digits, `-`, dots between labels; a final dot dropped).
fn check_host(host: &str, given: &str) -> Result<String, EndpointError> {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() {
        return Err(EndpointError::Empty);
    }
    if host.len() > MAX_HOST_LEN {
        return Err(EndpointError::TooLong);
    }
    if let Some((i, c)) = host
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(EndpointError::BadHostChar {
            given: given.to_string(),
            found: c,
            position: i + 1,
        });
    }
    if let Some(label) = host
        .split('.')
        .find(|l| l.is_empty() || l.len() > MAX_LABEL_LEN || l.starts_with('-') || l.ends_with('-'))
    {
        return Err(EndpointError::BadLabel {
            given: given.to_string(),
            label: label.to_string(),
        });
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_names_become_hosts() {
        assert_eq!(
            host_for_workspace("Contoso-Corp").as_deref(),
            Ok("contoso-corpsensorapi.atp.azure.com")
        );
        assert!(matches!(
            host_for_workspace("contoso.corp"),
            Err(EndpointError::BadWorkspaceChar {
                found: '.',
                position: 8,
                ..
            })
        ));
        assert_eq!(host_for_workspace("  "), Err(EndpointError::Empty));
        // The label NAME + "sensorapi" must stay a DNS label.
        assert!(matches!(
            host_for_workspace(&"a".repeat(60)),
            Err(EndpointError::BadLabel { .. })
        ));
    }

    #[test]
    fn endpoints_are_hosts_or_urls() {
        assert_eq!(
            host_from_endpoint("ContosoSensorApi.atp.azure.us.").as_deref(),
            Ok("contososensorapi.atp.azure.us")
        );
        assert_eq!(
            host_from_endpoint("https://contososensorapi.atp.azure.com/tri/sensor/api/ping")
                .as_deref(),
            Ok("contososensorapi.atp.azure.com")
        );
        assert!(matches!(
            host_from_endpoint("contoso sensorapi.atp.azure.com"),
            Err(EndpointError::BadHostChar {
                found: ' ',
                position: 8,
                ..
            })
        ));
        assert!(matches!(
            host_from_endpoint("a..b"),
            Err(EndpointError::BadLabel { .. })
        ));
        assert!(matches!(
            host_from_endpoint("-a.b"),
            Err(EndpointError::BadLabel { .. })
        ));
        assert_eq!(
            host_from_endpoint(&format!("{}.com", "a.".repeat(130))),
            Err(EndpointError::TooLong)
        );
        assert_eq!(host_from_endpoint(""), Err(EndpointError::Empty));
    }
}
