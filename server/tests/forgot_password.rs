//! "Forgot password?" by mail and the console's "reset password and methods" (issue 30, items
//! 5 and 4), on SQLite and PostgreSQL. Where mail is set up and the organization turns it on,
//! a person asks for a link by sign-in name; the answer is the same (and as quick) whatever
//! the name; one link, valid an hour, is mailed through the test's SMTP server; using it sets
//! the password, ends the person's sessions, mails them, and the next sign-in still asks for
//! the second step. Requests are throttled per name (silently) and per address. An
//! administrator's "reset password and methods" is one change with both audit events.

mod support;

use std::time::{Duration, Instant};

use app::backend::prelude::*;
use app::error::{AppError, Refusal};
use app::model::{IdentityCheck, SignInStep};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use server::db::Store;
use server::db::entities::{password_link, session};
use server::domain::password_link::{MAILED, RESET_BY_MAIL};
use server::domain::policy::Setting;
use server::http::router;
use server::jobs::mail_alerts::run_once;
use server::use_cases::{BackendSettings, ServerBackend};
use support::mail_sink::MailSink;
use support::{PASSWORD, TestDatabase, TestResult, context};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ADA: &str = "ada@contoso.example";
const BOB: &str = "bob@contoso.example";
const ADMIN: &str = "admin@contoso.example";
const NOBODY: &str = "nobody@contoso.example";
const PUBLIC_URL: &str = "https://id.contoso.example";
const NEW_PASSWORD: &str = "lantern orchard copper";

/// A backend with mail set up (or not), whose organization has Ada and Bob.
async fn backend_with(database: &TestDatabase, mail: bool) -> std::sync::Arc<ServerBackend> {
    let plain = support::backend(database).await;
    let backend = ServerBackend::new(
        support::watched_store(database).await,
        plain.secret_key.clone(),
        BackendSettings {
            mail_configured: mail,
            public_url: PUBLIC_URL.to_owned(),
            ..Default::default()
        },
    );
    support::set_up_organization(&backend).await;
    support::add_user(&backend, ADA).await;
    support::add_user(&backend, BOB).await;
    backend
}

/// Waits until the outbox holds `count` mails (a link is queued after the answer), then makes
/// sure no more come.
async fn outbox_holds(store: &Store, count: usize) -> Result<(), Error> {
    let waited = support::time_until(Duration::from_secs(10), async || {
        Ok::<_, Error>(store.outbox().await?.len() >= count)
    })
    .await?;
    assert!(waited.is_some(), "the outbox never held {count} mails");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.outbox().await?.len(), count);
    Ok(())
}

/// The token of the password link in a mail.
fn link_token(message: &str) -> Option<String> {
    let text = message.replace("=\n", "").replace("=3D", "=");
    let start = text.find("/set-password?token=")? + "/set-password?token=".len();
    let token: String = text[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (token.len() == 64).then_some(token)
}

async fn kinds_of(backend: &ServerBackend, user_id: i32) -> Result<Vec<String>, Error> {
    Ok(backend
        .store()
        .audit_events(Some(user_id), None)
        .await?
        .into_iter()
        .map(|event| event.kind)
        .collect())
}

async fn sessions_of(backend: &ServerBackend, user_id: i32) -> Result<u64, Error> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .count(backend.store().connection())
        .await?)
}

