//! Mail alerts: which audit events a person is told about by mail, in what words, how often a
//! mail that could not be sent is tried again, and how long an instance holds the mails it
//! sends. An alert names the app, the address and the time, never a secret.

use chrono::{DateTime, Duration, Utc};

use super::attack_alert::{ALERT_AFTER, ALERTED};

/// The audit events that become mail alerts.
pub const ALERT_KINDS: [&str; 13] = [
    "app_password.created",
    "app_password.new_ip",
    "password.changed",
    "authenticator.added",
    "authenticator.deleted",
    super::recovery_code::CREATED,
    super::recovery_code::USED,
    super::method_reset::RESET,
    super::passkey::ADDED,
    super::passkey::DELETED,
    ALERTED,
    super::password_link::RESET_BY_MAIL,
    super::app_password::EXPIRY_REMINDED,
];

/// Attempts before a mail is given up (the delays add up to about a day).
pub const MAX_ATTEMPTS: i32 = 12;

/// A mail first tried later than this after its change is not sent: mail was off (or every
/// instance down) when it happened, and an alert about something long past alarms for nothing.
pub const FIRST_TRY_WITHIN: Duration = Duration::days(1);

/// How many mails an instance claims at a time.
pub const BATCH: u64 = 10;

/// The longest one SMTP conversation may take, as a whole (the transport's own timeout bounds
/// each step, not the sum).
pub const SEND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// The longest one mail may take: making it from its audit event, sending it (at most
/// [`SEND_DEADLINE`]), recording how it went (a few queries: 10 seconds allowed).
pub const PER_MAIL: Duration = Duration::seconds(40);

/// How far the clocks of two instances may disagree: a claim ends by the claimer's clock and
/// is taken over by another's.
pub const CLOCK_SKEW: Duration = Duration::minutes(1);

/// How long a claim holds: a whole batch at its slowest, plus the clocks' disagreement, so no
/// other instance takes a mail while the claimer may still be sending it.
pub const CLAIM: Duration =
    Duration::seconds(PER_MAIL.num_seconds() * BATCH as i64 + CLOCK_SKEW.num_seconds());

/// Whether the audit event `kind` about a person is mailed to them.
pub fn is_alerted(kind: &str) -> bool {
    // A sign-in link and a "Forgot password?" link are mailed like alerts, but their mails are
    // made elsewhere (they carry the link: `use_cases::sign_in_link_mail`,
    // `use_cases::password_reset_mail`).
    ALERT_KINDS.contains(&kind)
        || kind == super::sign_in_link::MAILED
        || kind == super::password_link::MAILED
}

/// Whether a claim that ends at `claimed_until` still has room, at `now`, for one more mail at
/// its slowest (with the clocks' disagreement to spare). When it has not, the rest of the batch
/// is left to the next round: the claim could run out while the mail is being sent.
pub fn room_for_one_more(now: DateTime<Utc>, claimed_until: DateTime<Utc>) -> bool {
    now + PER_MAIL + CLOCK_SKEW <= claimed_until
}

/// What an alert is made from: the audit event and what it refers to.
#[derive(Debug, Clone)]
pub struct AlertFacts<'a> {
    pub kind: &'a str,
    pub detail: &'a str,
    /// The address the change came from (the app's, for a new address).
    pub ip: Option<&'a str>,
    /// For app passwords used from a new address: the protocol (IMAP, SMTP, ...).
    pub client: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// The app password's name, for a use from a new address (looked up by its id).
    pub app_password_name: Option<&'a str>,
    pub person: &'a str,
    pub account: &'a str,
    pub public_url: &'a str,
}

/// A mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub subject: String,
    pub body: String,
}

/// The name in an `app_password.created` detail (`'NAME' (id N)`).
pub fn created_name(detail: &str) -> Option<&str> {
    detail
        .strip_prefix('\'')?
        .rsplit_once("' (id ")
        .map(|(name, _)| name)
}

/// The app password id in an `app_password.new_ip` detail (`app password N used from ...`).
pub fn new_ip_app_password_id(detail: &str) -> Option<i32> {
    detail
        .strip_prefix("app password ")?
        .split_once(' ')?
        .0
        .parse()
        .ok()
}

