//! Known devices and mailed sign-in links (issue 29), on SQLite and PostgreSQL. A spread-out
//! attack holds a sign-in name at its account ceiling (`Rule::ACCOUNT`), which refuses the
//! person from every address they have not signed in from lately; their own browsers still get
//! in with the known-device cookie a complete sign-in gave them, and a browser without one gets
//! it from a link mailed to them. A forged cookie, or another person's, does not help, and a
//! stolen one is worth the device's few free tries only. The attack itself is simulated over
//! hours against the real counters (`sign_in_limits` with a clock of the test's own).

mod support;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use app::backend::SetCookie;
use app::backend::prelude::*;
use app::error::AppError;
use app::model::SignInStep;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use sea_orm::EntityTrait;
use server::db::Store;
use server::db::entities::sign_in_link;
use server::domain::known_device::{self, Device};
use server::domain::throttle::{MAX_DELAY, Rule};
use server::http::router;
use server::jobs::mail_alerts::run_once;
use server::secret_key::SecretKey;
use server::use_cases::sign_in_limits::{self, Limit};
use server::use_cases::{BackendSettings, ServerBackend};
use support::mail_sink::MailSink;
use support::{PASSWORD, TestDatabase, TestResult, context};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ADA: &str = "ada@contoso.example";
const BOB: &str = "bob@contoso.example";
const NOBODY: &str = "nobody@contoso.example";
const PUBLIC_URL: &str = "https://id.contoso.example";

fn account_ceiling() -> i32 {
    match Rule::ACCOUNT {
        Rule::Ceiling { max, .. } => max,
        Rule::Backoff { free, .. } => free,
    }
}

fn device_free_tries() -> i32 {
    match Rule::DEVICE {
        Rule::Backoff { free, .. } => free,
        Rule::Ceiling { max, .. } => max,
    }
}

/// A backend whose organization has Ada and Bob, with `settings`.
async fn backend_with(database: &TestDatabase, settings: BackendSettings) -> Arc<ServerBackend> {
    let plain = support::backend(database).await;
    let backend = ServerBackend::new(
        support::watched_store(database).await,
        plain.secret_key.clone(),
        settings,
    );
    support::set_up_organization(&backend).await;
    support::add_user(&backend, ADA).await;
    support::add_user(&backend, BOB).await;
    backend
}

/// Mail set up, links on the public site.
fn with_mail() -> BackendSettings {
    BackendSettings {
        mail_configured: true,
        public_url: PUBLIC_URL.to_owned(),
        ..Default::default()
    }
}

/// What the attack makes of `name`: wrong passwords from as many addresses as the ceiling
/// counts, one each (each well within its own free tries), until sign-ins from anywhere else
/// are held back.
async fn hold_back(backend: &ServerBackend, name: &str) -> TestResult {
    for n in 0..account_ceiling() {
        let ip = format!("198.18.{}.{}", n / 200, n % 200 + 1);
        let result = backend
            .sign_in(&context(&ip, None), name, "not the password")
            .await;
        assert_eq!(result.err(), Some(AppError::SignInFailed), "attempt {n}");
    }
    Ok(())
}

/// The device cookie's value among `cookies` (after a complete sign-in).
fn device_cookie(backend: &ServerBackend, cookies: &SetCookie) -> Result<String, Error> {
    let prefix = format!("{}=", backend.device_cookie_name());
    let header = cookies
        .values()
        .find(|value| value.starts_with(&prefix))
        .ok_or_else(|| format!("no device cookie in {cookies:?}"))?;
    let pair = header.split(';').next().unwrap_or_default();
    Ok(pair.trim_start_matches(&prefix).to_owned())
}

/// A request from `ip` carrying the device cookie `device` (and no session).
fn from_browser(ip: &str, device: &str) -> RequestContext {
    RequestContext {
        known_device: Some(device.to_owned()),
        ..context(ip, None)
    }
}

/// Signs `name` in from `ip` in a browser of its own; answers with its device cookie.
async fn signed_in_browser(backend: &ServerBackend, name: &str, ip: &str) -> Result<String, Error> {
    let (step, cookies) = backend.sign_in(&context(ip, None), name, PASSWORD).await?;
    assert_eq!(step, SignInStep::SignedIn);
    device_cookie(backend, &cookies)
}

