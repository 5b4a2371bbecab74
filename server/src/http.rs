//! The axum router: health checks, the Leptos pages and server functions, static files, and
//! the middleware every request passes (request context, cross-site protection, sign-in gate).
//! `router` is a pure function of its state, so tests drive it without sockets.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use app::backend::{Backend, RequestContext, RequestMemo};
use axum::Router;
use axum::extract::{ConnectInfo, FromRef, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};

use crate::use_cases::ServerBackend;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Where `/pkg/` and the public files are served from.
    pub site: crate::site::SiteFiles,
    pub backend: Arc<ServerBackend>,
    pub delivery: crate::delivery::DeliverySettings,
    /// Proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// What `/readyz` keeps between requests (the mail server's last answer).
    pub readiness: Arc<crate::readiness::Readiness>,
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
        .route("/auth/basic", get(basic_check))
        .route(app::routes::AUDIT_LOG_CSV, get(audit_csv))
        .leptos_routes_with_context(&state, routes, provide_backend.clone(), move || {
            app::shell(options.clone())
        })
        .merge(state.site.routes(&state.leptos_options))
        .fallback(not_found_page(provide_backend, options_for_404))
        .layer(middleware::from_fn(answer_in_page))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_sign_in,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::form_errors::sign_form_errors,
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
        // Outermost: every answer is counted, the other layers' refusals too.
        .layer(middleware::from_fn(crate::metrics::record_request))
        .with_state(state)
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

/// Whether this instance can serve, as JSON with each check (`crate::readiness`); 503 when a
/// required check fails, so load balancers stop sending traffic here.
async fn readyz(State(state): State<AppState>) -> Response {
    let report = state.readiness.report(&state.backend).await;
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}

/// `GET /auth/basic`: the password check for non-browser apps, for nginx `auth_request`,
/// `GET /admin/audit.csv?person=&kind=&from=&to=`: the audit log as CSV, streamed, for
/// administrators only (401 signed out, 403 otherwise, 422 for a filter that cannot be read).
async fn audit_csv(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<app::model::AuditQuery>,
    request: Request,
) -> Response {
    let context = request
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    match state.backend.audit_csv(&context, &query).await {
        Ok(rows) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"latchkey-audit.csv\"",
                ),
            ],
            axum::body::Body::from_stream(rows),
        )
            .into_response(),
        Err(error) => (
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            format!("{error}\n"),
        )
            .into_response(),
    }
}

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

/// The values of every known-device cookie `name` of the request, as one (see
/// `domain::known_device::combine`).
fn known_device_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let cookies: Vec<cookie::Cookie<'_>> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name)
        .collect();
    crate::domain::known_device::combine(cookies.iter().map(|c| c.value()))
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

/// Every `X-Forwarded-For` line of `headers`, in order, as one list: a proxy may add its own
/// line after the client's instead of extending it, and then the first line alone is the
/// client's word. Bytes that are not text are replaced, not the line dropped: a proxy appends
/// the real address to the client's own line, which may hold anything.
fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    let lines: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|line| String::from_utf8_lossy(line.as_bytes()).into_owned())
        .collect();
    (!lines.is_empty()).then(|| lines.join(","))
}

/// The address of the client of a request from `peer` with `headers` ([`client_ip`] over all
/// of its `X-Forwarded-For` lines): what every part of the server calls the client.
pub fn request_client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    client_ip(peer, forwarded_for(headers).as_deref(), trusted)
}

