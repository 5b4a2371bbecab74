//! `GET /auth/nginx-mail`, the check for nginx's mail proxy (`auth_http`), on SQLite and
//! PostgreSQL: its header contract (`Auth-Status`, `Auth-Server`, `Auth-Port`, `Auth-Wait`),
//! percent-encoded credentials, throttling, protocols without an upstream, `Client-IP` believed
//! only from a trusted proxy, the protocol passed to the check (recorded as the client, and
//! limiting an app password of a narrower kind), and a database that cannot be reached.

mod support;

use std::net::SocketAddr;

use app::backend::prelude::*;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use server::http::nginx_mail::{
    INVALID_STATUS, LAST_LOGIN_ATTEMPT, REFUSAL_WAIT_SECONDS, TEMPORARY_STATUS, THROTTLED_STATUS,
    Upstreams,
};
use server::http::{AppState, router};
use support::{TestDatabase, TestResult};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

const IMAP_UPSTREAM: &str = "127.0.0.1:1143";
const SMTP_UPSTREAM: &str = "[::1]:1587";

fn state_with_upstreams(backend: std::sync::Arc<server::use_cases::ServerBackend>) -> AppState {
    AppState {
        nginx_mail: Upstreams {
            imap: IMAP_UPSTREAM.parse().ok(),
            pop3: None,
            smtp: SMTP_UPSTREAM.parse().ok(),
        },
        ..support::state(backend)
    }
}

/// nginx's request, as its mail proxy sends it from `peer`; `login` is (user, password)
/// before nginx's percent-encoding.
struct Ask<'a> {
    protocol: &'a str,
    login: Option<(&'a str, &'a str)>,
    attempt: u32,
    client_ip: &'a str,
    peer: &'a str,
}

impl Default for Ask<'_> {
    fn default() -> Self {
        Self {
            protocol: "imap",
            login: None,
            attempt: 1,
            client_ip: "192.0.2.42",
            peer: "127.0.0.1",
        }
    }
}

/// nginx's escaping of `Auth-User` and `Auth-Pass` (spaces, `%` and control characters).
fn escaped(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b' ' | b'%' | 0..=0x1f | 0x7f.. => format!("%{b:02X}"),
            _ => char::from(b).to_string(),
        })
        .collect()
}

async fn ask(app: &axum::Router, ask: Ask<'_>) -> Result<HeaderMap, Error> {
    let peer: SocketAddr = format!("{}:50000", ask.peer).parse()?;
    let mut request = Request::get("/auth/nginx-mail")
        .header("Auth-Method", "plain")
        .header("Auth-Protocol", ask.protocol)
        .header("Auth-Login-Attempt", ask.attempt.to_string())
        .header("Client-IP", ask.client_ip)
        .extension(axum::extract::ConnectInfo(peer));
    if let Some((user, password)) = ask.login {
        request = request
            .header("Auth-User", escaped(user))
            .header("Auth-Pass", escaped(password));
    }
    let response = app.clone().oneshot(request.body(Body::empty())?).await?;
    // nginx reads only headers, and only under 200.
    assert_eq!(response.status(), StatusCode::OK);
    Ok(response.headers().clone())
}

fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn an_app_password_passes_to_the_protocols_upstream_and_is_recorded_as_imap() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ctx, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Phone").await?;
        let app = router(state_with_upstreams(backend.clone()));
        // The app password has spaces: nginx sends them as %20.
        assert!(created.password.contains(' '));

        let headers = ask(
            &app,
            Ask {
                login: Some(("ada@contoso.example", &created.password)),
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(
            get(&headers, "auth-status"),
            Some("OK"),
            "{}",
            database.name
        );
        assert_eq!(get(&headers, "auth-server"), Some("127.0.0.1"));
        assert_eq!(get(&headers, "auth-port"), Some("1143"));
        assert_eq!(get(&headers, "auth-wait"), None);

        // SMTP goes to its own upstream (an IPv6 address, written bare as nginx wants it).
        let headers = ask(
            &app,
            Ask {
                protocol: "smtp",
                login: Some(("ada@contoso.example", &created.password)),
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(get(&headers, "auth-status"), Some("OK"));
        assert_eq!(get(&headers, "auth-server"), Some("::1"));
        assert_eq!(get(&headers, "auth-port"), Some("1587"));

        // The first check recorded its protocol as the client, and nginx's Client-IP.
        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        let rows = backend.store().app_passwords_of(user.id).await?;
        assert_eq!(
            rows[0].last_used_client.as_deref(),
            Some("IMAP"),
            "{}",
            database.name
        );
        assert_eq!(rows[0].last_used_ip.as_deref(), Some("192.0.2.42"));
        // And the list shows both (its wording is the list's own).
        let overview = backend.app_passwords(&ctx).await?;
        let shown = &overview.items[0].last_used;
        assert!(
            shown.contains("IMAP") && shown.contains("192.0.2.42"),
            "{shown}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn refusals_ask_nginx_to_wait_and_close_after_the_last_attempt() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (_, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let app = router(state_with_upstreams(backend.clone()));

        for (what, login) in [
            (
                "wrong app password",
                Some(("ada@contoso.example", "abcd efgh ijkl mnop")),
            ),
            (
                "account password",
                Some(("ada@contoso.example", support::PASSWORD)),
            ),
            (
                "someone else's name",
                Some(("bob@contoso.example", created.password.as_str())),
            ),
            ("no login at all", None),
        ] {
            let headers = ask(
                &app,
                Ask {
                    login,
                    client_ip: "192.0.2.60",
                    ..Ask::default()
                },
            )
            .await?;
            assert_eq!(get(&headers, "auth-status"), Some(INVALID_STATUS), "{what}");
            assert_eq!(
                get(&headers, "auth-wait"),
                Some(REFUSAL_WAIT_SECONDS.to_string().as_str()),
                "{what}"
            );
            assert_eq!(get(&headers, "auth-server"), None, "{what}");
        }

        // SMTP clients get an SMTP reply code; the last attempt closes the connection.
        let headers = ask(
            &app,
            Ask {
                protocol: "smtp",
                login: Some(("ada@contoso.example", "abcd efgh ijkl mnop")),
                attempt: LAST_LOGIN_ATTEMPT,
                client_ip: "192.0.2.61",
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(get(&headers, "auth-status"), Some(INVALID_STATUS));
        assert_eq!(get(&headers, "auth-error-code"), Some("535 5.7.8"));
        assert_eq!(get(&headers, "auth-wait"), None, "{}", database.name);
    }
    Ok(())
}

#[tokio::test]
async fn what_has_no_upstream_or_protocol_is_refused_without_a_check() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (_, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let app = router(state_with_upstreams(backend.clone()));
        let reads_before = backend.app_password_checker.candidate_reads();

        for (protocol, status) in [
            ("pop3", "No POP3 server is configured behind this proxy"),
            ("gopher", "Unknown mail protocol \"gopher\""),
            ("", "Unknown mail protocol \"\""),
        ] {
            let headers = ask(
                &app,
                Ask {
                    protocol,
                    login: Some(("ada@contoso.example", &created.password)),
                    ..Ask::default()
                },
            )
            .await?;
            assert_eq!(get(&headers, "auth-status"), Some(status), "{protocol}");
            // No Auth-Wait: nginx shows the status and closes the connection.
            assert_eq!(get(&headers, "auth-wait"), None, "{protocol}");
        }
        // No upstream configured at all: IMAP is refused too.
        let bare = router(support::state(backend.clone()));
        let headers = ask(
            &bare,
            Ask {
                login: Some(("ada@contoso.example", &created.password)),
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(
            get(&headers, "auth-status"),
            Some("No IMAP server is configured behind this proxy")
        );
        assert_eq!(
            backend.app_password_checker.candidate_reads(),
            reads_before,
            "{}: the check ran",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn failures_are_throttled_and_client_ip_counts_only_from_a_trusted_proxy() -> TestResult {
    use server::domain::throttle::FailureLimit;
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (_, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Mail").await?;
        let app = router(state_with_upstreams(backend.clone()));

        // One client behind nginx guessing many names is held back by its own address.
        for n in 0..FailureLimit::PER_CLIENT_IP.max_failures {
            let name = format!("user{n}@contoso.example");
            let headers = ask(
                &app,
                Ask {
                    login: Some((&name, "abcd efgh ijkl mnop")),
                    client_ip: "198.51.100.4",
                    ..Ask::default()
                },
            )
            .await?;
            assert_eq!(get(&headers, "auth-status"), Some(INVALID_STATUS));
        }
        let headers = ask(
            &app,
            Ask {
                login: Some(("someone@contoso.example", "abcd efgh ijkl mnop")),
                client_ip: "198.51.100.4",
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(
            get(&headers, "auth-status"),
            Some(THROTTLED_STATUS),
            "{}",
            database.name
        );
        let wait: u64 = get(&headers, "auth-wait")
            .and_then(|v| v.parse().ok())
            .ok_or("Auth-Wait")?;
        // Short: nginx holds the client in silence until then, and the throttle refuses anyway.
        assert!((1..=REFUSAL_WAIT_SECONDS).contains(&wait), "{wait}");
        // Another client behind the same nginx is not held back...
        let headers = ask(
            &app,
            Ask {
                login: Some(("someone@contoso.example", "abcd efgh ijkl mnop")),
                client_ip: "198.51.100.5",
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(get(&headers, "auth-status"), Some(INVALID_STATUS));
        // ...and the right app password still passes from the throttled address.
        let headers = ask(
            &app,
            Ask {
                login: Some(("ada@contoso.example", &created.password)),
                client_ip: "198.51.100.4",
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(get(&headers, "auth-status"), Some("OK"));

        // A Client-IP from a peer that is not a trusted proxy is the peer's word only: the
        // peer's address is what counts, and is recorded.
        let headers = ask(
            &app,
            Ask {
                login: Some(("ada@contoso.example", &created.password)),
                client_ip: "198.51.100.77",
                peer: "203.0.113.9",
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(get(&headers, "auth-status"), Some("OK"));
        let user = backend
            .store()
            .user_by_key("ada@contoso.example")
            .await?
            .ok_or("user")?;
        let new_ips: Vec<String> = backend
            .store()
            .audit_events_of(user.id)
            .await?
            .into_iter()
            .filter(|e| e.kind == "app_password.new_ip")
            .filter_map(|e| e.ip)
            .collect();
        assert!(
            new_ips.iter().any(|ip| ip == "203.0.113.9"),
            "{}: {new_ips:?}",
            database.name
        );
        assert!(
            !new_ips.iter().any(|ip| ip == "198.51.100.77"),
            "{new_ips:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_sending_only_app_password_is_refused_for_imap_through_nginx() -> TestResult {
    use app::model::{AppPasswordChoices, AppPasswordKind};
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ctx, _) = support::app_password_for(&backend, "ada@contoso.example", "Phone").await?;
        let printer = backend
            .create_app_password_with(
                &ctx,
                "Printer",
                "",
                "",
                &AppPasswordChoices {
                    kind: AppPasswordKind::SendingOnly,
                    ..AppPasswordChoices::default()
                },
            )
            .await?;
        let app = router(state_with_upstreams(backend.clone()));
        let login = Some(("ada@contoso.example", printer.password.as_str()));

        let smtp = ask(
            &app,
            Ask {
                protocol: "smtp",
                login,
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(get(&smtp, "auth-status"), Some("OK"), "{}", database.name);
        let imap = ask(
            &app,
            Ask {
                login,
                ..Ask::default()
            },
        )
        .await?;
        assert_eq!(
            get(&imap, "auth-status"),
            Some(INVALID_STATUS),
            "{}",
            database.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_unreachable_database_is_a_temporary_problem() -> TestResult {
    for database in TestDatabase::all().await {
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        let app = router(state_with_upstreams(backend.clone()));
        backend.store().connection().clone().close().await?;
        for (protocol, error_code) in [("imap", None), ("smtp", Some("451 4.3.0"))] {
            let headers = ask(
                &app,
                Ask {
                    protocol,
                    login: Some(("ada@contoso.example", "abcd efgh ijkl mnop")),
                    ..Ask::default()
                },
            )
            .await?;
            assert_eq!(
                get(&headers, "auth-status"),
                Some(TEMPORARY_STATUS),
                "{}",
                database.name
            );
            assert!(get(&headers, "auth-wait").is_some());
            assert_eq!(get(&headers, "auth-error-code"), error_code);
        }
    }
    Ok(())
}
