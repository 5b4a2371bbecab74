//! Outsiders cannot grow the audit log without bound (`domain::audit_bounds`): failed sign-ins
//! and guesses at names nobody has are counted, one row per kind, person or name, and address
//! in 15 minutes, at most 50 such rows of a kind about one person (or about no one) in a
//! window, and the rest in one row that only counts. Instances counting at once lose no count
//! and make no second row. Recent activity, the console's audit log and its CSV say how many.
//! Every test runs on SQLite and PostgreSQL.

mod support;

use app::backend::prelude::*;
use app::error::AppError;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use server::db::entities::audit_event;
use server::db::{Actor, Store};
use server::domain::audit_bounds::{self, OTHERS, ROWS_PER_WINDOW, WINDOW};
use support::{PASSWORD, TestDatabase, TestResult, context};

/// The windows the moments from `started` to `ended` fall in (a test may cross a quarter
/// hour, and each window has its own rows).
fn windows_between(started: DateTime<Utc>, ended: DateTime<Utc>) -> usize {
    let spanned = audit_bounds::window_start(ended) - audit_bounds::window_start(started);
    usize::try_from(spanned.num_seconds() / WINDOW.num_seconds()).unwrap_or(0) + 1
}

/// The most rows one kind may have about one person (or about no one) over `windows`.
fn most_rows(windows: usize) -> usize {
    windows * (ROWS_PER_WINDOW as usize + 1)
}

