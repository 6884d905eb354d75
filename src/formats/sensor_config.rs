//! `SensorConfiguration.json`: the sensor-level proxy (the proxy the sensor itself uses, set
//! by the installer's `ProxyUrl` switches, the Deployer or `Set-MDISensorProxyConfiguration`)
//! and the workspace's sensor API endpoint.
//!
//! Real shape (sensor v2.x):
//! ```json
//! { "SecretManagerConfigurationCertificateThumbprint": "E448...",
//!   "SensorProxyConfiguration": { "$type": "SensorProxyConfiguration", "Url": "http://proxy:8080",
//!     "UserName": "CONTOSO\\svc", "EncryptedUserPasswordData": { "$type": "EncryptedData",
//!     "EncryptedBytes": "base64...", "CertificateThumbprint": "B6DE...", "SecretVersion": null } },
//!   "WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint":
//!     { "$type": "EndpointData", "Address": "contososensorapi.atp.azure.com", "Port": 443 } }
//! ```
//! Keys are looked up case-insensitively anywhere in the tree, so hand-edited files and
//! `Get-MDISensorProxyConfiguration | ConvertTo-Json` output are read too. The encrypted
//! password is never kept: only whether one is set.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::diag::Diagnostic;

/// The sensor-level proxy from `SensorProxyConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SensorProxy {
    /// The proxy URL as configured, with any `user:password@` password replaced by `***`.
    pub url: String,
    /// Host of the proxy URL (lowercased), when it parses.
    pub host: Option<String>,
    /// Port of the proxy URL when written (null: the scheme's default).
    pub port: Option<u16>,
    /// `UserName` (`DOMAIN\user`) when an authenticated proxy is configured.
    pub user_name: Option<String>,
    /// True when an encrypted password is stored (its bytes are never read out).
    pub password_set: bool,
}

/// What the analyser needs from `SensorConfiguration.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SensorConfig {
    /// The sensor-level proxy; null when none is configured (object null, absent or empty Url).
    pub proxy: Option<SensorProxy>,
    /// True when the file has a `SensorProxyConfiguration` key at all (even null).
    pub proxy_key_present: bool,
    /// The sensor API endpoint host (`<workspace>sensorapi.atp.azure.com`).
    pub endpoint: Option<String>,
    /// The sensor API endpoint port (443 in practice).
    pub port: Option<u16>,
    /// The workspace name derived from the endpoint host.
    pub workspace: Option<String>,
}

const PROXY_KEY: &str = "sensorproxyconfiguration";
const ENDPOINT_KEY: &str = "workspaceapplicationsensorapiwebclientconfigurationserviceendpoint";
/// JSON nesting deeper than this is not searched (serde_json itself stops at 128).
const MAX_DEPTH: usize = 64;

/// Parses the decoded text of one upload. `file_name` is only a hint where content is silent.
pub fn parse(text: &str, file_name: &str) -> (SensorConfig, Vec<Diagnostic>) {
    let _ = file_name;
    let body = text.trim_start_matches('\u{feff}');
    let mut diagnostics = Vec::new();
    let root: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                e.line() as u64,
                u32::try_from(e.column()).unwrap_or(u32::MAX),
                "invalid-json",
                format!("expected a JSON document: {e}"),
            ));
            return (SensorConfig::default(), diagnostics);
        }
    };
    let mut config = SensorConfig::default();

    let proxy_obj = match find_key(&root, PROXY_KEY, 0) {
        Some(v) => {
            config.proxy_key_present = true;
            v.as_object()
        }
        // `Get-MDISensorProxyConfiguration | ConvertTo-Json`: the proxy object is the root.
        None => root
            .as_object()
            .filter(|o| get_ci(o, "isproxyenabled").is_some() || get_ci(o, "url").is_some()),
    };
    if let Some(obj) = proxy_obj {
        config.proxy = proxy_from(obj, &mut diagnostics);
    }

    let endpoint_obj = find_key(&root, ENDPOINT_KEY, 0)
        .and_then(Value::as_object)
        .or_else(|| find_endpoint_like(&root, 0));
    if let Some(obj) = endpoint_obj {
        if let Some(addr) = get_ci(obj, "address").and_then(Value::as_str) {
            let addr = addr.trim();
            if !addr.is_empty() {
                config.endpoint = Some(addr.to_string());
                config.workspace = workspace_from_host(addr);
            }
        }
        config.port = get_ci(obj, "port").and_then(port_of);
    }
    if !config.proxy_key_present && config.proxy.is_none() && config.endpoint.is_none() {
        diagnostics.push(Diagnostic::warning(
            1,
            1,
            "no-sensor-settings",
            "expected SensorProxyConfiguration or the sensor API endpoint; found neither",
        ));
    }
    (config, diagnostics)
}

