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
//! Shutdown is graceful, as `axum::serve` made it: when `stopping` turns true no new connection is
//! accepted, a connection that has not sent a whole request head is closed, hyper finishes the
//! request it is answering and then closes, and a live event stream ends by itself (each stream
//! watches the same signal, `routes::live`); [`serve`] returns once every connection is closed.

mod event_streams;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

/// Room for a connection's first read: a browser's request head, cookie and all, fits.
const HEAD_FIRST: usize = 1024;
/// The most of a first request head read here; a larger one is hyper's to answer (it allows more,
/// and says 431 beyond that).
const HEAD_AT_MOST: usize = 16 * 1024;

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
        first = Box::pin(first_request(&mut stream)) => first,
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
    let service =
        hyper::service::service_fn(move |mut request: axum::http::Request<hyper::body::Incoming>| {
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
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service);
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
