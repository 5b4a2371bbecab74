//! Accounts end to end below the browser: sign-in, sessions (also across two server instances
//! on one database), two-step verification, throttling, password change, cross-site refusal,
//! on SQLite and PostgreSQL. Throttling of attempts has its own file, `sign_in_throttling.rs`.

mod support;

use app::backend::prelude::*;
use app::error::AppError;
use app::model::SignInStep;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::http::router;
use support::{PASSWORD, TestDatabase, TestResult, code_for, context, now_unix};
use tower::ServiceExt;

#[tokio::test]
async fn sign_in_gives_one_message_for_unknown_users_and_wrong_passwords() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "Ada@Contoso.example").await;
        let ctx = context("192.0.2.1", None);
        let unknown = backend
            .sign_in(&ctx, "nobody@contoso.example", PASSWORD)
            .await;
        let wrong = backend
            .sign_in(&ctx, "ada@contoso.example", "wrong password!")
            .await;
        assert_eq!(
            unknown.as_ref().err(),
            Some(&AppError::SignInFailed),
            "{}",
            database.name
        );
        assert_eq!(wrong.as_ref().err(), Some(&AppError::SignInFailed));
        // A password typed into the name field is refused the same way, and not kept in the
        // audit log; a name that could be someone's is.
        let slipped = backend
            .sign_in(&ctx, "correct horse battery", PASSWORD)
            .await;
        assert_eq!(slipped.as_ref().err(), Some(&AppError::SignInFailed));
        let unknown_names: Vec<String> = backend
            .store()
            .audit_events(None, None)
            .await?
            .into_iter()
            .filter(|e| e.kind == "sign_in.unknown_user")
            .map(|e| e.detail)
            .collect();
        assert!(
            unknown_names
                .iter()
                .any(|d| d.contains("nobody@contoso.example")),
            "{unknown_names:?}"
        );
        assert!(
            unknown_names.iter().all(|d| !d.contains("horse")),
            "{unknown_names:?}"
        );
        // Usernames are case-insensitive.
        let (step, cookie) = backend
            .sign_in(&ctx, "ADA@contoso.EXAMPLE", PASSWORD)
            .await?;
        assert_eq!(step, SignInStep::SignedIn);
        assert!(cookie.starts_with("latchkey_session="), "{cookie:?}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie:?}"
        );
        assert!(!cookie.contains("Secure"), "plain http public URL");
        let me = backend
            .current_user(&context("192.0.2.1", Some(&cookie)))
            .await?;
        assert_eq!(
            me.map(|u| u.username),
            Some("Ada@Contoso.example".to_owned())
        );
    }
    Ok(())
}

#[tokio::test]
async fn every_sign_in_gets_a_new_session_and_sign_out_ends_it() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (_, first) = backend
            .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
            .await?;
        let (_, second) = backend
            .sign_in(
                &context("192.0.2.1", Some(&first)),
                "ada@contoso.example",
                PASSWORD,
            )
            .await?;
        assert_ne!(first, second);
        assert!(
            backend
                .current_user(&context("192.0.2.1", Some(&first)))
                .await?
                .is_none(),
            "old session replaced"
        );
        let clear = backend
            .sign_out(&context("192.0.2.1", Some(&second)))
            .await?;
        assert!(clear.contains("Max-Age=0"), "{clear:?}");
        assert!(
            backend
                .current_user(&context("192.0.2.1", Some(&second)))
                .await?
                .is_none()
        );
        assert_eq!(
            backend
                .security_info(&context("192.0.2.1", Some(&second)))
                .await
                .err(),
            Some(AppError::Unauthorized)
        );
    }
    Ok(())
}

