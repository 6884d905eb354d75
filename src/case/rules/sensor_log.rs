//! Evidence from the sensor logs: one finding per event kind, in precedence order.

use super::super::findings::FindingId;
use super::super::model::ProbeEvidence;
use super::super::resolve::Resolved;
use super::Findings;
use crate::formats::sensor_log::EventKind;

/// One finding per event kind with its count, first and last time seen, the lines carrying the
/// signature in the first and the last record, and the first one's excerpt.
pub fn events(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    for g in &r.log_groups {
        let when = match (&g.first_seen, &g.last_seen) {
            (Some(a), Some(b)) if a != b => format!(", first {a}, last {b}"),
            (Some(a), _) => format!(", at {a}"),
            _ => String::new(),
        };
        let records = if g.count == 1 {
            "1 record".to_string()
        } else {
            format!("{} records", g.count)
        };
        f.add(
            FindingId::Log(g.kind),
            None,
            format!("Sensor log: {} ({records}{when})", kind_words(g.kind)),
            action(g.kind).into(),
            Vec::new(),
        );
        // First, then last: not sorted by file name, which need not follow time.
        f.with_evidence_in_order(vec![g.first.clone(), g.last.clone()]);
        f.with_excerpt(&g.excerpt);
    }
}

fn kind_words(k: EventKind) -> &'static str {
    match k {
        EventKind::SslInspectionSuspected => "SSL inspection suspected",
        EventKind::ProxyAuthRequired => "the proxy demands authentication (407)",
        EventKind::LicenseInvalidProxySuspected => "LicenseInvalid, usually the proxy",
        EventKind::TlsTrustFailure => "TLS trust failure",
        EventKind::TlsChannelFailure => "TLS channel failure",
        EventKind::ProxyDnsFailure => "the proxy name does not resolve",
        EventKind::DnsFailure => "the endpoint name does not resolve",
        EventKind::ServiceUnavailable503 => "503 from the proxy",
        EventKind::ConnectionReset => "connection reset",
        EventKind::LocalhostChannelBlocked => "localhost channel blocked",
        EventKind::ConnectFailed => "connection failed",
        EventKind::Timeout => "timeout",
        EventKind::InstallFailed0x80070643 => "installation failed (0x80070643)",
        EventKind::DcCommunicationFailure => "domain controller communication failure",
    }
}

/// The action for a sensor-log event kind.
fn action(k: EventKind) -> &'static str {
    match k {
        EventKind::SslInspectionSuspected => "Exclude *.atp.azure.com from SSL/TLS inspection on the proxy (inspection is not supported)",
        EventKind::ProxyAuthRequired => "The proxy wants credentials the sensor does not send: exempt *.atp.azure.com from authentication, or give the sensor proxy credentials (Set-MDISensorProxyConfiguration -ProxyCredential, or the installer's ProxyUserName/ProxyUserPassword)",
        EventKind::LicenseInvalidProxySuspected => "Usually the proxy blocks or rewrites the connection: check the sensor's proxy and that *.atp.azure.com:443 is allowed",
        EventKind::TlsTrustFailure => "Install the root certificates the sensor endpoint chain needs (or remove TLS interception) on the domain controller",
        EventKind::TlsChannelFailure => "Enable TLS 1.2 on the server and check cipher suites and interception",
        EventKind::ProxyDnsFailure => "The proxy host name does not resolve from the domain controller: fix the proxy name or DNS",
        EventKind::DnsFailure => "The endpoint does not resolve: allow DNS resolution of *.atp.azure.com or use a proxy that resolves it",
        EventKind::ServiceUnavailable503 => "A 503 from the proxy (not the service) usually means the proxy cannot reach the endpoint: check the proxy's upstream",
        EventKind::ConnectionReset => "Something between the domain controller and the endpoint resets the connection: check firewall and proxy rules for *.atp.azure.com:443",
        EventKind::LocalhostChannelBlocked => "The sensor cannot reach its updater on localhost:444: check local firewall and endpoint protection rules, not the proxy",
        EventKind::ConnectFailed => "The connection was refused or unreachable: open *.atp.azure.com:443 or give the sensor a proxy",
        EventKind::Timeout => "Connections time out: the traffic is probably dropped; open *.atp.azure.com:443 or route it through the proxy",
        EventKind::InstallFailed0x80070643 => "The installer failed (0x80070643): check the deployment log for the connectivity test and the proxy given to the installer",
        EventKind::DcCommunicationFailure => "Not a proxy problem: check the sensor's domain controller connectivity and permissions",
    }
}
