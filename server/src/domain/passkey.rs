//! Passkeys and security keys (WebAuthn): who the relying party is (read from the public
//! URL), the names people give their keys, how long a ceremony may take, how many keys a
//! person may have, and the kinds and words of their audit events. The WebAuthn checks
//! themselves (signatures, origin, challenge, counter) are `webauthn-rs`'s, called by
//! `use_cases::passkeys`.

use std::net::IpAddr;

use chrono::Duration;
use webauthn_rs::prelude::Url;

/// A ceremony (registration or sign-in) is finished within this time of its start, or begun
/// again: its state is refused afterwards.
pub const CEREMONY_LIFETIME: Duration = Duration::minutes(5);
/// How many passkeys and security keys one person may have.
pub const MAX_PER_USER: u64 = 20;

/// Audit kinds (the first two are mailed to the person, `domain::alerts`).
pub const ADDED: &str = "passkey.added";
pub const DELETED: &str = "passkey.deleted";
pub const RENAMED: &str = "passkey.renamed";
/// The detail of a `sign_in.succeeded` event: the passkey was the second step after the
/// password.
pub const SIGNED_IN_WITH_PASSWORD_AND_PASSKEY: &str = "password and passkey";
/// The detail of a `sign_in.succeeded` event: a passkey alone (passwordless).
pub const SIGNED_IN_WITH_PASSKEY: &str = "passkey";
/// The detail of a failed passkey step (`sign_in.failed`).
pub const ASSERTION_REFUSED: &str = "passkey not accepted";

/// The passkey's name in the detail of an [`ADDED`] or [`DELETED`] event (`"NAME" (id N); ...`).
pub fn name_in_detail(detail: &str) -> Option<&str> {
    detail
        .strip_prefix('"')?
        .rsplit_once("\" (id ")
        .map(|(name, _)| name)
}

/// What a ceremony is for; its state is found again only for the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Adding a passkey on Security info.
    Register,
    /// The second step of a sign-in after the password.
    SecondStep,
    /// Signing in with a passkey alone (a discoverable credential).
    Passwordless,
    /// "Confirm it's you" with a passkey before a sensitive change.
    Confirm,
}

impl CeremonyKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SecondStep => "second_step",
            Self::Passwordless => "passwordless",
            Self::Confirm => "confirm",
        }
    }
}

/// The WebAuthn relying party: its id (the public URL's host) and the only origin whose
/// ceremonies are accepted (the public URL's origin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub origin: Url,
}

/// Why passkeys are off on this server; the text is for the administrator's log and the
/// pages that would offer passkeys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeysOff {
    #[error("passkeys are off: no public URL is set (--public-url)")]
    NoPublicUrl,
    #[error("passkeys are off: the public URL {0:?} is not a URL")]
    NotAUrl(String),
    #[error(
        "passkeys are off: the public URL's host {0} is an IP address, and browsers refuse IP addresses as WebAuthn relying-party ids; use a name (--public-url http://localhost:PORT for local use, or the site's DNS name)"
    )]
    IpAddress(String),
    #[error(
        "passkeys are off: browsers offer passkeys only on https pages (or http://localhost), and the public URL is {0}"
    )]
    NotSecure(String),
}

/// The relying party of the site at `public_url`, or why there can be none: browsers refuse
/// an IP address as a relying-party id, and offer WebAuthn only in a secure context (https,
/// or http on `localhost`).
pub fn relying_party(public_url: &str) -> Result<RelyingParty, PasskeysOff> {
    if public_url.trim().is_empty() {
        return Err(PasskeysOff::NoPublicUrl);
    }
    let url = Url::parse(public_url).map_err(|_| PasskeysOff::NotAUrl(public_url.to_owned()))?;
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return Err(PasskeysOff::NotAUrl(public_url.to_owned()));
    };
    // IPv6 hosts come in brackets.
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Err(PasskeysOff::IpAddress(ip.to_string()));
    }
    let local = host == "localhost" || host.ends_with(".localhost");
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(PasskeysOff::NotSecure(public_url.to_owned())),
    }
    let origin = Url::parse(&url.origin().ascii_serialization())
        .map_err(|_| PasskeysOff::NotAUrl(public_url.to_owned()))?;
    Ok(RelyingParty { id: host, origin })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_public_urls_host_and_origin() -> Result<(), PasskeysOff> {
        let rp = relying_party("https://ID.Example.org/latchkey")?;
        assert_eq!(rp.id, "id.example.org");
        assert_eq!(rp.origin.as_str(), "https://id.example.org/");
        let local = relying_party("http://localhost:3000")?;
        assert_eq!(local.id, "localhost");
        assert_eq!(local.origin.as_str(), "http://localhost:3000/");
        assert_eq!(
            relying_party("https://id.example.org:8443")?.id,
            "id.example.org"
        );
        Ok(())
    }

    #[test]
    fn ip_addresses_insecure_pages_and_non_urls_turn_passkeys_off() {
        assert_eq!(
            relying_party("http://127.0.0.1:3000"),
            Err(PasskeysOff::IpAddress("127.0.0.1".to_owned()))
        );
        assert_eq!(
            relying_party("https://[::1]:8443"),
            Err(PasskeysOff::IpAddress("::1".to_owned()))
        );
        assert!(matches!(
            relying_party("http://id.example.org"),
            Err(PasskeysOff::NotSecure(_))
        ));
        assert!(matches!(
            relying_party("id.example.org"),
            Err(PasskeysOff::NotAUrl(_))
        ));
        assert_eq!(relying_party(""), Err(PasskeysOff::NoPublicUrl));
        let said = PasskeysOff::IpAddress("127.0.0.1".to_owned()).to_string();
        assert!(said.contains("browsers refuse IP addresses") && said.contains("localhost"));
    }

    #[test]
    fn the_name_is_read_back_from_the_audit_detail() {
        let detail = format!("{:?} (id 7); 2 other sessions ended", "Work laptop");
        assert_eq!(name_in_detail(&detail), Some("Work laptop"));
        assert_eq!(name_in_detail("something else"), None);
    }
}
