//! Rate limits for what the public can reach: pairing attempts, and the sticker landing page's
//! payment requests (per IP, per phone number, per sticker). Each limit is a sliding window in
//! memory; a refused attempt is not counted, so waiting out the window always works.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// At most `max` attempts per key in any `window_ms`.
#[derive(Debug)]
pub struct RateLimiter {
    max: usize,
    window_ms: i64,
    attempts: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl RateLimiter {
    /// A limiter allowing `max` attempts per key per `window_ms`.
    pub fn new(max: usize, window_ms: i64) -> Self {
        Self { max, window_ms, attempts: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt for `key` at `now`, or refuses it with the milliseconds until one is
    /// allowed again.
    pub fn attempt(&self, key: &str, now: i64) -> Result<(), i64> {
        self.check(key, now)?;
        self.record(key, now);
        Ok(())
    }

    /// Whether an attempt for `key` would be allowed at `now`, without counting it.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(times) = attempts.get_mut(key) else { return Ok(()) };
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
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(times) = attempts.get_mut(key)
            && let Some(index) = times.iter().rposition(|t| *t == at)
        {
            times.remove(index);
        }
    }

    /// Counts an attempt for `key` at `now`.
    pub fn record(&self, key: &str, now: i64) {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        if attempts.len() > 10_000 {
            // Keys that went quiet are forgotten, so a flood of one-off keys cannot grow memory.
            attempts.retain(|_, times| times.back().is_some_and(|t| now - t < self.window_ms));
        }
        attempts.entry(key.to_owned()).or_default().push_back(now);
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
    fn waits_read_naturally() {
        assert_eq!(wait_in_words(400), "a second");
        assert_eq!(wait_in_words(40_000), "40 seconds");
        assert_eq!(wait_in_words(61_000), "a minute");
        assert_eq!(wait_in_words(599_997), "10 minutes");
    }
}
