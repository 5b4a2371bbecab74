//! Throttling of failed sign-ins, as rules with no I/O (storage keeps the counters, see
//! `db::throttles`; `sign_in_limits` applies them).
//!
//! Web sign-in counts attempts under keys an outsider cannot use to lock anyone out
//! (NIST SP 800-63B 5.2.2): per account and client address pair a few free tries, then a delay
//! that doubles up to 15 minutes ([`Rule::PAIR`]); per account a ceiling across all addresses
//! that ends with its 15-minute window ([`Rule::ACCOUNT`]) and does not apply from addresses the
//! person has signed in from before; per account for the second step (the authenticator code)
//! a delay that grows until a code succeeds, whatever the password steps or addresses in
//! between ([`Rule::CODE`]). A browser the person completed a sign-in in carries a known-device
//! cookie (`domain::known_device`): its attempts skip the ceiling and the address pair, and are
//! counted per device instead ([`Rule::DEVICE`]), so an attack from many addresses cannot keep
//! the person out of their own browsers, and a stolen cookie gives only a few tries. A browser
//! without one gets a device cookie from a link mailed to the person, at most one mail per
//! account per window ([`Rule::SIGN_IN_LINK_MAIL`]). Nothing needs an administrator, and every
//! wait ends by itself.
//! Keys hash the sign-in name, so they are the same size and behave the same whether the
//! account exists or not.
//!
//! App-password checks (non-browser apps) are throttled separately, by [`FailureLimit`]: a
//! mail client retrying an old password only slows down further app-password checks for that
//! name or address, never the person's web sign-in.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// How long any wait may last.
pub const MAX_DELAY: Duration = Duration::minutes(15);

/// The stored state of one throttle key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Attempts counted (an attempt is counted when it starts; a success gives it back).
    pub failures: i32,
    /// No attempt before this time.
    pub throttled_until: Option<DateTime<Utc>>,
    /// After this the counter is forgotten (and may be deleted).
    pub expires_at: DateTime<Utc>,
}

/// How attempts under one key are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `free` attempts, then a delay after each that doubles from one second up to
    /// `max_delay`; forgotten `forget_after` after the last attempt.
    Backoff {
        free: i32,
        max_delay: Duration,
        forget_after: Duration,
    },
    /// At most `max` attempts per `window` (which starts with the first); then none until
    /// the window ends.
    Ceiling { max: i32, window: Duration },
}

impl Rule {
    /// One account from one address (IPv6 by /64).
    pub const PAIR: Self = Self::Backoff {
        free: 5,
        max_delay: MAX_DELAY,
        forget_after: Duration::hours(24),
    };
    /// One account from every address at once: high enough that only a spread-out attack
    /// reaches it, and it ends with its window.
    pub const ACCOUNT: Self = Self::Ceiling {
        max: 100,
        window: MAX_DELAY,
    };
    /// The authenticator code of one account, from anywhere: a known password gives no
    /// fresh tries.
    pub const CODE: Self = Self::Backoff {
        free: 5,
        max_delay: MAX_DELAY,
        forget_after: Duration::hours(24),
    };
    /// One known device (browser) of one account, from any address: it skips the account's
    /// ceiling, so it has a backoff of its own, and a stolen device cookie is worth a few
    /// tries only.
    pub const DEVICE: Self = Self::Backoff {
        free: 5,
        max_delay: MAX_DELAY,
        forget_after: Duration::hours(24),
    };
    /// Mailed sign-in links of one account: one per window, so asking again and again sends
    /// no more mail.
    pub const SIGN_IN_LINK_MAIL: Self = Self::Ceiling {
        max: 1,
        window: MAX_DELAY,
    };
    /// Mailed sign-in links of one account per day: someone who keeps the ceiling up cannot
    /// make the person's mailbox fill with one every 15 minutes.
    pub const SIGN_IN_LINK_MAILS_PER_DAY: Self = Self::Ceiling {
        max: 6,
        window: Duration::hours(24),
    };
    /// "Forgot password?" mails of one account: one per window, and as many a day as sign-in
    /// links, so asking again and again sends no more mail.
    pub const RESET_MAIL: Self = Self::SIGN_IN_LINK_MAIL;
    pub const RESET_MAILS_PER_DAY: Self = Self::SIGN_IN_LINK_MAILS_PER_DAY;
    /// "Forgot password?" requests from one address (IPv6: its /64) an hour, whatever the
    /// names: enough for an office behind one address, too few to fill many mailboxes.
    pub const RESET_REQUESTS_PER_ADDRESS: Self = Self::Ceiling {
        max: 20,
        window: Duration::hours(1),
    };

