//! The page a one-time password link opens: whom it is for, and setting the password with it.
//! Holding the link is the proof; it works once, for a day, or an hour when it was mailed
//! (`domain::password_link`).
//!
//! "Forgot password?" (mail set up, and the organization's `reset-password-by-mail` on): the
//! request is counted per address (refused past the limit, whatever the names) and per name
//! (past it, nothing more is mailed, and the answer is the same); then the link is made and
//! queued *after* the answer, by the same task for every name, so neither the answer nor its
//! time tells whether the name exists, is enabled or has a mail address. The link is kept
//! with the audit event its mail is made from, in one transaction (`db::password_links`);
//! the mail is written when it is sent ([`password_reset_mail`]).

use app::backend::{PasswordLinkUseCases, RequestContext};
use app::error::{AppError, Refusal};
use app::model::PasswordLinkFor;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::known_devices::sign_in_name_key;
use super::{ServerBackend, actor, client_ip, throttled_until};
use crate::db::entities::audit_event;
use crate::db::{Actor, NewPasswordLink, Store, StoreError, mailed_password_link_id};
use crate::domain::password_link::{self, Purpose, ResetMail};
use crate::domain::random::OsRandom;
use crate::domain::{account, password};
use crate::secret_key::SecretKey;
use crate::use_cases::sign_in_limits;

/// Purpose string for sealing a mailed password link's token with the server key.
const PASSWORD_LINK_SEAL_PURPOSE: &str = "latchkey password link v1";

/// What a sealed link token is bound to: its person.
fn link_owner(user_id: i32) -> Vec<u8> {
    format!("password link of user {user_id}").into_bytes()
}

#[async_trait]
impl PasswordLinkUseCases for ServerBackend {
    async fn password_link(&self, token: &str) -> Result<PasswordLinkFor, AppError> {
        if !password_link::is_well_formed(token) {
            return Err(AppError::NotFound);
        }
        let (link, person) = self
            .store
            .password_link(&password_link::token_hash(token), Utc::now())
            .await?
            .ok_or(AppError::NotFound)?;
        let purpose = Purpose::parse(&link.purpose);
        Ok(PasswordLinkFor {
            username: person.username,
            display_name: person.display_name,
            first_password: purpose == Some(Purpose::Welcome),
            mailed: purpose == Some(Purpose::Forgot),
        })
    }

    async fn set_password_with_link(
        &self,
        token: &str,
        new_password: &str,
        confirmation: &str,
        context: &RequestContext,
    ) -> Result<String, AppError> {
        // Whom it is for first: a link that does not work says so before the password's rules.
        let person = self.password_link(token).await?;
        account::check_new_password(new_password, confirmation, &person.username)?;
        let hash = password::hash_password_blocking(new_password.to_owned()).await?;
        let person = self
            .store
            .set_password_with_link(
                &password_link::token_hash(token),
                hash,
                &actor(context),
                Utc::now(),
            )
            .await?;
        tracing::info!(user = %person.username, "password set with a one-time link");
        Ok(person.username)
    }

    async fn reset_by_mail_offered(&self) -> Result<bool, AppError> {
        if !self.settings.mail_configured {
            return Ok(false);
        }
        Ok(self
            .store
            .organization()
            .await?
            .is_some_and(|org| org.reset_password_by_mail))
    }

    async fn mail_password_link(
        &self,
        context: &RequestContext,
        username: &str,
    ) -> Result<(), AppError> {
        self.check_ip_rate(context).await?;
        if !self.reset_by_mail_offered().await? {
            return Err(AppError::Forbidden(Refusal::ResetByMailOff));
        }
        if username.trim().is_empty() {
            return Err(AppError::invalid("username", "Enter your sign-in name."));
        }
        let now = Utc::now();
        if let Err(until) =
            sign_in_limits::begin_reset_request(&self.store, client_ip(context), now).await?
        {
            return Err(throttled_until(until, now));
        }
        // Counted per name whether or not it exists: past the limit nothing more is mailed.
        let name_key = sign_in_name_key(username);
        if !sign_in_limits::may_mail_password_link(&self.store, &name_key, now).await? {
            return Ok(());
        }
        // After the answer, the same task for every name: whether it exists (and a mail goes)
        // must not show in the answer or in how long it takes.
        let (store, key, actor) = (self.store.clone(), self.secret_key.clone(), actor(context));
        tokio::spawn(async move {
            if let Err(error) = queue_link(&store, &key, &name_key, &actor, Utc::now()).await {
                tracing::warn!(%error, "could not queue a password link mail");
                let given_back =
                    sign_in_limits::give_back_password_link_mail(&store, &name_key, Utc::now());
                if let Err(error) = given_back.await {
                    tracing::warn!(%error, "could not give back the password link mail");
                }
            }
        });
        Ok(())
    }
}

/// Makes and keeps a mailed link for the person named `name_key`, with the audit event its
/// mail is made from, if they exist, are enabled and their sign-in name is a mail address.
async fn queue_link(
    store: &Store,
    key: &SecretKey,
    name_key: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(person) = store.user_by_key(name_key).await? else {
        return Ok(());
    };
    if !person.is_enabled || person.username.parse::<lettre::message::Mailbox>().is_err() {
        return Ok(());
    }
    let token = password_link::new_token(&mut OsRandom);
    let link = NewPasswordLink {
        token_hash: password_link::token_hash(&token),
        purpose: Purpose::Forgot,
        expires_at: password_link::mailed_expires_at(now),
        token_sealed: Some(key.seal(
            PASSWORD_LINK_SEAL_PURPOSE,
            &link_owner(person.id),
            token.as_bytes(),
            &mut OsRandom,
        )),
    };
    store.mail_password_link(person.id, link, actor, now).await
}

/// The link's address on the site at `public_url` (no trailing slash): the page that sets the
/// password, which asks for it before using the link (mail scanners open links, but do not
/// fill in forms).
fn link_url(public_url: &str, token: &str) -> String {
    use app::routes::{Page, TokenQuery};
    let token = TokenQuery {
        token: token.to_owned(),
    };
    format!("{public_url}{}", Page::SetPassword.with(&token))
}

/// The mail of a `password.reset_link_mailed` audit event (made when it is sent, by the mail
/// job): `None` when the link no longer works (used, replaced or expired: nothing worth
/// mailing).
pub async fn password_reset_mail(
    store: &Store,
    key: &SecretKey,
    event: &audit_event::Model,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<Option<ResetMail>, StoreError> {
    let Some(id) = mailed_password_link_id(&event.detail) else {
        return Ok(None);
    };
    let Some((link, person)) = store.mailed_password_link(id, now).await? else {
        return Ok(None);
    };
    let token = link
        .token_sealed
        .as_deref()
        .and_then(|sealed| key.open(PASSWORD_LINK_SEAL_PURPOSE, &link_owner(person.id), sealed))
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some(token) = token else {
        tracing::warn!(
            link = id,
            "a mailed password link's token does not open with this key"
        );
        return Ok(None);
    };
    Ok(Some(password_link::reset_mail(
        &person.display_name,
        &person.username,
        &link_url(public_url, &token),
        event.ip.as_deref(),
        event.created_at,
    )))
}
