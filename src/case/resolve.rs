//! Settings resolved once per case: the observations of every upload turned into each
//! account's state, settings, evidence (with how it was attributed) and route to the sensor
//! endpoint, plus the case-wide facts the rules read. The rules never re-derive any of this.

use std::collections::BTreeMap;

use crate::formats::sensor_log::EventKind;
use crate::probe::Route as ProbeRoute;
use crate::proxy::compare::compare_decoded;
use crate::proxy::{ProxyState, Route, RouteKind};

use super::evidence::{CompareVerdict, Fact, Observation, PlainData};
use super::model::{
    Endpoint, EndpointSource, EvidenceRef, InputRecord, State, UserSettings, DEFAULT_ENDPOINT_HOST,
};
use super::principals::{Attribution, Principal};
use super::settings::{self, Effective};

/// Everything assembled for one case before resolution.
#[derive(Debug, Clone, Default)]
pub struct Assembled {
    pub name: String,
    pub inputs: Vec<InputRecord>,
    pub observations: Vec<Observation>,
    /// The collector's manifest, with the folder it lies in (`""` at the case root).
    pub manifest: Option<(
        String,
        crate::formats::collector_manifest::CollectorManifest,
    )>,
}

/// What the command line adds to the evidence.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// `--endpoint HOST` (or `--workspace NAME` made a host).
    pub endpoint: Option<String>,
    /// How PAC scripts are evaluated: `--pac FILE`, the fact flags, the limits.
    pub pac: PacOptions,
}

/// The command line's part in PAC evaluation.
#[derive(Debug, Clone, Default)]
pub struct PacOptions {
    /// `--pac FILE`: the script of every PAC account whose own script is not uploaded.
    pub script: Option<crate::pac::ScriptFile>,
    /// `--my-ip`, `--resolve`, `--unresolvable`, `--now` (defaults: see `docs/pac.md`).
    pub facts: crate::pac::PacFacts,
    /// `--pac-timeout-ms`, `--max-pac-kib`.
    pub limits: crate::pac::PacLimits,
}

/// How one service account's evidence compares with the current user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareOutcome {
    /// Byte-identical blobs (or `reg compare` said Identical).
    Matches,
    /// Only the change counter or the trailer differ.
    Equivalent,
    /// The effective settings differ in these fields (empty: `reg compare` said Different).
    Differs(Vec<&'static str>),
    /// The value or its key is absent.
    Missing,
}

/// One piece of comparison evidence.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub outcome: CompareOutcome,
    pub at: EvidenceRef,
}

/// One account after weighing all its observations.
#[derive(Debug, Clone)]
pub struct Account {
    pub principal: Principal,
    pub state: State,
    /// The settings the account is judged on (none when unknown or missing).
    pub settings: Option<Effective>,
    /// The blob those settings come from, when they come from a blob.
    pub blob: Option<Vec<u8>>,
    /// Every upload that speaks of the account, with its attribution.
    pub evidence: Vec<EvidenceRef>,
    pub summary: String,
    /// For the current user: the hive taken as the reference, and every user hive seen.
    pub reference_user: Option<String>,
    pub users: Vec<UserSettings>,
    /// For the service accounts: each upload's comparison with the current user.
    pub comparisons: Vec<Comparison>,
    /// Captures that show this account's blob cut.
    pub truncated: Vec<EvidenceRef>,
    /// What the state rests on that the evidence does not show outright.
    pub assumptions: Vec<String>,
    /// The route of an HTTPS request to the endpoint under these settings.
    pub route: Option<Route>,
    /// The route is the one the account would have after the documented copy (its own
    /// value is missing).
    pub route_after_fix: bool,
    /// Uploads that disagree about this account (file and what each says).
    pub conflict: Vec<(EvidenceRef, String)>,
    /// `reg compare` said Identical without showing the content: the account has whatever
    /// the current user has.
    pub identical_to_user: bool,
    /// The PAC script the account's route depends on, evaluated for the endpoint.
    pub pac: Option<PacOutcome>,
}

/// A PAC script of the case evaluated for the endpoint, as one account uses it.
#[derive(Debug, Clone)]
pub struct PacOutcome {
    /// The script's file.
    pub script: EvidenceRef,
    /// For `https://<endpoint>/tri/sensor/api/ping` (what the sensor requests) and the root.
    pub evaluation: crate::pac::EndpointEvaluation,
}

impl Account {
    fn new(principal: Principal) -> Account {
        Account {
            principal,
            state: State::Unknown,
            settings: None,
            blob: None,
            evidence: Vec::new(),
            summary: String::new(),
            reference_user: None,
            users: Vec::new(),
            comparisons: Vec::new(),
            truncated: Vec::new(),
            assumptions: Vec::new(),
            route: None,
            route_after_fix: false,
            conflict: Vec::new(),
            identical_to_user: false,
            pac: None,
        }
    }

    /// Nothing about the account's proxy setting is known.
    pub fn is_unknown(&self) -> bool {
        self.state == State::Unknown
    }
}

/// The sensor-level proxy of `SensorConfiguration.json`.
#[derive(Debug, Clone)]
pub struct SensorProxy {
    pub url: String,
    pub user: Option<String>,
    pub password_set: bool,
    pub at: EvidenceRef,
}

/// A captured answer of the reachability test.
#[derive(Debug, Clone)]
pub struct CapturedProbe {
    /// The account it ran as, when the collector's manifest says so.
    pub principal: Option<Principal>,
    pub status: Option<u16>,
    pub text: String,
    /// The URL probed, when the capture shows it.
    pub url: Option<String>,
    pub at: EvidenceRef,
}

