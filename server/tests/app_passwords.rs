//! App passwords below the browser, on SQLite and PostgreSQL: creation, the limit under
//! concurrency, ownership, policy, the fresh-sign-in rule, audit events.

mod support;

use app::backend::prelude::*;
use app::error::{AppError, Refusal};
use chrono::{Duration, Utc};
use server::db::NewAppPassword;
use server::domain::app_password::{AppPasswordSecret, LOOKUP_PURPOSE};
use server::use_cases::ServerBackend;
use support::{PASSWORD, TestDatabase, TestResult, code_for, context, now_unix};

/// A signed-in user with an authenticator app; returns their request context and TOTP secret.
async fn enrolled_user(
    backend: &ServerBackend,
    username: &str,
) -> Result<(RequestContext, String), Box<dyn std::error::Error + Send + Sync>> {
    support::add_user(backend, username).await;
    support::signed_in_with_authenticator(backend, username, "192.0.2.10").await
}

/// Adds `n` app passwords directly in storage (with placeholder hashes: fast).
async fn fill(backend: &ServerBackend, user_id: i32, n: usize) -> TestResult {
    for i in 0..n {
        backend
            .store()
            .create_app_password(
                NewAppPassword {
                    user_id,
                    name: format!("App {i}"),
                    name_key: format!("app {i}"),
                    lookup_hash: format!("placeholder-{user_id}-{i}"),
                    password_hash: "placeholder".to_owned(),
                },
                40,
                &server::db::Actor::default(),
                Utc::now(),
            )
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn create_shows_the_secret_once_and_stores_only_hashes() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ctx, _) = enrolled_user(&backend, "ada@contoso.example").await?;
        let created = backend
            .create_app_password(&ctx, "  Outlook 2010 ", "", "")
            .await?;
        assert_eq!(created.name, "Outlook 2010");
        let pattern = created.password.split(' ').collect::<Vec<_>>();
        assert_eq!(pattern.len(), 4, "{}", database.name);
        assert!(
            pattern
                .iter()
                .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_lowercase()))
        );

        let overview = backend.app_passwords(&ctx).await?;
        assert_eq!(overview.items.len(), 1);
        assert_eq!(overview.items[0].name, "Outlook 2010");
        assert_eq!(overview.items[0].last_used, "Never used");
        assert!(overview.can_create() && overview.limit == 40);

        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        let rows = backend.store().app_passwords_of(user.id).await?;
        let secret = AppPasswordSecret::normalize(&created.password).ok_or("normalize")?;
        assert!(
            !rows[0].password_hash.contains(secret.as_str())
                && rows[0].password_hash.starts_with("$argon2id$")
        );
        assert_eq!(
            rows[0].lookup_hash,
            backend
                .secret_key
                .keyed_hash(LOOKUP_PURPOSE, secret.as_str().as_bytes())
        );
        assert!(server::domain::password::verify_password(
            secret.as_str(),
            &rows[0].password_hash
        ));

        let duplicate = backend
            .create_app_password(&ctx, "OUTLOOK 2010", "", "")
            .await;
        assert!(
            duplicate
                .err()
                .and_then(|e| e.message_for("name"))
                .is_some_and(|m| m.contains("already have"))
        );
        assert!(
            backend
                .create_app_password(&ctx, "   ", "", "")
                .await
                .err()
                .and_then(|e| e.message_for("name"))
                .is_some()
        );
        assert!(
            backend
                .create_app_password(&ctx, &"x".repeat(65), "", "")
                .await
                .err()
                .and_then(|e| e.message_for("name"))
                .is_some()
        );

        let events = backend.store().audit_events_of(user.id).await?;
        assert!(events.iter().any(|e| e.kind == "app_password.created"
            && e.detail.contains("Outlook 2010")
            && e.ip.as_deref() == Some("192.0.2.10")));
        assert!(
            events.iter().all(|e| !e.detail.contains(secret.as_str())),
            "the secret is never logged"
        );
    }
    Ok(())
}

