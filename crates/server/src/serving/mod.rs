//! Serving connections: an accept loop of our own in front of hyper, so that an open live event
//! stream costs the server a few kilobytes instead of the 16 KiB and more that hyper's buffers
//! take for every connection (its read and write buffers start at 8 KiB each, and cannot be made
//! smaller).
//!
//! Each connection's first request head is read into a small buffer and looked at. A `GET` of a
//! live event stream without a body ([`event_streams`]) is answered here, through the router as
//! any request is, and the connection closes after it: a stream stays open for hours, so there is
//! nothing to keep alive. Everything else (and anything this module does not recognise: a head
//! too large, junk, a body, a second request already sent) goes to hyper's HTTP/1 server with the
//! bytes already read replayed first, and is served as before, keep-alive and all. A stream asked
//! for on a connection that already carried another request is hyper's too, as it was before.
//!
//! The server speaks no HTTP/2 (axum's `http2` feature is off), so the auto-detecting builder
//! `axum::serve` used had nothing to detect; hyper's HTTP/1 builder serves directly.
//!
//! Nobody holds a connection by sending slowly: a request head must arrive whole within
//! [`HEAD_WITHIN`] (the first here, later ones on a kept-alive connection by hyper's timer, which
//! also lets a kept-alive connection go once it has sent nothing for that long), and a request
//! body within [`BODY_WITHIN`] of being asked for. hyper's own 30-second head timeout needs a
//! timer it is given, and without one is silently off.
//!
//! Shutdown is graceful, as `axum::serve` made it: when `stopping` turns true no new connection is
//! accepted, a connection that has not sent a whole request head is closed, hyper finishes the
//! request it is answering and then closes, and a live event stream ends by itself (each stream
//! watches the same signal, `routes::live`); [`serve`] returns once every connection is closed.

mod event_streams;

use std::future::Future as _;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, header};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

/// Room for a connection's first read: a browser's request head, cookie and all, fits.
const HEAD_FIRST: usize = 1024;
/// The most of a first request head read here; a larger one is hyper's to answer (it allows more,
/// and says 431 beyond that).
const HEAD_AT_MOST: usize = 16 * 1024;
/// How long a request head may take to arrive whole, from the moment one is awaited (hyper's
/// default): a connection that sends none, or half of one, is closed after this.
const HEAD_WITHIN: Duration = Duration::from_secs(30);
/// How long a request body may take to arrive whole, once the handler asks for it. The largest
/// body taken is 64 KiB: seconds over the slowest phone line.
const BODY_WITHIN: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `stopping` turns true, then waits for every connection to
/// close. Each connection's peer reaches the router as [`ConnectInfo<SocketAddr>`].
pub(crate) async fn serve(mut listener: TcpListener, router: Router, mut stopping: watch::Receiver<bool>) {
    // Every connection's task holds a receiver; the sender sees them all gone.
    let (all_closed, open) = watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            // Errors (out of file descriptors, a connection reset before it was accepted) are
            // logged and waited out by axum's listener, as `axum::serve` did.
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        // Small writes (live events, short JSON answers) go out at once, not after Nagle's wait.
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, peer, router.clone(), stopping.clone(), open.clone()));
    }
    drop(listener);
    drop(open);
    all_closed.closed().await;
}

/// What a connection's first request turned out to be.
enum First {
    /// The client closed the connection before sending anything (or it broke).
    Gone,
    /// A live event stream, to answer here.
    EventStream(Box<event_streams::Request>),
    /// Anything else: hyper's, with what was read so far.
    Other(Vec<u8>),
}

/// Serves one connection; `_open` is held until it closes.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    mut stopping: watch::Receiver<bool>,
    _open: watch::Receiver<()>,
) {
    let first = tokio::select! {
        // Boxed, like the other phases: the task keeps, for as long as a stream is open, only
        // what streaming needs, not the room the largest phase took.
        first = Box::pin(tokio::time::timeout(HEAD_WITHIN, first_request(&mut stream))) => {
            // No whole head in time: closed, as hyper closes one.
            first.unwrap_or(First::Gone)
        }
        // As hyper closes a connection that has not sent a whole request head when shutting down.
        _ = stopping.wait_for(|stop| *stop) => return,
    };
    match first {
        First::Gone => {}
        First::EventStream(mut request) => {
            drop(stopping);
            request.extensions_mut().insert(ConnectInfo(peer));
            event_streams::answer(stream, request, router).await;
        }
        First::Other(read) => {
            Box::pin(with_hyper(Replayed { read, at: 0, stream }, peer, router, stopping)).await;
        }
    }
}

