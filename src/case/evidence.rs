//! What each parsed upload says, as observations about accounts with file and line.
//! One adapter per artifact kind; the rules only ever see [`Observation`]s.

use crate::artifact::{Artifact, Content, HiveProxyKeys};
use crate::formats::mde_analyzer::{LegacyProxy, MdeAnalyzer, UrlTest};
use crate::formats::mdi_tools::{MdiApiTest, ReadinessServer};
use crate::formats::probe_capture::ProbeObservation;
use crate::formats::reg_compare::{CompareResult, EntryKind, RegCompareCapture, Side};
use crate::formats::reg_export::RegExport;
use crate::formats::reg_hive::AttributedBy;
use crate::formats::reg_query::RegQueryCapture;
use crate::formats::sensor_log::EventKind;
use crate::registry::keys::{key_role as classify_key, KeyRole};

use super::model::EvidenceRef;
use super::principals::{owner_of_key, principal_from_file_name, Attribution, Principal};

/// A plain value under `…\Internet Settings` (or the policy key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlainData {
    Dword(u32),
    Text(String),
}

/// How a `reg compare` ended, as far as the capture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareVerdict {
    Identical,
    Different,
}

/// One statement an upload makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// A full WinINet connection blob (`DefaultConnectionSettings`).
    ConnectionBlob { bytes: Vec<u8> },
    /// The blob was shown only cut (PowerShell table, broken hex): its content is unknown.
    TruncatedBlob,
    /// The value (or its key) is shown absent. `assumed`: read from a recursive export that
    /// holds the account's `Internet Settings` and its subkeys but no `Connections` key.
    Missing { assumed: bool },
    /// A plain Internet Settings value (`ProxyEnable`, `ProxyServer`, ...), by name.
    Plain { name: String, data: PlainData },
    /// The `ProxySettingsPerUser` policy value.
    PerUserPolicy(u32),
    /// A `WinHttpSettings` blob.
    WinHttpBlob { bytes: Vec<u8> },
    /// `netsh winhttp show proxy` as printed.
    WinHttpText {
        direct: bool,
        proxy: Option<String>,
        bypass: Option<String>,
    },
    /// A `reg compare` verdict against the current user without usable value lines
    /// (identical under `/od`, or an unparsed different).
    CompareVerdict(CompareVerdict),
    /// The sensor's own proxy (`SensorConfiguration.json`); the password is never kept.
    SensorProxy {
        url: String,
        user: Option<String>,
        password_set: bool,
    },
    /// The sensor endpoint host named by the sensor configuration.
    SensorEndpoint { host: String },
    /// The sensor endpoint host the collector script probed (its manifest).
    CollectorEndpoint { host: String },
    /// A proxy auto-config script uploaded with the case.
    PacScript { source: String },
    /// A captured answer of the reachability test (Invoke-WebRequest, curl, browser text).
    ProbeCaptured {
        status: Option<u16>,
        text: String,
        /// The URL probed, when the capture shows it.
        url: Option<String>,
    },
    /// The records of one event kind in one sensor log. The observation's `at` is the line
    /// carrying the signature in the first record; `last_line` the same in the last.
    LogEvents {
        kind: EventKind,
        count: u64,
        /// The first record's signature line around the signature.
        excerpt: String,
        first_seen: Option<String>,
        last_seen: Option<String>,
        last_line: u64,
    },
    /// A dirty binary hive read without its transaction logs (`NAME.LOG1`/`NAME.LOG2`): its
    /// newest writes may be missing.
    HiveLogsMissing,
    /// One URL the Defender for Endpoint client analyzer tested, as LOCAL SYSTEM through
    /// WinHTTP (each numbered method is one way of finding a proxy).
    AnalyzerUrl {
        test: UrlTest,
        /// `psexec` or `running-as-system` when the analyzer's header says how it ran.
        run_as: Option<String>,
    },
    /// `Test-MDISensorApiConnection`'s printed boolean (weak: see `docs/captures.md`).
    ApiTest(MdiApiTest),
    /// One server of a `Test-MdiReadiness` report: sensor version and trusted roots.
    Readiness(ReadinessServer),
    /// The `…sensorapi…` host a sensor log's failed requests were aimed at.
    LogEndpoint { host: String },
    /// An empty upload.
    CaptureEmpty,
    /// A capture whose account cannot be told.
    Unattributed,
}

