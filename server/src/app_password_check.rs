//! The password check for non-browser apps, behind `GET /auth/basic` (and so behind nginx
//! `auth_request` and `latchkey checkpassword`).
//!
//! Cost does not grow with the number of app passwords: the secret's keyed lookup hash finds
//! the one candidate row (one indexed query, which also reads the owner and the policy), then
//! one argon2id verification. A miss costs no argon2. Credentials verified recently are kept
//! in a bounded in-memory cache keyed by that lookup hash, so a mail client signing in every
//! few minutes costs no argon2 either; the indexed query still runs on every check, so a
//! deleted app password, a disabled user or a policy change is refused at once on every
//! instance. Concurrent first checks of one credential share one argon2 computation.
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
use crate::domain::throttle::{self, FailureLimit, FailureWindow};
use crate::domain::{account, password};
use crate::secret_key::SecretKey;

/// How often the last use of an app password is written (not on every check).
pub const LAST_USE_INTERVAL: chrono::Duration = chrono::Duration::minutes(1);
/// Default number of verified credentials kept in memory (a few hundred bytes each).
pub const DEFAULT_CACHE_CAPACITY: u64 = 50_000;
/// How long a verified credential is trusted without argon2 (its row is still read each time).
const VERIFIED_FOR: StdDuration = StdDuration::from_secs(60 * 60);
/// Keys (usernames, addresses) whose failures are tracked at once; the oldest go first.
const MAX_TRACKED_KEYS: u64 = 100_000;

/// Where a check comes from: the client's address and what it is ("IMAP", a User-Agent).
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub name: Option<String>,
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
}

