//! The organization's mail settings (columns of `organizations`, migration 24) and the
//! single-use links to an Apple configuration profile (`apple_profile_links`): setting the
//! former, issuing and claiming the latter, and auditing every profile given out.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::audit::AuditNote;
use super::entities::{app_password, apple_profile_link, organization};
use super::store::{Actor, ORGANIZATION_ID, Store, StoreError};
use crate::domain::mail_settings::{MailServer, MailSettings};

/// A profile link to keep: the keyed hash of its token, whose app password it is, until when.
#[derive(Clone)]
pub struct NewAppleProfileLink {
    pub user_id: i32,
    pub app_password_id: i32,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewAppleProfileLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAppleProfileLink")
            .field("user_id", &self.user_id)
            .field("app_password_id", &self.app_password_id)
            .field("token_hash", &app::secret::Redacted)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How a profile left the server, for its audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileDelivery {
    /// Downloaded from the dialog that shows the new app password.
    Download,
    /// Taken with the QR code's single-use link.
    QrLink,
}

/// The mail settings an organization row holds, when both servers are set.
pub fn mail_settings_of(org: &organization::Model) -> Option<MailSettings> {
    let server = |host: &Option<String>, port: Option<i32>, tls: bool| {
        Some(MailServer {
            host: host.clone()?,
            port: u16::try_from(port?).ok()?,
            tls,
        })
    };
    Some(MailSettings {
        imap: server(&org.mail_imap_host, org.mail_imap_port, org.mail_imap_tls)?,
        smtp: server(&org.mail_smtp_host, org.mail_smtp_port, org.mail_smtp_tls)?,
        caldav_url: org.mail_caldav_url.clone(),
        carddav_url: org.mail_carddav_url.clone(),
    })
}

/// The settings as the audit log and `latchkey admin org show` say them.
pub fn describe_mail_settings(settings: Option<&MailSettings>) -> String {
    let Some(settings) = settings else {
        return "none".to_owned();
    };
    let server = |server: &MailServer| {
        format!(
            "{}:{} ({})",
            server.host,
            server.port,
            if server.tls { "TLS" } else { "no TLS" }
        )
    };
    format!(
        "IMAP {}; SMTP {}; CalDAV {}; CardDAV {}",
        server(&settings.imap),
        server(&settings.smtp),
        settings.caldav_url.as_deref().unwrap_or("none"),
        settings.carddav_url.as_deref().unwrap_or("none"),
    )
}

impl Store {
    /// Sets (or, with `None`, clears) the organization's mail settings and audits it, in one
    /// transaction.
    pub async fn set_mail_settings(
        &self,
        settings: Option<&MailSettings>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<organization::Model, StoreError> {
        let txn = self.begin_write().await?;
        let org = organization::Entity::find_by_id(ORGANIZATION_ID)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotSetUp)?;
        let mut active: organization::ActiveModel = org.into();
        let imap = settings.map(|s| &s.imap);
        let smtp = settings.map(|s| &s.smtp);
        active.mail_imap_host = Set(imap.map(|s| s.host.clone()));
        active.mail_imap_port = Set(imap.map(|s| i32::from(s.port)));
        active.mail_imap_tls = Set(imap.is_none_or(|s| s.tls));
        active.mail_smtp_host = Set(smtp.map(|s| s.host.clone()));
        active.mail_smtp_port = Set(smtp.map(|s| i32::from(s.port)));
        active.mail_smtp_tls = Set(smtp.is_none_or(|s| s.tls));
        active.mail_caldav_url = Set(settings.and_then(|s| s.caldav_url.clone()));
        active.mail_carddav_url = Set(settings.and_then(|s| s.carddav_url.clone()));
        let org = active.update(&txn).await?;
        AuditNote::new("mail_settings.changed", describe_mail_settings(settings))
            .row(None, actor, now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        Ok(org)
    }

    /// Keeps a new profile link; links of anyone that expired before `now` go in the same
    /// transaction, so the table holds only the last minutes' links.
    pub async fn add_apple_profile_link(
        &self,
        link: NewAppleProfileLink,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        apple_profile_link::Entity::delete_many()
            .filter(apple_profile_link::Column::ExpiresAt.lte(now))
            .exec(&txn)
            .await?;
        apple_profile_link::Entity::insert(apple_profile_link::ActiveModel {
            user_id: Set(link.user_id),
            app_password_id: Set(link.app_password_id),
            token_hash: Set(link.token_hash),
            expires_at: Set(link.expires_at),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Claims the profile link with this token hash if it has not expired by `now`: it is
    /// deleted, so of two claims at once one gets it. Answers with the link and its app
    /// password (gone if the app password was deleted meanwhile).
    pub async fn claim_apple_profile_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(apple_profile_link::Model, app_password::Model)>, StoreError> {
        let txn = self.begin_write().await?;
        let Some(link) = apple_profile_link::Entity::find()
            .filter(apple_profile_link::Column::TokenHash.eq(token_hash))
            .one(&txn)
            .await?
        else {
            return Ok(None);
        };
        let claimed = apple_profile_link::Entity::delete_many()
            .filter(apple_profile_link::Column::Id.eq(link.id))
            .exec(&txn)
            .await?
            .rows_affected;
        let app = app_password::Entity::find_by_id(link.app_password_id)
            .filter(app_password::Column::UserId.eq(link.user_id))
            .one(&txn)
            .await?;
        txn.commit().await?;
        Ok(app
            .filter(|_| claimed == 1 && link.expires_at > now)
            .map(|app| (link, app)))
    }

    /// Audits that the profile of app password `app` left the server.
    pub async fn record_apple_profile(
        &self,
        app: &app_password::Model,
        delivery: ProfileDelivery,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let how = match delivery {
            ProfileDelivery::Download => "downloaded",
            ProfileDelivery::QrLink => "taken with its QR code",
        };
        let txn = self.begin_write().await?;
        AuditNote::new(
            "app_password.profile",
            format!(
                "Apple configuration profile for '{}' (id {}) {how}",
                app.name, app.id
            ),
        )
        .row(Some(app.user_id), actor, now)
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
