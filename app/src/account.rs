//! Signing in and out, the signed-in user, and the account methods on Security info
//! (password, authenticator app, recovery codes): thin server functions (their types are in
//! `crate::model`).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{
    ActivityPage, AuthenticatorEnrollment, CurrentUser, NewRecoveryCodes, SecondFactor,
    SecondStepWay, SecurityInfo, SignInStep,
};
pub use crate::model::{AddMethodAnswer, MethodToAdd};
use crate::secret::Secret;

#[cfg(feature = "ssr")]
use crate::backend::{Next, call};
#[cfg(feature = "ssr")]
use crate::routes::{Page, SecurityInfoDialog, SignInQuery};

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
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
    call(|backend, context| async move { backend.current_user(&context).await })
        .await
        .answer()
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
    call(|backend, context| async move {
        let (step, cookie) = backend
            .sign_in(&context, &username, password.expose())
            .await?;
        ssr::set_cookie(&cookie)?;
        let after = match step {
            SignInStep::SignedIn => backend.return_path(&next),
            SignInStep::TwoStepRequired => {
                SecurityInfoDialog::AddAuthenticator.on(Page::SecurityInfo)
            }
            SignInStep::SecondStep(way) => SignInQuery::second_step_with(way, &next).link(),
        };
        Ok((step, after))
    })
    .await
    .on_success(|(_, after)| Next::NavigateTo(after.clone()))
    .map(|(step, _)| step)
}

/// Completes a sign-in with the authenticator app's code.
#[server(endpoint = "verify_sign_in_code")]
pub async fn verify_sign_in_code(code: Secret, next: Option<String>) -> Result<(), AppError> {
    let next = next.unwrap_or_default();
    call(|backend, context| async move {
        let cookie = backend.verify_sign_in_code(&context, code.expose()).await?;
        ssr::set_cookie(&cookie)?;
        Ok(backend.return_path(&next))
    })
    .await
    .on_success(|after| Next::NavigateTo(after.clone()))
    .map(|_| ())
}

/// Completes a sign-in with one of the person's recovery codes, in place of the authenticator
/// app's code; the code never works again. A refusal comes back to the recovery-code step.
#[server(endpoint = "verify_sign_in_recovery_code")]
pub async fn verify_sign_in_recovery_code(
    recovery_code: Secret,
    next: Option<String>,
) -> Result<(), AppError> {
    let next = next.unwrap_or_default();
    call(|backend, context| async move {
        let cookie = backend
            .verify_sign_in_recovery_code(&context, recovery_code.expose())
            .await?;
        ssr::set_cookie(&cookie)?;
        Ok(backend.return_path(&next))
    })
    .await
    .on_success(|after| Next::NavigateTo(after.clone()))
    .map(|_| ())
}

/// Asks for a sign-in link by mail for `username`, whose sign-ins are held back
/// (`AppError::SignInHeldBack`); then back to the password step, which says a link is on its
/// way if the name has a mail address here (the same answer for every name).
#[server(endpoint = "mail_sign_in_link")]
pub async fn mail_sign_in_link(username: String, next: Option<String>) -> Result<(), AppError> {
    let next = next.unwrap_or_default();
    let after = SignInQuery {
        username: Some(username.clone()),
        next: Some(next),
        link: Some("mailed".to_owned()),
        ..SignInQuery::default()
    };
    call(|backend, context| async move { backend.mail_sign_in_link(&context, &username).await })
        .await
        .on_success(|()| Next::NavigateTo(after.link()))
}

/// Uses a mailed sign-in link: this browser is remembered for the link's person, who then
/// signs in with their password (the password step, their name filled in) past the hold.
#[server(endpoint = "use_sign_in_link")]
pub async fn use_sign_in_link(token: Secret) -> Result<(), AppError> {
    call(|backend, context| async move {
        let (username, cookie) = backend.use_sign_in_link(&context, token.expose()).await?;
        ssr::set_cookie(&cookie)?;
        Ok(username)
    })
    .await
    .on_success(|username| {
        let after = SignInQuery {
            username: Some(username.clone()),
            link: Some("used".to_owned()),
            ..SignInQuery::default()
        };
        Next::NavigateTo(after.link())
    })
    .map(|_| ())
}

