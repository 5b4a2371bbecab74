//! "Set up an iPhone, iPad or Mac": the Apple configuration profile of a new app password
//! ([`AppleProfileUseCases`]), built from the organization's mail settings.
//!
//! The server never keeps an app password in plain text, so the profile can only be made
//! while someone holds the password, that is while the dialog showing it is open:
//!
//! - **Download** (a plain form post, works without JavaScript): the dialog's form sends the
//!   app password's id and the password it shows. The person must be signed in and the
//!   password must be theirs and that one: its keyed lookup hash (HMAC with the server key,
//!   unique) is compared, in constant time, with the row of that id and owner. No argon2 is
//!   needed: without the server key a lookup hash cannot be made, and it is as long as a
//!   password of 75 bits is strong.
//! - **QR code** (a phone takes the profile from a desktop's screen): the dialog asks for a
//!   single-use link, valid 10 minutes. Its token is a random nonce and the password sealed
//!   with the server key (ChaCha20-Poly1305, bound to the person, the app password and the
//!   nonce); the database keeps only the token's keyed hash, the owner and the expiry, so a
//!   copy of the database gives neither the password nor a working link. Taking the profile
//!   deletes the row first (one of two requests at once wins), then opens the password and
//!   checks it is still that app password's.
//!
//! Every profile given out is audited ("app_password.profile"). Times come in as `now`, so the
//! tests move the clock instead of waiting.

use app::apple_profile::{APPLE_PROFILE_LINK, AppleProfileOffer, MailSettingsForm};
use app::backend::{AppleProfileUseCases, RequestContext};
use app::error::{AppError, Refusal};
use app::model::{AppPasswordKind, IdentityCheck};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{ServerBackend, SignedIn, actor};
use crate::db::entities::{app_password, organization, user};
use crate::db::{NewAppleProfileLink, ProfileDelivery, mail_settings_of};
use crate::domain::app_password::{AppPasswordSecret, LOOKUP_PURPOSE};
use crate::domain::apple_profile::{self, ProfileFor};
use crate::domain::mail_settings::MailSettings;
use crate::domain::random::{OsRandom, random_hex};

/// How long the QR code's link can be used.
pub const LINK_LIFETIME: Duration = Duration::minutes(10);
/// Purpose of the link token's keyed hash (what the database keeps).
const LINK_HASH_PURPOSE: &str = "latchkey apple profile link hash v1";
/// Purpose of the key that seals the password inside the link's token.
const LINK_SEAL_PURPOSE: &str = "latchkey apple profile link v1";
/// What a sealed value made here starts with (bound to its owner).
const BOUND_SEAL: &str = "2.";
/// Longer tokens are not ours: refused before hashing.
const MAX_TOKEN_CHARS: usize = 256;

/// A profile ready to send. `Debug` hides its contents (they hold the password).
pub struct ProfileFile {
    pub file_name: String,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for ProfileFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileFile")
            .field("file_name", &self.file_name)
            .field("body", &app::secret::Redacted)
            .finish()
    }
}

/// What the sealed password of a link is bound to.
fn link_owner(user_id: i32, app_password_id: i32, nonce: &str) -> Vec<u8> {
    format!("apple profile link {user_id} {app_password_id} {nonce}").into_bytes()
}