fn total(rows: &[&audit_event::Model]) -> i64 {
    rows.iter().map(|row| i64::from(row.count)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_failed_sign_ins_from_rotating_names_and_addresses_write_a_bounded_number_of_rows()
-> TestResult {
    const ATTEMPTS: usize = 1_000;
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada = support::add_user(&backend, "ada@contoso.example").await;
        let bo = support::add_user(&backend, "bo@contoso.example").await;
        let started = Utc::now();
        // Every attempt from an address of its own: one in ten a wrong password for Ada, one
        // in ten for Bo (100 each: what their accounts' ceilings let through in 15 minutes),
        // the rest names nobody has, each its own.
        let attempts = (0..ATTEMPTS).map(|n| {
            let username = match n % 10 {
                0 => "ada@contoso.example".to_owned(),
                1 => "bo@contoso.example".to_owned(),
                _ => format!("nobody{n}@contoso.example"),
            };
            (username, format!("198.18.{}.{}", n / 250, n % 250))
        });
        let answers: Vec<Option<AppError>> = futures::stream::iter(attempts)
            .map(|(username, ip)| {
                let backend = backend.clone();
                async move {
                    backend
                        .sign_in(&context(&ip, None), &username, "a wrong password, surely")
                        .await
                        .err()
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let ended = Utc::now();
        assert!(
            answers.iter().all(|a| a == &Some(AppError::SignInFailed)),
            "{name}: every attempt was checked and refused: {:?}",
            answers.iter().find(|a| a != &&Some(AppError::SignInFailed))
        );

        let windows = windows_between(started, ended);
        let events = backend.store().audit_events(None, Some(started)).await?;
        let unknown: Vec<&audit_event::Model> = events
            .iter()
            .filter(|e| e.kind == "sign_in.unknown_user")
            .collect();
        let failed_for = |id: i32| -> Vec<&audit_event::Model> {
            events
                .iter()
                .filter(|e| e.kind == "sign_in.failed" && e.user_id == Some(id))
                .collect()
        };
        let (for_ada, for_bo) = (failed_for(ada.id), failed_for(bo.id));
        println!(
            "{name}: {ATTEMPTS} failed sign-ins from {ATTEMPTS} addresses in {windows} window(s): {} rows for 800 unknown names, {} and {} rows for 100 failures each of two people ({} events in all since the start)",
            unknown.len(),
            for_ada.len(),
            for_bo.len(),
            events.len()
        );
        // Every attempt is counted once.
        assert_eq!(total(&unknown), 800, "{name}");
        assert_eq!(total(&for_ada), 100, "{name}");
        assert_eq!(total(&for_bo), 100, "{name}");
        // In a bounded number of rows.
        for rows in [&unknown, &for_ada, &for_bo] {
            assert!(
                rows.len() <= most_rows(windows),
                "{name}: {} rows",
                rows.len()
            );
            assert!(
                rows.iter().filter(|e| e.detail == OTHERS).count() <= windows,
                "{name}: one row of others a window"
            );
        }
        assert!(
            events.len() <= 3 * most_rows(windows),
            "{name}: {} rows in all",
            events.len()
        );
        if windows == 1 {
            // More addresses than rows allowed: the first 50 told apart, the rest counted.
            assert_eq!(unknown.len(), 51, "{name}");
            let others = unknown
                .iter()
                .find(|e| e.detail == OTHERS)
                .ok_or("no row of others")?;
            assert_eq!(others.count, 750, "{name}");
            assert_eq!(others.ip, None, "{name}");
            assert_eq!(for_ada.len(), 51, "{name}");
        }
        // A told-apart row names its name and address.
        assert!(
            unknown.iter().any(|e| e.detail.contains("@contoso.example")
                && e.ip.as_deref().is_some_and(|ip| ip.starts_with("198.18."))
                && e.count == 1),
            "{name}"
        );
    }
    Ok(())
}

/// Counts `times` failures of `kind` at once, spread over `stores` (instances), each from
/// the address `address(n)`, all at `now`.
async fn count_at_once(
    stores: &[Store],
    times: usize,
    user_id: Option<i32>,
    kind: &'static str,
    address: impl Fn(usize) -> String,
    now: DateTime<Utc>,
) -> TestResult {
    let tasks: Vec<_> = (0..times)
        .map(|n| {
            let store = stores[n % stores.len()].clone();
            let actor = Actor {
                ip: Some(address(n)),
                user_agent: Some("test".to_owned()),
                user_id: None,
                command_line: false,
            };
            tokio::spawn(async move {
                let detail = match kind {
                    "sign_in.unknown_user" => "username \"nobody@contoso.example\"",
                    _ => "wrong password",
                };
                store.audit(user_id, kind, detail, &actor, now).await
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_counting_at_once_make_one_row_and_lose_no_count() -> TestResult {
    const TIMES: usize = 200;
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada = support::add_user(&backend, "ada@contoso.example").await;
        // Two instances: two connection pools on the one database.
        let stores = [database.store().await, database.store().await];
        let now = Utc::now();

        // One name, one address, many failures at once: one row with all of them.
        count_at_once(
            &stores,
            TIMES,
            Some(ada.id),
            "sign_in.failed",
            |_| "203.0.113.7".to_owned(),
            now,
        )
        .await?;
        let rows: Vec<audit_event::Model> = backend
            .store()
            .audit_events_of(ada.id)
            .await?
            .into_iter()
            .filter(|e| e.kind == "sign_in.failed")
            .collect();
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        assert_eq!(rows[0].count, TIMES as i32, "{name}");
        assert_eq!(rows[0].ip.as_deref(), Some("203.0.113.7"), "{name}");

        // A name nobody has, from a new address each time, at once: the first 50 addresses
        // told apart, every other attempt counted in the one row of others.
        count_at_once(
            &stores,
            TIMES,
            None,
            "sign_in.unknown_user",
            |n| format!("198.51.100.{n}"),
            now,
        )
        .await?;
        let unknown: Vec<audit_event::Model> = backend
            .store()
            .audit_events(None, None)
            .await?
            .into_iter()
            .filter(|e| e.kind == "sign_in.unknown_user")
            .collect();
        assert_eq!(unknown.len(), ROWS_PER_WINDOW as usize + 1, "{name}");
        assert_eq!(
            unknown.iter().map(|e| i64::from(e.count)).sum::<i64>(),
            TIMES as i64,
            "{name}"
        );
        let others: Vec<&audit_event::Model> =
            unknown.iter().filter(|e| e.detail == OTHERS).collect();
        assert_eq!(others.len(), 1, "{name}");
        assert_eq!(
            others[0].count,
            (TIMES - ROWS_PER_WINDOW as usize) as i32,
            "{name}"
        );

        // The next window starts over.
        count_at_once(
            &stores,
            1,
            Some(ada.id),
            "sign_in.failed",
            |_| "203.0.113.7".to_owned(),
            now + WINDOW,
        )
        .await?;
        let rows = backend.store().audit_events_of(ada.id).await?;
        assert_eq!(
            rows.iter().filter(|e| e.kind == "sign_in.failed").count(),
            2,
            "{name}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn recent_activity_and_the_audit_log_say_how_many_times() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (_, cookie) = backend
            .sign_in(&context("192.0.2.1", None), "ada@contoso.example", PASSWORD)
            .await?;
        let ada = context("192.0.2.1", Some(&cookie));
        // Someone tries her name three times from one address.
        for _ in 0..3 {
            let refused = backend
                .sign_in(
                    &context("203.0.113.7", None),
                    "ada@contoso.example",
                    "not her password",
                )
                .await;
            assert_eq!(refused.err(), Some(AppError::SignInFailed), "{name}");
        }

        let page = backend.recent_activity(&ada, None).await?;
        let newest = page.items.first().ok_or("no activity")?;
        assert_eq!(newest.title, "3 failed sign-ins from 203.0.113.7", "{name}");
        assert_eq!(newest.detail.as_deref(), Some("Wrong password"), "{name}");
        assert_eq!(newest.count, 3, "{name}");
        assert!(newest.notable, "{name}");
        assert_eq!(page.items[1].title, "Signed in", "{name}");
        assert_eq!(page.items[1].count, 1, "{name}");

        // The console's audit log and its CSV.
        let (_, cookie) = backend
            .sign_in(
                &context("192.0.2.2", None),
                "admin@contoso.example",
                PASSWORD,
            )
            .await?;
        let admin = context("192.0.2.2", Some(&cookie));
        let query = app::model::AuditQuery {
            kind: "sign_in.failed".to_owned(),
            ..Default::default()
        };
        let log = backend.audit_log(&admin, &query, None).await?;
        assert_eq!(log.entries.len(), 1, "{name}");
        assert_eq!(log.entries[0].count, 3, "{name}");
        assert_eq!(
            log.entries[0].person.as_deref(),
            Some("ada@contoso.example")
        );
        let mut csv_bytes = Vec::new();
        let mut stream = Box::pin(backend.audit_csv(&admin, &query).await?);
        while let Some(chunk) = stream.next().await {
            csv_bytes.extend(chunk?);
        }
        let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
        assert_eq!(reader.headers()?.get(7), Some("count"), "{name}");
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(rows[0].get(5), Some("203.0.113.7"), "{name}");
        assert_eq!(rows[0].get(7), Some("3"), "{name}");
    }
    Ok(())
}
