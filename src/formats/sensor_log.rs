//! Sensor, updater and installer logs: a streaming scanner that splits the text into records
//! and reports the connectivity failures the documentation and known issues describe.
//!
//! Three layouts are recognised from the first line of each record:
//! * [`LogLayout::Runtime`]: `2024-03-06 11:42:39.6370 Error CommunicationWebClient message [k=v]`
//!   (`Microsoft.Tri.Sensor.log`, `-Errors.log`, `.Updater.log`, `.Deployment.log`, archives);
//! * [`LogLayout::Ata`]: the older ATA gateway layout with process and thread ids,
//!   `2020-07-29 08:58:43.8995 6584 18  Debug [DirectoryServicesResolver] message`;
//! * [`LogLayout::Burn`]: WiX Burn installer lines `[1C60:1AA8][2018-03-24T23:59:13]i000: text`,
//!   whose text may wrap a runtime line.
//!
//! A record is its first line plus every following line that does not start a record
//! (inner exceptions, stack frames, wrapped text). Each record yields at most one
//! [`SensorEvent`], of the first [`EventKind`] (in precedence order) whose signature occurs in
//! the record, matched case-insensitively. One deliberate refinement of "first match wins":
//! in a record that reports a domain-controller communication failure, the generic network
//! kinds (DNS, reset, connect, timeout, localhost) describe the LDAP connection and do not
//! outrank `dc_communication_failure`. Only the first [`MAX_RECORD_BYTES`] of a record are
//! matched. Records are first checked against a single multi-literal prefilter; only the rare
//! records that contain a signature literal are classified further, so noise is cheap.

use std::io::Read;
use std::sync::OnceLock;

use memchr::memmem;
use serde::{Serialize, Serializer};

use crate::diag::Diagnostic;
use crate::text::TextReader;

/// Bytes of a record (lowercased, lines joined with `\n`) kept for matching; the rest of an
/// overlong record (a runaway stack dump) is counted but not searched. Also the longest line kept.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Most events listed per log; further events are only counted in [`SensorLog::event_counts`].
pub const MAX_EVENTS: usize = 10_000;
/// Longest excerpt of a signature line, in characters (`…` marks where it was cut).
pub const EXCERPT_CHARS: usize = 200;
/// Characters kept before the signature when a long line is cut.
const EXCERPT_LEAD: usize = 60;

/// What a log record says went wrong, in precedence order (first match wins per record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// Two-way (mutual) TLS to the service failed; the sensor itself blames SSL inspection.
    SslInspectionSuspected,
    /// The proxy answered 407: it wants credentials the sensor did not send.
    ProxyAuthRequired,
    /// Registration reported `LicenseInvalid`: often a proxy answering 401/403.
    LicenseInvalidProxySuspected,
    /// The server certificate chain was not trusted (interception or missing roots / CRL).
    TlsTrustFailure,
    /// TLS negotiation failed (TLS 1.2 not usable by .NET, cipher mismatch).
    TlsChannelFailure,
    /// The configured proxy host name did not resolve.
    ProxyDnsFailure,
    /// The service host name did not resolve (direct mode).
    DnsFailure,
    /// A 503 during real traffic (from the service or the proxy).
    ServiceUnavailable503,
    /// The connection was reset or closed unexpectedly.
    ConnectionReset,
    /// The local sensor-updater channel (localhost TCP 444) could not be reached.
    LocalhostChannelBlocked,
    /// TCP connect refused or timed out (proxy or service unreachable).
    ConnectFailed,
    /// A request timed out (silent drop by a firewall or proxy).
    Timeout,
    /// Burn `Error 0x80070643`: the installation failed (typically cloud registration).
    InstallFailed0x80070643,
    /// LDAP to the domain controllers failed: not a proxy problem.
    DcCommunicationFailure,
}

impl EventKind {
    /// Every kind in precedence order.
    pub const ALL: [EventKind; 14] = [
        EventKind::SslInspectionSuspected,
        EventKind::ProxyAuthRequired,
        EventKind::LicenseInvalidProxySuspected,
        EventKind::TlsTrustFailure,
        EventKind::TlsChannelFailure,
        EventKind::ProxyDnsFailure,
        EventKind::DnsFailure,
        EventKind::ServiceUnavailable503,
        EventKind::ConnectionReset,
        EventKind::LocalhostChannelBlocked,
        EventKind::ConnectFailed,
        EventKind::Timeout,
        EventKind::InstallFailed0x80070643,
        EventKind::DcCommunicationFailure,
    ];

    /// The contract's snake_case name (`proxy_auth_required`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::SslInspectionSuspected => "ssl_inspection_suspected",
            EventKind::ProxyAuthRequired => "proxy_auth_required",
            EventKind::LicenseInvalidProxySuspected => "license_invalid_proxy_suspected",
            EventKind::TlsTrustFailure => "tls_trust_failure",
            EventKind::TlsChannelFailure => "tls_channel_failure",
            EventKind::ProxyDnsFailure => "proxy_dns_failure",
            EventKind::DnsFailure => "dns_failure",
            EventKind::ServiceUnavailable503 => "service_unavailable_503",
            EventKind::ConnectionReset => "connection_reset",
            EventKind::LocalhostChannelBlocked => "localhost_channel_blocked",
            EventKind::ConnectFailed => "connect_failed",
            EventKind::Timeout => "timeout",
            EventKind::InstallFailed0x80070643 => "install_failed_0x80070643",
            EventKind::DcCommunicationFailure => "dc_communication_failure",
        }
    }

    /// The analyser's finding id for this kind, dashed (`proxy-auth-required`).
    pub fn finding_id(self) -> &'static str {
        match self {
            EventKind::SslInspectionSuspected => "ssl-inspection-suspected",
            EventKind::ProxyAuthRequired => "proxy-auth-required",
            EventKind::LicenseInvalidProxySuspected => "license-invalid-proxy-suspected",
            EventKind::TlsTrustFailure => "tls-trust-failure",
            EventKind::TlsChannelFailure => "tls-channel-failure",
            EventKind::ProxyDnsFailure => "proxy-dns-failure",
            EventKind::DnsFailure => "dns-failure",
            EventKind::ServiceUnavailable503 => "service-unavailable-503",
            EventKind::ConnectionReset => "connection-reset",
            EventKind::LocalhostChannelBlocked => "localhost-channel-blocked",
            EventKind::ConnectFailed => "connect-failed",
            EventKind::Timeout => "timeout",
            EventKind::InstallFailed0x80070643 => "install-failed-0x80070643",
            EventKind::DcCommunicationFailure => "dc-communication-failure",
        }
    }

    /// The kind named `name` (snake_case or dashed), if any.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.name() == name || k.finding_id() == name)
    }

    /// False for kinds that are not about the route to the cloud (domain-controller LDAP).
    pub fn is_proxy_problem(self) -> bool {
        self != EventKind::DcCommunicationFailure
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Which of the known line layouts a record (or a whole log) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLayout {
    /// `YYYY-MM-DD HH:MM:SS.ffff Level Logger Message [k=v]` (MDI sensor, updater, deployer).
    Runtime,
    /// `YYYY-MM-DD HH:MM:SS.ffff PID TID Level [Logger] Message` (ATA gateway era).
    Ata,
    /// `[PID:TID][YYYY-MM-DDTHH:MM:SS]i000: text` (WiX Burn installer log).
    Burn,
    /// The log holds records of more than one layout.
    Mixed,
}

/// A host (and port when the text gives one) that a failed request was aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Host name or IP address, lowercased.
    pub host: String,
    /// The port when the text gives one.
    pub port: Option<u16>,
}

/// One matched record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SensorEvent {
    pub kind: EventKind,
    /// 1-based physical line of the record's first line.
    pub line: u64,
    /// 1-based physical line that carries the signature (an inner exception's `407` line).
    pub signature_line: u64,
    /// The record's timestamp exactly as written (the Burn timestamp for Burn lines).
    pub timestamp: Option<String>,
    /// The record's first line as written.
    pub message: String,
    /// The signature line around the signature: trimmed, credentials redacted, at most
    /// [`EXCERPT_CHARS`] characters.
    pub excerpt: String,
    /// `Info`, `Warn`, `Error`, ... as written (Burn's `i`/`w`/`e` spelled out).
    pub level: Option<String>,
    /// The logger (class) name, without the ATA brackets.
    pub logger: Option<String>,
    /// What the failing request was aimed at, when the record names it.
    pub target: Option<Target>,
    /// The proxy host the record names (lowercased), if any.
    pub proxy_host: Option<String>,
    /// Layout of the record's first line (null for text before the first record).
    pub layout: Option<LogLayout>,
    /// For a Burn line that wraps a runtime line: the inner line's own timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_timestamp: Option<String>,
    /// Physical lines in the record.
    pub record_lines: u64,
}

