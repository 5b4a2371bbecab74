//! The person hears about attacks on their second step, on SQLite and PostgreSQL: ten failed
//! second steps (wrong authenticator codes and wrong recovery codes alike) since the last
//! sign-in mail the person exactly once, through the outbox, to the test's SMTP server; the
//! 11th and 12th mail nothing more; a complete sign-in starts the count over, so the next ten
//! mail again; wrong codes sent at once to two instances mail once, and every one is counted.
//! Recent activity shows the alert, with a link to change the password, and marks each failure
//! after the right password.
//!
//! The code step's own backoff (5 free tries, then waits that double) is given back between
//! attempts here, as the waits passing would: it throttles guessing, not this count.

mod support;

use app::backend::prelude::*;
use app::error::AppError;
use app::model::SignInStep;
use chrono::Utc;
use server::db::Store;
use server::domain::attack_alert::{ALERT_AFTER, ALERTED};
use server::domain::throttle::{self, KeyKind, Rule};
use server::jobs::mail_alerts::{Mailer, run_once};
use server::use_cases::ServerBackend;
use support::mail_sink::MailSink;
use support::{PASSWORD, TestDatabase, TestResult, context};

type Error = Box<dyn std::error::Error + Send + Sync>;

const ADA: &str = "ada@contoso.example";
const SUBJECT: &str = "Someone entered your password but not the code";

/// Ada with an authenticator app and recovery codes: her session, the app's secret, a code.
async fn ada_with_codes(
    backend: &ServerBackend,
) -> Result<(RequestContext, String, String), Error> {
    support::add_user(backend, ADA).await;
    let (ada, secret) = support::signed_in_with_authenticator(backend, ADA, "192.0.2.1").await?;
    let codes = backend
        .new_recovery_codes(&ada, &app::model::IdentityCheck::default())
        .await?;
    let code = codes.codes.first().cloned().ok_or("a recovery code")?;
    Ok((ada, secret, code))
}

/// A browser at `ip` that typed Ada's password and waits for the second step.
async fn password_typed(backend: &ServerBackend, ip: &str) -> Result<RequestContext, Error> {
    let (step, cookie) = backend.sign_in(&context(ip, None), ADA, PASSWORD).await?;
    assert_eq!(
        step,
        SignInStep::SecondStep(app::model::SecondStepWay::AuthenticatorApp)
    );
    Ok(context(ip, Some(&cookie)))
}

/// A six-digit code the authenticator app does not show now (nor a step either side).
fn wrong_code(secret: &str) -> Result<String, Error> {
    let now = support::now_unix();
    let right = [
        support::code_for(secret, now - 30)?,
        support::code_for(secret, now)?,
        support::code_for(secret, now + 30)?,
    ];
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|code| !right.iter().any(|r| r == code))
        .map(str::to_owned)
        .ok_or_else(|| "every candidate is right".into())
}

/// The code step's backoff given back, as its waits passing would.
async fn let_the_backoff_pass(store: &Store) -> TestResult {
    let key = throttle::key(KeyKind::Code, ADA, None);
    store.release_attempt(&key, Rule::CODE, Utc::now()).await?;
    Ok(())
}

/// One wrong second step from `browser`: the `n`th alternates between a wrong authenticator
/// code and a wrong recovery code. Refused as wrong, whichever it was.
async fn fail_once(
    backend: &ServerBackend,
    browser: &RequestContext,
    wrong: &str,
    n: usize,
) -> TestResult {
    if n.is_multiple_of(2) {
        assert_eq!(
            backend.verify_sign_in_code(browser, wrong).await.err(),
            Some(AppError::wrong_code())
        );
    } else {
        assert_eq!(
            backend
                .verify_sign_in_recovery_code(browser, "ABCDE-FGHJK-MNPQR")
                .await
                .err(),
            Some(AppError::wrong_recovery_code())
        );
    }
    let_the_backoff_pass(backend.store()).await
}

/// Alert events about Ada, and how many of them have their mail queued.
async fn alerts(backend: &ServerBackend) -> Result<(usize, usize), Error> {
    let ada = backend.store().user_by_key(ADA).await?.ok_or("ada")?;
    let events: Vec<i32> = backend
        .store()
        .audit_events_of(ada.id)
        .await?
        .iter()
        .filter(|event| event.kind == ALERTED)
        .map(|event| event.id)
        .collect();
    let queued = backend
        .store()
        .outbox()
        .await?
        .iter()
        .filter(|mail| events.contains(&mail.audit_event_id))
        .count();
    Ok((events.len(), queued))
}

async fn streak(backend: &ServerBackend) -> Result<u32, Error> {
    let ada = backend.store().user_by_key(ADA).await?.ok_or("ada")?;
    Ok(backend
        .store()
        .failed_second_steps(ada.id, Utc::now())
        .await?)
}

/// Runs the senders of `stores` in turn until a round of all of them sends nothing.
async fn send_until_quiet(stores: &[&Store], mailer: &Mailer) -> TestResult {
    loop {
        let mut claimed = 0;
        for store in stores {
            claimed += run_once(store, mailer).await?.claimed;
        }
        if claimed == 0 {
            return Ok(());
        }
    }
}