/// A page request reads the session once and its server functions share it (`RequestMemo`);
/// a request that changes something reads it fresh every time.
#[tokio::test]
async fn a_page_request_reads_its_session_once_and_a_change_reads_it_fresh() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (_, cookie) = backend
            .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
            .await?;
        let page = app::backend::RequestContext {
            memo: app::backend::RequestMemo::for_reading(),
            ..context("192.0.2.1", Some(&cookie))
        };
        let change = context("192.0.2.1", Some(&cookie));
        assert!(
            backend.current_user(&page).await?.is_some(),
            "{}",
            database.name
        );

        // The session ends (signed out elsewhere) while the page is being rendered.
        backend.sign_out(&change).await?;
        let still_rendering = backend.security_info(&page).await;
        assert!(
            still_rendering.is_ok(),
            "{}: {still_rendering:?}",
            database.name
        );
        assert_eq!(
            backend.security_info(&change).await.err(),
            Some(AppError::Unauthorized),
            "{}: without a memo the ended session is seen at once",
            database.name
        );
        let next_page = app::backend::RequestContext {
            memo: app::backend::RequestMemo::for_reading(),
            ..context("192.0.2.1", Some(&cookie))
        };
        assert!(
            backend.current_user(&next_page).await?.is_none(),
            "{}",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn sessions_are_shared_by_two_instances_on_one_postgres_database() -> TestResult {
    let Some(database) = TestDatabase::postgres().await else {
        return Ok(());
    };
    let first = support::backend(&database).await;
    let second = support::backend(&database).await;
    support::set_up_organization(&first).await;
    support::add_user(&first, "ada@contoso.example").await;
    let (_, cookie) = first
        .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
        .await?;
    let on_second = context("192.0.2.1", Some(&cookie));
    assert!(
        second.current_user(&on_second).await?.is_some(),
        "the other instance accepts the session"
    );
    first.sign_out(&context("192.0.2.1", Some(&cookie))).await?;
    assert!(
        second.current_user(&on_second).await?.is_none(),
        "deleted on one, rejected by the other"
    );

    let (_, a) = first
        .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
        .await?;
    let (_, b) = second
        .sign_in(&context("192.0.2.2", None), "ada@contoso.example", PASSWORD)
        .await?;
    second
        .sign_out_everywhere(&context("192.0.2.2", Some(&b)))
        .await?;
    assert!(
        first
            .current_user(&context("192.0.2.1", Some(&a)))
            .await?
            .is_none(),
        "sign out everywhere reaches both"
    );
    Ok(())
}

#[tokio::test]
async fn two_step_sign_in_with_an_authenticator_app() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let ip = "192.0.2.1";
        let (_, cookie) = backend
            .sign_in(&context(ip, None), "ada@contoso.example", PASSWORD)
            .await?;
        let signed_in = context(ip, Some(&cookie));

        let enrollment = backend
            .begin_authenticator(&signed_in, &Default::default())
            .await?;
        assert!(enrollment.qr_svg.contains("<svg"));
        let info = backend.security_info(&signed_in).await?;
        assert!(
            info.authenticators.is_empty(),
            "not a method until confirmed"
        );
        assert!(matches!(
            backend
                .confirm_authenticator(&signed_in, "000000", "")
                .await,
            Err(AppError::Invalid { .. })
        ));
        let code = code_for(&enrollment.secret, now_unix())?;
        backend.confirm_authenticator(&signed_in, &code, "").await?;
        let info = backend.security_info(&signed_in).await?;
        assert_eq!(info.authenticators.len(), 1);
        assert!(info.default_method.starts_with("Authenticator app"));
        // A second one may be started (several apps per person: tests/authenticator_apps.rs);
        // unconfirmed, it is not a method and changes nothing below.
        backend
            .begin_authenticator(&signed_in, &Default::default())
            .await?;
        assert_eq!(
            backend
                .security_info(&signed_in)
                .await?
                .authenticators
                .len(),
            1
        );

        // Password alone is no longer enough.
        let (step, pending) = backend
            .sign_in(&context(ip, None), "ada@contoso.example", PASSWORD)
            .await?;
        assert_eq!(
            step,
            SignInStep::SecondStep(app::model::SecondStepWay::AuthenticatorApp)
        );
        let pending_ctx = context(ip, Some(&pending));
        assert!(
            backend.current_user(&pending_ctx).await?.is_none(),
            "not signed in before the code"
        );
        assert!(matches!(
            backend.verify_sign_in_code(&pending_ctx, "123").await,
            Err(AppError::Invalid { .. })
        ));
        // The code used to confirm was for this step: it cannot be replayed.
        let replay = backend.verify_sign_in_code(&pending_ctx, &code).await;
        assert!(
            matches!(replay, Err(AppError::Invalid { .. })),
            "{replay:?}"
        );
        let next = code_for(&enrollment.secret, now_unix() + 30)?;
        let full = backend.verify_sign_in_code(&pending_ctx, &next).await?;
        assert_ne!(full, pending, "a new session id once fully signed in");
        assert!(
            backend
                .current_user(&context(ip, Some(&full)))
                .await?
                .is_some()
        );
        assert!(
            backend.current_user(&pending_ctx).await?.is_none(),
            "the pending session is gone"
        );

        let full = context(ip, Some(&full));
        let id = support::first_authenticator_id(&backend, &full).await?;
        backend.delete_authenticator(&full, id, "", "").await?;
        let (step, _) = backend
            .sign_in(&context(ip, None), "ada@contoso.example", PASSWORD)
            .await?;
        assert_eq!(step, SignInStep::SignedIn);
    }
    Ok(())
}