/// Ends this session.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    call(|backend, context| async move { ssr::set_cookie(&backend.sign_out(&context).await?) })
        .await
        .on_success(|()| Next::NavigateTo(signed_out("1")))
}

/// Ends every session of the signed-in user, this one included.
#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    call(|backend, context| async move {
        ssr::set_cookie(&backend.sign_out_everywhere(&context).await?)
    })
    .await
    .on_success(|()| Next::NavigateTo(signed_out("everywhere")))
}

/// The sign-in page saying the person signed out (`1`: here; `everywhere`).
#[cfg(feature = "ssr")]
pub(crate) fn signed_out(where_: &str) -> String {
    SignInQuery {
        signed_out: Some(where_.to_owned()),
        ..SignInQuery::default()
    }
    .link()
}

#[server(endpoint = "security_info")]
pub async fn get_security_info() -> Result<SecurityInfo, AppError> {
    call(|backend, context| async move { backend.security_info(&context).await })
        .await
        .answer()
}

impl AddMethodAnswer {
    /// The Security info dialog of the step it leads to.
    pub fn next_dialog(&self) -> crate::routes::SecurityInfoDialog {
        use crate::routes::{AppPasswordDialog, SecurityInfoDialog};
        match self {
            Self::Authenticator(_) => SecurityInfoDialog::AddAuthenticator,
            Self::Passkey => SecurityInfoDialog::AddPasskey,
            Self::AppPassword => SecurityInfoDialog::AppPassword(AppPasswordDialog::Create),
        }
    }
}

/// Add method: an authenticator app (starts adding one: a new secret, shown as QR code and
/// text; after 10 minutes without a sign-in, `password` confirms it's the person first), a
/// passkey (its dialog) or an app password (the app-password steps). A plain form post goes on
/// to the chosen step's page.
#[server(endpoint = "add_method")]
pub async fn add_method(
    method: MethodToAdd,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<AddMethodAnswer, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    call(|backend, context| async move {
        if backend.current_user(&context).await?.is_none() {
            return Err(AppError::Unauthorized);
        }
        match method {
            MethodToAdd::Authenticator => {
                let enrollment = backend.begin_authenticator(&context, &check).await?;
                Ok(AddMethodAnswer::Authenticator(enrollment))
            }
            MethodToAdd::Passkey => Ok(AddMethodAnswer::Passkey),
            MethodToAdd::AppPassword => Ok(AddMethodAnswer::AppPassword),
            MethodToAdd::Unchosen => Err(AppError::invalid("method", "Choose a method to add.")),
        }
    })
    .await
    .on_success(|answer| Next::FormPostTo(answer.next_dialog().on(Page::SecurityInfo)))
}

/// The authenticator app being added but not confirmed yet, if any: its QR code again.
#[server(endpoint = "pending_authenticator")]
pub async fn get_pending_authenticator() -> Result<Option<AuthenticatorEnrollment>, AppError> {
    call(|backend, context| async move { backend.pending_authenticator(&context).await })
        .await
        .answer()
}

/// Finishes adding the authenticator app with a first code from it, under the name the person
/// gave it (empty: "Authenticator app"). Answers whether recovery codes come next: it was the
/// person's first second factor, so they have none (a plain form post goes on to them).
#[server(endpoint = "confirm_authenticator")]
pub async fn confirm_authenticator(code: Secret, name: Option<String>) -> Result<bool, AppError> {
    call(|backend, context| async move {
        // Read before the change: no second factor yet (so no recovery codes either).
        let first = backend
            .security_info(&context)
            .await
            .is_ok_and(|info| !info.has_two_step);
        backend
            .confirm_authenticator(&context, code.expose(), name.as_deref().unwrap_or_default())
            .await?;
        Ok(first)
    })
    .await
    .on_success(|&first| {
        Next::FormPostTo(if first {
            SecurityInfoDialog::RecoveryCodes.on(Page::SecurityInfo)
        } else {
            Page::SecurityInfo.path().to_owned()
        })
    })
}

