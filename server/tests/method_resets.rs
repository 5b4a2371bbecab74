//! An administrator brings a person back (issue 30 item 4), on SQLite and PostgreSQL: "Reset
//! methods" removes every second factor of the person (authenticator app, recovery codes), ends
//! all their sessions and revokes or stops their app passwords as the organization's reset
//! setting says, in one transaction with the audit event naming the administrator and the
//! person's mail; another instance refuses the person's app password at once; it needs the
//! administrator's recent sign-in; administrators resetting their own methods where that closes
//! the console must say they understand. The command line is in `admin_cli.rs`.

mod support;

use std::time::Duration;

use app::backend::RequestContext;
use app::backend::prelude::*;
use app::error::{AppError, OwnMethodsReset, Refusal};
use app::model::{IdentityCheck, PersonAction, SignInStep};
use app::secret::Secret;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use server::db::entities::{audit_event, session};
use server::domain::policy::Setting;
use server::http::router;
use server::jobs::mail_alerts::run_once;
use server::use_cases::ServerBackend;
use server::use_cases::app_password_check::{CheckOutcome, Client};
use support::mail_sink::MailSink;
use support::{PASSWORD, TestDatabase, TestResult, context};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ADMIN: &str = "admin@contoso.example";

async fn check(instance: &ServerBackend, username: &str, password: &str) -> Result<bool, Error> {
    let client = Client {
        ip: Some("192.0.2.50".to_owned()),
        name: Some("IMAP".to_owned()),
        ..Default::default()
    };
    Ok(matches!(
        instance
            .app_password_checker
            .check(
                instance.store(),
                &instance.secret_key,
                username,
                password,
                &client,
            )
            .await?,
        CheckOutcome::Accepted(_)
    ))
}

/// How long after now `instance` starts refusing the app password: the start of the first
/// check it refuses (a refusal itself takes a while: it is counted), at most 3 s (`None`).
async fn refused_after(
    instance: &ServerBackend,
    username: &str,
    password: &str,
) -> Result<Option<Duration>, Error> {
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        let asked = started.elapsed();
        if !check(instance, username, password).await? {
            return Ok(Some(asked));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(None)
}

/// How many sessions (complete or waiting for their second step) the person has.
async fn sessions_of(backend: &ServerBackend, user_id: i32) -> Result<u64, Error> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .count(backend.store().connection())
        .await?)
}

/// The audit events of `kind` about `user_id`.
async fn events(
    backend: &ServerBackend,
    user_id: i32,
    kind: &str,
) -> Result<Vec<audit_event::Model>, Error> {
    Ok(backend
        .store()
        .audit_events(Some(user_id), None)
        .await?
        .into_iter()
        .filter(|event| event.kind == kind)
        .collect())
}

/// `username` with an authenticator app, 10 recovery codes, an app password named "Mail", the
/// session that made them and a sign-in from elsewhere waiting for its code.
async fn person_with_methods(
    backend: &ServerBackend,
    username: &str,
) -> Result<(i32, RequestContext, String), Error> {
    let user = support::add_user(backend, username).await;
    let (ctx, created) = support::app_password_for(backend, username, "Mail").await?;
    let codes = backend
        .new_recovery_codes(&ctx, &IdentityCheck::default())
        .await?;
    assert_eq!(codes.codes.len(), 10);
    let (step, _) = backend
        .sign_in(&context("198.51.100.7", None), username, PASSWORD)
        .await?;
    assert_eq!(
        step,
        SignInStep::SecondStep(app::model::SecondStepWay::AuthenticatorApp)
    );
    assert_eq!(sessions_of(backend, user.id).await?, 2);
    Ok((user.id, ctx, created.password))
}

