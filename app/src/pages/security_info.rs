//! Security info: the sign-in methods of the signed-in person, with Add method, Change
//! password, Delete, recovery codes ("N of 10 left", Get new codes), app passwords, and under
//! "Lost device?" the signed-in browsers (each with Sign out) and Sign out everywhere.
//!
//! Client state: `info` (a `Resource` of `get_security_info`), the app passwords
//! ([`AppPasswords`]) and the signed-in browsers ([`Browsers`]), rendered on the server and
//! hydrated. Each change is one server function called through an `ActionForm` (in the
//! app-password rows, plain forms the list dispatches: `crate::components::row_forms`); its answer
//! updates the state in place (app passwords), or the lists it changes are read again (they
//! are resources keyed on the changes' successes). Which
//! dialog is open is the URL's query (`?add=method`, `?change=password`, ...), so Back and
//! Forward open and close dialogs, and everything works before the WebAssembly (the forms post
//! to the same functions, which redirect back; see `crate::form_post` for the exceptions).

use leptos::either::{Either, EitherOf5};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::account::{
    AddMethod, ChangePassword, ConfirmAuthenticator, DeleteAuthenticator, DismissPreviewNotice,
    GetNewRecoveryCodes, MethodToAdd, RenameAuthenticator, SetDefaultMethod, SignOutEverywhere,
    get_pending_authenticator, get_security_info,
};
use crate::app_passwords::ChangeAppPasswordKind;
use crate::components::copy::CopyButton;
use crate::components::field::{CodeField, Field};
use crate::components::links::{DialogActions, DialogBack, OpenDialog, SubmitButton};
use crate::components::modal::Modal;
use crate::components::row_forms::dispatch_row_forms;
use crate::error::{AppError, Refusal};
use crate::form_post::FormPostAnswer;
use crate::model::{
    AppPasswordItem, AppPasswordKind, AuthenticatorEnrollment, AuthenticatorItem, NewRecoveryCodes,
    RecoveryCodesLeft, SecondFactor, SecurityInfo,
};
use crate::pages::answers::{last_call, successes};
use crate::pages::app_password_flow::{
    AppPasswordChangeDialog, AppPasswordSteps, AppPasswords, DeleteAllAppPasswordsButton,
    GoneRefusal, answering_create, change_kind_refusal, confirmation_failed,
    forget_answers_when_the_dialog_changes, refresh_when_shown,
};
use crate::pages::passkey_methods::{AddPasskey, ConfirmWithPasskey, PasskeyRows, Passkeys};
use crate::pages::signed_in_browsers::{Browsers, SignedInBrowsers};
use crate::passkey_model::PasskeyAvailability;
use crate::routes::{
    AppPasswordDialog, Page, SecurityInfoDialog, SecurityInfoQuery, SignInQuery, query_pairs,
    use_page_query,
};

/// The page's path: where its dialogs lead back to.
const PAGE: &str = Page::SecurityInfo.path();

/// The page's calls that change sign-in methods, and what it lists about them.
#[derive(Clone, Copy)]
pub(crate) struct Methods {
    /// The list, read again after each change of a method (default method, "Last updated",
    /// the recovery codes' count; the new codes themselves stay in their dialog's answer).
    info: Resource<Result<SecurityInfo, AppError>>,
    /// The authenticator app being added, loaded while its dialog is open; `None` while it is
    /// read, also again after each start (a new secret key: the old QR code must not show).
    pending: Signal<Option<Result<Option<AuthenticatorEnrollment>, AppError>>>,
    add: ServerAction<AddMethod>,
    confirm: ServerAction<ConfirmAuthenticator>,
    delete: ServerAction<DeleteAuthenticator>,
    rename: ServerAction<RenameAuthenticator>,
    set_default: ServerAction<SetDefaultMethod>,
    change_password: ServerAction<ChangePassword>,
    /// "Get new codes": answers with the new recovery codes, shown once.
    new_codes: ServerAction<GetNewRecoveryCodes>,
    passkeys: Passkeys,
    /// Changes with each second factor added or deleted: whether app passwords can be used.
    factor_changes: Signal<usize>,
    /// Changes with each change that ends the person's other sessions (a new password, an
    /// authenticator app added or deleted).
    sessions_ended: Signal<usize>,
}

impl Methods {
    fn new() -> Self {
        let query = use_page_query::<SecurityInfoQuery>();
        let adding_authenticator =
            move || query.read().dialog == Some(SecurityInfoDialog::AddAuthenticator);
        let passkeys = Passkeys::new();
        let add = ServerAction::<AddMethod>::new();
        let confirm = ServerAction::<ConfirmAuthenticator>::new();
        let delete = ServerAction::<DeleteAuthenticator>::new();
        let rename = ServerAction::<RenameAuthenticator>::new();
        let set_default = ServerAction::<SetDefaultMethod>::new();
        let change_password = ServerAction::<ChangePassword>::new();
        let new_codes = ServerAction::<GetNewRecoveryCodes>::new();
        let (confirmed, deleted, password_changed) = (
            successes(confirm),
            successes(delete),
            successes(change_password),
        );
        let (renamed, default_set) = (successes(rename), successes(set_default));
        let started = successes(add);
        let (codes_renewed, passkey_added, passkey_deleted) = (
            successes(new_codes),
            successes(passkeys.add),
            successes(passkeys.delete),
        );
        let person = crate::pages::profile::SignedInPerson::get();
        let info = Resource::new(
            move || {
                [
                    confirmed,
                    deleted,
                    password_changed,
                    codes_renewed,
                    passkey_added,
                    passkey_deleted,
                    renamed,
                    default_set,
                ]
                .map(|changes| changes.get())
            },
            move |_| async move { person.note(get_security_info().await) },
        );
        // Read again after each start, and marked with it: starting again makes a new secret key.
        let pending = Resource::new(
            move || (adding_authenticator(), started.get()),
            move |(open, start)| async move {
                let enrollment = if open {
                    // After the list: on the server both answers come from one read of the
                    // person's apps (the request's memo).
                    let _ = info.await;
                    get_pending_authenticator().await
                } else {
                    Ok(None)
                };
                (start, enrollment)
            },
        );
        let this = Self {
            info,
            pending: Signal::derive(move || {
                pending
                    .get()
                    .filter(|(start, _)| *start == started.get())
                    .map(|(_, enrollment)| enrollment)
            }),
            add,
            confirm,
            delete,
            rename,
            set_default,
            change_password,
            new_codes,
            passkeys,
            factor_changes: Signal::derive(move || {
                confirmed.get() + deleted.get() + passkey_added.get() + passkey_deleted.get()
            }),
            sessions_ended: Signal::derive(move || {
                confirmed.get() + deleted.get() + password_changed.get()
            }),
        };
        let navigate = use_navigate();
        // The method chosen: on to its dialog.
        Effect::new({
            let navigate = navigate.clone();
            move |_| {
                if let Some(Ok(answer)) = this.add.value().get() {
                    // A new start: a refused code was about the app it replaces (after "confirm
                    // it's you", the dialog stays where it was, so nothing else forgets it).
                    this.confirm.value().set(None);
                    navigate(
                        &answer.next_dialog().on(Page::SecurityInfo),
                        Default::default(),
                    );
                }
            }
        });
        // An authenticator app added or deleted, a new default, a passkey added: the dialog
        // closes, in place of its history entry (Back would ask again what is done).
        Effect::new(move |_| {
            let done = |answer: Option<Result<(), AppError>>| matches!(answer, Some(Ok(())));
            let app_added = this.confirm.value().get().and_then(Result::ok);
            let passkey_added = matches!(this.passkeys.add.value().get(), Some(Ok(_)));
            if app_added.is_some()
                || passkey_added
                || done(this.delete.value().get())
                || done(this.set_default.value().get())
            {
                let replace = leptos_router::NavigateOptions {
                    replace: true,
                    ..Default::default()
                };
                // The person's first second factor, and no recovery codes: they are the next
                // step, while the person is here to save them. (For a passkey, the list as it
                // was before: it is read again only after this.)
                let first_passkey = passkey_added
                    && this
                        .info
                        .get_untracked()
                        .and_then(Result::ok)
                        .is_some_and(|info| !info.has_two_step);
                navigate(PAGE, replace);
                if app_added == Some(true) || first_passkey {
                    // Once this dialog is gone, as "Get codes" on the page opens it: switched
                    // to straight from here, inside the answer's update, the codes' dialog was
                    // built while this one was taken down, and read a value already disposed.
                    let navigate = navigate.clone();
                    request_animation_frame(move || {
                        once_no_dialog_is_open(120, move || {
                            navigate(
                                &SecurityInfoDialog::RecoveryCodes.on(Page::SecurityInfo),
                                Default::default(),
                            );
                        });
                    });
                }
            }
        });
        this
    }

