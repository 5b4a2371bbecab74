//! Throttling of failed sign-ins for one account: a few free tries, then a delay that doubles
//! with each failure (capped), and after 100 consecutive failures a block that only an
//! administrator lifts (NIST SP 800-63B allows at most 100). Per-IP throttling uses `governor`
//! in the backend; this module is the per-account rule.
//!
//! App-password checks (non-browser apps) are throttled separately, by [`FailureLimit`]: a
//! mail client retrying an old password only slows down further app-password checks for that
//! name or address, never the person's web sign-in, and nothing needs an administrator.

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before any delay.
pub const FREE_FAILURES: i32 = 5;
/// Consecutive failures after which the account is blocked until an administrator acts.
pub const MAX_CONSECUTIVE_FAILURES: i32 = 100;
/// The longest delay between tries before the block.
pub const MAX_DELAY: Duration = Duration::minutes(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountThrottle {
    Open,
    /// Try again at this time.
    WaitUntil(DateTime<Utc>),
    /// Too many failures; an administrator must reset the password or re-enable the account.
    Blocked,
}

/// The state of an account with `failures` consecutive failures and a stored wait-until time.
pub fn check(
    failures: i32,
    throttled_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AccountThrottle {
    if failures >= MAX_CONSECUTIVE_FAILURES {
        return AccountThrottle::Blocked;
    }
    match throttled_until {
        Some(until) if until > now => AccountThrottle::WaitUntil(until),
        _ => AccountThrottle::Open,
    }
}

/// How long to wait after the `failures`-th consecutive failure.
pub fn delay_after(failures: i32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::zero();
    }
    let doublings = u32::try_from(failures - FREE_FAILURES).unwrap_or(0).min(16);
    Duration::seconds(1_i64 << doublings).min(MAX_DELAY)
}

/// The wait-until time to store after a failure, if any.
pub fn throttled_until_after(failures: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let delay = delay_after(failures);
    (delay > Duration::zero()).then(|| now + delay)
}

/// Failed checks counted for one key (a username or a client IP) in a fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    pub started: DateTime<Utc>,
    pub failures: u32,
}

/// At most `max_failures` failed checks per `window` for one key; then checks wait until the
/// window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    pub max_failures: u32,
    pub window: Duration,
}

impl FailureLimit {
    /// Per username: enough for a mail client with an old password that opens a few
    /// connections every few minutes, far too few to guess anything.
    pub const PER_USERNAME: Self = Self {
        max_failures: 10,
        window: Duration::minutes(5),
    };
    /// Per client IP: an office behind one address may hold several stale clients.
    pub const PER_CLIENT_IP: Self = Self {
        max_failures: 50,
        window: Duration::minutes(5),
    };

    /// The window after one more failure.
    pub fn after_failure(
        &self,
        previous: Option<FailureWindow>,
        now: DateTime<Utc>,
    ) -> FailureWindow {
        match previous {
            Some(window) if now < window.started + self.window => FailureWindow {
                started: window.started,
                failures: window.failures.saturating_add(1),
            },
            _ => FailureWindow {
                started: now,
                failures: 1,
            },
        }
    }

    /// How long checks must wait, if the window is used up.
    pub fn wait(&self, window: Option<FailureWindow>, now: DateTime<Utc>) -> Option<Duration> {
        let window = window?;
        let ends = window.started + self.window;
        (window.failures >= self.max_failures && now < ends).then(|| ends - now)
    }

    /// Whether this failure is the one that used the window up (to record it once).
    pub fn just_reached(&self, window: FailureWindow) -> bool {
        window.failures == self.max_failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_window_fills_waits_until_its_end_then_starts_over() {
        let limit = FailureLimit {
            max_failures: 3,
            window: Duration::minutes(5),
        };
        let mut window = None;
        for _ in 0..2 {
            window = Some(limit.after_failure(window, now()));
            assert_eq!(limit.wait(window, now()), None);
        }
        let later = now() + Duration::minutes(1);
        let full = limit.after_failure(window, later);
        assert!(limit.just_reached(full));
        assert_eq!(limit.wait(Some(full), later), Some(Duration::minutes(4)));
        let more = limit.after_failure(Some(full), later);
        assert!(!limit.just_reached(more));
        let ended = now() + Duration::minutes(5);
        assert_eq!(limit.wait(Some(more), ended), None);
        assert_eq!(
            limit.after_failure(Some(more), ended),
            FailureWindow {
                started: ended,
                failures: 1
            }
        );
        assert_eq!(limit.wait(None, now()), None);
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn delay_starts_after_free_tries_doubles_and_is_capped() {
        assert_eq!(delay_after(1), Duration::zero());
        assert_eq!(delay_after(4), Duration::zero());
        assert_eq!(delay_after(5), Duration::seconds(1));
        assert_eq!(delay_after(6), Duration::seconds(2));
        assert_eq!(delay_after(10), Duration::seconds(32));
        assert_eq!(delay_after(20), MAX_DELAY);
        assert_eq!(delay_after(99), MAX_DELAY);
    }

    #[test]
    fn waits_then_opens_and_blocks_at_one_hundred() {
        let until = throttled_until_after(6, now());
        assert_eq!(
            check(6, until, now()),
            AccountThrottle::WaitUntil(now() + Duration::seconds(2))
        );
        assert_eq!(
            check(6, until, now() + Duration::seconds(2)),
            AccountThrottle::Open
        );
        assert_eq!(check(3, None, now()), AccountThrottle::Open);
        assert_eq!(
            check(MAX_CONSECUTIVE_FAILURES, None, now()),
            AccountThrottle::Blocked
        );
    }
}
