//! Readiness (`GET /readyz`): whether this instance can serve, and if not, why. Required:
//! the database answers, it has every migration of this version, and it records this
//! instance's secret key. Reported but not required: the mail server (when mail alerts are
//! on), checked by a background task every 30 seconds, not per request; alerts wait in the
//! outbox while it is down, so taking the instance out of a load balancer would not help.
//!
//! The answer is JSON with a fixed, short reason per check; the underlying errors are logged,
//! not sent (the endpoint is as public as the site).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::jobs::mail_alerts::Mailer;
use crate::use_cases::ServerBackend;

/// How often the mail server is tried.
pub const MAIL_CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// Longest one try of the mail server may take.
const MAIL_CHECK_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest the database checks may take before the database counts as unreachable (the
/// pool's own acquire timeout is longer than a load balancer waits).
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The state of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failing,
    /// Not checked: what it depends on is failing (the database).
    Unknown,
    /// Mail alerts are off.
    NotConfigured,
    /// The first try has not finished yet.
    NotCheckedYet,
}

/// One check's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub status: Status,
    /// Whether a failure makes the instance not ready (503).
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For checks made in the background: how long ago.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_seconds_ago: Option<u64>,
}

impl Check {
    fn required(status: Status, detail: Option<String>) -> Self {
        Self {
            status,
            required: true,
            detail,
            checked_seconds_ago: None,
        }
    }

    fn fails(&self) -> bool {
        self.required && self.status != Status::Ok
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checks {
    pub database: Check,
    pub migrations: Check,
    pub secret_key: Check,
    pub mail: Check,
}

/// The answer of `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every required check is ok.
    pub ready: bool,
    pub checks: Checks,
}

/// The last try of the mail server.
#[derive(Debug, Clone, Copy)]
enum MailState {
    NotConfigured,
    NotCheckedYet,
    Tried { reachable: bool, at: Instant },
}

/// What readiness keeps between requests: the mail server's last answer.
#[derive(Debug)]
pub struct Readiness {
    mail: Mutex<MailState>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            mail: Mutex::new(MailState::NotConfigured),
        }
    }
}

impl Readiness {
    /// Tries `mailer`'s server now and every [`MAIL_CHECK_INTERVAL`], in a task of its own.
    pub fn watch_mail(self: &Arc<Self>, mailer: Mailer) {
        self.set_mail(MailState::NotCheckedYet);
        let readiness = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(MAIL_CHECK_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let reachable =
                    match tokio::time::timeout(MAIL_CHECK_TIMEOUT, mailer.reachable()).await {
                        Ok(Ok(())) => true,
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "readiness: the mail server is unreachable");
                            false
                        }
                        Err(_) => {
                            tracing::warn!("readiness: the mail server did not answer in time");
                            false
                        }
                    };
                readiness.set_mail(MailState::Tried {
                    reachable,
                    at: Instant::now(),
                });
            }
        });
    }

    fn set_mail(&self, state: MailState) {
        if let Ok(mut mail) = self.mail.lock() {
            *mail = state;
        }
    }

    fn mail_check(&self) -> Check {
        let state = self
            .mail
            .lock()
            .map_or(MailState::NotCheckedYet, |mail| *mail);
        let (status, detail, checked_seconds_ago) = match state {
            MailState::NotConfigured => (Status::NotConfigured, None, None),
            MailState::NotCheckedYet => (Status::NotCheckedYet, None, None),
            MailState::Tried { reachable, at } => {
                let ago = Some(at.elapsed().as_secs());
                if reachable {
                    (Status::Ok, None, ago)
                } else {
                    let detail = "the SMTP server cannot be reached; alerts wait in the outbox";
                    (Status::Failing, Some(detail.to_owned()), ago)
                }
            }
        };
        Check {
            status,
            required: false,
            detail,
            checked_seconds_ago,
        }
    }

    /// Checks the database now and reports, with the mail server's last answer.
    pub async fn report(&self, backend: &ServerBackend) -> Report {
        let (database, migrations, secret_key) =
            match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, database_checks(backend)).await {
                Ok(checks) => checks,
                Err(_) => {
                    tracing::warn!("readiness: the database did not answer in time");
                    unreachable_database("the database did not answer in time")
                }
            };
        let checks = Checks {
            database,
            migrations,
            secret_key,
            mail: self.mail_check(),
        };
        let ready = ![
            &checks.database,
            &checks.migrations,
            &checks.secret_key,
            &checks.mail,
        ]
        .into_iter()
        .any(Check::fails);
        Report { ready, checks }
    }
}

fn unreachable_database(detail: &str) -> (Check, Check, Check) {
    (
        Check::required(Status::Failing, Some(detail.to_owned())),
        Check::required(Status::Unknown, None),
        Check::required(Status::Unknown, None),
    )
}

/// The database answers; it has this version's migrations; it records this instance's key.
async fn database_checks(backend: &ServerBackend) -> (Check, Check, Check) {
    if let Err(error) = backend.ping_database().await {
        tracing::warn!(%error, "readiness: the database is unreachable");
        return unreachable_database("the database cannot be reached");
    }
    let database = Check::required(Status::Ok, None);
    let migrations = match backend.migration_state().await {
        Ok(state) if !state.pending.is_empty() => {
            tracing::warn!(pending = ?state.pending, "readiness: migrations not applied");
            Check::required(
                Status::Failing,
                Some(format!(
                    "{} migration(s) of this version not applied: run `latchkey migrate` or restart",
                    state.pending.len()
                )),
            )
        }
        // A newer version migrated the database (a rolling upgrade): migrations only add, so
        // this version still works.
        Ok(state) if !state.unknown.is_empty() => Check::required(
            Status::Ok,
            Some(format!(
                "the database has {} migration(s) of a newer version",
                state.unknown.len()
            )),
        ),
        Ok(_) => Check::required(Status::Ok, None),
        Err(error) => {
            tracing::warn!(%error, "readiness: cannot read the migrations");
            Check::required(
                Status::Failing,
                Some("the migrations cannot be read".to_owned()),
            )
        }
    };
    let secret_key = match backend.database_key_matches().await {
        Ok(Some(true)) => Check::required(Status::Ok, None),
        Ok(Some(false)) => {
            tracing::error!(
                "readiness: the database records another secret key than this instance's"
            );
            Check::required(
                Status::Failing,
                Some("the database belongs with another secret key file".to_owned()),
            )
        }
        Ok(None) => Check::required(
            Status::Failing,
            Some("the database records no secret key".to_owned()),
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness: cannot read the key check");
            Check::required(
                Status::Failing,
                Some("the key check cannot be read".to_owned()),
            )
        }
    };
    (database, migrations, secret_key)
}
