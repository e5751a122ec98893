//! A small blocking HTTP/1.1 client for loopback servers: one request per connection, the answer
//! read by its `Content-Length`, by chunks, or to the end of the stream.
//!
//! `cargo xtask chaos` talks to kasse-server and the simulator from plain threads; an HTTP crate
//! would bring an async runtime and a TLS stack to build for what is a few dozen lines over std's
//! `TcpStream`. It only ever connects to `127.0.0.1` (or `localhost`): a URL naming any other host
//! is refused before a connection is tried, so nothing a server answers (a QR code's URL, say) can
//! send traffic off the machine.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::error::{Context, Error, Result};
use serde_json::Value as Json;

/// How long connecting may take: on loopback a refusal is instant, so this only bounds a
/// listener whose queue is full.
const CONNECT_PATIENCE: Duration = Duration::from_secs(2);

/// The largest answer read: far above anything the servers send, and a bound on memory if one
/// misbehaves.
const BODY_LIMIT: usize = 64 << 20;

/// An answer: its status, headers (names in lower case) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// The status code.
    pub(crate) status: u16,
    /// Each header as sent, its name in lower case.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Result<Json> {
        serde_json::from_slice(&self.body).context(|| format!("an answer ({}) that is not JSON", self.status))
    }
}

/// A request being put together: method, URL, headers, body and patience.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
}

impl Request {
    /// A `method` request for `url` (`http://127.0.0.1:PORT/path`), patient for ten seconds.
    pub(crate) fn new(method: &'static str, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }

    /// A GET of `url`.
    pub(crate) fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A POST to `url`.
    pub(crate) fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// A PUT to `url`.
    pub(crate) fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sends `json` as the body.
    pub(crate) fn json(mut self, json: &Json) -> Self {
        self.body = json.to_string().into_bytes();
        self.header("Content-Type", "application/json")
    }

    /// Sends `fields` as an HTML form would.
    pub(crate) fn form(mut self, fields: &[(&str, &str)]) -> Self {
        let encoded: Vec<String> = fields
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect();
        self.body = encoded.join("&").into_bytes();
        self.header("Content-Type", "application/x-www-form-urlencoded")
    }

    /// How long the whole exchange may take before it is given up.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends the request and reads the answer. An error means no answer came (refused, reset,
    /// timed out, or not HTTP), never a status: every status is an answer.
    pub(crate) fn send(&self) -> Result<Response> {
        let describe = || format!("{} {}", self.method, self.url);
        let (port, path) = loopback_target(&self.url).ok_or_else(|| {
            Error::new(format!("{}: only http://127.0.0.1:PORT/… addresses are allowed", describe()))
        })?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut stream = TcpStream::connect_timeout(&address, CONNECT_PATIENCE).context(describe)?;
        stream.set_read_timeout(Some(self.timeout)).context(describe)?;
        stream.set_write_timeout(Some(self.timeout)).context(describe)?;
        let mut head = format!(
            "{} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.method,
            self.body.len()
        );
        for (name, value) in &self.headers {
            // Writing to a String cannot fail.
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&self.body)).context(describe)?;
        read_response(BufReader::new(stream), self.method == "HEAD").context(describe)
    }
}

/// The port and path of `url` if it is a plain-http loopback address.
fn loopback_target(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
    let (host, port) = authority.rsplit_once(':')?;
    if host != "127.0.0.1" && !host.eq_ignore_ascii_case("localhost") {
        return None;
    }
    let port = port.parse::<u16>().ok().filter(|&port| port != 0)?;
    Some((port, path.to_owned()))
}

/// `text` as `application/x-www-form-urlencoded` writes it.
fn form_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                encoded.push(char::from(byte));
            }
            b' ' => encoded.push('+'),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(encoded, "%{byte:02X}");
            }
        }
    }
    encoded
}

