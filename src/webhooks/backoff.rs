//! When a failed attempt is tried again: exponential backoff with jitter, and when the
//! delivery is given up.

use std::time::Duration;

/// The retry schedule of deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt (before jitter).
    pub base: Duration,
    /// The longest wait between two attempts.
    pub cap: Duration,
    /// A delivery still failing this long after its first attempt is given up.
    pub give_up: Duration,
}

impl Backoff {
    /// The wait after failed attempt number `attempts` (1 after the first): `base · 2^(n−1)`,
    /// at most `cap`, of which a random part up to a half is taken off, so that the
    /// deliveries that failed together (a receiver down) do not all come back together.
    pub fn wait(&self, attempts: u32) -> Duration {
        let doubled = self
            .base
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(30));
        let full = doubled.min(self.cap);
        let jitter = rand::random_range(0.0..0.5);
        full.mul_f64(1.0 - jitter)
    }

    /// Whether a delivery first tried at `first_us` and failing at `now_us` is given up:
    /// its next attempt would come after the give-up window.
    pub fn gives_up(&self, first_us: i64, now_us: i64) -> bool {
        let window = i64::try_from(self.give_up.as_micros()).unwrap_or(i64::MAX);
        now_us.saturating_sub(first_us) >= window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_with_at_most_half_taken_off() {
        let backoff = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            give_up: Duration::from_secs(86_400),
        };
        for (attempts, full) in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (40, 60)] {
            for _ in 0..50 {
                let wait = backoff.wait(attempts);
                let full = Duration::from_secs(full);
                assert!(wait <= full && wait >= full / 2, "{attempts}: {wait:?}");
            }
        }
    }

    #[test]
    fn a_delivery_is_given_up_after_the_window() {
        let backoff = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            give_up: Duration::from_secs(86_400),
        };
        let day = 86_400_000_000;
        assert!(!backoff.gives_up(0, day - 1));
        assert!(backoff.gives_up(0, day));
    }
}
