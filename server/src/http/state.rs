//! What every handler and middleware may reach: the app's backend, the site's files and
//! settings. Handlers take the part they need (`FromRef`), not the whole.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::use_cases::ServerBackend;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Where `/pkg/` and the public files are served from.
    pub site: super::site_files::SiteFiles,
    pub backend: Arc<ServerBackend>,
    pub delivery: super::delivery::DeliverySettings,
    /// Proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// What `/readyz` keeps between requests (the mail server's last answer).
    pub readiness: Arc<super::readiness::Readiness>,
    /// The mail servers `/auth/nginx-mail` sends nginx to, per protocol.
    pub nginx_mail: super::nginx_mail::Upstreams,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Arc<ServerBackend> {
    fn from_ref(state: &AppState) -> Self {
        state.backend.clone()
    }
}
