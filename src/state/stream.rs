//! When and where a live event stream opens again after the browser gave up on it.
//!
//! A browser's `EventSource` reconnects by itself after a dropped connection, but gives up for
//! good when a reconnection is answered with anything but a 200: a proxy's 502 while kasse-server
//! restarts, a 503 while the database is down or the server follows as many streams as it may, a
//! 429 for too many screens on one till. None of those is lasting, so the stream is opened again
//! after a wait that grows (1 s, doubling up to 30 s, so a server just back is not flooded), from
//! the last event it heard so the server replays what was missed. Only a session that ended stops
//! it: that page is being left for pairing.

/// The first wait before a stream the browser gave up on is opened again.
pub const FIRST_WAIT_MS: u32 = 1_000;

/// The longest wait between two attempts: a stream comes back at most this long after the
/// server does.
pub const LONGEST_WAIT_MS: u32 = 30_000;

/// Why the browser gave up on a stream, as far as the page can tell (an `EventSource` never says
/// the status it was answered with; a till's page asks the server about its session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// The stream's session ended (401): the page is leaving for pairing.
    SessionEnded,
    /// Anything else: a refusal that passes (too many streams, a server restarting or whose
    /// database is down), or no answer at all.
    Refused,
}

/// What to do after the browser gave up on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Open `url` after `wait_ms` milliseconds.
    Reopen {
        /// Where the stream opens again.
        url: String,
        /// How long to wait first.
        wait_ms: u32,
    },
    /// Open nothing: the page is being left.
    Stop,
}

/// One live event stream's way back: where it opens, from which event, and how long to wait
/// before the next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reopening {
    /// The stream's path, without `after`.
    path: String,
    /// The last event id heard (or the one the stream first resumed after); `None` for a stream
    /// without ids, which is opened afresh each time.
    after: Option<u64>,
    /// How long to wait before the next attempt.
    wait_ms: u32,
}

impl Reopening {
    /// A stream of numbered events at `path` that resumes after event `after`, and later after
    /// the last one it heard.
    pub fn resuming(path: impl Into<String>, after: u64) -> Self {
        Self { path: path.into(), after: Some(after), wait_ms: FIRST_WAIT_MS }
    }

    /// A stream without event ids at `path` (a sticker's, which sends what is now on opening).
    pub fn afresh(path: impl Into<String>) -> Self {
        Self { path: path.into(), after: None, wait_ms: FIRST_WAIT_MS }
    }

    /// The address to open now.
    pub fn url(&self) -> String {
        match self.after {
            Some(after) => format!("{}?after={after}", self.path),
            None => self.path.clone(),
        }
    }

    /// An event arrived carrying `last_event_id` (a `MessageEvent`'s `lastEventId`): the stream
    /// resumes after it. An empty or unreadable id changes nothing.
    pub fn heard(&mut self, last_event_id: &str) {
        if let (Some(after), Ok(id)) = (self.after.as_mut(), last_event_id.trim().parse()) {
            *after = id;
        }
    }

    /// The stream opened: the next give-up waits only the first wait again.
    pub fn opened(&mut self) {
        self.wait_ms = FIRST_WAIT_MS;
    }

    /// The browser gave up on the stream, for `why`: whether and when to open it again, and
    /// where. Each attempt that does not open waits twice as long as the one before, up to
    /// [`LONGEST_WAIT_MS`].
    pub fn gave_up(&mut self, why: GaveUp) -> Next {
        if why == GaveUp::SessionEnded {
            return Next::Stop;
        }
        let wait_ms = self.wait_ms;
        self.wait_ms = wait_ms.saturating_mul(2).min(LONGEST_WAIT_MS);
        Next::Reopen { url: self.url(), wait_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reopen(url: &str, wait_ms: u32) -> Next {
        Next::Reopen { url: url.to_owned(), wait_ms }
    }

    #[test]
    fn a_refused_stream_opens_again_after_waits_that_double_up_to_thirty_seconds() {
        let mut stream = Reopening::resuming("/api/tills/t1/events", 7);
        let waits: Vec<Next> = (0..7).map(|_| stream.gave_up(GaveUp::Refused)).collect();
        let url = "/api/tills/t1/events?after=7";
        assert_eq!(
            waits,
            [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000].map(|ms| reopen(url, ms)),
            "never given up for good, and never more than 30 s apart"
        );
    }

    #[test]
    fn a_stream_that_opened_waits_only_a_second_after_its_next_refusal() {
        let mut stream = Reopening::resuming("/s", 0);
        stream.gave_up(GaveUp::Refused);
        stream.gave_up(GaveUp::Refused);
        stream.opened();
        assert_eq!(stream.gave_up(GaveUp::Refused), reopen("/s?after=0", 1_000));
        assert_eq!(stream.gave_up(GaveUp::Refused), reopen("/s?after=0", 2_000));
    }

    #[test]
    fn a_stream_opens_again_after_the_last_event_it_heard_so_the_server_replays_what_was_missed() {
        let mut stream = Reopening::resuming("/api/tills/t1/events", 3);
        assert_eq!(stream.url(), "/api/tills/t1/events?after=3", "first from what the page had");
        stream.heard("41");
        stream.heard("42");
        stream.heard("");
        stream.heard("not a number");
        assert_eq!(stream.gave_up(GaveUp::Refused), reopen("/api/tills/t1/events?after=42", 1_000));
    }

    #[test]
    fn a_stream_without_event_ids_opens_afresh() {
        let mut stream = Reopening::afresh("/api/stickers/s1/events");
        stream.heard("");
        stream.heard("5");
        assert_eq!(stream.gave_up(GaveUp::Refused), reopen("/api/stickers/s1/events", 1_000));
    }

    #[test]
    fn a_session_that_ended_opens_nothing_again() {
        let mut stream = Reopening::resuming("/api/tills/t1/events", 9);
        assert_eq!(stream.gave_up(GaveUp::SessionEnded), Next::Stop);
        assert_eq!(stream.gave_up(GaveUp::Refused), reopen("/api/tills/t1/events?after=9", 1_000));
    }
}
