//! Administration of people and the organization's policy: what `latchkey admin` runs, by
//! sign-in name, and the admin console's server functions (through
//! [`AdministrationUseCases`], for signed-in administrators only). Each change is written with
//! its audit event in one transaction (in `db`), attributed to the [`Actor`] the
//! administration was opened with.

use std::collections::HashMap;

use app::backend::{AdministrationUseCases, RequestContext};
use app::error::{AppError, Refusal};
use app::model::{OrganizationSettings, PeoplePage, PersonAction, PersonSummary, PolicySetting};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ServerBackend, actor};

use crate::db::entities::{app_password, audit_event, organization, user};
use crate::db::{Actor, NewUser, PasswordReset, PersonRow, Remover, Store, StoreError, Which};
use crate::domain::app_password::AppName;
use crate::domain::policy::Setting;
use crate::domain::{ValidationError, account, password};

/// Why an administration use case refused or failed; the text is what the administrator reads.
#[derive(Debug, thiserror::Error)]
pub enum AdministrationError {
    #[error("no user with the sign-in name {0:?}")]
    NoSuchUser(String),
    #[error("{user} has no app password named {name:?}")]
    NoSuchAppPassword { user: String, name: String },
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Hash(#[from] password::HashError),
}

/// Which of a person's app passwords to revoke.
#[derive(Debug, Clone, Copy)]
pub enum Revoke<'a> {
    All,
    Named(&'a str),
}

/// A new person, as an administrator types them.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub is_admin: bool,
}

/// The audit log as administrators read it: events with the sign-in names they concern.
#[derive(Debug, Clone)]
pub struct AuditLog {
    pub events: Vec<audit_event::Model>,
    pub usernames: HashMap<i32, String>,
}

impl AuditLog {
    /// The sign-in name an event is about, if it is about someone.
    pub fn username_of(&self, event: &audit_event::Model) -> Option<&str> {
        event
            .user_id
            .and_then(|id| self.usernames.get(&id))
            .map(String::as_str)
    }
}

/// Administration on one database by one actor.
#[derive(Debug, Clone)]
pub struct Administration {
    store: Store,
    actor: Actor,
}

impl Administration {
    pub fn new(store: Store, actor: Actor) -> Self {
        Self { store, actor }
    }

    /// The person with this sign-in name (any case).
    pub async fn person(&self, username: &str) -> Result<user::Model, AdministrationError> {
        let key = account::Username::parse(username)?.key().to_owned();
        self.store
            .user_by_key(&key)
            .await?
            .ok_or_else(|| AdministrationError::NoSuchUser(username.to_owned()))
    }

    /// Everyone, by sign-in name.
    pub async fn people(&self) -> Result<Vec<user::Model>, AdministrationError> {
        Ok(self.store.users().await?)
    }

    pub async fn add_person(&self, new: NewPerson) -> Result<user::Model, AdministrationError> {
        let username = account::Username::parse(&new.username)?;
        let display_name = account::parse_display_name(&new.display_name)?;
        account::check_new_password(&new.password, &new.password)?;
        let password_hash = password::hash_password_blocking(new.password).await?;
        let person = NewUser {
            username: username.as_str().to_owned(),
            username_key: username.key().to_owned(),
            display_name,
            password_hash,
            is_admin: new.is_admin,
        };
        Ok(self.store.add_user(person, &self.actor, Utc::now()).await?)
    }

    /// Enables or disables the person; returns them and how many sessions ended. The last
    /// enabled administrator cannot be disabled.
    pub async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<(user::Model, u64), AdministrationError> {
        let person = self.person(username).await?;
        let ended = self
            .store
            .set_enabled(person.id, enabled, &self.actor, Utc::now())
            .await?;
        Ok((person, ended))
    }

    /// Sets a new password; every session ends, and the app passwords are revoked when the
    /// organization's policy says so.
    pub async fn reset_password(
        &self,
        username: &str,
        new_password: String,
    ) -> Result<(user::Model, PasswordReset), AdministrationError> {
        let person = self.person(username).await?;
        account::check_new_password(&new_password, &new_password)?;
        let hash = password::hash_password_blocking(new_password).await?;
        let reset = self
            .store
            .reset_password(person.id, hash, &self.actor, Utc::now())
            .await?;
        Ok((person, reset))
    }

