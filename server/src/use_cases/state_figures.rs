//! The figures of this instance's state that the metrics scrape reads
//! ([`crate::metrics::StateFigures`]): the check's caches, the connection pool, active sessions
//! and the mail outbox. Sessions and mail come from the database, so every instance on one
//! database reports the same figures.

use std::time::Duration;

use super::ServerBackend;
use crate::metrics::{PoolFigures, StateFigureSource, StateFigures};

/// Longest a scrape waits for the database's figures; past it they keep their last values.
const DATABASE_FIGURES_TIMEOUT: Duration = Duration::from_secs(2);

#[async_trait::async_trait]
impl StateFigureSource for ServerBackend {
    async fn state_figures(&self, mail_alerts: bool) -> StateFigures {
        let entries = self.app_password_checker.cache_entries().await;
        let mut figures = StateFigures {
            check_cache_accepted: entries.accepted,
            check_cache_verified: entries.verified,
            pool: self.store.pool_use().map(|pool| PoolFigures {
                idle: pool.idle,
                in_use: pool.open.saturating_sub(pool.idle),
                max: pool.max,
            }),
            ..StateFigures::default()
        };
        let now = chrono::Utc::now();
        let policy = self.settings.session_policy;
        let database = async {
            let sessions = self
                .store
                .active_sessions(now, policy.idle, policy.absolute)
                .await?;
            let mail = if mail_alerts {
                Some(self.store.mail_waiting(now).await?)
            } else {
                None
            };
            Ok::<_, crate::db::StoreError>((sessions, mail))
        };
        match tokio::time::timeout(DATABASE_FIGURES_TIMEOUT, database).await {
            Ok(Ok((sessions, mail))) => {
                figures.sessions_active = Some(sessions);
                figures.mail_waiting = mail.map(|mail| {
                    let oldest = mail.oldest.map_or(0.0, |at| {
                        (now - at).num_milliseconds().max(0) as f64 / 1000.0
                    });
                    (mail.count, oldest)
                });
            }
            Ok(Err(error)) => tracing::warn!(%error, "metrics: cannot read sessions and mail"),
            Err(_) => tracing::warn!("metrics: the database did not answer in time"),
        }
        figures
    }
}
