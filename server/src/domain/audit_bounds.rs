//! How much an outsider can make the audit log grow. Failed sign-ins, guesses at names nobody
//! has and paused app-password checks ([`COUNTED_KINDS`]) are written by requests anyone can
//! send, from as many addresses and with as many names as they like, so they are counted
//! instead of written one row each:
//!
//! - repeats of the same event (kind, person or none, detail, which names the sign-in name
//!   for an unknown one, and address) within one fixed [`WINDOW`] of 15 minutes are one row
//!   with a count (`audit_events.count`);
//! - each kind has at most [`ROWS_PER_WINDOW`] such rows per window about one person, and as
//!   many about no one; past that, the window's further attempts of that kind for that person
//!   (or for no one) are only counted, in one more row ([`OTHERS`], no address). Rows are
//!   numbered by a shared counter ([`rows_counter`]), and the number a bucket got first is
//!   kept for it ([`bucket_number`]), so attempts at once agree on where they are counted.
//!
//! So whatever the names and addresses, attempts add at most [`MAX_ROWS_PER_HOUR_PER_SUBJECT`]
//! rows an hour about no one, and as many about each person (people are added only by
//! administrators). The row's time is the first attempt's.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// The fixed windows events are counted in (aligned to the clock: :00, :15, :30, :45).
pub const WINDOW: Duration = Duration::minutes(15);

/// Rows of one kind about one person (or about no one) in one window, before further
/// attempts are only counted in the [`OTHERS`] row. Enough for every address of a busy
/// office's mail clients, far fewer than a botnet has.
pub const ROWS_PER_WINDOW: u32 = 50;

/// The events that are counted rather than written one by one: those any outsider can cause.
pub const COUNTED_KINDS: [&str; 3] = [
    "sign_in.failed",
    "sign_in.unknown_user",
    "app_password.throttled",
];

/// The detail of the row that counts what came past [`ROWS_PER_WINDOW`] in a window.
pub const OTHERS: &str = "others, past the first 50 rows of these 15 minutes";

/// Windows in an hour.
const WINDOWS_PER_HOUR: u32 = 4;

/// The most rows counted events add in an hour about no one, and about each person: every
/// counted kind, in each of the hour's windows, its [`ROWS_PER_WINDOW`] rows and [`OTHERS`]:
/// 4 x 3 x 51 = 612.
pub const MAX_ROWS_PER_HOUR_PER_SUBJECT: u32 =
    WINDOWS_PER_HOUR * COUNTED_KINDS.len() as u32 * (ROWS_PER_WINDOW + 1);

/// Whether events of `kind` are counted (see the module's documentation).
pub fn is_counted(kind: &str) -> bool {
    COUNTED_KINDS.contains(&kind)
}

/// The start of the window `now` is in.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = now.timestamp();
    DateTime::from_timestamp(seconds - seconds.rem_euclid(WINDOW.num_seconds()), 0).unwrap_or(now)
}

/// A fixed-size key over `parts`, each length-prefixed so no two lists of parts share one.
fn key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn person(user_id: Option<i32>) -> String {
    user_id.map(|id| id.to_string()).unwrap_or_default()
}

/// The row an event is counted in: the same for the same kind, person, detail and address in
/// the window starting at `window`.
pub fn bucket(
    kind: &str,
    user_id: Option<i32>,
    detail: &str,
    address: Option<&str>,
    window: DateTime<Utc>,
) -> String {
    let window = window.timestamp().to_string();
    key(&[
        "audit-event",
        &window,
        kind,
        &person(user_id),
        detail,
        address.unwrap_or(""),
    ])
}

/// The [`OTHERS`] row of `kind` about `user_id` (or no one) in the window starting at `window`.
pub fn others_bucket(kind: &str, user_id: Option<i32>, window: DateTime<Utc>) -> String {
    let window = window.timestamp().to_string();
    key(&["audit-others", &window, kind, &person(user_id)])
}

/// The counter that numbers the rows of `kind` about `user_id` (or no one) in the window
/// starting at `window`: a row is written only while its number is within [`ROWS_PER_WINDOW`].
pub fn rows_counter(kind: &str, user_id: Option<i32>, window: DateTime<Utc>) -> String {
    let window = window.timestamp().to_string();
    key(&["audit-rows", &window, kind, &person(user_id)])
}

/// Where the number of the row `bucket` is kept (the first number taken for it): every
/// attempt of the bucket makes the same choice between its row and the row of others.
pub fn bucket_number(bucket: &str) -> String {
    key(&["audit-number", bucket])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, hour, minute, second)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn the_bound_is_what_the_rules_add_up_to() {
        assert_eq!(Duration::hours(1), WINDOW * WINDOWS_PER_HOUR as i32);
        // The figure ARCHITECTURE and README give.
        assert_eq!(MAX_ROWS_PER_HOUR_PER_SUBJECT, 612);
        assert!(OTHERS.contains(&ROWS_PER_WINDOW.to_string()));
        assert!(OTHERS.contains(&WINDOW.num_minutes().to_string()));
    }

    #[test]
    fn windows_are_aligned_quarter_hours() {
        assert_eq!(window_start(at(14, 0, 0)), at(14, 0, 0));
        assert_eq!(window_start(at(14, 14, 59)), at(14, 0, 0));
        assert_eq!(window_start(at(14, 15, 0)), at(14, 15, 0));
        assert_eq!(window_start(at(14, 59, 59)), at(14, 45, 0));
    }

    #[test]
    fn a_bucket_is_one_kind_person_detail_and_address_in_one_window() {
        let window = at(14, 0, 0);
        let ip = Some("192.0.2.1");
        let failed = |user, detail, ip, window| bucket("sign_in.failed", user, detail, ip, window);
        let first = failed(Some(7), "wrong password", ip, window);
        assert_eq!(first.len(), 64);
        assert_eq!(first, failed(Some(7), "wrong password", ip, window));
        for other in [
            bucket(
                "sign_in.unknown_user",
                Some(7),
                "wrong password",
                ip,
                window,
            ),
            failed(Some(8), "wrong password", ip, window),
            failed(None, "wrong password", ip, window),
            failed(Some(7), "wrong code", ip, window),
            failed(Some(7), "wrong password", Some("192.0.2.2"), window),
            failed(Some(7), "wrong password", None, window),
            failed(Some(7), "wrong password", ip, at(14, 15, 0)),
            others_bucket("sign_in.failed", Some(7), window),
            rows_counter("sign_in.failed", Some(7), window),
            bucket_number(&first),
        ] {
            assert_ne!(first, other);
        }
        // Parts cannot run into each other.
        assert_ne!(
            failed(None, "ab", Some("c"), window),
            failed(None, "a", Some("bc"), window)
        );
    }

    #[test]
    fn only_what_outsiders_cause_is_counted_and_none_of_it_is_mailed() {
        assert!(is_counted("sign_in.failed"));
        assert!(is_counted("sign_in.unknown_user"));
        assert!(is_counted("app_password.throttled"));
        assert!(!is_counted("sign_in.succeeded"));
        assert!(!is_counted("app_password.created"));
        // A counted event is not a row of its own, so it could not carry a mail of its own.
        for kind in COUNTED_KINDS {
            assert!(!super::super::alerts::is_alerted(kind), "{kind}");
        }
    }
}
