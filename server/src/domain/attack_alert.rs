//! The person hears about attacks on their second step. Someone who types the right password
//! but then fails the second step (a wrong authenticator code, a wrong recovery code, a
//! passkey that is not accepted) [`ALERT_AFTER`] times since the person's last complete
//! sign-in has the password: the person is mailed ("Someone entered your password but not the
//! code"), and again every [`REMIND_EVERY`] failures while the streak goes on, and Recent
//! activity shows the alert and marks each failure after the right password.
//!
//! The failures are counted per person in one shared throttle counter ([`streak_key`],
//! counted by `db::attack_alerts` with one atomic upsert, the alert's audit event and mail in
//! the same transaction, so of instances counting at once exactly one sees the count reach
//! [`ALERT_AFTER`]). A complete sign-in deletes the counter (`db::sessions::start_session`),
//! so the next streak is mailed again; a streak is otherwise forgotten [`STREAK`]`.window`
//! after its first failure.

use chrono::Duration;

use super::throttle::{self, FailureLimit, KeyKind};

/// Failed second steps since the last complete sign-in that make the person a mail.
pub const ALERT_AFTER: u32 = 10;

/// Failed second steps after which the person is mailed again while the streak goes on: an
/// attacker holding the password gets about a hundred guesses a day at the code throttle's
/// slowest (`throttle::Rule::CODE`), so a long attack is said again about daily, not once a
/// month.
pub const REMIND_EVERY: u32 = 100;

/// Whether the streak's `failures`-th failure mails the person.
pub fn alerts_at(failures: u32) -> bool {
    failures == ALERT_AFTER || (failures > ALERT_AFTER && failures.is_multiple_of(REMIND_EVERY))
}

/// The streak's counter: mailed as [`alerts_at`] says, kept 30 days from its first failure (an
/// attack slower than that is a new streak).
pub const STREAK: FailureLimit = FailureLimit {
    max_failures: ALERT_AFTER,
    window: Duration::days(30),
};

/// The audit kind of the alert (mailed: `domain::alerts`; shown: `domain::activity`).
pub const ALERTED: &str = "sign_in.failed_second_steps";

/// The `sign_in.failed` details of a second step failed after the right password, which
/// Recent activity marks (`use_cases::sessions::SecondStep::failure`). A passkey not accepted
/// is not among them: a passwordless sign-in writes the same detail with no password typed.
pub const AFTER_THE_RIGHT_PASSWORD: [&str; 2] = ["wrong authenticator code", "wrong recovery code"];

/// The counter of `user_id`'s streak.
pub fn streak_key(user_id: i32) -> String {
    throttle::key(KeyKind::SecondStepStreak, &user_id.to_string(), None)
}

/// The alert's audit detail.
pub fn alert_detail() -> String {
    format!("{ALERT_AFTER} wrong codes since the last sign-in")
}

/// Whether a `sign_in.failed` event with `detail` came after the right password.
pub fn after_the_right_password(detail: &str) -> bool {
    AFTER_THE_RIGHT_PASSWORD.contains(&detail)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    #[test]
    fn only_failures_after_the_right_password_are_marked() {
        assert!(after_the_right_password("wrong authenticator code"));
        assert!(after_the_right_password("wrong recovery code"));
        assert!(!after_the_right_password("wrong password"));
        assert!(!after_the_right_password(
            "wrong authenticator code when confirming it's them"
        ));
        assert!(!after_the_right_password(
            super::super::passkey::ASSERTION_REFUSED
        ));
    }

    #[test]
    fn each_person_has_a_streak_of_their_own() {
        assert_ne!(streak_key(1), streak_key(2));
        assert_eq!(streak_key(7), streak_key(7));
        assert!(STREAK.just_reached(throttle::FailureWindow {
            started: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            failures: ALERT_AFTER,
        }));
    }

    #[test]
    fn a_long_attack_is_mailed_again_every_hundred_failures() {
        let mailed: Vec<u32> = (1..=450).filter(|&n| alerts_at(n)).collect();
        assert_eq!(mailed, [ALERT_AFTER, 100, 200, 300, 400]);
    }
}
