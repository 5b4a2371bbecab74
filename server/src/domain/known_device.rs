//! Known devices (OWASP's "device cookies",
//! <https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies>):
//! a browser in which a person completed a sign-in, or opened a sign-in link mailed to them,
//! carries a cookie signed with the server key for their sign-in name. A password attempt for
//! that name which presents it skips the account's ceiling (which an attack from many addresses
//! can keep up) and is counted per device instead (`throttle::Rule::DEVICE`): the person's own
//! browsers are not kept out, and a stolen cookie buys a few tries, not a free pass.
//!
//! The cookie holds one entry per person who signed in with that browser (a shared computer),
//! newest first, at most [`MAX_ENTRIES`]: `ISSUED.NONCE.MAC`, the MAC (HMAC-SHA-256 under the
//! server key, for [`MAC_PURPOSE`]) covering the sign-in name key, the issue time and the
//! random nonce. The name is inside the MAC only, so the cookie does not say who uses the
//! browser. An entry for another name, altered, older than [`LIFETIME`] or made with another
//! key counts for nothing.

use chrono::{DateTime, Duration, Utc};

use super::random::{RandomSource, random_hex};
use crate::secret_key::SecretKey;

/// The cookie's name over plain HTTP (development, tests).
pub const COOKIE: &str = "latchkey_device";
/// The cookie's name behind https: like the session cookie's, the `__Host-` prefix makes
/// browsers refuse it unless it is `Secure`, for this host only and every path, so a sibling
/// subdomain cannot plant or overwrite it.
pub const SECURE_COOKIE: &str = "__Host-latchkey_device";
/// How long an entry (and the cookie) lasts after the person's last complete sign-in there.
pub const LIFETIME: Duration = Duration::days(365);
/// People remembered by one browser at most; the one who signed in longest ago goes first.
pub const MAX_ENTRIES: usize = 4;
/// What the server key's MAC is derived for.
pub const MAC_PURPOSE: &str = "latchkey known device v1";
/// The audit event of a right password that a known device let past the account's ceiling.
pub const PAST_CEILING: &str = "sign_in.known_device";

/// Random bytes of a device's nonce (128 bits: never drawn twice).
const NONCE_BYTES: usize = 16;
/// Between entries (not a character of an entry, and allowed in cookie values).
const ENTRY_SEPARATOR: char = '_';
/// How much of what a client sends is read at most: a browser keeps 4096 bytes a cookie, and
/// a request may carry a few of the same name (over plain HTTP, one planted by a sibling site).
const MAX_READ_CHARS: usize = 8192;

/// A known device of one person, as the throttle counts it (its nonce). `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Device(String);

impl Device {
    /// What names the device in its throttle key.
    pub fn nonce(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Device(..)")
    }
}

/// One entry of the cookie, well formed (not yet verified).
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    issued: i64,
    nonce: &'a str,
    mac: &'a str,
}

impl<'a> Entry<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split('.');
        let (issued, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        let well_formed = parts.next().is_none()
            && (1..=12).contains(&issued.len())
            && issued.bytes().all(|b| b.is_ascii_digit())
            && hex(nonce, NONCE_BYTES * 2)
            && hex(mac, 64);
        well_formed.then_some(())?;
        Some(Self {
            issued: issued.parse().ok()?,
            nonce,
            mac,
        })
    }

    fn issued_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.issued, 0)
    }

    fn expired(&self, now: DateTime<Utc>) -> bool {
        self.issued_at().is_none_or(|at| now >= at + LIFETIME)
    }

    /// Whether this is `name_key`'s entry, made with `key` and still valid at `now`.
    fn is_valid_for(&self, key: &SecretKey, name_key: &str, now: DateTime<Utc>) -> bool {
        !self.expired(now)
            && key.verify_keyed_hash(
                MAC_PURPOSE,
                &signed_data(name_key, self.issued, self.nonce),
                self.mac,
            )
    }
}

/// What an entry's MAC covers (the name's length first, so no name and issue time can be
/// made to read as another pair).
fn signed_data(name_key: &str, issued: i64, nonce: &str) -> Vec<u8> {
    format!("{}:{name_key}.{issued}.{nonce}", name_key.len()).into_bytes()
}

