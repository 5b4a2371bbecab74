//! An Apple configuration profile (`.mobileconfig`) that sets up an iPhone, iPad or Mac's Mail
//! (and, when the organization has them, Calendar and Contacts) with a new app password, so
//! nobody types its 16 letters on a phone. Written as an XML property list with the `plist`
//! crate (names and passwords escaped by it). Unsigned: the device says so when it is
//! installed, as it does for the profiles of other self-hosted mail servers.
//!
//! Identifiers are stable per app password (installing the profile again replaces it rather
//! than adding a second account); payload UUIDs are random, from the source passed in.

use plist::{Dictionary, Value};

use app::model::AppPasswordKind;

use super::app_password::kind_allows;
use super::mail_protocol::Protocol;
use super::mail_settings::{MailServer, MailSettings, dav_host_and_port};
use super::random::RandomSource;

/// The media type devices open as a configuration profile.
pub const CONTENT_TYPE: &str = "application/x-apple-aspen-config";

pub const MAIL_PAYLOAD: &str = "com.apple.mail.managed";
pub const CALDAV_PAYLOAD: &str = "com.apple.caldav.account";
pub const CARDDAV_PAYLOAD: &str = "com.apple.carddav.account";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the configuration profile could not be written: {0}")]
    Write(#[from] plist::Error),
}

/// Whose profile, for which app password. `Debug` hides the password.
pub struct ProfileFor<'a> {
    pub organization: &'a str,
    pub app_password_id: i32,
    /// The name the person gave the app password ("iPhone").
    pub app_name: &'a str,
    pub display_name: &'a str,
    /// The sign-in name, also the mail address when it has an `@`.
    pub username: &'a str,
    /// The app password's 16 letters.
    pub password: &'a str,
    /// What it may sign in to: the profile sets up only those accounts (a device keeps asking
    /// for the password of an account it was given but cannot sign in to).
    pub kind: AppPasswordKind,
    pub settings: &'a MailSettings,
}

/// Which of the organization's accounts a profile for an app password of `kind` sets up:
/// mail, calendars (when set), contacts (when set).
fn accounts(kind: AppPasswordKind, settings: &MailSettings) -> (bool, bool, bool) {
    (
        kind_allows(kind, Some(Protocol::Imap)),
        settings.caldav_url.is_some() && kind_allows(kind, Some(Protocol::CalDav)),
        settings.carddav_url.is_some() && kind_allows(kind, Some(Protocol::CardDav)),
    )
}

/// Whether a profile for an app password of `kind` would set up anything (one for sending
/// only would not: a device's mail account needs its incoming server).
pub fn sets_up_anything(kind: AppPasswordKind, settings: &MailSettings) -> bool {
    let (mail, calendars, contacts) = accounts(kind, settings);
    mail || calendars || contacts
}

impl std::fmt::Debug for ProfileFor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileFor")
            .field("app_password_id", &self.app_password_id)
            .field("username", &self.username)
            .field("password", &app::secret::Redacted)
            .finish_non_exhaustive()
    }
}

