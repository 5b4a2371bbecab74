//! Signed-in pages answered again from memory (`server::page_cache`), on SQLite and
//! PostgreSQL with two instances on one database: a repeat view is served without rendering,
//! with a nonce of its own; and every change to what the page shows, made on either instance
//! or from outside both (SQL, as the command line or another program would), is on the next
//! view at once, with nothing served from memory; a session that ends is never shown its page.

mod support;

use std::sync::Arc;

use app::backend::prelude::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sea_orm::ConnectionTrait;
use server::app_password_check::{CheckOutcome, Client};
use server::domain::policy::Setting;
use server::http::{AppState, router};
use server::use_cases::ServerBackend;
use support::{TestDatabase, TestResult};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One instance: its router and the state whose page cache it uses.
struct Instance {
    state: AppState,
    app: axum::Router,
}

impl Instance {
    fn new(backend: Arc<ServerBackend>) -> Self {
        let state = support::state(backend);
        Self {
            app: router(state.clone()),
            state,
        }
    }

    fn served(&self) -> u64 {
        self.state.page_cache.served()
    }

    /// `GET /security-info` with the session cookie: status, and the body with its nonce
    /// (named by the `Content-Security-Policy`) replaced by `NONCE`.
    async fn view(&self, token: &str) -> Result<View, Error> {
        // As a browser asks: for HTML (a failed read then still answers 200, with the error
        // in the page).
        let request = Request::get("/security-info")
            .header(
                header::COOKIE,
                format!("{}={token}", server::use_cases::SESSION_COOKIE),
            )
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .body(Body::empty())?;
        let response = self.app.clone().oneshot(request).await?;
        let status = response.status();
        let nonce = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .and_then(|csp| csp.split("'nonce-").nth(1))
            .and_then(|rest| rest.split('\'').next())
            .ok_or("no nonce in the Content-Security-Policy")?
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 22).await?;
        let body = String::from_utf8(body.to_vec())?;
        Ok(View {
            status,
            nonce_used: body.contains(&nonce),
            body: body.replace(&nonce, "NONCE"),
            nonce,
        })
    }

    /// Views the page, which must be rendered, not served from memory.
    async fn view_rendered(&self, token: &str, what: &str) -> Result<View, Error> {
        let served = self.served();
        let view = self.view(token).await?;
        assert_eq!(self.served(), served, "{what}: served the kept page");
        Ok(view)
    }

    /// Views the page until it is kept, then once more, which must be served from memory.
    async fn view_kept(&self, token: &str, what: &str) -> Result<View, Error> {
        let first = self.view(token).await?;
        assert_eq!(first.status, StatusCode::OK, "{what}");
        let before = self.served();
        let again = self.view(token).await?;
        assert_eq!(self.served(), before + 1, "{what}: not served from memory");
        assert_eq!(again.body, first.body, "{what}");
        Ok(again)
    }
}

struct View {
    status: StatusCode,
    body: String,
    nonce: String,
    nonce_used: bool,
}

async fn two_instances(
    database: &TestDatabase,
) -> Result<(Arc<ServerBackend>, Instance, Instance), Error> {
    let first = support::backend(database).await;
    support::set_up_organization(&first).await;
    let second = support::backend_with_key_of(database, &first).await;
    Ok((first.clone(), Instance::new(first), Instance::new(second)))
}

