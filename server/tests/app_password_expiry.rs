//! App-password expiry (issue 31), on SQLite and PostgreSQL, with the clock passed in (no
//! sleeps): a date chosen at creation and the organization's "unused for N days" both refuse
//! the check from then on, cached or not, here and on another instance; a reminder is queued
//! in the outbox once, a week before; the expiry is written to the audit log once and shown in
//! Recent activity; the list words it; the command line sets and shows the rule.

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};

use app::backend::prelude::*;
use app::model::{AppPasswordChoices, AppPasswordLifetime, CreatedAppPassword};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use server::db::entities::{app_password, audit_event, mail_outbox};
use server::domain::app_password::{EXPIRED, EXPIRY_REMINDED, IdleLimit};
use server::http::router;
use server::use_cases::app_password_check::{CheckOutcome, CheckerSettings, Client};
use server::use_cases::app_password_expiry::{ExpiryRound, run_expiry_round};
use server::use_cases::{BackendSettings, ServerBackend};
use support::{TestDatabase, TestResult};
use tower::ServiceExt;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Signs `username` in with an authenticator app and creates the app password `name`,
/// expiring as `expires` says.
async fn create(
    backend: &ServerBackend,
    username: &str,
    name: &str,
    expires: AppPasswordLifetime,
) -> Result<(app::backend::RequestContext, CreatedAppPassword), Failure> {
    let (ctx, _) = support::signed_in_with_authenticator(backend, username, "192.0.2.1").await?;
    let choices = AppPasswordChoices {
        expires,
        ..Default::default()
    };
    let created = backend
        .create_app_password_with(&ctx, name, "", "", &choices)
        .await?;
    Ok((ctx, created))
}

/// The check as of `now`.
async fn accepted_at(
    backend: &ServerBackend,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<bool, Failure> {
    let outcome = backend
        .app_password_checker
        .check_at(
            backend.store(),
            &backend.secret_key,
            username,
            password,
            &Client::default(),
            now,
        )
        .await?;
    Ok(matches!(outcome, CheckOutcome::Accepted(_)))
}

/// The row of app password `id`, as stored.
async fn row(backend: &ServerBackend, id: i32) -> Result<app_password::Model, Failure> {
    Ok(app_password::Entity::find_by_id(id)
        .one(backend.store().connection())
        .await?
        .ok_or("no such app password")?)
}

async fn events_of_kind(
    backend: &ServerBackend,
    kind: &str,
) -> Result<Vec<audit_event::Model>, Failure> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(kind))
        .all(backend.store().connection())
        .await?)
}

#[tokio::test]
async fn a_chosen_date_refuses_the_check_from_then_on_cached_or_not() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let username = "ada@contoso.example";
        support::add_user(&backend, username).await;
        let (ctx, created) =
            create(&backend, username, "Phone", AppPasswordLifetime::Days30).await?;
        let stored = row(&backend, created.id).await?;
        let expires_at = stored.expires_at.ok_or("no expiry stored")?;
        assert_eq!(
            expires_at,
            stored.created_at + Duration::days(30),
            "{}",
            database.name
        );
        assert_eq!(created.item.expiry.as_deref(), Some("Expires in 30 days"));
        assert!(!created.item.expired);

        // The signal of the setup's changes comes back to this instance too (a harmless
        // flush, as in `scale_out.rs`): let it pass before counting reads.
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let now = Utc::now();
        // Accepted, then answered from memory (no database read) until the date.
        assert!(accepted_at(&backend, username, &created.password, now).await?);
        let reads = backend.app_password_checker.candidate_reads();
        let just_before = expires_at - Duration::seconds(1);
        assert!(accepted_at(&backend, username, &created.password, just_before).await?);
        assert_eq!(
            backend.app_password_checker.candidate_reads(),
            reads,
            "{}: the repeat was cached",
            database.name
        );
        // From the date: refused, though the acceptance was cached.
        assert!(
            !accepted_at(&backend, username, &created.password, expires_at).await?,
            "{}",
            database.name
        );
        assert!(
            !accepted_at(
                &backend,
                username,
                &created.password,
                expires_at + Duration::days(1)
            )
            .await?
        );

        let listed = backend.app_passwords(&ctx).await?;
        assert_eq!(listed.items.len(), 1);
        assert_eq!(
            listed.items[0].expiry.as_deref(),
            Some("Expires in 30 days")
        );
    }
    Ok(())
}

