//! The documented reachability probe: browse to the processor endpoint (directly or through one
//! proxy) and expect HTTP 503, or 200 from `/tri/sensor/api/ping`. Network traffic happens only
//! when [`probe`] is called (the `probe` command, `analyze --probe`).
//!
//! The result says what answered and what it likely means: the service, a proxy demanding
//! authentication (with its schemes, read from a bare `CONNECT` when the HTTP client hides
//! them), a portal or block page, an SSL-inspecting proxy (from the peer certificate), or no
//! answer at all (DNS, refused, timeout, TLS). Proxy credentials never appear in the result.

mod cert;
mod connect;
mod grab;
pub mod http_head;
mod redact;
mod routes;

use std::error::Error as _;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use cert::{is_service_host, TlsPeer};
pub use redact::{redact_url, REDACTED};
pub use routes::{probe_routes, Route, RouteProbe};

use redact::Secrets;

/// Path of the newer documented test, answered with 200 (body: the latest sensor version).
pub const PING_PATH: &str = "/tri/sensor/api/ping";
/// Default time budget of one probe.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest accepted time budget.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest `--ca-cert` PEM accepted.
pub const MAX_CA_CERT_BYTES: usize = 1024 * 1024;
/// Most body bytes read from an unexpected answer to find its page title.
const MAX_BODY_SNIFF: u64 = 16 * 1024;
/// Longest server-provided text (Location, page title) kept, in characters.
const MAX_ECHO_CHARS: usize = 300;
/// Shortest time budget left worth a diagnostic `CONNECT` after a failed request.
const MIN_DIAGNOSTIC_BUDGET: Duration = Duration::from_millis(200);

/// One probe to run: where to, through which proxy, trusting what, for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The URL to fetch (`https://...`; `http://` works but is not a valid test of the sensor).
    pub url: String,
    /// `http://[user:password@]host:port` (a bare `host:port` means `http://`); `None` = direct,
    /// and environment proxies (`HTTPS_PROXY`, ...) are never used.
    pub proxy: Option<String>,
    /// Extra trust roots (PEM), for inspection proxies and tests; the public roots stay trusted.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Budget for the whole exchange.
    pub timeout: Duration,
}

impl ProbeRequest {
    /// A direct probe of `url` with the default timeout.
    pub fn new(url: impl Into<String>) -> ProbeRequest {
        ProbeRequest {
            url: url.into(),
            proxy: None,
            ca_cert_pem: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Checks the URL, proxy, PEM and timeout without touching the network, so a command can
    /// report a usage error instead of a failed probe.
    pub fn validate(&self) -> Result<(), ProbeError> {
        Plan::new(self).map(|_| ())
    }
}

/// What the probe concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// 503 (the documented answer) or 200 from the ping URL, not through SSL inspection.
    Reachable,
    /// Some other HTTP answer (portal, block page, redirect, proxy refusing the tunnel, or the
    /// documented status behind an inspecting proxy).
    UnexpectedStatus,
    /// The proxy answered 407, to the request or to `CONNECT`.
    ProxyAuthRequired,
    /// No HTTP answer: see `error_kind` and `error`.
    Failed,
}

/// Why a probe got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The host name (endpoint, or proxy) does not resolve.
    Dns,
    /// The TCP connection was refused.
    Refused,
    /// No answer within the time budget.
    Timeout,
    /// The TLS handshake failed (untrusted or wrong certificate, no common protocol).
    Tls,
    /// The connection was reset or closed early.
    Reset,
    /// The request itself is invalid (URL, proxy, PEM); nothing was sent.
    Config,
    /// Anything else.
    Other,
}

/// Who produced the status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    /// The answer to the request itself (from the TLS peer for HTTPS; relayed or produced by
    /// the proxy for plain HTTP).
    Response,
    /// The proxy's own answer to `CONNECT` (the tunnel was not opened).
    ProxyConnect,
}

