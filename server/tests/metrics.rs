//! Prometheus metrics end to end, on SQLite and PostgreSQL: the listener `--metrics-addr`
//! starts, app-password checks and sign-ins go through the real router and use cases, and the
//! exposition it serves (parsed as Prometheus would) counts them; the gauges read the hashing
//! pool, the caches, the connection pool, sessions and the outbox. The metrics are never on the
//! site's own router.
//!
//! One test function: the recorder is global to the process, so counters are compared before
//! and after each step, one database after the other.

mod support;

use app::backend::prelude::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use prometheus_parse::{Scrape, Value};
use server::http::router;
use support::{TestDatabase, TestResult, context};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// `GET /metrics` on the metrics listener, parsed; and its `Content-Type`.
async fn scrape(addr: std::net::SocketAddr) -> Result<(Scrape, String), Error> {
    let url = format!("http://{addr}/metrics");
    let (content_type, text) = tokio::task::spawn_blocking(move || {
        let mut response = ureq::get(&url).call()?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.body_mut().read_to_string()?;
        Ok::<_, ureq::Error>((content_type, text))
    })
    .await??;
    let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned())))?;
    Ok((scrape, content_type))
}

/// The sum of the samples named `name` whose labels include `labels` (0 when none).
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .filter(|sample| {
            labels
                .iter()
                .all(|(key, value)| sample.labels.get(key) == Some(*value))
        })
        .map(|sample| match &sample.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(_) | Value::Summary(_) => 0.0,
        })
        .sum()
}

fn has(scrape: &Scrape, name: &str) -> bool {
    scrape.samples.iter().any(|sample| sample.metric == name)
}

/// A Basic check through the router, from a client that calls itself `client`.
async fn check(
    app: &axum::Router,
    user: &str,
    password: &str,
    client: &str,
) -> Result<StatusCode, Error> {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let request = Request::get("/auth/basic")
        .header(header::AUTHORIZATION, format!("Basic {credentials}"))
        .header(header::USER_AGENT, client)
        .body(Body::empty())?;
    Ok(app.clone().oneshot(request).await?.status())
}

/// A GET through the router, its body read to the end (as a client would).
async fn get(app: &axum::Router, uri: &str) -> Result<StatusCode, Error> {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty())?)
        .await?;
    let status = response.status();
    axum::body::to_bytes(response.into_body(), 1 << 22).await?;
    Ok(status)
}

