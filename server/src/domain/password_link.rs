//! One-time password links: an administrator's password reset, a new person's first
//! password, or "Forgot password?" by mail, set by the person themselves. The token is 256
//! random bits that only the link holds; the database keeps its hash (and, for a mailed link,
//! the token sealed with the server key, for its mail). A link works once, for 24 hours; a
//! mailed one for an hour.
//!
//! "Forgot password?" (when mail is set up and the organization turns it on) answers the same
//! whatever the name; the link is mailed to the sign-in name, at most once per name per
//! window (`throttle::Rule::RESET_MAIL`). Using it sets the password only: the next sign-in
//! still asks for the second factor, and the person is mailed that it was used.

use chrono::{DateTime, Duration, Utc};

use super::random::{RandomSource, random_hex};

/// How long an administrator's link works.
pub const LIFETIME: Duration = Duration::hours(24);

/// How long a link mailed for "Forgot password?" works.
pub const MAILED_LIFETIME: Duration = Duration::hours(1);

/// The audit event of a "Forgot password?" link mailed (its mail is made from it).
pub const MAILED: &str = "password.reset_link_mailed";
/// The audit event of a password set with a mailed link (mailed to the person too).
pub const RESET_BY_MAIL: &str = "password.reset_by_mail";

/// Why the link was made; it decides what the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An administrator reset the person's password.
    Reset,
    /// An administrator added the person, who has no password yet.
    Welcome,
    /// The person asked for it ("Forgot password?"); it was mailed to them.
    Forgot,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Welcome => "welcome",
            Purpose::Forgot => "forgot",
        }
    }

    /// How long a link of this purpose works.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Reset | Purpose::Welcome => LIFETIME,
            Purpose::Forgot => MAILED_LIFETIME,
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "reset" => Some(Purpose::Reset),
            "welcome" => Some(Purpose::Welcome),
            "forgot" => Some(Purpose::Forgot),
            _ => None,
        }
    }
}

/// A new link token: 256 random bits, hex encoded.
pub fn new_token(rng: &mut impl RandomSource) -> String {
    random_hex(rng, 32)
}

/// What the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    super::session::token_hash(token)
}

/// When an administrator's link made at `now` stops working.
pub fn expires_at(now: DateTime<Utc>) -> DateTime<Utc> {
    now + LIFETIME
}

/// When a mailed link made at `now` stops working.
pub fn mailed_expires_at(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Purpose::Forgot.lifetime()
}

/// What a mail says.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetMail {
    pub subject: String,
    pub body: String,
}

/// `Debug` leaves out the body, which holds the link.
impl std::fmt::Debug for ResetMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetMail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The mail to `person` (display name) with sign-in name `account`, asked for at `at` from
/// `ip`, carrying the link `url`.
pub fn reset_mail(
    person: &str,
    account: &str,
    url: &str,
    ip: Option<&str>,
    at: DateTime<Utc>,
) -> ResetMail {
    let when = at.format("%Y-%m-%d %H:%M UTC");
    let from = ip.map(|ip| format!(" from {ip}")).unwrap_or_default();
    let body = format!(
        "Hello {person},\n\n\
         A new password for your account {account} was asked for {when}{from} \
         (\"Forgot password?\").\n\n\
         To choose a new password, open this link within an hour:\n\n\
         {url}\n\n\
         It works once. Your next sign-in still asks for your second step, if you have one \
         (authenticator app, passkey or recovery code), and your other browsers are signed out.\n\n\
         If you did not ask for this, ignore this mail: your password stays as it is.\n"
    );
    ResetMail {
        subject: "Set a new password".to_owned(),
        body,
    }
}

/// Whether a token could be one of ours at all (64 hex digits); anything else is not looked up.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    #[test]
    fn tokens_are_random_well_formed_and_stored_hashed() {
        let (a, b) = (new_token(&mut OsRandom), new_token(&mut OsRandom));
        assert_ne!(a, b);
        assert!(is_well_formed(&a));
        assert!(!is_well_formed(&a[1..]));
        assert!(!is_well_formed(&format!("{}g", &a[1..])));
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn links_last_a_day_and_name_their_purpose() {
        let now = Utc::now();
        assert_eq!(expires_at(now) - now, Duration::hours(24));
        assert_eq!(mailed_expires_at(now) - now, Duration::hours(1));
        for purpose in [Purpose::Reset, Purpose::Welcome, Purpose::Forgot] {
            assert_eq!(Purpose::parse(purpose.as_str()), Some(purpose));
        }
        assert_eq!(Purpose::Forgot.lifetime(), Duration::hours(1));
        assert_eq!(Purpose::Reset.lifetime(), Duration::hours(24));
    }

    #[test]
    fn the_reset_mail_names_the_account_the_request_and_the_link() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let link = "https://id.example.org/set-password?token=ab";
        let mail = reset_mail("Ada", "ada@contoso.example", link, Some("192.0.2.7"), at);
        assert_eq!(mail.subject, "Set a new password");
        for part in [
            "Hello Ada",
            "ada@contoso.example",
            "2027-01-15 08:00 UTC from 192.0.2.7",
            link,
            "second step",
        ] {
            assert!(mail.body.contains(part), "{part}: {}", mail.body);
        }
        assert!(!format!("{mail:?}").contains(link));
    }
}
