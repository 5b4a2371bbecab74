//! Recovery codes: a way back in for a person who lost their authenticator app. A set is 10
//! single-use codes; getting new ones replaces the whole set.
//!
//! A code is 15 characters drawn uniformly from an alphabet of 31 with no look-alikes (no 0/o,
//! 1/l/i), shown as three groups of five ("7kx2m-qp4rz-a9fh3"): 31^15, about 74 bits. Typed
//! back, case, spaces and dashes do not matter.
//!
//! Codes are stored as a keyed hash (HMAC-SHA-256 under the server key, the same construction
//! as the app passwords' lookup hash, `secret_key::SecretKey::keyed_hash`), not with argon2:
//! argon2 makes guessing a *low*-entropy secret from a stolen hash slow, but 74 random bits
//! cannot be guessed either way, and a keyed hash can be found by equality in one indexed
//! query, so a use needs no hashing pool time and an attacker's guesses cannot load it. Without
//! the key file, a stolen database does not even let anyone test a guess.

use super::random::RandomSource;

/// How many codes one set holds.
pub const CODES_PER_SET: usize = 10;
/// At this many codes left or fewer, Security info says it is time for new ones.
pub const FEW_LEFT: u64 = 2;
/// The characters a code is made of: lowercase letters and digits without those that look
/// alike (0 and o, 1 and l and i).
pub const ALPHABET: &[u8; 31] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// Characters in a code (without its dashes).
pub const CODE_CHARS: usize = 15;
/// Characters per group as shown.
pub const GROUP_CHARS: usize = 5;
/// Purpose string of the keyed hash (HMAC with the server key) a code is stored as.
pub const HASH_PURPOSE: &str = "latchkey recovery code v1";

/// The audit event of a new set (the earlier one stops working).
pub const CREATED: &str = "recovery_codes.created";
/// The audit event of a code used to sign in; the person is mailed.
pub const USED: &str = "recovery_code.used";

/// Bytes at or above this are redrawn, so `byte % 31` has no bias (248 = 8 × 31).
const UNBIASED_BELOW: u8 = 248;

/// One recovery code, normalised (15 characters of [`ALPHABET`], no dashes). `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RecoveryCode(String);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

impl RecoveryCode {
    /// Draws a code uniformly from the whole space.
    pub fn generate(rng: &mut impl RandomSource) -> Self {
        let mut code = String::with_capacity(CODE_CHARS);
        let mut buffer = [0u8; 32];
        while code.len() < CODE_CHARS {
            rng.fill(&mut buffer);
            for &byte in &buffer {
                if byte < UNBIASED_BELOW && code.len() < CODE_CHARS {
                    let index = usize::from(byte) % ALPHABET.len();
                    code.push(char::from(ALPHABET[index]));
                }
            }
        }
        Self(code)
    }