#[tokio::test]
async fn a_mailed_link_sets_the_password_once_ends_sessions_and_never_skips_the_second_step()
-> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = backend_with(&database, true).await;
        let sink = MailSink::start().await?;
        let browser = context("203.0.113.50", None);

        // Off by default: not offered, and asking is refused (whatever the name).
        assert!(!backend.reset_by_mail_offered().await?, "{name}");
        assert_eq!(
            backend.mail_password_link(&browser, ADA).await.err(),
            Some(AppError::Forbidden(Refusal::ResetByMailOff)),
            "{name}"
        );
        support::set_policy(&backend, Setting::ResetPasswordByMail, true).await?;
        assert!(backend.reset_by_mail_offered().await?, "{name}");

        // Ada has an authenticator app and a session elsewhere.
        let (elsewhere, _) =
            support::signed_in_with_authenticator(&backend, ADA, "192.0.2.10").await?;
        let ada = backend.signed_in(&elsewhere).await?.ok_or("Ada")?.user;
        // An administrator's link for Bob, which a request by mail must not undo.
        let admin = server::use_cases::administration::Administration::new(
            backend.store().clone(),
            server::db::Actor::default(),
        );
        let (_, _, bobs_link) = admin.reset_password_with_link(BOB).await?;

        // Ada's "authenticator added" alert is queued already.
        let queued = backend.store().outbox().await?.len();
        // The same answer for Ada, a name nobody has, and Ada again (no second mail).
        backend.mail_password_link(&browser, ADA).await?;
        backend.mail_password_link(&browser, NOBODY).await?;
        backend.mail_password_link(&browser, ADA).await?;
        backend.mail_password_link(&browser, BOB).await?;
        outbox_holds(backend.store(), queued + 2).await?;
        assert!(
            backend.password_link(&bobs_link.token).await.is_ok(),
            "{name}: the administrator's link still works"
        );
        // Nothing changed yet: Ada's password and session stay.
        assert!(backend.signed_in(&elsewhere).await?.is_some(), "{name}");

        let mailer = sink
            .mailer_for(PUBLIC_URL)?
            .with_secret_key(backend.secret_key.clone());
        let round = run_once(backend.store(), &mailer).await?;
        assert_eq!(round.sent, queued + 2, "{name}: {round:?}");
        assert_eq!(sink.count(BOB, "Set a new password"), 1, "{name}");
        let to_ada: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|mail| mail.recipient == ADA && mail.subject() == "Set a new password")
            .collect();
        assert_eq!(to_ada.len(), 1, "{name}");
        assert_eq!(to_ada[0].subject(), "Set a new password");
        let token = link_token(&to_ada[0].message).ok_or("no link in the mail")?;
        let text = to_ada[0].text().replace("=3D", "=");
        assert!(
            text.contains(&format!(
                "https://id.contoso.example/set-password?token={token}"
            )),
            "{text}"
        );
        assert!(text.contains("second step"), "{text}");

        // Kept hashed and sealed, purpose "forgot", for an hour.
        let links = password_link::Entity::find()
            .filter(password_link::Column::UserId.eq(ada.id))
            .all(backend.store().connection())
            .await?;
        assert_eq!(links.len(), 1, "{name}");
        let link = &links[0];
        assert_eq!(link.purpose, "forgot");
        assert_eq!(
            link.expires_at - link.created_at,
            chrono::Duration::hours(1)
        );
        assert!(!link.token_hash.contains(&token));
        let sealed = link.token_sealed.clone().unwrap_or_default();
        assert!(!sealed.is_empty() && !sealed.contains(&token));
        assert!(!format!("{link:?}").contains(&link.token_hash));

        // The page greets Ada; the password is set; the link works once.
        let greeted = backend.password_link(&token).await?;
        assert!(greeted.mailed && !greeted.first_password, "{name}");
        assert_eq!(greeted.username, ADA);
        let set = backend
            .set_password_with_link(&token, NEW_PASSWORD, NEW_PASSWORD, &browser)
            .await?;
        assert_eq!(set, ADA);
        assert_eq!(
            backend
                .set_password_with_link(&token, NEW_PASSWORD, NEW_PASSWORD, &browser)
                .await
                .err(),
            Some(AppError::NotFound),
            "{name}"
        );

        // Every session of Ada's ended; nothing signed this browser in.
        assert!(backend.signed_in(&elsewhere).await?.is_none(), "{name}");
        assert_eq!(sessions_of(&backend, ada.id).await?, 0, "{name}");
        // The old password is refused; the new one still asks for the code.
        assert_eq!(
            backend
                .sign_in(&context("192.0.2.11", None), ADA, PASSWORD)
                .await
                .err(),
            Some(AppError::SignInFailed),
            "{name}"
        );
        let (step, _) = backend
            .sign_in(&context("192.0.2.11", None), ADA, NEW_PASSWORD)
            .await?;
        assert_eq!(
            step,
            SignInStep::SecondStep(app::model::SecondStepWay::AuthenticatorApp),
            "{name}"
        );

        // Audited, request and use, and Ada is told by mail.
        let kinds = kinds_of(&backend, ada.id).await?;
        for kind in [MAILED, RESET_BY_MAIL] {
            assert!(kinds.iter().any(|k| k == kind), "{name}: {kind}: {kinds:?}");
        }
        let used = backend
            .store()
            .audit_events(Some(ada.id), None)
            .await?
            .into_iter()
            .find(|event| event.kind == RESET_BY_MAIL)
            .ok_or("no use event")?;
        assert!(used.detail.contains("Forgot password?"), "{}", used.detail);
        run_once(backend.store(), &mailer).await?;
        assert_eq!(sink.count(ADA, "Your password was reset"), 1, "{name}");

        // A disabled person gets nothing (asked for once: not held back by the name's limit).
        support::add_user(&backend, "carol@contoso.example").await;
        admin.set_enabled("carol@contoso.example", false).await?;
        let before = backend.store().outbox().await?.len();
        backend
            .mail_password_link(&context("203.0.113.51", None), "carol@contoso.example")
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(backend.store().outbox().await?.len(), before, "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn without_mail_nothing_is_offered_and_addresses_are_throttled() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        // The organization's switch alone does not offer it: mail must be set up too.
        let no_mail = backend_with(&database, false).await;
        support::set_policy(&no_mail, Setting::ResetPasswordByMail, true).await?;
        assert!(!no_mail.reset_by_mail_offered().await?, "{name}");
        assert_eq!(
            no_mail
                .mail_password_link(&context("203.0.113.60", None), ADA)
                .await
                .err(),
            Some(AppError::Forbidden(Refusal::ResetByMailOff)),
            "{name}"
        );

        // From one address, past the limit (whatever the names): refused with a wait.
        let backend = ServerBackend::new(
            no_mail.store().clone(),
            no_mail.secret_key.clone(),
            BackendSettings {
                mail_configured: true,
                public_url: PUBLIC_URL.to_owned(),
                ..Default::default()
            },
        );
        let address = context("203.0.113.61", None);
        for n in 0..20 {
            let asked = format!("someone{n}@contoso.example");
            backend.mail_password_link(&address, &asked).await?;
        }
        let refused = backend.mail_password_link(&address, ADA).await;
        assert!(
            matches!(refused, Err(AppError::Throttled { .. })),
            "{name}: {refused:?}"
        );
        // Another address is not held up.
        backend
            .mail_password_link(&context("203.0.113.62", None), ADA)
            .await?;
        outbox_holds(backend.store(), 1).await?;
    }
    Ok(())
}

