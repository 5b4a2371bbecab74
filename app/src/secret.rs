//! `Secret`: a string that must not be printed (passwords, codes). `#[server]` functions
//! derive `Debug` for their arguments, and forms are logged when debugging; this type keeps
//! the value out of both. It is sent and read as a plain string.

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What a hand-written `Debug` prints in place of a secret field: `<redacted>`.
pub struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value_and_serde_sees_a_plain_string() {
        let secret = Secret::new("plum tractor sideways");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(
            serde_json::to_string(&secret).ok().as_deref(),
            Some("\"plum tractor sideways\"")
        );
        let form: std::collections::HashMap<String, Secret> =
            serde_urlencoded::from_str("password=a+b").unwrap_or_default();
        assert_eq!(form.get("password").map(Secret::expose), Some("a b"));
    }
}
