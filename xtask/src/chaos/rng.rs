//! The run's random choices (flows, amounts, outcomes, when to kill), from one seed.
//!
//! SplitMix64: a few lines, good enough for choosing test actions, and no dependency. Each thread
//! gets its own stream, derived from the seed and its name, so the choices one till makes do not
//! depend on how the threads interleave (the moments they land at still do).

use std::fmt::Write as _;
use std::time::Duration;

/// A seeded stream of random numbers.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// The stream of `seed` for the thread called `stream`.
    pub(crate) fn new(seed: u64, stream: &str) -> Self {
        // FNV-1a of the name, so "till chaos-1" and "killer" start far apart.
        let salt = stream.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        Self { state: seed ^ salt }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number from 0 to `n - 1` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A fraction from 0 (included) to 1 (excluded).
    pub(crate) fn fraction(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "53 bits fit a double exactly")]
        let fraction = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        fraction
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.fraction() < p
    }

    /// A duration from `low` to `high`.
    pub(crate) fn between(&mut self, low: Duration, high: Duration) -> Duration {
        low + (high.saturating_sub(low)).mul_f64(self.fraction())
    }

    /// `bytes` random bytes in hexadecimal.
    pub(crate) fn hex(&mut self, bytes: usize) -> String {
        (0..bytes).fold(String::with_capacity(bytes * 2), |mut hex, _| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{:02x}", self.next_u64() & 0xff);
            hex
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_and_stream_give_the_same_numbers() {
        let (mut a, mut b) = (Rng::new(7, "till chaos-1"), Rng::new(7, "till chaos-1"));
        assert_eq!(
            (0..5).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
        assert_ne!(Rng::new(7, "till chaos-1").next_u64(), Rng::new(7, "till chaos-2").next_u64());
        assert_ne!(Rng::new(7, "killer").next_u64(), Rng::new(8, "killer").next_u64());
    }

    #[test]
    fn numbers_stay_in_their_ranges() {
        let mut rng = Rng::new(1, "test");
        for _ in 0..1_000 {
            assert!(rng.below(97) < 97);
            let f = rng.fraction();
            assert!((0.0..1.0).contains(&f));
            let d = rng.between(Duration::from_millis(500), Duration::from_millis(1_500));
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1_500));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.hex(16).len(), 32);
    }
}