/// The profile as an XML property list.
pub fn build(profile: &ProfileFor, rng: &mut impl RandomSource) -> Result<Vec<u8>, ProfileError> {
    let base = identifier_base(profile);
    let description = format!("{} ({})", profile.organization, profile.app_name);
    let (mail, calendars, contacts) = accounts(profile.kind, profile.settings);
    let mut payloads = Vec::new();
    if mail {
        payloads.push(Value::Dictionary(mail_payload(
            profile,
            &base,
            &description,
            rng,
        )));
    }
    let dav = [
        (
            calendars,
            &profile.settings.caldav_url,
            CALDAV_PAYLOAD,
            "CalDAV",
            "caldav",
        ),
        (
            contacts,
            &profile.settings.carddav_url,
            CARDDAV_PAYLOAD,
            "CardDAV",
            "carddav",
        ),
    ];
    for (wanted, url, payload_type, prefix, suffix) in dav {
        if let Some(url) = url.as_ref().filter(|_| wanted) {
            let mut payload = header(payload_type, &format!("{base}.{suffix}"), &description, rng);
            let (host, port) = dav_host_and_port(url);
            let key = |name: &str| format!("{prefix}{name}");
            payload.insert(key("AccountDescription"), description.clone().into());
            payload.insert(key("HostName"), host.into());
            payload.insert(key("Port"), i64::from(port).into());
            payload.insert(key("PrincipalURL"), url.clone().into());
            payload.insert(key("UseSSL"), true.into());
            payload.insert(key("Username"), profile.username.into());
            payload.insert(key("Password"), profile.password.into());
            payloads.push(Value::Dictionary(payload));
        }
    }
    let mut root = header("Configuration", &base, &description, rng);
    root.insert(
        "PayloadDescription".into(),
        format!(
            "Sets up {} for {} with an app password.",
            profile.organization, profile.username
        )
        .into(),
    );
    root.insert("PayloadOrganization".into(), profile.organization.into());
    root.insert("PayloadRemovalDisallowed".into(), false.into());
    root.insert("PayloadContent".into(), Value::Array(payloads));
    let mut xml = Vec::new();
    Value::Dictionary(root).to_writer_xml(&mut xml)?;
    Ok(xml)
}

/// The file's name, from the app password's name ("latchkey-iphone.mobileconfig").
pub fn file_name(app_name: &str) -> String {
    let mut slug = String::new();
    for c in app_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        "latchkey-mail.mobileconfig".to_owned()
    } else {
        format!("latchkey-{}.mobileconfig", &slug[..slug.len().min(40)])
    }
}

/// A reverse-DNS name from the IMAP host and the app password's id: the same every time the
/// profile of that app password is made.
fn identifier_base(profile: &ProfileFor) -> String {
    let reversed: Vec<&str> = profile.settings.imap.host.rsplit('.').collect();
    format!(
        "{}.latchkey.app-password-{}",
        reversed.join(".").replace(':', "-"),
        profile.app_password_id
    )
}

fn header(
    payload_type: &str,
    identifier: &str,
    display_name: &str,
    rng: &mut impl RandomSource,
) -> Dictionary {
    let mut payload = Dictionary::new();
    payload.insert("PayloadType".into(), payload_type.into());
    payload.insert("PayloadVersion".into(), 1i64.into());
    payload.insert("PayloadIdentifier".into(), identifier.into());
    payload.insert("PayloadUUID".into(), random_uuid(rng).into());
    payload.insert("PayloadDisplayName".into(), display_name.into());
    payload
}

fn mail_payload(
    profile: &ProfileFor,
    base: &str,
    description: &str,
    rng: &mut impl RandomSource,
) -> Dictionary {
    let mut payload = header(MAIL_PAYLOAD, &format!("{base}.mail"), description, rng);
    payload.insert("EmailAccountDescription".into(), description.into());
    payload.insert("EmailAccountName".into(), profile.display_name.into());
    payload.insert("EmailAccountType".into(), "EmailTypeIMAP".into());
    if profile.username.contains('@') {
        payload.insert("EmailAddress".into(), profile.username.into());
    }
    let mut server = |direction: &str, server: &MailServer, password_key: &str| {
        let key = |name: &str| format!("{direction}MailServer{name}");
        payload.insert(key("Authentication"), "EmailAuthPassword".into());
        payload.insert(key("HostName"), server.host.clone().into());
        payload.insert(key("PortNumber"), i64::from(server.port).into());
        payload.insert(key("UseSSL"), server.tls.into());
        payload.insert(key("Username"), profile.username.into());
        payload.insert(password_key.into(), profile.password.into());
    };
    server("Incoming", &profile.settings.imap, "IncomingPassword");
    server("Outgoing", &profile.settings.smtp, "OutgoingPassword");
    payload.insert("OutgoingPasswordSameAsIncomingPassword".into(), true.into());
    payload
}

