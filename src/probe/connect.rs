//! A bare `CONNECT` to the proxy over a plain TCP socket, to read the proxy's own answer (status
//! and `Proxy-Authenticate` headers), which the HTTP client hides when a tunnel is refused.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::http_head::{head_end, parse_response_head, HeadError, ResponseHead, MAX_HEAD_BYTES};

/// Why the proxy's answer to `CONNECT` could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// Name resolution or TCP connection to the proxy, or a read or write, failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The proxy closed the connection before a complete head.
    #[error("the proxy closed the connection after {0} bytes, before a complete response head")]
    Closed(usize),
    /// The head exceeded [`MAX_HEAD_BYTES`].
    #[error("the proxy's response head exceeds {MAX_HEAD_BYTES} bytes")]
    TooLarge,
    /// The bytes are not an HTTP response.
    #[error("the proxy's answer is not HTTP: {0}")]
    NotHttp(#[from] HeadError),
    /// The time budget ran out.
    #[error("no complete answer from the proxy within {0:?}")]
    Timeout(Duration),
}

/// Where to send the `CONNECT` and what to ask for.
pub(crate) struct ConnectRequest<'a> {
    /// Proxy host name or IP (no brackets).
    pub proxy_host: &'a str,
    /// Proxy port.
    pub proxy_port: u16,
    /// The `host:port` authority to tunnel to (IPv6 in brackets).
    pub authority: &'a str,
    /// Value of `Proxy-Authorization`, if credentials were given.
    pub authorization: Option<&'a str>,
    /// Budget for the whole exchange.
    pub timeout: Duration,
}

/// Opens a TCP connection to `host:port` (each resolved address in turn) within `deadline`.
pub(crate) fn tcp_connect(
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<TcpStream, ConnectError> {
    let budget = deadline.saturating_duration_since(Instant::now());
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for addr in addrs {
        let left = remaining(deadline, budget)?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last_err = e,
        }
    }
    Err(last_err.into())
}

/// Sends `CONNECT authority` to the proxy and returns its response head with the connection,
/// which is a tunnel to `authority` when the status is 2xx.
pub(crate) fn connect_head(
    req: &ConnectRequest<'_>,
) -> Result<(ResponseHead, TcpStream), ConnectError> {
    let deadline = Instant::now() + req.timeout;
    let mut stream = tcp_connect(req.proxy_host, req.proxy_port, deadline)?;
    let mut request = format!(
        "CONNECT {a} HTTP/1.1\r\nHost: {a}\r\nUser-Agent: proxy-triage/{v}\r\n",
        a = req.authority,
        v = env!("CARGO_PKG_VERSION")
    );
    if let Some(auth) = req.authorization {
        request.push_str("Proxy-Authorization: ");
        request.push_str(auth);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream.set_write_timeout(Some(remaining(deadline, req.timeout)?))?;
    stream.write_all(request.as_bytes())?;

    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        stream.set_read_timeout(Some(remaining(deadline, req.timeout)?))?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if is_timeout(&e) => return Err(ConnectError::Timeout(req.timeout)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return Err(ConnectError::Closed(buf.len()));
        }
        let scan_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        if let Some(end) = buf.get(scan_from..).and_then(head_end) {
            let head = buf.get(..scan_from + end).unwrap_or(&buf);
            return Ok((parse_response_head(head)?, stream));
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(ConnectError::TooLarge);
        }
    }
}

/// Time left before `deadline`, or a timeout error when none is.
fn remaining(deadline: Instant, budget: Duration) -> Result<Duration, ConnectError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ConnectError::Timeout(budget))
    } else {
        Ok(left)
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}
