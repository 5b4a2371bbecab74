//! Prometheus metrics, served at `/metrics` on a listener of their own (`--metrics-addr`, off
//! by default), never on the public site's port. Every metric's name, meaning and labels are
//! defined here; the rest of the server calls the small functions below. Labels take a few
//! fixed values each (never a name, an address or a path), so the number of series stays
//! bounded whatever clients send.
//!
//! Counters and histograms are recorded as things happen, through the `metrics` facade (a
//! no-op until [`listen`] installs the Prometheus recorder). Gauges of state kept elsewhere
//! (the hashing pool, the check's caches, the connection pool, sessions, the mail outbox) are
//! read when Prometheus scrapes. Sessions and mail are read from the database, so every
//! instance on one database reports the same figures: aggregate them with `max`, not `sum`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::mail_protocol::Protocol;
use crate::domain::password;

/// Requests answered, by route class and status class.
pub const HTTP_REQUESTS: &str = "latchkey_http_requests_total";
/// Time from a page request to the last byte of its rendered page (status 200 only).
pub const PAGE_RENDER_SECONDS: &str = "latchkey_page_render_seconds";
/// App-password checks (`/auth/basic`), by outcome and protocol.
pub const CHECKS: &str = "latchkey_app_password_checks_total";
/// How long an app-password check took, by outcome.
pub const CHECK_SECONDS: &str = "latchkey_app_password_check_seconds";
/// Lookups in the check's caches that found an answer, by cache.
pub const CHECK_CACHE_HITS: &str = "latchkey_app_password_check_cache_hits_total";
/// Lookups in the check's caches that found none, by cache.
pub const CHECK_CACHE_MISSES: &str = "latchkey_app_password_check_cache_misses_total";
/// Entries in the check's caches, by cache.
pub const CHECK_CACHE_ENTRIES: &str = "latchkey_app_password_check_cache_entries";
/// Password hashes waiting for a hashing thread.
pub const HASHING_WAITING: &str = "latchkey_password_hashing_waiting";
/// Password hashes being computed.
pub const HASHING_RUNNING: &str = "latchkey_password_hashing_running";
/// Hashing threads (one per core).
pub const HASHING_THREADS: &str = "latchkey_password_hashing_threads";
/// Places in the hashing queue; past them requests are answered 503.
pub const HASHING_QUEUE_CAPACITY: &str = "latchkey_password_hashing_queue_capacity";
/// Password hashes refused because every thread and queue place was taken (answered 503).
pub const HASHING_BUSY: &str = "latchkey_password_hashing_busy_total";
/// Failed web sign-in steps (wrong password, unknown name, wrong code), by step.
pub const SIGN_IN_FAILURES: &str = "latchkey_sign_in_failures_total";
/// Web sign-in attempts refused by throttling, by the limit that refused them.
pub const SIGN_INS_THROTTLED: &str = "latchkey_sign_ins_throttled_total";
/// Mail alerts this instance's changes put in the outbox (with mail off too: the outbox keeps
/// them a day).
pub const MAIL_QUEUED: &str = "latchkey_mail_alerts_queued_total";
/// Mail alerts this instance sent.
pub const MAIL_SENT: &str = "latchkey_mail_alerts_sent_total";
/// Attempts of this instance to send a mail alert that failed (each is tried again later).
pub const MAIL_FAILED: &str = "latchkey_mail_alerts_failed_total";
/// Mail alerts in the outbox that will still be sent (only while mail alerts are on).
pub const MAIL_WAITING: &str = "latchkey_mail_alerts_waiting";
/// Age of the oldest mail alert waiting in the outbox (0 when none waits).
pub const MAIL_OLDEST_WAITING_SECONDS: &str = "latchkey_mail_alerts_oldest_waiting_seconds";
/// Complete sessions neither idle nor older than their lifetime allows.
pub const SESSIONS_ACTIVE: &str = "latchkey_sessions_active";
/// Database connections of this instance's pool, by state (idle, in use).
pub const DB_POOL_CONNECTIONS: &str = "latchkey_db_pool_connections";
/// The most connections the pool opens.
pub const DB_POOL_MAX: &str = "latchkey_db_pool_max_connections";

/// Histogram buckets of the `_seconds` metrics: from a cached check (well under a
/// millisecond) to an argon2 run under load (seconds).
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Why metrics could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot start the metrics recorder: {0}")]
    Recorder(String),
    #[error(
        "cannot listen for metrics on {addr}: {source} (choose another with --metrics-addr or LATCHKEY_METRICS_ADDR)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What a request was for: a few classes, whatever the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Pages (and the 404 page, redirects, the CSV export).
    Page,
    /// `/api/...`: the app's server functions.
    ServerFunction,
    /// `/auth/basic` and `/auth/nginx-mail`: the app-password checks.
    AuthCheck,
    /// `/pkg/...` and the top-level files (favicon, ...).
    Static,
    /// `/healthz`, `/readyz`.
    Health,
}

