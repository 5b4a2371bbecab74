//! Administration of people and the organization's policy: the service `latchkey admin` runs,
//! by sign-in name ([`Administration`]); the admin console's adapter over it
//! (`console`: [`AdministrationUseCases`], for signed-in administrators only); the audit log's
//! page and CSV export (`audit_export`). Each change is written with
//! its audit event in one transaction (in `db`), attributed to the [`Actor`] the
//! administration was opened with.

use std::collections::HashMap;

use app::error::{AppError, Refusal};
use chrono::{DateTime, Utc};

use crate::db::entities::{app_password, audit_event, organization, user};
use crate::db::{
    Actor, AuditFilter, NewPasswordLink, NewUser, PasswordReset, PersonRow, Remover, Store,
    StoreError, Which,
};
use crate::domain::app_password::{AppName, IdleLimit};
use crate::domain::password_link::{self, Purpose};
use crate::domain::policy::Setting;
use crate::domain::random::{OsRandom, random_hex};
use crate::domain::{ValidationError, account, password};

mod audit_export;
mod console;
mod mail_settings;
mod method_resets;

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
    /// Administrators resetting their own methods, where that closes the console to them
    /// (or to everyone), did not say they understand what follows.
    #[error("{0}")]
    OwnMethodsReset(app::error::OwnMethodsReset),
}

/// Which of a person's app passwords to revoke.
#[derive(Debug, Clone, Copy)]
pub enum Revoke<'a> {
    All,
    Named(&'a str),
    Id(i32),
}

/// A new person, as an administrator types them. `Debug` hides the password.
#[derive(Clone)]
pub struct NewPerson {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub is_admin: bool,
}

impl std::fmt::Debug for NewPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPerson")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("password", &app::secret::Redacted)
            .field("is_admin", &self.is_admin)
            .finish()
    }
}

/// A one-time password link just made. Its token exists only here and in the link: the
/// database keeps its hash, and `Debug` hides it.
pub struct IssuedLink {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedLink")
            .field("token", &app::secret::Redacted)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl IssuedLink {
    pub(super) fn new(purpose: Purpose, now: DateTime<Utc>) -> (Self, NewPasswordLink) {
        let token = password_link::new_token(&mut OsRandom);
        let expires_at = password_link::expires_at(now);
        let kept = NewPasswordLink {
            token_hash: password_link::token_hash(&token),
            purpose,
            expires_at,
            token_sealed: None,
        };
        (Self { token, expires_at }, kept)
    }

    /// The link's address on the site at `public_url` (no trailing slash): the app's page for
    /// it, with the token as its query.
    pub fn url(&self, public_url: &str) -> String {
        use app::routes::{Page, TokenQuery};
        let token = TokenQuery {
            token: self.token.clone(),
        };
        format!("{public_url}{}", Page::SetPassword.with(&token))
    }
}

/// The hash of a password nobody knows (256 random bits, forgotten at once): the password of
/// someone who sets theirs with a link. A real hash, so signing in with it takes as long as
/// with any other and fails.
pub(super) async fn locked_password_hash() -> Result<String, AdministrationError> {
    let unknown = random_hex(&mut OsRandom, 32);
    Ok(password::hash_password_blocking(unknown).await?)
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

    /// Who did it, when it was not the person themselves: an administrator's sign-in name,
    /// or the command line.
    pub fn actor_of(&self, event: &audit_event::Model) -> Option<&str> {
        match event.actor_user_id {
            Some(id) if Some(id) != event.user_id => self.usernames.get(&id).map(String::as_str),
            Some(_) => None,
            None if event.by_command_line => Some("command line"),
            None => None,
        }
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
        account::check_new_password(&new.password, &new.password, username.as_str())?;
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

    /// Adds a person without a password they know: they set one with the link returned.
    pub async fn add_person_with_link(
        &self,
        username: &str,
        display_name: &str,
        is_admin: bool,
    ) -> Result<(user::Model, IssuedLink), AdministrationError> {
        let username = account::Username::parse(username)?;
        let display_name = account::parse_display_name(display_name)?;
        let now = Utc::now();
        let (issued, link) = IssuedLink::new(Purpose::Welcome, now);
        let person = NewUser {
            username: username.as_str().to_owned(),
            username_key: username.key().to_owned(),
            display_name,
            password_hash: locked_password_hash().await?,
            is_admin,
        };
        let added = self
            .store
            .add_user_with_link(person, link, &self.actor, now)
            .await?;
        Ok((added, issued))
    }

    /// Resets the person's password to one nobody knows (every session ends; the app
    /// passwords are revoked when the organization's policy says so); they set a new one with
    /// the link returned.
    pub async fn reset_password_with_link(
        &self,
        username: &str,
    ) -> Result<(user::Model, PasswordReset, IssuedLink), AdministrationError> {
        let person = self.person(username).await?;
        let now = Utc::now();
        let (issued, link) = IssuedLink::new(Purpose::Reset, now);
        let reset = self
            .store
            .reset_password_with_link(
                person.id,
                locked_password_hash().await?,
                link,
                &self.actor,
                now,
            )
            .await?;
        Ok((person, reset, issued))
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
        account::check_new_password(&new_password, &new_password, &person.username)?;
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

    /// Sets "app passwords unused for `days` days stop working", or turns it off (`None`).
    pub async fn set_app_password_idle_days(
        &self,
        days: Option<u32>,
    ) -> Result<organization::Model, AdministrationError> {
        let limit = days.map(IdleLimit::new).transpose()?;
        Ok(self
            .store
            .set_app_password_idle_limit(limit, &self.actor, Utc::now())
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
            Revoke::Id(id) => {
                ids = vec![id];
                Which::Ids(&ids)
            }
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

    /// The person as the console lists them (as they are now).
    pub async fn person_row(&self, username: &str) -> Result<PersonRow, AdministrationError> {
        let person = self.person(username).await?;
        self.store
            .person_rows(vec![person])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AdministrationError::NoSuchUser(username.to_owned()))
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

    /// A page of audit events matching `filter`, newest first, with the sign-in names of the
    /// people they are about.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        before: Option<i32>,
        limit: u64,
    ) -> Result<AuditLog, AdministrationError> {
        let events = self.store.audit_page(filter, before, limit).await?;
        let mut ids: Vec<i32> = events
            .iter()
            .flat_map(|e| [e.user_id, e.actor_user_id])
            .flatten()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let usernames = self.store.usernames_of(&ids).await?;
        Ok(AuditLog { events, usernames })
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
            AdministrationError::NoSuchUser(_) => AppError::NoSuchPerson,
            AdministrationError::NoSuchAppPassword { .. } => AppError::AppPasswordGone,
            AdministrationError::Invalid(e) => e.into(),
            AdministrationError::Store(e) => e.into(),
            AdministrationError::Hash(e) => e.into(),
            AdministrationError::OwnMethodsReset(what_follows) => {
                AppError::Forbidden(Refusal::ConfirmOwnMethodsReset(what_follows))
            }
        }
    }
}