fn held_back(result: &Result<(SignInStep, SetCookie), AppError>, link_by_mail: bool) -> bool {
    matches!(
        result,
        Err(AppError::SignInHeldBack { link_by_mail: by_mail, retry_after_seconds, .. })
            if *by_mail == link_by_mail
                && (1..=MAX_DELAY.num_seconds().unsigned_abs()).contains(retry_after_seconds)
    )
}

async fn audit_kinds(backend: &ServerBackend, name: &str) -> Result<Vec<String>, Error> {
    let person = backend
        .store()
        .user_by_key(name)
        .await?
        .ok_or("no such person")?;
    Ok(backend
        .store()
        .audit_events(Some(person.id), None)
        .await?
        .into_iter()
        .map(|event| event.kind)
        .collect())
}

#[tokio::test]
async fn the_person_signs_in_with_their_device_cookie_while_an_attack_holds_their_account()
-> TestResult {
    for database in TestDatabase::all().await {
        let backend = backend_with(&database, BackendSettings::default()).await;
        let adas = signed_in_browser(&backend, ADA, "192.0.2.20").await?;
        let bobs = signed_in_browser(&backend, BOB, "192.0.2.30").await?;
        hold_back(&backend, ADA).await?;

        // A new address, no cookie: held back (no mail here, so no link is offered).
        let fresh = backend
            .sign_in(&context("203.0.113.1", None), ADA, PASSWORD)
            .await;
        assert!(held_back(&fresh, false), "{}: {fresh:?}", database.name);

        // Her own browser, on a new network: in, and remembered on.
        let (step, cookies) = backend
            .sign_in(&from_browser("203.0.113.2", &adas), ADA, PASSWORD)
            .await?;
        assert_eq!(step, SignInStep::SignedIn, "{}", database.name);
        let renewed = device_cookie(&backend, &cookies)?;
        // What is printed of a sign-in's cookies and of a request never shows the device's.
        assert!(!format!("{cookies:?}").contains(&renewed), "{cookies:?}");
        let request = from_browser("203.0.113.2", &adas);
        assert!(!format!("{request:?}").contains(&adas), "{request:?}");
        let now = Utc::now();
        assert_eq!(
            known_device::recognise(&backend.secret_key, ADA, &renewed, now),
            known_device::recognise(&backend.secret_key, ADA, &adas, now),
            "the same device, signed afresh"
        );
        assert!(
            audit_kinds(&backend, ADA)
                .await?
                .contains(&known_device::PAST_CEILING.to_owned()),
            "{}",
            database.name
        );

        // Bob's cookie, a forged one, an altered one, junk: held back as without one.
        let forged = known_device::remember(
            &SecretKey::from_bytes([9; 32]),
            ADA,
            None,
            &mut server::domain::random::OsRandom,
            now,
        )
        .value;
        let mut altered = adas.clone();
        let last = if altered.ends_with('0') { "1" } else { "0" };
        altered.replace_range(altered.len() - 1.., last);
        for (n, cookie) in [bobs.as_str(), &forged, &altered, "1.2.3", ""]
            .iter()
            .enumerate()
        {
            let ip = format!("203.0.113.{}", 10 + n);
            let result = backend
                .sign_in(&from_browser(&ip, cookie), ADA, PASSWORD)
                .await;
            assert!(
                held_back(&result, false),
                "{}: cookie {n}: {result:?}",
                database.name
            );
        }
        // Bob's own cookie still works for Bob.
        assert!(
            backend
                .sign_in(&from_browser("203.0.113.30", &bobs), BOB, PASSWORD)
                .await
                .is_ok()
        );
        // Without mail, asking for a link answers as always and queues nothing.
        backend
            .mail_sign_in_link(&context("203.0.113.31", None), ADA)
            .await?;
        assert!(backend.store().outbox().await?.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn a_stolen_device_cookie_gets_its_few_tries_then_waits() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = backend_with(&database, BackendSettings::default()).await;
        let stolen = signed_in_browser(&backend, ADA, "192.0.2.20").await?;
        let laptop = signed_in_browser(&backend, ADA, "192.0.2.21").await?;
        hold_back(&backend, ADA).await?;

        // The thief, from a new address each time: the device's free tries, then waits.
        let free = usize::try_from(device_free_tries())?;
        let mut answers = Vec::new();
        for n in 0..free + 2 {
            let ip = format!("198.51.100.{}", 50 + n);
            let result = backend
                .sign_in(&from_browser(&ip, &stolen), ADA, "guess")
                .await;
            answers.push(match result {
                Err(AppError::SignInFailed) => "checked",
                Err(AppError::Throttled {
                    retry_after_seconds,
                    ..
                }) if (1..=MAX_DELAY.num_seconds().unsigned_abs())
                    .contains(&retry_after_seconds) =>
                {
                    "waits"
                }
                other => panic!("{}: attempt {n}: {other:?}", database.name),
            });
        }
        let mut expected = vec!["checked"; free];
        expected.extend(["waits", "waits"]);
        assert_eq!(answers, expected, "{}", database.name);
        // Even the right password waits with that cookie: it is the device that is counted.
        let right = backend
            .sign_in(&from_browser("198.51.100.90", &stolen), ADA, PASSWORD)
            .await;
        assert!(
            matches!(right, Err(AppError::Throttled { .. })),
            "{right:?}"
        );
        // Ada's other browser is another device, with its own count.
        let other = backend
            .sign_in(&from_browser("203.0.113.40", &laptop), ADA, PASSWORD)
            .await;
        assert!(other.is_ok(), "{}: {other:?}", database.name);
    }
    Ok(())
}

/// The token of the sign-in link in a mail as received (quoted-printable or not).
fn link_token(message: &str) -> Option<String> {
    let text = message.replace("=\n", "").replace("=3D", "=");
    let start = text.find("/signin?link=")? + "/signin?link=".len();
    let token: String = text[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (token.len() == 64).then_some(token)
}

/// Waits until the outbox holds `count` mails (a link is queued after the answer).
async fn outbox_holds(store: &Store, count: usize) -> Result<(), Error> {
    let waited = support::time_until(std::time::Duration::from_secs(10), async || {
        Ok::<_, Error>(store.outbox().await?.len() >= count)
    })
    .await?;
    assert!(waited.is_some(), "the outbox never held {count} mails");
    // Anything else that was going to be queued by now would have been.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(store.outbox().await?.len(), count);
    Ok(())
}

#[tokio::test]
async fn a_browser_without_the_cookie_signs_in_after_the_mailed_link() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = backend_with(&database, with_mail()).await;
        let sink = MailSink::start().await?;
        hold_back(&backend, ADA).await?;
        hold_back(&backend, NOBODY).await?;
        let browser = context("203.0.113.50", None);

        // Held back, with a link offered: the same answer for a name nobody has.
        let ada = backend.sign_in(&browser, ADA, PASSWORD).await;
        let nobody = backend.sign_in(&browser, NOBODY, PASSWORD).await;
        assert!(held_back(&ada, true), "{}: {ada:?}", database.name);
        assert!(held_back(&nobody, true), "{}: {nobody:?}", database.name);
        let words = |result: &Result<(SignInStep, SetCookie), AppError>| {
            let text = result
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default();
            text.chars()
                .filter(|c| !c.is_ascii_digit())
                .collect::<String>()
        };
        assert_eq!(words(&ada), words(&nobody));

        // Asked for, for both names, twice for Ada: one mail, to Ada.
        backend.mail_sign_in_link(&browser, ADA).await?;
        backend.mail_sign_in_link(&browser, NOBODY).await?;
        backend.mail_sign_in_link(&browser, ADA).await?;
        outbox_holds(backend.store(), 1).await?;
        let mailer = sink
            .mailer_for(PUBLIC_URL)?
            .with_secret_key(backend.secret_key.clone());
        let round = run_once(backend.store(), &mailer).await?;
        assert_eq!(round.sent, 1, "{}: {round:?}", database.name);
        let received = sink.received();
        assert_eq!(received.len(), 1);
        let (recipient, message) = (&received[0].recipient, &received[0].message);
        assert_eq!(recipient, ADA);
        assert!(message.contains("Subject: Your sign-in link"), "{message}");
        let token = link_token(message).ok_or("no link in the mail")?;
        // The database keeps neither the link nor its token in the clear.
        for link in sign_in_link::Entity::find()
            .all(backend.store().connection())
            .await?
        {
            assert!(!link.token_hash.contains(&token) && !link.token_sealed.contains(&token));
            assert!(!link.token_sealed.contains(&hex::encode(&token)));
        }

        // The browser opens the link: it is remembered, and the password gets in.
        let (username, cookies) = backend.use_sign_in_link(&browser, &token).await?;
        assert_eq!(username, ADA);
        let device = device_cookie(&backend, &cookies)?;
        let signed_in = backend
            .sign_in(&from_browser("203.0.113.50", &device), ADA, PASSWORD)
            .await;
        assert!(signed_in.is_ok(), "{}: {signed_in:?}", database.name);
        // Once only; nothing that is not a link opens anything.
        assert_eq!(
            backend.use_sign_in_link(&browser, &token).await.err(),
            Some(AppError::NotFound)
        );
        assert_eq!(
            backend.use_sign_in_link(&browser, "x").await.err(),
            Some(AppError::NotFound)
        );
        let kinds = audit_kinds(&backend, ADA).await?;
        for kind in [
            server::domain::sign_in_link::MAILED,
            server::domain::sign_in_link::USED,
            known_device::PAST_CEILING,
        ] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "{}: {kind}: {kinds:?}",
                database.name
            );
        }
    }
    Ok(())
}

