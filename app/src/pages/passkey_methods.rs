//! Passkeys and security keys on the pages: their rows on Security info (kind, name, when
//! added, last used; Rename and Delete), the form of Add method's "Passkey or security key", and the sign-in
//! buttons ("Sign in with a passkey" on the first step, passwordless; "Use a passkey" at the
//! code step). Each ceremony (its server calls and the browser's prompt) is one of
//! `crate::passkeys`' lazily loaded chunks: none of it is in the main module. Rename and Delete are plain forms (in `<details>`), so they work
//! before the WebAssembly; adding and using a passkey need JavaScript, and say so without it.

use leptos::either::Either;
use leptos::prelude::*;

use crate::components::field::{CodeField, Field};
use crate::components::scripts_running;
use crate::error::AppError;
use crate::pages::answers::{last_call, successes};
use crate::passkey_model::{PasskeyAvailability, PasskeyItem};
use crate::passkeys::{
    DeletePasskey, RenamePasskey, add_passkey, confirm_with_passkey, get_passkey_availability,
    get_passkeys, second_step_with_passkey, sign_in_with_passkey,
};
use crate::secret::Secret;

/// What a page without JavaScript says where a passkey would be used.
// Also what shows until the WebAssembly starts, so it does not say JavaScript is off.
const NEEDS_JAVASCRIPT: &str = "Passkeys need JavaScript.";

fn error_of<T: Clone>(answer: Option<Result<T, AppError>>) -> Option<String> {
    match answer {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    }
}

/// "Sign in with a passkey" on the sign-in page's first step: a discoverable credential signs
/// in with no name or password typed.
#[component]
pub(crate) fn PasskeySignInButton(next: String) -> impl IntoView {
    let sign_in = Action::new_local(move |next: &String| sign_in_with_passkey(next.clone()));
    let error = move || error_of(sign_in.value().get());
    let running = scripts_running();
    let button = move || {
        let next = next.clone();
        view! {
            <button type="button" class="button passkey-button" id="passkey-sign-in"
                disabled=move || sign_in.pending().get()
                on:click=move |_| {
                    sign_in.dispatch_local(next.clone());
                }>
                "Sign in with a passkey"
            </button>
        }
    };
    view! {
        <div class="passkey-sign-in stack">
            <Show when=move || running.get()
                fallback=|| view! { <p class="hint">{NEEDS_JAVASCRIPT} " Sign in with your name and password."</p> }>
                {button.clone()}
            </Show>
            <p class="form-error" role="alert">{error}</p>
        </div>
    }
}

/// "Use a passkey" at the code step: the passkey answers in place of the code.
#[component]
pub(crate) fn PasskeySecondStepButton(next: String) -> impl IntoView {
    let verify = Action::new_local(move |next: &String| second_step_with_passkey(next.clone()));
    let error = move || error_of(verify.value().get());
    let running = scripts_running();
    let button = move || {
        let next = next.clone();
        view! {
            <button type="button" class="button passkey-button" id="use-passkey"
                disabled=move || verify.pending().get()
                on:click=move |_| {
                    verify.dispatch_local(next.clone());
                }>
                "Use a passkey"
            </button>
        }
    };
    view! {
        <div class="passkey-second-step stack">
            <Show when=move || running.get()
                fallback=|| view! { <p class="hint">{NEEDS_JAVASCRIPT} " Sign in another way below."</p> }>
                {button.clone()}
            </Show>
            <p class="form-error" role="alert">{error}</p>
        </div>
    }
}

/// "Confirm with a passkey", beside a "confirm it's you" prompt of a person who has a passkey
/// (`shown`), once the WebAssembly runs: the browser's prompt in place of the password and
/// code. `confirmed` runs after it succeeded (the page reads again that the sign-in is recent).
#[component]
pub(crate) fn ConfirmWithPasskey(
    #[prop(into)] shown: Signal<bool>,
    confirmed: Callback<()>,
) -> impl IntoView {
    let confirm = Action::new_local(|_: &()| confirm_with_passkey());
    let running = scripts_running();
    Effect::new(move |_| {
        if matches!(confirm.value().get(), Some(Ok(()))) {
            confirmed.run(());
        }
    });
    let error = move || error_of(confirm.value().get());
    view! {
        <Show when=move || running.get() && shown.get()>
            <div class="passkey-confirm stack">
                <button type="button" class="button passkey-button"
                    disabled=move || confirm.pending().get()
                    on:click=move |_| {
                        confirm.dispatch_local(());
                    }>
                    "Confirm with a passkey"
                </button>
                <p class="form-error" role="alert">{error}</p>
            </div>
        </Show>
    }
}

/// What "Add passkey" sends: the name, and the password and code when asked for.
type NewPasskey = (String, String, String);