/// A fact about a principal (or about the case, when `principal` is None), with its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub principal: Option<Principal>,
    /// For user hives: `HKEY_CURRENT_USER` or the `S-1-5-21-…` SID.
    pub user: Option<String>,
    pub fact: Fact,
    pub at: EvidenceRef,
    /// How `principal` was told (content unless a weaker source had to decide).
    pub attribution: Attribution,
}

impl Observation {
    /// A fact read from the content that names no account: about the case as a whole (an
    /// endpoint, log events, a PAC script, a tool's answer) or a value whose owner is unknown.
    fn about_case(fact: Fact, at: EvidenceRef) -> Observation {
        Observation {
            principal: None,
            user: None,
            fact,
            at,
            attribution: Attribution::Content,
        }
    }
}

/// Everything one artifact says.
pub fn observations(artifact: &Artifact) -> Vec<Observation> {
    let file = artifact.file.as_str();
    let mut out = Vec::new();
    if artifact
        .diagnostics
        .iter()
        .any(|d| d.code == "empty-capture")
    {
        out.push(Observation::about_case(
            Fact::CaptureEmpty,
            EvidenceRef::new(file, 0),
        ));
    }
    // A console session gives one part per section, each read as its own kind and attributed
    // by its own command; any other upload is one part.
    for part in artifact.parts() {
        content_observations(file, part.content, &mut out);
    }
    out
}

/// What one parsed content (a whole upload, or one section of a console session) says.
fn content_observations(file: &str, content: &Content, out: &mut Vec<Observation>) {
    match content {
        Content::RegExport(export) => from_reg_export(file, export, None, out),
        Content::RegHive(hive) => from_hive(file, hive, out),
        Content::SensorLog(log) => {
            let host = log
                .events
                .iter()
                .filter_map(|e| e.target.as_ref())
                .find(|t| is_sensor_endpoint_host(&t.host));
            if let Some(t) = host {
                out.push(Observation::about_case(
                    Fact::LogEndpoint {
                        host: t.host.clone(),
                    },
                    EvidenceRef::new(file, 0),
                ));
            }
            // Per kind, with the totals past the listed events' cap.
            for c in &log.event_counts {
                out.push(Observation::about_case(
                    Fact::LogEvents {
                        kind: c.kind,
                        count: c.count,
                        excerpt: c.excerpt.clone(),
                        first_seen: c.first_timestamp.clone(),
                        last_seen: c.last_timestamp.clone(),
                        last_line: c.last_signature_line,
                    },
                    EvidenceRef::new(file, c.first_signature_line),
                ));
            }
        }
        Content::SensorConfig(cfg) => {
            if let Some(p) = &cfg.proxy {
                out.push(Observation {
                    principal: Some(Principal::Sensor),
                    user: None,
                    fact: Fact::SensorProxy {
                        url: p.url.clone(),
                        user: p.user_name.clone(),
                        password_set: p.password_set,
                    },
                    at: EvidenceRef::new(file, 0),
                    attribution: Attribution::Content,
                });
            }
            if let Some(host) = &cfg.endpoint {
                out.push(Observation::about_case(
                    Fact::SensorEndpoint { host: host.clone() },
                    EvidenceRef::new(file, 0),
                ));
            }
        }
        Content::RegCompare(c) => {
            from_reg_compare(file, c, out);
            probes(file, &c.probe_observations, out);
        }
        Content::RegQuery(q) => {
            from_reg_query(file, q, out);
            probes(file, &q.probe_observations, out);
        }
        Content::Netsh(n) => {
            let v = &n.winhttp;
            if v.shown {
                out.push(Observation {
                    principal: Some(Principal::Winhttp),
                    user: None,
                    fact: Fact::WinHttpText {
                        direct: v.direct,
                        proxy: v.proxy.clone(),
                        bypass: v.bypass.clone(),
                    },
                    at: EvidenceRef::new(file, v.statement_line()),
                    attribution: Attribution::Content,
                });
            }
            probes(file, &n.probe_observations, out);
        }
        Content::ProbeCapture(p) => probes(file, &p.observations, out),
        // LEAD: the manifest attributes the other files; wired in by the evidence integration.
        Content::CollectorManifest { .. } => {}
        // Bound to the accounts that use it and evaluated when the case is resolved.
        Content::PacScript(p) => out.push(Observation::about_case(
            Fact::PacScript {
                source: p.source.clone(),
            },
            EvidenceRef::new(file, 0),
        )),
        Content::MdiProxyConfig(cfg) => {
            // Get-MDISensorProxyConfiguration: the sensor-level proxy, highest precedence.
            if let (Some(true) | None, Some(url)) = (
                cfg.is_proxy_enabled,
                cfg.url.as_ref().filter(|u| !u.trim().is_empty()),
            ) {
                out.push(Observation {
                    principal: Some(Principal::Sensor),
                    user: None,
                    fact: Fact::SensorProxy {
                        url: url.clone(),
                        user: cfg.user_name.clone(),
                        password_set: cfg.password_set,
                    },
                    at: EvidenceRef::new(file, cfg.url_line.or(cfg.line).unwrap_or(0)),
                    attribution: Attribution::Content,
                });
            }
        }
        Content::MdeAnalyzer(a) => from_mde_analyzer(file, a, out),
        // Weak evidence, reported as such by its own rule; never an account's setting.
        Content::MdiApiTest(t) => {
            if t.result.is_some() {
                out.push(Observation::about_case(
                    Fact::ApiTest(t.clone()),
                    EvidenceRef::new(file, t.line.unwrap_or(0)),
                ));
            }
        }
        Content::MdiReadiness(r) => {
            for s in &r.servers {
                out.push(Observation::about_case(
                    Fact::Readiness(s.clone()),
                    EvidenceRef::new(file, s.line.unwrap_or(0)),
                ));
            }
        }
        // Not proxy evidence (auditing settings), or no content: listed as inputs only.
        Content::ConsoleSession(_) | Content::MdiConfigReport(_) | Content::None {} => {}
    }
}

