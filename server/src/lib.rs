//! The Latchkey server: configuration, domain rules, storage, the HTTP router, and start-up.
//! `main.rs` only parses the command line and reports errors; everything else is here so
//! integration tests can start the real thing.

#![recursion_limit = "256"]

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod secret_key;
pub mod telemetry;
pub mod use_cases;

use std::sync::Arc;

use chrono::Utc;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::db::Store;
use crate::domain::random::OsRandom;
use crate::http::{connections, delivery, readiness, site_files};
use crate::jobs::{housekeeping, mail_alerts};
use crate::secret_key::{SecretKey, SecretKeyError};
use crate::use_cases::ServerBackend;

/// Why the server could not start; each says what to do in one line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::ConnectError),
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
    #[error(transparent)]
    Mail(#[from] mail_alerts::MailSettingsError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error(
        "cannot listen on {addr}: {source} (is another program using that port? choose another with --addr or LATCHKEY_ADDR)"
    )]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the Leptos site configuration: {0}")]
    Leptos(String),
    #[error("the database is unreachable: {0}")]
    Store(#[from] db::StoreError),
    #[error(
        "the secret key file {path} is not the key of this database (key {given}, the database expects {expected}): put back the key file that belongs with it (a backup keeps it as FILE.key)"
    )]
    KeyMismatch {
        path: std::path::PathBuf,
        given: String,
        expected: String,
    },
}

/// Leptos' settings (site root, output name) with our listening address, and where the site's
/// files come from: `--site-dir`, or those built into a release binary.
fn leptos_options(config: &Config) -> Result<(LeptosOptions, site_files::SiteFiles), StartupError> {
    let mut options = leptos::config::get_configuration(None)
        .map_err(|e| StartupError::Leptos(e.to_string()))?
        .leptos_options;
    options.site_addr = config.addr;
    let site = match &config.site_dir {
        Some(dir) => {
            options.site_root = dir.display().to_string().into();
            site_files::SiteFiles::Directory(dir.clone())
        }
        None => site_files::SiteFiles::for_options(&options),
    };
    match site.asset_names(&options) {
        // A release binary names its hashed assets from the files built into it.
        Some(names) => {
            options.hash_files = true;
            app::app::set_asset_names(names);
        }
        // cargo-leptos writes the asset hashes next to the binary; use hashed names when it did.
        None => {
            options.hash_files =
                app::app::hash_file_path(&options).is_some_and(|file| file.exists());
        }
    }
    Ok((options, site))
}

/// Applies migrations and exits (`latchkey migrate`).
pub async fn migrate(config: &Config) -> Result<(), StartupError> {
    db::connect_and_migrate(&config.database_url)
        .await?
        .close()
        .await
        .map_err(db::StoreError::from)?;
    tracing::info!(database = %db::redact(&config.database_url), "migrations applied");
    Ok(())
}

/// Starts the web server and runs until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), StartupError> {
    let mailer = mail_alerts::Mailer::from_settings(
        config.smtp_url.as_deref(),
        config.mail_from.as_deref(),
        &config.public_url(),
    )?;
    let secret_key = SecretKey::load_or_create(&config.secret_key_file, &mut OsRandom)?;
    let connection = db::connect_and_migrate(&config.database_url).await?;
    tracing::info!(database = %db::redact(&config.database_url), "database ready");
    let store = Store::new(connection);
    // A database used with another key would refuse every app password and authenticator
    // app: say so now instead.
    let recorded = store.record_key_check(&secret_key.check_value()).await?;
    if recorded != secret_key.check_value() {
        return Err(StartupError::KeyMismatch {
            path: config.secret_key_file.clone(),
            given: secret_key.id(),
            expected: secret_key::short_key_id(&recorded),
        });
    }
    // Checks are answered from memory only while revocations made elsewhere reach us.
    tokio::spawn(store.watch_revocations());
    let backend = ServerBackend::new(store, secret_key, config.backend_settings());
    let public_url = config.public_url();
    // Not a refusal to start: the default public URL (http://127.0.0.1:3000) is an IP address,
    // which browsers refuse as a WebAuthn id; everything else works without passkeys.
    if let app::passkey_model::PasskeyAvailability::Unavailable { reason } =
        backend.passkey_availability()
    {
        tracing::warn!("{reason}");
    }

    if !backend.has_accounts().await? {
        let token = backend.setup_gate.issue(&mut OsRandom, Utc::now());
        tracing::warn!(
            setup_url = %format!("{public_url}/setup?token={token}"),
            "no accounts yet: open the setup link within one hour to create the organization and its first administrator"
        );
    }

    housekeeping::spawn(Arc::clone(&backend), config.audit_retention());
    let readiness = Arc::new(readiness::Readiness::default());
    let mail_alerts = mailer.is_some();
    if let Some(mailer) = mailer {
        readiness.watch_mail(mailer.clone());
        mail_alerts::spawn(
            backend.store().clone(),
            mailer.with_secret_key(backend.secret_key.clone()),
        );
    }
    // A listener of its own, so the metrics are never on the public site by accident.
    if let Some(addr) = config.metrics_addr {
        let figures: Arc<dyn crate::metrics::StateFigureSource> = backend.clone();
        let local = crate::metrics::listen(addr, figures, mail_alerts).await?;
        tracing::info!(url = %format!("http://{local}/metrics"), "serving metrics");
    }

    let delivery = delivery::DeliverySettings {
        hsts: public_url.starts_with("https://"),
    };
    let (leptos_options, site) = leptos_options(&config)?;
    let state = http::AppState {
        leptos_options,
        site,
        backend: Arc::clone(&backend),
        delivery,
        trusted_proxies: config.trusted_proxies.clone().into(),
        readiness,
        nginx_mail: http::nginx_mail::Upstreams {
            imap: config.nginx_mail_imap_upstream,
            pop3: config.nginx_mail_pop3_upstream,
            smtp: config.nginx_mail_smtp_upstream,
        },
    };
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
    tracing::info!(url = %public_url, "Latchkey is listening");
    notify_service_manager(sd_notify::NotifyState::Ready);
    connections::serve(
        listener,
        http::router(state),
        connections::ServeSettings::default(),
        shutdown_signal(),
    )
    .await;

    tracing::info!("shutting down: closing the database");
    backend
        .store()
        .connection()
        .clone()
        .close()
        .await
        .map_err(db::StoreError::from)?;
    Ok(())
}

/// Tells systemd (`Type=notify`, `$NOTIFY_SOCKET`) that Latchkey is ready or stopping; does
/// nothing when not started by a service manager.
fn notify_service_manager(state: sd_notify::NotifyState) {
    if let Err(error) = sd_notify::notify(&[state]) {
        tracing::warn!(%error, "cannot notify the service manager");
    }
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests can finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    notify_service_manager(sd_notify::NotifyState::Stopping);
    tracing::info!("shutdown requested; finishing in-flight requests");
}
