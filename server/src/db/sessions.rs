//! Browser sessions, shared by every app server on the same database.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::entities::{session, user};
use super::store::{Actor, Store, StoreError};

impl Store {
    pub async fn create_session(
        &self,
        user_id: i32,
        token_hash: String,
        pending_second_step: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<session::Model, StoreError> {
        Ok(session::ActiveModel {
            user_id: Set(user_id),
            token_hash: Set(token_hash),
            created_at: Set(now),
            last_seen_at: Set(now),
            verified_at: Set(now),
            ip: Set(actor.ip.clone()),
            user_agent: Set(actor.user_agent.clone()),
            pending_second_step: Set(pending_second_step),
            ..Default::default()
        }
        .insert(self.connection())
        .await?)
    }

    /// The session with this token hash and its user, in one query.
    pub async fn session_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(session::Model, user::Model)>, StoreError> {
        use sea_orm::{JoinType, QuerySelect};
        let found = session::Entity::find()
            .select_also(user::Entity)
            .join(
                JoinType::InnerJoin,
                session::Entity::belongs_to(user::Entity)
                    .from(session::Column::UserId)
                    .to(user::Column::Id)
                    .into(),
            )
            .filter(session::Column::TokenHash.eq(token_hash))
            .one(self.connection())
            .await?;
        Ok(found.and_then(|(session, user)| user.map(|user| (session, user))))
    }

    pub async fn touch_session(
        &self,
        session_id: i32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session_id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Records that the user just proved who they are again.
    pub async fn mark_session_verified(
        &self,
        session_id: i32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::VerifiedAt, Expr::value(now))
            .filter(session::Column::Id.eq(session_id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, session_id: i32) -> Result<(), StoreError> {
        session::Entity::delete_by_id(session_id)
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Ends every session of the user, except `keep` if given. Returns how many ended.
    pub async fn delete_sessions_of_user(
        &self,
        user_id: i32,
        keep: Option<i32>,
    ) -> Result<u64, StoreError> {
        let mut delete = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
        if let Some(keep) = keep {
            delete = delete.filter(session::Column::Id.ne(keep));
        }
        Ok(delete.exec(self.connection()).await?.rows_affected)
    }

    /// Deletes sessions no request can use any more: pending ones older than
    /// `pending_started_before`, others idle since before `idle_before` or started before
    /// `started_before`. Returns how many.
    pub async fn purge_ended_sessions(
        &self,
        pending_started_before: DateTime<Utc>,
        idle_before: DateTime<Utc>,
        started_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        use sea_orm::Condition;
        let ended = Condition::any()
            .add(
                Condition::all()
                    .add(session::Column::PendingSecondStep.eq(true))
                    .add(session::Column::CreatedAt.lt(pending_started_before)),
            )
            .add(session::Column::LastSeenAt.lt(idle_before))
            .add(session::Column::CreatedAt.lt(started_before));
        Ok(session::Entity::delete_many()
            .filter(ended)
            .exec(self.connection())
            .await?
            .rows_affected)
    }
}
