//! Sign-in links by mail: when an attack from many addresses holds a person's account at its
//! ceiling (`throttle::Rule::ACCOUNT`), a browser that is not one of theirs yet can ask for a
//! link, mailed to the sign-in name. Opening it makes that browser a known device
//! (`domain::known_device`), whose password attempts get past the ceiling; the password is
//! still needed. The token is 256 random bits that only the mail holds; the database keeps
//! its hash. A link works once, for an hour, and a newer one replaces it. At most one mail per
//! account per 15 minutes (`throttle::Rule::SIGN_IN_LINK_MAIL`).

use chrono::{DateTime, Duration, Utc};

use super::random::RandomSource;

/// How long a link works.
pub const LIFETIME: Duration = Duration::hours(1);

/// The audit event of a mailed link, which the mail is made from.
pub const MAILED: &str = "sign_in.link_mailed";
/// The audit event of a link used (the browser it was opened in is remembered).
pub const USED: &str = "sign_in.link_used";

/// A new link token: 256 random bits, hex encoded.
pub fn new_token(rng: &mut impl RandomSource) -> String {
    super::password_link::new_token(rng)
}

/// What the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    super::password_link::token_hash(token)
}

/// Whether a token could be one of ours at all; anything else is not looked up.
pub fn is_well_formed(token: &str) -> bool {
    super::password_link::is_well_formed(token)
}

/// When a link made at `now` stops working.
pub fn expires_at(now: DateTime<Utc>) -> DateTime<Utc> {
    now + LIFETIME
}

/// The link's address on the site at `public_url` (no trailing slash): the sign-in page, which
/// asks for one click before using it (mail scanners open links, but do not press buttons).
pub fn url(public_url: &str, token: &str) -> String {
    format!("{public_url}/signin?link={token}")
}

/// What the mail says.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkMail {
    pub subject: String,
    pub body: String,
}

/// `Debug` leaves out the body, which holds the link.
impl std::fmt::Debug for LinkMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The mail to `person` (display name) with sign-in name `account`, asked for at `at` from
/// `ip`, carrying the link `url`.
pub fn mail(
    person: &str,
    account: &str,
    url: &str,
    ip: Option<&str>,
    at: DateTime<Utc>,
) -> LinkMail {
    let when = at.format("%Y-%m-%d %H:%M UTC");
    let from = ip.map(|ip| format!(" from {ip}")).unwrap_or_default();
    let body = format!(
        "Hello {person},\n\n\
         Sign-ins to your account {account} are held back: too many wrong passwords were tried \
         for it from other places. A sign-in link was asked for {when}{from}.\n\n\
         To sign in anyway, open this link in the browser you want to use, within an hour:\n\n\
         {url}\n\n\
         It works once. It lets that browser past the hold, and you still sign in with your \
         password there. The browsers you have signed in with before are let past already.\n\n\
         If you did not ask for this link, do not open it, and ignore this mail. Someone may be \
         guessing your password: make sure it is long and used nowhere else.\n"
    );
    LinkMail {
        subject: "Your sign-in link".to_owned(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    #[test]
    fn links_last_an_hour_and_lead_to_the_sign_in_page() {
        let now = Utc::now();
        assert_eq!(expires_at(now) - now, Duration::hours(1));
        let token = new_token(&mut OsRandom);
        assert!(is_well_formed(&token));
        assert_ne!(token_hash(&token), token);
        assert_eq!(
            url("https://id.example.org", "ab"),
            "https://id.example.org/signin?link=ab"
        );
    }

    #[test]
    fn the_mail_names_the_account_the_request_and_the_link() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let link = "https://id.example.org/signin?link=ab";
        let mail = mail(
            "Ada Lovelace",
            "ada@contoso.example",
            link,
            Some("192.0.2.7"),
            at,
        );
        assert_eq!(mail.subject, "Your sign-in link");
        for part in [
            "Hello Ada Lovelace",
            "ada@contoso.example",
            "2027-01-15 08:00 UTC from 192.0.2.7",
            link,
        ] {
            assert!(mail.body.contains(part), "{part}: {}", mail.body);
        }
        assert!(!format!("{mail:?}").contains(link));
    }
}
