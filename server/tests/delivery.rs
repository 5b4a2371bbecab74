//! How responses leave the server: security headers with a per-request CSP nonce on every kind
//! of response, caching, compression negotiation, and request limits.

mod support;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use server::http::router;
use support::{TestDatabase, TestResult};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn app_with_site(site_root: &std::path::Path, hsts: bool) -> (axum::Router, TestDatabase) {
    let database = TestDatabase::sqlite().await;
    let mut state = support::state(support::backend(&database).await);
    state.leptos_options.site_root = site_root.display().to_string().into();
    state.site = server::http::site_files::SiteFiles::Directory(site_root.to_owned());
    state.delivery.hsts = hsts;
    (router(state), database)
}

async fn send(
    app: &axum::Router,
    request: Request<Body>,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), Error> {
    let response = app.clone().oneshot(request).await?;
    let (parts, body) = response.into_parts();
    Ok((
        parts.status,
        parts.headers,
        axum::body::to_bytes(body, 1 << 22).await?.to_vec(),
    ))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn assert_security_headers(what: &str, headers: &HeaderMap) {
    let csp = header(headers, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "script-src 'self' 'nonce-",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP lacks {directive}: {csp}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(headers, "referrer-policy"), "same-origin", "{what}");
    assert_eq!(
        header(headers, "cross-origin-opener-policy"),
        "same-origin",
        "{what}"
    );
    assert!(
        header(headers, "permissions-policy").contains("camera=()"),
        "{what}"
    );
    // Passkeys: the site's own pages may make and use WebAuthn credentials.
    for feature in ["publickey-credentials-create", "publickey-credentials-get"] {
        assert!(
            header(headers, "permissions-policy").contains(&format!("{feature}=(self)")),
            "{what}: {feature}"
        );
    }
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() -> TestResult {
    let site = tempfile::tempdir()?;
    std::fs::create_dir_all(site.path().join("pkg"))?;
    std::fs::write(
        site.path().join("pkg/latchkey.abc123.css"),
        "body { color: black; }\n".repeat(200),
    )?;
    let (app, _db) = app_with_site(site.path(), false).await;

    let requests: Vec<(&str, Request<Body>, StatusCode)> = vec![
        (
            "page",
            Request::get("/signin").body(Body::empty())?,
            StatusCode::OK,
        ),
        (
            "redirect",
            Request::get("/security-info").body(Body::empty())?,
            StatusCode::SEE_OTHER,
        ),
        (
            "404 page",
            Request::get("/no/such/page").body(Body::empty())?,
            StatusCode::NOT_FOUND,
        ),
        (
            "health",
            Request::get("/healthz").body(Body::empty())?,
            StatusCode::OK,
        ),
        (
            "asset",
            Request::get("/pkg/latchkey.abc123.css").body(Body::empty())?,
            StatusCode::OK,
        ),
        (
            "server function",
            Request::post("/api/current_user")
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())?,
            StatusCode::OK,
        ),
        (
            "server function error",
            Request::post("/api/get_app_passwords")
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())?,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "cross-site refusal",
            Request::post("/api/sign_out")
                .header(header::ORIGIN, "http://evil.example")
                .body(Body::empty())?,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, request, expected) in requests {
        let (status, headers, _) = send(&app, request).await?;
        assert_eq!(status, expected, "{what}");
        assert_security_headers(what, &headers);
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS over plain http"
        );
        let cache = header(&headers, "cache-control");
        if what == "asset" {
            assert_eq!(cache, "public, max-age=31536000, immutable");
        } else {
            assert_eq!(cache, "no-store", "{what}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_nonce_is_fresh_and_on_the_pages_scripts() -> TestResult {
    let site = tempfile::tempdir()?;
    let (app, _db) = app_with_site(site.path(), true).await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let (_, headers, body) = send(&app, Request::get("/signin").body(Body::empty())?).await?;
        assert!(
            header(&headers, "strict-transport-security").starts_with("max-age="),
            "HSTS over https"
        );
        let csp = header(&headers, "content-security-policy");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .ok_or("no nonce")?
            .to_owned();
        assert!(nonce.len() >= 22, "at least 128 bits: {nonce}");
        let html = String::from_utf8(body)?;
        assert!(
            html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\"")),
            "hydration script carries it: {html}"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce per request");
    Ok(())
}

#[tokio::test]
async fn responses_are_compressed_as_the_client_accepts() -> TestResult {
    let site = tempfile::tempdir()?;
    let (app, _db) = app_with_site(site.path(), false).await;
    for (accept, expected) in [
        ("br", "br"),
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("identity", ""),
    ] {
        let request = Request::get("/signin")
            .header(header::ACCEPT_ENCODING, accept)
            .body(Body::empty())?;
        let (status, headers, body) = send(&app, request).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header(&headers, "content-encoding"),
            expected,
            "Accept-Encoding: {accept}"
        );
        if expected.is_empty() {
            assert!(String::from_utf8(body)?.contains("<title>Sign in - Latchkey</title>"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn oversized_requests_get_clear_refusals() -> TestResult {
    let site = tempfile::tempdir()?;
    let (app, _db) = app_with_site(site.path(), false).await;
    let big = format!("username=a%40b.c&password={}", "x".repeat(70 * 1024));
    let request = Request::post("/api/sign_in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))?;
    let (status, headers, body) = send(&app, request).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(String::from_utf8(body)?.contains("larger than 64 KiB"));
    assert_security_headers("413", &headers);
    // The body was not read: the connection ends, and the answer says so.
    assert_eq!(
        headers.get(header::CONNECTION).map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );

    // A body without a length (chunked) over the limit gets the same answer, not a 400 for a
    // form cut off while it was parsed.
    let chunks = (0..70).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024]));
    let request = Request::post("/api/sign_in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_stream(futures::stream::iter(chunks)))?;
    let (status, _, body) = send(&app, request).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(String::from_utf8(body)?.contains("larger than 64 KiB"));
    // One under the limit is read and answered as usual (a refused sign-in, not a refusal of
    // its size).
    let form = "username=nobody%40example.com&password=wrong";
    let chunks = form
        .as_bytes()
        .chunks(8)
        .map(|c| Ok::<_, std::io::Error>(c.to_vec()));
    let request = Request::post("/api/sign_in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from_stream(futures::stream::iter(chunks)))?;
    let (status, _, _) = send(&app, request).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let mut request = Request::get("/signin");
    for i in 0..40 {
        request = request.header(format!("x-filler-{i}"), "y".repeat(500));
    }
    let (status, _, body) = send(&app, request.body(Body::empty())?).await?;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(String::from_utf8(body)?.contains("headers are too large"));
    Ok(())
}