/// How often one kind occurred, even past the [`MAX_EVENTS`] cap, with its first and last
/// occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventCount {
    pub kind: EventKind,
    /// Records of this kind.
    pub count: u64,
    /// Line of the first and of the last such record.
    pub first_line: u64,
    pub last_line: u64,
    /// The lines carrying the signature in the first and in the last such record.
    pub first_signature_line: u64,
    pub last_signature_line: u64,
    /// Timestamps of the first and of the last such record, as written.
    pub first_timestamp: Option<String>,
    pub last_timestamp: Option<String>,
    /// The first record's signature line around the signature (see [`SensorEvent::excerpt`]).
    pub excerpt: String,
}

/// The scanned log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SensorLog {
    /// Layout of the records (`mixed` when they differ); null when no record was recognised.
    pub layout: Option<LogLayout>,
    /// Number of records (text before the first record header counts as one).
    pub records: u64,
    /// Number of physical lines.
    pub lines: u64,
    /// Timestamp of the first record, as written.
    pub first_timestamp: Option<String>,
    /// Timestamp of the last record, as written.
    pub last_timestamp: Option<String>,
    /// Matched records in file order (at most [`MAX_EVENTS`]).
    pub events: Vec<SensorEvent>,
    /// Per-kind totals in precedence order (only kinds that occurred).
    pub event_counts: Vec<EventCount>,
    /// True when more events occurred than are listed.
    pub events_truncated: bool,
}

// ------------------------------------------------------------------------------------------
// Signatures

/// A literal searched in the lowercased record. `word` literals must not touch a letter,
/// digit or `_` on either side (enum names such as `ServiceUnavailable` would otherwise
/// match counters like `ServiceUnavailableCount=0`).
struct Sig {
    lit: &'static str,
    word: bool,
}

const fn p(lit: &'static str) -> Sig {
    Sig { lit, word: false }
}
const fn w(lit: &'static str) -> Sig {
    Sig { lit, word: true }
}

const SSL_INSPECTION: &[Sig] = &[
    p("two way ssl"),
    p("two-way ssl"),
    p("proxy with ssl inspection"),
];
const PROXY_AUTH: &[Sig] = &[
    p("proxy authentication required"),
    w("proxyauthenticationrequired"),
    p("(407)"),
    p("http/1.1 407"),
    p("status code 407"),
];
const LICENSE_INVALID: &[Sig] = &[
    w("licenseinvalid"),
    p("failed to register due to licensing issues"),
];
const TLS_TRUST: &[Sig] = &[
    p("could not establish trust relationship"),
    p("remote certificate is invalid"),
    p("certificate chain was issued by an authority that is not trusted"),
    p("failed to validate certificate chain"),
    w("remotecertificatechainerrors"),
    w("untrustedroot"),
    p("the sensor failed to connect to service"),
];
const TLS_CHANNEL: &[Sig] = &[
    p("could not create ssl/tls secure channel"),
    p("remote party has closed the transport stream"),
    p("do not possess a common algorithm"),
    p("the ssl connection could not be established"),
    w("securechannelfailure"),
];
const PROXY_DNS: &[Sig] = &[
    p("proxy name could not be resolved"),
    w("proxynameresolutionfailure"),
];
const DNS: &[Sig] = &[
    p("remote name could not be resolved"),
    w("nameresolutionfailure"),
    p("no such host is known"),
    p("name or service not known"),
];
const UNAVAILABLE_503: &[Sig] = &[
    p("(503)"),
    p("503 (service unavailable)"),
    p("503 service unavailable"),
    p("503 server unavailable"),
    p("error 503"),
    w("serviceunavailable"),
];
const RESET: &[Sig] = &[
    p("forcibly closed by the remote host"),
    p("connection reset"),
    p("connection was reset"),
    p("unexpected error occurred on a send"),
    p("unexpected error occurred on a receive"),
    p("connection was closed unexpectedly"),
    w("connectionreset"),
];
const CONNECT: &[Sig] = &[
    p("unable to connect to the remote server"),
    p("actively refused"),
    p("did not properly respond after a period of time"),
    p("no connection could be made"),
    p("connection refused"),
    w("connectfailure"),
];
const TIMEOUT: &[Sig] = &[
    p("timed out"),
    w("taskcanceledexception"),
    p("a task was canceled"),
    p("a task was cancelled"),
    p("httpclient.timeout"),
];
/// Burn's `Error 0x80070643: Failed to install MSI package.`; the later `result: 0x80070643`
/// summary lines restate the same failure and are not counted again.
const INSTALL_0X80070643: &[Sig] = &[p("error 0x80070643")];
const DC: &[Sig] = &[p(
    "failed to communicate with configured domain controllers",
)];

/// The literal sets of each kind; `LocalhostChannelBlocked` reuses connect + timeout plus a
/// loopback:444 target, and has no literals of its own.
fn sigs(kind: EventKind) -> &'static [Sig] {
    match kind {
        EventKind::SslInspectionSuspected => SSL_INSPECTION,
        EventKind::ProxyAuthRequired => PROXY_AUTH,
        EventKind::LicenseInvalidProxySuspected => LICENSE_INVALID,
        EventKind::TlsTrustFailure => TLS_TRUST,
        EventKind::TlsChannelFailure => TLS_CHANNEL,
        EventKind::ProxyDnsFailure => PROXY_DNS,
        EventKind::DnsFailure => DNS,
        EventKind::ServiceUnavailable503 => UNAVAILABLE_503,
        EventKind::ConnectionReset => RESET,
        EventKind::LocalhostChannelBlocked => &[],
        EventKind::ConnectFailed => CONNECT,
        EventKind::Timeout => TIMEOUT,
        EventKind::InstallFailed0x80070643 => INSTALL_0X80070643,
        EventKind::DcCommunicationFailure => DC,
    }
}

/// Builds the record prefilter now (see [`crate::pipeline::warm_up`]).
pub fn warm_up() {
    prefilter();
}

/// One regex over every literal (the regex crate compiles a literal alternation to a SIMD
/// multi-substring search). `None` only if the constant pattern failed to build, in which
/// case every record is classified the slow way.
fn prefilter() -> Option<&'static regex::bytes::Regex> {
    static PREFILTER: OnceLock<Option<regex::bytes::Regex>> = OnceLock::new();
    PREFILTER
        .get_or_init(|| {
            let alternation: Vec<String> = EventKind::ALL
                .into_iter()
                .flat_map(|k| sigs(k).iter())
                .map(|s| regex::escape(s.lit))
                .collect();
            regex::bytes::RegexBuilder::new(&alternation.join("|"))
                .unicode(false)
                .build()
                .ok()
        })
        .as_ref()
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where `sig` first occurs in `hay` (for a `word` literal: the first whole-word occurrence).
fn sig_find(hay: &[u8], sig: &Sig) -> Option<usize> {
    let needle = sig.lit.as_bytes();
    if !sig.word {
        return memmem::find(hay, needle);
    }
    memmem::find_iter(hay, needle).find(|&at| {
        let before = at.checked_sub(1).and_then(|i| hay.get(i)).copied();
        let after = hay.get(at + needle.len()).copied();
        !before.is_some_and(is_word_byte) && !after.is_some_and(is_word_byte)
    })
}

fn sig_matches(hay: &[u8], sig: &Sig) -> bool {
    sig_find(hay, sig).is_some()
}

fn any_sig(hay: &[u8], set: &[Sig]) -> bool {
    set.iter().any(|s| sig_matches(hay, s))
}

/// Kinds that describe a generic network failure. In a record that reports a
/// domain-controller communication failure they describe the LDAP connection, not the route
/// to the cloud, so they do not outrank `dc_communication_failure` there.
fn is_generic_network(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::DnsFailure
            | EventKind::ConnectionReset
            | EventKind::LocalhostChannelBlocked
            | EventKind::ConnectFailed
            | EventKind::Timeout
    )
}

/// Where in a record the signature that classified it lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureHit {
    pub kind: EventKind,
    /// Byte offset of the earliest literal of `kind` in the record (lines joined with `\n`).
    pub at: usize,
    /// Length in bytes of that literal.
    pub len: usize,
}

