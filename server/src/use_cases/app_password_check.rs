//! The password check for non-browser apps, behind `GET /auth/basic` (and so behind nginx
//! `auth_request` and `latchkey checkpassword`).
//!
//! Cost does not grow with the number of app passwords: the secret's keyed lookup hash finds
//! the one candidate row (one indexed query, which also reads the owner and the policy), then
//! one argon2id verification. A miss costs no argon2. Concurrent first checks of one
//! credential share one argon2 computation.
//!
//! Two caches, both keyed by the lookup hash, keep a mail client that signs in every few
//! minutes cheap:
//! - verified credentials (the argon2id hash they matched): no argon2 again while the row
//!   still holds that hash;
//! - accepted checks (the candidate row as read): no database query at all, for as long as
//!   the instance's revocation epoch has not moved on (`db::revocations`). A deleted app
//!   password, a disabled person, a policy switched off or a second factor removed moves it on
//!   at once on this instance, within 100 ms on the others (PostgreSQL `NOTIFY`; SQLite: a
//!   counter read every 100 ms). Without that watch every check reads the database.
//!
//! An app password past its chosen date or the organization's idle limit is refused whether
//! its acceptance is cached or not: expiry moves no epoch (time passing signals nothing), so
//! the cached candidate carries its dates and last use, and every check compares them with
//! the time ([`CheckerSettings::clock`]).
//!
//! An app password limited to some protocols (its kind) is refused for the others, and when
//! the server in front names no protocol; such a refusal counts as a failure like a wrong
//! secret, and is checked on the cached path too (a change of kind moves the epoch on).
//!
//! Failures are throttled per username and per client IP ([`FailureLimit`]), apart from the
//! web sign-in's throttling. Throttling answers only wrong secrets: a right one is always
//! verified, so nobody can cut off someone's mail apps by failing on purpose.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use moka::future::Cache;

use crate::db::{Actor, AppPasswordCandidate, Store, StoreError};
use crate::domain::app_password::{self, AppPasswordSecret};
use crate::domain::mail_protocol::Protocol;
use crate::domain::throttle::{self, FailureLimit, FailureWindow};
use crate::domain::{account, password};
use crate::metrics::{self, CheckCache, CheckResult};
use crate::secret_key::SecretKey;

/// How often the last use of an app password is written (not on every check).
pub const LAST_USE_INTERVAL: chrono::Duration = chrono::Duration::minutes(1);
/// Default number of verified credentials kept in memory (a few hundred bytes each).
pub const DEFAULT_CACHE_CAPACITY: u64 = 50_000;
/// How long a verified credential is trusted without argon2 (its row is still read each time).
const VERIFIED_FOR: StdDuration = StdDuration::from_secs(60 * 60);
/// Keys (usernames, addresses) whose failures are tracked at once; the oldest go first.
const MAX_TRACKED_KEYS: u64 = 100_000;

/// Where a check comes from: the client's address, what it is ("IMAP", a User-Agent), and the
/// protocol the mail or calendar server in front said it is for (`None` when it said nothing).
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub name: Option<String>,
    pub protocol: Option<Protocol>,
}

/// A username and app password that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAppPassword {
    pub username: String,
    pub app_password_id: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Accepted(CheckedAppPassword),
    Refused,
    /// Too many failures for this username or address; try again after this many seconds.
    Throttled {
        retry_after_seconds: u64,
    },
    /// Too many password checks at once to verify this one now; try again shortly.
    Busy,
}

#[derive(Debug, Clone, Copy)]
pub struct CheckerSettings {
    /// Verified credentials kept in memory; 0 turns the cache off (every check runs argon2).
    pub cache_capacity: u64,
    pub per_username: FailureLimit,
    pub per_client_ip: FailureLimit,
    /// What time it is: `Utc::now` but in tests, which move it on to reach an expiry.
    pub clock: fn() -> DateTime<Utc>,
}

impl Default for CheckerSettings {
    fn default() -> Self {
        Self {
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            per_username: FailureLimit::PER_USERNAME,
            per_client_ip: FailureLimit::PER_CLIENT_IP,
            clock: Utc::now,
        }
    }
}

/// Why an argon2 verification did not say yes (shared with the callers waiting on it).
#[derive(Debug, Clone, Copy)]
enum NotVerified {
    Mismatch,
    /// Every hashing slot was taken: no answer either way.
    Busy,
}