    /// Before an attempt: `Ok` with the counter that counts it, or `Err` with the time the
    /// next attempt may start.
    pub fn claim(
        &self,
        current: Option<Counter>,
        now: DateTime<Utc>,
    ) -> Result<Counter, DateTime<Utc>> {
        let live = current.filter(|c| c.expires_at > now);
        if let Some(until) = live.and_then(|c| c.throttled_until).filter(|u| *u > now) {
            return Err(until);
        }
        let failures = live.map_or(0, |c| c.failures).saturating_add(1);
        Ok(match *self {
            Self::Backoff {
                free,
                max_delay,
                forget_after,
            } => {
                let delay = backoff_delay(failures, free, max_delay);
                Counter {
                    failures,
                    throttled_until: (delay > Duration::zero()).then(|| now + delay),
                    expires_at: now + forget_after.max(delay),
                }
            }
            Self::Ceiling { max, window } => {
                let expires_at = live.map_or(now + window, |c| c.expires_at);
                Counter {
                    failures,
                    throttled_until: (failures >= max).then_some(expires_at),
                    expires_at,
                }
            }
        })
    }

    /// After a successful attempt: the counter to keep, if any. A backoff starts over; a
    /// ceiling gives back the one attempt that succeeded.
    pub fn release(&self, current: Option<Counter>, now: DateTime<Utc>) -> Option<Counter> {
        match *self {
            Self::Backoff { .. } => None,
            Self::Ceiling { max, .. } => {
                let live = current.filter(|c| c.expires_at > now)?;
                let failures = (live.failures - 1).max(0);
                Some(Counter {
                    failures,
                    throttled_until: (failures >= max).then_some(live.expires_at),
                    expires_at: live.expires_at,
                })
            }
        }
    }
}

/// The delay after the `failures`-th attempt.
fn backoff_delay(failures: i32, free: i32, max_delay: Duration) -> Duration {
    if failures < free {
        return Duration::zero();
    }
    let doublings = u32::try_from(failures - free).unwrap_or(0).min(20);
    Duration::seconds(1_i64 << doublings).min(max_delay)
}

/// Which counter a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Password attempts for one sign-in name from one address.
    Pair,
    /// Password attempts for one sign-in name from anywhere.
    Account,
    /// Code attempts for one sign-in name from anywhere.
    Code,
    /// An address the person has signed in from (exempt from the account ceiling).
    KnownAddress,
    /// Failed app-password checks for one name.
    CheckName,
    /// Failed app-password checks from one address (IPv6: its /64).
    CheckAddress,
    /// Web sign-in attempts from one address (IPv6: its /64).
    SignInAddress,
    /// Password attempts for one sign-in name from one known device (the address part is
    /// the device's nonce).
    Device,
    /// Sign-in links mailed for one sign-in name.
    SignInLinkMail,
    /// Sign-in links mailed for one sign-in name in a day.
    SignInLinkMailDay,
    /// Failed second steps of one person since their last complete sign-in (the name part is
    /// their user id: `domain::attack_alert`).
    SecondStepStreak,
    /// "Forgot password?" mails for one sign-in name.
    ResetMail,
    /// "Forgot password?" mails for one sign-in name in a day.
    ResetMailDay,
    /// "Forgot password?" requests from one address (IPv6: its /64).
    ResetAddress,
}