/// Classifies a lowercased record and locates its signature: the earliest occurrence of any
/// literal of the winning kind (for `localhost_channel_blocked`, of its connect or timeout
/// literals). Only matched records pay for the location.
pub fn classify_at(lower: &[u8]) -> Option<SignatureHit> {
    let kind = classify(lower)?;
    let sets: [&[Sig]; 2] = match kind {
        EventKind::LocalhostChannelBlocked => [CONNECT, TIMEOUT],
        k => [sigs(k), &[]],
    };
    let (at, len) = sets
        .into_iter()
        .flatten()
        .filter_map(|s| sig_find(lower, s).map(|at| (at, s.lit.len())))
        .min()?;
    Some(SignatureHit { kind, at, len })
}

/// Classifies a lowercased record: the first kind in precedence order whose signature occurs.
pub fn classify(lower: &[u8]) -> Option<EventKind> {
    if let Some(re) = prefilter() {
        if !re.is_match(lower) {
            return None;
        }
    }
    let dc = any_sig(lower, DC);
    let mut loopback: Option<bool> = None;
    for kind in EventKind::ALL {
        if dc && is_generic_network(kind) {
            continue;
        }
        let hit = match kind {
            EventKind::LocalhostChannelBlocked => {
                (any_sig(lower, CONNECT) || any_sig(lower, TIMEOUT))
                    && *loopback.get_or_insert_with(|| names_loopback_444(lower))
            }
            _ => any_sig(lower, sigs(kind)),
        };
        if hit {
            return Some(kind);
        }
    }
    None
}

// ------------------------------------------------------------------------------------------
// Targets

/// True when the record names the sensor-updater channel: localhost / 127.x / ::1 port 444.
fn names_loopback_444(lower: &[u8]) -> bool {
    if memmem::find(lower, b"[::1]:444").is_some() {
        return true;
    }
    endpoints(lower).any(|c| c.port == Some(444) && is_loopback(&c.host))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.") && parse_ipv4(host)
}

fn parse_ipv4(s: &str) -> bool {
    let mut n = 0;
    for part in s.split('.') {
        n += 1;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if part.parse::<u16>().map_or(true, |v| v > 255) {
            return false;
        }
    }
    n == 4
}

/// A host[:port] candidate found in the record, with the key or word before it.
struct Candidate<'a> {
    host: String,
    port: Option<u16>,
    /// The `key` of `key=value`, or the previous word.
    context: &'a [u8],
    /// True when the candidate directly follows a socket-error phrase (the real TCP target).
    socket: bool,
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b'['
            | b']'
            | b'('
            | b')'
            | b'\''
            | b'"'
            | b','
            | b';'
            | b'<'
            | b'>'
            | b'{'
            | b'}'
            | b'|'
    )
}

/// Iterates over the host:port / URL candidates of a lowercased record.
fn endpoints(lower: &[u8]) -> impl Iterator<Item = Candidate<'_>> {
    let mut pos = 0usize;
    let mut prev_word: &[u8] = &[];
    std::iter::from_fn(move || {
        while pos < lower.len() {
            let start = pos
                + lower
                    .get(pos..)?
                    .iter()
                    .take_while(|b| is_delim(**b))
                    .count();
            let len = lower
                .get(start..)?
                .iter()
                .take_while(|b| !is_delim(**b))
                .count();
            pos = start + len;
            let token = lower.get(start..start + len)?;
            if token.is_empty() {
                continue;
            }
            let (context, value) = match memchr::memchr(b'=', token) {
                Some(eq) => (token.get(..eq)?, token.get(eq + 1..)?),
                None => (prev_word, token),
            };
            // .NET Framework: "... actively refused it 10.0.0.8:3128";
            // .NET Core: "... actively refused it. (proxy:8080)".
            let before = lower.get(..start)?;
            let kept = before
                .iter()
                .rposition(|b| !is_delim(*b) && *b != b'.')
                .map_or(0, |i| i + 1);
            let before = before.get(..kept)?;
            let socket = before.ends_with(b"refused it") || before.ends_with(b"to respond");
            let previous = prev_word;
            prev_word = token;
            if let Some((host, port)) = parse_endpoint(value) {
                let context = if memchr::memchr(b'=', token).is_some() {
                    context
                } else {
                    previous
                };
                return Some(Candidate {
                    host,
                    port,
                    context,
                    socket,
                });
            }
        }
        None
    })
}

/// `scheme://host[:port][/...]`, `unspecified/host:port` or `host:port`; bare names are not
/// endpoints (too many dotted class names in stack traces).
fn parse_endpoint(token: &[u8]) -> Option<(String, Option<u16>)> {
    let s = std::str::from_utf8(token).ok()?;
    let s = s.trim_end_matches(['.', ':']);
    let (rest, url) = match s.find("://") {
        Some(i) => (s.get(i + 3..)?, true),
        None => (s.rsplit('/').next().unwrap_or(s), false),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            (h, Some(p.parse::<u16>().ok()?))
        }
        Some(_) => return None,
        None if url => (authority, None),
        None => return None,
    };
    if !valid_host(host, url) {
        return None;
    }
    Some((host.to_string(), port))
}

/// A plausible host name or IPv4 address. Single-label names (`proxy`) are accepted only
/// where the syntax is unambiguous (`http://proxy:8080`, a quoted resolver name).
fn valid_host(host: &str, single_label_ok: bool) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    if host == "localhost" || parse_ipv4(host) {
        return true;
    }
    let ok_chars = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    ok_chars
        && (single_label_ok || host.contains('.'))
        && host.bytes().any(|b| b.is_ascii_alphabetic())
        && !host.starts_with('.')
        && !host.ends_with('.')
}

/// The quoted name after a "could not be resolved: '" phrase.
fn resolved_name(lower: &[u8], phrase: &[u8]) -> Option<String> {
    let at = memmem::find(lower, phrase)?;
    let rest = lower.get(at + phrase.len()..)?;
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let rest = rest.strip_prefix(b"'").unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| matches!(b, b'\'' | b' ' | b'\n' | b'"'))
        .unwrap_or(rest.len());
    let name = std::str::from_utf8(rest.get(..end.min(253))?).ok()?;
    let name = name.trim_end_matches('.');
    (!name.is_empty() && valid_host(name, true)).then(|| name.to_string())
}

/// The failing target and the proxy host named in a matched record.
fn targets(lower: &[u8], kind: EventKind) -> (Option<Target>, Option<String>) {
    let mut proxy = resolved_name(lower, b"proxy name could not be resolved");
    let mut socket_target = None;
    let mut first_target = None;
    let mut loopback_444 = None;
    for c in endpoints(lower) {
        let is_proxy = memmem::find(c.context, b"proxy").is_some();
        if is_proxy {
            if proxy.is_none() {
                proxy = Some(c.host);
            }
            continue;
        }
        let t = Target {
            host: c.host,
            port: c.port,
        };
        if loopback_444.is_none() && t.port == Some(444) && is_loopback(&t.host) {
            loopback_444 = Some(t.clone());
        }
        if c.socket && socket_target.is_none() {
            socket_target = Some(t);
        } else if first_target.is_none() {
            first_target = Some(t);
        }
    }
    let dns = resolved_name(lower, b"remote name could not be resolved")
        .map(|host| Target { host, port: None });
    let target = match kind {
        EventKind::LocalhostChannelBlocked => loopback_444
            .or_else(|| {
                (memmem::find(lower, b"[::1]:444").is_some()).then(|| Target {
                    host: "::1".to_string(),
                    port: Some(444),
                })
            })
            .or(socket_target),
        EventKind::DnsFailure => dns.or(socket_target).or(first_target),
        _ => socket_target.or(dns).or(first_target),
    };
    (target, proxy)
}

// ------------------------------------------------------------------------------------------
// Record heads

/// Length of `[hex:hex][YYYY-MM-DDTHH:MM:SS]` at the start of a Burn line, and where the
/// timestamp lies.
fn burn_prefix(b: &[u8]) -> Option<(usize, std::ops::Range<usize>)> {
    if b.first() != Some(&b'[') {
        return None;
    }
    let close = b.iter().take(24).position(|c| *c == b']')?;
    let ids = b.get(1..close)?;
    let colon = memchr::memchr(b':', ids)?;
    let hex = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_hexdigit);
    if !hex(ids.get(..colon)?) || !hex(ids.get(colon + 1..)?) {
        return None;
    }
    if b.get(close + 1) != Some(&b'[') {
        return None;
    }
    let ts_start = close + 2;
    let rest = b.get(ts_start..)?;
    if !crate::text::starts_with_datetime(rest) {
        return None;
    }
    let ts_len = rest.iter().take(40).position(|c| *c == b']')?;
    Some((ts_start + ts_len + 1, ts_start..ts_start + ts_len))
}