#[tokio::test]
async fn a_reset_removes_every_method_ends_sessions_and_revokes_or_stops_app_passwords()
-> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let first = support::backend(&database).await;
        support::set_up_organization(&first).await;
        let second = support::backend_with_key_of(&database, &first).await;
        let deadline = if name.contains("postgres") {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        let (admin_ctx, _) =
            support::signed_in_with_authenticator(&first, ADMIN, "192.0.2.1").await?;
        let admin_id = first.signed_in(&admin_ctx).await?.ok_or("admin")?.user.id;
        support::set_policy(&first, Setting::RequireTwoStep, true).await?;

        // Revoked (the organization's reset setting, on by default), then kept.
        for (username, revokes) in [
            ("ada@contoso.example", true),
            ("bob@contoso.example", false),
        ] {
            support::set_policy(&first, Setting::ResetRevokesAppPasswords, revokes).await?;
            let (user_id, ctx, app_password) = person_with_methods(&first, username).await?;
            // Cached on both instances.
            for instance in [&first, &second] {
                assert!(check(instance, username, &app_password).await?, "{name}");
                assert!(check(instance, username, &app_password).await?, "{name}");
            }

            let row = first
                .act_on_person(
                    &admin_ctx,
                    username,
                    PersonAction::ResetMethods,
                    &IdentityCheck::default(),
                )
                .await?;
            assert!(!row.has_two_step, "{name}: the row says no two-step");
            assert_eq!(row.app_passwords, if revokes { 0 } else { 1 }, "{name}");
            assert!(!row.is_you);

            // This instance refuses the app password at once, the other one within moments.
            assert!(!check(&first, username, &app_password).await?, "{name}");
            let there = refused_after(&second, username, &app_password).await?;
            println!("{name}: {username}: refused on the other instance after {there:?}");
            assert!(
                there.is_some_and(|there| there < deadline),
                "{name}: {username}: refused after {there:?} on the other instance"
            );

            assert!(
                first.store().authenticator(user_id).await?.is_none(),
                "{name}"
            );
            let codes = first.store().recovery_codes_left(user_id).await?;
            assert_eq!((codes.left, codes.issued), (0, 0), "{name}");
            assert_eq!(sessions_of(&first, user_id).await?, 0, "{name}");
            assert!(first.signed_in(&ctx).await?.is_none(), "{name}");
            let kept = first.store().app_passwords_of(user_id).await?.len();
            assert_eq!(kept, if revokes { 0 } else { 1 }, "{name}");

            // One event, naming the administrator, with its mail queued in its transaction.
            let reset = events(&first, user_id, "methods.reset").await?;
            assert_eq!(reset.len(), 1, "{name}");
            let event = &reset[0];
            assert_eq!(event.actor_user_id, Some(admin_id), "{name}");
            let app_passwords = if revokes {
                "1 app password revoked"
            } else {
                "1 app password kept, stopped until a method is added"
            };
            assert_eq!(
                event.detail,
                format!(
                    "1 authenticator app and 10 recovery codes removed, 2 sessions ended, {app_passwords}"
                ),
                "{name}"
            );
            let queued = first.store().outbox().await?;
            assert!(
                queued.iter().any(|mail| mail.audit_event_id == event.id),
                "{name}: the mail is queued"
            );
            let log = first
                .audit_log(&admin_ctx, &app::model::AuditQuery::default(), None)
                .await?;
            let shown = log
                .entries
                .iter()
                .find(|entry| entry.id == event.id)
                .ok_or("in the console's log")?;
            assert_eq!(shown.actor.as_deref(), Some(ADMIN), "{name}");
            assert_eq!(shown.person.as_deref(), Some(username), "{name}");

            // The person signs in with the password alone and is asked to add a method first.
            let (step, cookie) = first
                .sign_in(&context("192.0.2.9", None), username, PASSWORD)
                .await?;
            assert_eq!(step, SignInStep::TwoStepRequired, "{name}");
            let back = context("192.0.2.9", Some(&cookie));
            assert!(first.security_info(&back).await.is_ok(), "{name}");
            assert_eq!(
                first.recent_activity(&back, None).await.err(),
                Some(AppError::Forbidden(Refusal::AddTwoStepFirst)),
                "{name}"
            );
            if !revokes {
                // A kept app password works again once a method is added.
                let enrollment = first
                    .begin_authenticator(&back, &Default::default())
                    .await?;
                first
                    .confirm_authenticator(
                        &back,
                        &support::code_for(&enrollment.secret, support::now_unix())?,
                        "",
                    )
                    .await?;
                assert!(check(&first, username, &app_password).await?, "{name}");
                // Their recent activity says what happened.
                let activity = first.recent_activity(&back, None).await?;
                assert!(
                    activity
                        .items
                        .iter()
                        .any(|item| item.title == "Sign-in methods reset by an administrator"),
                    "{name}: {activity:?}"
                );
            }
        }

        // The mails reach the people.
        let sink = MailSink::start().await?;
        let mailer = sink.mailer()?;
        while run_once(first.store(), &mailer).await?.claimed > 0 {}
        for username in ["ada@contoso.example", "bob@contoso.example"] {
            assert_eq!(
                sink.count(username, "Your sign-in methods were reset"),
                1,
                "{name}: {username}"
            );
        }
        let mail = sink
            .received()
            .into_iter()
            .find(|mail| mail.subject() == "Your sign-in methods were reset")
            .ok_or("a reset mail")?;
        assert!(
            mail.text().contains("add a method again on Security info"),
            "{}",
            mail.text()
        );
    }
    Ok(())
}

