//! The gates in front of every server function, through the real router on SQLite and
//! PostgreSQL: without a session only a short public list answers; while the organization
//! requires two-step verification, a person without a second factor reaches only Security info,
//! adding an authenticator app and signing out (pages too); no server function answers GET.
//! A server function added without being listed here fails these tests.

mod support;

use app::backend::prelude::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::domain::policy::Setting;
use server::http::router;
use support::{PASSWORD, TestDatabase, TestResult, context};
use tower::ServiceExt;

/// Server functions anyone may call: signing in, the setup and password-link pages.
const PUBLIC: &[&str] = &[
    "/api/current_user",
    "/api/sign_in",
    "/api/verify_sign_in_code",
    "/api/verify_sign_in_recovery_code",
    "/api/sign_out",
    "/api/setup_link_status",
    "/api/complete_setup",
    "/api/password_link",
    "/api/set_password_with_link",
    "/api/mail_sign_in_link",
    "/api/use_sign_in_link",
    "/api/reset_by_mail_offered",
    "/api/mail_password_link",
    "/api/passkey_availability",
    "/api/start_passkey_second_step",
    "/api/finish_passkey_second_step",
    "/api/start_passkey_sign_in",
    "/api/finish_passkey_sign_in",
    // The ways of the sign-in waiting for its second step (none without one).
    "/api/second_step_ways",
];

/// What a person who must add a second factor first may still call.
const OPEN_BEFORE_TWO_STEP: &[&str] = &[
    "/api/current_user",
    "/api/security_info",
    "/api/add_method",
    "/api/pending_authenticator",
    "/api/confirm_authenticator",
    // Adding an authenticator app long after signing in asks "confirm it's you".
    "/api/confirm_its_you",
    "/api/get_app_passwords",
    "/api/sign_out",
    "/api/sign_out_everywhere",
    // Security info lists the signed-in browsers; signing one out is signing out.
    "/api/signed_in_browsers",
    "/api/sign_out_browser",
    // A passkey is a second factor: listing, adding one, and confirming it's them with one.
    "/api/passkeys",
    "/api/start_passkey_registration",
    "/api/finish_passkey_registration",
    "/api/start_passkey_confirmation",
    "/api/finish_passkey_confirmation",
];

/// Every server function behind a session, with a form it accepts. Signing out comes last.
const SIGNED_IN_CALLS: &[(&str, &[(&str, &str)])] = &[
    ("/api/security_info", &[]),
    ("/api/add_method", &[("method", "authenticator")]),
    ("/api/pending_authenticator", &[]),
    ("/api/confirm_authenticator", &[("code", "123456")]),
    (
        "/api/delete_authenticator",
        &[("id", "1"), ("password", PASSWORD), ("code", "123456")],
    ),
    (
        "/api/rename_authenticator",
        &[("id", "1"), ("name", "Phone")],
    ),
    ("/api/set_default_method", &[("method", "passkey")]),
    (
        "/api/change_password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a much longer new password"),
            ("confirm_password", "a much longer new password"),
        ],
    ),
    ("/api/new_recovery_codes", &[("password", PASSWORD)]),
    ("/api/recent_activity", &[]),
    ("/api/dismiss_preview_notice", &[]),
    ("/api/confirm_its_you", &[("password", PASSWORD)]),
    ("/api/get_app_passwords", &[]),
    ("/api/create_app_password", &[("name", "Mail")]),
    ("/api/delete_app_password", &[("id", "1")]),
    ("/api/app_password_first_sign_in", &[("id", "1")]),
    ("/api/rename_app_password", &[("id", "1"), ("name", "Post")]),
    (
        "/api/change_app_password_kind",
        &[("id", "1"), ("kind", "sending_only")],
    ),
    ("/api/delete_all_app_passwords", &[("expected", "0")]),
    ("/api/admin_organization", &[]),
    (
        "/api/admin_set_organization_setting",
        &[("setting", "allow_app_passwords"), ("on", "false")],
    ),
    ("/api/admin_set_app_password_idle_days", &[("days", "90")]),
    ("/api/admin_mail_settings", &[]),
    (
        "/api/admin_set_mail_settings",
        &[
            ("imap_host", ""),
            ("imap_port", ""),
            ("smtp_host", ""),
            ("smtp_port", ""),
            ("caldav_url", ""),
            ("carddav_url", ""),
        ],
    ),
    ("/api/admin_people", &[]),
    ("/api/admin_audit", &[]),
    ("/api/admin_app_passwords", &[("username", ADA)]),
    (
        "/api/admin_revoke_app_password",
        &[("username", ADA), ("id", "1")],
    ),
    (
        "/api/admin_add_person",
        &[
            ("username", "grace@contoso.example"),
            ("display_name", "Grace"),
        ],
    ),
    ("/api/admin_reset_password", &[("username", ADA)]),
    (
        "/api/admin_act_on_person",
        &[("username", ADA), ("action", "disable")],
    ),
    ("/api/passkeys", &[]),
    ("/api/start_passkey_registration", &[("name", "Laptop")]),
    ("/api/finish_passkey_registration", &[("credential", "{}")]),
    ("/api/rename_passkey", &[("id", "1"), ("name", "Phone")]),
    (
        "/api/delete_passkey",
        &[("id", "1"), ("password", PASSWORD)],
    ),
    ("/api/start_passkey_confirmation", &[]),
    ("/api/finish_passkey_confirmation", &[("credential", "{}")]),
    ("/api/signed_in_browsers", &[]),
    // No session has id 0: nothing is signed out before the end.
    ("/api/sign_out_browser", &[("id", "0")]),
    ("/api/sign_out_everywhere", &[]),
];