/// A sign-in link's mail is made with the server key (its token is kept sealed): a mailer
/// without it sends nothing.
#[tokio::test]
async fn a_link_mail_needs_the_server_key() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = backend_with(&database, with_mail()).await;
    let sink = MailSink::start().await?;
    hold_back(&backend, ADA).await?;
    backend
        .mail_sign_in_link(&context("203.0.113.60", None), ADA)
        .await?;
    outbox_holds(backend.store(), 1).await?;
    // Without the server key the mail cannot be made.
    let keyless = run_once(backend.store(), &sink.mailer_for(PUBLIC_URL)?).await?;
    assert_eq!((keyless.sent, keyless.undeliverable), (0, 1));
    assert!(sink.received().is_empty());
    Ok(())
}

/// One attacker address, as counted.
fn attacker(n: u32) -> IpAddr {
    IpAddr::from([198, 18, (n / 250) as u8, (n % 250 + 1) as u8])
}

/// What the person met at one moment of a simulated attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    minute: i64,
    /// From a new address without a device cookie, the ceiling refused them.
    held_back: bool,
    /// From their own browser (a known device), they got in.
    device_in: bool,
}

/// `addresses` attackers try wrong passwords for Ada as fast as the counters let each of them,
/// for `duration` of simulated time; every 5 minutes (from minute 2.5) Ada tries from a new
/// address, and from her own browser on a new network.
async fn simulate_attack(
    store: &Store,
    addresses: u32,
    duration: Duration,
) -> Result<Vec<Probe>, Error> {
    // Her browser's device (what a valid cookie of hers names).
    let device = known_device::remember(
        &SecretKey::from_bytes([1; 32]),
        ADA,
        None,
        &mut server::domain::random::OsRandom,
        Utc::now(),
    )
    .device;
    let start = Utc::now();
    let end = start + duration;
    let mut queue: BinaryHeap<Reverse<(DateTime<Utc>, u32)>> =
        (0..addresses).map(|n| Reverse((start, n))).collect();
    let mut probes = Vec::new();
    // Between the ceiling's window ends (a moment the first attempt of a new window takes).
    let mut next_probe = start + Duration::seconds(150);
    while let Some(Reverse((at, n))) = queue.pop() {
        if at > end {
            break;
        }
        while next_probe <= at {
            probes.push(probe(store, &device, start, next_probe, probes.len()).await?);
            next_probe += Duration::minutes(5);
        }
        let next =
            match sign_in_limits::begin_password_attempt(store, ADA, Some(attacker(n)), None, at)
                .await?
            {
                // A wrong password: nothing is given back. The next one takes a moment to type.
                Ok(_) => at + Duration::milliseconds(100),
                Err(refused) => refused.until.max(at + Duration::milliseconds(100)),
            };
        queue.push(Reverse((next, n)));
    }
    Ok(probes)
}

