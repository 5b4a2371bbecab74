//! The router end to end (no sockets): health checks, pages, 404s and first-time setup
//! through the real server functions, on SQLite and PostgreSQL.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use server::domain::random::OsRandom;
use server::http::router;
use support::{TestDatabase, TestResult, answer};
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
    serde_urlencoded::to_string(fields).unwrap_or_default()
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
    // As `serve` leaves the database (tests/readiness.rs checks each reason).
    backend
        .store()
        .record_key_check(&backend.secret_key.check_value())
        .await?;
    assert_eq!(get(&app, "/readyz").await?.0, StatusCode::OK);
    backend.store().connection().clone().close().await?;
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
            .store()
            .organization()
            .await?
            .ok_or("organization missing")?;
        assert!(
            organization.allow_app_passwords,
            "the administrator's choice is kept"
        );
        assert!(backend.store().has_accounts().await?);

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

/// Setup's form posted by a browser without the WebAssembly: a refused form is answered with
/// the page, as typed, with the reason (and no page script); a completed one goes to sign-in.
#[tokio::test]
async fn setup_form_post_keeps_what_was_typed_and_explains() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        let app = router(support::state(backend.clone()));
        let token = backend.setup_gate.issue(&mut OsRandom, Utc::now());
        let page = format!("/setup?token={token}");
        let mut fields = vec![
            ("token", token.as_str()),
            ("organization", "Contoso & Co"),
            ("allow_app_passwords", "on"),
            ("display_name", "Ada Lovelace"),
            ("username", "ada@example.org"),
            ("password", "short"),
            ("confirm_password", "short"),
        ];
        let (status, _, html) =
            post_plain(&app, "/api/complete_setup", &page, None, &fields).await?;
        assert_eq!(status, StatusCode::OK, "{}", database.name);
        assert!(
            html.contains("Use at least 12 characters (this one has 5)."),
            "{html}"
        );
        assert!(html.contains(r#"value="Contoso &amp; Co""#), "{html}");
        assert!(
            html.contains(r#"name="allow_app_passwords" checked"#),
            "the checkbox stays ticked"
        );
        assert!(
            !html.contains(r#"type="module""#),
            "the answer is not hydrated"
        );
        assert!(!backend.store().has_accounts().await?);

        fields[5].1 = "correct horse battery";
        fields[6].1 = "correct horse battery";
        let (status, location, _) =
            post_plain(&app, "/api/complete_setup", &page, None, &fields).await?;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(location.as_deref(), Some("/signin?setup=done"));
        assert!(backend.store().has_accounts().await?);
    }
    Ok(())
}

fn session_cookie(session_token: &str) -> String {
    format!("{}={session_token}", server::use_cases::SESSION_COOKIE)
}

/// Posts a form to the server function `api` as a browser without the WebAssembly would: asking
/// for HTML, from `page` (the Referer), same-origin, with the session cookie when given.
async fn post_plain(
    app: &axum::Router,
    api: &str,
    page: &str,
    session_token: Option<&str>,
    fields: &[(&str, &str)],
) -> Result<(StatusCode, Option<String>, String), Box<dyn std::error::Error + Send + Sync>> {
    let mut request = Request::post(api)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("http://127.0.0.1:3000{page}"))
        .header("Sec-Fetch-Site", "same-origin");
    if let Some(token) = session_token {
        request = request.header(header::COOKIE, session_cookie(token));
    }
    answer(
        app,
        request.body(Body::from(serde_urlencoded::to_string(fields)?))?,
    )
    .await
}

/// The path and query of an absolute `Location`.
fn local(location: &Option<String>) -> String {
    let location = location.clone().unwrap_or_default();
    location
        .strip_prefix("http://127.0.0.1:3000")
        .unwrap_or(&location)
        .to_owned()
}

/// Gets a page as a signed-in browser would.
async fn get_with_cookie(
    app: &axum::Router,
    uri: &str,
    session_token: &str,
) -> Result<(StatusCode, Option<String>, String), Box<dyn std::error::Error + Send + Sync>> {
    let request = Request::get(uri)
        .header(header::COOKIE, session_cookie(session_token))
        .body(Body::empty())?;
    answer(app, request).await
}

/// Security info's forms posted without the WebAssembly: each goes to its server function,
/// which redirects to the next step; a refusal comes back to the page in a signed `__err`,
/// which the page shows; an unsigned one is dropped; deleting from the limit prompt goes back to
/// the create steps; a created password is shown in the answer itself.
#[tokio::test]
async fn security_info_form_posts_lead_to_the_next_step() -> TestResult {
    use app::backend::prelude::*;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        support::add_user(&backend, "bob@contoso.example").await;
        let (ada, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Outlook").await?;
        let (_, bobs) = support::app_password_for(&backend, "bob@contoso.example", "Bob's").await?;
        let token = ada.session_token.clone().ok_or("no session")?;
        let app = router(support::state(backend.clone()));
        let chooser = "/security-info?add=method";

        let (status, location, _) = post_plain(
            &app,
            "/api/add_method",
            chooser,
            Some(&token),
            &[("method", "app_password")],
        )
        .await?;
        assert!(status.is_redirection(), "{}: {status}", database.name);
        assert_eq!(location.as_deref(), Some("/security-info?add=app_password"));

        // Nothing chosen: back to the chooser with the reason, signed.
        let (status, location, _) = post_plain(
            &app,
            "/api/add_method",
            chooser,
            Some(&token),
            &[("method", "")],
        )
        .await?;
        assert!(status.is_redirection());
        let back = local(&location);
        assert!(
            back.starts_with("/security-info?add=method&__path="),
            "{back}"
        );
        assert!(back.contains("&__sig="), "{back}");
        let (status, _, html) = get_with_cookie(&app, &back, &token).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Choose a method to add."), "{html}");
        // The same error without its signature is dropped from the URL.
        let unsigned = back.split("&__sig=").next().unwrap_or_default();
        let (status, location, _) = get_with_cookie(&app, unsigned, &token).await?;
        assert!(status.is_redirection());
        assert_eq!(location.as_deref(), Some(chooser));

        // An error already in the Referer (someone else's text) is not signed along.
        let forged = "/security-info?add=method&__path=%2Fapi%2Fadd_method&__err=Rk9SR0VE";
        let (_, location, _) = post_plain(
            &app,
            "/api/add_method",
            forged,
            Some(&token),
            &[("method", "")],
        )
        .await?;
        let back = local(&location);
        assert!(!back.contains("Rk9SR0VE"), "{back}");
        assert_eq!(back.matches("__err=").count(), 1, "{back}");

        // Someone else's id names nothing and opens nothing.
        let (status, _, html) =
            get_with_cookie(&app, &format!("/security-info?delete={}", bobs.id), &token).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("Delete app password?"), "{html}");
        let (_, _, html) = get_with_cookie(
            &app,
            &format!("/security-info?delete={}", created.id),
            &token,
        )
        .await?;
        assert!(
            html.contains("Delete the app password for &#x27;Outlook&#x27;?")
                || html.contains("Delete the app password for 'Outlook'?"),
            "{html}"
        );

        let id = created.id.to_string();
        let (status, location, _) = post_plain(
            &app,
            "/api/delete_app_password",
            &format!("/security-info?delete={id}&then=create"),
            Some(&token),
            &[("id", &id)],
        )
        .await?;
        assert!(status.is_redirection());
        assert_eq!(location.as_deref(), Some("/security-info?add=app_password"));
        assert!(backend.app_passwords(&ada).await?.items.is_empty());

        // Creating: the answer is the page with the new password, shown once, not hydrated.
        let (status, _, html) = post_plain(
            &app,
            "/api/create_app_password",
            "/security-info?add=app_password",
            Some(&token),
            &[("name", "Thunderbird")],
        )
        .await?;
        assert_eq!(status, StatusCode::OK);
        let items = backend.app_passwords(&ada).await?.items;
        assert_eq!(items.len(), 1);
        assert!(html.contains("Your app password for"), "{html}");
        assert!(html.contains("Thunderbird"), "{html}");
        assert!(!html.contains(r#"type="module""#));
    }
    Ok(())
}

/// Without JavaScript, after 10 minutes without a sign-in: the Delete dialog asks for the
/// password and a code in the same form and says app passwords stop working; adding an
/// authenticator app asks for the password first.
#[tokio::test]
async fn factor_changes_after_ten_minutes_ask_in_the_same_form() -> TestResult {
    use app::backend::prelude::*;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ada, secret) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
                .await?;
        let session = backend.signed_in(&ada).await?.ok_or("session")?.session;
        let long_ago = Utc::now() - chrono::Duration::minutes(11);
        backend
            .store()
            .mark_session_verified(session.id, long_ago)
            .await?;
        let token = ada.session_token.clone().ok_or("no session")?;
        let app = router(support::state(backend.clone()));
        let id = support::first_authenticator_id(&backend, &ada)
            .await?
            .to_string();
        let remove = &format!("/security-info?remove=authenticator&id={id}");

        let (_, _, html) = get_with_cookie(&app, remove, &token).await?;
        assert!(
            html.contains("confirm it&#x27;s you") || html.contains("confirm it's you"),
            "{html}"
        );
        assert!(html.contains("delete-authenticator-password"), "{html}");
        assert!(html.contains("app passwords stop signing in"), "{html}");

        // Posted without them: the same dialog, asking.
        let (status, location, _) = post_plain(
            &app,
            "/api/delete_authenticator",
            remove,
            Some(&token),
            &[("id", &id)],
        )
        .await?;
        assert!(status.is_redirection(), "{}: {status}", database.name);
        let (_, _, html) = get_with_cookie(&app, &local(&location), &token).await?;
        assert!(html.contains("delete-authenticator-password"), "{html}");
        assert!(backend.security_info(&ada).await?.authenticators.len() == 1);

        let code = support::code_for(&secret, support::now_unix() + 30)?;
        let (status, location, _) = post_plain(
            &app,
            "/api/delete_authenticator",
            remove,
            Some(&token),
            &[
                ("id", &id),
                ("password", support::PASSWORD),
                ("code", &code),
            ],
        )
        .await?;
        assert!(status.is_redirection());
        assert_eq!(location.as_deref(), Some("/security-info"));
        assert!(backend.security_info(&ada).await?.authenticators.is_empty());

        // Adding one again, much later: the password first, then the QR code.
        backend
            .store()
            .mark_session_verified(session.id, long_ago)
            .await?;
        let chooser = "/security-info?add=method";
        let choose = [("method", "authenticator")];
        let (_, location, _) =
            post_plain(&app, "/api/add_method", chooser, Some(&token), &choose).await?;
        let (_, _, html) = get_with_cookie(&app, &local(&location), &token).await?;
        assert!(html.contains("confirm-authenticator-password"), "{html}");
        let (_, location, _) = post_plain(
            &app,
            "/api/add_method",
            &local(&location),
            Some(&token),
            &[("method", "authenticator"), ("password", support::PASSWORD)],
        )
        .await?;
        assert_eq!(
            location.as_deref(),
            Some("/security-info?add=authenticator")
        );
        let (_, _, html) =
            get_with_cookie(&app, "/security-info?add=authenticator", &token).await?;
        assert!(html.contains("Scan this QR code"), "{html}");
    }
    Ok(())
}