pub struct AppPasswordChecker {
    settings: CheckerSettings,
    /// Lookup hash -> the argon2id hash it was verified against.
    verified: Option<Cache<String, Arc<str>>>,
    /// Lookup hash -> the accepted candidate, valid while the revocation epoch is unchanged.
    accepted: Option<moka::sync::Cache<String, Arc<Accepted>>>,
    failures_by_username: moka::sync::Cache<String, FailureWindow>,
    failures_by_ip: moka::sync::Cache<String, FailureWindow>,
    /// (app password id, address) pairs this instance has already stored.
    known_ips: moka::sync::Cache<(i32, String), ()>,
    argon2_runs: AtomicU64,
    candidate_reads: AtomicU64,
}

/// How many entries each of the check's caches holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheEntries {
    pub accepted: u64,
    pub verified: u64,
}

/// An accepted check, as cached: the candidate row and the revocation epoch it was read in.
struct Accepted {
    candidate: AppPasswordCandidate,
    epoch: u64,
}

impl std::fmt::Debug for AppPasswordChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPasswordChecker")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The key of a username's failures (in memory and in the database): a fixed-size hash,
/// however long the name.
fn name_counter(username_key: &str) -> String {
    throttle::key(throttle::KeyKind::CheckName, username_key, None)
}

/// The in-memory key of an address's failures: IPv6 by /64, mapped IPv4 as IPv4.
fn address_counter(ip: &str) -> String {
    ip.parse::<std::net::IpAddr>()
        .map_or_else(|_| ip.chars().take(64).collect(), throttle::address_prefix)
}

/// Why the app password `candidate`, whose secret was given for `username_key`, may not sign
/// in with `protocol` now; `None` when it may (its hash is checked next).
fn why_refused(
    candidate: &AppPasswordCandidate,
    username_key: &str,
    protocol: Option<Protocol>,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    if candidate.username_key != username_key {
        Some("not an app password of that name")
    } else if !candidate.user_enabled {
        Some("the account is disabled")
    } else if !candidate.allow_app_passwords {
        Some("the organization has turned app passwords off")
    } else if !candidate.has_second_factor() {
        Some("the person has no second factor (authenticator app or passkey)")
    } else if !app_password::stored_kind_allows(&candidate.kind, protocol) {
        Some("its kind does not allow this protocol (or the proxy named none)")
    } else if candidate.is_expired(now) {
        Some("it has expired")
    } else {
        None
    }
}

/// Where an app password is "used from", for its new-address alert: the address, an IPv6
/// one by its /64 (a phone's privacy addresses change every day within its network). `None`
/// for loopback: that is a mail server on this machine asking (Dovecot checking again what
/// nginx already checked, a webmail), not a place the app was used from.
fn network_of(ip: &str) -> Option<String> {
    let loopback = ip
        .parse::<std::net::IpAddr>()
        .is_ok_and(|address| address.to_canonical().is_loopback());
    (!loopback).then(|| address_counter(ip))
}

/// The database key of an address's failures (from [`address_counter`]).
fn address_key(address: &str) -> String {
    throttle::key(throttle::KeyKind::CheckAddress, "", Some(address))
}

/// How long to wait when this failure went past the limit (the window was already full).
fn over_limit(
    limit: FailureLimit,
    window: FailureWindow,
    now: DateTime<Utc>,
) -> Option<chrono::Duration> {
    (window.failures > limit.max_failures)
        .then(|| limit.wait(Some(window), now))
        .flatten()
}

fn retry_after(wait: chrono::Duration) -> u64 {
    u64::try_from(wait.num_seconds()).unwrap_or(0).max(1)
}

