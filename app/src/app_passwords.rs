//! App passwords: the shared types and thin server functions behind the Security info page
//! and the legacy "Manage app passwords" page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::account::AuthenticatorEnrollment;
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
}

/// A just-created app password: the only time its secret leaves the server. `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedAppPassword {
    pub id: i32,
    pub name: String,
    /// "abcd efgh ijkl mnop".
    pub password: String,
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

/// Creates an app password for the app `name`; answers with its secret, once.
#[server(endpoint = "create_app_password")]
pub async fn create_app_password(name: String) -> Result<CreatedAppPassword, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .create_app_password(&crate::backend::request_context().await, &name)
                .await
        }
        .await,
    )
}

#[server(endpoint = "delete_app_password")]
pub async fn delete_app_password(id: i32) -> Result<(), AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .delete_app_password(&crate::backend::request_context().await, id)
                .await
        }
        .await,
    )
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

/// Confirms it's the signed-in person (password, and code when they have an authenticator
/// app), so that actions needing a fresh sign-in can go ahead.
#[server(endpoint = "reverify")]
pub async fn reverify(password: Secret, code: Option<Secret>) -> Result<(), AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            backend
                .reverify(
                    &crate::backend::request_context().await,
                    password.expose(),
                    code.as_ref().map(Secret::expose).unwrap_or_default(),
                )
                .await
        }
        .await,
    )
}

/// What a form posted to its page did. The server puts it in the request's extensions and
/// renders the page; the page opens the dialog at the right step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormOutcome {
    Created(CreatedAppPassword),
    CreateFailed {
        name: String,
        error: AppError,
    },
    ReverifyFailed {
        name: String,
        error: AppError,
    },
    DeleteFailed {
        error: AppError,
    },
    /// The account password was changed (Security info's Change password).
    PasswordChanged,
    PasswordChangeFailed {
        error: AppError,
    },
    /// Adding an authenticator app started: show its QR code and ask for a code.
    AuthenticatorStarted(AuthenticatorEnrollment),
    AuthenticatorStartFailed {
        error: AppError,
    },
    /// Deleting the authenticator app was refused (confirming it's them failed, or is needed).
    AuthenticatorDeleteFailed {
        error: AppError,
    },
    /// The code did not confirm the pending authenticator app; ask again for the same one.
    AuthenticatorConfirmFailed {
        enrollment: AuthenticatorEnrollment,
        error: AppError,
    },
    /// First-time setup was refused: the form again, as typed, with the reason.
    SetupFailed {
        form: crate::setup::SetupForm,
        error: AppError,
    },
}

impl FormOutcome {
    /// The error the form post ended with, if it failed.
    pub fn error(&self) -> Option<&AppError> {
        match self {
            Self::CreateFailed { error, .. }
            | Self::ReverifyFailed { error, .. }
            | Self::DeleteFailed { error }
            | Self::PasswordChangeFailed { error }
            | Self::AuthenticatorStartFailed { error }
            | Self::AuthenticatorDeleteFailed { error }
            | Self::AuthenticatorConfirmFailed { error, .. }
            | Self::SetupFailed { error, .. } => Some(error),
            Self::Created(_) | Self::PasswordChanged | Self::AuthenticatorStarted(_) => None,
        }
    }
}

/// The outcome of the form post being answered, if any (pages render on the server only).
pub fn form_outcome() -> Option<FormOutcome> {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<FormOutcome>().cloned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Form field values of the forms that post to their own page (Security info, the legacy
/// app-password page, first-time setup), each naming its `intent`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageForm {
    pub intent: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id: Option<i32>,
    #[serde(default)]
    pub password: crate::secret::Secret,
    #[serde(default)]
    pub code: crate::secret::Secret,
    #[serde(default)]
    pub current_password: crate::secret::Secret,
    #[serde(default)]
    pub new_password: crate::secret::Secret,
    #[serde(default)]
    pub confirm_password: crate::secret::Secret,
    /// Add method's choice: `authenticator` or `app_password`.
    #[serde(default)]
    pub method: String,
    /// `create` when a deletion was asked from the create steps' limit prompt.
    #[serde(default)]
    pub then: String,
    /// First-time setup (`/setup`).
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub allow_app_passwords: Option<String>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub username: String,
}
