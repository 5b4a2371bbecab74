//! App passwords on a page, shared by Security info ("Add method" > "App password") and the
//! legacy "Manage app passwords" page: the list as client state, the create steps (name ->
//! confirm it's you when needed -> password shown once with Copy -> Done; at the limit, a prompt
//! to delete one first) and the Delete dialog.
//!
//! The list is a `Resource` of `get_app_passwords`, rendered on the server and hydrated; the
//! answers of `create_app_password` and `delete_app_password` update it in place (no page or
//! list is fetched again), and it is fetched again when the tab is shown after being hidden.
//! Which dialog is open is in the URL's query. Before the WebAssembly, the same forms post to
//! the same server functions: creating is answered with the page showing the new password
//! (`crate::form_post`); deleting redirects back.

use leptos::either::{Either, EitherOf3, EitherOf4};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use crate::app_passwords::{
    ChangeAppPasswordKind, CreateAppPassword, DeleteAllAppPasswords, DeleteAppPassword,
    RenameAppPassword, app_password_first_sign_in, get_app_passwords,
};
use crate::components::copy::CopyButton;
use crate::components::field::{CodeField, Field};
use crate::components::links::{DialogActions, DialogBack, OpenDialog, dialog_opener};
use crate::components::modal::Modal;
use crate::error::AppError;
use crate::form_post::FormPostAnswer;
use crate::model::{
    AppPasswordItem, AppPasswordKind, AppPasswordLifetime, AppPasswordOverview, CreatedAppPassword,
};
use crate::pages::passkey_methods::ConfirmWithPasskey;
use crate::routes::{
    AppPasswordDialog, Page, SecurityInfoDialog, SecurityInfoQuery, use_page_query,
};

/// The app passwords of a page: the list and the calls that change it.
#[derive(Clone, Copy)]
pub struct AppPasswords {
    /// Security info or the legacy page.
    pub page: Page,
    pub list: Resource<Result<AppPasswordOverview, AppError>>,
    pub create: ServerAction<CreateAppPassword>,
    pub delete: ServerAction<DeleteAppPassword>,
    pub rename: ServerAction<RenameAppPassword>,
    pub delete_all: ServerAction<DeleteAllAppPasswords>,
    pub change_kind: ServerAction<ChangeAppPasswordKind>,
    /// The name typed in the create steps (kept for the confirm step).
    pub name: RwSignal<String>,
    /// What the new app password may use, chosen in the create steps (kept for the confirm
    /// step).
    pub kind: RwSignal<AppPasswordKind>,
    /// When the new app password expires, chosen in the create steps (kept for the confirm
    /// step).
    pub expires: RwSignal<AppPasswordLifetime>,
    /// What the last Delete, Rename or Delete all did, said under the list's heading (their
    /// dialogs and the rows that opened them are gone), until another dialog opens.
    pub done: RwSignal<Option<String>>,
}

impl AppPasswords {
    /// The list of `page`, kept up to date from the answers of its calls, and read again when
    /// `factor_changes` changes (a second factor added or deleted: app passwords may be used
    /// or not).
    pub fn new(page: Page, factor_changes: Signal<usize>) -> Self {
        let answer = create_answer();
        let person = crate::pages::profile::SignedInPerson::get();
        let this = Self {
            page,
            list: Resource::new(
                move || factor_changes.get(),
                move |_| async move { person.note(get_app_passwords().await) },
            ),
            create: ServerAction::new(),
            delete: ServerAction::new(),
            rename: ServerAction::new(),
            delete_all: ServerAction::new(),
            change_kind: ServerAction::new(),
            name: RwSignal::new(
                answer
                    .as_ref()
                    .map(|(name, _, _)| name.clone())
                    .unwrap_or_default(),
            ),
            kind: RwSignal::new(answer.map(|(_, kind, _)| kind).unwrap_or_default()),
            expires: RwSignal::new(create_answer_expiry().unwrap_or_default()),
            done: RwSignal::new(None),
        };
        this.follow_answers();
        this
    }

    /// The overview, once loaded and when it could be.
    pub fn overview(&self) -> Option<AppPasswordOverview> {
        self.list.get().and_then(Result::ok)
    }

