//! Several authenticator apps per person, on SQLite and PostgreSQL: each named at its first
//! code, listed on Security info with its last use, each one's code signs in (once), renamed
//! and deleted one by one (the last one under today's rules: app passwords stop, refused where
//! the organization requires two-step verification), at most five, one pending at a time.

mod support;

use app::backend::prelude::*;
use app::error::{AppError, Refusal};
use app::model::{SecondStepWay, SignInStep};
use server::domain::policy::Setting;
use server::use_cases::ServerBackend;
use support::{PASSWORD, TestDatabase, TestResult, code_for, context, now_unix};

const ADA: &str = "ada@contoso.example";

/// Adds an authenticator app named `name` to the person of `ctx`; returns its secret.
async fn add_app(
    backend: &ServerBackend,
    ctx: &RequestContext,
    name: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let enrollment = backend
        .begin_authenticator(ctx, &Default::default())
        .await?;
    backend
        .confirm_authenticator(ctx, &code_for(&enrollment.secret, now_unix())?, name)
        .await?;
    Ok(enrollment.secret)
}

/// The names of the person's apps as Security info lists them.
async fn names(
    backend: &ServerBackend,
    ctx: &RequestContext,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(backend
        .security_info(ctx)
        .await?
        .authenticators
        .into_iter()
        .map(|app| app.name)
        .collect())
}

/// A sign-in from `ip` up to its second step.
async fn pending_sign_in(
    backend: &ServerBackend,
    ip: &str,
) -> Result<RequestContext, Box<dyn std::error::Error + Send + Sync>> {
    let (step, cookie) = backend.sign_in(&context(ip, None), ADA, PASSWORD).await?;
    assert_eq!(
        step,
        SignInStep::SecondStep(SecondStepWay::AuthenticatorApp)
    );
    Ok(context(ip, Some(&cookie)))
}

