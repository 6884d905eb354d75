//! Output of Microsoft's current Defender for Identity tools that customers now upload:
//! `Get-MDISensorProxyConfiguration` (the sensor-level proxy), `Test-MDISensorApiConnection`
//! (a bare boolean), the `Test-MdiReadiness.ps1` JSON report (sensor version and trusted roots)
//! and `New-MDIConfigurationReport` (auditing configuration: recognised, not proxy evidence).

use serde::Serialize;
use serde_json::Value;

use crate::diag::Diagnostic;
use crate::formats::powershell;
use crate::formats::sensor_config::redact_url;
use crate::text;

/// Most items read from a report array (a hostile file cannot grow the lists without bound).
const MAX_ITEMS: usize = 1000;

/// `Get-MDISensorProxyConfiguration` as PowerShell lists it (`Name : value` rows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MdiProxyConfig {
    /// `IsProxyEnabled` (the module sets it when `Url` is not empty).
    pub is_proxy_enabled: Option<bool>,
    /// `IsAuthenticationProxyEnabled` (a `UserName` is configured).
    pub is_authentication_proxy_enabled: Option<bool>,
    /// `Url`, with any `user:password@` hidden.
    pub url: Option<String>,
    /// `UserName` (`DOMAIN\user`).
    pub user_name: Option<String>,
    /// True when `EncryptedUserPasswordData` holds something (its text is never kept).
    pub password_set: bool,
    /// `CertificateThumbprint` of the certificate that encrypts the password.
    pub certificate_thumbprint: Option<String>,
    /// Line of the first property row.
    pub line: Option<u64>,
    /// Line of the `Url` row.
    pub url_line: Option<u64>,
}

/// Parses `Get-MDISensorProxyConfiguration` list output.
pub fn parse_proxy_config(text: &str) -> (MdiProxyConfig, Vec<Diagnostic>) {
    let mut out = MdiProxyConfig::default();
    let mut diags = Vec::new();
    let mut in_password = false;
    let mut command_line = None;
    for (n, raw) in text::lines(text.trim_start_matches('\u{feff}')) {
        let t = raw.trim();
        if let Some(cmd) = powershell::strip_prompt(raw) {
            if cmd
                .to_ascii_lowercase()
                .contains("get-mdisensorproxyconfiguration")
            {
                command_line = Some(n);
            }
            in_password = false;
            continue;
        }
        if t.is_empty() {
            in_password = false;
            continue;
        }
        let Some((name, value)) = t
            .split_once(" : ")
            .or_else(|| t.strip_suffix(" :").map(|n| (n, "")))
        else {
            // A wrapped continuation of the base64 password stays hidden; anything else is noted.
            if !in_password && !t.eq_ignore_ascii_case("Get-MDISensorProxyConfiguration") {
                diags.push(Diagnostic::info(
                    n,
                    1,
                    "unrecognised-line",
                    format!(
                        "expected a `Name : value` row of Get-MDISensorProxyConfiguration; found {:?}",
                        t.chars().take(60).collect::<String>()
                    ),
                ));
            }
            continue;
        };
        let value = value.trim();
        let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
        in_password = false;
        match name.trim().to_ascii_lowercase().as_str() {
            "isproxyenabled" => out.is_proxy_enabled = parse_bool(value),
            "isauthenticationproxyenabled" => {
                out.is_authentication_proxy_enabled = parse_bool(value)
            }
            "url" => {
                out.url = some(value).map(|u| redact_url(&u).0);
                out.url_line = Some(n);
            }
            "username" => out.user_name = some(value),
            "encrypteduserpassworddata" => {
                out.password_set = !value.is_empty();
                in_password = true;
            }
            "certificatethumbprint" => out.certificate_thumbprint = some(value),
            _ => continue,
        }
        out.line.get_or_insert(n);
    }
    if let (None, Some(n)) = (out.line, command_line) {
        diags.push(Diagnostic::info(
            n,
            1,
            "empty-output",
            "Get-MDISensorProxyConfiguration printed nothing: no sensor-level proxy is configured, or SensorConfiguration.json could not be read",
        ));
    } else if out.line.is_none() {
        diags.push(Diagnostic::warning(
            1,
            1,
            "not-understood",
            "no Get-MDISensorProxyConfiguration property (IsProxyEnabled, Url, ...) was found",
        ));
    } else if out.is_proxy_enabled == Some(true) && out.url.is_none() {
        diags.push(Diagnostic::warning(
            out.line.unwrap_or(1),
            1,
            "partly-understood",
            "IsProxyEnabled is True but no Url row was found (cut paste?)",
        ));
    }
    (out, diags)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// `Test-MDISensorApiConnection` output: `True` only for HTTP 200 through the sensor's proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MdiApiTest {
    /// The printed boolean; null when none was found.
    pub result: Option<bool>,
    /// Line of the boolean.
    pub line: Option<u64>,
    /// The command as typed, when echoed.
    pub command: Option<String>,
    /// `-BypassConfiguration` was used: the test ran with a proxy the customer typed, not
    /// necessarily the sensor's.
    pub bypass_configuration: bool,
    /// `VERBOSE:` lines (the exception text behind a False).
    pub verbose: Vec<String>,
}

