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

/// The longest name a person gives one of their things (an app password, an authenticator app,
/// a passkey).
pub const MAX_ITEM_NAME_CHARS: usize = 64;

/// A name a person gives one of their things: 1 to 64 characters after trimming; letters,
/// digits, spaces and punctuation (no control or invisible characters, which could make one
/// name read as another); one spelling (NFC), inner runs of spaces made one. `when_empty` is
/// what an empty one is told.
pub fn parse_item_name(input: &str, when_empty: &str) -> Result<String, ValidationError> {
    use unicode_normalization::UnicodeNormalization;
    let normalized: String = input.trim().nfc().collect();
    if normalized.is_empty() {
        return Err(ValidationError::new("name", when_empty));
    }
    let chars = normalized.chars().count();
    if chars > MAX_ITEM_NAME_CHARS {
        return Err(ValidationError::new(
            "name",
            format!("Use at most {MAX_ITEM_NAME_CHARS} characters (this name has {chars})."),
        ));
    }
    if normalized
        .chars()
        .any(|c| c.is_control() || account::is_deceptive(c))
    {
        return Err(ValidationError::new(
            "name",
            "Use letters, digits, spaces and punctuation only (no invisible characters).",
        ));
    }
    Ok(normalized.split_whitespace().collect::<Vec<_>>().join(" "))
}

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
