//! The page a one-time password link opens (`/set-password?token=...`): after an
//! administrator's reset, as a new person, or with a link mailed for "Forgot password?", the
//! person sets their password there. Holding the link is the proof; it works once, for a day
//! (a mailed one for an hour). Setting it signs nobody in: sign-in still asks for the second
//! step. Also the server functions of "Forgot password?", which the sign-in page offers.

use leptos::either::Either;
use leptos::prelude::*;

use crate::components::field::Field;
use crate::components::links::SubmitButton;
use crate::error::AppError;
use crate::model::PasswordLinkFor;
use crate::routes::{Page, TokenQuery, use_page_query};
use crate::secret::Secret;

/// What a link that no longer works says (expired, used, or never one of ours).
const LINK_GONE: &str = "This link has expired or was already used. Ask your administrator for a new one, or use \"Forgot password?\" at sign-in if it is offered.";

/// Whom the link `token` is for, while it works. The token is a `Secret`: `#[server]` derives
/// `Debug` for the arguments, and holding the link is the proof.
#[server(endpoint = "password_link")]
pub async fn get_password_link(token: Secret) -> Result<PasswordLinkFor, AppError> {
    crate::backend::call(|backend, _| async move { backend.password_link(token.expose()).await })
        .await
        .answer()
}

/// Sets the password of the person the link `token` is for, and uses the link up; then
/// sign-in, with their sign-in name filled in.
#[server(endpoint = "set_password_with_link")]
pub async fn set_password_with_link(
    token: Secret,
    password: Secret,
    confirm_password: Secret,
) -> Result<(), AppError> {
    use crate::routes::SignInQuery;
    crate::backend::call(|backend, context| async move {
        backend
            .set_password_with_link(
                token.expose(),
                password.expose(),
                confirm_password.expose(),
                &context,
            )
            .await
    })
    .await
    .on_success(|username| {
        let sign_in = SignInQuery {
            password: Some("set".to_owned()),
            username: Some(username.clone()),
            ..SignInQuery::default()
        };
        crate::backend::Next::NavigateTo(sign_in.link())
    })
    .map(|_| ())
}

/// Whether sign-in offers "Forgot password?" (mail is set up and the organization allows it).
#[server(endpoint = "reset_by_mail_offered")]
pub async fn reset_by_mail_offered() -> Result<bool, AppError> {
    crate::backend::call(|backend, _| async move { backend.reset_by_mail_offered().await })
        .await
        .answer()
}

/// The `password` query value after "Forgot password?" (`set`: set with a link).
pub const PASSWORD_LINK_MAILED: &str = "mailed";

/// "Forgot password?": mails a one-time link to set a new password to `username` if it is a
/// person's mail address here; then sign-in, which says a link is on its way if so (the same
/// answer for every name).
#[server(endpoint = "mail_password_link")]
pub async fn mail_password_link(username: String) -> Result<(), AppError> {
    use crate::routes::SignInQuery;
    let after = SignInQuery {
        password: Some(PASSWORD_LINK_MAILED.to_owned()),
        ..SignInQuery::default()
    };
    crate::backend::call(|backend, context| async move {
        backend.mail_password_link(&context, &username).await
    })
    .await
    .on_success(|()| crate::backend::Next::NavigateTo(after.link()))
}

/// `/set-password?token=...`: the form, or why the link does not work.
#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let query = use_page_query::<TokenQuery>();
    let token = move || query.read().token.clone();
    let link = Resource::new_blocking(move || Secret::new(token()), get_password_link);
    view! {
        <leptos_meta::Title text="Set your password"/>
        <main class="centered-page">
            <section class="card" aria-labelledby="set-password-heading">
                <p class="brand">"Latchkey"</p>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match link.await {
                            Ok(person) => Either::Left(view! { <SetPasswordForm person=person token=token()/> }),
                            Err(error) => Either::Right(view! { <LinkNotWorking error=error/> }),
                        }
                    })}
                </Suspense>
            </section>
        </main>
    }
}

#[component]
fn LinkNotWorking(error: AppError) -> impl IntoView {
    let reason = match error {
        AppError::NotFound => LINK_GONE.to_owned(),
        other => other.to_string(),
    };
    view! {
        <h1 id="set-password-heading" tabindex="-1">"This link doesn't work"</h1>
        <p role="alert">{reason}</p>
        <p><a href=Page::SignIn.path()>"Go to sign-in"</a></p>
    }
}

#[component]
fn SetPasswordForm(person: PasswordLinkFor, token: String) -> impl IntoView {
    let set = ServerAction::<SetPasswordWithLink>::new();
    let error = Signal::derive(move || set.value().get().and_then(Result::err));
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
    };
    let general_error = move || {
        error.get().map(|e| match e {
            AppError::NotFound => LINK_GONE.to_owned(),
            AppError::Invalid { .. } => String::new(),
            other => other.to_string(),
        })
    };
    let intro = if person.first_password {
        "Welcome. Choose the password you'll sign in with."
    } else if person.mailed {
        "Choose a new password. Your other browsers will be signed out, and signing in still asks for your second step."
    } else {
        "Your administrator reset your password. Choose a new one to sign in again."
    };
    view! {
        <h1 id="set-password-heading" tabindex="-1">"Set your password"</h1>
        <p>{intro}</p>
        <p class="muted">{person.display_name} " · " {person.username.clone()}</p>
        <p class="hint">"Use at least 12 characters. A few unrelated words work well. This link works once."</p>
        <ActionForm action=set attr:class="stack" attr:novalidate=true>
            <input type="hidden" name="token" value=token/>
            // For password managers: whose password this is.
            <input type="hidden" name="username" autocomplete="username" value=person.username/>
            <Field
                label="New password"
                name="password"
                id="password"
                autocomplete="new-password"
                input_type="password"
                error=field_error("password")
            />
            <Field
                label="Confirm new password"
                name="confirm_password"
                id="confirm_password"
                autocomplete="new-password"
                input_type="password"
                error=field_error("confirm_password")
            />
            <p class="form-error" role="alert">{general_error}</p>
            <SubmitButton pending=set.pending()>"Set password"</SubmitButton>
        </ActionForm>
    }
}
