//! Passkeys and security keys (WebAuthn, with `webauthn-rs`): adding one (two requests: the
//! options for the browser's prompt, then its answer), renaming and deleting one, and using
//! one: as the second step after the password, alone (passwordless, a discoverable credential
//! with user verification), or to confirm it's the person before a sensitive change.
//!
//! Every ceremony's state is kept in the database between its two requests
//! (`db::passkeys`), bound to the session that started it (a passwordless sign-in has none: to
//! the hash of a token only the starting page holds), for [`rules::CEREMONY_LIFETIME`], and
//! claimed by deleting it: a state finishes once, for the session that started it, and a
//! replayed answer finds nothing. `webauthn-rs` checks the answer (challenge, origin, relying
//! party, signature, user verification, signature counter); a use is recorded only over a
//! lower counter (`Store::record_passkey_use`). A passkey counts as a second factor: the
//! second step goes through `sessions::complete_second_step`, counted and throttled like a
//! code, and deleting one follows the factor-change rules of the authenticator app.
//!
//! The relying party is the public URL's host and its origin the only one accepted; a public
//! URL that cannot be one (an IP address, plain http on a name other than localhost) turns
//! passkeys off ([`ServerBackend::passkey_availability`]), and every call says so.
//!
//! These are `ServerBackend` methods answering [`PasskeyError`] (the tests match its refusals);
//! the server functions call them through [`PasskeyUseCases`], which answers `AppError`.

use app::backend::{PasskeyUseCases, RequestContext, SetCookie};
use app::error::AppError;
use app::model::{IdentityCheck, SecondFactor};
use app::passkey_model::{PasskeyAvailability, PasskeyItem, PasskeyRefusal};
pub use app::passkeys::PasswordlessStart;
use async_trait::async_trait;
use chrono::Utc;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Uuid, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::second_step::{PasskeyAssertion, SecondStep};
use super::{ServerBackend, SignedIn, actor, client_ip};
use crate::db::entities::{passkey, passkey_ceremony, user};
use crate::db::{AuditNote, CeremonyBinding, NewCeremony, NewPasskey, PasskeyRemoval, StoreError};
use crate::domain::passkey::{self as rules, CeremonyKind};
use crate::domain::random::{OsRandom, RandomSource};
use crate::domain::second_factor::MethodName;
use crate::domain::session as session_rules;
use crate::domain::timefmt;
use crate::metrics::{self, FailedStep};
use crate::use_cases::sign_in_limits;

/// Why a passkey call failed: a passkey refusal the page can react to, or any other error of
/// the app (not signed in, "confirm it's you", throttled, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyError {
    #[error(transparent)]
    Refused(#[from] PasskeyRefusal),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for PasskeyError {
    fn from(e: StoreError) -> Self {
        Self::App(e.into())
    }
}

impl From<PasskeyError> for AppError {
    fn from(e: PasskeyError) -> Self {
        match e {
            PasskeyError::Refused(refusal) => refusal.into(),
            PasskeyError::App(e) => e,
        }
    }
}

/// What a registration keeps between its two requests: the user handle the credential is
/// made with (the finished `Passkey` does not carry it) and `webauthn-rs`'s state.
#[derive(Serialize, Deserialize)]
struct Registration {
    user_handle: Uuid,
    state: PasskeyRegistration,
}

/// How a credential id is stored and looked up: base64url without padding.
fn credential_id_text(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// A user handle for a person's first passkey: random, so it says nothing about them.
fn new_user_handle() -> Uuid {
    let mut bytes = [0u8; 16];
    OsRandom.fill(&mut bytes);
    Uuid::from_bytes(bytes)
}

fn item(row: &passkey::Model, now: chrono::DateTime<Utc>) -> PasskeyItem {
    PasskeyItem {
        id: row.id,
        name: row.name.clone(),
        added: timefmt::date(row.created_at),
        last_used: row.last_used_at.map(|at| timefmt::relative(at, now)),
    }
}

/// A stored credential, as `webauthn-rs` reads it.
fn stored_passkey(row: &passkey::Model) -> Result<Passkey, AppError> {
    serde_json::from_str(&row.credential).map_err(|e| {
        tracing::error!(passkey = row.id, error = %e, "a stored passkey cannot be read");
        AppError::Internal
    })
}

fn to_json(value: &impl Serialize) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "cannot serialise a passkey ceremony or credential");
        AppError::Internal
    })
}

