//! Pages, one module each.

pub mod activity;
pub mod admin;
pub mod admin_audit;
pub mod admin_check;
pub mod admin_links;
pub mod admin_mail;
pub mod answers;
pub mod app_password_flow;
pub mod apple_profile_setup;
pub mod legacy_app_passwords;
pub mod not_found;
pub mod passkey_methods;
pub mod profile;
pub mod security_info;
pub mod sign_in;
pub mod signed_in_browsers;

/// Fetches the chunk of the dialog that `url` opens, if any. Called before hydrating: a dialog
/// whose code is still loading would not match the dialog the server rendered.
#[cfg(feature = "hydrate")]
pub async fn preload_dialog_opened_by(url: &leptos_router::location::Url) {
    use crate::routes::{Page, SecurityInfoQuery, parse_query};
    let query: SecurityInfoQuery = parse_query(url.search());
    match Page::from_path(url.path()) {
        Some(Page::SecurityInfo) if query.dialog.is_some() => {
            security_info::__preload_security_info_dialog().await
        }
        Some(Page::LegacyAppPasswords) if query.app_password_dialog().is_some() => {
            legacy_app_passwords::__preload_legacy_dialog().await
        }
        _ => {}
    }
}

/// Fetches the dialogs a person on `path` may open next: those of the page's own buttons (the
/// other pages have none of their own).
#[cfg(feature = "hydrate")]
pub async fn prefetch_dialogs_for(path: &str) {
    use crate::routes::Page;
    match Page::from_path(path) {
        Some(Page::SecurityInfo) => security_info::__preload_security_info_dialog().await,
        Some(Page::LegacyAppPasswords) => legacy_app_passwords::__preload_legacy_dialog().await,
        _ => {}
    }
}
