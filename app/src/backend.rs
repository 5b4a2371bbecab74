//! The interface between server functions and the server crate (ssr only). Server functions
//! take an `Arc<dyn Backend>` from the Leptos context, call one method, and return its answer;
//! all rules and storage live behind it, in `server`.

use std::sync::Arc;

use async_trait::async_trait;
use leptos::prelude::use_context;

use crate::error::AppError;
use crate::setup::SetupForm;

/// Where a request came from, put into request extensions by the server's middleware.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Whether `token` opens the first-time setup page now.
    async fn setup_link_valid(&self, token: &str) -> bool;

    /// Creates the organization and first administrator, then closes the setup link.
    async fn complete_setup(&self, form: SetupForm, client: ClientInfo) -> Result<(), AppError>;
}

/// The backend provided by the server for this request.
pub fn backend() -> Result<Arc<dyn Backend>, AppError> {
    use_context::<Arc<dyn Backend>>().ok_or(AppError::Internal)
}

/// Where the current request came from (empty when the server did not record it).
pub async fn client_info() -> ClientInfo {
    leptos_axum::extract::<axum::Extension<ClientInfo>>()
        .await
        .map(|e| e.0)
        .unwrap_or_default()
}