/// The answer takes as long for names nobody has as for real people's (the link is made and
/// queued after the answer, by the same task for every name): medians of 20 each, printed.
#[tokio::test]
async fn the_answer_takes_as_long_whatever_the_name() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = backend_with(&database, true).await;
    support::set_policy(&backend, Setting::ResetPasswordByMail, true).await?;
    let people: Vec<String> = (0..20)
        .map(|n| format!("person{n}@contoso.example"))
        .collect();
    for person in &people {
        support::add_user(&backend, person).await;
    }
    let (mut real, mut unknown) = (Vec::new(), Vec::new());
    for (n, person) in people.iter().enumerate() {
        for (name, times) in [
            (person.clone(), &mut real),
            (format!("nobody{n}@contoso.example"), &mut unknown),
        ] {
            let net = if name.starts_with("nobody") { 101 } else { 100 };
            let ip = format!("198.51.{net}.{}", n + 1);
            let started = Instant::now();
            backend
                .mail_password_link(&context(&ip, None), &name)
                .await?;
            times.push(started.elapsed());
            // Let the work after the answer finish, so it does not slow the next answer.
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    outbox_holds(backend.store(), people.len()).await?;
    real.sort_unstable();
    unknown.sort_unstable();
    let (real, unknown) = (real[real.len() / 2], unknown[unknown.len() / 2]);
    println!("median answer: real names {real:?}, unknown names {unknown:?}");
    let slack = Duration::from_millis(5).max(unknown / 2);
    assert!(
        real <= unknown + slack && unknown <= real + slack.max(real / 2),
        "real {real:?} against unknown {unknown:?}"
    );
    Ok(())
}

#[tokio::test]
async fn reset_password_and_methods_is_one_change_with_both_events() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = backend_with(&database, true).await;
        let (admin_ctx, _) =
            support::signed_in_with_authenticator(&backend, ADMIN, "192.0.2.1").await?;
        let admin_id = backend.signed_in(&admin_ctx).await?.ok_or("admin")?.user.id;
        let (ada_ctx, _) =
            support::signed_in_with_authenticator(&backend, ADA, "192.0.2.2").await?;
        let ada = backend.signed_in(&ada_ctx).await?.ok_or("Ada")?.user;

        let link = backend
            .reset_password_and_methods_of_person(&admin_ctx, ADA, None, &IdentityCheck::default())
            .await?;
        assert!(
            link.url
                .starts_with("https://id.contoso.example/set-password?token=")
        );
        assert!(
            link.detail.contains("sign-in methods were reset"),
            "{}",
            link.detail
        );

        // Methods gone, sessions ended, the old password refused, both events by the admin.
        assert!(
            backend.store().authenticator(ada.id).await?.is_none(),
            "{name}"
        );
        assert_eq!(sessions_of(&backend, ada.id).await?, 0, "{name}");
        assert_eq!(
            backend
                .sign_in(&context("192.0.2.3", None), ADA, PASSWORD)
                .await
                .err(),
            Some(AppError::SignInFailed),
            "{name}"
        );
        let events = backend.store().audit_events(Some(ada.id), None).await?;
        for kind in ["methods.reset", "password.reset"] {
            let event = events
                .iter()
                .find(|event| event.kind == kind)
                .ok_or(format!("{name}: no {kind}"))?;
            assert_eq!(event.actor_user_id, Some(admin_id), "{name}: {kind}");
        }

        // With the link, Ada chooses a password and signs in without a second step to add one.
        let token = link
            .url
            .split_once("token=")
            .map(|(_, token)| token.to_owned())
            .ok_or("no token")?;
        backend
            .set_password_with_link(
                &token,
                NEW_PASSWORD,
                NEW_PASSWORD,
                &context("192.0.2.3", None),
            )
            .await?;
        let (step, _) = backend
            .sign_in(&context("192.0.2.3", None), ADA, NEW_PASSWORD)
            .await?;
        assert_eq!(step, SignInStep::SignedIn, "{name}");

        // A non-administrator cannot.
        let (_, bobs) = backend
            .sign_in(&context("192.0.2.4", None), BOB, PASSWORD)
            .await?;
        let bob_ctx = context("192.0.2.4", Some(&bobs));
        let refused = backend
            .reset_password_and_methods_of_person(&bob_ctx, ADA, None, &IdentityCheck::default())
            .await;
        assert_eq!(
            refused.err(),
            Some(AppError::Forbidden(Refusal::NotAdministrator)),
            "{name}"
        );
    }
    Ok(())
}

