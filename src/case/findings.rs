//! The one list of finding ids: the contract's, plus the documented additions. Serialised to
//! the same kebab-case strings the JSON has always carried; renderers and `fix` match on the
//! enum, never on text.

use serde::{Serialize, Serializer};

use crate::formats::sensor_log::EventKind;

use super::model::Severity;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingId {
    /// The sensor has its own proxy (`SensorConfiguration.json`).
    SensorProxyConfigured,
    ProxyMissing,
    ProxyDiffers,
    ProxyEquivalent,
    ProxyMatches,
    HttpsNotProxied,
    EndpointBypassed,
    PacOnly,
    PacEvaluated,
    PacDirect,
    PacError,
    PacUnusable,
    MachineWidePolicy,
    WinhttpMismatch,
    CaptureEmpty,
    CaptureTruncated,
    CaptureUnattributed,
    ProbeFailed,
    ProbeOk,
    /// A probe run from the engineer's machine: never changes the verdict.
    ProbeHereOk,
    ProbeHereFailed,
    ProbeNotRun,
    EvidenceConflict,
    /// The Defender for Endpoint client analyzer (LOCAL SYSTEM, WinHTTP) could not reach the
    /// sensor endpoint by any method.
    MdeSensorUrlFailed,
    /// The analyzer reached the sensor endpoint.
    MdeSensorUrlOk,
    /// The analyzer could not reach some of Defender for Endpoint's own URLs.
    MdeUrlsFailed,
    /// The analyzer reached every Defender for Endpoint URL it tested.
    MdeUrlsOk,
    /// `Test-MDISensorApiConnection` printed True (weak evidence).
    MdiApiTestTrue,
    /// `Test-MDISensorApiConnection` printed False (ambiguous).
    MdiApiTestFalse,
    /// A server of a readiness report lacks the trusted root the service's certificate needs.
    RootCertMissing,
    /// The readiness report lists the required trusted root for a server.
    RootCertPresent,
    /// The sensor version(s) a readiness report shows.
    SensorVersion,
    /// Evidence from the sensor logs, one id per event kind.
    Log(EventKind),
}

impl FindingId {
    /// Every id that is not a log event, in report order within a severity.
    pub const ACCOUNT_IDS: [FindingId; 32] = [
        FindingId::SensorProxyConfigured,
        FindingId::ProxyMissing,
        FindingId::ProxyDiffers,
        FindingId::ProxyEquivalent,
        FindingId::ProxyMatches,
        FindingId::HttpsNotProxied,
        FindingId::EndpointBypassed,
        FindingId::PacOnly,
        FindingId::PacEvaluated,
        FindingId::PacDirect,
        FindingId::PacError,
        FindingId::PacUnusable,
        FindingId::MachineWidePolicy,
        FindingId::WinhttpMismatch,
        FindingId::CaptureEmpty,
        FindingId::CaptureTruncated,
        FindingId::CaptureUnattributed,
        FindingId::ProbeFailed,
        FindingId::ProbeOk,
        FindingId::ProbeHereOk,
        FindingId::ProbeHereFailed,
        FindingId::ProbeNotRun,
        FindingId::EvidenceConflict,
        FindingId::MdeSensorUrlFailed,
        FindingId::MdeSensorUrlOk,
        FindingId::MdeUrlsFailed,
        FindingId::MdeUrlsOk,
        FindingId::MdiApiTestTrue,
        FindingId::MdiApiTestFalse,
        FindingId::RootCertMissing,
        FindingId::RootCertPresent,
        FindingId::SensorVersion,
    ];

    /// Every id, log events included (for docs and tests).
    pub fn all() -> Vec<FindingId> {
        let mut v: Vec<FindingId> = FindingId::ACCOUNT_IDS.to_vec();
        v.extend(EventKind::ALL.iter().map(|k| FindingId::Log(*k)));
        v
    }

