//! The one retry loop of the platform client, shared by the access token request and every API call.
//!
//! An attempt says what it came to as an [`Outcome`]: done (a success, or a failure another attempt
//! would not mend), failed in a way that may pass (retry after the [`RetryPolicy`]'s backoff), or
//! failed with the server's own `Retry-After` (retry after that; a server that asks for longer than
//! the policy's `max_delay` is not asked again within the call). [`retry`] runs attempts until one
//! is done or the policy's attempts are spent, and then returns the last failure unchanged, so a
//! caller sees the same error values whether or not anything was retried. What counts as retryable, and what to log, stays with the caller: only it
//! knows which answers are safe to send again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::client::RetryPolicy;

/// What one attempt came to.
#[derive(Debug)]
pub(crate) enum Outcome<T, E> {
    /// Stop with this result: a success, or an error that sending again would not change.
    Done(Result<T, E>),
    /// Failed in a way that may pass (no answer, a 5xx, a 429): retry after the policy's backoff.
    Backoff(E),
    /// Failed, and the server said how long to wait: retry after that, or not within the call
    /// if that is longer than `max_delay`.
    RetryAfter(E, Duration),
}

/// Runs `attempt` with the attempt's number (from 1) until an attempt is [`Outcome::Done`] or
/// `policy.max_attempts` attempts have been made, and returns the last result or error.
///
/// Before each wait it calls `on_retry` with the number and error of the attempt about to be sent
/// again, and adds one to `retried`; neither happens after the last attempt, which is not retried.
/// The first attempt is always made, even with `max_attempts` at 0.
///
/// `attempt` is a closure returning a future rather than an async closure: the future of a call
/// through an `AsyncFnMut` is not provably `Send` (a higher-ranked lifetime limitation of rustc),
/// and the server runs these calls on a multi-threaded runtime.
pub(crate) async fn retry<T, E, F: Future<Output = Outcome<T, E>>>(
    policy: RetryPolicy,
    retried: &AtomicU64,
    mut attempt: impl FnMut(u32) -> F,
    mut on_retry: impl FnMut(u32, &E),
) -> Result<T, E> {
    let mut number = 0;
    loop {
        number += 1;
        let (error, retry_after) = match attempt(number).await {
            Outcome::Done(result) => return result,
            Outcome::Backoff(error) => (error, None),
            Outcome::RetryAfter(error, after) => (error, Some(after)),
        };
        // A server that asks for a minute must not stall a till for a minute, nor be asked again
        // sooner than it said (each early attempt one more refused, and counted against the
        // merchant's limit): the call ends, and its caller keeps the write and sends it later.
        if number >= policy.max_attempts || retry_after.is_some_and(|after| after > policy.max_delay) {
            return Err(error);
        }
        on_retry(number, &error);
        retried.fetch_add(1, Ordering::Relaxed);
        let wait = retry_after.unwrap_or_else(|| policy.backoff(number));
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_answer_stops_at_the_first_attempt_with_no_retry_counted() {
        let retried = AtomicU64::new(0);
        let mut seen = Vec::new();
        let result: Result<(), &str> = retry(
            policy(4),
            &retried,
            |n| {
                seen.push(n);
                async { Outcome::Done(Err("409")) }
            },
            |_, _| panic!("nothing is retried"),
        )
        .await;
        assert_eq!(result, Err("409"));
        assert_eq!(seen, [1]);
        assert_eq!(retried.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retryable_failure_is_tried_max_attempts_times_and_the_last_error_is_returned() {
        let retried = AtomicU64::new(0);
        let mut logged = Vec::new();
        let result: Result<(), u32> = retry(
            policy(3),
            &retried,
            |n| async move { Outcome::Backoff(n) },
            |n, e: &u32| logged.push((n, *e)),
        )
        .await;
        assert_eq!(result, Err(3), "the third attempt's error, as it was");
        assert_eq!(logged, [(1, 1), (2, 2)], "the last attempt is not announced as retried");
        assert_eq!(retried.load(Ordering::Relaxed), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_after_failures_returns_the_success_and_counts_each_retry() {
        let retried = AtomicU64::new(0);
        let result = retry(
            policy(4),
            &retried,
            |n| async move { if n < 3 { Outcome::Backoff("503") } else { Outcome::Done(Ok(n)) } },
            |_, _| {},
        )
        .await;
        assert_eq!(result, Ok(3));
        assert_eq!(retried.load(Ordering::Relaxed), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_waited_exactly_when_short_and_a_long_one_ends_the_call_at_once() {
        let retried = AtomicU64::new(0);
        let start = Instant::now();
        let short = Duration::from_secs(1);
        let _: Result<(), _> =
            retry(policy(2), &retried, |_| async move { Outcome::RetryAfter("429", short) }, |_, _| {}).await;
        assert_eq!(start.elapsed(), short, "one wait, as the server asked");

        let start = Instant::now();
        let long = Duration::from_mins(1);
        let mut attempts = 0;
        let outcome: Result<(), _> = retry(
            policy(3),
            &retried,
            |_| {
                attempts += 1;
                async move { Outcome::RetryAfter("429", long) }
            },
            |_, _| {},
        )
        .await;
        assert_eq!(outcome, Err("429"));
        assert_eq!((attempts, start.elapsed()), (1, Duration::ZERO), "not asked again sooner than it said");
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_after_attempt_n_is_the_policys_backoff_for_n() {
        let retried = AtomicU64::new(0);
        let mut sent_at = Vec::new();
        let _: Result<(), _> = retry(
            policy(4),
            &retried,
            |_| {
                sent_at.push(Instant::now());
                async { Outcome::Backoff("502") }
            },
            |_, _| {},
        )
        .await;
        // Full jitter over base * 2^n: half the window at least, the window at most.
        let windows = [200, 400, 800].map(Duration::from_millis);
        for (pair, window) in sent_at.windows(2).zip(windows) {
            let wait = pair[1] - pair[0];
            assert!(wait >= window / 2 && wait <= window, "{wait:?} outside {window:?}");
        }
        assert_eq!(sent_at.len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_max_attempts_still_makes_one_attempt() {
        let retried = AtomicU64::new(0);
        let result: Result<(), _> =
            retry(policy(0), &retried, |_| async { Outcome::Backoff("503") }, |_, _| {}).await;
        assert_eq!(result, Err("503"));
        assert_eq!(retried.load(Ordering::Relaxed), 0);
    }
}
