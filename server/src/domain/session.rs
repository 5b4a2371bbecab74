//! Browser session rules: token generation and hashing, idle and absolute lifetimes, how
//! recently someone must have proved who they are, and which return paths are safe.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::random::{RandomSource, random_hex};

/// A sign-in that still needs its second step expires quickly.
pub const PENDING_SECOND_STEP_LIFETIME: Duration = Duration::minutes(10);
/// `last_seen_at` is written at most this often, not on every request.
pub const TOUCH_INTERVAL: Duration = Duration::minutes(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::hours(8),
            absolute: Duration::days(7),
        }
    }
}

impl SessionPolicy {
    pub fn is_live(
        &self,
        created_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        now < created_at + self.absolute && now < last_seen_at + self.idle
    }
}

/// A new session token: 256 random bits, hex encoded. Goes into the cookie only.
pub fn new_token(rng: &mut impl RandomSource) -> String {
    random_hex(rng, 32)
}

/// What the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `last_seen_at` is old enough to be worth a database write.
pub fn should_touch(last_seen_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - last_seen_at >= TOUCH_INTERVAL
}

/// `next` if it is a path on this site, otherwise "/". Rejects absolute and scheme-relative
/// URLs ("//evil.example", "/\evil.example") so sign-in cannot send people elsewhere.
pub fn safe_return_path(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with("/signin")
        // Error parameters are the server's to write (see `form_errors`), never a return path's.
        && !next.contains("__")
        && !next.to_ascii_lowercase().contains("%5f");
    if ok { next.to_owned() } else { "/".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    fn t(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default()
            + Duration::hours(hours)
    }

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let policy = SessionPolicy::default();
        assert!(policy.is_live(t(0), t(0), t(7)));
        assert!(!policy.is_live(t(0), t(0), t(8)), "8 hours idle");
        assert!(policy.is_live(t(0), t(160), t(167)));
        assert!(!policy.is_live(t(0), t(167), t(168)), "7 days absolute");
    }

    #[test]
    fn tokens_are_256_bits_and_only_their_hash_is_kept() {
        let token = new_token(&mut OsRandom);
        assert_eq!(token.len(), 64);
        assert_ne!(token, new_token(&mut OsRandom));
        let hash = token_hash(&token);
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, token);
        assert_eq!(hash, token_hash(&token));
    }

    #[test]
    fn only_same_site_paths_are_return_targets() {
        assert_eq!(safe_return_path("/security-info"), "/security-info");
        assert_eq!(safe_return_path("/security-info?x=1"), "/security-info?x=1");
        assert_eq!(
            safe_return_path("/security-info?__err=x"),
            "/",
            "errors are the server's"
        );
        assert_eq!(safe_return_path("/security-info?%5F%5Ferr=x"), "/");
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/signin",
            "/a\nb",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_return_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn touches_at_most_once_a_minute() {
        assert!(!should_touch(t(0), t(0) + Duration::seconds(59)));
        assert!(should_touch(t(0), t(0) + Duration::seconds(60)));
    }
}
