//! `GET /readyz` says why, on SQLite and PostgreSQL: 200 with every check when the database
//! answers, has this version's migrations and records this instance's key; 503 naming the
//! check when one of those fails; the mail server (tried in the background) is reported but
//! never makes the instance unready.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use serde_json::Value;
use server::db::migrations::Migrator;
use server::http::readiness::Readiness;
use server::http::router;
use server::jobs::mail_alerts::Mailer;
use support::{TestDatabase, TestResult};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn readyz(app: &axum::Router) -> Result<(StatusCode, Value), Error> {
    let response = app
        .clone()
        .oneshot(Request::get("/readyz").body(Body::empty())?)
        .await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await?;
    Ok((status, serde_json::from_slice(&body)?))
}

fn status_of<'a>(report: &'a Value, check: &str) -> &'a str {
    report["checks"][check]["status"].as_str().unwrap_or("")
}

#[tokio::test]
async fn readiness_names_the_check_that_fails() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        let app = router(support::state(backend.clone()));
        let connection = backend.store().connection().clone();

        // A database that records no key (never started with one) is not ready.
        let (status, report) = readyz(&app).await?;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{name}: {report}");
        assert_eq!(status_of(&report, "secret_key"), "failing", "{report}");
        assert_eq!(status_of(&report, "database"), "ok", "{report}");

        // As `serve` leaves it: ready, each check named.
        backend
            .store()
            .record_key_check(&backend.secret_key.check_value())
            .await?;
        let (status, report) = readyz(&app).await?;
        assert_eq!(status, StatusCode::OK, "{name}: {report}");
        assert_eq!(report["ready"], Value::Bool(true));
        for check in ["database", "migrations", "secret_key"] {
            assert_eq!(status_of(&report, check), "ok", "{name} {check}: {report}");
            assert_eq!(report["checks"][check]["required"], Value::Bool(true));
        }
        assert_eq!(status_of(&report, "mail"), "not_configured", "{report}");
        assert_eq!(report["checks"]["mail"]["required"], Value::Bool(false));

        // A migration of this version missing: not ready, until it is back.
        let last = Migrator::migrations()
            .last()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        let applied_at: i64 = 0;
        connection
            .execute_unprepared(&format!(
                "DELETE FROM seaql_migrations WHERE version = '{last}'"
            ))
            .await?;
        let (status, report) = readyz(&app).await?;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{name}: {report}");
        assert_eq!(status_of(&report, "migrations"), "failing", "{report}");
        assert!(
            report["checks"]["migrations"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("latchkey migrate")),
            "{report}"
        );
        connection
            .execute_unprepared(&format!(
                "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{last}', {applied_at})"
            ))
            .await?;
        // One of a newer version (a rolling upgrade): still ready, and said.
        connection
            .execute_unprepared(&format!(
                "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000001_newer', {applied_at})"
            ))
            .await?;
        let (status, report) = readyz(&app).await?;
        assert_eq!(status, StatusCode::OK, "{name}: {report}");
        assert_eq!(status_of(&report, "migrations"), "ok", "{report}");
        assert!(
            report["checks"]["migrations"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("newer version")),
            "{report}"
        );
        // This version still starts on it: an instance restarted during the upgrade comes back.
        server::db::connect_and_migrate(&database.url)
            .await?
            .close()
            .await?;
        connection
            .execute_unprepared(
                "DELETE FROM seaql_migrations WHERE version = 'm29991231_000001_newer'",
            )
            .await?;

        // Another instance's key: not ready, and the database is still fine.
        let other = support::backend(&database).await;
        let other_app = router(support::state(other.clone()));
        let (status, report) = readyz(&other_app).await?;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{name}: {report}");
        assert_eq!(status_of(&report, "secret_key"), "failing", "{report}");
        assert!(
            report["checks"]["secret_key"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("another secret key")),
            "{report}"
        );
        assert_eq!(status_of(&report, "database"), "ok", "{report}");

        // The database gone: not ready; what depends on it unknown; the process still up.
        connection.close().await?;
        let (status, report) = readyz(&app).await?;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{name}: {report}");
        assert_eq!(report["ready"], Value::Bool(false));
        assert_eq!(status_of(&report, "database"), "failing", "{report}");
        assert_eq!(status_of(&report, "migrations"), "unknown", "{report}");
        assert_eq!(status_of(&report, "secret_key"), "unknown", "{report}");
        let healthz = app
            .clone()
            .oneshot(Request::get("/healthz").body(Body::empty())?)
            .await?;
        assert_eq!(healthz.status(), StatusCode::OK);
    }
    Ok(())
}

/// A mail server that answers just enough SMTP for a connection test: greeting, EHLO, NOOP,
/// QUIT. Returns its port.
async fn fake_smtp_server() -> Result<u16, Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake.example ESMTP\r\n").await?;
                while let Some(line) = lines.next_line().await? {
                    let quit = line.eq_ignore_ascii_case("QUIT");
                    let reply: &[u8] = if quit { b"221 bye\r\n" } else { b"250 ok\r\n" };
                    write.write_all(reply).await?;
                    if quit {
                        break;
                    }
                }
                Ok::<_, std::io::Error>(())
            });
        }
    });
    Ok(port)
}

/// `/readyz` once the first try of the mail server has finished.
async fn readyz_after_mail_check(app: &axum::Router) -> Result<(StatusCode, Value), Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, report) = readyz(app).await?;
        if status_of(&report, "mail") != "not_checked_yet" || std::time::Instant::now() > deadline {
            return Ok((status, report));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_mail_server_is_reported_but_not_required() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let backend = support::backend(&database).await;
    backend
        .store()
        .record_key_check(&backend.secret_key.check_value())
        .await?;
    let mail_app = |port: u16| -> Result<axum::Router, Error> {
        let mailer = Mailer::from_settings(
            Some(&format!("smtp://127.0.0.1:{port}")),
            Some("Latchkey <latchkey@contoso.example>"),
            "http://127.0.0.1:3000",
        )?
        .ok_or("mail is configured")?;
        let readiness = Arc::new(Readiness::default());
        readiness.watch_mail(mailer);
        let mut state = support::state(backend.clone());
        state.readiness = readiness;
        Ok(router(state))
    };

    // Nothing listens there: reported failing, with when it was tried; the instance is ready.
    let closed = {
        let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        probe.local_addr()?.port()
    };
    let (status, report) = readyz_after_mail_check(&mail_app(closed)?).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(status_of(&report, "mail"), "failing", "{report}");
    assert_eq!(report["checks"]["mail"]["required"], Value::Bool(false));
    assert!(
        report["checks"]["mail"]["checked_seconds_ago"].is_u64(),
        "{report}"
    );

    // A server that answers: ok.
    let (status, report) = readyz_after_mail_check(&mail_app(fake_smtp_server().await?)?).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(status_of(&report, "mail"), "ok", "{report}");
    Ok(())
}
