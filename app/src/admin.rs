//! The admin console's server functions. Each one is refused to anyone but a signed-in
//! administrator by the use case behind it, whatever the page shows. Each change also needs a
//! sign-in within 10 minutes, or the administrator's `password` (and `code`) sent with it.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{
    AppPasswordItem, AuditPage, OrganizationSettings, PasswordLink, PeoplePage, PersonAction,
    PersonSummary, PolicySetting,
};
use crate::secret::Secret;

#[cfg(feature = "ssr")]
use crate::backend::{Next, admin_console_of, call, referer};

/// The organization and its settings.
#[server(endpoint = "admin_organization")]
pub async fn get_organization_settings() -> Result<OrganizationSettings, AppError> {
    call(|backend, context| async move { backend.organization_settings(&context).await })
        .await
        .answer()
}

/// Turns one setting on or off; answers with all of them. A plain form post goes back to the
/// console.
#[server(endpoint = "admin_set_organization_setting")]
pub async fn set_organization_setting(
    setting: PolicySetting,
    on: bool,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<OrganizationSettings, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    call(|backend, context| async move {
        backend
            .set_organization_setting(&context, setting, on, &check)
            .await
    })
    .await
    .on_success(|_| Next::FormPostTo(crate::routes::Page::Admin.path().to_owned()))
}

/// Sets "app passwords unused for N days stop working": `days` a number, or empty (or "off")
/// to turn it off; answers with all the settings. A plain form post goes back to the console.
#[server(endpoint = "admin_set_app_password_idle_days")]
pub async fn set_app_password_idle_days(
    days: String,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<OrganizationSettings, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    let kept = crate::form_post::TypedForm::IdleDays(days.clone());
    call(|backend, context| async move {
        backend
            .set_app_password_idle_days(&context, &days, &check)
            .await
    })
    .await
    .show_on_page(|result| {
        Next::typed_again(result, admin_console_of(referer().as_ref()).link(), kept)
    })
}

/// People whose sign-in name or name starts with `query` (everyone when empty), 25 at a time
/// from `after`.
#[server(endpoint = "admin_people")]
pub async fn get_people(
    query: Option<String>,
    after: Option<String>,
) -> Result<PeoplePage, AppError> {
    call(|backend, context| async move {
        let query = query.unwrap_or_default();
        backend.people(&context, &query, after).await
    })
    .await
    .answer()
}

/// Does `action` to the person `username`; answers with them as they are now. A plain form
/// post goes back to the console, at the search it came from. `understood` (a ticked box,
/// saying what the dialog said follows) is for resetting one's own methods, which may close the
/// console until a method is added.
#[server(endpoint = "admin_act_on_person")]
pub async fn act_on_person(
    username: String,
    action: PersonAction,
    understood: Option<String>,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<PersonSummary, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    call(|backend, context| async move {
        match action {
            PersonAction::ResetMethods => {
                backend
                    .reset_methods_of_person(
                        &context,
                        &username,
                        understood
                            .as_deref()
                            .map(crate::error::OwnMethodsReset::from_form_value),
                        &check,
                    )
                    .await
            }
            _ => {
                backend
                    .act_on_person(&context, &username, action, &check)
                    .await
            }
        }
    })
    .await
    .on_success(|_| Next::FormPostTo(admin_console_of(referer().as_ref()).link()))
}

/// A page of the audit log (50 events, newest first) for the person, kind and days given
/// (each may be empty), older than `before`.
#[server(endpoint = "admin_audit")]
pub async fn get_audit_log(
    person: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i32>,
) -> Result<AuditPage, AppError> {
    let query = crate::model::AuditQuery {
        person: person.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        from: from.unwrap_or_default(),
        to: to.unwrap_or_default(),
    };
    call(|backend, context| async move { backend.audit_log(&context, &query, before).await })
        .await
        .answer()
}

/// The app passwords of the person `username`, with their last use.
#[server(endpoint = "admin_app_passwords")]
pub async fn get_app_passwords_of_person(
    username: String,
) -> Result<Vec<AppPasswordItem>, AppError> {
    call(|backend, context| async move {
        backend.app_passwords_of_person(&context, &username).await
    })
    .await
    .answer()
}

/// Revokes one app password of the person `username`; answers with those left. A plain form
/// post goes back to the console, at the search it came from.
#[server(endpoint = "admin_revoke_app_password")]
pub async fn revoke_app_password_of_person(
    username: String,
    id: i32,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<Vec<AppPasswordItem>, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    call(|backend, context| async move {
        backend
            .revoke_app_password_of_person(&context, &username, id, &check)
            .await
    })
    .await
    .on_success(|_| Next::FormPostTo(admin_console_of(referer().as_ref()).link()))
}

/// Adds a person; answers with the one-time link with which they set their password (shown
/// once). A plain form post is answered with the console showing the link, or the form as
/// typed with what to correct (see `crate::form_post`).
#[server(endpoint = "admin_add_person")]
pub async fn add_person(
    username: String,
    display_name: String,
    administrator: Option<String>,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<PasswordLink, AppError> {
    use crate::form_post::FormPostAnswer;
    use crate::routes::AdminDialog;
    let typed = crate::model::NewPersonValues {
        username,
        display_name,
        administrator: administrator.is_some(),
    };
    let check = crate::model::IdentityCheck::from_fields(password, code);
    let person = typed.clone();
    call(|backend, context| async move { backend.add_person(&context, person, &check).await })
        .await
        .show_on_page(|result| Next::Show {
            page: admin_console_of(referer().as_ref())
                .with_dialog(Some(AdminDialog::AddPerson))
                .link(),
            answer: FormPostAnswer::AddPerson {
                typed,
                result: result.clone(),
            },
        })
}

/// Resets the password of the person `username` (with `methods`, their sign-in methods too, in
/// the same change); answers with the one-time link with which they set a new one (shown
/// once). A plain form post is answered with the console showing it.
#[server(endpoint = "admin_reset_password")]
pub async fn reset_password_of_person(
    username: String,
    password: Option<Secret>,
    code: Option<Secret>,
    methods: Option<String>,
) -> Result<PasswordLink, AppError> {
    use crate::form_post::FormPostAnswer;
    use crate::routes::AdminDialog;
    let check = crate::model::IdentityCheck::from_fields(password, code);
    let person = username.clone();
    // "Also reset their sign-in methods" ticked: "reset password and methods", one change.
    let with_methods = methods.is_some_and(|value| !value.is_empty());
    call(|backend, context| async move {
        if with_methods {
            backend
                .reset_password_and_methods_of_person(&context, &person, None, &check)
                .await
        } else {
            backend
                .reset_password_of_person(&context, &person, &check)
                .await
        }
    })
    .await
    .show_on_page(|result| Next::Show {
        page: admin_console_of(referer().as_ref())
            .with_dialog(Some(AdminDialog::ResetPassword {
                username: username.clone(),
            }))
            .link(),
        answer: FormPostAnswer::ResetPassword {
            username,
            result: result.clone(),
        },
    })
}