#[tokio::test]
async fn never_is_the_default_and_does_not_expire() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let username = "grace@contoso.example";
        support::add_user(&backend, username).await;
        let (_, created) = support::app_password_for(&backend, username, "Laptop").await?;
        assert_eq!(row(&backend, created.id).await?.expires_at, None);
        assert_eq!(created.item.expiry, None);
        let later = Utc::now() + Duration::days(3650);
        assert!(
            accepted_at(&backend, username, &created.password, later).await?,
            "{}",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_idle_rule_counts_from_the_last_use_or_the_creation() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let used = "ada@contoso.example";
        let unused = "grace@contoso.example";
        support::add_user(&backend, used).await;
        support::add_user(&backend, unused).await;
        let (ctx, in_use) = create(&backend, used, "Phone", AppPasswordLifetime::Never).await?;
        let (_, idle) = create(&backend, unused, "Old laptop", AppPasswordLifetime::Never).await?;
        let now = Utc::now();
        // Used now and cached, before the rule is on.
        assert!(accepted_at(&backend, used, &in_use.password, now).await?);

        let limit = IdleLimit::new(30)?;
        backend
            .store()
            .set_app_password_idle_limit(Some(limit), &server::db::Actor::default(), now)
            .await?;

        // Used again on day 29: its 30 days start over.
        let day = |n: i64| now + Duration::days(n);
        assert!(accepted_at(&backend, used, &in_use.password, day(29)).await?);
        assert!(
            accepted_at(&backend, used, &in_use.password, day(58)).await?,
            "{}",
            database.name
        );
        // 30 days after that last use: refused (its acceptance cached or not).
        assert!(
            !accepted_at(
                &backend,
                used,
                &in_use.password,
                day(88) + Duration::minutes(1)
            )
            .await?
        );
        // Never used: 30 days after its creation.
        assert!(
            !accepted_at(&backend, unused, &idle.password, day(31)).await?,
            "{}",
            database.name
        );

        let _ = ctx;
        // Off again: it works again.
        backend
            .store()
            .set_app_password_idle_limit(None, &server::db::Actor::default(), now)
            .await?;
        assert!(
            accepted_at(&backend, unused, &idle.password, day(31)).await?,
            "{}",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_reminder_is_queued_once_a_week_before_and_the_expiry_noted_once() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        // A second instance runs the same job at the same moments.
        let second = support::backend_with_key_of(&database, &backend).await;
        let username = "ada@contoso.example";
        support::add_user(&backend, username).await;
        let (ctx, created) =
            create(&backend, username, "Phone", AppPasswordLifetime::Days30).await?;
        let expires_at = row(&backend, created.id)
            .await?
            .expires_at
            .ok_or("no expiry")?;

        let round_at = async |at: DateTime<Utc>| -> Result<ExpiryRound, Failure> {
            let (here, there) = tokio::join!(
                run_expiry_round(backend.store(), at),
                run_expiry_round(second.store(), at)
            );
            let (here, there) = (here?, there?);
            Ok(ExpiryRound {
                reminded: here.reminded + there.reminded,
                expired: here.expired + there.expired,
            })
        };
        // More than a week before: nothing.
        assert_eq!(
            round_at(expires_at - Duration::days(8)).await?,
            ExpiryRound::default()
        );
        // A week before: one reminder, whichever instance queued it.
        let reminded = round_at(expires_at - Duration::days(7)).await?;
        assert_eq!(
            reminded,
            ExpiryRound {
                reminded: 1,
                expired: 0
            },
            "{}",
            database.name
        );
        assert_eq!(
            round_at(expires_at - Duration::days(3)).await?,
            ExpiryRound::default()
        );

        let reminders = events_of_kind(&backend, EXPIRY_REMINDED).await?;
        assert_eq!(reminders.len(), 1, "{}", database.name);
        let reminder = &reminders[0];
        assert!(
            reminder.detail.starts_with("'Phone' (id "),
            "{}",
            reminder.detail
        );
        assert!(
            reminder.detail.contains("stops working on"),
            "{}",
            reminder.detail
        );
        // In the outbox, in the same transaction as its event.
        let queued = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::AuditEventId.eq(reminder.id))
            .count(backend.store().connection())
            .await?;
        assert_eq!(queued, 1, "{}", database.name);

        // Past the date: noted once.
        assert_eq!(
            round_at(expires_at).await?,
            ExpiryRound {
                reminded: 0,
                expired: 1
            },
            "{}",
            database.name
        );
        assert_eq!(
            round_at(expires_at + Duration::days(1)).await?,
            ExpiryRound::default()
        );
        let expired = events_of_kind(&backend, EXPIRED).await?;
        assert_eq!(expired.len(), 1, "{}", database.name);
        // The expiry itself is not mailed (the reminder was).
        let mailed = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::AuditEventId.eq(expired[0].id))
            .count(backend.store().connection())
            .await?;
        assert_eq!(mailed, 0, "{}", database.name);
        // Recent activity says so.
        let activity = backend.recent_activity(&ctx, None).await?;
        let shown = activity
            .items
            .iter()
            .find(|item| item.title == "App password expired")
            .ok_or("not in Recent activity")?;
        assert_eq!(shown.detail.as_deref(), Some("Phone"));
    }
    Ok(())
}

