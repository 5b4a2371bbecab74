//! App passwords: generation, display and normalisation of the secret, name rules, the
//! per-user limit, the fresh-sign-in rule for creating one, and what each kind may reach.
//!
//! A secret is 16 lowercase letters drawn uniformly (26^16, about 75 bits), shown as four groups
//! of four and accepted later with or without spaces, in any case.

use chrono::{DateTime, Duration, Utc};

pub use app::model::AppPasswordKind;

use super::ValidationError;
use super::mail_protocol::Protocol;
use super::random::RandomSource;

/// How many app passwords one person may have.
pub const MAX_PER_USER: u64 = 40;
pub const SECRET_LETTERS: usize = 16;
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
        // One spelling per name, and inner runs of spaces made one, so "Café" typed two ways
        // and "Outlook  2010" are the names "Café" and "Outlook 2010".
        let name =
            super::parse_item_name(input, "Enter a name for the app, for example Outlook 2010.")?;
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

/// Whether an app password of `kind` may sign in with `protocol`, as the mail or calendar
/// server in front named it. Without a protocol only "Everything" is accepted: a proxy that
/// names none could be serving anything, so a limited app password is refused there.
pub fn kind_allows(kind: AppPasswordKind, protocol: Option<Protocol>) -> bool {
    use Protocol::*;
    match (kind, protocol) {
        (AppPasswordKind::Everything, _) => true,
        (_, None) => false,
        (AppPasswordKind::Mail, Some(protocol)) => matches!(protocol, Imap | Pop3 | Smtp | Sieve),
        (AppPasswordKind::SendingOnly, Some(protocol)) => protocol == Smtp,
        (AppPasswordKind::CalendarsAndContacts, Some(protocol)) => {
            matches!(protocol, CalDav | CardDav)
        }
    }
}

/// Whether an app password whose stored kind is `stored` may sign in with `protocol`. A value
/// this version does not know (written by a newer one) allows nothing, never everything.
pub fn stored_kind_allows(stored: &str, protocol: Option<Protocol>) -> bool {
    AppPasswordKind::parse(stored).is_some_and(|kind| kind_allows(kind, protocol))
}

/// Longest client name shown in the list of app passwords.
pub const MAX_CLIENT_CHARS: usize = 32;

