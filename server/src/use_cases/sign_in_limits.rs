//! Applies the throttling rules of `domain::throttle` to web sign-in: which counters an
//! attempt claims before any password or code is checked, and what a success gives back.
//! Counters live in the database, so every instance shares them. Names are counted whether
//! or not an account has them, so the answers cannot tell the two apart. A known device
//! (`domain::known_device`) is counted on its own, past the account's ceiling; a mailed
//! sign-in link is offered only while that ceiling holds, once per window.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::db::{Claim, Store, StoreError};
use crate::domain::known_device::Device;
use crate::domain::throttle::{self, KeyKind, Rule};

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// This sign-in name from this address.
    Pair,
    /// This sign-in name from everywhere: an attack from many addresses may hold it up. The
    /// person's known devices get past it, and a mailed link makes a browser one.
    Account,
    /// This sign-in name from this known device.
    Device,
    /// Too many attempts for this sign-in name at the same instant to count them all (an
    /// attack): a moment's wait.
    Contended,
}

/// An attempt that may not start before `until`, because of `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub until: DateTime<Utc>,
    pub limit: Limit,
}

/// A password attempt that has been counted; tell it how it went.
#[derive(Debug)]
pub struct PasswordAttempt {
    pair: Option<String>,
    account: Option<String>,
    device: Option<String>,
    past_ceiling: bool,
}

/// A code attempt that has been counted.
#[derive(Debug)]
pub struct CodeAttempt {
    key: String,
}

/// Counts a password attempt for the sign-in name `name_key` from `ip`, or says until when
/// none may start and why. From a known `device` of the person (a valid device cookie for
/// this name) only the device's own count applies: not the account's ceiling, which a
/// spread-out attack can hold up, nor the address's, which may be shared with an attacker
/// (carrier NAT). Otherwise addresses the person has signed in from are exempt from the
/// account's ceiling (not from their own backoff).
pub async fn begin_password_attempt(
    store: &Store,
    name_key: &str,
    ip: Option<IpAddr>,
    device: Option<&Device>,
    now: DateTime<Utc>,
) -> Result<Result<PasswordAttempt, Refused>, StoreError> {
    if let Some(device) = device {
        let key = throttle::key(KeyKind::Device, name_key, Some(device.nonce()));
        if let Claim::WaitUntil(until) = store.claim_attempt(&key, Rule::DEVICE, now).await? {
            return Ok(Err(Refused {
                until,
                limit: Limit::Device,
            }));
        }
        return Ok(Ok(PasswordAttempt {
            pair: None,
            account: None,
            device: Some(key),
            past_ceiling: account_held(store, name_key, now).await?,
        }));
    }
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
            // The ceiling, or only a crowd of attempts at this instant?
            let limit = if account_held(store, name_key, now).await? {
                Limit::Account
            } else {
                Limit::Contended
            };
            return Ok(Err(Refused { until, limit }));
        }
        Some(key)
    };
    let pair = throttle::key(KeyKind::Pair, name_key, address);
    if let Claim::WaitUntil(until) = store.claim_attempt(&pair, Rule::PAIR, now).await? {
        // Not attempted after all: give the account's count back.
        if let Some(account) = &account {
            store.release_attempt(account, Rule::ACCOUNT, now).await?;
        }
        return Ok(Err(Refused {
            until,
            limit: Limit::Pair,
        }));
    }
    Ok(Ok(PasswordAttempt {
        pair: Some(pair),
        account,
        device: None,
        past_ceiling: false,
    }))
}

/// Whether the account's ceiling holds `name_key`'s sign-ins back at `now`.
async fn account_held(
    store: &Store,
    name_key: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let account = store
        .throttle_counter(&throttle::key(KeyKind::Account, name_key, None))
        .await?;
    Ok(account.is_some_and(|counter| {
        counter.expires_at > now && counter.throttled_until.is_some_and(|until| until > now)
    }))
}

