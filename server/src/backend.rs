//! The server side of `app::backend::Backend`: what server functions call. Each method
//! authenticates, checks the rules in `domain`, calls the `db::Store`, and maps errors to
//! `AppError` (once, in the `From` impls below).

use std::net::IpAddr;
use std::sync::Arc;

use app::account::{AuthenticatorEnrollment, CurrentUser, SecurityInfo, SignInStep};
use app::app_passwords::{AppPasswordItem, AppPasswordOverview, CreatedAppPassword};
use app::backend::{Backend, RequestContext, SetCookie};
use app::error::AppError;
use app::setup::SetupForm;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::app_password_check::{AppPasswordChecker, CheckOutcome, CheckerSettings, Client};
use crate::db::entities::{authenticator_app, organization, session, user};
use crate::db::{Actor, NewAdmin, NewAppPassword, NewOrganization, Store, StoreError};
use crate::domain::app_password::{self, AppName, AppPasswordSecret};
use crate::domain::random::OsRandom;
use crate::domain::session::{self as session_rules, SessionPolicy};
use crate::domain::{ValidationError, account, password, setup_token::SetupGate, timefmt, totp};
use crate::secret_key::SecretKey;
use crate::sign_in_limits;

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
/// Client addresses whose recent sign-in counts are kept in memory at most (the oldest go
/// first when more arrive).
const MAX_TRACKED_ADDRESSES: u64 = 100_000;

/// Settings of the backend that come from configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct BackendSettings {
    pub session_policy: SessionPolicy,
    /// Mark cookies `Secure` (when the public URL is https).
    pub secure_cookies: bool,
    /// Cache size and throttling of the app-password check for non-browser apps.
    pub app_password_checks: CheckerSettings,
}

/// Shared by every request of one server process.
pub struct ServerBackend {
    pub store: Store,
    pub setup_gate: SetupGate,
    pub secret_key: SecretKey,
    pub settings: BackendSettings,
    /// Keyed by `throttle::address_prefix` (IPv6 by /64).
    /// Attempts in the current minute, per address; bounded in entries.
    sign_ins_per_ip: moka::sync::Cache<String, crate::domain::throttle::FailureWindow>,
    /// The check behind `GET /auth/basic`, with its cache and throttling.
    pub app_password_checker: AppPasswordChecker,
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
            StoreError::NotSetUp => AppError::Forbidden("Latchkey is not set up yet.".to_owned()),
            StoreError::UsernameTaken => {
                AppError::invalid("username", "That sign-in name is already taken.")
            }
            StoreError::NotFound => AppError::NotFound,
            StoreError::AlreadyExists => AppError::Forbidden("That already exists.".to_owned()),
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
    }
}

/// Longest client name shown in the list (User-Agents can be long).
const MAX_CLIENT_CHARS: usize = 40;

/// "Never used", or "Last used 5 minutes ago from 192.0.2.7 (IMAP)".
fn last_used_text(
    at: Option<DateTime<Utc>>,
    ip: Option<String>,
    client: Option<String>,
    now: DateTime<Utc>,
) -> String {
    let Some(at) = at else {
        return "Never used".to_owned();
    };
    let mut text = format!("Last used {}", timefmt::relative(at, now));
    if let Some(ip) = ip {
        text.push_str(&format!(" from {ip}"));
    }
    if let Some(client) = client.filter(|c| !c.trim().is_empty()) {
        let mut short: String = client.chars().take(MAX_CLIENT_CHARS).collect();
        if short.len() < client.len() {
            short.push('…');
        }
        text.push_str(&format!(" ({short})"));
    }
    text
}