/// The Defender for Endpoint client analyzer: its connectivity tests ran as LOCAL SYSTEM
/// through WinHTTP; its PROXY SETTINGS section states legacy `ProxyServer`/`ProxyEnable`
/// values of HKLM, LOCAL SYSTEM (`S-1-5-18`, `.DEFAULT`) and the account that ran it (HKCU:
/// LOCAL SYSTEM itself when the analyzer says it ran as System), and WinHTTP's setting. Places the section does not mention say nothing (it prints a
/// line only when the value exists, and never reads `DefaultConnectionSettings`).
fn from_mde_analyzer(file: &str, a: &MdeAnalyzer, out: &mut Vec<Observation>) {
    for test in &a.urls {
        out.push(Observation {
            principal: Some(Principal::LocalSystem),
            user: None,
            fact: Fact::AnalyzerUrl {
                test: test.clone(),
                run_as: a.run_as.clone(),
            },
            at: EvidenceRef::new(file, test.line),
            attribution: Attribution::Content,
        });
    }
    let Some(ps) = &a.proxy_settings else { return };
    // Run as SYSTEM (not through PsExec from an administrator's session), the script's HKCU
    // is LOCAL SYSTEM's own hive.
    let (hkcu, hkcu_user) = if a.run_as.as_deref() == Some("running-as-system") {
        (Principal::LocalSystem, None)
    } else {
        (Principal::CurrentUser, Some("HKEY_CURRENT_USER"))
    };
    let places = [
        (&ps.machine, Principal::Machine, None),
        (&ps.local_system, Principal::LocalSystem, None),
        (&ps.default_user, Principal::LocalSystem, None),
        (&ps.current_user, hkcu, hkcu_user),
    ];
    for (place, principal, user) in places {
        let Some(LegacyProxy {
            proxy_server,
            proxy_enable,
            line,
        }) = place
        else {
            continue;
        };
        let mut push = |fact: Fact| {
            out.push(Observation {
                principal: Some(principal),
                user: user.map(str::to_string),
                fact,
                at: EvidenceRef::new(file, *line),
                attribution: Attribution::Content,
            })
        };
        push(Fact::Plain {
            name: "ProxyServer".into(),
            data: PlainData::Text(proxy_server.clone()),
        });
        if let Some(v) = proxy_enable
            .as_deref()
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            push(Fact::Plain {
                name: "ProxyEnable".into(),
                data: PlainData::Dword(v),
            });
        }
    }
    if let Some(w) = ps.winhttp.as_ref().filter(|w| w.shown) {
        out.push(Observation {
            principal: Some(Principal::Winhttp),
            user: None,
            fact: Fact::WinHttpText {
                direct: w.direct,
                proxy: w.proxy.clone(),
                bypass: w.bypass.clone(),
            },
            at: EvidenceRef::new(file, w.statement_line()),
            attribution: Attribution::Content,
        });
    }
}

