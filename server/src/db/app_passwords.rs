//! App passwords. Every query is scoped by the owner's user id, so no id sent by a browser
//! can reach someone else's.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, SqlErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use super::entities::{app_password, user};
use super::store::{Store, StoreError};

/// A new app password, already hashed.
#[derive(Debug, Clone)]
pub struct NewAppPassword {
    pub user_id: i32,
    pub name: String,
    pub name_key: String,
    pub lookup_hash: String,
    pub password_hash: String,
}

impl Store {
    /// The user's app passwords, oldest first.
    pub async fn app_passwords_of(
        &self,
        user_id: i32,
    ) -> Result<Vec<app_password::Model>, StoreError> {
        Ok(app_password::Entity::find()
            .filter(app_password::Column::UserId.eq(user_id))
            .order_by_asc(app_password::Column::CreatedAt)
            .order_by_asc(app_password::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// Inserts the app password unless the user already has `limit`. The count and the insert
    /// happen under a lock on the user (PostgreSQL: the user's row, `FOR UPDATE`; SQLite: an
    /// IMMEDIATE transaction, which takes the database write lock first), so concurrent
    /// creations can never pass the limit.
    pub async fn create_app_password(
        &self,
        new: NewAppPassword,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<app_password::Model, StoreError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = self.connection().begin_with_options(options).await?;
        if self.connection().get_database_backend() == DatabaseBackend::Postgres {
            user::Entity::find_by_id(new.user_id)
                .lock_exclusive()
                .one(&txn)
                .await?;
        }
        let count = app_password::Entity::find()
            .filter(app_password::Column::UserId.eq(new.user_id))
            .count(&txn)
            .await?;
        if count >= limit {
            return Err(StoreError::LimitReached);
        }
        let inserted = app_password::ActiveModel {
            user_id: Set(new.user_id),
            name: Set(new.name),
            name_key: Set(new.name_key),
            lookup_hash: Set(new.lookup_hash),
            password_hash: Set(new.password_hash),
            created_at: Set(now),
            last_used_at: Set(None),
            last_used_ip: Set(None),
            last_used_client: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let model = match inserted {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::AlreadyExists);
            }
            other => other?,
        };
        txn.commit().await?;
        Ok(model)
    }

    /// Deletes the user's app password `id`; `None` if the user has no such app password.
    pub async fn delete_app_password(
        &self,
        user_id: i32,
        id: i32,
    ) -> Result<Option<app_password::Model>, StoreError> {
        let Some(found) = app_password::Entity::find_by_id(id)
            .filter(app_password::Column::UserId.eq(user_id))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        let result = app_password::Entity::delete_many()
            .filter(app_password::Column::Id.eq(id))
            .filter(app_password::Column::UserId.eq(user_id))
            .exec(self.connection())
            .await?;
        Ok((result.rows_affected == 1).then_some(found))
    }
}

impl Store {
    /// The app password with this lookup hash and its owner: one indexed query.
    pub async fn app_password_by_lookup(
        &self,
        lookup_hash: &str,
    ) -> Result<Option<(app_password::Model, user::Model)>, StoreError> {
        let Some(found) = app_password::Entity::find()
            .filter(app_password::Column::LookupHash.eq(lookup_hash))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        Ok(self.user(found.user_id).await?.map(|owner| (found, owner)))
    }

    /// Records a use, unless one was recorded since `not_before`: at most one write per app
    /// password per interval, whichever server instance answers.
    pub async fn record_app_password_use(
        &self,
        id: i32,
        now: DateTime<Utc>,
        not_before: DateTime<Utc>,
        ip: Option<String>,
        client: Option<String>,
    ) -> Result<(), StoreError> {
        use sea_orm::sea_query::{Condition, Expr};
        app_password::Entity::update_many()
            .col_expr(app_password::Column::LastUsedAt, Expr::value(now))
            .col_expr(app_password::Column::LastUsedIp, Expr::value(ip))
            .col_expr(app_password::Column::LastUsedClient, Expr::value(client))
            .filter(app_password::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(app_password::Column::LastUsedAt.is_null())
                    .add(app_password::Column::LastUsedAt.lt(not_before)),
            )
            .exec(self.connection())
            .await?;
        Ok(())
    }
}
