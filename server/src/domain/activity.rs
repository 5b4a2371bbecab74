//! A person's recent activity: which of their audit events they are shown, and in what words.
//! Sign-ins (and failed ones), app passwords created, renamed, deleted or revoked and first
//! used from a new address, and changes of sign-in factors (recovery codes too); administrative
//! events about the account (added, role changes) are for administrators. Failed sign-ins are
//! counted (`domain::audit_bounds`): one event may stand for several, and says how many.

use super::alerts::{created_name, new_ip_app_password_id};
use super::audit_bounds;

/// Events shown per page of recent activity.
pub const PAGE_SIZE: u64 = 20;

/// The kinds of audit events a person is shown ([`describe`] words each).
pub const SHOWN_KINDS: [&str; 27] = [
    "sign_in.succeeded",
    "sign_in.failed",
    "sign_out.everywhere",
    "app_password.created",
    "app_password.renamed",
    "app_password.deleted",
    "app_password.revoked",
    "app_password.new_ip",
    super::app_password::EXPIRED,
    "password.changed",
    "password.reset",
    "authenticator.added",
    "authenticator.deleted",
    super::recovery_code::CREATED,
    super::recovery_code::USED,
    super::method_reset::RESET,
    "user.disabled",
    "user.enabled",
    "sign_out",
    "sign_out.by_administrator",
    super::passkey::ADDED,
    super::passkey::RENAMED,
    super::passkey::DELETED,
    super::attack_alert::ALERTED,
    SIGNED_OUT_A_BROWSER,
    super::password_link::MAILED,
    super::password_link::RESET_BY_MAIL,
];

/// The detail of a `sign_in.succeeded` event whose second step was a recovery code.
pub const SIGNED_IN_WITH_RECOVERY_CODE: &str = "password and recovery code";

/// The audit kind of a browser signed out from Security info's list (its detail names it).
pub const SIGNED_OUT_A_BROWSER: &str = "sign_out.browser";

/// One event as the person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// "Signed in", "App password created", "3 failed sign-ins from 203.0.113.7", ...
    pub title: String,
    /// What it concerns: "Password and authenticator app", "Outlook", ...
    pub detail: Option<String>,
    /// Whether it is worth a second look (a failed sign-in, a revocation, a new address).
    pub notable: bool,
}

/// The name in a detail of the form `'NAME' ...` that app-password events write.
fn quoted_name(detail: &str) -> Option<String> {
    // Renames: `'OLD' to 'NEW' (id N)`: the new name.
    let renamed = detail
        .strip_prefix('\'')
        .and_then(|rest| rest.split_once("' to '"))
        .and_then(|(_, new)| new.rsplit_once("' (id "))
        .map(|(name, _)| name);
    renamed.or_else(|| created_name(detail)).map(str::to_owned)
}