    /// The id as it appears in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingId::SensorProxyConfigured => "sensor-proxy-configured",
            FindingId::ProxyMissing => "proxy-missing",
            FindingId::ProxyDiffers => "proxy-differs",
            FindingId::ProxyEquivalent => "proxy-equivalent",
            FindingId::ProxyMatches => "proxy-matches",
            FindingId::HttpsNotProxied => "https-not-proxied",
            FindingId::EndpointBypassed => "endpoint-bypassed",
            FindingId::PacOnly => "pac-only",
            FindingId::PacEvaluated => "pac-evaluated",
            FindingId::PacDirect => "pac-direct",
            FindingId::PacError => "pac-error",
            FindingId::PacUnusable => "pac-unusable",
            FindingId::MachineWidePolicy => "machine-wide-policy",
            FindingId::WinhttpMismatch => "winhttp-mismatch",
            FindingId::CaptureEmpty => "capture-empty",
            FindingId::CaptureTruncated => "capture-truncated",
            FindingId::CaptureUnattributed => "capture-unattributed",
            FindingId::ProbeFailed => "probe-failed",
            FindingId::ProbeOk => "probe-ok",
            FindingId::ProbeHereOk => "probe-here-ok",
            FindingId::ProbeHereFailed => "probe-here-failed",
            FindingId::ProbeNotRun => "probe-not-run",
            FindingId::EvidenceConflict => "evidence-conflict",
            FindingId::MdeSensorUrlFailed => "mde-sensor-url-failed",
            FindingId::MdeSensorUrlOk => "mde-sensor-url-ok",
            FindingId::MdeUrlsFailed => "mde-urls-failed",
            FindingId::MdeUrlsOk => "mde-urls-ok",
            FindingId::MdiApiTestTrue => "mdi-api-test-true",
            FindingId::MdiApiTestFalse => "mdi-api-test-false",
            FindingId::RootCertMissing => "root-cert-missing",
            FindingId::RootCertPresent => "root-cert-present",
            FindingId::SensorVersion => "sensor-version",
            FindingId::Log(k) => k.finding_id(),
        }
    }

    /// The id of a string as printed (for tests and `--only`-style filters).
    pub fn parse(s: &str) -> Option<FindingId> {
        FindingId::all().into_iter().find(|f| f.as_str() == s)
    }

    /// The contract's severity of the id.
    pub fn severity(self) -> Severity {
        use FindingId::*;
        match self {
            ProxyMissing | ProxyDiffers | ProbeFailed | PacError | PacUnusable
            | RootCertMissing => Severity::Error,
            HttpsNotProxied | EndpointBypassed | PacOnly | PacDirect | WinhttpMismatch
            | CaptureEmpty | CaptureTruncated | EvidenceConflict | ProbeHereFailed
            | MdeSensorUrlFailed | MdeUrlsFailed | MdiApiTestFalse => Severity::Warning,
            SensorProxyConfigured
            | ProxyEquivalent
            | ProxyMatches
            | PacEvaluated
            | MachineWidePolicy
            | CaptureUnattributed
            | ProbeOk
            | ProbeHereOk
            | ProbeNotRun
            | MdeSensorUrlOk
            | MdeUrlsOk
            | MdiApiTestTrue
            | RootCertPresent
            | SensorVersion => Severity::Info,
            Log(k) => {
                if k.is_proxy_problem() {
                    Severity::Error
                } else {
                    Severity::Info
                }
            }
        }
    }

    /// Order of causes within a severity: the sensor-log precedence first (what the sensor
    /// itself saw), then the account findings in the order above.
    pub fn cause_rank(self) -> usize {
        match self {
            FindingId::SensorProxyConfigured => 0,
            FindingId::Log(k) => 1 + EventKind::ALL.iter().position(|x| *x == k).unwrap_or(0),
            other => {
                1 + EventKind::ALL.len()
                    + FindingId::ACCOUNT_IDS
                        .iter()
                        .position(|x| *x == other)
                        .unwrap_or(0)
            }
        }
    }
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string, one of every id's printed form (matches what `Serialize` writes).
impl schemars::JsonSchema for FindingId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FindingId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let ids: Vec<&'static str> = FindingId::all().iter().map(|f| f.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": ids })
    }
}

impl Serialize for FindingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let all = FindingId::all();
        let mut names: Vec<&str> = all.iter().map(|f| f.as_str()).collect();
        for f in &all {
            assert_eq!(FindingId::parse(f.as_str()), Some(*f));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn severities_follow_the_contract() {
        assert_eq!(FindingId::ProxyMissing.severity(), Severity::Error);
        assert_eq!(FindingId::ProbeHereFailed.severity(), Severity::Warning);
        assert_eq!(
            FindingId::Log(EventKind::DcCommunicationFailure).severity(),
            Severity::Info
        );
        assert_eq!(
            FindingId::Log(EventKind::ProxyAuthRequired).severity(),
            Severity::Error
        );
    }

    #[test]
    fn log_precedence_comes_before_account_findings() {
        assert!(
            FindingId::Log(EventKind::SslInspectionSuspected).cause_rank()
                < FindingId::Log(EventKind::ConnectFailed).cause_rank()
        );
        assert!(
            FindingId::Log(EventKind::Timeout).cause_rank() < FindingId::ProxyMissing.cause_rank()
        );
    }
}