/// Records the client's address, User-Agent, session cookie and known-device cookie for server
/// functions.
async fn record_request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| request_client_ip(c.0.ip(), headers, &state.trusted_proxies).to_string());
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
    let memo = if matches!(*request.method(), Method::GET | Method::HEAD) {
        RequestMemo::for_reading()
    } else {
        RequestMemo::off()
    };
    let context = RequestContext {
        ip,
        user_agent,
        session_token: session_token(headers, state.backend.session_cookie_name()),
        known_device: known_device_cookie(headers, state.backend.device_cookie_name()),
        memo,
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

/// For a plain form post (a browser without the WebAssembly yet): gives the server function a
/// slot for its typed answer, and when it kept one there (`app::form_post`), answers with the
/// page it named, rendered with the answer as the GET of that page (not hydrated), instead of
/// Leptos' redirect. Which calls do so, and on which page, is the app's to say.
async fn answer_form_post_in_page<F, Fut>(
    mut request: Request,
    next: Next,
    render_page: F,
) -> Response
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    use app::form_post::{FormPostSlot, asks_for_html};

    if request.method() != Method::POST || !asks_for_html(request.headers()) {
        return next.run(request).await;
    }
    let slot = FormPostSlot::default();
    request.extensions_mut().insert(slot.clone());
    let (mut parts, body) = request.into_parts();
    let response = next.run(Request::from_parts(parts.clone(), body)).await;
    let Some(shown) = slot.take() else {
        return response;
    };
    let Ok(uri) = shown.page.parse() else {
        return response;
    };
    parts.method = Method::GET;
    parts.uri = uri;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(shown.answer);
    render_page(Request::from_parts(parts, axum::body::Body::empty())).await
}

/// Sends people who are not signed in from a protected page to sign-in, remembering where
/// they were going.
async fn require_sign_in(State(state): State<AppState>, request: Request, next: Next) -> Response {
    use app::routes::{Access, Page, SignInQuery};

    let page = Page::from_path(request.uri().path()).filter(|page| page.needs_session());
    let Some(page) = page.filter(|_| request.method() == Method::GET) else {
        return next.run(request).await;
    };
    let context = request
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    match state.backend.signed_in(&context).await {
        Ok(Some(signed_in)) => {
            // Someone who must add a second factor first sees Security info, where they add it.
            if page.access() != Access::SignedInBeforeTwoStep {
                match state
                    .backend
                    .must_add_two_step(signed_in.user.id, &context)
                    .await
                {
                    Ok(false) => {}
                    Ok(true) => return Redirect::to(Page::SecurityInfo.path()).into_response(),
                    Err(error) => {
                        return (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n"))
                            .into_response();
                    }
                }
            }
            // The legacy app-password page is for organizations that turned Security info's
            // experience off.
            if page != Page::LegacyAppPasswords {
                return next.run(request).await;
            }
            match state.backend.policy(&context).await {
                Ok((_, false)) => next.run(request).await,
                _ => Redirect::to(Page::SecurityInfo.path()).into_response(),
            }
        }
        Ok(None) => {
            let target = request
                .uri()
                .path_and_query()
                .map_or(page.path(), |pq| pq.as_str());
            Redirect::to(&SignInQuery::then_to(target).link()).into_response()
        }
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{client_ip, request_client_ip};
    use axum::http::{HeaderMap, HeaderValue};
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

    #[test]
    fn every_forwarded_for_line_is_read_and_the_proxys_own_wins() {
        let trusted = [ip("127.0.0.1"), ip("10.0.0.2")];
        // The client forged a first line; the proxy appended its own line, not a list entry.
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("198.51.100.66"));
        headers.append("x-forwarded-for", HeaderValue::from_static("192.0.2.7"));
        assert_eq!(
            request_client_ip(ip("127.0.0.1"), &headers, &trusted),
            ip("192.0.2.7")
        );
        // Two trusted hops, each with its own line.
        headers.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        assert_eq!(
            request_client_ip(ip("127.0.0.1"), &headers, &trusted),
            ip("192.0.2.7")
        );
        // A byte that is not text in the client's part hides nothing the proxy appended.
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\x80, 203.0.113.5").unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(
            request_client_ip(ip("127.0.0.1"), &headers, &trusted),
            ip("203.0.113.5")
        );
        // An entry that is no address stops the walk at the nearest known address.
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("198.51.100.66"));
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff").unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(
            request_client_ip(ip("127.0.0.1"), &headers, &trusted),
            ip("127.0.0.1")
        );
        // Not behind a proxy: every line is ignored.
        assert_eq!(
            request_client_ip(ip("192.0.2.9"), &headers, &trusted),
            ip("192.0.2.9")
        );
    }
}
