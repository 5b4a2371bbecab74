//! Browser sessions, shared by every app server on the same database.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter,
};

use super::audit::AuditNote;
use super::entities::{organization, session, user};
use super::recovery_codes::RecoveryCodeCount;
use super::store::{Actor, Store, StoreError};
use crate::domain::counted;

/// A session as a signed-in page reads it: with its person and, from the same query, what every
/// such page also shows: the organization's policy and how many methods the person has.
#[derive(Debug, Clone)]
pub struct SessionWithOwner {
    pub session: session::Model,
    pub user: user::Model,
    pub organization: Option<organization::Model>,
    pub counts: OwnerCounts,
}

/// How many of some things the session's person has, counted in the session's read (each an
/// index range of the person's rows): Security info then reads a list only when there is one
/// to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnerCounts {
    /// Confirmed authenticator apps.
    pub authenticators: u64,
    pub passkeys: u64,
    pub recovery_codes: RecoveryCodeCount,
    /// Complete sessions (signed-in browsers), this one included.
    pub complete_sessions: u64,
}

/// Column prefixes of [`session_query`]'s three tables.
const SESSION: &str = "session_";
const PERSON: &str = "person_";
const ORGANIZATION: &str = "organization_";

impl FromQueryResult for SessionWithOwner {
    fn from_query_result(row: &sea_orm::QueryResult, _: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            session: session::Model::from_query_result(row, SESSION)?,
            user: user::Model::from_query_result(row, PERSON)?,
            // Missing rows of a left join: `None`; any other error is one.
            organization: Option::from_query_result(row, ORGANIZATION)?,
            counts: OwnerCounts {
                authenticators: count(row, "count_authenticators")?,
                passkeys: count(row, "count_passkeys")?,
                recovery_codes: RecoveryCodeCount {
                    left: count(row, "count_recovery_codes_left")?,
                    issued: count(row, "count_recovery_codes")?,
                },
                complete_sessions: count(row, "count_complete_sessions")?,
            },
        })
    }
}

/// A `COUNT(*)` column of the row (a bigint on PostgreSQL, an integer on SQLite).
fn count(row: &sea_orm::QueryResult, column: &str) -> Result<u64, sea_orm::DbErr> {
    let value: i64 = row.try_get("", column)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

/// A session to start for a person: complete, or waiting for the code step. `Debug` hides
/// the token's hash.
#[derive(Clone)]
pub struct NewSession {
    pub user_id: i32,
    pub token_hash: String,
    pub pending_second_step: bool,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("user_id", &self.user_id)
            .field("token_hash", &app::secret::Redacted)
            .field("pending_second_step", &self.pending_second_step)
            .finish()
    }
}

