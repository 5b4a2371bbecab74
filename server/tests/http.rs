//! The router end to end (no sockets): health checks, pages, 404s and first-time setup
//! through the real server functions, on SQLite and PostgreSQL.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use server::domain::random::OsRandom;
use server::http::router;
use support::{TestDatabase, TestResult};
use tower::ServiceExt;

async fn get(
    app: &axum::Router,
    uri: &str,
) -> Result<(StatusCode, String), Box<dyn std::error::Error + Send + Sync>> {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty())?)
        .await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, String::from_utf8(body.to_vec())?))
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("form%5B{k}%5D={}", v.replace('@', "%40").replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&")
}

async fn post_form(
    app: &axum::Router,
    uri: &str,
    body: String,
) -> Result<axum::response::Response, Box<dyn std::error::Error + Send + Sync>> {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(body))?;
    Ok(app.clone().oneshot(request).await?)
}

#[tokio::test]
async fn health_and_readiness() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    let app = router(support::state(backend.clone()));
    assert_eq!(
        get(&app, "/healthz").await?,
        (StatusCode::OK, "ok\n".to_owned())
    );
    assert_eq!(get(&app, "/readyz").await?.0, StatusCode::OK);
    backend.store.connection().clone().close().await?;
    assert_eq!(
        get(&app, "/readyz").await?.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        get(&app, "/healthz").await?.0,
        StatusCode::OK,
        "the process is still up"
    );
    Ok(())
}

#[tokio::test]
async fn pages_render_with_titles_and_unknown_paths_are_404() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let app = router(support::state(support::backend(&database).await));
    let (status, body) = get(&app, "/signin").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<title>Sign in - Latchkey</title>"), "{body}");
    for path in ["/", "/security-info"] {
        assert_eq!(
            get(&app, path).await?.0,
            StatusCode::SEE_OTHER,
            "{path} needs a session"
        );
    }
    let (status, body) = get(&app, "/no/such/page").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("We can&#x27;t find that page") || body.contains("We can't find that page"),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn setup_link_works_once_and_only_with_its_token() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        let app = router(support::state(backend.clone()));
        let token = backend.setup_gate.issue(&mut OsRandom, Utc::now());

        assert_eq!(
            get(&app, "/setup").await?.0,
            StatusCode::NOT_FOUND,
            "{}",
            database.name
        );
        assert_eq!(
            get(&app, "/setup?token=wrong").await?.0,
            StatusCode::NOT_FOUND
        );
        let (status, body) = get(&app, &format!("/setup?token={token}")).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Create organization"), "{body}");

        let mut fields = vec![
            ("token", token.as_str()),
            ("organization", "Contoso"),
            ("allow_app_passwords", "on"),
            ("display_name", "Ada Lovelace"),
            ("username", "ada@example.org"),
            ("password", "short"),
            ("confirm_password", "short"),
        ];
        // Bad input: a clear message, the link still works.
        let response = post_form(&app, "/api/complete_setup", form_body(&fields)).await?;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        let body = String::from_utf8(body.to_vec())?;
        assert!(body.contains("Use at least 12 characters"), "{body}");
        assert_eq!(
            get(&app, &format!("/setup?token={token}")).await?.0,
            StatusCode::OK
        );

        fields[5].1 = "correct horse battery";
        fields[6].1 = "correct horse battery";
        let response = post_form(&app, "/api/complete_setup", form_body(&fields)).await?;
        assert!(
            response.status().is_redirection() || response.status().is_success(),
            "{}",
            response.status()
        );
        let organization = backend
            .store
            .organization()
            .await?
            .ok_or("organization missing")?;
        assert!(
            organization.allow_app_passwords,
            "the administrator's choice is kept"
        );
        assert!(backend.store.has_accounts().await?);

        // The link is dead now, for the page and the server function alike.
        assert_eq!(
            get(&app, &format!("/setup?token={token}")).await?.0,
            StatusCode::NOT_FOUND
        );
        let response = post_form(&app, "/api/complete_setup", form_body(&fields)).await?;
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        assert!(String::from_utf8(body.to_vec())?.contains("NotFound"));
    }
    Ok(())
}

/// The setup page's own form (what browsers post): a refused form comes back as the page, as
/// typed, with the reason; a completed one goes on to sign-in.
#[tokio::test]
async fn setup_page_form_keeps_what_was_typed_and_explains() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        let app = router(support::state(backend.clone()));
        let token = backend.setup_gate.issue(&mut OsRandom, Utc::now());
        let page = format!("/setup?token={token}");
        let mut fields = vec![
            ("intent", "complete_setup"),
            ("token", token.as_str()),
            ("organization", "Contoso & Co"),
            ("allow_app_passwords", "on"),
            ("display_name", "Ada Lovelace"),
            ("username", "ada@example.org"),
            ("password", "short"),
            ("confirm_password", "short"),
        ];
        let body =
            |fields: &[(&str, &str)]| serde_urlencoded::to_string(fields).unwrap_or_default();
        let response = post_form(&app, &page, body(&fields)).await?;
        assert_eq!(response.status(), StatusCode::OK, "{}", database.name);
        let html = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        let html = String::from_utf8(html.to_vec())?;
        assert!(
            html.contains("Use at least 12 characters (this one has 5)."),
            "{html}"
        );
        assert!(html.contains(r#"value="Contoso &amp; Co""#), "{html}");
        assert!(
            html.contains(r#"name="allow_app_passwords" checked"#),
            "the checkbox stays ticked"
        );
        assert!(!backend.store.has_accounts().await?);

        fields[6].1 = "correct horse battery";
        fields[7].1 = "correct horse battery";
        let response = post_form(&app, &page, body(&fields)).await?;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response
                .headers()
                .get(header::LOCATION)
                .map(|v| v.as_bytes()),
            Some(&b"/signin?setup=done"[..])
        );
        assert!(backend.store.has_accounts().await?);
    }
    Ok(())
}
