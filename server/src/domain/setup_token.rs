//! The one-time setup link printed on first start: random, valid for one hour, single use.
//! Only a SHA-256 digest of the token is kept, and it is compared in constant time.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::random::{RandomSource, random_hex};

/// How long a setup link stays valid.
pub const SETUP_LINK_LIFETIME: Duration = Duration::hours(1);

#[derive(Clone)]
struct IssuedToken {
    digest: [u8; 32],
    expires_at: DateTime<Utc>,
}

/// Holds the current setup token, if any. Shared by the HTTP handlers of one process.
#[derive(Default)]
pub struct SetupGate {
    issued: Mutex<Option<IssuedToken>>,
}

impl std::fmt::Debug for SetupGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupGate").finish_non_exhaustive()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SetupGate {
    /// Issues a fresh token (replacing any earlier one) and returns it in clear text,
    /// the only time it exists so.
    pub fn issue(&self, rng: &mut impl RandomSource, now: DateTime<Utc>) -> String {
        let token = random_hex(rng, 32);
        let issued = IssuedToken {
            digest: digest(&token),
            expires_at: now + SETUP_LINK_LIFETIME,
        };
        *self.lock() = Some(issued);
        token
    }

    /// Whether `token` opens the setup page at `now`.
    pub fn accepts(&self, token: &str, now: DateTime<Utc>) -> bool {
        let presented = digest(token);
        self.lock()
            .as_ref()
            .is_some_and(|t| now < t.expires_at && constant_time_eq(&t.digest, &presented))
    }

    /// Ends the link for good (after setup succeeded).
    pub fn close(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<IssuedToken>> {
        // A poisoned lock only means another thread panicked mid-assignment of a plain
        // value; the data is still consistent.
        self.issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default()
            + Duration::minutes(minutes)
    }

    #[test]
    fn accepts_its_token_for_one_hour() {
        let gate = SetupGate::default();
        let token = gate.issue(&mut OsRandom, at(0));
        assert_eq!(token.len(), 64);
        assert!(gate.accepts(&token, at(0)));
        assert!(gate.accepts(&token, at(59)));
        assert!(!gate.accepts(&token, at(60)));
    }

    #[test]
    fn rejects_other_tokens_and_nothing_issued() {
        let gate = SetupGate::default();
        assert!(!gate.accepts("", at(0)));
        let token = gate.issue(&mut OsRandom, at(0));
        assert!(!gate.accepts("", at(0)));
        assert!(!gate.accepts(&token[..63], at(0)));
        assert!(!gate.accepts(&token.to_uppercase(), at(0)));
    }

    #[test]
    fn closed_gate_rejects_the_old_token() {
        let gate = SetupGate::default();
        let token = gate.issue(&mut OsRandom, at(0));
        gate.close();
        assert!(!gate.accepts(&token, at(1)));
    }

    #[test]
    fn tokens_differ() {
        let gate = SetupGate::default();
        let first = gate.issue(&mut OsRandom, at(0));
        let second = gate.issue(&mut OsRandom, at(0));
        assert_ne!(first, second);
        assert!(
            !gate.accepts(&first, at(0)),
            "a new token replaces the old one"
        );
    }
}
