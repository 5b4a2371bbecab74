//! The admin console's server functions. Each one is refused to anyone but a signed-in
//! administrator by the use case behind it, whatever the page shows.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{OrganizationSettings, PolicySetting};

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
) -> Result<OrganizationSettings, AppError> {
    crate::backend::respond(
        async move {
            let backend = crate::backend::backend()?;
            let settings = backend
                .set_organization_setting(&crate::backend::request_context().await, setting, on)
                .await?;
            if crate::backend::is_form_post() {
                leptos_axum::redirect(crate::pages::admin::PAGE);
            }
            Ok(settings)
        }
        .await,
    )
}
