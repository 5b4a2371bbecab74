//! The axum router: health checks, the Leptos pages and server functions, static files, and
//! the middleware every request passes (request context, cross-site protection, sign-in gate).
//! `router` is a pure function of its state, so tests drive it without sockets.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use app::backend::{Backend, RequestContext};
use axum::Router;
use axum::extract::{ConnectInfo, FromRef, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};

use crate::backend::ServerBackend;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub backend: Arc<ServerBackend>,
    pub delivery: crate::delivery::DeliverySettings,
    /// Proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Arc<[IpAddr]>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Longest User-Agent kept for audit events; longer ones are cut.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Pages that need a signed-in user; others (sign-in, setup, 404) do not.
const SIGNED_IN_PAGES: &[&str] = &["/", "/security-info", "/app-passwords"];
/// The legacy app-password page, used only when the Security info experience is off.
const LEGACY_APP_PASSWORDS_PAGE: &str = "/app-passwords";

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let backend: Arc<dyn Backend> = state.backend.clone();
    let provide_backend = move || {
        provide_context(backend.clone());
        // Leptos puts this nonce on its scripts; the Content-Security-Policy names it.
        let nonce = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<crate::delivery::CspNonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    };
    let options = state.leptos_options.clone();
    let options_for_404 = state.leptos_options.clone();
    // Form posts to the pages in FORM_PAGES are answered by rendering the page itself.
    let render_page =
        leptos_axum::render_app_to_stream_in_order_with_context(provide_backend.clone(), {
            let options = options.clone();
            move || app::shell(options.clone())
        });
    let form_handler = {
        let state = state.clone();
        move |request: Request| {
            let state = state.clone();
            let render_page = render_page.clone();
            async move {
                match handle_page_form(&state, request).await {
                    Ok(request) => render_page(request).await,
                    Err(response) => response,
                }
            }
        }
    };
    let mut router = Router::new();
    for page in FORM_PAGES {
        router = router.route(page, axum::routing::post(form_handler.clone()));
    }
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/auth/basic", get(basic_check))
        .leptos_routes_with_context(&state, routes, provide_backend.clone(), move || {
            app::shell(options.clone())
        })
        .merge(static_files(&state.leptos_options))
        .fallback(not_found_page(provide_backend, options_for_404))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_sign_in,
        ))
        .layer(middleware::from_fn(reject_cross_site))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_request_context,
        ))
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::compression::CompressionLevel::Precise(5)),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            crate::delivery::REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(crate::delivery::limits))
        .layer(middleware::from_fn({
            let settings = state.delivery;
            move |request, next| crate::delivery::security_headers(settings, request, next)
        }))
        .with_state(state)
}

/// Static files, each route served by a service built here once: the hashed assets under
/// `/pkg/` (with the `.br`/`.gz` copies made at build time) and every file at the top of the
/// site root (copied there from `public/`). A site root that does not exist (tests without a
/// build) gives no routes.
fn static_files(options: &LeptosOptions) -> Router<AppState> {
    use tower_http::services::{ServeDir, ServeFile};

    let site_root = std::path::Path::new(&*options.site_root);
    let pkg_dir = options.site_pkg_dir.trim_matches('/');
    let assets = ServeDir::new(site_root.join(pkg_dir))
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    let mut router = Router::new().nest_service(&format!("/{pkg_dir}"), assets);
    let Ok(entries) = std::fs::read_dir(site_root) else {
        return router;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let plain_name = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        let precompressed_copy = name.ends_with(".br") || name.ends_with(".gz");
        if !path.is_file() || !plain_name || precompressed_copy {
            continue;
        }
        router = router.route_service(
            &format!("/{name}"),
            ServeFile::new(&path)
                .precompressed_br()
                .precompressed_gzip(),
        );
    }
    router
}

/// Any other path: the app's 404 page, rendered by Leptos (its `NotFound` route).
fn not_found_page(
    provide_backend: impl Fn() + Clone + Send + Sync + 'static,
    options: LeptosOptions,
) -> impl Fn(Request) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + 'static
{
    let render =
        leptos_axum::render_app_to_stream_in_order_with_context(provide_backend, move || {
            app::shell(options.clone())
        });
    move |request: Request| {
        let render = render.clone();
        Box::pin(async move {
            let mut response = render(request).await;
            // A status the page chose (a redirect) stays; a plain page is a 404.
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::NOT_FOUND;
            }
            response
        })
    }
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

