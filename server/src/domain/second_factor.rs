//! Which second factor a sign-in asks for first, and in what order "Sign in another way" offers
//! the rest: the person's choice ("Default sign-in method") when they still have a method of
//! that kind, otherwise the authenticator app before a passkey; recovery codes always last.
//! Also the names people give their methods.

use app::model::{SecondFactor, SecondStepWay};

use super::ValidationError;

/// The name a person gives an authenticator app or a passkey ("Work phone", "YubiKey"), as
/// [`super::parse_item_name`] allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodName(String);

impl MethodName {
    pub fn parse(input: &str, kind: SecondFactor) -> Result<Self, ValidationError> {
        let when_empty = match kind {
            SecondFactor::Passkey => {
                "Enter a name for the passkey, for example YubiKey or Work laptop."
            }
            _ => "Enter a name for the authenticator app, for example Work phone.",
        };
        super::parse_item_name(input, when_empty).map(Self)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The kinds of second factor the person has, the one asked for first at the head.
pub fn ordered(
    chosen: Option<SecondFactor>,
    authenticators: u64,
    passkeys: u64,
) -> Vec<SecondFactor> {
    let mut kinds: Vec<SecondFactor> = [
        (SecondFactor::AuthenticatorApp, authenticators),
        (SecondFactor::Passkey, passkeys),
    ]
    .into_iter()
    .filter(|(_, count)| *count > 0)
    .map(|(kind, _)| kind)
    .collect();
    if let Some(position) = kinds.iter().position(|kind| Some(*kind) == chosen) {
        kinds[..=position].rotate_right(1);
    }
    kinds
}

/// The ways to finish a sign-in after the password: the second factors as [`ordered`], then
/// a recovery code while some are left.
pub fn second_step_ways(factors: &[SecondFactor], recovery_codes_left: u64) -> Vec<SecondStepWay> {
    let mut ways: Vec<SecondStepWay> = factors.iter().copied().map(SecondStepWay::from).collect();
    if recovery_codes_left > 0 && !ways.is_empty() {
        ways.push(SecondStepWay::RecoveryCode);
    }
    ways
}

/// Whether "confirm it's you" takes a passkey in place of a code: the person has passkeys and
/// no authenticator app (with an app, its code is asked for).
pub fn confirms_with_passkey(authenticators: u64, passkeys: u64) -> bool {
    authenticators == 0 && passkeys > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_trimmed_normalised_and_bounded() {
        let parse = |name: &str| MethodName::parse(name, SecondFactor::Passkey);
        assert_eq!(
            parse("  Work   laptop ").map(MethodName::into_string),
            Ok("Work laptop".to_owned())
        );
        assert!(parse(&"k".repeat(super::super::MAX_ITEM_NAME_CHARS + 1)).is_err());
        assert!(parse(&"k".repeat(super::super::MAX_ITEM_NAME_CHARS)).is_ok());
        for invisible in ["key\u{200B}", "ph\u{1}one", "a\u{202E}b", "a\tb"] {
            assert!(parse(invisible).is_err(), "{invisible:?}");
        }
        let empty = |kind| MethodName::parse("   ", kind).err().map(|e| e.message);
        assert_eq!(
            empty(SecondFactor::AuthenticatorApp).as_deref(),
            Some("Enter a name for the authenticator app, for example Work phone.")
        );
        assert_eq!(
            empty(SecondFactor::Passkey).as_deref(),
            Some("Enter a name for the passkey, for example YubiKey or Work laptop.")
        );
    }
    use SecondFactor::{AuthenticatorApp, Passkey};

    #[test]
    fn the_authenticator_app_comes_first_unless_the_person_chose_otherwise() {
        assert_eq!(ordered(None, 1, 1), [AuthenticatorApp, Passkey]);
        assert_eq!(ordered(Some(Passkey), 2, 1), [Passkey, AuthenticatorApp]);
        assert_eq!(
            ordered(Some(AuthenticatorApp), 1, 3),
            [AuthenticatorApp, Passkey]
        );
        assert_eq!(ordered(None, 0, 2), [Passkey]);
        assert!(ordered(None, 0, 0).is_empty());
    }

    #[test]
    fn a_passkey_confirms_its_the_person_only_without_an_authenticator_app() {
        assert!(confirms_with_passkey(0, 1));
        assert!(!confirms_with_passkey(1, 1), "the app's code is asked for");
        assert!(!confirms_with_passkey(0, 0));
    }

    #[test]
    fn a_choice_whose_methods_are_all_gone_is_passed_over() {
        assert_eq!(ordered(Some(Passkey), 1, 0), [AuthenticatorApp]);
        assert_eq!(ordered(Some(AuthenticatorApp), 0, 1), [Passkey]);
    }

    #[test]
    fn recovery_codes_come_last_and_only_while_some_are_left() {
        assert_eq!(
            second_step_ways(&[Passkey, AuthenticatorApp], 3),
            [
                SecondStepWay::Passkey,
                SecondStepWay::AuthenticatorApp,
                SecondStepWay::RecoveryCode
            ]
        );
        assert_eq!(
            second_step_ways(&[AuthenticatorApp], 0),
            [SecondStepWay::AuthenticatorApp]
        );
        // Codes stand in for a second factor: none offered without one.
        assert!(second_step_ways(&[], 5).is_empty());
    }
}