/// The address as counted: IPv4 whole, IPv6 by its /64 (one host holds a whole /64, so
/// counting single IPv6 addresses would give it billions of fresh tries); an IPv4 address
/// mapped into IPv6 counts as the IPv4 address.
pub fn address_prefix(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The storage key of a counter: a hash, so an attacker's long or odd names cost the same
/// fixed 64 characters, and names are not stored beside their counters.
pub fn key(kind: KeyKind, name_key: &str, address: Option<&str>) -> String {
    let tag = match kind {
        KeyKind::Pair => "pair",
        KeyKind::Account => "account",
        KeyKind::Code => "code",
        KeyKind::KnownAddress => "known",
        KeyKind::CheckName => "check",
        KeyKind::CheckAddress => "check-address",
        KeyKind::SignInAddress => "sign-in-address",
        KeyKind::Device => "device",
        KeyKind::SignInLinkMail => "sign-in-link-mail",
        KeyKind::SignInLinkMailDay => "sign-in-link-mail-day",
        KeyKind::SecondStepStreak => "second-step-streak",
        KeyKind::ResetMail => "reset-mail",
        KeyKind::ResetMailDay => "reset-mail-day",
        KeyKind::ResetAddress => "reset-address",
    };
    let mut hasher = Sha256::new();
    for part in [tag, name_key, address.unwrap_or("")] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

/// How long an address stays known after a successful sign-in from it.
pub const KNOWN_ADDRESS_FOR: Duration = Duration::days(30);

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

    fn counter(failures: i32, until: Option<DateTime<Utc>>, expires: DateTime<Utc>) -> Counter {
        Counter {
            failures,
            throttled_until: until,
            expires_at: expires,
        }
    }

    #[test]
    fn backoff_gives_free_tries_then_doubles_up_to_fifteen_minutes() {
        let rule = Rule::PAIR;
        let mut current = None;
        for _ in 0..4 {
            let next = rule.claim(current, now()).expect("free try");
            assert_eq!(next.throttled_until, None);
            current = Some(next);
        }
        let fifth = rule.claim(current, now()).expect("fifth try");
        assert_eq!(fifth.throttled_until, Some(now() + Duration::seconds(1)));
        // A parallel attempt at the same moment waits: the claim is the check.
        assert_eq!(
            rule.claim(Some(fifth), now()),
            Err(now() + Duration::seconds(1))
        );
        let sixth = rule
            .claim(Some(fifth), now() + Duration::seconds(1))
            .expect("after the wait");
        assert_eq!(
            sixth.throttled_until,
            Some(now() + Duration::seconds(3)),
            "2 s after the sixth"
        );
        assert_eq!(backoff_delay(30, 5, MAX_DELAY), MAX_DELAY);
        assert_eq!(backoff_delay(i32::MAX, 5, MAX_DELAY), MAX_DELAY);
        // Success starts over; a day without attempts forgets.
        assert_eq!(rule.release(Some(sixth), now()), None);
        let forgotten = rule
            .claim(Some(sixth), now() + Duration::hours(25))
            .expect("forgotten");
        assert_eq!(forgotten.failures, 1);
    }

    #[test]
    fn ceiling_waits_until_its_window_ends_and_gives_back_successes() {
        let rule = Rule::Ceiling {
            max: 3,
            window: Duration::minutes(15),
        };
        let end = now() + Duration::minutes(15);
        let mut current = None;
        for n in 0..3 {
            let next = rule
                .claim(current, now() + Duration::minutes(n))
                .expect("under the ceiling");
            assert_eq!(next.expires_at, end, "the window starts with the first");
            current = Some(next);
        }
        assert_eq!(current.and_then(|c| c.throttled_until), Some(end));
        assert_eq!(rule.claim(current, now() + Duration::minutes(5)), Err(end));
        // The attempt that succeeded is given back, which reopens the window.
        let released = rule.release(current, now() + Duration::minutes(5));
        assert_eq!(released, Some(counter(2, None, end)));
        // The window ends by itself.
        let next = rule.claim(current, end).expect("new window");
        assert_eq!(next.failures, 1);
        assert_eq!(next.expires_at, end + Duration::minutes(15));
    }

    #[test]
    fn one_sign_in_link_mail_per_window() {
        let rule = Rule::SIGN_IN_LINK_MAIL;
        let first = rule.claim(None, now()).expect("the first mail");
        let end = now() + MAX_DELAY;
        assert_eq!(
            rule.claim(Some(first), now() + Duration::minutes(14)),
            Err(end)
        );
        assert!(rule.claim(Some(first), end).is_ok(), "the next window");
    }

    #[test]
    fn no_wait_is_longer_than_fifteen_minutes() {
        for rule in [
            Rule::PAIR,
            Rule::ACCOUNT,
            Rule::CODE,
            Rule::DEVICE,
            Rule::SIGN_IN_LINK_MAIL,
        ] {
            let mut current: Option<Counter> = None;
            let mut at = now();
            for _ in 0..500 {
                match rule.claim(current, at) {
                    Ok(next) => current = Some(next),
                    Err(until) => {
                        assert!(until - at <= MAX_DELAY, "{rule:?}");
                        at = until;
                    }
                }
            }
        }
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_prefix(a), address_prefix(b));
        assert_ne!(address_prefix(a), address_prefix(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_prefix(mapped), "192.0.2.7");
    }

    #[test]
    fn keys_have_a_fixed_size_whatever_the_name() {
        let long = "x".repeat(100_000);
        assert_eq!(key(KeyKind::Pair, &long, Some("192.0.2.7")).len(), 64);
        assert_ne!(
            key(KeyKind::Pair, "ada", Some("192.0.2.7")),
            key(KeyKind::Account, "ada", Some("192.0.2.7"))
        );
        assert_ne!(
            key(KeyKind::Pair, "ada", Some("192.0.2.7")),
            key(KeyKind::Pair, "ada", Some("192.0.2.8"))
        );
    }
}
