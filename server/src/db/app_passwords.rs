//! App passwords. Every query is scoped by the owner's user id, so no id sent by a browser
//! can reach someone else's.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseBackend, EntityTrait, FromQueryResult,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

use crate::domain::app_password::AppPasswordKind;

use super::audit::AuditNote;
use super::entities::{app_password, app_password_ip, organization, user};
use super::store::{Actor, Store, StoreError};

/// A new app password, already hashed (`Debug` hides both hashes).
#[derive(Clone)]
pub struct NewAppPassword {
    pub user_id: i32,
    pub name: String,
    pub name_key: String,
    pub lookup_hash: String,
    pub password_hash: String,
}

impl std::fmt::Debug for NewAppPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAppPassword")
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("name_key", &self.name_key)
            .field("lookup_hash", &app::secret::Redacted)
            .field("password_hash", &app::secret::Redacted)
            .finish()
    }
}

impl Store {
    /// The user's app passwords, oldest first.
    pub async fn app_passwords_of(
        &self,
        user_id: i32,
    ) -> Result<Vec<app_password::Model>, StoreError> {
        Ok(list_query(user_id).all(self.connection()).await?)
    }

    /// Inserts the app password unless the user already has `limit`. The count and the insert
    /// happen under a lock on the user (PostgreSQL: the user's row, `FOR UPDATE`; SQLite: an
    /// IMMEDIATE transaction, which takes the database write lock first), so concurrent
    /// creations can never pass the limit.
    /// Writes its `app_password.created` audit event in the same transaction. It may reach
    /// everything ([`Store::create_app_password_of_kind`] limits it).
    pub async fn create_app_password(
        &self,
        new: NewAppPassword,
        limit: u64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<app_password::Model, StoreError> {
        self.create_app_password_of_kind(new, AppPasswordKind::Everything, limit, actor, now)
            .await
    }

    /// [`Store::create_app_password`], for an app password that may reach only what `kind`
    /// allows (named in its audit event when limited).
    pub async fn create_app_password_of_kind(
        &self,
        new: NewAppPassword,
        kind: AppPasswordKind,
        limit: u64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<app_password::Model, StoreError> {
        self.create_expiring_app_password(new, kind, None, limit, actor, now)
            .await
    }

    /// [`Store::create_app_password_of_kind`], for an app password that stops working at
    /// `expires_at` when set (named in its audit event).
    pub async fn create_expiring_app_password(
        &self,
        new: NewAppPassword,
        kind: AppPasswordKind,
        expires_at: Option<DateTime<Utc>>,
        limit: u64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<app_password::Model, StoreError> {
        let txn = self.begin_write().await?;
        if self.connection().get_database_backend() == DatabaseBackend::Postgres {
            user::Entity::find_by_id(new.user_id)
                .lock_exclusive()
                .one(&txn)
                .await?;
        }
        let count = app_password::Entity::find()
            .filter(app_password::Column::UserId.eq(new.user_id))
            .count(&txn)
            .await?;
        if count >= limit {
            return Err(StoreError::LimitReached);
        }
        let inserted = app_password::ActiveModel {
            user_id: Set(new.user_id),
            name: Set(new.name),
            name_key: Set(new.name_key),
            lookup_hash: Set(new.lookup_hash),
            password_hash: Set(new.password_hash),
            created_at: Set(now),
            last_used_at: Set(None),
            last_used_ip: Set(None),
            last_used_client: Set(None),
            kind: Set(kind.as_str().to_owned()),
            expires_at: Set(expires_at),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let model = match inserted {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::AlreadyExists);
            }
            other => other?,
        };
        let limited = match kind {
            AppPasswordKind::Everything => String::new(),
            kind => format!(", for {}", kind.label()),
        };
        let expiring = expires_at
            .map(|at| format!(", expires {}", crate::domain::timefmt::date(at)))
            .unwrap_or_default();
        AuditNote::new(
            "app_password.created",
            format!("'{}' (id {}){limited}{expiring}", model.name, model.id),
        )
        .row(Some(model.user_id), actor, now)
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(model)
    }

    /// The user's app password `id`, if the user has one with that id.
    pub async fn app_password_of(
        &self,
        user_id: i32,
        id: i32,
    ) -> Result<Option<app_password::Model>, StoreError> {
        Ok(app_password::Entity::find_by_id(id)
            .filter(app_password::Column::UserId.eq(user_id))
            .one(self.connection())
            .await?)
    }

    /// Renames the user's app password `id` and audits it, in one transaction. `NotFound` if
    /// the user has no such app password, `AlreadyExists` if another one has the name.
    pub async fn rename_app_password(
        &self,
        user_id: i32,
        id: i32,
        name: String,
        name_key: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<app_password::Model, StoreError> {
        let txn = self.begin_write().await?;
        let found = app_password::Entity::find_by_id(id)
            .filter(app_password::Column::UserId.eq(user_id))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        if found.name == name {
            // Saved unchanged: nothing to write or audit.
            txn.rollback().await?;
            return Ok(found);
        }
        let old_name = found.name.clone();
        let mut active: app_password::ActiveModel = found.into();
        active.name = Set(name);
        active.name_key = Set(name_key);
        let renamed = match active.update(&txn).await {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::AlreadyExists);
            }
            other => other?,
        };
        AuditNote::new(
            "app_password.renamed",
            format!("'{old_name}' to '{}' (id {id})", renamed.name),
        )
        .row(Some(user_id), actor, now)
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(renamed)
    }

    /// Changes what the user's app password `id` may reach and audits it, in one transaction;
    /// other instances hear of it (the trigger of migration 22) and this one at once, so no
    /// cached acceptance outlives the change. `NotFound` if the user has no such app password.
    pub async fn change_app_password_kind(
        &self,
        user_id: i32,
        id: i32,
        kind: AppPasswordKind,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<app_password::Model, StoreError> {
        let txn = self.begin_write().await?;
        let found = app_password::Entity::find_by_id(id)
            .filter(app_password::Column::UserId.eq(user_id))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        if found.kind == kind.as_str() {
            // Nothing changes: no audit row, and every instance keeps its cached acceptances
            // (a resent form, a double tap).
            txn.rollback().await?;
            return Ok(found);
        }
        let old_kind = AppPasswordKind::parse(&found.kind)
            .map_or_else(|| found.kind.clone(), |old| old.label().to_owned());
        let mut active: app_password::ActiveModel = found.into();
        active.kind = Set(kind.as_str().to_owned());
        let changed = active.update(&txn).await?;
        AuditNote::new(
            "app_password.kind_changed",
            format!(
                "'{}' (id {id}) from {old_kind} to {}",
                changed.name,
                kind.label()
            ),
        )
        .row(Some(user_id), actor, now)
        .insert(&txn)
        .await?;
        self.commit_revoking(txn).await?;
        Ok(changed)
    }

    /// Removes the user's app passwords `which`, each with its audit event (deleted by the
    /// person, or revoked by an administrator), in one transaction. Returns those removed
    /// (none of `which` that is not the user's).
    pub async fn remove_app_passwords(
        &self,
        user_id: i32,
        which: Which<'_>,
        by: Remover,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<app_password::Model>, StoreError> {
        let txn = self.begin_write().await?;
        let mut query = app_password::Entity::find()
            .filter(app_password::Column::UserId.eq(user_id))
            .order_by_asc(app_password::Column::Id);
        if let Which::Ids(ids) = which {
            query = query.filter(app_password::Column::Id.is_in(ids.to_vec()));
        }
        let found = query.all(&txn).await?;
        let ids: Vec<i32> = found.iter().map(|app| app.id).collect();
        app_password::Entity::delete_many()
            .filter(app_password::Column::UserId.eq(user_id))
            .filter(app_password::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        for app in &found {
            let note = match by {
                Remover::Owner => AuditNote::new(
                    "app_password.deleted",
                    format!("'{}' (id {})", app.name, app.id),
                ),
                Remover::Administrator => AuditNote::new(
                    "app_password.revoked",
                    format!("'{}' (id {}) by an administrator", app.name, app.id),
                ),
            };
            note.row(Some(user_id), actor, now).insert(&txn).await?;
        }
        self.commit_revoking(txn).await?;
        Ok(found)
    }
}

/// Which of a person's app passwords a removal takes.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    All,
    Ids(&'a [i32]),
}

/// Who removes app passwords: the person deletes theirs, an administrator revokes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remover {
    Owner,
    Administrator,
}

impl Store {
    /// Records a use, unless one was recorded since `not_before`: at most one write per app
    /// password per interval, whichever server instance answers.
    pub async fn record_app_password_use(
        &self,
        id: i32,
        now: DateTime<Utc>,
        not_before: DateTime<Utc>,
        ip: Option<String>,
        client: Option<String>,
    ) -> Result<(), StoreError> {
        use sea_orm::sea_query::{Condition, Expr};
        app_password::Entity::update_many()
            .col_expr(app_password::Column::LastUsedAt, Expr::value(now))
            .col_expr(app_password::Column::LastUsedIp, Expr::value(ip))
            .col_expr(app_password::Column::LastUsedClient, Expr::value(client))
            .filter(app_password::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(app_password::Column::LastUsedAt.is_null())
                    .add(app_password::Column::LastUsedAt.lt(not_before)),
            )
            .exec(self.connection())
            .await?;
        Ok(())
    }
}

/// What checking an app password needs, read in one indexed query: the row found by its
/// lookup hash, its owner, and the organization's policy.
#[derive(Clone, FromQueryResult)]
pub struct AppPasswordCandidate {
    pub id: i32,
    pub user_id: i32,
    pub password_hash: String,
    pub last_used_at: Option<DateTime<Utc>>,
    /// What it may reach, as stored (`domain::app_password::stored_kind_allows` reads it).
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// When it stops working, as chosen at creation (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// The organization's idle rule, in days (`None`: off).
    pub app_password_idle_days: Option<i32>,
    pub username: String,
    pub username_key: String,
    pub user_enabled: bool,
    pub allow_app_passwords: bool,
    /// When the owner's authenticator app was confirmed; `None` without one.
    pub second_factor_confirmed_at: Option<DateTime<Utc>>,
    /// The owner has a passkey (also a second factor); read apart, only for owners without an
    /// authenticator app, so the candidate's query stays on its indexes.
    #[sea_orm(skip)]
    pub owner_has_passkey: bool,
}

impl AppPasswordCandidate {
    /// App passwords stand in for two-step verification: without a second factor on the
    /// account they do not sign in (until one is added again).
    pub fn has_second_factor(&self) -> bool {
        self.second_factor_confirmed_at.is_some() || self.owner_has_passkey
    }

    /// Whether it has stopped working at `now`: its chosen date, or the organization's idle
    /// rule, has passed (`domain::app_password::ExpiryFacts`).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        use crate::domain::app_password::{ExpiryFacts, IdleLimit};
        ExpiryFacts {
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
        }
        .is_expired(IdleLimit::from_stored(self.app_password_idle_days), now)
    }
}

impl Store {
    /// The app password with this lookup hash, with its owner and the policy: one query on
    /// the unique index, so the cost does not grow with the number of app passwords.
    pub async fn app_password_candidate(
        &self,
        lookup_hash: &str,
    ) -> Result<Option<AppPasswordCandidate>, StoreError> {
        let Some(mut candidate) = candidate_query(lookup_hash)
            .into_model::<AppPasswordCandidate>()
            // `.all()`, not `.one()`: the lookup hash is unique, and the `LIMIT ?` of `.one()`
            // makes SQLite prepare a join again on every run (the planner reads the bound
            // limit), about a tenth of the time of a cached check.
            .all(self.connection())
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        if candidate.second_factor_confirmed_at.is_none() {
            candidate.owner_has_passkey = self.has_passkey(candidate.user_id).await?;
        }
        Ok(Some(candidate))
    }

    /// Notes that app password `id` was used from `ip`; true the first time for that address.
    pub async fn remember_app_password_ip(
        &self,
        id: i32,
        ip: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use sea_orm::sea_query::OnConflict;
        let inserted = app_password_ip::Entity::insert(app_password_ip::ActiveModel {
            app_password_id: Set(id),
            ip: Set(ip.to_owned()),
            first_seen_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([
                app_password_ip::Column::AppPasswordId,
                app_password_ip::Column::Ip,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(self.connection())
        .await?;
        Ok(inserted == 1)
    }
}

/// Written by hand: the derived `Debug` would print `password_hash`.
impl std::fmt::Debug for AppPasswordCandidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPasswordCandidate")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("password_hash", &"..")
            .field("last_used_at", &self.last_used_at)
            .field("kind", &self.kind)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("app_password_idle_days", &self.app_password_idle_days)
            .field("username", &self.username)
            .field("username_key", &self.username_key)
            .field("user_enabled", &self.user_enabled)
            .field("allow_app_passwords", &self.allow_app_passwords)
            .field(
                "second_factor_confirmed_at",
                &self.second_factor_confirmed_at,
            )
            .field("owner_has_passkey", &self.owner_has_passkey)
            .finish()
    }
}

/// The query behind [`Store::app_password_candidate`] (also explained by `db::plans`).
pub(super) fn candidate_query(lookup_hash: &str) -> sea_orm::Select<app_password::Entity> {
    use sea_orm::sea_query::Expr;
    app_password::Entity::find()
        .select_only()
        .column_as(app_password::Column::Id, "id")
        .column_as(app_password::Column::UserId, "user_id")
        .column_as(app_password::Column::PasswordHash, "password_hash")
        .column_as(app_password::Column::LastUsedAt, "last_used_at")
        .column_as(app_password::Column::Kind, "kind")
        .column_as(app_password::Column::CreatedAt, "created_at")
        .column_as(app_password::Column::ExpiresAt, "expires_at")
        .column_as(
            organization::Column::AppPasswordIdleDays,
            "app_password_idle_days",
        )
        .column_as(user::Column::Username, "username")
        .column_as(user::Column::UsernameKey, "username_key")
        .column_as(user::Column::IsEnabled, "user_enabled")
        .column_as(
            organization::Column::AllowAppPasswords,
            "allow_app_passwords",
        )
        // The first confirmation among the owner's apps (an index range of theirs).
        .expr_as(
            Expr::cust(
                "(SELECT MIN(authenticator_apps.confirmed_at) FROM authenticator_apps WHERE authenticator_apps.user_id = app_passwords.user_id)",
            ),
            "second_factor_confirmed_at",
        )
        .join(
            JoinType::InnerJoin,
            app_password::Entity::belongs_to(user::Entity)
                .from(app_password::Column::UserId)
                .to(user::Column::Id)
                .into(),
        )
        .join(
            JoinType::InnerJoin,
            user::Entity::belongs_to(organization::Entity)
                .from(user::Column::OrganizationId)
                .to(organization::Column::Id)
                .into(),
        )
        .filter(app_password::Column::LookupHash.eq(lookup_hash))
}

/// The query behind [`Store::app_passwords_of`] (also explained by `db::plans`).
pub(super) fn list_query(user_id: i32) -> sea_orm::Select<app_password::Entity> {
    app_password::Entity::find()
        .filter(app_password::Column::UserId.eq(user_id))
        .order_by_asc(app_password::Column::CreatedAt)
        .order_by_asc(app_password::Column::Id)
}
