//! The analysed case as reported: principals with their state and evidence, findings, verdict.
//! Renderers read these types; they compute nothing.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::findings::FindingId;
use super::principals::{Attribution, Principal};
use crate::probe::ProbeOutcome;

/// Where a statement comes from: an upload and a 1-based line (none when the file as a
/// whole speaks) or, in a binary hive, the key path; how its account was told; or a probe run
/// from this machine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvidenceRef {
    pub file: String,
    pub line: Option<u64>,
    /// In a binary registry hive (which has no lines): the key, relative to the hive's root.
    pub key: Option<String>,
    /// How the account this evidence speaks of was told (null for case-wide evidence).
    pub attribution: Option<Attribution>,
    /// A probe run from this machine (`direct` or `proxy host:port`) instead of a file.
    pub probe: Option<String>,
}

impl EvidenceRef {
    /// A file and a 1-based line; 0 means the file as a whole.
    pub fn new(file: impl Into<String>, line: u64) -> Self {
        EvidenceRef {
            file: file.into(),
            line: (line > 0).then_some(line),
            key: None,
            attribution: None,
            probe: None,
        }
    }

    /// The same evidence, tied to its account this way.
    pub fn attributed(mut self, how: Attribution) -> Self {
        self.attribution = Some(how);
        self
    }

    /// The same file, at this key of a binary hive (path relative to the hive's root).
    pub fn in_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// A probe run from this machine through `route`.
    pub fn probe_here(route: impl Into<String>) -> Self {
        EvidenceRef {
            file: String::new(),
            line: None,
            key: None,
            attribution: None,
            probe: Some(route.into()),
        }
    }

    /// The same place, whatever the attribution (for grouping).
    pub fn same_place(&self, other: &EvidenceRef) -> bool {
        self.file == other.file
            && self.line == other.line
            && self.key == other.key
            && self.probe == other.probe
    }
}

impl Serialize for EvidenceRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if let Some(route) = &self.probe {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("probe", route)?;
            return m.end();
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("file", &self.file)?;
        m.serialize_entry("line", &self.line)?;
        if let Some(k) = &self.key {
            m.serialize_entry("key", k)?;
        }
        if let Some(a) = self.attribution {
            m.serialize_entry("attribution", &a)?;
        }
        m.end()
    }
}

/// Either `{ "probe": route }` or `{ "file", "line", "attribution"? }`, as `Serialize` writes.
impl JsonSchema for EvidenceRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EvidenceRef".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let attribution = generator.subschema_for::<Attribution>();
        schemars::json_schema!({
            "oneOf": [
                {
                    "description": "A probe run from this machine.",
                    "type": "object",
                    "properties": { "probe": { "type": "string" } },
                    "required": ["probe"],
                    "additionalProperties": false
                },
                {
                    "description": "An upload and a 1-based line (null: the file as a whole); in a binary hive, the key path.",
                    "type": "object",
                    "properties": {
                        "file": { "type": "string" },
                        "line": { "type": ["integer", "null"], "minimum": 1 },
                        "key": { "type": "string" },
                        "attribution": attribution
                    },
                    "required": ["file", "line"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl std::fmt::Display for EvidenceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.probe, self.line) {
            (Some(route), _) => write!(f, "probe from here via {route}"),
            (None, Some(line)) => write!(f, "{}:{}", self.file, line),
            (None, None) => write!(f, "{}", self.file),
        }?;
        match &self.key {
            Some(k) if self.probe.is_none() => write!(f, " [{k}]"),
            _ => Ok(()),
        }
    }
}

/// What the evidence says about one principal's proxy settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// A proxy or PAC URL is enabled (or only auto-detect, for the current user).
    Configured,
    /// No proxy and no PAC URL enabled.
    Direct,
    /// The value or its key is shown to be absent.
    Missing,
    /// Nothing was learned.
    Unknown,
}

/// One principal's state, settings and the evidence behind them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PrincipalReport {
    pub state: State,
    /// Decoded settings (the `decode` fields), or null.
    pub settings: Option<crate::case::settings::ReportSettings>,
    pub evidence: Vec<EvidenceRef>,
    /// A one-line human summary (proxy, bypass, PAC) for tables.
    pub summary: String,
    /// For `current_user`: which hive was taken as the reference (HKCU or a user SID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// For `current_user`: every user hive that carries proxy settings, when there are several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserSettings>,
    /// What the state rests on that the evidence does not show outright (file-name
    /// attribution, absence read from a recursive export).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
    /// The PAC script the account's route depends on, evaluated for the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pac: Option<PacReport>,
}

/// A PAC script evaluated for the sensor's ping URL, as one account uses it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PacReport {
    /// The script: an upload of the case, or the file given with `--pac`.
    pub script: String,
    /// The URL the script was called with (`https://<endpoint>/tri/sensor/api/ping`).
    pub url: String,
    /// `FindProxyForURLEx` or `FindProxyForURL` (null when the script failed to load).
    pub entry_point: Option<String>,
    /// The exact string returned (null when the script failed).
    pub result: Option<String>,
    /// How the sensor uses the first entry.
    pub route: crate::pac::PacRouteKind,
    /// `host:port` of the first entry when it is a proxy.
    pub proxy: Option<String>,
    /// Why the script failed (kind and message), when it did.
    pub error: Option<String>,
    /// Defaults the answer relied on because no fact was given (`myIpAddress`,
    /// `dnsResolve:NAME`, `clock`).
    pub depends_on: Vec<String>,
    /// Facts of the command line the answer relied on (`myIpAddress=IP`,
    /// `dnsResolve:NAME=IP`, `dnsResolve:NAME=unresolvable`, `clock=RFC3339`).
    pub facts_used: Vec<String>,
    /// `https://<endpoint>/` gets another route (the script looks at the URL's path).
    pub routes_differ: bool,
}