#[tokio::test]
async fn only_an_administrator_who_signed_in_recently_or_confirms_resets_methods() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (admin_ctx, admin_secret) =
            support::signed_in_with_authenticator(&backend, ADMIN, "192.0.2.1").await?;
        let (ada, _, _) = person_with_methods(&backend, "ada@contoso.example").await?;
        let (_, bob_ctx, _) = person_with_methods(&backend, "bob@contoso.example").await?;
        let reset = |ctx: RequestContext, check: IdentityCheck| {
            let backend = backend.clone();
            async move {
                backend
                    .reset_methods_of_person(&ctx, "ada@contoso.example", None, &check)
                    .await
            }
        };

        assert_eq!(
            reset(context("192.0.2.3", None), IdentityCheck::default())
                .await
                .err(),
            Some(AppError::Unauthorized),
            "{name}"
        );
        assert_eq!(
            reset(bob_ctx.clone(), IdentityCheck::default()).await.err(),
            Some(AppError::Forbidden(Refusal::NotAdministrator)),
            "{name}"
        );
        // Eleven minutes after the administrator's sign-in: asked to confirm, nothing changes.
        let session_id = backend
            .signed_in(&admin_ctx)
            .await?
            .ok_or("admin")?
            .session
            .id;
        backend
            .store()
            .mark_session_verified(
                session_id,
                chrono::Utc::now() - chrono::Duration::minutes(11),
            )
            .await?;
        assert_eq!(
            reset(admin_ctx.clone(), IdentityCheck::default())
                .await
                .err(),
            Some(AppError::ReverifyRequired),
            "{name}"
        );
        assert!(
            backend.store().authenticator(ada).await?.is_some(),
            "{name}"
        );
        assert_eq!(sessions_of(&backend, ada).await?, 2, "{name}");
        assert!(events(&backend, ada, "methods.reset").await?.is_empty());

        // The password and code in the same request do.
        let code = support::code_for(&admin_secret, support::now_unix() + 30)?;
        let confirmed =
            IdentityCheck::from_fields(Some(Secret::new(PASSWORD)), Some(Secret::new(code)));
        let row = reset(admin_ctx.clone(), confirmed).await?;
        assert!(!row.has_two_step, "{name}");
        assert!(
            backend.store().authenticator(ada).await?.is_none(),
            "{name}"
        );
        assert_eq!(events(&backend, ada, "methods.reset").await?.len(), 1);
        // A person who is no one.
        assert_eq!(
            backend
                .reset_methods_of_person(
                    &admin_ctx,
                    "nobody@contoso.example",
                    None,
                    &IdentityCheck::default()
                )
                .await
                .err(),
            Some(AppError::NoSuchPerson),
            "{name}"
        );
    }
    Ok(())
}

