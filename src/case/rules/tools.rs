//! Microsoft's own tools as evidence: the Defender for Endpoint client analyzer (LOCAL SYSTEM
//! through WinHTTP), `Test-MDISensorApiConnection` (a weak boolean) and `Test-MdiReadiness`
//! (trusted roots and sensor versions). None of them shows LOCAL SERVICE's route, so none
//! can make a case healthy; only a missing trusted root makes it misconfigured.

use super::super::findings::FindingId;
use super::super::model::{EndpointSource, EvidenceRef, ProbeEvidence};
use super::super::principals::Principal;
use super::super::resolve::{AnalyzerTest, Resolved};
use super::Findings;
use crate::formats::mde_analyzer::MethodWay;
use crate::formats::mdi_tools::{DIGICERT_G2, DIGICERT_GLOBAL_ROOT_CA};

/// Most URLs named in one finding's title (the evidence lists them all).
const NAMED_URLS: usize = 3;

/// How the analyzer ran, in words.
fn ran_as(tests: &[&AnalyzerTest]) -> &'static str {
    match tests.iter().find_map(|t| t.run_as.as_deref()) {
        Some("psexec") => "as LOCAL SYSTEM (PsExec -s) through WinHTTP",
        _ => "as LOCAL SYSTEM through WinHTTP",
    }
}

/// The ways that reached a URL, in words (`Proxy disabled, Default proxy`).
fn ways_that_worked(t: &AnalyzerTest) -> String {
    let names: Vec<&str> = t
        .test
        .methods
        .iter()
        .filter(|m| m.reachable())
        .map(|m| m.method.as_str())
        .collect();
    names.join(", ")
}

/// What WinHTTP's own proxy (method 1) against no proxy (method 3) says, when they differ.
fn proxy_versus_direct(t: &AnalyzerTest) -> Option<&'static str> {
    let default = t.test.reached_by(MethodWay::DefaultProxy);
    let direct = t.test.reached_by(MethodWay::Direct);
    let tried = |w: MethodWay| t.test.methods.iter().any(|m| m.way() == w);
    if !tried(MethodWay::DefaultProxy) || !tried(MethodWay::Direct) {
        return None;
    }
    match (default, direct) {
        (false, true) => Some("only without a proxy: WinHTTP's own proxy setting is what fails"),
        (true, false) => Some("only through WinHTTP's proxy: the direct route is closed"),
        _ => None,
    }
}

fn url_list(tests: &[&AnalyzerTest]) -> String {
    let mut urls: Vec<&str> = tests.iter().map(|t| t.test.url.as_str()).collect();
    urls.dedup();
    let more = urls.len().saturating_sub(NAMED_URLS);
    let mut out = urls
        .iter()
        .take(NAMED_URLS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        out.push_str(&format!(" and {more} more"));
    }
    out
}

fn evidence_of(tests: &[&AnalyzerTest]) -> Vec<EvidenceRef> {
    tests.iter().map(|t| t.at.clone()).collect()
}

