//! Latchkey's rules, as plain Rust: no HTTP, no database, no clock or randomness of their
//! own (both are passed in), so every rule is tested directly.

pub mod account;
pub mod activity;
pub mod alerts;
pub mod app_password;
pub mod apple_profile;
pub mod attack_alert;
pub mod audit_bounds;
pub mod basic_auth;
pub mod known_device;
pub mod mail_protocol;
pub mod mail_settings;
pub mod method_reset;
pub mod passkey;
pub mod password;
pub mod password_link;
pub mod policy;
pub mod random;
pub mod recovery_code;
pub mod second_factor;
pub mod session;
pub mod setup_token;
pub mod sign_in_link;
pub mod spreadsheet;
pub mod throttle;
pub mod timefmt;
pub mod totp;
pub mod user_agent;

/// A count with its noun, for audit details and messages: "1 session ended", "2 sessions
/// ended", "0 sessions ended".
pub fn counted(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// Bad input, with the form field it concerns and a message fit to show the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