async fn probe(
    store: &Store,
    device: &Device,
    start: DateTime<Utc>,
    at: DateTime<Utc>,
    count: usize,
) -> Result<Probe, Error> {
    let fresh = |k: usize| IpAddr::from([100, 64, (k / 250) as u8, (k % 250 + 1) as u8]);
    let held_back =
        match sign_in_limits::begin_password_attempt(store, ADA, Some(fresh(2 * count)), None, at)
            .await?
        {
            Ok(attempt) => {
                attempt.succeeded(store, at).await?;
                false
            }
            Err(refused) => refused.limit == Limit::Account,
        };
    let device_in = match sign_in_limits::begin_password_attempt(
        store,
        ADA,
        Some(fresh(2 * count + 1)),
        Some(device),
        at,
    )
    .await?
    {
        Ok(attempt) => {
            attempt.succeeded(store, at).await?;
            true
        }
        Err(_) => false,
    };
    Ok(Probe {
        minute: (at - start).num_minutes(),
        held_back,
        device_in,
    })
}

/// The attack the issue describes, from 8 and 64 addresses (and 128, more than the ceiling's
/// 100 a window, which a single IPv6 customer's /56 holds 256 times over): whenever the ceiling
/// holds the person back, and whenever it does not, their own browser gets in. How long each
/// attack holds the ceiling follows from the rules: every address has its own backoff, up to
/// one attempt in 15 minutes, so in the long run N addresses make N attempts a window and hold
/// the ceiling only from 100 on; fewer hold it while their backoffs are still short.
#[tokio::test]
async fn attacks_from_8_64_and_128_addresses_never_keep_the_person_out_of_their_browser()
-> TestResult {
    for database in TestDatabase::all().await {
        for (addresses, hours) in [(8, 1), (64, 3), (128, 2)] {
            let store = database.store().await;
            let probes = simulate_attack(&store, addresses, Duration::hours(hours)).await?;
            let held: Vec<i64> = probes
                .iter()
                .filter(|p| p.held_back)
                .map(|p| p.minute)
                .collect();
            eprintln!(
                "{}: {addresses} addresses: ceiling held at minutes {held:?} of {}",
                database.name,
                hours * 60
            );
            assert!(
                probes.iter().all(|p| p.device_in),
                "{}: {addresses}: {probes:?}",
                database.name
            );
            // Each attack holds the ceiling up for a while (8 addresses: their first window;
            // 64: while their backoffs are short, about two hours; 128: for good), and from a
            // new address without the cookie the person is kept out meanwhile.
            let holds_until = match addresses {
                8 => 15,
                64 => 120,
                _ => hours * 60,
            };
            let expected: Vec<i64> = probes
                .iter()
                .map(|p| p.minute)
                .filter(|minute| *minute >= 5 && *minute < holds_until)
                .collect();
            assert!(
                expected.iter().all(|minute| held.contains(minute)),
                "{}: {addresses} addresses: held at {held:?}, expected at least {expected:?}",
                database.name
            );
            // The next attack starts with no counters.
            store
                .purge_expired_throttles(Utc::now() + Duration::days(400))
                .await?;
        }
    }
    Ok(())
}

