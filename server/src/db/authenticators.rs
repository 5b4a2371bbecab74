//! Authenticator apps (TOTP): several per person, each named, at most one of them pending (added
//! but not confirmed with a first code yet).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use super::audit::AuditNote;
use super::entities::{authenticator_app, passkey, user};
use super::store::{Actor, Store, StoreError};
use super::transaction_steps::{delete_recovery_codes, has_second_factor, lock_person};

/// The most authenticator apps one person may have: enough for a phone, a tablet and a spare;
/// more is a mistake or a script.
pub const AUTHENTICATOR_LIMIT: u64 = 5;

/// The audit kind of a renamed authenticator app.
const RENAMED: &str = "authenticator.renamed";
/// The audit kind of a new choice of default sign-in method.
const DEFAULT_METHOD_CHANGED: &str = "default_method.changed";

impl Store {
    /// The person's authenticator apps, confirmed and pending, oldest first.
    pub async fn authenticators(
        &self,
        user_id: i32,
    ) -> Result<Vec<authenticator_app::Model>, StoreError> {
        Ok(authenticator_app::Entity::find()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .order_by_asc(authenticator_app::Column::CreatedAt)
            .order_by_asc(authenticator_app::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// The person's first authenticator app (confirmed or pending), if any.
    pub async fn authenticator(
        &self,
        user_id: i32,
    ) -> Result<Option<authenticator_app::Model>, StoreError> {
        Ok(self.authenticators(user_id).await?.into_iter().next())
    }

    /// How many confirmed authenticator apps and passkeys the person has (two index ranges).
    pub async fn second_factor_counts(&self, user_id: i32) -> Result<(u64, u64), StoreError> {
        let apps = authenticator_app::Entity::find()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .filter(authenticator_app::Column::ConfirmedAt.is_not_null())
            .count(self.connection())
            .await?;
        let passkeys = passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(user_id))
            .count(self.connection())
            .await?;
        Ok((apps, passkeys))
    }

    /// Stores the person's choice of the second factor sign-in asks for first, with its audit
    /// event.
    pub async fn set_default_method(
        &self,
        user_id: i32,
        method: user::SecondFactorKind,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        user::Entity::update_many()
            .col_expr(
                user::Column::DefaultMethod,
                Expr::value(sea_orm::ActiveEnum::to_value(&method)),
            )
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
        let detail = match method {
            user::SecondFactorKind::AuthenticatorApp => "authenticator app",
            user::SecondFactorKind::Passkey => "passkey or security key",
        };
        AuditNote::new(DEFAULT_METHOD_CHANGED, detail)
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Stores a new, unconfirmed app named `name`, replacing an earlier unconfirmed one, with
    /// its audit event in the same transaction. Fails with `LimitReached` when the person has
    /// [`AUTHENTICATOR_LIMIT`] confirmed ones.
    pub async fn save_pending_authenticator(
        &self,
        user_id: i32,
        name: String,
        secret_sealed: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_person(self, &txn, user_id).await?;
        authenticator_app::Entity::delete_many()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .filter(authenticator_app::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await?;
        let confirmed = authenticator_app::Entity::find()
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .count(&txn)
            .await?;
        if confirmed >= AUTHENTICATOR_LIMIT {
            return Err(StoreError::LimitReached);
        }
        authenticator_app::ActiveModel {
            user_id: Set(user_id),
            name: Set(name),
            secret_sealed: Set(secret_sealed),
            last_used_step: Set(None),
            last_used_at: Set(None),
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

    /// Records that the code of `step` was used on the confirmed app `id`, only if no
    /// later-or-equal step was; the condition in the UPDATE makes a replay race lose. Returns
    /// whether this use won.
    pub async fn use_authenticator_step(
        &self,
        id: i32,
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = authenticator_app::Entity::update_many()
            .col_expr(authenticator_app::Column::LastUsedStep, Expr::value(step))
            .col_expr(authenticator_app::Column::LastUsedAt, Expr::value(now))
            .filter(authenticator_app::Column::Id.eq(id))
            .filter(authenticator_app::Column::ConfirmedAt.is_not_null())
            .filter(
                Condition::any()
                    .add(authenticator_app::Column::LastUsedStep.is_null())
                    .add(authenticator_app::Column::LastUsedStep.lt(step)),
            )
            .exec(self.connection())
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Renames one of the person's confirmed apps, with its audit event; `None` when it is not
    /// theirs (or gone).
    pub async fn rename_authenticator(
        &self,
        user_id: i32,
        id: i32,
        name: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<authenticator_app::Model>, StoreError> {
        let txn = self.begin_write().await?;
        let Some(found) = authenticator_app::Entity::find_by_id(id)
            .filter(authenticator_app::Column::UserId.eq(user_id))
            .filter(authenticator_app::Column::ConfirmedAt.is_not_null())
            .one(&txn)
            .await?
        else {
            return Ok(None);
        };
        let detail = format!("{:?} to {name:?} (id {id})", found.name);
        let mut renamed: authenticator_app::ActiveModel = found.into();
        renamed.name = Set(name);
        let renamed = renamed.update(&txn).await?;
        AuditNote::new(RENAMED, detail)
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(Some(renamed))
    }

    /// Deletes every authenticator app of the user and, in the same transaction, when no second
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
