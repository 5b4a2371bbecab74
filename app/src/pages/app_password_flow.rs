//! The steps of creating an app password, shared by Security info ("Add method" > "App
//! password") and the legacy "Manage app passwords" page: name -> (confirm it's you) ->
//! password shown once with Copy -> Done. At the limit, a prompt to delete one first.

use leptos::prelude::*;

use crate::app_passwords::{
    AppPasswordItem, AppPasswordOverview, CreateAppPassword, CreatedAppPassword, Reverify,
};
use crate::components::copy::CopyButton;
use crate::components::field::Field;
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

/// The create steps. `done` runs when the person finishes (Done, or at the limit, Cancel);
/// `request_delete` asks the page to confirm deleting one (from the limit prompt).
#[component]
pub fn AppPasswordSteps(
    overview: Signal<Option<AppPasswordOverview>>,
    done: Callback<()>,
    request_delete: Callback<AppPasswordItem>,
) -> impl IntoView {
    let at_limit = move || overview.get().is_some_and(|o| o.at_limit());
    let step = RwSignal::new(if overview.get_untracked().is_some_and(|o| o.at_limit()) {
        Step::Limit
    } else {
        Step::Name
    });
    let create = ServerAction::<CreateAppPassword>::new();
    let reverify = ServerAction::<Reverify>::new();
    let pending_name = RwSignal::new(String::new());

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
        create.value().get().and_then(Result::err).filter(|e| {
            !matches!(
                e,
                AppError::ReverifyRequired | AppError::LimitReached { .. }
            )
        })
    };
    let name_error = Signal::derive(move || create_error().map(|e| e.to_string()));
    let has_two_step = move || overview.get().is_some_and(|o| o.has_two_step);

    view! {
        {move || match step.get() {
            Step::Limit => view! {
                <div class="stack">
                    <p role="alert">
                        {move || overview.get().map(|o| format!(
                            "You have {} of {} app passwords. Delete one you no longer use to create a new one.",
                            o.items.len(), o.limit
                        ))}
                    </p>
                    <ul class="plain-list">
                        <For
                            each=move || overview.get().map(|o| o.items).unwrap_or_default()
                            key=|item| item.id
                            let:item
                        >
                            <li class="limit-item">
                                <span>{item.name.clone()}</span>
                                <button type="button" class="link" on:click=move |_| request_delete.run(item.clone())>
                                    "Delete"
                                </button>
                            </li>
                        </For>
                    </ul>
                    <div class="modal-actions">
                        <button type="button" class="button" on:click=move |_| done.run(())>"Cancel"</button>
                        <button type="button" class="button primary" disabled=at_limit on:click=move |_| step.set(Step::Name)>
                            "Next"
                        </button>
                    </div>
                </div>
            }.into_any(),
            Step::Name => view! {
                <form
                    class="stack"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        let name = pending_name.get_untracked();
                        create.dispatch(CreateAppPassword { name });
                    }
                >
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
                        <button type="button" class="button" on:click=move |_| done.run(())>"Cancel"</button>
                        <button type="submit" class="button primary" disabled=move || create.pending().get()>
                            {move || if create.pending().get() { "Creating..." } else { "Next" }}
                        </button>
                    </div>
                </form>
            }.into_any(),
            Step::Reverify { .. } => {
                let error = move || reverify.value().get().and_then(Result::err);
                let field = move |name: &'static str| Signal::derive(move || error().and_then(|e| {
                    match &e {
                        AppError::Invalid { .. } => e.message_for(name),
                        _ if name == "password" => Some(e.to_string()),
                        _ => None,
                    }
                }));
                view! {
                    <ActionForm action=reverify attr:class="stack">
                        <p>"For your security, confirm it's you before creating an app password."</p>
                        <Field label="Password" name="password" id="reverify-password" input_type="password"
                            autocomplete="current-password" error=field("password")/>
                        <Show when=has_two_step>
                            <Field label="Code from your authenticator app" name="code" id="reverify-code"
                                autocomplete="one-time-code" inputmode="numeric" error=field("code")/>
                        </Show>
                        <div class="modal-actions">
                            <button type="button" class="button" on:click=move |_| done.run(())>"Cancel"</button>
                            <button type="submit" class="button primary" disabled=move || reverify.pending().get()>"Confirm"</button>
                        </div>
                    </ActionForm>
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
                            <CopyButton text=created.password.clone() input_id="new-app-password"/>
                        </div>
                    </div>
                    <p class="notice warning" role="status">
                        "This is the only time you'll see this password. If you lose it, delete it and create a new one."
                    </p>
                    <div class="modal-actions">
                        <button type="button" class="button primary" on:click=move |_| done.run(())>"Done"</button>
                    </div>
                </div>
            }.into_any(),
        }}
    }
}
