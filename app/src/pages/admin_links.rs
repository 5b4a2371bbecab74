//! The admin console's dialogs that end in a one-time password link: adding a person
//! (`?add=person`) and resetting a person's password (`?reset=USERNAME`). The link is shown
//! once, to the administrator, who gives it to the person; it works for a day.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::admin::{AddPerson, ResetPasswordOfPerson};
use crate::components::copy::CopyButton;
use crate::components::field::Field;
use crate::components::links::{DialogActions, DialogBack};
use crate::components::modal::Modal;
use crate::error::AppError;
use crate::form_post::FormPostAnswer;
use crate::model::{NewPersonValues, PasswordLink, PeoplePage, PersonSummary};
use crate::pages::admin_check::{ConsoleCheck, IdentityFields, other_than_identity};
use crate::routes::{AdminDialog, AdminQuery, use_page_query};

/// "Add person": name, sign-in name, administrator or not; then their link.
#[component]
pub fn AddPersonDialog(
    add: ServerAction<AddPerson>,
    back: Signal<String>,
    check: ConsoleCheck,
) -> impl IntoView {
    let query = use_page_query::<AdminQuery>();
    let open = Memo::new(move |_| query.read().dialog == Some(AdminDialog::AddPerson));
    let (typed, kept) = match crate::form_post::answer() {
        Some(FormPostAnswer::AddPerson { typed, result }) => (typed, Some(result)),
        _ => (NewPersonValues::default(), None),
    };
    // The call's answer, or (rendered for a plain form post) the one the server kept.
    let answer = Signal::derive(move || add.value().get().or_else(|| kept.clone()));
    let field_error = move |field: &'static str| {
        Signal::derive(move || match answer.get() {
            Some(Err(error)) => error.message_for(field),
            _ => None,
        })
    };
    let general_error = move || match answer.get() {
        Some(Err(error))
            if !matches!(error, AppError::Invalid { .. }) && other_than_identity(&error) =>
        {
            Some(error.to_string())
        }
        _ => None,
    };
    let refusal = Signal::derive(move || answer.get().and_then(Result::err));
    move || {
        open.get().then(|| {
            let typed = typed.clone();
            view! {
                <Modal id="add-person" title="Add person" close_href=back.get_untracked()>
                    {move || match answer.get() {
                        Some(Ok(link)) => Either::Left(view! { <LinkShown link=link back=back/> }),
                        _ => Either::Right({
                            let typed = typed.clone();
                            view! {
                            <ActionForm action=add attr:class="stack" attr:novalidate=true>
                                <p>"They set their own password with a link you give them."</p>
                                <Field label="Name" name="display_name" id="new-person-name"
                                    autocomplete="off" value=typed.display_name.clone()
                                    error=field_error("display_name")/>
                                <Field label="Sign-in name" name="username" id="new-person-username"
                                    inputmode="email" placeholder="someone@example.org"
                                    value=typed.username.clone() error=field_error("username")/>
                                <div class="checkbox-row">
                                    <input type="checkbox" id="new-person-admin" name="administrator"
                                        checked=typed.administrator/>
                                    <label for="new-person-admin">"Administrator"</label>
                                </div>
                                <IdentityFields check=check password_id="add-person-confirm-password"
                                    code_id="add-person-confirm-code" error=refusal/>
                                <p class="form-error" role="alert">{general_error}</p>
                                <DialogActions back=back.get_untracked() back_label="Cancel"
                                    submit="Add" pending=add.pending()/>
                            </ActionForm>
                        }}),
                    }}
                </Modal>
            }
        })
    }
}