/// Parses a `Test-MDISensorApiConnection` capture.
pub fn parse_api_test(text: &str) -> (MdiApiTest, Vec<Diagnostic>) {
    let mut out = MdiApiTest::default();
    let mut diags = Vec::new();
    for (n, raw) in text::lines(text.trim_start_matches('\u{feff}')) {
        let t = raw.trim();
        let cmd = crate::detect::prompt_command(raw).unwrap_or(t);
        if cmd
            .to_ascii_lowercase()
            .contains("test-mdisensorapiconnection")
        {
            out.command = Some(cmd.chars().take(400).collect());
            out.bypass_configuration = cmd.to_ascii_lowercase().contains("bypassconfiguration");
            continue;
        }
        if let Some(b) = parse_bool(t) {
            if out.result.is_none() {
                out.result = Some(b);
                out.line = Some(n);
            }
            continue;
        }
        if let Some(v) = t.strip_prefix("VERBOSE:") {
            if out.verbose.len() < 50 {
                out.verbose.push(v.trim().chars().take(400).collect());
            }
        }
    }
    if out.result.is_none() {
        diags.push(Diagnostic::warning(
            1,
            1,
            "not-understood",
            "no True/False line of Test-MDISensorApiConnection was found",
        ));
    } else if out.result == Some(false) {
        diags.push(Diagnostic::info(
            out.line.unwrap_or(1),
            1,
            "weak-evidence",
            "Test-MDISensorApiConnection prints False for any answer but HTTP 200, including the 503 older workspaces return although the route works: weak evidence",
        ));
    }
    (out, diags)
}

/// One trusted root certificate a readiness report lists for a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootCertificate {
    pub thumbprint: String,
    pub subject: Option<String>,
    pub not_after: Option<String>,
}

/// One server of a `Test-MdiReadiness` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadinessServer {
    /// `domain-controller`, `ca-server` or `entra-connect-server`.
    pub role: &'static str,
    pub fqdn: Option<String>,
    /// File version of the AATPSensor binary, `N/A` when the service is absent.
    pub sensor_version: Option<String>,
    /// The report's own boolean (wrong before September 2025 when only one root is present).
    pub root_certificates_ok: Option<bool>,
    /// `Details.RootCertificatesDetails`.
    pub root_certificates: Vec<RootCertificate>,
    /// The report has a `RootCertificatesDetails` entry for the server (an empty list then
    /// means none of the checked roots is installed; no entry means the report cannot tell).
    pub root_certificates_listed: bool,
    /// DigiCert Global Root G2 (commercial cloud) is among them.
    pub digicert_g2: bool,
    /// DigiCert Global Root CA (GCC High) is among them.
    pub digicert_global_root_ca: bool,
    /// `Comment` (`Server is not available` when the script could not reach it).
    pub comment: Option<String>,
    /// Line of the server's name in the report (null when it has none).
    pub line: Option<u64>,
}

impl ReadinessServer {
    /// The script reached the server (its checks mean something).
    pub fn reached(&self) -> bool {
        !self
            .comment
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("not available"))
    }

    /// The sensor version when a sensor is installed (`N/A` and error texts are not versions).
    pub fn installed_sensor(&self) -> Option<&str> {
        self.sensor_version.as_deref().map(str::trim).filter(|v| {
            v.split('.').count() >= 2
                && v.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
    }
}

/// `Test-MdiReadiness.ps1` `mdi-<domain>.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MdiReadiness {
    pub domain: Option<String>,
    pub servers: Vec<ReadinessServer>,
}

/// DigiCert Global Root G2, the root of the commercial cloud's certificates.
pub const DIGICERT_G2: &str = "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4";
/// DigiCert Global Root CA (US Government GCC High).
pub const DIGICERT_GLOBAL_ROOT_CA: &str = "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436";