/// The result of one probe, serialised as the contract's `probe --format json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// The probed URL (credentials redacted).
    pub url: String,
    /// The proxy used (credentials redacted), `None` for direct.
    pub proxy: Option<String>,
    /// HTTP status received, if any.
    pub status: Option<u16>,
    /// The verdict.
    pub outcome: ProbeOutcome,
    /// What failed, when no HTTP answer came (or the request was invalid).
    pub error: Option<String>,
    /// `Proxy-Authenticate` schemes of a 407 (`NTLM`, `Negotiate`, `Basic`, ...), as sent.
    pub proxy_auth_schemes: Vec<String>,
    /// The TLS peer's leaf certificate, when a TLS session was established.
    pub tls: Option<TlsPeer>,
    /// Wall time of the probe in milliseconds.
    pub elapsed_ms: u64,
    /// Class of `error` when the outcome is `failed`.
    pub error_kind: Option<FailureKind>,
    /// Who produced `status`.
    pub status_source: Option<StatusSource>,
    /// The certificate points to an SSL-inspecting proxy: on a Microsoft service host, issued by
    /// a non-Microsoft CA or by a `--ca-cert` root. Never a pass for the sensor.
    pub inspection_suspected: bool,
    /// `Location` of a redirect (a captive portal or login page, typically).
    pub location: Option<String>,
    /// `<title>` of an unexpected answer's page (proxy block pages name themselves).
    pub page_title: Option<String>,
    /// One or two sentences for people: what the answer likely means and what to do.
    pub explanation: String,
}

impl ProbeResult {
    /// Whether the endpoint answered as documented.
    pub fn is_reachable(&self) -> bool {
        self.outcome == ProbeOutcome::Reachable
    }

    /// Label and value of each field for a two-column table (values are as stored; escape
    /// them for a terminal).
    pub fn table_rows(&self) -> Vec<(&'static str, String)> {
        let mut rows = vec![
            ("URL", self.url.clone()),
            (
                "Proxy",
                self.proxy.clone().unwrap_or_else(|| "(direct)".into()),
            ),
            ("Outcome", outcome_label(self.outcome).to_string()),
            (
                "Status",
                match (self.status, self.status_source) {
                    (Some(s), Some(StatusSource::ProxyConnect)) => {
                        format!("{s} (the proxy's answer to CONNECT)")
                    }
                    (Some(s), _) => s.to_string(),
                    (None, _) => "-".into(),
                },
            ),
        ];
        if !self.proxy_auth_schemes.is_empty() {
            rows.push(("Proxy auth", self.proxy_auth_schemes.join(", ")));
        }
        if let Some(tls) = &self.tls {
            rows.push(("TLS subject", tls.subject.clone()));
            rows.push(("TLS issuer", tls.issuer.clone()));
        }
        if self.inspection_suspected {
            rows.push(("SSL inspection", "suspected".into()));
        }
        if let Some(location) = &self.location {
            rows.push(("Location", location.clone()));
        }
        if let Some(title) = &self.page_title {
            rows.push(("Page title", title.clone()));
        }
        if let Some(error) = &self.error {
            let kind = self.error_kind.map_or("", failure_label);
            rows.push(("Error", format!("{kind}: {error}")));
        }
        rows.push(("Elapsed", format!("{} ms", self.elapsed_ms)));
        rows.push(("Meaning", self.explanation.clone()));
        rows
    }

    fn new(url: String, proxy: Option<String>) -> ProbeResult {
        ProbeResult {
            url,
            proxy,
            status: None,
            outcome: ProbeOutcome::Failed,
            error: None,
            proxy_auth_schemes: Vec::new(),
            tls: None,
            elapsed_ms: 0,
            error_kind: None,
            status_source: None,
            inspection_suspected: false,
            location: None,
            page_title: None,
            explanation: String::new(),
        }
    }

    fn fail(&mut self, kind: FailureKind, error: String, explanation: String) {
        self.outcome = ProbeOutcome::Failed;
        self.error_kind = Some(kind);
        self.error = Some(error);
        self.explanation = explanation;
    }
}

/// Human label of an outcome.
pub fn outcome_label(outcome: ProbeOutcome) -> &'static str {
    match outcome {
        ProbeOutcome::Reachable => "reachable",
        ProbeOutcome::UnexpectedStatus => "unexpected status",
        ProbeOutcome::ProxyAuthRequired => "proxy authentication required",
        ProbeOutcome::Failed => "failed",
    }
}

/// Human label of a failure kind.
pub fn failure_label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Dns => "DNS",
        FailureKind::Refused => "connection refused",
        FailureKind::Timeout => "timeout",
        FailureKind::Tls => "TLS",
        FailureKind::Reset => "connection reset",
        FailureKind::Config => "invalid request",
        FailureKind::Other => "error",
    }
}

/// Why a [`ProbeRequest`] cannot be run (a usage error, found before any traffic).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProbeError {
    /// The URL does not parse or has no host.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (credentials redacted).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The proxy URL does not parse or is not `http://host[:port]`.
    #[error("invalid proxy {proxy:?}: {reason}")]
    InvalidProxy {
        /// The proxy (credentials redacted).
        proxy: String,
        /// What is wrong.
        reason: String,
    },
    /// The extra trust root is not usable PEM.
    #[error("invalid CA certificate PEM: {reason}")]
    InvalidCaCert {
        /// What is wrong.
        reason: String,
    },
    /// The time budget is zero or too long.
    #[error("timeout must be between 1 s and {} s, got {got:?}", MAX_TIMEOUT.as_secs())]
    InvalidTimeout {
        /// The budget given.
        got: Duration,
    },
}

