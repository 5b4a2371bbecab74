//! Security info: the sign-in methods of the signed-in person, with Add method, Change
//! password, Delete, and Sign out everywhere.

use leptos::prelude::*;

use crate::account::{
    AuthenticatorEnrollment, BeginAuthenticator, ChangePassword, ConfirmAuthenticator,
    DeleteAuthenticator, SecurityInfo, SignOutEverywhere, get_security_info,
};
use crate::app_passwords::{
    AppPasswordItem, AppPasswordOverview, DeleteAppPassword, FormOutcome, get_app_passwords,
};
use crate::components::field::Field;
use crate::components::intent_form::IntentForm;
use crate::components::modal::Modal;
use crate::error::AppError;
use crate::pages::app_password_flow::{
    ActionLink, AppPasswordSteps, DeleteAppPasswordDialog, DeleteAppPasswordLink, InitialDialogs,
};
use crate::pages::profile::ProfileLayout;

#[component]
pub fn SecurityInfoPage() -> impl IntoView {
    // Dismissed for this visit (`?notice=hidden` before the WebAssembly loads).
    let banner_open = RwSignal::new(
        leptos_router::hooks::use_query_map()
            .get_untracked()
            .get("notice")
            .is_none_or(|n| n != "hidden"),
    );
    let confirm = ServerAction::<ConfirmAuthenticator>::new();
    let delete = ServerAction::<DeleteAuthenticator>::new();
    let change = ServerAction::<ChangePassword>::new();
    // The lists reload when an action that changes them succeeds (not on a refused try, which
    // would redraw an open dialog under the person's hands).
    let methods_changed = RwSignal::new(0u32);
    Effect::new(move |_| {
        let succeeded = [
            matches!(confirm.value().get(), Some(Ok(()))),
            matches!(delete.value().get(), Some(Ok(()))),
            matches!(change.value().get(), Some(Ok(()))),
        ];
        if succeeded.contains(&true) {
            methods_changed.update(|n| *n += 1);
        }
    });
    let info = Resource::new(move || methods_changed.get(), |_| get_security_info());
    let sign_out_everywhere = ServerAction::<SignOutEverywhere>::new();
    // Dialog switches live here, above the list, so reloading the list keeps dialogs open.
    // They start from the URL (links followed before the WebAssembly loaded) and form posts.
    let initial = InitialDialogs::read();
    let add_open = RwSignal::new(initial.create || initial.choose || initial.authenticator);
    let change_open = RwSignal::new(initial.change_password);
    let delete_open = RwSignal::new(initial.remove_authenticator);
    // App passwords: reloaded after each change, and whenever a dialog closes.
    let app_refresh = RwSignal::new(0u32);
    let delete_app = ServerAction::<DeleteAppPassword>::new();
    let apps = Resource::new(
        move || {
            (
                app_refresh.get(),
                delete_app.version().get(),
                methods_changed.get(),
            )
        },
        |_| get_app_passwords(),
    );
    let delete_app_open = RwSignal::new(initial.delete.is_some());
    let delete_target = RwSignal::new(initial.delete.clone());
    let request_delete = Callback::new(move |item: AppPasswordItem| {
        delete_target.set(Some(item));
        delete_app_open.set(true);
    });
    Effect::new(move |previous: Option<bool>| {
        let open = add_open.get();
        if previous == Some(true) && !open {
            app_refresh.update(|n| *n += 1);
        }
        open
    });

    view! {
        <leptos_meta::Title text="Security info"/>
        <ProfileLayout>
            <Show when=move || banner_open.get()>
                <div class="banner" role="region" aria-label="Preview notice">
                    <p>
                        <strong>"This is a preview of the new Security info experience."</strong>
                        " Methods you add here work everywhere you sign in."
                    </p>
                    <a href="/security-info?notice=hidden" role="button" class="icon-button" aria-label="Dismiss notice"
                        on:click=move |ev| {
                            ev.prevent_default();
                            banner_open.set(false);
                        }
                    >
                        "×"
                    </a>
                </div>
            </Show>
            <h1>"Security info"</h1>
            <p class="muted">"These are the methods you use to sign in to your account or reset your password."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || Suspend::new(async move {
                    // Both are awaited here so the server renders exactly what hydration expects.
                    let (info, apps) = (info.await, apps.await);
                    match info {
                        Ok(info) => view! {
                            <MethodList info=info add_open=add_open change_open=change_open delete_open=delete_open/>
                            <AppPasswordRows overview=apps.ok() request_delete=request_delete/>
                        }.into_any(),
                        Err(AppError::Unauthorized) => view! {
                            <p class="form-error" role="alert">
                                "Your session has ended. " <a href="/signin?next=/security-info">"Sign in again"</a>
                            </p>
                        }.into_any(),
                        Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            {move || match delete_app.value().get() {
                Some(Err(error)) => Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }),
                _ => None,
            }}
            {match &initial.outcome {
                Some(FormOutcome::DeleteFailed { error }) => Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }),
                _ => None,
            }}
            <AddMethodDialog
                open=add_open
                start_with_app_password=initial.create
                start_with_authenticator=initial.authenticator
                outcome=StoredValue::new(initial.outcome.clone())
                confirm=confirm
                info=info
                apps=apps
                request_delete=request_delete
            />
            <DeleteAppPasswordDialog open=delete_app_open target=delete_target delete=delete_app page="/security-info" id="delete-app-password"/>
            <ChangePasswordDialog open=change_open change=change outcome=initial.outcome.clone()/>
            <Modal open=delete_open id="delete-authenticator" title="Delete authenticator app?".to_owned()>
                <p>"You will sign in with your password only until you add a method again."</p>
                <IntentForm page="/security-info" intent="delete_authenticator" class="modal-actions" submit=Callback::new(move |()| {
                    delete.dispatch(DeleteAuthenticator {});
                    delete_open.set(false);
                })>
                    <ActionLink href="/security-info".to_owned() class="button" action=Callback::new(move |()| delete_open.set(false))>"No"</ActionLink>
                    <button type="submit" class="button primary">"Yes"</button>
                </IntentForm>
            </Modal>
            <section class="section" aria-labelledby="devices-heading">
                <h2 id="devices-heading">"Lost device?"</h2>
                <p class="muted">"Sign out of Latchkey on every browser and device, this one included."</p>
                <ActionForm action=sign_out_everywhere>
                    <button type="submit" class="button">"Sign out everywhere"</button>
                </ActionForm>
            </section>
        </ProfileLayout>
    }
}

