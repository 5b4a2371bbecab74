//! Throttling of web sign-in attempts against a real database (SQLite and PostgreSQL): per
//! account and address pair, the account's ceiling across addresses, the code step counted
//! until a code succeeds, parallel attempts, unknown names answered like known ones, IPv6 by
//! /64, two instances sharing the counters, and disabled accounts told so.

mod support;

use app::backend::prelude::*;
use app::error::AppError;
use app::model::SignInStep;
use server::domain::throttle::{MAX_DELAY, Rule};
use server::use_cases::ServerBackend;
use support::{PASSWORD, TestDatabase, TestResult, code_for, context, now_unix};

const ADA: &str = "ada@contoso.example";

/// The free password attempts per account and address.
fn free_tries() -> i32 {
    match Rule::PAIR {
        Rule::Backoff { free, .. } => free,
        Rule::Ceiling { max, .. } => max,
    }
}

fn account_ceiling() -> i32 {
    match Rule::ACCOUNT {
        Rule::Ceiling { max, .. } => max,
        Rule::Backoff { free, .. } => free,
    }
}

/// A short name for an outcome, to compare sequences of answers.
fn kind<T>(result: &Result<T, AppError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(AppError::SignInFailed) => "failed",
        Err(AppError::Throttled { .. }) => "throttled",
        Err(AppError::Invalid { .. }) => "invalid",
        Err(AppError::Forbidden(_)) => "forbidden",
        Err(_) => "other",
    }
}

fn assert_bounded_wait<T: std::fmt::Debug>(result: &Result<T, AppError>) {
    match result {
        Err(AppError::Throttled {
            retry_after_seconds,
            ..
        }) => assert!(
            (1..=MAX_DELAY.num_seconds().unsigned_abs()).contains(retry_after_seconds),
            "wait of {retry_after_seconds} s"
        ),
        other => panic!("expected throttling, got {other:?}"),
    }
}

async fn wrong_password(backend: &ServerBackend, ip: &str) -> Result<(), AppError> {
    backend
        .sign_in(&context(ip, None), ADA, "not the password")
        .await
        .map(|_| ())
}

#[tokio::test]
async fn failures_from_one_address_slow_that_address_and_not_the_person_elsewhere() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        support::add_user(&backend, "bob@contoso.example").await;
        for attempt in 0..free_tries() {
            let result = wrong_password(&backend, "198.51.100.7").await;
            assert_eq!(result, Err(AppError::SignInFailed), "attempt {attempt}");
        }
        // That address now waits, even with the right password...
        let from_attacker = backend
            .sign_in(&context("198.51.100.7", None), ADA, PASSWORD)
            .await;
        assert_bounded_wait(&from_attacker);
        // ...but Ada signs in from her own address, and Bob from the same one.
        let ada = backend
            .sign_in(&context("192.0.2.10", None), ADA, PASSWORD)
            .await;
        assert!(ada.is_ok(), "{}: {ada:?}", database.name);
        let bob = backend
            .sign_in(
                &context("198.51.100.7", None),
                "bob@contoso.example",
                PASSWORD,
            )
            .await;
        assert!(bob.is_ok(), "{bob:?}");
    }
    Ok(())
}

