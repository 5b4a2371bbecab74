//! Users: lookup, password upgrades, and administration (each change with its audit event,
//! in one transaction).

use chrono::{DateTime, Utc};
use sea_orm::UpdateMany;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, SqlErr,
};

use super::audit::AuditNote;
use super::entities::user::Role;
use super::entities::{app_password, authenticator_app, organization, passkey, session, user};
use super::password_links::NewPasswordLink;
use super::store::{Actor, ORGANIZATION_ID, Store, StoreError};
use super::transaction_steps::write_new_password;
use crate::domain::{counted, policy};

/// A user the administrator adds. `Debug` hides the password hash.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub username_key: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_admin: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("username_key", &self.username_key)
            .field("display_name", &self.display_name)
            .field("password_hash", &app::secret::Redacted)
            .field("is_admin", &self.is_admin)
            .finish()
    }
}

impl Store {
    /// Runs `update` on the user `user_id`; `NotFound` if there is no such user.
    async fn update_user(
        &self,
        user_id: i32,
        update: UpdateMany<user::Entity>,
    ) -> Result<(), StoreError> {
        let result = update
            .filter(user::Column::Id.eq(user_id))
            .exec(self.connection())
            .await?;
        if result.rows_affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    pub async fn user_by_key(&self, username_key: &str) -> Result<Option<user::Model>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::UsernameKey.eq(username_key))
            .one(self.connection())
            .await?)
    }

    pub async fn user(&self, id: i32) -> Result<Option<user::Model>, StoreError> {
        Ok(user::Entity::find_by_id(id).one(self.connection()).await?)
    }

    pub async fn users(&self) -> Result<Vec<user::Model>, StoreError> {
        Ok(user::Entity::find()
            .order_by_asc(user::Column::UsernameKey)
            .all(self.connection())
            .await?)
    }

    /// A page of people whose sign-in name or display name starts with `prefix` (any case),
    /// by sign-in name, after the sign-in name key `after`; each with whether they have a
    /// second factor (authenticator app or passkey) and how many app passwords.
    pub async fn people_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<PersonRow>, StoreError> {
        // The page's sign-in name keys from the indexes alone (both hold them), then the rows
        // of the page only.
        let mut page: Vec<String> = Vec::new();
        for query in people_queries(prefix, after, limit) {
            page.extend(
                query
                    .select_only()
                    .column(user::Column::UsernameKey)
                    .into_tuple::<String>()
                    .all(self.connection())
                    .await?,
            );
        }
        page.sort_unstable();
        page.dedup();
        page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        if page.is_empty() {
            return Ok(Vec::new());
        }
        let people = user::Entity::find()
            .filter(user::Column::UsernameKey.is_in(page))
            .order_by_asc(user::Column::UsernameKey)
            .all(self.connection())
            .await?;
        self.person_rows(people).await
    }

    /// The database's plan for each query of the people search of `prefix`, one line per
    /// step (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL): for tests and benchmark
    /// reports that show it uses the indexes.
    pub async fn people_search_plan(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let backend = self.connection().get_database_backend();
        let mut plan = Vec::new();
        for query in people_queries(prefix, None, 26) {
            let query = query
                .select_only()
                .column(user::Column::UsernameKey)
                .build(backend);
            plan.extend(self.explain(query).await?);
        }
        Ok(plan)
    }

    /// `people` with whether each has a second factor (a confirmed authenticator app or a
    /// passkey) and how many app passwords (three queries, whatever their number).
    pub async fn person_rows(
        &self,
        people: Vec<user::Model>,
    ) -> Result<Vec<PersonRow>, StoreError> {
        let ids: Vec<i32> = people.iter().map(|p| p.id).collect();
        let with_two_step: std::collections::HashSet<i32> = authenticator_app::Entity::find()
            .filter(authenticator_app::Column::UserId.is_in(ids.clone()))
            .filter(authenticator_app::Column::ConfirmedAt.is_not_null())
            .all(self.connection())
            .await?
            .into_iter()
            .map(|a| a.user_id)
            .chain(
                // A passkey is a second factor too.
                passkey::Entity::find()
                    .select_only()
                    .column(passkey::Column::UserId)
                    .filter(passkey::Column::UserId.is_in(ids.clone()))
                    .into_tuple::<i32>()
                    .all(self.connection())
                    .await?,
            )
            .collect();
        let mut app_passwords = std::collections::HashMap::<i32, u64>::new();
        for app in app_password::Entity::find()
            .select_only()
            .column(app_password::Column::UserId)
            .filter(app_password::Column::UserId.is_in(ids))
            .into_tuple::<i32>()
            .all(self.connection())
            .await?
        {
            *app_passwords.entry(app).or_default() += 1;
        }
        Ok(people
            .into_iter()
            .map(|user| PersonRow {
                has_two_step: with_two_step.contains(&user.id),
                app_passwords: app_passwords.get(&user.id).copied().unwrap_or(0),
                user,
            })
            .collect())
    }

    /// The sign-in names of the users `ids`.
    pub async fn usernames_of(
        &self,
        ids: &[i32],
    ) -> Result<std::collections::HashMap<i32, String>, StoreError> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        Ok(user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::Username)
            .filter(user::Column::Id.is_in(ids.to_vec()))
            .into_tuple::<(i32, String)>()
            .all(self.connection())
            .await?
            .into_iter()
            .collect())
    }

    /// Adds a user and audits it, in one transaction.
    pub async fn add_user(
        &self,
        new: NewUser,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<user::Model, StoreError> {
        self.add_user_with(new, None, actor, now).await
    }

    /// Adds a user who sets their own password with `link` (their `password_hash` is one
    /// nobody knows until then); the user, the link and the audit event in one transaction.
    pub async fn add_user_with_link(
        &self,
        new: NewUser,
        link: NewPasswordLink,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<user::Model, StoreError> {
        self.add_user_with(new, Some(link), actor, now).await
    }

    async fn add_user_with(
        &self,
        new: NewUser,
        link: Option<NewPasswordLink>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<user::Model, StoreError> {
        let txn = self.begin_write().await?;
        let inserted = user::ActiveModel {
            organization_id: Set(ORGANIZATION_ID),
            username: Set(new.username),
            username_key: Set(new.username_key),
            name_key: Set(crate::domain::account::name_key(&new.display_name)),
            display_name: Set(new.display_name),
            password_hash: Set(new.password_hash),
            password_changed_at: Set(now),
            is_enabled: Set(true),
            role: Set(if new.is_admin {
                Role::Administrator
            } else {
                Role::Member
            }),
            created_at: Set(now),
            failed_sign_ins: Set(0),
            throttled_until: Set(None),
            preview_notice_dismissed: Set(false),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let added = match inserted {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::UsernameTaken);
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
                return Err(StoreError::NotSetUp);
            }
            other => other?,
        };
        let detail = match &link {
            Some(_) => format!(
                "role {}; they set their password with a one-time link",
                added.role.name()
            ),
            None => format!("role {}", added.role.name()),
        };
        if let Some(link) = link {
            super::password_links::insert_link(&txn, added.id, link, now).await?;
        }
        AuditNote::new("user.added", detail)
            .row(Some(added.id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(added)
    }

    /// Replaces the password hash with an upgraded one (same password, newer parameters).
    pub async fn replace_password_hash(
        &self,
        user_id: i32,
        hash: String,
    ) -> Result<(), StoreError> {
        self.update_user(
            user_id,
            user::Entity::update_many().col_expr(user::Column::PasswordHash, Expr::value(hash)),
        )
        .await
    }

    /// Remembers that the person dismissed Security info's preview notice.
    pub async fn dismiss_preview_notice(&self, user_id: i32) -> Result<(), StoreError> {
        self.update_user(
            user_id,
            user::Entity::update_many()
                .col_expr(user::Column::PreviewNoticeDismissed, Expr::value(true)),
        )
        .await
    }

    /// An administrator's password reset, in one transaction: the new password, every session
    /// ends, the app passwords are revoked when the organization says so, and it is audited.
    pub async fn reset_password(
        &self,
        user_id: i32,
        hash: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PasswordReset, StoreError> {
        self.reset_password_with(user_id, hash, None, actor, now)
            .await
    }

    /// Resets the password to one nobody knows (`locked_hash`) and keeps `link`, with which
    /// the person sets a new one; otherwise as [`Store::reset_password`]. Earlier links of the
    /// person stop working.
    pub async fn reset_password_with_link(
        &self,
        user_id: i32,
        locked_hash: String,
        link: NewPasswordLink,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PasswordReset, StoreError> {
        self.reset_password_with(user_id, locked_hash, Some(link), actor, now)
            .await
    }

    async fn reset_password_with(
        &self,
        user_id: i32,
        hash: String,
        link: Option<NewPasswordLink>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PasswordReset, StoreError> {
        let txn = self.begin_write().await?;
        let revokes = organization::Entity::find_by_id(ORGANIZATION_ID)
            .one(&txn)
            .await?
            .is_none_or(|org| org.reset_revokes_app_passwords);
        write_new_password(&txn, user_id, hash, now).await?;
        let sessions_ended = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?
            .rows_affected;
        let app_passwords_revoked = if revokes {
            app_password::Entity::delete_many()
                .filter(app_password::Column::UserId.eq(user_id))
                .exec(&txn)
                .await?
                .rows_affected
        } else {
            0
        };
        let how = match link {
            Some(link) => {
                super::password_links::insert_link(&txn, user_id, link, now).await?;
                "by an administrator, with a one-time link"
            }
            None => "by an administrator",
        };
        let detail = format!(
            "{how}; {}, {}",
            counted(sessions_ended, "session ended", "sessions ended"),
            counted(
                app_passwords_revoked,
                "app password revoked",
                "app passwords revoked"
            )
        );
        AuditNote::new("password.reset", detail)
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        self.commit_revoking(txn).await?;
        Ok(PasswordReset {
            sessions_ended,
            app_passwords_revoked,
        })
    }

    /// Enables or disables the user and audits it, in one transaction; disabling ends their
    /// sessions (returns how many) and is refused for the last enabled administrator.
    pub async fn set_enabled(
        &self,
        user_id: i32,
        enabled: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = self.begin_write().await?;
        if !enabled {
            refuse_last_administrator(&txn, user_id).await?;
        }
        let updated = user::Entity::update_many()
            .col_expr(user::Column::IsEnabled, Expr::value(enabled))
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(StoreError::NotFound);
        }
        let ended = if enabled {
            0
        } else {
            session::Entity::delete_many()
                .filter(session::Column::UserId.eq(user_id))
                .exec(&txn)
                .await?
                .rows_affected
        };
        let note = if enabled {
            AuditNote::new("user.enabled", "")
        } else {
            AuditNote::new(
                "user.disabled",
                counted(ended, "session ended", "sessions ended"),
            )
        };
        note.row(Some(user_id), actor, now).insert(&txn).await?;
        self.commit_revoking(txn).await?;
        Ok(ended)
    }

    /// Gives or takes the administrator role and audits it, in one transaction; taking it from
    /// the last enabled administrator is refused.
    pub async fn set_admin(
        &self,
        user_id: i32,
        admin: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        if !admin {
            refuse_last_administrator(&txn, user_id).await?;
        }
        let role = if admin {
            Role::Administrator
        } else {
            Role::Member
        };
        let updated = user::Entity::update_many()
            .col_expr(user::Column::Role, Expr::value(role.name()))
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(StoreError::NotFound);
        }
        let kind = if admin {
            "user.made_admin"
        } else {
            "user.removed_admin"
        };
        AuditNote::new(kind, "")
            .row(Some(user_id), actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Refuses, inside a writing transaction, when `user_id` is an enabled administrator and no
/// other enabled administrator remains. On PostgreSQL the administrators' rows are locked
/// first, so two administrators removing each other at once cannot both succeed (SQLite's
/// writing transactions already run one at a time).
async fn refuse_last_administrator(
    txn: &DatabaseTransaction,
    user_id: i32,
) -> Result<(), StoreError> {
    let mut query = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Administrator))
        .filter(user::Column::IsEnabled.eq(true));
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    let administrators = query.all(txn).await?;
    if !administrators.iter().any(|a| a.id == user_id) {
        return Ok(());
    }
    let others = administrators.iter().filter(|a| a.id != user_id).count() as u64;
    if policy::may_stop_administering(others) {
        Ok(())
    } else {
        Err(StoreError::LastAdministrator)
    }
}

/// A person as the admin console lists them.
#[derive(Debug, Clone)]
pub struct PersonRow {
    pub user: user::Model,
    pub has_two_step: bool,
    pub app_passwords: u64,
}

/// What an administrator's password reset ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordReset {
    pub sessions_ended: u64,
    pub app_passwords_revoked: u64,
}

/// The people search's queries, whose matches together (sorted by sign-in name key, the
/// first `limit`) are the page. Each is a range on one index, not LIKE (which SQLite and
/// PostgreSQL index only under conditions on collation); both keys compare byte by byte.
/// - Sign-in names: the range of `username_key`, in its order, `limit` of them.
/// - Names: the range of `(name_key, username_key)`, sorted by `username_key || ''`, the first
///   `limit`. The expression keeps the planners on that range: ordered by the column itself,
///   SQLite and PostgreSQL may walk the whole sign-in name index instead, filtering, which is
///   slow when the matches come late in it.
///
/// Without a prefix, everyone in sign-in name order, `limit` of them.
fn people_queries(
    prefix: &str,
    after: Option<&str>,
    limit: u64,
) -> Vec<sea_orm::Select<user::Entity>> {
    let after_key = |query: sea_orm::Select<user::Entity>| match after {
        Some(after) => query.filter(user::Column::UsernameKey.gt(after)),
        None => query,
    };
    let key = crate::domain::account::lookup_key(prefix);
    if key.is_empty() {
        return vec![
            after_key(user::Entity::find())
                .order_by_asc(user::Column::UsernameKey)
                .limit(limit),
        ];
    }
    let (from, until) = crate::domain::account::prefix_range(&key);
    let starts_with = |column: user::Column| {
        let query = user::Entity::find().filter(column.gte(from.clone()));
        match &until {
            Some(until) => query.filter(column.lt(until.clone())),
            None => query,
        }
    };
    vec![
        after_key(starts_with(user::Column::UsernameKey))
            .order_by_asc(user::Column::UsernameKey)
            .limit(limit),
        after_key(starts_with(user::Column::NameKey))
            .order_by(
                sea_orm::sea_query::Expr::cust("username_key || ''"),
                sea_orm::Order::Asc,
            )
            .limit(limit),
    ]
}