fn entry_text(key: &SecretKey, name_key: &str, nonce: &str, now: DateTime<Utc>) -> String {
    let issued = now.timestamp();
    let mac = key.keyed_hash(MAC_PURPOSE, &signed_data(name_key, issued, nonce));
    format!("{issued}.{nonce}.{mac}")
}

/// The well-formed entries of a cookie value, in order (read up to [`MAX_READ_CHARS`]).
fn entries(cookie: &str) -> impl Iterator<Item = Entry<'_>> {
    let readable = match cookie.char_indices().nth(MAX_READ_CHARS) {
        Some((end, _)) => &cookie[..end],
        None => cookie,
    };
    readable.split(ENTRY_SEPARATOR).filter_map(Entry::parse)
}

/// The values of every device cookie a request carries, as one value (without the `__Host-`
/// prefix, another site of the same domain can plant a second one; the real one still counts).
pub fn combine<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let values: Vec<&str> = values.into_iter().filter(|v| !v.is_empty()).collect();
    (!values.is_empty()).then(|| values.join(&ENTRY_SEPARATOR.to_string()))
}

/// The device of `name_key`'s valid entry in `cookie`, if it has one.
pub fn recognise(
    key: &SecretKey,
    name_key: &str,
    cookie: &str,
    now: DateTime<Utc>,
) -> Option<Device> {
    entries(cookie)
        .find(|entry| entry.is_valid_for(key, name_key, now))
        .map(|entry| Device(entry.nonce.to_owned()))
}

/// The cookie after `name_key` signed in with this browser (or opened a mailed link in it).
/// `Debug` hides the value and the device.
#[derive(Clone)]
pub struct Remembered {
    /// The cookie's new value.
    pub value: String,
    /// The person's device in this browser.
    pub device: Device,
    /// Whether the browser was not one of theirs before.
    pub new: bool,
}

impl std::fmt::Debug for Remembered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remembered")
            .field("new", &self.new)
            .finish_non_exhaustive()
    }
}