impl RouteClass {
    pub fn of(path: &str) -> Self {
        match path {
            "/healthz" | "/readyz" => Self::Health,
            app::routes::AUTH_BASIC | app::routes::AUTH_NGINX_MAIL => Self::AuthCheck,
            _ if path.starts_with("/api/") => Self::ServerFunction,
            _ if path.starts_with("/pkg/") => Self::Static,
            // A file at the top: `/favicon.svg`, not `/admin/audit.csv`.
            _ if path.rfind('/') == Some(0) && path.contains('.') => Self::Static,
            _ => Self::Page,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::ServerFunction => "server_function",
            Self::AuthCheck => "auth_check",
            Self::Static => "static",
            Self::Health => "health",
        }
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// How an app-password check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckResult {
    Accepted,
    Refused,
    Throttled,
    /// Every hashing slot was taken (503).
    Busy,
    /// The database could not be read (503).
    Unavailable,
}

impl CheckResult {
    fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Throttled => "throttled",
            Self::Busy => "busy",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The protocol label of a check's client: the protocol a proxy or mail server named
/// (`X-Latchkey-Protocol`; `latchkey checkpassword` passes Dovecot's `SERVICE` on) or the
/// client's name when it is one, else `checkpassword` for `latchkey checkpassword` without one, `http` for any other client (a
/// proxy's `auth_request` passes on the app's User-Agent), `none` without a User-Agent.
pub fn protocol(named: Option<Protocol>, client: Option<&str>) -> &'static str {
    // A client named for its protocol (a proxy's own name for it) counts as that protocol.
    if let Some(protocol) = named.or_else(|| client.and_then(Protocol::parse)) {
        return protocol.header_value();
    }
    match client.map(str::trim).filter(|c| !c.is_empty()) {
        None => "none",
        Some(client) if client.eq_ignore_ascii_case("checkpassword") => "checkpassword",
        Some(_) => "http",
    }
}

/// The check's two caches (see `app_password_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckCache {
    /// Accepted checks, answered without the database.
    Accepted,
    /// Verified credentials, answered without argon2.
    Verified,
}

impl CheckCache {
    fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Verified => "verified",
        }
    }
}

/// A step of web sign-in (and of "confirm it's you").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedStep {
    Password,
    Code,
}

impl FailedStep {
    fn label(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Code => "code",
        }
    }
}

/// The limit that refused a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInLimit {
    /// Attempts per client address per minute.
    Address,
    /// Password attempts per name and address, or per name.
    Password,
    /// Authenticator-code attempts per person.
    Code,
}

impl SignInLimit {
    fn label(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Password => "password",
            Self::Code => "code",
        }
    }
}

/// An app-password check ended with `result` after `took`.
pub fn check_answered(
    result: CheckResult,
    named: Option<Protocol>,
    client: Option<&str>,
    took: Duration,
) {
    counter!(CHECKS, "outcome" => result.label(), "protocol" => protocol(named, client))
        .increment(1);
    histogram!(CHECK_SECONDS, "outcome" => result.label()).record(took);
}

/// A lookup in one of the check's caches.
pub fn check_cache_lookup(cache: CheckCache, hit: bool) {
    let name = if hit {
        CHECK_CACHE_HITS
    } else {
        CHECK_CACHE_MISSES
    };
    counter!(name, "cache" => cache.label()).increment(1);
}

/// A web sign-in step failed (wrong password or code, or a name that does not exist).
pub fn sign_in_failed(step: FailedStep) {
    counter!(SIGN_IN_FAILURES, "step" => step.label()).increment(1);
}

/// A web sign-in attempt was refused by `limit` before anything was checked.
pub fn sign_in_throttled(limit: SignInLimit) {
    counter!(SIGN_INS_THROTTLED, "limit" => limit.label()).increment(1);
}

/// A change queued a mail alert (in its transaction; counted even if that then fails).
pub fn mail_queued() {
    counter!(MAIL_QUEUED).increment(1);
}

/// One round of sending mail alerts: how many were sent and how many attempts failed.
pub fn mail_round(sent: usize, failed: usize) {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    counter!(MAIL_SENT).increment(count(sent));
    counter!(MAIL_FAILED).increment(count(failed));
}

/// The recorder, once installed (one per process: the `metrics` facade is global).
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// Held while installing, so two callers cannot both try.
static INSTALLING: Mutex<()> = Mutex::new(());

/// Installs the Prometheus recorder, once per process; later calls return the same handle.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let _installing = INSTALLING
        .lock()
        .map_err(|_| MetricsError::Recorder("a thread panicked while installing it".into()))?;
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|error| MetricsError::Recorder(error.to_string()))?;
    describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The `# HELP` lines.
fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by route class and status class."
    );
    describe_histogram!(
        PAGE_RENDER_SECONDS,
        Unit::Seconds,
        "Time from a page request to the last byte of its rendered page (status 200)."
    );
    describe_counter!(
        CHECKS,
        "App-password checks (/auth/basic), by outcome and protocol."
    );
    describe_histogram!(
        CHECK_SECONDS,
        Unit::Seconds,
        "How long an app-password check took, by outcome."
    );
    describe_counter!(
        CHECK_CACHE_HITS,
        "Lookups in the app-password check's caches that found an answer."
    );
    describe_counter!(
        CHECK_CACHE_MISSES,
        "Lookups in the app-password check's caches that found none."
    );
    describe_gauge!(
        CHECK_CACHE_ENTRIES,
        "Entries in the app-password check's caches."
    );
    describe_gauge!(
        HASHING_WAITING,
        "Password hashes waiting for a hashing thread."
    );
    describe_gauge!(HASHING_RUNNING, "Password hashes being computed.");
    describe_gauge!(HASHING_THREADS, "Password-hashing threads (one per core).");
    describe_gauge!(
        HASHING_QUEUE_CAPACITY,
        "Places in the password-hashing queue; past them requests are answered 503."
    );
    describe_counter!(
        HASHING_BUSY,
        "Password hashes refused because every thread and queue place was taken (503)."
    );
    describe_counter!(
        SIGN_IN_FAILURES,
        "Failed web sign-in steps (wrong password, unknown name, wrong code), by step."
    );
    describe_counter!(
        SIGN_INS_THROTTLED,
        "Web sign-in attempts refused by throttling, by limit."
    );
    describe_counter!(MAIL_QUEUED, "Mail alerts this instance's changes queued.");
    describe_counter!(MAIL_SENT, "Mail alerts this instance sent.");
    describe_counter!(
        MAIL_FAILED,
        "Failed attempts of this instance to send a mail alert (tried again later)."
    );
    describe_gauge!(
        MAIL_WAITING,
        "Mail alerts in the outbox that will still be sent (the whole database's)."
    );
    describe_gauge!(
        MAIL_OLDEST_WAITING_SECONDS,
        Unit::Seconds,
        "Age of the oldest mail alert waiting in the outbox (0 when none waits)."
    );
    describe_gauge!(
        SESSIONS_ACTIVE,
        "Complete, unexpired sessions (the whole database's)."
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Database connections of this instance's pool, by state."
    );
    describe_gauge!(DB_POOL_MAX, "The most connections the pool opens.");
}

/// Counts every request by route class and status class, and times page renders to their
/// last byte (the body is streamed: the answer's headers leave long before). Outermost
/// middleware, so refusals by the other layers count too. Does nothing while metrics are off.
pub async fn record_request(request: Request, next: Next) -> Response {
    if HANDLE.get().is_none() {
        return next.run(request).await;
    }
    let class = RouteClass::of(request.uri().path());
    let render = class == RouteClass::Page && request.method() == Method::GET;
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    counter!(HTTP_REQUESTS, "route" => class.label(), "status" => status_class(status))
        .increment(1);
    if !(render && status == StatusCode::OK) {
        return response;
    }
    let timer = PageRender(started);
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            timer.keep();
            frame
        }))
    })
}

/// Records the time since its start when dropped: with the response body, once the last of
/// it was sent (or the client went away).
struct PageRender(Instant);

impl PageRender {
    /// Held by the body until the body goes.
    fn keep(&self) {}
}

impl Drop for PageRender {
    fn drop(&mut self) {
        histogram!(PAGE_RENDER_SECONDS).record(self.0.elapsed());
    }
}

/// What the metrics listener serves.
#[derive(Clone)]
struct Exporter {
    handle: PrometheusHandle,
    source: Arc<dyn StateFigureSource>,
    mail_alerts: bool,
}

/// Installs the recorder and serves `/metrics` on `addr` (in a task of its own); returns the
/// address it listens on. The outbox gauges are served only with `mail_alerts` on: with mail
/// off, alerts wait in the outbox unsent by design.
pub async fn listen(
    addr: SocketAddr,
    source: Arc<dyn StateFigureSource>,
    mail_alerts: bool,
) -> Result<SocketAddr, MetricsError> {
    let handle = install()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            ticks.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Exporter {
            handle,
            source,
            mail_alerts,
        });
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(local)
}

/// `GET /metrics`: the gauges read now, then everything in Prometheus' text format.
async fn scrape(State(exporter): State<Exporter>) -> Response {
    read_gauges(exporter.source.as_ref(), exporter.mail_alerts).await;
    exporter.handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.handle.render(),
    )
        .into_response()
}

