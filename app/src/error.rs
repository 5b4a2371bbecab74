//! The one error type of server functions, shared by server and browser. Its `Display` text is
//! what the user reads; internal details are logged on the server and never sent.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::passkey_model::PasskeyRefusal;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Bad input in a form field; `field` names the input so the form can mark it.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("This link is not valid. It may have expired or been used already.")]
    NotFound,
    #[error("Latchkey is already set up. Sign in instead.")]
    AlreadySetUp,
    /// Unknown username or wrong password: one message for both, so it reveals nothing.
    #[error(
        "Your account or password is incorrect. Try again, or ask your administrator to reset your password."
    )]
    SignInFailed,
    /// Too many failed attempts; `message` says when to try again.
    #[error("{message}")]
    Throttled {
        retry_after_seconds: u64,
        message: String,
    },
    /// Sign-ins to this name from everywhere reached their limit: someone may be guessing its
    /// password from many places. Browsers the person signed in with before get past it; with
    /// `link_by_mail` (mail is set up), a link mailed to the name makes this browser one of
    /// them. The same answer for every name, real or not; `message` says when to try again.
    #[error("{message}")]
    SignInHeldBack {
        retry_after_seconds: u64,
        message: String,
        link_by_mail: bool,
    },
    /// No valid session (never signed in, signed out, or expired).
    #[error("Your session has ended. Sign in again to continue.")]
    Unauthorized,
    /// Not allowed (by policy, role or the account's state); the refusal says why.
    #[error("{0}")]
    Forbidden(Refusal),
    /// The per-user limit of app passwords is reached.
    #[error(
        "You have {limit} app passwords, the most you can have. Delete one you no longer use, then create the new one."
    )]
    LimitReached { limit: u32 },
    /// The action needs a recent sign-in; the person must confirm it's them first.
    #[error("For your security, confirm it's you before you continue.")]
    ReverifyRequired,
    #[error("The service is temporarily unavailable. Try again in a moment.")]
    Unavailable,
    /// Too many sign-ins at once for the server to check; try again after a few seconds.
    #[error("Latchkey is very busy right now. Wait a few seconds, then try again.")]
    Busy { retry_after_seconds: u64 },
    #[error(
        "Something went wrong on our side. Try again; if it keeps happening, tell your administrator."
    )]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("Couldn't reach Latchkey. Check your connection and try again.")]
    Transport(String),
    /// The server could not read the request: a field missing or not of its kind (a form
    /// changed by hand, or a page from before an update), or a body too large.
    #[error("This form could not be read. Reload the page and try again.")]
    BadRequest,
    /// The app password is not there any more (deleted meanwhile, perhaps in another window).
    #[error("This app password no longer exists: it was deleted, perhaps in another window.")]
    AppPasswordGone,
    /// The signed-in browser is not there any more (signed out meanwhile, or never this
    /// person's).
    #[error("That browser is already signed out.")]
    BrowserGone,
    /// An administrator named someone nobody is (removed meanwhile, or mistyped).
    #[error("Nobody has that sign-in name. Search for the person again.")]
    NoSuchPerson,
    /// The list changed since the person confirmed (another window added or deleted some).
    #[error(
        "Your app passwords changed in another window meanwhile, so nothing was deleted. Look at the list again, then try again."
    )]
    ListChanged,
    /// A passkey step was refused; the refusal says why.
    #[error("{0}")]
    Passkey(PasskeyRefusal),
}