/// The layout of `line` if it starts a record.
pub fn record_start(line: &str) -> Option<LogLayout> {
    let b = line.strip_prefix('\u{feff}').unwrap_or(line).as_bytes();
    match b.first()? {
        b'0'..=b'9' if crate::text::starts_with_datetime(b) => {
            let rest = b.get(timestamp_len(b)..).unwrap_or(&[]);
            let rest = trim_spaces(rest);
            let tok = rest.iter().take_while(|c| !c.is_ascii_whitespace()).count();
            if tok > 0 && rest.iter().take(tok).all(u8::is_ascii_digit) {
                Some(LogLayout::Ata)
            } else {
                Some(LogLayout::Runtime)
            }
        }
        b'[' => burn_prefix(b).map(|_| LogLayout::Burn),
        _ => None,
    }
}

/// Length of the timestamp at the start of a dated line: date, separator, time token.
fn timestamp_len(b: &[u8]) -> usize {
    let time = b.get(11..).unwrap_or(&[]);
    11 + time.iter().take_while(|c| !c.is_ascii_whitespace()).count()
}

fn trim_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(n..).unwrap_or(&[])
}

/// Splits off the next whitespace-separated token.
fn next_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (s.get(..i).unwrap_or(s), s.get(i..).unwrap_or("")),
        None => (s, ""),
    }
}

/// Timestamp, level, logger and inner timestamp parsed from a record's first line.
#[derive(Default)]
struct Head {
    timestamp: Option<String>,
    level: Option<String>,
    logger: Option<String>,
    inner_timestamp: Option<String>,
}

fn is_level(tok: &str) -> bool {
    matches!(
        tok.to_ascii_lowercase().as_str(),
        "trace"
            | "debug"
            | "info"
            | "information"
            | "warn"
            | "warning"
            | "error"
            | "fatal"
            | "verbose"
            | "critical"
    )
}

/// Parses a `YYYY-MM-DD HH:MM:SS.ffff ...` line of the runtime or ATA layout.
fn dated_head(line: &str) -> Head {
    let b = line.as_bytes();
    let ts_len = timestamp_len(b);
    let mut head = Head {
        timestamp: line.get(..ts_len).map(str::to_string),
        ..Head::default()
    };
    let rest = line.get(ts_len..).unwrap_or("");
    let (tok, mut rest) = next_token(rest);
    let mut level = tok;
    if !tok.is_empty() && tok.bytes().all(|c| c.is_ascii_digit()) {
        // ATA: PID TID Level [Logger]
        let (_tid, r) = next_token(rest);
        let (lvl, r) = next_token(r);
        level = lvl;
        rest = r;
    }
    if is_level(level) {
        head.level = Some(level.to_string());
        let (logger, _) = next_token(rest);
        let logger = logger
            .strip_prefix('[')
            .map(|l| l.strip_suffix(']').unwrap_or(l))
            .unwrap_or(logger);
        if !logger.is_empty() {
            head.logger = Some(logger.to_string());
        }
    }
    head
}

fn parse_head(line: &str, layout: Option<LogLayout>) -> Head {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    match layout {
        Some(LogLayout::Runtime) | Some(LogLayout::Ata) => dated_head(line),
        Some(LogLayout::Burn) => {
            let Some((end, ts)) = burn_prefix(line.as_bytes()) else {
                return Head::default();
            };
            let timestamp = line.get(ts).map(str::to_string);
            let rest = line.get(end..).unwrap_or("");
            let burn_level = match rest.as_bytes().first() {
                Some(b'i') => Some("Info"),
                Some(b'w') => Some("Warn"),
                Some(b'e') => Some("Error"),
                Some(b'd') => Some("Debug"),
                _ => None,
            };
            let inner = rest
                .find(": ")
                .filter(|i| *i <= 8)
                .and_then(|i| rest.get(i + 2..))
                .unwrap_or("")
                .trim_start();
            if crate::text::starts_with_datetime(inner.as_bytes()) {
                let h = dated_head(inner);
                Head {
                    timestamp,
                    level: h.level.or(burn_level.map(str::to_string)),
                    logger: h.logger,
                    inner_timestamp: h.timestamp,
                }
            } else {
                Head {
                    timestamp,
                    level: burn_level.map(str::to_string),
                    logger: None,
                    inner_timestamp: None,
                }
            }
        }
        Some(LogLayout::Mixed) | None => Head::default(),
    }
}

// ------------------------------------------------------------------------------------------
// The scanner

/// The record being assembled: its text as written and lowercased (capped, lines joined with
/// `\n`). Both buffers are reused from record to record and share byte offsets (ASCII
/// lowercasing keeps every byte in place), so a match found in `lower` is cited from `text`.
struct Record {
    active: bool,
    line: u64,
    lines: u64,
    layout: Option<LogLayout>,
    text: Vec<u8>,
    lower: Vec<u8>,
    cut: bool,
    /// `classify_at(&lower)` once computed (cleared whenever the record grows).
    hit_cache: Option<Option<SignatureHit>>,
}

impl Record {
    fn new() -> Self {
        Record {
            active: false,
            line: 0,
            lines: 0,
            layout: None,
            text: Vec::with_capacity(MAX_RECORD_BYTES),
            lower: Vec::with_capacity(MAX_RECORD_BYTES),
            cut: false,
            hit_cache: None,
        }
    }

    /// The record's signature, classified once.
    fn hit(&mut self) -> Option<SignatureHit> {
        if let Some(h) = self.hit_cache {
            return h;
        }
        let h = classify_at(&self.lower);
        self.hit_cache = Some(h);
        h
    }

    /// The record's first line as written.
    fn first(&self) -> &str {
        let end = memchr::memchr(b'\n', &self.text).unwrap_or(self.text.len());
        utf8_prefix(self.text.get(..end).unwrap_or(&[]))
    }

    /// The physical line of byte `at` of the record, and that line's text with `at`'s offset
    /// in it.
    fn line_at(&self, at: usize) -> (u64, &str, usize) {
        let before = self.text.get(..at).unwrap_or(&[]);
        let newlines = memchr::memchr_iter(b'\n', before).count() as u64;
        let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let rest = self.text.get(start..).unwrap_or(&[]);
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = utf8_prefix(rest.get(..end).unwrap_or(&[]));
        (self.line + newlines, line, at - start)
    }

    fn start(&mut self, number: u64, text: &str, layout: Option<LogLayout>) {
        self.active = true;
        self.line = number;
        self.lines = 1;
        self.layout = layout;
        self.text.clear();
        self.lower.clear();
        self.cut = false;
        self.hit_cache = None;
        self.push(text);
    }

    fn append(&mut self, text: &str) {
        self.lines += 1;
        self.hit_cache = None;
        if self.lower.len() < MAX_RECORD_BYTES {
            self.text.push(b'\n');
            self.lower.push(b'\n');
            self.push(text);
        } else {
            self.cut = true;
        }
    }

    fn push(&mut self, text: &str) {
        let room = MAX_RECORD_BYTES.saturating_sub(self.lower.len());
        let bytes = text.as_bytes();
        let take = bytes.len().min(room);
        if take < bytes.len() {
            self.cut = true;
        }
        let kept = bytes.get(..take).unwrap_or(&[]);
        self.text.extend_from_slice(kept);
        let from = self.lower.len();
        self.lower.extend_from_slice(kept);
        if let Some(fresh) = self.lower.get_mut(from..) {
            fresh.make_ascii_lowercase();
        }
    }
}

/// The longest valid UTF-8 prefix (a record cut at its byte cap may end inside a character).
fn utf8_prefix(b: &[u8]) -> &str {
    match std::str::from_utf8(b) {
        Ok(s) => s,
        Err(e) => b
            .get(..e.valid_up_to())
            .and_then(|v| std::str::from_utf8(v).ok())
            .unwrap_or(""),
    }
}

