//! App passwords: the shared types and thin server functions behind the Security info page
//! and the legacy "Manage app passwords" page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::secret::Secret;

/// One app password as the list shows it. Times are worded by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPasswordItem {
    pub id: i32,
    pub name: String,
    pub created: String,
    /// "Never used", or when and from where it was last used.
    pub last_used: String,
}

/// The person's app passwords and what they may do with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPasswordOverview {
    pub items: Vec<AppPasswordItem>,
    pub limit: u32,
    /// The organization allows app passwords.
    pub allowed: bool,
    /// The person has two-step verification (an authenticator app).
    pub has_two_step: bool,
    /// App passwords are managed on Security info (true) or on the legacy page (false).
    pub security_info_experience: bool,
}

impl AppPasswordOverview {
    /// Whether "App password" is offered in Add method / Create.
    pub fn can_create(&self) -> bool {
        self.allowed && self.has_two_step
    }

    pub fn at_limit(&self) -> bool {
        self.items.len() >= self.limit as usize
    }

    /// The listed app password with this id, if it is one of the person's.
    pub fn item(&self, id: i32) -> Option<AppPasswordItem> {
        self.items.iter().find(|item| item.id == id).cloned()
    }

    /// Adds a just-created app password to the list (once).
    pub fn add(&mut self, item: AppPasswordItem) {
        if self.item(item.id).is_none() {
            self.items.push(item);
        }
    }

    /// Takes a deleted app password off the list.
    pub fn remove(&mut self, id: i32) {
        self.items.retain(|item| item.id != id);
    }
}

/// A just-created app password: the only time its secret leaves the server. `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedAppPassword {
    pub id: i32,
    pub name: String,
    /// "abcd efgh ijkl mnop".
    pub password: String,
    /// Its row in the list, as the list shows it.
    pub item: AppPasswordItem,
}

impl std::fmt::Debug for CreatedAppPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedAppPassword")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

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
