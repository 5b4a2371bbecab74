//! Signing in and out, the signed-in user, and the account methods on Security info
//! (password, authenticator app): thin server functions (their types are in `crate::model`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{ActivityPage, AuthenticatorEnrollment, CurrentUser, SecurityInfo, SignInStep};
use crate::secret::Secret;

#[cfg(feature = "ssr")]
mod ssr {
    use axum::http::{HeaderValue, header};
    use leptos::prelude::use_context;

    use crate::backend::SetCookie;
    use crate::error::AppError;

    /// Sends the `Set-Cookie` headers with the response.
    pub fn set_cookie(cookies: &SetCookie) -> Result<(), AppError> {
        for value in cookies.values() {
            let value = HeaderValue::from_str(value).map_err(|_| AppError::Internal)?;
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.append_header(header::SET_COOKIE, value);
            }
        }
        Ok(())
    }
}

/// The signed-in user, or `None`.
#[server(endpoint = "current_user")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .current_user(&crate::backend::request_context().await)
                .await
        }
        .await,
    )
}

/// Checks username and password. Signs in (and goes to `next`), or goes on to the code step.
/// A refusal comes back to the password step: as the answer to the WebAssembly, or for a plain
/// form post through Leptos' `__err` query on the page it came from.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: Secret,
    next: Option<String>,
) -> Result<SignInStep, AppError> {
    let next = next.unwrap_or_default();
    let result = async {
        let backend = crate::backend::backend()?;
        let context = crate::backend::request_context().await;
        let (step, cookie) = backend
            .sign_in(&context, &username, password.expose())
            .await?;
        ssr::set_cookie(&cookie)?;
        match step {
            SignInStep::SignedIn => leptos_axum::redirect(&backend.return_path(&next)),
            SignInStep::TwoStepRequired => {
                leptos_axum::redirect(&format!("{SECURITY_INFO}?add=authenticator"))
            }
            SignInStep::CodeRequired => {
                leptos_axum::redirect(&format!("/signin?step=code&next={}", urlencode(&next)))
            }
        }
        Ok(step)
    }
    .await;
    crate::backend::respond(result)
}

/// Completes a sign-in with the authenticator app's code.
#[server(endpoint = "verify_sign_in_code")]
pub async fn verify_sign_in_code(code: Secret, next: Option<String>) -> Result<(), AppError> {
    let next = next.unwrap_or_default();
    let result = async {
        let backend = crate::backend::backend()?;
        let context = crate::backend::request_context().await;
        let cookie = backend.verify_sign_in_code(&context, code.expose()).await?;
        ssr::set_cookie(&cookie)?;
        leptos_axum::redirect(&backend.return_path(&next));
        Ok(())
    }
    .await;
    crate::backend::respond(result)
}

/// Asks for a sign-in link by mail for `username`, whose sign-ins are held back
/// (`AppError::SignInHeldBack`); then back to the password step, which says a link is on its
/// way if the name has a mail address here (the same answer for every name).
#[server(endpoint = "mail_sign_in_link")]
pub async fn mail_sign_in_link(username: String, next: Option<String>) -> Result<(), AppError> {
    let next = next.unwrap_or_default();
    let result = async {
        let backend = crate::backend::backend()?;
        let context = crate::backend::request_context().await;
        backend.mail_sign_in_link(&context, &username).await?;
        leptos_axum::redirect(&format!(
            "/signin?username={}&next={}&link=mailed",
            urlencode(&username),
            urlencode(&next)
        ));
        Ok(())
    }
    .await;
    crate::backend::respond(result)
}

/// Uses a mailed sign-in link: this browser is remembered for the link's person, who then
/// signs in with their password (the password step, their name filled in) past the hold.
#[server(endpoint = "use_sign_in_link")]
pub async fn use_sign_in_link(token: Secret) -> Result<(), AppError> {
    let result = async {
        let backend = crate::backend::backend()?;
        let context = crate::backend::request_context().await;
        let (username, cookie) = backend.use_sign_in_link(&context, token.expose()).await?;
        ssr::set_cookie(&cookie)?;
        leptos_axum::redirect(&format!(
            "/signin?username={}&link=used",
            urlencode(&username)
        ));
        Ok(())
    }
    .await;
    crate::backend::respond(result)
}

/// Ends this session.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            let cookie = backend
                .sign_out(&crate::backend::request_context().await)
                .await?;
            ssr::set_cookie(&cookie)?;
            leptos_axum::redirect("/signin?signed_out=1");
            Ok(())
        }
        .await,
    )
}

/// Ends every session of the signed-in user, this one included.
#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            let cookie = backend
                .sign_out_everywhere(&crate::backend::request_context().await)
                .await?;
            ssr::set_cookie(&cookie)?;
            leptos_axum::redirect("/signin?signed_out=everywhere");
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "security_info")]
pub async fn get_security_info() -> Result<SecurityInfo, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .security_info(&crate::backend::request_context().await)
                .await
        }
        .await,
    )
}

/// What Add method leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddMethodAnswer {
    /// Adding an authenticator app has started: show its QR code and ask for a code.
    Authenticator(AuthenticatorEnrollment),
    /// The app-password steps (their first step asks for the app's name).
    AppPassword,
}