/// The client analyzer's connectivity tests: the sensor endpoint (a route of LOCAL SYSTEM
/// through WinHTTP) and Defender for Endpoint's own URLs (weaker). Failures are warnings:
/// WinHTTP as LOCAL SYSTEM is the route of sensors of version 3, which no upload can show
/// (their readiness report says N/A), not of the version-2 sensor service.
pub fn mde_analyzer(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    if r.analyzer_tests.is_empty() {
        return;
    }
    let (sensor, mde): (Vec<&AnalyzerTest>, Vec<&AnalyzerTest>) =
        r.analyzer_tests.iter().partition(|t| t.sensor_endpoint);
    let how = ran_as(&r.analyzer_tests.iter().collect::<Vec<_>>());
    let whose = "This is the route of sensors of version 3 (inside Defender for Endpoint); the service of a version-2 sensor runs as LOCAL SERVICE with its own settings, judged separately";
    // One finding per distinct answer, however many sensor URLs a (hostile) file lists.
    let (reached, unreached): (Vec<&AnalyzerTest>, Vec<&AnalyzerTest>) =
        sensor.iter().copied().partition(|t| t.test.reachable);
    if let Some(first) = unreached.first() {
        f.add(
            FindingId::MdeSensorUrlFailed,
            Some(Principal::LocalSystem),
            format!(
                "MDE client analyzer: {} was not reached {how} by any method ({}). {whose}",
                url_list(&unreached),
                first.test.summary()
            ),
            format!(
                "Allow {}:443 from the domain controller, directly or through the proxy WinHTTP uses (netsh winhttp show proxy, or the Defender for Endpoint static proxy TelemetryProxyServer), without authentication and without SSL inspection",
                first.host
            ),
            evidence_of(&unreached),
        );
    }
    if let Some(first) = reached.first() {
        let contrast = proxy_versus_direct(first)
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        f.add(
            FindingId::MdeSensorUrlOk,
            Some(Principal::LocalSystem),
            format!(
                "MDE client analyzer: {} was reached {how} by {}{contrast}. LOCAL SERVICE (the sensor service of version 2) is not shown by this test",
                url_list(&reached),
                ways_that_worked(first)
            ),
            "None for LOCAL SYSTEM's WinHTTP route; LOCAL SERVICE is judged on its own settings".into(),
            evidence_of(&reached),
        );
    }
    if mde.is_empty() {
        return;
    }
    let failed: Vec<&AnalyzerTest> = mde.iter().copied().filter(|t| !t.test.reachable).collect();
    if failed.is_empty() {
        f.add(
            FindingId::MdeUrlsOk,
            Some(Principal::LocalSystem),
            format!(
                "MDE client analyzer: all {} Defender for Endpoint URLs tested were reached {how}. These are not the sensor endpoint {}: weaker evidence, about sensors of version 3 only",
                mde.len(),
                r.endpoint.host
            ),
            "None".into(),
            evidence_of(&mde),
        );
        return;
    }
    let detail = match failed.as_slice() {
        [only] => format!(" ({})", only.test.summary()),
        [first, ..] => format!(" (the first: {})", first.test.summary()),
        [] => String::new(),
    };
    let scope = "These are Defender for Endpoint's URLs, not the sensor endpoint: they matter to sensors of version 3 and to Defender for Endpoint itself";
    f.add(
        FindingId::MdeUrlsFailed,
        Some(Principal::LocalSystem),
        format!(
            "MDE client analyzer: {} of {} Defender for Endpoint URLs were not reached {how} by any method: {}{detail}. {scope}",
            failed.len(),
            mde.len(),
            url_list(&failed),
        ),
        "Allow the Defender for Endpoint URLs (the streamlined *.endpoint.security.microsoft.com set, or the regional list) through the proxy WinHTTP uses or directly; see the analyzer's own report for the full list".into(),
        evidence_of(&failed),
    );
}

/// `Test-MDISensorApiConnection`: True only for HTTP 200 from the session that ran it,
/// through the sensor's proxy (or the one typed with `-BypassConfiguration`); False for any
/// other answer, the 503 of older workspaces included. Never a verdict by itself.
pub fn api_test(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    let (ok, bad): (Vec<_>, Vec<_>) = r
        .api_tests
        .iter()
        .partition(|t| t.test.result == Some(true));
    let principal = r.sensor_proxy.as_ref().map(|_| Principal::Sensor);
    let route = |bypass: bool| {
        if bypass {
            "with the proxy typed on its command line (-BypassConfiguration), not necessarily the sensor's"
        } else if r.sensor_proxy.is_some() {
            "through the sensor's own proxy from SensorConfiguration.json"
        } else {
            "through the sensor's proxy from SensorConfiguration.json when it has one, else the session's default route"
        }
    };
    if let Some(first) = ok.first() {
        f.add(
            FindingId::MdiApiTestTrue,
            principal,
            format!(
                "Test-MDISensorApiConnection printed True: the sensor API answered HTTP 200 in the session that ran the cmdlet (usually an administrator's), {}. Weak evidence: it does not show the route of LOCAL SERVICE or LOCAL SYSTEM",
                route(first.test.bypass_configuration)
            ),
            "None by itself; the sensor's accounts are judged on their own settings".into(),
            ok.iter().map(|t| t.at.clone()).collect(),
        );
    }
    if let Some(first) = bad.first() {
        f.add(
            FindingId::MdiApiTestFalse,
            principal,
            format!(
                "Test-MDISensorApiConnection printed False ({}): ambiguous. The cmdlet prints False for any answer but HTTP 200, including the 503 that older workspaces return although the route works, and when it cannot read SensorConfiguration.json or its proxy password",
                route(first.test.bypass_configuration)
            ),
            format!(
                "Run it again with -Verbose (the reason is on the VERBOSE: lines), or open {} as LOCAL SYSTEM (PsExec -s) and look at the HTTP status",
                r.endpoint.ping_url()
            ),
            bad.iter().map(|t| t.at.clone()).collect(),
        );
        if let Some(v) = bad.iter().find_map(|t| t.test.verbose.first()) {
            f.with_excerpt(v);
        }
    }
}