/// The person's passkeys (read on the server first, then hydrated, and again after each
/// change), whether passkeys can be added, and the calls that change them. Made once with the
/// page: a resource made inside a transition's content is made again each time the server
/// re-renders it, and each one reads again.
#[derive(Clone, Copy)]
pub struct Passkeys {
    list: Resource<Result<Vec<PasskeyItem>, AppError>>,
    /// Whether this server offers passkeys (Add method offers them only then).
    pub availability: Resource<Result<PasskeyAvailability, AppError>>,
    rename: ServerAction<RenamePasskey>,
    /// Deleting one: the methods, app passwords and default method change too.
    pub delete: ServerAction<DeletePasskey>,
    /// Adding one (two calls around the browser's prompt, so a local action); like deleting.
    pub add: Action<NewPasskey, Result<PasskeyItem, AppError>>,
}

impl Passkeys {
    pub(crate) fn new() -> Self {
        let rename = ServerAction::<RenamePasskey>::new();
        let delete = ServerAction::<DeletePasskey>::new();
        let add = Action::new_local(|(name, password, code): &NewPasskey| {
            let optional = |value: &String| (!value.is_empty()).then(|| Secret::new(value.clone()));
            add_passkey(name.clone(), optional(password), optional(code))
        });
        let (renamed, deleted, added) = (successes(rename), successes(delete), successes(add));
        Self {
            list: Resource::new(
                move || (renamed.get(), deleted.get(), added.get()),
                |_| get_passkeys(),
            ),
            availability: Resource::new(|| (), |_| get_passkey_availability()),
            rename,
            delete,
            add,
        }
    }
}

/// The person's passkeys as rows of Security info's method list.
/// `recently_signed_in`: whether changes need no "confirm it's you".
#[component]
pub(crate) fn PasskeyRows(
    passkeys: Passkeys,
    #[prop(into)] recently_signed_in: Signal<bool>,
    /// Runs after "Confirm with a passkey" succeeded.
    confirmed: Callback<()>,
) -> impl IntoView {
    let Passkeys {
        list,
        rename,
        delete,
        ..
    } = passkeys;
    // Which passkey the last Rename and Delete were for: their refusals show under it only.
    let renaming = last_call(rename, |input| input.id);
    let deleting = last_call(delete, |input| input.id);
    let rows = move || {
        list.get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                view! {
                    <PasskeyRow item=item rename=rename delete=delete renaming=renaming
                        deleting=deleting recently_signed_in=recently_signed_in confirmed=confirmed/>
                }
            })
            .collect_view()
    };
    view! { <Transition fallback=|| ()>{rows}</Transition> }
}

#[component]
fn PasskeyRow(
    item: PasskeyItem,
    rename: ServerAction<RenamePasskey>,
    delete: ServerAction<DeletePasskey>,
    renaming: Memo<Option<i32>>,
    deleting: Memo<Option<i32>>,
    recently_signed_in: Signal<bool>,
    confirmed: Callback<()>,
) -> impl IntoView {
    let id = item.id;
    let this_row = move |last: Memo<Option<i32>>| last.get().is_none_or(|last| last == id);
    let used = item.last_used.map_or_else(
        || "never used".to_owned(),
        |when| format!("last used {when}"),
    );
    let detail = format!("Added {}, {used}", item.added);
    // A refused plain form post of this row's Rename: the name as typed, and why.
    let (typed, refused) = match crate::form_post::refused() {
        Some((crate::form_post::TypedForm::RenamePasskey { id: of, name }, error)) if of == id => {
            (Some(name), Some(error))
        }
        _ => (None, None),
    };
    let open = refused.is_some();
    let rename_error = move || {
        let this_row = this_row(renaming);
        match rename.value().get() {
            Some(Err(error)) if this_row => Some(error.to_string()),
            Some(_) => None,
            None => refused.as_ref().map(AppError::to_string),
        }
    };
    let delete_error = move || {
        let this_row = this_row(deleting);
        match delete.value().get() {
            Some(Err(error)) if this_row && !matches!(error, AppError::ReverifyRequired) => {
                Some(error.to_string())
            }
            _ => None,
        }
    };
    let ask_confirmation = move || {
        let this_row = this_row(deleting);
        !recently_signed_in.get()
            || this_row
                && matches!(
                    delete.value().get(),
                    Some(Err(AppError::ReverifyRequired | AppError::Invalid { .. }))
                )
    };
    let rename_id = format!("passkey-name-{id}");
    let password_id = format!("delete-passkey-password-{id}");
    let code_id = format!("delete-passkey-code-{id}");
    let (rename_label, delete_label) = (
        format!("Rename {}", item.name),
        format!("Delete {}", item.name),
    );
    view! {
        <li class="method passkey">
            <span class="method-name">"Passkey or security key: " <strong>{item.name.clone()}</strong></span>
            <span class="method-detail">{detail}</span>
            <details class="passkey-rename" open=open>
                <summary class="link" aria-label=rename_label>"Rename"</summary>
                <ActionForm action=rename attr:class="stack">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <div class="field">
                        <label for=rename_id.clone()>"New name"</label>
                        <input id=rename_id name="name" value=typed.unwrap_or(item.name) maxlength="64" required/>
                    </div>
                    <p class="form-error" role="alert">{rename_error}</p>
                    <button type="submit" class="button primary">"Save"</button>
                </ActionForm>
            </details>
            <details class="passkey-delete">
                <summary class="link" aria-label=delete_label>"Delete"</summary>
                <ActionForm action=delete attr:class="stack">
                    <p>"Delete this passkey? It will no longer sign you in."</p>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <Show when=ask_confirmation>
                        <p>"For your security, confirm it's you first."</p>
                        <ConfirmWithPasskey shown=true confirmed=Callback::new(move |()| {
                            delete.value().set(None);
                            confirmed.run(());
                        })/>
                        <div class="field">
                            <label for=password_id.clone()>"Password"</label>
                            <input id=password_id.clone() name="password" type="password"
                                autocomplete="current-password"/>
                        </div>
                        // One per row: a label must lead to its own row's field.
                        <CodeField id=code_id.clone()/>
                    </Show>
                    <p class="form-error" role="alert">{delete_error}</p>
                    <button type="submit" class="button danger">"Yes, delete"</button>
                </ActionForm>
            </details>
        </li>
    }
}

