//! Administration of people and the organization's policy: what `latchkey admin` runs, by
//! sign-in name, and the admin console's server functions (through
//! [`AdministrationUseCases`], for signed-in administrators only). Each change is written with
//! its audit event in one transaction (in `db`), attributed to the [`Actor`] the
//! administration was opened with.

use std::collections::HashMap;

use app::backend::{AdministrationUseCases, RequestContext};
use app::error::{AppError, Refusal};
use app::model::{
    AppPasswordItem, AuditEntry, AuditPage, AuditQuery, IdentityCheck, NewPersonValues,
    OrganizationSettings, PasswordLink, PeoplePage, PersonAction, PersonSummary, PolicySetting,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ServerBackend, actor};

use crate::db::entities::{app_password, audit_event, organization, user};
use crate::db::{
    Actor, AuditFilter, NewPasswordLink, NewUser, PasswordReset, PersonRow, Remover, Store,
    StoreError, Which,
};
use crate::domain::app_password::AppName;
use crate::domain::password_link::{self, Purpose};
use crate::domain::policy::Setting;
use crate::domain::random::{OsRandom, random_hex};
use crate::domain::{ValidationError, account, password, spreadsheet, timefmt};

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
    fn new(purpose: Purpose, now: DateTime<Utc>) -> (Self, NewPasswordLink) {
        let token = password_link::new_token(&mut OsRandom);
        let expires_at = password_link::expires_at(now);
        let kept = NewPasswordLink {
            token_hash: password_link::token_hash(&token),
            purpose,
            expires_at,
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
async fn locked_password_hash() -> Result<String, AdministrationError> {
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
            None if event.user_agent.as_deref() == Some(crate::admin::CLI_USER_AGENT) => {
                Some("command line")
            }
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
            AdministrationError::NoSuchUser(_) | AdministrationError::NoSuchAppPassword { .. } => {
                AppError::NotFound
            }
            AdministrationError::Invalid(e) => e.into(),
            AdministrationError::Store(e) => e.into(),
            AdministrationError::Hash(e) => e.into(),
            AdministrationError::OwnMethodsReset(what_follows) => {
                AppError::Forbidden(Refusal::ConfirmOwnMethodsReset(what_follows))
            }
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

fn settings_of(
    org: organization::Model,
    recently_signed_in: bool,
    has_two_step: bool,
) -> OrganizationSettings {
    let on = |setting| match setting {
        PolicySetting::AllowAppPasswords => org.allow_app_passwords,
        PolicySetting::SecurityInfoExperience => org.security_info_experience,
        PolicySetting::RequireTwoStep => org.require_two_step,
        PolicySetting::ResetRevokesAppPasswords => org.reset_revokes_app_passwords,
    };
    OrganizationSettings {
        settings: PolicySetting::ALL.map(|s| (s, on(s))).to_vec(),
        name: org.name,
        recently_signed_in,
        has_two_step,
    }
}

impl ServerBackend {
    /// The administration of the request's signed-in administrator; anyone else is refused.
    /// Checked in every administration use case, whatever the page shows.
    async fn administration_for(
        &self,
        context: &RequestContext,
    ) -> Result<Administration, AppError> {
        Ok(self.administrator(context).await?.1)
    }

    /// [`Self::administration_for`] a change: it also needs a sign-in within 10 minutes, or
    /// the administrator's password (and code) in `check`, as a person's own factor changes do.
    async fn administration_for_change(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<Administration, AppError> {
        Ok(self.administrator_for_change(context, check).await?.1)
    }

    async fn administrator_for_change(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<(super::SignedIn, Administration), AppError> {
        let (signed_in, administration) = self.administrator(context).await?;
        self.ensure_recent_sign_in(
            &signed_in,
            context,
            check.password.expose(),
            check.code.expose(),
        )
        .await?;
        Ok((signed_in, administration))
    }

    /// The settings as the administrator `signed_in` reads them (`recently_signed_in` as of
    /// now, after any check this request made).
    async fn settings_for(
        &self,
        org: organization::Model,
        signed_in: &super::SignedIn,
        recently_signed_in: bool,
        context: &RequestContext,
    ) -> Result<OrganizationSettings, AppError> {
        let has_two_step = self.has_two_step(signed_in.user.id, context).await?;
        Ok(settings_of(org, recently_signed_in, has_two_step))
    }

    async fn administrator(
        &self,
        context: &RequestContext,
    ) -> Result<(super::SignedIn, Administration), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        if signed_in.user.role != "admin" {
            return Err(AppError::Forbidden(Refusal::NotAdministrator));
        }
        let mut acting = actor(context);
        acting.user_id = Some(signed_in.user.id);
        Ok((signed_in, Administration::new(self.store.clone(), acting)))
    }
}

#[async_trait]
impl AdministrationUseCases for ServerBackend {
    async fn organization_settings(
        &self,
        context: &RequestContext,
    ) -> Result<OrganizationSettings, AppError> {
        let (signed_in, admin) = self.administrator(context).await?;
        let recent = crate::domain::app_password::recently_verified(
            signed_in.session.verified_at,
            Utc::now(),
        );
        self.settings_for(admin.organization().await?, &signed_in, recent, context)
            .await
    }

    async fn set_organization_setting(
        &self,
        context: &RequestContext,
        setting: PolicySetting,
        on: bool,
        check: &IdentityCheck,
    ) -> Result<OrganizationSettings, AppError> {
        let (signed_in, admin) = self.administrator_for_change(context, check).await?;
        let org = admin.set_policy(setting.into(), on).await?;
        self.settings_for(org, &signed_in, true, context).await
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
        let acting = admin.actor.user_id;
        Ok(PeoplePage {
            people: rows
                .into_iter()
                .map(|row| summary_of(row, acting))
                .collect(),
            next: next.flatten(),
        })
    }

    async fn audit_log(
        &self,
        context: &RequestContext,
        query: &AuditQuery,
        before: Option<i32>,
    ) -> Result<AuditPage, AppError> {
        let (admin, filter) = self.audit_filter(context, query).await?;
        let mut log = admin
            .audit_page(&filter, before, AUDIT_PAGE_SIZE + 1)
            .await?;
        let older = (log.events.len() as u64 > AUDIT_PAGE_SIZE).then(|| {
            log.events.truncate(AUDIT_PAGE_SIZE as usize);
            log.events.last().map(|event| event.id)
        });
        let entries = log
            .events
            .iter()
            .map(|event| AuditEntry {
                id: event.id,
                at: timefmt::moment(event.created_at),
                person: log.username_of(event).map(str::to_owned),
                actor: log.actor_of(event).map(str::to_owned),
                kind: event.kind.clone(),
                detail: event.detail.clone(),
                address: event.ip.clone(),
                client: event.user_agent.clone(),
                count: u32::try_from(event.count).unwrap_or(1),
            })
            .collect();
        Ok(AuditPage {
            entries,
            older: older.flatten(),
            kinds: self.store.audit_kinds().await?,
        })
    }

    async fn app_passwords_of_person(
        &self,
        context: &RequestContext,
        username: &str,
    ) -> Result<Vec<AppPasswordItem>, AppError> {
        let admin = self.administration_for(context).await?;
        let (_, apps) = admin.app_passwords_of(username).await?;
        let now = Utc::now();
        Ok(apps
            .into_iter()
            .map(|app| super::app_passwords::list_item(app, now))
            .collect())
    }

    async fn revoke_app_password_of_person(
        &self,
        context: &RequestContext,
        username: &str,
        id: i32,
        check: &IdentityCheck,
    ) -> Result<Vec<AppPasswordItem>, AppError> {
        let admin = self.administration_for_change(context, check).await?;
        let (_, revoked) = admin.revoke_app_passwords(username, Revoke::Id(id)).await?;
        if revoked.is_empty() {
            return Err(AppError::AppPasswordGone);
        }
        self.app_passwords_of_person(context, username).await
    }

    async fn act_on_person(
        &self,
        context: &RequestContext,
        username: &str,
        action: PersonAction,
        check: &IdentityCheck,
    ) -> Result<PersonSummary, AppError> {
        let admin = self.administration_for_change(context, check).await?;
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
            // Without the ticked box: refused where it would close the console to oneself.
            PersonAction::ResetMethods => drop(admin.reset_methods(username, None).await?),
        }
        Ok(summary_of(
            admin.person_row(username).await?,
            admin.actor.user_id,
        ))
    }

    async fn reset_methods_of_person(
        &self,
        context: &RequestContext,
        username: &str,
        understood: Option<app::error::OwnMethodsReset>,
        check: &IdentityCheck,
    ) -> Result<PersonSummary, AppError> {
        self.reset_methods_from_console(context, username, understood, check)
            .await
    }

    async fn add_person(
        &self,
        context: &RequestContext,
        person: NewPersonValues,
        check: &IdentityCheck,
    ) -> Result<PasswordLink, AppError> {
        let admin = self.administration_for_change(context, check).await?;
        let (added, link) = admin
            .add_person_with_link(&person.username, &person.display_name, person.administrator)
            .await?;
        tracing::info!(user = %added.username, "person added from the admin console");
        Ok(self.shown_link(added, link, String::new()))
    }

    async fn reset_password_of_person(
        &self,
        context: &RequestContext,
        username: &str,
        check: &IdentityCheck,
    ) -> Result<PasswordLink, AppError> {
        let admin = self.administration_for_change(context, check).await?;
        let (person, reset, link) = admin.reset_password_with_link(username).await?;
        let detail = format!(
            "{} signed out everywhere; {}.",
            person.display_name,
            match reset.app_passwords_revoked {
                0 => "no app password was revoked".to_owned(),
                1 => "1 app password was revoked".to_owned(),
                n => format!("{n} app passwords were revoked"),
            }
        );
        Ok(self.shown_link(person, link, detail))
    }
}

impl ServerBackend {
    /// A link just made, as the administrator is shown it (once).
    fn shown_link(&self, person: user::Model, link: IssuedLink, detail: String) -> PasswordLink {
        PasswordLink {
            url: link.url(&self.settings.public_url),
            expires: timefmt::moment(link.expires_at),
            username: person.username,
            display_name: person.display_name,
            detail,
        }
    }
}

/// Audit events shown per page in the admin console.
const AUDIT_PAGE_SIZE: u64 = 50;

/// Audit events read per query while the CSV export streams (its memory is about one batch).
const CSV_BATCH: u64 = 1000;

impl ServerBackend {
    /// The administration of the request's administrator and the filter `query` asks for;
    /// what cannot be read is refused with the field it concerns.
    async fn audit_filter(
        &self,
        context: &RequestContext,
        query: &AuditQuery,
    ) -> Result<(Administration, AuditFilter), AppError> {
        let admin = self.administration_for(context).await?;
        let day = |field: &'static str, text: &str| -> Result<_, AppError> {
            match text.trim() {
                "" => Ok(None),
                text => timefmt::parse_day_or_moment(text).map(Some).ok_or_else(|| {
                    AppError::invalid(
                        field,
                        format!("{text:?} is not a day: write it as 2026-11-29."),
                    )
                }),
            }
        };
        let user_id = match query.person.trim() {
            "" => None,
            name => Some(
                admin
                    .person(name)
                    .await
                    .map_err(|_| {
                        AppError::invalid(
                            "person",
                            format!("No one has the sign-in name {name:?}."),
                        )
                    })?
                    .id,
            ),
        };
        let filter = AuditFilter {
            user_id,
            kind: Some(query.kind.trim().to_owned()).filter(|k| !k.is_empty()),
            from: day("from", &query.from)?,
            // The last day named is included.
            until: day("to", &query.to)?.map(|day| day + chrono::Duration::days(1)),
        };
        Ok((admin, filter))
    }

    /// The audit events `query` asks for as CSV, newest first, read a batch at a time while
    /// the answer streams, so memory stays bounded whatever the log's size. Refused like every
    /// administration use case.
    pub async fn audit_csv(
        &self,
        context: &RequestContext,
        query: &AuditQuery,
    ) -> Result<impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + use<>, AppError>
    {
        let (admin, filter) = self.audit_filter(context, query).await?;
        let header = spreadsheet::csv_rows([[
            "time", "actor", "person", "kind", "detail", "address", "client", "count",
        ]]);
        let batches = futures::stream::try_unfold(Some(None), move |next: Option<Option<i32>>| {
            let admin = admin.clone();
            let filter = filter.clone();
            async move {
                let Some(before) = next else {
                    return Ok(None);
                };
                let log = admin
                    .audit_page(&filter, before, CSV_BATCH)
                    .await
                    .map_err(std::io::Error::other)?;
                let rows: Vec<[String; 8]> = log
                    .events
                    .iter()
                    .map(|event| {
                        [
                            event.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                            log.actor_of(event).unwrap_or_default().to_owned(),
                            log.username_of(event).unwrap_or_default().to_owned(),
                            event.kind.clone(),
                            event.detail.clone(),
                            event.ip.clone().unwrap_or_default(),
                            event.user_agent.clone().unwrap_or_default(),
                            event.count.to_string(),
                        ]
                    })
                    .collect();
                let more = (log.events.len() as u64 == CSV_BATCH)
                    .then(|| log.events.last().map(|event| event.id));
                if rows.is_empty() {
                    return Ok(None);
                }
                Ok(Some((spreadsheet::csv_rows(rows), more)))
            }
        });
        Ok(futures::StreamExt::chain(
            futures::stream::once(async move { Ok(header) }),
            batches,
        ))
    }
}

/// People shown per page in the admin console.
const PEOPLE_PAGE_SIZE: u64 = 25;

/// The person as the console lists them to the administrator `acting`.
fn summary_of(row: PersonRow, acting: Option<i32>) -> PersonSummary {
    PersonSummary {
        is_you: acting == Some(row.user.id),
        is_admin: row.user.role == "admin",
        is_enabled: row.user.is_enabled,
        username: row.user.username,
        display_name: row.user.display_name,
        has_two_step: row.has_two_step,
        app_passwords: u32::try_from(row.app_passwords).unwrap_or(u32::MAX),
    }
}