#[tokio::test]
async fn ten_failed_second_steps_mail_once_and_a_sign_in_starts_over() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let sink = MailSink::start().await?;
        let mailer = sink.mailer()?;
        let (ada, secret, recovery_code) = ada_with_codes(&backend).await?;
        let wrong = wrong_code(&secret)?;

        let attacker = password_typed(&backend, "203.0.113.66").await?;
        for n in 1..=12 {
            fail_once(&backend, &attacker, &wrong, n).await?;
            assert_eq!(streak(&backend).await?, n as u32, "{name}");
            let expected = if n < ALERT_AFTER as usize { 0 } else { 1 };
            assert_eq!(
                alerts(&backend).await?,
                (expected, expected),
                "{name}: after {n} failures"
            );
        }
        send_until_quiet(&[backend.store()], &mailer).await?;
        assert_eq!(sink.count(ADA, SUBJECT), 1, "{name}: one mail");
        let mail = sink
            .received()
            .into_iter()
            .find(|mail| mail.subject() == SUBJECT)
            .ok_or("the mail")?;
        // Quoted-printable writes `=` as `=3D`.
        let text = mail.text().replace("=3D", "=");
        for said in [
            "10 codes were wrong",
            "from 203.0.113.66",
            "Change your password now",
            "https://id.contoso.example/security-info?change=password",
        ] {
            assert!(text.contains(said), "{name}: {said}: {text}");
        }

        // Recent activity: the alert, with its link, and each failure marked.
        let activity = backend.recent_activity(&ada, None).await?;
        let alert = activity
            .items
            .iter()
            .find(|item| item.title == SUBJECT)
            .ok_or("the alert in Recent activity")?;
        assert!(alert.notable && alert.suggests_password_change, "{name}");
        assert_eq!(alert.address.as_deref(), Some("203.0.113.66"));
        for marked in [
            "Right password, wrong authenticator code",
            "Right password, wrong recovery code",
        ] {
            assert!(
                activity
                    .items
                    .iter()
                    .any(|item| item.notable && item.detail.as_deref() == Some(marked)),
                "{name}: {marked}: {:?}",
                activity.items
            );
        }
        assert!(
            activity
                .items
                .iter()
                .filter(|item| item.title != SUBJECT)
                .all(|item| !item.suggests_password_change),
            "{name}"
        );

        // Ada signs in (with a recovery code): the streak is over...
        let_the_backoff_pass(backend.store()).await?;
        let browser = password_typed(&backend, "192.0.2.2").await?;
        backend
            .verify_sign_in_recovery_code(&browser, &recovery_code)
            .await?;
        assert_eq!(streak(&backend).await?, 0, "{name}");
        // ...so the next ten failures are a new one, mailed again.
        let attacker = password_typed(&backend, "203.0.113.67").await?;
        for n in 1..=ALERT_AFTER as usize {
            fail_once(&backend, &attacker, &wrong, n).await?;
        }
        assert_eq!(alerts(&backend).await?, (2, 2), "{name}");
        send_until_quiet(&[backend.store()], &mailer).await?;
        assert_eq!(sink.count(ADA, SUBJECT), 2, "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn wrong_codes_at_once_on_two_instances_mail_once() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let first = support::backend(&database).await;
        support::set_up_organization(&first).await;
        let second = support::backend_with_key_of(&database, &first).await;
        let sink = MailSink::start().await?;
        let mailer = sink.mailer()?;
        let (_, secret, _) = ada_with_codes(&first).await?;
        let wrong = wrong_code(&secret)?;

        let attacker = password_typed(&first, "203.0.113.66").await?;
        let before = ALERT_AFTER as usize - 3;
        for n in 1..=before {
            fail_once(&first, &attacker, &wrong, n).await?;
        }
        // Bursts of wrong codes sent to both instances at once, each from an address of its
        // own, until the count is past ten. The code step's backoff refuses some of a burst
        // (they are not attempted, so not counted); every one refused as wrong is counted.
        let mut counted = before;
        let mut burst = 0;
        while counted < ALERT_AFTER as usize + 2 {
            burst += 1;
            assert!(burst <= 20, "{name}: the bursts get nowhere");
            let_the_backoff_pass(first.store()).await?;
            let attempts = (0..6_u32).map(|n| {
                let instance = if n.is_multiple_of(2) { &first } else { &second };
                let mut from = attacker.clone();
                from.ip = Some(format!("198.51.{burst}.{n}"));
                let wrong = wrong.clone();
                async move { instance.verify_sign_in_code(&from, &wrong).await }
            });
            for answer in futures::future::join_all(attempts).await {
                match answer {
                    Err(AppError::Throttled { .. }) => {}
                    Err(refused) => {
                        assert_eq!(refused, AppError::wrong_code(), "{name}");
                        counted += 1;
                    }
                    Ok(_) => return Err(format!("{name}: a wrong code signed in").into()),
                }
            }
        }
        assert_eq!(
            streak(&first).await? as usize,
            counted,
            "{name}: every failure counted once"
        );
        assert_eq!(alerts(&first).await?, (1, 1), "{name}: one alert");
        send_until_quiet(&[first.store(), second.store()], &mailer).await?;
        assert_eq!(sink.count(ADA, SUBJECT), 1, "{name}: one mail");
    }
    Ok(())
}

#[tokio::test]
async fn wrong_codes_of_the_signed_in_person_confirming_it_is_them_are_not_an_attack() -> TestResult
{
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ada, secret, _) = ada_with_codes(&backend).await?;
        let wrong = wrong_code(&secret)?;
        let check = app::model::IdentityCheck {
            password: app::secret::Secret::new(PASSWORD.to_owned()),
            code: app::secret::Secret::new(wrong),
        };
        for _ in 0..ALERT_AFTER {
            assert_eq!(
                backend.confirm_its_you(&ada, &check).await.err(),
                Some(AppError::wrong_code())
            );
            let_the_backoff_pass(backend.store()).await?;
        }
        assert_eq!(streak(&backend).await?, 0, "{}", database.name);
        assert_eq!(alerts(&backend).await?, (0, 0), "{}", database.name);
    }
    Ok(())
}