#[tokio::test]
async fn the_idle_rule_reminds_a_week_before_too() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let username = "ada@contoso.example";
        support::add_user(&backend, username).await;
        let (_, created) =
            create(&backend, username, "Scanner", AppPasswordLifetime::Never).await?;
        let created_at = row(&backend, created.id).await?.created_at;
        // Off: never reminded.
        assert_eq!(
            run_expiry_round(backend.store(), created_at + Duration::days(400)).await?,
            ExpiryRound::default()
        );
        backend
            .store()
            .set_app_password_idle_limit(
                Some(IdleLimit::new(90)?),
                &server::db::Actor::default(),
                created_at,
            )
            .await?;
        assert_eq!(
            run_expiry_round(backend.store(), created_at + Duration::days(82)).await?,
            ExpiryRound::default()
        );
        assert_eq!(
            run_expiry_round(backend.store(), created_at + Duration::days(83)).await?,
            ExpiryRound {
                reminded: 1,
                expired: 0
            },
            "{}",
            database.name
        );
        assert_eq!(
            run_expiry_round(backend.store(), created_at + Duration::days(90)).await?,
            ExpiryRound {
                reminded: 0,
                expired: 1
            },
            "{}",
            database.name
        );
        let expired = events_of_kind(&backend, EXPIRED).await?;
        assert_eq!(expired.len(), 1);
        assert!(
            expired[0].detail.ends_with("after 90 days unused"),
            "{}",
            expired[0].detail
        );
    }
    Ok(())
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn auth_basic(app: &axum::Router, authorization: &str) -> Result<StatusCode, Failure> {
    let request = Request::get("/auth/basic")
        .header(header::AUTHORIZATION, authorization)
        .body(Body::empty())?;
    Ok(app.clone().oneshot(request).await?.status())
}

/// How far the second instance's clock is ahead, in seconds (only the test below moves it).
static AHEAD: AtomicI64 = AtomicI64::new(0);

fn clock_ahead() -> DateTime<Utc> {
    Utc::now() + Duration::seconds(AHEAD.load(Ordering::SeqCst))
}

