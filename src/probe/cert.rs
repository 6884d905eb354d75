//! The TLS peer certificate as the probe reports it (subject, issuer) and the evidence of SSL
//! inspection: an issuer that is one of the `--ca-cert` roots, or a non-Microsoft issuer on a
//! Microsoft service host.

use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The certificate the TLS server presented, as far as the probe reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsPeer {
    /// Subject distinguished name of the leaf certificate (`CN=..., O=...`).
    pub subject: String,
    /// Issuer distinguished name of the leaf certificate.
    pub issuer: String,
    /// The issuer is one of the certificates given with `--ca-cert`: the connection was trusted
    /// through that extra root, which is what an inspection proxy's CA looks like.
    pub issued_by_ca_cert: bool,
    /// The chain validated (public roots or `--ca-cert`). False when the certificate was read
    /// from a handshake that failed verification.
    pub trusted: bool,
}

/// Issuer organisations that sign the real service's certificates (Microsoft Azure TLS issuing
/// CAs chain to DigiCert roots, per the documented trusted roots).
const SERVICE_ISSUER_ORGS: &[&str] = &["Microsoft Corporation", "DigiCert Inc"];

/// Host suffixes of Microsoft services where a non-Microsoft issuer means interception.
const SERVICE_HOST_SUFFIXES: &[&str] = &[
    ".atp.azure.com",
    ".atp.azure.us",
    ".cloudapp.azure.com",
    ".azure.com",
    ".microsoft.com",
];

/// Reads the subject and issuer of a DER certificate; `None` when it does not parse.
pub(crate) fn peer_from_der(
    der: &[u8],
    extra_root_subjects: &[Vec<u8>],
    trusted: bool,
) -> Option<TlsPeer> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let issuer_raw = cert.issuer().as_raw();
    Some(TlsPeer {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        issued_by_ca_cert: extra_root_subjects
            .iter()
            .any(|s| s.as_slice() == issuer_raw),
        trusted,
    })
}

/// Organisation (`O=`) values of the issuer of a DER certificate.
pub(crate) fn issuer_organizations(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    cert.issuer()
        .iter_organization()
        .filter_map(|a| a.as_str().ok())
        .map(str::to_string)
        .collect()
}

/// Raw (DER) subject names of every certificate in a PEM bundle, to recognise a leaf issued by
/// one of them. Blocks that are not certificates are skipped.
pub(crate) fn pem_subjects(pem: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
        let Ok(block) = block else { break };
        if block.label != "CERTIFICATE" {
            continue;
        }
        if let Ok(cert) = block.parse_x509() {
            out.push(cert.subject().as_raw().to_vec());
        }
    }
    out
}

/// Whether `host` is a Microsoft service host, where the certificate must come from Microsoft's
/// own issuing CAs.
pub fn is_service_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    SERVICE_HOST_SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// Whether any of `orgs` is an issuer organisation of the real service.
pub(crate) fn is_service_issuer(orgs: &[String]) -> bool {
    orgs.iter().any(|o| {
        SERVICE_ISSUER_ORGS
            .iter()
            .any(|s| o.eq_ignore_ascii_case(s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_hosts() {
        assert!(is_service_host("contososensorapi.atp.azure.com"));
        assert!(is_service_host(
            "TRIPRD1WCUSE1SENSORAPI.EASTUS.CLOUDAPP.AZURE.COM."
        ));
        assert!(is_service_host("contososensorapi.atp.azure.us"));
        assert!(!is_service_host("127.0.0.1"));
        assert!(!is_service_host("evilazure.com"));
    }

    #[test]
    fn service_issuers() {
        assert!(is_service_issuer(&["Microsoft Corporation".into()]));
        assert!(is_service_issuer(&["DigiCert Inc".into()]));
        assert!(!is_service_issuer(&["Contoso Ltd".into()]));
        assert!(!is_service_issuer(&[]));
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(peer_from_der(b"\x30\x03\x02\x01\x00", &[], true), None);
        assert!(issuer_organizations(b"").is_empty());
        assert!(
            pem_subjects(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_empty()
        );
    }
}