#[tokio::test]
async fn one_ip_is_throttled_across_accounts() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    let ctx = context("203.0.113.5", None);
    let mut throttled = false;
    for i in 0..40 {
        if let Err(AppError::Throttled { .. }) = backend
            .sign_in(&ctx, &format!("user{i}@contoso.example"), "x")
            .await
        {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "a flood from one address is slowed down");
    let other_ip = backend
        .sign_in(&context("203.0.113.6", None), "user0@contoso.example", "x")
        .await;
    assert_eq!(
        other_ip.err(),
        Some(AppError::SignInFailed),
        "other addresses are not"
    );
    Ok(())
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (_, phone) = backend
            .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
            .await?;
        let (_, laptop) = backend
            .sign_in(&context("192.0.2.2", None), "ada@contoso.example", PASSWORD)
            .await?;
        let laptop_ctx = context("192.0.2.2", Some(&laptop));
        let wrong = backend
            .change_password(
                &laptop_ctx,
                "not it at all",
                "brand new passphrase",
                "brand new passphrase",
                "",
            )
            .await;
        assert_eq!(
            wrong.err().and_then(|e| e.message_for("current_password")),
            Some("Your current password is incorrect.".to_owned())
        );
        let common = backend
            .change_password(&laptop_ctx, PASSWORD, "password1234", "password1234", "")
            .await;
        assert!(
            common
                .err()
                .and_then(|e| e.message_for("new_password"))
                .is_some_and(|m| m.contains("too easy to guess"))
        );
        backend
            .change_password(
                &laptop_ctx,
                PASSWORD,
                "brand new passphrase",
                "brand new passphrase",
                "",
            )
            .await?;
        assert!(
            backend.current_user(&laptop_ctx).await?.is_some(),
            "this session stays"
        );
        assert!(
            backend
                .current_user(&context("192.0.2.1", Some(&phone)))
                .await?
                .is_none(),
            "others end"
        );
        assert!(
            backend
                .sign_in(&context("192.0.2.3", None), "ada@contoso.example", PASSWORD)
                .await
                .is_err()
        );
        assert!(
            backend
                .sign_in(
                    &context("192.0.2.3", None),
                    "ada@contoso.example",
                    "brand new passphrase"
                )
                .await
                .is_ok()
        );
    }
    Ok(())
}

fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap_or_default()
}