/// "Reset the password of X?", then their link.
#[component]
pub fn ResetPasswordDialog(
    reset: ServerAction<ResetPasswordOfPerson>,
    page: Resource<Result<PeoplePage, AppError>>,
    /// Whether a reset revokes app passwords (the organization's setting), when known.
    revokes_app_passwords: Signal<Option<bool>>,
    back: Signal<String>,
    check: ConsoleCheck,
) -> impl IntoView {
    let query = use_page_query::<AdminQuery>();
    let asked = Memo::new(move |_| match &query.read().dialog {
        Some(AdminDialog::ResetPassword { username }) => Some(username.clone()),
        _ => None,
    });
    let kept = match crate::form_post::answer() {
        Some(FormPostAnswer::ResetPassword { username, result }) => Some((username, result)),
        _ => None,
    };
    let answer = Signal::derive(move || {
        reset
            .value()
            .get()
            .or_else(|| kept.clone().map(|(_, result)| result))
    });
    // The question names the person from the page's own list, never only from the URL.
    let listed = move |username: &str| -> Option<PersonSummary> {
        page.get()
            .and_then(Result::ok)
            .and_then(|found| found.people.into_iter().find(|p| p.username == username))
    };
    move || {
        let username = asked.get()?;
        let person = listed(&username);
        if person.is_none() && answer.get_untracked().is_none() {
            return None;
        }
        Some(view! {
            <Modal id="reset-password" title="Reset password" close_href=back.get_untracked()>
                {move || match (answer.get(), person.clone()) {
                    (Some(Ok(link)), _) => EitherOf3::A(view! { <LinkShown link=link back=back/> }),
                    (answer, Some(person)) => EitherOf3::B(view! {
                        <ResetQuestion person=person reset=reset back=back check=check
                            revokes_app_passwords=revokes_app_passwords
                            refused=answer.and_then(Result::err)/>
                    }),
                    (answer, None) => EitherOf3::C(view! {
                        <p class="form-error" role="alert">{answer.and_then(Result::err).map(|e| e.to_string())}</p>
                        <div class="modal-actions">
                            <DialogBack href=back.get_untracked() class="button primary">"Done"</DialogBack>
                        </div>
                    }),
                }}
            </Modal>
        })
    }
}

#[component]
fn ResetQuestion(
    person: PersonSummary,
    reset: ServerAction<ResetPasswordOfPerson>,
    revokes_app_passwords: Signal<Option<bool>>,
    back: Signal<String>,
    check: ConsoleCheck,
    refused: Option<AppError>,
) -> impl IntoView {
    let refusal = Signal::derive({
        let refused = refused.clone();
        move || refused.clone()
    });
    let count = person.app_passwords;
    let app_passwords = move || match (revokes_app_passwords.get(), count) {
        (_, 0) => "",
        (Some(true), _) => " Their app passwords are revoked.",
        (Some(false), _) => " Their app passwords keep working.",
        (None, _) => "",
    };
    view! {
        <ActionForm action=reset>
            <input type="hidden" name="username" value=person.username.clone()/>
            <p>
                {format!(
                    "Reset the password of {} ({})? Their password stops working at once and they are signed out everywhere.",
                    person.display_name, person.username
                )}
                {app_passwords}
            </p>
            <p>"You get a one-time link, valid for 24 hours, with which they choose a new password."</p>
            // "Reset password and methods": one change, for someone who lost their second
            // factor too. Not offered for one's own (that asks "I understand" first: Reset
            // methods).
            {(person.has_two_step && !person.is_you).then(|| view! {
                <div class="checkbox-row">
                    <input type="checkbox" id="reset-methods-too" name="methods" value="on"/>
                    <label for="reset-methods-too">
                        "Also reset their sign-in methods (authenticator apps, passkeys, recovery codes): they add one again after choosing their password."
                    </label>
                </div>
            })}
            <IdentityFields check=check password_id="reset-confirm-password"
                code_id="reset-confirm-code" error=refusal/>
            <p class="form-error" role="alert">
                {refused.filter(other_than_identity).map(|e| e.to_string())}
            </p>
            <DialogActions back=back.get_untracked() back_label="Cancel" submit="Reset password"
                pending=reset.pending()/>
        </ActionForm>
    }
}

/// The link, shown this once, with a button to copy it.
#[component]
fn LinkShown(link: PasswordLink, back: Signal<String>) -> impl IntoView {
    view! {
        <p>
            "Give this link to " <strong>{link.display_name.clone()}</strong> " ("
            {link.username.clone()} "). With it they set their password."
        </p>
        {(!link.detail.is_empty()).then(|| view! { <p>{link.detail.clone()}</p> })}
        <div class="field">
            <label for="password-link">"One-time link"</label>
            <div class="copy-row">
                <input id="password-link" class="secret-input link-input" type="text" readonly value=link.url.clone()/>
                <CopyButton input_id="password-link" selected="The link is selected"/>
            </div>
        </div>
        <p class="notice warning" role="status">
            {format!(
                "This is the only time you'll see this link. It works once, until {}. Give it to them in person or another channel you trust.",
                link.expires
            )}
        </p>
        <div class="modal-actions">
            <DialogBack href=back.get_untracked() class="button primary">"Done"</DialogBack>
        </div>
    }
}