#[tokio::test]
async fn twenty_concurrent_creations_stop_at_exactly_forty() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ctx, _) = enrolled_user(&backend, "ada@contoso.example").await?;
        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        fill(&backend, user.id, 38).await?;
        let attempts: Vec<_> = (0..20)
            .map(|i| {
                let backend = backend.clone();
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    backend
                        .create_app_password(&ctx, &format!("Concurrent {i}"), "", "")
                        .await
                })
            })
            .collect();
        let (mut created, mut limited) = (0, 0);
        for attempt in attempts {
            match attempt.await? {
                Ok(_) => created += 1,
                Err(AppError::LimitReached { limit: 40 }) => limited += 1,
                Err(other) => panic!("{}: unexpected {other:?}", database.name),
            }
        }
        assert_eq!((created, limited), (2, 18), "{}", database.name);
        assert_eq!(backend.store().app_passwords_of(user.id).await?.len(), 40);
        assert!(backend.app_passwords(&ctx).await?.at_limit());
    }
    Ok(())
}

#[tokio::test]
async fn nobody_can_see_or_delete_another_persons_app_passwords() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ada, _) = enrolled_user(&backend, "ada@contoso.example").await?;
        let (bob, _) = enrolled_user(&backend, "bob@contoso.example").await?;
        let adas = backend
            .create_app_password(&ada, "Ada's mail", "", "")
            .await?;
        assert!(backend.app_passwords(&bob).await?.items.is_empty());
        assert_eq!(
            backend.delete_app_password(&bob, adas.id).await.err(),
            Some(AppError::AppPasswordGone),
            "{}",
            database.name
        );
        assert_eq!(
            backend.delete_app_password(&bob, 999_999).await.err(),
            Some(AppError::AppPasswordGone)
        );
        assert_eq!(backend.app_passwords(&ada).await?.items.len(), 1);
        backend.delete_app_password(&ada, adas.id).await?;
        assert!(backend.app_passwords(&ada).await?.items.is_empty());
        assert_eq!(
            backend.delete_app_password(&ada, adas.id).await.err(),
            Some(AppError::AppPasswordGone),
            "gone for good"
        );
        let anonymous = context("192.0.2.99", None);
        assert_eq!(
            backend.app_passwords(&anonymous).await.err(),
            Some(AppError::Unauthorized)
        );
        assert_eq!(
            backend
                .create_app_password(&anonymous, "x", "", "")
                .await
                .err(),
            Some(AppError::Unauthorized)
        );
    }
    Ok(())
}

#[tokio::test]
async fn rename_and_delete_all_are_the_persons_own_and_audited() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ada, _) = enrolled_user(&backend, "ada@contoso.example").await?;
        let (bob, _) = enrolled_user(&backend, "bob@contoso.example").await?;
        let mail = backend.create_app_password(&ada, "Mail", "", "").await?;
        let calendar = backend
            .create_app_password(&ada, "Calendar", "", "")
            .await?;
        let bobs = backend.create_app_password(&bob, "Phone", "", "").await?;

        let renamed = backend
            .rename_app_password(&ada, mail.id, "  Thunderbird at home ")
            .await?;
        assert_eq!(renamed.name, "Thunderbird at home", "{}", database.name);
        assert_eq!(renamed.id, mail.id);
        let taken = backend
            .rename_app_password(&ada, mail.id, "CALENDAR")
            .await
            .err();
        assert!(
            taken
                .as_ref()
                .and_then(|e| e.message_for("name"))
                .is_some_and(|m| m.contains("already have an app password named")),
            "{taken:?}"
        );
        assert!(
            backend
                .rename_app_password(&ada, mail.id, "   ")
                .await
                .err()
                .and_then(|e| e.message_for("name"))
                .is_some()
        );
        assert_eq!(
            backend
                .rename_app_password(&bob, mail.id, "Mine now")
                .await
                .err(),
            Some(AppError::AppPasswordGone),
            "not someone else's"
        );

        // The count confirmed must still be the count: nothing goes when it changed.
        assert_eq!(
            backend.delete_all_app_passwords(&ada, 1).await.err(),
            Some(AppError::ListChanged)
        );
        assert_eq!(backend.app_passwords(&ada).await?.items.len(), 2);
        assert_eq!(backend.delete_all_app_passwords(&ada, 2).await?, 2);
        assert!(backend.app_passwords(&ada).await?.items.is_empty());
        let bobs_list = backend.app_passwords(&bob).await?;
        assert_eq!(bobs_list.items.len(), 1, "only the person's own");
        assert_eq!(bobs_list.items[0].id, bobs.id);

        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("ada")?;
        let events = backend.store().audit_events_of(user.id).await?;
        let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
        assert_eq!(count("app_password.created"), 2);
        assert_eq!(count("app_password.renamed"), 1);
        assert_eq!(count("app_password.deleted"), 2);
        assert!(
            events
                .iter()
                .any(|e| e.detail == format!("'Calendar' (id {})", calendar.id))
        );
    }
    Ok(())
}