#[component]
fn MethodList(
    info: SecurityInfo,
    add_open: RwSignal<bool>,
    change_open: RwSignal<bool>,
    delete_open: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <p class="default-method">
            "Default sign-in method: " <strong>{info.default_method.clone()}</strong>
        </p>
        <ActionLink href="/security-info?add=method".to_owned() class="button add-method" action=Callback::new(move |()| add_open.set(true))>
            <span aria-hidden="true">"+ "</span>
            "Add sign-in method"
        </ActionLink>
        <ul class="methods" aria-label="Your sign-in methods">
            <li class="method">
                <span class="method-name">"Password"</span>
                <span class="method-detail">"Last updated: " {info.password_changed.clone()}</span>
                <ActionLink href="/security-info?change=password".to_owned() class="link" action=Callback::new(move |()| change_open.set(true))>
                    "Change"
                </ActionLink>
            </li>
            {info.authenticator_added.clone().map(|added| view! {
                <li class="method">
                    <span class="method-name">"Authenticator app"</span>
                    <span class="method-detail">"Time-based one-time password (TOTP), added " {added}</span>
                    <ActionLink href="/security-info?remove=authenticator".to_owned() class="link" action=Callback::new(move |()| delete_open.set(true))>
                        "Delete"
                    </ActionLink>
                </li>
            })}
        </ul>
    }
}

