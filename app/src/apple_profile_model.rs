//! The typed values of "Set up an iPhone, iPad or Mac" that cross between browser and server
//! (the server functions are in `crate::apple_profile`).

use serde::{Deserialize, Serialize};

/// The organization's mail settings as the console's form shows them (empty without any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSettingsForm {
    pub imap_host: String,
    pub imap_port: String,
    pub imap_tls: bool,
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_tls: bool,
    pub caldav_url: String,
    pub carddav_url: String,
}

impl MailSettingsForm {
    /// Whether the organization has mail settings (a profile can be offered).
    pub fn is_set(&self) -> bool {
        !self.imap_host.is_empty()
    }
}

/// What the new app password's dialog offers when the organization has mail settings: the
/// QR code (an SVG drawn on the server) of a single-use link to the profile. `Debug` hides the
/// link, which carries the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppleProfileOffer {
    pub link: String,
    pub qr_svg: String,
}

impl std::fmt::Debug for AppleProfileOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppleProfileOffer")
            .field("link", &crate::secret::Redacted)
            .finish_non_exhaustive()
    }
}
