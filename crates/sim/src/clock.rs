//! The simulator's clock: real time plus an offset that tests and demos can advance, so that a
//! ten-minute expiry takes a call, not ten minutes.
//!
//! The offset is bounded (ten years a move, a hundred in all), so every date the simulator works
//! out from "now" stays far inside what `chrono` can represent.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The longest single move forward.
pub const MAX_ADVANCE: Duration = Duration::days(3653);

/// The furthest the clock goes ahead of real time, all moves together.
const MAX_OFFSET: Duration = Duration::days(36525);

/// Real time shifted by an adjustable offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

/// Why the clock did not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Backwards: time only moves forward.
    Backwards,
    /// More than [`MAX_ADVANCE`] at once, or a hundred years ahead in all.
    TooFar,
}

impl Clock {
    /// The simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        now.checked_add_signed(Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))).unwrap_or(now)
    }

    /// Moves simulated time forward by `by`.
    pub fn advance(&self, by: Duration) -> Result<(), Refused> {
        if by < Duration::zero() {
            return Err(Refused::Backwards);
        }
        if by > MAX_ADVANCE {
            return Err(Refused::TooFar);
        }
        let by = by.num_milliseconds();
        self.offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                offset.checked_add(by).filter(|o| *o <= MAX_OFFSET.num_milliseconds())
            })
            .map(|_| ())
            .map_err(|_| Refused::TooFar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_by_that_much() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::minutes(10)).unwrap();
        let gap = clock.now() - before;
        assert!(gap >= Duration::minutes(10) && gap < Duration::minutes(11));
    }

    #[test]
    fn backwards_or_too_far_is_refused_and_leaves_the_clock_alone() {
        let clock = Clock::default();
        assert_eq!(clock.advance(Duration::seconds(-1)), Err(Refused::Backwards));
        assert_eq!(clock.advance(MAX_ADVANCE + Duration::seconds(1)), Err(Refused::TooFar));
        for _ in 0..9 {
            clock.advance(MAX_ADVANCE).unwrap();
        }
        assert_eq!(clock.advance(MAX_ADVANCE), Err(Refused::TooFar), "a hundred years ahead at most");
        clock.advance(Duration::days(365)).unwrap();
        assert!(clock.now() > Utc::now() + Duration::days(365 * 90));
    }
}
