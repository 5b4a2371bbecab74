//! The use cases: what server functions (through the `app::backend` traits) and the command
//! line call. One module per feature; each use case authenticates, checks the rules in
//! `domain`, and writes its change with its audit event in one `db::Store` transaction.
//! Errors become `AppError` once, in the `From` impls below.
//!
//! - `setup`: first-time setup ([`SetupUseCases`](app::backend::SetupUseCases)).
//! - `sessions`: sign-in, sign-out, the session behind a cookie, "confirm it's you"
//!   ([`SessionUseCases`](app::backend::SessionUseCases)).
//! - `account`: the authenticator app and the password
//!   ([`AccountUseCases`](app::backend::AccountUseCases)).
//! - `recovery_codes`: new recovery codes, and one used in place of the authenticator app's
//!   code at sign-in ([`RecoveryCodeUseCases`](app::backend::RecoveryCodeUseCases)).
//! - `passkeys`: passkeys and security keys (WebAuthn): adding, renaming, deleting, and
//!   signing in with one (second step, passwordless, "confirm it's you").
//! - `app_passwords`: the person's app passwords
//!   ([`AppPasswordUseCases`](app::backend::AppPasswordUseCases)).
//! - `apple_profiles`: the Apple configuration profile of a new app password, from the
//!   organization's mail settings ([`AppleProfileUseCases`](app::backend::AppleProfileUseCases)).
//! - `administration`: people and policy, for administrators (the `latchkey admin` commands
//!   and the admin console).
//! - `password_links`: the page a one-time password link opens
//!   ([`PasswordLinkUseCases`](app::backend::PasswordLinkUseCases)).
//! - `known_devices`: the known-device cookie and mailed sign-in links, which let a person's
//!   own browsers past their account's sign-in ceiling during an attack.
//! - `signed_in_browsers`: the person's signed-in browsers on Security info, each of which
//!   they may sign out ([`SignedInBrowserUseCases`](app::backend::SignedInBrowserUseCases)).

mod account;
pub mod administration;
pub mod app_password_check;
pub mod app_password_expiry;
mod app_passwords;
pub mod apple_profiles;
mod known_devices;
pub use known_devices::sign_in_link_mail;
mod passkeys;
pub use passkeys::{PasskeyError, PasswordlessStart};
mod operations;
mod password_links;
pub use password_links::password_reset_mail;
mod recovery_codes;
mod second_step;
mod sessions;
mod setup;
pub mod sign_in_limits;
mod signed_in_browsers;
mod state_figures;

use std::net::IpAddr;
use std::sync::Arc;

use app::backend::RequestContext;
use app::error::{AppError, Refusal};
use chrono::{DateTime, Utc};

use crate::db::entities::{organization, session, user};
use crate::db::{Actor, Store, StoreError};
use crate::domain::session::SessionPolicy;
use crate::domain::setup_token::SetupGate;
use crate::domain::{ValidationError, app_password, password, totp};
use crate::secret_key::SecretKey;
use crate::use_cases::app_password_check::{
    AppPasswordChecker, CheckOutcome, CheckerSettings, Client,
};

/// The session cookie's name over plain HTTP (development, tests behind no TLS).
pub const SESSION_COOKIE: &str = "latchkey_session";
/// The session cookie's name behind https: the `__Host-` prefix makes browsers refuse it
/// unless it is `Secure`, for this host only (no `Domain`) and for every path, so a sibling
/// subdomain or a plain-HTTP page cannot plant or overwrite it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-latchkey_session";
/// Purpose string for sealing TOTP secrets with the server key.
pub const TOTP_SEAL_PURPOSE: &str = "latchkey totp secret v1";
/// What a sealed TOTP secret is bound to: its user, so a row copied to another user fails.
pub fn totp_owner(user_id: i32) -> Vec<u8> {
    format!("user {user_id}").into_bytes()
}

/// Sign-in attempts allowed per client IP per minute, across all accounts.
const SIGN_INS_PER_ADDRESS: crate::domain::throttle::FailureLimit =
    crate::domain::throttle::FailureLimit {
        max_failures: 30,
        window: chrono::Duration::minutes(1),
    };
/// Client addresses whose recent sign-in counts are cached in memory at most (the oldest go
/// first when more arrive).
const MAX_TRACKED_ADDRESSES: u64 = 100_000;

/// The keys of what a page request remembers (`RequestMemo`); one read of the session fills
/// the first two.
const MEMO_SESSION: &str = "session";
const MEMO_ORGANIZATION: &str = "organization";
const MEMO_AUTHENTICATORS: &str = "authenticators";

/// Settings of the backend that come from configuration.
#[derive(Debug, Clone, Default)]
pub struct BackendSettings {
    /// The site's public base URL without a trailing slash, for links shown to people
    /// (one-time password links); empty: links are paths on this site.
    pub public_url: String,
    pub session_policy: SessionPolicy,
    /// Mark cookies `Secure` (when the public URL is https).
    pub secure_cookies: bool,
    /// Cache size and throttling of the app-password check for non-browser apps.
    pub app_password_checks: CheckerSettings,
    /// Mail is set up (`--smtp-url`): a sign-in held back by an attack from elsewhere may
    /// ask for a sign-in link by mail (`known_devices`).
    pub mail_configured: bool,
}

