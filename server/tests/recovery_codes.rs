//! Recovery codes on SQLite and PostgreSQL: new codes need a second factor and a recent sign-in
//! (or one prompt) and replace the earlier set; a code completes the code step once, counted
//! and throttled like an authenticator code, audited and mailed; one code used twice at once
//! signs in once (on one instance and across two); deleting the authenticator app deletes the
//! codes; and without JavaScript the new codes are the answer page itself and the sign-in step
//! works as plain forms.

mod support;

use app::backend::prelude::*;
use app::error::{AppError, Refusal};
use app::model::{IdentityCheck, NewRecoveryCodes, RecoveryCodesLeft, SignInStep};
use app::secret::Secret;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use server::domain::recovery_code::{HASH_PURPOSE, RecoveryCode};
use server::http::router;
use server::jobs::mail_alerts::run_once;
use server::use_cases::ServerBackend;
use support::mail_sink::MailSink;
use support::{PASSWORD, TestDatabase, TestResult, code_for, context, now_unix};
use tower::ServiceExt;

const ADA: &str = "ada@contoso.example";
const BOB: &str = "bob@contoso.example";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// An empty "confirm it's you": the session is recent enough.
fn no_prompt() -> IdentityCheck {
    IdentityCheck::default()
}

fn prompt(password: &str, code: &str) -> IdentityCheck {
    IdentityCheck {
        password: Secret::new(password.to_owned()),
        code: Secret::new(code.to_owned()),
    }
}

/// Makes the session behind `ctx` look signed in 11 minutes ago.
async fn age(backend: &ServerBackend, ctx: &RequestContext) -> TestResult {
    let session = backend.signed_in(ctx).await?.ok_or("signed in")?.session;
    backend
        .store()
        .mark_session_verified(session.id, Utc::now() - Duration::minutes(11))
        .await?;
    Ok(())
}

/// How many audit events of `kind` (with `detail`, when given) there are about `username`.
async fn events(
    backend: &ServerBackend,
    username: &str,
    kind: &str,
    detail: Option<&str>,
) -> Result<usize, Error> {
    let user = backend.store().user_by_key(username).await?.ok_or("user")?;
    Ok(backend
        .store()
        .audit_events_of(user.id)
        .await?
        .iter()
        .filter(|e| e.kind == kind && detail.is_none_or(|detail| e.detail == detail))
        .count())
}

/// Signs `username` in with their password from `ip`: the pending sign-in waiting for its
/// second step.
async fn pending_sign_in(
    backend: &ServerBackend,
    username: &str,
    ip: &str,
) -> Result<RequestContext, Error> {
    let (step, cookie) = backend
        .sign_in(&context(ip, None), username, PASSWORD)
        .await?;
    assert_eq!(
        step,
        SignInStep::SecondStep(app::model::SecondStepWay::AuthenticatorApp)
    );
    Ok(context(ip, Some(&cookie)))
}

/// A person with an authenticator app and a new set of codes: their session and the codes.
async fn person_with_codes(
    backend: &ServerBackend,
    username: &str,
) -> Result<(RequestContext, String, NewRecoveryCodes), Error> {
    support::add_user(backend, username).await;
    let (ctx, secret) =
        support::signed_in_with_authenticator(backend, username, "192.0.2.1").await?;
    let codes = backend.new_recovery_codes(&ctx, &no_prompt()).await?;
    Ok((ctx, secret, codes))
}

/// How many of `username`'s codes are left, as Security info shows it.
async fn left(
    backend: &ServerBackend,
    ctx: &RequestContext,
) -> Result<Option<RecoveryCodesLeft>, Error> {
    Ok(backend.security_info(ctx).await?.recovery_codes)
}

