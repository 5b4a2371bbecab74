//! Signing in (password, then the code when the person has an authenticator app, or one of
//! their recovery codes in its place), signing out, the session behind a request's cookie, and
//! "confirm it's you" before sensitive changes.

use app::backend::{RequestContext, SessionUseCases, SetCookie};
use app::error::{AppError, Refusal};
use app::model::{CurrentUser, IdentityCheck, SecondStepWay, SignInStep};
use async_trait::async_trait;
use chrono::Utc;

use super::second_step::{SecondStep, chosen_default};
use super::{
    MEMO_ORGANIZATION, MEMO_SESSION, SECURE_SESSION_COOKIE, SESSION_COOKIE, SIGN_INS_PER_ADDRESS,
    ServerBackend, SignedIn, actor, client_ip, retry_message, throttled_until,
};
use crate::db::Role;
use crate::db::entities::user;
use crate::db::{AuditNote, NewSession, OwnerCounts, SessionWithOwner};
use crate::domain::random::OsRandom;
use crate::domain::session as session_rules;
use crate::domain::{account, app_password, known_device, password, second_factor, totp};
use crate::metrics::{self, FailedStep, SignInLimit};
use crate::use_cases::sign_in_limits;

/// Refuses an authenticator code of the wrong shape (none, letters, not six digits) before it
/// is checked or counted: the person is asked for the code, not told that it "didn't work".
pub(super) fn code_as_typed(code: &str) -> Result<(), AppError> {
    match totp::shape_problem(code) {
        Some(problem) => Err(AppError::invalid("code", problem)),
        None => Ok(()),
    }
}

impl ServerBackend {
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

    /// Starts a session for `user` in place of the browser's previous one (`replaces`), with
    /// the `audit` event of a completed sign-in, in one transaction; returns its cookie.
    pub(super) async fn start_session(
        &self,
        user: &user::Model,
        pending_second_step: bool,
        replaces: Option<i32>,
        audit: Option<AuditNote>,
        context: &RequestContext,
    ) -> Result<SetCookie, AppError> {
        let token = session_rules::new_token(&mut OsRandom);
        let new = NewSession {
            user_id: user.id,
            token_hash: session_rules::token_hash(&token),
            pending_second_step,
        };
        self.store
            .start_session(new, replaces, audit, &actor(context), Utc::now())
            .await?;
        Ok(self.session_cookie(token))
    }

    /// The session behind the request's cookie, whether complete or waiting for the second step.
    /// Read once per page request (see `RequestMemo`): the sign-in gate and the page's server
    /// functions share it, and the organization and authenticator app read with it.
    pub(super) async fn any_session(
        &self,
        context: &RequestContext,
    ) -> Result<Option<SignedIn>, AppError> {
        context
            .memo
            .get_or_read(MEMO_SESSION, self.read_session(context))
            .await
    }

    async fn read_session(&self, context: &RequestContext) -> Result<Option<SignedIn>, AppError> {
        let Some(token) = context.session_token.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let Some(found) = self
            .store
            .session_with_owner(&session_rules::token_hash(token))
            .await?
        else {
            return Ok(None);
        };
        let SessionWithOwner {
            session,
            user,
            organization,
            counts,
        } = found;
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
        // A write at most once a minute per session, not on every view.
        if !session.pending_second_step && session_rules::should_touch(session.last_seen_at, now) {
            self.store.touch_session(session.id, now).await?;
        }
        // Read in the same query: the page's server functions need it next.
        context.memo.put(MEMO_ORGANIZATION, organization);
        Ok(Some(SignedIn {
            session,
            user,
            counts,
        }))
    }

    /// The signed-in session of the request, if complete.
    pub async fn signed_in(&self, context: &RequestContext) -> Result<Option<SignedIn>, AppError> {
        Ok(self
            .any_session(context)
            .await?
            .filter(|s| !s.session.pending_second_step))
    }