#[tokio::test]
async fn policy_off_refuses_creation_but_keeps_list_and_delete() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ctx, _) = enrolled_user(&backend, "ada@contoso.example").await?;
        let kept = backend
            .create_app_password(&ctx, "Thunderbird", "", "")
            .await?;
        support::set_policy(
            &backend,
            server::domain::policy::Setting::AllowAppPasswords,
            false,
        )
        .await?;
        let refused = backend.create_app_password(&ctx, "Another", "", "").await;
        assert!(
            matches!(
                &refused,
                Err(AppError::Forbidden(Refusal::AppPasswordsNotAllowed))
            ),
            "{}: {refused:?}",
            database.name
        );
        let overview = backend.app_passwords(&ctx).await?;
        assert!(!overview.allowed && !overview.can_create());
        assert_eq!(overview.items.len(), 1, "still listed");
        backend.delete_app_password(&ctx, kept.id).await?;
    }
    Ok(())
}

#[tokio::test]
async fn two_step_verification_and_a_fresh_sign_in_are_required() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "eve@contoso.example").await;
        let (_, cookie) = backend
            .sign_in(&context("192.0.2.1", None), "eve@contoso.example", PASSWORD)
            .await?;
        let eve = context("192.0.2.1", Some(&cookie));
        assert!(matches!(
            backend.create_app_password(&eve, "Mail", "", "").await,
            Err(AppError::Forbidden(Refusal::TwoStepVerificationFirst))
        ));
        assert!(!backend.app_passwords(&eve).await?.has_two_step);

        let (ada, secret) = enrolled_user(&backend, "ada@contoso.example").await?;
        let token = ada.session_token.clone().ok_or("token")?;
        let (session, _) = backend
            .store()
            .session_by_hash(&server::domain::session::token_hash(&token))
            .await?
            .ok_or("session")?;
        backend
            .store()
            .mark_session_verified(session.id, Utc::now() - Duration::minutes(11))
            .await?;
        assert_eq!(
            backend
                .create_app_password(&ada, "Mail", "", "")
                .await
                .err(),
            Some(AppError::ReverifyRequired),
            "{}",
            database.name
        );
        let wrong = backend.reverify(&ada, "wrong password!", "").await;
        assert!(
            wrong
                .err()
                .and_then(|e| e.message_for("password"))
                .is_some()
        );
        let no_code = backend.reverify(&ada, PASSWORD, "").await;
        assert!(
            no_code.err().and_then(|e| e.message_for("code")).is_some(),
            "the code is needed too"
        );
        backend
            .reverify(&ada, PASSWORD, &code_for(&secret, now_unix() + 30)?)
            .await?;
        assert!(
            backend
                .create_app_password(&ada, "Mail", "", "")
                .await
                .is_ok()
        );
    }
    Ok(())
}