/// `line` around the signature at byte `at` (`needle`, lowercased, as matched): credentials
/// redacted first, then trimmed, then cut to [`EXCERPT_CHARS`] characters with
/// [`EXCERPT_LEAD`] of them before the signature, `…` where text was left out.
fn excerpt(line: &str, at: usize, needle: &[u8]) -> String {
    let redacted = crate::secrets::redact(line);
    let at = match &redacted {
        std::borrow::Cow::Borrowed(_) => Some(at),
        // Redaction shortened the line: find the signature again (rare: matched lines only).
        std::borrow::Cow::Owned(r) => memmem::find(r.to_ascii_lowercase().as_bytes(), needle),
    };
    let lead = redacted.len() - redacted.trim_start().len();
    let text = redacted.trim();
    let at = at.map_or(0, |a| a.saturating_sub(lead).min(text.len()));
    let total = text.chars().count();
    if total <= EXCERPT_CHARS {
        return text.to_string();
    }
    let before = text.get(..at).map_or(0, |b| b.chars().count());
    let from = before
        .saturating_sub(EXCERPT_LEAD)
        .min(total.saturating_sub(EXCERPT_CHARS));
    let mut take = EXCERPT_CHARS - usize::from(from > 0);
    let cut_end = from + take < total;
    if cut_end {
        take -= 1;
    }
    let mut out = String::with_capacity(EXCERPT_CHARS * 2);
    if from > 0 {
        out.push('…');
    }
    out.extend(text.chars().skip(from).take(take));
    if cut_end {
        out.push('…');
    }
    out
}