/// The whole of it through the router, with cookies as a browser keeps them, behind https:
/// the device cookie's attributes, the refusal with its offer on the page before the
/// WebAssembly, the link asked for and used with plain form posts, and the password past the
/// ceiling.
#[tokio::test]
async fn through_the_router_without_javascript() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = backend_with(
            &database,
            BackendSettings {
                secure_cookies: true,
                ..with_mail()
            },
        )
        .await;
        let app = router(support::state(backend.clone()));

        // A complete sign-in sets the session cookie, then the device cookie.
        let response = app
            .clone()
            .oneshot(from_peer(
                "192.0.2.20",
                Request::post("/api/sign_in")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "application/json")
                    .body(Body::from(form(&[
                        ("username", ADA),
                        ("password", PASSWORD),
                    ])))?,
            ))
            .await?;
        assert_eq!(response.status(), StatusCode::OK, "{}", database.name);
        let set: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        assert_eq!(set.len(), 2, "{set:?}");
        assert!(set[0].starts_with("__Host-latchkey_session="), "{set:?}");
        let device = &set[1];
        assert!(device.starts_with("__Host-latchkey_device="), "{device}");
        for attribute in [
            "Secure",
            "HttpOnly",
            "Path=/",
            "SameSite=Lax",
            "Max-Age=31536000",
        ] {
            assert!(device.contains(attribute), "{attribute}: {device}");
        }
        assert!(!device.contains("Domain"), "{device}");
        let device_pair = device.split(';').next().unwrap_or_default().to_owned();

        hold_back(&backend, ADA).await?;
        let page = format!("/signin?username={}", ADA.replace('@', "%40"));

        // With the cookie (and a planted one beside it), the plain form signs in.
        let (status, location, _) = post_plain(
            &app,
            "203.0.113.71",
            "/api/sign_in",
            &page,
            Some(&format!("__Host-latchkey_device=1.2.3; {device_pair}")),
            &[("username", ADA), ("password", PASSWORD)],
        )
        .await?;
        assert!(status.is_redirection(), "{}: {status}", database.name);
        assert!(!local(&location).contains("__err"), "{location:?}");

        // Without it, from elsewhere: back to the page, which says why and offers a link.
        let (status, location, _) = post_plain(
            &app,
            "203.0.113.72",
            "/api/sign_in",
            &page,
            None,
            &[("username", ADA), ("password", PASSWORD)],
        )
        .await?;
        assert!(status.is_redirection(), "{status}");
        let back = local(&location);
        assert!(back.contains("__err"), "{back}");
        let (status, html) = get(&app, &back).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("from other places"), "{html}");
        assert!(html.contains("Email me a sign-in link"), "{html}");
        assert!(html.contains("action=\"/api/mail_sign_in_link\""), "{html}");

        // Asked for: the password step again, saying a link is on its way.
        let (status, location, _) = post_plain(
            &app,
            "203.0.113.72",
            "/api/mail_sign_in_link",
            &back,
            None,
            &[("username", ADA), ("next", "")],
        )
        .await?;
        assert!(status.is_redirection(), "{status}");
        let sent = local(&location);
        assert!(sent.ends_with("link=mailed"), "{sent}");
        let (_, html) = get(&app, &sent).await?;
        assert!(html.contains("a sign-in link is on its way"), "{html}");
        assert!(!html.contains("Email me a sign-in link"), "{html}");

        // The link, as its mail will carry it (read from the outbox's event).
        outbox_holds(backend.store(), 1).await?;
        let queued = &backend.store().outbox().await?[0];
        let event = backend
            .store()
            .audit_event(queued.audit_event_id)
            .await?
            .ok_or("the event")?;
        let mail = server::use_cases::sign_in_link_mail(
            backend.store(),
            &backend.secret_key,
            &event,
            PUBLIC_URL,
            Utc::now(),
        )
        .await?
        .ok_or("a mail")?;
        let token = link_token(&mail.body).ok_or("a link")?;

        // Opening it asks for one click (a mail scanner uses nothing up)...
        let opened = format!("/signin?link={token}");
        let (status, html) = get(&app, &opened).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("action=\"/api/use_sign_in_link\""), "{html}");
        assert!(html.contains("Continue"), "{html}");
        // ...which remembers the browser and leads to the password step.
        let response = app
            .clone()
            .oneshot(plain_request(
                "203.0.113.72",
                "/api/use_sign_in_link",
                &opened,
                None,
                &[("token", &token)],
            )?)
            .await?;
        assert!(response.status().is_redirection(), "{}", response.status());
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(
            local(&location),
            "/signin?username=ada%40contoso.example&link=used"
        );
        let remembered = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .ok_or("a device cookie")?
            .to_owned();
        assert!(
            remembered.starts_with("__Host-latchkey_device="),
            "{remembered}"
        );
        let (_, html) = get(&app, &local(&location)).await?;
        assert!(html.contains("This browser is remembered now"), "{html}");
        let (status, location, _) = post_plain(
            &app,
            "203.0.113.72",
            "/api/sign_in",
            &page,
            Some(&remembered),
            &[("username", ADA), ("password", PASSWORD)],
        )
        .await?;
        assert!(status.is_redirection(), "{status}");
        assert!(!local(&location).contains("__err"), "{location:?}");

        // Used: the page says so.
        let (status, location, _) = post_plain(
            &app,
            "203.0.113.73",
            "/api/use_sign_in_link",
            &opened,
            None,
            &[("token", &token)],
        )
        .await?;
        assert!(status.is_redirection(), "{status}");
        let (_, html) = get(&app, &local(&location)).await?;
        assert!(html.contains("This link is not valid"), "{html}");
    }
    Ok(())
}

fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap_or_default()
}

/// `request` as if from a client at `ip`.
fn from_peer(ip: &str, mut request: Request<Body>) -> Request<Body> {
    if let Ok(ip) = ip.parse::<IpAddr>() {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
    }
    request
}

/// A form posted to `api` as a browser without the WebAssembly posts it: asking for HTML, from
/// `page`, same-origin, with `cookies`, from `ip`.
fn plain_request(
    ip: &str,
    api: &str,
    page: &str,
    cookies: Option<&str>,
    fields: &[(&str, &str)],
) -> Result<Request<Body>, Error> {
    let mut request = Request::post(api)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("http://127.0.0.1:3000{page}"))
        .header("Sec-Fetch-Site", "same-origin");
    if let Some(cookies) = cookies {
        request = request.header(header::COOKIE, cookies);
    }
    Ok(from_peer(ip, request.body(Body::from(form(fields)))?))
}

async fn post_plain(
    app: &axum::Router,
    ip: &str,
    api: &str,
    page: &str,
    cookies: Option<&str>,
    fields: &[(&str, &str)],
) -> Result<(StatusCode, Option<String>, String), Error> {
    let response = app
        .clone()
        .oneshot(plain_request(ip, api, page, cookies, fields)?)
        .await?;
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, location, String::from_utf8(body.to_vec())?))
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