#[tokio::test]
async fn parallel_attempts_cannot_skip_the_delay() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let attempts = (0..20).map(|_| wrong_password(&backend, "198.51.100.8"));
        let results = futures::future::join_all(attempts).await;
        let checked = results
            .iter()
            .filter(|r| **r == Err(AppError::SignInFailed))
            .count();
        assert!(
            checked <= free_tries() as usize + 1,
            "{}: {checked} of 20 parallel attempts were checked",
            database.name
        );
        assert!(checked >= 1);
        for result in results
            .iter()
            .filter(|r| **r != Err(AppError::SignInFailed))
        {
            assert_bounded_wait(result);
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_spread_out_attack_reaches_the_ceiling_which_spares_known_addresses() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        // Ada has signed in from home before.
        backend
            .sign_in(&context("192.0.2.20", None), ADA, PASSWORD)
            .await?;
        // Many addresses, each within its free tries, fail together up to the ceiling.
        let ceiling = account_ceiling();
        for n in 0..ceiling {
            let ip = format!("203.0.{}.{}", n / 4, n % 4 + 1);
            assert_eq!(
                wrong_password(&backend, &ip).await,
                Err(AppError::SignInFailed)
            );
        }
        let fresh = backend
            .sign_in(&context("203.0.200.1", None), ADA, PASSWORD)
            .await;
        // Said as what it is: held back by attempts from elsewhere (tests/known_devices.rs).
        assert!(
            matches!(
                fresh,
                Err(AppError::SignInHeldBack { retry_after_seconds, .. })
                    if (1..=MAX_DELAY.num_seconds().unsigned_abs()).contains(&retry_after_seconds)
            ),
            "{fresh:?}"
        );
        // From home she still signs in.
        let home = backend
            .sign_in(&context("192.0.2.20", None), ADA, PASSWORD)
            .await;
        assert!(home.is_ok(), "{}: {home:?}", database.name);
    }
    Ok(())
}

#[tokio::test]
async fn code_failures_count_across_fresh_passwords_and_addresses_until_a_code_succeeds()
-> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (_, secret) = support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        // Someone with the password: a fresh password entry, from a fresh address, then a
        // wrong code; again and again.
        let mut answers = Vec::new();
        for n in 0..8 {
            let ip = format!("198.51.100.{}", 100 + n);
            let (step, pending) = backend.sign_in(&context(&ip, None), ADA, PASSWORD).await?;
            assert_eq!(
                step,
                SignInStep::SecondStep(app::model::SecondStepWay::AuthenticatorApp)
            );
            let result = backend
                .verify_sign_in_code(&context(&ip, Some(&pending)), "000000")
                .await;
            answers.push(kind(&result));
        }
        let free = free_tries() as usize;
        assert!(
            answers[..free].iter().all(|a| *a == "invalid"),
            "{answers:?}"
        );
        assert!(
            answers[free + 1..].iter().all(|a| *a == "throttled"),
            "{}: codes kept being checked: {answers:?}",
            database.name
        );
        // The right code waits too, until the delay is over.
        let (_, pending) = backend
            .sign_in(&context("192.0.2.1", None), ADA, PASSWORD)
            .await?;
        let right = code_for(&secret, now_unix() + 30)?;
        let waiting = backend
            .verify_sign_in_code(&context("192.0.2.1", Some(&pending)), &right)
            .await;
        assert_bounded_wait(&waiting);
    }
    Ok(())
}

#[tokio::test]
async fn confirm_its_you_counts_codes_with_the_sign_in_code_step() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (ctx, _) = support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        let mut answers = Vec::new();
        for _ in 0..free_tries() + 2 {
            answers.push(kind(&backend.reverify(&ctx, PASSWORD, "000000").await));
        }
        assert_eq!(answers.last(), Some(&"throttled"), "{answers:?}");
        // The sign-in code step shares the count.
        let (_, pending) = backend
            .sign_in(&context("192.0.2.2", None), ADA, PASSWORD)
            .await?;
        let code_step = backend
            .verify_sign_in_code(&context("192.0.2.2", Some(&pending)), "000000")
            .await;
        assert_bounded_wait(&code_step);
    }
    Ok(())
}