/// Without JavaScript, an administrator whose sign-in is older than 10 minutes: the console
/// offers "Confirm it's you", a dialog's form asks for the password and code itself, a change
/// posted without them comes back asking, and with them it is made.
#[tokio::test]
async fn admin_changes_after_ten_minutes_ask_in_the_same_form() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (admin, secret) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
                .await?;
        let session = backend.signed_in(&admin).await?.ok_or("session")?.session;
        backend
            .store()
            .mark_session_verified(session.id, Utc::now() - chrono::Duration::minutes(11))
            .await?;
        let token = admin.session_token.clone().ok_or("no session")?;
        let app = router(support::state(backend.clone()));

        let (status, _, html) = get_with_cookie(&app, "/admin", &token).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("console-confirm-password"), "{html}");
        let add = "/admin?add=person";
        let (_, _, html) = get_with_cookie(&app, add, &token).await?;
        assert!(html.contains("add-person-confirm-password"), "{html}");
        assert!(html.contains("add-person-confirm-code"), "{html}");

        let person = [
            ("username", "grace@contoso.example"),
            ("display_name", "Grace Hopper"),
        ];
        let (status, _, html) =
            post_plain(&app, "/api/admin_add_person", add, Some(&token), &person).await?;
        assert_eq!(status, StatusCode::OK, "{}: {html}", database.name);
        assert!(html.contains("add-person-confirm-password"), "{html}");
        assert!(
            html.contains("Grace Hopper"),
            "what was typed stays: {html}"
        );
        assert!(
            backend
                .store()
                .user_by_key("grace@contoso.example")
                .await?
                .is_none()
        );

        let code = support::code_for(&secret, support::now_unix() + 30)?;
        let confirmed = [
            person[0],
            person[1],
            ("password", support::PASSWORD),
            ("code", code.as_str()),
        ];
        let (status, _, html) =
            post_plain(&app, "/api/admin_add_person", add, Some(&token), &confirmed).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("One-time link"), "{html}");
        assert!(
            backend
                .store()
                .user_by_key("grace@contoso.example")
                .await?
                .is_some()
        );
        // Confirmed: the console no longer asks.
        let (_, _, html) = get_with_cookie(&app, "/admin", &token).await?;
        assert!(!html.contains("console-confirm-password"), "{html}");
    }
    Ok(())
}