    /// Gives or takes the administrator role. The last enabled administrator keeps it.
    pub async fn set_administrator(
        &self,
        username: &str,
        admin: bool,
    ) -> Result<user::Model, AdministrationError> {
        let person = self.person(username).await?;
        self.store
            .set_admin(person.id, admin, &self.actor, Utc::now())
            .await?;
        Ok(person)
    }

    pub async fn organization(&self) -> Result<organization::Model, AdministrationError> {
        Ok(self
            .store
            .organization()
            .await?
            .ok_or(StoreError::NotSetUp)?)
    }

    pub async fn set_policy(
        &self,
        setting: Setting,
        value: bool,
    ) -> Result<organization::Model, AdministrationError> {
        Ok(self
            .store
            .set_policy(setting, value, &self.actor, Utc::now())
            .await?)
    }

    /// The person and their app passwords, oldest first.
    pub async fn app_passwords_of(
        &self,
        username: &str,
    ) -> Result<(user::Model, Vec<app_password::Model>), AdministrationError> {
        let person = self.person(username).await?;
        let apps = self.store.app_passwords_of(person.id).await?;
        Ok((person, apps))
    }

    /// Revokes one app password (by name, any case) or all of them; they stop signing in at
    /// once. Returns the person and those revoked.
    pub async fn revoke_app_passwords(
        &self,
        username: &str,
        which: Revoke<'_>,
    ) -> Result<(user::Model, Vec<app_password::Model>), AdministrationError> {
        let person = self.person(username).await?;
        let ids: Vec<i32>;
        let which = match which {
            Revoke::All => Which::All,
            Revoke::Named(name) => {
                let key = AppName::parse(name)?.key().to_owned();
                let found = self
                    .store
                    .app_passwords_of(person.id)
                    .await?
                    .into_iter()
                    .find(|app| app.name_key == key)
                    .ok_or_else(|| AdministrationError::NoSuchAppPassword {
                        user: person.username.clone(),
                        name: name.to_owned(),
                    })?;
                ids = vec![found.id];
                Which::Ids(&ids)
            }
        };
        let revoked = self
            .store
            .remove_app_passwords(
                person.id,
                which,
                Remover::Administrator,
                &self.actor,
                Utc::now(),
            )
            .await?;
        Ok((person, revoked))
    }

    /// A page of people whose sign-in name or name starts with `prefix`, after `after`.
    pub async fn people_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<PersonRow>, AdministrationError> {
        Ok(self.store.people_page(prefix, after, limit).await?)
    }

    /// Ends every session of the person; returns them and how many ended.
    pub async fn sign_out_everywhere(
        &self,
        username: &str,
    ) -> Result<(user::Model, u64), AdministrationError> {
        let person = self.person(username).await?;
        let ended = self
            .store
            .end_sessions_of_user(
                person.id,
                "sign_out.by_administrator",
                &self.actor,
                Utc::now(),
            )
            .await?;
        Ok((person, ended))
    }

