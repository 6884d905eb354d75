//! Reading the certificate a TLS server presents, without trusting it: a handshake whose
//! verifier records the leaf certificate and then aborts, so no request is ever sent. Used
//! where the HTTP client does not expose the peer certificate (tunnels through a proxy) or never
//! got past it (an untrusted inspection CA).

use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::connect::{connect_head, tcp_connect, ConnectRequest};

/// Most handshake round trips driven before giving up.
const MAX_ROUNDS: usize = 32;

/// Where the TLS server is, and how to get there.
pub(crate) struct GrabRequest<'a> {
    /// Host name (for SNI) or IP of the TLS server.
    pub host: &'a str,
    /// Port of the TLS server.
    pub port: u16,
    /// `host:port` as `CONNECT` names it (IPv6 in brackets).
    pub authority: &'a str,
    /// Proxy to tunnel through: host, port, `Proxy-Authorization` value.
    pub proxy: Option<(&'a str, u16, Option<&'a str>)>,
    /// Budget for the whole exchange.
    pub timeout: Duration,
}

/// Returns the DER of the leaf certificate the server presents, or why it could not be read.
pub(crate) fn grab_leaf_certificate(req: &GrabRequest<'_>) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + req.timeout;
    let mut stream: TcpStream = match req.proxy {
        Some((host, port, authorization)) => {
            let (head, stream) = connect_head(&ConnectRequest {
                proxy_host: host,
                proxy_port: port,
                authority: req.authority,
                authorization,
                timeout: req.timeout,
            })
            .map_err(|e| e.to_string())?;
            if !(200..300).contains(&head.status) {
                return Err(format!("the proxy answered {} to CONNECT", head.status));
            }
            stream
        }
        None => tcp_connect(req.host, req.port, deadline).map_err(|e| e.to_string())?,
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("no time left for the TLS handshake".into());
    }
    stream
        .set_read_timeout(Some(left))
        .and_then(|()| stream.set_write_timeout(Some(left)))
        .map_err(|e| e.to_string())?;

    let recorder = Arc::new(Recorder::default());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(req.host.to_string()).map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut outcome = String::from("the handshake ended before a certificate");
    for _ in 0..MAX_ROUNDS {
        if !conn.is_handshaking() || Instant::now() >= deadline {
            break;
        }
        if let Err(e) = conn.complete_io(&mut stream) {
            outcome = e.to_string();
            break;
        }
    }
    recorder.leaf().ok_or(outcome)
}

/// A verifier that keeps the leaf certificate and refuses it, ending the handshake.
#[derive(Debug, Default)]
struct Recorder {
    leaf: Mutex<Option<Vec<u8>>>,
}

impl Recorder {
    fn leaf(&self) -> Option<Vec<u8>> {
        self.leaf.lock().ok().and_then(|l| l.clone())
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut leaf) = self.leaf.lock() {
            *leaf = Some(end_entity.as_ref().to_vec());
        }
        Err(rustls::Error::General(
            "certificate recorded, handshake stopped".into(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("not verified".into()))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("not verified".into()))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