/// Normalises a proxy setting to `http://[user:password@]host:port` (a bare `host:port`, as
/// WinINet stores it, means `http://`; a missing port means 80). The result keeps credentials:
/// pass it to [`ProbeRequest::proxy`], print only [`redact_url`] of it.
pub fn normalize_proxy(proxy: &str) -> Result<String, ProbeError> {
    parse_proxy(proxy).map(|p| p.url.as_str().trim_end_matches('/').to_string())
}

/// A validated proxy.
struct ProxyPlan {
    /// Full URL, credentials included (for the HTTP client).
    url: reqwest::Url,
    /// Host for a socket (IPv6 without brackets).
    host: String,
    port: u16,
    /// `Basic ...` value of `Proxy-Authorization`, when credentials were given.
    authorization: Option<String>,
}

fn parse_proxy(proxy: &str) -> Result<ProxyPlan, ProbeError> {
    let bad = |reason: &str| ProbeError::InvalidProxy {
        proxy: redact_url(proxy),
        reason: reason.to_string(),
    };
    let trimmed = proxy.trim();
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let mut secrets = Secrets::default();
    secrets.add_url(&with_scheme);
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| bad(&secrets.scrub(&e.to_string())))?;
    if url.scheme() != "http" {
        return Err(bad(&format!(
            "scheme {:?} is not supported: give the proxy as http://host:port (HTTPS goes \
             through it with CONNECT)",
            url.scheme()
        )));
    }
    let host = url
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host"))?;
    if !(url.path().is_empty() || url.path() == "/") || url.query().is_some() {
        return Err(bad("a proxy URL has no path or query: http://host:port"));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let authorization = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        let user = redact::percent_decode(url.username());
        let password = redact::percent_decode(url.password().unwrap_or(""));
        Some(format!(
            "Basic {}",
            redact::base64(format!("{user}:{password}").as_bytes())
        ))
    };
    Ok(ProxyPlan {
        url,
        host,
        port,
        authorization,
    })
}

/// A validated request.
struct Plan {
    target: reqwest::Url,
    proxy: Option<ProxyPlan>,
    roots: Vec<reqwest::Certificate>,
    root_subjects: Vec<Vec<u8>>,
    timeout: Duration,
}

impl Plan {
    fn new(req: &ProbeRequest) -> Result<Plan, ProbeError> {
        let bad_url = |reason: String| ProbeError::InvalidUrl {
            url: redact_url(&req.url),
            reason,
        };
        let target = reqwest::Url::parse(req.url.trim()).map_err(|e| bad_url(e.to_string()))?;
        if !matches!(target.scheme(), "http" | "https") {
            return Err(bad_url(format!(
                "scheme {:?}: only https (or http) can be probed",
                target.scheme()
            )));
        }
        if target.host_str().is_none_or(str::is_empty) {
            return Err(bad_url("no host".into()));
        }
        let proxy = req.proxy.as_deref().map(parse_proxy).transpose()?;
        let (roots, root_subjects) = match &req.ca_cert_pem {
            None => (Vec::new(), Vec::new()),
            Some(pem) => {
                let bad = |reason: String| ProbeError::InvalidCaCert { reason };
                if pem.len() > MAX_CA_CERT_BYTES {
                    return Err(bad(format!(
                        "{} bytes, more than the {MAX_CA_CERT_BYTES} accepted",
                        pem.len()
                    )));
                }
                let roots =
                    reqwest::Certificate::from_pem_bundle(pem).map_err(|e| bad(error_chain(&e)))?;
                if roots.is_empty() {
                    return Err(bad(
                        "no `-----BEGIN CERTIFICATE-----` block found (a DER file? convert \
                         it to PEM)"
                            .into(),
                    ));
                }
                (roots, cert::pem_subjects(pem))
            }
        };
        if req.timeout.is_zero() || req.timeout > MAX_TIMEOUT {
            return Err(ProbeError::InvalidTimeout { got: req.timeout });
        }
        Ok(Plan {
            target,
            proxy,
            roots,
            root_subjects,
            timeout: req.timeout,
        })
    }

    fn host(&self) -> &str {
        self.target.host_str().unwrap_or("")
    }

    /// `host:port` of the target, as `CONNECT` names it.
    fn authority(&self) -> String {
        let port = self.target.port_or_known_default().unwrap_or(443);
        format!("{}:{port}", self.host())
    }

