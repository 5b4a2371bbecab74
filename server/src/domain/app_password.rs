//! App passwords: generation, display and normalisation of the secret, name rules, the
//! per-user limit, and the fresh-sign-in rule for creating one.
//!
//! A secret is 16 lowercase letters drawn uniformly (26^16, about 75 bits), shown as four groups
//! of four and accepted later with or without spaces, in any case.

use chrono::{DateTime, Duration, Utc};

use super::ValidationError;
use super::random::RandomSource;

/// How many app passwords one person may have.
pub const MAX_PER_USER: u64 = 40;
pub const SECRET_LETTERS: usize = 16;
pub const MAX_NAME_CHARS: usize = 64;
/// Creating an app password needs a sign-in or re-verification this recent.
pub const REVERIFY_WINDOW: Duration = Duration::minutes(10);
/// Purpose string of the keyed lookup hash (HMAC with the server key).
pub const LOOKUP_PURPOSE: &str = "latchkey app password lookup v1";

/// A freshly generated secret: 16 lowercase letters. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct AppPasswordSecret(String);

impl std::fmt::Debug for AppPasswordSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppPasswordSecret(..)")
    }
}

impl AppPasswordSecret {
    /// Draws 16 letters uniformly: bytes of 234 or more are redrawn, so `byte % 26` has no bias
    /// (234 = 9 × 26).
    pub fn generate(rng: &mut impl RandomSource) -> Self {
        let mut letters = String::with_capacity(SECRET_LETTERS);
        let mut buffer = [0u8; 32];
        while letters.len() < SECRET_LETTERS {
            rng.fill(&mut buffer);
            for &byte in &buffer {
                if byte < 234 && letters.len() < SECRET_LETTERS {
                    letters.push(char::from(b'a' + byte % 26));
                }
            }
        }
        Self(letters)
    }

    /// The 16 letters, as stored (hashed) and compared.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// "abcd efgh ijkl mnop", as shown once to the person.
    pub fn for_display(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What someone typed, if it can be an app password: spaces dropped, case folded.
    pub fn normalize(input: &str) -> Option<Self> {
        let letters: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        (letters.len() == SECRET_LETTERS && letters.bytes().all(|b| b.is_ascii_lowercase()))
            .then_some(Self(letters))
    }
}

/// The name of the app an app password is for, e.g. "Outlook 2010".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppName {
    name: String,
    key: String,
}

impl AppName {
    /// 1 to 64 characters after trimming; any letters, digits, spaces and punctuation.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        use unicode_normalization::UnicodeNormalization;
        // One spelling per name, so "Café" typed two ways is one name.
        let normalized: String = input.trim().nfc().collect();
        let name = normalized.as_str();
        if name.is_empty() {
            return Err(ValidationError::new(
                "name",
                "Enter a name for the app, for example Outlook 2010.",
            ));
        }
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(ValidationError::new(
                "name",
                format!("Use at most {MAX_NAME_CHARS} characters (this name has {chars})."),
            ));
        }
        if name
            .chars()
            .any(|c| c.is_control() || super::account::is_deceptive(c))
        {
            return Err(ValidationError::new(
                "name",
                "Use letters, digits, spaces and punctuation only (no invisible characters).",
            ));
        }
        // Collapse inner runs of whitespace so "Outlook  2010" and "Outlook 2010" are one name.
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let key = name.to_lowercase();
        Ok(Self { name, key })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// Case-folded, for the per-user unique index.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Whether a session verified at `verified_at` may create an app password at `now`.
