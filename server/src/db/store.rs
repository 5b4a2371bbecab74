//! Queries and transactions over the entities. Every method is one unit of work; callers
//! never see a sea-orm type other than the entity models.

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use std::sync::Arc;

use super::revocations::Revocations;

/// The id of the single organization row; inserting it twice fails on the primary key,
/// which is what makes concurrent first-time setups safe on both databases.
pub(crate) const ORGANIZATION_ID: i32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Latchkey is already set up")]
    AlreadySetUp,
    #[error("Latchkey is not set up yet: open the setup link from the server log first")]
    NotSetUp,
    #[error("that username is already taken")]
    UsernameTaken,
    #[error("not found")]
    NotFound,
    #[error("it already exists")]
    AlreadyExists,
    #[error("the limit is reached")]
    LimitReached,
    #[error("that is the last administrator: make someone else an administrator first")]
    LastAdministrator,
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// Who did something, for audit events.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The signed-in administrator acting on someone (`None`: the person themselves, someone
    /// signing in, the command line or the system).
    pub user_id: Option<i32>,
    /// `latchkey admin` on the server's machine ([`Actor::command_line`]).
    pub command_line: bool,
}

impl Actor {
    /// `latchkey admin` on the server's machine: no address, and a client name of its own.
    pub fn command_line() -> Self {
        Self {
            ip: None,
            user_agent: Some("latchkey admin (command line)".to_owned()),
            user_id: None,
            command_line: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    revocations: Arc<Revocations>,
}

impl Store {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            revocations: Arc::default(),
        }
    }

    /// This instance's revocation epoch (see `db::revocations`).
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.revocations
    }

    /// Watches the database for revocations made by other instances until the pool closes.
    pub fn watch_revocations(&self) -> impl Future<Output = ()> + Send + 'static {
        super::revocations::watch(self.db.clone(), Arc::clone(&self.revocations))
    }

    /// Commits a change that may refuse an app password accepted until now; this instance's
    /// cached checks are stale at once (other instances hear of it from the database).
    pub(crate) async fn commit_revoking(&self, txn: DatabaseTransaction) -> Result<(), DbErr> {
        txn.commit().await?;
        self.revocations.revoked();
        Ok(())
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Starts a transaction that will write. On SQLite it is IMMEDIATE: it takes the write
    /// lock at once (waiting up to the busy timeout), so a read inside it can never leave it
    /// holding a stale snapshot that fails to upgrade when another connection of the pool has
    /// written meanwhile (SQLITE_BUSY, which the busy timeout does not wait out).
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// The database's plan for `statement`, one line per step (`EXPLAIN QUERY PLAN` on
    /// SQLite, `EXPLAIN` on PostgreSQL): for tests and benchmark reports that show a query
    /// uses its indexes.
    pub(crate) async fn explain(&self, statement: Statement) -> Result<Vec<String>, StoreError> {
        let (explain, column) = match statement.db_backend {
            DatabaseBackend::Postgres => ("EXPLAIN ", "QUERY PLAN"),
            _ => ("EXPLAIN QUERY PLAN ", "detail"),
        };
        let statement = Statement {
            sql: format!("{explain}{}", statement.sql),
            ..statement
        };
        let rows = self.db.query_all_raw(statement).await?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<String>("", column).ok())
            .collect())
    }

    /// Closes the pool's connections (on SQLite, the last close folds the WAL into the file).
    pub async fn close(&self) -> Result<(), StoreError> {
        Ok(self.db.clone().close().await?)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.db.ping().await?)
    }
}
