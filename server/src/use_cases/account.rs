//! The account's sign-in methods on Security info: the authenticator app (add, confirm,
//! delete) and the password (change). Every change ends the person's other sessions.

use app::backend::{AccountUseCases, RequestContext};
use app::error::{AppError, Refusal};
use app::model::{
    ActivityItem, ActivityPage, AuthenticatorEnrollment, AuthenticatorItem, IdentityCheck,
    SecondFactor, SecurityInfo,
};
use async_trait::async_trait;
use chrono::Utc;

use super::recovery_codes::recovery_codes_left;
use super::second_step::{chosen_default, stored_default};
use super::{
    MEMO_AUTHENTICATORS, ServerBackend, SignedIn, TOTP_SEAL_PURPOSE, actor, totp_owner,
    unix_seconds,
};
use crate::db::entities::authenticator_app;
use crate::db::{AUTHENTICATOR_LIMIT, AuthenticatorRemoval, OwnerCounts, StoreError};
use crate::domain::random::OsRandom;
use crate::domain::second_factor::MethodName;
use crate::domain::{
    account, activity, app_password, attack_alert, password, second_factor, timefmt, totp,
};

impl ServerBackend {
    /// Whether the signed-in person has a second factor: a confirmed authenticator app or a
    /// passkey, as counted in the session's read (no query of its own).
    pub(crate) fn has_two_step(signed_in: &SignedIn) -> bool {
        signed_in.counts.authenticators + signed_in.counts.passkeys > 0
    }

    /// The person's authenticator apps (confirmed and pending), read once per page request:
    /// the list and the dialog adding one share the read.
    async fn authenticators_of(
        &self,
        user_id: i32,
        context: &RequestContext,
    ) -> Result<Vec<authenticator_app::Model>, AppError> {
        let read =
            async { Ok::<_, AppError>((user_id, self.store.authenticators(user_id).await?)) };
        match context.memo.get_or_read(MEMO_AUTHENTICATORS, read).await? {
            (id, apps) if id == user_id => Ok(apps),
            // Remembered for someone else (a page reads only its own person's).
            _ => Ok(self.store.authenticators(user_id).await?),
        }
    }

    /// What the person sees to add the authenticator app with `secret`: QR code and key.
    async fn enrollment(
        &self,
        secret: &[u8],
        username: String,
        context: &RequestContext,
    ) -> Result<AuthenticatorEnrollment, AppError> {
        let issuer = self
            .organization(context)
            .await?
            .map_or_else(|| "Latchkey".to_owned(), |o| o.name);
        let url = totp::provisioning_url(secret, &issuer, &username)?;
        Ok(AuthenticatorEnrollment {
            qr_svg: totp::qr_svg(&url)?,
            secret: totp::secret_for_display(secret),
            account: username,
            setup_url: url,
        })
    }

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

    /// The app and time step `code` is valid for, among the user's confirmed authenticator
    /// apps (or their pending one when `confirmed` is false), if it is right and not used yet.
    async fn code_step(
        &self,
        user_id: i32,
        code: &str,
        confirmed: bool,
    ) -> Result<Option<(i32, i64)>, AppError> {
        let now = unix_seconds(Utc::now());
        for app in self.store.authenticators(user_id).await? {
            if app.confirmed_at.is_some() != confirmed {
                continue;
            }
            let secret = self.open_totp_secret(&app)?;
            let last = app.last_used_step.and_then(|s| u64::try_from(s).ok());
            if let Some(step) = totp::verify(&secret, code, now, last) {
                return Ok(Some((app.id, i64::try_from(step).unwrap_or(i64::MAX))));
            }
        }
        Ok(None)
    }

    /// Checks `code` against the user's confirmed authenticator apps and uses it up.
    pub(super) async fn use_code(&self, user_id: i32, code: &str) -> Result<bool, AppError> {
        let Some((app_id, step)) = self.code_step(user_id, code, true).await? else {
            return Ok(false);
        };
        Ok(self
            .store
            .use_authenticator_step(app_id, step, Utc::now())
            .await?)
    }

    /// The person's second factors, the one sign-in asks for first at the head.
    pub(super) fn second_factors(signed_in: &SignedIn) -> Vec<SecondFactor> {
        second_factor::ordered(
            chosen_default(signed_in.user.default_method),
            signed_in.counts.authenticators,
            signed_in.counts.passkeys,
        )
    }
}

