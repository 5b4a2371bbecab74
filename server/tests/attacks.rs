//! What an attacker would try from outside, through the real router on SQLite and PostgreSQL:
//! naming another owner in a form, reading an answer from a foreign origin, typing an app
//! password into web sign-in, and names made to look like markup or SQL.

mod support;

use app::backend::prelude::*;
use app::error::AppError;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::http::router;
use support::{PASSWORD, TestDatabase, TestResult, context};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ADA: &str = "ada@contoso.example";
const BOB: &str = "bob@contoso.example";

async fn send(
    app: &axum::Router,
    request: Request<Body>,
) -> Result<(StatusCode, axum::http::HeaderMap, String), Error> {
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 22).await?;
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

fn post(path: &str, fields: &[(&str, &str)], token: &str) -> Result<Request<Body>, Error> {
    Ok(Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header("Sec-Fetch-Site", "same-origin")
        .header(
            header::COOKIE,
            format!("{}={token}", server::use_cases::SESSION_COOKIE),
        )
        .body(Body::from(serde_urlencoded::to_string(fields)?))?)
}

#[tokio::test]
async fn form_fields_naming_another_owner_are_ignored() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada_user = support::add_user(&backend, ADA).await;
        let bob_user = support::add_user(&backend, BOB).await;
        let (ada, _) = support::app_password_for(&backend, ADA, "Ada's mail").await?;
        let (bob, _) = support::app_password_for(&backend, BOB, "Bob's mail").await?;
        let bobs = backend.app_passwords(&bob).await?.items;
        let bobs_id = bobs.first().ok_or("bob's app password")?.id.to_string();
        let app = router(support::state(backend.clone()));
        let token = ada.session_token.clone().ok_or("session")?;
        let bob_id = bob_user.id.to_string();

        // Creating "for" Bob creates Ada's.
        let (status, _, body) = send(
            &app,
            post(
                "/api/create_app_password",
                &[("name", "Sneaky"), ("user_id", &bob_id), ("owner", BOB)],
                &token,
            )?,
        )
        .await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Renaming or deleting Bob's, with or without his id named, touches nothing of his.
        for (path, fields) in [
            (
                "/api/rename_app_password",
                vec![
                    ("id", bobs_id.as_str()),
                    ("name", "Mine now"),
                    ("user_id", &bob_id),
                ],
            ),
            (
                "/api/delete_app_password",
                vec![("id", bobs_id.as_str()), ("user_id", &bob_id)],
            ),
        ] {
            let (status, _, body) = send(&app, post(path, &fields, &token)?).await?;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            assert!(body.contains("AppPasswordGone"), "{path}: {body}");
        }
        let bobs_now = backend.app_passwords(&bob).await?.items;
        assert_eq!(
            bobs_now, bobs,
            "{}: Bob's app passwords are untouched",
            database.name
        );
        let adas: Vec<String> = backend
            .app_passwords(&ada)
            .await?
            .items
            .into_iter()
            .map(|item| item.name)
            .collect();
        assert_eq!(adas.len(), 2);
        assert!(adas.contains(&"Sneaky".to_owned()));
        assert_ne!(ada_user.id, bob_user.id);
    }
    Ok(())
}

/// A form changed by hand (a field of the wrong kind, one missing, a word no list knows) is
/// refused with 400 and words a person can act on, never a 500, "Couldn't reach Latchkey" or
/// the parser's own words; a plain form post still goes back to its page.
#[tokio::test]
async fn a_form_changed_by_hand_gets_a_plain_refusal() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    support::add_user(&backend, ADA).await;
    let (ada, _) = support::app_password_for(&backend, ADA, "Ada's mail").await?;
    let app = router(support::state(backend.clone()));
    let token = ada.session_token.clone().ok_or("session")?;
    for (path, fields) in [
        (
            "/api/rename_app_password",
            vec![("id", "abc"), ("name", "x")],
        ),
        ("/api/rename_authenticator", vec![("name", "x")]),
        (
            "/api/create_app_password",
            vec![("name", "x"), ("kind", "root")],
        ),
        ("/api/sign_in", vec![("username", "ada@contoso.example")]),
    ] {
        let (status, _, body) = send(&app, post(path, &fields, &token)?).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(
            serde_json::from_str::<AppError>(&body)?,
            AppError::BadRequest
        );
        let mut plain = post(path, &fields, &token)?;
        plain
            .headers_mut()
            .insert(header::ACCEPT, "text/html".parse()?);
        let (status, _, body) = send(&app, plain).await?;
        assert!(status.is_redirection(), "{path}: {status} {body}");
    }
    assert_eq!(
        AppError::BadRequest.to_string(),
        "This form could not be read. Reload the page and try again."
    );
    Ok(())
}