    /// Forgets the answers of earlier calls (a dialog was `opened`, or closed). After a
    /// creation the list is fetched again: the app may have signed in meanwhile ("Last used").
    pub fn forget_answers(&self, opened: bool) {
        if opened {
            self.done.set(None);
        }
        if matches!(self.create.value().get_untracked(), Some(Ok(_))) {
            self.list.refetch();
        }
        self.create.value().set(None);
        self.delete.value().set(None);
        self.rename.value().set(None);
        self.delete_all.value().set(None);
        self.change_kind.value().set(None);
    }

    fn follow_answers(self) {
        let list = self.list;
        let (create, delete) = (self.create, self.delete);
        let (expires, done) = (self.expires, self.done);
        Effect::new(move |_| {
            if let Some(Ok(created)) = create.value().get() {
                list.update(|list| {
                    if let Some(Ok(overview)) = list {
                        overview.add(created.item.clone());
                    }
                });
                // The next one starts at the default again ("Never"), not at this choice.
                expires.set(AppPasswordLifetime::default());
            }
        });
        let query = use_page_query::<SecurityInfoQuery>();
        let navigate = use_navigate();
        let page = self.page;
        Effect::new(move |_| match delete.value().get() {
            Some(Ok(id)) => {
                let name = list.with_untracked(|list| match list {
                    Some(Ok(overview)) => overview
                        .items
                        .iter()
                        .find(|item| item.id == id)
                        .map(|item| item.name.clone()),
                    _ => None,
                });
                done.set(Some(match name {
                    Some(name) => format!("The app password '{name}' was deleted."),
                    None => "The app password was deleted.".to_owned(),
                }));
                list.update(|list| {
                    if let Some(Ok(overview)) = list {
                        overview.remove(id);
                    }
                });
                // From the limit prompt: back to the create steps, with a slot free now.
                let then_create = matches!(
                    query.read_untracked().app_password_dialog(),
                    Some(AppPasswordDialog::Delete {
                        then_create: true,
                        ..
                    })
                );
                let next = if then_create {
                    AppPasswordDialog::Create.on(page)
                } else {
                    page.path().to_owned()
                };
                navigate(&next, Default::default());
            }
            // Deleted meanwhile elsewhere: show the list as it is now.
            Some(Err(AppError::AppPasswordGone)) => list.refetch(),
            _ => {}
        });
        let (rename, delete_all) = (self.rename, self.delete_all);
        let navigate = use_navigate();
        Effect::new(move |_| match rename.value().get() {
            Some(Ok(renamed)) => {
                done.set(Some(format!("Renamed to '{}'.", renamed.name)));
                list.update(|list| {
                    if let Some(Ok(overview)) = list {
                        overview.replace(renamed.clone());
                    }
                });
                navigate(page.path(), Default::default());
            }
            Some(Err(AppError::AppPasswordGone)) => list.refetch(),
            _ => {}
        });
        let change_kind = self.change_kind;
        Effect::new(move |_| match change_kind.value().get() {
            Some(Ok(changed)) => list.update(|list| {
                if let Some(Ok(overview)) = list {
                    overview.replace(changed.clone());
                }
            }),
            Some(Err(AppError::AppPasswordGone)) => list.refetch(),
            _ => {}
        });
        let navigate = use_navigate();
        Effect::new(move |_| match delete_all.value().get() {
            Some(Ok(_)) => {
                done.set(Some("Your app passwords were deleted.".to_owned()));
                list.update(|list| {
                    if let Some(Ok(overview)) = list {
                        overview.items.clear();
                    }
                });
                navigate(page.path(), Default::default());
            }
            // Another window changed the list: the dialog names the new count.
            Some(Err(AppError::ListChanged)) => list.refetch(),
            _ => {}
        });
    }
}

/// The answer of a plain form post to `create_app_password`: the name typed, the kind chosen
/// and the result.
type CreateAnswer = (
    String,
    AppPasswordKind,
    Result<CreatedAppPassword, AppError>,
);

/// What a plain form post to `create_app_password` did, when the page is its answer.
fn create_answer() -> Option<CreateAnswer> {
    match crate::form_post::answer() {
        Some(FormPostAnswer::CreateAppPassword {
            name, kind, result, ..
        }) => Some((name, kind, result)),
        _ => None,
    }
}

