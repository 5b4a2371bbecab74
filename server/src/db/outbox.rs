//! The mail outbox: alerts made from audit events, queued in the database (so they survive a
//! restart) and sent by whichever instance claims them first.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{audit_event, mail_cursor, mail_outbox};
use super::store::{Store, StoreError};

const CURSOR_ID: i32 = 1;

/// A mail to queue, made from the audit event `audit_event_id`.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub audit_event_id: i32,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

impl Store {
    /// The last audit event already considered for alerts; on first use, the newest one (no
    /// mail about what happened before alerts were turned on).
    pub async fn alert_cursor(&self) -> Result<i32, StoreError> {
        if let Some(row) = mail_cursor::Entity::find_by_id(CURSOR_ID)
            .one(self.connection())
            .await?
        {
            return Ok(row.last_audit_event_id);
        }
        let newest = audit_event::Entity::find()
            .order_by_desc(audit_event::Column::Id)
            .one(self.connection())
            .await?
            .map_or(0, |event| event.id);
        mail_cursor::Entity::insert(mail_cursor::ActiveModel {
            id: Set(CURSOR_ID),
            last_audit_event_id: Set(newest),
        })
        .on_conflict(
            OnConflict::column(mail_cursor::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.connection())
        .await?;
        Ok(newest)
    }

    /// Audit events of `kinds` after `after`, oldest first, at most `limit`; and the id of the
    /// newest event looked at (of any kind), where the cursor may move to.
    pub async fn audit_events_after(
        &self,
        after: i32,
        kinds: &[&str],
        limit: u64,
    ) -> Result<(Vec<audit_event::Model>, i32), StoreError> {
        let newest = audit_event::Entity::find()
            .filter(audit_event::Column::Id.gt(after))
            .order_by_asc(audit_event::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?;
        let last = newest.last().map_or(after, |event| event.id);
        let events = newest
            .into_iter()
            .filter(|event| kinds.contains(&event.kind.as_str()))
            .collect();
        Ok((events, last))
    }

    /// Queues `mails` and moves the cursor to `cursor`, in one transaction. A mail already
    /// queued for the same event (by another instance) is not queued twice.
    pub async fn enqueue_mails(
        &self,
        mails: Vec<NewMail>,
        cursor: i32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        for mail in mails {
            mail_outbox::Entity::insert(mail_outbox::ActiveModel {
                audit_event_id: Set(mail.audit_event_id),
                recipient: Set(mail.recipient),
                subject: Set(mail.subject),
                body: Set(mail.body),
                created_at: Set(now),
                attempts: Set(0),
                next_attempt_at: Set(now),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::column(mail_outbox::Column::AuditEventId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        mail_cursor::Entity::update_many()
            .col_expr(mail_cursor::Column::LastAuditEventId, Expr::value(cursor))
            .filter(mail_cursor::Column::Id.eq(CURSOR_ID))
            .filter(mail_cursor::Column::LastAuditEventId.lt(cursor))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` mails that are due, each until `until`; a mail another instance
    /// holds is skipped.
    pub async fn claim_due_mails(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<mail_outbox::Model>, StoreError> {
        let free = Condition::any()
            .add(mail_outbox::Column::ClaimedUntil.is_null())
            .add(mail_outbox::Column::ClaimedUntil.lt(now));
        let due = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::SentAt.is_null())
            .filter(mail_outbox::Column::GaveUpAt.is_null())
            .filter(mail_outbox::Column::NextAttemptAt.lte(now))
            .filter(free.clone())
            .order_by_asc(mail_outbox::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?;
        let mut claimed = Vec::new();
        for mail in due {
            let taken = mail_outbox::Entity::update_many()
                .col_expr(mail_outbox::Column::ClaimedUntil, Expr::value(until))
                .filter(mail_outbox::Column::Id.eq(mail.id))
                .filter(free.clone())
                .exec(self.connection())
                .await?;
            if taken.rows_affected == 1 {
                claimed.push(mail);
            }
        }
        Ok(claimed)
    }

    /// Records that mail `id` was sent.
    pub async fn mail_sent(&self, id: i32, now: DateTime<Utc>) -> Result<(), StoreError> {
        mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::SentAt, Expr::value(now))
            .col_expr(
                mail_outbox::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(mail_outbox::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Records a failed attempt at mail `id`: tried again at `next_attempt_at`, or given up.
    pub async fn mail_failed(
        &self,
        id: i32,
        attempts: i32,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut update = mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(
                mail_outbox::Column::LastError,
                Expr::value(error.to_owned()),
            )
            .col_expr(
                mail_outbox::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            );
        update = match next_attempt_at {
            Some(at) => update.col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(at)),
            None => update.col_expr(mail_outbox::Column::GaveUpAt, Expr::value(now)),
        };
        update
            .filter(mail_outbox::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Deletes mails sent or given up before `before`; returns how many.
    pub async fn purge_finished_mails(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let finished = Condition::any()
            .add(mail_outbox::Column::SentAt.lt(before))
            .add(mail_outbox::Column::GaveUpAt.lt(before));
        Ok(mail_outbox::Entity::delete_many()
            .filter(finished)
            .exec(self.connection())
            .await?
            .rows_affected)
    }

    /// Every mail in the outbox, oldest first (for tests and the administrator).
    pub async fn outbox(&self) -> Result<Vec<mail_outbox::Model>, StoreError> {
        Ok(mail_outbox::Entity::find()
            .order_by_asc(mail_outbox::Column::Id)
            .all(self.connection())
            .await?)
    }
}