impl CapturedProbe {
    /// The answer of a reachable sensor service: 503 from the 2018 processor endpoint (and
    /// from older workspaces), 200 from the ping URL `/tri/sensor/api/ping` of current ones.
    /// A 200 counts only when the probed URL is a sensor URL or not shown (a 200 from any
    /// other site says nothing about the sensor's service).
    pub fn reached_service(&self) -> bool {
        match self.status {
            Some(503) => true,
            Some(200) => self.url.as_deref().is_none_or(is_sensor_url),
            _ => false,
        }
    }
}

/// A URL of the sensor's service: its ping path, or a host of the sensor API in any cloud.
fn is_sensor_url(url: &str) -> bool {
    url.to_ascii_lowercase().contains("/tri/sensor/api/ping")
        || crate::proxy::route::parse_url(url)
            .is_some_and(|u| super::evidence::is_sensor_endpoint_host(&u.host))
}

/// One URL the Defender for Endpoint client analyzer tested as LOCAL SYSTEM through WinHTTP.
#[derive(Debug, Clone)]
pub struct AnalyzerTest {
    pub test: crate::formats::mde_analyzer::UrlTest,
    /// The tested host, lower-cased.
    pub host: String,
    /// The host is a sensor endpoint (`…sensorapi.atp.azure.com`, any cloud, or the
    /// endpoint judged); otherwise it is one of Defender for Endpoint's own URLs.
    pub sensor_endpoint: bool,
    pub run_as: Option<String>,
    pub at: EvidenceRef,
}

/// `Test-MDISensorApiConnection`'s boolean, where it was printed.
#[derive(Debug, Clone)]
pub struct ApiTest {
    pub test: crate::formats::mdi_tools::MdiApiTest,
    pub at: EvidenceRef,
}

/// One server of a `Test-MdiReadiness` report.
#[derive(Debug, Clone)]
pub struct ReadinessEvidence {
    pub server: crate::formats::mdi_tools::ReadinessServer,
    pub at: EvidenceRef,
}

/// All records of one sensor-log event kind, over every log of the case.
#[derive(Debug, Clone)]
pub struct LogGroup {
    pub kind: EventKind,
    pub count: u64,
    /// The first record's signature line around the signature.
    pub excerpt: String,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// The line carrying the signature in the first and in the last record.
    pub first: EvidenceRef,
    pub last: EvidenceRef,
}

impl LogGroup {
    /// Adds another log's records of this kind: the earliest first and the latest last record
    /// by timestamp (the logs of a case come in any order), timed records before untimed
    /// ones, else in upload order.
    fn merge(&mut self, other: LogGroup) {
        self.count += other.count;
        if by_time(other.first_seen.as_deref(), self.first_seen.as_deref()).is_lt() {
            self.first_seen = other.first_seen;
            self.first = other.first;
            self.excerpt = other.excerpt;
        }
        let later = match (other.last_seen.as_deref(), self.last_seen.as_deref()) {
            (Some(a), Some(b)) => by_time(Some(a), Some(b)).is_ge(),
            (Some(_), None) | (None, None) => true,
            (None, Some(_)) => false,
        };
        if later {
            self.last_seen = other.last_seen;
            self.last = other.last;
        }
    }
}