/// A plain form post whose answer the page must show is answered on the page the app names
/// (`app::backend::Called::show_on_page`; the router lists no server functions): the legacy
/// page's create steps when posted from it, or without a `Referer`, when the organization
/// manages app passwords there; signed out, sign-in instead.
#[tokio::test]
async fn a_plain_form_posts_answer_is_the_page_the_app_names() -> TestResult {
    use app::backend::prelude::*;
    use server::domain::policy::Setting;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        support::set_policy(&backend, Setting::SecurityInfoExperience, false).await?;
        let (ada, _) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
                .await?;
        let token = ada.session_token.clone().ok_or("no session")?;
        let app = router(support::state(backend.clone()));
        // The legacy page's create dialog, with the new password shown once.
        let legacy_dialog = "create-app-password-title";

        let (status, _, html) = post_plain(
            &app,
            "/api/create_app_password",
            "/app-passwords?add=app_password",
            Some(&token),
            &[("name", "Outlook")],
        )
        .await?;
        assert_eq!(status, StatusCode::OK, "{}: {html}", database.name);
        assert!(html.contains(legacy_dialog), "{html}");
        assert!(html.contains("Your app password for"), "{html}");

        let without_referer = Request::post("/api/create_app_password")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header("Sec-Fetch-Site", "same-origin")
            .header(header::COOKIE, session_cookie(&token))
            .body(Body::from("name=Thunderbird"))?;
        let (status, _, html) = answer(&app, without_referer).await?;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(legacy_dialog), "{html}");
        assert!(html.contains("Thunderbird"), "{html}");
        assert_eq!(backend.app_passwords(&ada).await?.items.len(), 2);

        let (status, location, _) = post_plain(
            &app,
            "/api/create_app_password",
            "/security-info?add=app_password",
            None,
            &[("name", "Mail")],
        )
        .await?;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(location.as_deref(), Some("/signin?next=/security-info"));
    }
    Ok(())
}