/// "Add a method": choose a method, then follow its steps.
#[component]
fn AddMethodDialog(
    open: RwSignal<bool>,
    /// Start at the app-password steps (a link or form post asked for them).
    start_with_app_password: bool,
    /// Start at the authenticator app (a link or form post asked for it).
    start_with_authenticator: bool,
    /// A form post's outcome, used once.
    outcome: StoredValue<Option<FormOutcome>>,
    confirm: ServerAction<ConfirmAuthenticator>,
    info: Resource<Result<SecurityInfo, AppError>>,
    apps: Resource<Result<AppPasswordOverview, AppError>>,
    request_delete: Callback<AppPasswordItem>,
) -> impl IntoView {
    let begin = ServerAction::<BeginAuthenticator>::new();
    let choice = RwSignal::new(String::new());
    // Set when "App password" was chosen and Add selected: the dialog then runs its steps.
    let app_password_mode = RwSignal::new(start_with_app_password);
    // What the authenticator forms posted before the WebAssembly loaded left to show.
    let carried = outcome.get_value();
    let carried_enrollment = RwSignal::new(match &carried {
        Some(
            FormOutcome::AuthenticatorStarted(enrollment)
            | FormOutcome::AuthenticatorConfirmFailed { enrollment, .. },
        ) => Some(enrollment.clone()),
        _ => None,
    });
    let carried_confirm_error = RwSignal::new(match &carried {
        Some(FormOutcome::AuthenticatorConfirmFailed { error, .. }) => Some(error.clone()),
        _ => None,
    });
    let carried_begin_error = RwSignal::new(match carried {
        Some(FormOutcome::AuthenticatorStartFailed { error }) => Some(error),
        _ => None,
    });
    // Set by `?add=authenticator` (the chooser submitted without the WebAssembly).
    let authenticator_mode = RwSignal::new(start_with_authenticator);
    let enrollment = move || {
        begin
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| carried_enrollment.get())
    };
    let begin_error = move || {
        begin
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| carried_begin_error.get())
            .map(|e| e.to_string())
    };
    // Closing the dialog starts it over next time.
    Effect::new(move |_| {
        if !open.get() {
            begin.value().set(None);
            confirm.value().set(None);
            choice.set(String::new());
            app_password_mode.set(false);
            authenticator_mode.set(false);
            carried_enrollment.set(None);
            carried_confirm_error.set(None);
            carried_begin_error.set(None);
            // A form post's outcome belongs to the first opening only.
            outcome.set_value(None);
        }
    });
    // A confirmed code closes the dialog; the list reloads on its own.
    Effect::new(move |_| {
        if matches!(confirm.value().get(), Some(Ok(()))) {
            open.set(false);
        }
    });
    let title = Signal::derive(move || {
        if enrollment().is_some() || authenticator_mode.get() {
            "Authenticator app".to_owned()
        } else if app_password_mode.get() {
            "App password".to_owned()
        } else {
            "Add a method".to_owned()
        }
    });
    let finish = Callback::new(move |()| open.set(false));
    view! {
        <Modal open=open id="add-method" title=title>
            // Awaited so the server renders what hydration expects when the dialog starts open.
            <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || Suspend::new(async move {
                    let has_authenticator = info.await.is_ok_and(|i| i.authenticator_added.is_some());
                    let overview = apps.await.ok();
                    let offer_app_password = overview.as_ref().is_some_and(|o| o.can_create() && o.security_info_experience);
                    view! {
                        {move || match enrollment() {
                            Some(enrollment) => view! {
                                <AuthenticatorStep enrollment=enrollment confirm=confirm carried_error=carried_confirm_error/>
                            }.into_any(),
                            None if authenticator_mode.get() => view! {
                                <IntentForm page="/security-info" intent="begin_authenticator" class="stack" submit=Callback::new(move |()| {
                                    carried_begin_error.set(None);
                                    begin.dispatch(BeginAuthenticator {});
                                })>
                                    <p>
                                        "An authenticator app on your phone shows a new 6-digit code every 30 seconds. "
                                        "Next you'll scan a QR code with it, then enter one of its codes."
                                    </p>
                                    <p class="form-error" role="alert">{begin_error}</p>
                                    <div class="modal-actions">
                                        <ActionLink href="/security-info".to_owned() class="button" action=finish>"Cancel"</ActionLink>
                                        <button type="submit" class="button primary" disabled=move || begin.pending().get()>"Continue"</button>
                                    </div>
                                </IntentForm>
                            }.into_any(),
                            None if app_password_mode.get() => view! {
                                <AppPasswordSteps
                                    overview=overview.clone()
                                    initial=outcome.get_value()
                                    page="/security-info"
                                    done=finish
                                    request_delete=request_delete
                                />
                            }.into_any(),
                            None => view! {
                                <form
                                    class="stack"
                                    method="get"
                                    action="/security-info"
                                    on:submit=move |ev| {
                                        ev.prevent_default();
                                        match choice.get_untracked().as_str() {
                                            "authenticator" => {
                                                begin.dispatch(BeginAuthenticator {});
                                            }
                                            "app_password" => app_password_mode.set(true),
                                            _ => {}
                                        }
                                    }
                                >
                                    <div class="field">
                                        <label for="method-choice">"Which method would you like to add?"</label>
                                        <select id="method-choice" name="add" on:change=move |ev| choice.set(event_target_value(&ev))>
                                            <option value="">"Choose a method"</option>
                                            {(!has_authenticator).then(|| view! { <option value="authenticator">"Authenticator app"</option> })}
                                            {offer_app_password.then(|| view! { <option value="app_password">"App password"</option> })}
                                        </select>
                                    </div>
                                    {has_authenticator.then(|| view! {
                                        <p class="hint">"You already have an authenticator app. Delete it first to set up a new one."</p>
                                    })}
                                    <p class="form-error" role="alert">{begin_error}</p>
                                    <div class="modal-actions">
                                        <ActionLink href="/security-info".to_owned() class="button" action=finish>"Cancel"</ActionLink>
                                        <button type="submit" class="button primary" disabled=move || begin.pending().get()>
                                            "Add"
                                        </button>
                                    </div>
                                </form>
                            }.into_any(),
                        }}
                    }
                })}
            </Transition>
        </Modal>
    }
}