/// A `<workspace>sensorapi.atp.azure.com`-style host (any cloud: `.atp.azure.us`, GCC).
pub fn is_sensor_endpoint_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h.contains("sensorapi.") && (h.ends_with(".atp.azure.com") || h.ends_with(".atp.azure.us"))
}

const PLAIN_NAMES: [&str; 5] = [
    "ProxyEnable",
    "ProxyServer",
    "ProxyOverride",
    "AutoConfigURL",
    "AutoDetect",
];

/// A registry value as a plain datum, by its type.
pub fn plain_data(value_type: crate::registry::ValueType, bytes: &[u8]) -> Option<PlainData> {
    use crate::registry::{utf16le_to_string, ValueType};
    match value_type {
        ValueType::DWORD => {
            let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
            Some(PlainData::Dword(u32::from_le_bytes(b)))
        }
        ValueType::SZ | ValueType::EXPAND_SZ => Some(PlainData::Text(utf16le_to_string(bytes))),
        _ => None,
    }
}

/// Turns one value of a proxy-relevant key into a fact (shared by exports and `reg query`).
pub fn value_fact(
    key_path: &str,
    name: &str,
    value_type: crate::registry::ValueType,
    bytes: &[u8],
) -> Option<(Principal, Option<String>, Fact)> {
    let owner = owner_of_key(key_path)?;
    match classify_key(key_path) {
        KeyRole::Connections => {
            if name.eq_ignore_ascii_case("WinHttpSettings") {
                Some((
                    Principal::Winhttp,
                    None,
                    Fact::WinHttpBlob {
                        bytes: bytes.to_vec(),
                    },
                ))
            } else if name.eq_ignore_ascii_case("DefaultConnectionSettings") {
                Some((
                    owner.principal,
                    owner.user,
                    Fact::ConnectionBlob {
                        bytes: bytes.to_vec(),
                    },
                ))
            } else {
                None
            }
        }
        KeyRole::InternetSettings => {
            let canonical = PLAIN_NAMES.iter().find(|n| n.eq_ignore_ascii_case(name))?;
            let data = plain_data(value_type, bytes)?;
            Some((
                owner.principal,
                owner.user,
                Fact::Plain {
                    name: (*canonical).to_string(),
                    data,
                },
            ))
        }
        KeyRole::Policy if name.eq_ignore_ascii_case("ProxySettingsPerUser") => {
            match plain_data(value_type, bytes)? {
                PlainData::Dword(v) => Some((Principal::Machine, None, Fact::PerUserPolicy(v))),
                PlainData::Text(_) => None,
            }
        }
        _ => None,
    }
}

/// The path of `path` below `root` (`HKEY_USERS\S-1-5-19`), as the hive itself spells it.
fn below_root<'a>(root: &str, path: &'a str) -> &'a str {
    path.get(..root.len())
        .filter(|head| head.eq_ignore_ascii_case(root))
        .and_then(|_| path.get(root.len()..))
        .map_or(path, |rest| rest.trim_start_matches('\\'))
}

/// A binary hive: its proxy keys read like an export, each piece of evidence citing the hive
/// and the key path, attributed as the hive was (collection path, embedded name, file name).
/// Stale copies are never evidence; an unattributed hive holding a blob is reported as such.
fn from_hive(file: &str, hive: &HiveProxyKeys, out: &mut Vec<Observation>) {
    if hive.mount.stale.is_some() {
        return;
    }
    let Some(account) = &hive.mount.account else {
        for key in &hive.export.keys {
            if key.values.iter().any(|v| v.name.eq_ignore_ascii_case(DCS)) {
                out.push(Observation::about_case(
                    Fact::Unattributed,
                    EvidenceRef::new(file, 0).in_key(key.path.clone()),
                ));
            }
        }
        return;
    };
    let attribution = match hive.mount.attribution {
        Some(AttributedBy::Path) => Attribution::Path,
        Some(AttributedBy::FileName) => Attribution::FileName,
        // The name Windows wrote into the hive is the hive's own content.
        Some(AttributedBy::EmbeddedName) | None => Attribution::Content,
    };
    let root = account.root_path();
    let start = out.len();
    from_reg_export(file, &hive.export, Some(&root), out);
    // A hive holds every key: an absent Connections key is the value absent, not unknown.
    let principal = Principal::from_key(account.principal());
    for rel in &hive.missing_keys {
        let full = format!("{root}\\{rel}");
        if classify_key(&full) != KeyRole::Connections {
            continue;
        }
        let at = EvidenceRef::new(file, 0).in_key(rel.clone());
        out.extend(missing_value(&full, false, at, attribution));
    }
    if hive.dirty_without_logs {
        out.push(Observation {
            principal,
            user: None,
            fact: Fact::HiveLogsMissing,
            at: EvidenceRef::new(file, 0),
            attribution,
        });
    }
    for o in out.iter_mut().skip(start) {
        o.attribution = attribution;
    }
}

