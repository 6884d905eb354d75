//! Loopback test servers for the probe tests: plain HTTP answers, a silent server, proxies
//! (tunnelling `CONNECT`, or answering with a fixed status), and an HTTPS server whose
//! certificate comes from a CA generated here. Every loop is bounded in count and time, and
//! every socket has timeouts, so a failing test cannot hang.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test server accepts connections.
const LIFETIME: Duration = Duration::from_secs(20);
/// Most connections one test server accepts.
const MAX_CONNECTIONS: usize = 16;
/// Socket read/write timeout inside the servers.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head read.
const MAX_HEAD: usize = 64 * 1024;

/// Request line recorded for bytes that are not an HTTP request.
pub const NOT_HTTP: &str = "<not HTTP>";

/// One request head a server received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET / HTTP/1.1`, `CONNECT host:port HTTP/1.1`, ...
    pub request_line: String,
    /// Header names (lower-cased) and values.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// First value of a header (name lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running test server: its address, the connections it accepted and the heads it read.
#[derive(Clone)]
pub struct Server {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// `http://127.0.0.1:port` + `path`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `https://127.0.0.1:port` + `path`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Request heads read so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Binds 127.0.0.1 on an ephemeral port and handles each connection on its own thread.
fn spawn<F>(handler: F) -> Server
where
    F: Fn(TcpStream, &Server) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).expect("nonblocking");
    let server = Server {
        addr: listener.local_addr().expect("local addr"),
        connections: Arc::new(AtomicUsize::new(0)),
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let handler = Arc::new(handler);
    let shared = server.clone();
    thread::spawn(move || {
        let deadline = Instant::now() + LIFETIME;
        while Instant::now() < deadline && shared.connection_count() < MAX_CONNECTIONS {
            match listener.accept() {
                Ok((stream, _)) => {
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                    let handler = Arc::clone(&handler);
                    let shared = shared.clone();
                    thread::spawn(move || handler(stream, &shared));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(5))
                }
                Err(_) => break,
            }
        }
    });
    server
}

/// Reads one request head (bounded) and records it.
fn read_head<R: Read>(stream: &mut R, server: &Server) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while buf.len() < MAX_HEAD {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
        if buf.len() == 1 && !byte[0].is_ascii_uppercase() {
            // Not HTTP (a TLS ClientHello, say): record it and let the caller answer at once.
            buf = NOT_HTTP.as_bytes().to_vec();
            break;
        }
        if buf.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next()?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let seen = Seen {
        request_line,
        headers,
    };
    if let Ok(mut log) = server.seen.lock() {
        log.push(seen.clone());
    }
    Some(seen)
}

/// A canned HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub reason: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Answer {
    pub fn new(status: u16, reason: &'static str, body: &str) -> Answer {
        Answer {
            status,
            reason,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Answer {
        self.headers.push((name, value.to_string()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.body.len(),
            self.body
        ));
        out.into_bytes()
    }
}

/// The documented answer of the service.
pub fn service_503() -> Answer {
    Answer::new(
        503,
        "Service Unavailable",
        "<html><head><title>Service Unavailable</title></head></html>",
    )
}

/// Plain HTTP server answering each request with `route(path)`.
pub fn http_server(route: fn(&str) -> Answer) -> Server {
    spawn(move |mut stream, server| {
        if let Some(seen) = read_head(&mut stream, server) {
            let answer = if seen.request_line == NOT_HTTP {
                Answer::new(400, "Bad Request", "<html><title>400</title></html>")
            } else {
                route(seen.request_line.split(' ').nth(1).unwrap_or("/"))
            };
            let _ = stream.write_all(&answer.bytes());
            let _ = stream.flush();
        }
        let _ = stream.shutdown(Shutdown::Both);
    })
}

/// Accepts connections and never answers (holds each for a few seconds).
pub fn silent_server() -> Server {
    spawn(|stream, _| {
        thread::sleep(Duration::from_secs(4));
        drop(stream);
    })
}

/// An address where nothing listens.
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr
}

/// A proxy that answers every request (CONNECT or not) with `answer`.
pub fn answering_proxy(answer: Answer) -> Server {
    spawn(move |mut stream, server| {
        if read_head(&mut stream, server).is_some() {
            let _ = stream.write_all(&answer.bytes());
            let _ = stream.flush();
        }
        let _ = stream.shutdown(Shutdown::Both);
    })
}

/// A forwarding proxy that tunnels `CONNECT host:port` to 127.0.0.1:port whatever the host
/// (the test's DNS), and answers anything else with 400.
pub fn tunnel_proxy() -> Server {
    spawn(|mut client, server| {
        let Some(seen) = read_head(&mut client, server) else {
            return;
        };
        let mut parts = seen.request_line.split(' ');
        let (Some("CONNECT"), Some(authority)) = (parts.next(), parts.next()) else {
            let _ = client.write_all(&Answer::new(400, "Bad Request", "").bytes());
            return;
        };
        let port: u16 = authority
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(443);
        let target = SocketAddr::from(([127, 0, 0, 1], port));
        let Ok(upstream) = TcpStream::connect_timeout(&target, IO_TIMEOUT) else {
            let _ = client.write_all(&Answer::new(502, "Bad Gateway", "").bytes());
            return;
        };
        let _ = upstream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = upstream.set_write_timeout(Some(IO_TIMEOUT));
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
            return;
        };
        let up = thread::spawn(move || {
            let _ = io::copy(&mut c2, &mut u2);
            let _ = u2.shutdown(Shutdown::Write);
        });
        let (mut u1, mut c1) = (upstream, client);
        let _ = io::copy(&mut u1, &mut c1);
        let _ = c1.shutdown(Shutdown::Write);
        let _ = up.join();
    })
}

/// A CA and a server certificate it issued, generated for one test run.
pub struct TestPki {
    /// The CA certificate (PEM), for `--ca-cert`.
    pub ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

/// Subject common name of the generated CA.
pub const TEST_CA_CN: &str = "Proxy-Triage Test Inspection CA";
/// A service host name the leaf certificate also carries (to test inspection detection).
pub const SERVICE_HOST: &str = "contososensorapi.atp.azure.com";

/// Generates a CA and a leaf for `localhost`, `127.0.0.1` and [`SERVICE_HOST`].
pub fn test_pki() -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name.push(DnType::CommonName, TEST_CA_CN);
    ca.distinguished_name
        .push(DnType::OrganizationName, "Contoso Test");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).expect("CA cert");

    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        SERVICE_HOST.to_string(),
    ])
    .expect("leaf params");
    leaf.distinguished_name = DistinguishedName::new();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .expect("leaf cert");
    TestPki {
        ca_pem: ca_cert.pem(),
        leaf_der: leaf_cert.der().to_vec(),
        leaf_key_der: leaf_key.serialize_der(),
    }
}

/// HTTPS server presenting the PKI's leaf and answering every request with `answer`.
pub fn https_server(pki: &TestPki, answer: Answer) -> Server {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(pki.leaf_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.leaf_key_der.clone())),
        )
        .expect("server config");
    let config = Arc::new(config);
    spawn(move |stream, server| {
        let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
            return;
        };
        let mut tls = rustls::StreamOwned::new(conn, stream);
        if read_head(&mut tls, server).is_some() {
            let _ = tls.write_all(&answer.bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        let _ = tls.sock.shutdown(Shutdown::Both);
    })
}