    fn is_https(&self) -> bool {
        self.target.scheme() == "https"
    }

    fn is_ping(&self) -> bool {
        let path = self
            .target
            .path()
            .trim_end_matches('/')
            .to_ascii_lowercase();
        path.ends_with(PING_PATH)
    }

    fn via(&self) -> String {
        match &self.proxy {
            Some(p) => format!(" through the proxy {}:{}", p.host, p.port),
            None => " directly".into(),
        }
    }
}

/// Runs one probe. Never panics and never returns an error: an invalid request is a `failed`
/// outcome with `error_kind` `config` (call [`ProbeRequest::validate`] first for a usage error).
pub fn probe(req: &ProbeRequest) -> ProbeResult {
    let started = Instant::now();
    let mut secrets = Secrets::default();
    secrets.add_url(&req.url);
    if let Some(proxy) = &req.proxy {
        secrets.add_url(proxy);
    }
    let mut result = ProbeResult::new(redact_url(&req.url), req.proxy.as_deref().map(redact_url));
    match Plan::new(req) {
        Err(e) => result.fail(
            FailureKind::Config,
            e.to_string(),
            "The probe was not run: the request is invalid.".into(),
        ),
        Ok(plan) => {
            // reqwest's blocking client panics when used inside an async runtime; keep the
            // promise that a probe is an outcome, whatever the caller's context.
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut r = result.clone();
                execute(&plan, started, &mut r);
                r
            }));
            match run {
                Ok(r) => result = r,
                Err(_) => result.fail(
                    FailureKind::Other,
                    "the HTTP client panicked".into(),
                    "Internal error: the probe could not run in this context.".into(),
                ),
            }
        }
    }
    scrub(&mut result, &secrets);
    result.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    result
}

/// Removes credentials from every free-text field.
fn scrub(result: &mut ProbeResult, secrets: &Secrets) {
    for field in [
        &mut result.error,
        &mut result.location,
        &mut result.page_title,
    ] {
        if let Some(text) = field.as_mut() {
            *text = secrets.scrub(text);
        }
    }
    result.explanation = secrets.scrub(&result.explanation);
}

fn execute(plan: &Plan, started: Instant, result: &mut ProbeResult) {
    let client = match build_client(plan) {
        Ok(c) => c,
        Err(e) => {
            result.fail(
                FailureKind::Other,
                error_chain(&e),
                "The HTTP client could not be set up.".into(),
            );
            return;
        }
    };
    match client.get(plan.target.clone()).send() {
        Ok(response) => judge_response(plan, response, started, result),
        Err(e) => judge_error(plan, &e, started, result),
    }
}

