//! Recovery codes (`domain::recovery_code`): "Get new codes" on Security info (only with a
//! second factor, after a recent sign-in or one prompt, answered once), how many are left, and
//! a code used at sign-in's code step in place of the authenticator app's code
//! (`sessions::complete_second_step`, so it is counted and throttled like a code and starts
//! the same session). Each use is audited and mailed to the person (`db::recovery_codes`).

use app::backend::{RecoveryCodeUseCases, RequestContext, SetCookie};
use app::error::{AppError, Refusal};
use app::model::{IdentityCheck, NewRecoveryCodes, RecoveryCodesLeft};
use async_trait::async_trait;
use chrono::Utc;

use super::second_step::SecondStep;
use super::{ServerBackend, actor};
use crate::db::entities::user;
use crate::db::{RecoveryCodeCount, StoreError};
use crate::domain::random::OsRandom;
use crate::domain::recovery_code::{self, HASH_PURPOSE, RecoveryCode};
use crate::domain::timefmt;

impl ServerBackend {
    /// What a code is stored as: its keyed hash under the server key, bound to its person (see
    /// `domain::recovery_code` for why a keyed hash and not argon2).
    fn recovery_code_hash(&self, user_id: i32, code: &RecoveryCode) -> String {
        self.secret_key
            .keyed_hash(HASH_PURPOSE, &code.hash_input(user_id))
    }

    /// Uses `typed`, if it is one of `person`'s unused recovery codes; with its audit event and
    /// mail. Something that cannot be a code is not looked up.
    pub(super) async fn use_recovery_code(
        &self,
        person: &user::Model,
        typed: &str,
        context: &RequestContext,
    ) -> Result<bool, AppError> {
        let Some(code) = RecoveryCode::parse(typed) else {
            return Ok(false);
        };
        let hash = self.recovery_code_hash(person.id, &code);
        Ok(self
            .store
            .use_recovery_code(person.id, &hash, &actor(context), Utc::now())
            .await?
            .is_some())
    }
}

#[async_trait]
impl RecoveryCodeUseCases for ServerBackend {
    async fn new_recovery_codes(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<NewRecoveryCodes, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let user_id = signed_in.user.id;
        // Codes stand in for a second factor: without one they would sign in to nothing more.
        if !Self::has_two_step(&signed_in) {
            return Err(AppError::Forbidden(Refusal::TwoStepVerificationFirst));
        }
        self.ensure_recent_sign_in_by(&signed_in, context, check)
            .await?;
        let codes = recovery_code::new_set(&mut OsRandom);
        let hashes = codes
            .iter()
            .map(|code| self.recovery_code_hash(user_id, code))
            .collect();
        let now = Utc::now();
        match self
            .store
            .replace_recovery_codes(user_id, hashes, &actor(context), now)
            .await
        {
            // The last second factor was deleted a moment ago (in another window).
            Err(StoreError::NotFound) => {
                return Err(AppError::Forbidden(Refusal::TwoStepVerificationFirst));
            }
            other => other?,
        }
        let organization = self
            .organization(context)
            .await?
            .map_or_else(|| "Latchkey".to_owned(), |org| org.name);
        Ok(NewRecoveryCodes {
            codes: codes.iter().map(RecoveryCode::for_display).collect(),
            account: signed_in.user.username,
            organization,
            created: timefmt::moment(now),
        })
    }

    async fn verify_sign_in_recovery_code(
        &self,
        context: &RequestContext,
        code: &str,
    ) -> Result<SetCookie, AppError> {
        self.complete_second_step(context, SecondStep::RecoveryCode(code))
            .await
    }
}

/// How many of the person's recovery codes are left, as Security info shows it.
pub(super) fn recovery_codes_left(count: RecoveryCodeCount) -> RecoveryCodesLeft {
    RecoveryCodesLeft {
        left: u32::try_from(count.left).unwrap_or(u32::MAX),
        issued: u32::try_from(count.issued).unwrap_or(u32::MAX),
        few_left: count.issued > 0 && recovery_code::few_left(count.left),
    }
}
