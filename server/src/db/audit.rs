//! Audit events: who did what, when, from where.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::entities::audit_event;
use super::store::{Actor, Store, StoreError};

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
    pub(super) fn row(
        self,
        user_id: Option<i32>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> audit_event::ActiveModel {
        event(user_id, self.kind, self.detail, actor, now)
    }
}

/// An audit event row, for [`Store::audit`] and for use cases that insert theirs inside
/// their own transaction.
pub(super) fn event(
    user_id: Option<i32>,
    kind: &str,
    detail: String,
    actor: &Actor,
    now: DateTime<Utc>,
) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        user_id: Set(user_id),
        actor_user_id: Set(actor.user_id),
        kind: Set(kind.to_owned()),
        detail: Set(detail),
        ip: Set(actor.ip.clone()),
        user_agent: Set(actor.user_agent.clone()),
        created_at: Set(now),
        ..Default::default()
    }
}

impl Store {
    pub async fn audit(
        &self,
        user_id: Option<i32>,
        kind: &str,
        detail: impl Into<String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        event(user_id, kind, detail.into(), actor, now)
            .insert(self.connection())
            .await?;
        Ok(())
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