    /// Audit events, oldest first: everyone's or one person's, from `since` on.
    pub async fn audit_log(
        &self,
        username: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<AuditLog, AdministrationError> {
        let person = match username {
            Some(name) => Some(self.person(name).await?),
            None => None,
        };
        let events = self
            .store
            .audit_events(person.as_ref().map(|p| p.id), since)
            .await?;
        let usernames = self
            .store
            .users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect();
        Ok(AuditLog { events, usernames })
    }
}

impl From<AdministrationError> for AppError {
    fn from(error: AdministrationError) -> Self {
        match error {
            AdministrationError::NoSuchUser(_) | AdministrationError::NoSuchAppPassword { .. } => {
                AppError::NotFound
            }
            AdministrationError::Invalid(e) => e.into(),
            AdministrationError::Store(e) => e.into(),
            AdministrationError::Hash(e) => e.into(),
        }
    }
}

impl From<PolicySetting> for Setting {
    fn from(setting: PolicySetting) -> Self {
        match setting {
            PolicySetting::AllowAppPasswords => Setting::AllowAppPasswords,
            PolicySetting::SecurityInfoExperience => Setting::SecurityInfoExperience,
            PolicySetting::RequireTwoStep => Setting::RequireTwoStep,
            PolicySetting::ResetRevokesAppPasswords => Setting::ResetRevokesAppPasswords,
        }
    }
}

fn settings_of(org: organization::Model) -> OrganizationSettings {
    let on = |setting| match setting {
        PolicySetting::AllowAppPasswords => org.allow_app_passwords,
        PolicySetting::SecurityInfoExperience => org.security_info_experience,
        PolicySetting::RequireTwoStep => org.require_two_step,
        PolicySetting::ResetRevokesAppPasswords => org.reset_revokes_app_passwords,
    };
    OrganizationSettings {
        settings: PolicySetting::ALL.map(|s| (s, on(s))).to_vec(),
        name: org.name,
    }
}

impl ServerBackend {
    /// The administration of the request's signed-in administrator; anyone else is refused.
    /// Checked in every administration use case, whatever the page shows.
    async fn administration_for(
        &self,
        context: &RequestContext,
    ) -> Result<Administration, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        if signed_in.user.role != "admin" {
            return Err(AppError::Forbidden(Refusal::NotAdministrator));
        }
        Ok(Administration::new(self.store.clone(), actor(context)))
    }
}

#[async_trait]
impl AdministrationUseCases for ServerBackend {
    async fn organization_settings(
        &self,
        context: &RequestContext,
    ) -> Result<OrganizationSettings, AppError> {
        let admin = self.administration_for(context).await?;
        Ok(settings_of(admin.organization().await?))
    }

    async fn set_organization_setting(
        &self,
        context: &RequestContext,
        setting: PolicySetting,
        on: bool,
    ) -> Result<OrganizationSettings, AppError> {
        let admin = self.administration_for(context).await?;
        Ok(settings_of(admin.set_policy(setting.into(), on).await?))
    }

    async fn people(
        &self,
        context: &RequestContext,
        query: &str,
        after: Option<String>,
    ) -> Result<PeoplePage, AppError> {
        let admin = self.administration_for(context).await?;
        // One more than a page tells whether there is a next one.
        let mut rows = admin
            .people_page(query.trim(), after.as_deref(), PEOPLE_PAGE_SIZE + 1)
            .await?;
        let next = (rows.len() as u64 > PEOPLE_PAGE_SIZE).then(|| {
            rows.truncate(PEOPLE_PAGE_SIZE as usize);
            rows.last().map(|row| row.user.username_key.clone())
        });
        Ok(PeoplePage {
            people: rows.into_iter().map(summary_of).collect(),
            next: next.flatten(),
        })
    }

    async fn act_on_person(
        &self,
        context: &RequestContext,
        username: &str,
        action: PersonAction,
    ) -> Result<PersonSummary, AppError> {
        let admin = self.administration_for(context).await?;
        match action {
            PersonAction::Disable => drop(admin.set_enabled(username, false).await?),
            PersonAction::Enable => drop(admin.set_enabled(username, true).await?),
            PersonAction::MakeAdministrator => drop(admin.set_administrator(username, true).await?),
            PersonAction::RemoveAdministrator => {
                drop(admin.set_administrator(username, false).await?)
            }
            PersonAction::SignOutEverywhere => drop(admin.sign_out_everywhere(username).await?),
            PersonAction::RevokeAppPasswords => {
                drop(admin.revoke_app_passwords(username, Revoke::All).await?)
            }
        }
        let person = admin.person(username).await?;
        let row = admin
            .people_page(&person.username_key, None, 1)
            .await?
            .into_iter()
            .next()
            .ok_or(AppError::NotFound)?;
        Ok(summary_of(row))
    }
}

/// People shown per page in the admin console.
const PEOPLE_PAGE_SIZE: u64 = 25;

fn summary_of(row: PersonRow) -> PersonSummary {
    PersonSummary {
        is_admin: row.user.role == "admin",
        is_enabled: row.user.is_enabled,
        username: row.user.username,
        display_name: row.user.display_name,
        has_two_step: row.has_two_step,
        app_passwords: u32::try_from(row.app_passwords).unwrap_or(u32::MAX),
    }
}