    fn current(&self) -> Option<SecurityInfo> {
        self.info.get().and_then(Result::ok)
    }

    /// Whether "confirm it's you" asks for a code: the person has an authenticator app.
    fn has_authenticator(&self) -> bool {
        self.current().is_some_and(|i| !i.authenticators.is_empty())
    }

    /// Whether the person has a passkey (to confirm it's them with).
    fn has_passkey(&self) -> bool {
        self.current()
            .is_some_and(|i| i.second_factors.contains(&SecondFactor::Passkey))
    }

    /// After "Confirm with a passkey": the list says the sign-in is recent, and the prompt
    /// goes.
    fn passkey_confirmed(self) -> Callback<()> {
        Callback::new(move |()| self.info.refetch())
    }

    fn forget_answers(&self) {
        self.add.value().set(None);
        self.confirm.value().set(None);
        self.delete.value().set(None);
        self.set_default.value().set(None);
        // A passkey added closes its dialog (see `new`): forgotten with it, so the next dialog
        // stays open.
        self.passkeys.add.value().set(None);
        self.change_password.value().set(None);
        // Closing the dialog forgets the codes: they are shown once.
        self.new_codes.value().set(None);
    }
}

#[component]
pub fn SecurityInfoPage() -> impl IntoView {
    let methods = Methods::new();
    let apps = AppPasswords::new(Page::SecurityInfo, methods.factor_changes);
    forget_answers_when_the_dialog_changes(move |opened| {
        methods.forget_answers();
        apps.forget_answers(opened);
    });
    let browsers = Browsers::load(move || methods.sessions_ended.get());
    refresh_when_shown(move || {
        methods.info.refetch();
        apps.list.refetch();
        browsers.list.refetch();
    });
    let sign_out_everywhere = ServerAction::<SignOutEverywhere>::new();

    view! {
        <Transition fallback=|| ()>
            <PreviewNotice methods=methods/>
        </Transition>
        <h1 tabindex="-1">"Security info"</h1>
        <p class="muted">"These are the methods you use to sign in to your account or reset your password."</p>
        <GoneRefusal apps=apps/>
        <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
            <LoadRefusal methods=methods/>
            <TwoStepRequired methods=methods/>
            <MethodList methods=methods/>
            <AppPasswordRows apps=apps/>
            <Dialogs methods=methods apps=apps/>
        </Transition>
        <section class="section" aria-labelledby="devices-heading">
            <h2 id="devices-heading">"Lost device?"</h2>
            <SignedInBrowsers browsers=browsers/>
            <p class="muted">
                "Sign out of Latchkey on every browser and device, this one included. Apps that use an app password keep working, and so does the lost device's authenticator app or passkey: delete them above."
            </p>
            <ActionForm action=sign_out_everywhere>
                <button type="submit" class="button">"Sign out everywhere"</button>
            </ActionForm>
            <p class="form-error" role="alert">
                {move || sign_out_everywhere.value().get().and_then(Result::err).map(|error| {
                    format!("Nobody was signed out. {error}")
                })}
            </p>
        </section>
    }
}

/// "This is a preview of the new Security info experience", until the person dismisses it
/// (remembered for them: `dismiss_preview_notice`).
#[component]
fn PreviewNotice(methods: Methods) -> impl IntoView {
    let dismiss = ServerAction::<DismissPreviewNotice>::new();
    let shown = move || {
        methods
            .current()
            .is_some_and(|info| info.show_preview_notice)
            && !matches!(dismiss.value().get(), Some(Ok(())))
    };
    let refused = move || match dismiss.value().get() {
        Some(Err(error)) => Some(format!("The notice was not dismissed. {error}")),
        _ => None,
    };
    // A closure, not `<Show>`, which keeps its condition in a memo: read by the server's
    // `<Transition>` between the list's arrival and the memo being marked stale, it would leave
    // the notice out of a page whose browser then expects it, and hydration stops. That is the
    // likely cause of a hydration panic seen once under load (from Leptos' sources; 6,000
    // parallel views of the earlier build did not show it).
    move || {
        shown().then(|| {
            view! {
                <div class="banner" role="region" aria-label="Preview notice">
                    <div>
                        <p>
                            <strong>"This is a preview of the new Security info experience."</strong>
                            " Methods you add here work everywhere you sign in."
                        </p>
                        <p class="form-error" role="alert">{refused}</p>
                    </div>
                    <ActionForm action=dismiss>
                        <button type="submit" class="icon-button" aria-label="Dismiss notice">"×"</button>
                    </ActionForm>
                </div>
            }
        })
    }
}

