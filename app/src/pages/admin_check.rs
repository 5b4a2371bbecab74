//! "Confirm it's you" in the admin console: every change there needs a sign-in within the last
//! 10 minutes. The console knows from its settings whether the administrator's sign-in is that
//! recent; when it is not, dialogs ask for the password (and code) in the same form as the
//! change, and the page offers one prompt that opens the next 10 minutes for the one-click
//! changes (settings, a person's row). A change refused because the time ran out while the page
//! was open shows the prompt too.

use leptos::prelude::*;

use crate::account::ConfirmItsYou;
use crate::components::field::{CodeField, Field};
use crate::components::links::SubmitButton;
use crate::error::AppError;
use crate::model::OrganizationSettings;
use crate::pages::passkey_methods::ConfirmWithPasskey;

/// Whether the console must ask the administrator to confirm it's them.
#[derive(Clone, Copy)]
pub struct ConsoleCheck {
    settings: Resource<Result<OrganizationSettings, AppError>>,
    /// A change was refused for want of a recent sign-in since the settings were read.
    refused: RwSignal<bool>,
    pub confirm: ServerAction<ConfirmItsYou>,
}

impl ConsoleCheck {
    /// The check of a console whose `settings` are read again after each `confirm`ation.
    pub fn new(
        settings: Resource<Result<OrganizationSettings, AppError>>,
        confirm: ServerAction<ConfirmItsYou>,
    ) -> Self {
        let check = Self {
            settings,
            refused: RwSignal::new(false),
            confirm,
        };
        // Confirmed: the refusals before it no longer count (the settings say the rest).
        Effect::new(move |_| {
            if let Some(Ok(())) = confirm.value().get() {
                check.refused.set(false);
            }
        });
        check
    }

    /// Whether changes need the password (and code) now.
    pub fn needed(self) -> bool {
        self.refused.get()
            || self
                .settings
                .get()
                .and_then(Result::ok)
                .is_some_and(|settings| !settings.recently_signed_in)
    }

    /// Whether confirming asks for a code (the administrator has an authenticator app).
    pub fn asks_for_code(self) -> bool {
        self.settings
            .get()
            .and_then(Result::ok)
            .is_some_and(|settings| settings.has_two_step && !settings.confirms_with_passkey)
    }

    /// Whether the administrator's second step is a passkey: "Confirm with a passkey" is
    /// offered at once, in place of the code.
    pub fn confirms_with_passkey(self) -> bool {
        self.settings
            .get()
            .and_then(Result::ok)
            .is_some_and(|settings| settings.confirms_with_passkey)
    }

    /// After "Confirm with a passkey": the refusals before it no longer count, and the
    /// settings are read again (the sign-in is recent now).
    fn passkey_confirmed(self) {
        self.confirm.value().set(None);
        self.refused.set(false);
        self.settings.refetch();
    }

    /// Notes every answer of a change that `refused_now` says needed a recent sign-in.
    pub fn watch(self, refused_now: impl Fn() -> bool + Send + Sync + 'static) {
        Effect::new(move |_| {
            if refused_now() {
                self.refused.set(true);
            }
        });
    }
}

/// Whether `answer` refused a change for want of a recent sign-in.
pub fn needs_recent_sign_in<T>(answer: Option<Result<T, AppError>>) -> bool {
    matches!(answer, Some(Err(AppError::ReverifyRequired)))
}

/// Whether `error` is about something else than the password or code asked for here (those
/// show at their fields; a refusal for want of a recent sign-in shows as the fields).
pub fn other_than_identity(error: &AppError) -> bool {
    !matches!(error, AppError::ReverifyRequired)
        && error.message_for("password").is_none()
        && error.message_for("code").is_none()
}

/// The password (and code) fields inside a change's own form, when the console must ask.
#[component]
pub fn IdentityFields(
    check: ConsoleCheck,
    password_id: &'static str,
    code_id: &'static str,
    /// The change's refusal, if any: a wrong password or code is shown at its field.
    #[prop(into)]
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
    };
    view! {
        <Show when=move || check.needed()>
            <p>"For your security, confirm it's you first."</p>
            <Field label="Your password" name="password" id=password_id input_type="password"
                autocomplete="current-password" error=field_error("password")/>
            <Show when=move || check.asks_for_code()>
                <CodeField id=code_id error=field_error("code")/>
            </Show>
            <ConfirmWithPasskey shown=Signal::derive(move || check.confirms_with_passkey())
                confirmed=Callback::new(move |()| check.passkey_confirmed())/>
        </Show>
    }
}

/// One prompt that opens the next 10 minutes of changes, shown while the console must ask.
#[component]
pub fn ConfirmItsYouForm(
    check: ConsoleCheck,
    password_id: &'static str,
    code_id: &'static str,
) -> impl IntoView {
    let error = Signal::derive(move || check.confirm.value().get().and_then(Result::err));
    let other_error = move || {
        error
            .get()
            .filter(other_than_identity)
            .map(|e| e.to_string())
    };
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
    };
    // An administrator whose second step is a passkey confirms with it (the password's answer
    // says so too).
    let passkey_asked = Signal::derive(move || {
        check.confirms_with_passkey()
            || matches!(
                error.get(),
                Some(AppError::Forbidden(
                    crate::error::Refusal::ConfirmWithPasskey
                ))
            )
    });
    let passkey_confirmed = Callback::new(move |()| check.passkey_confirmed());
    view! {
        <Show when=move || check.needed()>
            <section class="notice info confirm-its-you" aria-labelledby=format!("{password_id}-heading")>
                <h2 id=format!("{password_id}-heading")>"Confirm it's you"</h2>
                <p>"Changes here need a recent sign-in. Confirm it's you, then make changes for 10 minutes."</p>
                <ActionForm action=check.confirm attr:class="stack">
                    <Field label="Your password" name="password" id=password_id input_type="password"
                        autocomplete="current-password" error=field_error("password")/>
                    <Show when=move || check.asks_for_code()>
                        <CodeField id=code_id error=field_error("code")/>
                    </Show>
                    <p class="form-error" role="alert">{other_error}</p>
                    <ConfirmWithPasskey shown=passkey_asked confirmed=passkey_confirmed/>
                    <div>
                        <SubmitButton pending=check.confirm.pending()>"Confirm"</SubmitButton>
                    </div>
                </ActionForm>
            </section>
        </Show>
    }
}
