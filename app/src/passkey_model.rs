//! The typed values of passkeys and security keys (WebAuthn) shared by browser and server: a
//! person's passkeys as Security info lists them, whether this server offers passkeys at all,
//! and why a passkey step was refused. The WebAuthn options and the browser's answers are
//! `webauthn-rs-proto`'s own types, used here only by [`PasswordlessStart`] (the Security info
//! rows in the main module use none of them).

use serde::{Deserialize, Serialize};

/// One passkey or security key as Security info lists it. Times are worded by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyItem {
    pub id: i32,
    /// The name the person gave it.
    pub name: String,
    /// "12 Mar 2027".
    pub added: String,
    /// "3 minutes ago"; `None` when it never signed in.
    pub last_used: Option<String>,
}

/// Whether this server offers passkeys: not when its public URL cannot be a WebAuthn relying
/// party (an IP address, or plain http on a name other than localhost); `reason` says why, in
/// words for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasskeyAvailability {
    Available,
    Unavailable { reason: String },
}

/// Why a passkey step was refused. The text is what the person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PasskeyRefusal {
    /// The server's public URL cannot be a WebAuthn relying party (see
    /// [`PasskeyAvailability`]).
    #[error("Passkeys aren't available on this server ({reason}).")]
    Unavailable { reason: String },
    /// No ceremony of this kind for this browser: never started, already finished (a replayed
    /// answer), started by another session, or older than 5 minutes.
    #[error("This passkey step took too long or was already used. Start again.")]
    CeremonyExpired,
    /// The browser's answer did not verify: wrong signature, another site's origin, a key not
    /// among the person's, no user verification, or a signature counter that did not move on.
    #[error("That passkey wasn't accepted. Try again, or use another way.")]
    NotAccepted,
    /// The person waiting for the second step has no passkey.
    #[error("You have no passkey for this account. Use another way to sign in.")]
    NoPasskey,
    #[error("That passkey or security key is already added.")]
    AlreadyRegistered,
    #[error(
        "You have {limit} passkeys, the most you can have. Delete one you no longer use, then add the new one."
    )]
    LimitReached { limit: u32 },
    /// Not one of the person's any more (deleted meanwhile, perhaps in another window).
    #[error("This passkey no longer exists: it was deleted, perhaps in another window.")]
    Gone,
    #[error(
        "Your organization requires two-step verification, and this is your last method for it. Add another method first, then delete this one."
    )]
    LastSecondFactor,
    /// The browser's prompt was closed, timed out, or the person said no (said by the
    /// browser, never by the server).
    #[error("The passkey prompt was closed or timed out. Try again, or use another way.")]
    Cancelled,
    /// This browser has no WebAuthn (`navigator.credentials`), or the page is not a secure
    /// context (said by the browser).
    #[error("This browser can't use passkeys here. Use another way.")]
    NotSupported,
}

impl PasskeyRefusal {
    /// The HTTP status a server function answers with when a passkey step is refused.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotAccepted | Self::Cancelled => 401,
            Self::NotSupported => 409,
            Self::Gone => 404,
            Self::LastSecondFactor => 403,
            Self::Unavailable { .. }
            | Self::CeremonyExpired
            | Self::NoPasskey
            | Self::AlreadyRegistered
            | Self::LimitReached { .. } => 409,
        }
    }
}

/// The start of a passwordless sign-in: the options for the browser's prompt, and the token
/// that binds the ceremony to the page that asked (sent back with the answer; never in a URL).
#[derive(Clone, Serialize, Deserialize)]
pub struct PasswordlessStart {
    pub options: webauthn_rs_proto::RequestChallengeResponse,
    pub ceremony: String,
}

impl std::fmt::Debug for PasswordlessStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordlessStart")
            .field("options", &self.options)
            .field("ceremony", &crate::secret::Redacted)
            .finish()
    }
}