pub fn recently_verified(verified_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - verified_at < REVERIFY_WINDOW
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    /// A source that replays fixed bytes, to test the rejection of biased values.
    struct Fixed(Vec<u8>);
    impl RandomSource for Fixed {
        fn fill(&mut self, buf: &mut [u8]) {
            for b in buf.iter_mut() {
                *b = if self.0.is_empty() {
                    0
                } else {
                    self.0.remove(0)
                };
            }
        }
    }

    #[test]
    fn app_names_have_one_spelling_and_no_invisible_characters() {
        let composed = AppName::parse("Caf\u{e9} mail").map(|n| n.key().to_owned());
        let decomposed = AppName::parse("Cafe\u{301} mail").map(|n| n.key().to_owned());
        assert_eq!(composed.as_ref().ok(), decomposed.as_ref().ok());
        for deceptive in ["Outlook\u{202E}0102", "Out\u{200D}look", "\u{2067}Mail"] {
            assert!(AppName::parse(deceptive).is_err(), "{deceptive:?}");
        }
    }

    #[test]
    fn secrets_are_sixteen_lowercase_letters() {
        for _ in 0..100 {
            let secret = AppPasswordSecret::generate(&mut OsRandom);
            assert_eq!(secret.as_str().len(), 16);
            assert!(secret.as_str().bytes().all(|b| b.is_ascii_lowercase()));
        }
        assert_eq!(
            format!("{:?}", AppPasswordSecret::generate(&mut OsRandom)),
            "AppPasswordSecret(..)"
        );
    }

    #[test]
    fn bytes_that_would_bias_the_letters_are_redrawn() {
        let mut bytes = vec![234, 255, 240];
        bytes.extend(0..16);
        let secret = AppPasswordSecret::generate(&mut Fixed(bytes));
        assert_eq!(secret.as_str(), "abcdefghijklmnop");
        let secret = AppPasswordSecret::generate(&mut Fixed(vec![233, 25, 26, 51, 52]));
        assert!(secret.as_str().starts_with("zzaza"), "{}", secret.as_str());
    }

    #[test]
    fn letters_are_roughly_uniform() {
        let mut counts = [0u32; 26];
        for _ in 0..2_000 {
            for b in AppPasswordSecret::generate(&mut OsRandom).as_str().bytes() {
                counts[usize::from(b - b'a')] += 1;
            }
        }
        // 32 000 letters, about 1231 each; a biased generator would be far outside ±25 %.
        for (letter, &count) in counts.iter().enumerate() {
            assert!((923..=1539).contains(&count), "letter {letter}: {count}");
        }
    }

    #[test]
    fn shown_in_groups_and_accepted_with_spaces_in_any_case() {
        let secret = AppPasswordSecret::normalize("abcdefghijklmnop");
        assert_eq!(
            secret
                .as_ref()
                .map(AppPasswordSecret::for_display)
                .as_deref(),
            Some("abcd efgh ijkl mnop")
        );
        assert_eq!(
            AppPasswordSecret::normalize(" ABCD efgh IJKL mnop "),
            secret
        );
        assert_eq!(
            AppPasswordSecret::normalize("abcd\tefgh\nijkl mnop"),
            secret
        );
        for bad in [
            "",
            "abcd efgh ijkl mno",
            "abcd efgh ijkl mnopq",
            "abcd efgh ijkl mn0p",
            "abcd-efgh-ijkl-mnop",
            "àbcd efgh ijkl mnop",
        ] {
            assert_eq!(AppPasswordSecret::normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_bounded_and_case_insensitive() {
        let name = AppName::parse("  Outlook   2010 ").map_err(|e| e.message);
        assert_eq!(
            name.as_ref().map(|n| (n.as_str(), n.key())),
            Ok(("Outlook 2010", "outlook 2010"))
        );
        assert!(AppName::parse("Thunderbird für Zoë 邮件").is_ok());
        assert!(AppName::parse(&"é".repeat(64)).is_ok());
        let long = AppName::parse(&"é".repeat(65)).err().map(|e| e.message);
        assert_eq!(
            long.as_deref(),
            Some("Use at most 64 characters (this name has 65).")
        );
        assert_eq!(AppName::parse("   ").err().map(|e| e.field), Some("name"));
        assert!(AppName::parse("tab\u{0009}inside").is_err());
        assert!(AppName::parse("bell\u{0007}").is_err());
    }

    #[test]
    fn creating_needs_a_verification_within_ten_minutes() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert!(recently_verified(now - Duration::minutes(9), now));
        assert!(!recently_verified(now - Duration::minutes(10), now));
    }
}
