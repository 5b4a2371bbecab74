//! The middleware every request passes, outermost first in `super::router`: the request's
//! context (client address, User-Agent, cookies), the refusal of cross-site posts, the sign-in
//! gate of protected pages, and a plain form post answered in its page.

use std::net::{IpAddr, SocketAddr};

use app::backend::{RequestContext, RequestMemo};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;

/// Longest User-Agent kept for audit events; longer ones are cut.
const MAX_USER_AGENT_CHARS: usize = 256;

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
pub(super) async fn record_request_context(
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
pub(super) async fn reject_cross_site(request: Request, next: Next) -> Response {
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
pub(super) async fn answer_form_post_in_page<F, Fut>(
    mut request: Request,
    next: Next,
    render_page: F,
) -> Response
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    use app::form_post::FormPostSlot;
    use app::plain_post::asks_for_html;

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
pub(super) async fn require_sign_in(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
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
                match state.backend.must_add_two_step(&signed_in, &context).await {
                    Ok(false) => {}
                    Ok(true) => return Redirect::to(Page::SecurityInfo.path()).into_response(),
                    Err(error) => {
                        return (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n"))
                            .into_response();
                    }
                }
            }
            // The console is not for everyone: the others go to their own pages.
            if page.access() == Access::Administrator && !signed_in.is_administrator() {
                return Redirect::to(Page::Overview.path()).into_response();
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
