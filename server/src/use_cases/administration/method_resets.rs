//! An administrator brings a person back (`domain::method_reset`): every second factor of
//! theirs is removed (authenticator apps, passkeys, recovery codes), their sessions end and their app
//! passwords are revoked or stop, as the organization's reset setting says; one transaction
//! with the audit event naming the administrator and the person's mail (`db::method_resets`).
//! At their next sign-in the person adds a method again (where the organization requires
//! two-step verification, Security info is all they can open until then). From the console,
//! like every change there, it needs the administrator's recent sign-in or password and code;
//! administrators resetting their own methods where that closes the console to them (or to
//! everyone) must also say they understand what follows.

use app::backend::RequestContext;
use app::error::{AppError, OwnMethodsReset};
use app::model::{IdentityCheck, PersonSummary};
use chrono::Utc;

use super::{Administration, AdministrationError, summary_of};
use crate::db::MethodsResetOutcome;
use crate::db::entities::user;
use crate::domain::method_reset::{MethodsReset, OwnReset};
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
        let understood = understood.map(|told| OwnReset {
            two_step_required: told.two_step_required,
            last_administrator: told.last_administrator,
        });
        match self
            .store
            .reset_methods(person.id, understood, &self.actor, Utc::now())
            .await?
        {
            MethodsResetOutcome::Done(reset) => Ok((person, reset)),
            MethodsResetOutcome::NeedsConfirmation(follows) => {
                Err(AdministrationError::OwnMethodsReset(OwnMethodsReset {
                    two_step_required: follows.two_step_required,
                    last_administrator: follows.last_administrator,
                }))
            }
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
