//! Live event streams answered without hyper: a connection whose first request is `GET
//! /api/tills/{till}/events`, `/api/payments/{token}/events` or
//! `/api/stickers/{sticker}/events`, without a body, is answered through the router like any
//! request, and its answer is written here: the status line and headers once, then the body
//! frame by frame as the router's stream yields them.
//!
//! The body is delimited by closing the connection (`connection: close`, no length, no chunked
//! coding). A stream ends only when the connection does anyway, and this framing is valid in
//! HTTP/1.0 and 1.1 alike, needs no bytes or buffer around each event, and is what browsers'
//! `EventSource`, curl, and reverse proxies (nginx, Caddy) read as a matter of course: they pass
//! each event on as it arrives when they do not buffer (`proxy_buffering off`, `flush_interval
//! -1`), and take the connection out of their keep-alive pool. An answer whose length is known
//! (a refusal's problem+json) says it in `content-length`, then the connection closes too.
//!
//! While streaming, the socket is watched for the client closing it: a read that ends (or fails)
//! drops the stream at once, with its place on its channel and its count in `/metrics`, as hyper
//! did. Anything the client sends meanwhile is read and thrown away.

use std::io::Write as _;
use std::pin::Pin;

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version, header, response};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tower::ServiceExt as _;

/// A request, as the router takes it.
pub(super) type Request = axum::http::Request<Body>;

/// The most header lines looked at; a head with more is hyper's (which takes 100 too).
const MAX_HEADERS: usize = 100;

/// What the bytes read so far of a connection's first request head are.
pub(super) enum Head {
    /// The start of what may be a live event stream's request.
    Incomplete,
    /// A live event stream's request, complete, and nothing after it.
    EventStream(Box<Request>),
    /// Anything else.
    Other,
}