/// The mail of an attack on the second step (`domain::attack_alert`): what happened, what to do (change the password, which is known), and when it is
/// nothing to worry about.
fn failed_second_steps_mail(facts: &AlertFacts<'_>) -> Alert {
    let when = facts.at.format("%Y-%m-%d %H:%M UTC");
    let from = facts.ip.map(|ip| format!(" from {ip}")).unwrap_or_default();
    let change_password = app::routes::SecurityInfoDialog::ChangePassword { done: false }
        .on(app::routes::Page::SecurityInfo);
    let body = format!(
        "Hello {person},\n\n\
         Someone entered the right password for your account but not the code: since your \
         last sign-in, {ALERT_AFTER} codes were wrong, the latest {when}{from}. They were not \
         signed in.\n\n\
         Change your password now, since whoever it was knows it: sign in at \
         {url}{change_password} and choose a new one.\n\n\
         If it was you (a mistyped code, or an authenticator app whose clock is off), there is \
         nothing to do.\n\n\
         Account: {account}\n\n\
         (Latchkey sends this mail once for each run of wrong codes; your next sign-in starts \
         the count again.)\n",
        person = facts.person,
        account = facts.account,
        url = facts.public_url,
    );
    Alert {
        subject: "Someone entered your password but not the code".to_owned(),
        body,
    }
}

/// The reminder a week before an app password stops working (`domain::app_password`): which
/// one, when, and what to do if an app still needs it.
fn expiry_reminder_mail(facts: &AlertFacts<'_>) -> Alert {
    let name = created_name(facts.detail).unwrap_or("(unnamed)");
    // The detail: `'NAME' (id N) stops working on DATE[, unused for N days]`.
    let when = facts
        .detail
        .rsplit_once(") stops working ")
        .map_or("soon", |(_, when)| when);
    let body = format!(
        "Hello {person},\n\n\
         Your app password \"{name}\" stops working {when}.\n\n\
         If an app still uses it, sign in at {url}/security-info, create a new app password \
         for that app, put it in the app, and delete \"{name}\". If nothing uses it any more, \
         there is nothing to do.\n\n\
         Account: {account}\n\n\
         (Latchkey sends this mail once, a week before an app password expires.)\n",
        person = facts.person,
        account = facts.account,
        url = facts.public_url,
    );
    Alert {
        subject: format!("App password \"{name}\" stops working in a week"),
        body,
    }
}

/// The alert for an audit event, or `None` when its kind is not alerted.
pub fn compose(facts: &AlertFacts<'_>) -> Option<Alert> {
    // Not a change the person may have made: its own words, and what to do.
    if facts.kind == ALERTED {
        return Some(failed_second_steps_mail(facts));
    }
    if facts.kind == super::app_password::EXPIRY_REMINDED {
        return Some(expiry_reminder_mail(facts));
    }
    let when = facts.at.format("%Y-%m-%d %H:%M UTC");
    let from = facts.ip.map(|ip| format!(" from {ip}")).unwrap_or_default();
    let (subject, what) = match facts.kind {
        "app_password.created" => {
            let name = created_name(facts.detail).unwrap_or("(unnamed)");
            (
                format!("New app password \"{name}\""),
                format!(
                    "A new app password, \"{name}\", was created for your account {when}{from}."
                ),
            )
        }
        "app_password.new_ip" => {
            let name = facts.app_password_name.unwrap_or("(since deleted)");
            let app = facts
                .client
                .map(|client| format!(" ({client})"))
                .unwrap_or_default();
            (
                format!("App password \"{name}\" used from a new address"),
                format!(
                    "Your app password \"{name}\" was used{from}{app} {when}, the first time from that address."
                ),
            )
        }
        "password.changed" => (
            "Your password was changed".to_owned(),
            format!(
                "The password of your account was changed {when}{from}. Your other browsers and devices were signed out."
            ),
        ),
        "authenticator.added" => (
            "Authenticator app added".to_owned(),
            format!("An authenticator app was added to your account {when}{from}."),
        ),
        "authenticator.deleted" => (
            "Authenticator app deleted".to_owned(),
            format!(
                "The authenticator app of your account was deleted {when}{from}. Your app passwords stop signing in until you add one again."
            ),
        ),
        super::recovery_code::CREATED => (
            "New recovery codes".to_owned(),
            format!(
                "New recovery codes were made for your account {when}{from}. The earlier ones no longer work."
            ),
        ),
        super::recovery_code::USED => (
            "A recovery code was used to sign in".to_owned(),
            format!(
                "A recovery code was used to sign in to your account {when}{from} ({detail}).",
                detail = facts.detail
            ),
        ),
        super::method_reset::RESET => (
            "Your sign-in methods were reset".to_owned(),
            format!(
                "An administrator reset the sign-in methods of your account {when}{from} ({detail}): you were signed out everywhere. At your next sign-in, add a method again on Security info.",
                detail = facts.detail
            ),
        ),
        super::password_link::RESET_BY_MAIL => (
            "Your password was reset".to_owned(),
            format!(
                "The password of your account was set {when}{from} with a link mailed to you (\"Forgot password?\"). Your browsers and devices were signed out; signing in still asks for your second step."
            ),
        ),
        super::passkey::ADDED => {
            let name = super::passkey::name_in_detail(facts.detail).unwrap_or("(unnamed)");
            (
                format!("Passkey \"{name}\" added"),
                format!(
                    "A passkey or security key, \"{name}\", was added to your account {when}{from}. Your other browsers and devices were signed out."
                ),
            )
        }
        super::passkey::DELETED => {
            let name = super::passkey::name_in_detail(facts.detail).unwrap_or("(unnamed)");
            (
                format!("Passkey \"{name}\" deleted"),
                format!(
                    "The passkey or security key \"{name}\" was deleted from your account {when}{from}. Your other browsers and devices were signed out."
                ),
            )
        }
        _ => return None,
    };
    let body = format!(
        "Hello {person},\n\n{what}\n\nAccount: {account}\n\n\
         If this was you, there is nothing to do. If it was not, sign in at \
         {url}/security-info, delete what you do not recognise and change your password.\n\n\
         (Latchkey sends this mail for every change to how you sign in.)\n",
        person = facts.person,
        account = facts.account,
        url = facts.public_url,
    );
    Some(Alert { subject, body })
}

