//! A person's signed-in browsers (their complete sessions) for Security info's list, and
//! signing one of them out. A session is named by its row id together with its person, so the
//! id of someone else's session names nothing; the token's hash is never read here. Sessions
//! are read from the database on every request (no instance keeps them), so a session ended
//! here is refused at once by every instance.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};

use super::audit::AuditNote;
use super::entities::session;
use super::store::{Actor, Store, StoreError};

/// The most browsers listed: the most recently active.
pub const MAX_LISTED: u64 = 100;

/// A complete session as Security info lists it: where and when, not its token's hash.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct BrowserSession {
    pub id: i32,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// `query` reading only a [`BrowserSession`]'s columns.
fn browser_columns(query: sea_orm::Select<session::Entity>) -> sea_orm::Select<session::Entity> {
    query.select_only().columns([
        session::Column::Id,
        session::Column::CreatedAt,
        session::Column::LastSeenAt,
        session::Column::Ip,
        session::Column::UserAgent,
    ])
}

/// The query behind [`Store::browser_sessions`] (also explained by `db::plans`).
pub(super) fn browsers_query(user_id: i32) -> sea_orm::Select<session::Entity> {
    browser_columns(session::Entity::find())
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::PendingSecondStep.eq(false))
        .order_by_desc(session::Column::LastSeenAt)
        .order_by_desc(session::Column::Id)
        .limit(MAX_LISTED)
}

impl Store {
    /// `user_id`'s complete sessions, most recently active first (at most [`MAX_LISTED`]):
    /// one read of the `sessions_user_id` index range. Sessions past their lifetime that
    /// housekeeping has not deleted yet are among them; the caller leaves them out.
    pub async fn browser_sessions(&self, user_id: i32) -> Result<Vec<BrowserSession>, StoreError> {
        Ok(browsers_query(user_id)
            .into_model::<BrowserSession>()
            .all(self.connection())
            .await?)
    }

    /// Ends `user_id`'s session `session_id` and writes the audit event `audit` makes of it,
    /// in one transaction. `NotFound`, with nothing written, when the person has no such
    /// session (someone else's id, or one already ended).
    pub async fn sign_out_browser(
        &self,
        user_id: i32,
        session_id: i32,
        audit: impl FnOnce(&BrowserSession) -> AuditNote,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let Some(browser) = browser_columns(session::Entity::find_by_id(session_id))
            .filter(session::Column::UserId.eq(user_id))
            .into_model::<BrowserSession>()
            .one(&txn)
            .await?
        else {
            return Err(StoreError::NotFound);
        };
        let ended = session::Entity::delete_many()
            .filter(session::Column::Id.eq(session_id))
            .filter(session::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?
            .rows_affected;
        // Ended a moment ago by another request (PostgreSQL reads before the delete waits).
        if ended == 0 {
            return Err(StoreError::NotFound);
        }
        audit(&browser)
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }
}