/// A random (version 4) UUID, uppercase as Apple's tools write them.
fn random_uuid(rng: &mut impl RandomSource) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode_upper(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mail_settings::MailServer;
    use crate::domain::random::OsRandom;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn settings(caldav: bool, carddav: bool) -> MailSettings {
        MailSettings {
            imap: MailServer {
                host: "imap.example.org".to_owned(),
                port: 993,
                tls: true,
            },
            smtp: MailServer {
                host: "smtp.example.org".to_owned(),
                port: 587,
                tls: false,
            },
            caldav_url: caldav.then(|| "https://dav.example.org/cal/".to_owned()),
            carddav_url: carddav.then(|| "https://dav.example.org:8443/card/".to_owned()),
        }
    }

    fn profile(settings: &MailSettings) -> Result<Dictionary, Box<dyn std::error::Error>> {
        profile_of(AppPasswordKind::Everything, settings)
    }

    fn profile_of(
        kind: AppPasswordKind,
        settings: &MailSettings,
    ) -> Result<Dictionary, Box<dyn std::error::Error>> {
        let xml = build(
            &ProfileFor {
                organization: "Contoso <&> Co",
                app_password_id: 7,
                app_name: "iPhone",
                display_name: "Ada Lovelace",
                username: "ada@example.org",
                password: "abcdefghijklmnop",
                kind,
                settings,
            },
            &mut OsRandom,
        )?;
        let text = String::from_utf8(xml.clone())?;
        assert!(text.starts_with("<?xml") && text.contains("<!DOCTYPE plist"));
        Ok(plist::from_bytes::<Dictionary>(&xml)?)
    }

    fn payloads(root: &Dictionary) -> Vec<Dictionary> {
        root.get("PayloadContent")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_dictionary().cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn text<'a>(payload: &'a Dictionary, key: &str) -> Option<&'a str> {
        payload.get(key).and_then(Value::as_string)
    }

    fn number(payload: &Dictionary, key: &str) -> Option<u64> {
        payload.get(key).and_then(Value::as_unsigned_integer)
    }

    fn flag(payload: &Dictionary, key: &str) -> Option<bool> {
        payload.get(key).and_then(Value::as_boolean)
    }

    #[test]
    fn the_mail_payload_has_both_servers_and_the_password() -> TestResult {
        let root = profile(&settings(false, false))?;
        assert_eq!(text(&root, "PayloadType"), Some("Configuration"));
        assert_eq!(text(&root, "PayloadOrganization"), Some("Contoso <&> Co"));
        let payloads = payloads(&root);
        assert_eq!(
            payloads.len(),
            1,
            "no CalDAV or CardDAV without their addresses"
        );
        let mail = &payloads[0];
        assert_eq!(text(mail, "PayloadType"), Some(MAIL_PAYLOAD));
        assert_eq!(text(mail, "EmailAccountType"), Some("EmailTypeIMAP"));
        assert_eq!(text(mail, "EmailAddress"), Some("ada@example.org"));
        assert_eq!(text(mail, "EmailAccountName"), Some("Ada Lovelace"));
        assert_eq!(
            text(mail, "IncomingMailServerHostName"),
            Some("imap.example.org")
        );
        assert_eq!(number(mail, "IncomingMailServerPortNumber"), Some(993));
        assert_eq!(flag(mail, "IncomingMailServerUseSSL"), Some(true));
        assert_eq!(
            text(mail, "OutgoingMailServerHostName"),
            Some("smtp.example.org")
        );
        assert_eq!(number(mail, "OutgoingMailServerPortNumber"), Some(587));
        assert_eq!(flag(mail, "OutgoingMailServerUseSSL"), Some(false));
        for direction in ["Incoming", "Outgoing"] {
            assert_eq!(
                text(mail, &format!("{direction}MailServerUsername")),
                Some("ada@example.org")
            );
            assert_eq!(
                text(mail, &format!("{direction}Password")),
                Some("abcdefghijklmnop")
            );
        }
        Ok(())
    }

    #[test]
    fn each_kind_sets_up_only_the_accounts_it_can_sign_in_to() -> TestResult {
        let all = settings(true, true);
        let cases = [
            (
                AppPasswordKind::Everything,
                vec![MAIL_PAYLOAD, CALDAV_PAYLOAD, CARDDAV_PAYLOAD],
            ),
            (AppPasswordKind::Mail, vec![MAIL_PAYLOAD]),
            (
                AppPasswordKind::CalendarsAndContacts,
                vec![CALDAV_PAYLOAD, CARDDAV_PAYLOAD],
            ),
        ];
        for (kind, expected) in cases {
            let types: Vec<String> = payloads(&profile_of(kind, &all)?)
                .iter()
                .filter_map(|p| text(p, "PayloadType").map(str::to_owned))
                .collect();
            assert_eq!(types, expected, "{kind:?}");
            assert!(sets_up_anything(kind, &all));
        }
        assert!(!sets_up_anything(AppPasswordKind::SendingOnly, &all));
        assert!(!sets_up_anything(
            AppPasswordKind::CalendarsAndContacts,
            &settings(false, false)
        ));
        Ok(())
    }

    #[test]
    fn caldav_and_carddav_come_only_when_set() -> TestResult {
        for (caldav, carddav) in [(true, false), (false, true), (true, true)] {
            let types: Vec<String> = payloads(&profile(&settings(caldav, carddav))?)
                .iter()
                .filter_map(|p| text(p, "PayloadType").map(str::to_owned))
                .collect();
            assert_eq!(types.contains(&CALDAV_PAYLOAD.to_owned()), caldav);
            assert_eq!(types.contains(&CARDDAV_PAYLOAD.to_owned()), carddav);
        }
        let root = profile(&settings(true, true))?;
        let payloads = payloads(&root);
        let card = payloads
            .iter()
            .find(|p| text(p, "PayloadType") == Some(CARDDAV_PAYLOAD))
            .ok_or("CardDAV payload")?;
        assert_eq!(text(card, "CardDAVHostName"), Some("dav.example.org"));
        assert_eq!(number(card, "CardDAVPort"), Some(8443));
        assert_eq!(text(card, "CardDAVUsername"), Some("ada@example.org"));
        assert_eq!(text(card, "CardDAVPassword"), Some("abcdefghijklmnop"));
        let cal = payloads
            .iter()
            .find(|p| text(p, "PayloadType") == Some(CALDAV_PAYLOAD))
            .ok_or("CalDAV payload")?;
        assert_eq!(number(cal, "CalDAVPort"), Some(443));
        assert_eq!(
            text(cal, "CalDAVPrincipalURL"),
            Some("https://dav.example.org/cal/")
        );
        Ok(())
    }

    #[test]
    fn identifiers_are_stable_and_uuids_random() -> TestResult {
        let (first, second) = (
            profile(&settings(true, true))?,
            profile(&settings(true, true))?,
        );
        let ids = |root: &Dictionary| {
            std::iter::once(root.clone())
                .chain(payloads(root))
                .map(|p| {
                    (
                        text(&p, "PayloadIdentifier").map(str::to_owned),
                        text(&p, "PayloadUUID").map(str::to_owned),
                    )
                })
                .collect::<Vec<_>>()
        };
        let (first, second) = (ids(&first), ids(&second));
        assert_eq!(first.len(), 4);
        for ((id_a, uuid_a), (id_b, uuid_b)) in first.iter().zip(&second) {
            assert_eq!(id_a, id_b);
            assert!(
                id_a.as_deref()
                    .is_some_and(|id| id.contains("app-password-7"))
            );
            assert_ne!(uuid_a, uuid_b);
            assert!(
                uuid_a
                    .as_deref()
                    .is_some_and(|u| u.len() == 36 && u.as_bytes()[14] == b'4')
            );
        }
        let distinct: std::collections::HashSet<_> = first.iter().map(|(id, _)| id).collect();
        assert_eq!(distinct.len(), 4, "each payload has its own identifier");
        Ok(())
    }

    #[test]
    fn file_names_are_tidy() {
        assert_eq!(file_name("iPhone 15"), "latchkey-iphone-15.mobileconfig");
        assert_eq!(file_name("«»"), "latchkey-mail.mobileconfig");
    }
}
