//! `voltaic serve`: the metrics exposition over HTTP, for Prometheus to scrape.
//!
//! A deliberately small HTTP/1.1 server on `std::net`: one route (`GET /metrics`), a fresh reading per
//! scrape, `Connection: close` on every answer. It never blocks on a slow client: each connection has its
//! own thread with read and write timeouts, at most [`MAX_CONNECTIONS`] are served at once (more get a
//! 503 at once), and a request head larger than [`MAX_REQUEST`] is refused (431). No async runtime and no
//! HTTP crate: Prometheus sends one short GET; `tiny_http` would add its own thread pool and a chunked
//! encoder for nothing this needs.
//!
//! The content type is negotiated from `Accept` the way Prometheus asks: OpenMetrics when the scraper
//! accepts `application/openmetrics-text`, the Prometheus text format otherwise (the samples are the
//! same; see `metrics.rs`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::metrics::{self, Flavor};

/// Connections served at once; Prometheus scrapes one at a time per target.
pub const MAX_CONNECTIONS: usize = 8;
/// The largest request head read (request line and headers); a scrape's is a few hundred bytes.
pub const MAX_REQUEST: usize = 8 * 1024;
/// What is read and dropped after refusing an oversized request, so that the client sees the answer.
const DRAIN_LIMIT: u64 = 64 * 1024;
/// How long a client may take to send its request or to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The default listening address: loopback only, on the port this exporter uses in the README.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9101";

/// What one scrape reads: the exposition in the asked flavor, or the error that stopped the reading.
pub type Scrape = dyn Fn(Flavor) -> Result<String> + Send + Sync;

/// Serves `scrape` on `listener` until the process ends.
pub fn run(listener: &TcpListener, scrape: &Arc<Scrape>) -> Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        // A client that went away between SYN and accept, or a transient resource shortage: go on.
        let Ok(stream) = stream else { continue };
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::AcqRel);
            // A few bytes that the socket buffer takes at once; the short timeout keeps a client that
            // does not read from holding up the accept loop even so.
            let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
            let _ = respond(
                &stream,
                "503 Service Unavailable",
                "text/plain; charset=utf-8",
                b"too many connections\n",
                &[],
            );
            continue;
        }
        let scrape = Arc::clone(scrape);
        let guard = Active(Arc::clone(&active));
        let spawned = thread::Builder::new()
            .name("voltaic-serve".into())
            .spawn(move || {
                let _guard = guard;
                let _ = handle(&stream, &*scrape);
            });
        if let Err(e) = spawned {
            return Err(e).context("cannot start a connection thread");
        }
    }
    Ok(())
}

/// Counts a connection as active until dropped (also when its thread panics).
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Binds `addr` (the address is in the error when that fails).
pub fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))
}

/// A parsed request head: what the server needs of it.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    method: String,
    path: String,
    openmetrics: bool,
}

/// Why a request head was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum BadRequest {
    /// Larger than [`MAX_REQUEST`].
    TooLarge,
    /// Not an HTTP request line and headers.
    Malformed,
}

/// Reads the request head from `stream`, at most [`MAX_REQUEST`] bytes.
fn read_head(stream: &mut impl Read) -> io::Result<Result<Request, BadRequest>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = find_head_end(&buf) {
            return Ok(parse_head(&buf[..end]));
        }
        if buf.len() >= MAX_REQUEST {
            return Ok(Err(BadRequest::TooLarge));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(Err(BadRequest::Malformed));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n"))
}

/// Parses a request head (request line, then headers).
pub fn parse_head(head: &[u8]) -> Result<Request, BadRequest> {
    let text = std::str::from_utf8(head).map_err(|_| BadRequest::Malformed)?;
    let mut lines = text.lines();
    let mut parts = lines.next().ok_or(BadRequest::Malformed)?.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadRequest::Malformed);
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() {
        return Err(BadRequest::Malformed);
    }
    let path = target.split('?').next().unwrap_or_default().to_owned();
    let openmetrics = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("accept")
                && value.contains("application/openmetrics-text")
        })
    });
    Ok(Request {
        method: method.to_owned(),
        path,
        openmetrics,
    })
}

fn handle(stream: &TcpStream, scrape: &Scrape) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = stream;
    let request = match read_head(&mut reader)? {
        Ok(r) => r,
        Err(BadRequest::TooLarge) => {
            respond(
                stream,
                "431 Request Header Fields Too Large",
                "text/plain; charset=utf-8",
                b"request too large\n",
                &[],
            )?;
            // Closing with unread input would reset the connection and could lose the answer: stop
            // sending, then take (a bounded amount of) what the client is still sending.
            stream.shutdown(Shutdown::Write)?;
            stream.set_read_timeout(Some(Duration::from_secs(1)))?;
            let _ = io::copy(&mut reader.take(DRAIN_LIMIT), &mut io::sink());
            return Ok(());
        }
        Err(BadRequest::Malformed) => {
            return respond(
                stream,
                "400 Bad Request",
                "text/plain; charset=utf-8",
                b"bad request\n",
                &[],
            );
        }
    };
    if request.path != "/metrics" {
        return respond(
            stream,
            "404 Not Found",
            "text/plain; charset=utf-8",
            b"voltaic serves /metrics only\n",
            &[],
        );
    }
    if request.method != "GET" {
        return respond(
            stream,
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            b"only GET\n",
            &[("Allow", "GET")],
        );
    }
    let flavor = if request.openmetrics {
        Flavor::OpenMetrics
    } else {
        Flavor::Prometheus
    };
    match scrape(flavor) {
        Ok(body) => {
            let content_type = match flavor {
                Flavor::OpenMetrics => metrics::CONTENT_TYPE_OPENMETRICS,
                Flavor::Prometheus => metrics::CONTENT_TYPE_TEXT,
            };
            respond(stream, "200 OK", content_type, body.as_bytes(), &[])
        }
        Err(e) => respond(
            stream,
            "500 Internal Server Error",
            "text/plain; charset=utf-8",
            format!("{e:#}\n").as_bytes(),
            &[],
        ),
    }
}

fn respond(
    mut stream: &TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_prometheus_scrape() {
        let head = b"GET /metrics?x=1 HTTP/1.1\r\nHost: localhost:9101\r\nUser-Agent: Prometheus/2.42.0\r\n\
            Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n";
        assert_eq!(
            parse_head(head),
            Ok(Request {
                method: "GET".into(),
                path: "/metrics".into(),
                openmetrics: true
            })
        );
    }

    #[test]
    fn refuses_what_is_not_a_request() {
        assert_eq!(parse_head(b"hello"), Err(BadRequest::Malformed));
        assert_eq!(parse_head(b"GET /metrics"), Err(BadRequest::Malformed));
        assert_eq!(parse_head(b"GET / SSH-2.0"), Err(BadRequest::Malformed));
        assert_eq!(parse_head(&[0xff, 0xfe]), Err(BadRequest::Malformed));
    }

    #[test]
    fn an_endless_head_stops_at_the_limit() {
        let endless = std::iter::repeat_n(b'a', 1 << 20).collect::<Vec<u8>>();
        let mut reader = endless.as_slice();
        assert_eq!(read_head(&mut reader).ok(), Some(Err(BadRequest::TooLarge)));
        // Read no more than the limit and one chunk.
        assert!(reader.len() >= (1 << 20) - MAX_REQUEST - 1024);
    }
}
