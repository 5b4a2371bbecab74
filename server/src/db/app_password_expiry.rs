//! App-password expiry, as the periodic job sees it (issue 31): the app passwords whose
//! reminder or expiry may be due, and, once each, the reminder (an audit event mailed through
//! the outbox, in the same transaction) and the note that one has expired (an audit event).
//! The marks are set by a conditional UPDATE, so instances running the job at once do each
//! once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::audit::AuditNote;
use super::entities::app_password;
use super::store::{Actor, Store, StoreError};
use crate::domain::app_password::{EXPIRED, EXPIRY_REMINDED, IdleLimit};

/// Which mark an expiry step sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryMark {
    /// The reminder mail, a week before.
    Reminded,
    /// The expiry itself.
    Expired,
}

/// App passwords whose deadline (their own date, or `idle` after their last use) is before
/// `before`.
fn deadline_before(before: DateTime<Utc>, idle: Option<IdleLimit>) -> Condition {
    let mut due = Condition::any().add(app_password::Column::ExpiresAt.lte(before));
    if let Some(idle) = idle {
        let last_use_before = before - idle.duration();
        due = due
            .add(app_password::Column::LastUsedAt.lte(last_use_before))
            .add(
                Condition::all()
                    .add(app_password::Column::LastUsedAt.is_null())
                    .add(app_password::Column::CreatedAt.lte(last_use_before)),
            );
    }
    due
}

impl Store {
    /// Up to `limit` app passwords, oldest first, not yet noted as expired, that are past
    /// their deadline at `now` or not yet reminded and within `remind_before` of it.
    pub async fn app_passwords_near_expiry(
        &self,
        idle: Option<IdleLimit>,
        remind_before: chrono::Duration,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<app_password::Model>, StoreError> {
        Ok(app_password::Entity::find()
            .filter(app_password::Column::ExpiredNotedAt.is_null())
            .filter(
                Condition::any().add(deadline_before(now, idle)).add(
                    Condition::all()
                        .add(app_password::Column::ExpiryRemindedAt.is_null())
                        .add(deadline_before(now + remind_before, idle)),
                ),
            )
            .order_by_asc(app_password::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Sets `mark` on app password `row` at `now` unless it is set already, and writes its
    /// audit event (`detail`, about the owner; the reminder is mailed) in the same
    /// transaction. True when this call set it.
    pub async fn mark_app_password_expiry(
        &self,
        row: &app_password::Model,
        mark: ExpiryMark,
        detail: String,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (column, kind) = match mark {
            ExpiryMark::Reminded => (app_password::Column::ExpiryRemindedAt, EXPIRY_REMINDED),
            ExpiryMark::Expired => (app_password::Column::ExpiredNotedAt, EXPIRED),
        };
        let txn = self.begin_write().await?;
        let marked = app_password::Entity::update_many()
            .col_expr(column, Expr::value(now))
            .filter(app_password::Column::Id.eq(row.id))
            .filter(column.is_null())
            .exec(&txn)
            .await?;
        if marked.rows_affected != 1 {
            return Ok(false);
        }
        AuditNote::new(kind, detail)
            .row(Some(row.user_id), &Actor::default(), now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(true)
    }
}