/// The path and query of an absolute `Location`.
fn local(location: &Option<String>) -> String {
    let location = location.clone().unwrap_or_default();
    location
        .strip_prefix("http://127.0.0.1:3000")
        .unwrap_or(&location)
        .to_owned()
}

/// Holds `name_key`'s sign-ins back at `at`, as a spread-out attack would (counters only).
async fn hold_at(
    store: &server::db::Store,
    name_key: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> TestResult {
    use server::domain::throttle::{KeyKind, Rule, key};
    let account = key(KeyKind::Account, name_key, None);
    for _ in 0..account_ceiling() {
        store.claim_attempt(&account, Rule::ACCOUNT, at).await?;
    }
    Ok(())
}

#[tokio::test]
async fn link_mails_are_at_most_one_per_window_and_six_a_day_and_a_lost_one_is_given_back()
-> TestResult {
    use server::use_cases::sign_in_limits::{give_back_sign_in_link_mail, may_mail_sign_in_link};
    for database in TestDatabase::all().await {
        let store = database.store().await;
        let start = chrono::Utc::now();
        let mut granted = 0;
        // Every 16 minutes for a day, with the ceiling held each time.
        for n in 0..90 {
            let at = start + chrono::Duration::minutes(16 * n);
            hold_at(&store, ADA, at).await?;
            if may_mail_sign_in_link(&store, ADA, at).await? {
                granted += 1;
                assert!(
                    !may_mail_sign_in_link(&store, ADA, at).await?,
                    "twice in one window"
                );
            }
        }
        assert_eq!(granted, 6, "{}: link mails in a day", database.name);

        // Bob's link could not be queued: he may ask again at once.
        hold_at(&store, BOB, start).await?;
        assert!(may_mail_sign_in_link(&store, BOB, start).await?);
        assert!(!may_mail_sign_in_link(&store, BOB, start).await?);
        give_back_sign_in_link_mail(&store, BOB, start).await?;
        assert!(may_mail_sign_in_link(&store, BOB, start).await?);
    }
    Ok(())
}