#[tokio::test]
async fn a_repeat_view_is_the_same_page_with_a_nonce_of_its_own() -> TestResult {
    for database in TestDatabase::all().await {
        let (backend, a, b) = two_instances(&database).await?;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ada, _) =
            support::app_password_for(&backend, "ada@contoso.example", "Outlook").await?;
        let token = ada.session_token.clone().ok_or("no session")?;

        let rendered = b.view(&token).await?;
        let served = b.view(&token).await?;
        assert_eq!(b.served(), 1, "{}", database.name);
        assert_eq!(served.status, StatusCode::OK);
        assert!(
            rendered.nonce_used && served.nonce_used,
            "{}",
            database.name
        );
        assert_ne!(
            served.nonce, rendered.nonce,
            "{}: a nonce reused",
            database.name
        );
        assert_eq!(served.body, rendered.body, "{}", database.name);
        assert!(served.body.contains("Outlook"), "{}", database.name);
        // The other instance renders its own: the same page, apart from the nonce.
        let elsewhere = a.view(&token).await?;
        assert_eq!(a.served(), 0);
        assert_eq!(elsewhere.body, rendered.body, "{}", database.name);

        // A view with a query, another cookie, or no session is never looked up.
        let with = |uri: &str, cookie: String| {
            let app = b.app.clone();
            let request = Request::get(uri)
                .header(header::COOKIE, cookie)
                .body(Body::empty());
            async move { Ok::<_, Error>(app.oneshot(request?).await?.status()) }
        };
        let cookie = format!("{}={token}", server::use_cases::SESSION_COOKIE);
        assert_eq!(
            with("/security-info?x=1", cookie.clone()).await?,
            StatusCode::OK
        );
        assert_eq!(
            with("/security-info", format!("{cookie}; theme=dark")).await?,
            StatusCode::OK
        );
        assert_eq!(
            with(
                "/security-info",
                format!("{}=forged", server::use_cases::SESSION_COOKIE)
            )
            .await?,
            StatusCode::SEE_OTHER
        );
        assert_eq!(b.served(), 1, "{}", database.name);
    }
    Ok(())
}

/// The person whose page changes, and the instance that changes it.
struct Fixture {
    backend: Arc<ServerBackend>,
    ada: app::backend::RequestContext,
    app_password: String,
}

/// A change to what the page shows, made one way or another on the shared database; gives a
/// text the page shows afterwards.
type Change =
    for<'a> fn(&'a Fixture) -> futures::future::BoxFuture<'a, Result<&'static str, Error>>;

async fn sql(backend: &ServerBackend, statement: &str) -> Result<(), Error> {
    backend
        .store
        .connection()
        .execute_unprepared(statement)
        .await?;
    Ok(())
}

#[tokio::test]
async fn every_change_to_what_the_page_shows_is_on_the_next_view_on_both_instances() -> TestResult {
    let changes: [(&str, Change); 8] = [
        ("an app password renamed (SQL)", |f| {
            Box::pin(async move {
                let rename =
                    "UPDATE app_passwords SET name = 'Renamed mail' WHERE name = 'Outlook'";
                sql(&f.backend, rename).await?;
                Ok("Renamed mail")
            })
        }),
        ("an app password created", |f| {
            Box::pin(async move {
                f.backend
                    .create_app_password(&f.ada, "Thunderbird", "", "")
                    .await?;
                Ok("Thunderbird")
            })
        }),
        ("an app password used by a mail client", |f| {
            Box::pin(async move {
                let client = Client {
                    ip: Some("203.0.113.77".to_owned()),
                    name: Some("IMAP".to_owned()),
                };
                let outcome = f
                    .backend
                    .check_app_password("ada@contoso.example", &f.app_password, &client)
                    .await?;
                assert!(matches!(outcome, CheckOutcome::Accepted(_)), "{outcome:?}");
                Ok("203.0.113.77")
            })
        }),
        ("the person's name changed (SQL)", |f| {
            Box::pin(async move {
                let rename = "UPDATE users SET display_name = 'Ada Lovelace' \
                              WHERE username_key = 'ada@contoso.example'";
                sql(&f.backend, rename).await?;
                Ok("Ada Lovelace")
            })
        }),
        ("the preview notice dismissed", |f| {
            Box::pin(async move {
                f.backend.dismiss_preview_notice(&f.ada).await?;
                Ok("")
            })
        }),
        ("the organization turns app passwords off", |f| {
            Box::pin(async move {
                support::set_policy(&f.backend, Setting::AllowAppPasswords, false).await?;
                Ok("")
            })
        }),
        ("the organization turns them on again (SQL)", |f| {
            Box::pin(async move {
                sql(
                    &f.backend,
                    "UPDATE organizations SET allow_app_passwords = true",
                )
                .await?;
                Ok("")
            })
        }),
        ("the authenticator app removed (SQL)", |f| {
            Box::pin(async move {
                sql(&f.backend, "DELETE FROM authenticator_apps").await?;
                Ok("")
            })
        }),
    ];
    for database in TestDatabase::all().await {
        let (backend, a, b) = two_instances(&database).await?;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ada, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Outlook").await?;
        let token = ada.session_token.clone().ok_or("no session")?;
        let fixture = Fixture {
            backend,
            ada,
            app_password: created.password,
        };
        for (what, change) in changes {
            let what = format!("{}: {what}", database.name);
            let kept_a = a.view_kept(&token, &what).await?;
            let kept_b = b.view_kept(&token, &what).await?;
            let shown = change(&fixture).await?;
            // No waiting: the versions are read from the database on every view.
            for (name, instance, kept) in [("A", &a, &kept_a), ("B", &b, &kept_b)] {
                let after = instance
                    .view_rendered(&token, &format!("{what} on {name}"))
                    .await?;
                assert_eq!(after.status, StatusCode::OK, "{what} on {name}");
                assert_ne!(after.body, kept.body, "{what}: {name} shows the old page");
                assert!(after.body.contains(shown), "{what}: {name} lacks {shown:?}");
            }
        }
    }
    Ok(())
}

