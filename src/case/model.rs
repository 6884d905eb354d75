//! The analysed case as reported: principals with their state and evidence, findings, verdict.
//! Renderers read these types; they compute nothing.

use std::collections::BTreeMap;

use serde::Serialize;

use super::principals::Principal;

/// Where a statement comes from: an upload and a 1-based line (0 when the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EvidenceRef {
    pub file: String,
    pub line: u64,
}

impl EvidenceRef {
    pub fn new(file: impl Into<String>, line: u64) -> Self {
        EvidenceRef {
            file: file.into(),
            line,
        }
    }
}

impl std::fmt::Display for EvidenceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            write!(f, "{}", self.file)
        }
    }
}

/// What the evidence says about one principal's proxy settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct PrincipalReport {
    pub state: State,
    /// Decoded settings (the `decode` fields), or null.
    pub settings: Option<serde_json::Value>,
    pub evidence: Vec<EvidenceRef>,
    /// A one-line human summary (proxy, bypass, PAC) for tables.
    pub summary: String,
    /// For `current_user`: which hive was taken as the reference (HKCU or a user SID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// For `current_user`: every user hive that carries proxy settings, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserSettings>,
}

/// One user hive's proxy settings (HKCU or `HKEY_USERS\S-1-5-21-…`).
#[derive(Debug, Clone, Serialize)]
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
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One conclusion with the action to take and its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub principal: Option<Principal>,
    pub title: String,
    pub action: String,
    pub evidence: Vec<EvidenceRef>,
}

/// The overall judgement of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct CaseProbe {
    pub url: String,
    pub proxy: Option<String>,
    pub status: Option<u16>,
    pub outcome: String,
    pub error: Option<String>,
    /// Every probe run for the case's distinct routes (and principals not probed, with why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<serde_json::Value>,
}

/// One analysed case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub case: String,
    pub verdict: Verdict,
    pub principals: BTreeMap<&'static str, PrincipalReport>,
    pub findings: Vec<Finding>,
    pub probe: Option<CaseProbe>,
    /// Captures whose account could not be told (neither command, keys nor file name).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unattributed: Vec<EvidenceRef>,
    /// The inputs of this case (also listed in the top-level `inputs`).
    #[serde(skip)]
    pub inputs: Vec<InputRecord>,
}

impl CaseReport {
    /// The most severe finding's severity, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// One input file as read: its kind, its case, and why it could not be used, if so.
#[derive(Debug, Clone, Serialize)]
pub struct InputRecord {
    pub file: String,
    pub kind: String,
    pub case: String,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Parser diagnostics of severity error or warning (counted; details via `parse`).
    #[serde(skip_serializing_if = "is_zero")]
    pub diagnostics: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The whole `analyze --format json` document.
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisReport {
    pub schema_version: u32,
    pub cases: Vec<CaseReport>,
    pub inputs: Vec<InputRecord>,
}
