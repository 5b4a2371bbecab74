//! The steps of creating an app password, shared by Security info ("Add method" > "App
//! password") and the legacy "Manage app passwords" page: name -> (confirm it's you) ->
//! password shown once with Copy -> Done. At the limit, a prompt to delete one first.
//!
//! Rendered on the server: every step is a link or a form that posts to the page itself
//! (`server::http::handle_page_form`), which answers with the page at the next step. The page
//! script swaps pages in place, so nothing reloads; Copy and the first sign-in status are
//! islands.

use leptos::prelude::*;

use crate::app_passwords::{
    AppPasswordItem, AppPasswordOverview, CreatedAppPassword, FormOutcome,
    app_password_first_sign_in,
};
use crate::components::copy::CopyButton;
use crate::components::field::Field;
use crate::components::intent_form::{ButtonLink, DialogActions, IntentForm};
use crate::components::modal::Modal;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// At the limit: delete one first.
    Limit,
    Name {
        name: String,
        error: Option<AppError>,
    },
    /// The session is too old: password (and code) again, then create `name`.
    Reverify {
        name: String,
        error: Option<AppError>,
    },
    Show(CreatedAppPassword),
}

impl Step {
    /// Where the create steps start: from a form post's outcome, else the name (or the limit).
    fn first(outcome: Option<FormOutcome>, at_limit: bool) -> Self {
        match outcome {
            Some(FormOutcome::Created(created)) => Self::Show(created),
            Some(FormOutcome::CreateFailed {
                name,
                error: AppError::ReverifyRequired,
            }) => Self::Reverify { name, error: None },
            Some(FormOutcome::CreateFailed {
                error: AppError::LimitReached { .. },
                ..
            }) => Self::Limit,
            Some(FormOutcome::CreateFailed { name, error }) => Self::Name {
                name,
                error: Some(error),
            },
            Some(FormOutcome::ReverifyFailed { name, error }) => Self::Reverify {
                name,
                error: Some(error),
            },
            _ if at_limit => Self::Limit,
            _ => Self::Name {
                name: String::new(),
                error: None,
            },
        }
    }
}

/// "Delete" for one app password: a link to `page` that asks there to confirm. From the limit
/// prompt (`from_create`), confirming or not leads back to the create steps.
#[component]
pub fn DeleteAppPasswordLink(
    page: &'static str,
    item: AppPasswordItem,
    #[prop(optional)] from_create: bool,
) -> impl IntoView {
    let href = format!(
        "{page}?delete={}{}",
        item.id,
        if from_create { "&then=create" } else { "" }
    );
    let label = format!("Delete app password {}", item.name);
    view! { <a href=href class="link" role="button" aria-label=label>"Delete"</a> }
}

