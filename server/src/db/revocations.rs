//! Revocation signals: how an instance learns, without a query per app-password check, that
//! something it may have cached as "accepted" could now be refused.
//!
//! Every instance keeps an epoch (a counter in memory). Whatever is cached under an older
//! epoch is stale. The epoch moves on
//! - at once, after this instance commits a revoking change (the `Store` methods that make
//!   one call [`Revocations::revoked`]);
//! - when the database says another instance (or the command line) made one: the triggers of
//!   migration 11 `NOTIFY` on PostgreSQL, read here by a `LISTEN`ing connection; on SQLite they
//!   count up `revocations.epoch`, read here every [`SQLITE_POLL`] on a connection of its own;
//! - whenever that watch is lost, and again once it is back: nothing missed meanwhile is trusted.
//!
//! Caching is allowed only while the watch runs ([`Revocations::watched`]): an instance without
//! it (the command line, a test that does not start it) reads the database on every check.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::sqlx::{self, Connection};
use sea_orm::{DatabaseBackend, DatabaseConnection};

use super::migrations::m20261201_000011_revocation_signals::CHANNEL;

/// How often an SQLite instance reads the revocation counter.
pub const SQLITE_POLL: Duration = Duration::from_millis(100);
/// How long to wait before opening a lost watch again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Revocations {
    epoch: AtomicU64,
    watched: AtomicBool,
}

impl Revocations {
    /// The current epoch: a cached answer taken before it moved on is stale.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Whether revocations made elsewhere reach this instance now (caching is safe).
    pub fn watched(&self) -> bool {
        self.watched.load(Ordering::Acquire)
    }

    /// Something may have been revoked: everything cached so far is stale.
    pub fn revoked(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn set_watched(&self, watched: bool) {
        // Stale either way: before, nothing was watched; after, something may have been missed.
        self.revoked();
        self.watched.store(watched, Ordering::Release);
        self.revoked();
    }
}

/// Watches the database for revocations until its pool is closed. Spawned once per instance.
pub async fn watch(db: DatabaseConnection, revocations: Arc<Revocations>) {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => watch_postgres(&db, &revocations).await,
        DatabaseBackend::Sqlite => watch_sqlite(&db, &revocations).await,
        _ => {}
    }
    revocations.set_watched(false);
}

async fn watch_postgres(db: &DatabaseConnection, revocations: &Revocations) {
    let pool = db.get_postgres_connection_pool();
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot watch for revocations; checks read the database meanwhile");
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "cannot watch for revocations; checks read the database meanwhile");
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        }
        revocations.set_watched(true);
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => revocations.revoked(),
                // The connection was lost: notifications may have been missed.
                Ok(None) => break,
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => {
                    tracing::warn!(%error, "the revocation watch failed; checks read the database until it is back");
                    break;
                }
            }
        }
        revocations.set_watched(false);
    }
}

async fn watch_sqlite(db: &DatabaseConnection, revocations: &Revocations) {
    let pool = db.get_sqlite_connection_pool();
    let mut seen: Option<i64> = None;
    let mut connection: Option<sqlx::SqliteConnection> = None;
    let mut ticks = tokio::time::interval(SQLITE_POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        ticks.tick().await;
        if connection.is_none() {
            // A connection of its own, out of the pool: the watch never waits for a page's
            // queries, and they never wait for it.
            connection = pool.acquire().await.ok().map(|c| c.detach());
        }
        let Some(open) = connection.as_mut() else {
            continue;
        };
        match sqlx::query_scalar::<_, i64>("SELECT epoch FROM revocations WHERE id = 1")
            .fetch_one(&mut *open)
            .await
        {
            Ok(epoch) => {
                if seen.is_some_and(|seen| seen != epoch) {
                    revocations.revoked();
                }
                if seen.is_none() {
                    revocations.set_watched(true);
                }
                seen = Some(epoch);
            }
            Err(error) => {
                tracing::warn!(%error, "the revocation watch failed; checks read the database until it is back");
                if let Some(lost) = connection.take() {
                    let _ = lost.close().await;
                }
                if seen.take().is_some() {
                    revocations.set_watched(false);
                }
            }
        }
    }
    if let Some(open) = connection {
        let _ = open.close().await;
    }
}