#[tokio::test]
async fn the_metrics_listener_counts_checks_sign_ins_and_requests() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = support::backend(&database).await;
        support::set_up_organization(&backend).await;
        support::add_user(&backend, "ada@contoso.example").await;
        let (ada, created) =
            support::app_password_for(&backend, "ada@contoso.example", "Thunderbird").await?;
        let app = router(support::state(backend.clone()));
        let mail_alerts = true;
        let addr =
            server::metrics::listen("127.0.0.1:0".parse()?, backend.clone(), mail_alerts).await?;

        // The revocation watch hears of the changes above (the authenticator app) within
        // 100 ms and moves the epoch on, which would empty the accepted-check cache between
        // the two checks below: let it first.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (before, content_type) = scrape(addr).await?;
        assert!(content_type.starts_with("text/plain"), "{content_type}");

        // Two accepted checks from IMAP (the second from memory), one refused from a web app.
        let user = "ada@contoso.example";
        assert_eq!(
            check(&app, user, &created.password, "IMAP").await?,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            check(&app, user, &created.password, "IMAP").await?,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            check(&app, user, "abcd efgh ijkl mnop", "Mozilla/5.0 (X11)").await?,
            StatusCode::UNAUTHORIZED
        );
        // A wrong password and a name nobody has, at web sign-in.
        let from = context("198.51.100.7", None);
        assert!(
            backend
                .sign_in(&from, user, "not the password")
                .await
                .is_err()
        );
        assert!(
            backend
                .sign_in(&from, "nobody@contoso.example", "not the password")
                .await
                .is_err()
        );
        // A change that warrants a mail alert (queued with it, waiting: nothing sends here).
        backend.create_app_password(&ada, "Phone", "", "").await?;
        // A page, a health check.
        assert_eq!(get(&app, "/signin").await?, StatusCode::OK);
        assert_eq!(get(&app, "/healthz").await?, StatusCode::OK);
        // Not on the site's own port.
        assert_eq!(get(&app, "/metrics").await?, StatusCode::NOT_FOUND);

        let (after, _) = scrape(addr).await?;
        let delta = |metric: &str, labels: &[(&str, &str)]| {
            value(&after, metric, labels) - value(&before, metric, labels)
        };
        use server::metrics::{
            CHECK_CACHE_ENTRIES, CHECK_CACHE_HITS, CHECK_CACHE_MISSES, CHECK_SECONDS, CHECKS,
            DB_POOL_CONNECTIONS, DB_POOL_MAX, HASHING_BUSY, HASHING_QUEUE_CAPACITY,
            HASHING_THREADS, HASHING_WAITING, HTTP_REQUESTS, MAIL_OLDEST_WAITING_SECONDS,
            MAIL_QUEUED, MAIL_WAITING, PAGE_RENDER_SECONDS, SESSIONS_ACTIVE, SIGN_IN_FAILURES,
        };
        let accepted = [("outcome", "accepted"), ("protocol", "imap")];
        assert_eq!(delta(CHECKS, &accepted), 2.0, "{name}");
        let refused = [("outcome", "refused"), ("protocol", "http")];
        assert_eq!(delta(CHECKS, &refused), 1.0, "{name}");
        assert_eq!(delta(CHECKS, &[]), 3.0, "{name}: no other check");
        let check_count = format!("{CHECK_SECONDS}_count");
        assert_eq!(
            delta(&check_count, &[("outcome", "accepted")]),
            2.0,
            "{name}"
        );
        assert_eq!(
            delta(CHECK_CACHE_HITS, &[("cache", "accepted")]),
            1.0,
            "{name}: the second check came from memory"
        );
        assert_eq!(
            delta(CHECK_CACHE_MISSES, &[("cache", "accepted")]),
            2.0,
            "{name}: the first check and the wrong password"
        );
        assert!(value(&after, CHECK_CACHE_ENTRIES, &[("cache", "accepted")]) >= 1.0);

        let auth_check = |status| [("route", "auth_check"), ("status", status)];
        assert_eq!(delta(HTTP_REQUESTS, &auth_check("2xx")), 2.0, "{name}");
        assert_eq!(delta(HTTP_REQUESTS, &auth_check("4xx")), 1.0, "{name}");
        let health = [("route", "health"), ("status", "2xx")];
        assert_eq!(delta(HTTP_REQUESTS, &health), 1.0, "{name}");
        // `/signin`, and the 404 page of `/metrics`.
        assert_eq!(delta(HTTP_REQUESTS, &[("route", "page")]), 2.0, "{name}");
        let render_count = format!("{PAGE_RENDER_SECONDS}_count");
        assert_eq!(
            delta(&render_count, &[]),
            1.0,
            "{name}: the one page answered 200"
        );

        assert_eq!(
            delta(SIGN_IN_FAILURES, &[("step", "password")]),
            2.0,
            "{name}"
        );

        // Gauges read at the scrape.
        assert!(value(&after, SESSIONS_ACTIVE, &[]) >= 1.0, "{name}");
        assert_eq!(delta(MAIL_QUEUED, &[]), 1.0, "{name}");
        assert_eq!(delta(MAIL_WAITING, &[]), 1.0, "{name}");
        assert!(
            value(&after, MAIL_OLDEST_WAITING_SECONDS, &[]) > 0.0,
            "{name}: the first alerts (the authenticator app, Thunderbird) still wait"
        );
        assert!(value(&after, HASHING_THREADS, &[]) >= 1.0);
        assert!(value(&after, HASHING_QUEUE_CAPACITY, &[]) >= 16.0);
        assert!(has(&after, HASHING_WAITING) && has(&after, HASHING_BUSY));
        assert!(value(&after, DB_POOL_MAX, &[]) >= 1.0, "{name}");
        assert!(
            has(&after, DB_POOL_CONNECTIONS),
            "{name}: the pool's connections"
        );
        assert!(after.docs.contains_key(CHECKS), "HELP lines are served");

        // Every label value is one of a few: no name, address or path ever becomes one.
        for sample in &after.samples {
            for (label, value) in sample.labels.iter() {
                assert!(
                    !value.contains('@') && !value.contains('/') && !value.contains('.'),
                    "{} {label}={value}",
                    sample.metric
                );
            }
        }
    }
    Ok(())
}
