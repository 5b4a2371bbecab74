//! First-time setup: the page behind the one-time link printed on first start, where the
//! organization and its first administrator are created.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::field::Field;
use crate::error::AppError;
use crate::pages::not_found::NotFound;

/// What the setup form sends. Field names match the form's input names.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupForm {
    pub token: String,
    pub organization: String,
    /// Present ("on") when the checkbox is ticked.
    #[serde(default)]
    pub allow_app_passwords: Option<String>,
    pub display_name: String,
    pub username: String,
    pub password: String,
    pub confirm_password: String,
}

impl std::fmt::Debug for SetupForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupForm")
            .field("organization", &self.organization)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Whether the setup link with this token is valid now.
#[server(endpoint = "setup_link_status")]
pub async fn setup_link_status(token: String) -> Result<bool, AppError> {
    crate::backend::respond(
        async move { Ok(crate::backend::backend()?.setup_link_valid(&token).await) }.await,
    )
}

/// Creates the organization and the first administrator, then sends the browser to sign-in.
#[server(endpoint = "complete_setup")]
pub async fn complete_setup(form: SetupForm) -> Result<(), AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .complete_setup(form, crate::backend::request_context().await)
                .await?;
            leptos_axum::redirect("/signin?setup=done");
            Ok(())
        }
        .await,
    )
}

/// `/setup?token=...`: the setup form, or a 404 page without a valid token.
#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let status = Resource::new_blocking(token, setup_link_status);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(true) => view! { <SetupFormView token=token()/> }.into_any(),
                    _ => view! { <NotFound/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The setup form. It posts to its own page (`server::http::handle_page_form`): a refused form
/// comes back as typed (but for the passwords: the page script restores those), with the
/// reasons; a completed one goes on to sign-in.
#[component]
fn SetupFormView(token: String) -> impl IntoView {
    let (typed, error) = match crate::app_passwords::form_outcome() {
        Some(crate::app_passwords::FormOutcome::SetupFailed { form, error }) => {
            (Some(form), Some(error))
        }
        _ => (None, None),
    };
    let typed_value = |field: fn(&SetupForm) -> &String| {
        typed
            .as_ref()
            .map(|form| field(form).clone())
            .unwrap_or_default()
    };
    let field_error = |field: &'static str| error.as_ref().and_then(|e| e.message_for(field));
    let general_error = error
        .as_ref()
        .filter(|e| !matches!(e, AppError::Invalid { .. }))
        .map(|e| e.to_string());
    let password_error = error.as_ref().and_then(|e| e.message_for("password"));
    let action = format!("/setup?token={}", crate::account::urlencode(&token));
    let allow_app_passwords = typed
        .as_ref()
        .is_some_and(|form| form.allow_app_passwords.is_some());

    view! {
        <leptos_meta::Title text="Set up Latchkey"/>
        <main class="centered-page">
            <section class="card card-wide" aria-labelledby="setup-heading">
                <p class="brand">"Latchkey"</p>
                <h1 id="setup-heading">"Set up Latchkey"</h1>
                <p class="muted">
                    "Create your organization and the first administrator account. This link works once."
                </p>
                <form method="post" action=action class="stack" novalidate>
                    <input type="hidden" name="intent" value="complete_setup"/>
                    <input type="hidden" name="token" value=token/>
                    <fieldset>
                        <legend>"Organization"</legend>
                        <Field
                            label="Organization name"
                            name="organization"
                            id="organization"
                            autocomplete="organization"
                            value=typed_value(|f| &f.organization)
                            error=field_error("organization")
                        />
                        <div class="checkbox-row">
                            <input type="checkbox" id="allow_app_passwords" name="allow_app_passwords" checked=allow_app_passwords/>
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
                            value=typed_value(|f| &f.display_name)
                            error=field_error("display_name")
                        />
                        <Field
                            label="Sign-in name"
                            name="username"
                            id="username"
                            autocomplete="username"
                            input_type="email"
                            placeholder="someone@example.org"
                            value=typed_value(|f| &f.username)
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
                                aria-invalid=password_error.is_some().to_string()
                            />
                            <PasswordLengthHint input_id="password".to_owned()/>
                            <p id="password-error" class="field-error" role="alert">{password_error}</p>
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
                    <button type="submit" class="button primary">"Create organization"</button>
                </form>
            </section>
        </main>
    }
}

/// "5 of at least 12 characters" as the person types the new password into the input with id
/// `input_id` (the rule is checked again on the server).
#[island]
fn PasswordLengthHint(input_id: String) -> impl IntoView {
    let chars = RwSignal::new(0usize);
    #[cfg(feature = "hydrate")]
    Effect::new(move || {
        use wasm_bindgen::JsCast;
        let Some(input) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&input_id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let count =
            move |input: &web_sys::HtmlInputElement| chars.set(input.value().chars().count());
        count(&input);
        let typed = input.clone();
        let on_input = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || count(&typed));
        let _ = input.add_event_listener_with_callback("input", on_input.as_ref().unchecked_ref());
        // Lives as long as the page: the input goes with it.
        on_input.forget();
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = &input_id;
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