/// The create steps, inside the page's dialog. `outcome` is what the last form post produced.
#[component]
pub fn AppPasswordSteps(
    overview: Option<AppPasswordOverview>,
    outcome: Option<FormOutcome>,
    page: &'static str,
) -> impl IntoView {
    let at_limit = overview.as_ref().is_some_and(AppPasswordOverview::at_limit);
    let has_two_step = overview.as_ref().is_some_and(|o| o.has_two_step);
    let items = overview
        .as_ref()
        .map(|o| o.items.clone())
        .unwrap_or_default();
    let limit = overview.as_ref().map_or(40, |o| o.limit);
    let cancel = move || view! { <ButtonLink href=page class="button">"Cancel"</ButtonLink> };

    match Step::first(outcome, at_limit) {
        Step::Limit => view! {
            <div class="stack">
                <p role="alert">
                    {format!("You have {} of {limit} app passwords. Delete one you no longer use to create a new one.", items.len())}
                </p>
                <ul class="plain-list">
                    {items.into_iter().map(|item| view! {
                        <li class="limit-item">
                            <span>{item.name.clone()}</span>
                            <DeleteAppPasswordLink page=page item=item from_create=true/>
                        </li>
                    }).collect_view()}
                </ul>
                <div class="modal-actions">
                    {cancel()}
                    <button type="button" class="button primary" disabled=true>"Next"</button>
                </div>
            </div>
        }.into_any(),
        Step::Name { name, error } => {
            let error = error.map(|e| e.to_string());
            view! {
                <IntentForm page=page intent="create_app_password" class="stack">
                    <p class="muted">"Name the app that will use this password, so you can recognise it later."</p>
                    <Field label="Name" name="name" id="app-name" placeholder="For example: Outlook 2010"
                        value=name autofocus=true error=error/>
                    <DialogActions back=page back_label="Cancel" submit="Next"/>
                </IntentForm>
            }.into_any()
        }
        Step::Reverify { name, error } => {
            let field_error = |field: &'static str| {
                error.as_ref().and_then(|e| match e {
                    AppError::Invalid { .. } => e.message_for(field),
                    _ if field == "password" => Some(e.to_string()),
                    _ => None,
                })
            };
            let (password_error, code_error) = (field_error("password"), field_error("code"));
            view! {
                <IntentForm page=page intent="reverify_and_create" class="stack">
                    <input type="hidden" name="name" value=name/>
                    <p>"For your security, confirm it's you before creating an app password."</p>
                    <Field label="Password" name="password" id="reverify-password" input_type="password"
                        autocomplete="current-password" autofocus=true error=password_error/>
                    {has_two_step.then(|| view! {
                        <Field label="Code from your authenticator app" name="code" id="reverify-code"
                            autocomplete="one-time-code" inputmode="numeric" error=code_error/>
                    })}
                    <DialogActions back=page back_label="Cancel" submit="Confirm"/>
                </IntentForm>
            }.into_any()
        }
        Step::Show(created) => view! {
            <div class="stack">
                <p>
                    "Your app password for " <strong>{created.name.clone()}</strong>
                    " is ready. Enter it in the app instead of your account password."
                </p>
                <div class="field">
                    <label for="new-app-password">"Password"</label>
                    <div class="copy-row">
                        <input id="new-app-password" class="secret-input" type="text" readonly value=created.password.clone()/>
                        <CopyButton input_id="new-app-password".to_owned()/>
                    </div>
                </div>
                <p class="notice warning" role="status">
                    "This is the only time you'll see this password. If you lose it, delete it and create a new one."
                </p>
                <FirstSignIn id=created.id/>
                <div class="modal-actions">
                    <ButtonLink href=page class="button primary">"Done"</ButtonLink>
                </div>
            </div>
        }.into_any(),
    }
}

/// How often the open dialog asks whether the new app password has been used.
const FIRST_SIGN_IN_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// "Waiting for the first sign-in..." until the app signs in with the new password, then
/// "Signed in from IMAP just now": people know the app works before they close the dialog.
#[island]
fn FirstSignIn(id: i32) -> impl IntoView {
    let signed_in = RwSignal::new(None::<String>);
    let status = NodeRef::<leptos::html::P>::new();
    // Asks every few seconds until the answer comes or the dialog is gone from the page.
    fn ask_later(id: i32, signed_in: RwSignal<Option<String>>, status: NodeRef<leptos::html::P>) {
        set_timeout(
            move || {
                let on_page = status.get_untracked().is_some_and(|p| p.is_connected());
                if !on_page || signed_in.get_untracked().is_some() {
                    return;
                }
                leptos::task::spawn_local(async move {
                    match app_password_first_sign_in(id).await {
                        Ok(Some(text)) => signed_in.set(Some(text)),
                        _ => ask_later(id, signed_in, status),
                    }
                });
            },
            FIRST_SIGN_IN_POLL,
        );
    }
    Effect::new(move |_| ask_later(id, signed_in, status));
    view! {
        <p class="first-sign-in" role="status" aria-live="polite" node_ref=status>
            {move || match signed_in.get() {
                Some(text) => view! { <span class="signed-in">{text}</span> }.into_any(),
                None => view! { <span class="waiting">"Waiting for the first sign-in..."</span> }.into_any(),
            }}
        </p>
    }
}