/// Said while the organization requires two-step verification and the person has none.
#[component]
fn TwoStepRequired(methods: Methods) -> impl IntoView {
    move || {
        methods.current().filter(|info| info.two_step_required).map(|_| view! {
            <p class="notice warning" role="alert">
                "Your organization requires two-step verification. Select " <strong>"Add method"</strong>
                " and choose " <strong>"Authenticator app"</strong> " or "
                <strong>"Passkey or security key"</strong> "."
            </p>
        })
    }
}

/// Why the page's list could not be loaded, if it could not.
#[component]
fn LoadRefusal(methods: Methods) -> impl IntoView {
    move || match methods.info.get() {
        Some(Err(AppError::Unauthorized)) => Some(Either::Left(view! {
            <p class="form-error" role="alert">
                "Your session has ended. " <a href=SignInQuery::then_to(PAGE).link()>"Sign in again"</a>
            </p>
        })),
        Some(Err(error)) => Some(Either::Right(
            view! { <p class="form-error" role="alert">{error.to_string()}</p> },
        )),
        _ => None,
    }
}

#[component]
fn MethodList(methods: Methods) -> impl IntoView {
    let info = move || methods.current();
    let passkeys = methods.passkeys;
    let recently_signed_in = Signal::derive(move || info().is_some_and(|i| i.recently_signed_in));
    let renaming = last_call(methods.rename, |input| input.id);
    view! {
        <Show when=move || info().is_some()>
            // A <div>: "Change" is a form, which a <p> cannot hold (the browser would close the
            // paragraph before it, and the page would not hydrate).
            <div class="default-method">
                <span>"Default sign-in method: " <strong>{move || info().map(|i| i.default_method)}</strong></span>
                {move || info().is_some_and(|i| !i.second_factors.is_empty()).then(|| view! {
                    <OpenDialog page=Page::SecurityInfo dialog=SecurityInfoDialog::DefaultMethod
                        class="link" label="Change default sign-in method">"Change"</OpenDialog>
                })}
            </div>
            <OpenDialog page=Page::SecurityInfo dialog=SecurityInfoDialog::AddMethod class="button add-method">
                <span aria-hidden="true" class="plus">"+"</span>
                "Add method"
            </OpenDialog>
            <ul class="methods" aria-label="Your sign-in methods">
                <li class="method">
                    <span class="method-name">"Password"</span>
                    <span class="method-detail">"Last updated: " {move || info().map(|i| i.password_changed)}</span>
                    <OpenDialog page=Page::SecurityInfo dialog=SecurityInfoDialog::ChangePassword { done: false }
                        class="link" label="Change password">"Change"</OpenDialog>
                </li>
                <For each=move || info().map(|i| i.authenticators).unwrap_or_default()
                    key=|app| (app.id, app.name.clone(), app.last_used.clone())
                    let(app)>
                    <AuthenticatorRow app=app rename=methods.rename renaming=renaming/>
                </For>
                <PasskeyRows passkeys=passkeys recently_signed_in=recently_signed_in
                    confirmed=methods.passkey_confirmed()/>
                {move || info().and_then(|i| i.recovery_codes).map(|codes| view! {
                    <RecoveryCodesRow codes=codes/>
                })}
            </ul>
            {move || info().and_then(|i| i.recovery_codes).filter(|codes| codes.few_left).map(|codes| view! {
                <p class="notice warning">{few_codes_left(codes.left)}</p>
            })}
        </Show>
    }
}

/// One authenticator app's row: its name, when added and last used; Rename (a plain form in a
/// `<details>`, so it works before the WebAssembly) and Delete (a dialog). `renaming`: which
/// app the last "Rename" was for, so its refusal shows under that row only.
#[component]
fn AuthenticatorRow(
    app: AuthenticatorItem,
    rename: ServerAction<RenameAuthenticator>,
    renaming: Memo<Option<i32>>,
) -> impl IntoView {
    let id = app.id;
    let used = app.last_used.map_or_else(
        || "never used".to_owned(),
        |when| format!("last used {when}"),
    );
    let detail = format!(
        "Time-based one-time password (TOTP), added {}, {used}",
        app.added
    );
    // A refused plain form post of this row's Rename: the name as typed, and why.
    let (typed, refused) = match crate::form_post::refused() {
        Some((crate::form_post::TypedForm::RenameAuthenticator { id: of, name }, error))
            if of == id =>
        {
            (Some(name), Some(error))
        }
        _ => (None, None),
    };
    let open = refused.is_some();
    let rename_error = move || {
        let this_row = renaming.get().is_none_or(|renamed| renamed == id);
        match rename.value().get() {
            Some(Err(error)) if this_row => Some(error.to_string()),
            Some(_) => None,
            None => refused.as_ref().map(AppError::to_string),
        }
    };
    let rename_id = format!("authenticator-name-{id}");
    let delete_label = format!("Delete {}", app.name);
    let rename_label = format!("Rename {}", app.name);
    view! {
        <li class="method authenticator">
            <span class="method-name">"Authenticator app: " <strong>{app.name.clone()}</strong></span>
            <span class="method-detail">{detail}</span>
            <span class="row-actions">
                <details class="authenticator-rename" open=open>
                    <summary class="link" aria-label=rename_label>"Rename"</summary>
                    <ActionForm action=rename attr:class="stack">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <div class="field">
                            <label for=rename_id.clone()>"New name"</label>
                            <input id=rename_id name="name" value=typed.unwrap_or_else(|| app.name.clone()) maxlength="64" required/>
                        </div>
                        <p class="form-error" role="alert">{rename_error}</p>
                        <button type="submit" class="button primary">"Save"</button>
                    </ActionForm>
                </details>
                <OpenDialog page=Page::SecurityInfo dialog=SecurityInfoDialog::DeleteAuthenticator { id }
                    class="link" label=delete_label>"Delete"</OpenDialog>
            </span>
        </li>
    }
}