#[component]
fn AuthenticatorStep(
    enrollment: AuthenticatorEnrollment,
    confirm: ServerAction<ConfirmAuthenticator>,
    /// A wrong code posted before the WebAssembly loaded.
    carried_error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let error = move || {
        confirm
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| carried_error.get())
            .map(|e| e.to_string())
    };
    let code = RwSignal::new(String::new());
    view! {
        <ol class="steps">
            <li>"Install an authenticator app on your phone, if you don't have one yet."</li>
            <li>
                "Scan this QR code with the app."
                <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=enrollment.qr_svg></div>
                <p class="hint">"Can't scan it? Enter this secret key in the app, for the account " {enrollment.account} ":"</p>
                <p class="secret" id="totp-secret">{enrollment.secret}</p>
            </li>
            <li>"Enter the 6-digit code the app shows."</li>
        </ol>
        <IntentForm page="/security-info" intent="confirm_authenticator" class="stack" submit=Callback::new(move |()| {
            carried_error.set(None);
            confirm.dispatch(ConfirmAuthenticator { code: code.get_untracked() });
        })>
            <Field
                label="Code"
                name="code"
                id="enroll-code"
                autocomplete="one-time-code"
                inputmode="numeric"
                error=Signal::derive(error)
                on_input=Callback::new(move |value: String| code.set(value))
            />
            <div class="modal-actions">
                <button type="submit" class="button primary" disabled=move || confirm.pending().get()>"Next"</button>
            </div>
        </IntentForm>
    }
}

