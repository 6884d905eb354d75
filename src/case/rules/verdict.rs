//! The verdict and the one-line summary of a case.

use super::super::findings::FindingId;
use super::super::model::{CaseReport, EndpointSource, Finding, Need, Severity, Verdict};

/// `misconfigured`: an error finding (all errors come from customer-side evidence);
/// `healthy`: no error and no blocking need; else `inconclusive`.
pub fn verdict(findings: &[Finding], needs: &[Need]) -> Verdict {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        Verdict::Misconfigured
    } else if needs.iter().any(|n| n.blocking) {
        Verdict::Inconclusive
    } else {
        Verdict::Healthy
    }
}

/// One line: verdict, main reason, endpoint judged.
pub fn summary(report: &CaseReport) -> String {
    let reason = match report.verdict {
        Verdict::Misconfigured => report
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error)
            .map(|f| f.title.clone()),
        Verdict::Inconclusive => report
            .needs
            .iter()
            .find(|n| n.blocking)
            .map(|n| format!("needs {}", n.what)),
        Verdict::Healthy => Some(
            report
                .findings
                .iter()
                .find(|f| f.severity == Severity::Warning)
                .map(|f| format!("with a warning: {}", f.title))
                .unwrap_or_else(|| {
                    if report
                        .findings
                        .iter()
                        .any(|f| f.id == FindingId::SensorProxyConfigured)
                    {
                        "the sensor's own proxy carries both services".to_string()
                    } else {
                        "the sensor's accounts have a usable route".to_string()
                    }
                }),
        ),
    };
    let endpoint = if report.endpoint.source == EndpointSource::Default {
        format!("{} (workspace unknown)", report.endpoint.host)
    } else {
        report.endpoint.host.clone()
    };
    format!(
        "{}: {} [endpoint {endpoint}]",
        report.verdict.name().to_uppercase(),
        reason.unwrap_or_default()
    )
}