#[tokio::test]
async fn each_app_signs_in_with_its_own_codes_and_goes_on_its_own() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (ada, phone) =
            support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        let tablet = add_app(&backend, &ada, "  Tablet  ").await?;
        assert_eq!(
            names(&backend, &ada).await?,
            ["Authenticator app", "Tablet"],
            "{name}: named at the first code (trimmed), the default name without one"
        );
        let info = backend.security_info(&ada).await?;
        assert!(
            info.authenticators
                .iter()
                .all(|app| app.last_used.is_none())
        );
        assert_eq!(info.default_method, "Authenticator app", "{name}");

        // Either app's code finishes a sign-in, and the code used is spent.
        let second = pending_sign_in(&backend, "192.0.2.2").await?;
        let tablet_code = code_for(&tablet, now_unix() + 30)?;
        backend.verify_sign_in_code(&second, &tablet_code).await?;
        let third = pending_sign_in(&backend, "192.0.2.3").await?;
        assert_eq!(
            backend
                .verify_sign_in_code(&third, &tablet_code)
                .await
                .err(),
            Some(AppError::wrong_code()),
            "{name}: a code works once"
        );
        backend
            .verify_sign_in_code(&third, &code_for(&phone, now_unix() + 30)?)
            .await?;
        let used: Vec<bool> = backend
            .security_info(&ada)
            .await?
            .authenticators
            .iter()
            .map(|app| app.last_used.is_some())
            .collect();
        assert_eq!(used, [true, true], "{name}: each app's last use");

        // Renamed, only by its owner, to a name of at most 64 characters.
        let ids: Vec<i32> = backend
            .security_info(&ada)
            .await?
            .authenticators
            .iter()
            .map(|app| app.id)
            .collect();
        backend.rename_authenticator(&ada, ids[0], "Phone").await?;
        assert_eq!(names(&backend, &ada).await?, ["Phone", "Tablet"], "{name}");
        assert!(matches!(
            backend
                .rename_authenticator(&ada, ids[0], &"x".repeat(65))
                .await,
            Err(AppError::Invalid { .. })
        ));
        support::add_user(&backend, "bob@contoso.example").await;
        let (bob, _) =
            support::signed_in_with_authenticator(&backend, "bob@contoso.example", "192.0.2.9")
                .await?;
        assert_eq!(
            backend
                .rename_authenticator(&bob, ids[0], "Mine")
                .await
                .err(),
            Some(AppError::Forbidden(Refusal::AuthenticatorGone)),
            "{name}: not someone else's"
        );
        assert_eq!(
            backend.delete_authenticator(&bob, ids[0], "", "").await,
            Ok(()),
            "{name}: deleting someone else's finds nothing"
        );
        assert_eq!(names(&backend, &ada).await?, ["Phone", "Tablet"], "{name}");

        // One goes; the other still signs in and still counts for app passwords.
        backend.create_app_password(&ada, "Mail", "", "").await?;
        backend.delete_authenticator(&ada, ids[0], "", "").await?;
        let info = backend.security_info(&ada).await?;
        assert!(info.has_two_step, "{name}");
        assert_eq!(names(&backend, &ada).await?, ["Tablet"], "{name}");
        assert!(backend.app_passwords(&ada).await?.has_two_step, "{name}");
        let fourth = pending_sign_in(&backend, "192.0.2.4").await?;
        assert_eq!(
            backend
                .verify_sign_in_code(&fourth, &code_for(&phone, now_unix() + 60)?)
                .await
                .err(),
            Some(AppError::wrong_code()),
            "{name}: a deleted app's codes no longer sign in"
        );

        // The last one, where the organization requires two-step verification: refused.
        support::set_policy(&backend, Setting::RequireTwoStep, true).await?;
        assert_eq!(
            backend.delete_authenticator(&ada, ids[1], "", "").await,
            Err(AppError::Forbidden(Refusal::TwoStepRequiredByOrganization)),
            "{name}"
        );
        support::set_policy(&backend, Setting::RequireTwoStep, false).await?;
        backend.delete_authenticator(&ada, ids[1], "", "").await?;
        let info = backend.security_info(&ada).await?;
        assert!(
            !info.has_two_step && info.default_method == "Password",
            "{name}"
        );
        assert!(!backend.app_passwords(&ada).await?.has_two_step, "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn five_apps_at_most_and_one_pending_at_a_time() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (ada, _) = support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        for n in 2..=5 {
            add_app(&backend, &ada, &format!("App {n}")).await?;
        }
        assert_eq!(
            backend
                .begin_authenticator(&ada, &Default::default())
                .await
                .err(),
            Some(AppError::Forbidden(Refusal::AuthenticatorLimitReached {
                limit: 5
            })),
            "{name}"
        );
        let id = support::first_authenticator_id(&backend, &ada).await?;
        backend.delete_authenticator(&ada, id, "", "").await?;
        // Starting twice leaves one pending app: the second QR code.
        let first = backend
            .begin_authenticator(&ada, &Default::default())
            .await?;
        let second = backend
            .begin_authenticator(&ada, &Default::default())
            .await?;
        assert_ne!(first.secret, second.secret);
        let pending = backend
            .pending_authenticator(&ada)
            .await?
            .ok_or("pending")?;
        assert_eq!(pending.secret, second.secret, "{name}");
        assert_eq!(
            backend
                .confirm_authenticator(&ada, &code_for(&first.secret, now_unix())?, "")
                .await
                .err(),
            Some(AppError::wrong_code()),
            "{name}: the replaced QR code's codes do not confirm"
        );
        backend
            .confirm_authenticator(&ada, &code_for(&second.secret, now_unix())?, "Spare")
            .await?;
        assert_eq!(names(&backend, &ada).await?.len(), 5, "{name}");
        assert!(backend.pending_authenticator(&ada).await?.is_none());
    }
    Ok(())
}

/// Ten minutes after the sign-in, a second authenticator app starts only with the password and
/// a code of the first (the password alone is told that the code is missing, and counts for
/// nothing), as every other "confirm it's you" asks.
#[tokio::test]
async fn a_second_app_after_ten_minutes_asks_for_the_password_and_a_code() -> TestResult {
    use app::model::IdentityCheck;
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (ada, first) =
            support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        let session = backend.signed_in(&ada).await?.ok_or("signed in")?.session;
        backend
            .store()
            .mark_session_verified(
                session.id,
                chrono::Utc::now() - chrono::Duration::minutes(11),
            )
            .await?;
        let check = |code: Option<String>| {
            IdentityCheck::from_fields(Some(PASSWORD.to_owned().into()), code.map(Into::into))
        };
        assert_eq!(
            backend
                .begin_authenticator(&ada, &Default::default())
                .await
                .err(),
            Some(AppError::ReverifyRequired),
            "{name}"
        );
        let refused = backend.begin_authenticator(&ada, &check(None)).await.err();
        assert!(
            refused
                .as_ref()
                .and_then(|e| e.message_for("code"))
                .is_some(),
            "{name}: {refused:?}"
        );
        // A code of the next 30 seconds: the one of the sign-in cannot be used twice.
        let code = code_for(&first, now_unix() + 30)?;
        let enrollment = backend
            .begin_authenticator(&ada, &check(Some(code)))
            .await?;
        backend
            .confirm_authenticator(&ada, &code_for(&enrollment.secret, now_unix())?, "Tablet")
            .await?;
        assert_eq!(
            names(&backend, &ada).await?,
            ["Authenticator app", "Tablet"],
            "{name}"
        );
    }
    Ok(())
}
