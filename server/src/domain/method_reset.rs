//! An administrator's reset of a person's sign-in methods, the way back in for someone who lost
//! theirs: every second factor goes (authenticator apps, passkeys and security keys, recovery
//! codes), every session ends,
//! and the app passwords are revoked or, kept, stop until a method is added again, as the
//! organization's reset setting says. Here: the audit event and its words, and when
//! administrators resetting their own methods must first say they understand what follows.

use super::counted;

/// The audit event of a reset (mailed to the person; it names the administrator).
pub const RESET: &str = "methods.reset";

/// What a reset removed and ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MethodsReset {
    pub authenticator_apps: u64,
    /// Passkeys and security keys.
    pub passkeys: u64,
    pub recovery_codes: u64,
    pub sessions_ended: u64,
    /// Revoked, when the organization's reset setting says so.
    pub app_passwords_revoked: u64,
    /// Kept otherwise: with no second factor they stop signing in until one is added.
    pub app_passwords_stopped: u64,
}

impl MethodsReset {
    /// The audit event's detail, which the person's mail quotes:
    /// "1 authenticator app and 10 recovery codes removed, 2 sessions ended, 3 app passwords
    /// revoked".
    pub fn detail(&self) -> String {
        let mut removed = Vec::new();
        if self.authenticator_apps > 0 {
            removed.push(counted(
                self.authenticator_apps,
                "authenticator app",
                "authenticator apps",
            ));
        }
        if self.passkeys > 0 {
            removed.push(counted(self.passkeys, "passkey", "passkeys"));
        }
        if self.recovery_codes > 0 {
            removed.push(counted(
                self.recovery_codes,
                "recovery code",
                "recovery codes",
            ));
        }
        let removed = match removed.split_last() {
            None => "no method to remove".to_owned(),
            Some((last, [])) => format!("{last} removed"),
            Some((last, others)) => format!("{} and {last} removed", others.join(", ")),
        };
        let sessions = counted(self.sessions_ended, "session ended", "sessions ended");
        let app_passwords = match (self.app_passwords_revoked, self.app_passwords_stopped) {
            (0, 0) => "no app passwords".to_owned(),
            (0, kept) => format!(
                "{} until a method is added",
                counted(
                    kept,
                    "app password kept, stopped",
                    "app passwords kept, stopped"
                )
            ),
            (revoked, _) => counted(revoked, "app password revoked", "app passwords revoked"),
        };
        format!("{removed}, {sessions}, {app_passwords}")
    }
}

/// What follows, beyond being signed out, when administrators reset their own methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OwnReset {
    /// The organization requires two-step verification: the console is closed to them until
    /// they add a method.
    pub two_step_required: bool,
    /// Nobody else can manage the organization meanwhile.
    pub last_administrator: bool,
}

impl OwnReset {
    /// Whether they must first say they understand it.
    pub fn needs_confirmation(self) -> bool {
        self.two_step_required || self.last_administrator
    }

    /// Whether having been told `told` covers this: everything that follows was said.
    pub fn told_by(self, told: Self) -> bool {
        (!self.two_step_required || told.two_step_required)
            && (!self.last_administrator || told.last_administrator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_says_what_went_and_what_became_of_the_app_passwords() {
        let revoked = MethodsReset {
            authenticator_apps: 1,
            passkeys: 0,
            recovery_codes: 10,
            sessions_ended: 2,
            app_passwords_revoked: 3,
            app_passwords_stopped: 0,
        };
        assert_eq!(
            revoked.detail(),
            "1 authenticator app and 10 recovery codes removed, 2 sessions ended, 3 app passwords revoked"
        );
        let kept = MethodsReset {
            authenticator_apps: 1,
            passkeys: 0,
            recovery_codes: 0,
            sessions_ended: 1,
            app_passwords_revoked: 0,
            app_passwords_stopped: 1,
        };
        assert_eq!(
            kept.detail(),
            "1 authenticator app removed, 1 session ended, 1 app password kept, stopped until a method is added"
        );
        let every_kind = MethodsReset {
            authenticator_apps: 2,
            passkeys: 1,
            recovery_codes: 9,
            sessions_ended: 0,
            app_passwords_revoked: 0,
            app_passwords_stopped: 0,
        };
        assert_eq!(
            every_kind.detail(),
            "2 authenticator apps, 1 passkey and 9 recovery codes removed, 0 sessions ended, no app passwords"
        );
        assert_eq!(
            MethodsReset::default().detail(),
            "no method to remove, 0 sessions ended, no app passwords"
        );
    }

    #[test]
    fn only_a_reset_that_closes_the_console_needs_an_explicit_confirmation() {
        let own = |two_step_required, last_administrator| OwnReset {
            two_step_required,
            last_administrator,
        };
        assert!(!own(false, false).needs_confirmation());
        assert!(own(true, false).needs_confirmation());
        assert!(own(false, true).needs_confirmation());
        assert!(own(true, true).needs_confirmation());
        // Understood only when everything that follows was said.
        assert!(own(true, true).told_by(own(true, true)));
        assert!(!own(true, true).told_by(own(true, false)));
        assert!(!own(false, true).told_by(own(true, false)));
        assert!(own(true, false).told_by(own(true, true)));
        assert!(own(false, false).told_by(own(false, false)));
    }
}
