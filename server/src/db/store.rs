//! Queries and transactions over the entities. Every method is one unit of work; callers
//! never see a sea-orm type other than the entity models.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait, SqlErr, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
};

use std::sync::Arc;

use super::audit::AuditNote;
use super::entities::{organization, user};
use super::revocations::Revocations;
use crate::domain::policy::Setting;

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

/// The organization created by first-time setup.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub allow_app_passwords: bool,
}

/// The first administrator. `password_hash` is already an argon2id PHC string (`Debug`
/// hides it).
#[derive(Clone)]
pub struct NewAdmin {
    pub username: String,
    pub username_key: String,
    pub display_name: String,
    pub password_hash: String,
}

impl std::fmt::Debug for NewAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAdmin")
            .field("username", &self.username)
            .field("username_key", &self.username_key)
            .field("display_name", &self.display_name)
            .field("password_hash", &app::secret::Redacted)
            .finish()
    }
}

/// Who did something, for audit events.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The signed-in administrator acting on someone (`None`: the person themselves, someone
    /// signing in, the command line or the system).
    pub user_id: Option<i32>,
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

    /// Whether anyone can sign in yet; false until first-time setup has run.
    pub async fn has_accounts(&self) -> Result<bool, StoreError> {
        Ok(user::Entity::find().count(&self.db).await? > 0)
    }

    /// Turns one of the organization's settings on or off and audits it, in one transaction.
    pub async fn set_policy(
        &self,
        setting: Setting,
        value: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<organization::Model, StoreError> {
        let txn = self.begin_write().await?;
        let org = organization::Entity::find_by_id(ORGANIZATION_ID)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotSetUp)?;
        let mut active: organization::ActiveModel = org.into();
        match setting {
            Setting::AllowAppPasswords => active.allow_app_passwords = Set(value),
            Setting::SecurityInfoExperience => active.security_info_experience = Set(value),
            Setting::RequireTwoStep => active.require_two_step = Set(value),
            Setting::ResetRevokesAppPasswords => active.reset_revokes_app_passwords = Set(value),
        }
        let org = active.update(&txn).await?;
        let state = if value { "on" } else { "off" };
        AuditNote::new("policy.changed", format!("{} = {state}", setting.name()))
            .row(None, actor, now)
            .insert(&txn)
            .await?;
        self.commit_revoking(txn).await?;
        Ok(org)
    }

    pub async fn organization(&self) -> Result<Option<organization::Model>, StoreError> {
        Ok(organization::Entity::find_by_id(ORGANIZATION_ID)
            .one(&self.db)
            .await?)
    }

    /// Creates the organization and its first administrator in one transaction.
    /// Fails with [`StoreError::AlreadySetUp`] if any instance did it first.
    pub async fn complete_setup(
        &self,
        org: NewOrganization,
        admin: NewAdmin,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<user::Model, StoreError> {
        let txn = self.begin_write().await?;
        if user::Entity::find().count(&txn).await? > 0 {
            return Err(StoreError::AlreadySetUp);
        }
        let inserted = organization::ActiveModel {
            id: Set(ORGANIZATION_ID),
            name: Set(org.name),
            allow_app_passwords: Set(org.allow_app_passwords),
            security_info_experience: Set(true),
            require_two_step: Set(false),
            reset_revokes_app_passwords: Set(true),
            created_at: Set(now),
        }
        .insert(&txn)
        .await;
        match inserted {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::AlreadySetUp);
            }
            other => other?,
        };
        let admin = user::ActiveModel {
            organization_id: Set(ORGANIZATION_ID),
            username: Set(admin.username),
            username_key: Set(admin.username_key),
            name_key: Set(crate::domain::account::name_key(&admin.display_name)),
            display_name: Set(admin.display_name),
            password_hash: Set(admin.password_hash),
            password_changed_at: Set(now),
            is_enabled: Set(true),
            role: Set("admin".to_owned()),
            preview_notice_dismissed: Set(false),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        AuditNote::new(
            "setup.completed",
            format!(
                "organization created; first administrator {}",
                admin.username
            ),
        )
        .row(Some(admin.id), &actor, now)
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(admin)
    }
}
