//! The wire, as a hand-written HTTP/1.1 client sees it: a connection whose first request is a
//! live event stream is answered by the server's own small loop (the answer closes the
//! connection when it ends, with no length and no chunked coding, and carries the replayed and the
//! live events as they are); everything else is hyper's as before (keep-alive, a body, a stream
//! asked for after another request, a head too large for the small loop, junk). A client that
//! closes its stream is noticed at once, and stopping the server ends the streams open on it.

use std::net::SocketAddr;
use std::time::Duration;

use kasse_api::{Problem, Role};
use kasse_server::{Config, Running};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::*;

/// A connection to the server, as a hand-written client.
struct Wire {
    stream: TcpStream,
    /// What was read and not looked at yet.
    pending: Vec<u8>,
}

/// A response's status line and headers, read off the wire.
#[derive(Debug)]
struct Head {
    status: u16,
    /// Each header as (lower-case name, value).
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl Wire {
    async fn to(addr: std::net::SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("the server takes connections");
        // Each write goes out as it is made, so a head written in pieces arrives in pieces.
        stream.set_nodelay(true).unwrap();
        Self { stream, pending: Vec::new() }
    }

    /// Writes `pieces` one after the other, each flushed to the socket on its own.
    async fn send(&mut self, pieces: &[&[u8]]) {
        for piece in pieces {
            self.stream.write_all(piece).await.unwrap();
            self.stream.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
    }

    /// Reads more, failing after [`PATIENCE`]; `false` at the end of the connection.
    async fn read_more(&mut self) -> bool {
        let mut buffer = [0u8; 4096];
        let read = tokio::time::timeout(PATIENCE, self.stream.read(&mut buffer))
            .await
            .expect("the server answers within the patience");
        match read {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.pending.extend_from_slice(&buffer[..n]);
                true
            }
        }
    }

    /// The next response's status line and headers.
    async fn head(&mut self) -> Head {
        loop {
            if let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let text = String::from_utf8(self.pending.drain(..end + 4).collect()).unwrap();
                let mut lines = text.trim_end().split("\r\n");
                let status_line = lines.next().unwrap();
                let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
                assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
                let headers = lines
                    .map(|line| {
                        let (name, value) = line.split_once(':').unwrap();
                        (name.to_ascii_lowercase(), value.trim().to_owned())
                    })
                    .collect();
                return Head { status, headers };
            }
            assert!(self.read_more().await, "the connection closed before a whole head: {:?}", self.pending);
        }
    }

    /// A body of `length` bytes.
    async fn body(&mut self, length: usize) -> String {
        while self.pending.len() < length {
            assert!(self.read_more().await, "the connection closed in a body");
        }
        String::from_utf8(self.pending.drain(..length).collect()).unwrap()
    }

    /// Everything up to the end of the connection.
    async fn rest_until_closed(&mut self) -> String {
        while self.read_more().await {}
        String::from_utf8(std::mem::take(&mut self.pending)).unwrap()
    }

    /// Server-sent events read off a close-delimited body until one satisfies `done`, that one
    /// last; keep-alive comments are skipped.
    async fn events_until(&mut self, mut done: impl FnMut(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut events = Vec::new();
        loop {
            while let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8(self.pending.drain(..end + 2).collect()).unwrap();
                // Nothing but events: no chunk sizes between them.
                assert!(
                    block.lines().all(|l| l.is_empty() || l.starts_with(':') || l.contains(':')),
                    "not a server-sent event: {block:?}"
                );
                if let Some(event) = SseEvent::parse(&block) {
                    let last = done(&event);
                    events.push(event);
                    if last {
                        return events;
                    }
                }
            }
            assert!(self.read_more().await, "the stream ended; it sent {events:#?}");
        }
    }
}

/// A stream request for `path`, as a browser's `EventSource` makes it, with `extra` header lines.
fn stream_request(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: kasse.test\r\nAccept: text/event-stream\r\n{extra}\r\n")
}

/// The till's stream, asked for by hand with a fresh till session's cookie; the connection and
/// its cookie.
async fn till_stream(app: &TestApp, extra: &str) -> (Wire, String) {
    till_stream_of(&app.running, &app.base, extra).await
}

/// [`till_stream`] of any running server, at `base`.
async fn till_stream_of(running: &Running, base: &str, extra: &str) -> (Wire, String) {
    let cookie = pair(running, base, Role::Till).await;
    let mut wire = Wire::to(running.addr()).await;
    let request =
        stream_request(&format!("/api/tills/{TILL}/events"), &format!("Cookie: {cookie}\r\n{extra}"));
    wire.send(&[request.as_bytes()]).await;
    (wire, cookie)
}