/// Add method: `method` is `authenticator` (starts adding one: a new secret, shown as QR code and
/// text; after 10 minutes without a sign-in, `password` confirms it's the person first) or
/// `app_password` (the app-password steps). A plain form post goes on to the chosen step's page.
#[server(endpoint = "add_method")]
pub async fn add_method(
    method: String,
    password: Option<Secret>,
) -> Result<AddMethodAnswer, AppError> {
    let result = async {
        let backend = crate::backend::backend()?;
        let context = crate::backend::request_context().await;
        if backend.current_user(&context).await?.is_none() {
            return Err(AppError::Unauthorized);
        }
        let answer = match method.as_str() {
            "authenticator" => AddMethodAnswer::Authenticator(
                backend
                    .begin_authenticator(
                        &context,
                        password.as_ref().map(Secret::expose).unwrap_or_default(),
                    )
                    .await?,
            ),
            "app_password" => AddMethodAnswer::AppPassword,
            _ => return Err(AppError::invalid("method", "Choose a method to add.")),
        };
        if crate::backend::is_form_post() {
            leptos_axum::redirect(&format!("{SECURITY_INFO}?add={method}"));
        }
        Ok(answer)
    }
    .await;
    crate::backend::respond(result)
}

/// The authenticator app being added but not confirmed yet, if any: its QR code again.
#[server(endpoint = "pending_authenticator")]
pub async fn get_pending_authenticator() -> Result<Option<AuthenticatorEnrollment>, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .pending_authenticator(&crate::backend::request_context().await)
                .await
        }
        .await,
    )
}

/// Finishes adding the authenticator app with a first code from it.
#[server(endpoint = "confirm_authenticator")]
pub async fn confirm_authenticator(code: Secret) -> Result<(), AppError> {
    let result = async move {
        let backend = crate::backend::backend()?;
        backend
            .confirm_authenticator(&crate::backend::request_context().await, code.expose())
            .await?;
        back_to_security_info_after_form_post("");
        Ok(())
    }
    .await;
    crate::backend::respond(result)
}

/// Deletes the authenticator app. After 10 minutes without a sign-in, the password and a code
/// are needed too.
#[server(endpoint = "delete_authenticator")]
pub async fn delete_authenticator(
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<(), AppError> {
    let result = async move {
        let backend = crate::backend::backend()?;
        backend
            .delete_authenticator(
                &crate::backend::request_context().await,
                password.as_ref().map(Secret::expose).unwrap_or_default(),
                code.as_ref().map(Secret::expose).unwrap_or_default(),
            )
            .await?;
        back_to_security_info_after_form_post("");
        Ok(())
    }
    .await;
    crate::backend::respond(result)
}

/// Changes the account password; other sessions are signed out.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: Secret,
    new_password: Secret,
    confirm_password: Secret,
    code: Option<Secret>,
) -> Result<(), AppError> {
    let result = async move {
        let backend = crate::backend::backend()?;
        let context = crate::backend::request_context().await;
        backend
            .change_password(
                &context,
                current_password.expose(),
                new_password.expose(),
                confirm_password.expose(),
                code.as_ref().map(Secret::expose).unwrap_or_default(),
            )
            .await?;
        back_to_security_info_after_form_post("?change=password&step=done");
        Ok(())
    }
    .await;
    crate::backend::respond(result)
}

/// The Security info page.
pub const SECURITY_INFO: &str = "/security-info";

/// After a plain form post that succeeded, goes on to Security info (with `query`).
#[cfg(feature = "ssr")]
fn back_to_security_info_after_form_post(query: &str) {
    if crate::backend::is_form_post() {
        leptos_axum::redirect(&format!("{SECURITY_INFO}{query}"));
    }
}

/// Percent-encodes a query value (only what a return path may contain needs care).
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A page of the person's recent activity, newest first; `before` is where an older page
/// starts (`ActivityPage::older`).
#[server(endpoint = "recent_activity")]
pub async fn get_recent_activity(before: Option<i32>) -> Result<ActivityPage, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .recent_activity(&crate::backend::request_context().await, before)
                .await
        }
        .await,
    )
}

/// Dismisses Security info's preview notice for good. A plain form post goes back to
/// Security info.
#[server(endpoint = "dismiss_preview_notice")]
pub async fn dismiss_preview_notice() -> Result<(), AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .dismiss_preview_notice(&crate::backend::request_context().await)
                .await?;
            if crate::backend::is_form_post() {
                leptos_axum::redirect(SECURITY_INFO);
            }
            Ok(())
        }
        .await,
    )
}

/// "Confirm it's you": the person's password (and code); changes that need a recent sign-in
/// then need nothing more for 10 minutes. Asked by the admin console; a plain form post goes
/// back to it.
#[server(endpoint = "confirm_its_you")]
pub async fn confirm_its_you(
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<(), AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .confirm_its_you(&crate::backend::request_context().await, &check)
                .await?;
            if crate::backend::is_form_post() {
                leptos_axum::redirect(&crate::backend::page_after_admin_form_post());
            }
            Ok(())
        }
        .await,
    )
}