/// Why a request was refused (403). Typed, so pages can react to a particular refusal; the
/// text is what the person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    #[error("Your organization doesn't allow app passwords.")]
    AppPasswordsNotAllowed,
    #[error(
        "Set up two-step verification first: add an authenticator app or a passkey on Security info."
    )]
    TwoStepVerificationFirst,
    /// The organization requires two-step verification and the person has no second factor:
    /// until they add one, only Security info, adding a method and signing out are open.
    #[error(
        "Your organization requires two-step verification. Add an authenticator app or a passkey on Security info first."
    )]
    AddTwoStepFirst,
    #[error(
        "You have {limit} authenticator apps, the most you can have. Delete one you no longer use, then add the new one."
    )]
    AuthenticatorLimitReached { limit: u32 },
    /// "Confirm it's you" of a person whose only second factor is a passkey: the password
    /// alone is not enough.
    #[error(
        "Your second step is a passkey: select “Confirm with a passkey” (it needs JavaScript)."
    )]
    ConfirmWithPasskey,
    /// Not one of the person's any more (deleted meanwhile, perhaps in another window).
    #[error("This authenticator app no longer exists: it was deleted, perhaps in another window.")]
    AuthenticatorGone,
    #[error(
        "Your organization requires two-step verification, and this is your last method for it. Add another method first, then delete this one."
    )]
    TwoStepRequiredByOrganization,
    #[error("Your account is disabled. Ask your administrator to enable it.")]
    AccountDisabled,
    #[error("Your sign-in took too long. Start again with your sign-in name.")]
    SignInExpired,
    #[error("Latchkey is not set up yet.")]
    NotSetUp,
    #[error("That already exists.")]
    AlreadyExists,
    #[error(
        "This is the last administrator. Make someone else an administrator first, so someone can still manage Latchkey."
    )]
    LastAdministrator,
    #[error("Only administrators can do this.")]
    NotAdministrator,
    /// "Forgot password?" is off (the organization's setting, or mail is not set up).
    #[error(
        "Resetting your password by mail isn't available here. Ask your administrator to reset it."
    )]
    ResetByMailOff,
    /// An administrator resetting their own sign-in methods where that keeps them (or
    /// everyone) from the console for a while: done only once they say they understand.
    #[error("{0} Tick \"I understand\", then reset them.")]
    ConfirmOwnMethodsReset(OwnMethodsReset),
}

/// What follows when administrators reset their own sign-in methods: they are signed out;
/// where the organization requires two-step verification, the console is closed to them
/// until they add a method; as the last administrator, to everyone. Its text is what the
/// confirmation says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnMethodsReset {
    pub two_step_required: bool,
    pub last_administrator: bool,
}

impl OwnMethodsReset {
    /// Whether having been told `told` covers this: everything that follows was said.
    pub fn told_by(self, told: Self) -> bool {
        (!self.two_step_required || told.two_step_required)
            && (!self.last_administrator || told.last_administrator)
    }

    /// Its value in the confirmation's "I understand" box, so the server knows what the dialog
    /// said: "two_step_required,last_administrator", "signed_out" when only that.
    pub fn form_value(self) -> String {
        let mut said = vec!["signed_out"];
        if self.two_step_required {
            said.push("two_step_required");
        }
        if self.last_administrator {
            said.push("last_administrator");
        }
        said.join(",")
    }

    /// What a box's [`Self::form_value`] says was said; words it does not know count for
    /// nothing.
    pub fn from_form_value(value: &str) -> Self {
        let said = |word: &str| value.split(',').any(|w| w.trim() == word);
        Self {
            two_step_required: said("two_step_required"),
            last_administrator: said("last_administrator"),
        }
    }
}

impl std::fmt::Display for OwnMethodsReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("These are your own methods: you will be signed out everywhere, here too.")?;
        match (self.two_step_required, self.last_administrator) {
            (true, last) => {
                f.write_str(
                    " Your organization requires two-step verification: at your next sign-in you \
                     will be asked to add a method, and you can't use the console until you do.",
                )?;
                if last {
                    f.write_str(
                        " You are the last administrator, so nobody can use it until then.",
                    )?;
                }
            }
            (false, true) => f.write_str(
                " You are the last administrator: until you add a method again, your password \
                 alone protects the console.",
            )?,
            (false, false) => {}
        }
        Ok(())
    }
}