#[tokio::test]
async fn new_codes_need_a_second_factor_and_a_recent_sign_in_or_one_prompt() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;

        // Without a second factor, codes are neither offered nor made.
        let (_, cookie) = backend
            .sign_in(&context("192.0.2.1", None), ADA, PASSWORD)
            .await?;
        let password_only = context("192.0.2.1", Some(&cookie));
        assert_eq!(left(&backend, &password_only).await?, None, "{name}");
        assert_eq!(
            backend
                .new_recovery_codes(&password_only, &no_prompt())
                .await,
            Err(AppError::Forbidden(Refusal::TwoStepVerificationFirst)),
            "{name}"
        );
        assert_eq!(
            events(&backend, ADA, "recovery_codes.created", None).await?,
            0
        );

        let (ctx, secret) =
            support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        assert_eq!(
            left(&backend, &ctx).await?,
            Some(RecoveryCodesLeft {
                left: 0,
                issued: 0,
                few_left: false
            }),
            "{name}: offered, none yet"
        );

        // An old session proves itself first: password and code, in the same request.
        age(&backend, &ctx).await?;
        assert_eq!(
            backend.new_recovery_codes(&ctx, &no_prompt()).await,
            Err(AppError::ReverifyRequired),
            "{name}"
        );
        let wrong = backend
            .new_recovery_codes(&ctx, &prompt("not it", ""))
            .await;
        assert!(
            wrong
                .err()
                .and_then(|e| e.message_for("password"))
                .is_some(),
            "{name}"
        );
        assert_eq!(
            backend
                .new_recovery_codes(&ctx, &prompt(PASSWORD, "000000"))
                .await,
            Err(AppError::wrong_code()),
            "{name}"
        );
        assert_eq!(left(&backend, &ctx).await?.map(|l| l.issued), Some(0));

        let code = code_for(&secret, now_unix() + 30)?;
        let codes = backend
            .new_recovery_codes(&ctx, &prompt(PASSWORD, &code))
            .await?;
        assert_eq!(codes.codes.len(), 10, "{name}");
        assert_eq!(codes.account, ADA);
        assert_eq!(codes.organization, "Contoso");
        for shown in &codes.codes {
            let groups: Vec<&str> = shown.split('-').collect();
            assert!(
                groups.len() == 3
                    && groups.iter().all(|g| g.len() == 5
                        && g.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{shown}"
            );
            assert!(!shown.contains(['0', '1', 'o', 'l', 'i']), "{shown}");
        }
        let distinct: std::collections::HashSet<_> = codes.codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        assert_eq!(
            left(&backend, &ctx).await?,
            Some(RecoveryCodesLeft {
                left: 10,
                issued: 10,
                few_left: false
            })
        );
        assert_eq!(
            events(&backend, ADA, "recovery_codes.created", None).await?,
            1
        );
        // Proven just now: the next set needs no prompt.
        backend.new_recovery_codes(&ctx, &no_prompt()).await?;
        assert_eq!(
            events(&backend, ADA, "recovery_codes.created", None).await?,
            2
        );

        // Only the codes' hashes are kept: no code is in the database.
        let user = backend.store().user_by_key(ADA).await?.ok_or("ada")?;
        let kept = backend.store().recovery_codes_left(user.id).await?;
        assert_eq!((kept.left, kept.issued), (10, 10));
    }
    Ok(())
}

