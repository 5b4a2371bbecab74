//! What readiness (`crate::http::readiness`) and the metrics (`crate::metrics`) read about the
//! database itself: the migrations it has, the connection pool, live sessions and mail waiting
//! in the outbox. None of these is on a request's path.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use sea_orm_migration::{MigratorTrait, seaql_migrations};

use super::entities::{mail_outbox, session};
use super::migrations::Migrator;
use super::store::{Store, StoreError};
use crate::domain::alerts::FIRST_TRY_WITHIN;

/// How the database's migrations compare with this version's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationState {
    /// Migrations of this version the database does not have: its queries may fail.
    pub pending: Vec<String>,
    /// Migrations the database has that this version does not know (a newer version
    /// migrated it, as during a rolling upgrade).
    pub unknown: Vec<String>,
}

/// The connection pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open, idle or lent out.
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// Mail alerts that will still be sent: neither sent nor given up, and tried before or young
/// enough to be tried ([`FIRST_TRY_WITHIN`]; older ones were queued while mail was off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailWaiting {
    pub count: u64,
    /// When the oldest of them was queued.
    pub oldest: Option<DateTime<Utc>>,
}

impl Store {
    /// The migrations applied to the database, compared with this version's. Reads the
    /// migration table only (unlike sea-orm-migration's helpers, which first create it).
    pub async fn migration_state(&self) -> Result<MigrationState, StoreError> {
        let applied: Vec<String> = seaql_migrations::Entity::find()
            .all(self.connection())
            .await?
            .into_iter()
            .map(|row| row.version)
            .collect();
        let known: Vec<String> = Migrator::migrations()
            .iter()
            .map(|migration| migration.name().to_owned())
            .collect();
        Ok(MigrationState {
            pending: known
                .iter()
                .filter(|name| !applied.contains(name))
                .cloned()
                .collect(),
            unknown: applied
                .into_iter()
                .filter(|name| !known.contains(name))
                .collect(),
        })
    }

    /// Sessions that are complete (not waiting for their code) and neither idle longer than
    /// `idle` nor older than `absolute` at `now`. Counts the table: for the metrics, not for
    /// requests.
    pub async fn active_sessions(
        &self,
        now: DateTime<Utc>,
        idle: chrono::Duration,
        absolute: chrono::Duration,
    ) -> Result<u64, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::PendingSecondStep.eq(false))
            .filter(session::Column::LastSeenAt.gt(now - idle))
            .filter(session::Column::CreatedAt.gt(now - absolute))
            .count(self.connection())
            .await?)
    }

    /// How many mail alerts wait to be sent at `now`, and since when the oldest.
    pub async fn mail_waiting(&self, now: DateTime<Utc>) -> Result<MailWaiting, StoreError> {
        let waiting = || {
            mail_outbox::Entity::find()
                .filter(mail_outbox::Column::SentAt.is_null())
                .filter(mail_outbox::Column::GaveUpAt.is_null())
                .filter(
                    Condition::any()
                        .add(mail_outbox::Column::Attempts.gt(0))
                        .add(mail_outbox::Column::CreatedAt.gte(now - FIRST_TRY_WITHIN)),
                )
        };
        let count = waiting().count(self.connection()).await?;
        let oldest = waiting()
            .select_only()
            .column(mail_outbox::Column::CreatedAt)
            .order_by_asc(mail_outbox::Column::Id)
            .limit(1)
            .into_tuple::<DateTime<Utc>>()
            .one(self.connection())
            .await?;
        Ok(MailWaiting { count, oldest })
    }

    /// The connection pool's use now; `None` for a connection that is not a pool.
    pub fn pool_use(&self) -> Option<PoolUse> {
        pool_use(self.connection())
    }
}

fn pool_use(connection: &DatabaseConnection) -> Option<PoolUse> {
    fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> PoolUse {
        PoolUse {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }
    use sea_orm::DatabaseConnectionType as Type;
    // Matched first: each pool getter panics on a connection of another kind.
    match &connection.inner {
        Type::SqlxSqlitePoolConnection(_) => Some(of(connection.get_sqlite_connection_pool())),
        Type::SqlxPostgresPoolConnection(_) => Some(of(connection.get_postgres_connection_pool())),
        _ => None,
    }
}
