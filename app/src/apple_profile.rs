//! "Set up an iPhone, iPad or Mac": the organization's mail settings (entered by
//! administrators in the console) and, from them, an Apple configuration profile carrying a
//! new app password. The profile itself is not a server function's answer but a file: a plain
//! form post to [`APPLE_PROFILE_DOWNLOAD`] (works without JavaScript) or the QR code's
//! single-use link [`APPLE_PROFILE_LINK`], both answered by the server's router.

// `set_mail_settings` takes one argument per form field (the macro's code has them too, out of
// reach of an attribute on the function).
#![allow(clippy::too_many_arguments)]

pub use crate::apple_profile_model::{AppleProfileOffer, MailSettingsForm};
use crate::error::AppError;
use crate::secret::Secret;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{Next, call};

/// Where the dialog's form posts `id` and `password` to download the profile.
pub const APPLE_PROFILE_DOWNLOAD: &str = "/app-passwords/apple-profile";
/// The QR code's single-use link: this path, then `?token=`.
pub const APPLE_PROFILE_LINK: &str = "/apple-profile";

#[cfg(feature = "ssr")]
impl crate::backend::Refetchable for MailSettingsForm {}

/// The organization's mail settings, for administrators.
#[server(endpoint = "admin_mail_settings")]
pub async fn get_mail_settings() -> Result<MailSettingsForm, AppError> {
    call(|backend, context| async move { backend.mail_settings(&context).await })
        .await
        .answer()
}

/// Sets the organization's mail settings (all fields empty: none); answers with them as kept.
/// A plain form post goes back to the console.
#[server(endpoint = "admin_set_mail_settings")]
pub async fn set_mail_settings(
    imap_host: String,
    imap_port: String,
    imap_tls: Option<String>,
    smtp_host: String,
    smtp_port: String,
    smtp_tls: Option<String>,
    caldav_url: String,
    carddav_url: String,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<MailSettingsForm, AppError> {
    let typed = MailSettingsForm {
        imap_host,
        imap_port,
        imap_tls: imap_tls.is_some(),
        smtp_host,
        smtp_port,
        smtp_tls: smtp_tls.is_some(),
        caldav_url,
        carddav_url,
    };
    let check = crate::model::IdentityCheck::from_fields(password, code);
    let kept = crate::form_post::TypedForm::MailSettings(typed.clone());
    call(|backend, context| async move { backend.set_mail_settings(&context, typed, &check).await })
        .await
        .show_on_page(|result| {
            let console = crate::backend::admin_console_of(crate::backend::referer().as_ref());
            Next::typed_again(result, console.link(), kept)
        })
}