/// The expiry chosen in a plain form post to `create_app_password`, when the page is its
/// answer.
fn create_answer_expiry() -> Option<AppPasswordLifetime> {
    match crate::form_post::answer() {
        Some(FormPostAnswer::CreateAppPassword { expires, .. }) => Some(expires),
        _ => None,
    }
}

/// Whether the page is the answer to a plain form post that created (or tried to create) an
/// app password: the create steps are open then, whatever the URL.
pub fn answering_create() -> bool {
    create_answer().is_some()
}

/// Forgets earlier answers whenever the page's query (its open dialog) changes, so a dialog
/// opened again starts at its first step; `forget` is told whether one opened.
pub fn forget_answers_when_the_dialog_changes(forget: impl Fn(bool) + 'static) {
    let location = use_location();
    Effect::new(move |previous: Option<String>| {
        let search = location.search.get();
        if previous.is_some_and(|previous| previous != search) {
            forget(!search.is_empty());
        }
        search
    });
}

/// Runs `refresh` when the tab is shown again after being hidden (another tab may have changed
/// what the page lists).
pub fn refresh_when_shown(refresh: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let listener = window_event_listener(leptos::ev::visibilitychange, move |_| {
            let visible = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
            if visible {
                refresh();
            }
        });
        on_cleanup(move || listener.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = refresh;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// At the limit: delete one first.
    Limit,
    Name {
        error: Option<AppError>,
    },
    /// The session is too old: password (and code) again, in the same call.
    Confirm {
        error: Option<AppError>,
    },
    Show(CreatedAppPassword),
}

impl Step {
    /// The step after the last answer of `create_app_password`, if there was one.
    fn after(answer: Option<Result<CreatedAppPassword, AppError>>, at_limit: bool) -> Self {
        match answer {
            Some(Ok(created)) => Self::Show(created),
            Some(Err(AppError::ReverifyRequired)) => Self::Confirm { error: None },
            Some(Err(AppError::LimitReached { .. })) => Self::Limit,
            Some(Err(error)) if confirmation_failed(&error) => Self::Confirm { error: Some(error) },
            Some(Err(error)) => Self::Name { error: Some(error) },
            None if at_limit => Self::Limit,
            None => Self::Name { error: None },
        }
    }
}

/// Whether a refusal is about confirming it's the person (wrong password or code, too many
/// tries): the confirm step is shown again, with the reason.
pub fn confirmation_failed(error: &AppError) -> bool {
    matches!(
        error,
        AppError::ReverifyRequired
            | AppError::Throttled { .. }
            | AppError::Forbidden(crate::error::Refusal::ConfirmWithPasskey)
    ) || error.message_for("password").is_some()
        || error.message_for("code").is_some()
}

/// "Rename" for one app password: opens its Rename dialog.
#[component]
pub fn RenameAppPasswordButton(page: Page, item: AppPasswordItem) -> impl IntoView {
    let dialog = SecurityInfoDialog::AppPassword(AppPasswordDialog::Rename { id: item.id });
    dialog_opener(
        page,
        dialog,
        "link",
        Some(format!("Rename app password {}", item.name)),
        "Rename",
    )
}

/// "Delete all" app passwords: opens its confirmation (only worth offering for two or more).
#[component]
pub fn DeleteAllAppPasswordsButton(page: Page) -> impl IntoView {
    let dialog = SecurityInfoDialog::AppPassword(AppPasswordDialog::DeleteAll);
    view! {
        <OpenDialog page=page dialog=dialog class="button danger-outline">
            "Delete all"
        </OpenDialog>
    }
}

/// "Delete" for one app password: opens its Delete dialog. From the limit prompt
/// (`from_create`), both answers lead back to the create steps.
#[component]
pub fn DeleteAppPasswordButton(
    page: Page,
    item: AppPasswordItem,
    #[prop(optional)] from_create: bool,
) -> impl IntoView {
    let dialog = SecurityInfoDialog::AppPassword(AppPasswordDialog::Delete {
        id: item.id,
        then_create: from_create,
    });
    dialog_opener(
        page,
        dialog,
        "link",
        Some(format!("Delete app password {}", item.name)),
        "Delete",
    )
}

/// The create steps, inside the page's dialog.
#[component]
pub fn AppPasswordSteps(apps: AppPasswords) -> impl IntoView {
    let page = apps.page;
    let answered = create_answer();
    let step = Memo::new(move |_| {
        let at_limit = apps.overview().is_some_and(|o| o.at_limit());
        let answer = apps
            .create
            .value()
            .get()
            .or_else(|| answered.clone().map(|(_, _, result)| result));
        Step::after(answer, at_limit)
    });
    let pending = apps.create.pending();
    move || match step.get() {
        Step::Limit => EitherOf4::A(view! { <LimitPrompt apps=apps/> }),
        Step::Name { error } => {
            let error = error.map(|e| e.to_string());
            EitherOf4::B(view! {
                <ActionForm action=apps.create attr:class="stack">
                    <p class="muted">"Name the app that will use this password, so you can recognise it later."</p>
                    <Field label="Name" name="name" id="app-name" placeholder="For example: Outlook 2010"
                        value=apps.name.get_untracked() autofocus=true error=error
                        on_input=move |value: String| apps.name.set(value)/>
                    <KindSelect id="app-kind" kind=apps.kind/>
                    <ExpirySelect expires=apps.expires/>
                    <DialogActions back=page.path() back_label="Cancel" submit="Next" pending=pending/>
                </ActionForm>
            })
        }
        Step::Confirm { error } => {
            let has_two_step = apps.overview().is_some_and(|o| o.has_two_step);
            let field_error = |field: &'static str| {
                error.as_ref().and_then(|e| match e {
                    AppError::Invalid { .. } => e.message_for(field),
                    AppError::ReverifyRequired => None,
                    _ if field == "password" => Some(e.to_string()),
                    _ => None,
                })
            };
            let (password_error, code_error) = (field_error("password"), field_error("code"));
            // A person whose second step is a passkey confirms with it, then the creation
            // goes on with what the name step chose.
            let passkey_only = matches!(
                error,
                Some(AppError::Forbidden(
                    crate::error::Refusal::ConfirmWithPasskey
                ))
            );
            let go_on = Callback::new(move |()| {
                apps.create.dispatch(CreateAppPassword {
                    name: apps.name.get_untracked(),
                    password: None,
                    code: None,
                    kind: Some(apps.kind.get_untracked()),
                    expires: Some(apps.expires.get_untracked()),
                });
            });
            EitherOf4::C(view! {
                <ActionForm action=apps.create attr:class="stack">
                    <input type="hidden" name="name" value=apps.name.get_untracked()/>
                    <input type="hidden" name="kind" value=apps.kind.get_untracked().as_str()/>
                    <input type="hidden" name="expires" value=apps.expires.get_untracked().to_string()/>
                    <p>"For your security, confirm it's you before creating an app password."</p>
                    <ConfirmWithPasskey shown=passkey_only confirmed=go_on/>
                    <Field label="Password" name="password" id="reverify-password" input_type="password"
                        autocomplete="current-password" autofocus=true error=password_error/>
                    {has_two_step.then(|| view! {
                        <CodeField id="reverify-code" error=code_error/>
                    })}
                    <DialogActions back=page.path() back_label="Cancel" submit="Confirm" pending=pending/>
                </ActionForm>
            })
        }
        Step::Show(created) => EitherOf4::D(view! { <ShowOnce created=created page=page/> }),
    }
}

