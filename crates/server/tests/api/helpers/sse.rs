//! The till's live event stream as a page reads it: opened on a [`TestApp`]'s browser, read a
//! chunk at a time, and parsed into server-sent events ([`SseEvent`]), each a till event.

use super::*;

impl TestApp {
    /// Opens the till's live event stream as a page does on load: `?after=` its snapshot's id.
    pub(crate) async fn events_after(&self, after: u64) -> EventStream {
        self.open_events(&format!("/api/tills/{TILL}/events?after={after}"), None).await
    }

    /// Opens the till's live event stream with `?after=` and `Last-Event-ID`, as a browser's
    /// `EventSource` does when it reconnects to the URL it first opened.
    pub(crate) async fn reconnect_events(&self, first_after: u64, last_event_id: i64) -> EventStream {
        self.open_events(&format!("/api/tills/{TILL}/events?after={first_after}"), Some(last_event_id)).await
    }

    async fn open_events(&self, path: &str, last_event_id: Option<i64>) -> EventStream {
        let mut request =
            self.http.get(format!("{}{path}", self.base)).header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), StatusCode::OK, "the event stream opens");
        let headers = response.headers().clone();
        assert!(
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream")),
            "the live events are server-sent events: {headers:?}"
        );
        self.seen.lock().unwrap().push(header_text(&headers));
        EventStream::new(response, &self.seen)
    }

    /// `till`'s live event stream from its start, read through `browser` (paired with it).
    pub(crate) async fn events_of(&self, browser: &reqwest::Client, till: &str) -> EventStream {
        let response = browser
            .get(format!("{}/api/tills/{till}/events?after=0", self.base))
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), StatusCode::OK, "{till}'s event stream opens");
        EventStream::new(response, &self.seen)
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<i64>,
    pub(crate) data: String,
}

impl SseEvent {
    /// Parses one event block; `None` for a block without data (a keep-alive comment).
    pub(crate) fn parse(block: &str) -> Option<Self> {
        let mut id = None;
        let mut data: Option<String> = None;
        for line in block.lines().filter(|l| !l.is_empty() && !l.starts_with(':')) {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = Some(value.parse().expect("event ids are numbers")),
                "data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => data = Some(value.to_owned()),
                },
                _ => {}
            }
        }
        data.map(|data| Self { id, data })
    }

    /// The till event this is.
    pub(crate) fn event(&self) -> TillEvent {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("not a till event ({e}): {}", self.data))
    }

    /// The sale this event carries.
    pub(crate) fn sale(&self) -> Sale {
        match self.event() {
            TillEvent::Sale { sale } => sale,
            other => panic!("a till event, but not a sale: {other:?}"),
        }
    }

    /// The sale this event carries, if it is a sale event.
    pub(crate) fn sale_if_any(&self) -> Option<Sale> {
        match self.event() {
            TillEvent::Sale { sale } => Some(sale),
            _ => None,
        }
    }

    /// The check-in this event carries, if it is a check-in event.
    pub(crate) fn check_in_if_any(&self) -> Option<CheckIn> {
        match self.event() {
            TillEvent::CheckIn { check_in } => Some(check_in),
            _ => None,
        }
    }
}

/// A till's live event stream, read a chunk at a time.
pub(crate) struct EventStream {
    response: reqwest::Response,
    pub(crate) headers: HeaderMap,
    pending: Vec<u8>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl EventStream {
    /// Reads `response` (an open event stream) as one, recording what it sends in `seen`. Every
    /// stream, the tills' and the landing pages' alike, tells a proxy not to buffer it.
    pub(crate) fn new(response: reqwest::Response, seen: &Arc<Mutex<Vec<String>>>) -> Self {
        let headers = response.headers().clone();
        assert_eq!(
            headers.get("x-accel-buffering").and_then(|v| v.to_str().ok()),
            Some("no"),
            "{} is sent on at once by a proxy: {headers:?}",
            response.url().path()
        );
        Self { response, headers, pending: Vec::new(), seen: Arc::clone(seen) }
    }

    /// The next event (keep-alives skipped), however long it takes.
    pub(crate) async fn read_event(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("events are UTF-8");
                self.seen.lock().unwrap().push(text.clone());
                if let Some(event) = SseEvent::parse(&text) {
                    return event;
                }
                continue;
            }
            let chunk = self.response.chunk().await.expect("the stream keeps working");
            let chunk = chunk.expect("the server keeps the stream open");
            self.pending.extend_from_slice(&chunk);
        }
    }

    /// Reads events until one satisfies `done`, and returns them all, that one last. Fails if
    /// it does not arrive within [`PATIENCE`].
    pub(crate) async fn next_event_until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&SseEvent) -> bool,
    ) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let arrived = tokio::time::timeout(PATIENCE, async {
            loop {
                let event = self.read_event().await;
                let last = done(&event);
                events.push(event);
                if last {
                    return;
                }
            }
        })
        .await;
        assert!(arrived.is_ok(), "no event {what} within {PATIENCE:?}; the stream sent {events:#?}");
        events
    }

    /// The next `n` events.
    pub(crate) async fn next_events(&mut self, n: usize) -> Vec<SseEvent> {
        if n == 0 {
            return Vec::new();
        }
        let mut count = 0;
        self.next_event_until(&format!("number {n}"), |_| {
            count += 1;
            count == n
        })
        .await
    }

    /// Reads until `reference` reaches `status`; returns the events read, that one last.
    /// Check-in events on the way are read too, and returned.
    pub(crate) async fn until_sale_is(&mut self, reference: &str, status: SaleStatus) -> Vec<SseEvent> {
        self.next_event_until(&format!("showing {reference} {status:?}"), |e| {
            e.sale_if_any().is_some_and(|sale| sale.reference == reference && sale.status == status)
        })
        .await
    }

    /// Reads until `reference` says something failed (`failure`); returns the sale then.
    pub(crate) async fn until_sale_says_why(&mut self, reference: &str) -> Sale {
        let read = self
            .next_event_until(&format!("{reference} saying what failed"), |e| {
                e.sale_if_any().is_some_and(|sale| sale.reference == reference && sale.failure.is_some())
            })
            .await;
        read.last().and_then(SseEvent::sale_if_any).unwrap_or_else(|| panic!("no sale in {read:?}"))
    }

    /// Reads until a check-in event satisfies `done`; returns that check-in.
    pub(crate) async fn until_check_in(
        &mut self,
        what: &str,
        mut done: impl FnMut(&CheckIn) -> bool,
    ) -> CheckIn {
        let events = self.next_event_until(what, |e| e.check_in_if_any().is_some_and(|c| done(&c))).await;
        events.last().and_then(SseEvent::check_in_if_any).expect("the last event read is the check-in")
    }
}

/// The statuses of the sale events in a run of events (news of the platform's reachability,
/// which a fault knob can bring about, is not a sale's).
pub(crate) fn statuses(events: &[SseEvent]) -> Vec<SaleStatus> {
    events
        .iter()
        .filter(|e| !matches!(e.event(), TillEvent::Platform { .. }))
        .map(|e| e.sale().status)
        .collect()
}
