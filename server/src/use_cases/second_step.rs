//! What completes a sign-in waiting for its second step (an authenticator code, a recovery
//! code, or a passkey's answer), shared by the use cases that finish one: each goes through
//! `sessions::complete_second_step`, so all are counted and throttled alike.

use app::error::AppError;
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential, Webauthn};

use crate::domain::activity;

/// A passkey's answer to the second step of a sign-in, with what checks it; given to
/// `sessions::complete_second_step`.
#[derive(Debug, Clone, Copy)]
pub(super) struct PasskeyAssertion<'a> {
    pub(super) webauthn: &'a Webauthn,
    pub(super) state: &'a PasskeyAuthentication,
    pub(super) credential: &'a PublicKeyCredential,
}

/// What completes a sign-in waiting for its second step.
#[derive(Debug, Clone, Copy)]
pub(super) enum SecondStep<'a> {
    /// A code from the person's authenticator app.
    AuthenticatorCode(&'a str),
    /// One of the person's unused recovery codes, in place of the app's code.
    RecoveryCode(&'a str),
    /// A passkey's answer to the challenge this session started (`use_cases::passkeys`).
    Passkey(PasskeyAssertion<'a>),
}

impl SecondStep<'_> {
    /// The audit detail of a wrong one.
    pub(super) fn failure(self) -> &'static str {
        match self {
            Self::AuthenticatorCode(_) => "wrong authenticator code",
            Self::RecoveryCode(_) => "wrong recovery code",
            Self::Passkey(_) => crate::domain::passkey::ASSERTION_REFUSED,
        }
    }

    /// What the person is told about a wrong one.
    pub(super) fn refusal(self) -> AppError {
        match self {
            Self::AuthenticatorCode(_) => AppError::wrong_code(),
            Self::RecoveryCode(_) => AppError::wrong_recovery_code(),
            Self::Passkey(_) => app::passkey_model::PasskeyRefusal::NotAccepted.into(),
        }
    }

    /// The audit detail of the completed sign-in.
    pub(super) fn completed(self) -> &'static str {
        match self {
            Self::AuthenticatorCode(_) => "password and authenticator app",
            Self::RecoveryCode(_) => activity::SIGNED_IN_WITH_RECOVERY_CODE,
            Self::Passkey(_) => crate::domain::passkey::SIGNED_IN_WITH_PASSWORD_AND_PASSKEY,
        }
    }
}

/// The person's stored choice of default sign-in method, in the app's words.
pub(super) fn chosen_default(
    stored: Option<crate::db::SecondFactorKind>,
) -> Option<app::model::SecondFactor> {
    use crate::db::SecondFactorKind;
    use app::model::SecondFactor;
    stored.map(|kind| match kind {
        SecondFactorKind::AuthenticatorApp => SecondFactor::AuthenticatorApp,
        SecondFactorKind::Passkey => SecondFactor::Passkey,
    })
}

/// A default sign-in method as stored.
pub(super) fn stored_default(method: app::model::SecondFactor) -> crate::db::SecondFactorKind {
    use crate::db::SecondFactorKind;
    use app::model::SecondFactor;
    match method {
        SecondFactor::AuthenticatorApp => SecondFactorKind::AuthenticatorApp,
        SecondFactor::Passkey => SecondFactorKind::Passkey,
    }
}