/// Parses a readiness JSON report.
pub fn parse_readiness(text: &str) -> (MdiReadiness, Vec<Diagnostic>) {
    let mut out = MdiReadiness::default();
    let mut diags = Vec::new();
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
    {
        diags.push(Diagnostic::warning(
            1,
            1,
            "partly-understood",
            "the HTML report of Test-MdiReadiness: only its JSON twin (mdi-<domain>.json) carries the sensor version and the root certificates list; ask for that file",
        ));
        return (out, diags);
    }
    let value: Value = match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
        Ok(v) => v,
        Err(e) => {
            diags.push(Diagnostic::error(
                u64::try_from(e.line()).unwrap_or(1).max(1),
                u32::try_from(e.column()).unwrap_or(1).max(1),
                "not-understood",
                format!("expected the Test-MdiReadiness JSON report; it is not valid JSON: {e}"),
            ));
            return (out, diags);
        }
    };
    out.domain = get_ci(&value, "Domain")
        .and_then(Value::as_str)
        .map(str::to_string);
    for (key, role) in [
        ("DomainControllers", "domain-controller"),
        ("CAServers", "ca-server"),
        ("EntraConnectServers", "entra-connect-server"),
    ] {
        let list = match get_ci(&value, key) {
            Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => continue,
        };
        for s in list.into_iter().take(MAX_ITEMS) {
            out.servers.push(readiness_server(s, role));
        }
    }
    // Lines of the servers' names, in one pass over the text (the JSON value has none).
    let mut named = fqdn_lines(text);
    for server in &mut out.servers {
        let Some(fqdn) = server.fqdn.as_deref() else {
            continue;
        };
        if let Some(i) = named.iter().position(|(name, _)| name == fqdn) {
            server.line = Some(named.swap_remove(i).1);
        }
    }
    if out.servers.is_empty() {
        diags.push(Diagnostic::warning(
            1,
            1,
            "partly-understood",
            "the readiness report lists no server (DomainControllers, CAServers, EntraConnectServers)",
        ));
    }
    (out, diags)
}

/// Every `"FQDN": "name"` of the report with its 1-based line, in file order (PowerShell
/// writes the key in this case; one pass, bounded like the server lists).
fn fqdn_lines(text: &str) -> Vec<(String, u64)> {
    const KEY: &str = "\"FQDN\"";
    let mut out = Vec::new();
    let (mut line, mut counted) = (1u64, 0usize);
    for (at, _) in text.match_indices(KEY) {
        if out.len() >= 3 * MAX_ITEMS {
            break;
        }
        let before = text.get(counted..at).unwrap_or("");
        line += memchr::memchr_iter(b'\n', before.as_bytes()).count() as u64;
        counted = at;
        let value = text
            .get(at + KEY.len()..)
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('"'))
            .and_then(|r| r.split('"').next());
        if let Some(v) = value {
            out.push((v.chars().take(400).collect(), line));
        }
    }
    out
}

fn readiness_server(s: &Value, role: &'static str) -> ReadinessServer {
    let text_of = |k: &str| {
        get_ci(s, k)
            .and_then(Value::as_str)
            .map(|v| v.chars().take(400).collect::<String>())
    };
    let details = get_ci(s, "Details");
    let listed = details.and_then(|d| get_ci(d, "RootCertificatesDetails"));
    let certs: Vec<RootCertificate> = match listed {
        Some(Value::Array(a)) => a
            .iter()
            .take(MAX_ITEMS)
            .filter_map(root_certificate)
            .collect(),
        Some(v @ Value::Object(_)) => root_certificate(v).into_iter().collect(),
        _ => Vec::new(),
    };
    // `ConvertTo-Json` writes an empty result as null or []: both mean "none found".
    let root_certificates_listed = matches!(
        listed,
        Some(Value::Array(_) | Value::Object(_) | Value::Null)
    );
    let has = |t: &str| certs.iter().any(|c| c.thumbprint.eq_ignore_ascii_case(t));
    ReadinessServer {
        role,
        fqdn: text_of("FQDN"),
        sensor_version: text_of("SensorVersion"),
        root_certificates_ok: get_ci(s, "RootCertificates").and_then(Value::as_bool),
        digicert_g2: has(DIGICERT_G2),
        digicert_global_root_ca: has(DIGICERT_GLOBAL_ROOT_CA),
        root_certificates: certs,
        root_certificates_listed,
        comment: text_of("Comment").filter(|c| !c.is_empty()),
        line: None,
    }
}