/// The recovery codes' row: how many are left, and "Get new codes".
#[component]
fn RecoveryCodesRow(codes: RecoveryCodesLeft) -> impl IntoView {
    let (detail, action) = if codes.issued == 0 {
        (
            "None yet: they let you sign in if you lose your phone".to_owned(),
            "Get codes",
        )
    } else {
        (
            format!("{} of {} left", codes.left, codes.issued),
            "Get new codes",
        )
    };
    view! {
        <li class="method">
            <span class="method-name">"Recovery codes"</span>
            <span class="method-detail">{detail}</span>
            <OpenDialog page=Page::SecurityInfo dialog=SecurityInfoDialog::RecoveryCodes
                class="link">{action}</OpenDialog>
        </li>
    }
}

/// The warning at few codes left.
fn few_codes_left(left: u32) -> String {
    let how_many = match left {
        0 => "You have no recovery codes left.".to_owned(),
        1 => "You have 1 recovery code left.".to_owned(),
        n => format!("You have {n} recovery codes left."),
    };
    format!("{how_many} Get new codes, so you can still sign in if you lose your phone.")
}

/// The one dialog the page's URL asks for, if any. Its code is a chunk of its own
/// ([`security_info_dialog`]), fetched when a dialog first opens; `crate::hydrate` fetches it
/// before hydrating a page whose URL opens one, and when idle otherwise.
#[component]
fn Dialogs(methods: Methods, apps: AppPasswords) -> impl IntoView {
    let query = use_page_query::<SecurityInfoQuery>();
    // A page that answers a plain form post creating an app password shows the create steps;
    // one that answers "Get new codes", the codes.
    let dialog = Memo::new(move |_| {
        let created = answering_create().then_some(AppPasswordDialog::Create);
        let new_codes = new_codes_answer()
            .is_some()
            .then_some(SecurityInfoDialog::RecoveryCodes);
        query
            .read()
            .dialog
            .or(created.map(SecurityInfoDialog::AppPassword))
            .or(new_codes)
    });
    move || {
        dialog
            .get()
            .map(|dialog| Suspend::new(security_info_dialog(dialog, methods, apps)))
    }
}

/// The dialog's view. Each reads the page's state in place, so a list update does not rebuild
/// an open dialog.
#[leptos::lazy]
pub(crate) fn security_info_dialog(
    dialog: SecurityInfoDialog,
    methods: Methods,
    apps: AppPasswords,
) -> AnyView {
    match dialog {
        SecurityInfoDialog::AddMethod => {
            view! { <ChooseMethod methods=methods apps=apps/> }.into_any()
        }
        SecurityInfoDialog::AddAuthenticator => view! {
            <Modal id="add-method" title="Authenticator app" close_href=PAGE>
                <AuthenticatorSteps methods=methods/>
            </Modal>
        }
        .into_any(),
        SecurityInfoDialog::AddPasskey => {
            let recently_signed_in =
                Signal::derive(move || methods.current().is_some_and(|i| i.recently_signed_in));
            view! {
                <Modal id="add-method" title="Passkey or security key" close_href=PAGE>
                    <AddPasskey passkeys=methods.passkeys recently_signed_in=recently_signed_in
                        has_passkey=Signal::derive(move || methods.has_passkey())
                        confirmed=methods.passkey_confirmed()/>
                </Modal>
            }
            .into_any()
        }
        SecurityInfoDialog::ChangePassword { .. } => view! {
            <Modal id="change-password" title="Change password" close_href=PAGE>
                <ChangePasswordSteps methods=methods/>
            </Modal>
        }
        .into_any(),
        SecurityInfoDialog::DefaultMethod => view! {
            <Modal id="default-method" title="Default sign-in method" close_href=PAGE>
                <DefaultMethodForm methods=methods/>
            </Modal>
        }
        .into_any(),
        SecurityInfoDialog::DeleteAuthenticator { id } => view! {
            <Modal id="delete-authenticator" title="Delete authenticator app?" close_href=PAGE>
                <DeleteAuthenticator methods=methods id=id/>
            </Modal>
        }
        .into_any(),
        SecurityInfoDialog::AppPassword(AppPasswordDialog::Create) => view! {
            <Modal id="add-method" title="App password" close_href=PAGE>
                <AppPasswordSteps apps=apps/>
            </Modal>
        }
        .into_any(),
        SecurityInfoDialog::AppPassword(dialog) => {
            view! { <AppPasswordChangeDialog apps=apps dialog=dialog/> }.into_any()
        }
        SecurityInfoDialog::RecoveryCodes => view! {
            <Modal id="recovery-codes" title="Recovery codes" close_href=PAGE>
                <RecoveryCodeSteps methods=methods/>
            </Modal>
        }
        .into_any(),
    }
}

