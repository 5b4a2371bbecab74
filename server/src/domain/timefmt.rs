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

/// A day (`2026-11-29`, midnight UTC) or an RFC 3339 moment, as administrators type them.
pub fn parse_day_or_moment(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Some(moment.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
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
            parse_day_or_moment("2026-11-25").map(|d| d.timestamp()),
            Some(1_795_564_800)
        );
        assert_eq!(
            parse_day_or_moment("2026-11-25T09:46:40Z").map(|d| d.timestamp()),
            Some(1_795_600_000)
        );
        assert_eq!(parse_day_or_moment("25/11/2026"), None);
        assert_eq!(
            relative(now + Duration::seconds(5), now),
            "just now",
            "clock skew is not the future"
        );
    }
}