fn proxy_from(obj: &Map<String, Value>, diagnostics: &mut Vec<Diagnostic>) -> Option<SensorProxy> {
    let url = get_ci(obj, "url").and_then(Value::as_str).map(str::trim)?;
    if url.is_empty() {
        return None;
    }
    let user_name = get_ci(obj, "username")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    let password_set = obj
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().contains("password"))
        .any(|(_, v)| secret_present(v));
    let (redacted, had_password) = redact_url(url);
    if had_password {
        diagnostics.push(Diagnostic::warning(
            1,
            1,
            "password-in-proxy-url",
            "the proxy URL embeds a password (redacted here); use ProxyUserName/ProxyUserPassword",
        ));
    }
    let (host, port) = url_host_port(url);
    Some(SensorProxy {
        url: redacted,
        host,
        port,
        user_name,
        password_set: password_set || had_password,
    })
}

/// True when a password field holds something: a non-empty string, or an object whose
/// `EncryptedBytes` (or any string member) is non-empty.
fn secret_present(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.trim().is_empty(),
        Value::Object(o) => match get_ci(o, "encryptedbytes") {
            Some(b) => secret_present(b),
            None => o
                .iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .any(|(_, v)| matches!(v, Value::String(s) if !s.is_empty())),
        },
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

/// The URL with its password hidden (the crate's one redactor), and whether one was there.
pub fn redact_url(url: &str) -> (String, bool) {
    match crate::secrets::redact(url) {
        std::borrow::Cow::Borrowed(same) => (same.to_string(), false),
        std::borrow::Cow::Owned(hidden) => (hidden, true),
    }
}

/// Host (lowercased) and explicit port of a proxy URL (`http://proxy:8080`, `proxy:8080`).
fn url_host_port(url: &str) -> (Option<String>, Option<u16>) {
    let rest = url
        .find("://")
        .map_or(url, |i| url.get(i + 3..).unwrap_or(""));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, tail) = v6.split_once(']').unwrap_or((v6, ""));
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
        return (Some(host.to_ascii_lowercase()), port);
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (authority, None),
    };
    let host = host.trim();
    if host.is_empty() {
        (None, port)
    } else {
        (Some(host.to_ascii_lowercase()), port)
    }
}

/// `contoso-corpsensorapi.atp.azure.com` → `contoso-corp` (also `.gcc.atp.azure.com` and
/// `.atp.azure.us`).
pub fn workspace_from_host(address: &str) -> Option<String> {
    let host = address
        .find("://")
        .map_or(address, |i| address.get(i + 3..).unwrap_or(""));
    let host = host.split(['/', ':']).next().unwrap_or(host);
    let lower = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let label = [".gcc.atp.azure.com", ".atp.azure.com", ".atp.azure.us"]
        .iter()
        .find_map(|suffix| lower.strip_suffix(suffix))?;
    if label.contains('.') {
        return None;
    }
    let ws = label.strip_suffix("sensorapi").unwrap_or(label);
    (!ws.is_empty()).then(|| ws.to_string())
}

fn port_of(v: &Value) -> Option<u16> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The member of `obj` named `key`, ignoring ASCII case.
fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The first value under a key named `key` (case-insensitive), depth-first.
fn find_key<'a>(v: &'a Value, key: &str, depth: usize) -> Option<&'a Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        Value::Object(o) => {
            get_ci(o, key).or_else(|| o.values().find_map(|child| find_key(child, key, depth + 1)))
        }
        Value::Array(a) => a.iter().find_map(|child| find_key(child, key, depth + 1)),
        _ => None,
    }
}