/// "Try again in 3 minutes." for a wait of `seconds`.
fn retry_message(seconds: u64) -> String {
    let wait = if seconds <= 60 {
        format!("{seconds} second{}", if seconds == 1 { "" } else { "s" })
    } else {
        let minutes = seconds.div_ceil(60);
        format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
    };
    format!("Too many sign-in attempts. Wait {wait}, then try again.")
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
            store,
            setup_gate: SetupGate::default(),
            secret_key,
            settings,
            sign_ins_per_ip: moka::sync::Cache::builder()
                .max_capacity(MAX_TRACKED_ADDRESSES)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
            app_password_checker: AppPasswordChecker::new(settings.app_password_checks),
        })
    }

    /// The name of the session cookie (see [`SECURE_SESSION_COOKIE`]).
    pub fn session_cookie_name(&self) -> &'static str {
        if self.settings.secure_cookies {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// A `Set-Cookie` value carrying `token`.
    fn session_cookie(&self, token: String) -> SetCookie {
        let cookie = cookie::Cookie::build((self.session_cookie_name(), token))
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.settings.secure_cookies)
            .path("/")
            .max_age(cookie::time::Duration::seconds(
                self.settings.session_policy.absolute.num_seconds(),
            ))
            .build();
        SetCookie::new(cookie.to_string())
    }

    /// A `Set-Cookie` value that removes the session cookie.
    fn clear_cookie(&self) -> SetCookie {
        let cookie = cookie::Cookie::build((self.session_cookie_name(), ""))
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.settings.secure_cookies)
            .path("/")
            .max_age(cookie::time::Duration::ZERO)
            .build();
        SetCookie::new(cookie.to_string())
    }

    /// Starts a session for `user`; returns its cookie.
    async fn start_session(
        &self,
        user: &user::Model,
        pending: bool,
        context: &RequestContext,
    ) -> Result<SetCookie, AppError> {
        let token = session_rules::new_token(&mut OsRandom);
        self.store
            .create_session(
                user.id,
                session_rules::token_hash(&token),
                pending,
                &actor(context),
                Utc::now(),
            )
            .await?;
        Ok(self.session_cookie(token))
    }

    /// The session behind the request's cookie, whether complete or waiting for the second step.
    /// Read once per page request (see `RequestMemo`): the sign-in gate and the page's server
    /// functions share it.
    async fn any_session(&self, context: &RequestContext) -> Result<Option<SignedIn>, AppError> {
        context
            .memo
            .get_or_read("session", self.read_session(context))
            .await
    }

    async fn read_session(&self, context: &RequestContext) -> Result<Option<SignedIn>, AppError> {
        let Some(token) = context.session_token.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let Some((session, user)) = self
            .store
            .session_by_hash(&session_rules::token_hash(token))
            .await?
        else {
            return Ok(None);
        };
        let now = Utc::now();
        let live = if session.pending_second_step {
            now < session.created_at + session_rules::PENDING_SECOND_STEP_LIFETIME
        } else {
            self.settings
                .session_policy
                .is_live(session.created_at, session.last_seen_at, now)
        };
        if !live || !user.is_enabled {
            self.store.delete_session(session.id).await?;
            return Ok(None);
        }
        if !session.pending_second_step && session_rules::should_touch(session.last_seen_at, now) {
            self.store.touch_session(session.id, now).await?;
        }
        Ok(Some(SignedIn { session, user }))
    }

    /// The signed-in session of the request, if complete.
    pub async fn signed_in(&self, context: &RequestContext) -> Result<Option<SignedIn>, AppError> {
        Ok(self
            .any_session(context)
            .await?
            .filter(|s| !s.session.pending_second_step))
    }

    async fn require_signed_in(&self, context: &RequestContext) -> Result<SignedIn, AppError> {
        self.signed_in(context).await?.ok_or(AppError::Unauthorized)
    }

    /// Refuses the attempt if this client IP has made too many recently.
    fn check_ip_rate(&self, context: &RequestContext) -> Result<(), AppError> {
        let Some(ip) = client_ip(context) else {
            return Ok(());
        };
        let limit = SIGN_INS_PER_ADDRESS;
        let now = Utc::now();
        // Counted and checked in one step per key (moka's entry API), so parallel
        // requests cannot all slip under the limit.
        let window = self
            .sign_ins_per_ip
            .entry(crate::domain::throttle::address_prefix(ip))
            .and_upsert_with(|previous| limit.after_failure(previous.map(|e| *e.value()), now))
            .into_value();
        if window.failures <= limit.max_failures {
            return Ok(());
        }
        let seconds = u64::try_from((window.started + limit.window - now).num_seconds())
            .unwrap_or(0)
            .max(1);
        Err(AppError::Throttled {
            retry_after_seconds: seconds,
            message: retry_message(seconds),
        })
    }

    /// Audits a failed sign-in step of `user` (the attempt was counted when it began).
    async fn sign_in_failed(
        &self,
        user: &user::Model,
        context: &RequestContext,
        what: &str,
    ) -> Result<(), AppError> {
        self.store
            .audit(
                Some(user.id),
                "sign_in.failed",
                what.to_owned(),
                &actor(context),
                Utc::now(),
            )
            .await?;
        Ok(())
    }

    /// Counts a password attempt for `name_key` from the request's address, or refuses it
    /// with the time to wait.
    async fn begin_password_attempt(
        &self,
        context: &RequestContext,
        name_key: &str,
    ) -> Result<sign_in_limits::PasswordAttempt, AppError> {
        let now = Utc::now();
        sign_in_limits::begin_password_attempt(&self.store, name_key, client_ip(context), now)
            .await?
            .map_err(|until| throttled_until(until, now))
    }

    /// Counts an authenticator-code attempt for `name_key`, or refuses it.
    async fn begin_code_attempt(
        &self,
        name_key: &str,
    ) -> Result<sign_in_limits::CodeAttempt, AppError> {
        let now = Utc::now();
        sign_in_limits::begin_code_attempt(&self.store, name_key, now)
            .await?
            .map_err(|until| throttled_until(until, now))
    }

    /// The session waiting for its code step. A disabled account is told so, not that the
    /// sign-in took too long.
    async fn pending_sign_in(&self, context: &RequestContext) -> Result<SignedIn, AppError> {
        let Some(token) = context.session_token.as_deref().filter(|t| !t.is_empty()) else {
            return Err(AppError::sign_in_expired());
        };
        if let Some((session, user)) = self
            .store
            .session_by_hash(&session_rules::token_hash(token))
            .await?
            && session.pending_second_step
            && !user.is_enabled
        {
            self.store.delete_session(session.id).await?;
            return Err(AppError::account_disabled());
        }
        self.any_session(context)
            .await?
            .filter(|s| s.session.pending_second_step)
            .ok_or_else(AppError::sign_in_expired)
    }

    /// Confirms it's the signed-in person (password, and code when they have an authenticator
    /// app) for the current session, which then counts as freshly signed in.
    pub async fn reverify(
        &self,
        context: &RequestContext,
        password: &str,
        code: &str,
    ) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        self.check_ip_rate(context)?;
        self.confirm_identity(&signed_in, context, password, code)
            .await?;
        self.store
            .mark_session_verified(signed_in.session.id, Utc::now())
            .await?;
        Ok(())
    }

    /// Checks the person's password and, when they have a second factor, its code: the one
    /// "confirm it's you" prompt before sensitive changes. Counted like sign-in attempts.
    async fn confirm_identity(
        &self,
        signed_in: &SignedIn,
        context: &RequestContext,
        password: &str,
        code: &str,
    ) -> Result<(), AppError> {
        let user = &signed_in.user;
        let attempt = self
            .begin_password_attempt(context, &user.username_key)
            .await?;
        let password_ok =
            password::verify_password_blocking(password.to_owned(), user.password_hash.clone())
                .await?;
        if !password_ok {
            self.sign_in_failed(user, context, "wrong password when confirming it's them")
                .await?;
            return Err(AppError::invalid("password", "Your password is incorrect."));
        }
        attempt.succeeded(&self.store, Utc::now()).await?;
        if self.has_two_step(user.id, context).await? {
            let attempt = self.begin_code_attempt(&user.username_key).await?;
            if !self.use_code(user.id, code).await? {
                self.sign_in_failed(
                    user,
                    context,
                    "wrong authenticator code when confirming it's them",
                )
                .await?;
                return Err(AppError::wrong_code());
            }
            attempt.succeeded(&self.store, Utc::now()).await?;
        }
        Ok(())
    }

    async fn has_two_step(&self, user_id: i32, context: &RequestContext) -> Result<bool, AppError> {
        Ok(self
            .authenticator_of(user_id, context)
            .await?
            .is_some_and(|a| a.confirmed_at.is_some()))
    }

    /// The person's authenticator app, read once per page request (see `RequestMemo`).
    async fn authenticator_of(
        &self,
        user_id: i32,
        context: &RequestContext,
    ) -> Result<Option<authenticator_app::Model>, AppError> {
        let read = async { Ok::<_, AppError>((user_id, self.store.authenticator(user_id).await?)) };
        match context.memo.get_or_read("authenticator", read).await? {
            (id, app) if id == user_id => Ok(app),
            // Remembered for someone else (a page reads only its own person's).
            _ => Ok(self.store.authenticator(user_id).await?),
        }
    }

    /// The organization, read once per page request (see `RequestMemo`).
    async fn organization(
        &self,
        context: &RequestContext,
    ) -> Result<Option<organization::Model>, AppError> {
        let read = async { Ok::<_, AppError>(self.store.organization().await?) };
        context.memo.get_or_read("organization", read).await
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

    /// What the person sees to add the authenticator app with `secret`: QR code and key.
    async fn enrollment(
        &self,
        secret: &[u8],
        username: String,
    ) -> Result<AuthenticatorEnrollment, AppError> {
        let issuer = self
            .store
            .organization()
            .await?
            .map_or_else(|| "Latchkey".to_owned(), |o| o.name);
        let url = totp::provisioning_url(secret, &issuer, &username)?;
        Ok(AuthenticatorEnrollment {
            qr_svg: totp::qr_svg(&url)?,
            secret: totp::secret_for_display(secret),
            account: username,
        })
    }

    /// Checks `code` against the user's confirmed or pending authenticator app and uses it up.
    /// The TOTP secret of an authenticator app, unsealed with the server key.
    fn open_totp_secret(&self, app: &authenticator_app::Model) -> Result<Vec<u8>, AppError> {
        self.secret_key
            .open(
                TOTP_SEAL_PURPOSE,
                &totp_owner(app.user_id),
                &app.secret_sealed,
            )
            .ok_or_else(|| {
                tracing::error!(
                    user_id = app.user_id,
                    "cannot open an authenticator secret: was the secret key file replaced?"
                );
                AppError::Internal
            })
    }

    /// The time step `code` is valid for, on the user's authenticator app (confirmed, or
    /// pending when `confirmed` is false), if it is right and not used yet.
    async fn code_step(
        &self,
        user_id: i32,
        code: &str,
        confirmed: bool,
    ) -> Result<Option<(i32, i64)>, AppError> {
        let Some(app) = self.store.authenticator(user_id).await? else {
            return Ok(None);
        };
        if app.confirmed_at.is_some() != confirmed {
            return Ok(None);
        }
        let secret = self.open_totp_secret(&app)?;
        let last = app.last_used_step.and_then(|s| u64::try_from(s).ok());
        Ok(totp::verify(&secret, code, unix_seconds(Utc::now()), last)
            .map(|step| (app.id, i64::try_from(step).unwrap_or(i64::MAX))))
    }

    /// Checks `code` against the user's confirmed authenticator app and uses it up.
    async fn use_code(&self, user_id: i32, code: &str) -> Result<bool, AppError> {
        let Some((app_id, step)) = self.code_step(user_id, code, true).await? else {
            return Ok(false);
        };
        Ok(self
            .store
            .use_authenticator_step(app_id, step, Utc::now())
            .await?)
    }

    /// Changes of sign-in factors need a sign-in within the last 10 minutes. A session
    /// older than that may prove it again in the same request (one prompt, not two) with
    /// `password`, and `code` when the person has a second factor.
    async fn ensure_recent_sign_in(
        &self,
        signed_in: &SignedIn,
        context: &RequestContext,
        password: &str,
        code: &str,
    ) -> Result<(), AppError> {
        if app_password::recently_verified(signed_in.session.verified_at, Utc::now()) {
            return Ok(());
        }
        if password.is_empty() {
            return Err(AppError::ReverifyRequired);
        }
        self.confirm_identity(signed_in, context, password, code)
            .await?;
        self.store
            .mark_session_verified(signed_in.session.id, Utc::now())
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Backend for ServerBackend {
    async fn setup_link_valid(&self, token: &str) -> bool {
        self.setup_gate.accepts(token, Utc::now())
    }

    async fn complete_setup(
        &self,
        form: SetupForm,
        context: RequestContext,
    ) -> Result<(), AppError> {
        if !self.setup_gate.accepts(&form.token, Utc::now()) {
            return Err(AppError::NotFound);
        }
        let result: Result<(), AppError> = async {
            let organization = account::parse_organization_name(&form.organization)?;
            let display_name = account::parse_display_name(&form.display_name)?;
            let username = account::Username::parse(&form.username)?;
            account::check_new_password(&form.password, &form.confirm_password)?;
            let password_hash = password::hash_password_blocking(form.password).await?;
            let admin = self
                .store
                .complete_setup(
                    NewOrganization { name: organization, allow_app_passwords: form.allow_app_passwords.is_some() },
                    NewAdmin {
                        username: username.as_str().to_owned(),
                        username_key: username.key().to_owned(),
                        display_name,
                        password_hash,
                    },
                    actor(&context),
                    Utc::now(),
                )
                .await?;
            tracing::info!(admin = %admin.username, "first-time setup completed; the setup link is closed");
            Ok(())
        }
        .await;
        if matches!(result, Ok(()) | Err(AppError::AlreadySetUp)) {
            self.setup_gate.close();
        }
        result
    }

    fn return_path(&self, next: &str) -> String {
        session_rules::safe_return_path(next)
    }

    async fn current_user(
        &self,
        context: &RequestContext,
    ) -> Result<Option<CurrentUser>, AppError> {
        let Some(signed_in) = self.signed_in(context).await? else {
            return Ok(None);
        };
        let organization = self
            .organization(context)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        Ok(Some(CurrentUser {
            display_name: signed_in.user.display_name,
            username: signed_in.user.username,
            organization,
            is_admin: signed_in.user.role == "admin",
        }))
    }

    async fn sign_in(
        &self,
        context: &RequestContext,
        username: &str,
        password: &str,
    ) -> Result<(SignInStep, SetCookie), AppError> {
        self.check_ip_rate(context)?;
        let parsed = account::Username::parse(username);
        // Names that cannot exist are counted too: answers must not tell names apart.
        let name_key = parsed
            .as_ref()
            .map_or_else(|_| account::lookup_key(username), |u| u.key().to_owned());
        let attempt = self.begin_password_attempt(context, &name_key).await?;
        let user = match parsed {
            Ok(_) => self.store.user_by_key(&name_key).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            // Same work as for a real account, so the answer time reveals nothing.
            password::verify_unknown_user_blocking(password.to_owned()).await?;
            self.store
                .audit(
                    None,
                    "sign_in.unknown_user",
                    format!("username {name_key:?}"),
                    &actor(context),
                    Utc::now(),
                )
                .await?;
            return Err(AppError::SignInFailed);
        };
        let password_ok =
            password::verify_password_blocking(password.to_owned(), user.password_hash.clone())
                .await?;
        if !password_ok {
            self.sign_in_failed(&user, context, "wrong password")
                .await?;
            return Err(AppError::SignInFailed);
        }
        attempt.succeeded(&self.store, Utc::now()).await?;
        if !user.is_enabled {
            return Err(AppError::account_disabled());
        }
        // Only the password counters start over: code failures count until a code succeeds.
        if password::needs_rehash(&user.password_hash) {
            let upgraded = password::hash_password_blocking(password.to_owned()).await?;
            self.store.replace_password_hash(user.id, upgraded).await?;
        }
        let has_authenticator = self.has_two_step(user.id, context).await?;
        // A new session id on every sign-in; an old cookie's session ends.
        if let Some(old) = self.any_session(context).await? {
            self.store.delete_session(old.session.id).await?;
        }
        let cookie = self
            .start_session(&user, has_authenticator, context)
            .await?;
        if has_authenticator {
            return Ok((SignInStep::CodeRequired, cookie));
        }
        let now = Utc::now();
        sign_in_limits::remember_address(&self.store, &user.username_key, client_ip(context), now)
            .await?;
        self.store
            .audit(
                Some(user.id),
                "sign_in.succeeded",
                "password",
                &actor(context),
                now,
            )
            .await?;
        Ok((SignInStep::SignedIn, cookie))
    }

    async fn verify_sign_in_code(
        &self,
        context: &RequestContext,
        code: &str,
    ) -> Result<SetCookie, AppError> {
        self.check_ip_rate(context)?;
        let pending = self.pending_sign_in(context).await?;
        let attempt = self.begin_code_attempt(&pending.user.username_key).await?;
        if !self.use_code(pending.user.id, code).await? {
            self.sign_in_failed(&pending.user, context, "wrong authenticator code")
                .await?;
            return Err(AppError::wrong_code());
        }
        let now = Utc::now();
        attempt.succeeded(&self.store, now).await?;
        sign_in_limits::remember_address(
            &self.store,
            &pending.user.username_key,
            client_ip(context),
            now,
        )
        .await?;
        self.store.delete_session(pending.session.id).await?;
        let cookie = self.start_session(&pending.user, false, context).await?;
        self.store
            .audit(
                Some(pending.user.id),
                "sign_in.succeeded",
                "password and authenticator app",
                &actor(context),
                now,
            )
            .await?;
        Ok(cookie)
    }

    async fn sign_out(&self, context: &RequestContext) -> Result<SetCookie, AppError> {
        if let Some(signed_in) = self.any_session(context).await? {
            self.store.delete_session(signed_in.session.id).await?;
            self.store
                .audit(
                    Some(signed_in.user.id),
                    "sign_out",
                    "this session",
                    &actor(context),
                    Utc::now(),
                )
                .await?;
        }
        Ok(self.clear_cookie())
    }

    async fn sign_out_everywhere(&self, context: &RequestContext) -> Result<SetCookie, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let ended = self
            .store
            .delete_sessions_of_user(signed_in.user.id, None)
            .await?;
        self.store
            .audit(
                Some(signed_in.user.id),
                "sign_out.everywhere",
                format!("{ended} sessions ended"),
                &actor(context),
                Utc::now(),
            )
            .await?;
        Ok(self.clear_cookie())
    }

    async fn security_info(&self, context: &RequestContext) -> Result<SecurityInfo, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let now = Utc::now();
        let authenticator = self
            .authenticator_of(signed_in.user.id, context)
            .await?
            .and_then(|a| a.confirmed_at);
        Ok(SecurityInfo {
            recently_signed_in: app_password::recently_verified(signed_in.session.verified_at, now),
            password_changed: timefmt::relative(signed_in.user.password_changed_at, now),
            authenticator_added: authenticator.map(timefmt::date),
            default_method: if authenticator.is_some() {
                "Authenticator app - time-based one-time password (TOTP)".to_owned()
            } else {
                "Password".to_owned()
            },
        })
    }

    async fn begin_authenticator(
        &self,
        context: &RequestContext,
        password: &str,
    ) -> Result<AuthenticatorEnrollment, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        self.ensure_recent_sign_in(&signed_in, context, password, "")
            .await?;
        let secret = totp::generate_secret(&mut OsRandom);
        let sealed = self.secret_key.seal(
            TOTP_SEAL_PURPOSE,
            &totp_owner(signed_in.user.id),
            &secret,
            &mut OsRandom,
        );
        match self
            .store
            .save_pending_authenticator(signed_in.user.id, sealed, &actor(context), Utc::now())
            .await
        {
            Err(StoreError::AlreadyExists) => {
                return Err(AppError::Forbidden(
                    "You already have an authenticator app. Delete it first to set up a new one."
                        .to_owned(),
                ));
            }
            other => other?,
        }
        self.enrollment(&secret, signed_in.user.username).await
    }

    async fn pending_authenticator(
        &self,
        context: &RequestContext,
    ) -> Result<Option<AuthenticatorEnrollment>, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let Some(app) = self
            .store
            .authenticator(signed_in.user.id)
            .await?
            .filter(|a| a.confirmed_at.is_none())
        else {
            return Ok(None);
        };
        let secret = self.open_totp_secret(&app)?;
        Ok(Some(
            self.enrollment(&secret, signed_in.user.username).await?,
        ))
    }

    async fn confirm_authenticator(
        &self,
        context: &RequestContext,
        code: &str,
    ) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        self.ensure_recent_sign_in(&signed_in, context, "", "")
            .await?;
        let Some((app_id, step)) = self.code_step(signed_in.user.id, code, false).await? else {
            return Err(AppError::wrong_code());
        };
        self.store
            .confirm_authenticator(
                app_id,
                signed_in.user.id,
                step,
                signed_in.session.id,
                &actor(context),
                Utc::now(),
            )
            .await?
            .ok_or_else(AppError::wrong_code)?;
        Ok(())
    }

    async fn delete_authenticator(
        &self,
        context: &RequestContext,
        password: &str,
        code: &str,
    ) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        if self
            .store
            .organization()
            .await?
            .is_some_and(|org| org.require_two_step)
        {
            return Err(AppError::Forbidden(
                "Your organization requires two-step verification, so your authenticator app can't be deleted. To move to a new phone, ask your administrator."
                    .to_owned(),
            ));
        }
        self.ensure_recent_sign_in(&signed_in, context, password, code)
            .await?;
        self.store
            .remove_authenticator(
                signed_in.user.id,
                signed_in.session.id,
                &actor(context),
                Utc::now(),
            )
            .await?;
        Ok(())
    }

    async fn change_password(
        &self,
        context: &RequestContext,
        current: &str,
        new: &str,
        confirmation: &str,
        code: &str,
    ) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let attempt = self
            .begin_password_attempt(context, &signed_in.user.username_key)
            .await?;
        let current_ok = password::verify_password_blocking(
            current.to_owned(),
            signed_in.user.password_hash.clone(),
        )
        .await?;
        if !current_ok {
            self.sign_in_failed(
                &signed_in.user,
                context,
                "wrong current password when changing it",
            )
            .await?;
            return Err(AppError::invalid(
                "current_password",
                "Your current password is incorrect.",
            ));
        }
        attempt.succeeded(&self.store, Utc::now()).await?;
        account::check_new_password(new, confirmation).map_err(|mut e| {
            if e.field == "password" {
                e.field = "new_password";
            }
            e
        })?;
        if new == current {
            return Err(AppError::invalid(
                "new_password",
                "Choose a password different from your current one.",
            ));
        }
        // A session older than 10 minutes proves itself again: the current password above,
        // and the code when there is a second factor (one prompt).
        let now = Utc::now();
        if !app_password::recently_verified(signed_in.session.verified_at, now)
            && self.has_two_step(signed_in.user.id, context).await?
        {
            let attempt = self
                .begin_code_attempt(&signed_in.user.username_key)
                .await?;
            if !self.use_code(signed_in.user.id, code).await? {
                self.sign_in_failed(
                    &signed_in.user,
                    context,
                    "wrong authenticator code when changing the password",
                )
                .await?;
                return Err(AppError::wrong_code());
            }
            attempt.succeeded(&self.store, now).await?;
        }
        let hash = password::hash_password_blocking(new.to_owned()).await?;
        self.store
            .change_password(
                signed_in.user.id,
                hash,
                signed_in.session.id,
                &actor(context),
                Utc::now(),
            )
            .await?;
        // Proven just now: the next change within 10 minutes needs no prompt.
        self.store
            .mark_session_verified(signed_in.session.id, Utc::now())
            .await?;
        Ok(())
    }

    async fn app_passwords(
        &self,
        context: &RequestContext,
    ) -> Result<AppPasswordOverview, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let (allowed, security_info_experience) = self.policy(context).await?;
        let now = Utc::now();
        let items = self
            .store
            .app_passwords_of(signed_in.user.id)
            .await?
            .into_iter()
            .map(|row| AppPasswordItem {
                id: row.id,
                name: row.name,
                created: timefmt::date(row.created_at),
                last_used: last_used_text(
                    row.last_used_at,
                    row.last_used_ip,
                    row.last_used_client,
                    now,
                ),
            })
            .collect();
        Ok(AppPasswordOverview {
            items,
            limit: app_password::MAX_PER_USER as u32,
            allowed,
            has_two_step: self.has_two_step(signed_in.user.id, context).await?,
            security_info_experience,
        })
    }

    async fn app_password_first_sign_in(
        &self,
        context: &RequestContext,
        id: i32,
    ) -> Result<Option<String>, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let Some(row) = self.store.app_password_of(signed_in.user.id, id).await? else {
            return Err(AppError::NotFound);
        };
        Ok(row.last_used_at.map(|at| {
            let client = row
                .last_used_client
                .or(row.last_used_ip)
                .unwrap_or_else(|| "an app".to_owned());
            format!(
                "Signed in from {client} {}",
                timefmt::relative(at, Utc::now())
            )
        }))
    }

    async fn create_app_password(
        &self,
        context: &RequestContext,
        name: &str,
        password: &str,
        code: &str,
    ) -> Result<CreatedAppPassword, AppError> {
        let mut signed_in = self.require_signed_in(context).await?;
        let (allowed, _) = self.policy(context).await?;
        if !allowed {
            return Err(AppError::Forbidden(
                "Your organization doesn't allow app passwords.".to_owned(),
            ));
        }
        if !self.has_two_step(signed_in.user.id, context).await? {
            return Err(AppError::Forbidden(
                "Set up two-step verification first: add an authenticator app on Security info."
                    .to_owned(),
            ));
        }
        let mut now = Utc::now();
        if !app_password::recently_verified(signed_in.session.verified_at, now) {
            if password.is_empty() {
                return Err(AppError::ReverifyRequired);
            }
            // Confirming it's them in the same request, after the name has been checked.
            AppName::parse(name)?;
            self.reverify(context, password, code).await?;
            signed_in = self.require_signed_in(context).await?;
            now = Utc::now();
        }
        let name = AppName::parse(name)?;
        // Cheap early answer; the store enforces the limit atomically.
        if self.store.app_passwords_of(signed_in.user.id).await?.len() as u64
            >= app_password::MAX_PER_USER
        {
            return Err(StoreError::LimitReached.into());
        }
        let secret = AppPasswordSecret::generate(&mut OsRandom);
        let lookup_hash = self
            .secret_key
            .keyed_hash(app_password::LOOKUP_PURPOSE, secret.as_str().as_bytes());
        let password_hash = password::hash_password_blocking(secret.as_str().to_owned()).await?;
        let new = NewAppPassword {
            user_id: signed_in.user.id,
            name: name.as_str().to_owned(),
            name_key: name.key().to_owned(),
            lookup_hash,
            password_hash,
        };
        let created = match self
            .store
            .create_app_password(new, app_password::MAX_PER_USER, now)
            .await
        {
            Err(StoreError::AlreadyExists) => {
                return Err(AppError::invalid(
                    "name",
                    format!(
                        "You already have an app password named '{}'. Choose another name.",
                        name.as_str()
                    ),
                ));
            }
            other => other?,
        };
        self.store
            .audit(
                Some(signed_in.user.id),
                "app_password.created",
                format!("'{}' (id {})", created.name, created.id),
                &actor(context),
                now,
            )
            .await?;
        Ok(CreatedAppPassword {
            id: created.id,
            item: AppPasswordItem {
                id: created.id,
                name: created.name.clone(),
                created: timefmt::date(created.created_at),
                last_used: last_used_text(None, None, None, now),
            },
            name: created.name,
            password: secret.for_display(),
        })
    }

    async fn delete_app_password(&self, context: &RequestContext, id: i32) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let deleted = self
            .store
            .delete_app_password(signed_in.user.id, id)
            .await?
            .ok_or(AppError::AppPasswordGone)?;
        self.store
            .audit(
                Some(signed_in.user.id),
                "app_password.deleted",
                format!("'{}' (id {})", deleted.name, deleted.id),
                &actor(context),
                Utc::now(),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_use_names_when_where_and_which_client() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let at = Some(now - chrono::Duration::minutes(5));
        assert_eq!(last_used_text(None, None, None, now), "Never used");
        assert_eq!(
            last_used_text(at, Some("192.0.2.7".into()), Some("IMAP".into()), now),
            "Last used 5 minutes ago from 192.0.2.7 (IMAP)"
        );
        assert_eq!(
            last_used_text(at, None, Some(" ".into()), now),
            "Last used 5 minutes ago"
        );
        let long = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)";
        assert_eq!(
            last_used_text(at, Some("192.0.2.7".into()), Some(long.into()), now),
            "Last used 5 minutes ago from 192.0.2.7 (Mozilla/5.0 (X11; Linux x86_64) AppleWeb…)"
        );
    }
}