/// Deletes authenticator app `id`. After 10 minutes without a sign-in, the password and a code
/// are needed too.
#[server(endpoint = "delete_authenticator")]
pub async fn delete_authenticator(
    id: i32,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<(), AppError> {
    call(|backend, context| async move {
        backend
            .delete_authenticator(
                &context,
                id,
                password.as_ref().map(Secret::expose).unwrap_or_default(),
                code.as_ref().map(Secret::expose).unwrap_or_default(),
            )
            .await
    })
    .await
    .on_success(|()| Next::FormPostTo(Page::SecurityInfo.path().to_owned()))
}

/// Renames authenticator app `id`. A plain form post goes back to Security info.
#[server(endpoint = "rename_authenticator")]
pub async fn rename_authenticator(id: i32, name: String) -> Result<(), AppError> {
    let kept = crate::form_post::TypedForm::RenameAuthenticator {
        id,
        name: name.clone(),
    };
    call(|backend, context| async move { backend.rename_authenticator(&context, id, &name).await })
        .await
        .show_on_page(|result| {
            Next::typed_again(result, Page::SecurityInfo.path().to_owned(), kept)
        })
}

/// Chooses the second factor sign-in asks for first ("Default sign-in method").
#[server(endpoint = "set_default_method")]
pub async fn set_default_method(method: SecondFactor) -> Result<(), AppError> {
    call(|backend, context| async move { backend.set_default_method(&context, method).await })
        .await
        .on_success(|()| Next::FormPostTo(Page::SecurityInfo.path().to_owned()))
}

/// The ways the sign-in waiting for its second step may finish, the person's default first
/// ("Sign in another way" lists the rest). Empty without such a sign-in.
#[server(endpoint = "second_step_ways")]
pub async fn get_second_step_ways() -> Result<Vec<SecondStepWay>, AppError> {
    call(|backend, context| async move { backend.second_step_ways(&context).await })
        .await
        .answer()
}

/// Changes the account password; other sessions are signed out.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: Secret,
    new_password: Secret,
    confirm_password: Secret,
    code: Option<Secret>,
) -> Result<(), AppError> {
    call(|backend, context| async move {
        backend
            .change_password(
                &context,
                current_password.expose(),
                new_password.expose(),
                confirm_password.expose(),
                code.as_ref().map(Secret::expose).unwrap_or_default(),
            )
            .await
    })
    .await
    .on_success(|()| {
        let done = SecurityInfoDialog::ChangePassword { done: true };
        Next::FormPostTo(done.on(Page::SecurityInfo))
    })
}

/// A new set of recovery codes in place of the earlier ones, answered this once. After 10
/// minutes without a sign-in, the password and a code are needed too. A plain form post is
/// answered with Security info showing the codes (or why not) in their dialog: they cannot go
/// in a URL (see `crate::form_post`).
#[server(endpoint = "new_recovery_codes")]
pub async fn get_new_recovery_codes(
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<NewRecoveryCodes, AppError> {
    use crate::form_post::FormPostAnswer;
    let check = crate::model::IdentityCheck::from_fields(password, code);
    call(|backend, context| async move { backend.new_recovery_codes(&context, &check).await })
        .await
        .show_on_page(|result| match result {
            Err(AppError::Unauthorized) => {
                Next::FormPostTo(SignInQuery::then_to(Page::SecurityInfo.path()).link())
            }
            result => Next::Show {
                page: SecurityInfoDialog::RecoveryCodes.on(Page::SecurityInfo),
                answer: FormPostAnswer::NewRecoveryCodes {
                    result: result.clone(),
                },
            },
        })
}

/// A page of the person's recent activity, newest first; `before` is where an older page
/// starts (`ActivityPage::older`).
#[server(endpoint = "recent_activity")]
pub async fn get_recent_activity(before: Option<i32>) -> Result<ActivityPage, AppError> {
    call(|backend, context| async move { backend.recent_activity(&context, before).await })
        .await
        .answer()
}

/// Dismisses Security info's preview notice for good. A plain form post goes back to
/// Security info.
#[server(endpoint = "dismiss_preview_notice")]
pub async fn dismiss_preview_notice() -> Result<(), AppError> {
    call(|backend, context| async move { backend.dismiss_preview_notice(&context).await })
        .await
        .on_success(|()| Next::FormPostTo(Page::SecurityInfo.path().to_owned()))
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
    call(|backend, context| async move { backend.confirm_its_you(&context, &check).await })
        .await
        .on_success(|()| {
            let console = crate::backend::admin_console_of(crate::backend::referer().as_ref());
            Next::FormPostTo(console.link())
        })
}
