//! Known devices and mailed sign-in links: how a person gets past their account's ceiling of
//! sign-in attempts while an attack from many addresses holds it up (issue 29).
//!
//! - A complete sign-in (and a used sign-in link) gives the browser the known-device cookie
//!   (`domain::known_device`); a password attempt presenting a valid one for its name is
//!   counted per device instead of against the ceiling (`sign_in_limits`).
//! - A sign-in refused by the ceiling says so ([`AppError::SignInHeldBack`]) and, when mail
//!   is set up, offers a link by mail. Asking for one answers the same whatever the name, and
//!   the link is made and queued after the answer (so its timing tells nothing either): in one
//!   transaction with the audit event its mail is made from (`db::sign_in_links`). The mail is
//!   written when it is sent ([`sign_in_link_mail`]).
//! - Opening the link and pressing its one button uses it up and remembers that browser.

use app::backend::{RequestContext, SetCookie};
use app::error::AppError;
use chrono::{DateTime, Utc};

use super::{ServerBackend, actor, wait_words};
use crate::db::entities::{audit_event, user};
use crate::db::{Actor, NewSignInLink, Store, StoreError, mailed_link_id};
use crate::domain::account;
use crate::domain::known_device::{self, Device};
use crate::domain::random::OsRandom;
use crate::domain::sign_in_link::{self, LinkMail};
use crate::secret_key::SecretKey;
use crate::use_cases::sign_in_limits;

/// Purpose string for sealing a sign-in link's token with the server key (for its mail).
const SIGN_IN_LINK_SEAL_PURPOSE: &str = "latchkey sign-in link v1";

/// What a sealed link token is bound to: its person.
fn link_owner(user_id: i32) -> Vec<u8> {
    format!("sign-in link of user {user_id}").into_bytes()
}

/// The key a sign-in name is counted under (names that cannot exist are counted too).
pub(super) fn sign_in_name_key(username: &str) -> String {
    account::Username::parse(username)
        .map_or_else(|_| account::lookup_key(username), |u| u.key().to_owned())
}

impl ServerBackend {
    /// The name of the known-device cookie (`__Host-` behind https, like the session's).
    pub fn device_cookie_name(&self) -> &'static str {
        if self.settings.secure_cookies {
            known_device::SECURE_COOKIE
        } else {
            known_device::COOKIE
        }
    }

    fn device_cookie(&self, value: String) -> SetCookie {
        let cookie = cookie::Cookie::build((self.device_cookie_name(), value))
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.settings.secure_cookies)
            .path("/")
            .max_age(cookie::time::Duration::seconds(
                known_device::LIFETIME.num_seconds(),
            ))
            .build();
        SetCookie::new(cookie.to_string())
    }

    /// `name_key`'s known device in this browser, if the request carries a valid cookie for
    /// it (anything else in the cookie is ignored).
    pub(super) fn known_device(&self, context: &RequestContext, name_key: &str) -> Option<Device> {
        let cookie = context.known_device.as_deref()?;
        known_device::recognise(&self.secret_key, name_key, cookie, Utc::now())
    }

    /// Remembers this browser for `person`, who completed a sign-in in it (or used a mailed
    /// link): the device cookie to send.
    pub(super) fn remember_browser(
        &self,
        context: &RequestContext,
        person: &user::Model,
    ) -> SetCookie {
        let remembered = known_device::remember(
            &self.secret_key,
            &person.username_key,
            context.known_device.as_deref(),
            &mut OsRandom,
            Utc::now(),
        );
        self.device_cookie(remembered.value)
    }

    /// The answer when the account's ceiling refuses a sign-in until `until`.
    pub(super) fn held_back(&self, until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
        let seconds = u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1);
        let instead = if self.settings.mail_configured {
            "Browsers you have signed in with before can sign in now; for this one, you can get a sign-in link by mail."
        } else {
            "Browsers you have signed in with before can sign in now."
        };
        AppError::SignInHeldBack {
            retry_after_seconds: seconds,
            message: format!(
                "Too many wrong passwords were tried for this account from other places. Wait {}, then try again. {instead}",
                wait_words(seconds)
            ),
            link_by_mail: self.settings.mail_configured,
        }
    }

    /// Mails a sign-in link to `username` if mail is set up, its sign-ins are held back and
    /// none was mailed in this window; the same answer in every case.
    pub(super) async fn mail_link(
        &self,
        context: &RequestContext,
        username: &str,
    ) -> Result<(), AppError> {
        self.check_ip_rate(context).await?;
        if !self.settings.mail_configured {
            return Ok(());
        }
        let name_key = sign_in_name_key(username);
        if !sign_in_limits::may_mail_sign_in_link(&self.store, &name_key, Utc::now()).await? {
            return Ok(());
        }
        // After the answer: whether the name exists (and a mail goes) must not show in how
        // long the answer takes.
        let (store, key, actor) = (self.store.clone(), self.secret_key.clone(), actor(context));
        tokio::spawn(async move {
            if let Err(error) = queue_link(&store, &key, &name_key, &actor, Utc::now()).await {
                tracing::warn!(%error, "could not queue a sign-in link mail");
                let given_back =
                    sign_in_limits::give_back_sign_in_link_mail(&store, &name_key, Utc::now());
                if let Err(error) = given_back.await {
                    tracing::warn!(%error, "could not give back the sign-in link mail");
                }
            }
        });
        Ok(())
    }

    /// Uses a mailed sign-in link: this browser becomes its person's known device.
    pub(super) async fn use_link(
        &self,
        context: &RequestContext,
        token: &str,
    ) -> Result<(String, SetCookie), AppError> {
        self.check_ip_rate(context).await?;
        if !sign_in_link::is_well_formed(token) {
            return Err(AppError::NotFound);
        }
        let person = self
            .store
            .use_sign_in_link(
                &sign_in_link::token_hash(token),
                &actor(context),
                Utc::now(),
            )
            .await?;
        let cookie = self.remember_browser(context, &person);
        Ok((person.username, cookie))
    }
}

/// Makes and keeps a link for the person named `name_key`, with the audit event its mail is
/// made from, if they exist, are enabled and their sign-in name is a mail address.
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
    let token = sign_in_link::new_token(&mut OsRandom);
    let link = NewSignInLink {
        token_hash: sign_in_link::token_hash(&token),
        token_sealed: key.seal(
            SIGN_IN_LINK_SEAL_PURPOSE,
            &link_owner(person.id),
            token.as_bytes(),
            &mut OsRandom,
        ),
        expires_at: sign_in_link::expires_at(now),
    };
    store.mail_sign_in_link(person.id, link, actor, now).await
}

/// The mail of a `sign_in.link_mailed` audit event (made when it is sent, by `alerts`): `None`
/// when the link no longer works (used, replaced or expired: nothing worth mailing).
pub async fn sign_in_link_mail(
    store: &Store,
    key: &SecretKey,
    event: &audit_event::Model,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<Option<LinkMail>, StoreError> {
    let Some(id) = mailed_link_id(&event.detail) else {
        return Ok(None);
    };
    let Some((link, person)) = store.sign_in_link(id, now).await? else {
        return Ok(None);
    };
    let token = key
        .open(
            SIGN_IN_LINK_SEAL_PURPOSE,
            &link_owner(person.id),
            &link.token_sealed,
        )
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some(token) = token else {
        tracing::warn!(
            link = id,
            "a sign-in link's token does not open with this key"
        );
        return Ok(None);
    };
    Ok(Some(sign_in_link::mail(
        &person.display_name,
        &person.username,
        &sign_in_link::url(public_url, &token),
        event.ip.as_deref(),
        event.created_at,
    )))
}
