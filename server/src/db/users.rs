//! Users: lookup, sign-in counters, password changes, administration.

use chrono::{DateTime, Utc};
use sea_orm::UpdateMany;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, SqlErr,
};

use super::entities::user;
use super::store::{ORGANIZATION_ID, Store, StoreError};

/// A user the administrator adds.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub username_key: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_admin: bool,
}

impl Store {
    /// Runs `update` on the user `user_id`; `NotFound` if there is no such user.
    async fn update_user(
        &self,
        user_id: i32,
        update: UpdateMany<user::Entity>,
    ) -> Result<(), StoreError> {
        let result = update
            .filter(user::Column::Id.eq(user_id))
            .exec(self.connection())
            .await?;
        if result.rows_affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    pub async fn user_by_key(&self, username_key: &str) -> Result<Option<user::Model>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::UsernameKey.eq(username_key))
            .one(self.connection())
            .await?)
    }

    pub async fn user(&self, id: i32) -> Result<Option<user::Model>, StoreError> {
        Ok(user::Entity::find_by_id(id).one(self.connection()).await?)
    }

    pub async fn users(&self) -> Result<Vec<user::Model>, StoreError> {
        Ok(user::Entity::find()
            .order_by_asc(user::Column::UsernameKey)
            .all(self.connection())
            .await?)
    }

    pub async fn add_user(
        &self,
        new: NewUser,
        now: DateTime<Utc>,
    ) -> Result<user::Model, StoreError> {
        let inserted = user::ActiveModel {
            organization_id: Set(ORGANIZATION_ID),
            username: Set(new.username),
            username_key: Set(new.username_key),
            display_name: Set(new.display_name),
            password_hash: Set(new.password_hash),
            password_changed_at: Set(now),
            is_enabled: Set(true),
            role: Set(if new.is_admin { "admin" } else { "user" }.to_owned()),
            created_at: Set(now),
            failed_sign_ins: Set(0),
            throttled_until: Set(None),
            ..Default::default()
        }
        .insert(self.connection())
        .await;
        match inserted {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(StoreError::UsernameTaken)
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
                Err(StoreError::NotSetUp)
            }
            other => Ok(other?),
        }
    }

    /// Replaces the password hash with an upgraded one (same password, newer parameters).
    pub async fn replace_password_hash(
        &self,
        user_id: i32,
        hash: String,
    ) -> Result<(), StoreError> {
        self.update_user(
            user_id,
            user::Entity::update_many().col_expr(user::Column::PasswordHash, Expr::value(hash)),
        )
        .await
    }

    /// Sets a new password.
    pub async fn set_password(
        &self,
        user_id: i32,
        hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let update = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::PasswordChangedAt, Expr::value(now));
        self.update_user(user_id, update).await
    }

    pub async fn set_enabled(&self, user_id: i32, enabled: bool) -> Result<(), StoreError> {
        let update =
            user::Entity::update_many().col_expr(user::Column::IsEnabled, Expr::value(enabled));
        self.update_user(user_id, update).await
    }

    pub async fn set_admin(&self, user_id: i32, admin: bool) -> Result<(), StoreError> {
        let role = if admin { "admin" } else { "user" };
        self.update_user(
            user_id,
            user::Entity::update_many().col_expr(user::Column::Role, Expr::value(role)),
        )
        .await
    }
}
