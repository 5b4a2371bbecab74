//! Human wording for times, done on the server so the WebAssembly carries no date crate.

use chrono::{DateTime, Utc};

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago", then "Nov 25, 2026".
pub fn relative(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds().max(0);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => plural(seconds / 60, "minute"),
        3600..86_400 => plural(seconds / 3600, "hour"),
        86_400..2_592_000 => plural(seconds / 86_400, "day"),
        _ => date(then),
    }
}

/// "Nov 25, 2026".
pub fn date(then: DateTime<Utc>) -> String {
    then.format("%b %-d, %Y").to_string()
}

/// "Nov 25, 2026, 14:05 UTC": when exactly, for a log a person reads.
pub fn moment(then: DateTime<Utc>) -> String {
    then.format("%b %-d, %Y, %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn words_for_recent_and_old_times() {
        let now = DateTime::<Utc>::from_timestamp(1_795_600_000, 0).unwrap_or_default();
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now - Duration::seconds(61), now), "1 minute ago");
        assert_eq!(relative(now - Duration::minutes(5), now), "5 minutes ago");
        assert_eq!(relative(now - Duration::hours(3), now), "3 hours ago");
        assert_eq!(relative(now - Duration::days(2), now), "2 days ago");
        assert_eq!(
            relative(now - Duration::days(40), now),
            date(now - Duration::days(40))
        );
        assert_eq!(date(now), "Nov 25, 2026");
        assert_eq!(moment(now), "Nov 25, 2026, 09:46 UTC");
        assert_eq!(
            relative(now + Duration::seconds(5), now),
            "just now",
            "clock skew is not the future"
        );
    }
}