/// Remembers this browser for `name_key`: their entry first, signed afresh (the same device
/// when the browser already had a valid entry of theirs, so its count goes on; else a new
/// nonce), then the other entries already there (other people's: they cannot be told apart
/// from unknown ones, so they are kept while they look current), at most [`MAX_ENTRIES`].
pub fn remember(
    key: &SecretKey,
    name_key: &str,
    cookie: Option<&str>,
    rng: &mut impl RandomSource,
    now: DateTime<Utc>,
) -> Remembered {
    let cookie = cookie.unwrap_or_default();
    let known = recognise(key, name_key, cookie, now);
    let new = known.is_none();
    let device = known.unwrap_or_else(|| Device(random_hex(rng, NONCE_BYTES)));
    let mut kept = vec![entry_text(key, name_key, device.nonce(), now)];
    for entry in entries(cookie) {
        if kept.len() == MAX_ENTRIES {
            break;
        }
        let text = format!("{}.{}.{}", entry.issued, entry.nonce, entry.mac);
        if entry.nonce != device.nonce() && !entry.expired(now) && !kept.contains(&text) {
            kept.push(text);
        }
    }
    Remembered {
        value: kept.join(&ENTRY_SEPARATOR.to_string()),
        device,
        new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    fn key() -> SecretKey {
        SecretKey::from_bytes([3; 32])
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn an_entry_counts_for_its_name_with_its_key_for_a_year() {
        let ada = remember(&key(), "ada@contoso.example", None, &mut OsRandom, now());
        assert!(ada.new);
        let recognised = recognise(&key(), "ada@contoso.example", &ada.value, now());
        assert_eq!(recognised, Some(ada.device.clone()));
        // Not for another name, another key, or after its lifetime.
        assert_eq!(
            recognise(&key(), "bob@contoso.example", &ada.value, now()),
            None
        );
        let other_key = SecretKey::from_bytes([4; 32]);
        assert_eq!(
            recognise(&other_key, "ada@contoso.example", &ada.value, now()),
            None
        );
        let later = now() + LIFETIME;
        assert_eq!(
            recognise(&key(), "ada@contoso.example", &ada.value, later),
            None
        );
        assert!(
            recognise(
                &key(),
                "ada@contoso.example",
                &ada.value,
                later - Duration::seconds(1)
            )
            .is_some()
        );
        // The name is not in the cookie (a longer part of it than random characters would
        // spell by chance: "ada" alone sometimes is).
        assert!(!ada.value.contains("contoso"), "{}", ada.value);
    }

    #[test]
    fn altered_or_malformed_entries_count_for_nothing() {
        let ada = remember(&key(), "ada", None, &mut OsRandom, now());
        let parts: Vec<&str> = ada.value.split('.').collect();
        let [issued, nonce, mac] = parts[..] else {
            panic!("three parts: {}", ada.value)
        };
        let flip = |s: &str| {
            let mut chars: Vec<char> = s.chars().collect();
            chars[0] = if chars[0] == '0' { '1' } else { '0' };
            chars.into_iter().collect::<String>()
        };
        let later_issue = (now().timestamp() + 1000).to_string();
        for forged in [
            format!("{later_issue}.{nonce}.{mac}"),
            format!("{issued}.{}.{mac}", flip(nonce)),
            format!("{issued}.{nonce}.{}", flip(mac)),
            format!("{issued}.{nonce}"),
            format!("{issued}.{nonce}.{mac}.x"),
            format!("-1.{nonce}.{mac}"),
            String::new(),
            "garbage".to_owned(),
            "_".repeat(20_000),
        ] {
            assert_eq!(recognise(&key(), "ada", &forged, now()), None, "{forged}");
        }
        // Behind junk (a planted cookie of the same name first), the real entry still counts.
        let planted = combine(["1.2.3", &"9".repeat(5000), &ada.value]).unwrap_or_default();
        assert_eq!(recognise(&key(), "ada", &planted, now()), Some(ada.device));
        assert_eq!(combine(["", ""]), None);
    }

    #[test]
    fn a_browser_keeps_a_few_people_and_each_keeps_their_device() {
        let mut cookie = None::<String>;
        let mut devices = Vec::new();
        for name in ["ada", "bob", "cy", "di"] {
            let remembered = remember(&key(), name, cookie.as_deref(), &mut OsRandom, now());
            assert!(remembered.new);
            devices.push(remembered.device);
            cookie = Some(remembered.value);
        }
        let cookie = cookie.unwrap_or_default();
        for (name, device) in ["ada", "bob", "cy", "di"].iter().zip(&devices) {
            assert_eq!(
                recognise(&key(), name, &cookie, now()).as_ref(),
                Some(device)
            );
        }
        // Ada again, later: the same device, signed afresh, first; nobody twice.
        let later = now() + Duration::days(300);
        let again = remember(&key(), "ada", Some(&cookie), &mut OsRandom, later);
        assert!(!again.new);
        assert_eq!(again.device, devices[0]);
        assert_eq!(again.value.split('_').count(), MAX_ENTRIES);
        assert!(recognise(&key(), "ada", &again.value, later + Duration::days(300)).is_some());
        // A fifth person: the one who signed in longest ago (Bob, now last) goes.
        let eve = remember(&key(), "eve", Some(&again.value), &mut OsRandom, later);
        assert_eq!(eve.value.split('_').count(), MAX_ENTRIES);
        assert!(recognise(&key(), "ada", &eve.value, later).is_some());
        assert!(recognise(&key(), "bob", &eve.value, later).is_none());
        assert!(recognise(&key(), "di", &eve.value, later).is_some());
    }

    #[test]
    fn devices_are_random_and_hidden_from_debug() {
        let a = remember(&key(), "ada", None, &mut OsRandom, now());
        let b = remember(&key(), "ada", None, &mut OsRandom, now());
        assert_ne!(a.device, b.device);
        assert_eq!(format!("{:?}", a.device), "Device(..)");
        assert!(!format!("{a:?}").contains(a.device.nonce()));
    }
}