/// An object under a key ending in `endpoint` that has an `Address` (other sensor versions).
fn find_endpoint_like(v: &Value, depth: usize) -> Option<&Map<String, Value>> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        Value::Object(o) => o
            .iter()
            .find_map(|(k, child)| {
                let obj = child.as_object()?;
                (k.to_ascii_lowercase().ends_with("endpoint") && get_ci(obj, "address").is_some())
                    .then_some(obj)
            })
            .or_else(|| o.values().find_map(|c| find_endpoint_like(c, depth + 1))),
        Value::Array(a) => a.iter().find_map(|c| find_endpoint_like(c, depth + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "bvzMONrdkD+/3T3cGzi5+vQp0ksjLrk2MQPv5IFKKTVMgdK6QEbpNTXyf+V1khMa==";

    fn with_proxy() -> String {
        format!(
            r#"{{
  "$type": "SensorConfiguration",
  "SecretManagerConfigurationCertificateThumbprint": "E44826515D2778493F7F1B44A4F0A435832C657B",
  "SensorProxyConfiguration": {{
    "$type": "SensorProxyConfiguration",
    "Url": "http://proxy.contoso.com:8080",
    "UserName": "CONTOSO\\svc-mdi",
    "EncryptedUserPasswordData": {{
      "$type": "EncryptedData",
      "EncryptedBytes": "{SECRET}",
      "CertificateThumbprint": "B6DED748E000B5A62D3F4C45058E1DCF64BB55B9",
      "SecretVersion": null
    }}
  }},
  "WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint": {{
    "$type": "EndpointData",
    "Address": "contoso-corpsensorapi.atp.azure.com",
    "Port": 443
  }}
}}"#
        )
    }

    #[test]
    fn real_shape_with_authenticated_proxy() {
        let (c, d) = parse(&with_proxy(), "SensorConfiguration.json");
        assert!(d.is_empty(), "{d:?}");
        let p = c.proxy.clone().unwrap();
        assert_eq!(p.url, "http://proxy.contoso.com:8080");
        assert_eq!(p.host.as_deref(), Some("proxy.contoso.com"));
        assert_eq!(p.port, Some(8080));
        assert_eq!(p.user_name.as_deref(), Some("CONTOSO\\svc-mdi"));
        assert!(p.password_set);
        assert_eq!(
            c.endpoint.as_deref(),
            Some("contoso-corpsensorapi.atp.azure.com")
        );
        assert_eq!(c.port, Some(443));
        assert_eq!(c.workspace.as_deref(), Some("contoso-corp"));
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains(SECRET) && !json.contains("bvzMON"));
        assert!(!format!("{c:?}").contains("bvzMON"));
    }

    #[test]
    fn null_proxy_means_none() {
        let t = r#"{"SensorProxyConfiguration":null,"WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint":{"Address":"abcsensorapi.gcc.atp.azure.com","Port":"443"}}"#;
        let (c, d) = parse(t, "x");
        assert!(d.is_empty());
        assert_eq!(c.proxy, None);
        assert!(c.proxy_key_present);
        assert_eq!(c.port, Some(443));
        assert_eq!(c.workspace.as_deref(), Some("abc"));
    }

    #[test]
    fn lenient_keys_and_get_cmdlet_output() {
        let t = r#"{"isProxyEnabled":true,"IsAuthenticationProxyEnabled":false,"url":"proxy:3128","UserName":null,"EncryptedUserPasswordData":null}"#;
        let (c, _) = parse(t, "x");
        let p = c.proxy.unwrap();
        assert_eq!(p.url, "proxy:3128");
        assert_eq!(p.host.as_deref(), Some("proxy"));
        assert_eq!(p.port, Some(3128));
        assert!(!p.password_set);
        assert_eq!(p.user_name, None);
    }

    #[test]
    fn password_in_url_is_redacted() {
        let t = r#"{"SensorProxyConfiguration":{"Url":"http://bob:hunter2@proxy:8080/"}}"#;
        let (c, d) = parse(t, "x");
        let p = c.proxy.clone().unwrap();
        assert_eq!(p.url, "http://***@proxy:8080/");
        assert!(p.password_set);
        assert_eq!(d[0].code, "password-in-proxy-url");
        assert!(!serde_json::to_string(&c).unwrap().contains("hunter2"));
    }

    #[test]
    fn invalid_json_is_a_diagnostic_with_position() {
        let (c, d) = parse("{\n  \"SensorProxyConfiguration\": {,\n}", "x");
        assert_eq!(c, SensorConfig::default());
        assert_eq!((d[0].code, d[0].line), ("invalid-json", 2));
    }

    #[test]
    fn workspace_derivation() {
        assert_eq!(
            workspace_from_host("https://contososensorapi.atp.azure.com/"),
            Some("contoso".into())
        );
        assert_eq!(
            workspace_from_host("contososensorapi.atp.azure.us"),
            Some("contoso".into())
        );
        assert_eq!(workspace_from_host("sensorapi.atp.azure.com"), None);
        assert_eq!(workspace_from_host("example.com"), None);
    }
}