#[tokio::test]
async fn pages_need_a_session_and_cross_site_posts_are_refused() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    support::add_user(&backend, "ada@contoso.example").await;
    let app = router(support::state(backend.clone()));

    let response = app
        .clone()
        .oneshot(Request::get("/security-info").body(Body::empty())?)
        .await?;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/signin?next=/security-info")
    );

    let sign_in = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
        let mut request = Request::post("/api/sign_in")
            .header(header::HOST, "latchkey.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.body(Body::from(form(&[
            ("username", "ada@contoso.example"),
            ("password", PASSWORD),
            ("next", "/security-info"),
        ])))
    };
    for (origin, site) in [
        (Some("http://evil.example"), None),
        (None, Some("cross-site")),
        (Some("null"), None),
    ] {
        let response = app.clone().oneshot(sign_in(origin, site)?).await?;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{origin:?} {site:?}"
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await?;
        assert!(String::from_utf8_lossy(&body).contains("came from another website"));
    }

    let response = app
        .clone()
        .oneshot(sign_in(Some("http://latchkey.test"), Some("same-origin"))?)
        .await?;
    assert!(
        response.status().is_redirection() || response.status().is_success(),
        "{}",
        response.status()
    );
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no session cookie")?
        .to_owned();
    let response = app
        .clone()
        .oneshot(
            Request::get("/security-info")
                .header(header::COOKIE, cookie)
                .body(Body::empty())?,
        )
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_host_prefixed_and_secure() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let plain = support::backend(&database).await;
    support::set_up_organization(&plain).await;
    support::add_user(&plain, "ada@contoso.example").await;
    let settings = server::use_cases::BackendSettings {
        secure_cookies: true,
        ..Default::default()
    };
    let backend = server::use_cases::ServerBackend::new(
        database.store().await,
        plain.secret_key.clone(),
        settings,
    );
    let app = router(support::state(backend.clone()));
    let request = Request::post("/api/sign_in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(format!(
            "username=ada%40contoso.example&password={}",
            PASSWORD.replace(' ', "+")
        )))?;
    let response = app.clone().oneshot(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .ok_or("no Set-Cookie")?
        .to_owned();
    assert!(cookie.starts_with("__Host-latchkey_session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    // The prefixed cookie is the one read back; the plain name is not.
    let pair = cookie.split(';').next().unwrap_or_default().to_owned();
    let me = |cookie: String| {
        let app = app.clone();
        async move {
            let request = Request::get("/security-info")
                .header(header::COOKIE, cookie)
                .body(Body::empty())?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(app.oneshot(request).await?.status())
        }
    };
    assert_eq!(me(pair.clone()).await?, StatusCode::OK);
    let unprefixed = pair.replacen("__Host-", "", 1);
    assert_eq!(me(unprefixed).await?, StatusCode::SEE_OTHER);
    Ok(())
}

#[tokio::test]
async fn recent_activity_is_the_persons_own_newest_first_in_pages() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada_user = support::add_user(&backend, "ada@contoso.example").await;
        support::add_user(&backend, "bob@contoso.example").await;
        let (ada, _) =
            support::signed_in_with_authenticator(&backend, "ada@contoso.example", "192.0.2.1")
                .await?;
        let (bob, _) =
            support::signed_in_with_authenticator(&backend, "bob@contoso.example", "192.0.2.2")
                .await?;
        backend.create_app_password(&ada, "Outlook", "", "").await?;
        backend
            .create_app_password(&bob, "Bob's phone", "", "")
            .await?;
        // A failed sign-in is worth a second look.
        let _ = backend
            .sign_in(
                &context("203.0.113.9", None),
                "ada@contoso.example",
                "wrong!",
            )
            .await;

        let first = backend.recent_activity(&ada, None).await?;
        let titles: Vec<&str> = first.items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Sign-in failed",
                "App password created",
                "Authenticator app added",
                "Signed in"
            ],
            "{}",
            database.name
        );
        assert!(first.items[0].notable);
        assert_eq!(first.items[0].address.as_deref(), Some("203.0.113.9"));
        assert_eq!(first.items[1].detail.as_deref(), Some("Outlook"));
        assert_eq!(first.items[3].address.as_deref(), Some("192.0.2.1"));
        assert!(
            first
                .items
                .iter()
                .all(|i| i.detail.as_deref() != Some("Bob's phone")),
            "only the person's own"
        );
        assert_eq!(first.older, None);

        // Pages of twenty, newest first, without gaps or repeats.
        for n in 0..45 {
            backend
                .store()
                .audit(
                    Some(ada_user.id),
                    "sign_in.failed",
                    format!("attempt {n}"),
                    &server::db::Actor::default(),
                    chrono::Utc::now(),
                )
                .await?;
        }
        backend
            .store()
            .audit(
                Some(ada_user.id),
                "user.made_admin",
                "",
                &server::db::Actor::default(),
                chrono::Utc::now(),
            )
            .await?;
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = backend.recent_activity(&ada, before).await?;
            assert!(page.items.len() <= 20);
            seen.extend(page.items.iter().map(|i| i.id));
            match page.older {
                Some(older) => before = Some(older),
                None => break,
            }
        }
        assert_eq!(
            seen.len(),
            49,
            "45 + 4, the administrators' event not shown"
        );
        assert!(
            seen.windows(2).all(|w| w[0] > w[1]),
            "newest first: {seen:?}"
        );
        assert_eq!(
            backend
                .recent_activity(&context("192.0.2.1", None), None)
                .await,
            Err(AppError::Unauthorized)
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_preview_notice_stays_dismissed_for_the_person() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        support::add_user(&backend, "bob@contoso.example").await;
        let sign_in = |name: &'static str| {
            let backend = std::sync::Arc::clone(&backend);
            async move {
                let (_, cookie) = backend
                    .sign_in(&context("192.0.2.1", None), name, PASSWORD)
                    .await?;
                Ok::<_, AppError>(context("192.0.2.1", Some(&cookie)))
            }
        };
        let ada = sign_in("ada@contoso.example").await?;
        assert!(backend.security_info(&ada).await?.show_preview_notice);
        backend.dismiss_preview_notice(&ada).await?;
        assert!(!backend.security_info(&ada).await?.show_preview_notice);
        // In every later session, and for nobody else.
        let again = sign_in("ada@contoso.example").await?;
        assert!(!backend.security_info(&again).await?.show_preview_notice);
        let bob = sign_in("bob@contoso.example").await?;
        assert!(backend.security_info(&bob).await?.show_preview_notice);
    }
    Ok(())
}
