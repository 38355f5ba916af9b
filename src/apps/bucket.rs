//! The token bucket behind an app's rate limit, as pure arithmetic on its stored state.
//!
//! A bucket holds up to `burst` tokens and gains `per_second` of them each second; a
//! request spends one. Tokens are counted in thousandths, so that a slow rate still refills
//! between two looks a few milliseconds apart.

/// An app's rate: `per_second` requests on average, up to `burst` at once. A rate of 0 per
/// second is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    pub const UNLIMITED: Rate = Rate {
        per_second: 0,
        burst: 0,
    };

    pub fn is_unlimited(self) -> bool {
        self.per_second == 0
    }

    /// How many tokens an instance takes from the shared bucket at once: a tenth of a
    /// second's worth, at least one and at most the burst. What an instance holds unspent
    /// is the most the rate can be off by, per instance.
    pub fn lease(self) -> u32 {
        (self.per_second / 10).clamp(1, self.burst.max(1))
    }
}

/// A bucket as stored: tokens in thousandths, counted at `at` (µs since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub milli: i64,
    pub at: i64,
}

/// What one take found: the bucket after it, the tokens granted, and, when none were, how
/// long until one is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub bucket: Bucket,
    pub granted: u32,
    pub wait_us: i64,
}

impl Bucket {
    /// A bucket first used at `now`: full.
    pub fn full(rate: Rate, now: i64) -> Bucket {
        Bucket {
            milli: i64::from(rate.burst) * 1000,
            at: now,
        }
    }

    /// Takes up to `want` whole tokens at `now`, after refilling for the time since `at`.
    /// A clock that went back refills nothing and moves `at` nowhere.
    pub fn take(self, rate: Rate, now: i64, want: u32) -> Taken {
        let elapsed = now.saturating_sub(self.at).max(0);
        let refill = i128::from(elapsed) * i128::from(rate.per_second) / 1000;
        let cap = i64::from(rate.burst) * 1000;
        let milli = i128::from(self.milli)
            .saturating_add(refill)
            .min(i128::from(cap));
        let milli = i64::try_from(milli).unwrap_or(cap);
        let granted = u32::try_from((milli / 1000).min(i64::from(want))).unwrap_or(0);
        let milli = milli - i64::from(granted) * 1000;
        let wait_us = match granted {
            0 if rate.per_second > 0 => {
                // µs until the bucket holds 1000 thousandths, rounded up.
                let (missing, per_second) = (1000 - milli, i64::from(rate.per_second));
                (missing * 1000 + per_second - 1) / per_second
            }
            _ => 0,
        };
        Taken {
            bucket: Bucket {
                milli,
                at: now.max(self.at),
            },
            granted,
            wait_us,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_A_SECOND: Rate = Rate {
        per_second: 10,
        burst: 20,
    };
    const SECOND: i64 = 1_000_000;

    #[test]
    fn a_new_bucket_grants_its_burst_and_then_nothing() {
        let first = Bucket::full(TEN_A_SECOND, 0).take(TEN_A_SECOND, 0, 15);
        assert_eq!(first.granted, 15);
        let second = first.bucket.take(TEN_A_SECOND, 0, 15);
        assert_eq!(second.granted, 5);
        let third = second.bucket.take(TEN_A_SECOND, 0, 1);
        assert_eq!((third.granted, third.wait_us), (0, SECOND / 10));
    }

    #[test]
    fn it_refills_at_the_rate_up_to_the_burst() {
        let empty = Bucket { milli: 0, at: 0 };
        let after_half_a_second = empty.take(TEN_A_SECOND, SECOND / 2, 100);
        assert_eq!(after_half_a_second.granted, 5);
        let after_an_hour = empty.take(TEN_A_SECOND, 3600 * SECOND, 100);
        assert_eq!(after_an_hour.granted, 20, "never more than the burst");
    }

    #[test]
    fn fractions_of_a_token_are_kept_between_looks() {
        let mut bucket = Bucket { milli: 0, at: 0 };
        let mut granted = 0;
        // A look every 30 ms for one second, at 10 a second: 10 tokens, whatever the steps.
        for step in 1..=33 {
            let taken = bucket.take(TEN_A_SECOND, step * 30_000, 1);
            granted += taken.granted;
            bucket = taken.bucket;
        }
        assert_eq!(granted, 9, "0.99 s at 10 a second");
        assert_eq!(bucket.take(TEN_A_SECOND, SECOND, 1).granted, 1);
    }

    #[test]
    fn the_wait_is_until_a_whole_token_is_there() {
        let bucket = Bucket { milli: 400, at: 0 };
        let taken = bucket.take(TEN_A_SECOND, 0, 1);
        assert_eq!((taken.granted, taken.wait_us), (0, 60_000));
        let at_the_wait = taken.bucket.take(TEN_A_SECOND, 60_000, 1);
        assert_eq!(at_the_wait.granted, 1);
    }

    #[test]
    fn a_clock_set_back_refills_nothing() {
        let bucket = Bucket {
            milli: 0,
            at: SECOND,
        };
        let taken = bucket.take(TEN_A_SECOND, 0, 1);
        assert_eq!(taken.granted, 0);
        assert_eq!(taken.bucket.at, SECOND);
    }

    #[test]
    fn a_lease_is_a_tenth_of_a_second_within_one_and_the_burst() {
        let lease = |per_second, burst| Rate { per_second, burst }.lease();
        assert_eq!(lease(10_000, 20_000), 1_000);
        assert_eq!(lease(5, 10), 1);
        assert_eq!(lease(1_000, 50), 50);
    }
}