/// Which dialog the page shows, from its URL (links) and the outcome of a form post. (The
/// authenticator app's steps follow from the outcome alone.)
#[derive(Debug, Clone, Default)]
pub struct OpenDialogs {
    /// Open the create steps (`?add=app_password`, or a create form was posted).
    pub create: bool,
    /// Open the "Add a method" chooser (`?add=method`).
    pub choose: bool,
    /// Ask to confirm deleting the app password with this id (`?delete=ID`); the page names it
    /// from its own list, never from the URL.
    pub delete: Option<i32>,
    /// The deletion was asked from the limit prompt (`&then=create`): go back there after.
    pub delete_then_create: bool,
    /// Open Change password (`?change=password`, or a change form was posted).
    pub change_password: bool,
    /// Ask to confirm deleting the authenticator app (`?remove=authenticator`).
    pub remove_authenticator: bool,
    pub outcome: Option<FormOutcome>,
}

impl OpenDialogs {
    pub fn read() -> Self {
        let query = leptos_router::hooks::use_query_map().get_untracked();
        let outcome = crate::app_passwords::form_outcome();
        let add = query.get("add").unwrap_or_default();
        let create_outcome = matches!(
            outcome,
            Some(
                FormOutcome::Created(_)
                    | FormOutcome::CreateFailed { .. }
                    | FormOutcome::ReverifyFailed { .. }
            )
        );
        let change_outcome = matches!(
            outcome,
            Some(FormOutcome::PasswordChanged | FormOutcome::PasswordChangeFailed { .. })
        );
        Self {
            create: add == "app_password" || create_outcome,
            // A refused start goes back to the chooser, with the reason.
            choose: add == "method"
                || matches!(outcome, Some(FormOutcome::AuthenticatorStartFailed { .. })),
            delete: query.get("delete").and_then(|id| id.parse().ok()),
            delete_then_create: query.get("then").is_some_and(|t| t == "create"),
            change_password: query.get("change").is_some_and(|c| c == "password") || change_outcome,
            remove_authenticator: query.get("remove").is_some_and(|r| r == "authenticator"),
            outcome,
        }
    }
}

/// "Delete the app password for 'X'?" with Yes (a form posted to the page) and No. Asked from
/// the limit prompt (`then_create`), both answers lead back to the create steps.
#[component]
pub fn DeleteAppPasswordDialog(
    target: AppPasswordItem,
    page: &'static str,
    id: &'static str,
    then_create: bool,
) -> impl IntoView {
    let back = if then_create {
        format!("{page}?add=app_password")
    } else {
        page.to_owned()
    };
    view! {
        <Modal id=id title="Delete app password?" close_href=back.clone()>
            <IntentForm page=page intent="delete_app_password">
                <input type="hidden" name="id" value=target.id.to_string()/>
                {then_create.then(|| view! { <input type="hidden" name="then" value="create"/> })}
                <p>
                    {format!(
                        "Delete the app password for '{}'? Apps using it will stop signing in. This can't be undone.",
                        target.name
                    )}
                </p>
                <DialogActions back=back back_label="No" submit="Yes"/>
            </IntentForm>
        </Modal>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(error: AppError) -> Option<FormOutcome> {
        Some(FormOutcome::CreateFailed {
            name: "Outlook".to_owned(),
            error,
        })
    }

    #[test]
    fn the_create_steps_start_where_the_last_form_post_left_them() {
        let created = CreatedAppPassword {
            id: 1,
            name: "Outlook".to_owned(),
            password: "abcd efgh ijkl mnop".to_owned(),
        };
        assert_eq!(
            Step::first(Some(FormOutcome::Created(created.clone())), false),
            Step::Show(created)
        );
        assert_eq!(
            Step::first(failed(AppError::ReverifyRequired), false),
            Step::Reverify {
                name: "Outlook".to_owned(),
                error: None
            }
        );
        assert_eq!(
            Step::first(failed(AppError::LimitReached { limit: 40 }), false),
            Step::Limit
        );
        let duplicate = AppError::Invalid {
            field: "name".to_owned(),
            message: "You already have an app password named 'Outlook'.".to_owned(),
        };
        assert_eq!(
            Step::first(failed(duplicate.clone()), false),
            Step::Name {
                name: "Outlook".to_owned(),
                error: Some(duplicate)
            },
            "the name comes back with the reason"
        );
    }

    #[test]
    fn without_a_form_post_they_start_at_the_name_or_the_limit() {
        assert_eq!(Step::first(None, true), Step::Limit);
        assert_eq!(
            Step::first(None, false),
            Step::Name {
                name: String::new(),
                error: None
            }
        );
    }
}
