//! Changes of a person's sign-in factors (password, authenticator app; the recovery codes go
//! with the last second factor), each one transaction with what must go with it: the
//! person's other sessions end and an audit event is written, or nothing happens at all.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

use super::entities::{authenticator_app, session};
use super::store::{Actor, Store, StoreError};
use super::transaction_steps::{
    delete_recovery_codes, has_second_factor, lock_person, write_new_password,
};
use crate::domain::counted;

/// What deleting an authenticator app did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticatorRemoval {
    /// Deleted; `second_factor_left`: the person still has one (another app, a passkey).
    /// Without, their recovery codes went with it and their app passwords stop.
    Removed {
        sessions_ended: u64,
        second_factor_left: bool,
    },
    /// The person has no such app (deleted meanwhile, perhaps in another window).
    NotFound,
    /// It is the person's last second factor and the organization requires one.
    LastSecondFactor,
}

/// Ends the user's sessions except `keep`; returns how many ended.
async fn end_other_sessions(
    db: &impl ConnectionTrait,
    user_id: i32,
    keep: i32,
) -> Result<u64, StoreError> {
    Ok(session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Id.ne(keep))
        .exec(db)
        .await?
        .rows_affected)
}

/// What every factor change ends with, inside its transaction: the user's other sessions end,
/// the audit event is written, then everything commits. Returns how many sessions ended.
async fn finish(
    txn: DatabaseTransaction,
    user_id: i32,
    keep_session: i32,
    kind: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let ended = end_other_sessions(&txn, user_id, keep_session).await?;
    let detail = counted(ended, "other session ended", "other sessions ended");
    super::audit::event(Some(user_id), kind, detail, actor, now)
        .insert(&txn)
        .await?;
    txn.commit().await?;
    Ok(ended)
}

impl Store {
    /// Sets a new password hash, ends the user's other sessions and audits it.
    pub async fn change_password(
        &self,
        user_id: i32,
        hash: String,
        keep_session: i32,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = self.begin_write().await?;
        write_new_password(&txn, user_id, hash, now).await?;
        let ended = finish(txn, user_id, keep_session, "password.changed", actor, now).await?;
        Ok(ended)
    }

    /// Confirms the pending authenticator app `id` with the code of `step` (only if no
    /// later-or-equal step was used: a replay race loses), ends the user's other sessions and
    /// audits it; `name` is the name the person gave it. `None` when the step was already used
    /// or there is no such pending app.
    #[allow(clippy::too_many_arguments)]
    pub async fn confirm_authenticator(
        &self,
        id: i32,
        user_id: i32,
        step: i64,
        name: String,
        keep_session: i32,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let txn = self.begin_write().await?;
        let confirmed = authenticator_app::Entity::update_many()
            .col_expr(authenticator_app::Column::LastUsedStep, Expr::value(step))
            .col_expr(authenticator_app::Column::ConfirmedAt, Expr::value(now))
            .col_expr(authenticator_app::Column::Name, Expr::value(name))
            .filter(authenticator_app::Column::Id.eq(id))
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .filter(authenticator_app::Column::ConfirmedAt.is_null())
            .filter(
                Condition::any()
                    .add(authenticator_app::Column::LastUsedStep.is_null())
                    .add(authenticator_app::Column::LastUsedStep.lt(step)),
            )
            .exec(&txn)
            .await?;
        if confirmed.rows_affected != 1 {
            return Ok(None);
        }
        let ended = finish(
            txn,
            user_id,
            keep_session,
            "authenticator.added",
            actor,
            now,
        )
        .await?;
        Ok(Some(ended))
    }

    /// Deletes the user's authenticator app `id`, ends their other sessions and audits it, in
    /// one transaction. With `second_factor_required` (the organization requires two-step
    /// verification) the last second factor stays: the app goes only beside another. When no
    /// second factor is left, the recovery codes that stand in for one go too and this
    /// instance's cached app-password checks are stale at once. Checked under the person's lock
    /// (`transaction_steps::lock_person`).
    pub async fn remove_authenticator(
        &self,
        user_id: i32,
        id: i32,
        keep_session: i32,
        second_factor_required: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<AuthenticatorRemoval, StoreError> {
        let txn = self.begin_write().await?;
        lock_person(self, &txn, user_id).await?;
        let deleted = authenticator_app::Entity::delete_many()
            .filter(authenticator_app::Column::Id.eq(id))
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .filter(authenticator_app::Column::ConfirmedAt.is_not_null())
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Ok(AuthenticatorRemoval::NotFound);
        }
        let second_factor_left = has_second_factor(&txn, user_id).await?;
        if second_factor_required && !second_factor_left {
            // Dropped unwritten: the delete above rolls back.
            return Ok(AuthenticatorRemoval::LastSecondFactor);
        }
        if !second_factor_left {
            // Recovery codes stand in for a second factor, so they go with the last one (a
            // later one does not bring an old set back).
            delete_recovery_codes(&txn, user_id).await?;
        }
        let sessions_ended = finish(
            txn,
            user_id,
            keep_session,
            "authenticator.deleted",
            actor,
            now,
        )
        .await?;
        self.revocations().revoked();
        Ok(AuthenticatorRemoval::Removed {
            sessions_ended,
            second_factor_left,
        })
    }
}
