//! The organization's mail settings (`domain::mail_settings`): read and set by
//! `latchkey admin org mail` and, through [`AppleProfileUseCases`](app::backend::AppleProfileUseCases),
//! by the admin console, each change audited in its transaction.

use app::apple_profile::MailSettingsForm;
use app::backend::RequestContext;
use app::error::AppError;
use app::model::IdentityCheck;
use chrono::Utc;

use super::super::ServerBackend;
use super::{Administration, AdministrationError};
use crate::db::mail_settings_of;
use crate::domain::mail_settings::{MailSettings, TypedMailSettings};

impl Administration {
    /// The organization's mail settings, if an administrator entered them.
    pub async fn mail_settings(&self) -> Result<Option<MailSettings>, AdministrationError> {
        Ok(mail_settings_of(&self.organization().await?))
    }

    /// Checks and keeps `typed` (every text empty: no settings); answers with what is kept.
    pub async fn set_mail_settings(
        &self,
        typed: &TypedMailSettings,
    ) -> Result<Option<MailSettings>, AdministrationError> {
        let settings = MailSettings::parse(typed)?;
        let org = self
            .store
            .set_mail_settings(settings.as_ref(), &self.actor, Utc::now())
            .await?;
        Ok(mail_settings_of(&org))
    }
}

fn form_of(settings: Option<&MailSettings>) -> MailSettingsForm {
    let typed = TypedMailSettings::of(settings);
    MailSettingsForm {
        imap_host: typed.imap_host,
        imap_port: typed.imap_port,
        imap_tls: typed.imap_tls,
        smtp_host: typed.smtp_host,
        smtp_port: typed.smtp_port,
        smtp_tls: typed.smtp_tls,
        caldav_url: typed.caldav_url,
        carddav_url: typed.carddav_url,
    }
}

impl ServerBackend {
    /// The console's read of the mail settings (administrators only).
    pub(in crate::use_cases) async fn console_mail_settings(
        &self,
        context: &RequestContext,
    ) -> Result<MailSettingsForm, AppError> {
        let admin = self.administration_for(context).await?;
        Ok(form_of(admin.mail_settings().await?.as_ref()))
    }

    /// The console's change of the mail settings (administrators with a recent sign-in).
    pub(in crate::use_cases) async fn console_set_mail_settings(
        &self,
        context: &RequestContext,
        typed: MailSettingsForm,
        check: &IdentityCheck,
    ) -> Result<MailSettingsForm, AppError> {
        let admin = self.administration_for_change(context, check).await?;
        let typed = TypedMailSettings {
            imap_host: typed.imap_host,
            imap_port: typed.imap_port,
            imap_tls: typed.imap_tls,
            smtp_host: typed.smtp_host,
            smtp_port: typed.smtp_port,
            smtp_tls: typed.smtp_tls,
            caldav_url: typed.caldav_url,
            carddav_url: typed.carddav_url,
        };
        Ok(form_of(admin.set_mail_settings(&typed).await?.as_ref()))
    }
}
