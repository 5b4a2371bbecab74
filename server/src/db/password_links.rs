//! One-time password links: kept with the reset or the new person that made them (in
//! `users`), or mailed for "Forgot password?" (kept with the audit event the mail is made
//! from, and so its outbox row, in one transaction); read by the page the link opens, and used
//! up when the person sets their password, which ends their sessions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait,
    QueryFilter, sea_query::Expr,
};

use super::audit::AuditNote;
use super::entities::{password_link, session, user};
use super::store::{Actor, Store, StoreError};
use super::transaction_steps::write_new_password;
use crate::domain::counted;
use crate::domain::password_link::{MAILED, Purpose, RESET_BY_MAIL};

/// A link to keep: the hash of its token, why it was made and until when it works, and for a
/// mailed link its token sealed with the server key. `Debug` hides both forms of the token.
#[derive(Clone)]
pub struct NewPasswordLink {
    pub token_hash: String,
    pub purpose: Purpose,
    pub expires_at: DateTime<Utc>,
    pub token_sealed: Option<String>,
}

impl std::fmt::Debug for NewPasswordLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPasswordLink")
            .field("token_hash", &app::secret::Redacted)
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .field(
                "token_sealed",
                &self.token_sealed.as_ref().map(|_| app::secret::Redacted),
            )
            .finish()
    }
}

/// The detail of a mailed link's audit event, which names the link the mail is made from.
fn mailed_detail(link_id: i32) -> String {
    format!("password link {link_id}, asked for with \"Forgot password?\"")
}

/// The link a [`MAILED`] event's detail names.
pub fn mailed_password_link_id(detail: &str) -> Option<i32> {
    detail
        .strip_prefix("password link ")?
        .split_once(',')?
        .0
        .parse()
        .ok()
}

fn kept(user_id: i32, link: NewPasswordLink, now: DateTime<Utc>) -> password_link::ActiveModel {
    password_link::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(link.token_hash),
        purpose: Set(link.purpose.as_str().to_owned()),
        created_at: Set(now),
        expires_at: Set(link.expires_at),
        token_sealed: Set(link.token_sealed),
        ..Default::default()
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
    kept(user_id, link, now).insert(txn).await?;
    Ok(())
}

/// The link with this token hash, if it still works at `now`.
fn live_link(token_hash: &str, now: DateTime<Utc>) -> sea_orm::Select<password_link::Entity> {
    password_link::Entity::find()
        .filter(password_link::Column::TokenHash.eq(token_hash))
        .filter(password_link::Column::ExpiresAt.gt(now))
}

impl Store {
    /// Keeps the mailed ("Forgot password?") `link` for `user_id` in place of their earlier
    /// mailed ones, with the audit event that queues its mail, in one transaction. A link an
    /// administrator gave stays: asking by mail must not undo it. Anyone's expired links go.
    pub async fn mail_password_link(
        &self,
        user_id: i32,
        link: NewPasswordLink,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        password_link::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(password_link::Column::UserId.eq(user_id))
                            .add(password_link::Column::Purpose.eq(Purpose::Forgot.as_str())),
                    )
                    .add(password_link::Column::ExpiresAt.lte(now)),
            )
            .exec(&txn)
            .await?;
        let kept = kept(user_id, link, now).insert(&txn).await?;
        AuditNote::new(MAILED, mailed_detail(kept.id))
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The mailed link `id` and its person, while it works at `now` (for its mail).
    pub async fn mailed_password_link(
        &self,
        id: i32,
        now: DateTime<Utc>,
    ) -> Result<Option<(password_link::Model, user::Model)>, StoreError> {
        let Some(link) = password_link::Entity::find_by_id(id)
            .filter(password_link::Column::ExpiresAt.gt(now))
            .filter(password_link::Column::Purpose.eq(Purpose::Forgot.as_str()))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        Ok(self.user(link.user_id).await?.map(|person| (link, person)))
    }

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

    /// Uses up the link with this token hash: the person's password becomes `hash`, their
    /// other links stop working, every session of theirs ends (a mailed link is no proof of
    /// their second factor, so nothing signs them in), and their throttled sign-ins start
    /// again; with the audit event (mailed to them for a mailed link), in one transaction.
    /// `NotFound` when the link does not work (any more): expired, unknown, or used by someone
    /// a moment earlier.
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
        write_new_password(&txn, link.user_id, hash, now).await?;
        password_link::Entity::delete_many()
            .filter(password_link::Column::UserId.eq(link.user_id))
            .exec(&txn)
            .await?;
        let sessions_ended = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(link.user_id))
            .exec(&txn)
            .await?
            .rows_affected;
        user::Entity::update_many()
            .col_expr(user::Column::FailedSignIns, Expr::value(0))
            .col_expr(
                user::Column::ThrottledUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(user::Column::Id.eq(link.user_id))
            .exec(&txn)
            .await?;
        let (kind, detail) = match Purpose::parse(&link.purpose) {
            Some(Purpose::Welcome) => (
                "password.set_with_link",
                "their first password, with the link they were given".to_owned(),
            ),
            Some(Purpose::Forgot) => (
                RESET_BY_MAIL,
                format!(
                    "with the link mailed for \"Forgot password?\"; {}",
                    counted(sessions_ended, "session ended", "sessions ended")
                ),
            ),
            Some(Purpose::Reset) | None => (
                "password.set_with_link",
                "after a reset, with the link they were given".to_owned(),
            ),
        };
        AuditNote::new(kind, detail)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mailed_event_names_its_link() {
        assert_eq!(mailed_password_link_id(&mailed_detail(42)), Some(42));
        assert_eq!(mailed_password_link_id("sign-in link 42, because"), None);
    }
}