/// The name of an authenticator app being added: "Authenticator app" when left empty.
fn new_authenticator_name(name: &str) -> Result<String, AppError> {
    if name.trim().is_empty() {
        return Ok(SecondFactor::AuthenticatorApp.label().to_owned());
    }
    Ok(MethodName::parse(name, SecondFactor::AuthenticatorApp)?.into_string())
}

#[async_trait]
impl AccountUseCases for ServerBackend {
    async fn security_info(&self, context: &RequestContext) -> Result<SecurityInfo, AppError> {
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        let now = Utc::now();
        let authenticators = if signed_in.counts.authenticators > 0 {
            self.authenticators_of(signed_in.user.id, context)
                .await?
                .into_iter()
                .filter_map(|app| {
                    Some(AuthenticatorItem {
                        added: timefmt::date(app.confirmed_at?),
                        last_used: app.last_used_at.map(|at| timefmt::relative(at, now)),
                        id: app.id,
                        name: app.name,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let second_factors = Self::second_factors(&signed_in);
        let has_two_step = !second_factors.is_empty();
        // Offered with a second factor only: codes stand in for one.
        let recovery_codes = if has_two_step {
            Some(recovery_codes_left(signed_in.counts.recovery_codes))
        } else {
            None
        };
        Ok(SecurityInfo {
            recently_signed_in: app_password::recently_verified(signed_in.session.verified_at, now),
            password_changed: timefmt::relative(signed_in.user.password_changed_at, now),
            authenticators,
            default_method: second_factors
                .first()
                .map_or("Password", |factor| factor.label())
                .to_owned(),
            show_preview_notice: !signed_in.user.preview_notice_dismissed,
            two_step_required: self.two_step_missing(has_two_step, context).await?,
            has_two_step,
            passkey_only: signed_in.counts.authenticators == 0 && signed_in.counts.passkeys > 0,
            second_factors,
            recovery_codes,
        })
    }

    async fn recent_activity(
        &self,
        context: &RequestContext,
        before: Option<i32>,
    ) -> Result<ActivityPage, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let user_id = signed_in.user.id;
        // One more than a page tells whether there is an older one.
        let mut events = self
            .store
            .activity_of(
                user_id,
                &activity::SHOWN_KINDS,
                before,
                activity::PAGE_SIZE + 1,
            )
            .await?;
        let older = (events.len() as u64 > activity::PAGE_SIZE).then(|| {
            events.truncate(activity::PAGE_SIZE as usize);
            events.last().map(|event| event.id)
        });
        let names: std::collections::HashMap<i32, String> = if events
            .iter()
            .any(|event| event.kind == "app_password.new_ip")
        {
            self.store
                .app_passwords_of(user_id)
                .await?
                .into_iter()
                .map(|app| (app.id, app.name))
                .collect()
        } else {
            Default::default()
        };
        let now = Utc::now();
        let items = events
            .into_iter()
            .filter_map(|event| {
                let count = u32::try_from(event.count).unwrap_or(1);
                let shown = activity::describe(
                    &event.kind,
                    &event.detail,
                    count,
                    event.ip.as_deref(),
                    |id| names.get(&id).cloned(),
                )?;
                Some(ActivityItem {
                    id: event.id,
                    title: shown.title,
                    detail: shown.detail,
                    when: timefmt::relative(event.created_at, now),
                    at: timefmt::moment(event.created_at),
                    address: event.ip,
                    client: event.user_agent.as_deref().and_then(activity::client_name),
                    notable: shown.notable,
                    count,
                    suggests_password_change: event.kind == attack_alert::ALERTED,
                })
            })
            .collect();
        Ok(ActivityPage {
            items,
            older: older.flatten(),
        })
    }

    async fn dismiss_preview_notice(&self, context: &RequestContext) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        self.store.dismiss_preview_notice(signed_in.user.id).await?;
        Ok(())
    }

    async fn begin_authenticator(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<AuthenticatorEnrollment, AppError> {
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        self.ensure_recent_sign_in_by(&signed_in, context, check)
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
            .save_pending_authenticator(
                signed_in.user.id,
                SecondFactor::AuthenticatorApp.label().to_owned(),
                sealed,
                &actor(context),
                Utc::now(),
            )
            .await
        {
            Err(StoreError::LimitReached) => {
                return Err(AppError::Forbidden(Refusal::AuthenticatorLimitReached {
                    limit: AUTHENTICATOR_LIMIT as u32,
                }));
            }
            other => other?,
        }
        self.enrollment(&secret, signed_in.user.username, context)
            .await
    }

    async fn pending_authenticator(
        &self,
        context: &RequestContext,
    ) -> Result<Option<AuthenticatorEnrollment>, AppError> {
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        let Some(app) = self
            .authenticators_of(signed_in.user.id, context)
            .await?
            .into_iter()
            .find(|a| a.confirmed_at.is_none())
        else {
            return Ok(None);
        };
        let secret = self.open_totp_secret(&app)?;
        Ok(Some(
            self.enrollment(&secret, signed_in.user.username, context)
                .await?,
        ))
    }

    async fn confirm_authenticator(
        &self,
        context: &RequestContext,
        code: &str,
        name: &str,
    ) -> Result<(), AppError> {
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        self.ensure_recent_sign_in(&signed_in, context, "", "")
            .await?;
        let name = new_authenticator_name(name)?;
        super::sessions::code_as_typed(code)?;
        let Some((app_id, step)) = self.code_step(signed_in.user.id, code, false).await? else {
            return Err(AppError::wrong_code());
        };
        self.store
            .confirm_authenticator(
                app_id,
                signed_in.user.id,
                step,
                name,
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
        id: i32,
        password: &str,
        code: &str,
    ) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let required = self
            .store
            .organization()
            .await?
            .is_some_and(|org| org.require_two_step);
        // Said before any prompt (another app or a passkey must stay); checked again, under a
        // lock, when deleting.
        let counts = signed_in.counts;
        if required && counts.authenticators + counts.passkeys <= 1 {
            return Err(AppError::Forbidden(Refusal::TwoStepRequiredByOrganization));
        }
        self.ensure_recent_sign_in(&signed_in, context, password, code)
            .await?;
        match self
            .store
            .remove_authenticator(
                signed_in.user.id,
                id,
                signed_in.session.id,
                required,
                &actor(context),
                Utc::now(),
            )
            .await?
        {
            AuthenticatorRemoval::LastSecondFactor => {
                Err(AppError::Forbidden(Refusal::TwoStepRequiredByOrganization))
            }
            AuthenticatorRemoval::Removed { .. } | AuthenticatorRemoval::NotFound => Ok(()),
        }
    }

    async fn rename_authenticator(
        &self,
        context: &RequestContext,
        id: i32,
        name: &str,
    ) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let name = MethodName::parse(name, SecondFactor::AuthenticatorApp)?.into_string();
        self.store
            .rename_authenticator(signed_in.user.id, id, name, &actor(context), Utc::now())
            .await?
            .ok_or(AppError::Forbidden(Refusal::AuthenticatorGone))?;
        Ok(())
    }

    async fn set_default_method(
        &self,
        context: &RequestContext,
        method: SecondFactor,
    ) -> Result<(), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        if !Self::second_factors(&signed_in).contains(&method) {
            return Err(AppError::invalid(
                "method",
                format!(
                    "You have no {} yet: add one first, then make it your default.",
                    method.label().to_lowercase()
                ),
            ));
        }
        self.store
            .set_default_method(
                signed_in.user.id,
                stored_default(method),
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
        // A session older than 10 minutes proves itself again in the same form: the current
        // password, then the code when the person has an authenticator app (a passkey-only
        // person confirms with their passkey first).
        let recent = app_password::recently_verified(signed_in.session.verified_at, Utc::now());
        let OwnerCounts {
            authenticators,
            passkeys,
            ..
        } = signed_in.counts;
        // What can be refused without a password hash is refused first, and the hash counts
        // against the address's sign-ins (see `confirm_identity`).
        account::check_new_password(new, confirmation, &signed_in.user.username).map_err(
            |mut e| {
                if e.field == "password" {
                    e.field = "new_password";
                }
                e
            },
        )?;
        self.check_ip_rate(context).await?;
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
        if new == current {
            return Err(AppError::invalid(
                "new_password",
                "Choose a password different from your current one.",
            ));
        }
        let now = Utc::now();
        if !recent && second_factor::confirms_with_passkey(authenticators, passkeys) {
            return Err(AppError::Forbidden(Refusal::ConfirmWithPasskey));
        }
        if !recent && authenticators > 0 {
            super::sessions::code_as_typed(code)?;
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
}