/// Add method > "Passkey or security key" (`?add=passkey`): a name (and after 10 minutes
/// without a sign-in, the password and code), then the browser's prompt. Says why when the
/// server has no passkeys; without JavaScript, says passkeys need it.
#[component]
pub(crate) fn AddPasskey(
    passkeys: Passkeys,
    #[prop(into)] recently_signed_in: Signal<bool>,
    /// Whether the person has a passkey already (to confirm it's them with).
    #[prop(into)]
    has_passkey: Signal<bool>,
    /// Runs after "Confirm with a passkey" succeeded.
    confirmed: Callback<()>,
) -> impl IntoView {
    let running = scripts_running();
    let Passkeys {
        add, availability, ..
    } = passkeys;
    // After each passkey added, the form is made again: empty, for the next one.
    let added = successes(add);
    let ask_confirmation = move || {
        !recently_signed_in.get()
            || matches!(
                add.value().get(),
                Some(Err(AppError::ReverifyRequired | AppError::Invalid { .. }))
            )
    };
    let error = move || error_of(add.value().get());
    let form = move || {
        added.track();
        let name = RwSignal::new(String::new());
        let password = RwSignal::new(String::new());
        let code = RwSignal::new(String::new());
        view! {
            <form class="stack" on:submit=move |event| {
                event.prevent_default();
                add.dispatch_local((name.get(), password.get(), code.get()));
            }>
                <Field label="Name it (so you can tell your keys apart)" name="name" id="passkey-name"
                    placeholder="Work laptop"
                    on_input=Callback::new(move |value| name.set(value))/>
                <Show when=ask_confirmation>
                    <p>"For your security, confirm it's you before you add a sign-in method."</p>
                    <ConfirmWithPasskey shown=has_passkey confirmed=Callback::new(move |()| {
                        add.value().set(None);
                        confirmed.run(());
                    })/>
                    <Field label="Password" name="password" id="add-passkey-password" input_type="password"
                        autocomplete="current-password"
                        on_input=Callback::new(move |value| password.set(value))/>
                    <Field label="Code from your authenticator app (if you have one)" name="code"
                        id="add-passkey-code" autocomplete="one-time-code" inputmode="numeric"
                        on_input=Callback::new(move |value| code.set(value))/>
                </Show>
                <p class="form-error" role="alert">{error}</p>
                <button type="submit" class="button primary" disabled=move || add.pending().get()>
                    "Add passkey"
                </button>
            </form>
        }
    };
    let body = move || match availability.get() {
        Some(Ok(PasskeyAvailability::Unavailable { reason })) => Some(Either::Left(view! {
            <p class="hint">"Passkeys and security keys aren't available on this server: " {reason}</p>
        })),
        Some(Ok(PasskeyAvailability::Available)) => Some(Either::Right(view! {
            <Show when=move || running.get()
                fallback=|| view! { <p class="hint">{NEEDS_JAVASCRIPT} " Add method offers the other kinds."</p> }>
                {move || form()}
            </Show>
        })),
        _ => None,
    };
    view! { <Transition fallback=|| ()>{body}</Transition> }
}