/// Orders two timestamps as written; a missing one sorts after any present one.
/// Runtime (`2024-03-06 11:42:39.6370`) and Burn (`2018-03-24T23:59:13`) timestamps compare
/// as text with the `T` read as the space.
fn by_time(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    fn key(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes().map(|c| if c == b'T' { b' ' } else { c })
    }
    match (a, b) {
        (Some(a), Some(b)) => key(a).cmp(key(b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// The case as resolved: what every rule reads.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub case: String,
    pub inputs: Vec<InputRecord>,
    pub endpoint: Endpoint,
    pub accounts: BTreeMap<Principal, Account>,
    pub sensor_proxy: Option<SensorProxy>,
    /// `ProxySettingsPerUser` = 0, where it was seen.
    pub machine_wide: Option<EvidenceRef>,
    /// The current user's blob the documented fix copies, and where it comes from.
    pub reference_blob: Option<(Vec<u8>, EvidenceRef)>,
    /// Current-user blobs from other uploads whose settings differ from the reference.
    pub user_conflicts: Vec<(Vec<u8>, EvidenceRef)>,
    pub empty: Vec<EvidenceRef>,
    /// Truncated blobs whose account could not be told.
    pub truncated_unattributed: Vec<EvidenceRef>,
    pub unattributed: Vec<EvidenceRef>,
    pub captured_probes: Vec<CapturedProbe>,
    /// Sensor-log events by kind, in the contract's precedence order.
    pub log_groups: Vec<LogGroup>,
    /// Dirty binary hives read without their transaction logs, with the account each shows.
    pub hive_logs_missing: Vec<(Option<Principal>, EvidenceRef)>,
    /// The Defender for Endpoint client analyzer's URL tests (LOCAL SYSTEM, WinHTTP).
    pub analyzer_tests: Vec<AnalyzerTest>,
    /// `Test-MDISensorApiConnection` results (weak evidence).
    pub api_tests: Vec<ApiTest>,
    /// Servers of `Test-MdiReadiness` reports.
    pub readiness: Vec<ReadinessEvidence>,
}

impl Resolved {
    /// The account, or an unknown one.
    pub fn account(&self, p: Principal) -> Option<&Account> {
        self.accounts.get(&p)
    }

    /// The state of an account (unknown when nothing speaks of it).
    pub fn state(&self, p: Principal) -> State {
        self.accounts.get(&p).map_or(State::Unknown, |a| a.state)
    }

    /// The Defender for Endpoint client analyzer reached the sensor endpoint as `p` without
    /// any proxy (its "Proxy disabled" method): the direct route works for that account.
    pub fn direct_route_shown(&self, p: Principal) -> bool {
        p == Principal::LocalSystem
            && self.analyzer_tests.iter().any(|t| {
                t.sensor_endpoint
                    && t.test
                        .reached_by(crate::formats::mde_analyzer::MethodWay::Direct)
            })
    }

    /// The principals whose route decides whether the sensor reaches its endpoint: the
    /// sensor-level proxy when set, HKLM under the machine-wide policy, else the two service
    /// accounts.
    pub fn route_principals(&self) -> Vec<Principal> {
        if self.sensor_proxy.is_some() {
            vec![Principal::Sensor]
        } else if self.machine_wide.is_some() {
            vec![Principal::Machine]
        } else {
            vec![Principal::LocalSystem, Principal::LocalService]
        }
    }

    /// The routes to probe: with `on_customer_network` each distinct route of the sensor's
    /// accounts (and the current user's); otherwise only the direct route, so that no name
    /// from the uploads is resolved on this machine's network.
    pub fn routes(&self, on_customer_network: bool) -> Vec<(Principal, ProbeRoute)> {
        if !on_customer_network {
            return vec![(Principal::CurrentUser, ProbeRoute::Direct)];
        }
        let mut out = Vec::new();
        let mut ps = self.route_principals();
        ps.push(Principal::CurrentUser);
        for p in ps {
            let Some(route) = self.accounts.get(&p).and_then(|a| a.route.as_ref()) else {
                continue;
            };
            let r = match &route.kind {
                RouteKind::Direct => ProbeRoute::Direct,
                RouteKind::Proxy { host, port } => {
                    ProbeRoute::Proxy(format!("http://{}", join_host_port(host, *port)))
                }
                RouteKind::Pac { url } => {
                    ProbeRoute::NotProbeable(format!("the PAC script {url} decides the route"))
                }
                RouteKind::AutoDetect => {
                    ProbeRoute::NotProbeable("auto-detect (WPAD) decides the route".into())
                }
            };
            out.push((p, r));
        }
        if out.is_empty() {
            out.push((Principal::CurrentUser, ProbeRoute::Direct));
        }
        out
    }
}

/// `host:port`, bracketing a bare IPv6 address.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A connection blob of one account, decoded once when gathered (the weighing looks at it
/// several times).
#[derive(Debug, Clone)]
struct GatheredBlob {
    bytes: Vec<u8>,
    at: EvidenceRef,
    /// The user hive it belongs to, for current-user blobs.
    user: Option<String>,
    settings: Effective,
}

/// Observations of one account, before weighing.
#[derive(Debug, Default)]
struct Gathered {
    blobs: Vec<GatheredBlob>,
    missing: Vec<(EvidenceRef, bool)>,
    truncated: Vec<EvidenceRef>,
    plain: BTreeMap<&'static str, (PlainData, EvidenceRef)>,
    verdicts: Vec<(CompareVerdict, EvidenceRef)>,
    winhttp: Vec<(Effective, EvidenceRef)>,
}

impl Gathered {
    fn evidence(&self) -> Vec<EvidenceRef> {
        let mut v: Vec<EvidenceRef> = self
            .blobs
            .iter()
            .map(|b| b.at.clone())
            .chain(self.missing.iter().map(|m| m.0.clone()))
            .chain(self.truncated.iter().cloned())
            .chain(self.plain.values().map(|p| p.1.clone()))
            .chain(self.verdicts.iter().map(|v| v.1.clone()))
            .chain(self.winhttp.iter().map(|w| w.1.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn plain_effective(&self) -> Option<Effective> {
        if self.plain.is_empty() {
            return None;
        }
        let dword = |n: &str| match self.plain.get(n) {
            Some((PlainData::Dword(v), _)) => Some(*v),
            _ => None,
        };
        let text = |n: &str| match self.plain.get(n) {
            Some((PlainData::Text(t), _)) => Some(t.as_str()),
            _ => None,
        };
        Some(settings::from_plain(
            dword("ProxyEnable"),
            text("ProxyServer"),
            text("ProxyOverride"),
            text("AutoConfigURL"),
            dword("AutoDetect"),
        ))
    }
}

const PLAIN_NAMES: [&str; 5] = [
    "ProxyEnable",
    "ProxyServer",
    "ProxyOverride",
    "AutoConfigURL",
    "AutoDetect",
];

/// The state of settings for a principal: the proxy model's own definition.
fn state_of(eff: &Effective, p: Principal) -> State {
    match eff.model.state(p == Principal::CurrentUser) {
        ProxyState::Configured => State::Configured,
        ProxyState::Direct => State::Direct,
    }
}

/// Evaluates one script for one request (the real engine, or a stand-in in tests).
type Evaluator<'e> = dyn FnMut(&str, &crate::pac::PacRequest) -> crate::pac::PacEvaluation + 'e;

/// Resolves a case: one pass over the observations, then each account weighed once.
pub fn resolve(assembled: Assembled, options: &ResolveOptions) -> Resolved {
    let pac = &options.pac;
    resolve_with(assembled, options, &mut |script, req| {
        crate::pac::evaluate(script, req, &pac.facts, &pac.limits)
    })
}

fn resolve_with(
    assembled: Assembled,
    options: &ResolveOptions,
    evaluator: &mut Evaluator<'_>,
) -> Resolved {
    let mut gathered: BTreeMap<Principal, Gathered> = BTreeMap::new();
    let mut empty = Vec::new();
    let mut truncated_unattributed = Vec::new();
    let mut unattributed = Vec::new();
    let mut captured_probes = Vec::new();
    let mut machine_wide = None;
    let mut sensor_proxy = None;
    let mut config_endpoint: Option<String> = None;
    let mut log_endpoint: Option<String> = None;
    let mut manifest_endpoint: Option<String> = None;
    let mut pac_scripts: Vec<(EvidenceRef, String)> = Vec::new();
    let mut hive_logs_missing = Vec::new();
    let mut logs: BTreeMap<EventKind, LogGroup> = BTreeMap::new();
    let mut analyzer_tests: Vec<(
        crate::formats::mde_analyzer::UrlTest,
        Option<String>,
        EvidenceRef,
    )> = Vec::new();
    let mut api_tests = Vec::new();
    let mut readiness = Vec::new();

    for o in assembled.observations {
        // Only evidence about an account says how the account was told.
        let at = match o.principal {
            Some(_) => o.at.attributed(o.attribution),
            None => o.at,
        };
        let acc = o.principal.map(|p| gathered.entry(p).or_default());
        match o.fact {
            // Facts that need an account, without one: reported, never guessed.
            Fact::ConnectionBlob { .. }
            | Fact::Missing { .. }
            | Fact::CompareVerdict(_)
            | Fact::Plain { .. }
                if acc.is_none() =>
            {
                unattributed.push(at)
            }
            Fact::ConnectionBlob { bytes } => {
                if let Some(a) = acc {
                    let settings = settings::from_blob(&bytes);
                    if settings.error.is_some() {
                        a.truncated.push(at);
                    } else {
                        a.blobs.push(GatheredBlob {
                            bytes,
                            at,
                            user: o.user,
                            settings,
                        });
                    }
                }
            }
            Fact::WinHttpBlob { bytes } => {
                gathered
                    .entry(Principal::Winhttp)
                    .or_default()
                    .winhttp
                    .push((settings::from_winhttp_blob(&bytes), at));
            }
            Fact::TruncatedBlob => match acc {
                Some(a) => a.truncated.push(at),
                None => truncated_unattributed.push(at),
            },
            Fact::Missing { assumed } => {
                if let Some(a) = acc {
                    a.missing.push((at, assumed));
                }
            }
            Fact::Plain { name, data } => {
                if let (Some(a), Some(n)) = (
                    acc,
                    PLAIN_NAMES.iter().find(|n| n.eq_ignore_ascii_case(&name)),
                ) {
                    a.plain.insert(n, (data, at));
                }
            }
            Fact::PerUserPolicy(v) => {
                if v == 0 {
                    machine_wide = Some(at);
                }
            }
            Fact::WinHttpText {
                direct,
                proxy,
                bypass,
            } => {
                let eff = settings::from_winhttp_text(direct, proxy.as_deref(), bypass.as_deref());
                gathered
                    .entry(Principal::Winhttp)
                    .or_default()
                    .winhttp
                    .push((eff, at));
            }
            Fact::CompareVerdict(v) => {
                if let Some(a) = acc {
                    a.verdicts.push((v, at));
                }
            }
            Fact::SensorProxy {
                url,
                user,
                password_set,
            } => {
                sensor_proxy = Some(SensorProxy {
                    url,
                    user,
                    password_set,
                    at,
                })
            }
            Fact::SensorEndpoint { host } => {
                config_endpoint.get_or_insert(host.to_ascii_lowercase());
            }
            Fact::CollectorEndpoint { host } => {
                manifest_endpoint.get_or_insert(host.to_ascii_lowercase());
            }
            Fact::ProbeCaptured { status, text, url } => captured_probes.push(CapturedProbe {
                principal: o.principal,
                status,
                text,
                url,
                at,
            }),
            Fact::LogEndpoint { host } => {
                log_endpoint.get_or_insert(host);
            }
            Fact::LogEvents {
                kind,
                count,
                excerpt,
                first_seen,
                last_seen,
                last_line,
            } => {
                let group = LogGroup {
                    kind,
                    count,
                    excerpt,
                    first_seen,
                    last_seen,
                    last: EvidenceRef::new(at.file.clone(), last_line),
                    first: at,
                };
                match logs.entry(kind) {
                    std::collections::btree_map::Entry::Occupied(mut g) => g.get_mut().merge(group),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(group);
                    }
                }
            }
            Fact::PacScript { source } => pac_scripts.push((at, source)),
            Fact::HiveLogsMissing => hive_logs_missing.push((o.principal, at)),
            Fact::AnalyzerUrl { test, run_as } => analyzer_tests.push((test, run_as, at)),
            Fact::ApiTest(test) => api_tests.push(ApiTest { test, at }),
            Fact::Readiness(server) => readiness.push(ReadinessEvidence { server, at }),
            Fact::CaptureEmpty => empty.push(at),
            Fact::Unattributed => unattributed.push(at),
        }
    }

    let endpoint = match (
        &options.endpoint,
        config_endpoint,
        manifest_endpoint,
        log_endpoint,
    ) {
        (Some(h), _, _, _) => Endpoint {
            host: h.to_ascii_lowercase(),
            source: EndpointSource::Flag,
        },
        (None, Some(h), _, _) => Endpoint {
            host: h,
            source: EndpointSource::SensorConfig,
        },
        (None, None, Some(h), _) => Endpoint {
            host: h,
            source: EndpointSource::Manifest,
        },
        (None, None, None, Some(h)) => Endpoint {
            host: h,
            source: EndpointSource::SensorLog,
        },
        (None, None, None, None) => Endpoint {
            host: DEFAULT_ENDPOINT_HOST.to_string(),
            source: EndpointSource::Default,
        },
    };

    let mut resolved = Resolved {
        case: assembled.name,
        inputs: assembled.inputs,
        endpoint,
        accounts: BTreeMap::new(),
        sensor_proxy,
        machine_wide,
        reference_blob: None,
        user_conflicts: Vec::new(),
        empty,
        truncated_unattributed,
        unattributed,
        captured_probes,
        log_groups: EventKind::ALL
            .iter()
            .filter_map(|k| logs.remove(k))
            .collect(),
        hive_logs_missing,
        analyzer_tests: Vec::new(),
        api_tests,
        readiness,
    };
    let judged = resolved.endpoint.judged_host();
    resolved.analyzer_tests = analyzer_tests
        .into_iter()
        .map(|(test, run_as, at)| {
            let host = test.host().unwrap_or_default();
            let sensor_endpoint = super::evidence::is_sensor_endpoint_host(&host)
                || (!host.is_empty() && host == judged);
            AnalyzerTest {
                test,
                host,
                sensor_endpoint,
                run_as,
                at,
            }
        })
        .collect();

    // The current user first: the service accounts are compared with it.
    let cu = gathered.remove(&Principal::CurrentUser).unwrap_or_default();
    let user = resolve_current_user(&cu, &mut resolved);
    resolved.accounts.insert(Principal::CurrentUser, user);

    for p in [
        Principal::LocalSystem,
        Principal::LocalService,
        Principal::NetworkService,
        Principal::Machine,
    ] {
        let g = gathered.remove(&p).unwrap_or_default();
        let account = resolve_account(p, &g, &resolved);
        resolved.accounts.insert(p, account);
    }
    let wh = gathered.remove(&Principal::Winhttp).unwrap_or_default();
    resolved
        .accounts
        .insert(Principal::Winhttp, resolve_winhttp(&wh));
    if let Some(sp) = &resolved.sensor_proxy {
        let eff = settings::from_sensor_proxy(&sp.url);
        let mut a = Account::new(Principal::Sensor);
        a.state = State::Configured;
        a.summary = format!("proxy {}", settings::redact(&sp.url));
        a.evidence = vec![sp.at.clone()];
        a.settings = Some(eff);
        resolved.accounts.insert(Principal::Sensor, a);
    }
    let host = resolved.endpoint.judged_host();
    let user_settings = resolved
        .accounts
        .get(&Principal::CurrentUser)
        .and_then(|a| a.settings.clone());
    let mut routes = RouteMemo::new(&host);
    for a in resolved.accounts.values_mut() {
        set_route(a, user_settings.as_ref(), &mut routes);
    }
    let supplied = options
        .pac
        .script
        .as_ref()
        .map(|f| (EvidenceRef::new(f.file.clone(), 0), f.source.clone()));
    evaluate_pac(
        &mut resolved,
        &pac_scripts,
        supplied.as_ref(),
        &host,
        evaluator,
    );
    resolved
}

/// The script an account's PAC URL (or WPAD) names: an upload with that file name (`wpad.dat`
/// for automatic detection), else the script given with `--pac`, else the only script of
/// the case.
fn script_for<'a>(
    route: &RouteKind,
    scripts: &'a [(EvidenceRef, String)],
    supplied: Option<&'a (EvidenceRef, String)>,
) -> Option<&'a (EvidenceRef, String)> {
    let base = |f: &str| {
        f.rsplit(['/', '\\', '!'])
            .next()
            .unwrap_or(f)
            .to_ascii_lowercase()
    };
    let wanted = match route {
        RouteKind::Pac { url } => {
            let path = url.split(['?', '#']).next().unwrap_or(url);
            base(path)
        }
        RouteKind::AutoDetect => "wpad.dat".to_string(),
        _ => return None,
    };
    scripts
        .iter()
        .find(|(at, _)| base(&at.file) == wanted)
        .or(supplied)
        .or(match scripts {
            [only] => Some(only),
            _ => None,
        })
}

/// Evaluates each distinct script once per URL (the endpoint's ping URL and its root) and
/// replaces the route of every account that depends on it by the first entry of the result.
fn evaluate_pac(
    resolved: &mut Resolved,
    scripts: &[(EvidenceRef, String)],
    supplied: Option<&(EvidenceRef, String)>,
    host: &str,
    evaluator: &mut Evaluator<'_>,
) {
    if scripts.is_empty() && supplied.is_none() {
        return;
    }
    // (script file, URL) -> evaluation.
    let mut cache: Vec<((String, String), crate::pac::PacEvaluation)> = Vec::new();
    for a in resolved.accounts.values_mut() {
        let Some(route) = &a.route else { continue };
        let Some((at, source)) = script_for(&route.kind, scripts, supplied) else {
            continue;
        };
        let evaluation = crate::pac::evaluate_endpoint_with(host, |req| {
            let key = (at.file.clone(), req.url.clone());
            if let Some((_, e)) = cache.iter().find(|(k, _)| *k == key) {
                return e.clone();
            }
            let e = evaluator(source, req);
            cache.push((key, e.clone()));
            e
        });
        let first = &evaluation.ping.route;
        let via = format!("the PAC script {} says {}", at.file, first.reason);
        a.route = Some(match (first.kind, &first.host, first.port) {
            (crate::pac::PacRouteKind::Proxy, Some(h), Some(p)) => Route {
                kind: RouteKind::Proxy {
                    host: h.clone(),
                    port: p,
                },
                reason: via,
                matched_bypass: None,
            },
            (crate::pac::PacRouteKind::Direct, _, _) => Route {
                kind: RouteKind::Direct,
                reason: via,
                matched_bypass: None,
            },
            // Unusable or failed: the route stays the script's, the findings say why.
            _ => route.clone(),
        });
        a.pac = Some(PacOutcome {
            script: at.clone(),
            evaluation,
        });
    }
}

fn resolve_current_user(g: &Gathered, resolved: &mut Resolved) -> Account {
    let mut a = Account::new(Principal::CurrentUser);
    a.evidence = g.evidence();
    a.truncated = g.truncated.clone();
    let chosen = pick_reference(g);
    if let Some(GatheredBlob {
        bytes,
        at,
        user,
        settings: eff,
    }) = chosen
    {
        a.state = state_of(&eff, Principal::CurrentUser);
        a.summary = eff.summary();
        a.users = user_hives(g);
        a.reference_user = user.clone();
        // Other uploads of the same hive whose settings differ: the reference is in doubt.
        for GatheredBlob {
            bytes: other,
            at: oat,
            user: ouser,
            settings: other_settings,
        } in &g.blobs
        {
            let same_hive = match (ouser, &user) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                (None, None) => true,
                _ => false,
            };
            if same_hive
                && !oat.same_place(&at)
                && oat.file != at.file
                && !compare_decoded(other_settings.decoded(other), eff.decoded(&bytes)).equivalent
            {
                resolved.user_conflicts.push((other.clone(), oat.clone()));
                a.conflict.push((oat.clone(), other_settings.summary()));
            }
        }
        if !a.conflict.is_empty() {
            a.conflict.insert(0, (at.clone(), eff.summary()));
        }
        resolved.reference_blob = Some((bytes.clone(), at));
        a.settings = Some(eff);
        a.blob = Some(bytes);
    } else if let Some((at, assumed)) = g.missing.first() {
        a.state = State::Missing;
        a.summary = "no DefaultConnectionSettings".into();
        if *assumed {
            a.assumptions.push(absent_assumption(at));
        }
    } else if let Some(eff) = g.plain_effective() {
        a.state = state_of(&eff, Principal::CurrentUser);
        a.summary = format!("{} (plain values)", eff.summary());
        a.settings = Some(eff);
    } else if !g.truncated.is_empty() {
        a.summary = "blob shown truncated; content unknown".into();
    }
    note_file_name_assumptions(&mut a);
    a
}

fn absent_assumption(at: &EvidenceRef) -> String {
    format!(
        "{at}: the export holds Internet Settings and its subkeys but no Connections key, so the value is taken as absent"
    )
}

fn note_file_name_assumptions(a: &mut Account) {
    let named: Vec<String> = a
        .evidence
        .iter()
        .filter(|e| e.attribution.is_some_and(Attribution::is_assumption))
        .map(|e| e.file.clone())
        .collect();
    for f in named {
        let line = format!(
            "{f} is taken to show {} because of its file name only",
            a.principal.label()
        );
        if !a.assumptions.contains(&line) {
            a.assumptions.push(line);
        }
    }
}

fn resolve_account(p: Principal, g: &Gathered, resolved: &Resolved) -> Account {
    let mut a = Account::new(p);
    a.evidence = g.evidence();
    a.truncated = g.truncated.clone();
    let user = resolved.accounts.get(&Principal::CurrentUser);
    let user_settings = user.and_then(|u| u.settings.as_ref());
    // The current user's reference blob (`resolved.reference_blob`) with the settings it was
    // decoded to: resolve_current_user sets both from the one blob it chooses.
    let user_blob = user.and_then(|u| Some(u.settings.as_ref()?.decoded(u.blob.as_deref()?)));

    // Each upload's comparison with the current user.
    for (at, _) in &g.missing {
        a.comparisons.push(Comparison {
            outcome: CompareOutcome::Missing,
            at: at.clone(),
        });
    }
    for GatheredBlob {
        bytes,
        at,
        settings: blob_settings,
        ..
    } in &g.blobs
    {
        let outcome = if let Some(user) = user_blob {
            let c = compare_decoded(blob_settings.decoded(bytes), user);
            if c.byte_identical {
                Some(CompareOutcome::Matches)
            } else if c.equivalent {
                Some(CompareOutcome::Equivalent)
            } else {
                Some(CompareOutcome::Differs(
                    c.differences.iter().map(|d| d.field).collect(),
                ))
            }
        } else {
            user_settings.map(|us| {
                let diff = blob_settings.differences(us);
                if diff.is_empty() {
                    CompareOutcome::Equivalent
                } else {
                    CompareOutcome::Differs(diff)
                }
            })
        };
        if let Some(outcome) = outcome {
            a.comparisons.push(Comparison {
                outcome,
                at: at.clone(),
            });
        }
    }
    if g.blobs.is_empty() {
        for (v, at) in &g.verdicts {
            a.comparisons.push(Comparison {
                outcome: match v {
                    CompareVerdict::Identical => CompareOutcome::Matches,
                    CompareVerdict::Different => CompareOutcome::Differs(Vec::new()),
                },
                at: at.clone(),
            });
        }
    }

    let service = p.is_sensor_account() || p == Principal::NetworkService;
    if service && !g.missing.is_empty() {
        // Conflicting evidence never resolves to the reassuring file: missing stands.
        a.state = State::Missing;
        a.summary = if g.blobs.is_empty() {
            "no DefaultConnectionSettings".into()
        } else {
            "no DefaultConnectionSettings (another upload shows one: see evidence-conflict)".into()
        };
        for (at, assumed) in &g.missing {
            if *assumed {
                a.assumptions.push(absent_assumption(at));
            }
        }
    } else if let Some(last) = g.blobs.last() {
        let eff = last.settings.clone();
        a.state = state_of(&eff, p);
        a.summary = eff.summary();
        a.settings = Some(eff);
        a.blob = Some(last.bytes.clone());
    } else if !g.missing.is_empty() {
        a.state = State::Missing;
        a.summary = "no DefaultConnectionSettings".into();
    } else if let Some(eff) = g.plain_effective() {
        a.state = state_of(&eff, p);
        a.summary = format!("{} (plain values)", eff.summary());
        a.settings = Some(eff);
    } else if g
        .verdicts
        .iter()
        .any(|(v, _)| *v == CompareVerdict::Identical)
    {
        // Identical under `/od`: the same settings as the current user, content not shown.
        a.identical_to_user = true;
        if let Some(u) = user.filter(|u| !u.is_unknown()) {
            a.state = u.state;
            a.settings = u.settings.clone();
            a.blob = u.blob.clone();
        }
        a.summary = "identical to the current user per reg compare (content not shown)".into();
    } else if !g.truncated.is_empty() {
        a.summary = "blob shown truncated; content unknown".into();
    }

    // Files that disagree about the account (equivalent counts as matching).
    let says = |o: &CompareOutcome| match o {
        CompareOutcome::Matches | CompareOutcome::Equivalent => {
            "the same settings as the current user"
        }
        CompareOutcome::Differs(_) => "settings different from the current user's",
        CompareOutcome::Missing => "no DefaultConnectionSettings",
    };
    let mut kinds: Vec<&str> = a.comparisons.iter().map(|c| says(&c.outcome)).collect();
    kinds.sort();
    kinds.dedup();
    let mut files: Vec<&str> = a.comparisons.iter().map(|c| c.at.file.as_str()).collect();
    files.sort();
    files.dedup();
    if kinds.len() > 1 && files.len() > 1 {
        a.conflict = a
            .comparisons
            .iter()
            .map(|c| (c.at.clone(), says(&c.outcome).to_string()))
            .collect();
    }
    note_file_name_assumptions(&mut a);
    a
}

/// WinHTTP: the last reading decides; readings that disagree are a conflict.
fn resolve_winhttp(g: &Gathered) -> Account {
    let mut a = Account::new(Principal::Winhttp);
    a.evidence = g.evidence();
    if let Some((eff, _)) = g.winhttp.last() {
        a.state = state_of(eff, Principal::Winhttp);
        a.summary = eff.summary();
        a.settings = Some(eff.clone());
    }
    let mut distinct: Vec<&Effective> = Vec::new();
    for (eff, _) in &g.winhttp {
        if !distinct.iter().any(|d| d.differences(eff).is_empty()) {
            distinct.push(eff);
        }
    }
    if distinct.len() > 1 {
        a.conflict = g
            .winhttp
            .iter()
            .map(|(eff, at)| (at.clone(), eff.summary()))
            .collect();
        // The worst reading stands: a proxy shown anywhere is not settled as direct.
        if let Some((eff, _)) = g.winhttp.iter().find(|(e, _)| e.proxy_enabled()) {
            a.state = State::Configured;
            a.summary = eff.summary();
            a.settings = Some(eff.clone());
        }
    }
    a
}

/// Picks the current user's reference: HKCU, or the user hive that has a proxy.
fn pick_reference(g: &Gathered) -> Option<GatheredBlob> {
    let with_proxy = g
        .blobs
        .iter()
        .rev()
        .find(|b| b.settings.uses_proxy_or_pac());
    let hkcu = g
        .blobs
        .iter()
        .rev()
        .find(|b| b.user.as_deref() == Some("HKEY_CURRENT_USER"));
    match (hkcu, with_proxy) {
        (Some(h), _) if h.settings.uses_proxy_or_pac() => Some(h.clone()),
        (_, Some(p)) => Some(p.clone()),
        (Some(h), None) => Some(h.clone()),
        (None, None) => g.blobs.last().cloned(),
    }
}

/// Every user hive with a blob, when there is more than one (the last blob of each wins).
fn user_hives(g: &Gathered) -> Vec<UserSettings> {
    let mut users: Vec<UserSettings> = Vec::new();
    for GatheredBlob {
        at,
        user,
        settings: eff,
        ..
    } in &g.blobs
    {
        let name = user
            .clone()
            .unwrap_or_else(|| "HKEY_CURRENT_USER".to_string());
        let state = state_of(eff, Principal::CurrentUser);
        match users
            .iter_mut()
            .find(|u| u.user.eq_ignore_ascii_case(&name))
        {
            Some(u) => {
                u.evidence.push(at.clone());
                u.state = state;
                u.summary = eff.summary();
            }
            None => users.push(UserSettings {
                user: name,
                state,
                summary: eff.summary(),
                evidence: vec![at.clone()],
            }),
        }
    }
    if users.len() > 1 {
        users
    } else {
        Vec::new()
    }
}

/// The route of an HTTPS request to the endpoint. The untouched 0x09 default of a service
/// account is direct (the contract's reading); a missing value is judged as it would be after
/// the documented copy from the current user, and flagged as such.
fn set_route(a: &mut Account, user: Option<&Effective>, routes: &mut RouteMemo) {
    let service = a.principal.is_sensor_account();
    match (&a.settings, a.state) {
        (Some(eff), _) if service && eff.is_untouched_default() => {
            a.route = Some(routes.route(&plain_direct(eff)));
        }
        (Some(eff), _) => a.route = Some(routes.route(&eff.model)),
        (None, State::Missing) if service => {
            if let Some(u) = user.filter(|u| u.uses_proxy_or_pac()) {
                a.route = Some(routes.route(&u.model));
                a.route_after_fix = true;
            } else {
                a.route =
                    Some(routes.route(&crate::proxy::EffectiveSettings::from_netsh(None, None)));
            }
        }
        _ => {}
    }
}

/// The routes of a case's HTTPS requests to the endpoint, each worked out once: its accounts
/// often hold the same settings, and a route depends only on the settings and the URL.
struct RouteMemo {
    url: String,
    known: Vec<(crate::proxy::EffectiveSettings, crate::proxy::Route)>,
}

impl RouteMemo {
    fn new(host: &str) -> RouteMemo {
        RouteMemo {
            url: format!("https://{host}/"),
            known: Vec::new(),
        }
    }

    fn route(&mut self, settings: &crate::proxy::EffectiveSettings) -> crate::proxy::Route {
        if let Some((_, r)) = self.known.iter().find(|(s, _)| s == settings) {
            return r.clone();
        }
        let r = crate::proxy::route(settings, &self.url);
        self.known.push((settings.clone(), r.clone()));
        r
    }
}

fn plain_direct(eff: &Effective) -> crate::proxy::EffectiveSettings {
    let mut m = eff.model.clone();
    m.auto_detect = false;
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::evidence::Fact;
    use crate::pac::{PacFacts, PacLimits, PacRequest};

    fn blob(flags: u32, pac: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0x46u32, 1, flags] {
            b.extend(v.to_le_bytes());
        }
        for s in ["", "", pac] {
            b.extend((s.len() as u32).to_le_bytes());
            b.extend(s.as_bytes());
        }
        b.extend([0u8; 32]);
        b
    }

    fn obs(p: Option<Principal>, fact: Fact, file: &str) -> Observation {
        Observation {
            principal: p,
            user: None,
            fact,
            at: EvidenceRef::new(file, 1),
            attribution: Attribution::Content,
        }
    }

    const SCRIPT: &str =
        "function FindProxyForURL(url, host) { return \"PROXY p.contoso.com:8080\"; }";

    /// Three accounts on the same PAC URL, one more on another script: each script runs once
    /// per URL (the ping URL and the root), not once per account.
    #[test]
    fn one_evaluation_per_script_and_url() {
        let pac = |p| {
            obs(
                Some(p),
                Fact::ConnectionBlob {
                    bytes: blob(5, "http://wpad.contoso.com/proxy.pac"),
                },
                "export.reg",
            )
        };
        let assembled = Assembled {
            name: "t".into(),
            observations: vec![
                pac(Principal::CurrentUser),
                pac(Principal::LocalSystem),
                pac(Principal::LocalService),
                obs(
                    Some(Principal::NetworkService),
                    Fact::ConnectionBlob {
                        bytes: blob(5, "http://wpad.contoso.com/other.pac"),
                    },
                    "export.reg",
                ),
                obs(
                    None,
                    Fact::PacScript {
                        source: SCRIPT.into(),
                    },
                    "up/proxy.pac",
                ),
                obs(
                    None,
                    Fact::PacScript {
                        source: SCRIPT.replace("p.contoso", "q.contoso"),
                    },
                    "up/other.pac",
                ),
            ],
            ..Assembled::default()
        };
        let mut calls: Vec<(String, String)> = Vec::new();
        let resolved = resolve_with(
            assembled,
            &ResolveOptions::default(),
            &mut |script: &str, req: &PacRequest| {
                calls.push((script.to_string(), req.url.clone()));
                crate::pac::evaluate(script, req, &PacFacts::default(), &PacLimits::default())
            },
        );
        assert_eq!(calls.len(), 4, "{calls:?}");
        let mut distinct = calls.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 4);
        for p in [
            Principal::CurrentUser,
            Principal::LocalSystem,
            Principal::LocalService,
        ] {
            let a = &resolved.accounts[&p];
            assert_eq!(
                a.pac.as_ref().map(|o| o.script.file.as_str()),
                Some("up/proxy.pac")
            );
            assert_eq!(
                a.route.as_ref().map(|r| r.kind.clone()),
                Some(RouteKind::Proxy {
                    host: "p.contoso.com".into(),
                    port: 8080
                })
            );
        }
        let ns = &resolved.accounts[&Principal::NetworkService];
        assert_eq!(
            ns.pac.as_ref().map(|o| o.script.file.as_str()),
            Some("up/other.pac")
        );
    }

    /// `--pac FILE` serves accounts whose own script is not uploaded; an upload named like
    /// the account's URL still wins.
    #[test]
    fn supplied_script_fills_in_for_missing_uploads() {
        let pac = |p, url| {
            obs(
                Some(p),
                Fact::ConnectionBlob {
                    bytes: blob(5, url),
                },
                "export.reg",
            )
        };
        let assembled = Assembled {
            name: "t".into(),
            observations: vec![
                pac(Principal::LocalSystem, "http://wpad.contoso.com/proxy.pac"),
                pac(
                    Principal::LocalService,
                    "http://wpad.contoso.com/sensor.pac",
                ),
                obs(
                    None,
                    Fact::PacScript {
                        source: SCRIPT.into(),
                    },
                    "up/proxy.pac",
                ),
            ],
            ..Assembled::default()
        };
        let options = ResolveOptions {
            pac: PacOptions {
                script: Some(crate::pac::ScriptFile {
                    file: "given/wpad.dat".into(),
                    source: SCRIPT.replace("p.contoso", "given.contoso"),
                }),
                ..PacOptions::default()
            },
            ..ResolveOptions::default()
        };
        let resolved = resolve(assembled, &options);
        let file = |p: Principal| {
            resolved.accounts[&p]
                .pac
                .as_ref()
                .map(|o| o.script.file.clone())
        };
        assert_eq!(
            file(Principal::LocalSystem).as_deref(),
            Some("up/proxy.pac")
        );
        assert_eq!(
            file(Principal::LocalService).as_deref(),
            Some("given/wpad.dat")
        );
    }
}
