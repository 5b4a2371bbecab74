//! The organization: first-time setup (the organization and its first administrator, in one
//! transaction), its settings, and whether anyone can sign in yet.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, SqlErr,
};

use super::audit::AuditNote;
use super::entities::user::Role;
use super::entities::{organization, user};
use super::store::{Actor, ORGANIZATION_ID, Store, StoreError};
use crate::domain::app_password::{IDLE_LIMIT_SETTING, IdleLimit};
use crate::domain::policy::Setting;

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

impl Store {
    /// Whether anyone can sign in yet; false until first-time setup has run.
    pub async fn has_accounts(&self) -> Result<bool, StoreError> {
        Ok(user::Entity::find().count(self.connection()).await? > 0)
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
            Setting::ResetPasswordByMail => active.reset_password_by_mail = Set(value),
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

    /// Sets (or, with `None`, turns off) "app passwords unused for N days stop working" and
    /// audits it, in one transaction; the revocation epoch moves, so no instance keeps
    /// accepting from memory what the new rule refuses.
    pub async fn set_app_password_idle_limit(
        &self,
        limit: Option<IdleLimit>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<organization::Model, StoreError> {
        let txn = self.begin_write().await?;
        let org = organization::Entity::find_by_id(ORGANIZATION_ID)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotSetUp)?;
        let mut active: organization::ActiveModel = org.into();
        active.app_password_idle_days =
            Set(limit.map(|l| i32::try_from(l.days()).unwrap_or(i32::MAX)));
        let org = active.update(&txn).await?;
        let state = limit.map_or_else(|| "off".to_owned(), |l| l.days().to_string());
        AuditNote::new("policy.changed", format!("{IDLE_LIMIT_SETTING} = {state}"))
            .row(None, actor, now)
            .insert(&txn)
            .await?;
        self.commit_revoking(txn).await?;
        Ok(org)
    }

    pub async fn organization(&self) -> Result<Option<organization::Model>, StoreError> {
        Ok(organization::Entity::find_by_id(ORGANIZATION_ID)
            .one(self.connection())
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
        // Only the id is read: a database still being migrated may lack later columns.
        let people = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .count(&txn)
            .await?;
        if people > 0 {
            return Err(StoreError::AlreadySetUp);
        }
        // Later settings take their column's default ("Forgot password?" off), and nothing is
        // read back: a database still being migrated (tests of old migrations) takes it too.
        let inserted = organization::Entity::insert(organization::ActiveModel {
            id: Set(ORGANIZATION_ID),
            name: Set(org.name),
            allow_app_passwords: Set(org.allow_app_passwords),
            security_info_experience: Set(true),
            require_two_step: Set(false),
            reset_revokes_app_passwords: Set(true),
            created_at: Set(now),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await;
        match inserted {
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::AlreadySetUp);
            }
            other => other?,
        };
        // Inserted without reading the row back, as the organization above.
        let mut admin = user::Model {
            id: 0,
            organization_id: ORGANIZATION_ID,
            name_key: crate::domain::account::name_key(&admin.display_name),
            username: admin.username,
            username_key: admin.username_key,
            display_name: admin.display_name,
            password_hash: admin.password_hash,
            password_changed_at: now,
            is_enabled: true,
            role: Role::Administrator,
            created_at: now,
            failed_sign_ins: 0,
            throttled_until: None,
            preview_notice_dismissed: false,
            default_method: None,
        };
        let mut row: user::ActiveModel = admin.clone().into();
        row.id = sea_orm::ActiveValue::NotSet;
        row.default_method = sea_orm::ActiveValue::NotSet;
        user::Entity::insert(row)
            .exec_without_returning(&txn)
            .await?;
        admin.id = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::UsernameKey.eq(&admin.username_key))
            .into_tuple::<i32>()
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
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