/// Shared by every request of one server process.
pub struct ServerBackend {
    /// Private to the use cases: request handlers reach storage only through them
    /// (`tests/module_layers.rs` checks that `http` names no storage).
    store: Store,
    pub setup_gate: SetupGate,
    pub secret_key: SecretKey,
    pub settings: BackendSettings,
    /// Keyed by `throttle::address_prefix` (IPv6 by /64): the count of sign-in attempts in
    /// the current minute as last read from the database (which holds the count every
    /// instance shares); bounded in entries.
    sign_ins_per_ip: moka::sync::Cache<String, crate::domain::throttle::FailureWindow>,
    /// The check behind `GET /auth/basic`, with its cache and throttling.
    pub app_password_checker: AppPasswordChecker,
}

impl ServerBackend {
    /// The storage, for the background jobs, the start-up and the tests (which read what a
    /// change wrote). Request handlers go through the use cases instead.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl std::fmt::Debug for ServerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBackend")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A signed-in session and its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: session::Model,
    pub user: user::Model,
    /// Counted in the session's read: Security info reads a list only when there is one.
    pub counts: crate::db::OwnerCounts,
}

impl SignedIn {
    pub fn is_administrator(&self) -> bool {
        self.user.role == user::Role::Administrator
    }
}

// The one place where server errors become what the user reads. Internal details are
// logged here and never sent.
impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        AppError::invalid(e.field, e.message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadySetUp => AppError::AlreadySetUp,
            StoreError::NotSetUp => AppError::Forbidden(Refusal::NotSetUp),
            StoreError::UsernameTaken => {
                AppError::invalid("username", "That sign-in name is already taken.")
            }
            StoreError::NotFound => AppError::NotFound,
            StoreError::AlreadyExists => AppError::Forbidden(Refusal::AlreadyExists),
            StoreError::LastAdministrator => AppError::Forbidden(Refusal::LastAdministrator),
            StoreError::LimitReached => AppError::LimitReached {
                limit: app_password::MAX_PER_USER as u32,
            },
            StoreError::Database(db) => {
                tracing::error!(error = %db, "database error");
                AppError::Unavailable
            }
        }
    }
}

/// Seconds a client is asked to wait when every hashing slot is taken.
const BUSY_RETRY_AFTER_SECONDS: u64 = 2;

impl From<password::HashError> for AppError {
    fn from(e: password::HashError) -> Self {
        if matches!(e, password::HashError::Busy) {
            tracing::warn!(
                "refused a request: every password-hashing slot and queue place is taken"
            );
            return AppError::Busy {
                retry_after_seconds: BUSY_RETRY_AFTER_SECONDS,
            };
        }
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    }
}

impl From<totp::TotpError> for AppError {
    fn from(e: totp::TotpError) -> Self {
        tracing::error!(error = %e, "authenticator app setup failed");
        AppError::Internal
    }
}

/// The client's address, when the request has one.
fn client_ip(context: &RequestContext) -> Option<IpAddr> {
    context.ip.as_deref().and_then(|ip| ip.parse().ok())
}

fn actor(context: &RequestContext) -> Actor {
    Actor {
        ip: context.ip.clone(),
        user_agent: context.user_agent.clone(),
        user_id: None,
        command_line: false,
    }
}

/// "Try again in 3 minutes." for a wait of `seconds`.
fn retry_message(seconds: u64) -> String {
    format!(
        "Too many sign-in attempts. Wait {}, then try again.",
        wait_words(seconds)
    )
}

/// "3 minutes", "1 second": a wait of `seconds` in words.
fn wait_words(seconds: u64) -> String {
    if seconds <= 60 {
        format!("{seconds} second{}", if seconds == 1 { "" } else { "s" })
    } else {
        let minutes = seconds.div_ceil(60);
        format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
    }
}

fn throttled_until(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    let seconds = u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1);
    AppError::Throttled {
        retry_after_seconds: seconds,
        message: retry_message(seconds),
    }
}

fn unix_seconds(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}

impl ServerBackend {
    pub fn new(store: Store, secret_key: SecretKey, settings: BackendSettings) -> Arc<Self> {
        Arc::new(Self {
            app_password_checker: AppPasswordChecker::new(settings.app_password_checks),
            store,
            setup_gate: SetupGate::default(),
            secret_key,
            settings,
            sign_ins_per_ip: moka::sync::Cache::builder()
                .max_capacity(MAX_TRACKED_ADDRESSES)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
        })
    }

    /// The organization, read once per page request (see `RequestMemo`).
    async fn organization(
        &self,
        context: &RequestContext,
    ) -> Result<Option<organization::Model>, AppError> {
        let read = async { Ok::<_, AppError>(self.store.organization().await?) };
        context.memo.get_or_read(MEMO_ORGANIZATION, read).await
    }

    /// Whether the organization requires two-step verification and a person who has it
    /// (`has_two_step`) or not lacks it: they are asked to add an authenticator app.
    pub(crate) async fn two_step_missing(
        &self,
        has_two_step: bool,
        context: &RequestContext,
    ) -> Result<bool, AppError> {
        Ok(!has_two_step
            && self
                .organization(context)
                .await?
                .is_some_and(|org| org.require_two_step))
    }

    /// The organization's policy switches: (allow app passwords, security info experience).
    pub(crate) async fn policy(&self, context: &RequestContext) -> Result<(bool, bool), AppError> {
        Ok(self
            .organization(context)
            .await?
            .map_or((false, true), |o| {
                (o.allow_app_passwords, o.security_info_experience)
            }))
    }

    /// The check behind `GET /auth/basic`: see [`AppPasswordChecker::check`].
    pub async fn check_app_password(
        &self,
        username: &str,
        password: &str,
        client: &Client,
    ) -> Result<CheckOutcome, StoreError> {
        self.app_password_checker
            .check(&self.store, &self.secret_key, username, password, client)
            .await
    }
}
