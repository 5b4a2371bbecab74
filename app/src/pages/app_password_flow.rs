//! The steps of creating an app password, shared by Security info ("Add method" > "App
//! password") and the legacy "Manage app passwords" page: name -> (confirm it's you) ->
//! password shown once with Copy -> Done. At the limit, a prompt to delete one first.
//!
//! Every control is a real link or form that works before the WebAssembly loads (forms post to
//! the page itself, see `server::http::handle_page_forms`); once hydrated, the same controls run
//! through server functions without reloading the page.

use leptos::prelude::*;

use crate::app_passwords::{
    AppPasswordItem, AppPasswordOverview, CreateAppPassword, CreatedAppPassword, FormOutcome,
    Reverify, app_password_first_sign_in,
};
use crate::components::copy::CopyButton;
use crate::components::field::Field;
use crate::components::intent_form::IntentForm;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// At the limit: delete one first.
    Limit,
    Name,
    /// The session is too old: password (and code) again, then create `name`.
    Reverify {
        name: String,
    },
    Show(CreatedAppPassword),
}

/// "Delete" for one app password: before the WebAssembly loads, a link to `page` that opens the
/// confirmation there; once hydrated, it asks the page to confirm through `request_delete`.
#[component]
pub fn DeleteAppPasswordLink(
    page: &'static str,
    item: AppPasswordItem,
    request_delete: Callback<AppPasswordItem>,
) -> impl IntoView {
    let href = format!(
        "{page}?delete={}&name={}",
        item.id,
        crate::account::urlencode(&item.name)
    );
    let label = format!("Delete app password {}", item.name);
    view! {
        <a
            href=href
            class="link"
            role="button"
            aria-label=label
            on:click=move |ev| {
                ev.prevent_default();
                request_delete.run(item.clone());
            }
        >
            "Delete"
        </a>
    }
}

/// A link styled as a button that runs `action` once hydrated, and follows `href` before.
#[component]
pub fn ActionLink(
    href: String,
    class: &'static str,
    action: Callback<()>,
    children: Children,
) -> impl IntoView {
    view! {
        <a
            href=href
            class=class
            role="button"
            on:click=move |ev| {
                ev.prevent_default();
                action.run(());
            }
        >
            {children()}
        </a>
    }
}