/// "What may it use?": the kinds of app password, `kind` selected (and following the choice).
#[component]
fn KindSelect(id: &'static str, kind: RwSignal<AppPasswordKind>) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let current = kind.get_untracked();
    view! {
        <div class="field">
            <label for=id>"What may it use?"</label>
            <select id=id name="kind" aria-describedby=hint_id.clone()
                on:change=move |event| {
                    if let Some(chosen) = AppPasswordKind::parse(&event_target_value(&event)) {
                        kind.set(chosen);
                    }
                }>
                {AppPasswordKind::ALL.into_iter().map(|option| view! {
                    <option value=option.as_str() selected=option == current>{option.label()}</option>
                }).collect_view()}
            </select>
            <p class="hint" id=hint_id>
                "Allow only what the app needs: a printer that sends scans needs only sending mail."
            </p>
        </div>
    }
}

/// "Expires": never (the default), or in 30, 90 or 365 days; `expires` follows the choice.
#[component]
fn ExpirySelect(expires: RwSignal<AppPasswordLifetime>) -> impl IntoView {
    let current = expires.get_untracked();
    view! {
        <div class="field">
            <label for="app-expires">"Expires"</label>
            <select id="app-expires" name="expires" aria-describedby="app-expires-hint"
                on:change=move |event| {
                    if let Ok(chosen) = event_target_value(&event).parse::<AppPasswordLifetime>() {
                        expires.set(chosen);
                    }
                }>
                {AppPasswordLifetime::ALL.into_iter().map(|option| view! {
                    <option value=option.to_string() selected=option == current>{option.label()}</option>
                }).collect_view()}
            </select>
            <p class="hint" id="app-expires-hint">
                "After that it no longer signs in. You can always delete it sooner."
            </p>
        </div>
    }
}

