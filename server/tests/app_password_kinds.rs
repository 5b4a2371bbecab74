//! What an app password may reach (its kind), on SQLite and PostgreSQL: each kind against each
//! protocol, and against a check that names none, through `/auth/basic` with the proxy's
//! `X-Latchkey-Protocol` header and through `latchkey checkpassword` with Dovecot's `SERVICE`;
//! a refusal counts as a failure without ever turning away the allowed protocols; a change of
//! kind is audited and refused by a second instance within moments, cached acceptance or not.

mod support;

use std::process::{Command, Output};
use std::time::Duration;

use app::backend::prelude::*;
use app::model::{AppPasswordChoices, AppPasswordKind, CreatedAppPassword};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use server::use_cases::ServerBackend;
use server::use_cases::app_password_check::{CheckOutcome, Client};
use support::{TestDatabase, TestResult};
use tower::ServiceExt;

/// The protocols as a proxy names them, and "none" (`None`).
const PROTOCOLS: [Option<&str>; 7] = [
    Some("imap"),
    Some("pop3"),
    Some("smtp"),
    Some("sieve"),
    Some("caldav"),
    Some("carddav"),
    None,
];

/// What each kind may reach, as issue 31 words it (written out, not read from the code).
fn allowed(kind: AppPasswordKind) -> &'static [&'static str] {
    match kind {
        AppPasswordKind::Mail => &["imap", "pop3", "smtp", "sieve"],
        AppPasswordKind::SendingOnly => &["smtp"],
        AppPasswordKind::CalendarsAndContacts => &["caldav", "carddav"],
        AppPasswordKind::Everything => &[
            "imap", "pop3", "smtp", "sieve", "caldav", "carddav", "<none>",
        ],
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `GET /auth/basic` as a proxy sends it, naming `protocol` when given.
async fn check_over_http(
    app: &axum::Router,
    username: &str,
    password: &str,
    protocol: Option<&str>,
) -> Result<StatusCode, Box<dyn std::error::Error + Send + Sync>> {
    let mut request =
        Request::get("/auth/basic").header(header::AUTHORIZATION, basic(username, password));
    if let Some(protocol) = protocol {
        request = request.header("X-Latchkey-Protocol", protocol);
    }
    Ok(app
        .clone()
        .oneshot(request.body(Body::empty())?)
        .await?
        .status())
}

/// Creates an app password of `kind` for a new person `username`.
async fn app_password_of_kind(
    backend: &ServerBackend,
    username: &str,
    kind: AppPasswordKind,
) -> Result<
    (app::backend::RequestContext, CreatedAppPassword),
    Box<dyn std::error::Error + Send + Sync>,
> {
    support::add_user(backend, username).await;
    let (ctx, _) = support::signed_in_with_authenticator(backend, username, "192.0.2.1").await?;
    let choices = AppPasswordChoices {
        kind,
        ..Default::default()
    };
    let created = backend
        .create_app_password_with(&ctx, "Mail app", "", "", &choices)
        .await?;
    Ok((ctx, created))
}

#[tokio::test]
async fn each_kind_reaches_its_protocols_through_auth_basic() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let app = server::http::router(support::state(backend.clone()));
        for (n, kind) in AppPasswordKind::ALL.into_iter().enumerate() {
            // One person per kind: the refusals of one never throttle another's name.
            let username = format!("kind{n}@contoso.example");
            let (_, created) = app_password_of_kind(&backend, &username, kind).await?;
            assert_eq!(created.item.kind, kind);
            // The second round is answered from the cache of accepted checks where it may:
            // every allowed protocol again, and one refused (more would throttle the name).
            let mut refused_again = false;
            for round in 0..2 {
                for protocol in PROTOCOLS {
                    let allows = allowed(kind).contains(&protocol.unwrap_or("<none>"));
                    if round == 1 && !allows {
                        if refused_again {
                            continue;
                        }
                        refused_again = true;
                    }
                    let status =
                        check_over_http(&app, &username, &created.password, protocol).await?;
                    let expected = if allows {
                        StatusCode::NO_CONTENT
                    } else {
                        StatusCode::UNAUTHORIZED
                    };
                    assert_eq!(
                        status, expected,
                        "{}: {kind:?} over {protocol:?}, round {round}",
                        database.name
                    );
                }
            }
        }

        // A header the check does not know names no protocol: a limited one is refused.
        let (_, mail) =
            app_password_of_kind(&backend, "typo@contoso.example", AppPasswordKind::Mail).await?;
        assert_eq!(
            check_over_http(&app, "typo@contoso.example", &mail.password, Some("imap4")).await?,
            StatusCode::UNAUTHORIZED,
            "{}",
            database.name
        );
        assert_eq!(
            check_over_http(
                &app,
                "typo@contoso.example",
                &mail.password,
                Some(" IMAPS ")
            )
            .await?,
            StatusCode::NO_CONTENT,
            "{}",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn refusals_of_kind_count_as_failures_but_never_turn_away_the_allowed_protocol() -> TestResult
{
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let app = server::http::router(support::state(backend.clone()));
        let username = "printer@contoso.example";
        let (_, created) =
            app_password_of_kind(&backend, username, AppPasswordKind::SendingOnly).await?;
        let limit = server::domain::throttle::FailureLimit::PER_USERNAME.max_failures;
        for n in 0..limit {
            assert_eq!(
                check_over_http(&app, username, &created.password, Some("imap")).await?,
                StatusCode::UNAUTHORIZED,
                "{}: refusal {n}",
                database.name
            );
        }
        // The name is throttled now, like after as many wrong passwords...
        assert_eq!(
            check_over_http(&app, username, &created.password, Some("imap")).await?,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            database.name
        );
        assert_eq!(
            check_over_http(&app, username, "abcd efgh ijkl mnop", Some("smtp")).await?,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            database.name
        );
        // ...yet the printer still sends.
        assert_eq!(
            check_over_http(&app, username, &created.password, Some("smtp")).await?,
            StatusCode::NO_CONTENT,
            "{}",
            database.name
        );
    }
    Ok(())
}

/// Runs `latchkey checkpassword` as Dovecot would for `service` (`SERVICE` unset for `None`).
fn checkpassword(server: &str, service: Option<&str>, input: &[u8]) -> std::io::Result<Output> {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(r#"exec "$0" checkpassword --server "$1" /usr/bin/env 3<&0 </dev/null"#)
        .arg(env!("CARGO_BIN_EXE_latchkey"))
        .arg(server)
        .env("TCPREMOTEIP", "192.0.2.45")
        .env_remove("SERVICE");
    if let Some(service) = service {
        command.env("SERVICE", service);
    }
    support::run_with_input(&mut command, input)
}

#[tokio::test]
async fn each_kind_reaches_its_protocols_through_checkpassword() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = server::http::router(support::state(backend.clone()));
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });

        // Dovecot's names for its services, and the protocol each is.
        let services: [(Option<&str>, &str); 7] = [
            (Some("imap"), "imap"),
            (Some("pop3"), "pop3"),
            (Some("submission"), "smtp"),
            (Some("sieve"), "sieve"),
            (Some("caldav"), "caldav"),
            (Some("carddav"), "carddav"),
            (None, "<none>"),
        ];
        for (n, kind) in AppPasswordKind::ALL.into_iter().enumerate() {
            let username = format!("dovecot{n}@contoso.example");
            let (_, created) = app_password_of_kind(&backend, &username, kind).await?;
            for (service, protocol) in services {
                let login = format!("{username}\0{}\0", created.password);
                let url = url.clone();
                let output = tokio::task::spawn_blocking(move || {
                    checkpassword(&url, service, login.as_bytes())
                })
                .await??;
                let expected = if allowed(kind).contains(&protocol) {
                    0
                } else {
                    1
                };
                assert_eq!(
                    output.status.code(),
                    Some(expected),
                    "{}: {kind:?} with SERVICE={service:?}: {output:?}",
                    database.name
                );
            }
        }
        server.abort();
        let _ = server.await;
    }
    Ok(())
}