/// Asserts `head` is an open stream's, framed by the server's own loop: closed when done.
fn assert_streaming_here(head: &Head) {
    assert_eq!(head.status, 200, "{head:?}");
    assert!(head.header("content-type").is_some_and(|v| v.starts_with("text/event-stream")), "{head:?}");
    assert_eq!(head.header("connection"), Some("close"), "the stream ends with its connection: {head:?}");
    assert_eq!(head.header("content-length"), None, "{head:?}");
    assert_eq!(head.header("transfer-encoding"), None, "not chunked: {head:?}");
    assert!(head.header("date").is_some(), "{head:?}");
    assert_eq!(head.header("x-content-type-options"), Some("nosniff"), "the router's layers ran: {head:?}");
    assert_eq!(head.header("x-accel-buffering"), Some("no"), "a proxy passes it on unbuffered: {head:?}");
}

/// The number of live streams `/metrics` counts.
async fn streams_counted(app: &TestApp) -> i64 {
    let text = app.get("/metrics").await.body;
    metric(&text, "kasse_live_streams").unwrap_or_else(|| panic!("no kasse_live_streams:\n{text}"))
}

#[tokio::test]
async fn a_stream_asked_for_by_hand_in_pieces_replays_after_its_last_event_id_and_carries_live_events() {
    let app = spawn_app().await;
    let before = app.snapshot().await.last_event_id;
    let missed = app.start_sale(2_000).await;
    let cookie = pair(&app.running, &app.base, Role::Till).await;

    let mut wire = Wire::to(app.running.addr()).await;
    let request = stream_request(
        &format!("/api/tills/{TILL}/events"),
        &format!("Cookie: {cookie}\r\nLast-Event-ID: {before}\r\n"),
    );
    // The head arrives a few bytes at a time, split inside the request line and a header.
    let bytes = request.as_bytes();
    wire.send(&[&bytes[..3], &bytes[3..17], &bytes[17..60], &bytes[60..]]).await;
    let head = wire.head().await;
    assert_streaming_here(&head);

    // Replayed: what happened after the Last-Event-ID, first of all the missed sale's start.
    let replayed =
        wire.events_until(|e| e.sale_if_any().is_some_and(|s| s.reference == missed.reference)).await;
    let first = replayed.first().unwrap();
    assert!(first.id.is_some_and(|id| id > i64::try_from(before).unwrap()), "after {before}: {replayed:#?}");

    // Live: the sale cancelled now, and the next one started, arrive on the open stream.
    assert_eq!(app.cancel(&missed.reference).await.status, reqwest::StatusCode::OK);
    let live = app.start_sale(3_000).await;
    let events = wire.events_until(|e| e.sale_if_any().is_some_and(|s| s.reference == live.reference)).await;
    assert!(
        events.iter().any(|e| {
            e.sale_if_any().is_some_and(|s| {
                s.reference == missed.reference && s.status == kasse_api::SaleStatus::Cancelled
            })
        }),
        "{events:#?}"
    );
    let ids: Vec<i64> = replayed.iter().chain(&events).filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "each event once, in order: {ids:?}");
}

#[tokio::test]
async fn a_refused_stream_gets_its_problem_with_its_length_and_the_connection_closes() {
    let app = spawn_app().await;
    let mut wire = Wire::to(app.running.addr()).await;
    wire.send(&[stream_request(&format!("/api/tills/{TILL}/events"), "").as_bytes()]).await;
    let head = wire.head().await;
    assert_eq!(head.status, 401, "{head:?}");
    assert_eq!(head.header("content-type"), Some(Problem::CONTENT_TYPE), "{head:?}");
    assert_eq!(head.header("connection"), Some("close"), "{head:?}");
    let length: usize = head.header("content-length").expect("a known length is said").parse().unwrap();
    let body = wire.body(length).await;
    let problem: Problem = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(problem.status, 401, "{problem:?}");
    assert_eq!(wire.rest_until_closed().await, "", "nothing after the answer, and the connection closes");

    // A payment that does not exist: the landing page's stream is refused the same way.
    let mut wire = Wire::to(app.running.addr()).await;
    wire.send(&[stream_request("/api/payments/no-such-token/events", "").as_bytes()]).await;
    let head = wire.head().await;
    assert_eq!(head.status, 404, "{head:?}");
    let length: usize = head.header("content-length").expect("a known length is said").parse().unwrap();
    assert!(wire.body(length).await.contains("\"status\":404"));
}

