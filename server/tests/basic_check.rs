//! `GET /auth/basic`, the password check for non-browser apps, on SQLite and PostgreSQL: only
//! app passwords are accepted, spaces and case are ignored, and a deleted app password, a
//! disabled user or app passwords turned off are refused at once.

mod support;

use app::backend::Backend;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use server::http::router;
use support::{PASSWORD, TestDatabase, TestResult, code_for, context, now_unix};
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
        let (_, cookie) = backend
            .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
            .await?;
        let ctx = context("192.0.2.1", Some(&cookie));
        let enrollment = backend.begin_authenticator(&ctx).await?;
        backend
            .confirm_authenticator(&ctx, &code_for(&enrollment.secret, now_unix())?)
            .await?;
        let created = backend.create_app_password(&ctx, "Outlook 2010").await?;
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
                .starts_with("Last used just now"),
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
        backend.store.set_policy(Some(false), None).await?;
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::UNAUTHORIZED,
            "policy off"
        );
        backend.store.set_policy(Some(true), None).await?;
        let user = backend
            .store
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        backend.store.set_enabled(user.id, false).await?;
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::UNAUTHORIZED,
            "disabled user"
        );
        backend.store.set_enabled(user.id, true).await?;
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::NO_CONTENT
        );

        // Deleted on one instance, refused by another sharing the database at once.
        let other = router(support::state(
            support::backend_with_key_of(&database, &backend).await,
        ));
        assert_eq!(
            check(&other, Some(&good)).await?.status(),
            StatusCode::NO_CONTENT
        );
        backend
            .store
            .delete_app_password(user.id, created.id)
            .await?;
        assert_eq!(
            check(&other, Some(&good)).await?.status(),
            StatusCode::UNAUTHORIZED,
            "deleted"
        );
        assert_eq!(
            check(&app, Some(&good)).await?.status(),
            StatusCode::UNAUTHORIZED,
            "deleted"
        );
    }
    Ok(())
}