/// What `read` (the first bytes of a connection) holds: see [`Head`].
pub(super) fn request_of(read: &[u8]) -> Head {
    // Most connections are told apart by their first bytes, without parsing.
    const START: &[u8] = b"GET /api/";
    let start = read.len().min(START.len());
    if read[..start] != START[..start] {
        return Head::Other;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(read) {
        Ok(httparse::Status::Partial) => Head::Incomplete,
        // Bytes after the head (a body, or a request sent before this one was answered) are
        // hyper's to make sense of.
        Ok(httparse::Status::Complete(length)) if length == read.len() => {
            event_stream_request(&parsed).map_or(Head::Other, |request| Head::EventStream(Box::new(request)))
        }
        Ok(httparse::Status::Complete(_)) | Err(_) => Head::Other,
    }
}

/// The request `parsed` is, if it is a live event stream's: a `GET` of one of their paths in
/// HTTP/1.0 or 1.1, without a body, with headers the router can take.
fn event_stream_request(parsed: &httparse::Request<'_, '_>) -> Option<Request> {
    if parsed.method? != "GET" {
        return None;
    }
    let target = parsed.path?;
    if !is_event_stream(target) {
        return None;
    }
    let version = match parsed.version? {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => return None,
    };
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    for line in &*parsed.headers {
        let name = HeaderName::from_bytes(line.name.as_bytes()).ok()?;
        let empty = match name {
            header::TRANSFER_ENCODING => false,
            header::CONTENT_LENGTH => line.value.trim_ascii() == b"0",
            _ => true,
        };
        if !empty {
            // A body to read: hyper reads it (and the router refuses it as before).
            return None;
        }
        headers.append(name, HeaderValue::from_bytes(line.value).ok()?);
    }
    let mut request = Request::new(Body::empty());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = target.parse().ok()?;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Some(request)
}

/// Whether a request target is a live event stream's path (`routes::router`'s
/// `/api/tills/{till}/events`, `/api/payments/{token}/events` and `/api/stickers/{sticker}/events`),
/// whatever its query.
fn is_event_stream(target: &str) -> bool {
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let Some(rest) = ["/api/tills/", "/api/payments/", "/api/stickers/"]
        .into_iter()
        .find_map(|prefix| path.strip_prefix(prefix))
    else {
        return false;
    };
    rest.strip_suffix("/events").is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// Answers `request` on `stream` through `router` (see the module's docs), then closes the
/// connection.
pub(super) async fn answer(mut stream: TcpStream, request: Box<Request>, router: Router) {
    // Moved out of its box in a block of its own: a box moved out of is freed where its binding
    // ends, which would otherwise be when the stream does.
    let request = {
        let boxed = request;
        *boxed
    };
    // Boxed: routing's futures are large, and once the answer is there they are gone; the task
    // keeps for the stream's life only what streaming needs.
    let Ok(response) = Box::pin(router.oneshot(request)).await;
    let (parts, body) = response.into_parts();
    // As hyper: 204 and 304 have no body, and say no length.
    let bodiless = matches!(parts.status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let length = if bodiless { None } else { body.size_hint().exact() };
    let head = response_head(&parts, length, bodiless);
    // The headers are written once; only the body is kept.
    drop(parts);
    if stream.write_all(&head).await.is_err() {
        return;
    }
    drop(head);
    if !bodiless {
        stream_body(&mut stream, body).await;
    }
    let _ = stream.shutdown().await;
}

/// The status line and headers of an answer, framed as the module's docs say: `length` is the
/// body's when known, `bodiless` when there is none to frame.
fn response_head(parts: &response::Parts, length: Option<u64>, bodiless: bool) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    // Writing to a Vec cannot fail.
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_str(),
        parts.status.canonical_reason().unwrap_or("")
    );
    let (mut has_length, mut has_date) = (false, false);
    for (name, value) in &parts.headers {
        match *name {
            // How this connection is framed is for this module to say.
            header::CONNECTION | header::TRANSFER_ENCODING => continue,
            header::CONTENT_LENGTH => has_length = true,
            header::DATE => has_date = true,
            _ => {}
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !has_date {
        // As hyper does: an origin server with a clock says when it answered.
        let _ = write!(head, "date: {}\r\n", chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT"));
    }
    if let Some(length) = length.filter(|_| !has_length && !bodiless) {
        let _ = write!(head, "content-length: {length}\r\n");
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    head
}

/// Writes `body` to `stream` as it comes, until it ends, fails, or the client goes.
async fn stream_body(stream: &mut TcpStream, mut body: Body) {
    loop {
        let frame = tokio::select! {
            // What the body has goes out before the socket is looked at again.
            biased;
            frame = next_frame(&mut body) => frame,
            // Polled readiness rather than `readable()`: it keeps no waiter of its own in the task,
            // and counts against the task's budget, so a client that keeps sending cannot keep the
            // thread from its other tasks.
            _ = std::future::poll_fn(|cx| stream.poll_read_ready(cx)) => {
                if client_gone(stream) {
                    return;
                }
                continue;
            }
        };
        match frame {
            None => return,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "a live event stream's body failed");
                return;
            }
            Some(Ok(data)) => {
                if stream.write_all(&data).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The body's next frame, if any.
async fn next_frame(body: &mut Body) -> Option<Result<axum::body::Bytes, axum::Error>> {
    let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await?;
    // Trailers (which nothing sends) have no place in this framing: an empty frame instead.
    Some(frame.map(|frame| frame.into_data().unwrap_or_default()))
}

/// Whether the client closed (or broke) a connection that was reported readable; whatever it
/// sent instead is thrown away, a little at a time so a flood cannot hold the thread.
fn client_gone(stream: &TcpStream) -> bool {
    let mut discarded = [0u8; 256];
    for _ in 0..16 {
        match stream.try_read(&mut discarded) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        request_of(text.as_bytes())
    }

    #[test]
    fn only_live_event_stream_paths_are_streams() {
        for path in [
            "/api/tills/till-1/events",
            "/api/tills/till-1/events?after=3",
            "/api/payments/abc/events",
            "/api/payments/abc/events?after=0&x=/y",
            "/api/stickers/s/events",
        ] {
            assert!(is_event_stream(path), "{path}");
        }
        for path in [
            "/api/tills/till-1",
            "/api/tills//events",
            "/api/tills/till-1/events/",
            "/api/tills/a/b/events",
            "/api/tills/till-1/eventsx",
            "/api/stickers/s/payments",
            "/api/stickers//events",
            "/api/payments/abc",
            "/events",
            "/api/tills/events",
        ] {
            assert!(!is_event_stream(path), "{path}");
        }
    }

    #[test]
    fn a_complete_stream_request_is_one_and_its_headers_reach_the_router() {
        let Head::EventStream(request) = head(
            "GET /api/tills/till-1/events?after=7 HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\nLast-Event-ID: 9\r\n\
             Content-Length: 0\r\n\r\n",
        ) else {
            panic!("a stream request")
        };
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri(), "/api/tills/till-1/events?after=7");
        assert_eq!(request.version(), Version::HTTP_11);
        assert_eq!(request.headers()["cookie"], "a=b");
        assert_eq!(request.headers()["last-event-id"], "9");
        assert!(matches!(head("GET /api/payments/t/events HTTP/1.0\r\n\r\n"), Head::EventStream(_)));
    }

    #[test]
    fn a_head_cut_short_is_waited_for_and_anything_else_is_hyper_s() {
        for partial in ["G", "GET /ap", "GET /api/tills/till-1/events HTTP/1.1\r\nHost: x\r\n"] {
            assert!(matches!(head(partial), Head::Incomplete), "{partial:?}");
        }
        for other in [
            "POST /api/pair HTTP/1.1\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "HEAD /api/tills/till-1/events HTTP/1.1\r\n\r\n",
            "GET /api/tills/till-1 HTTP/1.1\r\n\r\n",
            // A body, however it is framed.
            "GET /api/tills/till-1/events HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
            "GET /api/tills/till-1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            // A second request already sent.
            "GET /api/tills/till-1/events HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            "GET /api/\x01 junk\r\n\r\n",
        ] {
            assert!(matches!(head(other), Head::Other), "{other:?}");
        }
    }

    #[test]
    fn an_answer_s_head_frames_it_by_closing_and_says_a_known_length() {
        let response = axum::http::Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(header::CONTENT_TYPE, "application/problem+json")
            .header(header::CONNECTION, "keep-alive")
            .body(())
            .unwrap();
        let (parts, ()) = response.into_parts();
        let text = String::from_utf8(response_head(&parts, Some(42), false)).unwrap();
        assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{text}");
        assert!(text.contains("\r\ncontent-type: application/problem+json\r\n"), "{text}");
        assert!(text.contains("\r\ncontent-length: 42\r\n"), "{text}");
        assert!(text.contains("\r\ndate: "), "{text}");
        assert!(text.ends_with("\r\nconnection: close\r\n\r\n"), "{text}");
        assert!(!text.contains("keep-alive"), "{text}");

        let streaming = String::from_utf8(response_head(&parts, None, false)).unwrap();
        assert!(!streaming.contains("content-length"), "{streaming}");
    }
}
