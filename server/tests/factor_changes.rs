//! Changing sign-in factors (deleting, starting or confirming an authenticator app, changing
//! the password) on SQLite and PostgreSQL: a sign-in within the last 10 minutes or one prompt
//! in the same request, the person's other sessions end, and one audit event each.

mod support;

use std::ops::Not;

use app::backend::prelude::*;
use app::error::AppError;
use chrono::{Duration, Utc};
use server::use_cases::ServerBackend;
use support::{PASSWORD, TestDatabase, TestResult, code_for, context, now_unix};

const ADA: &str = "ada@contoso.example";

/// Makes the session behind `ctx` look signed in 11 minutes ago.
async fn age(backend: &ServerBackend, ctx: &RequestContext) -> TestResult {
    let session = backend.signed_in(ctx).await?.ok_or("signed in")?.session;
    backend
        .store()
        .mark_session_verified(session.id, Utc::now() - Duration::minutes(11))
        .await?;
    Ok(())
}

async fn events(
    backend: &ServerBackend,
    kind: &str,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let user = backend.store().user_by_key(ADA).await?.ok_or("user")?;
    Ok(backend
        .store()
        .audit_events_of(user.id)
        .await?
        .iter()
        .filter(|e| e.kind == kind)
        .count())
}

#[tokio::test]
async fn deleting_the_authenticator_needs_a_recent_sign_in_or_one_prompt_and_ends_other_sessions()
-> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (ctx, secret) =
            support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        let (_, other) = backend
            .sign_in(&context("192.0.2.2", None), ADA, PASSWORD)
            .await?;
        let other = context("192.0.2.2", Some(&other));
        age(&backend, &ctx).await?;
        let app = support::first_authenticator_id(&backend, &ctx).await?;

        let asked = backend.delete_authenticator(&ctx, app, "", "").await;
        assert_eq!(asked, Err(AppError::ReverifyRequired), "{}", database.name);
        let wrong = backend.delete_authenticator(&ctx, app, "not it", "").await;
        assert!(
            wrong
                .err()
                .and_then(|e| e.message_for("password"))
                .is_some()
        );
        let no_code = backend
            .delete_authenticator(&ctx, app, PASSWORD, "000000")
            .await;
        assert_eq!(no_code, Err(AppError::wrong_code()));
        assert!(
            backend
                .security_info(&ctx)
                .await?
                .authenticators
                .is_empty()
                .not(),
            "nothing deleted"
        );

        backend
            .delete_authenticator(&ctx, app, PASSWORD, &code_for(&secret, now_unix() + 30)?)
            .await?;
        assert!(backend.security_info(&ctx).await?.authenticators.is_empty());
        assert!(
            backend.current_user(&other).await?.is_none(),
            "other session ended"
        );
        assert!(
            backend.current_user(&ctx).await?.is_some(),
            "this one stays"
        );
        assert_eq!(events(&backend, "authenticator.deleted").await?, 1);
    }
    Ok(())
}

#[tokio::test]
async fn adding_an_authenticator_needs_a_recent_sign_in_and_confirming_it_ends_other_sessions()
-> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (_, cookie) = backend
            .sign_in(&context("192.0.2.1", None), ADA, PASSWORD)
            .await?;
        let ctx = context("192.0.2.1", Some(&cookie));
        let (_, other) = backend
            .sign_in(&context("192.0.2.2", None), ADA, PASSWORD)
            .await?;
        let other = context("192.0.2.2", Some(&other));
        age(&backend, &ctx).await?;
        assert_eq!(
            backend
                .begin_authenticator(&ctx, &Default::default())
                .await
                .err(),
            Some(AppError::ReverifyRequired),
            "{}",
            database.name
        );
        let enrollment = backend
            .begin_authenticator(
                &ctx,
                &app::model::IdentityCheck::from_fields(Some(PASSWORD.to_owned().into()), None),
            )
            .await?;
        assert_eq!(events(&backend, "authenticator.started").await?, 1);
        // Confirmed within the 10 minutes the password just started.
        backend
            .confirm_authenticator(&ctx, &code_for(&enrollment.secret, now_unix())?, "")
            .await?;
        assert!(
            backend.current_user(&other).await?.is_none(),
            "other session ended"
        );
        assert_eq!(events(&backend, "authenticator.added").await?, 1);

        // Confirming long after starting asks again.
        backend
            .delete_authenticator(
                &ctx,
                support::first_authenticator_id(&backend, &ctx).await?,
                "",
                "",
            )
            .await?;
        let enrollment = backend
            .begin_authenticator(&ctx, &Default::default())
            .await?;
        age(&backend, &ctx).await?;
        assert_eq!(
            backend
                .confirm_authenticator(&ctx, &code_for(&enrollment.secret, now_unix() + 30)?, "")
                .await,
            Err(AppError::ReverifyRequired)
        );
    }
    Ok(())
}

