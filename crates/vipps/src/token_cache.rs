//! What a client knows of its access token, and when that is the answer without asking the
//! platform again.
//!
//! Every call of a sales unit needs the token, so how it is fetched decides how the whole server
//! behaves when the token endpoint hiccups. One fetch is made at a time, and the calls that
//! queued behind it take its outcome instead of each making its own (a fetch that finds no
//! answer takes its four attempts' timeouts, about 40 s: twenty calls queued one behind the other
//! each repeating it kept the last till waiting a quarter of an hour). A failed fetch is the
//! answer for [`FAILURE_REMEMBERED`], and a token past its refresh time but not yet expired is
//! still used, while another call refreshes it or when refreshing fails: it is valid, and the
//! platform takes it.

use std::time::{Duration, Instant};

use crate::client::Error;
use crate::secret::Secret;

/// How long a failed fetch stays the answer: calls that come meanwhile fail at once, as the
/// fetch did, rather than wait for one more.
pub(crate) const FAILURE_REMEMBERED: Duration = Duration::from_secs(5);

/// A token the platform gave.
#[derive(Debug)]
pub(crate) struct CachedToken {
    pub(crate) value: Secret,
    /// From here on a new one is fetched.
    pub(crate) refresh_at: Instant,
    /// Until here the platform takes it.
    pub(crate) expires_at: Instant,
}

impl CachedToken {
    /// A token fetched at `now`, valid for `lifetime`.
    pub(crate) fn fetched(value: Secret, lifetime: Duration, now: Instant) -> Self {
        // Refresh when a tenth of the lifetime (at most five minutes) is left, so no call ever
        // goes out with a token that expires on the way.
        let margin = (lifetime / 10).min(Duration::from_mins(5));
        Self { value, refresh_at: now + lifetime.saturating_sub(margin), expires_at: now + lifetime }
    }
}

/// The token, and the last fetch's failure.
#[derive(Debug, Default)]
pub(crate) struct TokenState {
    pub(crate) current: Option<CachedToken>,
    /// Why the last fetch failed, and until when that is the answer.
    pub(crate) failed: Option<(Instant, Error)>,
}

impl TokenState {
    /// The answer at `now` without fetching, if there is one: the token while it is fresh; a
    /// recent failure (or the token, while still valid); the token, still valid, while
    /// `another_refreshes`. `None`: fetch.
    pub(crate) fn known(&self, now: Instant, another_refreshes: bool) -> Option<Result<Secret, Error>> {
        let valid = self.current.as_ref().filter(|t| now < t.expires_at);
        if let Some(token) = valid.filter(|t| now < t.refresh_at) {
            return Some(Ok(token.value.clone()));
        }
        if let Some((_, failure)) = self.failed.as_ref().filter(|(until, _)| now < *until) {
            return Some(valid.map_or_else(|| Err(failure.clone()), |t| Ok(t.value.clone())));
        }
        valid.filter(|_| another_refreshes).map(|t| Ok(t.value.clone()))
    }

    /// Keeps what a fetch at `now` came to, and answers with it: a failed one still answers
    /// with the token while it is valid.
    pub(crate) fn fetched(
        &mut self,
        outcome: Result<CachedToken, Error>,
        now: Instant,
    ) -> Result<Secret, Error> {
        match outcome {
            Ok(token) => {
                let value = token.value.clone();
                self.current = Some(token);
                self.failed = None;
                Ok(value)
            }
            Err(e) => {
                self.failed = Some((now + FAILURE_REMEMBERED, e.clone()));
                match self.current.as_ref().filter(|t| now < t.expires_at) {
                    Some(token) => {
                        tracing::warn!(error = %e, "could not refresh the access token; using the one still valid");
                        Ok(token.value.clone())
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// Forgets the token if it is still `refused`, the one the platform just said it no longer
    /// takes: one another call fetched since is kept.
    pub(crate) fn refused(&mut self, refused: &Secret) {
        if self.current.as_ref().is_some_and(|t| t.value == *refused) {
            self.current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_hours(1);

    fn state_with(token: &str, fetched_at: Instant) -> TokenState {
        TokenState { current: Some(CachedToken::fetched(Secret::new(token), HOUR, fetched_at)), failed: None }
    }

    fn value(answer: Option<Result<Secret, Error>>) -> Option<Result<String, String>> {
        answer.map(|a| a.map(|s| s.expose().to_owned()).map_err(|e| e.to_string()))
    }

    #[test]
    fn a_fresh_token_is_used_and_one_past_its_refresh_is_fetched_anew_unless_another_call_is_fetching_it() {
        let start = Instant::now();
        let state = state_with("t1", start);
        assert_eq!(value(state.known(start + Duration::from_mins(10), false)), Some(Ok("t1".into())));
        // Five minutes before it expires it is refreshed…
        let late = start + Duration::from_mins(56);
        assert_eq!(value(state.known(late, false)), None, "fetch");
        // …and while one call does, the others go on with it rather than queue for the new one.
        assert_eq!(value(state.known(late, true)), Some(Ok("t1".into())));
        assert_eq!(value(state.known(start + HOUR, true)), None, "expired: nothing to go on with");
        assert_eq!(value(TokenState::default().known(start, true)), None);
    }

    #[test]
    fn a_failed_fetch_is_the_answer_for_a_while_and_a_token_still_valid_outlives_it() {
        let start = Instant::now();
        let unreachable = || Error::Unreachable("timed out".into());
        let mut none = TokenState::default();
        assert_eq!(
            none.fetched(Err(unreachable()), start).map_err(|e| e.to_string()),
            Err(unreachable().to_string())
        );
        let failed = Some(Err(unreachable().to_string()));
        assert_eq!(value(none.known(start + Duration::from_secs(1), false)), failed, "not fetched again");
        assert_eq!(value(none.known(start + FAILURE_REMEMBERED, false)), None, "then fetched again");

        let late = start + Duration::from_mins(56);
        let mut stale = state_with("t1", start);
        assert_eq!(
            stale.fetched(Err(unreachable()), late).map(|s| s.expose().to_owned()).ok(),
            Some("t1".into())
        );
        assert_eq!(value(stale.known(late + Duration::from_secs(1), false)), Some(Ok("t1".into())));
        assert_eq!(value(stale.known(start + HOUR, false)), None, "expired, the failure long past: fetch");

        let fresh = CachedToken::fetched(Secret::new("t2"), HOUR, late);
        assert_eq!(stale.fetched(Ok(fresh), late).map(|s| s.expose().to_owned()).ok(), Some("t2".into()));
        assert!(stale.failed.is_none(), "a fetch that worked ends the failure");
    }

    #[test]
    fn a_token_refused_is_forgotten_but_not_a_newer_one_another_call_fetched() {
        let start = Instant::now();
        let mut state = state_with("t2", start);
        state.refused(&Secret::new("t1"));
        assert_eq!(value(state.known(start, false)), Some(Ok("t2".into())), "t1's 401 came late");
        state.refused(&Secret::new("t2"));
        assert_eq!(value(state.known(start, false)), None);
    }
}