fn build_client(plan: &Plan) -> reqwest::Result<reqwest::blocking::Client> {
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(plan.timeout)
        .connect_timeout(plan.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .user_agent(concat!("proxy-triage/", env!("CARGO_PKG_VERSION")));
    builder = match &plan.proxy {
        // An explicit proxy also turns off the environment's proxies and NO_PROXY.
        Some(p) => builder.proxy(reqwest::Proxy::all(p.url.clone())?),
        None => builder.no_proxy(),
    };
    for root in &plan.roots {
        builder = builder.add_root_certificate(root.clone());
    }
    builder.build()
}

fn judge_response(
    plan: &Plan,
    response: reqwest::blocking::Response,
    started: Instant,
    result: &mut ProbeResult,
) {
    let status = response.status().as_u16();
    result.status = Some(status);
    result.status_source = Some(StatusSource::Response);
    let mut peer_der = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .map(<[u8]>::to_vec);
    if peer_der.is_none() && plan.is_https() {
        // reqwest keeps no TLS info on tunnels through a proxy: read the certificate again on
        // a connection of our own (the client already verified it on its connection).
        peer_der = grab(plan, started);
    }
    let mut issuer_orgs = Vec::new();
    if let Some(der) = &peer_der {
        result.tls = cert::peer_from_der(der, &plan.root_subjects, true);
        issuer_orgs = cert::issuer_organizations(der);
    }
    result.location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| shorten(&String::from_utf8_lossy(v.as_bytes())));
    result.proxy_auth_schemes = http_head::auth_schemes(
        response
            .headers()
            .get_all(reqwest::header::PROXY_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let issued_by_ca_cert = result.tls.as_ref().is_some_and(|t| t.issued_by_ca_cert);
    result.inspection_suspected = inspection_suspected(plan, result.tls.as_ref(), &issuer_orgs);
    let documented = status == 503 || (status == 200 && plan.is_ping());

    if status == 407 {
        result.outcome = ProbeOutcome::ProxyAuthRequired;
        result.explanation = auth_explanation(&result.proxy_auth_schemes, plan);
    } else if documented && !result.inspection_suspected {
        result.outcome = ProbeOutcome::Reachable;
        result.explanation = if status == 503 {
            format!(
                "HTTP 503 from {}{}: the documented answer, so the route to the service works.",
                plan.host(),
                plan.via()
            )
        } else {
            format!(
                "HTTP 200 from the ping API{}: the documented answer, so the route to the \
                 service works.",
                plan.via()
            )
        };
        if issued_by_ca_cert {
            if let Some(tls) = &result.tls {
                result.explanation.push_str(&format!(
                    " The certificate was trusted only through --ca-cert (issuer {}).",
                    tls.issuer
                ));
            }
        }
    } else {
        result.outcome = ProbeOutcome::UnexpectedStatus;
        if !documented {
            result.page_title = sniff_title(response);
        }
        result.explanation = if documented {
            let issuer = result.tls.as_ref().map_or("", |t| t.issuer.as_str());
            format!(
                "HTTP {status} came back, but the certificate for {} was issued by {issuer:?}{}: \
                 an SSL-inspecting proxy is in the path. SSL inspection is not supported (the \
                 sensor's mutual TLS fails): exempt *.atp.azure.com from inspection.",
                plan.host(),
                if issued_by_ca_cert {
                    " (trusted only through --ca-cert)"
                } else {
                    ""
                }
            )
        } else {
            status_explanation(status, plan, result.location.as_deref())
        };
        if let Some(title) = &result.page_title {
            result
                .explanation
                .push_str(&format!(" The page is titled {title:?}."));
        }
    }
    if !plan.is_https() {
        result.explanation.push_str(
            " Plain HTTP is not a valid test of the sensor's route: the sensor uses HTTPS.",
        );
    }
}

fn status_explanation(status: u16, plan: &Plan, location: Option<&str>) -> String {
    let expected = if plan.is_ping() {
        "the ping API answers 200"
    } else {
        "the service answers 503"
    };
    match status {
        200..=299 => format!(
            "HTTP {status} where {expected}: most likely a proxy portal, captive page or block \
             page answered, not the service."
        ),
        300..=399 => format!(
            "Redirect (HTTP {status}) to {:?}: a captive portal or proxy login page, not the \
             service.",
            location.unwrap_or("(no Location)")
        ),
        401 | 403 => format!(
            "HTTP {status}: the proxy or a web filter refuses the request (the service does not \
             answer {status}). Let *.atp.azure.com through without authentication: a proxy that \
             asks with 401/403 instead of 407 makes sensor registration fail with \"licensing \
             issues\"."
        ),
        502 | 504 => format!(
            "HTTP {status}: a gateway error, usually the proxy failing to reach the endpoint."
        ),
        _ => format!("HTTP {status}: not the documented answer ({expected})."),
    }
}

fn auth_explanation(schemes: &[String], plan: &Plan) -> String {
    let integrated = schemes.iter().any(|s| {
        ["NTLM", "Negotiate", "Kerberos"]
            .iter()
            .any(|i| s.eq_ignore_ascii_case(i))
    });
    let sent = plan
        .proxy
        .as_ref()
        .is_some_and(|p| p.authorization.is_some());
    let offers_basic = schemes.iter().any(|s| s.eq_ignore_ascii_case("Basic"));
    let mut text = String::from(if sent {
        "The proxy rejected the credentials given (Basic) and demands authentication"
    } else {
        "The proxy demands authentication"
    });
    if schemes.is_empty() {
        text.push_str(" but names no scheme.");
    } else {
        text.push_str(&format!(" ({}).", schemes.join(", ")));
    }
    if integrated {
        text.push_str(
            " The sensor runs as LocalService / LocalSystem and cannot pass NTLM or Negotiate: \
             the proxy must let *.atp.azure.com through without authentication.",
        );
    }
    if offers_basic || !integrated {
        text.push_str(
            " The sensor passes Basic only with credentials in its own proxy configuration \
             (installer ProxyUserName/ProxyUserPassword, or Set-MDISensorProxyConfiguration \
             -ProxyCredential); otherwise exempt *.atp.azure.com from authentication.",
        );
    }
    text
}

fn judge_error(plan: &Plan, err: &reqwest::Error, started: Instant, result: &mut ProbeResult) {
    let (kind, chain) = classify(err);
    if let Some(proxy) = &plan.proxy {
        let left = plan.timeout.saturating_sub(started.elapsed());
        // Timeouts would only repeat; refused / DNS mean the proxy itself was not reached; a
        // TLS failure means the tunnel was open.
        let proxy_reached = !matches!(
            kind,
            FailureKind::Timeout | FailureKind::Refused | FailureKind::Dns | FailureKind::Tls
        );
        if plan.is_https() && proxy_reached && left >= MIN_DIAGNOSTIC_BUDGET {
            let authority = plan.authority();
            let request = connect::ConnectRequest {
                proxy_host: &proxy.host,
                proxy_port: proxy.port,
                authority: &authority,
                authorization: proxy.authorization.as_deref(),
                timeout: left,
            };
            if let Ok((head, _tunnel)) = connect::connect_head(&request) {
                if judge_connect_reply(plan, &head, result) {
                    return;
                }
            }
        }
    }
    let mut explanation = failure_explanation(kind, &chain, plan);
    if kind == FailureKind::Tls && plan.is_https() {
        // Show what the server presented: an inspection proxy's CA names itself here.
        if let Some(der) = grab(plan, started) {
            let orgs = cert::issuer_organizations(&der);
            result.tls = cert::peer_from_der(&der, &plan.root_subjects, false);
            result.inspection_suspected = inspection_suspected(plan, result.tls.as_ref(), &orgs);
            if let Some(tls) = &result.tls {
                explanation.push_str(&format!(
                    " The server presented {:?}, issued by {:?}.",
                    tls.subject, tls.issuer
                ));
            }
        }
    }
    result.fail(kind, chain, explanation);
}

/// Whether the peer certificate points to SSL inspection: a Microsoft service host whose
/// certificate comes from a `--ca-cert` root or from an issuer that is not Microsoft's.
fn inspection_suspected(plan: &Plan, peer: Option<&TlsPeer>, issuer_orgs: &[String]) -> bool {
    peer.is_some_and(|p| {
        is_service_host(plan.host())
            && (p.issued_by_ca_cert || !cert::is_service_issuer(issuer_orgs))
    })
}

/// The leaf certificate of the target, read on a separate connection within what is left of
/// the time budget (`None` when there is too little time or it cannot be read).
fn grab(plan: &Plan, started: Instant) -> Option<Vec<u8>> {
    let left = plan.timeout.saturating_sub(started.elapsed());
    if left < MIN_DIAGNOSTIC_BUDGET {
        return None;
    }
    let host = plan.host().trim_start_matches('[').trim_end_matches(']');
    let port = plan.target.port_or_known_default().unwrap_or(443);
    let authority = plan.authority();
    let proxy = plan
        .proxy
        .as_ref()
        .map(|p| (p.host.as_str(), p.port, p.authorization.as_deref()));
    grab::grab_leaf_certificate(&grab::GrabRequest {
        host,
        port,
        authority: &authority,
        proxy,
        timeout: left,
    })
    .ok()
}

/// Records the proxy's refusal of `CONNECT`; false when the proxy opened the tunnel (the
/// failure is then beyond it).
fn judge_connect_reply(
    plan: &Plan,
    head: &http_head::ResponseHead,
    result: &mut ProbeResult,
) -> bool {
    let status = head.status;
    if (200..300).contains(&status) {
        return false;
    }
    result.status = Some(status);
    result.status_source = Some(StatusSource::ProxyConnect);
    result.proxy_auth_schemes = http_head::auth_schemes(head.values("Proxy-Authenticate"));
    let authority = plan.authority();
    if status == 407 {
        result.outcome = ProbeOutcome::ProxyAuthRequired;
        result.explanation = auth_explanation(&result.proxy_auth_schemes, plan);
        return true;
    }
    result.outcome = ProbeOutcome::UnexpectedStatus;
    result.location = head.values("Location").next().map(shorten);
    let reason = shorten(&head.reason);
    result.explanation = match status {
        502..=504 => format!(
            "The proxy answered {status} {reason} to CONNECT {authority}: the proxy itself could \
             not reach the endpoint. This is the proxy's {status}, not the service's 503."
        ),
        403 => format!(
            "The proxy refused to open a tunnel to {authority} (403 {reason}): its policy blocks \
             the endpoint; allow *.atp.azure.com."
        ),
        _ => format!("The proxy refused to open a tunnel to {authority} ({status} {reason})."),
    };
    true
}

fn failure_explanation(kind: FailureKind, chain: &str, plan: &Plan) -> String {
    let secs = plan.timeout.as_secs_f64();
    match (kind, &plan.proxy) {
        (FailureKind::Dns, Some(p)) => format!(
            "The proxy's name {} does not resolve from this machine.",
            p.host
        ),
        (FailureKind::Dns, None) => format!(
            "{} does not resolve from this machine: DNS does not serve external names (common \
             when traffic must go through a proxy), or the name is wrong.",
            plan.host()
        ),
        (FailureKind::Refused, Some(p)) => format!(
            "Nothing accepts connections at the proxy address {}:{}: wrong proxy host or port, \
             or the proxy is down.",
            p.host, p.port
        ),
        (FailureKind::Refused, None) => format!(
            "The connection to {} was refused: a firewall rejects it or nothing listens there; a \
             proxy may be required.",
            plan.authority()
        ),
        (FailureKind::Timeout, Some(_)) => format!(
            "No answer within {secs} s{}: the proxy does not answer, or cannot reach the \
             endpoint in time.",
            plan.via()
        ),
        (FailureKind::Timeout, None) => format!(
            "No answer from {} within {secs} s: outbound traffic is dropped (firewall); a proxy \
             is likely required.",
            plan.authority()
        ),
        (FailureKind::Tls, _) => tls_explanation(chain),
        (FailureKind::Reset, _) => format!(
            "The connection{} was reset or closed early: a firewall or proxy cuts the traffic \
             (TLS or SNI filtering, for example).",
            plan.via()
        ),
        (FailureKind::Config, _) => "The probe was not run: the request is invalid.".into(),
        (FailureKind::Other, _) => format!("The request failed{}.", plan.via()),
    }
}

fn tls_explanation(chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    let why = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        "the certificate is not issued by a trusted root: an SSL-inspecting proxy re-signing \
         traffic (unsupported by the sensor), or a private CA. Give that CA with --ca-cert to \
         see the certificate's subject and issuer"
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "the certificate does not name this host: something other than the service (a proxy, a \
         portal) answered"
    } else if lower.contains("expired") {
        "the certificate has expired, or this machine's clock is wrong"
    } else if lower.contains("notvalidyet") {
        "the certificate is not valid yet, or this machine's clock is wrong"
    } else if lower.contains("protocolversion") || lower.contains("peerincompatible") {
        "no common TLS version or cipher suite (TLS 1.2 is required)"
    } else if lower.contains("alert") {
        "the server rejected the TLS handshake"
    } else if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
        "the answer is not TLS (a plain-HTTP server or proxy page on an HTTPS port?)"
    } else {
        "the TLS handshake failed"
    };
    format!("TLS failure: {why}.")
}

