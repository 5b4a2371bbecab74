//! App passwords: the thin server functions behind the Security info page and the legacy
//! "Manage app passwords" page (their types are in `crate::model`).

use crate::error::AppError;
use crate::model::{AppPasswordItem, AppPasswordOverview, CreatedAppPassword};
use crate::secret::Secret;
use leptos::prelude::*;

#[server(endpoint = "get_app_passwords")]
pub async fn get_app_passwords() -> Result<AppPasswordOverview, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .app_passwords(&crate::backend::request_context().await)
                .await
        }
        .await,
    )
}

/// Creates an app password for the app `name`; answers with its secret, once. After 10
/// minutes without a sign-in, `password` (and `code`) confirm it's the person first. A plain
/// form post is answered with the page showing the result (see `crate::form_post`).
#[server(endpoint = "create_app_password")]
pub async fn create_app_password(
    name: String,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<CreatedAppPassword, AppError> {
    fn expose(secret: &Option<Secret>) -> &str {
        secret.as_ref().map(Secret::expose).unwrap_or_default()
    }
    let result = async {
        let backend = crate::backend::backend()?;
        backend
            .create_app_password(
                &crate::backend::request_context().await,
                &name,
                expose(&password),
                expose(&code),
            )
            .await
    }
    .await;
    crate::form_post::keep_for_page(crate::form_post::FormPostAnswer::CreateAppPassword {
        name,
        result: result.clone(),
    });
    crate::backend::respond(result)
}

/// Deletes one of the person's app passwords; answers with its id. A plain form post goes back
/// to the page it came from (to the create steps when it came from their limit prompt).
#[server(endpoint = "delete_app_password")]
pub async fn delete_app_password(id: i32) -> Result<i32, AppError> {
    let result = async {
        let backend = crate::backend::backend()?;
        backend
            .delete_app_password(&crate::backend::request_context().await, id)
            .await?;
        if crate::backend::is_form_post() {
            leptos_axum::redirect(&crate::backend::page_after_form_post(|query| {
                query.contains("then=create")
            }));
        }
        Ok(id)
    }
    .await;
    crate::backend::respond(result)
}

/// Whether the new app password `id` has been used yet, worded for the create dialog.
#[server(endpoint = "app_password_first_sign_in")]
pub async fn app_password_first_sign_in(id: i32) -> Result<Option<String>, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .app_password_first_sign_in(&crate::backend::request_context().await, id)
                .await
        }
        .await,
    )
}

/// Renames one of the person's app passwords; answers with its row. A plain form post goes
/// back to the page it came from.
#[server(endpoint = "rename_app_password")]
pub async fn rename_app_password(id: i32, name: String) -> Result<AppPasswordItem, AppError> {
    let result = async {
        let backend = crate::backend::backend()?;
        let item = backend
            .rename_app_password(&crate::backend::request_context().await, id, &name)
            .await?;
        if crate::backend::is_form_post() {
            leptos_axum::redirect(&crate::backend::page_after_form_post(|_| false));
        }
        Ok(item)
    }
    .await;
    crate::backend::respond(result)
}

/// Deletes all of the person's app passwords, if there are still `expected` of them (the
/// count the confirmation named); answers with how many went.
#[server(endpoint = "delete_all_app_passwords")]
pub async fn delete_all_app_passwords(expected: u32) -> Result<u32, AppError> {
    let result = async {
        let backend = crate::backend::backend()?;
        let deleted = backend
            .delete_all_app_passwords(&crate::backend::request_context().await, expected)
            .await?;
        if crate::backend::is_form_post() {
            leptos_axum::redirect(&crate::backend::page_after_form_post(|_| false));
        }
        Ok(deleted)
    }
    .await;
    crate::backend::respond(result)
}
