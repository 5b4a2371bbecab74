//! Applies the throttling rules of `domain::throttle` to web sign-in: which counters an
//! attempt claims before any password or code is checked, and what a success gives back.
//! Counters live in the database, so every instance shares them. Names are counted whether
//! or not an account has them, so the answers cannot tell the two apart.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::db::{Claim, Store, StoreError};
use crate::domain::throttle::{self, KeyKind, Rule};

/// A password attempt that has been counted; tell it how it went.
#[derive(Debug)]
pub struct PasswordAttempt {
    pair: String,
    account: Option<String>,
}

/// A code attempt that has been counted.
#[derive(Debug)]
pub struct CodeAttempt {
    key: String,
}

/// Counts a password attempt for the sign-in name `name_key` from `ip`, or says until when
/// none may start. Addresses the person has signed in from are exempt from the account's
/// ceiling (not from their own backoff), so a spread-out attack cannot keep them out.
pub async fn begin_password_attempt(
    store: &Store,
    name_key: &str,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<Result<PasswordAttempt, DateTime<Utc>>, StoreError> {
    let address = ip.map(throttle::address_prefix);
    let address = address.as_deref();
    let known = store
        .throttle_counter(&throttle::key(KeyKind::KnownAddress, name_key, address))
        .await?
        .is_some_and(|marker| marker.expires_at > now);
    let account = if known {
        None
    } else {
        let key = throttle::key(KeyKind::Account, name_key, None);
        if let Claim::WaitUntil(until) = store.claim_attempt(&key, Rule::ACCOUNT, now).await? {
            return Ok(Err(until));
        }
        Some(key)
    };
    let pair = throttle::key(KeyKind::Pair, name_key, address);
    if let Claim::WaitUntil(until) = store.claim_attempt(&pair, Rule::PAIR, now).await? {
        // Not attempted after all: give the account's count back.
        if let Some(account) = &account {
            store.release_attempt(account, Rule::ACCOUNT, now).await?;
        }
        return Ok(Err(until));
    }
    Ok(Ok(PasswordAttempt { pair, account }))
}

impl PasswordAttempt {
    /// The password was right: this address starts over, and the account's ceiling gets
    /// the attempt back.
    pub async fn succeeded(self, store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        store.release_attempt(&self.pair, Rule::PAIR, now).await?;
        if let Some(account) = &self.account {
            store.release_attempt(account, Rule::ACCOUNT, now).await?;
        }
        Ok(())
    }
}

/// Counts an authenticator-code attempt for `name_key`, from any address; only a right code
/// resets it (a right password does not).
pub async fn begin_code_attempt(
    store: &Store,
    name_key: &str,
    now: DateTime<Utc>,
) -> Result<Result<CodeAttempt, DateTime<Utc>>, StoreError> {
    let key = throttle::key(KeyKind::Code, name_key, None);
    Ok(match store.claim_attempt(&key, Rule::CODE, now).await? {
        Claim::Granted => Ok(CodeAttempt { key }),
        Claim::WaitUntil(until) => Err(until),
    })
}

impl CodeAttempt {
    pub async fn succeeded(self, store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        store.release_attempt(&self.key, Rule::CODE, now).await
    }
}

/// Remembers that the person signed in completely from `ip` (exempt from the account
/// ceiling there for a while).
pub async fn remember_address(
    store: &Store,
    name_key: &str,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let address = ip.map(throttle::address_prefix);
    let key = throttle::key(KeyKind::KnownAddress, name_key, address.as_deref());
    store
        .set_throttle_marker(&key, now + throttle::KNOWN_ADDRESS_FOR)
        .await
}
