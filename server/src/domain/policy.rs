//! The organization's policy switches and the rules about administrators.

/// One of the organization's on/off settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// People may create and use app passwords.
    AllowAppPasswords,
    /// App passwords are managed on Security info (on) or the legacy page (off).
    SecurityInfoExperience,
    /// Everyone must keep a second factor.
    RequireTwoStep,
    /// An administrator's password reset also revokes the person's app passwords.
    ResetRevokesAppPasswords,
    /// People may reset their own password with a link mailed to them ("Forgot password?";
    /// off by default, and only where mail is set up).
    ResetPasswordByMail,
}

impl Setting {
    /// Its name on the command line and in audit events.
    pub fn name(self) -> &'static str {
        match self {
            Self::AllowAppPasswords => "allow-app-passwords",
            Self::SecurityInfoExperience => "security-info-experience",
            Self::RequireTwoStep => "require-two-step",
            Self::ResetRevokesAppPasswords => "reset-revokes-app-passwords",
            Self::ResetPasswordByMail => "reset-password-by-mail",
        }
    }
}

/// Whether an enabled administrator may stop being one (lose the role, or be disabled) when
/// `other_enabled_administrators` others remain: someone must always be able to administer.
pub fn may_stop_administering(other_enabled_administrators: u64) -> bool {
    other_enabled_administrators > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_administrator_stays() {
        assert!(!may_stop_administering(0));
        assert!(may_stop_administering(1));
    }

    #[test]
    fn settings_have_distinct_names() {
        let names = [
            Setting::AllowAppPasswords,
            Setting::SecurityInfoExperience,
            Setting::RequireTwoStep,
            Setting::ResetRevokesAppPasswords,
            Setting::ResetPasswordByMail,
        ]
        .map(Setting::name);
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
    }
}