/// Reads the first request head, as far as needed to tell whether it is a live event stream.
async fn first_request(stream: &mut (impl AsyncRead + Unpin)) -> First {
    let mut read = Vec::with_capacity(HEAD_FIRST);
    loop {
        if read.len() == read.capacity() {
            // Doubling, up to the most looked at.
            read.reserve_exact(read.len().min(HEAD_AT_MOST - read.len()));
        }
        match stream.read_buf(&mut read).await {
            Ok(0) if read.is_empty() => return First::Gone,
            // Closed in the middle of a head: hyper treats it as it always did.
            Ok(0) => return First::Other(read),
            Ok(_) => {}
            Err(_) => return First::Gone,
        }
        match event_streams::request_of(&read) {
            event_streams::Head::EventStream(request) => return First::EventStream(request),
            event_streams::Head::Incomplete if read.len() < HEAD_AT_MOST => {}
            event_streams::Head::Incomplete | event_streams::Head::Other => return First::Other(read),
        }
    }
}

/// Serves a connection with hyper (HTTP/1, keep-alive), gracefully shutting it down when
/// `stopping` turns true.
async fn with_hyper(io: Replayed, peer: SocketAddr, router: Router, mut stopping: watch::Receiver<bool>) {
    let service = hyper::service::service_fn(move |request: axum::http::Request<Incoming>| {
        let mut request = request.map(|body| axum::body::Body::new(BodyWithin::new(body)));
        request.extensions_mut().insert(ConnectInfo(peer));
        // A clone of the router is a reference count; layering it here would rebuild its routes.
        let answered = router.clone().oneshot(request);
        async move {
            let mut response = answered.await?;
            if is_event_stream(response.headers()) {
                // A stream asked for on a kept-alive connection ends with it too, and says
                // so: a client that stops listening then closes the connection at once.
                // Chromium reads on a closed chunked stream of a reusable connection, to
                // reuse it, holding one of the six connections it keeps to a server: the
                // landing page's next cold load waited for them (`cargo xtask bench`: a
                // median of 1.28 s, 0.95 s with this).
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_WITHIN)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(e) = served {
                tracing::trace!(error = %e, "a connection ended with an error");
            }
            return;
        }
        _ = stopping.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
    }
    if let Err(e) = connection.await {
        tracing::trace!(error = %e, "a connection ended with an error while shutting down");
    }
}

/// Whether an answer is a live event stream.
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// A request body that must arrive whole within [`BODY_WITHIN`] of the first time it is read: a
/// client sending a byte now and then cannot hold a connection and a handler for ever. (Not
/// tower-http's `TimeoutBody`, which waits that long between any two pieces, however many.)
struct BodyWithin {
    body: Incoming,
    /// Set at the first read.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl BodyWithin {
    const fn new(body: Incoming) -> Self {
        Self { body, deadline: None }
    }
}

/// A request body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} seconds", BODY_WITHIN.as_secs())]
struct BodyTooSlow;

impl Body for BodyWithin {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if !this.body.is_end_stream() {
            let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(BODY_WITHIN)));
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err(BodyTooSlow.into())));
            }
        }
        Pin::new(&mut this.body).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection whose first bytes were read already: they are read again first, then the
/// connection itself. Their buffer is freed once read.
struct Replayed {
    read: Vec<u8>,
    at: usize,
    stream: TcpStream,
}