/// How the event of `kind` with `detail` is shown, or `None` when it is not shown to the
/// person. `count` is how many attempts it stands for (1 but for counted events) and
/// `address` where they came from. `app_password_name` names the app password an
/// `app_password.new_ip` event is about (looked up by its id, `None` once deleted).
pub fn describe(
    kind: &str,
    detail: &str,
    count: u32,
    address: Option<&str>,
    app_password_name: impl Fn(i32) -> Option<String>,
) -> Option<Activity> {
    let shown = |title: &str, detail: Option<String>, notable| {
        Some(Activity {
            title: counted(title, count),
            detail,
            notable,
        })
    };
    match kind {
        "sign_in.failed" if detail == audit_bounds::OTHERS => Some(Activity {
            title: match count {
                1 => "1 more failed sign-in from another address".to_owned(),
                _ => format!("{count} more failed sign-ins from other addresses"),
            },
            detail: None,
            notable: true,
        }),
        "sign_in.failed" if count > 1 => Some(Activity {
            title: match address {
                Some(address) => format!("{count} failed sign-ins from {address}"),
                None => format!("{count} failed sign-ins"),
            },
            detail: Some(failure_detail(detail)),
            notable: true,
        }),
        "sign_in.succeeded" => shown(
            "Signed in",
            Some(match detail {
                "password" => "Password".to_owned(),
                SIGNED_IN_WITH_RECOVERY_CODE => "Password and recovery code".to_owned(),
                super::passkey::SIGNED_IN_WITH_PASSWORD_AND_PASSKEY => {
                    "Password and passkey".to_owned()
                }
                super::passkey::SIGNED_IN_WITH_PASSKEY => "Passkey".to_owned(),
                _ => "Password and authenticator app".to_owned(),
            }),
            false,
        ),
        "sign_in.failed" => shown("Sign-in failed", Some(failure_detail(detail)), true),
        super::attack_alert::ALERTED => shown(
            "Someone entered your password but not the code",
            Some(capitalized(detail)),
            true,
        ),
        SIGNED_OUT_A_BROWSER => shown("Signed out a browser", Some(detail.to_owned()), false),
        "sign_out.everywhere" => shown("Signed out everywhere", None, false),
        "sign_out" => shown("Signed out", None, false),
        "sign_out.by_administrator" => {
            shown("Signed out everywhere by an administrator", None, true)
        }
        "app_password.created" => shown("App password created", quoted_name(detail), false),
        "app_password.renamed" => shown("App password renamed", quoted_name(detail), false),
        "app_password.deleted" => shown("App password deleted", quoted_name(detail), false),
        "app_password.revoked" => shown(
            "App password revoked by an administrator",
            quoted_name(detail),
            true,
        ),
        "app_password.new_ip" => shown(
            "App password used from a new address",
            new_ip_app_password_id(detail)
                .map(|id| app_password_name(id).unwrap_or_else(|| "(since deleted)".to_owned())),
            true,
        ),
        super::app_password::EXPIRED => shown("App password expired", quoted_name(detail), true),
        "password.changed" => shown("Password changed", None, false),
        "password.reset" => shown("Password reset by an administrator", None, true),
        super::password_link::MAILED => shown(
            "Link to set a new password mailed (\"Forgot password?\")",
            None,
            true,
        ),
        super::password_link::RESET_BY_MAIL => shown("Password set with a mailed link", None, true),
        "authenticator.added" => shown("Authenticator app added", None, false),
        "authenticator.deleted" => shown("Authenticator app deleted", None, true),
        super::recovery_code::CREATED => shown("New recovery codes", None, false),
        super::recovery_code::USED => shown("Recovery code used", Some(capitalized(detail)), true),
        super::method_reset::RESET => shown(
            "Sign-in methods reset by an administrator",
            Some(capitalized(detail)),
            true,
        ),
        super::passkey::ADDED => shown(
            "Passkey added",
            super::passkey::name_in_detail(detail).map(str::to_owned),
            false,
        ),
        super::passkey::RENAMED => shown("Passkey renamed", None, false),
        super::passkey::DELETED => shown(
            "Passkey deleted",
            super::passkey::name_in_detail(detail).map(str::to_owned),
            true,
        ),
        "user.disabled" => shown("Account disabled by an administrator", None, true),
        "user.enabled" => shown("Account enabled by an administrator", None, false),
        _ => None,
    }
}

/// `title`, saying how many times when it was more than once.
fn counted(title: &str, count: u32) -> String {
    match count {
        0 | 1 => title.to_owned(),
        _ => format!("{title} ({count} times)"),
    }
}