/// `GET /auth/basic`: the password check for non-browser apps, for nginx `auth_request`,
/// Traefik ForwardAuth or Caddy `forward_auth`. 204 with the user's name and the app password's
/// id when the Basic credentials are the username plus one of their app passwords; 401 when
/// not; 429 with `Retry-After` when throttled; 503 when the database cannot be reached.
async fn basic_check(State(state): State<AppState>, request: Request) -> Response {
    use crate::app_password_check::{CheckOutcome, Client};

    let context = request
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    let credentials = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::domain::basic_auth::parse);
    let unauthorized = || {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"Latchkey\", charset=\"UTF-8\"",
            )],
        )
            .into_response()
    };
    let Some((username, password)) = credentials else {
        return unauthorized();
    };
    let client = Client {
        ip: context.ip,
        name: context.user_agent,
    };
    match state
        .backend
        .check_app_password(&username, &password, &client)
        .await
    {
        Ok(CheckOutcome::Accepted(checked)) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            if let Ok(user) = axum::http::HeaderValue::from_str(&checked.username) {
                response.headers_mut().insert("x-latchkey-user", user);
            }
            response
                .headers_mut()
                .insert("x-latchkey-app-password", checked.app_password_id.into());
            response
        }
        Ok(CheckOutcome::Refused) => unauthorized(),
        Ok(CheckOutcome::Throttled {
            retry_after_seconds,
        }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_seconds.to_string())],
            "Too many failed sign-ins with this name or from this address. Try again later.\n",
        )
            .into_response(),
        Ok(CheckOutcome::Busy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "2")],
            "Too many password checks at once. Try again in a few seconds.\n",
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "app password check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The password check is unavailable: the database cannot be reached.\n",
            )
                .into_response()
        }
    }
}

/// The value of the session cookie `name`, if the request carries one.
fn session_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The client's address: the peer's, or when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` that is not one of the trusted proxies (entries further left
/// were written by the client itself and prove nothing).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`: compare as IPv4.
    let peer = peer.to_canonical();
    let trusted_contains = |ip: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *ip);
    if !trusted_contains(&peer) {
        return peer;
    }
    let Some(forwarded_for) = forwarded_for else {
        return peer;
    };
    let mut nearest = peer;
    for entry in forwarded_for.rsplit(',') {
        match entry.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) if trusted_contains(&ip) => nearest = ip,
            Ok(ip) => return ip,
            Err(_) => return nearest,
        }
    }
    nearest
}

/// Records the client's address, User-Agent and session cookie for server functions.
async fn record_request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| {
            let forwarded_for = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
            client_ip(c.0.ip(), forwarded_for, &state.trusted_proxies).to_string()
        });
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
    let context = RequestContext {
        ip,
        user_agent,
        session_token: session_token(headers, state.backend.session_cookie_name()),
    };
    request.extensions_mut().insert(context);
    next.run(request).await
}

