//! Deleting what has ended, on a schedule: sessions nobody can use any more, throttle
//! counters that have expired, audit events older than the retention setting, and mail alerts
//! sent (or given up) more than a week ago, and one-time password links that expired. The same
//! schedule reminds of app passwords about to expire and notes those that have
//! (`use_cases::app_password_expiry`). Every
//! instance runs it; the deletes are idempotent, so several at once do no harm.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::StoreError;
use crate::domain::session::PENDING_SECOND_STEP_LIFETIME;
use crate::use_cases::ServerBackend;
use crate::use_cases::app_password_expiry::{ExpiryRound, run_expiry_round};

/// How often the housekeeping runs.
pub const INTERVAL: Duration = Duration::from_secs(10 * 60);

/// What one run deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub throttle_counters: u64,
    pub audit_events: u64,
    pub mails: u64,
    pub password_links: u64,
}

/// How long a sent mail alert stays in the outbox (for an administrator looking into one).
pub const SENT_MAIL_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// Deletes ended sessions, expired throttle counters and (when `audit_retention` is set)
/// audit events older than it.
pub async fn run_once(
    backend: &ServerBackend,
    audit_retention: Option<chrono::Duration>,
    now: DateTime<Utc>,
) -> Result<Purged, StoreError> {
    let policy = backend.settings.session_policy;
    let store = &backend.store();
    Ok(Purged {
        sessions: store
            .purge_ended_sessions(
                now - PENDING_SECOND_STEP_LIFETIME,
                now - policy.idle,
                now - policy.absolute,
            )
            .await?,
        throttle_counters: store.purge_expired_throttles(now).await?,
        audit_events: match audit_retention {
            Some(retention) => store.delete_audit_events_before(now - retention).await?,
            None => 0,
        },
        mails: store
            .purge_finished_mails(now - SENT_MAIL_RETENTION)
            .await?,
        password_links: store.purge_expired_password_links(now).await?,
    })
}

/// Runs [`run_once`] every [`INTERVAL`] until the process ends; failures are logged.
pub fn spawn(backend: Arc<ServerBackend>, audit_retention: Option<chrono::Duration>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        loop {
            ticks.tick().await;
            match run_once(&backend, audit_retention, Utc::now()).await {
                Ok(purged) if purged != Purged::default() => {
                    tracing::info!(?purged, "housekeeping: deleted what has ended");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "housekeeping failed; will try again"),
            }
            // App passwords near or past their expiry: reminded once, noted once (issue 31).
            match run_expiry_round(backend.store(), Utc::now()).await {
                Ok(round) if round != ExpiryRound::default() => {
                    tracing::info!(
                        ?round,
                        "housekeeping: app-password expiry reminders and notes"
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "app-password expiry round failed; will try again")
                }
            }
        }
    });
}