/// `webauthn-rs` refused to make options: our configuration or its input is wrong, not the
/// person's doing.
fn options_failed(e: webauthn_rs::prelude::WebauthnError) -> PasskeyError {
    tracing::error!(error = %e, "cannot make passkey options");
    PasskeyError::App(AppError::Internal)
}

/// The browser's answer did not verify (logged at debug: anyone can send one).
fn not_accepted(e: webauthn_rs::prelude::WebauthnError) -> PasskeyError {
    tracing::debug!(error = %e, "passkey answer refused");
    PasskeyError::Refused(PasskeyRefusal::NotAccepted)
}

impl ServerBackend {
    /// Whether this server offers passkeys, and why not (the public URL's host is an IP
    /// address, or the page would not be a secure context).
    pub fn passkey_availability(&self) -> PasskeyAvailability {
        match rules::relying_party(&self.settings.public_url) {
            Ok(_) => PasskeyAvailability::Available,
            Err(off) => PasskeyAvailability::Unavailable {
                reason: off.to_string(),
            },
        }
    }

    /// The relying party of this server (cheap to make: a parsed URL and a hash).
    fn webauthn(&self) -> Result<Webauthn, PasskeyError> {
        let rp = rules::relying_party(&self.settings.public_url).map_err(|off| {
            PasskeyRefusal::Unavailable {
                reason: off.to_string(),
            }
        })?;
        let timeout = rules::CEREMONY_LIFETIME
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(300));
        WebauthnBuilder::new(&rp.id, &rp.origin)
            .map(|builder| builder.rp_name("Latchkey").timeout(timeout))
            .and_then(WebauthnBuilder::build)
            .map_err(options_failed)
    }

    /// Keeps a ceremony's `state` until it is finished or [`rules::CEREMONY_LIFETIME`] passes.
    async fn keep_ceremony(
        &self,
        binding: CeremonyBinding<'_>,
        kind: CeremonyKind,
        name: Option<String>,
        state: &impl Serialize,
    ) -> Result<(), PasskeyError> {
        let now = Utc::now();
        let new = NewCeremony {
            binding,
            kind,
            name,
            state: to_json(state)?,
            expires_at: now + rules::CEREMONY_LIFETIME,
        };
        self.store.start_ceremony(new, now).await?;
        Ok(())
    }

    /// Takes the ceremony of `kind` bound to `binding` and its state, or refuses: not started
    /// by this session (or page), finished already, or expired.
    async fn claim_ceremony<State: DeserializeOwned>(
        &self,
        binding: CeremonyBinding<'_>,
        kind: CeremonyKind,
    ) -> Result<(passkey_ceremony::Model, State), PasskeyError> {
        let ceremony = self
            .store
            .claim_ceremony(binding, kind, Utc::now())
            .await?
            .ok_or(PasskeyRefusal::CeremonyExpired)?;
        let state = serde_json::from_str(&ceremony.state).map_err(|e| {
            // Kept by an older version, say: start again.
            tracing::warn!(error = %e, "a passkey ceremony's state cannot be read");
            PasskeyRefusal::CeremonyExpired
        })?;
        Ok((ceremony, state))
    }

    /// The person's passkeys with their credentials, oldest first.
    /// Options asking for one of `user_id`'s passkeys, the ceremony kept for `session_id`: the
    /// start of the second step and of "confirm it's you" alike.
    async fn start_assertion(
        &self,
        webauthn: &Webauthn,
        user_id: i32,
        session_id: i32,
        kind: CeremonyKind,
    ) -> Result<RequestChallengeResponse, PasskeyError> {
        let keys: Vec<Passkey> = self
            .credentials_of(user_id)
            .await?
            .into_iter()
            .map(|(_, key)| key)
            .collect();
        if keys.is_empty() {
            return Err(PasskeyRefusal::NoPasskey.into());
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(options_failed)?;
        self.keep_ceremony(CeremonyBinding::Session(session_id), kind, None, &state)
            .await?;
        Ok(options)
    }

    async fn credentials_of(
        &self,
        user_id: i32,
    ) -> Result<Vec<(passkey::Model, Passkey)>, PasskeyError> {
        let rows = self.store.passkeys_of(user_id).await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let key = stored_passkey(&row)?;
            keys.push((row, key));
        }
        Ok(keys)
    }

    /// Records a verified use of `person`'s passkey `credential_id`: the counter and backup
    /// flags `result` reports, on the credential as stored now, and when. `false` when the
    /// passkey is no longer theirs, or another use with the same or a later counter was
    /// recorded first (a cloned key, a replay).
    async fn record_use(
        &self,
        person: i32,
        credential_id: &[u8],
        result: &webauthn_rs::prelude::AuthenticationResult,
    ) -> Result<bool, PasskeyError> {
        let Some(row) = self
            .store
            .passkey_by_credential_id(&credential_id_text(credential_id))
            .await?
            .filter(|row| row.user_id == person)
        else {
            return Ok(false);
        };
        let mut key = stored_passkey(&row)?;
        key.update_credential(result);
        Ok(self
            .store
            .record_passkey_use(
                row.id,
                person,
                to_json(&key)?,
                i64::from(result.counter()),
                Utc::now(),
            )
            .await?)
    }

    /// Whether `assertion` is a good answer from one of `person`'s passkeys (then recorded):
    /// the check of `sessions::complete_second_step`.
    pub(super) async fn passkey_second_step_passes(
        &self,
        person: &user::Model,
        assertion: PasskeyAssertion<'_>,
    ) -> Result<bool, AppError> {
        let result = match assertion
            .webauthn
            .finish_passkey_authentication(assertion.credential, assertion.state)
        {
            Ok(result) => result,
            Err(e) => {
                tracing::debug!(error = %e, "passkey answer refused at the second step");
                return Ok(false);
            }
        };
        Ok(self
            .record_use(person.id, result.cred_id(), &result)
            .await?)
    }

    /// The person's passkeys as Security info lists them.
    pub async fn passkeys(
        &self,
        context: &RequestContext,
    ) -> Result<Vec<PasskeyItem>, PasskeyError> {
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        if signed_in.counts.passkeys == 0 {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        Ok(self
            .store
            .passkeys_of(signed_in.user.id)
            .await?
            .iter()
            .map(|row| item(row, now))
            .collect())
    }

    /// Starts adding a passkey named `name`: the options for the browser's
    /// `navigator.credentials.create()`. Needs a sign-in within 10 minutes, or the password
    /// (and the authenticator code, when the person has an app) in the same request, as adding
    /// an authenticator app does; open before two-step verification (a passkey is one). The
    /// person's existing passkeys are excluded, so one key is not added twice; a discoverable
    /// credential is asked for where the key can keep one (then it signs in with no name typed).
    pub async fn start_passkey_registration(
        &self,
        context: &RequestContext,
        name: &str,
        password: &str,
        code: &str,
    ) -> Result<CreationChallengeResponse, PasskeyError> {
        let webauthn = self.webauthn()?;
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        let name = MethodName::parse(name, SecondFactor::Passkey).map_err(AppError::from)?;
        self.ensure_recent_sign_in(&signed_in, context, password, code)
            .await?;
        let existing = self.credentials_of(signed_in.user.id).await?;
        if existing.len() as u64 >= rules::MAX_PER_USER {
            return Err(PasskeyRefusal::LimitReached {
                limit: rules::MAX_PER_USER as u32,
            }
            .into());
        }
        // One handle per person, so their keys name them alike.
        let user_handle = existing
            .iter()
            .find_map(|(row, _)| Uuid::parse_str(&row.user_handle).ok())
            .unwrap_or_else(new_user_handle);
        let exclude = existing
            .iter()
            .map(|(_, key)| key.cred_id().clone())
            .collect();
        let (mut options, state) = webauthn
            .start_passkey_registration(
                user_handle,
                &signed_in.user.username,
                &signed_in.user.display_name,
                Some(exclude),
            )
            .map_err(options_failed)?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Preferred);
        }
        self.keep_ceremony(
            CeremonyBinding::Session(signed_in.session.id),
            CeremonyKind::Register,
            Some(name.into_string()),
            &Registration { user_handle, state },
        )
        .await?;
        Ok(options)
    }

    /// Finishes adding the passkey this session started with the browser's answer: checked,
    /// stored with its name, the person's other sessions ended, audited and mailed.
    pub async fn finish_passkey_registration(
        &self,
        context: &RequestContext,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<PasskeyItem, PasskeyError> {
        let webauthn = self.webauthn()?;
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        // Before the claim: after a "confirm it's you" the same answer can be sent again.
        self.ensure_recent_sign_in(&signed_in, context, "", "")
            .await?;
        let (ceremony, started): (_, Registration) = self
            .claim_ceremony(
                CeremonyBinding::Session(signed_in.session.id),
                CeremonyKind::Register,
            )
            .await?;
        let key = webauthn
            .finish_passkey_registration(credential, &started.state)
            .map_err(not_accepted)?;
        let new = NewPasskey {
            user_id: signed_in.user.id,
            name: ceremony.name.unwrap_or_else(|| "Passkey".to_owned()),
            credential_id: credential_id_text(key.cred_id()),
            user_handle: started.user_handle.to_string(),
            credential: to_json(&key)?,
            // The counter's floor; its value at registration is in the credential.
            sign_count: 0,
        };
        let added = self
            .store
            .add_passkey(new, signed_in.session.id, &actor(context), Utc::now())
            .await
            .map_err(|e| match e {
                StoreError::LimitReached => PasskeyRefusal::LimitReached {
                    limit: rules::MAX_PER_USER as u32,
                }
                .into(),
                StoreError::AlreadyExists => PasskeyRefusal::AlreadyRegistered.into(),
                other => PasskeyError::from(other),
            })?;
        Ok(item(&added, Utc::now()))
    }

    /// Renames one of the person's passkeys; answers with its row.
    pub async fn rename_passkey(
        &self,
        context: &RequestContext,
        id: i32,
        name: &str,
    ) -> Result<PasskeyItem, PasskeyError> {
        let signed_in = self.require_signed_in(context).await?;
        let name = MethodName::parse(name, SecondFactor::Passkey).map_err(AppError::from)?;
        let renamed = self
            .store
            .rename_passkey(
                signed_in.user.id,
                id,
                name.into_string(),
                &actor(context),
                Utc::now(),
            )
            .await?
            .ok_or(PasskeyRefusal::Gone)?;
        Ok(item(&renamed, Utc::now()))
    }

    /// Deletes one of the person's passkeys, as deleting the authenticator app: a sign-in
    /// within 10 minutes or the password (and code) in the same request; the person's other
    /// sessions end; audited and mailed. When the organization requires two-step verification
    /// the last second factor stays; when no second factor is left, the recovery codes go and
    /// app passwords stop.
    pub async fn delete_passkey(
        &self,
        context: &RequestContext,
        id: i32,
        password: &str,
        code: &str,
    ) -> Result<(), PasskeyError> {
        let signed_in = self.require_signed_in(context).await?;
        let required = self
            .store
            .organization()
            .await?
            .is_some_and(|org| org.require_two_step);
        // Said before any prompt; checked again, under a lock, when deleting.
        if required && self.is_last_second_factor(&signed_in, id).await? {
            return Err(PasskeyRefusal::LastSecondFactor.into());
        }
        self.ensure_recent_sign_in(&signed_in, context, password, code)
            .await?;
        match self
            .store
            .remove_passkey(
                signed_in.user.id,
                id,
                signed_in.session.id,
                required,
                &actor(context),
                Utc::now(),
            )
            .await?
        {
            PasskeyRemoval::Removed { .. } => Ok(()),
            PasskeyRemoval::NotFound => Err(PasskeyRefusal::Gone.into()),
            PasskeyRemoval::LastSecondFactor => Err(PasskeyRefusal::LastSecondFactor.into()),
        }
    }

    /// Whether passkey `id` is the person's only second factor.
    async fn is_last_second_factor(
        &self,
        signed_in: &SignedIn,
        id: i32,
    ) -> Result<bool, PasskeyError> {
        if signed_in.counts.authenticators > 0 {
            return Ok(false);
        }
        let others = self
            .store
            .passkeys_of(signed_in.user.id)
            .await?
            .iter()
            .filter(|row| row.id != id)
            .count();
        Ok(others == 0)
    }

    /// Starts the second step of the sign-in waiting for it, with a passkey: the options for
    /// the browser's `navigator.credentials.get()`, allowing the person's passkeys.
    pub async fn start_passkey_second_step(
        &self,
        context: &RequestContext,
    ) -> Result<RequestChallengeResponse, PasskeyError> {
        let webauthn = self.webauthn()?;
        let pending = self.pending_sign_in(context).await?;
        let (user, session) = (pending.user.id, pending.session.id);
        self.start_assertion(&webauthn, user, session, CeremonyKind::SecondStep)
            .await
    }

    /// Finishes the second step with the browser's answer: the sign-in completes as with an
    /// authenticator code (`sessions::complete_second_step`: counted and throttled as a code,
    /// the same session, audit event and cookies).
    pub async fn finish_passkey_second_step(
        &self,
        context: &RequestContext,
        credential: &PublicKeyCredential,
    ) -> Result<SetCookie, PasskeyError> {
        let webauthn = self.webauthn()?;
        let pending = self.pending_sign_in(context).await?;
        let (_, state): (_, PasskeyAuthentication) = self
            .claim_ceremony(
                CeremonyBinding::Session(pending.session.id),
                CeremonyKind::SecondStep,
            )
            .await?;
        let assertion = PasskeyAssertion {
            webauthn: &webauthn,
            state: &state,
            credential,
        };
        let refused = AppError::from(PasskeyRefusal::NotAccepted);
        self.complete_second_step(context, SecondStep::Passkey(assertion))
            .await
            .map_err(|e| {
                if e == refused {
                    PasskeyRefusal::NotAccepted.into()
                } else {
                    e.into()
                }
            })
    }

    /// Starts a passwordless sign-in: options asking for a discoverable credential of this
    /// site with user verification, and the token that binds the ceremony to the asking page.
    /// Counted against the address's sign-in attempts (each start keeps a row for 5 minutes).
    pub async fn start_passkey_sign_in(
        &self,
        context: &RequestContext,
    ) -> Result<PasswordlessStart, PasskeyError> {
        let webauthn = self.webauthn()?;
        self.check_ip_rate(context).await?;
        let (mut options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(options_failed)?;
        // A button's prompt: conditional mediation is for the name field's autofill.
        options.mediation = None;
        let ceremony = session_rules::new_token(&mut OsRandom);
        self.keep_ceremony(
            CeremonyBinding::TokenHash(&session_rules::token_hash(&ceremony)),
            CeremonyKind::Passwordless,
            None,
            &state,
        )
        .await?;
        Ok(PasswordlessStart { options, ceremony })
    }

    /// Finishes a passwordless sign-in with the browser's answer and the ceremony's token: the
    /// credential names its person (its user handle must be the one stored with it), its
    /// answer is checked (user verification required) and counted as a code attempt of that
    /// person; a complete session starts in place of the browser's previous one.
    pub async fn finish_passkey_sign_in(
        &self,
        context: &RequestContext,
        ceremony: &str,
        credential: &PublicKeyCredential,
    ) -> Result<SetCookie, PasskeyError> {
        let webauthn = self.webauthn()?;
        self.check_ip_rate(context).await?;
        let token_hash = session_rules::token_hash(ceremony);
        let (_, state): (_, DiscoverableAuthentication) = self
            .claim_ceremony(
                CeremonyBinding::TokenHash(&token_hash),
                CeremonyKind::Passwordless,
            )
            .await?;
        let (user_handle, credential_id) = webauthn
            .identify_discoverable_authentication(credential)
            .map_err(not_accepted)?;
        let Some(row) = self
            .store
            .passkey_by_credential_id(&credential_id_text(credential_id))
            .await?
            .filter(|row| row.user_handle == user_handle.to_string())
        else {
            metrics::sign_in_failed(FailedStep::Code);
            return Err(PasskeyRefusal::NotAccepted.into());
        };
        let Some(person) = self.store.user(row.user_id).await? else {
            return Err(PasskeyRefusal::NotAccepted.into());
        };
        let attempt = self.begin_code_attempt(&person.username_key).await?;
        let key = stored_passkey(&row)?;
        let verified = webauthn.finish_discoverable_authentication_v2(credential, state, &key);
        let recorded = match &verified {
            Ok(result) => self.record_use(person.id, result.cred_id(), result).await?,
            Err(e) => {
                tracing::debug!(error = %e, "passkey answer refused at a passwordless sign-in");
                false
            }
        };
        if !recorded {
            metrics::sign_in_failed(FailedStep::Code);
            self.sign_in_failed(&person, context, rules::ASSERTION_REFUSED)
                .await?;
            return Err(PasskeyRefusal::NotAccepted.into());
        }
        // Said only to whoever holds the key.
        if !person.is_enabled {
            return Err(AppError::account_disabled().into());
        }
        let now = Utc::now();
        attempt.succeeded(&self.store, now).await?;
        sign_in_limits::remember_address(
            &self.store,
            &person.username_key,
            client_ip(context),
            now,
        )
        .await?;
        let previous = self.any_session(context).await?.map(|old| old.session.id);
        let completed = AuditNote::new("sign_in.succeeded", rules::SIGNED_IN_WITH_PASSKEY);
        let cookie = self
            .start_session(&person, false, previous, Some(completed), context)
            .await?;
        Ok(cookie.and(self.remember_browser(context, &person)))
    }

    /// Starts "confirm it's you" with a passkey, for a signed-in person who has one: the
    /// options for the browser's prompt.
    pub async fn start_passkey_confirmation(
        &self,
        context: &RequestContext,
    ) -> Result<RequestChallengeResponse, PasskeyError> {
        let webauthn = self.webauthn()?;
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        let (user, session) = (signed_in.user.id, signed_in.session.id);
        self.start_assertion(&webauthn, user, session, CeremonyKind::Confirm)
            .await
    }

    /// Finishes "confirm it's you" with the browser's answer: a passkey with user
    /// verification proves the person as the password and code do, so the session counts as
    /// freshly signed in. Counted as a code attempt.
    pub async fn finish_passkey_confirmation(
        &self,
        context: &RequestContext,
        credential: &PublicKeyCredential,
    ) -> Result<(), PasskeyError> {
        let webauthn = self.webauthn()?;
        let signed_in = self.require_signed_in_to_add_two_step(context).await?;
        self.check_ip_rate(context).await?;
        let (_, state): (_, PasskeyAuthentication) = self
            .claim_ceremony(
                CeremonyBinding::Session(signed_in.session.id),
                CeremonyKind::Confirm,
            )
            .await?;
        let attempt = self
            .begin_code_attempt(&signed_in.user.username_key)
            .await?;
        let assertion = PasskeyAssertion {
            webauthn: &webauthn,
            state: &state,
            credential,
        };
        if !self
            .passkey_second_step_passes(&signed_in.user, assertion)
            .await?
        {
            metrics::sign_in_failed(FailedStep::Code);
            self.sign_in_failed(
                &signed_in.user,
                context,
                "passkey not accepted when confirming it's them",
            )
            .await?;
            return Err(PasskeyRefusal::NotAccepted.into());
        }
        let now = Utc::now();
        attempt.succeeded(&self.store, now).await?;
        self.store
            .mark_session_verified(signed_in.session.id, now)
            .await?;
        Ok(())
    }
}

/// The server functions' way in: the methods above, their refusals as `AppError`.
#[async_trait]
impl PasskeyUseCases for ServerBackend {
    fn passkey_availability(&self) -> PasskeyAvailability {
        ServerBackend::passkey_availability(self)
    }

    async fn passkeys(&self, context: &RequestContext) -> Result<Vec<PasskeyItem>, AppError> {
        Ok(ServerBackend::passkeys(self, context).await?)
    }

    async fn start_passkey_registration(
        &self,
        context: &RequestContext,
        name: &str,
        check: &IdentityCheck,
    ) -> Result<CreationChallengeResponse, AppError> {
        Ok(ServerBackend::start_passkey_registration(
            self,
            context,
            name,
            check.password.expose(),
            check.code.expose(),
        )
        .await?)
    }

    async fn finish_passkey_registration(
        &self,
        context: &RequestContext,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<PasskeyItem, AppError> {
        Ok(ServerBackend::finish_passkey_registration(self, context, credential).await?)
    }

    async fn rename_passkey(
        &self,
        context: &RequestContext,
        id: i32,
        name: &str,
    ) -> Result<PasskeyItem, AppError> {
        Ok(ServerBackend::rename_passkey(self, context, id, name).await?)
    }

    async fn delete_passkey(
        &self,
        context: &RequestContext,
        id: i32,
        check: &IdentityCheck,
    ) -> Result<(), AppError> {
        Ok(ServerBackend::delete_passkey(
            self,
            context,
            id,
            check.password.expose(),
            check.code.expose(),
        )
        .await?)
    }

    async fn start_passkey_second_step(
        &self,
        context: &RequestContext,
    ) -> Result<RequestChallengeResponse, AppError> {
        Ok(ServerBackend::start_passkey_second_step(self, context).await?)
    }

    async fn finish_passkey_second_step(
        &self,
        context: &RequestContext,
        credential: &PublicKeyCredential,
    ) -> Result<SetCookie, AppError> {
        Ok(ServerBackend::finish_passkey_second_step(self, context, credential).await?)
    }

    async fn start_passkey_sign_in(
        &self,
        context: &RequestContext,
    ) -> Result<PasswordlessStart, AppError> {
        Ok(ServerBackend::start_passkey_sign_in(self, context).await?)
    }

    async fn finish_passkey_sign_in(
        &self,
        context: &RequestContext,
        ceremony: &str,
        credential: &PublicKeyCredential,
    ) -> Result<SetCookie, AppError> {
        Ok(ServerBackend::finish_passkey_sign_in(self, context, ceremony, credential).await?)
    }

    async fn start_passkey_confirmation(
        &self,
        context: &RequestContext,
    ) -> Result<RequestChallengeResponse, AppError> {
        Ok(ServerBackend::start_passkey_confirmation(self, context).await?)
    }

    async fn finish_passkey_confirmation(
        &self,
        context: &RequestContext,
        credential: &PublicKeyCredential,
    ) -> Result<(), AppError> {
        Ok(ServerBackend::finish_passkey_confirmation(self, context, credential).await?)
    }
}