/// Ways a session ends, each on its own person: none of them is ever shown the kept page.
#[tokio::test]
async fn a_session_that_ends_is_never_shown_its_kept_page() -> TestResult {
    for database in TestDatabase::all().await {
        let (backend, a, b) = two_instances(&database).await?;
        let endings: [(&str, &str); 4] = [
            ("signed out", "sign-out@contoso.example"),
            ("signed out everywhere", "everywhere@contoso.example"),
            ("disabled (SQL)", "disabled@contoso.example"),
            ("sessions deleted (SQL)", "deleted@contoso.example"),
        ];
        for (what, username) in endings {
            let what = format!("{}: {what}", database.name);
            support::add_user(&backend, username).await;
            let (person, _) =
                support::signed_in_with_authenticator(&backend, username, "192.0.2.1").await?;
            let token = person.session_token.clone().ok_or("no session")?;
            a.view_kept(&token, &what).await?;
            b.view_kept(&token, &what).await?;
            match what.rsplit(": ").next() {
                Some("signed out") => {
                    backend.sign_out(&person).await?;
                }
                Some("signed out everywhere") => {
                    backend.sign_out_everywhere(&person).await?;
                }
                Some("disabled (SQL)") => {
                    sql(
                        &backend,
                        &format!(
                            "UPDATE users SET is_enabled = false WHERE username_key = '{username}'"
                        ),
                    )
                    .await?;
                }
                _ => {
                    sql(&backend, "DELETE FROM sessions").await?;
                }
            }
            for (name, instance) in [("A", &a), ("B", &b)] {
                let after = instance
                    .view_rendered(&token, &format!("{what} on {name}"))
                    .await?;
                assert_eq!(after.status, StatusCode::SEE_OTHER, "{what} on {name}");
            }
        }
    }
    Ok(())
}

/// A page whose reads failed shows an error: it is not kept, so the next view, once the
/// database answers again, is not that error page.
#[tokio::test]
async fn a_page_showing_an_error_is_not_kept() -> TestResult {
    for database in TestDatabase::all().await {
        let (backend, a, _) = two_instances(&database).await?;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ada, _) =
            support::signed_in_with_authenticator(&backend, "ada@contoso.example", "192.0.2.1")
                .await?;
        let token = ada.session_token.clone().ok_or("no session")?;
        // The session and the versions still read; the authenticator app does not.
        let drop = if database.name == "sqlite" {
            "DROP TABLE authenticator_apps"
        } else {
            "DROP TABLE authenticator_apps CASCADE"
        };
        sql(&backend, drop).await?;
        let shown = a.view(&token).await?;
        assert_eq!(shown.status, StatusCode::OK, "{}", database.name);
        a.view(&token).await?;
        assert_eq!(
            a.served(),
            0,
            "{}: an error page was served again",
            database.name
        );
    }
    Ok(())
}

