//! Proxy auto-config (PAC) evaluation: runs a customer's `proxy.pac` / `wpad.dat` offline, in a
//! sandboxed QuickJS runtime, the way the sensor's Windows service (WinHTTP) would.
//!
//! Independent of `case`: [`evaluate`] takes the script, the request, the customer's facts
//! (IP addresses, name resolution, clock) and the limits, and returns a typed [`PacEvaluation`]
//! that serialises to the contract's `pac` JSON (without the `file`/`url`/`host` header).

mod engine;
pub mod functions;
pub mod limits;
pub mod result;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use serde::{Serialize, Serializer};

pub use crate::formats::pac_script::{entry_points_defined, EntryPoint};
pub use limits::PacLimits;
pub use result::{parse_result, Fallback, PacRoute, PacRouteKind};

/// The request the script is asked about: `FindProxyForURL(url, host)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacRequest {
    /// The full URL, passed exactly as given (.NET hands WinHTTP the full URL, path included).
    pub url: String,
    /// The host argument.
    pub host: String,
}

impl PacRequest {
    /// A request whose host is the URL's host, lower-cased as .NET's `Uri.Host` gives it.
    pub fn for_url(url: &str) -> PacRequest {
        PacRequest {
            url: url.to_string(),
            host: host_of_url(url).to_ascii_lowercase(),
        }
    }
}

/// The host part of a URL (`scheme://[user@]host[:port]/...`), without IPv6 brackets.
pub fn host_of_url(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .rsplit('@')
        .next()
        .unwrap_or("");
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// What the customer told us about the machine, instead of asking the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacFacts {
    /// The machine's addresses: the first IPv4 answers `myIpAddress()`, all answer `myIpAddressEx()`.
    pub my_ips: Vec<IpAddr>,
    /// Name resolution, keys lower-case without a trailing dot.
    pub resolve: BTreeMap<String, Vec<IpAddr>>,
    /// Names known not to resolve (so they are not reported as an assumption).
    pub unresolvable: BTreeSet<String>,
    /// The clock for `weekdayRange`/`dateRange`/`timeRange`, in seconds since 1970 UTC
    /// (local time = UTC); `None` = the evaluation's wall clock, reported in `depends_on`.
    pub now: Option<i64>,
}

impl PacFacts {
    /// Adds `name` resolving to `ips` (names are case-insensitive).
    pub fn add_resolve(&mut self, name: &str, ips: impl IntoIterator<Item = IpAddr>) {
        self.resolve
            .entry(normalize_name(name))
            .or_default()
            .extend(ips);
    }

    /// Marks `name` as not resolving.
    pub fn add_unresolvable(&mut self, name: &str) {
        self.unresolvable.insert(normalize_name(name));
    }
}

/// Parses `--resolve NAME=IP[,IP...]`.
pub fn parse_resolve_fact(s: &str) -> Result<(String, Vec<IpAddr>), String> {
    let (name, ips) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=IP[,IP...]"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("`{s}`: empty name"));
    }
    let ips = ips
        .split(',')
        .map(|ip| {
            functions::ip_literal(ip.trim())
                .ok_or_else(|| format!("`{s}`: `{}` is not an IP address", ip.trim()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), ips))
}

/// Parses an RFC 3339 date-time (`2026-03-03T09:30:00Z`, `...+01:00`, fractions ignored)
/// to seconds since 1970 UTC.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}`: expected an RFC 3339 date-time such as 2026-03-03T09:30:00Z");
    let b = s.trim().as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, String> {
        let part = b.get(from..from + len).ok_or_else(bad)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        std::str::from_utf8(part)
            .ok()
            .and_then(|p| p.parse().ok())
            .ok_or_else(bad)
    };
    let sep = |at: usize, set: &[u8]| b.get(at).is_some_and(|c| set.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return Err(bad());
    }
    let (y, mo, d, h, mi, sec) = (
        num(0, 4)?,
        num(5, 2)?,
        num(8, 2)?,
        num(11, 2)?,
        num(14, 2)?,
        num(17, 2)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return Err(bad());
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let o = num(i + 1, 2)? * 3600 + num(i + 4, 2)? * 60;
            if *c == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return Err(bad()),
    };
    let days = functions::days_from_civil(y, mo, d);
    Ok(days * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset)
}

