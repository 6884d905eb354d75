//! What each parsed upload says, as observations about accounts with file and line.
//! One adapter per artifact kind; the rules only ever see [`Observation`]s.

use crate::artifact::{Artifact, Content};
use crate::formats::reg_export::RegExport;

use super::model::EvidenceRef;
use super::principals::{owner_of_key, principal_from_file_name, Principal};

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
    TruncatedBlob { detail: String },
    /// The value (or its key) is shown absent.
    Missing { how: String },
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
    /// A `reg compare` verdict without usable value lines (identical under `/od`, or an
    /// unparsed different). `against` is the other side (normally the current user).
    CompareVerdict {
        result: CompareVerdict,
        against: Option<Principal>,
    },
    /// The sensor's own proxy (`SensorConfiguration.json`); the password is never kept.
    SensorProxy {
        url: String,
        user: Option<String>,
        password_set: bool,
    },
    /// The workspace name, when the sensor configuration names it.
    Workspace(String),
    /// A captured answer of the 503 test (Invoke-WebRequest, curl, browser text).
    ProbeCaptured { status: Option<u16>, text: String },
    /// A sensor log event.
    LogEvent {
        finding_id: String,
        proxy_problem: bool,
        message: String,
    },
    /// An empty upload.
    CaptureEmpty,
    /// A capture whose account cannot be told.
    Unattributed { what: String },
}

/// A fact about a principal (or about the case, when `principal` is None), with its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub principal: Option<Principal>,
    /// For user hives: `HKEY_CURRENT_USER` or the `S-1-5-21-…` SID.
    pub user: Option<String>,
    pub fact: Fact,
    pub at: EvidenceRef,
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
        out.push(Observation {
            principal: None,
            user: None,
            fact: Fact::CaptureEmpty,
            at: EvidenceRef::new(file, 0),
        });
    }
    match &artifact.content {
        Content::RegExport(export) => from_reg_export(file, export, &mut out),
        Content::SensorLog(log) => {
            for e in &log.events {
                out.push(Observation {
                    principal: None,
                    user: None,
                    fact: Fact::LogEvent {
                        finding_id: e.kind.finding_id().to_string(),
                        proxy_problem: e.kind.is_proxy_problem(),
                        message: e.message.clone(),
                    },
                    at: EvidenceRef::new(file, e.line),
                });
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
                });
            }
            if let Some(w) = &cfg.workspace {
                out.push(Observation {
                    principal: None,
                    user: None,
                    fact: Fact::Workspace(w.clone()),
                    at: EvidenceRef::new(file, 0),
                });
            }
        }
        Content::RegCompare(_) | Content::RegQuery(_) | Content::Netsh(_) | Content::ProbeCapture(_) => {}
        Content::None {} => {}
    }
    out
}

/// Which of the two keys the proxy lives under.
fn classify_key(path: &str) -> KeyRole {
    let lower = path.to_ascii_lowercase();
    if lower.contains("\\policies\\microsoft\\windows\\currentversion\\internet settings") {
        KeyRole::Policy
    } else if lower.ends_with("\\internet settings\\connections") {
        KeyRole::Connections
    } else if lower.ends_with("\\internet settings") {
        KeyRole::InternetSettings
    } else {
        KeyRole::Other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyRole {
    Connections,
    InternetSettings,
    Policy,
    Other,
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

fn from_reg_export(file: &str, export: &RegExport, out: &mut Vec<Observation>) {
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
                    at: EvidenceRef::new(file, v.line),
                });
            }
        }
    }
    for (path, line, has) in connections {
        if has {
            continue;
        }
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
            fact: Fact::Missing {
                how: "the export covers the Connections key without DefaultConnectionSettings"
                    .to_string(),
            },
            at: EvidenceRef::new(file, line),
        });
    }
}

/// The principal a capture without keys speaks of, from its file name; None = unknown account.
pub fn fallback_principal(file: &str) -> Option<Principal> {
    principal_from_file_name(file)
}