/// Refuses state-changing requests sent by another site (CSRF). Browsers mark every request
/// with `Sec-Fetch-Site` and cross-origin ones with `Origin`; requests without either come
/// from non-browser clients, which cannot carry a victim's cookies.
async fn reject_cross_site(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    // Sec-Fetch-Site cannot be set by pages, so when present it decides alone (our
    // Referrer-Policy makes browsers send `Origin: null` on same-site form posts). Otherwise the
    // Origin, when sent, must be this host.
    let refused = match fetch_site {
        Some(site) => site != "same-origin" && site != "none",
        None => origin.is_some_and(|origin| {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            origin == "null" || host.is_none() || origin_host != host
        }),
    };
    if refused {
        tracing::warn!(path = ?request.uri().path(), ?fetch_site, "refused a cross-site request");
        return (
            StatusCode::FORBIDDEN,
            "Refused: this request came from another website. If you clicked a link or button on Latchkey itself, reload the page and try again.\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// Pages whose forms post to the page itself, which answers with the page at the outcome.
const FORM_PAGES: &[&str] = &["/security-info", "/app-passwords", "/setup"];
/// Largest form body accepted by those pages.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// Answers the form posts of the pages in `FORM_PAGES`: runs the same backend call as the
/// server functions, then gives back the request to render as the page (as a GET) with the
/// outcome in its extensions, or a response (a redirect after a success with nothing to show:
/// post/redirect/get).
async fn handle_page_form(state: &AppState, request: Request) -> Result<Request, Response> {
    use app::app_passwords::{FormOutcome, PageForm};
    use app::error::AppError;

    let path = request.uri().path().to_owned();
    let context = request
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.\n").into_response());
    };
    let Ok(form) = serde_urlencoded::from_bytes::<PageForm>(&bytes) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "The form could not be read. Go back, reload the page and try again.\n",
        )
            .into_response());
    };
    let backend = &state.backend;
    let outcome = match form.intent.as_str() {
        "create_app_password" => match backend.create_app_password(&context, &form.name).await {
            Ok(created) => FormOutcome::Created(created),
            Err(error) => FormOutcome::CreateFailed {
                name: form.name,
                error,
            },
        },
        "reverify_and_create" => match backend
            .reverify(&context, form.password.expose(), form.code.expose())
            .await
        {
            Ok(()) => match backend.create_app_password(&context, &form.name).await {
                Ok(created) => FormOutcome::Created(created),
                Err(error) => FormOutcome::CreateFailed {
                    name: form.name,
                    error,
                },
            },
            Err(error) => FormOutcome::ReverifyFailed {
                name: form.name,
                error,
            },
        },
        "delete_app_password" => match backend
            .delete_app_password(&context, form.id.unwrap_or_default())
            .await
        {
            // From the limit prompt: back to the create steps, with a slot free now.
            Ok(()) if form.then == "create" => {
                return Err(Redirect::to(&format!("{path}?add=app_password")).into_response());
            }
            Ok(()) => return Err(Redirect::to(&path).into_response()),
            Err(error) => FormOutcome::DeleteFailed { error },
        },
        "change_password" => match backend
            .change_password(
                &context,
                form.current_password.expose(),
                form.new_password.expose(),
                form.confirm_password.expose(),
                form.code.expose(),
            )
            .await
        {
            Ok(()) => FormOutcome::PasswordChanged,
            Err(error) => FormOutcome::PasswordChangeFailed { error },
        },
        "add_method" => match form.method.as_str() {
            "authenticator" => match backend
                .begin_authenticator(&context, form.password.expose())
                .await
            {
                Ok(enrollment) => FormOutcome::AuthenticatorStarted(enrollment),
                Err(error) => FormOutcome::AuthenticatorStartFailed { error },
            },
            // The app-password steps, or (nothing chosen) the chooser again.
            choice => {
                let dialog = if choice == "app_password" {
                    "app_password"
                } else {
                    "method"
                };
                return Err(Redirect::to(&format!("{path}?add={dialog}")).into_response());
            }
        },
        "confirm_authenticator" => {
            match backend
                .confirm_authenticator(&context, form.code.expose())
                .await
            {
                Ok(()) => return Err(Redirect::to(&path).into_response()),
                // Too long since the sign-in: confirm it's them, then start again.
                Err(error @ AppError::ReverifyRequired) => {
                    FormOutcome::AuthenticatorStartFailed { error }
                }
                Err(error) => match backend.pending_authenticator(&context).await {
                    Ok(Some(enrollment)) => {
                        FormOutcome::AuthenticatorConfirmFailed { enrollment, error }
                    }
                    Ok(None) => FormOutcome::AuthenticatorStartFailed { error },
                    Err(error) => FormOutcome::AuthenticatorStartFailed { error },
                },
            }
        }
        "delete_authenticator" => match backend
            .delete_authenticator(&context, form.password.expose(), form.code.expose())
            .await
        {
            Ok(()) => return Err(Redirect::to(&path).into_response()),
            Err(error) => FormOutcome::AuthenticatorDeleteFailed { error },
        },
        "complete_setup" => {
            let setup = app::setup::SetupForm {
                token: form.token,
                organization: form.organization,
                allow_app_passwords: form.allow_app_passwords,
                display_name: form.display_name,
                username: form.username,
                password: form.password.expose().to_owned(),
                confirm_password: form.confirm_password.expose().to_owned(),
            };
            match backend.complete_setup(setup.clone(), context.clone()).await {
                Ok(()) => return Err(Redirect::to("/signin?setup=done").into_response()),
                Err(error) => FormOutcome::SetupFailed { form: setup, error },
            }
        }
        _ => return Err((StatusCode::BAD_REQUEST, "Unknown form.\n").into_response()),
    };
    // A session that ended meanwhile: sign in again, then come back.
    if matches!(outcome.error(), Some(AppError::Unauthorized)) {
        return Err(
            Redirect::to(&format!("/signin?next={}", app::account::urlencode(&path)))
                .into_response(),
        );
    }
    parts.method = Method::GET;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(outcome);
    Ok(Request::from_parts(parts, axum::body::Body::empty()))
}

/// Sends people who are not signed in from a protected page to sign-in, remembering where
/// they were going.
async fn require_sign_in(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if request.method() != Method::GET || !SIGNED_IN_PAGES.contains(&path) {
        return next.run(request).await;
    }
    let context = request
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    match state.backend.signed_in(&context).await {
        Ok(Some(_)) if path == LEGACY_APP_PASSWORDS_PAGE => {
            match state.backend.store.organization().await {
                Ok(Some(org)) if !org.security_info_experience => next.run(request).await,
                _ => Redirect::to("/security-info").into_response(),
            }
        }
        Ok(Some(_)) => next.run(request).await,
        Ok(None) => {
            let target = request
                .uri()
                .path_and_query()
                .map_or(path, |pq| pq.as_str());
            Redirect::to(&format!("/signin?next={}", app::account::urlencode(target)))
                .into_response()
        }
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::client_ip;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted = [ip("127.0.0.1"), ip("10.0.0.2")];
        // Direct client: its own header is ignored.
        assert_eq!(
            client_ip(ip("192.0.2.7"), Some("198.51.100.1"), &trusted),
            ip("192.0.2.7")
        );
        // Behind the proxy: the entry the proxy appended.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.1, 192.0.2.7"), &trusted),
            ip("192.0.2.7")
        );
        // Two trusted hops: skip the inner proxy's address.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("192.0.2.7, 10.0.0.2"), &trusted),
            ip("192.0.2.7")
        );
        // Garbage or nothing: the nearest known address.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("not an address"), &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), None, &trusted), ip("127.0.0.1"));
        // The proxy arriving through a dual-stack socket is still the proxy.
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), Some("192.0.2.7"), &trusted),
            ip("192.0.2.7")
        );
        assert_eq!(
            client_ip(ip("::ffff:192.0.2.9"), Some("198.51.100.1"), &trusted),
            ip("192.0.2.9")
        );
    }
}