/// `TRUNCATE` names no rows; on PostgreSQL it moves the organization's version.
#[tokio::test]
async fn a_truncated_table_is_on_the_next_view() -> TestResult {
    let Some(database) = TestDatabase::postgres().await else {
        return Ok(());
    };
    let (backend, a, b) = two_instances(&database).await?;
    support::add_user(&backend, "ada@contoso.example").await;
    let (ada, _) = support::app_password_for(&backend, "ada@contoso.example", "Outlook").await?;
    let token = ada.session_token.clone().ok_or("no session")?;
    let kept = b.view_kept(&token, "before TRUNCATE").await?;
    assert!(kept.body.contains("Outlook"));
    sql(&backend, "TRUNCATE app_passwords CASCADE").await?;
    for (name, instance) in [("A", &a), ("B", &b)] {
        let after = instance.view(&token).await?;
        assert_eq!(after.status, StatusCode::OK, "{name}");
        assert!(
            !after.body.contains("Outlook"),
            "{name} shows a truncated app password"
        );
    }
    assert_eq!(b.served(), 1);
    Ok(())
}

/// Views that arrive together share their version reads (one query for many), and each is
/// still answered for its own session: its person's page, rendered, kept, or rendered again
/// when only that person's page changed.
#[tokio::test]
async fn views_arriving_together_share_a_version_read_and_each_gets_its_own_page() -> TestResult {
    for database in TestDatabase::all().await {
        let (backend, a, _) = two_instances(&database).await?;
        let mut people = Vec::new();
        for (name, app) in [("ada", "Ada mail"), ("bo", "Bo mail"), ("cy", "Cy mail")] {
            let username = format!("{name}@contoso.example");
            support::add_user(&backend, &username).await;
            let (context, _) = support::app_password_for(&backend, &username, app).await?;
            people.push((context.session_token.clone().ok_or("no session")?, app));
        }
        let views_per_round = people.len() * 4;
        // (what, whether Bo's app password is renamed first, served from memory in the
        // round): after the rename his four views are rendered and the other eight served.
        let rounds = [
            ("first views", false, 0),
            ("again", false, 12),
            ("Bo's page changed", true, 8),
        ];
        for (round, rename_bos_first, served) in rounds {
            if rename_bos_first {
                sql(
                    &backend,
                    "UPDATE app_passwords SET name = 'Bo phone' WHERE name = 'Bo mail'",
                )
                .await?;
                people[1].1 = "Bo phone";
            }
            let what = format!("{}, {round}", database.name);
            let (reads_before, served_before) =
                (a.state.page_cache.version_reads().queries(), a.served());
            let a = &a;
            let views = people
                .iter()
                .cycle()
                .take(views_per_round)
                .map(|(token, app)| async move { (a.view(token).await, *app) });
            let views = futures::future::join_all(views).await;
            for (view, app) in &views {
                let view = view.as_ref().map_err(|e| e.to_string())?;
                assert_eq!(view.status, StatusCode::OK, "{what}");
                for other in ["Ada mail", "Bo mail", "Bo phone", "Cy mail"] {
                    assert_eq!(
                        view.body.contains(other),
                        other == *app,
                        "{what}: {other:?} on the page of the owner of {app:?}"
                    );
                }
            }
            assert_eq!(
                a.served() - served_before,
                served,
                "{what}: served from memory"
            );
            let reads = a.state.page_cache.version_reads().queries() - reads_before;
            assert!(
                reads * 2 <= views.len() as u64,
                "{what}: {reads} reads for {} views",
                views.len()
            );
        }
    }
    Ok(())
}