fn from_reg_export(
    file: &str,
    export: &RegExport,
    hive_root: Option<&str>,
    out: &mut Vec<Observation>,
) {
    // In a hive, evidence cites the key (hives have no lines).
    let at = |path: &str, line: u64| {
        let r = EvidenceRef::new(file, line);
        match hive_root {
            Some(root) => r.in_key(below_root(root, path)),
            None => r,
        }
    };
    // Keys covering `…\Connections`, and whether DefaultConnectionSettings was set in any of them.
    let mut connections: Vec<(String, u64, bool)> = Vec::new();
    for key in &export.keys {
        if key.delete {
            continue;
        }
        let role = classify_key(&key.path);
        if role == KeyRole::Connections {
            let has = key
                .values
                .iter()
                .any(|v| !v.delete && v.name.eq_ignore_ascii_case("DefaultConnectionSettings"));
            match connections
                .iter_mut()
                .find(|(p, _, _)| p.eq_ignore_ascii_case(&key.path))
            {
                Some(entry) => entry.2 |= has,
                None => connections.push((key.path.clone(), key.line, has)),
            }
        }
        for v in &key.values {
            let Some(bytes) = v.bytes.as_deref() else {
                continue;
            };
            if v.delete {
                continue;
            }
            if let Some((principal, user, fact)) =
                value_fact(&key.path, &v.name, v.value_type, bytes)
            {
                out.push(Observation {
                    principal: Some(principal),
                    user,
                    fact,
                    at: at(&key.path, v.line),
                    attribution: Attribution::Content,
                });
            }
        }
    }
    // A recursive export of an account's `Internet Settings` with subkeys but no `Connections`
    // shows the value absent (regedit and `reg export` always include subkeys).
    for (path, line) in settings_keys_without_connections(export) {
        out.extend(missing_value(
            &path,
            true,
            at(&path, line),
            Attribution::Content,
        ));
    }
    for (path, line, has) in connections {
        if has {
            continue;
        }
        let place = at(&path, line);
        let Some(owner) = owner_of_key(&path) else {
            continue;
        };
        // A machine key without a blob is normal; for accounts it is the documented "no proxy".
        if owner.principal == Principal::Machine {
            continue;
        }
        out.push(Observation {
            principal: Some(owner.principal),
            user: owner.user,
            fact: Fact::Missing { assumed: false },
            at: place,
            attribution: Attribution::Content,
        });
    }
}

const DCS: &str = "DefaultConnectionSettings";

/// `Internet Settings` keys (not the policy key) that the export shows with at least one
/// subkey but without a `Connections` subkey: one pass, keyed by the lowercased path.
fn settings_keys_without_connections(export: &RegExport) -> Vec<(String, u64)> {
    const MARK: &str = "\\internet settings";
    // lowercased path -> (path as written, line, any subkey, Connections seen)
    let mut seen: std::collections::HashMap<String, (String, u64, bool, bool)> =
        std::collections::HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for key in export.keys.iter().filter(|k| !k.delete) {
        let lower = key.path.to_ascii_lowercase();
        let Some(i) = lower.find(MARK) else { continue };
        let end = i + MARK.len();
        let (Some(parent), Some(rest)) = (lower.get(..end), lower.get(end..)) else {
            continue;
        };
        if parent.contains("\\policies\\") {
            continue;
        }
        let entry = seen.entry(parent.to_string()).or_insert_with(|| {
            order.push(parent.to_string());
            (
                key.path.get(..end).unwrap_or("").to_string(),
                0,
                false,
                false,
            )
        });
        if rest.is_empty() {
            entry.1 = key.line;
        } else if rest.starts_with('\\') {
            entry.2 = true;
            entry.3 |= rest == "\\connections" || rest.starts_with("\\connections\\");
        }
    }
    order
        .into_iter()
        .filter_map(|k| seen.remove(&k))
        .filter(|(_, line, sub, conn)| *line > 0 && *sub && !*conn)
        .map(|(path, line, _, _)| (path, line))
        .collect()
}