/// The cloud of the endpoint, for the root the service's certificate chains to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cloud {
    /// `…atp.azure.com` (GCC included): DigiCert Global Root G2.
    Commercial,
    /// `…atp.azure.us` (GCC High, DoD): DigiCert Global Root CA.
    GccHigh,
    /// No upload names the workspace: either root will do.
    Unknown,
}

fn cloud(r: &Resolved) -> Cloud {
    if r.endpoint.source == EndpointSource::Default {
        Cloud::Unknown
    } else if r.endpoint.host.ends_with(".atp.azure.us") {
        Cloud::GccHigh
    } else {
        Cloud::Commercial
    }
}

const G2_NAME: &str = "DigiCert Global Root G2";
const GLOBAL_ROOT_CA_NAME: &str = "DigiCert Global Root CA";

fn role_words(role: &str) -> &'static str {
    match role {
        "domain-controller" => "Domain controller",
        "ca-server" => "AD CS server",
        "entra-connect-server" => "Entra Connect server",
        _ => "Server",
    }
}

/// `Test-MdiReadiness`: each server's trusted roots, read from the details list (the
/// report's own boolean was wrong before September 2025), and the sensor versions it shows.
pub fn readiness(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    if r.readiness.is_empty() {
        return;
    }
    let cloud = cloud(r);
    let mut present: Vec<String> = Vec::new();
    let mut present_at: Vec<EvidenceRef> = Vec::new();
    for e in &r.readiness {
        let s = &e.server;
        let name = s.fqdn.as_deref().unwrap_or("(unnamed server)");
        if !s.reached() || !s.root_certificates_listed {
            continue;
        }
        let (ok, missing): (bool, String) = match cloud {
            Cloud::Commercial => (
                s.digicert_g2,
                format!("{G2_NAME} ({DIGICERT_G2})"),
            ),
            Cloud::GccHigh => (
                s.digicert_global_root_ca,
                format!("{GLOBAL_ROOT_CA_NAME} ({DIGICERT_GLOBAL_ROOT_CA})"),
            ),
            Cloud::Unknown => (
                s.digicert_g2 || s.digicert_global_root_ca,
                format!("{G2_NAME} ({DIGICERT_G2}; GCC High: {GLOBAL_ROOT_CA_NAME}, {DIGICERT_GLOBAL_ROOT_CA})"),
            ),
        };
        if ok {
            let which = if s.digicert_g2 {
                G2_NAME
            } else {
                GLOBAL_ROOT_CA_NAME
            };
            let bug = if s.root_certificates_ok == Some(false) {
                " (the report's RootCertificates = False is the script's counting bug before September 2025)"
            } else {
                ""
            };
            present.push(format!("{name} has {which}{bug}"));
            present_at.push(e.at.clone());
            continue;
        }
        f.add(
            FindingId::RootCertMissing,
            None,
            format!(
                "{} {name} does not have the trusted root {missing} in its machine's Trusted Root store (Test-MdiReadiness details list): the sensor cannot validate the service's certificate and fails to connect",
                role_words(s.role)
            ),
            format!(
                "Install the root certificate on {name} (Cert:\\LocalMachine\\Root), or let it reach ctldl.windowsupdate.com to fetch it; check with Get-ChildItem Cert:\\LocalMachine\\Root | where Thumbprint -eq <thumbprint>"
            ),
            vec![e.at.clone()],
        );
    }
    if !present.is_empty() {
        f.add(
            FindingId::RootCertPresent,
            None,
            format!(
                "Trusted root for the service's certificate (Test-MdiReadiness details list): {}",
                present.join("; ")
            ),
            "None".into(),
            present_at,
        );
    }
    let versions: Vec<String> = r
        .readiness
        .iter()
        .map(|e| {
            let s = &e.server;
            let name = s.fqdn.as_deref().unwrap_or("(unnamed server)");
            match (s.installed_sensor(), s.reached()) {
                (Some(v), _) => format!("{name} {v}"),
                (None, false) => format!("{name} not reached by the script"),
                (None, true) => format!(
                    "{name} no sensor installed ({})",
                    s.sensor_version.as_deref().unwrap_or("no SensorVersion")
                ),
            }
        })
        .collect();
    f.add(
        FindingId::SensorVersion,
        None,
        format!(
            "Sensor versions (Test-MdiReadiness, the AATPSensor service's file version): {}",
            versions.join("; ")
        ),
        "None by itself".into(),
        r.readiness.iter().map(|e| e.at.clone()).collect(),
    );
}
