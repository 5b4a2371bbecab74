//! One-time password links: an administrator adds a person or resets a password, and the
//! person sets their own password with the link. The link works once, for 24 hours; a reset
//! locks the old password at once and ends the person's sessions. SQLite and PostgreSQL.

mod support;

use app::backend::prelude::*;
use app::error::AppError;
use app::model::{NewPersonValues, PolicySetting};
use chrono::{Duration, Utc};
use server::domain::password_link;
use support::{PASSWORD, TestDatabase, TestResult, context};

const NEW_PASSWORD: &str = "lantern orchard velvet";

async fn admin_context(
    backend: &server::use_cases::ServerBackend,
) -> Result<RequestContext, Box<dyn std::error::Error + Send + Sync>> {
    let (_, cookie) = backend
        .sign_in(
            &context("192.0.2.1", None),
            "admin@contoso.example",
            PASSWORD,
        )
        .await?;
    Ok(context("192.0.2.1", Some(&cookie)))
}

/// The token in a link's URL.
fn token_of(url: &str) -> String {
    url.rsplit_once("token=")
        .map(|(_, token)| token.to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_new_person_sets_their_first_password_with_the_link_once() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let admin = admin_context(&backend).await?;
        let person = NewPersonValues {
            username: "Grace@contoso.example".to_owned(),
            display_name: "Grace Hopper".to_owned(),
            administrator: false,
        };
        let link = backend
            .add_person(
                &admin,
                person.clone(),
                &app::model::IdentityCheck::default(),
            )
            .await?;
        assert_eq!(link.username, "Grace@contoso.example");
        assert!(link.url.contains("/set-password?token="), "{}", link.url);
        let token = token_of(&link.url);
        assert!(password_link::is_well_formed(&token));
        // Only its hash is kept.
        let kept = backend.store().audit_events(None, None).await?;
        assert!(kept.iter().all(|e| !e.detail.contains(&token)));

        // The same sign-in name again is refused with the field it concerns.
        let again = backend
            .add_person(&admin, person, &app::model::IdentityCheck::default())
            .await;
        assert_eq!(
            again.err().and_then(|e| e.message_for("username")),
            Some("That sign-in name is already taken.".to_owned())
        );
        // Until they set a password, no password signs them in.
        let anyone = context("198.51.100.7", None);
        assert_eq!(
            backend
                .sign_in(&anyone, "grace@contoso.example", "")
                .await
                .err(),
            Some(AppError::SignInFailed)
        );

        let greeting = backend.password_link(&token).await?;
        assert_eq!(greeting.display_name, "Grace Hopper");
        assert!(greeting.first_password);

        // Refused passwords leave the link working.
        let weak = backend
            .set_password_with_link(&token, "short", "short", &anyone)
            .await;
        assert!(weak.err().and_then(|e| e.message_for("password")).is_some());
        let mismatch = backend
            .set_password_with_link(&token, NEW_PASSWORD, "lantern orchard", &anyone)
            .await;
        assert!(
            mismatch
                .err()
                .and_then(|e| e.message_for("confirm_password"))
                .is_some()
        );
        let own_name = backend
            .set_password_with_link(
                &token,
                "grace@contoso.example",
                "grace@contoso.example",
                &anyone,
            )
            .await;
        assert!(
            own_name
                .err()
                .and_then(|e| e.message_for("password"))
                .is_some()
        );

        let username = backend
            .set_password_with_link(&token, NEW_PASSWORD, NEW_PASSWORD, &anyone)
            .await?;
        assert_eq!(username, "Grace@contoso.example");
        backend
            .sign_in(&anyone, "grace@contoso.example", NEW_PASSWORD)
            .await?;

        // Once only; and tokens that are not ours are not found, whatever their shape.
        for token in [token.as_str(), "", "nope", &"f".repeat(64), &"é".repeat(32)] {
            assert_eq!(
                backend.password_link(token).await.err(),
                Some(AppError::NotFound),
                "{token:?}"
            );
            assert_eq!(
                backend
                    .set_password_with_link(token, NEW_PASSWORD, NEW_PASSWORD, &anyone)
                    .await
                    .err(),
                Some(AppError::NotFound),
                "{token:?}"
            );
        }
        let events = backend.store().audit_events(None, None).await?;
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert!(
            kinds.contains(&"user.added"),
            "{}: {kinds:?}",
            database.name
        );
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == "password.set_with_link")
                .count(),
            1
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_reset_locks_the_password_at_once_and_its_link_lasts_a_day() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ada, _) = support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let admin = admin_context(&backend).await?;

        let first = backend
            .reset_password_of_person(
                &admin,
                "ada@contoso.example",
                &app::model::IdentityCheck::default(),
            )
            .await?;
        assert!(
            first.detail.contains("1 app password was revoked"),
            "{}",
            first.detail
        );
        // Her session ended, her password and app password stopped working.
        assert!(backend.current_user(&ada).await?.is_none());
        let anyone = context("198.51.100.7", None);
        assert_eq!(
            backend
                .sign_in(&anyone, "ada@contoso.example", PASSWORD)
                .await
                .err(),
            Some(AppError::SignInFailed)
        );
        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("ada")?;
        assert!(backend.store().app_passwords_of(user.id).await?.is_empty());
        let greeting = backend.password_link(&token_of(&first.url)).await?;
        assert!(!greeting.first_password);

        // A second reset replaces the first link.
        let second = backend
            .reset_password_of_person(
                &admin,
                "ada@contoso.example",
                &app::model::IdentityCheck::default(),
            )
            .await?;
        assert_eq!(
            backend.password_link(&token_of(&first.url)).await.err(),
            Some(AppError::NotFound)
        );
        let token = token_of(&second.url);
        let hash = password_link::token_hash(&token);

        // 24 hours: working just before, not after (the store is asked at those moments).
        let now = Utc::now();
        let just_before = now + Duration::hours(24) - Duration::minutes(1);
        let after = now + Duration::hours(24) + Duration::minutes(1);
        assert!(
            backend
                .store()
                .password_link(&hash, just_before)
                .await?
                .is_some()
        );
        assert!(backend.store().password_link(&hash, after).await?.is_none());
        let late = backend
            .store()
            .set_password_with_link(&hash, "unused".to_owned(), &Default::default(), after)
            .await;
        assert!(matches!(late, Err(server::db::StoreError::NotFound)));

        // Two people using one link at once: one of them sets the password.
        let (a, b) = tokio::join!(
            backend.set_password_with_link(&token, NEW_PASSWORD, NEW_PASSWORD, &anyone),
            backend.set_password_with_link(
                &token,
                "tulip marble harbor",
                "tulip marble harbor",
                &anyone
            ),
        );
        assert_eq!(
            [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "{}: {a:?} {b:?}",
            database.name
        );
        let winner = if a.is_ok() {
            NEW_PASSWORD
        } else {
            "tulip marble harbor"
        };
        backend
            .sign_in(&anyone, "ada@contoso.example", winner)
            .await?;

        // With the organization's setting off, a reset keeps app passwords.
        backend
            .set_organization_setting(
                &admin,
                PolicySetting::ResetRevokesAppPasswords,
                false,
                &app::model::IdentityCheck::default(),
            )
            .await?;
        backend
            .store()
            .create_app_password(
                server::db::NewAppPassword {
                    user_id: user.id,
                    name: "Calendar".to_owned(),
                    name_key: "calendar".to_owned(),
                    lookup_hash: "calendar-lookup".to_owned(),
                    password_hash: "unused".to_owned(),
                },
                25,
                &Default::default(),
                Utc::now(),
            )
            .await?;
        let kept = backend
            .reset_password_of_person(
                &admin,
                "ada@contoso.example",
                &app::model::IdentityCheck::default(),
            )
            .await?;
        assert!(
            kept.detail.contains("no app password was revoked"),
            "{}",
            kept.detail
        );
        assert_eq!(backend.store().app_passwords_of(user.id).await?.len(), 1);

        // Expired links are deleted by the housekeeping.
        let purged = backend.store().purge_expired_password_links(after).await?;
        assert_eq!(purged, 1);
        assert_eq!(
            backend.password_link(&token_of(&kept.url)).await.err(),
            Some(AppError::NotFound)
        );
    }
    Ok(())
}

#[tokio::test]
async fn only_administrators_make_links() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    support::add_user(&backend, "ada@contoso.example").await;
    let (_, cookie) = backend
        .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
        .await?;
    let ada = context("192.0.2.1", Some(&cookie));
    let refused = Some(AppError::Forbidden(app::error::Refusal::NotAdministrator));
    assert_eq!(
        backend
            .reset_password_of_person(
                &ada,
                "admin@contoso.example",
                &app::model::IdentityCheck::default()
            )
            .await
            .err(),
        refused
    );
    assert_eq!(
        backend
            .add_person(
                &ada,
                NewPersonValues::default(),
                &app::model::IdentityCheck::default()
            )
            .await
            .err(),
        refused
    );
    Ok(())
}