#[tokio::test]
async fn a_recovery_code_completes_the_code_step_once_and_is_audited_and_mailed() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ada, _, codes) = person_with_codes(&backend, ADA).await?;
        let (_, _, bobs) = person_with_codes(&backend, BOB).await?;

        // Typed as people type: upper case, spaces for dashes.
        let first = &codes.codes[0];
        let typed = first.to_uppercase().replace('-', " ");
        let pending = pending_sign_in(&backend, ADA, "192.0.2.7").await?;
        let cookie = backend
            .verify_sign_in_recovery_code(&pending, &typed)
            .await?;
        let signed_in = context("192.0.2.7", Some(&cookie));
        let user = backend.current_user(&signed_in).await?.ok_or("signed in")?;
        assert_eq!(user.username, ADA, "{name}");
        // The pending session was replaced by a complete one.
        assert!(backend.current_user(&pending).await?.is_none());

        // The same code again: refused, as a wrong code is.
        let again = pending_sign_in(&backend, ADA, "192.0.2.8").await?;
        assert_eq!(
            backend.verify_sign_in_recovery_code(&again, first).await,
            Err(AppError::wrong_recovery_code()),
            "{name}"
        );
        // Someone else's code, or something that is not a code, neither (a few tries only:
        // wrong codes count towards the code step's wait).
        for wrong in [bobs.codes[0].as_str(), "not a code"] {
            assert_eq!(
                backend.verify_sign_in_recovery_code(&again, wrong).await,
                Err(AppError::wrong_recovery_code()),
                "{name}: {wrong:?}"
            );
        }
        assert!(backend.current_user(&again).await?.is_none());
        // Another of the person's codes works.
        backend
            .verify_sign_in_recovery_code(&again, &codes.codes[1])
            .await?;
        // Bob's code is still his.
        let bob = pending_sign_in(&backend, BOB, "192.0.2.9").await?;
        backend
            .verify_sign_in_recovery_code(&bob, &bobs.codes[0])
            .await?;

        assert_eq!(
            left(&backend, &ada).await?,
            Some(RecoveryCodesLeft {
                left: 8,
                issued: 10,
                few_left: false
            }),
            "{name}"
        );
        assert_eq!(events(&backend, ADA, "recovery_code.used", None).await?, 2);
        assert_eq!(
            events(
                &backend,
                ADA,
                "recovery_code.used",
                Some("9 recovery codes left")
            )
            .await?,
            1
        );
        assert_eq!(
            events(
                &backend,
                ADA,
                "sign_in.succeeded",
                Some("password and recovery code")
            )
            .await?,
            2
        );
        assert!(
            events(&backend, ADA, "sign_in.failed", Some("wrong recovery code")).await? >= 1,
            "{name}"
        );
        // Recent activity says so.
        let activity = backend.recent_activity(&ada, None).await?;
        assert!(
            activity
                .items
                .iter()
                .any(|item| item.title == "Recovery code used"
                    && item.detail.as_deref() == Some("8 recovery codes left")),
            "{name}: {activity:?}"
        );

        // Each use was queued as a mail to the person, in the transaction of its event.
        let sink = MailSink::start().await?;
        let mailer = sink.mailer()?;
        while run_once(backend.store(), &mailer).await?.claimed > 0 {}
        assert_eq!(
            sink.count(ADA, "A recovery code was used to sign in"),
            2,
            "{name}"
        );
        assert_eq!(sink.count(ADA, "New recovery codes"), 1, "{name}");
        assert_eq!(sink.count(BOB, "A recovery code was used to sign in"), 1);
        let mail = sink
            .received()
            .into_iter()
            .find(|mail| {
                mail.subject() == "A recovery code was used to sign in"
                    && mail.text().contains("8 recovery codes left")
            })
            .ok_or("the mail names the codes left")?;
        assert!(mail.text().contains("from 192.0.2.8"), "{}", mail.text());
        // No code is in a mail.
        for mail in sink.received() {
            for code in &codes.codes {
                assert!(!mail.text().contains(code.as_str()), "{name}");
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn wrong_recovery_codes_count_and_wait_like_wrong_authenticator_codes() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (_, _, codes) = person_with_codes(&backend, ADA).await?;
        let pending = pending_sign_in(&backend, ADA, "192.0.2.7").await?;
        // Wrong recovery codes and wrong authenticator codes share one count: five free
        // tries, then waits.
        let mut answers = Vec::new();
        for n in 0..10 {
            let answer = if n % 2 == 0 {
                backend
                    .verify_sign_in_recovery_code(&pending, "zzzzz-zzzzz-zzzzz")
                    .await
            } else {
                backend.verify_sign_in_code(&pending, "000000").await
            };
            let waiting = matches!(answer, Err(AppError::Throttled { .. }));
            answers.push(answer);
            if waiting {
                break;
            }
        }
        assert!(
            answers[..5]
                .iter()
                .all(|answer| matches!(answer, Err(AppError::Invalid { .. }))),
            "{name}: {answers:?}"
        );
        assert!(
            answers.len() <= 7 && matches!(answers.last(), Some(Err(AppError::Throttled { .. }))),
            "{name}: {answers:?}"
        );
        // A right code waits too, and stays unused.
        let waiting = backend
            .verify_sign_in_recovery_code(&pending, &codes.codes[0])
            .await;
        assert!(
            matches!(waiting, Err(AppError::Throttled { .. })),
            "{name}: {waiting:?}"
        );
        assert_eq!(events(&backend, ADA, "recovery_code.used", None).await?, 0);
    }
    Ok(())
}

