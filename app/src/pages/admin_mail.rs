//! The admin console's "Mail app settings": where people's mail apps reach IMAP and SMTP (host,
//! port, TLS) and, optionally, CalDAV and CardDAV. With them, the dialog that shows a new app
//! password offers "Set up an iPhone, iPad or Mac" (`apple_profile_setup`). One form, saved by
//! one server function; a refusal is shown at its field. Works without JavaScript.

use leptos::either::Either;
use leptos::prelude::*;

use crate::apple_profile::{MailSettingsForm, SetMailSettings, get_mail_settings};
use crate::components::field::Field;
use crate::components::links::SubmitButton;
use crate::error::AppError;
use crate::form_post::TypedForm;
use crate::pages::admin_check::{
    ConsoleCheck, IdentityFields, needs_recent_sign_in, other_than_identity,
};
use crate::pages::answers::successes;

/// The form fields whose refusals are shown at the field itself.
const FIELDS: [&str; 6] = [
    "imap_host",
    "imap_port",
    "smtp_host",
    "smtp_port",
    "caldav_url",
    "carddav_url",
];

#[component]
pub fn MailSettingsSection(check: ConsoleCheck) -> impl IntoView {
    let save = ServerAction::<SetMailSettings>::new();
    let saved = successes(save);
    let current = Resource::new(move || saved.get(), |_| get_mail_settings());
    check.watch(move || needs_recent_sign_in(save.value().get()));
    // A refused plain form post: the settings as typed, and why.
    let refused = match crate::form_post::refused() {
        Some((TypedForm::MailSettings(typed), error)) => Some((typed, error)),
        _ => None,
    };
    view! {
        <section class="section" aria-labelledby="mail-settings-heading">
            <h2 id="mail-settings-heading">"Mail app settings"</h2>
            <p class="muted">
                "Where people's mail apps reach your mail server. With these, the dialog that shows a new app password offers \"Set up an iPhone, iPad or Mac\": a configuration profile with the password already in it. Empty every field to offer none."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || current.get().map(|answer| match answer {
                    Ok(stored) => {
                        let (form, refusal) = match refused.clone() {
                            Some((typed, error)) => (typed, Some(error)),
                            None => (stored, None),
                        };
                        Some(Either::Left(view! {
                            <MailSettingsFields form=form refused=refusal save=save check=check/>
                        }))
                    }
                    // Not an administrator (or signed out): the settings above say so already.
                    Err(AppError::Forbidden(_) | AppError::Unauthorized) => None,
                    Err(error) => Some(Either::Right(view! {
                        <p class="form-error" role="alert">{error.to_string()}</p>
                    })),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn MailSettingsFields(
    form: MailSettingsForm,
    /// Why a plain form post of `form` was refused.
    refused: Option<AppError>,
    save: ServerAction<SetMailSettings>,
    check: ConsoleCheck,
) -> impl IntoView {
    let error = Signal::derive(move || match save.value().get() {
        Some(answer) => answer.err(),
        None => refused.clone(),
    });
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
    };
    let other_error = move || {
        error
            .get()
            .filter(|e| other_than_identity(e) && FIELDS.iter().all(|f| e.message_for(f).is_none()))
            .map(|e| e.to_string())
    };
    let saved =
        move || matches!(save.value().get(), Some(Ok(_))).then_some("Mail app settings saved.");
    view! {
        <ActionForm action=save attr:class="stack mail-settings">
            <fieldset>
                <legend>"Incoming mail (IMAP)"</legend>
                <Field label="IMAP host name" name="imap_host" id="mail-imap-host"
                    placeholder="mail.example.org" value=form.imap_host.clone()
                    error=field_error("imap_host")/>
                <Field label="IMAP port" name="imap_port" id="mail-imap-port" inputmode="numeric"
                    placeholder="993" value=form.imap_port.clone() error=field_error("imap_port")/>
                <div class="checkbox-row">
                    <input type="checkbox" id="mail-imap-tls" name="imap_tls" value="on"
                        checked=form.imap_tls/>
                    <label for="mail-imap-tls">"IMAP uses TLS"</label>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Outgoing mail (SMTP)"</legend>
                <Field label="SMTP host name" name="smtp_host" id="mail-smtp-host"
                    placeholder="smtp.example.org" value=form.smtp_host.clone()
                    error=field_error("smtp_host")/>
                <Field label="SMTP port" name="smtp_port" id="mail-smtp-port" inputmode="numeric"
                    placeholder="465" value=form.smtp_port.clone() error=field_error("smtp_port")/>
                <div class="checkbox-row">
                    <input type="checkbox" id="mail-smtp-tls" name="smtp_tls" value="on"
                        checked=form.smtp_tls/>
                    <label for="mail-smtp-tls">"SMTP uses TLS"</label>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Calendars and contacts (optional)"</legend>
                <Field label="CalDAV address" name="caldav_url" id="mail-caldav-url"
                    input_type="url" placeholder="https://dav.example.org/"
                    value=form.caldav_url.clone() error=field_error("caldav_url")/>
                <Field label="CardDAV address" name="carddav_url" id="mail-carddav-url"
                    input_type="url" placeholder="https://dav.example.org/"
                    value=form.carddav_url.clone() error=field_error("carddav_url")/>
            </fieldset>
            <IdentityFields check=check password_id="mail-settings-confirm-password"
                code_id="mail-settings-confirm-code" error=error/>
            <p class="form-error" role="alert">{other_error}</p>
            <p role="status">{saved}</p>
            <div>
                <SubmitButton pending=save.pending()>"Save mail app settings"</SubmitButton>
            </div>
        </ActionForm>
    }
}