/// Records `fact` for the account, or, when the capture does not say which account it is
/// about, an unattributed observation (never a guess).
fn attribute(
    out: &mut Vec<Observation>,
    principal: Option<(Principal, Attribution)>,
    fact: Fact,
    at: EvidenceRef,
) {
    let (principal, fact, attribution) = match principal {
        Some((p, how)) => (Some(p), fact, how),
        // Kept with its fact: a collector manifest may still tell the account.
        None => (None, fact, Attribution::Content),
    };
    out.push(Observation {
        principal,
        user: None,
        fact,
        at,
        attribution,
    });
}

/// `DefaultConnectionSettings` shown absent under the Connections key `path` of an account
/// (never the machine's: HKLM holds no per-user value).
fn missing_value(
    path: &str,
    assumed: bool,
    at: EvidenceRef,
    attribution: Attribution,
) -> Option<Observation> {
    let owner = owner_of_key(path).filter(|o| o.principal != Principal::Machine)?;
    Some(Observation {
        principal: Some(owner.principal),
        user: owner.user,
        fact: Fact::Missing { assumed },
        at,
        attribution,
    })
}

/// The account named by whole tokens of the file name: an assumption, marked as such.
fn by_file_name(file: &str) -> Option<(Principal, Attribution)> {
    principal_from_file_name(file).map(|p| (p, Attribution::FileName))
}

fn probes(file: &str, observations: &[ProbeObservation], out: &mut Vec<Observation>) {
    for o in observations {
        out.push(Observation::about_case(
            Fact::ProbeCaptured {
                status: o.status,
                text: o.text.clone(),
                url: o.url.clone(),
            },
            EvidenceRef::new(file, o.line),
        ));
    }
}

/// The service account side of a comparison (the side that is not the current user).
fn service_side(left: Option<&str>, right: Option<&str>) -> Option<Principal> {
    let owner = |k: Option<&str>| k.and_then(owner_of_key).map(|o| o.principal);
    match (owner(left), owner(right)) {
        (_, Some(p)) if p != Principal::CurrentUser => Some(p),
        (Some(p), _) if p != Principal::CurrentUser => Some(p),
        _ => None,
    }
}

fn from_reg_compare(file: &str, capture: &RegCompareCapture, out: &mut Vec<Observation>) {
    for c in &capture.comparisons {
        if c.value
            .as_deref()
            .is_some_and(|v| !v.eq_ignore_ascii_case(DCS))
        {
            continue;
        }
        let values: Vec<_> = c
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Value && e.name.eq_ignore_ascii_case(DCS))
            .collect();
        let side = service_side(c.left.as_deref(), c.right.as_deref())
            .or_else(|| {
                values
                    .iter()
                    .filter_map(|e| owner_of_key(&e.key))
                    .map(|o| o.principal)
                    .find(|p| *p != Principal::CurrentUser)
            })
            .map(|p| (p, Attribution::Content))
            .or_else(|| by_file_name(file));
        let at = EvidenceRef::new(file, c.line.max(1));
        for e in &values {
            let Some(owner) = owner_of_key(&e.key) else {
                continue;
            };
            let fact = if e.truncated {
                Fact::TruncatedBlob
            } else {
                Fact::ConnectionBlob {
                    bytes: e.bytes.clone(),
                }
            };
            out.push(Observation {
                principal: Some(owner.principal),
                user: owner.user.clone(),
                fact,
                at: EvidenceRef::new(file, e.line),
                attribution: Attribution::Content,
            });
            // `=` lines print one side: the other side holds the same bytes.
            if e.side == Side::Both && owner.principal == Principal::CurrentUser {
                if let Some((p, how)) = side {
                    out.push(Observation {
                        principal: Some(p),
                        user: None,
                        fact: Fact::ConnectionBlob {
                            bytes: e.bytes.clone(),
                        },
                        at: EvidenceRef::new(file, e.line),
                        attribution: how,
                    });
                }
            }
        }
        let verdict = match c.result {
            Some(CompareResult::Missing) => {
                attribute(out, side, Fact::Missing { assumed: false }, at);
                continue;
            }
            Some(CompareResult::Identical) => CompareVerdict::Identical,
            Some(CompareResult::Different) => CompareVerdict::Different,
            _ => continue,
        };
        if values.iter().any(|e| !e.truncated) {
            continue;
        }
        attribute(out, side, Fact::CompareVerdict(verdict), at);
    }
}

