//! One-time password links: an administrator's password reset, or a new person's first
//! password, set by the person themselves. The token is 256 random bits that only the link
//! holds; the database keeps its hash. A link works once, for 24 hours.

use chrono::{DateTime, Duration, Utc};

use super::random::{RandomSource, random_hex};

/// How long a link works.
pub const LIFETIME: Duration = Duration::hours(24);

/// Why the link was made; it decides what the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An administrator reset the person's password.
    Reset,
    /// An administrator added the person, who has no password yet.
    Welcome,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Welcome => "welcome",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "reset" => Some(Purpose::Reset),
            "welcome" => Some(Purpose::Welcome),
            _ => None,
        }
    }
}

/// A new link token: 256 random bits, hex encoded.
pub fn new_token(rng: &mut impl RandomSource) -> String {
    random_hex(rng, 32)
}

/// What the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    super::session::token_hash(token)
}

/// When a link made at `now` stops working.
pub fn expires_at(now: DateTime<Utc>) -> DateTime<Utc> {
    now + LIFETIME
}

/// Whether a token could be one of ours at all (64 hex digits); anything else is not looked up.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    #[test]
    fn tokens_are_random_well_formed_and_stored_hashed() {
        let (a, b) = (new_token(&mut OsRandom), new_token(&mut OsRandom));
        assert_ne!(a, b);
        assert!(is_well_formed(&a));
        assert!(!is_well_formed(&a[1..]));
        assert!(!is_well_formed(&format!("{}g", &a[1..])));
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn links_last_a_day_and_name_their_purpose() {
        let now = Utc::now();
        assert_eq!(expires_at(now) - now, Duration::hours(24));
        for purpose in [Purpose::Reset, Purpose::Welcome] {
            assert_eq!(Purpose::parse(purpose.as_str()), Some(purpose));
        }
    }
}
