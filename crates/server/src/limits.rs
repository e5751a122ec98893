//! Rate limits for what the public can reach: pairing attempts, and the sticker landing page's
//! payment requests (per IP, per phone number, per sticker). Each limit is a sliding window; a
//! refused attempt is not counted, so waiting out the window always works. One instance counts
//! in memory ([`RateLimiter`]); instances sharing a PostgreSQL database count there, so a limit
//! holds whichever instance a request reaches ([`SharedLimiter`]).
//!
//! Keys that went quiet are forgotten as new attempts come in, a few at a time: every attempt is
//! also queued in the order it was counted, and each new one first takes the attempts that have
//! left the window off the front of that queue, dropping their keys when nothing newer of theirs
//! is left. Each attempt is queued and taken off once, so a flood of one-off keys (a botnet's
//! addresses, made-up phone numbers) costs constant time per attempt and memory for one window
//! only, never a sweep over the whole table.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::{Store, StoreError, Window};

/// The longest window of any limit: a day (the landing page's requests to one phone number).
/// Attempts older than this count in no window, and the database's are forgotten.
pub const LONGEST_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// A limit every instance on the database counts against: in the database on PostgreSQL, in
/// memory on SQLite, where one instance is all there is. `Ok(Err(ms))` refuses an attempt, with
/// the milliseconds until one is allowed again.
#[derive(Debug)]
pub struct SharedLimiter {
    memory: RateLimiter,
    window: Window,
    /// The database, when it is shared.
    shared: Option<Store>,
}

impl SharedLimiter {
    /// A limit named `scope` of `max` attempts per key per `window_ms`, shared through `store` if
    /// that is PostgreSQL.
    pub fn new(scope: &'static str, max: usize, window_ms: i64, store: &Store) -> Self {
        // The reconciler forgets the database's attempts once they are this old.
        debug_assert!(window_ms <= LONGEST_WINDOW_MS, "{scope}: a window longer than attempts are kept");
        Self {
            memory: RateLimiter::new(max, window_ms),
            window: Window { scope, max: i64::try_from(max).unwrap_or(i64::MAX), ms: window_ms },
            shared: store.postgres().then(|| store.clone()),
        }
    }

    /// Counts an attempt for `key` at `now`, or refuses it.
    pub async fn attempt(&self, key: &str, now: i64) -> Result<Result<(), i64>, StoreError> {
        match &self.shared {
            Some(store) => store.rate_attempt(self.window, key, now, true).await,
            None => Ok(self.memory.attempt(key, now)),
        }
    }

    /// Whether an attempt for `key` would be allowed at `now`, without counting it.
    pub async fn check(&self, key: &str, now: i64) -> Result<Result<(), i64>, StoreError> {
        match &self.shared {
            Some(store) => store.rate_attempt(self.window, key, now, false).await,
            None => Ok(self.memory.check(key, now)),
        }
    }

    /// Takes back the attempt counted for `key` at `at`.
    pub async fn release(&self, key: &str, at: i64) -> Result<(), StoreError> {
        if let Some(store) = &self.shared {
            return store.rate_release(self.window.scope, key, at).await;
        }
        self.memory.release(key, at);
        Ok(())
    }

    /// Counts an attempt for `key` at `now`, whatever the count.
    pub async fn record(&self, key: &str, now: i64) -> Result<(), StoreError> {
        if let Some(store) = &self.shared {
            return store.rate_record(self.window.scope, key, now).await;
        }
        self.memory.record(key, now);
        Ok(())
    }
}

/// At most `max` attempts per key in any `window_ms`.
#[derive(Debug)]
pub struct RateLimiter {
    max: usize,
    window_ms: i64,
    table: Mutex<Table>,
}

/// The attempts of every key, and the same attempts in the order they were counted.
#[derive(Debug, Default)]
struct Table {
    /// Each key's attempts still in the window (and possibly some that left it since).
    attempts: HashMap<Arc<str>, VecDeque<i64>>,
    /// Every counted attempt, oldest first: what to look at when forgetting.
    order: VecDeque<(i64, Arc<str>)>,
}

impl Table {
    /// Drops the attempts that left the window by `now` from the front of the queue, and every
    /// key left with nothing in the window.
    fn forget_before(&mut self, now: i64, window_ms: i64) {
        while let Some((at, _)) = self.order.front()
            && now - at >= window_ms
        {
            let Some((_, key)) = self.order.pop_front() else { break };
            let quiet =
                self.attempts.get(&key).is_none_or(|times| times.back().is_none_or(|t| now - t >= window_ms));
            if quiet {
                self.attempts.remove(&key);
            }
        }
    }
}

impl RateLimiter {
    /// A limiter allowing `max` attempts per key per `window_ms`.
    pub fn new(max: usize, window_ms: i64) -> Self {
        Self { max, window_ms, table: Mutex::new(Table::default()) }
    }

    /// Counts an attempt for `key` at `now`, or refuses it with the milliseconds until one is
    /// allowed again.
    pub fn attempt(&self, key: &str, now: i64) -> Result<(), i64> {
        // One lock for the check and the count: two requests at once cannot both slip in.
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        self.check_in(&mut table, key, now)?;
        self.record_in(&mut table, key, now);
        Ok(())
    }

