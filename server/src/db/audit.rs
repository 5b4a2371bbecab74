//! Audit events: who did what, when, from where. An event that warrants a mail alert
//! (`domain::alerts::is_alerted`) is written with its outbox row in the same transaction
//! ([`AuditRow::insert`]), so the alert exists exactly when the event is committed, whatever
//! order concurrent transactions commit in. Events any outsider can cause (failed sign-ins,
//! unknown names, paused app-password checks) are counted instead, at most so many rows a
//! window ([`Store::audit`], `domain::audit_bounds`), so a flood cannot grow the table
//! without bound.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::NotSet;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::entities::audit_event;
use super::store::{Actor, Store, StoreError};
use crate::domain::throttle::FailureLimit;
use crate::domain::{alerts, audit_bounds};

/// Which audit events an administrator asks for; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub user_id: Option<i32>,
    pub kind: Option<String>,
    /// From this moment on.
    pub from: Option<DateTime<Utc>>,
    /// Before this moment.
    pub until: Option<DateTime<Utc>>,
}

/// The audit event a change writes in its own transaction; who did it ([`Actor`]) and when
/// are given with it, and the person is the one the change is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    pub kind: &'static str,
    pub detail: String,
}

impl AuditNote {
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// Its row, about `user_id`.
    pub(super) fn row(self, user_id: Option<i32>, actor: &Actor, now: DateTime<Utc>) -> AuditRow {
        event(user_id, self.kind, self.detail, actor, now)
    }
}

/// An audit event to write, and whether it warrants a mail alert: one about a person, of an
/// alerted kind.
pub(super) struct AuditRow {
    event: audit_event::ActiveModel,
    alerted: bool,
}

impl AuditRow {
    /// Inserts the event and, when it warrants a mail, its outbox row, both in `txn`: a
    /// transaction, so that neither is committed without the other.
    pub(super) async fn insert(self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        if self.alerted {
            let event = self.event.insert(txn).await?;
            super::outbox::queue_alert(txn, &event).await?;
            crate::metrics::mail_queued();
        } else {
            // Nothing reads the row back: only the columns written are named (a database
            // still being migrated from before the counts takes it too).
            audit_event::Entity::insert(self.event)
                .exec_without_returning(txn)
                .await?;
        }
        Ok(())
    }
}

