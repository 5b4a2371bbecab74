//! What a view of Security info costs the database, on SQLite and PostgreSQL: every statement
//! the server runs for one `GET /security-info` is counted (sea-orm's metric callback on the
//! store's connection), so a duplicate read, or a write on every view, fails here.

mod support;

use std::sync::{Arc, Mutex};

use app::backend::prelude::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sea_orm::{ConnectionTrait, Statement};
use server::db::{self, Store};
use server::domain::random::OsRandom;
use server::http::router;
use server::secret_key::SecretKey;
use server::use_cases::{BackendSettings, ServerBackend};
use support::{TestDatabase, TestResult};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The SQL of every statement run on a connection since the last [`Statements::take`].
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

impl Statements {
    fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default()
    }
}

/// A backend whose every statement is recorded. Its revocation watch is not started: the
/// SQLite watch's polling would be counted with the page's reads.
async fn counted_backend(
    database: &TestDatabase,
) -> Result<(Arc<ServerBackend>, Statements), Error> {
    let statements = Statements::default();
    let mut connection = db::connect_and_migrate(&database.url).await?;
    let seen = statements.clone();
    connection.set_metric_callback(move |info| {
        if let Ok(mut seen) = seen.0.lock() {
            seen.push(info.statement.sql.clone());
        }
    });
    let dir = tempfile::tempdir()?;
    let key = SecretKey::load_or_create(&dir.path().join("secret.key"), &mut OsRandom)?;
    let backend = ServerBackend::new(Store::new(connection), key, BackendSettings::default());
    Ok((backend, statements))
}

/// `GET uri` with the session cookie, read to its end (the page's server functions run while it
/// streams): its status and body.
async fn view(app: &axum::Router, uri: &str, token: &str) -> Result<(StatusCode, String), Error> {
    let request = Request::get(uri)
        .header(
            header::COOKIE,
            format!("{}={token}", server::use_cases::SESSION_COOKIE),
        )
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 22).await?;
    Ok((status, String::from_utf8(body.to_vec())?))
}

/// A view of Security info reads the session (with its person, the organization's policy, and
/// how many authenticator apps, passkeys, recovery codes and signed-in browsers the person
/// has) once, the authenticator apps once (the list and the dialog adding one share it) and the
/// app-password list once: three statements for a person with an authenticator app. The apps,
/// passkeys and browsers are read only when there are some to list. No write while the
/// session's `last_seen_at` is less than a minute old. When the touch is due, one view writes
/// it and the next does not.
#[tokio::test]
async fn a_security_info_view_costs_three_reads_and_touches_the_session_once_a_minute() -> TestResult
{
    for database in TestDatabase::all().await {
        let name = database.name;
        let (backend, statements) = counted_backend(&database).await?;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ada, secret) =
            support::signed_in_with_authenticator(&backend, "ada@contoso.example", "192.0.2.1")
                .await?;
        for app_name in ["Outlook", "Thunderbird", "Phone"] {
            backend.create_app_password(&ada, app_name, "", "").await?;
        }
        let token = ada.session_token.clone().ok_or("no session")?;
        let app = router(support::state(backend.clone()));

        // The page, the page with the "add an authenticator app" dialog open (it reads the one
        // being added), and My Profile (the person and organization only).
        for (uri, reads) in [
            ("/security-info", 3),
            ("/security-info?add=authenticator", 3),
            ("/", 1),
        ] {
            statements.take();
            let (status, body) = view(&app, uri, &token).await?;
            let run = statements.take();
            assert_eq!(status, StatusCode::OK, "{name} {uri}: {body}");
            assert!(
                body.contains("Test User"),
                "{name} {uri}: the person's name"
            );
            assert_eq!(
                run.len(),
                reads,
                "{name} {uri}: the session read (with the counts of authenticator apps, passkeys, recovery codes and browsers), the authenticator apps and the app passwords, nothing else:\n{}",
                run.join("\n")
            );
            assert!(
                run.iter().all(|sql| sql.trim_start().starts_with("SELECT")),
                "{name} {uri}: a view writes nothing:\n{}",
                run.join("\n")
            );
        }
        // What Security info shows comes from those reads: the method, the list, the browsers.
        let (_, body) = view(&app, "/security-info", &token).await?;
        for shown in ["Authenticator app", "Thunderbird", "Phone", "This browser"] {
            assert!(
                body.contains(shown),
                "{name}: {shown} missing from the page"
            );
        }

        // A session last seen two minutes ago: its touch is due.
        let backend_kind = backend.store().connection().get_database_backend();
        let an_earlier_time = chrono::Utc::now() - chrono::Duration::minutes(2);
        backend
            .store()
            .connection()
            .execute_raw(Statement::from_sql_and_values(
                backend_kind,
                match backend_kind {
                    sea_orm::DatabaseBackend::Postgres => "UPDATE sessions SET last_seen_at = $1",
                    _ => "UPDATE sessions SET last_seen_at = ?",
                },
                [an_earlier_time.into()],
            ))
            .await?;
        statements.take();
        assert_eq!(
            view(&app, "/security-info", &token).await?.0,
            StatusCode::OK
        );
        let run = statements.take();
        let writes: Vec<&String> = run
            .iter()
            .filter(|sql| !sql.trim_start().starts_with("SELECT"))
            .collect();
        assert_eq!(
            run.len(),
            4,
            "{name}: three reads and the touch:\n{}",
            run.join("\n")
        );
        assert!(
            writes.len() == 1 && writes[0].contains("sessions"),
            "{name}: the one write is the session's touch:\n{}",
            run.join("\n")
        );
        assert_eq!(
            view(&app, "/security-info", &token).await?.0,
            StatusCode::OK
        );
        let run = statements.take();
        assert_eq!(
            run.len(),
            3,
            "{name}: the next view does not touch again:\n{}",
            run.join("\n")
        );

        // Signed in in a second browser: the list of browsers is read (it is not only this one).
        {
            use app::backend::prelude::*;
            let (_, cookie) = backend
                .sign_in(
                    &support::context("192.0.2.2", None),
                    "ada@contoso.example",
                    support::PASSWORD,
                )
                .await?;
            // The next step's code: the one just used cannot be used again.
            let code = support::code_for(&secret, support::now_unix() + 30)?;
            backend
                .verify_sign_in_code(&support::context("192.0.2.2", Some(&cookie)), &code)
                .await?;
        }
        statements.take();
        let (_, body) = view(&app, "/security-info", &token).await?;
        let run = statements.take();
        assert_eq!(
            run.len(),
            4,
            "{name}: the session, the authenticator apps, the app passwords and the browsers:\n{}",
            run.join("\n")
        );
        assert!(
            body.contains("192.0.2.2") && body.contains("This browser"),
            "{name}: both browsers listed"
        );
    }
    Ok(())
}