/// Reads a status line, headers and body from `reader`; `head_only` for an answer to HEAD.
fn read_response(mut reader: impl BufRead, head_only: bool) -> Result<Response> {
    let status_line = read_line(&mut reader)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| status_line.starts_with("HTTP/1."))
        .ok_or_else(|| Error::new(format!("not an HTTP answer: {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut reader)?;
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut response = Response { status, headers, body: Vec::new() };
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(response);
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    response.body = if chunked {
        read_chunked(&mut reader)?
    } else if let Some(length) = response.header("content-length") {
        let length = length.parse::<usize>().map_err(|_| Error::new(format!("a bad length: {length}")))?;
        if length > BODY_LIMIT {
            return Err(Error::new(format!("an answer of {length} bytes is too large")));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).context(|| "reading the body".to_owned())?;
        body
    } else {
        // Neither: the body ends with the connection, which `Connection: close` asked for.
        let mut body = Vec::new();
        reader.take(BODY_LIMIT as u64).read_to_end(&mut body).context(|| "reading the body".to_owned())?;
        body
    };
    Ok(response)
}

/// A body sent in chunks, put back together.
fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| Error::new(format!("a bad chunk size: {line:?}")))?;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > BODY_LIMIT {
            return Err(Error::new("a chunked answer too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).context(|| "reading a chunk".to_owned())?;
        read_line(reader)?;
    }
}

/// One line without its line ending; an error at the end of the stream.
fn read_line(reader: &mut impl BufRead) -> Result<String> {
    let mut line = String::new();
    let read = reader.read_line(&mut line).context(|| "reading the answer".to_owned())?;
    if read == 0 {
        return Err(Error::new("the connection closed before the answer was complete"));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// A one-shot server on a free loopback port that answers `reply` and hands back what it
    /// received.
    fn serve_once(reply: &'static str) -> (u16, thread::JoinHandle<String>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut received = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                received.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            received.push_str(&String::from_utf8(body).unwrap());
            stream.write_all(reply.as_bytes()).unwrap();
            received
        });
        (port, server)
    }

    #[test]
    fn only_loopback_addresses_are_targets() {
        assert_eq!(loopback_target("http://127.0.0.1:8080/api/x?y=1"), Some((8080, "/api/x?y=1".to_owned())));
        assert_eq!(loopback_target("http://localhost:9"), Some((9, "/".to_owned())));
        for refused in [
            "https://127.0.0.1:8080/",
            "http://example.com:80/",
            "http://10.0.0.1:80/",
            "http://127.0.0.1/",
            "http://127.0.0.1:0/",
            "http://127.0.0.1.example.com:80/",
        ] {
            assert_eq!(loopback_target(refused), None, "{refused}");
        }
        assert!(Request::get("http://example.com:80/").send().is_err());
    }

    #[test]
    fn a_form_is_encoded_as_browsers_encode_it() {
        assert_eq!(form_encode("approve"), "approve");
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn a_request_carries_its_headers_and_body_and_the_answer_is_read_by_its_length() {
        let (port, server) = serve_once(
            "HTTP/1.1 201 Created\r\nContent-Length: 11\r\nSet-Cookie: s=1; Path=/\r\n\r\n{\"ok\":true}",
        );
        let answer = Request::post(format!("http://127.0.0.1:{port}/api/x"))
            .header("Idempotency-Key", "k1")
            .json(&serde_json::json!({"a": 1}))
            .send()
            .unwrap();
        assert_eq!(answer.status, 201);
        assert_eq!(answer.header("set-cookie"), Some("s=1; Path=/"));
        assert_eq!(answer.json().unwrap(), serde_json::json!({"ok": true}));
        let received = server.join().unwrap();
        assert!(received.starts_with("POST /api/x HTTP/1.1\r\n"), "{received}");
        assert!(received.contains("Idempotency-Key: k1\r\n"), "{received}");
        assert!(received.ends_with("\r\n\r\n{\"a\":1}"), "{received}");
    }

    #[test]
    fn a_chunked_answer_is_put_back_together() {
        let (port, server) = serve_once(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n",
        );
        let answer = Request::get(format!("http://127.0.0.1:{port}/")).send().unwrap();
        assert_eq!(answer.text(), "hello, world");
        server.join().unwrap();
    }

    #[test]
    fn an_answer_without_a_length_ends_with_the_connection() {
        let (port, server) = serve_once("HTTP/1.1 200 OK\r\n\r\nuntil the end");
        let answer = Request::get(format!("http://127.0.0.1:{port}/")).send().unwrap();
        assert_eq!(answer.text(), "until the end");
        server.join().unwrap();
    }

    #[test]
    fn a_closed_port_is_no_answer() {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        assert!(Request::get(format!("http://127.0.0.1:{port}/")).send().is_err());
    }
}