impl Default for CheckerSettings {
    fn default() -> Self {
        Self {
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            per_username: FailureLimit::PER_USERNAME,
            per_client_ip: FailureLimit::PER_CLIENT_IP,
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
    failures_by_username: moka::sync::Cache<String, FailureWindow>,
    failures_by_ip: moka::sync::Cache<String, FailureWindow>,
    /// (app password id, address) pairs this instance has already stored.
    known_ips: moka::sync::Cache<(i32, String), ()>,
    argon2_runs: AtomicU64,
}

impl std::fmt::Debug for AppPasswordChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPasswordChecker")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The in-memory key of a username's failures: a fixed-size hash, however long the name.
fn name_counter(username_key: &str) -> String {
    throttle::key(throttle::KeyKind::CheckName, username_key, None)
}

/// The in-memory key of an address's failures: IPv6 by /64, mapped IPv4 as IPv4.
fn address_counter(ip: &str) -> String {
    ip.parse::<std::net::IpAddr>()
        .map_or_else(|_| ip.chars().take(64).collect(), throttle::address_prefix)
}

impl AppPasswordChecker {
    pub fn new(settings: CheckerSettings) -> Self {
        let verified = (settings.cache_capacity > 0).then(|| {
            Cache::builder()
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
            failures_by_username: failures(settings.per_username),
            failures_by_ip: failures(settings.per_client_ip),
            known_ips: moka::sync::Cache::builder()
                .max_capacity(MAX_TRACKED_KEYS)
                .time_to_live(StdDuration::from_secs(24 * 60 * 60))
                .build(),
            argon2_runs: AtomicU64::new(0),
        }
    }

    /// How many argon2 verifications this checker has run (for tests and benchmarks).
    pub fn argon2_runs(&self) -> u64 {
        self.argon2_runs.load(Ordering::Relaxed)
    }

    /// Is `password` one of `username`'s app passwords, usable now? Only app passwords are
    /// accepted, never the account password. `Err` only when the database cannot be read.
    pub async fn check(
        &self,
        store: &Store,
        key: &SecretKey,
        username: &str,
        password: &str,
        client: &Client,
    ) -> Result<CheckOutcome, StoreError> {
        let now = Utc::now();
        let username_key = account::Username::parse(username)
            .map(|u| u.key().to_owned())
            .unwrap_or_else(|_| username.trim().to_lowercase());
        let secret = AppPasswordSecret::normalize(password);
        let lookup = secret
            .as_ref()
            .map(|s| key.keyed_hash(app_password::LOOKUP_PURPOSE, s.as_str().as_bytes()));

        // A secret that is one of this person's app passwords is verified whatever the
        // failure counters say: only wrong secrets are throttled, so ten wrong passwords sent
        // for someone's name cannot turn away their working mail apps. A guess reaches argon2
        // only if its keyed lookup hash names a real app password, which guessing cannot do.
        let candidate = match &lookup {
            Some(lookup) => store.app_password_candidate(lookup).await?,
            None => None,
        };
        let accepted = match (&secret, &lookup, candidate) {
            (Some(secret), Some(lookup), Some(candidate))
                if candidate.username_key == username_key
                    && candidate.user_enabled
                    && candidate.allow_app_passwords
                    && candidate.has_second_factor() =>
            {
                match self.verify(lookup, secret, &candidate.password_hash).await {
                    Ok(()) => Some(candidate),
                    Err(NotVerified::Mismatch) => None,
                    Err(NotVerified::Busy) => return Ok(CheckOutcome::Busy),
                }
            }
            (_, Some(lookup), None) => {
                // Deleted (or never existed): forget any earlier verification of it.
                if let Some(cache) = &self.verified {
                    cache.invalidate(lookup).await;
                }
                None
            }
            _ => None,
        };
        let Some(candidate) = accepted else {
            if let Some(wait) = self.wait(&username_key, client.ip.as_deref(), now) {
                let retry_after_seconds = u64::try_from(wait.num_seconds()).unwrap_or(0).max(1);
                return Ok(CheckOutcome::Throttled {
                    retry_after_seconds,
                });
            }
            return self.refuse(store, &username_key, client, now).await;
        };
        self.record_use(store, &candidate, client, now).await;
        Ok(CheckOutcome::Accepted(CheckedAppPassword {
            username: candidate.username,
            app_password_id: candidate.id,
        }))
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
                return Ok(());
            }
            // Verified against another hash: the row was replaced. Verify afresh.
            cache.invalidate(lookup).await;
        }
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

    /// Counts a failure for the username and the address; records in the audit log the
    /// failure that starts throttling either of them.
    async fn refuse(
        &self,
        store: &Store,
        username_key: &str,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<CheckOutcome, StoreError> {
        let limit = self.settings.per_username;
        let by_name = self
            .failures_by_username
            .entry(name_counter(username_key))
            .and_upsert_with(|previous| limit.after_failure(previous.map(|e| *e.value()), now))
            .into_value();
        let actor = Actor {
            ip: client.ip.clone(),
            user_agent: client.name.clone(),
            user_id: None,
        };
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
        if let Some(ip) = &client.ip {
            let limit = self.settings.per_client_ip;
            let by_ip = self
                .failures_by_ip
                .entry(address_counter(ip))
                .and_upsert_with(|previous| limit.after_failure(previous.map(|e| *e.value()), now))
                .into_value();
            if limit.just_reached(by_ip) {
                tracing::warn!(%ip, "app-password checks throttled for a client address");
                let detail = format!(
                    "app-password checks from {ip} paused after {} failures",
                    limit.max_failures
                );
                self.audit(store, None, "app_password.throttled", detail, &actor, now)
                    .await;
            }
        }
        Ok(CheckOutcome::Refused)
    }

    /// Writes the last use at most once per [`LAST_USE_INTERVAL`], and the first use from
    /// each address once. A failed write is logged: the check itself has succeeded.
    async fn record_use(
        &self,
        store: &Store,
        candidate: &AppPasswordCandidate,
        client: &Client,
        now: DateTime<Utc>,
    ) {
        let not_before = now - LAST_USE_INTERVAL;
        if candidate.last_used_at.is_none_or(|at| at < not_before)
            && let Err(error) = store
                .record_app_password_use(
                    candidate.id,
                    now,
                    not_before,
                    client.ip.clone(),
                    client.name.clone(),
                )
                .await
        {
            tracing::warn!(%error, "could not record the last use of an app password");
        }
        let Some(ip) = &client.ip else { return };
        let pair = (candidate.id, ip.clone());
        if self.known_ips.contains_key(&pair) {
            return;
        }
        match store.remember_app_password_ip(candidate.id, ip, now).await {
            Ok(first_time) => {
                if first_time {
                    let actor = Actor {
                        ip: client.ip.clone(),
                        user_agent: client.name.clone(),
                        user_id: None,
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