/// Figures of state kept elsewhere (the check's caches, the database), read when Prometheus
/// scrapes. A figure that could not be read in time is `None`: its gauge keeps its last value
/// and the scrape still answers.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct StateFigures {
    pub check_cache_accepted: u64,
    pub check_cache_verified: u64,
    pub pool: Option<PoolFigures>,
    pub sessions_active: Option<u64>,
    /// Mail alerts waiting in the outbox, and how long the oldest has waited; `None` with
    /// mail alerts off (they wait unsent by design) or when the database did not answer.
    pub mail_waiting: Option<(u64, f64)>,
}

/// The database connection pool: connections idle, lent out, and the most it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFigures {
    pub idle: u32,
    pub in_use: u32,
    pub max: u32,
}

/// Where the scrape reads [`StateFigures`] from (the use cases' backend), so this module
/// knows no storage.
#[async_trait::async_trait]
pub trait StateFigureSource: Send + Sync {
    async fn state_figures(&self, mail_alerts: bool) -> StateFigures;
}

/// Sets the gauges of the hashing pool (read here) and of state kept elsewhere.
async fn read_gauges(source: &dyn StateFigureSource, mail_alerts: bool) {
    let load = password::hashing_load();
    gauge!(HASHING_WAITING).set(load.waiting as f64);
    gauge!(HASHING_RUNNING).set(load.running as f64);
    gauge!(HASHING_THREADS).set(load.threads as f64);
    gauge!(HASHING_QUEUE_CAPACITY).set(load.queue_capacity as f64);
    counter!(HASHING_BUSY).absolute(load.refused);

    let figures = source.state_figures(mail_alerts).await;
    gauge!(CHECK_CACHE_ENTRIES, "cache" => CheckCache::Accepted.label())
        .set(figures.check_cache_accepted as f64);
    gauge!(CHECK_CACHE_ENTRIES, "cache" => CheckCache::Verified.label())
        .set(figures.check_cache_verified as f64);
    if let Some(pool) = figures.pool {
        gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(pool.idle));
        gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(f64::from(pool.in_use));
        gauge!(DB_POOL_MAX).set(f64::from(pool.max));
    }
    if let Some(sessions) = figures.sessions_active {
        gauge!(SESSIONS_ACTIVE).set(sessions as f64);
    }
    if let Some((count, oldest_seconds)) = figures.mail_waiting {
        gauge!(MAIL_WAITING).set(count as f64);
        gauge!(MAIL_OLDEST_WAITING_SECONDS).set(oldest_seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_classes_are_few_whatever_the_path() {
        assert_eq!(RouteClass::of("/healthz"), RouteClass::Health);
        assert_eq!(RouteClass::of("/readyz"), RouteClass::Health);
        assert_eq!(RouteClass::of("/auth/basic"), RouteClass::AuthCheck);
        assert_eq!(RouteClass::of("/auth/nginx-mail"), RouteClass::AuthCheck);
        assert_eq!(RouteClass::of("/api/sign_in"), RouteClass::ServerFunction);
        assert_eq!(RouteClass::of("/pkg/latchkey.abc.wasm"), RouteClass::Static);
        assert_eq!(RouteClass::of("/favicon.svg"), RouteClass::Static);
        assert_eq!(RouteClass::of("/admin/audit.csv"), RouteClass::Page);
        assert_eq!(RouteClass::of("/security-info"), RouteClass::Page);
        assert_eq!(RouteClass::of("/no/such/page"), RouteClass::Page);
        assert_eq!(RouteClass::of("/"), RouteClass::Page);
    }

    #[test]
    fn protocols_are_a_fixed_set() {
        assert_eq!(protocol(Some(Protocol::Imap), Some("IMAP")), "imap");
        // Dovecot's `submission` is sending mail, as nginx's `smtp`.
        assert_eq!(
            protocol(Protocol::parse("submission"), Some("SMTP")),
            "smtp"
        );
        assert_eq!(protocol(Protocol::parse("sieve"), None), "sieve");
        assert_eq!(protocol(Some(Protocol::CalDav), Some("DAVx5")), "caldav");
        assert_eq!(protocol(None, Some("IMAP")), "imap");
        assert_eq!(protocol(None, Some("checkpassword")), "checkpassword");
        assert_eq!(
            protocol(None, Some("Mozilla/5.0 (X11; Linux x86_64)")),
            "http"
        );
        assert_eq!(protocol(None, Some("ada@example.org")), "http");
        assert_eq!(protocol(None, Some("  ")), "none");
        assert_eq!(protocol(None, None), "none");
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(StatusCode::NO_CONTENT), "2xx");
        assert_eq!(status_class(StatusCode::SEE_OTHER), "3xx");
        assert_eq!(status_class(StatusCode::TOO_MANY_REQUESTS), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
    }
}