#[tokio::test]
async fn one_code_used_twice_at_once_signs_in_once() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        let second_instance = support::backend_with_key_of(&database, &backend).await;
        support::set_up_organization(&backend).await;
        let (_, _, codes) = person_with_codes(&backend, ADA).await?;

        // Four browsers waiting at the code step, on two instances, enter the same code at once.
        let mut waiting = Vec::new();
        for n in 0..4 {
            let ip = format!("192.0.2.{}", 10 + n);
            waiting.push(pending_sign_in(&backend, ADA, &ip).await?);
        }
        let code = codes.codes[0].clone();
        let tries = waiting.iter().enumerate().map(|(n, pending)| {
            let instance = if n % 2 == 0 {
                &backend
            } else {
                &second_instance
            };
            let code = code.clone();
            async move { instance.verify_sign_in_recovery_code(pending, &code).await }
        });
        let results = futures::future::join_all(tries).await;
        let signed_in = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(signed_in, 1, "{name}: {results:?}");
        assert!(
            results
                .iter()
                .filter_map(|result| result.as_ref().err())
                .all(|error| *error == AppError::wrong_recovery_code()),
            "{name}: {results:?}"
        );
        assert_eq!(events(&backend, ADA, "recovery_code.used", None).await?, 1);

        // The store itself: sixteen uses of one code at once, from two instances' pools.
        let user = backend.store().user_by_key(ADA).await?.ok_or("ada")?;
        let parsed = RecoveryCode::parse(&codes.codes[1]).ok_or("a code")?;
        let hash = backend
            .secret_key
            .keyed_hash(HASH_PURPOSE, &parsed.hash_input(user.id));
        let uses = (0..16).map(|n| {
            let store = if n % 2 == 0 {
                backend.store().clone()
            } else {
                second_instance.store().clone()
            };
            let hash = hash.clone();
            tokio::spawn(async move {
                store
                    .use_recovery_code(user.id, &hash, &server::db::Actor::default(), Utc::now())
                    .await
            })
        });
        let mut won = Vec::new();
        for use_ in futures::future::join_all(uses).await {
            won.extend(use_??);
        }
        assert_eq!(won, [8], "{name}: one use, with 8 codes left after it");
        assert_eq!(events(&backend, ADA, "recovery_code.used", None).await?, 2);
    }
    Ok(())
}

