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

/// The organization and its settings.
#[server(endpoint = "admin_organization")]
pub async fn get_organization_settings() -> Result<OrganizationSettings, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .organization_settings(&crate::backend::request_context().await)
                .await
        }
        .await,
    )
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
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            let settings = backend
                .set_organization_setting(
                    &crate::backend::request_context().await,
                    setting,
                    on,
                    &check,
                )
                .await?;
            if crate::backend::is_form_post() {
                leptos_axum::redirect(crate::pages::admin::PAGE);
            }
            Ok(settings)
        }
        .await,
    )
}

/// People whose sign-in name or name starts with `query` (everyone when empty), 25 at a time
/// from `after`.
#[server(endpoint = "admin_people")]
pub async fn get_people(
    query: Option<String>,
    after: Option<String>,
) -> Result<PeoplePage, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .people(
                    &crate::backend::request_context().await,
                    query.as_deref().unwrap_or_default(),
                    after,
                )
                .await
        }
        .await,
    )
}

/// Does `action` to the person `username`; answers with them as they are now. A plain form
/// post goes back to the console.
#[server(endpoint = "admin_act_on_person")]
pub async fn act_on_person(
    username: String,
    action: PersonAction,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<PersonSummary, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            let person = backend
                .act_on_person(
                    &crate::backend::request_context().await,
                    &username,
                    action,
                    &check,
                )
                .await?;
            if crate::backend::is_form_post() {
                leptos_axum::redirect(&crate::backend::page_after_admin_form_post());
            }
            Ok(person)
        }
        .await,
    )
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
    crate::backend::respond(
        async move {
            let query = crate::model::AuditQuery {
                person: person.unwrap_or_default(),
                kind: kind.unwrap_or_default(),
                from: from.unwrap_or_default(),
                to: to.unwrap_or_default(),
            };
            let backend = crate::backend::backend()?;
            backend
                .audit_log(&crate::backend::request_context().await, &query, before)
                .await
        }
        .await,
    )
}

/// The app passwords of the person `username`, with their last use.
#[server(endpoint = "admin_app_passwords")]
pub async fn get_app_passwords_of_person(
    username: String,
) -> Result<Vec<AppPasswordItem>, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .app_passwords_of_person(&crate::backend::request_context().await, &username)
                .await
        }
        .await,
    )
}

/// Revokes one app password of the person `username`; answers with those left. A plain form
/// post goes back to the console.
#[server(endpoint = "admin_revoke_app_password")]
pub async fn revoke_app_password_of_person(
    username: String,
    id: i32,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<Vec<AppPasswordItem>, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            let left = backend
                .revoke_app_password_of_person(
                    &crate::backend::request_context().await,
                    &username,
                    id,
                    &check,
                )
                .await?;
            if crate::backend::is_form_post() {
                leptos_axum::redirect(&crate::backend::page_after_admin_form_post());
            }
            Ok(left)
        }
        .await,
    )
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
    let typed = crate::model::NewPersonValues {
        username,
        display_name,
        administrator: administrator.is_some(),
    };
    let check = crate::model::IdentityCheck::from_fields(password, code);
    let result = async {
        let backend = crate::backend::backend()?;
        backend
            .add_person(
                &crate::backend::request_context().await,
                typed.clone(),
                &check,
            )
            .await
    }
    .await;
    crate::form_post::keep_for_page(crate::form_post::FormPostAnswer::AddPerson {
        typed,
        result: result.clone(),
    });
    crate::backend::respond(result)
}

/// Resets the password of the person `username`; answers with the one-time link with which
/// they set a new one (shown once). A plain form post is answered with the console showing it.
#[server(endpoint = "admin_reset_password")]
pub async fn reset_password_of_person(
    username: String,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<PasswordLink, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    let result = async {
        let backend = crate::backend::backend()?;
        backend
            .reset_password_of_person(&crate::backend::request_context().await, &username, &check)
            .await
    }
    .await;
    crate::form_post::keep_for_page(crate::form_post::FormPostAnswer::ResetPassword {
        username,
        result: result.clone(),
    });
    crate::backend::respond(result)
}