/// What the list says an app password was last used by: the protocol ("IMAP") when the server
/// in front named one, else a short name for the User-Agent ("Thunderbird", "Firefox on
/// Linux", "Microsoft Office"), never a long raw User-Agent. `None` when there is nothing to say.
pub fn client_label(client: &str) -> Option<String> {
    let client = client.trim();
    if client.is_empty() {
        return None;
    }
    if let Some(protocol) = Protocol::parse(client) {
        return Some(protocol.label().to_owned());
    }
    // "Name/1.2 (comments) Other/3.4": the products outside the comments.
    let mut products = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in client.chars() {
        match c {
            '(' => {
                depth += 1;
                products.push(std::mem::take(&mut current));
            }
            ')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ => current.push(c),
        }
    }
    products.push(current);
    let names: Vec<String> = products
        .iter()
        .flat_map(|segment| segment.split_whitespace())
        .map(|token| token.split('/').next().unwrap_or(token).to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    let label = if names.first().is_some_and(|first| first == "Mozilla") {
        // A browser's, or a mail app built like one (Thunderbird): its own name comes last.
        let browser = super::user_agent::describe(client);
        if browser.is_known() {
            browser.label()
        } else {
            names.last().cloned().unwrap_or_default()
        }
    } else {
        // "Microsoft Office/16.0 (...)": the first product, with its words.
        let first = products
            .iter()
            .map(|segment| segment.trim())
            .find(|segment| !segment.is_empty())
            .unwrap_or_default();
        first.split('/').next().unwrap_or(first).trim().to_owned()
    };
    let mut short: String = label.chars().take(MAX_CLIENT_CHARS).collect();
    if short.chars().count() < label.chars().count() {
        short.push('…');
    }
    (!short.is_empty()).then_some(short)
}

/// Whether a session verified at `verified_at` may create an app password at `now`.
pub fn recently_verified(verified_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - verified_at < REVERIFY_WINDOW
}

// Expiry (issue 31): a fixed date chosen at creation, and the organization's idle rule.

/// How long before its expiry the person is reminded by mail.
pub const EXPIRY_REMINDER: Duration = Duration::days(7);
/// The lifetimes offered at creation, in days ("Never" is none of them).
pub const LIFETIME_CHOICES: [u32; 3] = [30, 90, 365];
/// The idle rule's name on the command line and in audit events.
pub const IDLE_LIMIT_SETTING: &str = "app-password-idle-days";
/// The longest idle limit an organization may set (ten years).
pub const MAX_IDLE_DAYS: u32 = 3650;
/// Audit event: the mail reminding of an app password's expiry (queued with it).
pub const EXPIRY_REMINDED: &str = "app_password.expiry_reminder";
/// Audit event: an app password reached its expiry and stopped working.
pub const EXPIRED: &str = "app_password.expired";

/// When an app password chosen to last `days` (one of [`LIFETIME_CHOICES`]) expires, if
/// created at `now`; `None` for "Never". Any other number of days is refused.
pub fn fixed_expiry(
    days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ValidationError> {
    match days {
        None => Ok(None),
        Some(days) if LIFETIME_CHOICES.contains(&days) => {
            Ok(Some(now + Duration::days(i64::from(days))))
        }
        Some(_) => Err(ValidationError::new(
            "expires",
            "Choose when it expires: never, or in 30, 90 or 365 days.",
        )),
    }
}

/// The organization's "app passwords unused for N days stop working" (off when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleLimit(u32);

impl IdleLimit {
    /// 1 to [`MAX_IDLE_DAYS`] days.
    pub fn new(days: u32) -> Result<Self, ValidationError> {
        if (1..=MAX_IDLE_DAYS).contains(&days) {
            Ok(Self(days))
        } else {
            Err(ValidationError::new(
                "days",
                format!("Choose a number of days from 1 to {MAX_IDLE_DAYS}."),
            ))
        }
    }

    /// As stored (a nullable integer column); a stored value out of range counts as off.
    pub fn from_stored(days: Option<i32>) -> Option<Self> {
        days.and_then(|d| u32::try_from(d).ok())
            .and_then(|d| Self::new(d).ok())
    }

    pub fn days(self) -> u32 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::days(i64::from(self.0))
    }
}

/// The days an administrator typed: a number, or empty or "off" for off (`None`). The number
/// is checked by [`IdleLimit::new`].
pub fn parse_idle_days(text: &str) -> Result<Option<u32>, ValidationError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse::<u32>().map(Some).map_err(|_| {
        ValidationError::new(
            "days",
            format!("Enter a number of days from 1 to {MAX_IDLE_DAYS}, or leave it empty for off."),
        )
    })
}

/// What the expiry of one app password depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryFacts {
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The date chosen at creation, if any.
    pub expires_at: Option<DateTime<Utc>>,
}

impl ExpiryFacts {
    /// When it stops working: the chosen date, or the end of its idle allowance (counted from
    /// its last use, or its creation if never used), whichever comes first.
    pub fn deadline(&self, idle: Option<IdleLimit>) -> Option<DateTime<Utc>> {
        let idle_end =
            idle.map(|limit| self.last_used_at.unwrap_or(self.created_at) + limit.duration());
        match (self.expires_at, idle_end) {
            (Some(fixed), Some(idle_end)) => Some(fixed.min(idle_end)),
            (fixed, idle_end) => fixed.or(idle_end),
        }
    }

    /// Whether it no longer works at `now`.
    pub fn is_expired(&self, idle: Option<IdleLimit>, now: DateTime<Utc>) -> bool {
        self.deadline(idle).is_some_and(|deadline| now >= deadline)
    }

    /// Whether the reminder is due at `now`: within [`EXPIRY_REMINDER`] of the deadline, and
    /// not yet past it.
    pub fn reminder_due(&self, idle: Option<IdleLimit>, now: DateTime<Utc>) -> bool {
        self.deadline(idle)
            .is_some_and(|deadline| now < deadline && now >= deadline - EXPIRY_REMINDER)
    }
}

/// How the list words an app password's expiry at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpiryNote {
    /// "Expires in 5 days" (tomorrow, today) within a month.
    InDays(i64),
    /// "Expires on Jan 5, 2027" further off.
    On(DateTime<Utc>),
    Expired,
}

