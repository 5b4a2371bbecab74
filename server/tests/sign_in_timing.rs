//! Web sign-in takes as long for a name nobody has as for a real one with a wrong password, so
//! its timing does not tell an outsider which names exist: 1,000 tries of each, interleaved
//! (every try from its own address and for its own name, so no throttle answers early), their
//! medians and 90th percentiles compared and printed.

mod support;

use std::time::{Duration, Instant};

use app::backend::prelude::*;
use app::error::AppError;
use support::{TestDatabase, TestResult, context};

const TRIES: usize = 1_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_known_names_take_the_same_time_to_refuse() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    // One hash for everyone: seeding 1,000 people should not take 1,000 hashes.
    let hash = server::domain::password::hash_password(
        support::PASSWORD,
        &mut server::domain::random::OsRandom,
    )?;
    for n in 0..TRIES {
        backend
            .store()
            .add_user(
                server::db::NewUser {
                    username: format!("person{n}@contoso.example"),
                    username_key: format!("person{n}@contoso.example"),
                    display_name: format!("Person {n}"),
                    password_hash: hash.clone(),
                    is_admin: false,
                },
                &server::db::Actor::default(),
                chrono::Utc::now(),
            )
            .await?;
    }
    // The first unknown name makes the stand-in hash once: not part of what is compared.
    let _ = backend
        .sign_in(&context("198.18.255.1", None), "warm@contoso.example", "x")
        .await;

    let mut known = Vec::with_capacity(TRIES);
    let mut unknown = Vec::with_capacity(TRIES);
    for n in 0..TRIES {
        let address = |kind: u32| format!("198.18.{}.{}", kind * 8 + (n / 250) as u32, n % 250);
        for (is_known, times) in [(true, &mut known), (false, &mut unknown)] {
            let (name, ip) = if is_known {
                (format!("person{n}@contoso.example"), address(0))
            } else {
                (format!("nobody{n}@contoso.example"), address(1))
            };
            let started = Instant::now();
            let answer = backend
                .sign_in(&context(&ip, None), &name, "a wrong password, surely")
                .await;
            times.push(started.elapsed());
            assert_eq!(
                answer.err(),
                Some(AppError::SignInFailed),
                "{name} from {ip}"
            );
        }
    }
    known.sort();
    unknown.sort();
    let (known_p50, unknown_p50) = (percentile(&known, 0.5), percentile(&unknown, 0.5));
    let (known_p90, unknown_p90) = (percentile(&known, 0.9), percentile(&unknown, 0.9));
    println!(
        "sign-in refused, {TRIES} tries each: known name p50 {known_p50:?} p90 {known_p90:?}; unknown name p50 {unknown_p50:?} p90 {unknown_p90:?}"
    );
    let gap =
        |a: Duration, b: Duration| (a.as_secs_f64() - b.as_secs_f64()).abs() / b.as_secs_f64();
    // Argon2 is almost all of either answer; what differs (one row read, one audit row) is a
    // few hundred microseconds against tens of milliseconds.
    assert!(
        gap(known_p50, unknown_p50) < 0.15,
        "medians differ by more than 15 %: known {known_p50:?}, unknown {unknown_p50:?}"
    );
    assert!(
        gap(known_p90, unknown_p90) < 0.25,
        "90th percentiles differ by more than 25 %: known {known_p90:?}, unknown {unknown_p90:?}"
    );
    Ok(())
}
