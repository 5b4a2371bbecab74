//! Rules for the names and passwords people type: organization name, display name,
//! username (an email-like sign-in name) and a new account password.

use unicode_normalization::UnicodeNormalization;

use super::ValidationError;

/// NIST SP 800-63B asks for at least 8; we ask for 12, as the product promises.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Long passphrases are welcome, but argon2 input is bounded to keep hashing cheap.
pub const MAX_PASSWORD_CHARS: usize = 256;
const MAX_NAME_CHARS: usize = 100;
const MAX_USERNAME_CHARS: usize = 254;

/// Trims and checks a human-readable name (organization or person). `what` completes
/// "Enter ..."; `label` starts the length message.
fn parse_name(
    field: &'static str,
    what: &str,
    label: &str,
    input: &str,
) -> Result<String, ValidationError> {
    let normalized: String = input.trim().nfc().collect();
    let name = normalized.as_str();
    if name.is_empty() {
        return Err(ValidationError::new(field, format!("Enter {what}.")));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ValidationError::new(
            field,
            format!("{label} can be at most {MAX_NAME_CHARS} characters."),
        ));
    }
    if name.chars().any(|c| c.is_control() || is_deceptive(c)) {
        return Err(ValidationError::new(
            field,
            "Use letters, digits, spaces and punctuation only (no invisible characters).",
        ));
    }
    Ok(normalized)
}

pub fn parse_organization_name(input: &str) -> Result<String, ValidationError> {
    parse_name(
        "organization",
        "the organization's name",
        "The organization's name",
        input,
    )
}

pub fn parse_display_name(input: &str) -> Result<String, ValidationError> {
    parse_name("display_name", "your name", "A name", input)
}

/// Invisible characters that make text display differently from what it is: bidirectional
/// overrides and isolates (which can reverse how a name reads) and zero-width characters
/// (which make two names look the same).
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061C}'
            | '\u{FEFF}'
    )
}

/// The key a sign-in name is looked up and counted under, for any input (also one that is
/// not a valid name): trimmed, NFC-normalised, lower-case.
pub fn lookup_key(input: &str) -> String {
    input.trim().nfc().collect::<String>().to_lowercase()
}

/// The key the people search finds a display name under: like a sign-in name's (NFC,
/// lower-case), so a prefix typed in any case matches.
pub fn name_key(display_name: &str) -> String {
    lookup_key(display_name)
}

/// The keys that start with `prefix`, as the range `from <= key < until` in byte order (UTF-8
/// orders like code points), which an index answers; `until` is `None` when no string ends it.
pub fn prefix_range(prefix: &str) -> (String, Option<String>) {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The smallest character after `last`; surrogates are not characters.
        let next = match last as u32 + 1 {
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return (prefix.to_owned(), Some(chars.into_iter().collect()));
        }
    }
    (prefix.to_owned(), None)
}

/// A sign-in name such as `ada@example.org`, as typed (trimmed, NFC), plus its case-folded key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    display: String,
    key: String,
}

impl Username {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "username",
                "Enter a sign-in name like someone@example.org, without spaces.",
            )
        };
        // One spelling per name: "é" typed as one character or as "e" plus an accent.
        let normalized: String = input.trim().nfc().collect();
        let name = normalized.as_str();
        if name.is_empty() {
            return Err(ValidationError::new("username", "Enter a sign-in name."));
        }
        if name.chars().count() > MAX_USERNAME_CHARS {
            return Err(ValidationError::new(
                "username",
                format!("A sign-in name can be at most {MAX_USERNAME_CHARS} characters."),
            ));
        }
        let (local, domain) = name.split_once('@').ok_or_else(invalid)?;
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '@' || is_deceptive(c);
        if local.is_empty()
            || domain.is_empty()
            || domain.starts_with('.')
            || domain.ends_with('.')
            || name.chars().filter(|&c| c == '@').count() != 1
            || local.chars().any(bad_char)
            || domain.chars().any(bad_char)
        {
            return Err(invalid());
        }
        Ok(Self {
            display: name.to_owned(),
            key: lookup_key(name),
        })
    }

    /// As the person typed it, for display.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// Case-folded, for lookups and the unique index.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Checks a new account password of the person signing in as `username`, and its