/// `?change=default_method`: which of the person's second factors sign-in asks for first.
#[component]
fn DefaultMethodForm(methods: Methods) -> impl IntoView {
    let error = move || match methods.set_default.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    let options = move || {
        methods
            .current()
            .map(|info| info.second_factors)
            .unwrap_or_default()
    };
    view! {
        <ActionForm action=methods.set_default attr:class="stack">
            <p>"When you sign in, Latchkey asks for this method after your password. You can still choose another way then."</p>
            <div class="field">
                <label for="default-method-choice">"Which method should sign-in ask for first?"</label>
                <select id="default-method-choice" name="method">
                    {move || options().into_iter().map(|factor| view! {
                        <option value=factor.form_value()>{factor.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            {move || (options().len() < 2).then(|| view! {
                <p class="hint">"Add another kind of method (Add method) to choose between them."</p>
            })}
            <p class="form-error" role="alert">{error}</p>
            <DialogActions back=PAGE back_label="Cancel" submit="Save" pending=methods.set_default.pending()/>
        </ActionForm>
    }
}

/// "Which method would you like to add?" (`add_method`). An authenticator app after 10 minutes
/// without a sign-in asks for the password first, in the same dialog.
#[component]
fn ChooseMethod(methods: Methods, apps: AppPasswords) -> impl IntoView {
    let confirm_first = Memo::new(move |_| match methods.add.value().get() {
        Some(Err(error)) if confirmation_failed(&error) => Some(error),
        _ => None,
    });
    move || match confirm_first.get() {
        Some(error) => Either::Left(view! {
            <Modal id="add-method" title="Authenticator app" close_href=PAGE>
                <StartAuthenticator methods=methods ask_password=true error=Some(error)/>
            </Modal>
        }),
        None => Either::Right(view! {
            <Modal id="add-method" title="Add a method" close_href=PAGE>
                <MethodChooser methods=methods apps=apps/>
            </Modal>
        }),
    }
}

#[component]
fn MethodChooser(methods: Methods, apps: AppPasswords) -> impl IntoView {
    let offer_passkey = move || {
        matches!(
            methods.passkeys.availability.get(),
            Some(Ok(PasskeyAvailability::Available))
        )
    };
    let offer_app_password = move || {
        apps.overview()
            .is_some_and(|o| o.can_create() && o.security_info_experience)
    };
    let error = move || match methods.add.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! {
        <ActionForm action=methods.add attr:class="stack">
            <div class="field">
                <label for="method-choice">"Which method would you like to add?"</label>
                <select id="method-choice" name="method" required>
                    <option value="">"Choose a method"</option>
                    <option value=MethodToAdd::Authenticator.to_string()>"Authenticator app"</option>
                    {move || offer_passkey().then(|| view! { <option value=MethodToAdd::Passkey.to_string()>"Passkey or security key"</option> })}
                    {move || offer_app_password().then(|| view! { <option value=MethodToAdd::AppPassword.to_string()>"App password"</option> })}
                </select>
            </div>
            <p class="form-error" role="alert">{error}</p>
            <DialogActions back=PAGE back_label="Cancel" submit="Add" pending=methods.add.pending()/>
        </ActionForm>
    }
}

/// Starts adding an authenticator app (`add_method`): the password first after 10 minutes
/// without a sign-in.
#[component]
fn StartAuthenticator(
    methods: Methods,
    ask_password: bool,
    error: Option<AppError>,
) -> impl IntoView {
    let password_error = error.as_ref().and_then(|e| e.message_for("password"));
    let code_error = error.as_ref().and_then(|e| e.message_for("code"));
    let other_error = error
        .filter(|e| !matches!(e, AppError::Invalid { .. } | AppError::ReverifyRequired))
        .map(|e| e.to_string());
    // Also when the server asked for it: an app added in another window since the list was read.
    let ask_code = ask_password && (methods.has_authenticator() || code_error.is_some());
    // Sent here by sign-in when the organization requires two-step verification: say why, what
    // Continue does, and that a passkey does too (where this browser can make one).
    let required = move || methods.current().is_some_and(|info| info.two_step_required);
    let offer_passkey = move || {
        matches!(
            methods.passkeys.availability.get(),
            Some(Ok(PasskeyAvailability::Available))
        )
    };
    view! {
        {(!ask_password).then(|| view! {
            {move || required().then(|| view! {
                <p><strong>"Your organization requires two-step verification."</strong></p>
            })}
            <p>"Continue shows a QR code to scan with an authenticator app on your phone, such as Microsoft Authenticator or Google Authenticator."</p>
            {move || offer_passkey().then(|| view! {
                <p>
                    "Or use a passkey: "
                    <a href=SecurityInfoDialog::AddPasskey.on(Page::SecurityInfo)>"add a passkey or security key"</a>
                    " instead."
                </p>
            })}
        })}
        {ask_password.then(|| view! {
            <p>"For your security, confirm it's you before you add a sign-in method."</p>
            <ConfirmWithPasskey shown=Signal::derive(move || methods.has_passkey())
                confirmed=Callback::new(move |()| {
                    methods.add.value().set(None);
                    methods.info.refetch();
                })/>
        })}
        <ActionForm action=methods.add attr:class="stack">
            <input type="hidden" name="method" value=MethodToAdd::Authenticator.to_string()/>
            {ask_password.then(|| view! {
                <Field label="Password" name="password" id="confirm-authenticator-password" input_type="password"
                    autocomplete="current-password" autofocus=true error=password_error/>
            })}
            {ask_code.then(|| view! {
                <CodeField id="confirm-authenticator-code" error=code_error/>
            })}
            <p class="form-error" role="alert">{other_error}</p>
            <DialogActions back=PAGE back_label="Cancel" submit="Continue" pending=methods.add.pending()/>
        </ActionForm>
    }
}

/// `?add=authenticator`: the QR code of the authenticator app being added and its first code
/// (`confirm_authenticator`); without one being added, the start of it.
#[component]
fn AuthenticatorSteps(methods: Methods) -> impl IntoView {
    let pending = methods.pending;
    // "Authenticator app", or "Authenticator app 2" beside a first one.
    let suggested_name = move || {
        let count = methods.current().map_or(0, |i| i.authenticators.len());
        match count {
            0 => "Authenticator app".to_owned(),
            n => format!("Authenticator app {}", n + 1),
        }
    };
    let start_error = Memo::new(move |_| match methods.add.value().get() {
        Some(Err(error)) => Some(error),
        _ => None,
    });
    move || {
        let confirm_answer = methods.confirm.value().get();
        // Too long since the sign-in: confirm it's them, then start again.
        if let Some(Err(AppError::ReverifyRequired)) = confirm_answer {
            return EitherOf5::A(
                view! { <StartAuthenticator methods=methods ask_password=true error=start_error.get()/> },
            );
        }
        match pending.get() {
            None => EitherOf5::B(()),
            Some(Ok(Some(enrollment))) => {
                // A refused name is shown at the name, anything else at the code.
                let refusal = confirm_answer.and_then(Result::err);
                let name_error = refusal.as_ref().and_then(|e| e.message_for("name"));
                let error = refusal
                    .filter(|_| name_error.is_none())
                    .map(|e| e.to_string());
                EitherOf5::C(view! {
                    <ol class="steps">
                        <li>"Install an authenticator app on your phone, if you don't have one yet."</li>
                        <li>
                            "Scan this QR code with the app. On your phone? "
                            <a href=enrollment.setup_url>"Open in authenticator app"</a>
                            <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=enrollment.qr_svg></div>
                            <p class="hint">"Can't scan it? Enter this secret key in the app, for the account " {enrollment.account} ":"</p>
                            <p class="secret" id="totp-secret">{enrollment.secret}</p>
                        </li>
                        <li>"Enter the 6-digit code the app shows."</li>
                    </ol>
                    <ActionForm action=methods.confirm attr:class="stack">
                        <Field label="Code" name="code" id="enroll-code" autocomplete="one-time-code"
                            inputmode="numeric" error=error/>
                        <Field label="Name it (so you can tell your apps apart)" name="name"
                            id="authenticator-name" placeholder="Authenticator app" value=suggested_name()
                            error=name_error/>
                        <div class="modal-actions">
                            <SubmitButton pending=methods.confirm.pending()>"Next"</SubmitButton>
                        </div>
                    </ActionForm>
                })
            }
            Some(Ok(None)) => {
                let ask_password = !methods.current().is_some_and(|i| i.recently_signed_in)
                    || start_error.get().is_some_and(|e| confirmation_failed(&e));
                EitherOf5::D(
                    view! { <StartAuthenticator methods=methods ask_password=ask_password error=start_error.get()/> },
                )
            }
            Some(Err(error)) => {
                EitherOf5::E(view! { <p class="form-error" role="alert">{error.to_string()}</p> })
            }
        }
    }
}

/// Deleting the authenticator app: what it means, and (after 10 minutes without a sign-in)
/// the password and a code first, in the same form.
#[component]
fn DeleteAuthenticator(methods: Methods, id: i32) -> impl IntoView {
    let refusal = ConfirmableRefusal::of(move || methods.delete.value().get());
    let app = move || {
        methods
            .current()
            .and_then(|info| info.authenticators.into_iter().find(|app| app.id == id))
    };
    // The last second factor: what goes with it is said first.
    let last = move || {
        methods
            .current()
            .is_some_and(|info| info.second_factors.len() == 1 && info.authenticators.len() == 1)
    };
    // Opened again after it was deleted (Back, or another window): nothing left to ask.
    let gone = move || {
        methods
            .current()
            .is_some_and(|info| !info.authenticators.iter().any(|app| app.id == id))
    };
    let deleted = || {
        view! {
            <p>"This authenticator app was deleted."</p>
            <div class="modal-actions">
                <DialogBack href=PAGE class="button primary">"Done"</DialogBack>
            </div>
        }
    };
    view! {
        <Show when=move || !gone() fallback=deleted>
        <p>
            {move || app().map(|app| format!("“{}” will no longer sign you in.", app.name))}
        </p>
        <Show when=last>
            <p>"You will sign in with your password only until you add a method again."</p>
            <p class="notice info">
                "Your app passwords stop signing in too: they need two-step verification. "
                "They work again when you add a method. Your recovery codes are deleted."
            </p>
        </Show>
        <ActionForm action=methods.delete attr:class="stack">
            <input type="hidden" name="id" value=id.to_string()/>
            <ConfirmItsYouFields methods=methods refusal=refusal
                password_id="delete-authenticator-password" code_id="delete-authenticator-code"
                confirmed=Callback::new(move |()| methods.delete.value().set(None))/>
            <p class="form-error" role="alert">{move || refusal.other()}</p>
            <DialogActions back=PAGE back_label="No" submit="Yes" pending=methods.delete.pending()/>
        </ActionForm>
        </Show>
    }
}

/// The refusal of a change that may first ask "confirm it's you", as its form shows it: a
/// wrong password or code at its field, anything else below the form.
#[derive(Clone, Copy)]
struct ConfirmableRefusal(Memo<Option<AppError>>);

impl ConfirmableRefusal {
    fn of<T>(answer: impl Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static) -> Self {
        Self(Memo::new(move |_| answer().and_then(Result::err)))
    }

    /// Whether the form asks for the password and a code: no sign-in in the last 10 minutes,
    /// or the last try was refused for them.
    fn asks(self, methods: Methods) -> bool {
        !methods.current().is_some_and(|i| i.recently_signed_in)
            || self.0.get().is_some_and(|e| confirmation_failed(&e))
    }

    fn at(self, field: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || self.0.get().and_then(|e| e.message_for(field)))
    }

    fn other(self) -> Option<String> {
        self.0
            .get()
            .filter(|e| !matches!(e, AppError::Invalid { .. } | AppError::ReverifyRequired))
            .map(|e| e.to_string())
    }
}

/// "For your security, confirm it's you first": a passkey (for a person who has one), or the
/// password and a code, inside the form of the change they confirm. `confirmed` runs after a
/// passkey confirmed it, before the page reads again that the sign-in is recent.
#[component]
fn ConfirmItsYouFields(
    methods: Methods,
    refusal: ConfirmableRefusal,
    password_id: &'static str,
    code_id: &'static str,
    confirmed: Callback<()>,
) -> impl IntoView {
    view! {
        <Show when=move || refusal.asks(methods)>
            <p>"For your security, confirm it's you first."</p>
            <ConfirmWithPasskey shown=Signal::derive(move || methods.has_passkey())
                confirmed=Callback::new(move |()| {
                    confirmed.run(());
                    methods.info.refetch();
                })/>
            <Field label="Password" name="password" id=password_id input_type="password"
                autocomplete="current-password" autofocus=true error=refusal.at("password")/>
            <CodeField id=code_id error=refusal.at("code")/>
        </Show>
    }
}

/// What a plain form post to `get_new_recovery_codes` did, when the page is its answer.
fn new_codes_answer() -> Option<Result<NewRecoveryCodes, AppError>> {
    match crate::form_post::answer() {
        Some(FormPostAnswer::NewRecoveryCodes { result }) => Some(result),
        _ => None,
    }
}

/// `?codes=new`: "Get new codes" (confirmed, and after 10 minutes without a sign-in the password
/// and a code in the same form), then the codes, shown this once.
#[component]
fn RecoveryCodeSteps(methods: Methods) -> impl IntoView {
    let answered = new_codes_answer();
    let answer = Memo::new(move |_| methods.new_codes.value().get().or_else(|| answered.clone()));
    move || match answer.get() {
        Some(Ok(codes)) => Either::Left(view! { <ShowRecoveryCodes codes=codes/> }),
        _ => Either::Right(view! { <GetNewRecoveryCodesForm methods=methods answer=answer/> }),
    }
}

#[component]
fn GetNewRecoveryCodesForm(
    methods: Methods,
    answer: Memo<Option<Result<NewRecoveryCodes, AppError>>>,
) -> impl IntoView {
    let refusal = ConfirmableRefusal::of(move || answer.get());
    let has_codes = move || {
        methods
            .current()
            .and_then(|i| i.recovery_codes)
            .is_some_and(|codes| codes.issued > 0)
    };
    view! {
        <p>
            "Recovery codes let you sign in when you can't use your authenticator app or passkey. "
            "Each code works once."
        </p>
        <Show when=has_codes fallback=|| view! {
            <p class="notice info">"Get them now and keep them somewhere safe: if you lose your phone or security key, a recovery code is how you sign in."</p>
        }>
            <p class="notice info">"Your current recovery codes stop working when you get new ones."</p>
        </Show>
        <ActionForm action=methods.new_codes attr:class="stack">
            <ConfirmItsYouFields methods=methods refusal=refusal
                password_id="recovery-codes-password" code_id="recovery-codes-code"
                confirmed=Callback::new(move |()| methods.new_codes.value().set(None))/>
            <p class="form-error" role="alert">{move || refusal.other()}</p>
            <DialogActions back=PAGE back_label="Cancel" submit="Get new codes" pending=methods.new_codes.pending()/>
        </ActionForm>
    }
}

/// The new codes, shown this once: Copy (the clipboard, or the text selected) and Download (a
/// `data:` link, which needs no script).
#[component]
fn ShowRecoveryCodes(codes: NewRecoveryCodes) -> impl IntoView {
    let rows = codes.codes.len().to_string();
    view! {
        <div class="stack">
            <p>
                "Here are your new recovery codes. Each one signs you in once, when you can't use "
                "your authenticator app or passkey. Any codes you had before no longer work."
            </p>
            <div class="field">
                <label for="new-recovery-codes">"Your recovery codes"</label>
                <textarea id="new-recovery-codes" class="secret-input recovery-codes" readonly
                    rows=rows spellcheck="false" autocomplete="off">{codes.lines()}</textarea>
            </div>
            <div class="copy-row">
                <CopyButton input_id="new-recovery-codes" selected="The codes are selected"/>
                <a class="button" href=codes.download_href() download=NewRecoveryCodes::FILE_NAME>"Download"</a>
            </div>
            <p class="notice warning" role="status">
                "This is the only time you'll see these codes. Keep them somewhere safe, apart from your phone: "
                "a password manager, or printed."
            </p>
            <div class="modal-actions">
                <DialogBack href=PAGE class="button primary">"Done"</DialogBack>
            </div>
        </div>
    }
}

/// Change password (`change_password`): the form, or (done) what it did.
#[component]
fn ChangePasswordSteps(methods: Methods) -> impl IntoView {
    let query = use_page_query::<SecurityInfoQuery>();
    let done = Memo::new(move |_| {
        matches!(methods.change_password.value().get(), Some(Ok(())))
            || query.read().dialog == Some(SecurityInfoDialog::ChangePassword { done: true })
    });
    move || {
        if done.get() {
            return Either::Left(view! {
                <p role="status">"Your password was changed. Other browsers and devices were signed out."</p>
                <div class="modal-actions">
                    <DialogBack href=PAGE class="button primary">"Done"</DialogBack>
                </div>
            });
        }
        Either::Right(view! { <ChangePasswordForm methods=methods/> })
    }
}

#[component]
fn ChangePasswordForm(methods: Methods) -> impl IntoView {
    let error = Memo::new(move |_| match methods.change_password.value().get() {
        Some(Err(error)) => Some(error),
        _ => None,
    });
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
    };
    let other_error = move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Invalid { .. }))
            .map(|e| e.to_string())
    };
    // Also when the server asks for it: the sign-in grew older than 10 minutes while the
    // dialog was open.
    let ask_code = move || {
        (methods.has_authenticator() && !methods.current().is_some_and(|i| i.recently_signed_in))
            || error.get().is_some_and(|e| e.message_for("code").is_some())
    };
    // A person whose only second step is a passkey confirms with it, then sends the form again.
    let ask_passkey = move || {
        matches!(
            error.get(),
            Some(AppError::Forbidden(Refusal::ConfirmWithPasskey))
        )
    };
    view! {
        <ActionForm action=methods.change_password attr:class="stack">
            <Field label="Current password" name="current_password" id="current_password" input_type="password"
                autocomplete="current-password" autofocus=true error=field_error("current_password")/>
            <Field label="New password" name="new_password" id="new_password" input_type="password"
                autocomplete="new-password" error=field_error("new_password")/>
            <Field label="Confirm new password" name="confirm_password" id="confirm_new_password" input_type="password"
                autocomplete="new-password" error=field_error("confirm_password")/>
            <Show when=ask_code>
                <CodeField id="change-password-code" error=field_error("code")/>
            </Show>
            <ConfirmWithPasskey shown=Signal::derive(ask_passkey)
                confirmed=Callback::new(move |()| {
                    methods.change_password.value().set(None);
                    methods.info.refetch();
                })/>
            <p class="form-error" role="alert">{other_error}</p>
            <DialogActions back=PAGE back_label="Cancel" submit="Change password" pending=methods.change_password.pending()/>
        </ActionForm>
    }
}