#[tokio::test]
async fn changing_the_password_after_ten_minutes_needs_the_code_too_in_one_prompt() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        // Another browser, signed in before the authenticator app was added.
        let (_, other) = backend
            .sign_in(&context("192.0.2.2", None), ADA, PASSWORD)
            .await?;
        let other = context("192.0.2.2", Some(&other));
        let (ctx, secret) =
            support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        age(&backend, &ctx).await?;
        let new = "a brand new passphrase";
        let without_code = backend.change_password(&ctx, PASSWORD, new, new, "").await;
        assert_eq!(
            without_code,
            Err(AppError::invalid(
                "code",
                "Enter the 6-digit code from your authenticator app."
            )),
            "{}",
            database.name
        );
        backend
            .change_password(
                &ctx,
                PASSWORD,
                new,
                new,
                &code_for(&secret, now_unix() + 30)?,
            )
            .await?;
        assert!(
            backend.current_user(&other).await?.is_none(),
            "other session ended"
        );
        assert_eq!(events(&backend, "password.changed").await?, 1);
        // Proven just now: no code needed for a second change.
        backend
            .change_password(
                &ctx,
                new,
                "another new passphrase",
                "another new passphrase",
                "",
            )
            .await?;
        assert!(
            backend
                .sign_in(&context("192.0.2.3", None), ADA, "another new passphrase")
                .await
                .is_ok()
        );
    }
    Ok(())
}

#[tokio::test]
async fn where_the_organization_requires_two_step_the_last_second_factor_cannot_be_deleted()
-> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (ctx, _) = support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        support::set_policy(
            &backend,
            server::domain::policy::Setting::RequireTwoStep,
            true,
        )
        .await?;
        let refused = backend
            .delete_authenticator(
                &ctx,
                support::first_authenticator_id(&backend, &ctx).await?,
                "",
                "",
            )
            .await;
        assert!(
            matches!(
                &refused,
                Err(AppError::Forbidden(
                    app::error::Refusal::TwoStepRequiredByOrganization
                ))
            ),
            "{}: {refused:?}",
            database.name
        );
        let info = backend.security_info(&ctx).await?;
        assert!(!info.authenticators.is_empty() && !info.two_step_required);
        // Someone without an authenticator app is asked to add one when they sign in.
        support::add_user(&backend, "bob@contoso.example").await;
        let (step, cookie) = backend
            .sign_in(
                &context("192.0.2.2", None),
                "bob@contoso.example",
                support::PASSWORD,
            )
            .await?;
        assert_eq!(step, app::model::SignInStep::TwoStepRequired);
        let bob = context("192.0.2.2", Some(&cookie));
        assert!(backend.security_info(&bob).await?.two_step_required);
        support::set_policy(
            &backend,
            server::domain::policy::Setting::RequireTwoStep,
            false,
        )
        .await?;
        backend
            .delete_authenticator(
                &ctx,
                support::first_authenticator_id(&backend, &ctx).await?,
                "",
                "",
            )
            .await?;
    }
    Ok(())
}