/// The first registry path named in an echoed command (`reg query "HKU\S-1-5-18\..." /v ...`).
fn key_in_command(command: &str) -> Option<String> {
    let lower = command.to_ascii_lowercase();
    let start = ["\"hk", " hk", "registry::hk"]
        .iter()
        .filter_map(|p| lower.find(p).map(|i| i + p.len() - 2))
        .min()?;
    let rest = command.get(start..)?;
    let end = rest
        .find(['"', '\''])
        .unwrap_or_else(|| rest.find(" /").unwrap_or(rest.len()));
    Some(rest.get(..end)?.trim().to_string())
}

fn from_reg_query(file: &str, capture: &RegQueryCapture, out: &mut Vec<Observation>) {
    let commanded = capture
        .commands
        .iter()
        .find_map(|c| key_in_command(&c.command).map(|k| (k, c.line)));
    for key in &capture.keys {
        if key.listed_only {
            continue;
        }
        let path = if key.path.is_empty() {
            commanded.as_ref().map(|c| c.0.clone()).unwrap_or_default()
        } else {
            key.path.clone()
        };
        let owner = owner_of_key(&path);
        let mut has_dcs = false;
        for v in &key.values {
            let is_dcs = v.name.eq_ignore_ascii_case(DCS);
            has_dcs |= is_dcs;
            let at = EvidenceRef::new(file, v.line);
            if v.truncated {
                let who = owner
                    .as_ref()
                    .map(|o| (o.principal, Attribution::Content))
                    .or_else(|| by_file_name(file));
                out.push(Observation {
                    principal: who.map(|w| w.0),
                    user: owner.as_ref().and_then(|o| o.user.clone()),
                    fact: Fact::TruncatedBlob,
                    at,
                    attribution: who.map_or(Attribution::Content, |w| w.1),
                });
                continue;
            }
            let Some(bytes) = v.bytes.as_deref() else {
                continue;
            };
            if let Some((principal, user, fact)) = value_fact(&path, &v.name, v.value_type, bytes) {
                out.push(Observation {
                    principal: Some(principal),
                    user,
                    fact,
                    at,
                    attribution: Attribution::Content,
                });
            } else if is_dcs && owner.is_none() {
                out.push(Observation::about_case(Fact::Unattributed, at));
            }
        }
        // An empty listing shows the value absent only when the echoed command listed every
        // value of this very key (`reg query KEY`, no `/v`, `/ve` or `/f` filter).
        let lists_all_values = key.values.is_empty()
            && capture.commands.iter().any(|c| {
                let lower = c.command.to_ascii_lowercase();
                crate::detect::command_kind(&c.command) == Some(crate::detect::Kind::RegQuery)
                    && !lower.contains(" /v")
                    && !lower.contains(" /f")
                    && key_in_command(&c.command)
                        .and_then(|k| crate::formats::reg_skim::normalize_key_path(&k))
                        .is_some_and(|k| k.eq_ignore_ascii_case(&path))
            });
        if !has_dcs
            && classify_key(&path) == KeyRole::Connections
            && (!key.values.is_empty() || lists_all_values)
        {
            out.extend(missing_value(
                &path,
                false,
                EvidenceRef::new(file, key.line),
                Attribution::Content,
            ));
        }
    }
    if capture.error_kind == Some(crate::formats::reg_compare::ErrorKind::NotFound) {
        let line = commanded.as_ref().map_or(1, |c| c.1);
        let principal = commanded
            .as_ref()
            .and_then(|c| owner_of_key(&c.0))
            .map(|o| (o.principal, Attribution::Content))
            .or_else(|| by_file_name(file));
        let at = EvidenceRef::new(file, line);
        attribute(out, principal, Fact::Missing { assumed: false }, at);
    }
}