impl AppError {
    /// The authenticator code did not match.
    pub fn wrong_code() -> Self {
        Self::invalid(
            "code",
            "That code didn't work. Check your authenticator app and enter the newest code.",
        )
    }

    /// The recovery code is not one of the person's, or was used already.
    pub fn wrong_recovery_code() -> Self {
        Self::invalid(
            "recovery_code",
            "That recovery code didn't work. Each code works once: check it, or use another one.",
        )
    }

    /// The account is disabled: said plainly, at whatever step the person is.
    pub fn account_disabled() -> Self {
        Self::Forbidden(Refusal::AccountDisabled)
    }

    /// The half-done sign-in waiting for its code is gone (expired or never started).
    pub fn sign_in_expired() -> Self {
        Self::Forbidden(Refusal::SignInExpired)
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status a server function answers with when it fails this way.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid { .. } => 422,
            Self::SignInFailed | Self::Unauthorized => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound | Self::AppPasswordGone | Self::BrowserGone | Self::NoSuchPerson => 404,
            Self::AlreadySetUp | Self::LimitReached { .. } | Self::ListChanged => 409,
            Self::ReverifyRequired => 403,
            Self::Throttled { .. } | Self::SignInHeldBack { .. } => 429,
            Self::Unavailable | Self::Busy { .. } => 503,
            Self::BadRequest => 400,
            Self::Internal | Self::Transport(_) => 500,
            Self::Passkey(refusal) => refusal.status(),
        }
    }

    /// Seconds to wait before trying again, for errors that say so (`Retry-After`).
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::Throttled {
                retry_after_seconds,
                ..
            }
            | Self::SignInHeldBack {
                retry_after_seconds,
                ..
            }
            | Self::Busy {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The message for `field`, if this error is about that field.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server these are about the request it was sent, not the connection.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
                if cfg!(feature = "ssr") =>
            {
                #[cfg(feature = "ssr")]
                crate::plain_post::answer_bad_request();
                Self::BadRequest
            }
            other => Self::Transport(other.to_string()),
        }
    }
}

impl From<PasskeyRefusal> for AppError {
    fn from(refusal: PasskeyRefusal) -> Self {
        AppError::Passkey(refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::{AppError, OwnMethodsReset, PasskeyRefusal};

    #[test]
    fn a_refusal_reaches_the_page_typed_with_its_words_and_status() {
        let refused = AppError::from(PasskeyRefusal::NotAccepted);
        assert_eq!(refused, AppError::Passkey(PasskeyRefusal::NotAccepted));
        assert_eq!(refused.status(), 401);
        assert_eq!(
            refused.to_string(),
            "That passkey wasn't accepted. Try again, or use another way."
        );
        // As the server function's answer carries it to the browser, and back.
        let carried = serde_json::to_string(&refused).expect("serialises");
        let read: AppError = serde_json::from_str(&carried).expect("deserialises");
        assert_eq!(read, refused);
        assert_eq!(AppError::from(PasskeyRefusal::Gone).status(), 404);
        assert_eq!(
            AppError::from(PasskeyRefusal::LastSecondFactor).status(),
            403
        );
    }

    #[test]
    fn the_understood_box_says_what_was_said_and_covers_only_that() {
        let all = OwnMethodsReset {
            two_step_required: true,
            last_administrator: true,
        };
        let partly = OwnMethodsReset {
            two_step_required: true,
            last_administrator: false,
        };
        for said in [all, partly, OwnMethodsReset::default()] {
            assert_eq!(OwnMethodsReset::from_form_value(&said.form_value()), said);
        }
        assert_eq!(
            OwnMethodsReset::from_form_value("yes"),
            OwnMethodsReset::default()
        );
        assert!(all.told_by(all) && partly.told_by(all));
        assert!(!all.told_by(partly));
        assert!(all.to_string().contains("nobody can use it until then"));
        assert!(!partly.to_string().contains("last administrator"));
    }
}