/// Why the last change of what an app password may use was refused, if it was.
pub fn change_kind_refusal(apps: AppPasswords) -> impl Fn() -> Option<String> + Copy {
    move || match apps.change_kind.value().get() {
        Some(Err(error)) => Some(format!("What it may use was not changed: {error}")),
        _ => None,
    }
}

/// At the limit: the app passwords, each with Delete, and a Next that waits for a free slot.
#[component]
fn LimitPrompt(apps: AppPasswords) -> impl IntoView {
    let page = apps.page;
    move || {
        let overview = apps.overview();
        let items = overview
            .as_ref()
            .map(|o| o.items.clone())
            .unwrap_or_default();
        let limit = overview.as_ref().map_or(40, |o| o.limit);
        view! {
            <div class="stack">
                <p role="alert">
                    {format!("You have {} of {limit} app passwords. Delete one you no longer use to create a new one.", items.len())}
                </p>
                <ul class="plain-list">
                    {items.into_iter().map(|item| view! {
                        <li class="limit-item">
                            <span>{item.name.clone()}</span>
                            <DeleteAppPasswordButton page=page item=item from_create=true/>
                        </li>
                    }).collect_view()}
                </ul>
                <div class="modal-actions">
                    <DialogBack href=page.path()>"Cancel"</DialogBack>
                    <button type="button" class="button primary" disabled=true>"Next"</button>
                </div>
            </div>
        }
    }
}

/// The new password, shown this once, with Copy and the first sign-in status.
#[component]
fn ShowOnce(created: CreatedAppPassword, page: Page) -> impl IntoView {
    view! {
        <div class="stack">
            <p>
                "Your app password for " <strong>{created.name.clone()}</strong>
                " is ready. Enter it in the app instead of your account password."
            </p>
            <div class="field">
                <label for="new-app-password">"Password"</label>
                <div class="copy-row">
                    <input id="new-app-password" class="secret-input" type="text" readonly value=created.password.clone()/>
                    <CopyButton input_id="new-app-password"/>
                </div>
            </div>
            <p class="notice warning" role="status">
                "This is the only time you'll see this password. If you lose it, delete it and create a new one."
            </p>
            <crate::pages::apple_profile_setup::AppleProfileSetup id=created.id password=created.password.clone() offer=created.apple_profile.clone()/>
            <FirstSignIn id=created.id/>
            <div class="modal-actions">
                <DialogBack href=page.path() class="button primary">"Done"</DialogBack>
            </div>
        </div>
    }
}

