//! Sign-in links mailed to a person whose sign-ins are held back (`domain::sign_in_link`):
//! kept with the audit event the mail is made from (and, through `db::audit`, its outbox row)
//! in one transaction; used up by the browser that opens one, with its audit event.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait,
    QueryFilter,
};

use super::audit::AuditNote;
use super::entities::{sign_in_link, user};
use super::store::{Actor, Store, StoreError};
use crate::domain::sign_in_link::{MAILED, USED};

/// A link to keep: the hash of its token, the token sealed with the server key for the mail,
/// and until when it works. `Debug` hides both forms of the token.
#[derive(Clone)]
pub struct NewSignInLink {
    pub token_hash: String,
    pub token_sealed: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewSignInLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSignInLink")
            .field("token_hash", &app::secret::Redacted)
            .field("token_sealed", &app::secret::Redacted)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The detail of a mailed link's audit event, which names the link the mail is made from.
fn mailed_detail(link_id: i32) -> String {
    format!("sign-in link {link_id}, because sign-ins were held back")
}

/// The link a [`MAILED`] event's detail names.
pub fn mailed_link_id(detail: &str) -> Option<i32> {
    detail
        .strip_prefix("sign-in link ")?
        .split_once(',')?
        .0
        .parse()
        .ok()
}

/// The person's links, and anyone's that stopped working (the table stays as small as the
/// links in use).
async fn delete_replaced_and_expired(
    txn: &DatabaseTransaction,
    user_id: i32,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sign_in_link::Entity::delete_many()
        .filter(
            Condition::any()
                .add(sign_in_link::Column::UserId.eq(user_id))
                .add(sign_in_link::Column::ExpiresAt.lte(now)),
        )
        .exec(txn)
        .await?;
    Ok(())
}

impl Store {
    /// Keeps `link` for `user_id` in place of their earlier ones, with the audit event that
    /// queues its mail, in one transaction.
    pub async fn mail_sign_in_link(
        &self,
        user_id: i32,
        link: NewSignInLink,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        delete_replaced_and_expired(&txn, user_id, now).await?;
        let kept = sign_in_link::ActiveModel {
            user_id: Set(user_id),
            token_hash: Set(link.token_hash),
            token_sealed: Set(link.token_sealed),
            created_at: Set(now),
            expires_at: Set(link.expires_at),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        AuditNote::new(MAILED, mailed_detail(kept.id))
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The link `id` and its person, while it works at `now` (for its mail).
    pub async fn sign_in_link(
        &self,
        id: i32,
        now: DateTime<Utc>,
    ) -> Result<Option<(sign_in_link::Model, user::Model)>, StoreError> {
        let Some(link) = sign_in_link::Entity::find_by_id(id)
            .filter(sign_in_link::Column::ExpiresAt.gt(now))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        Ok(self.user(link.user_id).await?.map(|person| (link, person)))
    }

    /// Uses up the link with this token hash, with its audit event, in one transaction;
    /// answers with its person. `NotFound` when it does not work (any more): expired, unknown,
    /// replaced, or used by someone a moment earlier.
    pub async fn use_sign_in_link(
        &self,
        token_hash: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<user::Model, StoreError> {
        let txn = self.begin_write().await?;
        let link = sign_in_link::Entity::find()
            .filter(sign_in_link::Column::TokenHash.eq(token_hash))
            .filter(sign_in_link::Column::ExpiresAt.gt(now))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        // Deleting is what claims the link: of two uses at once, one deletes it.
        let claimed = sign_in_link::Entity::delete_many()
            .filter(sign_in_link::Column::Id.eq(link.id))
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed != 1 {
            return Err(StoreError::NotFound);
        }
        let person = user::Entity::find_by_id(link.user_id)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        AuditNote::new(USED, "this browser is remembered for signing in")
            .row(Some(person.id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(person)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mailed_event_names_its_link() {
        assert_eq!(mailed_link_id(&mailed_detail(42)), Some(42));
        assert_eq!(mailed_link_id("something else"), None);
    }
}