/// One user hive's proxy settings (HKCU or `HKEY_USERS\S-1-5-21-…`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UserSettings {
    pub user: String,
    pub state: State,
    pub summary: String,
    pub evidence: Vec<EvidenceRef>,
}

impl PrincipalReport {
    pub fn unknown() -> Self {
        PrincipalReport {
            state: State::Unknown,
            settings: None,
            evidence: Vec::new(),
            summary: String::new(),
            reference: None,
            users: Vec::new(),
            assumptions: Vec::new(),
            pac: None,
        }
    }
}

pub use crate::diag::Severity;

/// One conclusion with the action to take and its evidence.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub principal: Option<Principal>,
    pub title: String,
    pub action: String,
    pub evidence: Vec<EvidenceRef>,
    /// The customer's own words behind the finding (a log line), escaped when shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// The overall judgement of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    Misconfigured,
    Inconclusive,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Misconfigured => "misconfigured",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The reachability probe attached to a case (re-run, or the best captured one).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CaseProbe {
    pub url: String,
    pub proxy: Option<String>,
    pub status: Option<u16>,
    pub outcome: ProbeOutcome,
    pub error: Option<String>,
    /// Where it ran: `customer` (captured, or vouched with `--on-customer-network`) or `here`.
    pub ran: ProbeSite,
    /// Every probe run for the case's distinct routes (and principals not probed, with why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<ProbeEvidence>,
}

/// Whose network a probe shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeSite {
    /// Captured on the customer's side, or run here with `--on-customer-network`.
    Customer,
    /// Run from the engineer's machine: says nothing about the customer's network.
    Here,
}

/// One probe run of `analyze --probe`, as the rules and the report see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProbeEvidence {
    /// `direct` or `proxy host:port`.
    pub route: String,
    pub principals: Vec<Principal>,
    pub url: String,
    pub proxy: Option<String>,
    pub status: Option<u16>,
    /// Null when the route was not probed (PAC, WPAD).
    pub outcome: Option<ProbeOutcome>,
    pub error: Option<String>,
    pub not_probed: Option<String>,
    pub elapsed_ms: Option<u64>,
    /// Whose network the run shows.
    pub site: ProbeSite,
}

/// The sensor endpoint host a case is judged against, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Endpoint {
    pub host: String,
    pub source: EndpointSource,
}

/// Where the endpoint host was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointSource {
    /// `--endpoint` / `--workspace`.
    Flag,
    /// `SensorConfiguration.json`.
    SensorConfig,
    /// The collector's manifest.
    Manifest,
    /// A host named in the sensor logs.
    SensorLog,
    /// Nothing named it: `<workspace>sensorapi.atp.azure.com`.
    Default,
}

/// The placeholder host judged when no upload names the workspace.
pub const DEFAULT_ENDPOINT_HOST: &str = "<workspace>sensorapi.atp.azure.com";

impl Endpoint {
    /// The host to match bypass lists against (the placeholder made a valid name).
    pub fn judged_host(&self) -> String {
        self.host.replace(['<', '>'], "")
    }

    /// The current documented verification URL on this host.
    pub fn ping_url(&self) -> String {
        format!("https://{}/tri/sensor/api/ping", self.host)
    }
}

/// Something to ask the customer for, with the exact command they run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Need {
    pub principal: Option<Principal>,
    /// True when no verdict is possible without it.
    pub blocking: bool,
    pub what: String,
    pub why: String,
    pub command: Option<String>,
}

/// One analysed case.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CaseReport {
    pub case: String,
    pub verdict: Verdict,
    /// One line: the verdict, the main reason, the endpoint judged.
    pub summary: String,
    pub endpoint: Endpoint,
    pub principals: BTreeMap<Principal, PrincipalReport>,
    pub findings: Vec<Finding>,
    pub needs: Vec<Need>,
    pub probe: Option<CaseProbe>,
    /// Captures whose account could not be told (neither command, keys nor file name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unattributed: Vec<EvidenceRef>,
    /// The inputs of this case (also listed in the top-level `inputs`).
    pub inputs: Vec<InputRecord>,
}

impl CaseReport {
    /// The most severe finding's severity, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// One diagnostic of an input, as listed in `inputs[]`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub line: Option<u64>,
}

/// Diagnostics listed per input in reports; the rest are counted.
pub const MAX_INPUT_DIAGNOSTICS: usize = 20;

/// One input file as read: its kind, its case, and why it could not be used, if so.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputRecord {
    pub file: String,
    pub case: String,
    pub kind: String,
    pub error: Option<String>,
    /// Why the file was read but not used as evidence (the tool's own files, ...).
    pub ignored: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    pub diagnostics: Vec<InputDiagnostic>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub diagnostics_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The whole `analyze --format json` document.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AnalysisReport {
    pub schema_version: u32,
    pub cases: Vec<CaseReport>,
    pub inputs: Vec<InputRecord>,
}
