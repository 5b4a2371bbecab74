//! The admin console's adapter over [`Administration`]: the organization's settings, the
//! people list and each person's actions, as the server functions of `app::admin` ask, for the
//! request's signed-in administrator (and, for a change, a recent sign-in).

use app::backend::{AdministrationUseCases, RequestContext};
use app::error::{AppError, Refusal};
use app::model::{
    AppPasswordItem, AuditEntry, AuditPage, AuditQuery, IdentityCheck, NewPersonValues,
    OrganizationSettings, PasswordLink, PeoplePage, PersonAction, PersonSummary, PolicySetting,
};
use async_trait::async_trait;
use chrono::Utc;

use super::super::{ServerBackend, SignedIn, actor};
use super::{Administration, IssuedLink, Revoke};

use crate::db::PersonRow;
use crate::db::Role;
use crate::db::entities::{organization, user};
use crate::domain::app_password::IdleLimit;
use crate::domain::policy::Setting;
use crate::domain::second_factor;
use crate::domain::timefmt;

impl From<PolicySetting> for Setting {
    fn from(setting: PolicySetting) -> Self {
        match setting {
            PolicySetting::AllowAppPasswords => Setting::AllowAppPasswords,
            PolicySetting::SecurityInfoExperience => Setting::SecurityInfoExperience,
            PolicySetting::RequireTwoStep => Setting::RequireTwoStep,
            PolicySetting::ResetRevokesAppPasswords => Setting::ResetRevokesAppPasswords,
            PolicySetting::ResetPasswordByMail => Setting::ResetPasswordByMail,
        }
    }
}

/// The console's settings as `signed_in` reads them; `recently_signed_in` is whether the
/// administrator's next change needs no "confirm it's you".
fn settings_of(
    org: organization::Model,
    recently_signed_in: bool,
    signed_in: &SignedIn,
) -> OrganizationSettings {
    let on = |setting| match setting {
        PolicySetting::AllowAppPasswords => org.allow_app_passwords,
        PolicySetting::SecurityInfoExperience => org.security_info_experience,
        PolicySetting::RequireTwoStep => org.require_two_step,
        PolicySetting::ResetRevokesAppPasswords => org.reset_revokes_app_passwords,
        PolicySetting::ResetPasswordByMail => org.reset_password_by_mail,
    };
    OrganizationSettings {
        settings: PolicySetting::ALL.map(|s| (s, on(s))).to_vec(),
        app_password_idle_days: IdleLimit::from_stored(org.app_password_idle_days)
            .map(IdleLimit::days),
        name: org.name,
        recently_signed_in,
        has_two_step: ServerBackend::has_two_step(signed_in),
        confirms_with_passkey: second_factor::confirms_with_passkey(
            signed_in.counts.authenticators,
            signed_in.counts.passkeys,
        ),
    }
}

impl ServerBackend {
    /// The administration of the request's signed-in administrator; anyone else is refused.
    /// Checked in every administration use case, whatever the page shows.
    pub(super) async fn administration_for(
        &self,
        context: &RequestContext,
    ) -> Result<Administration, AppError> {
        Ok(self.administrator(context).await?.1)
    }

    /// [`Self::administration_for`] a change: it also needs a sign-in within 10 minutes, or
    /// the administrator's password (and code) in `check`, as a person's own factor changes do.
    pub(super) async fn administration_for_change(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<Administration, AppError> {
        Ok(self.administrator_for_change(context, check).await?.1)
    }

    pub(super) async fn administrator_for_change(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<(SignedIn, Administration), AppError> {
        let (signed_in, administration) = self.administrator(context).await?;
        self.ensure_recent_sign_in_by(&signed_in, context, check)
            .await?;
        Ok((signed_in, administration))
    }

    pub(super) async fn administrator(
        &self,
        context: &RequestContext,
    ) -> Result<(SignedIn, Administration), AppError> {
        let signed_in = self.require_signed_in(context).await?;
        if signed_in.user.role != Role::Administrator {
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
        let org = admin.organization().await?;
        Ok(settings_of(org, recent, &signed_in))
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
        Ok(settings_of(org, true, &signed_in))
    }

    async fn set_app_password_idle_days(
        &self,
        context: &RequestContext,
        days: &str,
        check: &IdentityCheck,
    ) -> Result<OrganizationSettings, AppError> {
        let (signed_in, admin) = self.administrator_for_change(context, check).await?;
        let days = crate::domain::app_password::parse_idle_days(days)?;
        let org = admin.set_app_password_idle_days(days).await?;
        Ok(settings_of(org, true, &signed_in))
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
            .audit_page(&filter, before, super::audit_export::AUDIT_PAGE_SIZE + 1)
            .await?;
        let older = (log.events.len() as u64 > super::audit_export::AUDIT_PAGE_SIZE).then(|| {
            log.events
                .truncate(super::audit_export::AUDIT_PAGE_SIZE as usize);
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
        let idle = self.idle_limit(context).await?;
        Ok(apps
            .into_iter()
            .map(|app| super::super::app_passwords::list_item(app, idle, now))
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

    async fn reset_password_and_methods_of_person(
        &self,
        context: &RequestContext,
        username: &str,
        understood: Option<app::error::OwnMethodsReset>,
        check: &IdentityCheck,
    ) -> Result<PasswordLink, AppError> {
        self.reset_password_and_methods_from_console(context, username, understood, check)
            .await
    }
}

impl ServerBackend {
    /// A link just made, as the administrator is shown it (once).
    pub(super) fn shown_link(
        &self,
        person: user::Model,
        link: IssuedLink,
        detail: String,
    ) -> PasswordLink {
        PasswordLink {
            url: link.url(&self.settings.public_url),
            expires: timefmt::moment(link.expires_at),
            username: person.username,
            display_name: person.display_name,
            detail,
        }
    }
}

/// People shown per page in the admin console.
const PEOPLE_PAGE_SIZE: u64 = 25;

/// The person as the console lists them to the administrator `acting`.
pub(super) fn summary_of(row: PersonRow, acting: Option<i32>) -> PersonSummary {
    PersonSummary {
        is_you: acting == Some(row.user.id),
        is_admin: row.user.role == Role::Administrator,
        is_enabled: row.user.is_enabled,
        username: row.user.username,
        display_name: row.user.display_name,
        has_two_step: row.has_two_step,
        app_passwords: u32::try_from(row.app_passwords).unwrap_or(u32::MAX),
    }
}
