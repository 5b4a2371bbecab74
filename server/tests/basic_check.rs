//! `GET /auth/basic`, the password check for non-browser apps, on SQLite and PostgreSQL: only
//! app passwords are accepted, spaces and case are ignored, and a deleted app password, a
//! disabled user or app passwords turned off are refused at once (by other instances: see
//! `scale_out.rs`).

mod support;

use app::backend::prelude::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use server::http::router;
use support::{PASSWORD, TestDatabase, TestResult, context};
use tower::ServiceExt;

async fn check(
    app: &axum::Router,
    authorization: Option<&str>,
) -> Result<axum::response::Response, Box<dyn std::error::Error + Send + Sync>> {
    let mut request = Request::get("/auth/basic");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    Ok(app.clone().oneshot(request.body(Body::empty())?).await?)
}

/// A check as it arrives from `peer`, optionally through a proxy that names the client.
async fn check_from(
    app: &axum::Router,
    authorization: &str,
    peer: &str,
    forwarded_for: Option<&str>,
) -> Result<axum::response::Response, Box<dyn std::error::Error + Send + Sync>> {
    let peer: std::net::SocketAddr = format!("{peer}:50000").parse()?;
    let mut request = Request::get("/auth/basic")
        .header(header::AUTHORIZATION, authorization)
        .header(header::USER_AGENT, "Thunderbird/115")
        .extension(axum::extract::ConnectInfo(peer));
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    Ok(app.clone().oneshot(request.body(Body::empty())?).await?)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn only_a_users_live_app_password_passes() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ctx, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Outlook 2010").await?;
        let app = router(support::state(backend.clone()));

        let response = check(&app, Some(&basic("ada@contoso.example", &created.password))).await?;
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "{}",
            database.name
        );
        assert_eq!(
            response
                .headers()
                .get("x-latchkey-user")
                .and_then(|v| v.to_str().ok()),
            Some("ada@contoso.example")
        );
        assert_eq!(
            response
                .headers()
                .get("x-latchkey-app-password")
                .and_then(|v| v.to_str().ok()),
            Some(created.id.to_string().as_str())
        );
        let squashed = created.password.replace(' ', "").to_uppercase();
        assert_eq!(
            check(&app, Some(&basic("ADA@contoso.example", &squashed)))
                .await?
                .status(),
            StatusCode::NO_CONTENT
        );

        // Last use is recorded (from this client) and shown.
        let overview = backend.app_passwords(&ctx).await?;
        assert!(
            overview.items[0]
                .last_used
                .starts_with("Last used: just now"),
            "{}",
            overview.items[0].last_used
        );

        for (what, header_value) in [
            ("no header", None),
            (
                "account password",
                Some(basic("ada@contoso.example", PASSWORD)),
            ),
            (
                "wrong app password",
                Some(basic("ada@contoso.example", "abcd efgh ijkl mnop")),
            ),
            (
                "someone else's name",
                Some(basic("bob@contoso.example", &created.password)),
            ),
            ("malformed", Some("Basic !!!".to_owned())),
        ] {
            let response = check(&app, header_value.as_deref()).await?;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
            assert_eq!(
                response
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok()),
                Some("Basic realm=\"Latchkey\", charset=\"UTF-8\""),
                "{what}"
            );
        }

        let good = basic("ada@contoso.example", &created.password);
        support::set_policy(
            &backend,
            server::domain::policy::Setting::AllowAppPasswords,
            false,
        )
        .await?;
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::UNAUTHORIZED,
            "policy off"
        );
        support::set_policy(
            &backend,
            server::domain::policy::Setting::AllowAppPasswords,
            true,
        )
        .await?;
        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        backend
            .store()
            .set_enabled(
                user.id,
                false,
                &server::db::Actor::default(),
                chrono::Utc::now(),
            )
            .await?;
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::UNAUTHORIZED,
            "disabled user"
        );
        backend
            .store()
            .set_enabled(
                user.id,
                true,
                &server::db::Actor::default(),
                chrono::Utc::now(),
            )
            .await?;
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::NO_CONTENT
        );

        // Without a second factor on the account, app passwords do not sign in (even one
        // verified a moment ago); adding an authenticator app again brings them back.
        backend.store().delete_authenticator(user.id).await?;
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::UNAUTHORIZED,
            "{}: no second factor",
            database.name
        );
        let (_, cookie) = backend
            .sign_in(
                &support::context("192.0.2.1", None),
                "ada@contoso.example",
                PASSWORD,
            )
            .await?;
        let ctx = support::context("192.0.2.1", Some(&cookie));
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
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::NO_CONTENT,
            "second factor back"
        );

        // Deleted on one instance, refused by another sharing the database.
        let other = router(support::state(
            support::backend_with_key_of(&database, &backend).await,
        ));
        assert_eq!(
            check(&other, Some(&good)).await?.status(),
            StatusCode::NO_CONTENT
        );
        backend
            .store()
            .remove_app_passwords(
                user.id,
                server::db::Which::Ids(&[created.id]),
                server::db::Remover::Owner,
                &server::db::Actor::default(),
                chrono::Utc::now(),
            )
            .await?;
        // Refused at once by the instance that deleted it; by the other (whose check was
        // cached) as soon as the database tells it, within a second.
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::UNAUTHORIZED,
            "deleted"
        );
        let refused = support::time_until(std::time::Duration::from_secs(1), async || {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                check(&other, Some(&good)).await?.status() == StatusCode::UNAUTHORIZED,
            )
        })
        .await?;
        assert!(
            refused.is_some(),
            "{}: still accepted by the other instance",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn repeat_and_concurrent_checks_run_argon2_once_and_misses_never() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (_, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let app = router(support::state(backend.clone()));
        let good = basic("ada@contoso.example", &created.password);
        let runs_before = backend.app_password_checker.argon2_runs();

        // Eight connections of one mail client at once: one argon2 between them.
        let mut first = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (app, good) = (app.clone(), good.clone());
            first.spawn(async move { check_from(&app, &good, "192.0.2.7", None).await });
        }
        while let Some(done) = first.join_next().await {
            assert_eq!(done??.status(), StatusCode::NO_CONTENT, "{}", database.name);
        }
        assert_eq!(
            backend.app_password_checker.argon2_runs() - runs_before,
            1,
            "{}",
            database.name
        );

        // Repeat sign-ins and misses cost no argon2.
        for _ in 0..5 {
            assert_eq!(
                check_from(&app, &good, "192.0.2.7", None).await?.status(),
                StatusCode::NO_CONTENT
            );
        }
        let miss = basic("ada@contoso.example", "abcd efgh ijkl mnop");
        assert_eq!(
            check_from(&app, &miss, "192.0.2.7", None).await?.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            backend.app_password_checker.argon2_runs() - runs_before,
            1,
            "{}",
            database.name
        );

        // The cache never outlives the row: deleted means refused on the next check.
        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        backend
            .store()
            .remove_app_passwords(
                user.id,
                server::db::Which::Ids(&[created.id]),
                server::db::Remover::Owner,
                &server::db::Actor::default(),
                chrono::Utc::now(),
            )
            .await?;
        assert_eq!(
            check_from(&app, &good, "192.0.2.7", None).await?.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    Ok(())
}

#[tokio::test]
async fn failures_are_throttled_per_username_and_address_apart_from_web_sign_in() -> TestResult {
    use server::domain::throttle::FailureLimit;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        support::add_user(&backend, "bob@contoso.example").await;
        let (ada_ctx, phone) =
            support::app_password_for(&backend, "ada@contoso.example", "Phone").await?;
        let desk = backend
            .create_app_password(&ada_ctx, "Laptop", "", "")
            .await?;
        let (bob_ctx, bobs) =
            support::app_password_for(&backend, "bob@contoso.example", "Mail").await?;
        let app = router(support::state(backend.clone()));
        let phone = basic("ada@contoso.example", &phone.password);
        // The phone's app password works before the trouble starts (and is now known good).
        assert_eq!(
            check_from(&app, &phone, "192.0.2.7", None).await?.status(),
            StatusCode::NO_CONTENT
        );

        // An old client keeps trying a stale password for Ada.
        let stale = basic("ada@contoso.example", "abcd efgh ijkl mnop");
        for _ in 0..FailureLimit::PER_USERNAME.max_failures {
            assert_eq!(
                check_from(&app, &stale, "192.0.2.50", None).await?.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let throttled = check_from(&app, &stale, "192.0.2.50", None).await?;
        assert_eq!(
            throttled.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            database.name
        );
        let retry_after: u64 = throttled
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or("Retry-After")?;
        assert!((1..=300).contains(&retry_after), "{retry_after}");
        // A right app password is never turned away: not one verified recently (cached)...
        assert_eq!(
            check_from(&app, &phone, "192.0.2.7", None).await?.status(),
            StatusCode::NO_CONTENT
        );
        // ...nor one never used (argon2), nor from the address that was failing, nor on a
        // second instance sharing the database, whose cache is empty.
        let desk = basic("ada@contoso.example", &desk.password);
        let runs_before = backend.app_password_checker.argon2_runs();
        assert_eq!(
            check_from(&app, &desk, "192.0.2.50", None).await?.status(),
            StatusCode::NO_CONTENT,
            "{}",
            database.name
        );
        assert_eq!(backend.app_password_checker.argon2_runs(), runs_before + 1);
        // The second instance shares the count: the stale password is held back there too,
        // from its first try.
        let second = support::backend_with_key_of(&database, &backend).await;
        let second_app = router(support::state(second.clone()));
        assert_eq!(
            check_from(&second_app, &stale, "192.0.2.50", None)
                .await?
                .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            check_from(&second_app, &phone, "192.0.2.50", None)
                .await?
                .status(),
            StatusCode::NO_CONTENT,
            "{}",
            database.name
        );
        // nor other people, nor Ada's web sign-in.
        let bob = basic("bob@contoso.example", &bobs.password);
        assert_eq!(
            check_from(&app, &bob, "192.0.2.9", None).await?.status(),
            StatusCode::NO_CONTENT
        );
        backend
            .sign_in(
                &context("192.0.2.50", None),
                "ada@contoso.example",
                PASSWORD,
            )
            .await?;

        // One address guessing many names is held back too, by its real address behind nginx.
        for n in 0..FailureLimit::PER_CLIENT_IP.max_failures {
            let guess = basic(&format!("user{n}@contoso.example"), "abcd efgh ijkl mnop");
            assert_eq!(
                check_from(&app, &guess, "127.0.0.1", Some("198.51.100.4"))
                    .await?
                    .status(),
                StatusCode::UNAUTHORIZED
            );
        }
        // Its wrong guesses are throttled; Bob's app passwords, old and new, still work there.
        let guess = basic("bob@contoso.example", "abcd efgh ijkl mnop");
        assert_eq!(
            check_from(&app, &guess, "127.0.0.1", Some("198.51.100.4"))
                .await?
                .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        let bob_new = backend
            .create_app_password(&bob_ctx, "Tablet", "", "")
            .await?;
        let bob_new = basic("bob@contoso.example", &bob_new.password);
        for credentials in [&bob, &bob_new] {
            assert_eq!(
                check_from(&app, credentials, "127.0.0.1", Some("198.51.100.4"))
                    .await?
                    .status(),
                StatusCode::NO_CONTENT
            );
        }

        // The throttling is in the audit log once, however many instances answered.
        let ada = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        let ada_events = backend.store().audit_events_of(ada.id).await?;
        assert_eq!(
            ada_events
                .iter()
                .filter(|e| e.kind == "app_password.throttled")
                .count(),
            1,
            "{}",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn first_use_from_each_address_is_audited_once_and_last_use_written_once_a_minute()
-> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ctx, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let app = router(support::state(backend.clone()));
        let good = basic("ada@contoso.example", &created.password);

        for (peer, forwarded_for) in [
            ("127.0.0.1", Some("192.0.2.7")),
            ("192.0.2.7", None),
            ("127.0.0.1", Some("192.0.2.8")),
            ("192.0.2.8", None),
            // A phone's IPv6 privacy addresses change within its /64: one network, one alert.
            ("127.0.0.1", Some("2001:db8:1:2::10")),
            ("127.0.0.1", Some("2001:db8:1:2:a:b:c:d")),
            // A mail server on this machine asking (no client address given): not a place.
            ("127.0.0.1", None),
        ] {
            assert_eq!(
                check_from(&app, &good, peer, forwarded_for).await?.status(),
                StatusCode::NO_CONTENT
            );
        }
        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        let new_ip_events: Vec<_> = backend
            .store()
            .audit_events_of(user.id)
            .await?
            .into_iter()
            .filter(|e| e.kind == "app_password.new_ip")
            .filter_map(|e| e.ip)
            .collect();
        assert_eq!(
            new_ip_events,
            ["2001:db8:1:2::10", "192.0.2.8", "192.0.2.7"],
            "{}",
            database.name
        );

        // Written by the first check only (the others came within the minute).
        let overview = backend.app_passwords(&ctx).await?;
        assert_eq!(
            overview.items[0].last_used,
            "Last used: Thunderbird, just now from 192.0.2.7"
        );
        let rows = backend.store().app_passwords_of(user.id).await?;
        assert_eq!(rows[0].last_used_client.as_deref(), Some("Thunderbird/115"));
    }
    Ok(())
}

#[tokio::test]
async fn an_unreachable_database_answers_503_not_401() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let app = router(support::state(backend.clone()));
        backend.store().connection().clone().close().await?;
        let response = check(
            &app,
            Some(&basic("ada@contoso.example", "abcd efgh ijkl mnop")),
        )
        .await?;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            database.name
        );
    }
    Ok(())
}