impl ExpiryNote {
    /// `None` when it never expires.
    pub fn at(facts: &ExpiryFacts, idle: Option<IdleLimit>, now: DateTime<Utc>) -> Option<Self> {
        let deadline = facts.deadline(idle)?;
        if now >= deadline {
            return Some(Self::Expired);
        }
        let left = deadline - now;
        Some(if left <= Duration::days(30) {
            // Whole days left, rounded up: 6 days and 1 hour is "in 7 days".
            Self::InDays((left.num_seconds() + 86_399) / 86_400)
        } else {
            Self::On(deadline)
        })
    }

    pub fn text(&self) -> String {
        match self {
            Self::InDays(1) => "Expires within a day".to_owned(),
            Self::InDays(days) => format!("Expires in {days} days"),
            Self::On(at) => format!("Expires on {}", super::timefmt::date(*at)),
            Self::Expired => "Expired".to_owned(),
        }
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
    fn each_kind_reaches_its_protocols_only() {
        use Protocol::*;
        let allowed = |kind| -> Vec<Protocol> {
            Protocol::ALL
                .into_iter()
                .filter(|p| kind_allows(kind, Some(*p)))
                .collect()
        };
        assert_eq!(allowed(AppPasswordKind::Mail), [Imap, Pop3, Smtp, Sieve]);
        assert_eq!(allowed(AppPasswordKind::SendingOnly), [Smtp]);
        assert_eq!(
            allowed(AppPasswordKind::CalendarsAndContacts),
            [CalDav, CardDav]
        );
        assert_eq!(allowed(AppPasswordKind::Everything), Protocol::ALL);
    }

    #[test]
    fn without_a_protocol_only_everything_signs_in() {
        for kind in AppPasswordKind::ALL {
            assert_eq!(
                kind_allows(kind, None),
                kind == AppPasswordKind::Everything,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn stored_kinds_read_back_and_unknown_ones_allow_nothing() {
        for kind in AppPasswordKind::ALL {
            assert_eq!(AppPasswordKind::parse(kind.as_str()), Some(kind));
        }
        assert!(stored_kind_allows("everything", None));
        assert!(stored_kind_allows("sending_only", Some(Protocol::Smtp)));
        assert!(!stored_kind_allows("sending_only", Some(Protocol::Imap)));
        for stored in ["", "Everything", "all", "mail "] {
            for protocol in Protocol::ALL.map(Some).into_iter().chain([None]) {
                assert!(!stored_kind_allows(stored, protocol), "{stored:?}");
            }
        }
    }

    #[test]
    fn clients_are_named_shortly() {
        let label = |client: &str| client_label(client);
        assert_eq!(label("IMAP").as_deref(), Some("IMAP"));
        assert_eq!(label("submission").as_deref(), Some("SMTP"));
        assert_eq!(label("  ").as_deref(), None);
        assert_eq!(label("Thunderbird/115").as_deref(), Some("Thunderbird"));
        assert_eq!(
            label("Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.0")
                .as_deref(),
            Some("Thunderbird")
        );
        assert_eq!(
            label("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.4266; Pro)")
                .as_deref(),
            Some("Microsoft Office")
        );
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(label(firefox).as_deref(), Some("Firefox on Linux"));
        let long = label(&"x".repeat(200)).unwrap_or_default();
        assert_eq!(long.chars().count(), MAX_CLIENT_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn creating_needs_a_verification_within_ten_minutes() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert!(recently_verified(now - Duration::minutes(9), now));
        assert!(!recently_verified(now - Duration::minutes(10), now));
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }
    const DAY: i64 = 86_400;

    fn idle(days: u32) -> Option<IdleLimit> {
        IdleLimit::new(days).ok()
    }

    #[test]
    fn a_fixed_expiry_is_one_of_the_offered_lifetimes() {
        let now = at(0);
        assert_eq!(fixed_expiry(None, now), Ok(None));
        assert_eq!(fixed_expiry(Some(30), now), Ok(Some(at(30 * DAY))));
        assert_eq!(fixed_expiry(Some(365), now), Ok(Some(at(365 * DAY))));
        for odd in [0, 1, 31, 10_000] {
            assert_eq!(
                fixed_expiry(Some(odd), now).err().map(|e| e.field),
                Some("expires"),
                "{odd}"
            );
        }
    }

    #[test]
    fn typed_idle_days_are_a_number_or_off() {
        assert_eq!(parse_idle_days(" 90 "), Ok(Some(90)));
        assert_eq!(parse_idle_days(""), Ok(None));
        assert_eq!(parse_idle_days("Off"), Ok(None));
        assert_eq!(
            parse_idle_days("ninety").err().map(|e| e.field),
            Some("days")
        );
        assert!(parse_idle_days("-3").is_err());
    }

    #[test]
    fn idle_limits_are_from_one_day_to_ten_years() {
        assert!(IdleLimit::new(0).is_err());
        assert!(IdleLimit::new(MAX_IDLE_DAYS + 1).is_err());
        assert_eq!(IdleLimit::new(90).map(IdleLimit::days), Ok(90));
        assert_eq!(IdleLimit::from_stored(Some(90)), idle(90));
        assert_eq!(IdleLimit::from_stored(Some(-3)), None);
        assert_eq!(IdleLimit::from_stored(None), None);
    }

    #[test]
    fn a_fixed_date_expires_at_that_moment() {
        let facts = ExpiryFacts {
            created_at: at(0),
            last_used_at: Some(at(29 * DAY)),
            expires_at: Some(at(30 * DAY)),
        };
        assert!(!facts.is_expired(None, at(30 * DAY - 1)));
        assert!(facts.is_expired(None, at(30 * DAY)));
        let never = ExpiryFacts {
            expires_at: None,
            ..facts
        };
        assert!(!never.is_expired(None, at(10_000 * DAY)));
        assert_eq!(never.deadline(None), None);
    }

    #[test]
    fn the_idle_rule_counts_from_the_last_use_or_the_creation() {
        let unused = ExpiryFacts {
            created_at: at(0),
            last_used_at: None,
            expires_at: None,
        };
        assert!(!unused.is_expired(idle(30), at(30 * DAY - 1)));
        assert!(unused.is_expired(idle(30), at(30 * DAY)));
        let used = ExpiryFacts {
            last_used_at: Some(at(20 * DAY)),
            ..unused
        };
        assert!(!used.is_expired(idle(30), at(49 * DAY)));
        assert!(used.is_expired(idle(30), at(50 * DAY)));
        // Off: never idle-expired.
        assert!(!used.is_expired(None, at(1_000 * DAY)));
    }

    #[test]
    fn the_earlier_of_the_two_deadlines_wins() {
        let facts = ExpiryFacts {
            created_at: at(0),
            last_used_at: Some(at(DAY)),
            expires_at: Some(at(90 * DAY)),
        };
        assert_eq!(facts.deadline(idle(30)), Some(at(31 * DAY)));
        assert_eq!(facts.deadline(idle(365)), Some(at(90 * DAY)));
        assert_eq!(facts.deadline(None), Some(at(90 * DAY)));
    }

    #[test]
    fn the_reminder_is_due_in_the_last_seven_days() {
        let facts = ExpiryFacts {
            created_at: at(0),
            last_used_at: None,
            expires_at: Some(at(30 * DAY)),
        };
        assert!(!facts.reminder_due(None, at(23 * DAY - 1)));
        assert!(facts.reminder_due(None, at(23 * DAY)));
        assert!(facts.reminder_due(None, at(30 * DAY - 1)));
        assert!(!facts.reminder_due(None, at(30 * DAY)));
        let never = ExpiryFacts {
            expires_at: None,
            ..facts
        };
        assert!(!never.reminder_due(None, at(29 * DAY)));
        assert!(never.reminder_due(idle(30), at(29 * DAY)));
    }

    #[test]
    fn the_list_says_in_how_many_days_on_which_date_or_expired() {
        let facts = ExpiryFacts {
            created_at: at(0),
            last_used_at: None,
            expires_at: Some(at(90 * DAY)),
        };
        let note = |now| ExpiryNote::at(&facts, None, now).map(|n| n.text());
        assert_eq!(note(at(0)), Some("Expires on Apr 15, 2027".to_owned()));
        assert_eq!(
            note(at(83 * DAY - 3600)),
            Some("Expires in 8 days".to_owned())
        );
        assert_eq!(
            note(at(90 * DAY - 60)),
            Some("Expires within a day".to_owned())
        );
        assert_eq!(note(at(90 * DAY)), Some("Expired".to_owned()));
        let never = ExpiryFacts {
            expires_at: None,
            ..facts
        };
        assert_eq!(ExpiryNote::at(&never, None, at(0)), None);
    }
}