#[tokio::test]
async fn a_foreign_origin_is_never_allowed_to_read_an_answer() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    let (ada_ctx, _) = {
        support::add_user(&backend, ADA).await;
        support::app_password_for(&backend, ADA, "Mail").await?
    };
    let token = ada_ctx.session_token.ok_or("session")?;
    let app = router(support::state(backend.clone()));
    let evil = "https://evil.example";
    let requests = [
        Request::post("/api/current_user")
            .header(header::ORIGIN, evil)
            .header(header::ACCEPT, "application/json")
            .header(
                header::COOKIE,
                format!("{}={token}", server::use_cases::SESSION_COOKIE),
            )
            .body(Body::empty())?,
        Request::options("/api/get_app_passwords")
            .header(header::ORIGIN, evil)
            .header("Access-Control-Request-Method", "POST")
            .body(Body::empty())?,
        Request::get("/auth/basic")
            .header(header::ORIGIN, evil)
            .header(header::AUTHORIZATION, "Basic YWRhOndyb25n")
            .body(Body::empty())?,
        Request::options("/auth/basic")
            .header(header::ORIGIN, evil)
            .header("Access-Control-Request-Method", "GET")
            .body(Body::empty())?,
    ];
    for request in requests {
        let what = format!("{} {}", request.method(), request.uri());
        let (_, headers, _) = send(&app, request).await?;
        for name in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
        ] {
            assert!(headers.get(name).is_none(), "{what}: {name} {headers:?}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn an_app_password_typed_into_web_sign_in_is_refused_and_counted() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (_, created) = support::app_password_for(&backend, ADA, "Mail").await?;
        let before = backend.store().audit_events(None, None).await?;
        let answer = backend
            .sign_in(&context("192.0.2.9", None), ADA, &created.password)
            .await;
        assert_eq!(
            answer.err(),
            Some(AppError::SignInFailed),
            "{}",
            database.name
        );
        let after = backend.store().audit_events(None, None).await?;
        let failed = after.len() - before.len();
        assert_eq!(failed, 1);
        assert!(after.iter().any(|e| e.kind == "sign_in.failed"));
        // Counted like any wrong password: five more from that address wait.
        for _ in 0..5 {
            let _ = backend
                .sign_in(&context("192.0.2.9", None), ADA, &created.password)
                .await;
        }
        let throttled = backend
            .sign_in(&context("192.0.2.9", None), ADA, PASSWORD)
            .await;
        assert!(
            matches!(throttled, Err(AppError::Throttled { .. })),
            "{throttled:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn names_made_of_markup_or_sql_are_kept_and_shown_as_text() -> TestResult {
    const MARKUP: &str = "\"><img src=x onerror=alert(1)>";
    const SQL: &str = "'); DROP TABLE app_passwords;--";
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (ada, _) = support::app_password_for(&backend, ADA, MARKUP).await?;
        backend.create_app_password(&ada, SQL, "", "").await?;
        let names: Vec<String> = backend
            .app_passwords(&ada)
            .await?
            .items
            .into_iter()
            .map(|item| item.name)
            .collect();
        assert!(names.contains(&MARKUP.to_owned()), "{names:?}");
        assert!(names.contains(&SQL.to_owned()), "{names:?}");

        let app = router(support::state(backend.clone()));
        let token = ada.session_token.clone().ok_or("session")?;
        let (status, _, page) = send(
            &app,
            Request::get("/security-info")
                .header(
                    header::COOKIE,
                    format!("{}={token}", server::use_cases::SESSION_COOKIE),
                )
                .body(Body::empty())?,
        )
        .await?;
        assert_eq!(status, StatusCode::OK);
        // Outside the hydration data (JSON in scripts), the name is text, never an element.
        let markup: String = page
            .split("<script")
            .map(|part| {
                part.split_once("</script>")
                    .map_or(part, |(_, after)| after)
            })
            .collect();
        assert!(!markup.contains("<img src=x"), "markup rendered as markup");
        assert!(
            markup.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{markup}"
        );
        assert!(page.contains("DROP TABLE app_passwords;--"));
    }
    Ok(())
}

#[tokio::test]
async fn a_browser_cannot_pass_itself_off_as_the_command_line() -> TestResult {
    use server::db::Actor;
    use server::use_cases::administration::Administration;

    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        // A sign-in attempt whose User-Agent is the command line's own client name.
        let mut forged = context("192.0.2.66", None);
        forged.user_agent = Some("latchkey admin (command line)".to_owned());
        let _ = backend.sign_in(&forged, ADA, "not the password").await;
        // And a real change from the command line.
        let admin = Administration::new(backend.store().clone(), Actor::command_line());
        admin.set_enabled(ADA, false).await?;

        let log = admin.audit_log(Some(ADA), None).await?;
        let failed = log
            .events
            .iter()
            .find(|e| e.kind == "sign_in.failed")
            .ok_or("the forged attempt's event")?;
        assert_eq!(log.actor_of(failed), None, "{name}: not the command line");
        let disabled = log
            .events
            .iter()
            .find(|e| e.kind == "user.disabled")
            .ok_or("the command line's event")?;
        assert_eq!(
            log.actor_of(disabled),
            Some("command line"),
            "{name}: {}",
            disabled.kind
        );
    }
    Ok(())
}