/// Posts the console's "Reset methods" confirmation form, with the box ticked (its value: what
/// the dialog said follows) or not.
async fn post_reset(
    app: &axum::Router,
    session_token: &str,
    username: &str,
    understood: Option<&str>,
) -> Result<(StatusCode, String), Error> {
    let mut fields = vec![("username", username), ("action", "reset_methods")];
    if let Some(said) = understood {
        fields.push(("understood", said));
    }
    let request = Request::post("/api/admin_act_on_person")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header("Sec-Fetch-Site", "same-origin")
        .header(
            header::COOKIE,
            format!("{}={session_token}", server::use_cases::SESSION_COOKIE),
        )
        .body(Body::from(serde_urlencoded::to_string(&fields)?))?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[tokio::test]
async fn administrators_resetting_their_own_methods_must_say_they_understand() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let app = router(support::state(backend.clone()));
        let (admin_ctx, _) =
            support::signed_in_with_authenticator(&backend, ADMIN, "192.0.2.1").await?;
        let admin_id = backend.signed_in(&admin_ctx).await?.ok_or("admin")?.user.id;
        let token = admin_ctx.session_token.clone().ok_or("session")?;
        let own = |ctx: &RequestContext, understood: Option<OwnMethodsReset>| {
            let backend = backend.clone();
            let ctx = ctx.clone();
            async move {
                backend
                    .reset_methods_of_person(&ctx, ADMIN, understood, &IdentityCheck::default())
                    .await
            }
        };

        // The last administrator, two-step not required: said and refused without the box.
        let refusal = own(&admin_ctx, None).await.err();
        assert_eq!(
            refusal,
            Some(AppError::Forbidden(Refusal::ConfirmOwnMethodsReset(
                OwnMethodsReset {
                    two_step_required: false,
                    last_administrator: true,
                }
            ))),
            "{name}"
        );
        assert!(
            refusal
                .map(|r| r.to_string())
                .unwrap_or_default()
                .contains("You are the last administrator"),
            "{name}"
        );
        // Where the organization requires two-step verification, the refusal says what follows.
        support::set_policy(&backend, Setting::RequireTwoStep, true).await?;
        let (status, body) = post_reset(&app, &token, ADMIN, None).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
        assert!(body.contains("ConfirmOwnMethodsReset"), "{name}: {body}");
        // A box ticked under words that did not say all that follows is not enough.
        for said in ["yes", "signed_out,two_step_required"] {
            let (status, body) = post_reset(&app, &token, ADMIN, Some(said)).await?;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {said}: {body}");
            assert!(
                body.contains("\"last_administrator\":true"),
                "{name}: {body}"
            );
        }
        let partly = OwnMethodsReset {
            two_step_required: false,
            last_administrator: true,
        };
        assert!(own(&admin_ctx, Some(partly)).await.is_err(), "{name}");
        let said = AppError::Forbidden(Refusal::ConfirmOwnMethodsReset(OwnMethodsReset {
            two_step_required: true,
            last_administrator: true,
        }))
        .to_string();
        assert!(
            said.contains("at your next sign-in you will be asked to add a method")
                && said.contains("can't use the console until you do")
                && said.contains("nobody can use it until then"),
            "{said}"
        );
        // Nothing changed meanwhile.
        assert!(backend.store().authenticator(admin_id).await?.is_some());
        assert!(backend.signed_in(&admin_ctx).await?.is_some(), "{name}");
        assert!(
            events(&backend, admin_id, "methods.reset")
                .await?
                .is_empty()
        );

        // With another administrator and two-step not required, nothing needs saying.
        support::add_user(&backend, "grace@contoso.example").await;
        backend
            .act_on_person(
                &admin_ctx,
                "grace@contoso.example",
                PersonAction::MakeAdministrator,
                &IdentityCheck::default(),
            )
            .await?;
        support::set_policy(&backend, Setting::RequireTwoStep, false).await?;
        let (grace_ctx, _) =
            support::signed_in_with_authenticator(&backend, "grace@contoso.example", "192.0.2.2")
                .await?;
        let grace_id = backend.signed_in(&grace_ctx).await?.ok_or("grace")?.user.id;
        let row = backend
            .reset_methods_of_person(
                &grace_ctx,
                "grace@contoso.example",
                None,
                &IdentityCheck::default(),
            )
            .await?;
        assert!(row.is_you && !row.has_two_step, "{name}");
        assert!(backend.signed_in(&grace_ctx).await?.is_none(), "{name}");
        assert!(backend.store().authenticator(grace_id).await?.is_none());
        // Requiring two-step again, the first administrator (the last one with two-step) resets
        // their own with the box ticked under all that follows.
        support::set_policy(&backend, Setting::RequireTwoStep, true).await?;
        let said = OwnMethodsReset {
            two_step_required: true,
            last_administrator: true,
        }
        .form_value();
        assert_eq!(said, "signed_out,two_step_required,last_administrator");
        let (status, body) = post_reset(&app, &token, ADMIN, Some(&said)).await?;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert!(body.contains("\"is_you\":true"), "{name}: {body}");
        assert!(backend.signed_in(&admin_ctx).await?.is_none(), "{name}");
        assert!(backend.store().authenticator(admin_id).await?.is_none());
        let reset = events(&backend, admin_id, "methods.reset").await?;
        assert_eq!(reset.len(), 1, "{name}");
        assert_eq!(reset[0].actor_user_id, Some(admin_id));
        // Signed in again with the password: the console is closed until a method is added.
        let (step, cookie) = backend
            .sign_in(&context("192.0.2.1", None), ADMIN, PASSWORD)
            .await?;
        assert_eq!(step, SignInStep::TwoStepRequired, "{name}");
        let again = context("192.0.2.1", Some(&cookie));
        assert_eq!(
            backend.people(&again, "", None).await.err(),
            Some(AppError::Forbidden(Refusal::AddTwoStepFirst)),
            "{name}"
        );
    }
    Ok(())
}