impl AsyncRead for Replayed {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.read.len() {
            let rest = &this.read[this.at..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.at += n;
            if this.at == this.read.len() {
                this.read = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replayed {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A connection that delivers its bytes in the pieces given, one a read (as much of it as fits),
    /// then ends.
    struct Pieces(VecDeque<Vec<u8>>);

    impl AsyncRead for Pieces {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let pieces = &mut self.get_mut().0;
            if let Some(mut piece) = pieces.pop_front() {
                let rest = piece.split_off(piece.len().min(buf.remaining()));
                buf.put_slice(&piece);
                if !rest.is_empty() {
                    pieces.push_front(rest);
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    async fn first_of(pieces: &[&[u8]]) -> First {
        first_request(&mut Pieces(pieces.iter().map(|p| p.to_vec()).collect())).await
    }

    #[tokio::test]
    async fn a_stream_request_head_read_in_pieces_is_read_whole() {
        let head = b"GET /api/tills/till-1/events HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\n\r\n";
        let pieces: Vec<&[u8]> = head.chunks(5).collect();
        let First::EventStream(request) = first_of(&pieces).await else { panic!("read as a stream request") };
        assert_eq!(request.headers()["cookie"], "a=b");
    }

    #[tokio::test]
    async fn anything_else_is_hyper_s_with_every_byte_read_and_nothing_is_nothing() {
        let First::Other(read) = first_of(&[b"POST /api/pair HTTP/1.1\r\n", b"Content-Length: 2\r\n"]).await
        else {
            panic!("hyper's")
        };
        assert_eq!(read, b"POST /api/pair HTTP/1.1\r\n", "told apart by its first bytes, and kept");
        let First::Other(read) = first_of(&[b"GET /api/tills/t/events HTTP/1.1\r\n"]).await else {
            panic!("cut short: hyper's")
        };
        assert_eq!(read, b"GET /api/tills/t/events HTTP/1.1\r\n");
        assert!(matches!(first_of(&[]).await, First::Gone));
    }

    #[tokio::test]
    async fn a_head_larger_than_the_most_looked_at_is_hyper_s() {
        let line = format!("GET /api/tills/t/events HTTP/1.1\r\nX-Padding: {}", "p".repeat(HEAD_AT_MOST));
        let pieces: Vec<&[u8]> = line.as_bytes().chunks(1000).collect();
        let First::Other(read) = first_of(&pieces).await else { panic!("hyper's") };
        assert_eq!(read.len(), HEAD_AT_MOST, "read up to the most, and no further");
        assert_eq!(read, line.as_bytes()[..HEAD_AT_MOST]);
    }

    /// A server on a free port whose every answer says how many body bytes it read.
    async fn serving() -> (SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        let router = Router::new().fallback(|body: Bytes| async move { format!("{} bytes", body.len()) });
        let (stop, stopping) = watch::channel(false);
        tokio::spawn(serve(listener, router, stopping));
        (at, stop)
    }

    /// What the server sends on `client` until it closes the connection; `None` if it still holds
    /// it after ten minutes (of the test's paused clock, which runs ahead whenever all is idle).
    async fn until_closed(client: &mut TcpStream) -> Option<String> {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_mins(10), client.read_to_end(&mut answer)).await;
        read.ok().map(|_| String::from_utf8_lossy(&answer).into_owned())
    }

    async fn sent(at: SocketAddr, bytes: &[u8]) -> TcpStream {
        let mut client = TcpStream::connect(at).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut client, bytes).await.unwrap();
        client
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_never_sends_a_whole_request_head_is_closed_not_held() {
        let (at, _stop) = serving().await;
        let mut silent = sent(at, b"").await;
        assert_eq!(until_closed(&mut silent).await.as_deref(), Some(""), "nothing sent");
        let mut half = sent(at, b"POST /api/pair HTTP/1.1\r\nHost: x\r\n").await;
        assert_eq!(until_closed(&mut half).await.as_deref(), Some(""), "half a head");
        let mut stream = sent(at, b"GET /api/tills/t/events HTTP/1.1\r\nHost: x\r\n").await;
        assert_eq!(until_closed(&mut stream).await.as_deref(), Some(""), "half a stream's head");
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_that_goes_quiet_or_a_body_that_stops_coming_is_let_go() {
        let (at, _stop) = serving().await;
        let mut quiet = sent(at, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").await;
        let answer = until_closed(&mut quiet).await.expect("closed once quiet");
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("3 bytes"),
            "answered first: {answer}"
        );

        let mut trickle = sent(at, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc").await;
        for _ in 0..5 {
            // A byte every 20 s: never quiet for as long as a head may take, yet never done.
            tokio::time::sleep(Duration::from_secs(20)).await;
            let _ = tokio::io::AsyncWriteExt::write_all(&mut trickle, b"d").await;
        }
        let answer = until_closed(&mut trickle).await.expect("closed");
        assert!(answer.starts_with("HTTP/1.1 400"), "refused, not served: {answer}");
    }

    #[tokio::test]
    async fn what_was_read_is_read_again_first_then_the_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut client, b" world").await.unwrap();
        drop(client);
        let mut replayed = Replayed { read: b"hello".to_vec(), at: 0, stream };
        let mut all = String::new();
        replayed.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "hello world");
        assert_eq!(replayed.read.capacity(), 0, "the bytes read first are freed once read again");
    }
}