fn root_certificate(v: &Value) -> Option<RootCertificate> {
    let s = |k: &str| {
        get_ci(v, k)
            .and_then(Value::as_str)
            .map(|x| x.chars().take(400).collect::<String>())
    };
    Some(RootCertificate {
        thumbprint: s("Thumbprint")?.to_ascii_uppercase(),
        subject: s("Subject"),
        not_after: s("NotAfter"),
    })
}

/// A key of a JSON object, in any casing (PowerShell's JSON keeps the script's casing).
fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// `New-MDIConfigurationReport` output (JSON or HTML): auditing items, not proxy evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MdiConfigReport {
    /// `Configuration` names with their `Status` (JSON form only).
    pub items: Vec<ConfigItem>,
}

/// One configuration item of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigItem {
    pub configuration: String,
    pub status: Option<bool>,
}

/// Reads the report's items and says, once, that it is not proxy evidence.
pub fn parse_config_report(text: &str) -> (MdiConfigReport, Vec<Diagnostic>) {
    let mut out = MdiConfigReport::default();
    if let Ok(Value::Array(items)) =
        serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}'))
    {
        for item in items.iter().take(MAX_ITEMS) {
            if let Some(name) = get_ci(item, "Configuration").and_then(Value::as_str) {
                out.items.push(ConfigItem {
                    configuration: name.chars().take(200).collect(),
                    status: get_ci(item, "Status").and_then(Value::as_bool),
                });
            }
        }
    }
    let diags = vec![Diagnostic::info(
        1,
        1,
        "not-proxy-evidence",
        "New-MDIConfigurationReport output: auditing, NTLM and power settings only; it says nothing about proxies or cloud connectivity",
    )];
    (out, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_config_doc_example_hides_the_password() {
        let t = "Get-MDISensorProxyConfiguration\nIsProxyEnabled               : True\nIsAuthenticationProxyEnabled : True\nUrl                          : https://myProxy.contoso.com\nUserName                     : CONTOSO\\proxyUser\nEncryptedUserPasswordData    : PgYTSj0SW6fNx...==\nCertificateThumbprint        : A7A60C2841A0104C9E199C786849228C56223E03\n";
        let (c, d) = parse_proxy_config(t);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.url.as_deref(), Some("https://myProxy.contoso.com"));
        assert_eq!(c.url_line, Some(4));
        assert_eq!(c.user_name.as_deref(), Some("CONTOSO\\proxyUser"));
        assert!(c.password_set);
        let json = serde_json::to_string(&c).unwrap_or_default();
        assert!(!json.contains("PgYTSj0"));
    }

    #[test]
    fn proxy_config_that_printed_nothing() {
        let (c, d) = parse_proxy_config("PS C:\\> Get-MDISensorProxyConfiguration\nPS C:\\>\n");
        assert_eq!(c.line, None);
        assert_eq!((d[0].code, d[0].line), ("empty-output", 1));
    }

    #[test]
    fn api_test_false_is_weak() {
        let (t, d) = parse_api_test("PS C:\\> Test-MDISensorApiConnection\nFalse\n");
        assert_eq!((t.result, t.line), (Some(false), Some(2)));
        assert!(d.iter().any(|d| d.code == "weak-evidence"));
    }

    #[test]
    fn readiness_html_asks_for_the_json() {
        let (r, d) = parse_readiness("<html><body><table><tr><th><a href='https://aka.ms/mdi/RootCertificates'>RootCertificates</a></th></tr></table></body></html>");
        assert!(r.servers.is_empty());
        assert_eq!(d[0].code, "partly-understood");
    }

    #[test]
    fn readiness_reads_the_details_list_not_the_boolean() {
        let j = r#"{"Domain":"contoso.com","DomainControllers":[{"FQDN":"DC1.contoso.com","RootCertificates":false,"SensorVersion":"2.250.18972.0","Details":{"RootCertificatesDetails":[{"Thumbprint":"DF3C24F9BFD666761B268073FE06D1CC8D4F82A4","Subject":"CN=DigiCert Global Root G2"}]}}]}"#;
        let (r, d) = parse_readiness(j);
        assert!(d.is_empty());
        let s = &r.servers[0];
        assert_eq!(s.root_certificates_ok, Some(false));
        assert!(s.digicert_g2 && !s.digicert_global_root_ca);
        assert_eq!(s.sensor_version.as_deref(), Some("2.250.18972.0"));
    }
}
