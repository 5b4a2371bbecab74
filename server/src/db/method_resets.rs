//! An administrator's reset of a person's sign-in methods (`domain::method_reset`), in one
//! transaction: their authenticator apps, passkeys and recovery codes are deleted, every session of
//! theirs ends, their app passwords are revoked or kept (then they stop: no second factor) as
//! the organization's reset setting says, and the audit event naming the administrator is
//! written with the person's mail in the outbox (`db::audit`). Committed with
//! `Store::commit_revoking`, so this instance refuses a cached app password at once; the
//! deletes fire migration 11's triggers, so the other instances do too.
//!
//! "Reset password and methods" does both in one transaction: the methods as above, and the
//! password replaced by one nobody knows with a one-time link (`db::password_links`), each
//! with its audit event.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

use super::audit::AuditNote;
use super::entities::user::Role;
use super::entities::{app_password, authenticator_app, organization, passkey, session, user};
use super::password_links::NewPasswordLink;
use super::store::{Actor, ORGANIZATION_ID, Store, StoreError};
use super::transaction_steps::{delete_recovery_codes, write_new_password};
use crate::domain::method_reset::{MethodsReset, OwnReset, RESET};

/// How a reset ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodsResetOutcome {
    Done(MethodsReset),
    /// Nothing changed: administrators resetting their own methods must first say they
    /// understand what follows (`domain::method_reset::OwnReset`).
    NeedsConfirmation(OwnReset),
}

/// Whether `user_id` is an enabled administrator and no other enabled administrator remains.
async fn last_administrator(txn: &DatabaseTransaction, user_id: i32) -> Result<bool, StoreError> {
    let administrators: Vec<i32> = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Administrator))
        .filter(user::Column::IsEnabled.eq(true))
        .all(txn)
        .await?
        .into_iter()
        .map(|admin| admin.id)
        .collect();
    Ok(administrators == [user_id])
}

impl Store {
    /// Resets the sign-in methods of `user_id` (see the module). When the actor is the person
    /// themselves and the reset would close the console to them (the organization requires
    /// two-step verification, or they are the last administrator), and what they `understood`
    /// does not say all of it, nothing changes and the answer says what follows. `NotFound`
    /// when there is no such person.
    pub async fn reset_methods(
        &self,
        user_id: i32,
        understood: Option<OwnReset>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<MethodsResetOutcome, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = self
            .reset_methods_in(&txn, user_id, understood, actor, now)
            .await?;
        if matches!(outcome, MethodsResetOutcome::Done(_)) {
            self.commit_revoking(txn).await?;
        }
        // Otherwise the transaction ends unwritten.
        Ok(outcome)
    }

    /// "Reset password and methods": the methods as [`Store::reset_methods`], and the
    /// password replaced by `locked_hash` (one nobody knows) with `link`, with which the
    /// person sets a new one (their earlier links stop working); both audited, in one
    /// transaction. Nothing changes when the methods reset needs confirmation first.
    pub async fn reset_password_and_methods(
        &self,
        user_id: i32,
        locked_hash: String,
        link: NewPasswordLink,
        understood: Option<OwnReset>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<MethodsResetOutcome, StoreError> {
        let txn = self.begin_write().await?;
        let outcome = self
            .reset_methods_in(&txn, user_id, understood, actor, now)
            .await?;
        if !matches!(outcome, MethodsResetOutcome::Done(_)) {
            return Ok(outcome);
        }
        // Sessions and app passwords went with the methods, as the reset setting says.
        write_new_password(&txn, user_id, locked_hash, now).await?;
        super::password_links::insert_link(&txn, user_id, link, now).await?;
        AuditNote::new(
            "password.reset",
            "by an administrator, with a one-time link, with their sign-in methods",
        )
        .row(Some(user_id), actor, now)
        .insert(&txn)
        .await?;
        self.commit_revoking(txn).await?;
        Ok(outcome)
    }

    /// The methods reset inside `txn`, which the caller commits when it is `Done`.
    async fn reset_methods_in(
        &self,
        txn: &DatabaseTransaction,
        user_id: i32,
        understood: Option<OwnReset>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<MethodsResetOutcome, StoreError> {
        // The person's lock first, as every change of their second factors takes it (new
        // recovery codes at the same moment wait, then find no second factor).
        let mut person = user::Entity::find_by_id(user_id);
        if self.connection().get_database_backend() == DatabaseBackend::Postgres {
            person = person.lock_exclusive();
        }
        if person.one(txn).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let org = organization::Entity::find_by_id(ORGANIZATION_ID)
            .one(txn)
            .await?;
        // As an administrator's password reset treats them.
        let revokes_app_passwords = org
            .as_ref()
            .is_none_or(|org| org.reset_revokes_app_passwords);
        let two_step_required = org.as_ref().is_some_and(|org| org.require_two_step);
        if actor.user_id == Some(user_id) {
            let follows = OwnReset {
                two_step_required,
                last_administrator: last_administrator(txn, user_id).await?,
            };
            if follows.needs_confirmation() && !understood.is_some_and(|told| follows.told_by(told))
            {
                // The transaction ends unwritten.
                return Ok(MethodsResetOutcome::NeedsConfirmation(follows));
            }
        }
        let authenticator_apps = authenticator_app::Entity::find()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .filter(authenticator_app::Column::ConfirmedAt.is_not_null())
            .count(txn)
            .await?;
        // One being set up goes too: it was begun by whoever held the person's session.
        authenticator_app::Entity::delete_many()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .exec(txn)
            .await?;
        let passkeys = passkey::Entity::delete_many()
            .filter(passkey::Column::UserId.eq(user_id))
            .exec(txn)
            .await?
            .rows_affected;
        let recovery_codes = delete_recovery_codes(txn, user_id).await?;
        // Pending sign-ins too: one waiting for a code of the removed app must not finish.
        let sessions_ended = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user_id))
            .exec(txn)
            .await?
            .rows_affected;
        let app_passwords =
            app_password::Entity::find().filter(app_password::Column::UserId.eq(user_id));
        let (app_passwords_revoked, app_passwords_stopped) = if revokes_app_passwords {
            let revoked = app_password::Entity::delete_many()
                .filter(app_password::Column::UserId.eq(user_id))
                .exec(txn)
                .await?
                .rows_affected;
            (revoked, 0)
        } else {
            (0, app_passwords.count(txn).await?)
        };
        let reset = MethodsReset {
            authenticator_apps,
            passkeys,
            recovery_codes,
            sessions_ended,
            app_passwords_revoked,
            app_passwords_stopped,
        };
        AuditNote::new(RESET, reset.detail())
            .row(Some(user_id), actor, now)
            .insert(txn)
            .await?;
        Ok(MethodsResetOutcome::Done(reset))
    }
}
