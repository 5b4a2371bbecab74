//! An administrator brings a person back (`domain::method_reset`): every second factor of
//! theirs is removed (authenticator apps, passkeys, recovery codes), their sessions end and their app
//! passwords are revoked or stop, as the organization's reset setting says; one transaction
//! with the audit event naming the administrator and the person's mail (`db::method_resets`).
//! At their next sign-in the person adds a method again (where the organization requires
//! two-step verification, Security info is all they can open until then). From the console,
//! like every change there, it needs the administrator's recent sign-in or password and code;
//! administrators resetting their own methods where that closes the console to them (or to
//! everyone) must also say they understand what follows.
//!
//! "Reset password and methods" adds today's one-time password link: the password is replaced
//! by one nobody knows, in the same transaction, and the administrator is shown the link.

use app::backend::RequestContext;
use app::error::{AppError, OwnMethodsReset};
use app::model::{IdentityCheck, PasswordLink, PersonSummary};
use chrono::Utc;

use super::console::summary_of;
use super::{Administration, AdministrationError, IssuedLink, locked_password_hash};
use crate::db::MethodsResetOutcome;
use crate::db::entities::user;
use crate::domain::method_reset::{MethodsReset, OwnReset};
use crate::domain::password_link::Purpose;
use crate::use_cases::ServerBackend;

impl Administration {
    /// Resets the sign-in methods of the person `username`; returns them and what the reset
    /// removed and ended. `understood`: what acting administrators resetting their own were
    /// told follows (refused, saying it, unless that covers all that follows where the reset
    /// closes the console to them or to everyone).
    pub async fn reset_methods(
        &self,
        username: &str,
        understood: Option<OwnMethodsReset>,
    ) -> Result<(user::Model, MethodsReset), AdministrationError> {
        let person = self.person(username).await?;
        let outcome = self
            .store
            .reset_methods(person.id, own_reset(understood), &self.actor, Utc::now())
            .await?;
        Ok((person, done(outcome)?))
    }

    /// "Reset password and methods": [`Administration::reset_methods`] and the password
    /// replaced by one nobody knows, in one transaction; returns the person, what the reset
    /// removed and ended, and the link with which they set a new password.
    pub async fn reset_password_and_methods(
        &self,
        username: &str,
        understood: Option<OwnMethodsReset>,
    ) -> Result<(user::Model, MethodsReset, IssuedLink), AdministrationError> {
        let person = self.person(username).await?;
        let now = Utc::now();
        let (issued, link) = IssuedLink::new(Purpose::Reset, now);
        let outcome = self
            .store
            .reset_password_and_methods(
                person.id,
                locked_password_hash().await?,
                link,
                own_reset(understood),
                &self.actor,
                now,
            )
            .await?;
        Ok((person, done(outcome)?, issued))
    }
}

fn own_reset(understood: Option<OwnMethodsReset>) -> Option<OwnReset> {
    understood.map(|told| OwnReset {
        two_step_required: told.two_step_required,
        last_administrator: told.last_administrator,
    })
}

/// What a reset did, or the refusal that says what must be understood first.
fn done(outcome: MethodsResetOutcome) -> Result<MethodsReset, AdministrationError> {
    match outcome {
        MethodsResetOutcome::Done(reset) => Ok(reset),
        MethodsResetOutcome::NeedsConfirmation(follows) => {
            Err(AdministrationError::OwnMethodsReset(OwnMethodsReset {
                two_step_required: follows.two_step_required,
                last_administrator: follows.last_administrator,
            }))
        }
    }
}

impl ServerBackend {
    /// The console's "Reset methods": answers with the person as they are now.
    pub(super) async fn reset_methods_from_console(
        &self,
        context: &RequestContext,
        username: &str,
        understood: Option<OwnMethodsReset>,
        check: &IdentityCheck,
    ) -> Result<PersonSummary, AppError> {
        let admin = self.administration_for_change(context, check).await?;
        let (person, reset) = admin.reset_methods(username, understood).await?;
        tracing::info!(
            user = %person.username,
            detail = %reset.detail(),
            "sign-in methods reset from the admin console"
        );
        Ok(summary_of(
            admin.person_row(username).await?,
            admin.actor.user_id,
        ))
    }
}

impl ServerBackend {
    /// The console's "Reset password and methods": answers with the one-time link (shown
    /// once) and what the reset did.
    pub(super) async fn reset_password_and_methods_from_console(
        &self,
        context: &RequestContext,
        username: &str,
        understood: Option<OwnMethodsReset>,
        check: &IdentityCheck,
    ) -> Result<PasswordLink, AppError> {
        let admin = self.administration_for_change(context, check).await?;
        let (person, reset, link) = admin
            .reset_password_and_methods(username, understood)
            .await?;
        tracing::info!(
            user = %person.username,
            detail = %reset.detail(),
            "password and sign-in methods reset from the admin console"
        );
        let detail = format!(
            "{} signed out everywhere; their sign-in methods were reset ({}).",
            person.display_name,
            reset.detail()
        );
        Ok(self.shown_link(person, link, detail))
    }
}