/// DNS names compare case-insensitively and ignore a trailing dot.
pub(crate) fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Why a script failed; names as in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PacErrorKind {
    /// The script does not compile.
    Syntax,
    /// An uncaught exception (at load time or in the call).
    Exception,
    /// Neither `FindProxyForURLEx` nor `FindProxyForURL` is a function.
    NoEntryPoint,
    /// The entry point returned something other than a string (or a string over the limit).
    BadReturn,
    /// The time budget ran out (endless loop, catastrophic regular expression...).
    LimitTime,
    /// The heap limit was hit (allocation bomb).
    LimitMemory,
    /// The stack limit was hit (runaway recursion).
    LimitStack,
    /// The script is larger than the size limit; it was not run.
    LimitSize,
}

/// A script failure with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacError {
    pub kind: PacErrorKind,
    pub message: String,
    /// 1-based line in the script, when the engine knows it.
    pub line: Option<u32>,
}

/// A default (or the wall clock) the answer relied on because no fact was supplied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dependency {
    /// `myIpAddress()`/`myIpAddressEx()` answered 127.0.0.1 (no `--my-ip`).
    MyIpAddress,
    /// A name was looked up that no fact covers: it was taken as unresolvable.
    DnsResolve(String),
    /// A date/time function read the real clock (no `--now`).
    Clock,
}

impl Dependency {
    /// The contract's spelling: `myIpAddress`, `dnsResolve:NAME`, `clock`.
    pub fn as_string(&self) -> String {
        match self {
            Dependency::MyIpAddress => "myIpAddress".into(),
            Dependency::DnsResolve(n) => format!("dnsResolve:{n}"),
            Dependency::Clock => "clock".into(),
        }
    }
}

impl Dependency {
    /// One sentence for reports: what the answer assumed, and which flag would supply it.
    pub fn sentence(&self) -> String {
        match self {
            Dependency::MyIpAddress => {
                "the answer assumes myIpAddress() = 127.0.0.1 (no --my-ip given)".into()
            }
            Dependency::DnsResolve(n) => {
                format!("the answer assumes `{n}` does not resolve (no --resolve {n}=IP given)")
            }
            Dependency::Clock => {
                "the answer depends on the clock: evaluated at this run's time (no --now given)"
                    .into()
            }
        }
    }
}

impl Serialize for Dependency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

/// A fact given on the command line that the answer relied on, named as given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FactUsed {
    /// `myIpAddress()` answered this `--my-ip`.
    MyIpAddress(IpAddr),
    /// `myIpAddressEx()` answered every `--my-ip`.
    MyIpAddressEx(Vec<IpAddr>),
    /// A name resolved through `--resolve` (lower-case, no trailing dot).
    Resolve(String, Vec<IpAddr>),
    /// A name given with `--unresolvable`.
    Unresolvable(String),
    /// The clock pinned by `--now`, in seconds since 1970 UTC.
    Clock(i64),
}