#[tokio::test]
async fn a_stream_whose_client_closes_its_socket_is_dropped_at_once() {
    let app = spawn_app_with(|config| config.limits.streams_per_till = 2).await;
    let (mut first, _) = till_stream(&app, "").await;
    assert_streaming_here(&first.head().await);
    let (mut second, _) = till_stream(&app, "").await;
    assert_streaming_here(&second.head().await);
    assert_eq!(streams_counted(&app).await, 2);
    drop(first);

    // There is no event for that: ask until it shows, well before a keep-alive (15 s) would have
    // found the socket closed.
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let noticed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tick.tick().await;
            if streams_counted(&app).await == 1 {
                return;
            }
        }
    })
    .await;
    assert!(noticed.is_ok(), "the closed stream is still counted");
    // Its place on the till is free again: a new stream is let in (two at most).
    let (mut third, _) = till_stream(&app, "").await;
    assert_streaming_here(&third.head().await);
    // And the one left open still carries what happens.
    let sale = app.start_sale(1_000).await;
    second.events_until(|e| e.sale_if_any().is_some_and(|s| s.reference == sale.reference)).await;
}

#[tokio::test]
async fn other_requests_are_served_as_before_with_keep_alive_and_bodies() {
    let app = spawn_app().await;
    let cookie = pair(&app.running, &app.base, Role::Till).await;
    let mut wire = Wire::to(app.running.addr()).await;

    // A body, then two more requests on the same connection, the last a stream asked for after
    // another request: all hyper's, each framed by its length or chunked.
    let body = json!({ "code": "WRONG-CODE" }).to_string();
    let pair_request = format!(
        "POST /api/pair HTTP/1.1\r\nHost: kasse.test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    wire.send(&[pair_request.as_bytes()]).await;
    let head = wire.head().await;
    assert!(head.status >= 400 && head.status < 500, "a wrong code is refused: {head:?}");
    assert_eq!(head.header("connection"), None, "kept alive: {head:?}");
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(wire.body(length).await.contains("\"status\""));

    let snapshot = format!("GET /api/tills/{TILL} HTTP/1.1\r\nHost: kasse.test\r\nCookie: {cookie}\r\n\r\n");
    wire.send(&[snapshot.as_bytes()]).await;
    let head = wire.head().await;
    assert_eq!(head.status, 200, "{head:?}");
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(wire.body(length).await.contains(TILL));

    let stream = stream_request(&format!("/api/tills/{TILL}/events"), &format!("Cookie: {cookie}\r\n"));
    wire.send(&[stream.as_bytes()]).await;
    let head = wire.head().await;
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("transfer-encoding"), Some("chunked"), "hyper's framing: {head:?}");
    // A client that stops listening closes the connection, rather than reading on to reuse it.
    assert_eq!(head.header("connection"), Some("close"), "the stream ends with its connection: {head:?}");
    assert_eq!(streams_counted(&app).await, 1);
}

#[tokio::test]
async fn a_head_too_large_to_look_at_is_hyper_s_and_junk_gets_hyper_s_400() {
    let app = spawn_app().await;
    let (mut wire, _) = till_stream(&app, &format!("X-Padding: {}\r\n", "p".repeat(20 * 1024))).await;
    let head = wire.head().await;
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("transfer-encoding"), Some("chunked"), "hyper's framing: {head:?}");

    let mut junk = Wire::to(app.running.addr()).await;
    junk.send(&[b"GET /api/\x01\x02 nonsense\r\n\r\n"]).await;
    let answer = junk.rest_until_closed().await;
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer:?}");
}

#[tokio::test]
async fn stopping_the_server_ends_the_streams_open_on_it() {
    // A server of its own, to stop (a test app's is stopped only with its process).
    let dir = std::env::temp_dir().join(format!("kasse-server-wire-{}", uuid::Uuid::new_v4().simple()));
    let mut config = Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), dir.join("dist"), &dir.join("data"));
    "sqlite::memory:".clone_into(&mut config.database_url);
    let running = kasse_server::start(config).await.expect("the server starts");
    let base = format!("http://{}", running.addr());
    let (mut wire, _) = till_stream_of(&running, &base, "").await;
    assert_streaming_here(&wire.head().await);
    let stopped = tokio::time::timeout(PATIENCE, running.stop()).await;
    assert!(stopped.is_ok(), "the server stops with a stream open");
    let rest = wire.rest_until_closed().await;
    assert!(rest.lines().all(|l| l.is_empty() || l.starts_with(':') || l.contains(':')), "{rest:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