#[tokio::test]
async fn new_codes_replace_the_earlier_set() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ada, _, earlier) = person_with_codes(&backend, ADA).await?;
        let pending = pending_sign_in(&backend, ADA, "192.0.2.7").await?;
        backend
            .verify_sign_in_recovery_code(&pending, &earlier.codes[0])
            .await?;
        assert_eq!(left(&backend, &ada).await?.map(|l| l.left), Some(9));

        let newer = backend.new_recovery_codes(&ada, &no_prompt()).await?;
        assert_eq!(
            left(&backend, &ada).await?.map(|l| (l.left, l.issued)),
            Some((10, 10)),
            "{name}"
        );
        let pending = pending_sign_in(&backend, ADA, "192.0.2.8").await?;
        for old in &earlier.codes[1..] {
            assert_eq!(
                backend.verify_sign_in_recovery_code(&pending, old).await,
                Err(AppError::wrong_recovery_code()),
                "{name}"
            );
            // Stay under the code backoff: a right authenticator code would reset it too.
            if old == &earlier.codes[4] {
                break;
            }
        }
        let pending = pending_sign_in(&backend, ADA, "192.0.2.9").await?;
        backend
            .verify_sign_in_recovery_code(&pending, &newer.codes[9])
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn few_codes_left_is_said_and_none_left_signs_in_no_more() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ada, _, codes) = person_with_codes(&backend, ADA).await?;
        for (n, code) in codes.codes.iter().enumerate() {
            let pending = pending_sign_in(&backend, ADA, "192.0.2.7").await?;
            backend.verify_sign_in_recovery_code(&pending, code).await?;
            let shown = left(&backend, &ada).await?.ok_or("offered")?;
            let left_now = 9 - n as u32;
            assert_eq!(shown.left, left_now, "{name}");
            assert_eq!(shown.few_left, left_now <= 2, "{name}: {left_now} left");
        }
        let pending = pending_sign_in(&backend, ADA, "192.0.2.7").await?;
        assert_eq!(
            backend
                .verify_sign_in_recovery_code(&pending, &codes.codes[0])
                .await,
            Err(AppError::wrong_recovery_code())
        );
        assert_eq!(
            events(
                &backend,
                ADA,
                "recovery_code.used",
                Some("no recovery codes left: get new ones on Security info")
            )
            .await?,
            1,
            "{name}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn deleting_the_authenticator_app_deletes_the_codes() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (ada, _, codes) = person_with_codes(&backend, ADA).await?;
        let user = backend.store().user_by_key(ADA).await?.ok_or("ada")?;

        backend
            .delete_authenticator(
                &ada,
                support::first_authenticator_id(&backend, &ada).await?,
                "",
                "",
            )
            .await?;
        assert_eq!(left(&backend, &ada).await?, None, "{name}: not offered");
        let kept = backend.store().recovery_codes_left(user.id).await?;
        assert_eq!((kept.left, kept.issued), (0, 0), "{name}: deleted");
        assert_eq!(
            backend.new_recovery_codes(&ada, &no_prompt()).await,
            Err(AppError::Forbidden(Refusal::TwoStepVerificationFirst))
        );

        // A new authenticator app does not bring the old codes back.
        let enrollment = backend
            .begin_authenticator(&ada, &Default::default())
            .await?;
        backend
            .confirm_authenticator(&ada, &code_for(&enrollment.secret, now_unix() + 30)?, "")
            .await?;
        assert_eq!(
            left(&backend, &ada).await?.map(|l| l.issued),
            Some(0),
            "{name}"
        );
        let pending = pending_sign_in(&backend, ADA, "192.0.2.7").await?;
        assert_eq!(
            backend
                .verify_sign_in_recovery_code(&pending, &codes.codes[0])
                .await,
            Err(AppError::wrong_recovery_code()),
            "{name}"
        );

        // The store's own deletion (no session) takes them too.
        backend.new_recovery_codes(&ada, &no_prompt()).await?;
        assert!(backend.store().delete_authenticator(user.id).await?);
        let kept = backend.store().recovery_codes_left(user.id).await?;
        assert_eq!(kept.issued, 0, "{name}");
    }
    Ok(())
}

/// What the router answers to `request`: status, `Location` and body.
async fn answer(
    app: &axum::Router,
    request: Request<Body>,
) -> Result<(StatusCode, Option<String>, String), Error> {
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), 1 << 22).await?;
    Ok((status, location, String::from_utf8(body.to_vec())?))
}

/// Posts a form as a browser without the WebAssembly: asking for HTML, from `page`.
async fn post_plain(
    app: &axum::Router,
    api: &str,
    page: &str,
    session_token: &str,
    fields: &[(&str, &str)],
) -> Result<(StatusCode, Option<String>, String), Error> {
    let request = Request::post(api)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("http://127.0.0.1:3000{page}"))
        .header("Sec-Fetch-Site", "same-origin")
        .header(
            header::COOKIE,
            format!("{}={session_token}", server::use_cases::SESSION_COOKIE),
        )
        .body(Body::from(serde_urlencoded::to_string(fields)?))?;
    answer(app, request).await
}

