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

#[component]
fn SetupFormView(token: String) -> impl IntoView {
    let action = ServerAction::<CompleteSetup>::new();
    let error = move || action.value().get().and_then(Result::err);
    let field_error = move |field: &'static str| move || error().and_then(|e| e.message_for(field));
    let general_error = move || {
        error()
            .filter(|e| !matches!(e, AppError::Invalid { .. }))
            .map(|e| e.to_string())
    };
    let password_chars = RwSignal::new(0usize);

    view! {
        <leptos_meta::Title text="Set up Latchkey"/>
        <main class="centered-page">
            <section class="card card-wide" aria-labelledby="setup-heading">
                <p class="brand">"Latchkey"</p>
                <h1 id="setup-heading">"Set up Latchkey"</h1>
                <p class="muted">
                    "Create your organization and the first administrator account. This link works once."
                </p>
                <ActionForm action=action attr:class="stack" attr:novalidate=true>
                    <input type="hidden" name="form[token]" value=token/>
                    <fieldset>
                        <legend>"Organization"</legend>
                        <Field
                            label="Organization name"
                            name="form[organization]"
                            id="organization"
                            autocomplete="organization"
                            error=Signal::derive(field_error("organization"))
                        />
                        <div class="checkbox-row">
                            <input type="checkbox" id="allow_app_passwords" name="form[allow_app_passwords]"/>
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
                            name="form[display_name]"
                            id="display_name"
                            autocomplete="name"
                            error=Signal::derive(field_error("display_name"))
                        />
                        <Field
                            label="Sign-in name"
                            name="form[username]"
                            id="username"
                            autocomplete="username"
                            input_type="email"
                            placeholder="someone@example.org"
                            error=Signal::derive(field_error("username"))
                        />
                        <div class="field">
                            <label for="password">"Password"</label>
                            <input
                                type="password"
                                id="password"
                                name="form[password]"
                                autocomplete="new-password"
                                aria-describedby="password-hint password-error"
                                aria-invalid=move || field_error("password")().is_some().to_string()
                                on:input=move |ev| password_chars.set(event_target_value(&ev).chars().count())
                            />
                            <p id="password-hint" class="hint" aria-live="polite">
                                {move || match password_chars.get() {
                                    0 => "Use at least 12 characters. A few unrelated words work well.".to_owned(),
                                    n if n < 12 => format!("{n} of at least 12 characters"),
                                    n => format!("{n} characters: long enough"),
                                }}
                            </p>
                            <p id="password-error" class="field-error" role="alert">{field_error("password")}</p>
                        </div>
                        <Field
                            label="Confirm password"
                            name="form[confirm_password]"
                            id="confirm_password"
                            autocomplete="new-password"
                            input_type="password"
                            error=Signal::derive(field_error("confirm_password"))
                        />
                    </fieldset>
                    <p class="form-error" role="alert">{general_error}</p>
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Creating..." } else { "Create organization" }}
                    </button>
                </ActionForm>
            </section>
        </main>
    }
}