/// Whether a sign-in link may be mailed for `name_key` now: only while the account's ceiling
/// holds its sign-ins back (what the link is for), and once per window (counted here, so two
/// requests at once mail once). The caller answers the same either way.
pub async fn may_mail_sign_in_link(
    store: &Store,
    name_key: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if !account_held(store, name_key, now).await? {
        return Ok(false);
    }
    let window = throttle::key(KeyKind::SignInLinkMail, name_key, None);
    if store
        .claim_attempt(&window, Rule::SIGN_IN_LINK_MAIL, now)
        .await?
        != Claim::Granted
    {
        return Ok(false);
    }
    let day = throttle::key(KeyKind::SignInLinkMailDay, name_key, None);
    Ok(store
        .claim_attempt(&day, Rule::SIGN_IN_LINK_MAILS_PER_DAY, now)
        .await?
        == Claim::Granted)
}

/// Gives back the link mail [`may_mail_sign_in_link`] granted when none could be queued after
/// all (the database failed): the person may ask again at once.
pub async fn give_back_sign_in_link_mail(
    store: &Store,
    name_key: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for (kind, rule) in [
        (KeyKind::SignInLinkMail, Rule::SIGN_IN_LINK_MAIL),
        (KeyKind::SignInLinkMailDay, Rule::SIGN_IN_LINK_MAILS_PER_DAY),
    ] {
        store
            .release_attempt(&throttle::key(kind, name_key, None), rule, now)
            .await?;
    }
    Ok(())
}

/// Counts a "Forgot password?" request from `ip` (IPv6: its /64): `Err` with the time the
/// next may start when the address made too many ([`Rule::RESET_REQUESTS_PER_ADDRESS`]),
/// whatever names it asked for.
pub async fn begin_reset_request(
    store: &Store,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<Result<(), DateTime<Utc>>, StoreError> {
    let Some(ip) = ip else {
        return Ok(Ok(()));
    };
    let key = throttle::key(
        KeyKind::ResetAddress,
        "",
        Some(&throttle::address_prefix(ip)),
    );
    Ok(
        match store
            .claim_attempt(&key, Rule::RESET_REQUESTS_PER_ADDRESS, now)
            .await?
        {
            Claim::Granted => Ok(()),
            Claim::WaitUntil(until) => Err(until),
        },
    )
}

/// Whether a "Forgot password?" link may be mailed for `name_key` now: once per window and
/// a few times a day (counted here whether or not the name exists, so two requests at once
/// mail once and the answers cannot tell names apart). The caller answers the same either way.
pub async fn may_mail_password_link(
    store: &Store,
    name_key: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let window = throttle::key(KeyKind::ResetMail, name_key, None);
    if store.claim_attempt(&window, Rule::RESET_MAIL, now).await? != Claim::Granted {
        return Ok(false);
    }
    let day = throttle::key(KeyKind::ResetMailDay, name_key, None);
    Ok(store
        .claim_attempt(&day, Rule::RESET_MAILS_PER_DAY, now)
        .await?
        == Claim::Granted)
}

/// Gives back the mail [`may_mail_password_link`] granted when none could be queued after
/// all (the database failed): the person may ask again at once.
pub async fn give_back_password_link_mail(
    store: &Store,
    name_key: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for (kind, rule) in [
        (KeyKind::ResetMail, Rule::RESET_MAIL),
        (KeyKind::ResetMailDay, Rule::RESET_MAILS_PER_DAY),
    ] {
        store
            .release_attempt(&throttle::key(kind, name_key, None), rule, now)
            .await?;
    }
    Ok(())
}

impl PasswordAttempt {
    /// Whether a known device let this attempt past the account's ceiling, which held.
    pub fn past_ceiling(&self) -> bool {
        self.past_ceiling
    }

    /// The password was right: this address (or device) starts over, and the account's
    /// ceiling gets the attempt back.
    pub async fn succeeded(self, store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(pair) = &self.pair {
            store.release_attempt(pair, Rule::PAIR, now).await?;
        }
        if let Some(account) = &self.account {
            store.release_attempt(account, Rule::ACCOUNT, now).await?;
        }
        if let Some(device) = &self.device {
            store.release_attempt(device, Rule::DEVICE, now).await?;
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