/// Classifies a client error and renders its cause chain (without the URL).
fn classify(err: &reqwest::Error) -> (FailureKind, String) {
    let mut io_kinds = Vec::new();
    let mut source = err.source();
    let mut depth = 0;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            io_kinds.push(io.kind());
        }
        depth += 1;
        if depth > 16 {
            break;
        }
        source = e.source();
    }
    let chain = error_chain(err);
    let lower = chain.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let io_has = |kinds: &[io::ErrorKind]| io_kinds.iter().any(|k| kinds.contains(k));
    let kind = if err.is_timeout() || io_has(&[io::ErrorKind::TimedOut]) || has(&["timed out"]) {
        FailureKind::Timeout
    } else if io_has(&[io::ErrorKind::ConnectionRefused]) || has(&["connection refused"]) {
        FailureKind::Refused
    } else if has(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no such host",
        "nodename nor servname",
    ]) {
        FailureKind::Dns
    } else if has(&[
        "certificate",
        "tls",
        "handshake",
        "alert",
        "peerincompatible",
        "corrupt message",
        "invalidcontenttype",
    ]) {
        FailureKind::Tls
    } else if io_has(&[
        io::ErrorKind::ConnectionReset,
        io::ErrorKind::ConnectionAborted,
        io::ErrorKind::UnexpectedEof,
        io::ErrorKind::BrokenPipe,
    ]) || has(&["connection reset", "connection closed", "unexpected eof"])
    {
        FailureKind::Reset
    } else {
        FailureKind::Other
    };
    (kind, chain)
}

