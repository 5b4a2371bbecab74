//! Authenticator apps (TOTP), one per user.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::entities::authenticator_app;
use super::store::{Actor, Store, StoreError};
use super::transaction_steps::{delete_recovery_codes, has_second_factor, lock_person};

impl Store {
    pub async fn authenticator(
        &self,
        user_id: i32,
    ) -> Result<Option<authenticator_app::Model>, StoreError> {
        Ok(authenticator_app::Entity::find()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .one(self.connection())
            .await?)
    }

    /// Stores a new, unconfirmed secret, replacing an earlier unconfirmed one, with its audit
    /// event in the same transaction. Fails with `AlreadyExists` if the user has a confirmed
    /// authenticator app.
    pub async fn save_pending_authenticator(
        &self,
        user_id: i32,
        secret_sealed: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let existing = authenticator_app::Entity::find()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .one(&txn)
            .await?;
        if let Some(existing) = existing {
            if existing.confirmed_at.is_some() {
                return Err(StoreError::AlreadyExists);
            }
            authenticator_app::Entity::delete_by_id(existing.id)
                .exec(&txn)
                .await?;
        }
        authenticator_app::ActiveModel {
            user_id: Set(user_id),
            secret_sealed: Set(secret_sealed),
            last_used_step: Set(None),
            confirmed_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        super::audit::event(
            Some(user_id),
            "authenticator.started",
            String::new(),
            actor,
            now,
        )
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Records that the code of `step` was used, only if no later-or-equal step was; the
    /// condition in the UPDATE makes a replay race lose. Confirms a pending app at the same
    /// time. Returns whether this use won.
    pub async fn use_authenticator_step(
        &self,
        id: i32,
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = authenticator_app::Entity::update_many()
            .col_expr(authenticator_app::Column::LastUsedStep, Expr::value(step))
            .filter(authenticator_app::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(authenticator_app::Column::LastUsedStep.is_null())
                    .add(authenticator_app::Column::LastUsedStep.lt(step)),
            )
            .exec(self.connection())
            .await?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        authenticator_app::Entity::update_many()
            .col_expr(authenticator_app::Column::ConfirmedAt, Expr::value(now))
            .filter(authenticator_app::Column::Id.eq(id))
            .filter(authenticator_app::Column::ConfirmedAt.is_null())
            .exec(self.connection())
            .await?;
        Ok(true)
    }

    /// Deletes the user's authenticator app and, in the same transaction, when no second
    /// factor is left (no passkey), the recovery codes that stand in for one.
    pub async fn delete_authenticator(&self, user_id: i32) -> Result<bool, StoreError> {
        let txn = self.begin_write().await?;
        lock_person(self, &txn, user_id).await?;
        let result = authenticator_app::Entity::delete_many()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
        if !has_second_factor(&txn, user_id).await? {
            delete_recovery_codes(&txn, user_id).await?;
        }
        self.commit_revoking(txn).await?;
        Ok(result.rows_affected > 0)
    }
}