impl Store {
    /// Starts a session in one transaction with what goes with it: the browser's previous
    /// session (`replaces`) ends, and when the sign-in is complete, `audit` is written and the
    /// person's streak of failed second steps ends (`db::attack_alerts`).
    pub async fn start_session(
        &self,
        new: NewSession,
        replaces: Option<i32>,
        audit: Option<AuditNote>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<session::Model, StoreError> {
        let txn = self.begin_write().await?;
        if let Some(previous) = replaces {
            session::Entity::delete_by_id(previous).exec(&txn).await?;
        }
        let started = session::ActiveModel {
            user_id: Set(new.user_id),
            token_hash: Set(new.token_hash),
            created_at: Set(now),
            last_seen_at: Set(now),
            verified_at: Set(now),
            ip: Set(actor.ip.clone()),
            user_agent: Set(actor.user_agent.clone()),
            pending_second_step: Set(new.pending_second_step),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        if let Some(note) = audit {
            note.row(Some(new.user_id), actor, now).insert(&txn).await?;
            // A complete sign-in: the next run of failed second steps is mailed again.
            super::attack_alerts::end_streak(&txn, new.user_id).await?;
        }
        txn.commit().await?;
        Ok(started)
    }

    /// Ends one of the user's sessions and writes `audit`, in one transaction.
    pub async fn end_session(
        &self,
        user_id: i32,
        session_id: i32,
        audit: AuditNote,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        session::Entity::delete_by_id(session_id).exec(&txn).await?;
        audit.row(Some(user_id), actor, now).insert(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Ends every session of the user and writes an audit event of `kind` saying how many,
    /// in one transaction. Returns how many ended.
    pub async fn end_sessions_of_user(
        &self,
        user_id: i32,
        kind: &'static str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = self.begin_write().await?;
        let ended = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?
            .rows_affected;
        AuditNote::new(kind, counted(ended, "session ended", "sessions ended"))
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(ended)
    }

    /// Inserts a session with nothing else (seeding and tests; sign-ins use
    /// [`Store::start_session`]).
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

    /// The session with this token hash, its person, the organization and the person's counts,
    /// in one query.
    pub async fn session_with_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<SessionWithOwner>, StoreError> {
        Ok(session_query(token_hash)
            .into_model::<SessionWithOwner>()
            // `.all()`, not `.one()`: the token hash is unique, and the `LIMIT ?` of `.one()`
            // makes SQLite prepare a join again on every run (the planner reads the bound
            // limit): measured as a tenth of a signed-in page's time.
            .all(self.connection())
            .await?
            .into_iter()
            .next())
    }

    /// The session with this token hash and its user ([`Store::session_with_owner`]).
    pub async fn session_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(session::Model, user::Model)>, StoreError> {
        Ok(self
            .session_with_owner(token_hash)
            .await?
            .map(|found| (found.session, found.user)))
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

/// The query behind [`Store::session_with_owner`] (also explained by `db::plans`): the session
/// by its unique token hash, its person and organization by primary key, and counts of the
/// person's rows, each an index range.
pub(super) fn session_query(token_hash: &str) -> sea_orm::Select<session::Entity> {
    use sea_orm::{JoinType, QuerySelect};
    let query = session::Entity::find().select_only();
    let query = with_columns_of::<session::Entity>(query, SESSION);
    let query = with_columns_of::<user::Entity>(query, PERSON);
    with_columns_of::<organization::Entity>(query, ORGANIZATION)
        .join(
            JoinType::InnerJoin,
            session::Entity::belongs_to(user::Entity)
                .from(session::Column::UserId)
                .to(user::Column::Id)
                .into(),
        )
        .join(
            JoinType::LeftJoin,
            user::Entity::belongs_to(organization::Entity)
                .from(user::Column::OrganizationId)
                .to(organization::Column::Id)
                .into(),
        )
        .expr_as(
            Expr::cust(
                "(SELECT COUNT(*) FROM authenticator_apps WHERE authenticator_apps.user_id = sessions.user_id AND authenticator_apps.confirmed_at IS NOT NULL)",
            ),
            "count_authenticators",
        )
        .expr_as(
            Expr::cust("(SELECT COUNT(*) FROM passkeys WHERE passkeys.user_id = sessions.user_id)"),
            "count_passkeys",
        )
        .expr_as(
            Expr::cust(
                "(SELECT COUNT(*) FROM recovery_codes WHERE recovery_codes.user_id = sessions.user_id)",
            ),
            "count_recovery_codes",
        )
        .expr_as(
            Expr::cust(
                "(SELECT COUNT(*) FROM recovery_codes WHERE recovery_codes.user_id = sessions.user_id AND recovery_codes.used_at IS NULL)",
            ),
            "count_recovery_codes_left",
        )
        .expr_as(
            Expr::cust(
                "(SELECT COUNT(*) FROM sessions AS others WHERE others.user_id = sessions.user_id AND others.pending_second_step = FALSE)",
            ),
            "count_complete_sessions",
        )
        .filter(session::Column::TokenHash.eq(token_hash))
}

/// `query` selecting every column of `E` as `prefix` + its name.
fn with_columns_of<E: EntityTrait>(
    mut query: sea_orm::Select<session::Entity>,
    prefix: &str,
) -> sea_orm::Select<session::Entity> {
    use sea_orm::{IdenStatic, Iterable, QuerySelect};
    for column in E::Column::iter() {
        query = query.column_as(column, format!("{prefix}{}", column.as_str()));
    }
    query
}