/// Without the WebAssembly: the password step links to "Forgot password?" only when it is on;
/// its form posts, and the answer is sign-in saying a link may be on its way.
#[tokio::test]
async fn through_the_router_without_javascript() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = backend_with(&database, true).await;
        let app = router(support::state(backend.clone()));
        let password_step = format!("/signin?username={}", ADA.replace('@', "%40"));

        let (status, page) = get(&app, &password_step).await?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            !page.contains("Forgot password?"),
            "{name}: offered while off"
        );

        support::set_policy(&backend, Setting::ResetPasswordByMail, true).await?;
        let (_, page) = get(&app, &password_step).await?;
        assert!(page.contains("Forgot password?"), "{name}: not offered");
        assert!(page.contains("step=forgot"), "{name}");
        let (status, page) =
            get(&app, "/signin?step=forgot&username=ada%40contoso.example").await?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(page.contains("Email me a link"), "{name}");
        assert!(page.contains("value=\"ada@contoso.example\""), "{name}");

        let request = Request::post("/api/mail_password_link")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, "http://127.0.0.1:3000/signin?step=forgot")
            .header("Sec-Fetch-Site", "same-origin")
            .body(Body::from("username=ada%40contoso.example"))?;
        let response = app
            .clone()
            .oneshot(from_peer("203.0.113.70", request))
            .await?;
        assert!(
            response.status().is_redirection(),
            "{name}: {}",
            response.status()
        );
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            location.ends_with("/signin?password=mailed"),
            "{name}: {location}"
        );
        let (_, page) = get(&app, "/signin?password=mailed").await?;
        assert!(
            page.contains("a link to set a new password is on its way"),
            "{name}"
        );
        outbox_holds(backend.store(), 1).await?;
    }
    Ok(())
}

fn from_peer(ip: &str, mut request: Request<Body>) -> Request<Body> {
    if let Ok(ip) = ip.parse::<std::net::IpAddr>() {
        request
            .extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::new(ip, 40_000)));
    }
    request
}

async fn get(app: &axum::Router, uri: &str) -> Result<(StatusCode, String), Error> {
    let response = app
        .clone()
        .oneshot(from_peer(
            "203.0.113.70",
            Request::get(uri).body(Body::empty())?,
        ))
        .await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, String::from_utf8(body.to_vec())?))
}
