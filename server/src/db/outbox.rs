//! The mail outbox: one row per audit event that warrants a mail alert, written by the change
//! itself in the transaction of its audit event ([`queue_alert`], from `db::audit`), so no
//! event is passed over however transactions interleave; kept across restarts, and sent by
//! whichever instance claims it first. A claim carries the claimer's own token, and only the
//! holder of the token can record that the mail was sent or failed.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};

use super::entities::{audit_event, mail_outbox};
use super::store::{Store, StoreError};
use crate::domain::alerts::FIRST_TRY_WITHIN;

/// Queues the mail alert about `event`, inside the transaction that wrote the event.
pub(super) async fn queue_alert(
    txn: &DatabaseTransaction,
    event: &audit_event::Model,
) -> Result<(), DbErr> {
    mail_outbox::Entity::insert(mail_outbox::ActiveModel {
        audit_event_id: Set(event.id),
        created_at: Set(event.created_at),
        attempts: Set(0),
        next_attempt_at: Set(event.created_at),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Mails neither sent nor given up, due at `now`, not held by a live claim, and either tried
/// before or still young enough to be tried first ([`FIRST_TRY_WITHIN`]).
fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(mail_outbox::Column::SentAt.is_null())
        .add(mail_outbox::Column::GaveUpAt.is_null())
        .add(mail_outbox::Column::NextAttemptAt.lte(now))
        .add(
            Condition::any()
                .add(mail_outbox::Column::ClaimedUntil.is_null())
                .add(mail_outbox::Column::ClaimedUntil.lt(now)),
        )
        .add(
            Condition::any()
                .add(mail_outbox::Column::Attempts.gt(0))
                .add(mail_outbox::Column::CreatedAt.gte(now - FIRST_TRY_WITHIN)),
        )
}

impl Store {
    /// Claims up to `limit` mails that are due at `now`, oldest first, until `until`, under
    /// `token` (the claimer's own, new for each claim). A mail another instance holds is
    /// skipped: the update checks each row again as it takes it, so of two claimers at the
    /// same moment one gets it.
    pub async fn claim_due_mails(
        &self,
        token: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<mail_outbox::Model>, StoreError> {
        let due = mail_outbox::Entity::find()
            .select_only()
            .column(mail_outbox::Column::Id)
            .filter(claimable(now))
            .order_by_asc(mail_outbox::Column::Id)
            .limit(limit)
            .into_query();
        let taken = mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::ClaimedUntil, Expr::value(until))
            .col_expr(mail_outbox::Column::ClaimToken, Expr::value(token))
            .filter(mail_outbox::Column::Id.in_subquery(due))
            .filter(claimable(now))
            .exec(self.connection())
            .await?;
        if taken.rows_affected == 0 {
            return Ok(Vec::new());
        }
        Ok(mail_outbox::Entity::find()
            .filter(mail_outbox::Column::ClaimToken.eq(token))
            .filter(mail_outbox::Column::SentAt.is_null())
            .filter(mail_outbox::Column::GaveUpAt.is_null())
            .order_by_asc(mail_outbox::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// Records that mail `id` was sent, if `token` still holds its claim; returns whether it
    /// did (an instance whose claim ran out and was taken over cannot record it).
    pub async fn mail_sent(
        &self,
        id: i32,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let recorded = mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::SentAt, Expr::value(now))
            .col_expr(
                mail_outbox::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(mail_outbox::Column::ClaimToken, Expr::value(None::<String>))
            .filter(mail_outbox::Column::Id.eq(id))
            .filter(mail_outbox::Column::ClaimToken.eq(token))
            .exec(self.connection())
            .await?;
        Ok(recorded.rows_affected == 1)
    }

    /// Records a failed attempt at mail `id`, if `token` still holds its claim: tried again at
    /// `next_attempt_at`, or given up. Returns whether it was recorded.
    pub async fn mail_failed(
        &self,
        id: i32,
        token: &str,
        attempts: i32,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut update = mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(
                mail_outbox::Column::LastError,
                Expr::value(error.to_owned()),
            )
            .col_expr(
                mail_outbox::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(mail_outbox::Column::ClaimToken, Expr::value(None::<String>));
        update = match next_attempt_at {
            Some(at) => update.col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(at)),
            None => update.col_expr(mail_outbox::Column::GaveUpAt, Expr::value(now)),
        };
        let recorded = update
            .filter(mail_outbox::Column::Id.eq(id))
            .filter(mail_outbox::Column::ClaimToken.eq(token))
            .exec(self.connection())
            .await?;
        Ok(recorded.rows_affected == 1)
    }

    /// Lets go of the mails still held under `token` (not sent, not failed), for another
    /// round or instance to take at once.
    pub async fn release_mails(&self, token: &str) -> Result<u64, StoreError> {
        Ok(mail_outbox::Entity::update_many()
            .col_expr(
                mail_outbox::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(mail_outbox::Column::ClaimToken, Expr::value(None::<String>))
            .filter(mail_outbox::Column::ClaimToken.eq(token))
            .exec(self.connection())
            .await?
            .rows_affected)
    }

    /// Deletes mails sent or given up before `before`, and those never tried that were queued
    /// before it (too old to be tried now: mail was off); returns how many.
    pub async fn purge_finished_mails(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let never_tried = Condition::all()
            .add(mail_outbox::Column::SentAt.is_null())
            .add(mail_outbox::Column::Attempts.eq(0))
            .add(mail_outbox::Column::CreatedAt.lt(before));
        let finished = Condition::any()
            .add(mail_outbox::Column::SentAt.lt(before))
            .add(mail_outbox::Column::GaveUpAt.lt(before))
            .add(never_tried);
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