fn join_ips(ips: &[IpAddr], sep: &str) -> String {
    ips.iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// `2026-03-03T09:30:00Z` for seconds since 1970 UTC.
pub fn format_rfc3339(secs: i64) -> String {
    let c = functions::Civil::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

impl FactUsed {
    /// The JSON spelling: `myIpAddress=IP`, `myIpAddressEx=IP;IP`, `dnsResolve:NAME=IP,IP`,
    /// `dnsResolve:NAME=unresolvable`, `clock=RFC3339`.
    pub fn as_string(&self) -> String {
        match self {
            FactUsed::MyIpAddress(ip) => format!("myIpAddress={ip}"),
            FactUsed::MyIpAddressEx(ips) => format!("myIpAddressEx={}", join_ips(ips, ";")),
            FactUsed::Resolve(n, ips) => format!("dnsResolve:{n}={}", join_ips(ips, ",")),
            FactUsed::Unresolvable(n) => format!("dnsResolve:{n}=unresolvable"),
            FactUsed::Clock(s) => format!("clock={}", format_rfc3339(*s)),
        }
    }

    /// One phrase for reports, naming the flag that gave the fact.
    pub fn sentence(&self) -> String {
        match self {
            FactUsed::MyIpAddress(ip) => format!("myIpAddress() = {ip} (--my-ip)"),
            FactUsed::MyIpAddressEx(ips) => {
                format!("myIpAddressEx() = {} (--my-ip)", join_ips(ips, ";"))
            }
            FactUsed::Resolve(n, ips) => {
                format!("`{n}` resolves to {} (--resolve)", join_ips(ips, ", "))
            }
            FactUsed::Unresolvable(n) => format!("`{n}` does not resolve (--unresolvable)"),
            FactUsed::Clock(s) => format!("the clock reads {} (--now)", format_rfc3339(*s)),
        }
    }
}

impl Serialize for FactUsed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacEvaluation {
    pub entry_point: Option<EntryPoint>,
    /// The exact string returned (`None` when the script failed).
    pub result: Option<String>,
    pub error: Option<PacError>,
    /// How the sensor uses the result.
    pub route: PacRoute,
    /// Defaults the answer relied on, in the order first consulted.
    pub depends_on: Vec<Dependency>,
    /// Facts from the command line the answer relied on, in the order first consulted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts_used: Vec<FactUsed>,
    /// `alert()` messages (at most [`limits::MAX_ALERTS`], each cut at [`limits::MAX_ALERT_CHARS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// Wall-clock time of the evaluation, load included.
    #[serde(rename = "elapsed_ms", serialize_with = "as_millis")]
    pub elapsed: Duration,
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl PacEvaluation {
    /// True when the script returned a string (exit code 0 of `pac`).
    pub fn returned(&self) -> bool {
        self.error.is_none()
    }
}

/// Evaluates `script` for `req` with the customer's `facts`, within `limits`.
///
/// Never panics on customer input and never runs longer than about `limits.time` (the
/// interrupt handler stops loops, also inside regular expressions). A fresh runtime is
/// created per call, on a worker thread with a known native stack.
pub fn evaluate(
    script: &str,
    req: &PacRequest,
    facts: &PacFacts,
    limits: &PacLimits,
) -> PacEvaluation {
    engine::evaluate(script, req, facts, limits)
}

/// The sensor's two URLs for one endpoint host, evaluated with the same facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointEvaluation {
    /// `https://<host>/tri/sensor/api/ping`: what the sensor requests.
    pub ping: PacEvaluation,
    /// `https://<host>/`: what a path-stripping client (Chromium) would ask.
    pub root: PacEvaluation,
    /// The two routes differ (the script looks at the URL's path): say so in the report.
    pub routes_differ: bool,
}

/// The ping URL of a sensor endpoint host.
pub fn ping_url(endpoint_host: &str) -> String {
    format!("https://{endpoint_host}/tri/sensor/api/ping")
}

/// Evaluates `script` for the endpoint's ping URL and bare URL (`https://<host>/`).
pub fn evaluate_endpoint(
    script: &str,
    endpoint_host: &str,
    facts: &PacFacts,
    limits: &PacLimits,
) -> EndpointEvaluation {
    evaluate_endpoint_with(endpoint_host, |req| evaluate(script, req, facts, limits))
}

/// The endpoint's ping URL and bare URL, each evaluated through `eval` (the case resolution
/// passes a cached evaluator so that a script is run once per URL however many accounts use it).
pub fn evaluate_endpoint_with(
    endpoint_host: &str,
    mut eval: impl FnMut(&PacRequest) -> PacEvaluation,
) -> EndpointEvaluation {
    let ping = eval(&PacRequest::for_url(&ping_url(endpoint_host)));
    let root = eval(&PacRequest::for_url(&format!("https://{endpoint_host}/")));
    let same =
        |a: &PacRoute, b: &PacRoute| a.kind == b.kind && a.host == b.host && a.port == b.port;
    let routes_differ = !same(&ping.route, &root.route);
    EndpointEvaluation {
        ping,
        root,
        routes_differ,
    }
}

/// A script given on the command line (`analyze --pac FILE`), read like an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFile {
    /// The path as given (cited as evidence).
    pub file: String,
    /// The decoded script text.
    pub source: String,
}

/// Why `--pac FILE` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScriptFileError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a regular file")]
    NotRegular { file: String },
    #[error("{file}: not a PAC script (no function FindProxyForURL or FindProxyForURLEx; read as {kind})")]
    NotPac { file: String, kind: &'static str },
}

/// Reads a PAC script file with the detection and decoding of an uploaded `pac-script` (BOM,
/// UTF-16, CRLF). At most enough bytes are read that a script over `limits.max_script_bytes`
/// is still over it once decoded: the evaluation then reports `limit-size`, as for an upload.
pub fn read_script_file(
    path: &std::path::Path,
    limits: &PacLimits,
) -> Result<ScriptFile, ScriptFileError> {
    use std::io::Read;
    let file = crate::input::display_name(path);
    let read = |e| ScriptFileError::Read {
        file: file.clone(),
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if !meta.is_file() {
        return Err(ScriptFileError::NotRegular { file });
    }
    let cap = (limits.max_script_bytes as u64)
        .saturating_mul(4)
        .saturating_add(16);
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(cap).read_to_end(&mut bytes))
        .map_err(read)?;
    let artifact =
        crate::artifact::parse_bytes(&file, &bytes, crate::artifact::Scope::ProxyRelevant);
    match artifact.content {
        crate::artifact::Content::PacScript(p) => Ok(ScriptFile {
            file,
            source: p.source,
        }),
        _ => Err(ScriptFileError::NotPac {
            file,
            kind: artifact.kind.name(),
        }),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn host_of_url_shapes() {
        assert_eq!(host_of_url("https://a.b.com/x?y"), "a.b.com");
        assert_eq!(host_of_url("https://u:p@a.b.com:8443/x"), "a.b.com");
        assert_eq!(host_of_url("http://[::1]:80/"), "::1");
        assert_eq!(host_of_url("a.b.com"), "a.b.com");
        assert_eq!(
            PacRequest::for_url("https://WS1SensorAPI.atp.azure.com/").host,
            "ws1sensorapi.atp.azure.com"
        );
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("2009-03-03T03:34:01Z"), Ok(1_236_051_241));
        assert_eq!(
            parse_rfc3339("2009-03-03T04:34:01.250+01:00"),
            Ok(1_236_051_241)
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00-00:30"), Ok(1800));
        for bad in [
            "2009-03-03",
            "2009-13-03T00:00:00Z",
            "2009-03-03T00:00:00",
            "x",
            "2009-03-03T00:00:00+1",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_facts() {
        assert_eq!(
            parse_resolve_fact("proxy.corp=10.0.0.1, fd00::1"),
            Ok((
                "proxy.corp".into(),
                vec!["10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()]
            ))
        );
        assert!(parse_resolve_fact("proxy.corp").is_err());
        assert!(parse_resolve_fact("=10.0.0.1").is_err());
        assert!(parse_resolve_fact("p=10.0.0.256").is_err());
    }

    #[test]
    fn dependency_strings() {
        let d = vec![
            Dependency::MyIpAddress,
            Dependency::DnsResolve("proxy.corp".into()),
            Dependency::Clock,
        ];
        assert_eq!(
            serde_json::to_string(&d).ok().as_deref(),
            Some(r#"["myIpAddress","dnsResolve:proxy.corp","clock"]"#)
        );
    }
}

#[cfg(test)]
mod tests;