/// Pages render while other routers are being built in the same process (tests build many;
/// leptos suppresses every resource's loading while it makes a route table, and a resource
/// first polled then never loaded: the page waited for the 30 s timeout). The route table is
/// made once per process, so every render here ends.
#[tokio::test]
async fn pages_render_while_other_routers_are_built() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    let (admin, _) =
        support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
            .await?;
    let token = admin.session_token.clone().ok_or("no session")?;
    let app = router(support::state(backend.clone()));
    let building = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let builder = {
        let (building, state) = (building.clone(), support::state(backend.clone()));
        std::thread::spawn(move || {
            while building.load(std::sync::atomic::Ordering::Relaxed) {
                drop(router(state.clone()));
            }
        })
    };
    let mut rendered = 0;
    for _ in 0..40 {
        for path in ["/security-info", "/admin"] {
            let answer = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                get_with_cookie(&app, path, &token),
            )
            .await;
            let Ok(answer) = answer else {
                building.store(false, std::sync::atomic::Ordering::Relaxed);
                return Err(format!("{path} did not render within 10 s").into());
            };
            let status = answer?.0;
            assert!(
                status.is_success() || status.is_redirection(),
                "{path}: {status}"
            );
            rendered += 1;
        }
    }
    building.store(false, std::sync::atomic::Ordering::Relaxed);
    builder.join().map_err(|_| "the router builder panicked")?;
    assert_eq!(rendered, 80);
    Ok(())
}