/// The app-password part of the list: count, rows with Delete, and why app passwords are not
/// offered when they are not.
#[component]
fn AppPasswordRows(apps: AppPasswords) -> impl IntoView {
    // The rows are markup with no state of their own (their forms are taken by the list's
    // listener, `dispatch_row_forms`, and by `GetFormsNavigate`): written once per change of the
    // list and set as the list's content, which hydrating leaves as the server sent it. As Leptos
    // views, the server resolved every element of every row as a future, in each pass of the
    // `<Transition>`: 40 rows cost more than the rest of the page (BENCHMARKS.md).
    let rows = Memo::new(move |_| {
        apps.list.with(|list| match list {
            Some(Ok(overview)) => app_password_rows(&overview.items),
            _ => String::new(),
        })
    });
    // A change of kind writes the list again, and the element that had focus goes with it: the
    // row's "Change" gets it back, so a keyboard or screen-reader user stays on their row.
    let refocus = StoredValue::new(None::<String>);
    Effect::new(move |_| {
        apps.list.track();
        if let Some(id) = refocus.write_value().take() {
            // After the list is drawn again.
            request_animation_frame(move || focus_by_id(&id));
        }
    });
    Effect::new(move |_| {
        // Refused: the rows may stay as they are, and the next change of the list is not this one's.
        if matches!(apps.change_kind.value().get(), Some(Err(_))) {
            refocus.set_value(None);
        }
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        refocus.set_value(disclosure_id_of(&event));
        dispatch_row_forms(apps.change_kind)(event);
    };
    // After a Delete, a Rename or Delete all, the dialog and the row that opened it are gone:
    // focus goes to what was done, said under the list's heading, rather than to the page's
    // start (a keyboard or screen-reader user would start over from the top).
    Effect::new(move |_| {
        if apps.done.get().is_some() {
            once_no_dialog_is_open(120, || focus_by_id(APP_PASSWORDS_DONE));
        }
    });
    move || {
        apps.list.with(|list| {
            let Some(Ok(o)) = list else { return None };
            let note = if !o.security_info_experience {
                Some(Either::Left(view! {
                    <p class="hint">
                        "Your organization manages app passwords on the "
                        <a href=Page::LegacyAppPasswords.path()>"Manage app passwords"</a> " page."
                    </p>
                }))
            } else if o.allowed && !o.has_two_step {
                Some(Either::Right(view! {
                    <p class="notice info">
                        "App passwords need two-step verification. Select " <strong>"Add method"</strong>
                        " and add an " <strong>"Authenticator app"</strong> " or a "
                        <strong>"Passkey or security key"</strong> " first."
                    </p>
                }))
            } else {
                None
            };
            let show_list = o.security_info_experience && (o.allowed || !o.items.is_empty());
            let (count, limit, allowed) = (o.items.len(), o.limit, o.allowed);
            Some(view! {
                {note}
                {show_list.then(|| view! {
                    <section class="app-passwords" aria-labelledby="app-passwords-heading">
                        <h2 id="app-passwords-heading">"App passwords"</h2>
                        <div class="list-toolbar">
                            <p class="muted app-password-count">{format!("{count} of {limit} in use")}</p>
                            {(count >= 2).then(|| view! { <DeleteAllAppPasswordsButton page=Page::SecurityInfo/> })}
                        </div>
                        <p class="muted done-note" id=APP_PASSWORDS_DONE role="status" tabindex="-1">{move || apps.done.get()}</p>
                        <p class="form-error" role="alert">{change_kind_refusal(apps)}</p>
                        {(!allowed).then(|| view! {
                            <p class="hint">"Your organization has turned app passwords off: these no longer sign in, but you can still delete them."</p>
                        })}
                        <ul class="methods" aria-label="Your app passwords" on:submit=on_submit
                            inner_html=move || rows.get()/>
                    </section>
                })}
            })
        })
    }
}

/// The id of the `<summary>` of the disclosure holding the form `event` submits, if any.
fn disclosure_id_of(event: &leptos::ev::SubmitEvent) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let form = event.target()?.dyn_into::<web_sys::Element>().ok()?;
        let summary = form
            .closest("details")
            .ok()??
            .query_selector("summary")
            .ok()??;
        Some(summary.id()).filter(|id| !id.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = event;
        None
    }
}

