//! The HTTP layer: the axum router (`router`, a pure function of its state, so tests drive it
//! without sockets), its state, middleware and endpoints, how the site's files are delivered,
//! the no-JavaScript form errors, connection limits, and readiness. It calls the use cases
//! through `ServerBackend` and reads no storage itself.

mod apple_profile;
pub mod connections;
pub mod delivery;
mod endpoints;
pub mod form_errors;
mod middleware;
pub mod nginx_mail;
pub mod readiness;
pub mod site_files;
mod state;

use std::sync::Arc;

use app::backend::Backend;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self as axum_middleware, Next};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};

use endpoints::{audit_csv, basic_check, healthz, not_found_page, readyz};
use middleware::{
    answer_form_post_in_page, record_request_context, reject_cross_site, require_sign_in,
};
pub use middleware::{client_ip, request_client_ip};
pub use state::AppState;

/// The app's route table, made once per process. While leptos makes one it suppresses the
/// loading of every resource in the process, and a resource first polled then never loads:
/// a page rendering meanwhile through another router (tests build many) waited for the 30 s
/// timeout (leptos-rs/leptos#4773).
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let backend: Arc<dyn Backend> = state.backend.clone();
    let provide_backend = move || {
        provide_context(backend.clone());
        // Leptos puts this nonce on its scripts; the Content-Security-Policy names it.
        let nonce = use_context::<axum::http::request::Parts>().and_then(|parts| {
            parts
                .extensions
                .get::<crate::http::delivery::CspNonce>()
                .cloned()
        });
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    };
    let options = state.leptos_options.clone();
    let options_for_404 = state.leptos_options.clone();
    // Plain form posts whose answer is the page itself (see `app::form_post`).
    let render_page =
        leptos_axum::render_app_to_stream_in_order_with_context(provide_backend.clone(), {
            let options = options.clone();
            move || app::shell(options.clone())
        });
    let answer_in_page = move |request: Request, next: Next| {
        let render_page = render_page.clone();
        async move { answer_form_post_in_page(request, next, render_page).await }
    };
    let router = Router::new();
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(app::routes::AUTH_BASIC, get(basic_check))
        .route(
            app::routes::AUTH_NGINX_MAIL,
            get(nginx_mail::nginx_mail_check),
        )
        .route(
            app::apple_profile::APPLE_PROFILE_DOWNLOAD,
            axum::routing::post(apple_profile::download),
        )
        .route(
            app::apple_profile::APPLE_PROFILE_LINK,
            get(apple_profile::by_link),
        )
        .route(app::routes::AUDIT_LOG_CSV, get(audit_csv))
        .leptos_routes_with_context(&state, routes, provide_backend.clone(), move || {
            app::shell(options.clone())
        })
        .merge(state.site.routes(&state.leptos_options))
        .fallback(not_found_page(provide_backend, options_for_404))
        .layer(axum_middleware::from_fn(answer_in_page))
        .layer(axum_middleware::from_fn_with_state(
            state.clone(),
            require_sign_in,
        ))
        .layer(axum_middleware::from_fn_with_state(
            state.clone(),
            crate::http::form_errors::sign_form_errors,
        ))
        .layer(axum_middleware::from_fn(reject_cross_site))
        .layer(axum_middleware::from_fn_with_state(
            state.clone(),
            record_request_context,
        ))
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::compression::CompressionLevel::Precise(5)),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            crate::http::delivery::REQUEST_TIMEOUT,
        ))
        .layer(axum_middleware::from_fn(crate::http::delivery::limits))
        .layer(axum_middleware::from_fn({
            let settings = state.delivery;
            move |request, next| crate::http::delivery::security_headers(settings, request, next)
        }))
        // Outermost: every answer is counted, the other layers' refusals too.
        .layer(axum_middleware::from_fn(crate::metrics::record_request))
        .with_state(state)
}
