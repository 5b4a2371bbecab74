//! Security info: the sign-in methods of the signed-in person, with Add method, Change
//! password, Delete, and Sign out everywhere.
//!
//! Rendered on the server, like every page: each dialog is the page at a URL (`?add=method`,
//! `?change=password`, ...) or the answer to a form posted to the page (see [`OpenDialogs`]).

use leptos::prelude::*;

use crate::account::{AuthenticatorEnrollment, SecurityInfo, get_security_info};
use crate::app_passwords::{AppPasswordOverview, FormOutcome, get_app_passwords};
use crate::components::field::Field;
use crate::components::intent_form::{ButtonLink, DialogActions, IntentForm};
use crate::components::modal::Modal;
use crate::error::AppError;
use crate::pages::app_password_flow::{
    AppPasswordSteps, DeleteAppPasswordDialog, DeleteAppPasswordLink, OpenDialogs,
};
use crate::pages::profile::ProfileLayout;

const PAGE: &str = "/security-info";

#[component]
pub fn SecurityInfoPage() -> impl IntoView {
    // Dismissed for this visit: the Dismiss link leads here with `?notice=hidden`.
    let show_notice = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("notice")
        .is_none_or(|n| n != "hidden");
    let info = Resource::new(|| (), |_| get_security_info());
    let apps = Resource::new(|| (), |_| get_app_passwords());
    let dialogs = OpenDialogs::read();
    let delete_failed = match &dialogs.outcome {
        Some(FormOutcome::DeleteFailed { error }) => Some(error.to_string()),
        _ => None,
    };

    view! {
        <leptos_meta::Title text="Security info"/>
        <ProfileLayout>
            {show_notice.then(|| view! {
                <div class="banner" role="region" aria-label="Preview notice">
                    <p>
                        <strong>"This is a preview of the new Security info experience."</strong>
                        " Methods you add here work everywhere you sign in."
                    </p>
                    <a href="/security-info?notice=hidden" role="button" class="icon-button" aria-label="Dismiss notice">"×"</a>
                </div>
            })}
            <h1>"Security info"</h1>
            <p class="muted">"These are the methods you use to sign in to your account or reset your password."</p>
            {delete_failed.map(|error| view! { <p class="form-error" role="alert">{error}</p> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || {
                    let dialogs = dialogs.clone();
                    Suspend::new(async move {
                        match (info.await, apps.await) {
                            (Ok(info), apps) => view! {
                                <MethodList info=info.clone()/>
                                <AppPasswordRows overview=apps.clone().ok()/>
                                <Dialogs dialogs=dialogs info=info apps=apps.ok()/>
                            }.into_any(),
                            (Err(AppError::Unauthorized), _) => view! {
                                <p class="form-error" role="alert">
                                    "Your session has ended. " <a href="/signin?next=/security-info">"Sign in again"</a>
                                </p>
                            }.into_any(),
                            (Err(error), _) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
            <section class="section" aria-labelledby="devices-heading">
                <h2 id="devices-heading">"Lost device?"</h2>
                <p class="muted">"Sign out of Latchkey on every browser and device, this one included."</p>
                <form method="post" action="/api/sign_out_everywhere">
                    <button type="submit" class="button">"Sign out everywhere"</button>
                </form>
            </section>
        </ProfileLayout>
    }
}

#[component]
fn MethodList(info: SecurityInfo) -> impl IntoView {
    view! {
        <p class="default-method">
            "Default sign-in method: " <strong>{info.default_method}</strong>
        </p>
        <ButtonLink href="/security-info?add=method" class="button add-method">
            <span aria-hidden="true">"+ "</span>
            "Add sign-in method"
        </ButtonLink>
        <ul class="methods" aria-label="Your sign-in methods">
            <li class="method">
                <span class="method-name">"Password"</span>
                <span class="method-detail">"Last updated: " {info.password_changed}</span>
                <ButtonLink href="/security-info?change=password" class="link">"Change"</ButtonLink>
            </li>
            {info.authenticator_added.map(|added| view! {
                <li class="method">
                    <span class="method-name">"Authenticator app"</span>
                    <span class="method-detail">"Time-based one-time password (TOTP), added " {added}</span>
                    <ButtonLink href="/security-info?remove=authenticator" class="link">"Delete"</ButtonLink>
                </li>
            })}
        </ul>
    }
}

/// The one dialog the page's URL or form post asks for, if any.
#[component]
fn Dialogs(
    dialogs: OpenDialogs,
    info: SecurityInfo,
    apps: Option<AppPasswordOverview>,
) -> impl IntoView {
    if let Some(target) = dialogs
        .delete
        .and_then(|id| apps.as_ref().and_then(|o| o.item(id)))
    {
        return view! {
            <DeleteAppPasswordDialog target=target page=PAGE id="delete-app-password" then_create=dialogs.delete_then_create/>
        }
        .into_any();
    }
    let error = dialogs
        .outcome
        .as_ref()
        .and_then(FormOutcome::error)
        .map(ToString::to_string);
    let confirm_needed = !info.recently_signed_in;
    let has_authenticator = info.authenticator_added.is_some();
    let (id, title, content) = match dialogs.outcome {
        Some(FormOutcome::AuthenticatorStartFailed { error: start_error })
            if needs_confirmation(&start_error) =>
        {
            (
                "add-method",
                "Authenticator app",
                view! { <ConfirmBeforeAuthenticator error=start_error/> }.into_any(),
            )
        }
        Some(
            FormOutcome::AuthenticatorStarted(enrollment)
            | FormOutcome::AuthenticatorConfirmFailed { enrollment, .. },
        ) => (
            "add-method",
            "Authenticator app",
            view! { <AuthenticatorStep enrollment=enrollment error=error/> }.into_any(),
        ),
        outcome if dialogs.create => (
            "add-method",
            "App password",
            view! { <AppPasswordSteps overview=apps outcome=outcome page=PAGE/> }.into_any(),
        ),
        _ if dialogs.choose => (
            "add-method",
            "Add a method",
            view! { <MethodChooser info=info apps=apps error=error/> }.into_any(),
        ),
        outcome if dialogs.change_password => (
            "change-password",
            "Change password",
            view! { <ChangePasswordSteps outcome=outcome ask_code=confirm_needed && has_authenticator/> }.into_any(),
        ),
        Some(FormOutcome::AuthenticatorDeleteFailed { error }) => (
            "delete-authenticator",
            "Delete authenticator app?",
            view! { <DeleteAuthenticator ask_confirmation=true error=Some(error)/> }.into_any(),
        ),
        _ if dialogs.remove_authenticator => (
            "delete-authenticator",
            "Delete authenticator app?",
            view! { <DeleteAuthenticator ask_confirmation=confirm_needed error=None/> }.into_any(),
        ),
        _ => return ().into_any(),
    };
    view! { <Modal id=id title=title close_href=PAGE>{content}</Modal> }.into_any()
}

/// Whether a refusal asks the person to confirm it's them (or their confirmation failed).
fn needs_confirmation(error: &AppError) -> bool {
    matches!(
        error,
        AppError::ReverifyRequired | AppError::Throttled { .. }
    ) || error.message_for("password").is_some()
        || error.message_for("code").is_some()
}

/// Deleting the authenticator app: what it means, and (after 10 minutes without a sign-in)
/// the password and a code first, in the same form.
#[component]
fn DeleteAuthenticator(ask_confirmation: bool, error: Option<AppError>) -> impl IntoView {
    let field_error = |field: &'static str| error.as_ref().and_then(|e| e.message_for(field));
    let (password_error, code_error) = (field_error("password"), field_error("code"));
    let other_error = error
        .as_ref()
        .filter(|e| !matches!(e, AppError::Invalid { .. } | AppError::ReverifyRequired))
        .map(ToString::to_string);
    view! {
        <p>"You will sign in with your password only until you add a method again."</p>
        <p class="notice info">
            "Your app passwords stop signing in too: they need two-step verification. "
            "They work again when you add an authenticator app."
        </p>
        <IntentForm page=PAGE intent="delete_authenticator" class="stack">
            {ask_confirmation.then(|| view! {
                <p>"For your security, confirm it's you first."</p>
                <Field label="Password" name="password" id="delete-authenticator-password" input_type="password"
                    autocomplete="current-password" autofocus=true error=password_error/>
                <Field label="Code from your authenticator app" name="code" id="delete-authenticator-code"
                    autocomplete="one-time-code" inputmode="numeric" error=code_error/>
            })}
            <p class="form-error" role="alert">{other_error}</p>
            <DialogActions back=PAGE back_label="No" submit="Yes"/>
        </IntentForm>
    }
}

/// Before adding an authenticator app after 10 minutes without a sign-in: the password.
#[component]
fn ConfirmBeforeAuthenticator(error: AppError) -> impl IntoView {
    let password_error = error.message_for("password");
    let other_error = (!matches!(error, AppError::Invalid { .. } | AppError::ReverifyRequired))
        .then(|| error.to_string());
    view! {
        <p>"For your security, confirm it's you before you add a sign-in method."</p>
        <IntentForm page=PAGE intent="add_method" class="stack">
            <input type="hidden" name="method" value="authenticator"/>
            <Field label="Password" name="password" id="confirm-authenticator-password" input_type="password"
                autocomplete="current-password" autofocus=true error=password_error/>
            <p class="form-error" role="alert">{other_error}</p>
            <DialogActions back=PAGE back_label="Cancel" submit="Continue"/>
        </IntentForm>
    }
}

/// "Which method would you like to add?": the authenticator app starts at once (its QR code);
/// an app password goes to its steps.
#[component]
fn MethodChooser(
    info: SecurityInfo,
    apps: Option<AppPasswordOverview>,
    error: Option<String>,
) -> impl IntoView {
    let has_authenticator = info.authenticator_added.is_some();
    let offer_app_password = apps
        .as_ref()
        .is_some_and(|o| o.can_create() && o.security_info_experience);
    view! {
        <IntentForm page=PAGE intent="add_method" class="stack">
            <div class="field">
                <label for="method-choice">"Which method would you like to add?"</label>
                <select id="method-choice" name="method" required>
                    <option value="">"Choose a method"</option>
                    {(!has_authenticator).then(|| view! { <option value="authenticator">"Authenticator app"</option> })}
                    {offer_app_password.then(|| view! { <option value="app_password">"App password"</option> })}
                </select>
            </div>
            {has_authenticator.then(|| view! {
                <p class="hint">"You already have an authenticator app. Delete it first to set up a new one."</p>
            })}
            <p class="form-error" role="alert">{error}</p>
            <DialogActions back=PAGE back_label="Cancel" submit="Add"/>
        </IntentForm>
    }
}

#[component]
fn AuthenticatorStep(enrollment: AuthenticatorEnrollment, error: Option<String>) -> impl IntoView {
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
        <IntentForm page=PAGE intent="confirm_authenticator" class="stack">
            <Field
                label="Code"
                name="code"
                id="enroll-code"
                autocomplete="one-time-code"
                inputmode="numeric"
                error=error
            />
            <div class="modal-actions">
                <button type="submit" class="button primary">"Next"</button>
            </div>
        </IntentForm>
    }
}

/// Change password: the form, or what its post did.
#[component]
fn ChangePasswordSteps(outcome: Option<FormOutcome>, ask_code: bool) -> impl IntoView {
    let error = match outcome {
        Some(FormOutcome::PasswordChanged) => {
            return view! {
                <p role="status">"Your password was changed. Other browsers and devices were signed out."</p>
                <div class="modal-actions">
                    <ButtonLink href=PAGE class="button primary">"Done"</ButtonLink>
                </div>
            }
            .into_any();
        }
        Some(FormOutcome::PasswordChangeFailed { error }) => Some(error),
        _ => None,
    };
    let field_error = |field: &'static str| error.as_ref().and_then(|e| e.message_for(field));
    let (current_error, new_error, confirm_error, code_error) = (
        field_error("current_password"),
        field_error("new_password"),
        field_error("confirm_password"),
        field_error("code"),
    );
    let other_error = error
        .as_ref()
        .filter(|e| !matches!(e, AppError::Invalid { .. }))
        .map(|e| e.to_string());
    view! {
        <IntentForm page=PAGE intent="change_password" class="stack">
            <Field label="Current password" name="current_password" id="current_password" input_type="password"
                autocomplete="current-password" autofocus=true error=current_error/>
            <Field label="New password" name="new_password" id="new_password" input_type="password"
                autocomplete="new-password" error=new_error/>
            <Field label="Confirm new password" name="confirm_password" id="confirm_new_password" input_type="password"
                autocomplete="new-password" error=confirm_error/>
            {ask_code.then(|| view! {
                <Field label="Code from your authenticator app" name="code" id="change-password-code"
                    autocomplete="one-time-code" inputmode="numeric" error=code_error/>
            })}
            <p class="form-error" role="alert">{other_error}</p>
            <DialogActions back=PAGE back_label="Cancel" submit="Change password"/>
        </IntentForm>
    }
    .into_any()
}

/// The app-password part of the Security info list: count, rows with Delete, and why app
/// passwords are not offered when they are not.
#[component]
fn AppPasswordRows(overview: Option<AppPasswordOverview>) -> impl IntoView {
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
                        {o.items.into_iter().map(|item| view! {
                            <li class="method">
                                <span class="method-name">{item.name.clone()}</span>
                                <span class="method-detail">"Created " {item.created.clone()} " · " {item.last_used.clone()}</span>
                                <DeleteAppPasswordLink page=PAGE item=item/>
                            </li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
        }
    })
}