/// The create steps. `done` runs when the person finishes (Done, Cancel); `request_delete` asks
/// the page to confirm deleting one (from the limit prompt). `initial` is what a form post sent
/// before the WebAssembly loaded produced, if anything.
#[component]
pub fn AppPasswordSteps(
    overview: Option<AppPasswordOverview>,
    initial: Option<FormOutcome>,
    page: &'static str,
    done: Callback<()>,
    request_delete: Callback<AppPasswordItem>,
) -> impl IntoView {
    let at_limit = overview.as_ref().is_some_and(AppPasswordOverview::at_limit);
    let has_two_step = overview.as_ref().is_some_and(|o| o.has_two_step);
    let items = overview
        .as_ref()
        .map(|o| o.items.clone())
        .unwrap_or_default();
    let limit = overview.as_ref().map_or(40, |o| o.limit);

    let pending_name = RwSignal::new(String::new());
    // An error carried by a form post, shown until the next try.
    let carried_error = RwSignal::new(None::<AppError>);
    let first_step = match initial {
        Some(FormOutcome::Created(created)) => Step::Show(created),
        Some(FormOutcome::CreateFailed {
            name,
            error: AppError::ReverifyRequired,
        }) => Step::Reverify { name },
        Some(FormOutcome::CreateFailed {
            error: AppError::LimitReached { .. },
            ..
        }) => Step::Limit,
        Some(FormOutcome::CreateFailed { name, error }) => {
            pending_name.set(name);
            carried_error.set(Some(error));
            Step::Name
        }
        Some(FormOutcome::ReverifyFailed { name, error }) => {
            carried_error.set(Some(error));
            Step::Reverify { name }
        }
        _ if at_limit => Step::Limit,
        _ => Step::Name,
    };
    let step = RwSignal::new(first_step);
    let create = ServerAction::<CreateAppPassword>::new();
    let reverify = ServerAction::<Reverify>::new();
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());

    Effect::new(move |_| match create.value().get() {
        Some(Ok(created)) => step.set(Step::Show(created)),
        Some(Err(AppError::ReverifyRequired)) => step.set(Step::Reverify {
            name: pending_name.get_untracked(),
        }),
        Some(Err(AppError::LimitReached { .. })) => step.set(Step::Limit),
        _ => {}
    });
    Effect::new(move |_| {
        if let (Some(Ok(())), Step::Reverify { name }) =
            (reverify.value().get(), step.get_untracked())
        {
            reverify.value().set(None);
            create.value().set(None);
            create.dispatch(CreateAppPassword { name });
        }
    });
    let create_error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| carried_error.get())
            .filter(|e| {
                !matches!(
                    e,
                    AppError::ReverifyRequired | AppError::LimitReached { .. }
                )
            })
    };
    let name_error = Signal::derive(move || create_error().map(|e| e.to_string()));
    let reverify_error = move || {
        reverify
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| carried_error.get())
    };
    let reverify_field = move |field: &'static str| {
        Signal::derive(move || {
            reverify_error().and_then(|e| match &e {
                AppError::Invalid { .. } => e.message_for(field),
                _ if field == "password" => Some(e.to_string()),
                _ => None,
            })
        })
    };
    let cancel = move || {
        view! { <ActionLink href=page.to_owned() class="button" action=done>"Cancel"</ActionLink> }
    };

    move || {
        match step.get() {
        Step::Limit => view! {
            <div class="stack">
                <p role="alert">
                    {format!("You have {} of {limit} app passwords. Delete one you no longer use to create a new one.", items.len())}
                </p>
                <ul class="plain-list">
                    {items.iter().map(|item| view! {
                        <li class="limit-item">
                            <span>{item.name.clone()}</span>
                            <DeleteAppPasswordLink page=page item=item.clone() request_delete=request_delete/>
                        </li>
                    }).collect_view()}
                </ul>
                <div class="modal-actions">
                    {cancel()}
                    <button type="button" class="button primary" disabled=at_limit on:click=move |_| step.set(Step::Name)>
                        "Next"
                    </button>
                </div>
            </div>
        }.into_any(),
        Step::Name => view! {
            <IntentForm page=page intent="create_app_password" class="stack" submit=Callback::new(move |()| {
                carried_error.set(None);
                create.dispatch(CreateAppPassword { name: pending_name.get_untracked() });
            })>
                <p class="muted">"Name the app that will use this password, so you can recognise it later."</p>
                <div class="field">
                    <label for="app-name">"Name"</label>
                    <input
                        id="app-name"
                        name="name"
                        type="text"
                        maxlength="200"
                        autocomplete="off"
                        placeholder="For example: Outlook 2010"
                        aria-describedby="app-name-error"
                        aria-invalid=move || name_error.get().is_some().to_string()
                        prop:value=move || pending_name.get()
                        on:input=move |ev| pending_name.set(event_target_value(&ev))
                    />
                    <p id="app-name-error" class="field-error" role="alert">{move || name_error.get()}</p>
                </div>
                <div class="modal-actions">
                    {cancel()}
                    <button type="submit" class="button primary" disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Creating..." } else { "Next" }}
                    </button>
                </div>
            </IntentForm>
        }.into_any(),
        Step::Reverify { name } => view! {
            <IntentForm page=page intent="reverify_and_create" class="stack" submit=Callback::new(move |()| {
                carried_error.set(None);
                reverify.dispatch(Reverify { password: password.get_untracked(), code: Some(code.get_untracked()) });
            })>
                <input type="hidden" name="name" value=name/>
                <p>"For your security, confirm it's you before creating an app password."</p>
                <Field label="Password" name="password" id="reverify-password" input_type="password"
                    autocomplete="current-password" error=reverify_field("password")
                    on_input=Callback::new(move |value: String| password.set(value))/>
                {has_two_step.then(|| view! {
                    <Field label="Code from your authenticator app" name="code" id="reverify-code"
                        autocomplete="one-time-code" inputmode="numeric" error=reverify_field("code")
                        on_input=Callback::new(move |value: String| code.set(value))/>
                })}
                <div class="modal-actions">
                    {cancel()}
                    <button type="submit" class="button primary" disabled=move || reverify.pending().get()>"Confirm"</button>
                </div>
            </IntentForm>
        }.into_any(),
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
                        <CopyButton text=created.password.clone() input_id="new-app-password"/>
                    </div>
                </div>
                <p class="notice warning" role="status">
                    "This is the only time you'll see this password. If you lose it, delete it and create a new one."
                </p>
                <FirstSignIn id=created.id/>
                <div class="modal-actions">
                    <ActionLink href=page.to_owned() class="button primary" action=done>"Done"</ActionLink>
                </div>
            </div>
        }.into_any(),
    }
    }
}