/// A failed sign-in's detail as the person reads it: one after the right password says so
/// (someone has it: `domain::attack_alert`).
fn failure_detail(detail: &str) -> String {
    if super::attack_alert::after_the_right_password(detail) {
        format!("Right password, {detail}")
    } else {
        capitalized(detail)
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A short name for the client of an event: "Firefox on Linux" for a browser, the name an app
/// gave ("IMAP") otherwise, at most `MAX_CLIENT_CHARS` characters.
pub fn client_name(user_agent: &str) -> Option<String> {
    const MAX_CLIENT_CHARS: usize = 40;
    let user_agent = user_agent.trim();
    if user_agent.is_empty() {
        return None;
    }
    // Worded as Security info's signed-in browsers are.
    let browser = super::user_agent::describe(user_agent);
    if browser.is_known() {
        return Some(browser.label());
    }
    let mut short: String = user_agent.chars().take(MAX_CLIENT_CHARS).collect();
    if short.len() < user_agent.len() {
        short.push('…');
    }
    Some(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_names(_: i32) -> Option<String> {
        None
    }

    /// An event that happened once, from 192.0.2.1.
    fn once(kind: &str, detail: &str) -> Option<Activity> {
        describe(kind, detail, 1, Some("192.0.2.1"), no_names)
    }

    #[test]
    fn person_events_are_worded_and_admin_events_hidden() {
        let signed_in = once("sign_in.succeeded", "password");
        assert_eq!(
            signed_in.map(|a| (a.title, a.detail)),
            Some(("Signed in".to_owned(), Some("Password".to_owned())))
        );
        let created = once("app_password.created", "'Outlook 2010' (id 7)");
        assert_eq!(
            created.and_then(|a| a.detail),
            Some("Outlook 2010".to_owned())
        );
        let renamed = once("app_password.renamed", "'Mail' to 'Thunder' (id 7)");
        assert_eq!(renamed.and_then(|a| a.detail), Some("Thunder".to_owned()));
        let recovered = once("sign_in.succeeded", SIGNED_IN_WITH_RECOVERY_CODE);
        assert_eq!(
            recovered.and_then(|a| a.detail),
            Some("Password and recovery code".to_owned())
        );
        let used = once("recovery_code.used", "2 recovery codes left");
        assert_eq!(
            used.map(|a| (a.title, a.detail, a.notable)),
            Some((
                "Recovery code used".to_owned(),
                Some("2 recovery codes left".to_owned()),
                true
            ))
        );
        let failed = once("sign_in.failed", "wrong password");
        assert!(failed.as_ref().is_some_and(|a| a.notable));
        assert_eq!(
            failed.map(|a| (a.title, a.detail)),
            Some((
                "Sign-in failed".to_owned(),
                Some("Wrong password".to_owned())
            ))
        );
        // A failed second step after the right password says so; others as they are.
        let after_password = once("sign_in.failed", "wrong recovery code");
        assert_eq!(
            after_password.and_then(|a| a.detail),
            Some("Right password, wrong recovery code".to_owned())
        );
        let counted = describe(
            "sign_in.failed",
            "wrong authenticator code",
            4,
            None,
            no_names,
        );
        assert_eq!(
            counted.map(|a| (a.title, a.detail, a.notable)),
            Some((
                "4 failed sign-ins".to_owned(),
                Some("Right password, wrong authenticator code".to_owned()),
                true
            ))
        );
        let alert = once(
            super::super::attack_alert::ALERTED,
            &super::super::attack_alert::alert_detail(),
        );
        assert_eq!(
            alert.map(|a| (a.title, a.detail, a.notable)),
            Some((
                "Someone entered your password but not the code".to_owned(),
                Some("10 wrong codes since the last sign-in".to_owned()),
                true
            ))
        );
        let signed_out = once(SIGNED_OUT_A_BROWSER, "Firefox on Windows, 192.0.2.7");
        assert_eq!(
            signed_out.map(|a| (a.title, a.detail, a.notable)),
            Some((
                "Signed out a browser".to_owned(),
                Some("Firefox on Windows, 192.0.2.7".to_owned()),
                false
            ))
        );
        assert_eq!(once("user.made_admin", ""), None);
        for kind in SHOWN_KINDS {
            assert!(once(kind, "").is_some(), "{kind} is worded");
        }
        assert_eq!(once("policy.changed", "x = on"), None);
    }

    #[test]
    fn counted_failures_say_how_many_and_from_where() {
        let failed = |detail, count, address| {
            describe("sign_in.failed", detail, count, address, no_names)
                .map(|a| (a.title, a.detail, a.notable))
        };
        assert_eq!(
            failed("wrong password", 3, Some("203.0.113.7")),
            Some((
                "3 failed sign-ins from 203.0.113.7".to_owned(),
                Some("Wrong password".to_owned()),
                true
            ))
        );
        assert_eq!(
            failed("wrong authenticator code", 2, None).map(|a| a.0),
            Some("2 failed sign-ins".to_owned())
        );
        assert_eq!(
            failed(audit_bounds::OTHERS, 812, None),
            Some((
                "812 more failed sign-ins from other addresses".to_owned(),
                None,
                true
            ))
        );
        assert_eq!(
            failed(audit_bounds::OTHERS, 1, None).map(|a| a.0),
            Some("1 more failed sign-in from another address".to_owned())
        );
        // Any other kind counted more than once says so too.
        assert_eq!(
            describe("sign_out", "", 2, None, no_names).map(|a| a.title),
            Some("Signed out (2 times)".to_owned())
        );
    }

    #[test]
    fn an_expired_app_password_is_named() {
        let expired = describe(
            crate::domain::app_password::EXPIRED,
            "'Outlook 2010' (id 7) expired on Jan 5, 2027, 14:05 UTC, after 90 days unused",
            1,
            None,
            no_names,
        );
        assert_eq!(
            expired.map(|a| (a.title, a.detail, a.notable)),
            Some((
                "App password expired".to_owned(),
                Some("Outlook 2010".to_owned()),
                true
            ))
        );
    }

    #[test]
    fn a_new_address_names_the_app_password_while_it_exists() {
        let detail = "app password 42 used from 192.0.2.7 for the first time";
        let named = describe("app_password.new_ip", detail, 1, None, |id| {
            (id == 42).then(|| "Outlook".to_owned())
        });
        assert_eq!(named.and_then(|a| a.detail), Some("Outlook".to_owned()));
        let gone = once("app_password.new_ip", detail);
        assert_eq!(
            gone.and_then(|a| a.detail),
            Some("(since deleted)".to_owned())
        );
    }

    #[test]
    fn clients_are_named_briefly() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(client_name(firefox), Some("Firefox on Linux".to_owned()));
        let chrome = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari/604.1";
        assert_eq!(client_name(chrome), Some("Chrome on iOS".to_owned()));
        assert_eq!(client_name("IMAP"), Some("IMAP".to_owned()));
        assert_eq!(client_name("  "), None);
        assert_eq!(
            client_name(&"x".repeat(60)).map(|n| n.chars().count()),
            Some(41)
        );
    }
}