/// confirmation. Beyond the length, NIST SP 800-63B asks to refuse what a guesser tries first:
/// common and breached passwords, repeats, sequences and rows of keys, and words of the context
/// (here the sign-in name). `zxcvbn` estimates how many guesses a password takes from large
/// frequency lists and those patterns; a password found in fewer than 10^8 guesses is refused
/// ("correct horse" passes, "qwertyuiopasdf" and "Bob Bob Bob Bob" do not).
pub fn check_new_password(
    password: &str,
    confirmation: &str,
    username: &str,
) -> Result<(), ValidationError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ValidationError::new(
            "password",
            format!("Use at least {MIN_PASSWORD_CHARS} characters (this one has {chars})."),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(ValidationError::new(
            "password",
            format!("Use at most {MAX_PASSWORD_CHARS} characters."),
        ));
    }
    if lookup_key(password) == lookup_key(username) {
        return Err(ValidationError::new(
            "password",
            "Choose a password that is not the sign-in name.",
        ));
    }
    if let Some(why) = easy_to_guess(password, username) {
        return Err(ValidationError::new(
            "password",
            format!("That password is too easy to guess. {why}Try a few unrelated words."),
        ));
    }
    if password != confirmation {
        return Err(ValidationError::new(
            "confirm_password",
            "The two passwords don't match.",
        ));
    }
    Ok(())
}