/// What the router answers to `request` from a browser with the session `token`: status,
/// `Location` (as a path on the site) and body.
async fn browse(
    app: &axum::Router,
    request: axum::http::request::Builder,
    token: &str,
    body: Body,
) -> Result<(StatusCode, String, String), Error> {
    let request = request
        .header(
            header::COOKIE,
            format!("{}={token}", server::use_cases::SESSION_COOKIE),
        )
        .body(body)?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let location = location
        .strip_prefix("http://127.0.0.1:3000")
        .unwrap_or(location)
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

/// The confirmation's form posted by a browser without the WebAssembly, from `page`.
async fn post_without_javascript(
    app: &axum::Router,
    token: &str,
    page: &str,
    fields: &[(&str, &str)],
) -> Result<(StatusCode, String, String), Error> {
    let request = Request::post("/api/admin_act_on_person")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("http://127.0.0.1:3000{page}"))
        .header("Sec-Fetch-Site", "same-origin");
    let body = Body::from(serde_urlencoded::to_string(fields)?);
    browse(app, request, token, body).await
}

async fn page(
    app: &axum::Router,
    token: &str,
    uri: &str,
) -> Result<(StatusCode, String, String), Error> {
    browse(app, Request::get(uri), token, Body::empty()).await
}

#[tokio::test]
async fn the_console_confirms_a_reset_before_the_webassembly_loads() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let app = router(support::state(backend.clone()));
        let (admin_ctx, _) =
            support::signed_in_with_authenticator(&backend, ADMIN, "192.0.2.1").await?;
        let token = admin_ctx.session_token.clone().ok_or("session")?;
        let (ada, _, _) = person_with_methods(&backend, "ada@contoso.example").await?;
        support::set_policy(&backend, Setting::RequireTwoStep, true).await?;

        // Her row offers it; its dialog says what follows.
        let (status, _, html) = page(&app, &token, "/admin?q=ada").await?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            html.contains("/admin?q=ada&amp;confirm=reset_methods%3Aada%40contoso.example"),
            "{name}: {html}"
        );
        let dialog = "/admin?q=ada&confirm=reset_methods%3Aada%40contoso.example";
        let (status, _, html) = page(&app, &token, dialog).await?;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            html.contains("Reset the sign-in methods of Test User (ada@contoso.example)?")
                && html.contains("Their app password is revoked.")
                && html.contains("At their next sign-in they will be asked to add a method."),
            "{name}: {html}"
        );
        assert!(html.contains("value=\"reset_methods\""), "{name}: {html}");
        assert!(
            !html.contains("name=\"understood\""),
            "{name}: only for one's own"
        );

        let (status, location, _) = post_without_javascript(
            &app,
            &token,
            dialog,
            &[
                ("username", "ada@contoso.example"),
                ("action", "reset_methods"),
            ],
        )
        .await?;
        assert!(status.is_redirection(), "{name}: {status}");
        assert_eq!(location, "/admin?q=ada", "{name}: back to the search");
        assert!(
            backend.store().authenticator(ada).await?.is_none(),
            "{name}"
        );
        let (_, _, html) = page(&app, &token, &location).await?;
        assert!(
            html.contains("No two-step verification"),
            "{name}: her row says so: {html}"
        );
        assert!(
            !html.contains("Reset methods ada@contoso.example"),
            "{name}"
        );

        // One's own: the dialog says what follows and asks for the box.
        let own = "/admin?confirm=reset_methods%3Aadmin%40contoso.example";
        let (_, _, html) = page(&app, &token, own).await?;
        assert!(
            html.contains("These are your own methods")
                && html.contains("at your next sign-in you will be asked to add a method")
                && html.contains("name=\"understood\"")
                && html.contains("value=\"signed_out,two_step_required\""),
            "{name}: {html}"
        );
        // Ticked under these words, which could not say that nobody else administers: the
        // refusal comes back to the dialog, says the rest, and asks again.
        let fields = [
            ("username", ADMIN),
            ("action", "reset_methods"),
            ("understood", "signed_out,two_step_required"),
        ];
        let (status, location, _) = post_without_javascript(&app, &token, own, &fields).await?;
        assert!(status.is_redirection(), "{name}: {status}");
        let (_, _, html) = page(&app, &token, &location).await?;
        assert!(
            html.contains("You are the last administrator, so nobody can use it until then."),
            "{name}: {location}: {html}"
        );
        let said = "signed_out,two_step_required,last_administrator";
        assert!(
            html.contains(&format!("value=\"{said}\"")),
            "{name}: the box now stands for all of it: {html}"
        );
        assert!(backend.signed_in(&admin_ctx).await?.is_some(), "{name}");
        // With it: done, and the console now sends this browser to sign in.
        let fields = [
            ("username", ADMIN),
            ("action", "reset_methods"),
            ("understood", said),
        ];
        let (status, location, _) = post_without_javascript(&app, &token, own, &fields).await?;
        assert!(status.is_redirection(), "{name}: {status}");
        assert_eq!(location, "/admin", "{name}");
        let (status, location, _) = page(&app, &token, &location).await?;
        assert!(status.is_redirection(), "{name}: {status}");
        assert!(location.starts_with("/signin"), "{name}: {location}");
    }
    Ok(())
}
