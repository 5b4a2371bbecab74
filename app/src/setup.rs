//! First-time setup: the page behind the one-time link printed on first start, where the
//! organization and its first administrator are created.

use leptos::either::Either;
use leptos::prelude::*;

use crate::components::field::Field;
use crate::components::links::SubmitButton;
use crate::error::AppError;
use crate::model::SetupValues;
use crate::pages::not_found::NotFound;
use crate::routes::{TokenQuery, use_page_query};
use crate::secret::Secret;

/// Whether the setup link with this token is valid now. The token is a `Secret`: `#[server]`
/// derives `Debug` for the arguments, and the token opens setup.
#[server(endpoint = "setup_link_status")]
pub async fn setup_link_status(token: Secret) -> Result<bool, AppError> {
    crate::backend::call(
        |backend, _| async move { Ok(backend.setup_link_valid(token.expose()).await) },
    )
    .await
    .answer()
}

/// Creates the organization and the first administrator, then sends the browser to sign-in.
/// A refused plain form post is answered with the form again, as typed (see `crate::form_post`).
#[server(endpoint = "complete_setup")]
#[allow(clippy::too_many_arguments)]
pub async fn complete_setup(
    token: Secret,
    organization: String,
    allow_app_passwords: Option<String>,
    display_name: String,
    username: String,
    password: Secret,
    confirm_password: Secret,
) -> Result<(), AppError> {
    let values = SetupValues {
        token: token.expose().to_owned(),
        organization: organization.clone(),
        allow_app_passwords: allow_app_passwords.is_some(),
        display_name: display_name.clone(),
        username: username.clone(),
    };
    let form = crate::model::SetupForm {
        token: token.expose().to_owned(),
        organization,
        allow_app_passwords,
        display_name,
        username,
        password: password.expose().to_owned(),
        confirm_password: confirm_password.expose().to_owned(),
    };
    use crate::backend::Next;
    use crate::routes::{Page, SignInQuery, TokenQuery};
    crate::backend::call(
        |backend, context| async move { backend.complete_setup(form, context).await },
    )
    .await
    .show_on_page(|result| match result {
        Ok(()) => Next::NavigateTo(
            SignInQuery {
                setup: Some("done".to_owned()),
                ..SignInQuery::default()
            }
            .link(),
        ),
        Err(error) => Next::Show {
            page: Page::Setup.with(&TokenQuery {
                token: values.token.clone(),
            }),
            answer: crate::form_post::FormPostAnswer::Setup {
                form: values,
                error: error.clone(),
            },
        },
    })
}

/// `/setup?token=...`: the setup form, or a 404 page without a valid token.
#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_page_query::<TokenQuery>();
    let token = move || query.read().token.clone();
    let status = Resource::new_blocking(move || Secret::new(token()), setup_link_status);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(true) => Either::Left(view! { <SetupFormView token=token()/> }),
                    _ => Either::Right(view! { <NotFound/> }),
                }
            })}
        </Suspense>
    }
}

/// The setup form. Refused, it shows the reasons and keeps what was typed (with the
/// WebAssembly the form stays as it is; without, the server's answer fills it in again).
#[component]
fn SetupFormView(token: String) -> impl IntoView {
    let setup = ServerAction::<CompleteSetup>::new();
    let (typed, refused) = match crate::form_post::answer() {
        Some(crate::form_post::FormPostAnswer::Setup { form, error }) => (form, Some(error)),
        _ => (SetupValues::default(), None),
    };
    let error = Signal::derive(move || match setup.value().get() {
        Some(Err(error)) => Some(error),
        Some(Ok(())) => None,
        None => refused.clone(),
    });
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
    };
    let general_error = move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Invalid { .. }))
            .map(|e| e.to_string())
    };
    let password_error = field_error("password");
    let password_chars = RwSignal::new(0usize);

    view! {
        <leptos_meta::Title text="Set up Latchkey"/>
        <main class="centered-page">
            <section class="card card-wide" aria-labelledby="setup-heading">
                <p class="brand">"Latchkey"</p>
                <h1 id="setup-heading" tabindex="-1">"Set up Latchkey"</h1>
                <p class="muted">
                    "Create your organization and the first administrator account. This link works once."
                </p>
                <ActionForm action=setup attr:class="stack" attr:novalidate=true>
                    <input type="hidden" name="token" value=token/>
                    <fieldset>
                        <legend>"Organization"</legend>
                        <Field
                            label="Organization name"
                            name="organization"
                            id="organization"
                            autocomplete="organization"
                            value=typed.organization
                            error=field_error("organization")
                        />
                        <div class="checkbox-row">
                            <input type="checkbox" id="allow_app_passwords" name="allow_app_passwords" checked=typed.allow_app_passwords/>
                            <label for="allow_app_passwords">
                                "Allow app passwords"
                                <span class="hint">
                                    "Lets people create passwords for apps that can't do two-step verification, such as older mail clients. You can change this later."
                                </span>
                            </label>
                        </div>
                    </fieldset>
                    <fieldset>
                        <legend>"First administrator"</legend>
                        <Field
                            label="Your name"
                            name="display_name"
                            id="display_name"
                            autocomplete="name"
                            value=typed.display_name
                            error=field_error("display_name")
                        />
                        <Field
                            label="Sign-in name"
                            name="username"
                            id="username"
                            autocomplete="username"
                            inputmode="email"
                            placeholder="someone@example.org"
                            value=typed.username
                            error=field_error("username")
                        />
                        <div class="field">
                            <label for="password">"Password"</label>
                            <input
                                type="password"
                                id="password"
                                name="password"
                                autocomplete="new-password"
                                aria-describedby="password-hint password-error"
                                aria-invalid=move || password_error.get().is_some().to_string()
                                on:input=move |ev| password_chars.set(event_target_value(&ev).chars().count())
                            />
                            <PasswordLengthHint chars=password_chars/>
                            <p id="password-error" class="field-error" role="alert">{move || password_error.get()}</p>
                        </div>
                        <Field
                            label="Confirm password"
                            name="confirm_password"
                            id="confirm_password"
                            autocomplete="new-password"
                            input_type="password"
                            error=field_error("confirm_password")
                        />
                    </fieldset>
                    <p class="form-error" role="alert">{general_error}</p>
                    <SubmitButton pending=setup.pending()>"Create organization"</SubmitButton>
                </ActionForm>
            </section>
        </main>
    }
}

/// "5 of at least 12 characters" as the person types the new password (the rule is checked
/// again on the server).
#[component]
fn PasswordLengthHint(chars: RwSignal<usize>) -> impl IntoView {
    view! {
        <p id="password-hint" class="hint" aria-live="polite">
            {move || match chars.get() {
                0 => "Use at least 12 characters. A few unrelated words work well.".to_owned(),
                n if n < 12 => format!("{n} of at least 12 characters"),
                n => format!("{n} characters: long enough"),
            }}
        </p>
    }
}