    /// The request's complete session, for everything but the few steps that lead to two-step
    /// verification: while the organization requires it and the person has no second factor,
    /// they are refused ([`Refusal::AddTwoStepFirst`]) until they add one.
    pub(super) async fn require_signed_in(
        &self,
        context: &RequestContext,
    ) -> Result<SignedIn, AppError> {
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        if self.must_add_two_step(&signed_in, context).await? {
            return Err(AppError::Forbidden(Refusal::AddTwoStepFirst));
        }
        Ok(signed_in)
    }

    /// The request's complete session, for what a person without the second factor their
    /// organization requires may still do: read Security info, add an authenticator app, sign
    /// out.
    pub(super) async fn require_signed_in_to_add_two_step(
        &self,
        context: &RequestContext,
    ) -> Result<SignedIn, AppError> {
        self.signed_in(context).await?.ok_or(AppError::Unauthorized)
    }

    /// Whether the organization requires two-step verification and this person has no second
    /// factor yet (the organization and the authenticator are read once per page request).
    pub async fn must_add_two_step(
        &self,
        signed_in: &SignedIn,
        context: &RequestContext,
    ) -> Result<bool, AppError> {
        let required = self
            .organization(context)
            .await?
            .is_some_and(|org| org.require_two_step);
        Ok(required && !Self::has_two_step(signed_in))
    }

    /// Refuses the attempt if this client IP has made too many recently. Counted in the
    /// database, so every instance sees the same count; an address known here to be over the
    /// limit is refused without a query.
    pub(super) async fn check_ip_rate(&self, context: &RequestContext) -> Result<(), AppError> {
        let Some(ip) = client_ip(context) else {
            return Ok(());
        };
        let limit = SIGN_INS_PER_ADDRESS;
        let now = Utc::now();
        let address = crate::domain::throttle::address_prefix(ip);
        let window = match self.sign_ins_per_ip.get(&address) {
            // Already over the limit in this window: no need to count it again.
            Some(window)
                if window.failures > limit.max_failures && now < window.started + limit.window =>
            {
                window
            }
            _ => {
                // One atomic count per attempt, so parallel requests cannot all slip under
                // the limit, on one instance or several.
                let key = crate::domain::throttle::key(
                    crate::domain::throttle::KeyKind::SignInAddress,
                    "",
                    Some(&address),
                );
                let window = self.store.count_failure(&key, limit, now).await?;
                self.sign_ins_per_ip.insert(address, window);
                window
            }
        };
        if window.failures <= limit.max_failures {
            return Ok(());
        }
        metrics::sign_in_throttled(SignInLimit::Address);
        let seconds = u64::try_from((window.started + limit.window - now).num_seconds())
            .unwrap_or(0)
            .max(1);
        Err(AppError::Throttled {
            retry_after_seconds: seconds,
            message: retry_message(seconds),
        })
    }

