//! One-time password links: kept with the reset or the new person that made them (in
//! `users`), read by the page the link opens, and used up when the person sets their password.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    sea_query::Expr,
};

use super::audit::AuditNote;
use super::entities::{password_link, user};
use super::store::{Actor, Store, StoreError};
use crate::domain::password_link::Purpose;

/// A link to keep: the hash of its token, why it was made and until when it works. `Debug`
/// hides the hash.
#[derive(Clone)]
pub struct NewPasswordLink {
    pub token_hash: String,
    pub purpose: Purpose,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewPasswordLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPasswordLink")
            .field("token_hash", &app::secret::Redacted)
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Keeps `link` for `user_id` inside `txn`; the person's earlier links stop working.
pub(super) async fn insert_link(
    txn: &DatabaseTransaction,
    user_id: i32,
    link: NewPasswordLink,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    password_link::Entity::delete_many()
        .filter(password_link::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    password_link::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(link.token_hash),
        purpose: Set(link.purpose.as_str().to_owned()),
        created_at: Set(now),
        expires_at: Set(link.expires_at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// The link with this token hash, if it still works at `now`.
fn live_link(token_hash: &str, now: DateTime<Utc>) -> sea_orm::Select<password_link::Entity> {
    password_link::Entity::find()
        .filter(password_link::Column::TokenHash.eq(token_hash))
        .filter(password_link::Column::ExpiresAt.gt(now))
}

impl Store {
    /// The link with this token hash and its person, if it still works at `now`.
    pub async fn password_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(password_link::Model, user::Model)>, StoreError> {
        let Some(link) = live_link(token_hash, now).one(self.connection()).await? else {
            return Ok(None);
        };
        Ok(self.user(link.user_id).await?.map(|person| (link, person)))
    }

    /// Uses up the link with this token hash: the person's password becomes `hash`, and their
    /// throttled sign-ins start again; with the audit event, in one transaction. `NotFound`
    /// when the link does not work (any more): expired, unknown, or used by someone a moment
    /// earlier.
    pub async fn set_password_with_link(
        &self,
        token_hash: &str,
        hash: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<user::Model, StoreError> {
        let txn = self.begin_write().await?;
        let link = live_link(token_hash, now)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        // Deleting is what claims the link: of two people using it at once, one deletes it.
        let claimed = password_link::Entity::delete_many()
            .filter(password_link::Column::Id.eq(link.id))
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed != 1 {
            return Err(StoreError::NotFound);
        }
        super::users::write_new_password(&txn, link.user_id, hash, now).await?;
        user::Entity::update_many()
            .col_expr(user::Column::FailedSignIns, Expr::value(0))
            .col_expr(
                user::Column::ThrottledUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(user::Column::Id.eq(link.user_id))
            .exec(&txn)
            .await?;
        let detail = match Purpose::parse(&link.purpose) {
            Some(Purpose::Welcome) => "their first password, with the link they were given",
            _ => "after a reset, with the link they were given",
        };
        AuditNote::new("password.set_with_link", detail)
            .row(Some(link.user_id), actor, now)
            .insert(&txn)
            .await?;
        let person = user::Entity::find_by_id(link.user_id)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        txn.commit().await?;
        Ok(person)
    }

    /// Deletes links that stopped working; returns how many.
    pub async fn purge_expired_password_links(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(password_link::Entity::delete_many()
            .filter(password_link::Column::ExpiresAt.lte(now))
            .exec(self.connection())
            .await?
            .rows_affected)
    }
}