/// An audit event row, for [`Store::audit`] and for the changes that insert theirs inside
/// their own transaction.
pub(super) fn event(
    user_id: Option<i32>,
    kind: &str,
    detail: String,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AuditRow {
    AuditRow {
        alerted: user_id.is_some() && alerts::is_alerted(kind),
        event: audit_event::ActiveModel {
            user_id: Set(user_id),
            actor_user_id: Set(actor.user_id),
            kind: Set(kind.to_owned()),
            detail: Set(detail),
            ip: Set(actor.ip.clone()),
            user_agent: Set(actor.user_agent.clone()),
            // Left to the column's default (false) unless set, so a database a migration behind
            // (a rolling upgrade; `tests/alerts.rs` writes at migration 13) still takes events.
            by_command_line: if actor.command_line {
                Set(true)
            } else {
                NotSet
            },
            created_at: Set(now),
            ..Default::default()
        },
    }
}

impl Store {
    /// Writes an audit event on its own (a change writes its event in its own transaction);
    /// with its mail alert when it warrants one. An event of a kind outsiders can cause
    /// (`audit_bounds::COUNTED_KINDS`) is counted instead ([`Self::count_event`]).
    pub async fn audit(
        &self,
        user_id: Option<i32>,
        kind: &str,
        detail: impl Into<String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = event(user_id, kind, detail.into(), actor, now);
        if row.alerted {
            let txn = self.begin_write().await?;
            row.insert(&txn).await?;
            txn.commit().await?;
        } else if audit_bounds::is_counted(kind) {
            self.count_event(row.event, user_id, kind, actor, now)
                .await?;
        } else {
            // One statement needs no transaction (this one is on the app-password check's path).
            audit_event::Entity::insert(row.event)
                .exec_without_returning(self.connection())
                .await?;
        }
        Ok(())
    }

    /// Counts `event`: one more on its row of this window (`audit_bounds::bucket`); or, the
    /// first time, its row written while the window has fewer than
    /// `audit_bounds::ROWS_PER_WINDOW` rows of its kind about its person (or about no one);
    /// or else one more on the window's `audit_bounds::OTHERS` row.
    ///
    /// Safe with any number of instances counting at once, on both databases, each step one
    /// atomic statement: rows are numbered by one upsert of a shared counter
    /// (`count_failure`); the first number taken for a bucket is kept for it (an upsert that
    /// answers with the number already there), so every attempt of the bucket, however many
    /// arrive at once, makes the same choice between its row and the row of others; and a row
    /// is written by an upsert on its unique bucket, so two at once make one row and lose no
    /// count. A number taken by an attempt that finds its bucket already numbered is spent:
    /// the rows stay within the bound.
    async fn count_event(
        &self,
        mut event: audit_event::ActiveModel,
        user_id: Option<i32>,
        kind: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use audit_event::Column;
        let window = audit_bounds::window_start(now);
        let detail = match &event.detail {
            ActiveValue::Set(detail) | ActiveValue::Unchanged(detail) => detail.clone(),
            ActiveValue::NotSet => String::new(),
        };
        let bucket = audit_bounds::bucket(kind, user_id, &detail, actor.ip.as_deref(), window);
        // Repeats, the usual case in a flood, are one UPDATE.
        if self.add_to_bucket(&bucket).await? {
            return Ok(());
        }
        // Kept past their window, so an instance whose clock lags cannot start them over.
        let kept = audit_bounds::WINDOW + audit_bounds::WINDOW;
        let numbering = FailureLimit {
            max_failures: audit_bounds::ROWS_PER_WINDOW,
            window: kept,
        };
        let taken = self
            .count_failure(
                &audit_bounds::rows_counter(kind, user_id, window),
                numbering,
                now,
            )
            .await?
            .failures;
        let number = self
            .keep_first_number(&audit_bounds::bucket_number(&bucket), taken, now + kept)
            .await?;
        if number <= audit_bounds::ROWS_PER_WINDOW {
            event.bucket = Set(Some(bucket));
        } else {
            // The window's rows are used up (many names or addresses): counted, not told apart.
            event.detail = Set(audit_bounds::OTHERS.to_owned());
            event.ip = Set(None);
            event.user_agent = Set(None);
            event.actor_user_id = Set(None);
            event.bucket = Set(Some(audit_bounds::others_bucket(kind, user_id, window)));
        }
        audit_event::Entity::insert(event)
            .on_conflict(
                OnConflict::column(Column::Bucket)
                    .value(
                        Column::Count,
                        Expr::col((audit_event::Entity, Column::Count)).add(1),
                    )
                    .to_owned(),
            )
            .exec_without_returning(self.connection())
            .await?;
        Ok(())
    }

    /// Adds one to the counted row `bucket`; false when there is no such row yet.
    async fn add_to_bucket(&self, bucket: &str) -> Result<bool, StoreError> {
        use audit_event::Column;
        let updated = audit_event::Entity::update_many()
            .col_expr(
                Column::Count,
                Expr::col((audit_event::Entity, Column::Count)).add(1),
            )
            .filter(Column::Bucket.eq(bucket))
            .exec(self.connection())
            .await?;
        Ok(updated.rows_affected > 0)
    }

    /// The audit event `id`, if it is still kept.
    pub async fn audit_event(&self, id: i32) -> Result<Option<audit_event::Model>, StoreError> {
        Ok(audit_event::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }

    /// Events, oldest first, optionally only `user_id`'s and only from `since` on.
    pub async fn audit_events(
        &self,
        user_id: Option<i32>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<audit_event::Model>, StoreError> {
        let mut query = audit_event::Entity::find().order_by_asc(audit_event::Column::Id);
        if let Some(user_id) = user_id {
            query = query.filter(audit_event::Column::UserId.eq(user_id));
        }
        if let Some(since) = since {
            query = query.filter(audit_event::Column::CreatedAt.gte(since));
        }
        Ok(query.all(self.connection()).await?)
    }

    /// A page of a user's events of `kinds`, newest first, older than the event `before` when
    /// given (keyset paging on the `audit_events_user_id_id` index).
    pub async fn activity_of(
        &self,
        user_id: i32,
        kinds: &[&str],
        before: Option<i32>,
        limit: u64,
    ) -> Result<Vec<audit_event::Model>, StoreError> {
        use sea_orm::QuerySelect;
        let mut query = audit_event::Entity::find()
            .filter(audit_event::Column::UserId.eq(user_id))
            .filter(audit_event::Column::Kind.is_in(kinds.iter().copied()));
        if let Some(before) = before {
            query = query.filter(audit_event::Column::Id.lt(before));
        }
        Ok(query
            .order_by_desc(audit_event::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// A page of events matching `filter`, newest first, older than the event `before` when
    /// given (keyset paging on the primary key).
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        before: Option<i32>,
        limit: u64,
    ) -> Result<Vec<audit_event::Model>, StoreError> {
        use sea_orm::QuerySelect;
        let mut query = audit_event::Entity::find();
        if let Some(user_id) = filter.user_id {
            query = query.filter(audit_event::Column::UserId.eq(user_id));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(audit_event::Column::Kind.eq(kind.as_str()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_event::Column::CreatedAt.gte(from));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_event::Column::CreatedAt.lt(until));
        }
        if let Some(before) = before {
            query = query.filter(audit_event::Column::Id.lt(before));
        }
        Ok(query
            .order_by_desc(audit_event::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// The kinds of events recorded so far, for the audit log's filter.
    pub async fn audit_kinds(&self) -> Result<Vec<String>, StoreError> {
        use sea_orm::QuerySelect;
        Ok(audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::Kind)
            .distinct()
            .order_by_asc(audit_event::Column::Kind)
            .into_tuple::<String>()
            .all(self.connection())
            .await?)
    }

    /// A user's events, newest first.
    pub async fn audit_events_of(
        &self,
        user_id: i32,
    ) -> Result<Vec<audit_event::Model>, StoreError> {
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::UserId.eq(user_id))
            .order_by_desc(audit_event::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// Deletes events older than `before`; returns how many.
    pub async fn delete_audit_events_before(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(audit_event::Entity::delete_many()
            .filter(audit_event::Column::CreatedAt.lt(before))
            .exec(self.connection())
            .await?
            .rows_affected)
    }
}
