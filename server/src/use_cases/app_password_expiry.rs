//! App-password expiry, run by the periodic job (issue 31): a reminder mailed a week before an
//! app password stops working (its own date, or the organization's "unused for N days"), and
//! an audit event when it has, each once per app password whichever instance runs it. The
//! check itself refuses an expired app password at once (`app_password_check`); this only
//! tells people.

use chrono::{DateTime, Utc};

use crate::db::entities::app_password;
use crate::db::{ExpiryMark, Store, StoreError};
use crate::domain::app_password::{EXPIRY_REMINDER, ExpiryFacts, IdleLimit};
use crate::domain::timefmt;

/// App passwords looked at per query.
const BATCH: u64 = 200;
/// Batches per round at most; the rest waits for the next round.
const MAX_BATCHES: usize = 50;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryRound {
    /// Reminders queued (mailed through the outbox).
    pub reminded: u64,
    /// Expiries written to the audit log.
    pub expired: u64,
}

/// Why it stops working: its own date, or the idle rule (whichever comes first).
fn reason(row: &app_password::Model, idle: Option<IdleLimit>, deadline: DateTime<Utc>) -> String {
    match idle {
        Some(idle) if row.expires_at != Some(deadline) => {
            format!(", after {} days unused", idle.days())
        }
        _ => String::new(),
    }
}

/// Reminds of the app passwords whose deadline is within a week, and notes those past it, as
/// of `now`.
pub async fn run_expiry_round(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<ExpiryRound, StoreError> {
    let idle = store
        .organization()
        .await?
        .and_then(|org| IdleLimit::from_stored(org.app_password_idle_days));
    let mut round = ExpiryRound::default();
    for _ in 0..MAX_BATCHES {
        let rows = store
            .app_passwords_near_expiry(idle, EXPIRY_REMINDER, now, BATCH)
            .await?;
        let full = rows.len() as u64 == BATCH;
        let mut changed = 0;
        for row in rows {
            let facts = ExpiryFacts {
                created_at: row.created_at,
                last_used_at: row.last_used_at,
                expires_at: row.expires_at,
            };
            let Some(deadline) = facts.deadline(idle) else {
                continue;
            };
            let named = format!("'{}' (id {})", row.name, row.id);
            let because = reason(&row, idle, deadline);
            if facts.is_expired(idle, now) {
                let detail = format!("{named} expired on {}{because}", timefmt::moment(deadline));
                if store
                    .mark_app_password_expiry(&row, ExpiryMark::Expired, detail, now)
                    .await?
                {
                    round.expired += 1;
                    changed += 1;
                }
            } else if facts.reminder_due(idle, now) && row.expiry_reminded_at.is_none() {
                let detail = format!(
                    "{named} stops working on {}{because}",
                    timefmt::moment(deadline)
                );
                if store
                    .mark_app_password_expiry(&row, ExpiryMark::Reminded, detail, now)
                    .await?
                {
                    round.reminded += 1;
                    changed += 1;
                }
            }
        }
        // A full batch where nothing changed would come back the same: wait for the next round.
        if !full || changed == 0 {
            break;
        }
    }
    Ok(round)
}