    /// Whether an attempt for `key` would be allowed at `now`, without counting it.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        self.check_in(&mut table, key, now)
    }

    /// [`RateLimiter::check`] on a table already locked.
    fn check_in(&self, table: &mut Table, key: &str, now: i64) -> Result<(), i64> {
        let Some(times) = table.attempts.get_mut(key) else { return Ok(()) };
        while times.front().is_some_and(|t| now - t >= self.window_ms) {
            times.pop_front();
        }
        if times.len() >= self.max {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(oldest + self.window_ms - now);
        }
        Ok(())
    }

    /// Takes back the attempt counted for `key` at `at`: the request turned out to cost nothing.
    pub fn release(&self, key: &str, at: i64) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(times) = table.attempts.get_mut(key)
            && let Some(index) = times.iter().rposition(|t| *t == at)
        {
            // Its place in the queue stays; the key goes when that place comes up and nothing
            // newer of it is in the window.
            times.remove(index);
        }
    }

    /// Counts an attempt for `key` at `now`.
    pub fn record(&self, key: &str, now: i64) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        self.record_in(&mut table, key, now);
    }

    /// [`RateLimiter::record`] on a table already locked.
    fn record_in(&self, table: &mut Table, key: &str, now: i64) {
        table.forget_before(now, self.window_ms);
        let key: Arc<str> = match table.attempts.get_key_value(key) {
            Some((known, _)) => Arc::clone(known),
            None => Arc::from(key),
        };
        let times = table.attempts.entry(Arc::clone(&key)).or_default();
        while times.front().is_some_and(|t| now - t >= self.window_ms) {
            times.pop_front();
        }
        times.push_back(now);
        table.order.push_back((now, key));
    }

    /// How many keys the table holds: what forgetting keeps small.
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).attempts.len()
    }

    /// How many counted attempts wait in the forgetting queue.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).order.len()
    }
}

/// "3 minutes", "1 minute", "40 seconds": a wait a person understands.
pub fn wait_in_words(ms: i64) -> String {
    let seconds = (ms + 999) / 1000;
    match seconds {
        ..=1 => "a second".to_owned(),
        2..=59 => format!("{seconds} seconds"),
        60..=119 => "a minute".to_owned(),
        _ => format!("{} minutes", (seconds + 59) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_within_the_window_and_lifts_after_it() {
        let limiter = RateLimiter::new(3, 600_000);
        for t in [0, 1, 2] {
            assert_eq!(limiter.attempt("4791234567", t), Ok(()));
        }
        assert_eq!(limiter.attempt("4791234567", 3), Err(599_997));
        assert_eq!(limiter.attempt("4798765432", 3), Ok(()), "each key has its own window");
        assert_eq!(limiter.attempt("4791234567", 600_000), Ok(()), "the first attempt left the window");
    }

    #[test]
    fn a_refused_attempt_does_not_extend_the_wait() {
        let limiter = RateLimiter::new(1, 1_000);
        limiter.attempt("k", 0).unwrap();
        for t in 1..10 {
            assert!(limiter.attempt("k", t * 50).is_err());
        }
        assert_eq!(limiter.attempt("k", 1_000), Ok(()));
    }

    #[test]
    fn checking_does_not_count_and_only_recorded_attempts_do() {
        let limiter = RateLimiter::new(1, 1_000);
        for t in 0..5 {
            assert_eq!(limiter.check("k", t), Ok(()));
        }
        limiter.record("k", 5);
        assert!(limiter.check("k", 6).is_err());
    }

    #[test]
    fn a_released_attempt_no_longer_counts() {
        let limiter = RateLimiter::new(1, 1_000);
        limiter.attempt("k", 5).unwrap();
        limiter.release("k", 5);
        assert_eq!(limiter.attempt("k", 6), Ok(()));
        limiter.release("other", 6);
        limiter.release("k", 7);
        assert!(limiter.attempt("k", 8).is_err(), "only the attempt at that time is taken back");
    }

    #[test]
    fn keys_that_went_quiet_are_forgotten_as_new_attempts_come_in() {
        let limiter = RateLimiter::new(3, 100);
        for n in 0..50_000_i64 {
            limiter.record(&format!("one-off-{n}"), n / 100);
        }
        // 100 new keys a millisecond, for 500 ms, in a 100 ms window: the last window's are left.
        assert_eq!((limiter.keys(), limiter.queued()), (10_000, 10_000));
        limiter.record("late", 10_000);
        assert_eq!((limiter.keys(), limiter.queued()), (1, 1), "one attempt clears everything that left");
    }

    #[test]
    fn a_key_still_in_its_window_is_kept_when_its_older_attempts_are_forgotten() {
        let limiter = RateLimiter::new(2, 1_000);
        limiter.record("busy", 0);
        limiter.record("busy", 900);
        limiter.record("other", 1_000);
        assert_eq!(limiter.keys(), 2, "busy's attempt at 900 is still in the window");
        assert!(limiter.check("busy", 1_000).is_ok(), "its attempt at 0 no longer counts");
        limiter.record("busy", 1_000);
        assert!(limiter.check("busy", 1_001).is_err(), "900 and 1000 count");
        limiter.record("other", 2_000);
        assert_eq!(limiter.keys(), 1, "busy went quiet: only other is left");
        assert!(limiter.check("busy", 2_000).is_ok());
    }

    #[test]
    fn a_released_attempt_lets_its_key_be_forgotten() {
        let limiter = RateLimiter::new(1, 1_000);
        limiter.record("k", 5);
        limiter.record("k", 500);
        limiter.release("k", 500);
        limiter.record("other", 1_005);
        assert_eq!(limiter.keys(), 1, "k's only attempt in the window was taken back");
        assert_eq!(limiter.attempt("k", 1_006), Ok(()));
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_in_words(400), "a second");
        assert_eq!(wait_in_words(40_000), "40 seconds");
        assert_eq!(wait_in_words(61_000), "a minute");
        assert_eq!(wait_in_words(599_997), "10 minutes");
    }
}