/// Change password. Works before the WebAssembly loads too: the form posts to the page, which
/// the server answers with the dialog open at its outcome (`outcome`).
#[component]
fn ChangePasswordDialog(
    open: RwSignal<bool>,
    change: ServerAction<ChangePassword>,
    outcome: Option<FormOutcome>,
) -> impl IntoView {
    // The outcome of a plain form post, shown until the person tries again.
    let carried = RwSignal::new(match outcome {
        Some(FormOutcome::PasswordChanged) => Some(Ok(())),
        Some(FormOutcome::PasswordChangeFailed { error }) => Some(Err(error)),
        _ => None,
    });
    let result = move || change.value().get().or_else(|| carried.get());
    let error = move || result().and_then(Result::err);
    let field_error = move |field: &'static str| {
        Signal::derive(move || error().and_then(|e| e.message_for(field)))
    };
    let other_error = move || {
        error()
            .filter(|e| !matches!(e, AppError::Invalid { .. }))
            .map(|e| e.to_string())
    };
    let done = move || matches!(result(), Some(Ok(())));
    // Opening the dialog again starts afresh.
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open && was_open == Some(false) {
            change.value().set(None);
            carried.set(None);
        }
        is_open
    });
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let close = Callback::new(move |()| open.set(false));
    view! {
        <Modal open=open id="change-password" title="Change password".to_owned()>
            <Show
                when=done
                fallback=move || view! {
                    <IntentForm page="/security-info" intent="change_password" class="stack" submit=Callback::new(move |()| {
                        carried.set(None);
                        change.dispatch(ChangePassword {
                            current_password: current.get_untracked(),
                            new_password: new.get_untracked(),
                            confirm_password: confirmation.get_untracked(),
                        });
                    })>
                        <Field label="Current password" name="current_password" id="current_password" input_type="password"
                            autocomplete="current-password" error=field_error("current_password")
                            on_input=Callback::new(move |value: String| current.set(value))/>
                        <Field label="New password" name="new_password" id="new_password" input_type="password"
                            autocomplete="new-password" error=field_error("new_password")
                            on_input=Callback::new(move |value: String| new.set(value))/>
                        <Field label="Confirm new password" name="confirm_password" id="confirm_new_password" input_type="password"
                            autocomplete="new-password" error=field_error("confirm_password")
                            on_input=Callback::new(move |value: String| confirmation.set(value))/>
                        <p class="form-error" role="alert">{other_error}</p>
                        <div class="modal-actions">
                            <ActionLink href="/security-info".to_owned() class="button" action=close>"Cancel"</ActionLink>
                            <button type="submit" class="button primary" disabled=move || change.pending().get()>"Change password"</button>
                        </div>
                    </IntentForm>
                }
            >
                <p role="status">"Your password was changed. Other browsers and devices were signed out."</p>
                <div class="modal-actions">
                    <ActionLink href="/security-info".to_owned() class="button primary" action=close>"Done"</ActionLink>
                </div>
            </Show>
        </Modal>
    }
}

/// The app-password part of the Security info list: count, rows with Delete, and why app
/// passwords are not offered when they are not.
#[component]
fn AppPasswordRows(
    overview: Option<AppPasswordOverview>,
    request_delete: Callback<AppPasswordItem>,
) -> impl IntoView {
    {
        overview.map(|o| {
            let note = if !o.security_info_experience {
                Some(view! {
                    <p class="hint">
                        "Your organization manages app passwords on the "
                        <a href="/app-passwords">"Manage app passwords"</a> " page."
                    </p>
                }.into_any())
            } else if o.allowed && !o.has_two_step {
                Some(view! {
                    <p class="notice info">
                        "App passwords need two-step verification. Select " <strong>"Add sign-in method"</strong>
                        " and add an " <strong>"Authenticator app"</strong> " first."
                    </p>
                }.into_any())
            } else {
                None
            };
            let show_list = o.security_info_experience && (o.allowed || !o.items.is_empty());
            view! {
                {note}
                {show_list.then(|| view! {
                    <section class="app-passwords" aria-labelledby="app-passwords-heading">
                        <h2 id="app-passwords-heading">"App passwords"</h2>
                        <p class="muted app-password-count">{format!("{} of {} in use", o.items.len(), o.limit)}</p>
                        {(!o.allowed).then(|| view! {
                            <p class="hint">"Your organization has turned app passwords off: these no longer sign in, but you can still delete them."</p>
                        })}
                        <ul class="methods" aria-label="Your app passwords">
                            {o.items.into_iter().map(|item| {
                                view! {
                                    <li class="method">
                                        <span class="method-name">{item.name.clone()}</span>
                                        <span class="method-detail">"Created " {item.created.clone()} " · " {item.last_used.clone()}</span>
                                        <DeleteAppPasswordLink page="/security-info" item=item.clone() request_delete=request_delete/>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                })}
            }
        })
    }
}