/// A check on `instance` as a proxy names `protocol` (the same client each time).
async fn check_on(
    instance: &ServerBackend,
    username: &str,
    password: &str,
    protocol: &str,
) -> Result<bool, server::db::StoreError> {
    let protocol = server::domain::mail_protocol::Protocol::parse(protocol);
    let client = Client {
        ip: Some("192.0.2.60".to_owned()),
        name: protocol.map(|p| p.label().to_owned()),
        protocol,
    };
    let outcome = instance
        .app_password_checker
        .check(
            instance.store(),
            &instance.secret_key,
            username,
            password,
            &client,
        )
        .await?;
    Ok(matches!(outcome, CheckOutcome::Accepted(_)))
}

#[tokio::test]
async fn a_changed_kind_is_audited_and_refused_on_every_instance_even_after_caching() -> TestResult
{
    for database in TestDatabase::all().await {
        let first = support::backend(&database).await;
        support::set_up_organization(&first).await;
        let second = support::backend_with_key_of(&database, &first).await;
        // As in `scale_out.rs`: PostgreSQL tells at once, SQLite is polled every 100 ms.
        let deadline = if database.name.contains("postgres") {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(1)
        };
        let username = "ada@contoso.example";
        let (ctx, created) = app_password_of_kind(&first, username, AppPasswordKind::Mail).await?;
        let password = created.password.as_str();

        // Accepted for IMAP on both, the repeat from memory; CalDAV refused even then.
        tokio::time::sleep(Duration::from_millis(250)).await;
        for instance in [&first, &second] {
            assert!(check_on(instance, username, password, "imap").await?);
            let reads = instance.app_password_checker.candidate_reads();
            assert!(check_on(instance, username, password, "imap").await?);
            assert_eq!(
                instance.app_password_checker.candidate_reads(),
                reads,
                "{}: the repeat should come from memory",
                database.name
            );
            assert!(!check_on(instance, username, password, "caldav").await?);
        }
        // Cached again on the second instance before the change.
        assert!(check_on(&second, username, password, "imap").await?);

        let changed = first
            .change_app_password_kind(&ctx, created.id, AppPasswordKind::SendingOnly)
            .await?;
        assert_eq!(changed.kind, AppPasswordKind::SendingOnly);
        assert_eq!(
            first.app_passwords(&ctx).await?.items[0].kind,
            AppPasswordKind::SendingOnly
        );

        // Here at once; there within moments.
        assert!(
            !check_on(&first, username, password, "imap").await?,
            "{}",
            database.name
        );
        let there = support::time_until(Duration::from_secs(3), async || {
            Ok::<_, server::db::StoreError>(!check_on(&second, username, password, "imap").await?)
        })
        .await?;
        assert!(
            there.is_some_and(|there| there < deadline),
            "{}: refused there after {there:?}",
            database.name
        );
        // Sending still works on both.
        for instance in [&first, &second] {
            assert!(check_on(instance, username, password, "smtp").await?);
        }

        // The same kind again (a form sent twice): nothing is written or audited.
        let unchanged = first
            .change_app_password_kind(&ctx, created.id, AppPasswordKind::SendingOnly)
            .await?;
        assert_eq!(unchanged.kind, AppPasswordKind::SendingOnly);

        // Audited, once, naming both kinds; and nobody else's app password can be changed.
        let user = first.store().user_by_key(username).await?.ok_or("user")?;
        let changes: Vec<String> = first
            .store()
            .audit_events_of(user.id)
            .await?
            .into_iter()
            .filter(|e| e.kind == "app_password.kind_changed")
            .map(|e| e.detail)
            .collect();
        assert_eq!(
            changes,
            [format!(
                "'Mail app' (id {}) from Mail (IMAP, POP3, sending) to Sending mail only (SMTP)",
                created.id
            )],
            "{}",
            database.name
        );
        let (bob, _) =
            app_password_of_kind(&first, "bob@contoso.example", AppPasswordKind::Mail).await?;
        assert_eq!(
            first
                .change_app_password_kind(&bob, created.id, AppPasswordKind::Everything)
                .await,
            Err(app::error::AppError::AppPasswordGone),
            "{}",
            database.name
        );
        assert!(!check_on(&first, username, password, "imap").await?);
    }
    Ok(())
}