impl AppPasswordChecker {
    pub fn new(settings: CheckerSettings) -> Self {
        let verified = (settings.cache_capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(settings.cache_capacity)
                .time_to_live(VERIFIED_FOR)
                .build()
        });
        let accepted = (settings.cache_capacity > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(settings.cache_capacity)
                .time_to_live(VERIFIED_FOR)
                .build()
        });
        let failures = |limit: FailureLimit| {
            moka::sync::Cache::builder()
                .max_capacity(MAX_TRACKED_KEYS)
                .time_to_live(limit.window.to_std().unwrap_or(StdDuration::from_secs(300)))
                .build()
        };
        Self {
            settings,
            verified,
            accepted,
            failures_by_username: failures(settings.per_username),
            failures_by_ip: failures(settings.per_client_ip),
            known_ips: moka::sync::Cache::builder()
                .max_capacity(MAX_TRACKED_KEYS)
                .time_to_live(StdDuration::from_secs(24 * 60 * 60))
                .build(),
            argon2_runs: AtomicU64::new(0),
            candidate_reads: AtomicU64::new(0),
        }
    }

    /// How many times this checker has read a candidate from the database (for tests).
    pub fn candidate_reads(&self) -> u64 {
        self.candidate_reads.load(Ordering::Relaxed)
    }

    /// How many argon2 verifications this checker has run (for tests and benchmarks).
    pub fn argon2_runs(&self) -> u64 {
        self.argon2_runs.load(Ordering::Relaxed)
    }

    /// How many entries the two caches hold now (their pending bookkeeping done first: they
    /// count lazily).
    pub async fn cache_entries(&self) -> CacheEntries {
        let mut entries = CacheEntries::default();
        if let Some(cache) = &self.accepted {
            cache.run_pending_tasks();
            entries.accepted = cache.entry_count();
        }
        if let Some(cache) = &self.verified {
            cache.run_pending_tasks().await;
            entries.verified = cache.entry_count();
        }
        entries
    }

    /// Is `password` one of `username`'s app passwords, usable now? Only app passwords are
    /// accepted, never the account password. `Err` only when the database cannot be read.
    /// Counted in the metrics by outcome and protocol, and timed.
    pub async fn check(
        &self,
        store: &Store,
        key: &SecretKey,
        username: &str,
        password: &str,
        client: &Client,
    ) -> Result<CheckOutcome, StoreError> {
        self.check_at(
            store,
            key,
            username,
            password,
            client,
            (self.settings.clock)(),
        )
        .await
    }

    /// [`Self::check`] as of `now` (tests pass a later time to reach an expiry).
    pub async fn check_at(
        &self,
        store: &Store,
        key: &SecretKey,
        username: &str,
        password: &str,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<CheckOutcome, StoreError> {
        let started = std::time::Instant::now();
        let answer = self
            .answer(store, key, username, password, client, now)
            .await;
        let result = match &answer {
            Ok(CheckOutcome::Accepted(_)) => CheckResult::Accepted,
            Ok(CheckOutcome::Refused) => CheckResult::Refused,
            Ok(CheckOutcome::Throttled { .. }) => CheckResult::Throttled,
            Ok(CheckOutcome::Busy) => CheckResult::Busy,
            Err(_) => CheckResult::Unavailable,
        };
        metrics::check_answered(
            result,
            client.protocol,
            client.name.as_deref(),
            started.elapsed(),
        );
        answer
    }

    async fn answer(
        &self,
        store: &Store,
        key: &SecretKey,
        username: &str,
        password: &str,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<CheckOutcome, StoreError> {
        let username_key = account::Username::parse(username)
            .map(|u| u.key().to_owned())
            .unwrap_or_else(|_| username.trim().to_lowercase());
        let secret = AppPasswordSecret::normalize(password);
        let lookup = secret
            .as_ref()
            .map(|s| key.keyed_hash(app_password::LOOKUP_PURPOSE, s.as_str().as_bytes()));

        // Read before the database, so that a revocation committed while the query runs
        // leaves what it read stale.
        let revocations = store.revocations();
        let epoch = revocations.epoch();
        if let Some(lookup) = &lookup
            && let Some(accepted) = self.accepted_earlier(lookup, &username_key, epoch)
            // Another protocol than the one accepted may be outside its kind: the row is read
            // again below and refused there.
            && app_password::stored_kind_allows(&accepted.candidate.kind, client.protocol)
            // Expiry moves no revocation epoch: compared here, with the last use as cached.
            && !accepted.candidate.is_expired(now)
        {
            if self
                .record_use(store, &accepted.candidate, client, now)
                .await
            {
                self.remember_accepted(lookup, &accepted.candidate, accepted.epoch, Some(now));
            }
            return Ok(CheckOutcome::Accepted(CheckedAppPassword {
                username: accepted.candidate.username.clone(),
                app_password_id: accepted.candidate.id,
            }));
        }

        // A secret that is one of this person's app passwords is verified whatever the
        // failure counters say: only wrong secrets are throttled, so ten wrong passwords sent
        // for someone's name cannot turn away their working mail apps. A guess reaches argon2
        // only if its keyed lookup hash names a real app password, which guessing cannot do.
        let candidate = match &lookup {
            Some(lookup) => {
                self.candidate_reads.fetch_add(1, Ordering::Relaxed);
                store.app_password_candidate(lookup).await?
            }
            None => None,
        };
        let mut refused_because = "not an app password of that name";
        let accepted = match (&secret, &lookup, candidate) {
            (Some(secret), Some(lookup), Some(candidate)) => {
                match why_refused(&candidate, &username_key, client.protocol, now) {
                    Some(reason) => {
                        refused_because = reason;
                        None
                    }
                    None => match self.verify(lookup, secret, &candidate.password_hash).await {
                        Ok(()) => Some(candidate),
                        Err(NotVerified::Mismatch) => {
                            refused_because = "a wrong password";
                            None
                        }
                        Err(NotVerified::Busy) => return Ok(CheckOutcome::Busy),
                    },
                }
            }
            (_, Some(lookup), None) => {
                // Deleted (or never existed): forget any earlier verification of it.
                if let Some(cache) = &self.verified {
                    cache.invalidate(lookup).await;
                }
                if let Some(cache) = &self.accepted {
                    cache.invalidate(lookup);
                }
                None
            }
            _ => None,
        };
        let Some(candidate) = accepted else {
            // For an operator finding out why a mail app cannot sign in (`LATCHKEY_LOG=debug`);
            // at debug only, as every guess comes here.
            tracing::debug!(
                user = ?username_key,
                protocol = ?client.protocol,
                client = ?client.ip,
                reason = refused_because,
                "refused an app password check"
            );
            // Known here to be throttled: answered without the database.
            if let Some(wait) = self.wait(&username_key, client.ip.as_deref(), now) {
                return Ok(CheckOutcome::Throttled {
                    retry_after_seconds: retry_after(wait),
                });
            }
            return self.refuse(store, &username_key, client, now).await;
        };
        let used_now = self
            .record_use(store, &candidate, client, now)
            .await
            .then_some(now);
        if revocations.watched()
            && let Some(lookup) = &lookup
        {
            self.remember_accepted(lookup, &candidate, epoch, used_now);
        }
        Ok(CheckOutcome::Accepted(CheckedAppPassword {
            username: candidate.username,
            app_password_id: candidate.id,
        }))
    }

    /// The earlier acceptance of this credential for this username, if nothing may have been
    /// revoked since and revocations are watched.
    fn accepted_earlier(
        &self,
        lookup: &str,
        username_key: &str,
        epoch: u64,
    ) -> Option<Arc<Accepted>> {
        let cache = self.accepted.as_ref()?;
        let found = cache.get(lookup).and_then(|accepted| {
            if accepted.epoch != epoch {
                cache.invalidate(lookup);
                return None;
            }
            (accepted.candidate.username_key == username_key).then_some(accepted)
        });
        metrics::check_cache_lookup(CheckCache::Accepted, found.is_some());
        found
    }

    fn remember_accepted(
        &self,
        lookup: &str,
        candidate: &AppPasswordCandidate,
        epoch: u64,
        used_at: Option<DateTime<Utc>>,
    ) {
        let Some(cache) = &self.accepted else { return };
        let mut candidate = candidate.clone();
        if used_at.is_some() {
            candidate.last_used_at = used_at;
        }
        cache.insert(lookup.to_owned(), Arc::new(Accepted { candidate, epoch }));
    }

    /// Verifies the secret against `hash`, from the cache when it was verified recently;
    /// concurrent verifications of one credential share one argon2 run.
    async fn verify(
        &self,
        lookup: &str,
        secret: &AppPasswordSecret,
        hash: &str,
    ) -> Result<(), NotVerified> {
        let Some(cache) = &self.verified else {
            return self.run_argon2(secret, hash).await;
        };
        if let Some(verified) = cache.get(lookup).await {
            if &*verified == hash {
                metrics::check_cache_lookup(CheckCache::Verified, true);
                return Ok(());
            }
            // Verified against another hash: the row was replaced. Verify afresh.
            cache.invalidate(lookup).await;
        }
        metrics::check_cache_lookup(CheckCache::Verified, false);
        let verified = cache
            .try_get_with(lookup.to_owned(), async {
                self.run_argon2(secret, hash)
                    .await
                    .map(|()| Arc::<str>::from(hash))
            })
            .await
            .map_err(|shared| *shared)?;
        if &*verified == hash {
            Ok(())
        } else {
            Err(NotVerified::Mismatch)
        }
    }

    async fn run_argon2(&self, secret: &AppPasswordSecret, hash: &str) -> Result<(), NotVerified> {
        self.argon2_runs.fetch_add(1, Ordering::Relaxed);
        match password::verify_password_blocking(secret.as_str().to_owned(), hash.to_owned()).await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotVerified::Mismatch),
            Err(password::HashError::Busy) => Err(NotVerified::Busy),
            Err(error) => {
                tracing::error!(%error, "app password verification failed");
                Err(NotVerified::Mismatch)
            }
        }
    }

    /// How long checks for this username or address must wait, if either is throttled.
    fn wait(
        &self,
        username_key: &str,
        ip: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<chrono::Duration> {
        let by_name = self.settings.per_username.wait(
            self.failures_by_username.get(&name_counter(username_key)),
            now,
        );
        let by_ip = ip.and_then(|ip| {
            self.settings
                .per_client_ip
                .wait(self.failures_by_ip.get(&address_counter(ip)), now)
        });
        by_name.max(by_ip)
    }

    /// Counts a failure for the username and the address in the database, where every
    /// instance counts (the windows are kept in memory too, so a throttled client is answered
    /// without a query); records in the audit log the failure that used either window up.
    /// Counting first and then comparing is what [`FailureLimit::wait`] would have said before
    /// the count, without a read that another instance's count could overtake.
    async fn refuse(
        &self,
        store: &Store,
        username_key: &str,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<CheckOutcome, StoreError> {
        let actor = Actor {
            ip: client.ip.clone(),
            user_agent: client.name.clone(),
            user_id: None,
            command_line: false,
        };
        let limit = self.settings.per_username;
        let key = name_counter(username_key);
        let by_name = store.count_failure(&key, limit, now).await?;
        self.failures_by_username.insert(key, by_name);
        if limit.just_reached(by_name) {
            tracing::warn!(username = ?username_key, "app-password checks throttled for a username");
            let user_id = store.user_by_key(username_key).await?.map(|u| u.id);
            let detail = format!(
                "app-password checks for {username_key:?} paused after {} failures",
                limit.max_failures
            );
            self.audit(
                store,
                user_id,
                "app_password.throttled",
                detail,
                &actor,
                now,
            )
            .await;
        }
        let mut wait = over_limit(limit, by_name, now);
        if let Some(ip) = &client.ip {
            let limit = self.settings.per_client_ip;
            let address = address_counter(ip);
            let by_ip = store
                .count_failure(&address_key(&address), limit, now)
                .await?;
            self.failures_by_ip.insert(address, by_ip);
            if limit.just_reached(by_ip) {
                tracing::warn!(%ip, "app-password checks throttled for a client address");
                let detail = format!(
                    "app-password checks from {ip} paused after {} failures",
                    limit.max_failures
                );
                self.audit(store, None, "app_password.throttled", detail, &actor, now)
                    .await;
            }
            wait = wait.max(over_limit(limit, by_ip, now));
        }
        Ok(match wait {
            Some(wait) => CheckOutcome::Throttled {
                retry_after_seconds: retry_after(wait),
            },
            None => CheckOutcome::Refused,
        })
    }

    /// Writes the last use at most once per [`LAST_USE_INTERVAL`], and the first use from
    /// each address once; true when the last use was written. A failed write is logged: the
    /// check itself has succeeded.
    async fn record_use(
        &self,
        store: &Store,
        candidate: &AppPasswordCandidate,
        client: &Client,
        now: DateTime<Utc>,
    ) -> bool {
        let not_before = now - LAST_USE_INTERVAL;
        let mut written = false;
        if candidate.last_used_at.is_none_or(|at| at < not_before) {
            match store
                .record_app_password_use(
                    candidate.id,
                    now,
                    not_before,
                    client.ip.clone(),
                    client.name.clone(),
                )
                .await
            {
                Ok(()) => written = true,
                Err(error) => {
                    tracing::warn!(%error, "could not record the last use of an app password");
                }
            }
        }
        let Some(ip) = &client.ip else {
            return written;
        };
        let Some(network) = network_of(ip) else {
            return written;
        };
        let pair = (candidate.id, network);
        if self.known_ips.contains_key(&pair) {
            return written;
        }
        match store
            .remember_app_password_ip(candidate.id, &pair.1, now)
            .await
        {
            Ok(first_time) => {
                if first_time {
                    let actor = Actor {
                        ip: client.ip.clone(),
                        user_agent: client.name.clone(),
                        user_id: None,
                        command_line: false,
                    };
                    let detail = format!(
                        "app password {} used from {ip} for the first time",
                        candidate.id
                    );
                    self.audit(
                        store,
                        Some(candidate.user_id),
                        "app_password.new_ip",
                        detail,
                        &actor,
                        now,
                    )
                    .await;
                }
                self.known_ips.insert(pair, ());
            }
            Err(error) => tracing::warn!(%error, "could not record an app password's address"),
        }
        written
    }

    async fn audit(
        &self,
        store: &Store,
        user_id: Option<i32>,
        kind: &str,
        detail: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) {
        if let Err(error) = store.audit(user_id, kind, detail, actor, now).await {
            tracing::warn!(%error, kind, "could not write an audit event");
        }
    }
}
