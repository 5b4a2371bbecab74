//! How every response leaves the server: security headers (a Content-Security-Policy with a
//! fresh nonce per request, which the page script carries via Leptos' `Nonce`), cache rules (hashed
//! assets forever, everything personal `no-store`), and request limits with clear answers.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::domain::random::{OsRandom, RandomSource};

/// Largest request body accepted (forms and server-function calls are tiny).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest total size of request headers accepted.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// A request taking longer than this is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The CSP nonce of the current request, put in its extensions for the page renderer.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Settings for [`security_headers`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliverySettings {
    /// Send `Strict-Transport-Security` (the public URL is https).
    pub hsts: bool,
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRandom.fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The policy for a page whose scripts carry `nonce`. `'wasm-unsafe-eval'` lets the page compile
/// its WebAssembly; nothing inline runs without the nonce.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// Adds the security headers to every response and decides how it may be cached.
pub async fn security_headers(
    settings: DeliverySettings,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = new_nonce();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let success = response.status().is_success();
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        &content_security_policy(&nonce),
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // `same-origin`: other sites never see our URLs; our own form posts carry the page's URL,
    // which Leptos sends the browser back to after a plain form post.
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("permissions-policy"),
        // Passkeys: this site's own pages may ask for and make WebAuthn credentials; no frame
        // of another origin may.
        "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), \
         magnetometer=(), microphone=(), midi=(), payment=(), publickey-credentials-create=(self), \
         publickey-credentials-get=(self), usb=(), clipboard-read=(), clipboard-write=(self)",
    );
    if settings.hsts {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    let cache = if path.starts_with("/pkg/") && success {
        // File names carry a hash of their content (cargo-leptos hash-files).
        "public, max-age=31536000, immutable"
    } else if path == "/favicon.svg" && success {
        "public, max-age=86400"
    } else {
        // Pages and server functions carry personal data and, once, an app password.
        "no-store"
    };
    set(headers, header::CACHE_CONTROL, cache);
    response
}

/// Refuses requests whose headers are larger than [`MAX_HEADER_BYTES`] (431), and turns the
/// body limit's and timeout's bare answers into sentences.
pub async fn limits(request: Request, next: Next) -> Response {
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Refused: the request's headers are too large. Clear this site's cookies and try again.\n",
        )
            .into_response();
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let response = if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        StatusCode::PAYLOAD_TOO_LARGE.into_response()
    } else if declared.is_none() && !axum::body::HttpBody::is_end_stream(request.body()) {
        // A body without a length (chunked) is read here, up to the limit and within a
        // deadline of its own, so that one too long is refused as one declared too long: cut
        // off later, while a form is parsed, it would read as a malformed form (400).
        let (parts, body) = request.into_parts();
        let read =
            http_body_util::BodyExt::collect(http_body_util::Limited::new(body, MAX_BODY_BYTES));
        match tokio::time::timeout(REQUEST_TIMEOUT, read).await {
            Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
            Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
                StatusCode::PAYLOAD_TOO_LARGE.into_response()
            }
            Ok(Err(_)) => (
                StatusCode::BAD_REQUEST,
                "Refused: the request's body could not be read.\n",
            )
                .into_response(),
            Ok(Ok(body)) => {
                next.run(Request::from_parts(parts, Body::from(body.to_bytes())))
                    .await
            }
        }
    } else {
        // A declared length is held to by the connection; the limit guards it once more.
        let (parts, body) = request.into_parts();
        let limited = Request::from_parts(
            parts,
            Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES)),
        );
        next.run(limited).await
    };
    match response.status() {
        // The unread body is still on the connection, which therefore ends with this answer:
        // said in the answer, so a client sends its next request on a new connection.
        StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONNECTION, "close")],
            format!(
                "Refused: the request is larger than {} KiB.\n",
                MAX_BODY_BYTES / 1024
            ),
        )
            .into_response(),
        // Part of a slow body may still be on its way: the connection ends with the answer.
        StatusCode::REQUEST_TIMEOUT => (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            "The request took too long. Try again.\n",
        )
            .into_response(),
        _ => response,
    }
}