#[tokio::test]
async fn unknown_names_get_the_same_answers_as_real_ones() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let sequence = |name: &'static str, ip: &'static str| {
            let backend = backend.clone();
            async move {
                let mut answers = Vec::new();
                for _ in 0..free_tries() + 2 {
                    let result = backend
                        .sign_in(&context(ip, None), name, "not the password")
                        .await;
                    answers.push(match &result {
                        Err(AppError::Throttled { message, .. }) => {
                            format!("throttled: {}", message.split("Wait").next().unwrap_or(""))
                        }
                        other => kind(other).to_owned(),
                    });
                }
                answers
            }
        };
        let real = sequence(ADA, "198.51.100.1").await;
        let unknown = sequence("nobody@contoso.example", "198.51.100.2").await;
        let not_a_name = sequence("not a sign-in name", "198.51.100.3").await;
        assert_eq!(real, unknown, "{}", database.name);
        assert_eq!(real, not_a_name);
        assert!(
            real.last().is_some_and(|a| a.starts_with("throttled")),
            "{real:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn ipv6_addresses_count_by_their_64() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    support::set_up_organization(&backend).await;
    support::add_user(&backend, ADA).await;
    for n in 0..free_tries() {
        let ip = format!("2001:db8:1:2::{:x}", n + 1);
        assert_eq!(
            wrong_password(&backend, &ip).await,
            Err(AppError::SignInFailed)
        );
    }
    let same_64 = backend
        .sign_in(&context("2001:db8:1:2:ffff::1", None), ADA, PASSWORD)
        .await;
    assert_bounded_wait(&same_64);
    let other_64 = backend
        .sign_in(&context("2001:db8:1:3::1", None), ADA, PASSWORD)
        .await;
    assert!(other_64.is_ok(), "{other_64:?}");
    Ok(())
}

#[tokio::test]
async fn two_instances_share_one_count() -> TestResult {
    for database in TestDatabase::all().await {
        let first = support::backend(&database).await;
        support::set_up_organization(&first).await;
        support::add_user(&first, ADA).await;
        let second = support::backend_with_key_of(&database, &first).await;
        for n in 0..free_tries() {
            let instance = if n % 2 == 0 { &first } else { &second };
            assert_eq!(
                wrong_password(instance, "198.51.100.9").await,
                Err(AppError::SignInFailed)
            );
        }
        assert_bounded_wait(
            &second
                .sign_in(&context("198.51.100.9", None), ADA, PASSWORD)
                .await,
        );
        assert_bounded_wait(
            &first
                .sign_in(&context("198.51.100.9", None), ADA, PASSWORD)
                .await,
        );
    }
    Ok(())
}

#[tokio::test]
/// Disabling ends every session of the account, the one waiting for its code too: the code
/// step can only say to start again, and the password step then says why.
async fn a_disabled_account_is_told_so_after_its_pending_sign_in_ends() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada = support::add_user(&backend, ADA).await;
        let (_, secret) = support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        let (_, pending) = backend
            .sign_in(&context("192.0.2.1", None), ADA, PASSWORD)
            .await?;
        backend
            .store()
            .set_enabled(
                ada.id,
                false,
                &server::db::Actor::default(),
                chrono::Utc::now(),
            )
            .await?;
        let pending_ctx: RequestContext = context("192.0.2.1", Some(&pending));
        let result = backend
            .verify_sign_in_code(&pending_ctx, &code_for(&secret, now_unix() + 30)?)
            .await;
        assert_eq!(
            result,
            Err(AppError::sign_in_expired()),
            "{}",
            database.name
        );
        let again = backend
            .sign_in(&context("192.0.2.1", None), ADA, PASSWORD)
            .await;
        assert_eq!(again.err(), Some(AppError::account_disabled()));
    }
    Ok(())
}

/// "Confirm it's you" costs a password hash even when the password is right (which resets the
/// account's failures): sent in a loop by a signed-in person, it counts against the address's
/// sign-ins like any sign-in, so the hashing threads stay free for everyone else.
#[tokio::test]
async fn confirming_it_is_you_in_a_loop_is_held_back_with_the_address_sign_ins() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (_, token) = backend
            .sign_in(&context("192.0.2.90", None), ADA, PASSWORD)
            .await?;
        let signed_in = context("192.0.2.90", Some(&token));
        let mut confirmed = 0;
        let refused = loop {
            match backend.reverify(&signed_in, PASSWORD, "").await {
                Ok(()) if confirmed < 100 => confirmed += 1,
                other => break other,
            }
        };
        assert!(
            matches!(refused, Err(AppError::Throttled { .. })),
            "{}: {refused:?} after {confirmed}",
            database.name
        );
        assert!((20..40).contains(&confirmed), "{confirmed}");
        // The same person from another address is not held back.
        let elsewhere = context("192.0.2.91", Some(&token));
        backend.reverify(&elsewhere, PASSWORD, "").await?;
    }
    Ok(())
}