/// In text without timestamps: `text` starts a new record (of the returned kind) when it is a
/// message of its own: it matches a signature, is not indented, and the current record ends a
/// complete message that matched too, not an exception line ending in `--->` or `:`.
fn untimed_event_start(rec: &mut Record, text: &str) -> Option<SignatureHit> {
    if text.starts_with(char::is_whitespace) || text.trim().is_empty() {
        return None;
    }
    let hit = classify_at(text.to_ascii_lowercase().as_bytes())?;
    let last = rec
        .lower
        .rsplit(|b| *b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(&[]);
    let last = last.trim_ascii_end();
    if last.ends_with(b"--->") || last.ends_with(b":") {
        return None;
    }
    rec.hit().is_some().then_some(hit)
}

struct Scanner {
    log: SensorLog,
    counts: Vec<Option<EventCount>>,
    cut_records: u64,
    first_cut_line: u64,
}

impl Scanner {
    fn flush(&mut self, rec: &Record) {
        if !rec.active {
            return;
        }
        self.log.records += 1;
        if rec.cut {
            if self.cut_records == 0 {
                self.first_cut_line = rec.line;
            }
            self.cut_records += 1;
        }
        let Some(hit) = rec.hit_cache.unwrap_or_else(|| classify_at(&rec.lower)) else {
            return;
        };
        let kind = hit.kind;
        let (signature_line, line_text, at) = rec.line_at(hit.at);
        let needle = rec.lower.get(hit.at..hit.at + hit.len).unwrap_or(&[]);
        let listed = self.log.events.len() < MAX_EVENTS;
        let slot = self.counts.get_mut(kind as usize);
        let fresh = matches!(slot, Some(None));
        // Excerpts are made for listed events and for the first record of each kind only.
        let cited = (listed || fresh).then(|| excerpt(line_text, at, needle));
        let timestamp = head_timestamp_str(rec.first(), rec.layout);
        match slot {
            Some(Some(c)) => {
                c.count += 1;
                c.last_line = rec.line;
                c.last_signature_line = signature_line;
                match (&mut c.last_timestamp, timestamp) {
                    // Reuses the string: no allocation per record past the first.
                    (Some(last), Some(t)) => {
                        last.clear();
                        last.push_str(t);
                    }
                    (last, t) => *last = t.map(str::to_string),
                }
            }
            Some(s) => {
                *s = Some(EventCount {
                    kind,
                    count: 1,
                    first_line: rec.line,
                    last_line: rec.line,
                    first_signature_line: signature_line,
                    last_signature_line: signature_line,
                    first_timestamp: timestamp.map(str::to_string),
                    last_timestamp: timestamp.map(str::to_string),
                    excerpt: cited.clone().unwrap_or_default(),
                })
            }
            None => {}
        }
        if !listed {
            self.log.events_truncated = true;
            return;
        }
        let first = rec.first();
        let head = parse_head(first, rec.layout);
        let (target, proxy_host) = targets(&rec.lower, kind);
        self.log.events.push(SensorEvent {
            kind,
            line: rec.line,
            signature_line,
            timestamp: head.timestamp,
            // Log lines can quote a proxy URL with its credentials.
            message: crate::secrets::redact(first).into_owned(),
            excerpt: cited.unwrap_or_default(),
            level: head.level,
            logger: head.logger,
            target,
            proxy_host,
            layout: rec.layout,
            inner_timestamp: head.inner_timestamp,
            record_lines: rec.lines,
        });
    }

    fn note_layout(&mut self, layout: LogLayout) {
        self.log.layout = match self.log.layout {
            None => Some(layout),
            Some(l) if l == layout => Some(l),
            Some(_) => Some(LogLayout::Mixed),
        };
    }
}

/// The timestamp of a record's first line as written.
fn head_timestamp(first: &str, layout: Option<LogLayout>) -> Option<String> {
    head_timestamp_str(first, layout).map(str::to_string)
}

/// The timestamp of a record's first line as written, borrowed.
fn head_timestamp_str(first: &str, layout: Option<LogLayout>) -> Option<&str> {
    let line = first.strip_prefix('\u{feff}').unwrap_or(first);
    match layout {
        Some(LogLayout::Runtime) | Some(LogLayout::Ata) => {
            line.get(..timestamp_len(line.as_bytes()))
        }
        Some(LogLayout::Burn) => burn_prefix(line.as_bytes()).and_then(|(_, ts)| line.get(ts)),
        _ => None,
    }
}

/// Scans a log as a stream: records, their layout, and one event per matching record.
pub fn parse<R: Read>(mut reader: TextReader<R>) -> (SensorLog, Vec<Diagnostic>) {
    reader.set_max_line(MAX_RECORD_BYTES);
    let mut diagnostics = Vec::new();
    let mut rec = Record::new();
    let mut scanner = Scanner {
        log: SensorLog::default(),
        counts: vec![None; EventKind::ALL.len()],
        cut_records: 0,
        first_cut_line: 0,
    };
    while let Some(next) = reader.next_line() {
        let line = match next {
            Ok(line) => line,
            Err(e) => {
                diagnostics.push(Diagnostic::error(
                    scanner.log.lines + 1,
                    1,
                    "read-failed",
                    format!("reading the log failed: {e}"),
                ));
                break;
            }
        };
        scanner.log.lines = line.number;
        if let Some(layout) = record_start(line.text) {
            scanner.flush(&rec);
            rec.start(line.number, line.text, Some(layout));
            scanner.note_layout(layout);
            if scanner.log.first_timestamp.is_none() {
                scanner.log.first_timestamp = head_timestamp(line.text, Some(layout));
            }
        } else if let Some(hit) = (rec.active && rec.layout.is_none())
            .then(|| untimed_event_start(&mut rec, line.text))
            .flatten()
        {
            // A fragment pasted without timestamps: each message line is a record of its own.
            scanner.flush(&rec);
            rec.start(line.number, line.text, None);
            rec.hit_cache = Some(Some(hit));
        } else if rec.active {
            rec.append(line.text);
        } else if !line.text.trim().is_empty() {
            // Text before the first record header (a pasted excerpt): a record of its own.
            rec.start(line.number, line.text, None);
        }
    }
    scanner.flush(&rec);
    if rec.layout.is_some() {
        scanner.log.last_timestamp = head_timestamp(rec.first(), rec.layout);
    }
    let mut decoding = crate::diag::Diagnostics::default();
    decoding.extend(reader.take_diagnostics());
    diagnostics.extend(decoding.into_vec());
    if scanner.cut_records > 0 {
        diagnostics.push(Diagnostic::info(
            scanner.first_cut_line,
            1,
            "record-too-long",
            format!(
                "{} record(s) longer than {} bytes: only their start was searched",
                scanner.cut_records, MAX_RECORD_BYTES
            ),
        ));
    }
    if scanner.log.events_truncated {
        let total: u64 = scanner.counts.iter().flatten().map(|c| c.count).sum();
        diagnostics.push(Diagnostic::info(
            scanner.log.events.last().map_or(1, |e| e.line),
            1,
            "events-capped",
            format!("{total} events matched; only the first {MAX_EVENTS} are listed"),
        ));
    }
    if scanner.log.layout.is_none() && !scanner.log.events.is_empty() {
        diagnostics.push(Diagnostic::info(
            1,
            1,
            "untimed-fragment",
            "log lines pasted without their timestamps: the events carry no time (timestamp null)",
        ));
    } else if scanner.log.records > 0 && scanner.log.layout.is_none() {
        diagnostics.push(Diagnostic::warning(
            1,
            1,
            "no-log-records",
            "no line starts with a sensor log timestamp or a Burn prefix",
        ));
    }
    scanner.log.event_counts = scanner.counts.into_iter().flatten().collect();
    (scanner.log, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::LegacyHint;

    fn scan_bytes(bytes: &[u8]) -> (SensorLog, Vec<Diagnostic>) {
        let reader = TextReader::new(bytes, LegacyHint::Ansi).expect("slice reader");
        parse(reader)
    }

    fn scan(text: &str) -> SensorLog {
        scan_bytes(text.as_bytes()).0
    }

    fn kinds(log: &SensorLog) -> Vec<(EventKind, u64)> {
        log.events.iter().map(|e| (e.kind, e.line)).collect()
    }

    fn one(text: &str) -> Option<EventKind> {
        let log = scan(text);
        assert!(log.events.len() <= 1, "{:?}", log.events);
        log.events.first().map(|e| e.kind)
    }

    const NOISE: &str = "2024-03-06 11:40:00.0001 Info  NetworkListener Capture statistics [DroppedPackets=503 ErrorCount=0 TimedOutRequests=0 ProxyRequests=12]\n\
2024-03-06 11:40:01.0002 Info  SensorConfigurationManager Proxy configuration loaded [IsProxyEnabled=True RequestTimeout=00:01:40]\n\
2024-03-06 11:40:02.0003 Debug CommunicationWebClient RequestTimeout elapsed counters reset [ServiceUnavailableCount=0 ConnectionResetCount=0 NameResolutionFailureCount=0]\n\
2024-03-06 11:40:03.0004 Info  Proxy Proxy proxy PROXY [Proxy=http://proxy.contoso.com:8080]\n\
2024-03-06 11:40:04.0005 Info  LdapClient Connected to dc01.contoso.com:389 in 503 ms [TimedOut=False Timeout=5000]\n";

    #[test]
    fn noise_traps_produce_no_event() {
        let log = scan(NOISE);
        assert_eq!(log.records, 5);
        assert!(log.events.is_empty(), "{:?}", log.events);
        assert_eq!(log.layout, Some(LogLayout::Runtime));
    }

    #[test]
    fn each_kind_from_its_documented_text() {
        let cases: &[(&str, EventKind)] = &[
            ("2021-12-20 10:00:00.0000 Error CommunicationWebClient+<SendWithRetryAsync>d__9`1 Microsoft.Tri.Infrastructure.ExtendedException: ApplyInternal failed two way SSL connection to service. The issue can be caused by a proxy with SSL inspection enabled. [_workspaceApplicationSensorApiEndpoint=Unspecified/contososensorapi.atp.azure.com:443 Thumbprint=ABC]", EventKind::SslInspectionSuspected),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required.", EventKind::ProxyAuthRequired),
            ("2024-03-06 11:42:39.6370 Warn  SensorDeploymentManager ValidateCreateSensorAsync returned [validateCreateSensorResult=LicenseInvalid]", EventKind::LicenseInvalidProxySuspected),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.Net.WebException: The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel.", EventKind::TlsTrustFailure),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.Net.WebException: The request was aborted: Could not create SSL/TLS secure channel.", EventKind::TlsChannelFailure),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.Net.WebException: The proxy name could not be resolved: 'proxy.contoso.com'", EventKind::ProxyDnsFailure),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.Net.WebException: The remote name could not be resolved: 'contososensorapi.atp.azure.com'", EventKind::DnsFailure),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.Net.WebException: The remote server returned an error: (503) Server Unavailable.", EventKind::ServiceUnavailable503),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.IO.IOException: Unable to read data from the transport connection: An existing connection was forcibly closed by the remote host.", EventKind::ConnectionReset),
            ("2024-03-06 11:42:39.6370 Error SensorUpdaterClient System.Net.WebException: Unable to connect to the remote server ---> System.Net.Sockets.SocketException: No connection could be made because the target machine actively refused it 127.0.0.1:444", EventKind::LocalhostChannelBlocked),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.Net.WebException: Unable to connect to the remote server ---> System.Net.Sockets.SocketException: A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond 10.1.2.3:8080", EventKind::ConnectFailed),
            ("2024-03-06 11:42:39.6370 Error CommunicationWebClient System.Net.WebException: The operation has timed out", EventKind::Timeout),
            ("[22B8:27F0][2016-06-09T17:21:03]e000: Error 0x80070643: Failed to install MSI package.", EventKind::InstallFailed0x80070643),
            ("2024-03-06 11:42:39.6370 Error DirectoryServicesClient Microsoft.Tri.Infrastructure.ExtendedException: Failed to communicate with configured domain controllers", EventKind::DcCommunicationFailure),
        ];
        for (text, kind) in cases {
            let log = scan(&format!("{NOISE}{text}\n{NOISE}"));
            assert_eq!(kinds(&log), vec![(*kind, 6)], "{text}");
        }
        assert_eq!(cases.len(), EventKind::ALL.len());
    }

    #[test]
    fn event_fields_runtime() {
        let log = scan("2024-03-06 11:42:39.6370 Error CommunicationWebClient+<SendWithRetryAsync>d__9`1 System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required. [Proxy=http://proxy.contoso.com:8080 Uri=https://contososensorapi.atp.azure.com/tri/sensor/api]\n");
        let e = &log.events[0];
        assert_eq!(e.timestamp.as_deref(), Some("2024-03-06 11:42:39.6370"));
        assert_eq!(e.level.as_deref(), Some("Error"));
        assert_eq!(
            e.logger.as_deref(),
            Some("CommunicationWebClient+<SendWithRetryAsync>d__9`1")
        );
        assert_eq!(e.proxy_host.as_deref(), Some("proxy.contoso.com"));
        assert_eq!(
            e.target,
            Some(Target {
                host: "contososensorapi.atp.azure.com".into(),
                port: None
            })
        );
        assert_eq!(e.layout, Some(LogLayout::Runtime));
        assert_eq!(
            log.first_timestamp.as_deref(),
            Some("2024-03-06 11:42:39.6370")
        );
    }

    #[test]
    fn targets_from_socket_dns_and_endpoint() {
        let log = scan("2024-03-06 11:42:39.6370 Error A Unable to connect to the remote server\n ---> System.Net.Sockets.SocketException: No connection could be made because the target machine actively refused it 10.0.0.8:3128\n2024-03-06 11:42:40.6370 Error B The remote name could not be resolved: 'contososensorapi.atp.azure.com'\n2024-03-06 11:42:41.6370 Error C ApplyInternal failed two way SSL connection to service [_workspaceApplicationSensorApiEndpoint=Unspecified/contososensorapi.atp.azure.com:443 Thumbprint=ABC]\n2024-03-06 11:42:42.6370 Error D The proxy name could not be resolved: 'proxy'\n");
        let t: Vec<_> = log
            .events
            .iter()
            .map(|e| (e.target.clone(), e.proxy_host.clone()))
            .collect();
        assert_eq!(
            t[0].0,
            Some(Target {
                host: "10.0.0.8".into(),
                port: Some(3128)
            })
        );
        assert_eq!(
            t[1].0.as_ref().map(|t| t.host.as_str()),
            Some("contososensorapi.atp.azure.com")
        );
        assert_eq!(
            t[2].0,
            Some(Target {
                host: "contososensorapi.atp.azure.com".into(),
                port: Some(443)
            })
        );
        assert_eq!(t[3].1.as_deref(), Some("proxy"));
    }

    #[test]
    fn localhost_444_is_the_updater_channel_not_connect_failed() {
        for target in ["127.0.0.1:444", "localhost:444", "[::1]:444"] {
            let text = format!("2024-03-06 11:42:39.6370 Error SensorUpdaterClient System.Net.Http.HttpRequestException: An error occurred while sending the request.\n ---> System.Net.WebException: Unable to connect to the remote server\n ---> System.Net.Sockets.SocketException: No connection could be made because the target machine actively refused it {target}\n   at System.Net.Sockets.Socket.InternalEndConnect(IAsyncResult asyncResult)\n");
            let log = scan(&text);
            assert_eq!(
                kinds(&log),
                vec![(EventKind::LocalhostChannelBlocked, 1)],
                "{target}"
            );
            assert_eq!(
                log.events[0].target.as_ref().and_then(|t| t.port),
                Some(444)
            );
        }
        // Loopback on another port (a local proxy agent) is an ordinary connect failure.
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error X Unable to connect to the remote server ---> No connection could be made because the target machine actively refused it 127.0.0.1:8080\n"),
            Some(EventKind::ConnectFailed)
        );
    }

    #[test]
    fn dc_failure_is_not_a_proxy_problem_even_with_network_words() {
        let text = "2024-03-06 11:42:39.6370 Error DirectoryServicesClient Microsoft.Tri.Infrastructure.ExtendedException: Failed to communicate with configured domain controllers\n ---> System.DirectoryServices.Protocols.LdapException: The operation has timed out. A connection attempt failed because the connected party did not properly respond after a period of time\n";
        assert_eq!(one(text), Some(EventKind::DcCommunicationFailure));
        assert!(!EventKind::DcCommunicationFailure.is_proxy_problem());
        assert!(EventKind::Timeout.is_proxy_problem());
    }

    #[test]
    fn precedence_first_kind_wins() {
        // two-way SSL + reset + 503
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error C ApplyInternal failed two way SSL connection to service ---> An existing connection was forcibly closed by the remote host (503)\n"),
            Some(EventKind::SslInspectionSuspected)
        );
        // 407 + timeout
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error C The operation has timed out\n ---> Response status code does not indicate success: 407 (Proxy Authentication Required).\n"),
            Some(EventKind::ProxyAuthRequired)
        );
        // trust failure wrapped by "unexpected error on a send" (reset) -> trust first
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error C The underlying connection was closed: An unexpected error occurred on a send. ---> The remote certificate is invalid according to the validation procedure.\n"),
            Some(EventKind::TlsTrustFailure)
        );
        // TLS channel inner of a send error
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error C The underlying connection was closed: An unexpected error occurred on a send.\n ---> System.IO.IOException: Authentication failed because the remote party has closed the transport stream.\n"),
            Some(EventKind::TlsChannelFailure)
        );
        // proxy DNS before service DNS
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error C The remote name could not be resolved: 'a.atp.azure.com' The proxy name could not be resolved: 'p'\n"),
            Some(EventKind::ProxyDnsFailure)
        );
        // 503 before connect failure and timeout
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error C Unable to connect to the remote server; The operation has timed out; 503 (Service Unavailable)\n"),
            Some(EventKind::ServiceUnavailable503)
        );
        // connect failure before timeout
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error C The operation has timed out ---> Unable to connect to the remote server\n"),
            Some(EventKind::ConnectFailed)
        );
        // localhost before connect failure
        assert_eq!(
            one("2024-03-06 11:42:39.6370 Error C Unable to connect to the remote server (localhost:444)\n"),
            Some(EventKind::LocalhostChannelBlocked)
        );
    }

    #[test]
    fn dotnet_core_message_forms() {
        let log = scan("2024-03-06 11:42:39.6370 Error A System.Net.Http.HttpRequestException: No connection could be made because the target machine actively refused it. (proxy.contoso.com:8080)\n\
2024-03-06 11:42:40.6370 Error A System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception.\n\
2024-03-06 11:42:41.6370 Error A System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception.\n ---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot\n\
2024-03-06 11:42:42.6370 Error A System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.\n");
        assert_eq!(
            kinds(&log),
            vec![
                (EventKind::ConnectFailed, 1),
                (EventKind::TlsChannelFailure, 2),
                (EventKind::TlsTrustFailure, 3),
                (EventKind::Timeout, 5)
            ]
        );
        assert_eq!(
            log.events[0].target,
            Some(Target {
                host: "proxy.contoso.com".into(),
                port: Some(8080)
            })
        );
    }

    #[test]
    fn multi_line_record_is_reported_at_its_first_line() {
        let text = "2024-03-06 11:42:38.0000 Info  A started\n\
2024-03-06 11:42:39.6370 Error CommunicationWebClient Microsoft.Tri.Infrastructure.ExtendedException: Request failed\n\
 ---> System.Net.Http.HttpRequestException: An error occurred while sending the request.\n\
 ---> System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required.\n\
   at async Task<HttpResponseMessage> System.Net.Http.HttpClient.FinishSendAsyncBuffered(...)\n\
   --- End of inner exception stack trace ---\n\
   at void Microsoft.Tri.Common.ExceptionExtension.Throw(int errorCode)\n\
2024-03-06 11:42:40.0000 Info  A done\n";
        let log = scan(text);
        assert_eq!(kinds(&log), vec![(EventKind::ProxyAuthRequired, 2)]);
        let e = &log.events[0];
        assert_eq!(e.timestamp.as_deref(), Some("2024-03-06 11:42:39.6370"));
        assert_eq!(e.record_lines, 6);
        assert!(e.message.ends_with("ExtendedException: Request failed"));
        assert_eq!(log.records, 3);
        assert_eq!(
            log.last_timestamp.as_deref(),
            Some("2024-03-06 11:42:40.0000")
        );
    }

    #[test]
    fn the_signature_line_is_cited_with_its_own_number_and_excerpt() {
        // The 407 sits on the third line of a six-line record that starts on line 2.
        let text = "2024-03-06 11:42:38.0000 Info  A started\n\
2024-03-06 11:42:39.6370 Error CommunicationWebClient Microsoft.Tri.Infrastructure.ExtendedException: Request failed\n\
 ---> System.Net.Http.HttpRequestException: An error occurred while sending the request.\n\
 ---> System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required.\n\
   at System.Net.HttpWebRequest.EndGetResponse(IAsyncResult asyncResult)\n\
   --- End of inner exception stack trace ---\n\
   at void Microsoft.Tri.Common.ExceptionExtension.Throw(int errorCode)\n\
2024-03-06 11:42:40.0000 Info  A retrying\n\
2024-03-06 11:43:10.1000 Error CommunicationWebClient Microsoft.Tri.Infrastructure.ExtendedException: Request failed\n\
 ---> System.Net.Http.HttpRequestException: An error occurred while sending the request.\n\
 ---> System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required.\n";
        let log = scan(text);
        assert_eq!(
            kinds(&log),
            vec![
                (EventKind::ProxyAuthRequired, 2),
                (EventKind::ProxyAuthRequired, 9)
            ]
        );
        let e = &log.events[0];
        assert_eq!(e.signature_line, 4);
        assert_eq!(
            e.excerpt,
            "---> System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required."
        );
        // The record is still reported at its first line, with its first line as message.
        assert!(e.message.ends_with("ExtendedException: Request failed"));
        assert_eq!(log.events[1].signature_line, 11);
        let c = &log.event_counts[0];
        assert_eq!((c.count, c.first_line, c.last_line), (2, 2, 9));
        assert_eq!((c.first_signature_line, c.last_signature_line), (4, 11));
        assert_eq!(
            c.first_timestamp.as_deref(),
            Some("2024-03-06 11:42:39.6370")
        );
        assert_eq!(
            c.last_timestamp.as_deref(),
            Some("2024-03-06 11:43:10.1000")
        );
        assert_eq!(c.excerpt, e.excerpt);
    }

    #[test]
    fn the_signature_line_of_other_kinds() {
        let log = scan("2018-03-25 02:59:13.1237 Info  InteractiveDeploymentManager ValidateCreateSensorAsync returned\n\
   [validateCreateSensorResult=LicenseInvalid]\n\
2024-03-06 11:51:12.3012 Error CommunicationWebClient System.Net.Http.HttpRequestException: An error occurred while sending the request.\n\
 ---> System.Net.WebException: Unable to connect to the remote server\n\
 ---> System.Net.Sockets.SocketException: No connection could be made because the target machine actively refused it 10.20.30.40:8080\n");
        let cited: Vec<_> = log
            .events
            .iter()
            .map(|e| (e.kind, e.line, e.signature_line, e.excerpt.as_str()))
            .collect();
        assert_eq!(
            cited,
            vec![
                (
                    EventKind::LicenseInvalidProxySuspected,
                    1,
                    2,
                    "[validateCreateSensorResult=LicenseInvalid]"
                ),
                (
                    EventKind::ConnectFailed,
                    3,
                    4,
                    "---> System.Net.WebException: Unable to connect to the remote server"
                ),
            ]
        );
    }

    #[test]
    fn a_long_signature_line_is_cut_around_the_match_after_redaction() {
        let pad = "x".repeat(300);
        let text = format!("2024-03-06 11:42:39.6370 Error A {pad} proxy http://CORP\\svc:Secr3t@proxy.contoso.com:8080 said (407) Proxy Authentication Required. {pad}\n");
        let log = scan(&text);
        let e = &log.events[0];
        assert_eq!(e.signature_line, 1);
        assert!(e.excerpt.chars().count() <= EXCERPT_CHARS, "{}", e.excerpt);
        assert!(e.excerpt.starts_with('…') && e.excerpt.ends_with('…'));
        assert!(e.excerpt.contains("(407) Proxy Authentication Required."));
        assert!(e.excerpt.contains("http://***@proxy.contoso.com:8080"));
        assert!(!e.excerpt.contains("Secr3t"), "{}", e.excerpt);
        assert!(!e.message.contains("Secr3t"));
        // Short lines are kept whole; a line cut in the middle of a character stays valid.
        assert_eq!(excerpt("  timed out  ", 2, b"timed out"), "timed out");
        assert_eq!(utf8_prefix("é".as_bytes().get(..1).unwrap()), "");
    }

    #[test]
    fn untimed_fragments_cite_each_message_line() {
        let log = scan(
            "The remote server returned an error: (407) Proxy Authentication Required.\n\
The operation has timed out\n",
        );
        let cited: Vec<_> = log
            .events
            .iter()
            .map(|e| (e.kind, e.line, e.signature_line))
            .collect();
        assert_eq!(
            cited,
            vec![
                (EventKind::ProxyAuthRequired, 1, 1),
                (EventKind::Timeout, 2, 2)
            ]
        );
    }

    #[test]
    fn ata_layout() {
        let text = "2020-07-29 08:58:43.8995 6584 18  Debug [DirectoryServicesResolver] ok\n\
2020-07-29 08:58:44.1234 6584 22  Error [CenterClient] System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required.\n";
        let log = scan(text);
        assert_eq!(log.layout, Some(LogLayout::Ata));
        let e = &log.events[0];
        assert_eq!((e.kind, e.line), (EventKind::ProxyAuthRequired, 2));
        assert_eq!(e.timestamp.as_deref(), Some("2020-07-29 08:58:44.1234"));
        assert_eq!(e.level.as_deref(), Some("Error"));
        assert_eq!(e.logger.as_deref(), Some("CenterClient"));
        assert_eq!(e.layout, Some(LogLayout::Ata));
    }

    #[test]
    fn burn_layout_wrapping_inner_lines() {
        let text = "[1C60:1AA8][2018-03-24T23:59:13]i001: Burn v3.10.3.3007, Windows v10.0 (Build 14393: Service Pack 0), path: C:\\Temp\\Azure ATP Sensor Setup.exe\n\
[1C60:1AA8][2018-03-24T23:59:13]i000: 2018-03-25 02:59:13.1237 Info  InteractiveDeploymentManager ValidateCreateSensorAsync returned [validateCreateSensorResult=LicenseInvalid]\n\
[1C60:1AA8][2018-03-24T23:59:14]i000: 2018-03-25 02:59:14.0001 Error SensorDeploymentManager System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required.\n\
   at Microsoft.Tri.Sensor.Deployment.X()\n\
[22B8:27F0][2018-03-24T23:59:20]e000: Error 0x80070643: Failed to install MSI package.\n";
        let log = scan(text);
        assert_eq!(log.layout, Some(LogLayout::Burn));
        assert_eq!(
            kinds(&log),
            vec![
                (EventKind::LicenseInvalidProxySuspected, 2),
                (EventKind::ProxyAuthRequired, 3),
                (EventKind::InstallFailed0x80070643, 5)
            ]
        );
        let e = &log.events[0];
        assert_eq!(e.timestamp.as_deref(), Some("2018-03-24T23:59:13"));
        assert_eq!(
            e.inner_timestamp.as_deref(),
            Some("2018-03-25 02:59:13.1237")
        );
        assert_eq!(e.level.as_deref(), Some("Info"));
        assert_eq!(e.logger.as_deref(), Some("InteractiveDeploymentManager"));
        assert_eq!(log.events[1].record_lines, 2);
        assert_eq!(log.events[2].level.as_deref(), Some("Error"));
        assert_eq!(log.events[2].logger, None);
        assert_eq!(
            log.events[2].timestamp.as_deref(),
            Some("2018-03-24T23:59:20")
        );
    }

    #[test]
    fn encodings_bom_utf16_crlf() {
        let text = "2024-03-06 11:42:38.0000 Info  A started\r\n2024-03-06 11:42:39.6370 Error B The operation has timed out\r\n";
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let mut u16 = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            u16.extend_from_slice(&unit.to_le_bytes());
        }
        for bytes in [text.as_bytes().to_vec(), bom, u16] {
            let (log, _) = scan_bytes(&bytes);
            assert_eq!(kinds(&log), vec![(EventKind::Timeout, 2)]);
            assert_eq!(
                log.events[0].message,
                "2024-03-06 11:42:39.6370 Error B The operation has timed out"
            );
            assert_eq!(
                log.events[0].timestamp.as_deref(),
                Some("2024-03-06 11:42:39.6370")
            );
        }
    }

    #[test]
    fn text_before_the_first_record_is_a_record_without_timestamp() {
        let log = scan("   at Foo.Bar()\n ---> The operation has timed out\n2024-03-06 11:42:39.6370 Info A ok\n");
        assert_eq!(kinds(&log), vec![(EventKind::Timeout, 1)]);
        assert_eq!(log.events[0].timestamp, None);
        assert_eq!(log.events[0].layout, None);
        assert_eq!(log.records, 2);
    }

    #[test]
    fn overlong_record_is_capped_and_reported() {
        let mut text = String::from("2024-03-06 11:42:39.6370 Error A start\n");
        for _ in 0..5000 {
            text.push_str("   at Some.Very.Long.Frame.Name.That.Repeats(System.String argument)\n");
        }
        text.push_str(" ---> The operation has timed out\n");
        let (log, diags) = scan_bytes(text.as_bytes());
        assert!(log.events.is_empty());
        assert!(diags
            .iter()
            .any(|d| d.code == "record-too-long" && d.line == 1));
    }

    #[test]
    fn events_are_capped_but_counted() {
        let line = "2024-03-06 11:42:39.6370 Error A The remote server returned an error: (503) Server Unavailable.\n";
        let text = line.repeat(MAX_EVENTS + 5);
        let (log, diags) = scan_bytes(text.as_bytes());
        assert_eq!(log.events.len(), MAX_EVENTS);
        assert!(log.events_truncated);
        assert_eq!(log.event_counts[0].count, (MAX_EVENTS + 5) as u64);
        assert_eq!(log.event_counts[0].last_line, (MAX_EVENTS + 5) as u64);
        // The last record past the cap is still cited, with its own line and time.
        assert_eq!(
            log.event_counts[0].last_signature_line,
            (MAX_EVENTS + 5) as u64
        );
        assert_eq!(
            log.event_counts[0].last_timestamp.as_deref(),
            Some("2024-03-06 11:42:39.6370")
        );
        assert!(diags.iter().any(|d| d.code == "events-capped"));
    }

    #[test]
    fn names_and_ids() {
        for k in EventKind::ALL {
            assert_eq!(k.finding_id(), k.name().replace('_', "-"));
            assert_eq!(EventKind::from_name(k.name()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.name().into())
            );
        }
    }

    #[test]
    fn record_start_shapes() {
        assert_eq!(
            record_start("2024-03-06 11:42:39.6370 Info A"),
            Some(LogLayout::Runtime)
        );
        assert_eq!(
            record_start("2020-07-29 08:58:43.8995 6584 18  Debug [X] y"),
            Some(LogLayout::Ata)
        );
        assert_eq!(
            record_start("[1C60:1AA8][2018-03-24T23:59:13]i000: x"),
            Some(LogLayout::Burn)
        );
        assert_eq!(record_start("   at X"), None);
        assert_eq!(record_start("[HKEY_CURRENT_USER\\x]"), None);
        assert_eq!(record_start("2024-03-06"), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = scan_bytes(&bytes);
        }

        #[test]
        fn arbitrary_log_like_text_never_panics(s in "(\\[[0-9A-F:]{0,6}\\]\\[2024-01-01T00:00:0[0-9]\\][iew]000: |2024-03-06 11:42:3[0-9]\\.[0-9]{4} |[ a-z0-9:'./=\\[\\]()-]{0,40}|\n|127\\.0\\.0\\.1:444|timed out|'){0,40}") {
            let log = scan(&s);
            // The cited line lies inside its record and the excerpt is bounded.
            for e in &log.events {
                proptest::prop_assert!(e.signature_line >= e.line);
                proptest::prop_assert!(e.signature_line < e.line + e.record_lines);
                proptest::prop_assert!(e.excerpt.chars().count() <= EXCERPT_CHARS);
            }
        }
    }
}