    /// What someone typed, if it can be a recovery code: spaces and dashes dropped, case
    /// folded. Anything else is not one, and is not looked up.
    pub fn parse(input: &str) -> Option<Self> {
        let code: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && !is_dash(*c))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        (code.len() == CODE_CHARS && code.bytes().all(|b| ALPHABET.contains(&b)))
            .then_some(Self(code))
    }

    /// The code as stored (hashed) and compared.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// "7kx2m-qp4rz-a9fh3", as shown once to the person.
    pub fn for_display(&self) -> String {
        self.0
            .as_bytes()
            .chunks(GROUP_CHARS)
            .map(|group| String::from_utf8_lossy(group).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// What the keyed hash is taken of: the code bound to its person, so a row copied to
    /// someone else's codes does not sign them in.
    pub fn hash_input(&self, user_id: i32) -> Vec<u8> {
        format!("user {user_id}: {}", self.0).into_bytes()
    }
}

/// Dashes people may type between groups: the ASCII one and the typographic ones a word
/// processor or a phone keyboard turns it into.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// A new set: [`CODES_PER_SET`] distinct codes.
pub fn new_set(rng: &mut impl RandomSource) -> Vec<RecoveryCode> {
    let mut codes: Vec<RecoveryCode> = Vec::with_capacity(CODES_PER_SET);
    while codes.len() < CODES_PER_SET {
        // Two equal codes in 74 bits will not happen; the check costs nothing and keeps
        // "10 codes" true with a broken source too.
        let code = RecoveryCode::generate(rng);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// Whether a person with `left` unused codes of a set should be told to get new ones.
pub fn few_left(left: u64) -> bool {
    left <= FEW_LEFT
}

/// The detail of a [`USED`] event, which its mail and Recent activity repeat.
pub fn used_detail(left: u64) -> String {
    match left {
        0 => "no recovery codes left: get new ones on Security info".to_owned(),
        1 => "1 recovery code left".to_owned(),
        n => format!("{n} recovery codes left"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    /// A source that replays fixed bytes, to test the rejection of biased values.
    struct Fixed(Vec<u8>);
    impl RandomSource for Fixed {
        fn fill(&mut self, buf: &mut [u8]) {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = self.0[i % self.0.len()];
            }
        }
    }

    #[test]
    fn the_alphabet_has_no_look_alikes_and_codes_have_at_least_64_bits() {
        for look_alike in [b'0', b'o', b'1', b'l', b'i', b'O', b'I'] {
            assert!(
                !ALPHABET.contains(&look_alike),
                "{}",
                char::from(look_alike)
            );
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len(), "no character twice");
        let bits = CODE_CHARS as f64 * (ALPHABET.len() as f64).log2();
        assert!(bits >= 64.0, "{bits} bits");
    }

    #[test]
    fn codes_are_shown_in_three_groups_and_read_back_however_typed() {
        let code = RecoveryCode::generate(&mut OsRandom);
        let shown = code.for_display();
        assert_eq!(shown.len(), CODE_CHARS + 2);
        assert_eq!(shown.split('-').count(), 3);
        assert!(shown.split('-').all(|group| group.len() == GROUP_CHARS));
        for typed in [
            shown.clone(),
            shown.to_uppercase(),
            shown.replace('-', ""),
            shown.replace('-', " "),
            format!("  {}  ", shown.replace('-', " - ")),
            shown.replace('-', "\u{2013}"),
        ] {
            assert_eq!(
                RecoveryCode::parse(&typed).as_ref(),
                Some(&code),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn what_cannot_be_a_code_is_refused_before_any_lookup() {
        for typed in [
            "",
            "123456",
            "7kx2m-qp4rz-a9fh",    // one short
            "7kx2m-qp4rz-a9fh33",  // one long
            "7kx2m-qp4rz-a9fh0",   // 0 is not in the alphabet
            "7kx2m-qp4rz-a9fhl",   // nor l
            "7kx2m-qp4rz-a9fhé",   // nor anything outside ASCII
            "7kx2m_qp4rz_a9fh3",   // underscores are not dashes
            "abcd efgh ijkl mnop", // an app password
        ] {
            assert_eq!(RecoveryCode::parse(typed), None, "{typed:?}");
        }
    }

    #[test]
    fn codes_draw_from_the_whole_alphabet_without_bias() {
        // 248 and above are redrawn: a source giving only 255 then 30 yields only the last
        // character of the alphabet.
        let code = RecoveryCode::generate(&mut Fixed(vec![255, 30]));
        assert_eq!(code.as_str(), "z".repeat(CODE_CHARS));
        let code = RecoveryCode::generate(&mut Fixed(vec![247]));
        assert_eq!(code.as_str(), "z".repeat(CODE_CHARS), "247 % 31 = 30");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(RecoveryCode::generate(&mut OsRandom).as_str().bytes());
        }
        assert_eq!(seen.len(), ALPHABET.len(), "every character turns up");
    }

    #[test]
    fn a_set_is_ten_distinct_codes_even_from_a_poor_source() {
        let set = new_set(&mut OsRandom);
        assert_eq!(set.len(), CODES_PER_SET);
        let distinct: std::collections::HashSet<_> = set.iter().collect();
        assert_eq!(distinct.len(), CODES_PER_SET);
        // A source that repeats itself after a while still gives ten different codes.
        struct Cycling(u8);
        impl RandomSource for Cycling {
            fn fill(&mut self, buf: &mut [u8]) {
                self.0 = (self.0 + 1) % 12;
                buf.fill(self.0);
            }
        }
        let set = new_set(&mut Cycling(0));
        let distinct: std::collections::HashSet<_> = set.iter().collect();
        assert_eq!(distinct.len(), CODES_PER_SET);
    }

    #[test]
    fn a_code_is_bound_to_its_person_and_hidden_from_debug() {
        let code = RecoveryCode::generate(&mut OsRandom);
        assert_ne!(code.hash_input(1), code.hash_input(2));
        assert!(!format!("{code:?}").contains(code.as_str()));
    }

    #[test]
    fn two_or_fewer_left_is_few() {
        assert!(few_left(0) && few_left(1) && few_left(2));
        assert!(!few_left(3) && !few_left(10));
        assert_eq!(used_detail(3), "3 recovery codes left");
        assert_eq!(used_detail(1), "1 recovery code left");
        assert!(used_detail(0).starts_with("no recovery codes left"));
    }
}
