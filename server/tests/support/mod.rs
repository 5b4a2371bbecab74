//! Test helpers shared by the integration tests: a throw-away database on each backend
//! (a temporary SQLite file; a uniquely named PostgreSQL database, dropped afterwards) and
//! a ready router over it.
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(
    clippy::expect_used,
    reason = "a fixture that cannot be built should stop the test"
)]

pub mod mail_sink;

use std::sync::Arc;

use sea_orm::{ConnectionTrait, Database};
use server::db::{self, Store};
use server::domain::random::OsRandom;
use server::http::AppState;
use server::secret_key::SecretKey;
use server::use_cases::ServerBackend;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The PostgreSQL server the tests use (trust auth on this machine and in CI).
fn postgres_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDatabase {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
        Self {
            name: "sqlite",
            url,
            _dir: Some(dir),
            postgres_name: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a note) when the server is unreachable
    /// outside CI. In CI a missing PostgreSQL fails the test.
    pub async fn postgres() -> Option<Self> {
        let admin_url = postgres_admin_url();
        let admin = match Database::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(e) if !in_ci() => {
                eprintln!(
                    "note: skipping PostgreSQL ({admin_url} unreachable: {e}); CI=true makes this a failure"
                );
                return None;
            }
            Err(e) => panic!("PostgreSQL at {admin_url} is required in CI: {e}"),
        };
        let mut suffix = [0u8; 8];
        server::domain::random::RandomSource::fill(&mut OsRandom, &mut suffix);
        let name = format!("latchkey_test_{}", hex::encode(suffix));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Some(Self {
            name: "postgres",
            url: format!("{base}/{name}"),
            _dir: None,
            postgres_name: Some(name),
        })
    }

    /// SQLite always; PostgreSQL when reachable (always in CI).
    pub async fn all() -> Vec<Self> {
        let mut all = vec![Self::sqlite().await];
        all.extend(Self::postgres().await);
        all
    }

    pub async fn store(&self) -> Store {
        Store::new(
            db::connect_and_migrate(&self.url)
                .await
                .expect("connect and migrate"),
        )
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs outside any async context we can rely on: use a small runtime of its own.
        let admin_url = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url)
                    .await
                    .map_err(std::io::Error::other)?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(std::io::Error::other)?;
                admin.close().await.map_err(std::io::Error::other)
            })
        })
        .join();
    }
}

/// A backend over the database with a fresh secret key.
pub async fn backend(db: &TestDatabase) -> Arc<ServerBackend> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = SecretKey::load_or_create(&dir.path().join("secret.key"), &mut OsRandom)
        .expect("secret key");
    ServerBackend::new(
        watched_store(db).await,
        key,
        server::use_cases::BackendSettings::default(),
    )
}

/// A store whose revocation watch runs, as `serve` starts it (so checks are answered from
/// memory), once the watch has begun.
pub async fn watched_store(db: &TestDatabase) -> Store {
    let store = db.store().await;
    tokio::spawn(store.watch_revocations());
    let started = std::time::Instant::now();
    while !store.revocations().watched() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the revocation watch did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    store
}

/// Router state as `serve` builds it, with Leptos options that need no build output.
pub fn state(backend: Arc<ServerBackend>) -> AppState {
    let leptos_options = leptos::prelude::LeptosOptions::builder()
        .output_name("latchkey")
        .site_root("target/site")
        .build();
    AppState {
        site: server::http::site_files::SiteFiles::Directory(
            leptos_options.site_root.to_string().into(),
        ),
        leptos_options,
        backend,
        delivery: server::http::delivery::DeliverySettings::default(),
        trusted_proxies: vec![
            "127.0.0.1".parse().expect("address"),
            "::1".parse().expect("address"),
        ]
        .into(),
        readiness: Default::default(),
        nginx_mail: Default::default(),
    }
}

/// The password every test user gets.
pub const PASSWORD: &str = "plum tractor sideways";

/// Adds a user with [`PASSWORD`].
pub async fn add_user(
    backend: &ServerBackend,
    username: &str,
) -> server::db::entities::user::Model {
    let hash = server::domain::password::hash_password(PASSWORD, &mut OsRandom).expect("hash");
    backend
        .store()
        .add_user(
            server::db::NewUser {
                username: username.to_owned(),
                username_key: username.to_lowercase(),
                display_name: "Test User".to_owned(),
                password_hash: hash,
                is_admin: false,
            },
            &server::db::Actor::default(),
            chrono::Utc::now(),
        )
        .await
        .expect("add user")
}

/// Completes setup so users can be added.
pub async fn set_up_organization(backend: &ServerBackend) {
    let hash = server::domain::password::hash_password(PASSWORD, &mut OsRandom).expect("hash");
    backend
        .store()
        .complete_setup(
            server::db::NewOrganization {
                name: "Contoso".to_owned(),
                allow_app_passwords: true,
            },
            server::db::NewAdmin {
                username: "admin@contoso.example".to_owned(),
                username_key: "admin@contoso.example".to_owned(),
                display_name: "Admin".to_owned(),
                password_hash: hash,
            },
            server::db::Actor::default(),
            chrono::Utc::now(),
        )
        .await
        .expect("setup");
}