impl ServerBackend {
    /// The profile of the signed-in person's app password `id`, when `password` is it (the
    /// dialog's download form).
    pub async fn apple_profile_download(
        &self,
        context: &RequestContext,
        id: i32,
        password: &str,
    ) -> Result<ProfileFile, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        let (app, secret) = self.own_app_password(&signed_in, id, password).await?;
        let (org, settings) = self.mail_setup(context).await?.ok_or(AppError::NotFound)?;
        let file = profile_file(&org, &settings, &app, &signed_in.user, &secret)?;
        self.store
            .record_apple_profile(&app, ProfileDelivery::Download, &actor(context), Utc::now())
            .await?;
        Ok(file)
    }

    /// A new single-use link to the profile of the signed-in person's app password `id` (which
    /// `password` must be), valid [`LINK_LIFETIME`] from `now`, with its QR code; `None`
    /// without mail settings.
    pub async fn issue_apple_profile_link(
        &self,
        context: &RequestContext,
        id: i32,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AppleProfileOffer>, AppError> {
        let signed_in = self.require_signed_in(context).await?;
        // App passwords the organization does not allow get no profile either.
        if !self.policy(context).await?.0 {
            return Err(AppError::Forbidden(Refusal::AppPasswordsNotAllowed));
        }
        let Some((_, settings)) = self.mail_setup(context).await? else {
            return Ok(None);
        };
        let (app, secret) = self.own_app_password(&signed_in, id, password).await?;
        if !apple_profile::sets_up_anything(stored_kind(&app), &settings) {
            return Ok(None);
        }
        self.seal_apple_profile_link(&app, &secret, now)
            .await
            .map(Some)
    }

    /// A new single-use link to the profile of `app`, whose password is `secret` (the caller
    /// has checked both: [`Self::issue_apple_profile_link`], or the creation that just made
    /// them), valid [`LINK_LIFETIME`] from `now`, with its QR code.
    pub(super) async fn seal_apple_profile_link(
        &self,
        app: &app_password::Model,
        secret: &AppPasswordSecret,
        now: DateTime<Utc>,
    ) -> Result<AppleProfileOffer, AppError> {
        let nonce = random_hex(&mut OsRandom, 16);
        let sealed = self.secret_key.seal(
            LINK_SEAL_PURPOSE,
            &link_owner(app.user_id, app.id, &nonce),
            secret.as_str().as_bytes(),
            &mut OsRandom,
        );
        let token = format!("{nonce}.{sealed}");
        self.store
            .add_apple_profile_link(
                NewAppleProfileLink {
                    user_id: app.user_id,
                    app_password_id: app.id,
                    token_hash: self
                        .secret_key
                        .keyed_hash(LINK_HASH_PURPOSE, token.as_bytes()),
                    expires_at: now + LINK_LIFETIME,
                },
                now,
            )
            .await?;
        let link = format!(
            "{}{APPLE_PROFILE_LINK}?token={token}",
            self.settings.public_url
        );
        let qr_svg = crate::domain::totp::qr_svg(&link)?;
        Ok(AppleProfileOffer { link, qr_svg })
    }

    /// The profile behind a QR code's link, if `token` is one that has been neither used nor
    /// expired by `now`; the link is used up either way.
    pub async fn apple_profile_by_link(
        &self,
        context: &RequestContext,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ProfileFile, AppError> {
        let (nonce, sealed) = token
            .split_once('.')
            .filter(|(_, sealed)| token.len() <= MAX_TOKEN_CHARS && sealed.starts_with(BOUND_SEAL))
            .ok_or(AppError::NotFound)?;
        let token_hash = self
            .secret_key
            .keyed_hash(LINK_HASH_PURPOSE, token.as_bytes());
        let (link, app) = self
            .store
            .claim_apple_profile_link(&token_hash, now)
            .await?
            .ok_or(AppError::NotFound)?;
        let secret = self
            .secret_key
            .open(
                LINK_SEAL_PURPOSE,
                &link_owner(link.user_id, link.app_password_id, nonce),
                sealed,
            )
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|letters| AppPasswordSecret::normalize(&letters))
            .filter(|secret| self.is_lookup_hash_of(secret, &app))
            .ok_or(AppError::NotFound)?;
        let owner = self
            .store
            .user(link.user_id)
            .await?
            .filter(|owner| owner.is_enabled)
            .ok_or(AppError::NotFound)?;
        let (org, settings) = self.mail_setup(context).await?.ok_or(AppError::NotFound)?;
        let file = profile_file(&org, &settings, &app, &owner, &secret)?;
        self.store
            .record_apple_profile(&app, ProfileDelivery::QrLink, &actor(context), now)
            .await?;
        Ok(file)
    }

    /// The organization and its mail settings, when it has them.
    pub(super) async fn mail_setup(
        &self,
        context: &RequestContext,
    ) -> Result<Option<(organization::Model, MailSettings)>, AppError> {
        Ok(self
            .organization(context)
            .await?
            .and_then(|org| mail_settings_of(&org).map(|settings| (org, settings))))
    }

    /// The signed-in person's app password `id`, when `password` is it.
    async fn own_app_password(
        &self,
        signed_in: &SignedIn,
        id: i32,
        password: &str,
    ) -> Result<(app_password::Model, AppPasswordSecret), AppError> {
        let refused = || {
            AppError::invalid(
                "password",
                "That is not the app password this dialog shows. Create a new one.",
            )
        };
        let secret = AppPasswordSecret::normalize(password).ok_or_else(refused)?;
        let app = self
            .store
            .app_password_of(signed_in.user.id, id)
            .await?
            .filter(|app| self.is_lookup_hash_of(&secret, app))
            .ok_or_else(refused)?;
        Ok((app, secret))
    }

    fn is_lookup_hash_of(&self, secret: &AppPasswordSecret, app: &app_password::Model) -> bool {
        self.secret_key.verify_keyed_hash(
            LOOKUP_PURPOSE,
            secret.as_str().as_bytes(),
            &app.lookup_hash,
        )
    }
}

/// What `app` may sign in to; a kind this version does not know sets up nothing, as it
/// signs in to nothing.
pub(super) fn stored_kind(app: &app_password::Model) -> AppPasswordKind {
    AppPasswordKind::parse(&app.kind).unwrap_or(AppPasswordKind::SendingOnly)
}

fn profile_file(
    org: &organization::Model,
    settings: &MailSettings,
    app: &app_password::Model,
    owner: &user::Model,
    secret: &AppPasswordSecret,
) -> Result<ProfileFile, AppError> {
    let body = apple_profile::build(
        &ProfileFor {
            organization: &org.name,
            app_password_id: app.id,
            app_name: &app.name,
            display_name: &owner.display_name,
            username: &owner.username,
            password: secret.as_str(),
            kind: stored_kind(app),
            settings,
        },
        &mut OsRandom,
    )
    .map_err(|error| {
        tracing::error!(%error, "an Apple configuration profile could not be written");
        AppError::Internal
    })?;
    Ok(ProfileFile {
        file_name: apple_profile::file_name(&app.name),
        body,
    })
}

#[async_trait]
impl AppleProfileUseCases for ServerBackend {
    async fn mail_settings(&self, context: &RequestContext) -> Result<MailSettingsForm, AppError> {
        self.console_mail_settings(context).await
    }

    async fn set_mail_settings(
        &self,
        context: &RequestContext,
        typed: MailSettingsForm,
        check: &IdentityCheck,
    ) -> Result<MailSettingsForm, AppError> {
        self.console_set_mail_settings(context, typed, check).await
    }

    async fn apple_profile_offer(
        &self,
        context: &RequestContext,
        id: i32,
        password: &str,
    ) -> Result<Option<AppleProfileOffer>, AppError> {
        self.issue_apple_profile_link(context, id, password, Utc::now())
            .await
    }
}