/// How long to wait before attempt `attempts + 1`: 30 seconds, doubling, at most an hour.
pub fn retry_delay(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 7)).unwrap_or(0);
    Duration::seconds(30 * 2_i64.pow(doublings)).min(Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_says_what_happened_and_to_change_the_password() {
        let facts = AlertFacts {
            kind: ALERTED,
            detail: &super::super::attack_alert::alert_detail(),
            ip: Some("203.0.113.9"),
            client: None,
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            app_password_name: None,
            person: "Ada Lovelace",
            account: "ada@contoso.example",
            public_url: "https://id.contoso.example",
        };
        let mail = failed_second_steps_mail(&facts);
        assert_eq!(
            mail.subject,
            "Someone entered your password but not the code"
        );
        for said in [
            "Hello Ada Lovelace",
            "10 codes were wrong, the latest 2027-01-15 08:00 UTC from 203.0.113.9",
            "Change your password now",
            "https://id.contoso.example/security-info?change=password",
            "Account: ada@contoso.example",
        ] {
            assert!(mail.body.contains(said), "{said}: {}", mail.body);
        }
        assert_eq!(compose(&facts), Some(mail));
    }

    fn facts<'a>(kind: &'a str, detail: &'a str) -> AlertFacts<'a> {
        AlertFacts {
            kind,
            detail,
            ip: Some("192.0.2.7"),
            client: Some("SMTP"),
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            app_password_name: Some("Outlook"),
            person: "Ada Lovelace",
            account: "ada@contoso.example",
            public_url: "https://id.contoso.example",
        }
    }

    #[test]
    fn details_are_read_back() {
        assert_eq!(
            created_name("'Outlook (home)' (id 12)"),
            Some("Outlook (home)")
        );
        assert_eq!(created_name("it's' (id 3)"), None);
        assert_eq!(created_name("'it's' (id 3)"), Some("it's"));
        assert_eq!(
            new_ip_app_password_id("app password 42 used from 192.0.2.7 for the first time"),
            Some(42)
        );
        assert_eq!(new_ip_app_password_id("something else"), None);
    }

    #[test]
    fn alerts_name_the_app_the_address_and_the_time() {
        let created = compose(&facts("app_password.created", "'Outlook' (id 1)"));
        let created = created.unwrap_or_else(|| panic!("an alert"));
        assert_eq!(created.subject, "New app password \"Outlook\"");
        assert!(created.body.contains("from 192.0.2.7"), "{}", created.body);
        assert!(
            created.body.contains("2027-01-15 08:00 UTC"),
            "{}",
            created.body
        );
        assert!(
            created
                .body
                .contains("https://id.contoso.example/security-info")
        );

        let used = compose(&facts(
            "app_password.new_ip",
            "app password 1 used from 192.0.2.7",
        ));
        let used = used.unwrap_or_else(|| panic!("an alert"));
        assert_eq!(
            used.subject,
            "App password \"Outlook\" used from a new address"
        );
        assert!(used.body.contains("from 192.0.2.7 (SMTP)"), "{}", used.body);

        for kind in [
            "password.changed",
            "authenticator.added",
            "authenticator.deleted",
            "recovery_codes.created",
        ] {
            assert!(compose(&facts(kind, "")).is_some(), "{kind}");
        }
        let used = compose(&facts("recovery_code.used", "3 recovery codes left"));
        let used = used.unwrap_or_else(|| panic!("an alert"));
        assert_eq!(used.subject, "A recovery code was used to sign in");
        assert!(
            used.body
                .contains("2027-01-15 08:00 UTC from 192.0.2.7 (3 recovery codes left)"),
            "{}",
            used.body
        );
        let reset = compose(&facts(
            "methods.reset",
            "1 authenticator app removed, 2 sessions ended, 3 app passwords revoked",
        ));
        let reset = reset.unwrap_or_else(|| panic!("an alert"));
        assert_eq!(reset.subject, "Your sign-in methods were reset");
        assert!(
            reset.body.contains("(1 authenticator app removed, 2 sessions ended, 3 app passwords revoked): you were signed out everywhere"),
            "{}",
            reset.body
        );
        let by_mail = compose(&facts("password.reset_by_mail", "1 sessions ended"));
        let by_mail = by_mail.unwrap_or_else(|| panic!("an alert"));
        assert_eq!(by_mail.subject, "Your password was reset");
        assert!(
            by_mail
                .body
                .contains("2027-01-15 08:00 UTC from 192.0.2.7 with a link mailed to you"),
            "{}",
            by_mail.body
        );
        assert_eq!(compose(&facts("sign_in.succeeded", "")), None);
    }

    #[test]
    fn a_claim_outlasts_its_batch_at_its_slowest() {
        let slowest_send = Duration::from_std(SEND_DEADLINE).unwrap_or(Duration::MAX);
        assert!(PER_MAIL > slowest_send);
        assert!(CLAIM >= PER_MAIL * i32::try_from(BATCH).unwrap_or(i32::MAX) + CLOCK_SKEW);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let until = now + CLAIM;
        // Every mail of the batch fits, each at its slowest...
        let last_start = now + PER_MAIL * i32::try_from(BATCH - 1).unwrap_or(i32::MAX);
        assert!(room_for_one_more(last_start, until));
        // ...and none is started that could outrun the claim.
        assert!(!room_for_one_more(until - PER_MAIL, until));
        assert!(!room_for_one_more(
            until - PER_MAIL - CLOCK_SKEW + Duration::seconds(1),
            until
        ));
    }

    #[test]
    fn the_expiry_reminder_names_the_app_password_and_the_day() {
        let detail = "'Outlook 2010' (id 7) stops working on Jan 5, 2027, 14:05 UTC";
        let facts = AlertFacts {
            kind: crate::domain::app_password::EXPIRY_REMINDED,
            detail,
            ip: None,
            client: None,
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            app_password_name: None,
            person: "Ada Lovelace",
            account: "ada@contoso.example",
            public_url: "https://id.contoso.example",
        };
        let mail = compose(&facts);
        assert_eq!(
            mail.as_ref().map(|m| m.subject.as_str()),
            Some("App password \"Outlook 2010\" stops working in a week")
        );
        let body = mail.map(|m| m.body).unwrap_or_default();
        assert!(
            body.contains("\"Outlook 2010\" stops working on Jan 5, 2027, 14:05 UTC."),
            "{body}"
        );
        assert!(
            body.contains("https://id.contoso.example/security-info"),
            "{body}"
        );
    }

    #[test]
    fn only_the_alerted_kinds_are_mailed() {
        for kind in ALERT_KINDS {
            assert!(is_alerted(kind), "{kind}");
        }
        assert!(is_alerted("password.reset_link_mailed"));
        assert!(!is_alerted("sign_in.succeeded"));
        assert!(!is_alerted("app_password.deleted"));
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(0), Duration::seconds(30));
        assert_eq!(retry_delay(1), Duration::seconds(60));
        assert_eq!(retry_delay(6), Duration::seconds(1920));
        assert_eq!(retry_delay(7), Duration::hours(1));
        assert_eq!(retry_delay(100), Duration::hours(1));
    }
}