/// How often the open dialog asks whether the new app password has been used.
const FIRST_SIGN_IN_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// "Waiting for the first sign-in..." until the app signs in with the new password, then
/// "Signed in from IMAP just now": people know the app works before they close the dialog.
#[component]
fn FirstSignIn(id: i32) -> impl IntoView {
    let signed_in = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let poll = move || {
            if signed_in.get_untracked().is_none() {
                leptos::task::spawn_local(async move {
                    if let Ok(Some(text)) = app_password_first_sign_in(id).await {
                        signed_in.set(Some(text));
                    }
                });
            }
        };
        if let Ok(handle) = set_interval_with_handle(poll, FIRST_SIGN_IN_POLL) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <p class="first-sign-in" role="status" aria-live="polite">
            {move || match signed_in.get() {
                Some(text) => view! { <span class="signed-in">{text}</span> }.into_any(),
                None => view! { <span class="waiting">"Waiting for the first sign-in..."</span> }.into_any(),
            }}
        </p>
    }
}

/// What the page's URL and a form post say about which app-password dialog to open at first,
/// so that links and forms followed before the WebAssembly loaded land in the right place.
#[derive(Debug, Clone, Default)]
pub struct InitialDialogs {
    /// Open the create steps (`?add=app_password`, or a create form was posted).
    pub create: bool,
    /// Open the "Add a method" chooser (`?add=method`).
    pub choose: bool,
    /// Ask to confirm deleting this one (`?delete=ID&name=NAME`).
    pub delete: Option<AppPasswordItem>,
    /// Open Change password (`?change=password`, or a change form was posted).
    pub change_password: bool,
    /// Open Add method at the authenticator app (`?add=authenticator`, or its forms were posted).
    pub authenticator: bool,
    /// Ask to confirm deleting the authenticator app (`?remove=authenticator`).
    pub remove_authenticator: bool,
    pub outcome: Option<FormOutcome>,
}

impl InitialDialogs {
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
        let delete = query
            .get("delete")
            .and_then(|id| id.parse().ok())
            .map(|id| AppPasswordItem {
                id,
                name: query.get("name").unwrap_or_default(),
                created: String::new(),
                last_used: String::new(),
            });
        let change_outcome = matches!(
            outcome,
            Some(FormOutcome::PasswordChanged | FormOutcome::PasswordChangeFailed { .. })
        );
        Self {
            create: add == "app_password" || create_outcome,
            choose: add == "method",
            delete,
            change_password: query.get("change").is_some_and(|c| c == "password") || change_outcome,
            remove_authenticator: query.get("remove").is_some_and(|r| r == "authenticator"),
            authenticator: add == "authenticator"
                || matches!(
                    outcome,
                    Some(
                        FormOutcome::AuthenticatorStarted(_)
                            | FormOutcome::AuthenticatorStartFailed { .. }
                            | FormOutcome::AuthenticatorConfirmFailed { .. }
                    )
                ),
            outcome,
        }
    }
}

/// "Delete the app password for 'X'?" with Yes (a form that posts to the page before the
/// WebAssembly loads) and No.
#[component]
pub fn DeleteAppPasswordDialog(
    open: RwSignal<bool>,
    target: RwSignal<Option<AppPasswordItem>>,
    delete: ServerAction<crate::app_passwords::DeleteAppPassword>,
    page: &'static str,
    id: &'static str,
) -> impl IntoView {
    let close = Callback::new(move |()| open.set(false));
    view! {
        <crate::components::modal::Modal open=open id=id title="Delete app password?".to_owned()>
            <IntentForm page=page intent="delete_app_password" submit=Callback::new(move |()| {
                if let Some(item) = target.get_untracked() {
                    delete.dispatch(crate::app_passwords::DeleteAppPassword { id: item.id });
                }
                open.set(false);
            })>
                <input type="hidden" name="id" value=move || target.get().map(|t| t.id.to_string())/>
                <p>
                    {move || target.get().map(|item| format!(
                        "Delete the app password for '{}'? Apps using it will stop signing in. This can't be undone.",
                        item.name
                    ))}
                </p>
                <div class="modal-actions">
                    <ActionLink href=page.to_owned() class="button" action=close>"No"</ActionLink>
                    <button type="submit" class="button primary">"Yes"</button>
                </div>
            </IntentForm>
        </crate::components::modal::Modal>
    }
}
