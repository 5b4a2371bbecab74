//! App passwords: the thin server functions behind the Security info page and the legacy
//! "Manage app passwords" page (their types are in `crate::model`).

use crate::error::AppError;
use crate::model::{
    AppPasswordItem, AppPasswordKind, AppPasswordLifetime, AppPasswordOverview, CreatedAppPassword,
};
use crate::secret::Secret;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{Next, after_app_password_change, call};

#[server(endpoint = "get_app_passwords")]
pub async fn get_app_passwords() -> Result<AppPasswordOverview, AppError> {
    call(|backend, context| async move { backend.app_passwords(&context).await })
        .await
        .answer()
}

/// Creates an app password for the app `name`, limited to `kind` (everything when not sent),
/// expiring as `expires` says (never when not sent); answers with its secret, once. After 10
/// minutes without a sign-in, `password` (and `code`) confirm it's the person first. A plain
/// form post is answered with the page it came from showing the result (see
/// `crate::form_post`); signed out, it goes to sign-in.
#[server(endpoint = "create_app_password")]
pub async fn create_app_password(
    name: String,
    password: Option<Secret>,
    code: Option<Secret>,
    kind: Option<AppPasswordKind>,
    expires: Option<AppPasswordLifetime>,
) -> Result<CreatedAppPassword, AppError> {
    use crate::form_post::FormPostAnswer;
    use crate::model::AppPasswordChoices;
    use crate::routes::{AppPasswordDialog, Page, SignInQuery};
    fn expose(secret: &Option<Secret>) -> &str {
        secret.as_ref().map(Secret::expose).unwrap_or_default()
    }
    let page = crate::backend::app_password_page_of_post().await;
    let typed = name.clone();
    let choices = AppPasswordChoices {
        kind: kind.unwrap_or_default(),
        expires: expires.unwrap_or_default(),
    };
    let chosen_kind = choices.kind;
    let chosen_expiry = choices.expires;
    call(|backend, context| async move {
        backend
            .create_app_password_with(&context, &name, expose(&password), expose(&code), &choices)
            .await
    })
    .await
    .show_on_page(|result| match result {
        Err(AppError::Unauthorized) => {
            Next::FormPostTo(SignInQuery::then_to(Page::SecurityInfo.path()).link())
        }
        result => Next::Show {
            page: AppPasswordDialog::Create.on(page),
            answer: FormPostAnswer::CreateAppPassword {
                name: typed,
                kind: chosen_kind,
                expires: chosen_expiry,
                result: result.clone(),
            },
        },
    })
}

/// Deletes one of the person's app passwords; answers with its id. A plain form post goes back
/// to the page it came from (to the create steps when it came from their limit prompt).
#[server(endpoint = "delete_app_password")]
pub async fn delete_app_password(id: i32) -> Result<i32, AppError> {
    call(|backend, context| async move {
        backend.delete_app_password(&context, id).await.map(|()| id)
    })
    .await
    .on_success(|_| Next::FormPostTo(after_app_password_change(crate::backend::referer().as_ref())))
}

/// Whether the new app password `id` has been used yet, worded for the create dialog.
#[server(endpoint = "app_password_first_sign_in")]
pub async fn app_password_first_sign_in(id: i32) -> Result<Option<String>, AppError> {
    call(|backend, context| async move { backend.app_password_first_sign_in(&context, id).await })
        .await
        .answer()
}

/// Renames one of the person's app passwords; answers with its row. A plain form post goes
/// back to the page it came from.
#[server(endpoint = "rename_app_password")]
pub async fn rename_app_password(id: i32, name: String) -> Result<AppPasswordItem, AppError> {
    call(|backend, context| async move { backend.rename_app_password(&context, id, &name).await })
        .await
        .on_success(|_| {
            Next::FormPostTo(after_app_password_change(
                crate::backend::referer().as_ref(),
            ))
        })
}

/// Changes what one of the person's app passwords may reach; answers with its row. A plain
/// form post goes back to the page it came from.
#[server(endpoint = "change_app_password_kind")]
pub async fn change_app_password_kind(
    id: i32,
    kind: AppPasswordKind,
) -> Result<AppPasswordItem, AppError> {
    call(|backend, context| async move {
        backend.change_app_password_kind(&context, id, kind).await
    })
    .await
    .on_success(|_| Next::FormPostTo(after_app_password_change(crate::backend::referer().as_ref())))
}

/// Deletes all of the person's app passwords, if there are still `expected` of them (the
/// count the confirmation named); answers with how many went. A plain form post goes back to
/// the page it came from.
#[server(endpoint = "delete_all_app_passwords")]
pub async fn delete_all_app_passwords(expected: u32) -> Result<u32, AppError> {
    call(|backend, context| async move {
        backend.delete_all_app_passwords(&context, expected).await
    })
    .await
    .on_success(|_| Next::FormPostTo(after_app_password_change(crate::backend::referer().as_ref())))
}