/// Turns one of the organization's settings on or off, as an administrator would.
pub async fn set_policy(
    backend: &ServerBackend,
    setting: server::domain::policy::Setting,
    on: bool,
) -> Result<(), server::db::StoreError> {
    backend
        .store()
        .set_policy(
            setting,
            on,
            &server::db::Actor::default(),
            chrono::Utc::now(),
        )
        .await
        .map(|_| ())
}

/// A request context from `ip` carrying `cookie` (a `Set-Cookie` value or a bare token).
pub fn context(ip: &str, cookie: Option<&str>) -> app::backend::RequestContext {
    let session_token = cookie.map(|c| {
        let first = c.split(';').next().unwrap_or_default();
        first.split_once('=').map_or(first, |(_, v)| v).to_owned()
    });
    app::backend::RequestContext {
        ip: Some(ip.to_owned()),
        user_agent: Some("test".to_owned()),
        session_token,
        known_device: None,
        memo: app::backend::RequestMemo::off(),
    }
}

/// The code an authenticator app shows at `at` for the secret displayed as `display` (base32 in groups).
pub fn code_for(
    display: &str,
    at: u64,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let base32: String = display.split_whitespace().collect();
    let secret = totp_rs::Secret::Encoded(base32)
        .to_bytes()
        .map_err(|e| format!("{e:?}"))?;
    Ok(totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        "t".to_owned(),
    )?
    .generate(at))
}

pub fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// A second server instance on the same database, sharing `first`'s secret key (as several
/// app servers behind a load balancer share one key file).
pub async fn backend_with_key_of(db: &TestDatabase, first: &ServerBackend) -> Arc<ServerBackend> {
    ServerBackend::new(
        watched_store(db).await,
        first.secret_key.clone(),
        server::use_cases::BackendSettings::default(),
    )
}

/// Signs `username` in with an authenticator app and creates one app password named `name`.
pub async fn app_password_for(
    backend: &ServerBackend,
    username: &str,
    name: &str,
) -> Result<
    (app::backend::RequestContext, app::model::CreatedAppPassword),
    Box<dyn std::error::Error + Send + Sync>,
> {
    use app::backend::prelude::*;
    let (ctx, _) = signed_in_with_authenticator(backend, username, "192.0.2.1").await?;
    let created = backend.create_app_password(&ctx, name, "", "").await?;
    Ok((ctx, created))
}

/// Signs `username` in from `ip` and adds an authenticator app; returns the session's request
/// context and the authenticator secret (as displayed).
pub async fn signed_in_with_authenticator(
    backend: &ServerBackend,
    username: &str,
    ip: &str,
) -> Result<(app::backend::RequestContext, String), Box<dyn std::error::Error + Send + Sync>> {
    use app::backend::prelude::*;
    let (_, cookie) = backend
        .sign_in(&context(ip, None), username, PASSWORD)
        .await?;
    let ctx = context(ip, Some(&cookie));
    let enrollment = backend
        .begin_authenticator(&ctx, &Default::default())
        .await?;
    backend
        .confirm_authenticator(&ctx, &code_for(&enrollment.secret, now_unix())?, "")
        .await?;
    Ok((ctx, enrollment.secret))
}

/// The id of the first authenticator app of the person signed in on `ctx`.
pub async fn first_authenticator_id(
    backend: &ServerBackend,
    ctx: &app::backend::RequestContext,
) -> Result<i32, Box<dyn std::error::Error + Send + Sync>> {
    use app::backend::prelude::*;
    let info = backend.security_info(ctx).await?;
    Ok(info
        .authenticators
        .first()
        .ok_or("no authenticator app")?
        .id)
}

/// Runs `command` with `input` on its standard input and collects what it prints.
pub fn run_with_input(
    command: &mut std::process::Command,
    input: &[u8],
) -> std::io::Result<std::process::Output> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or(std::io::ErrorKind::BrokenPipe)?
        .write_all(input)?;
    child.wait_with_output()
}

/// How long it takes until `condition` holds, polled every 2 ms; `None` if it still does not
/// after `limit`. For what another instance or process learns from the database moments later
/// (a revocation reaching a cached check).
pub async fn time_until<E>(
    limit: std::time::Duration,
    mut condition: impl AsyncFnMut() -> Result<bool, E>,
) -> Result<Option<std::time::Duration>, E> {
    let started = std::time::Instant::now();
    loop {
        if condition().await? {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() >= limit {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// What the router answers to `request`: status, `Location` and body.
pub async fn answer(
    app: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> Result<
    (axum::http::StatusCode, Option<String>, String),
    Box<dyn std::error::Error + Send + Sync>,
> {
    use tower::ServiceExt;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let location = response
        .headers()
        .get(axum::http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), 1 << 22).await?;
    Ok((status, location, String::from_utf8(body.to_vec())?))
}
