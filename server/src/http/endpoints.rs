//! The server's own endpoints beside the Leptos pages: health (`/healthz`, `/readyz`), the
//! password check for proxies (`/auth/basic`), the audit log's CSV export, and the 404 page.

use app::backend::RequestContext;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::LeptosOptions;

use super::AppState;
use crate::domain::mail_protocol::Protocol;

/// The header a proxy in front of `/auth/basic` sets to the protocol being signed in with
/// (`imap`, `pop3`, `smtp`, `sieve`, `caldav`, `carddav`), so an app password limited to some
/// protocols is refused for the others.
pub const PROTOCOL_HEADER: &str = "x-latchkey-protocol";

/// Any other path: the app's 404 page, rendered by Leptos (its `NotFound` route).
pub(super) fn not_found_page(
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
pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

/// Whether this instance can serve, as JSON with each check (`crate::http::readiness`); 503 when a
/// required check fails, so load balancers stop sending traffic here.
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
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
pub(super) async fn audit_csv(
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
pub(super) async fn basic_check(State(state): State<AppState>, request: Request) -> Response {
    use crate::use_cases::app_password_check::{CheckOutcome, Client};

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
    let protocol = request
        .headers()
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(Protocol::parse);
    let client = Client {
        ip: context.ip,
        // The protocol, when the proxy names one, says more than its User-Agent.
        name: protocol
            .map(|p| p.label().to_owned())
            .or(context.user_agent),
        protocol,
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