/// How often the open dialog asks whether the new app password has been used.
const FIRST_SIGN_IN_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// "Waiting for the first sign-in..." until the app signs in with the new password, then
/// "Signed in from IMAP just now": people know the app works before they close the dialog.
#[component]
fn FirstSignIn(id: i32) -> impl IntoView {
    let signed_in = RwSignal::new(None::<String>);
    let status = NodeRef::<leptos::html::P>::new();
    // Asks every few seconds until the answer comes or the dialog is gone from the page.
    fn ask_later(id: i32, signed_in: RwSignal<Option<String>>, status: NodeRef<leptos::html::P>) {
        set_timeout(
            move || {
                let on_page = status
                    .try_get_untracked()
                    .flatten()
                    .is_some_and(|p| p.is_connected());
                if !on_page || signed_in.try_get_untracked().flatten().is_some() {
                    return;
                }
                leptos::task::spawn_local(async move {
                    match app_password_first_sign_in(id).await {
                        Ok(Some(text)) => {
                            signed_in.try_set(Some(text));
                        }
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
                Some(text) => Either::Left(view! { <span class="signed-in">{text}</span> }),
                None => Either::Right(view! { <span class="waiting">"Waiting for the first sign-in..."</span> }),
            }}
        </p>
    }
}

/// "Delete the app password for 'X'?" with Yes (the `delete_app_password` call) and No. Asked
/// from the limit prompt (`then_create`), both answers lead back to the create steps.
#[component]
pub fn DeleteAppPasswordDialog(
    apps: AppPasswords,
    target: DialogTarget,
    id: &'static str,
    then_create: bool,
) -> impl IntoView {
    let page = apps.page;
    let back = if then_create {
        AppPasswordDialog::Create.on(page)
    } else {
        page.path().to_owned()
    };
    // "Already deleted" is said on the page: the dialog goes with the list's row.
    let error = move || match apps.delete.value().get() {
        Some(Err(AppError::AppPasswordGone)) => None,
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! {
        <Modal id=id title="Delete app password?" close_href=back.clone()>
            <ActionForm action=apps.delete>
                <input type="hidden" name="id" value=target.id.to_string()/>
                <p>
                    {format!(
                        "Delete the app password for '{}'? Apps using it will stop signing in. This can't be undone.",
                        target.name
                    )}
                </p>
                <p class="form-error" role="alert">{error}</p>
                <DialogActions back=back back_label="No" submit="Yes" pending=apps.delete.pending()/>
            </ActionForm>
        </Modal>
    }
}

/// Said on the page when a Delete or Rename found the app password gone (deleted meanwhile, in
/// another window): its dialog goes with the list's row.
#[component]
pub fn GoneRefusal(apps: AppPasswords) -> impl IntoView {
    fn gone<T>(answer: Option<Result<T, AppError>>) -> bool {
        matches!(answer, Some(Err(AppError::AppPasswordGone)))
    }
    move || {
        (gone(apps.delete.value().get()) || gone(apps.rename.value().get())).then(|| {
            view! { <p class="form-error" role="alert">{AppError::AppPasswordGone.to_string()}</p> }
        })
    }
}

/// "Rename app password": the name field, prefilled, and Save.
#[component]
pub fn RenameAppPasswordDialog(
    apps: AppPasswords,
    target: DialogTarget,
    id: &'static str,
) -> impl IntoView {
    let page = apps.page;
    let error = move || match apps.rename.value().get() {
        Some(Err(error)) => error
            .message_for("name")
            .or_else(|| Some(error.to_string())),
        _ => None,
    };
    view! {
        <Modal id=id title="Rename app password" close_href=page.path()>
            <ActionForm action=apps.rename attr:class="stack">
                <input type="hidden" name="id" value=target.id.to_string()/>
                <Field label="Name" name="name" id="rename-app-password-name" value=target.name.clone()
                    autofocus=true error=Signal::derive(error)/>
                <DialogActions back=page.path() back_label="Cancel" submit="Save" pending=apps.rename.pending()/>
            </ActionForm>
        </Modal>
    }
}

/// "Delete all app passwords?": names how many, and sends that count, so nothing created
/// meanwhile in another window goes without being confirmed.
#[component]
pub fn DeleteAllAppPasswordsDialog(apps: AppPasswords, id: &'static str) -> impl IntoView {
    let page = apps.page;
    let count = move || apps.overview().map_or(0, |o| o.items.len());
    let error = move || match apps.delete_all.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! {
        <Modal id=id title="Delete all app passwords?" close_href=page.path()>
            <ActionForm action=apps.delete_all>
                <input type="hidden" name="expected" value=move || count().to_string()/>
                <p>
                    {move || match count() {
                        1 => "Delete your 1 app password? Apps using it will stop signing in. This can't be undone.".to_owned(),
                        n => format!("Delete all {n} of your app passwords? Every app using one will stop signing in. This can't be undone."),
                    }}
                </p>
                <p class="form-error" role="alert">{error}</p>
                <DialogActions back=page.path() back_label="No" submit="Delete all" pending=apps.delete_all.pending()/>
            </ActionForm>
        </Modal>
    }
}

/// The dialogs that change one listed app password, or all (not the create steps), as both
/// pages show them. The page names the app password from its own list, never from the URL.
#[component]
pub fn AppPasswordChangeDialog(
    apps: AppPasswords,
    dialog: AppPasswordDialog,
    /// On the legacy page (its dialogs have ids of their own).
    #[prop(optional)]
    legacy: bool,
) -> impl IntoView {
    // Through memos of what the dialogs show: a list update (a refetch after a refusal, a new
    // "Last used") must not rebuild an open dialog, which would close it.
    let target = Memo::new(move |_| match dialog {
        AppPasswordDialog::Delete { id, .. } | AppPasswordDialog::Rename { id } => apps
            .overview()
            .and_then(|o| o.item(id))
            .map(|item| DialogTarget {
                id: item.id,
                name: item.name,
            }),
        AppPasswordDialog::Create | AppPasswordDialog::DeleteAll => None,
    });
    let any_listed = Memo::new(move |_| apps.overview().is_some_and(|o| !o.items.is_empty()));
    let ids =
        move |own: &'static str, legacy_own: &'static str| if legacy { legacy_own } else { own };
    move || {
        match dialog {
        AppPasswordDialog::Create => None,
        AppPasswordDialog::Delete { then_create, .. } => target.get().map(|target| {
            let id = ids("delete-app-password", "legacy-delete-app-password");
            EitherOf3::A(view! { <DeleteAppPasswordDialog apps=apps target=target id=id then_create=then_create/> })
        }),
        AppPasswordDialog::Rename { .. } => target.get().map(|target| {
            let id = ids("rename-app-password", "legacy-rename-app-password");
            EitherOf3::B(view! { <RenameAppPasswordDialog apps=apps target=target id=id/> })
        }),
        AppPasswordDialog::DeleteAll => any_listed.get().then(|| {
            let id = ids("delete-all-app-passwords", "legacy-delete-all-app-passwords");
            EitherOf3::C(view! { <DeleteAllAppPasswordsDialog apps=apps id=id/> })
        }),
    }
    }
}

/// The app password a dialog is about: what it shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogTarget {
    pub id: i32,
    pub name: String,
}

/// The app-password dialog open on a page with `query`: the query's, or the create steps when
/// the page answers a plain form post that created an app password.
pub fn app_password_dialog(query: &SecurityInfoQuery) -> Option<AppPasswordDialog> {
    query
        .app_password_dialog()
        .or_else(|| answering_create().then_some(AppPasswordDialog::Create))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> CreatedAppPassword {
        CreatedAppPassword {
            id: 1,
            name: "Outlook".to_owned(),
            password: "abcd efgh ijkl mnop".to_owned(),
            item: AppPasswordItem {
                id: 1,
                name: "Outlook".to_owned(),
                kind: AppPasswordKind::Everything,
                created: "today".to_owned(),
                last_used: "Never used".to_owned(),
                expiry: None,
                expired: false,
            },
            apple_profile: None,
        }
    }

    #[test]
    fn the_create_steps_follow_the_last_answer() {
        assert_eq!(
            Step::after(Some(Ok(created())), false),
            Step::Show(created())
        );
        assert_eq!(
            Step::after(Some(Err(AppError::ReverifyRequired)), false),
            Step::Confirm { error: None }
        );
        assert_eq!(
            Step::after(Some(Err(AppError::LimitReached { limit: 40 })), false),
            Step::Limit
        );
        let duplicate =
            AppError::invalid("name", "You already have an app password named 'Outlook'.");
        assert_eq!(
            Step::after(Some(Err(duplicate.clone())), false),
            Step::Name {
                error: Some(duplicate)
            },
            "the name step again, with the reason"
        );
        let wrong = AppError::invalid("password", "Your password is incorrect.");
        assert_eq!(
            Step::after(Some(Err(wrong.clone())), false),
            Step::Confirm { error: Some(wrong) },
            "a failed confirmation asks again"
        );
    }

    #[test]
    fn without_an_answer_they_start_at_the_name_or_the_limit() {
        assert_eq!(Step::after(None, true), Step::Limit);
        assert_eq!(Step::after(None, false), Step::Name { error: None });
    }
}