async fn get_page(app: &axum::Router, uri: &str, session_token: &str) -> Result<String, Error> {
    let request = Request::get(uri)
        .header(
            header::COOKIE,
            format!("{}={session_token}", server::use_cases::SESSION_COOKIE),
        )
        .body(Body::empty())?;
    let (status, _, body) = answer(app, request).await?;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    Ok(body)
}

/// The codes in the answer page's text area.
fn codes_in(html: &str) -> Vec<String> {
    html.split_once("id=\"new-recovery-codes\"")
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once("</textarea>"))
        .map(|(codes, _)| codes.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn without_javascript_new_codes_are_the_answer_page_and_the_code_step_offers_them()
-> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, ADA).await;
        let (ada, _) = support::signed_in_with_authenticator(&backend, ADA, "192.0.2.1").await?;
        let token = ada.session_token.clone().ok_or("no session")?;
        let app = router(support::state(backend.clone()));

        let page = get_page(&app, "/security-info", &token).await?;
        assert!(page.contains("Recovery codes"), "{name}: the row");
        let dialog = "/security-info?codes=new";
        let html = get_page(&app, dialog, &token).await?;
        assert!(html.contains("Get new codes"), "{name}: {html}");

        // The codes are the answer itself, never a redirect (they cannot go in a URL).
        let (status, location, html) =
            post_plain(&app, "/api/new_recovery_codes", dialog, &token, &[]).await?;
        assert_eq!((status, location), (StatusCode::OK, None), "{name}");
        let codes = codes_in(&html);
        assert_eq!(codes.len(), 10, "{name}: {html}");
        assert!(html.contains("data:text/plain;charset=utf-8,"), "{name}");
        assert!(
            html.contains("download=\"latchkey-recovery-codes.txt\""),
            "{name}"
        );
        assert!(html.contains("only time you"), "{name}");
        // Not shown again.
        let html = get_page(&app, dialog, &token).await?;
        assert!(!html.contains(codes[0].as_str()), "{name}");
        let html = get_page(&app, "/security-info", &token).await?;
        assert!(html.contains("10 of 10 left"), "{name}");

        // The code step links to the recovery-code step, a page of its own.
        let (_, cookie) = backend
            .sign_in(&context("192.0.2.7", None), ADA, PASSWORD)
            .await?;
        let pending = context("192.0.2.7", Some(&cookie))
            .session_token
            .ok_or("pending")?;
        let html = get_page(&app, "/signin?step=code&next=/activity", &pending).await?;
        assert!(
            html.contains("href=\"/signin?step=recovery_code&amp;next=/activity\"")
                || html.contains("href=\"/signin?step=recovery_code&next=/activity\""),
            "{name}: {html}"
        );
        let step = "/signin?step=recovery_code&next=/activity";
        let html = get_page(&app, step, &pending).await?;
        assert!(html.contains("name=\"recovery_code\""), "{name}: {html}");

        // A wrong one comes back to the step, with why.
        let (status, location, _) = post_plain(
            &app,
            "/api/verify_sign_in_recovery_code",
            step,
            &pending,
            &[
                ("recovery_code", "zzzzz-zzzzz-zzzzz"),
                ("next", "/activity"),
            ],
        )
        .await?;
        assert!(status.is_redirection(), "{name}: {status}");
        let back = location.ok_or("back to the step")?;
        let back = back.strip_prefix("http://127.0.0.1:3000").unwrap_or(&back);
        assert!(
            back.starts_with("/signin?step=recovery_code&"),
            "{name}: {back}"
        );
        let html = get_page(&app, back, &pending).await?;
        assert!(html.contains("That recovery code didn"), "{name}: {html}");

        // A right one signs in and goes on.
        let (status, location, _) = post_plain(
            &app,
            "/api/verify_sign_in_recovery_code",
            step,
            &pending,
            &[("recovery_code", &codes[3]), ("next", "/activity")],
        )
        .await?;
        assert!(status.is_redirection(), "{name}: {status}");
        assert_eq!(location.as_deref(), Some("/activity"), "{name}");
        assert_eq!(events(&backend, ADA, "recovery_code.used", None).await?, 1);
    }
    Ok(())
}