/// Why `password` falls to a guesser who knows the usual patterns and `username`: zxcvbn's
/// warning followed by a space (or nothing when it has none), or `None` when the password
/// takes at least 10^8 guesses.
fn easy_to_guess(password: &str, username: &str) -> Option<String> {
    // The estimate's time grows with the length; what comes after 100 characters only adds.
    let start: String = password.chars().take(100).collect();
    let local_part = username.split('@').next().unwrap_or(username);
    let estimate = zxcvbn::zxcvbn(&start, &[username, local_part]);
    if estimate.score() >= zxcvbn::Score::Three {
        return None;
    }
    let warning = estimate.feedback().and_then(|feedback| feedback.warning());
    Some(warning.map_or_else(String::new, |w| format!("{w} ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_one_spelling_and_no_invisible_characters() {
        // "é" as one character and as "e" + combining acute: one sign-in name.
        let composed = Username::parse("\u{e9}lodie@example.org").map(|u| u.key().to_owned());
        let decomposed = Username::parse("e\u{301}lodie@example.org").map(|u| u.key().to_owned());
        assert_eq!(composed.as_ref().ok(), decomposed.as_ref().ok());
        assert_eq!(
            lookup_key(" E\u{301}LODIE@example.org "),
            "\u{e9}lodie@example.org"
        );
        for deceptive in [
            "ada\u{202E}gro.elpmaxe@example.org",
            "ad\u{200B}a@example.org",
            "ada@exa\u{2066}mple.org",
            "\u{feff}ada@example.org",
        ] {
            assert!(Username::parse(deceptive).is_err(), "{deceptive:?}");
        }
        assert!(parse_display_name("Ada \u{202E}ecalevoL").is_err());
        assert_eq!(
            parse_display_name("Ame\u{301}lie").ok().as_deref(),
            Some("Am\u{e9}lie")
        );
    }

    #[test]
    fn usernames_are_email_like_and_case_folded() {
        let name = Username::parse("  Ada.Lovelace@Example.ORG ").map_err(|e| e.message);
        let name = name.as_ref().map(|n| (n.as_str(), n.key()));
        assert_eq!(
            name,
            Ok(("Ada.Lovelace@Example.ORG", "ada.lovelace@example.org"))
        );
        assert!(Username::parse("élodie@école.fr").is_ok());
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "a b@example.org",
            "a@b@c",
            "ada@.org",
            "ada@org.",
        ] {
            let err = Username::parse(bad).err();
            assert_eq!(
                err.map(|e| e.field),
                Some("username"),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            parse_organization_name("  Contoso  "),
            Ok("Contoso".to_owned())
        );
        assert_eq!(parse_display_name(" Zoë ").as_deref(), Ok("Zoë"));
        assert_eq!(
            parse_display_name("   ").map_err(|e| e.message),
            Err("Enter your name.".to_owned())
        );
        let long = "x".repeat(101);
        assert_eq!(
            parse_organization_name(&long).map_err(|e| e.message),
            Err("The organization's name can be at most 100 characters.".to_owned())
        );
        assert!(parse_display_name("a\u{0007}b").is_err());
    }

    #[test]
    fn passwords_need_twelve_characters_and_a_match() {
        let ada = "ada@example.org";
        let check = |password: &str| check_new_password(password, password, ada);
        assert!(check("correct horse").is_ok());
        // Twelve characters, not twelve bytes.
        assert!(check("éléphantrosé").is_ok());
        assert!(check("éléphantros").is_err());
        assert_eq!(check("short").err().map(|e| e.field), Some("password"));
        let mismatch = check_new_password("long enough pass", "long enough pasS", ada).err();
        assert_eq!(mismatch.map(|e| e.field), Some("confirm_password"));
        assert!(check(&"p".repeat(257)).is_err());
    }

    #[test]
    fn passwords_a_guesser_tries_first_are_refused() {
        let message = |password: &str, username: &str| {
            check_new_password(password, password, username)
                .err()
                .map(|e| (e.field, e.message))
        };
        let ada = "ada@example.org";
        for easy in [
            "password1234",
            "qwertyuiop123",
            // Rows of keys, repeats and sequences.
            "qwertyuiopasdf",
            "zxcvbnmasdfgh",
            "Bob Bob Bob Bob",
            "abcdefghijklmnop",
            "summer202020",
            // The sign-in name, with something added.
            "ada@example.org1",
        ] {
            let refused = message(easy, ada);
            assert!(
                refused
                    .as_ref()
                    .is_some_and(|(field, text)| *field == "password"
                        && text.starts_with("That password is too easy to guess.")
                        && text.ends_with("Try a few unrelated words.")),
                "{easy}: {refused:?}"
            );
        }
        // The sign-in name itself, in any case, is named as such.
        assert_eq!(
            message("Ada@Example.org", ada).map(|(_, text)| text),
            Some("Choose a password that is not the sign-in name.".to_owned())
        );
        for fine in [
            "a brand new passphrase",
            "correct horse battery",
            "Tr0ub4dor&3xyz",
        ] {
            assert_eq!(message(fine, ada), None, "{fine}");
        }
        // Only the first 100 characters are estimated: a long password is checked quickly.
        let long = format!("{}{}", "a brand new passphrase ".repeat(4), "a".repeat(150));
        assert_eq!(message(&long, ada), None);
        assert!(message(&"a".repeat(256), ada).is_some());
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_keys_that_start_with_it() {
        let keys = [
            "",
            "a",
            "a-z",
            "ab",
            "ab\u{10FFFF}",
            "abc",
            "abd",
            "ac",
            "b",
            "\u{D7FF}x",
            "\u{E000}",
            "\u{10FFFF}",
            "\u{10FFFF}a",
        ];
        for prefix in [
            "",
            "a",
            "ab",
            "a-",
            "\u{D7FF}",
            "\u{10FFFF}",
            "ab\u{10FFFF}",
        ] {
            let (from, until) = prefix_range(prefix);
            for key in keys {
                // `str`'s order is byte order, as in the database.
                let in_range =
                    key >= from.as_str() && until.as_deref().is_none_or(|until| key < until);
                assert_eq!(in_range, key.starts_with(prefix), "{prefix:?} and {key:?}");
            }
        }
        assert_eq!(prefix_range("ab"), ("ab".to_owned(), Some("ac".to_owned())));
        assert_eq!(prefix_range("\u{10FFFF}").1, None);
        assert_eq!(name_key(" Ada LOVELACE "), "ada lovelace");
    }
}
