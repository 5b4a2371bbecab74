//! The axum router: health checks, the Leptos pages and server functions, static files.
//! `router` is a pure function of its state, so tests drive it without sockets.

use std::net::SocketAddr;
use std::sync::Arc;

use app::backend::{Backend, ClientInfo};
use axum::Router;
use axum::extract::{ConnectInfo, FromRef, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};

use crate::backend::ServerBackend;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub backend: Arc<ServerBackend>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Longest User-Agent kept for audit events; longer ones are cut.
const MAX_USER_AGENT_CHARS: usize = 256;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let backend: Arc<dyn Backend> = state.backend.clone();
    let provide_backend = move || provide_context(backend.clone());
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .leptos_routes_with_context(&state, routes, provide_backend.clone(), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_backend, app::shell))
        .layer(middleware::from_fn(record_client))
        .with_state(state)
}

/// Process is up.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Database answers; load balancers stop sending traffic here when it does not.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.backend.store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

/// Records the client's address and User-Agent for server functions and audit events.
async fn record_client(mut request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
    request
        .extensions_mut()
        .insert(ClientInfo { ip, user_agent });
    next.run(request).await
}