const ADA: &str = "ada@contoso.example";

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
    session_token: Option<&str>,
) -> Result<(StatusCode, String, Option<String>), Error> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header("Sec-Fetch-Site", "same-origin");
    if let Some(token) = session_token {
        request = request.header(
            header::COOKIE,
            format!("{}={token}", server::use_cases::SESSION_COOKIE),
        );
    }
    let body = if method == "GET" {
        Body::empty()
    } else {
        Body::from(serde_urlencoded::to_string(fields)?)
    };
    let response = app.clone().oneshot(request.body(body)?).await?;
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((
        status,
        String::from_utf8_lossy(&body).into_owned(),
        location,
    ))
}

fn registered() -> Vec<&'static str> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect()
}

#[tokio::test]
async fn every_server_function_is_listed_and_refuses_get() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    let app = router(support::state(backend.clone()));
    let paths = registered();
    assert!(paths.len() > 20, "{paths:?}");
    for path in &paths {
        assert!(
            PUBLIC.contains(path) || SIGNED_IN_CALLS.iter().any(|(listed, _)| listed == path),
            "{path} is not listed: add it to PUBLIC or SIGNED_IN_CALLS"
        );
        let (status, body, _) = call(&app, "GET", path, &[], None).await?;
        assert!(
            status.is_client_error(),
            "GET {path} answered {status}: {body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn without_a_session_only_the_public_server_functions_answer() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let app = router(support::state(backend.clone()));
        let events_before = backend.store().audit_events(None, None).await?.len();
        for (path, fields) in SIGNED_IN_CALLS {
            let (status, body, _) = call(&app, "POST", path, fields, None).await?;
            assert_eq!(
                (status, body.contains("Unauthorized")),
                (StatusCode::UNAUTHORIZED, true),
                "{}: {path} without a session: {body}",
                database.name
            );
        }
        let (status, body, _) = call(
            &app,
            "POST",
            "/api/add_method",
            &[("method", "app_password")],
            None,
        )
        .await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        // Nothing was changed or even recorded.
        assert_eq!(
            backend.store().audit_events(None, None).await?.len(),
            events_before
        );
        let ada = backend.store().user_by_key(ADA).await?.ok_or("ada")?;
        assert!(ada.is_enabled);
    }
    Ok(())
}

#[tokio::test]
async fn where_two_step_is_required_a_person_without_it_can_only_add_it() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        support::set_policy(&backend, Setting::RequireTwoStep, true).await?;
        let app = router(support::state(backend.clone()));
        let (step, cookie) = backend
            .sign_in(&context("192.0.2.1", None), ADA, PASSWORD)
            .await?;
        assert_eq!(step, app::model::SignInStep::TwoStepRequired);
        let ctx = context("192.0.2.1", Some(&cookie));
        let token = ctx.session_token.clone().ok_or("no session")?;

        for (path, fields) in SIGNED_IN_CALLS {
            if *path == "/api/sign_out_everywhere" {
                continue;
            }
            let (status, body, _) = call(&app, "POST", path, fields, Some(&token)).await?;
            let refused = status == StatusCode::FORBIDDEN && body.contains("AddTwoStepFirst");
            assert_eq!(
                refused,
                !OPEN_BEFORE_TWO_STEP.contains(path),
                "{}: {path} before two-step: {status} {body}",
                database.name
            );
        }
        // Pages lead to Security info, where the second factor is added.
        for page in ["/", "/activity", "/admin", "/admin/audit", "/app-passwords"] {
            let (status, _, location) = call(&app, "GET", page, &[], Some(&token)).await?;
            assert_eq!(
                (status.is_redirection(), location.as_deref()),
                (true, Some("/security-info")),
                "{page}"
            );
        }
        let (status, body, _) = call(&app, "GET", "/security-info", &[], Some(&token)).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Your organization requires two-step verification"));

        // Signing out everywhere stays open.
        let (status, body, _) =
            call(&app, "POST", "/api/sign_out_everywhere", &[], Some(&token)).await?;
        assert_eq!(status, StatusCode::OK, "{body}");

        // With an authenticator app, everything is open again.
        let (_, cookie) = backend
            .sign_in(&context("192.0.2.1", None), ADA, PASSWORD)
            .await?;
        let ctx = context("192.0.2.1", Some(&cookie));
        let token = ctx.session_token.clone().ok_or("no session")?;
        let enrollment = backend
            .begin_authenticator(&ctx, &Default::default())
            .await?;
        backend
            .confirm_authenticator(
                &ctx,
                &support::code_for(&enrollment.secret, support::now_unix())?,
                "",
            )
            .await?;
        let (status, body, _) =
            call(&app, "POST", "/api/recent_activity", &[], Some(&token)).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _, _) = call(&app, "GET", "/activity", &[], Some(&token)).await?;
        assert_eq!(status, StatusCode::OK);
        // The console is for administrators: everyone else is sent to My Profile.
        for page in ["/admin", "/admin/audit", "/admin?add=person"] {
            let (status, _, location) = call(&app, "GET", page, &[], Some(&token)).await?;
            assert_eq!(
                (status.is_redirection(), location.as_deref()),
                (true, Some("/")),
                "{}: {page}",
                database.name
            );
        }
    }
    Ok(())
}