/// The line under the app passwords' heading that says what the last change did.
const APP_PASSWORDS_DONE: &str = "app-passwords-done";

/// Runs `then` once no dialog is open (checked each frame, for at most `frames`): the page
/// behind a modal dialog takes no focus, and a dialog closing gives focus back to its opener.
fn once_no_dialog_is_open(frames: u32, then: impl FnOnce() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let dialog_open = document()
            .query_selector("dialog[open]")
            .ok()
            .flatten()
            .is_some();
        if !dialog_open {
            then();
        } else if frames > 0 {
            request_animation_frame(move || once_no_dialog_is_open(frames - 1, then));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (frames, then);
}

/// Moves focus to the element with this id, if it is on the page.
fn focus_by_id(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(element) = document()
            .get_element_by_id(id)
            .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// The rows of the app-password list: each its name, when created and last used, what it may
/// use (a disclosure with a form to change it, so it works before the WebAssembly too; its
/// refusal is shown once, above the rows: [`change_kind_refusal`]), Rename and Delete (GET
/// forms opening their dialogs). `maud` escapes every value.
fn app_password_rows(items: &[AppPasswordItem]) -> String {
    use leptos::server_fn::ServerFn;
    let opener = |dialog: AppPasswordDialog, label: String, text: &str| {
        let fields = query_pairs(&SecurityInfoQuery {
            dialog: Some(SecurityInfoDialog::AppPassword(dialog)),
        });
        maud::html! {
            form method="get" action=(PAGE) class="inline-form" {
                @for (name, value) in &fields { input type="hidden" name=(name) value=(value); }
                button type="submit" class="link" aria-label=(label) { (text) }
            }
        }
    };
    maud::html! {
        @for item in items {
            li.method {
                span.method-name {
                    (item.name)
                    @if item.expired { span.expired-badge { "Expired" } }
                }
                span.method-detail {
                    "Created " (item.created) " · " (item.last_used)
                    @if let Some(expiry) = item.expiry.as_ref().filter(|_| !item.expired) {
                        " · " span.app-password-expiry { (expiry) }
                    }
                    @if item.expired {
                        " · It no longer signs in: delete it, and create a new one if the app still needs it."
                    }
                }
                div.app-password-kind {
                    span { "May use: " (item.kind.label()) }
                    details.change-kind {
                        summary id={ "change-kind-" (item.id) } aria-label={ "Change what app password " (item.name) " may use" } { "Change" }
                        form action=(ChangeAppPasswordKind::PATH) method="post" class="inline-form" {
                            input type="hidden" name="id" value=(item.id);
                            label for={ "kind-of-app-password-" (item.id) } { "What may it use?" }
                            select id={ "kind-of-app-password-" (item.id) } name="kind" {
                                @for option in AppPasswordKind::ALL {
                                    option value=(option.as_str()) selected[option == item.kind] { (option.label()) }
                                }
                            }
                            button type="submit" class="button" { "Save" }
                        }
                    }
                }
                span.row-actions {
                    (opener(AppPasswordDialog::Rename { id: item.id }, format!("Rename app password {}", item.name), "Rename"))
                    (opener(AppPasswordDialog::Delete { id: item.id, then_create: false }, format!("Delete app password {}", item.name), "Delete"))
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str) -> AppPasswordItem {
        AppPasswordItem {
            id: 7,
            name: name.to_owned(),
            kind: AppPasswordKind::Mail,
            created: "Dec 7, 2026".to_owned(),
            last_used: "Never used".to_owned(),
            expiry: Some("Expires in 5 days".to_owned()),
            expired: false,
        }
    }

    #[test]
    fn a_row_writes_a_name_made_of_markup_as_text_in_content_and_labels() {
        let rows = app_password_rows(&[item(r#"<img src=x onerror="alert(1)">"#)]);
        assert!(!rows.contains("<img"), "{rows}");
        assert!(
            rows.contains("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"),
            "{rows}"
        );
        assert!(
            rows.contains(
                r#"aria-label="Rename app password &lt;img src=x onerror=&quot;alert(1)&quot;&gt;""#
            ),
            "{rows}"
        );
    }

    #[test]
    fn a_row_offers_its_kind_change_and_opens_its_dialogs_by_query() {
        let rows = app_password_rows(&[item("Phone")]);
        assert!(rows.contains(r#"<option value="mail" selected>"#), "{rows}");
        assert_eq!(rows.matches(" selected").count(), 1, "{rows}");
        assert!(
            rows.contains(r#"action="/api/change_app_password_kind""#),
            "{rows}"
        );
        assert!(
            rows.contains(r#"<input type="hidden" name="rename" value="7">"#),
            "{rows}"
        );
        assert!(
            rows.contains(r#"<input type="hidden" name="delete" value="7">"#),
            "{rows}"
        );
        assert!(rows.contains("Expires in 5 days"), "{rows}");
        assert_eq!(app_password_rows(&[]), "");
    }
}