    /// Audits a failed sign-in step of `user` (the attempt was counted when it began). The
    /// audit log counts these (`domain::audit_bounds`): one row per address and step in 15
    /// minutes, with how many times, and a bounded number of rows however many addresses.
    pub(super) async fn sign_in_failed(
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

    /// Counts a password attempt for `name_key` from the request's address (or from the
    /// person's known device in this browser), or refuses it with the time to wait.
    pub(super) async fn begin_password_attempt(
        &self,
        context: &RequestContext,
        name_key: &str,
    ) -> Result<sign_in_limits::PasswordAttempt, AppError> {
        let now = Utc::now();
        self.count_password_attempt(context, name_key, now)
            .await?
            .map_err(|refused| throttled_until(refused.until, now))
    }

    /// [`Self::begin_password_attempt`] at sign-in: a refusal by the account's ceiling says
    /// that an attack holds the account back, and what gets past it.
    async fn begin_sign_in_attempt(
        &self,
        context: &RequestContext,
        name_key: &str,
    ) -> Result<sign_in_limits::PasswordAttempt, AppError> {
        let now = Utc::now();
        self.count_password_attempt(context, name_key, now)
            .await?
            .map_err(|refused| match refused.limit {
                sign_in_limits::Limit::Account => self.held_back(refused.until, now),
                _ => throttled_until(refused.until, now),
            })
    }

    async fn count_password_attempt(
        &self,
        context: &RequestContext,
        name_key: &str,
        now: chrono::DateTime<Utc>,
    ) -> Result<Result<sign_in_limits::PasswordAttempt, sign_in_limits::Refused>, AppError> {
        let device = self.known_device(context, name_key);
        let counted = sign_in_limits::begin_password_attempt(
            &self.store,
            name_key,
            client_ip(context),
            device.as_ref(),
            now,
        )
        .await?;
        if counted.is_err() {
            metrics::sign_in_throttled(SignInLimit::Password);
        }
        Ok(counted)
    }

    /// Counts an authenticator-code attempt for `name_key`, or refuses it.
    pub(super) async fn begin_code_attempt(
        &self,
        name_key: &str,
    ) -> Result<sign_in_limits::CodeAttempt, AppError> {
        let now = Utc::now();
        sign_in_limits::begin_code_attempt(&self.store, name_key, now)
            .await?
            .map_err(|until| {
                metrics::sign_in_throttled(SignInLimit::Code);
                throttled_until(until, now)
            })
    }

    /// The session waiting for its code step. A disabled account is told so, not that the
    /// sign-in took too long.
    pub(super) async fn pending_sign_in(
        &self,
        context: &RequestContext,
    ) -> Result<SignedIn, AppError> {
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

    /// Completes the sign-in waiting for its second step with `step`. Whatever the step, it is
    /// counted and throttled as one code attempt (a wrong recovery code counts as a wrong
    /// code), and a success starts the same session, with the same audit event and cookies.
    pub(super) async fn complete_second_step(
        &self,
        context: &RequestContext,
        step: SecondStep<'_>,
    ) -> Result<SetCookie, AppError> {
        self.check_ip_rate(context).await?;
        let pending = self.pending_sign_in(context).await?;
        let attempt = self.begin_code_attempt(&pending.user.username_key).await?;
        let passed = match step {
            SecondStep::AuthenticatorCode(code) => self.use_code(pending.user.id, code).await?,
            SecondStep::RecoveryCode(code) => {
                self.use_recovery_code(&pending.user, code, context).await?
            }
            SecondStep::Passkey(assertion) => {
                self.passkey_second_step_passes(&pending.user, assertion)
                    .await?
            }
        };
        if !passed {
            metrics::sign_in_failed(FailedStep::Code);
            self.sign_in_failed(&pending.user, context, step.failure())
                .await?;
            // Someone has the password: the person is mailed at the streak's tenth failure.
            self.store
                .count_failed_second_step(pending.user.id, &actor(context), Utc::now())
                .await?;
            return Err(step.refusal());
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
        let completed = AuditNote::new("sign_in.succeeded", step.completed());
        let cookie = self
            .start_session(
                &pending.user,
                false,
                Some(pending.session.id),
                Some(completed),
                context,
            )
            .await?;
        Ok(cookie.and(self.remember_browser(context, &pending.user)))
    }

    /// Confirms it's the signed-in person (password, and code when they have an authenticator
    /// app) for the current session, which then counts as freshly signed in.
    pub async fn reverify(
        &self,
        context: &RequestContext,
        password: &str,
        code: &str,
    ) -> Result<(), AppError> {
        // Open before two-step too: adding an authenticator app may ask for it.
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        self.confirm_identity(&signed_in, context, password, code)
            .await?;
        self.store
            .mark_session_verified(signed_in.session.id, Utc::now())
            .await?;
        Ok(())
    }

    /// Checks the person's password and, when they have a second factor, its code: the one
    /// "confirm it's you" prompt before sensitive changes. Counted like sign-in attempts, and
    /// against the address's sign-ins: each costs a password hash, and a signed-in person
    /// sending them in a loop would keep the hashing threads from everyone else's sign-ins.
    pub(super) async fn confirm_identity(
        &self,
        signed_in: &SignedIn,
        context: &RequestContext,
        password: &str,
        code: &str,
    ) -> Result<(), AppError> {
        self.check_ip_rate(context).await?;
        let user = &signed_in.user;
        let OwnerCounts {
            authenticators: apps,
            passkeys,
            ..
        } = signed_in.counts;
        let attempt = self
            .begin_password_attempt(context, &user.username_key)
            .await?;
        let password_ok =
            password::verify_password_blocking(password.to_owned(), user.password_hash.clone())
                .await?;
        if !password_ok {
            metrics::sign_in_failed(FailedStep::Password);
            self.sign_in_failed(user, context, "wrong password when confirming it's them")
                .await?;
            return Err(AppError::invalid("password", "Your password is incorrect."));
        }
        attempt.succeeded(&self.store, Utc::now()).await?;
        if second_factor::confirms_with_passkey(apps, passkeys) {
            // A passkey answers in place of the code ("Confirm with a passkey").
            return Err(AppError::Forbidden(Refusal::ConfirmWithPasskey));
        }
        if apps > 0 {
            // The password first: a person who mistyped it is told so before the code.
            code_as_typed(code)?;
            let attempt = self.begin_code_attempt(&user.username_key).await?;
            if !self.use_code(user.id, code).await? {
                metrics::sign_in_failed(FailedStep::Code);
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

    /// Changes of sign-in factors need a sign-in within the last 10 minutes. A session
    /// older than that may prove it again in the same request (one prompt, not two) with
    /// `password`, and `code` when the person has a second factor.
    pub(super) async fn ensure_recent_sign_in(
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

    /// [`Self::ensure_recent_sign_in`] with a form's "confirm it's you" fields.
    pub(super) async fn ensure_recent_sign_in_by(
        &self,
        signed_in: &SignedIn,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<(), AppError> {
        self.ensure_recent_sign_in(
            signed_in,
            context,
            check.password.expose(),
            check.code.expose(),
        )
        .await
    }
}

#[async_trait]
impl SessionUseCases for ServerBackend {
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
            is_admin: signed_in.user.role == Role::Administrator,
        }))
    }

    async fn sign_in(
        &self,
        context: &RequestContext,
        username: &str,
        password: &str,
    ) -> Result<(SignInStep, SetCookie), AppError> {
        self.check_ip_rate(context).await?;
        let parsed = account::Username::parse(username);
        // Names that cannot exist are counted too: answers must not tell names apart.
        let name_key = parsed
            .as_ref()
            .map_or_else(|_| account::lookup_key(username), |u| u.key().to_owned());
        let attempt = self.begin_sign_in_attempt(context, &name_key).await?;
        let user = match parsed {
            Ok(_) => self.store.user_by_key(&name_key).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            // Same work as for a real account, so the answer time reveals nothing.
            password::verify_unknown_user_blocking(password.to_owned()).await?;
            metrics::sign_in_failed(FailedStep::Password);
            // A name that cannot be a sign-in name is often a password typed in the wrong
            // field: the log says so without keeping it.
            let detail = match &parsed {
                Ok(_) => format!("username {name_key:?}"),
                Err(_) => {
                    "not a sign-in name (not kept: it may be a password typed in the wrong field)"
                        .to_owned()
                }
            };
            // Counted, not one row each: names and addresses an outsider rotates add at most
            // `audit_bounds::MAX_ROWS_PER_HOUR_PER_SUBJECT` rows an hour.
            self.store
                .audit(
                    None,
                    "sign_in.unknown_user",
                    detail,
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
            metrics::sign_in_failed(FailedStep::Password);
            self.sign_in_failed(&user, context, "wrong password")
                .await?;
            return Err(AppError::SignInFailed);
        }
        let past_ceiling = attempt.past_ceiling();
        attempt.succeeded(&self.store, Utc::now()).await?;
        if past_ceiling {
            self.store
                .audit(
                    Some(user.id),
                    known_device::PAST_CEILING,
                    "right password from a browser signed in with before, past the limit that attempts from other places reached",
                    &actor(context),
                    Utc::now(),
                )
                .await?;
        }
        if !user.is_enabled {
            return Err(AppError::account_disabled());
        }
        // Only the password counters start over: code failures count until a code succeeds.
        if password::needs_rehash(&user.password_hash) {
            let upgraded = password::hash_password_blocking(password.to_owned()).await?;
            self.store.replace_password_hash(user.id, upgraded).await?;
        }
        let (apps, passkeys) = self.store.second_factor_counts(user.id).await?;
        let first_way = second_factor::ordered(chosen_default(user.default_method), apps, passkeys)
            .first()
            .copied();
        // A new session id on every sign-in; an old cookie's session ends.
        let previous = self.any_session(context).await?.map(|old| old.session.id);
        let completed = first_way
            .is_none()
            .then(|| AuditNote::new("sign_in.succeeded", "password"));
        let cookie = self
            .start_session(&user, first_way.is_some(), previous, completed, context)
            .await?;
        if let Some(way) = first_way {
            return Ok((SignInStep::SecondStep(way.into()), cookie));
        }
        sign_in_limits::remember_address(
            &self.store,
            &user.username_key,
            client_ip(context),
            Utc::now(),
        )
        .await?;
        let cookie = cookie.and(self.remember_browser(context, &user));
        if self.two_step_missing(false, context).await? {
            return Ok((SignInStep::TwoStepRequired, cookie));
        }
        Ok((SignInStep::SignedIn, cookie))
    }

    async fn second_step_ways(
        &self,
        context: &RequestContext,
    ) -> Result<Vec<SecondStepWay>, AppError> {
        let Some(pending) = self
            .any_session(context)
            .await?
            .filter(|found| found.session.pending_second_step)
        else {
            return Ok(Vec::new());
        };
        Ok(second_factor::second_step_ways(
            &Self::second_factors(&pending),
            pending.counts.recovery_codes.left,
        ))
    }

    async fn verify_sign_in_code(
        &self,
        context: &RequestContext,
        code: &str,
    ) -> Result<SetCookie, AppError> {
        code_as_typed(code)?;
        self.complete_second_step(context, SecondStep::AuthenticatorCode(code))
            .await
    }

    async fn mail_sign_in_link(
        &self,
        context: &RequestContext,
        username: &str,
    ) -> Result<(), AppError> {
        self.mail_link(context, username).await
    }

    async fn use_sign_in_link(
        &self,
        context: &RequestContext,
        token: &str,
    ) -> Result<(String, SetCookie), AppError> {
        self.use_link(context, token).await
    }

    async fn sign_out(&self, context: &RequestContext) -> Result<SetCookie, AppError> {
        if let Some(signed_in) = self.any_session(context).await? {
            self.store
                .end_session(
                    signed_in.user.id,
                    signed_in.session.id,
                    AuditNote::new("sign_out", "this session"),
                    &actor(context),
                    Utc::now(),
                )
                .await?;
        }
        Ok(self.clear_cookie())
    }

    async fn confirm_its_you(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<(), AppError> {
        self.reverify(context, check.password.expose(), check.code.expose())
            .await
    }

    async fn sign_out_everywhere(&self, context: &RequestContext) -> Result<SetCookie, AppError> {
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        self.store
            .end_sessions_of_user(
                signed_in.user.id,
                "sign_out.everywhere",
                &actor(context),
                Utc::now(),
            )
            .await?;
        Ok(self.clear_cookie())
    }
}