/// `error: cause: cause` with consecutive repeats dropped; a reqwest error's URL is left out.
fn error_chain(err: &reqwest::Error) -> String {
    let top = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_builder() {
        "invalid client settings"
    } else {
        "request failed"
    };
    let mut parts: Vec<String> = vec![top.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !text.is_empty() && parts.last() != Some(&text) && parts.len() < 16 {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// The `<title>` of an HTML page, from the first bytes of the body.
fn sniff_title(response: reqwest::blocking::Response) -> Option<String> {
    let mut body = Vec::new();
    let _ = response.take(MAX_BODY_SNIFF).read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body);
    let lower = text.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower.get(open..)?.find('>')? + 1;
    let end = start + lower.get(start..)?.find("</title")?;
    let title: Vec<&str> = text.get(start..end)?.split_whitespace().collect();
    let title = title.join(" ");
    (!title.is_empty()).then(|| shorten(&title))
}

/// Server-provided text cut to [`MAX_ECHO_CHARS`].
fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_ECHO_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_ECHO_CHARS).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_normalise_and_validate() {
        assert_eq!(
            normalize_proxy("proxy:8080").as_deref(),
            Ok("http://proxy:8080")
        );
        assert_eq!(
            normalize_proxy("http://10.0.0.1").as_deref(),
            Ok("http://10.0.0.1")
        );
        let plan = parse_proxy("http://u:secret@[::1]:3128").ok();
        let plan = plan.as_ref();
        assert_eq!(plan.map(|p| p.host.as_str()), Some("::1"));
        assert_eq!(plan.map(|p| p.port), Some(3128));
        assert_eq!(
            plan.and_then(|p| p.authorization.as_deref()),
            Some("Basic dTpzZWNyZXQ=")
        );
        for bad in [
            "",
            "https://p:1",
            "socks5://p:1",
            "http://p:1/path",
            "http://:1",
            "http://p:99999",
        ] {
            let err = normalize_proxy(bad);
            assert!(
                matches!(err, Err(ProbeError::InvalidProxy { .. })),
                "{bad}: {err:?}"
            );
        }
        // The error never echoes the password.
        let err = normalize_proxy("https://u:secret@p:1")
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| !e.contains("secret")),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_requests_are_config_failures_without_traffic() {
        let mut req = ProbeRequest::new("ftp://example.invalid/");
        assert!(matches!(req.validate(), Err(ProbeError::InvalidUrl { .. })));
        let result = probe(&req);
        assert_eq!(result.outcome, ProbeOutcome::Failed);
        assert_eq!(result.error_kind, Some(FailureKind::Config));
        req.url = "https://example.invalid/".into();
        req.ca_cert_pem = Some(b"not a pem".to_vec());
        assert!(matches!(
            req.validate(),
            Err(ProbeError::InvalidCaCert { .. })
        ));
        req.ca_cert_pem = None;
        req.timeout = Duration::ZERO;
        assert!(matches!(
            req.validate(),
            Err(ProbeError::InvalidTimeout { .. })
        ));
        req.timeout = DEFAULT_TIMEOUT;
        req.proxy = Some("http://u:secret@p:1/x".into());
        let result = probe(&req);
        assert_eq!(result.error_kind, Some(FailureKind::Config));
        assert_eq!(result.proxy.as_deref(), Some("http://***@p:1/x"));
        let json = serde_json::to_string(&result).unwrap_or_default();
        assert!(!json.contains("secret"), "{json}");
    }

    #[test]
    fn ping_urls() {
        let plan = |u: &str| Plan::new(&ProbeRequest::new(u)).ok();
        assert!(
            plan("https://ws1sensorapi.atp.azure.com/tri/sensor/api/ping")
                .is_some_and(|p| p.is_ping())
        );
        assert!(
            plan("https://ws1sensorapi.atp.azure.com/TRI/Sensor/api/ping/")
                .is_some_and(|p| p.is_ping())
        );
        assert!(plan("https://ws1sensorapi.atp.azure.com/").is_some_and(|p| !p.is_ping()));
        assert_eq!(
            plan("https://[::1]/").map(|p| p.authority()).as_deref(),
            Some("[::1]:443")
        );
    }

    #[test]
    fn tls_causes_are_named() {
        assert!(tls_explanation("invalid peer certificate: UnknownIssuer").contains("inspecting"));
        assert!(
            tls_explanation("invalid peer certificate: NotValidForName").contains("does not name")
        );
        assert!(tls_explanation("received fatal alert: HandshakeFailure").contains("rejected"));
    }

    #[test]
    fn outcome_serialises_as_the_contract() {
        let json = serde_json::to_value(ProbeOutcome::ProxyAuthRequired).ok();
        assert_eq!(json, Some(serde_json::json!("proxy_auth_required")));
        let mut r = ProbeResult::new("https://h/".into(), None);
        r.status = Some(503);
        r.outcome = ProbeOutcome::Reachable;
        let v = serde_json::to_value(&r).unwrap_or_default();
        for key in [
            "url",
            "proxy",
            "status",
            "outcome",
            "error",
            "proxy_auth_schemes",
            "tls",
            "elapsed_ms",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["outcome"], "reachable");
        assert_eq!(v["status"], 503);
    }
}