#[tokio::test]
async fn an_expired_app_password_is_refused_at_once_by_another_instance_that_cached_it()
-> TestResult {
    for database in TestDatabase::all().await {
        AHEAD.store(0, Ordering::SeqCst);
        let first = support::backend(&database).await;
        support::set_up_organization(&first).await;
        // The second instance's checks read the clock the test moves on.
        let second = ServerBackend::new(
            support::watched_store(&database).await,
            first.secret_key.clone(),
            BackendSettings {
                app_password_checks: CheckerSettings {
                    clock: clock_ahead,
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let username = "ada@contoso.example";
        support::add_user(&first, username).await;
        let (ctx, created) = create(&first, username, "Phone", AppPasswordLifetime::Days90).await?;
        let expires_at = row(&first, created.id)
            .await?
            .expires_at
            .ok_or("no expiry")?;
        let credentials = basic(username, &created.password);
        let there = router(support::state(second.clone()));

        // Accepted on the second instance, then from its memory (once the setup's revocation
        // signals have passed, as in `scale_out.rs`).
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        assert_eq!(
            auth_basic(&there, &credentials).await?,
            StatusCode::NO_CONTENT
        );
        let reads = second.app_password_checker.candidate_reads();
        assert_eq!(
            auth_basic(&there, &credentials).await?,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            second.app_password_checker.candidate_reads(),
            reads,
            "{}",
            database.name
        );

        // Its date comes there: no revocation is signalled, yet the cached acceptance is
        // refused at once.
        let epoch = second.store().revocations().epoch();
        let ahead = (expires_at - Utc::now()).num_seconds() + 1;
        AHEAD.store(ahead, Ordering::SeqCst);
        assert_eq!(
            auth_basic(&there, &credentials).await?,
            StatusCode::UNAUTHORIZED,
            "{}",
            database.name
        );
        assert_eq!(
            second.store().revocations().epoch(),
            epoch,
            "{}: no revocation was needed",
            database.name
        );

        // As time passing would, on the first instance's list: it is marked, and can still be
        // deleted.
        app_password::Entity::update_many()
            .col_expr(
                app_password::Column::ExpiresAt,
                sea_orm::sea_query::Expr::value(Utc::now() - Duration::minutes(1)),
            )
            .filter(app_password::Column::Id.eq(created.id))
            .exec(database.store().await.connection())
            .await?;
        let listed = first.app_passwords(&ctx).await?;
        assert_eq!(listed.items[0].expiry.as_deref(), Some("Expired"));
        assert!(listed.items[0].expired);
        let here = router(support::state(first.clone()));
        assert_eq!(
            auth_basic(&here, &credentials).await?,
            StatusCode::UNAUTHORIZED
        );
        first.delete_app_password(&ctx, created.id).await?;
        assert!(first.app_passwords(&ctx).await?.items.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn the_command_line_sets_and_shows_the_idle_rule_and_caches_drop() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let username = "ada@contoso.example";
        support::add_user(&backend, username).await;
        let (_, created) = create(&backend, username, "Phone", AppPasswordLifetime::Never).await?;
        let client = Client::default();
        let check = async || -> Result<bool, Failure> {
            let outcome = backend
                .app_password_checker
                .check(
                    backend.store(),
                    &backend.secret_key,
                    username,
                    &created.password,
                    &client,
                )
                .await?;
            Ok(matches!(outcome, CheckOutcome::Accepted(_)))
        };
        assert!(check().await?);
        let epoch = backend.store().revocations().epoch();

        let latchkey = |args: &[&str]| -> Result<(i32, String, String), Failure> {
            let output = support::run_with_input(
                Command::new(env!("CARGO_BIN_EXE_latchkey"))
                    .args(args)
                    .env("LATCHKEY_DATABASE_URL", &database.url)
                    .env("LATCHKEY_LOG", "warn"),
                b"",
            )?;
            Ok((
                output.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ))
        };
        let (code, shown, _) = latchkey(&["admin", "org", "show"])?;
        assert_eq!(code, 0);
        assert!(
            shown.contains("app-password-idle-days:      off"),
            "{shown}"
        );

        let (code, set, stderr) = latchkey(&["admin", "org", "set-app-password-idle-days", "1"])?;
        assert_eq!(code, 0, "{stderr}");
        assert!(
            set.lines()
                .any(|line| line == "app-password-idle-days:      1"),
            "{set}"
        );
        let org = backend
            .store()
            .organization()
            .await?
            .ok_or("no organization")?;
        assert_eq!(org.app_password_idle_days, Some(1), "{}", database.name);
        let events = events_of_kind(&backend, "policy.changed").await?;
        assert!(
            events
                .iter()
                .any(|e| e.detail == "app-password-idle-days = 1" && e.by_command_line),
            "{events:?}"
        );
        // The change from outside reaches this instance's cache (the organization's trigger).
        let moved = support::time_until(std::time::Duration::from_secs(3), async || {
            Ok::<_, Failure>(backend.store().revocations().epoch() != epoch)
        })
        .await?;
        assert!(
            moved.is_some(),
            "{}: the revocation epoch did not move",
            database.name
        );

        for refused in ["0", "3651", "ninety"] {
            let (code, _, stderr) =
                latchkey(&["admin", "org", "set-app-password-idle-days", refused])?;
            assert_ne!(code, 0, "{refused}: {stderr}");
        }
        let (code, off, _) = latchkey(&["admin", "org", "set-app-password-idle-days", "off"])?;
        assert_eq!(code, 0);
        assert!(off.contains("app-password-idle-days:      off"), "{off}");
        assert!(check().await?);
    }
    Ok(())
}

#[tokio::test]
async fn the_console_sets_the_idle_rule_for_administrators_only() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (admin, _) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
                .await?;
        let (person, _) =
            support::signed_in_with_authenticator(&backend, "ada@contoso.example", "192.0.2.2")
                .await?;
        let check = app::model::IdentityCheck::default();

        let settings = backend.organization_settings(&admin).await?;
        assert_eq!(settings.app_password_idle_days, None, "off by default");
        let set = backend
            .set_app_password_idle_days(&admin, " 90 ", &check)
            .await?;
        assert_eq!(set.app_password_idle_days, Some(90), "{}", database.name);
        for refused in ["0", "3651", "ninety"] {
            let error = backend
                .set_app_password_idle_days(&admin, refused, &check)
                .await
                .err()
                .ok_or("accepted")?;
            assert!(error.message_for("days").is_some(), "{refused}: {error:?}");
        }
        assert!(matches!(
            backend
                .set_app_password_idle_days(&person, "1", &check)
                .await,
            Err(app::error::AppError::Forbidden(_))
        ));
        let off = backend
            .set_app_password_idle_days(&admin, "", &check)
            .await?;
        assert_eq!(off.app_password_idle_days, None);
        let events = events_of_kind(&backend, "policy.changed").await?;
        let details: Vec<&str> = events.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "app-password-idle-days = 90",
                "app-password-idle-days = off"
            ],
            "{}",
            database.name
        );
    }
    Ok(())
}
