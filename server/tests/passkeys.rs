//! Passkeys and security keys (WebAuthn) on SQLite and PostgreSQL, with a small software
//! authenticator written here: an ECDSA P-256 key (`p256`) that answers the server's options
//! as a browser would hand them over, with `authenticatorData`, `clientDataJSON` and a "none"
//! attestation (CBOR) built by hand, through JSON both ways (what the server functions will
//! carry). Adding one, the second step with it, passwordless sign-in with a discoverable
//! credential, renaming, deleting; refused: a replayed answer, a copied key's counter, another
//! origin, a ceremony finished by another session, an expired one; the IP-address public URL;
//! and the sign-in's server time.

mod support;

use std::sync::Arc;

use app::backend::RequestContext;
use app::backend::prelude::*;
use app::model::SignInStep;
use app::passkey_model::{PasskeyAvailability, PasskeyRefusal};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use server::domain::random::{OsRandom, RandomSource};
use server::secret_key::SecretKey;
use server::use_cases::{BackendSettings, PasskeyError, ServerBackend};
use sha2::{Digest, Sha256};
use support::{PASSWORD, TestDatabase, TestResult, context};
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

const ORIGIN: &str = "http://localhost:3000";
const ADA: &str = "ada@contoso.example";

/// A backend whose public URL is `public_url`.
async fn backend_at(db: &TestDatabase, public_url: &str) -> Result<Arc<ServerBackend>, Error> {
    let dir = tempfile::tempdir()?;
    let key = SecretKey::load_or_create(&dir.path().join("secret.key"), &mut OsRandom)?;
    Ok(ServerBackend::new(
        support::watched_store(db).await,
        key,
        BackendSettings {
            public_url: public_url.to_owned(),
            ..Default::default()
        },
    ))
}

/// An organization with Ada in it, on a backend at `http://localhost:3000`.
async fn with_ada(db: &TestDatabase) -> Result<Arc<ServerBackend>, Error> {
    let backend = backend_at(db, ORIGIN).await?;
    support::set_up_organization(&backend).await;
    support::add_user(&backend, ADA).await;
    Ok(backend)
}

/// Ada signed in with her password from `ip`: the step it led to and the browser's context.
async fn password_sign_in(
    backend: &ServerBackend,
    ip: &str,
) -> Result<(SignInStep, RequestContext), Error> {
    let (step, cookie) = backend.sign_in(&context(ip, None), ADA, PASSWORD).await?;
    Ok((step, context(ip, Some(&cookie))))
}

// --- A small CBOR writer: just what a "none" attestation and a COSE key need. ---

fn cbor_head(major: u8, length: usize, out: &mut Vec<u8>) {
    let major = major << 5;
    match length {
        0..=23 => out.push(major | length as u8),
        24..=255 => out.extend([major | 24, length as u8]),
        _ => {
            out.push(major | 25);
            out.extend((length as u16).to_be_bytes());
        }
    }
}

fn cbor_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, bytes.len(), out);
    out.extend(bytes);
}

fn cbor_text(text: &str, out: &mut Vec<u8>) {
    cbor_head(3, text.len(), out);
    out.extend(text.as_bytes());
}

/// A small integer key or value (-24..=23).
fn cbor_int(value: i8, out: &mut Vec<u8>) {
    if value >= 0 {
        cbor_head(0, value as usize, out);
    } else {
        cbor_head(1, (-1 - i16::from(value)) as usize, out);
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, Error> {
    Ok(URL_SAFE_NO_PAD.decode(text)?)
}

fn text_at<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, Error> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {pointer} in {value}").into())
}

/// Authenticator data flags.
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const ATTESTED_CREDENTIAL: u8 = 0x40;

/// A software passkey: a P-256 key, its credential id and signature counter, and the user
/// handle it was made for (a discoverable credential gives it back).
#[derive(Clone)]
struct SoftKey {
    key: SigningKey,
    credential_id: Vec<u8>,
    counter: u32,
    user_handle: Vec<u8>,
    rp_id: String,
}

impl SoftKey {
    fn new() -> Self {
        let key = loop {
            let mut secret = [0u8; 32];
            OsRandom.fill(&mut secret);
            if let Ok(key) = SigningKey::from_slice(&secret) {
                break key;
            }
        };
        let mut credential_id = vec![0u8; 32];
        OsRandom.fill(&mut credential_id);
        Self {
            key,
            credential_id,
            counter: 0,
            user_handle: Vec::new(),
            rp_id: String::new(),
        }
    }

    /// The COSE (RFC 8152) form of the public key: EC2, ES256, P-256, x, y.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        let (x, y) = (&bytes[1..33], &bytes[33..65]);
        let mut out = Vec::new();
        cbor_head(5, 5, &mut out);
        cbor_int(1, &mut out);
        cbor_int(2, &mut out); // kty: EC2
        cbor_int(3, &mut out);
        cbor_int(-7, &mut out); // alg: ES256
        cbor_int(-1, &mut out);
        cbor_int(1, &mut out); // crv: P-256
        cbor_int(-2, &mut out);
        cbor_bytes(x, &mut out);
        cbor_int(-3, &mut out);
        cbor_bytes(y, &mut out);
        out
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    /// `navigator.credentials.create()`: answers `options` as from `origin`, with user
    /// verification.
    fn create(
        &mut self,
        options: &CreationChallengeResponse,
        origin: &str,
    ) -> Result<RegisterPublicKeyCredential, Error> {
        let options = serde_json::to_value(options)?;
        self.rp_id = text_at(&options, "/publicKey/rp/id")?.to_owned();
        self.user_handle = unb64(text_at(&options, "/publicKey/user/id")?)?;
        let excluded = options
            .pointer("/publicKey/excludeCredentials")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if excluded
            .iter()
            .any(|c| c.get("id").and_then(Value::as_str) == Some(&b64(&self.credential_id)))
        {
            return Err("this key is excluded: it is added already".into());
        }
        let challenge = text_at(&options, "/publicKey/challenge")?;
        let client_data = Self::client_data("webauthn.create", challenge, origin);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(USER_PRESENT | USER_VERIFIED | ATTESTED_CREDENTIAL);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID: none
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = Vec::new();
        cbor_head(5, 3, &mut attestation);
        cbor_text("fmt", &mut attestation);
        cbor_text("none", &mut attestation);
        cbor_text("attStmt", &mut attestation);
        cbor_head(5, 0, &mut attestation);
        cbor_text("authData", &mut attestation);
        cbor_bytes(&auth_data, &mut attestation);
        let answer = json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
            },
            "extensions": {},
        });
        Ok(serde_json::from_value(answer)?)
    }

    /// `navigator.credentials.get()`: signs `options`' challenge as from `origin`, moving the
    /// counter on first when `count` (a copied key would not), giving the user handle back
    /// (as a discoverable credential does).
    fn get(
        &mut self,
        options: &RequestChallengeResponse,
        origin: &str,
        count: bool,
    ) -> Result<PublicKeyCredential, Error> {
        let options = serde_json::to_value(options)?;
        let challenge = text_at(&options, "/publicKey/challenge")?;
        if count {
            self.counter += 1;
        }
        let client_data = Self::client_data("webauthn.get", challenge, origin);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(USER_PRESENT | USER_VERIFIED);
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let answer = json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(&signature.to_der().to_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "extensions": {},
        });
        Ok(serde_json::from_value(answer)?)
    }
}

/// Adds `key` to the signed-in `ctx`'s person under `name`.
async fn add_passkey(
    backend: &ServerBackend,
    ctx: &RequestContext,
    key: &mut SoftKey,
    name: &str,
) -> Result<app::passkey_model::PasskeyItem, Error> {
    let options = backend
        .start_passkey_registration(ctx, name, "", "")
        .await?;
    let answer = key.create(&options, ORIGIN)?;
    Ok(backend.finish_passkey_registration(ctx, &answer).await?)
}

async fn count(backend: &ServerBackend, sql: &str) -> Result<i64, Error> {
    let connection = backend.store().connection();
    let row = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .ok_or("no row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

fn refused(result: Result<impl std::fmt::Debug, PasskeyError>) -> Option<PasskeyRefusal> {
    match result {
        Err(PasskeyError::Refused(refusal)) => Some(refusal),
        _ => None,
    }
}

#[tokio::test]
async fn a_passkey_is_added_signs_in_both_ways_and_is_renamed_and_deleted() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        assert_eq!(
            backend.passkey_availability(),
            PasskeyAvailability::Available
        );
        let (step, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        assert_eq!(step, SignInStep::SignedIn, "{name}: no second factor yet");
        let (_, other_browser) = password_sign_in(&backend, "192.0.2.2").await?;

        // Added: listed with its name; the other browser is signed out; audited and mailed.
        let mut key = SoftKey::new();
        let added = add_passkey(&backend, &ada, &mut key, "  YubiKey  5 ").await?;
        assert_eq!(added.name, "YubiKey 5", "{name}");
        assert_eq!(added.last_used, None, "{name}");
        assert_eq!(backend.passkeys(&ada).await?, vec![added.clone()], "{name}");
        assert!(
            backend.current_user(&other_browser).await?.is_none(),
            "{name}: adding a passkey ends the person's other sessions"
        );
        assert_eq!(
            count(
                &backend,
                "SELECT count(*) AS n FROM audit_events WHERE kind = 'passkey.added'"
            )
            .await?,
            1,
            "{name}"
        );
        assert_eq!(
            count(&backend, "SELECT count(*) AS n FROM mail_outbox").await?,
            1,
            "{name}: the person is mailed"
        );
        // The same key cannot be added twice: the browser is told to exclude it.
        let options = backend
            .start_passkey_registration(&ada, "Again", "", "")
            .await?;
        assert!(key.clone().create(&options, ORIGIN).is_err(), "{name}");

        // The second step after the password.
        backend.sign_out(&ada).await?;
        let (step, pending) = password_sign_in(&backend, "192.0.2.1").await?;
        assert_eq!(
            step,
            SignInStep::SecondStep(app::model::SecondStepWay::Passkey),
            "{name}: a passkey is a second factor, asked for first when it is the only one"
        );
        assert!(backend.current_user(&pending).await?.is_none(), "{name}");
        let options = backend.start_passkey_second_step(&pending).await?;
        let allowed = serde_json::to_value(&options)?;
        assert_eq!(
            text_at(&allowed, "/publicKey/allowCredentials/0/id")?,
            b64(&key.credential_id),
            "{name}"
        );
        assert_eq!(
            text_at(&allowed, "/publicKey/userVerification")?,
            "required"
        );
        let answer = key.get(&options, ORIGIN, true)?;
        let cookie = backend
            .finish_passkey_second_step(&pending, &answer)
            .await?;
        let signed_in = context("192.0.2.1", Some(&cookie));
        assert_eq!(
            backend.current_user(&signed_in).await?.map(|u| u.username),
            Some(ADA.to_owned()),
            "{name}"
        );
        let listed = backend.passkeys(&signed_in).await?;
        assert!(listed[0].last_used.is_some(), "{name}: {listed:?}");

        // Passwordless: no name, no password; a discoverable credential with user verification.
        let stranger = context("192.0.2.3", None);
        let start = backend.start_passkey_sign_in(&stranger).await?;
        let options = serde_json::to_value(&start.options)?;
        assert_eq!(
            text_at(&options, "/publicKey/userVerification")?,
            "required"
        );
        assert!(
            options
                .pointer("/publicKey/allowCredentials")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty),
            "{name}: the key names the person: {options}"
        );
        assert!(
            options.get("mediation").is_none_or(Value::is_null),
            "{name}: {options}"
        );
        let answer = key.get(&start.options, ORIGIN, true)?;
        let cookie = backend
            .finish_passkey_sign_in(&stranger, &start.ceremony, &answer)
            .await?;
        let passwordless = context("192.0.2.3", Some(&cookie));
        assert_eq!(
            backend
                .current_user(&passwordless)
                .await?
                .map(|u| u.username),
            Some(ADA.to_owned()),
            "{name}"
        );
        assert_eq!(
            count(
                &backend,
                "SELECT count(*) AS n FROM audit_events WHERE kind = 'sign_in.succeeded' AND detail = 'passkey'"
            )
            .await?,
            1,
            "{name}"
        );

        // Renamed; then deleted (the session is fresh: no prompt), with its mail.
        let renamed = backend
            .rename_passkey(&passwordless, added.id, "Blue key")
            .await?;
        assert_eq!(renamed.name, "Blue key", "{name}");
        assert!(
            backend
                .rename_passkey(&passwordless, added.id, " ")
                .await
                .is_err(),
            "{name}: a name is needed"
        );
        backend
            .delete_passkey(&passwordless, added.id, "", "")
            .await?;
        assert!(backend.passkeys(&passwordless).await?.is_empty(), "{name}");
        assert_eq!(
            refused(
                backend
                    .delete_passkey(&passwordless, added.id, "", "")
                    .await
            ),
            Some(PasskeyRefusal::Gone),
            "{name}"
        );
        assert_eq!(
            count(&backend, "SELECT count(*) AS n FROM mail_outbox").await?,
            2,
            "{name}: added and deleted"
        );
        let (step, _) = password_sign_in(&backend, "192.0.2.1").await?;
        assert_eq!(step, SignInStep::SignedIn, "{name}: no second factor left");
    }
    Ok(())
}

#[tokio::test]
async fn replays_copies_other_origins_other_sessions_and_expired_ceremonies_are_refused()
-> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        let mut key = SoftKey::new();
        add_passkey(&backend, &ada, &mut key, "Laptop").await?;
        backend.sign_out(&ada).await?;

        // A good second step, then its answer replayed to a new ceremony: the challenge is not
        // the new one (and the counter did not move on).
        let (_, first) = password_sign_in(&backend, "192.0.2.1").await?;
        let options = backend.start_passkey_second_step(&first).await?;
        let answer = key.get(&options, ORIGIN, true)?;
        backend.finish_passkey_second_step(&first, &answer).await?;
        let (_, second) = password_sign_in(&backend, "192.0.2.1").await?;
        backend.start_passkey_second_step(&second).await?;
        assert_eq!(
            refused(backend.finish_passkey_second_step(&second, &answer).await),
            Some(PasskeyRefusal::NotAccepted),
            "{name}: a replayed answer"
        );
        // Each ceremony is answered once: the refused one is gone too.
        assert_eq!(
            refused(backend.finish_passkey_second_step(&second, &answer).await),
            Some(PasskeyRefusal::CeremonyExpired),
            "{name}"
        );

        // A copy of the key signs the new challenge with a counter that did not move on.
        let options = backend.start_passkey_second_step(&second).await?;
        let copied = key.get(&options, ORIGIN, false)?;
        assert_eq!(
            refused(backend.finish_passkey_second_step(&second, &copied).await),
            Some(PasskeyRefusal::NotAccepted),
            "{name}: the same signature counter twice"
        );

        // Another origin (a look-alike site relaying the challenge).
        let options = backend.start_passkey_second_step(&second).await?;
        let phished = key.get(&options, "http://login.localhost:3000", true)?;
        assert_eq!(
            refused(backend.finish_passkey_second_step(&second, &phished).await),
            Some(PasskeyRefusal::NotAccepted),
            "{name}: another origin"
        );
        let options = backend.start_passkey_second_step(&second).await?;
        let phished = key.get(&options, "https://localhost:3000", true)?;
        assert_eq!(
            refused(backend.finish_passkey_second_step(&second, &phished).await),
            Some(PasskeyRefusal::NotAccepted),
            "{name}: another scheme"
        );

        // Session A's ceremony cannot be finished by session B; A still can.
        let (_, session_b) = password_sign_in(&backend, "192.0.2.9").await?;
        let options = backend.start_passkey_second_step(&second).await?;
        let answer = key.get(&options, ORIGIN, true)?;
        assert_eq!(
            refused(
                backend
                    .finish_passkey_second_step(&session_b, &answer)
                    .await
            ),
            Some(PasskeyRefusal::CeremonyExpired),
            "{name}: another session's ceremony"
        );
        let cookie = backend.finish_passkey_second_step(&second, &answer).await?;
        let signed_in = context("192.0.2.1", Some(&cookie));
        assert!(backend.current_user(&signed_in).await?.is_some(), "{name}");

        // Likewise a registration started by one signed-in session.
        let cookie = backend
            .finish_passkey_second_step(&session_b, &{
                let options = backend.start_passkey_second_step(&session_b).await?;
                key.get(&options, ORIGIN, true)?
            })
            .await?;
        let other_signed_in = context("192.0.2.9", Some(&cookie));
        let options = backend
            .start_passkey_registration(&signed_in, "Phone", "", "")
            .await?;
        let answer = SoftKey::new().create(&options, ORIGIN)?;
        assert_eq!(
            refused(
                backend
                    .finish_passkey_registration(&other_signed_in, &answer)
                    .await
            ),
            Some(PasskeyRefusal::CeremonyExpired),
            "{name}: another session's registration"
        );

        // An expired ceremony (5 minutes), of each kind.
        let expire = |backend: Arc<ServerBackend>| async move {
            let connection = backend.store().connection();
            let kind = connection.get_database_backend();
            connection
                .execute_raw(Statement::from_sql_and_values(
                    kind,
                    match kind {
                        sea_orm::DatabaseBackend::Postgres => {
                            "UPDATE passkey_ceremonies SET expires_at = $1"
                        }
                        _ => "UPDATE passkey_ceremonies SET expires_at = ?",
                    },
                    [(chrono::Utc::now() - chrono::Duration::seconds(1)).into()],
                ))
                .await
        };
        let options = backend
            .start_passkey_registration(&signed_in, "Phone", "", "")
            .await?;
        let answer = SoftKey::new().create(&options, ORIGIN)?;
        expire(backend.clone()).await?;
        assert_eq!(
            refused(
                backend
                    .finish_passkey_registration(&signed_in, &answer)
                    .await
            ),
            Some(PasskeyRefusal::CeremonyExpired),
            "{name}: an expired registration"
        );
        let stranger = context("192.0.2.3", None);
        let start = backend.start_passkey_sign_in(&stranger).await?;
        let answer = key.get(&start.options, ORIGIN, true)?;
        expire(backend.clone()).await?;
        assert_eq!(
            refused(
                backend
                    .finish_passkey_sign_in(&stranger, &start.ceremony, &answer)
                    .await
            ),
            Some(PasskeyRefusal::CeremonyExpired),
            "{name}: an expired passwordless sign-in"
        );

        // Passwordless: a wrong token finds nothing; the right one works once, even when sent
        // twice at once.
        let start = backend.start_passkey_sign_in(&stranger).await?;
        let answer = key.get(&start.options, ORIGIN, true)?;
        assert_eq!(
            refused(
                backend
                    .finish_passkey_sign_in(&stranger, "not-the-token", &answer)
                    .await
            ),
            Some(PasskeyRefusal::CeremonyExpired),
            "{name}"
        );
        let (one, two) = tokio::join!(
            backend.finish_passkey_sign_in(&stranger, &start.ceremony, &answer),
            backend.finish_passkey_sign_in(&stranger, &start.ceremony, &answer),
        );
        assert_eq!(
            usize::from(one.is_ok()) + usize::from(two.is_ok()),
            1,
            "{name}: one sign-in from two finishes at once: {one:?} {two:?}"
        );
        assert_eq!(
            refused(
                backend
                    .finish_passkey_sign_in(&stranger, &start.ceremony, &answer)
                    .await
            ),
            Some(PasskeyRefusal::CeremonyExpired),
            "{name}: a replayed passwordless answer"
        );
        // A key and its copy answer two ceremonies with the same counter at once: one signs in.
        let browser_one = context("192.0.2.4", None);
        let browser_two = context("192.0.2.5", None);
        let start_one = backend.start_passkey_sign_in(&browser_one).await?;
        let start_two = backend.start_passkey_sign_in(&browser_two).await?;
        let answer_one = key.get(&start_one.options, ORIGIN, true)?;
        let answer_two = key.get(&start_two.options, ORIGIN, false)?;
        let (one, two) = tokio::join!(
            backend.finish_passkey_sign_in(&browser_one, &start_one.ceremony, &answer_one),
            backend.finish_passkey_sign_in(&browser_two, &start_two.ceremony, &answer_two),
        );
        assert_eq!(
            usize::from(one.is_ok()) + usize::from(two.is_ok()),
            1,
            "{name}: one counter value signs in once: {one:?} {two:?}"
        );
        // A key nobody added.
        let start = backend.start_passkey_sign_in(&stranger).await?;
        let mut unknown = SoftKey::new();
        unknown.rp_id = "localhost".to_owned();
        unknown.user_handle = key.user_handle.clone();
        let answer = unknown.get(&start.options, ORIGIN, true)?;
        assert_eq!(
            refused(
                backend
                    .finish_passkey_sign_in(&stranger, &start.ceremony, &answer)
                    .await
            ),
            Some(PasskeyRefusal::NotAccepted),
            "{name}: an unknown key"
        );
        // Wrong attempts were audited as failed sign-ins of Ada.
        assert!(
            count(
                &backend,
                "SELECT count(*) AS n FROM audit_events WHERE kind = 'sign_in.failed' AND detail = 'passkey not accepted'"
            )
            .await?
                >= 1,
            "{name}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_passkey_is_a_second_factor_for_the_organizations_rule_and_app_passwords() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        let mut first = SoftKey::new();
        let first_item = add_passkey(&backend, &ada, &mut first, "First").await?;

        // App passwords need a second factor: a passkey is one.
        let created = backend.create_app_password(&ada, "Mail", "", "").await?;
        let client = server::use_cases::app_password_check::Client {
            ip: Some("192.0.2.50".to_owned()),
            name: Some("IMAP".to_owned()),
            ..Default::default()
        };
        let checked = backend
            .check_app_password(ADA, &created.password, &client)
            .await?;
        assert!(
            matches!(
                checked,
                server::use_cases::app_password_check::CheckOutcome::Accepted(_)
            ),
            "{name}: {checked:?}"
        );

        // Where the organization requires two-step verification, the last one stays.
        support::set_policy(
            &backend,
            server::domain::policy::Setting::RequireTwoStep,
            true,
        )
        .await?;
        backend.recent_activity(&ada, None).await?;
        assert_eq!(
            refused(backend.delete_passkey(&ada, first_item.id, "", "").await),
            Some(PasskeyRefusal::LastSecondFactor),
            "{name}"
        );
        let mut second = SoftKey::new();
        let second_item = add_passkey(&backend, &ada, &mut second, "Second").await?;
        backend.delete_passkey(&ada, first_item.id, "", "").await?;
        assert_eq!(
            refused(backend.delete_passkey(&ada, second_item.id, "", "").await),
            Some(PasskeyRefusal::LastSecondFactor),
            "{name}"
        );

        // Without the rule, deleting the last one stops app passwords at once, here and on
        // another instance that had the check cached (migration 19's trigger tells it).
        support::set_policy(
            &backend,
            server::domain::policy::Setting::RequireTwoStep,
            false,
        )
        .await?;
        let other_instance = support::backend_with_key_of(&database, &backend).await;
        let accepted = other_instance
            .check_app_password(ADA, &created.password, &client)
            .await?;
        assert!(
            matches!(
                accepted,
                server::use_cases::app_password_check::CheckOutcome::Accepted(_)
            ),
            "{name}: {accepted:?}"
        );
        backend.delete_passkey(&ada, second_item.id, "", "").await?;
        let checked = backend
            .check_app_password(ADA, &created.password, &client)
            .await?;
        assert_eq!(
            checked,
            server::use_cases::app_password_check::CheckOutcome::Refused,
            "{name}: no second factor left"
        );
        let refused_there = support::time_until(std::time::Duration::from_secs(5), async || {
            Ok::<_, server::db::StoreError>(
                other_instance
                    .check_app_password(ADA, &created.password, &client)
                    .await?
                    == server::use_cases::app_password_check::CheckOutcome::Refused,
            )
        })
        .await?;
        assert!(
            refused_there.is_some(),
            "{name}: the other instance still accepts it"
        );
    }
    Ok(())
}

/// A person whose only second factor is a passkey confirms it's them with it: the password and
/// an (absent) code are not enough.
#[tokio::test]
async fn a_passkey_confirms_its_the_person_before_a_factor_change() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        let mut key = SoftKey::new();
        let added = add_passkey(&backend, &ada, &mut key, "Laptop").await?;
        // Signed in 20 minutes ago.
        let connection = backend.store().connection();
        let kind = connection.get_database_backend();
        connection
            .execute_raw(Statement::from_sql_and_values(
                kind,
                match kind {
                    sea_orm::DatabaseBackend::Postgres => "UPDATE sessions SET verified_at = $1",
                    _ => "UPDATE sessions SET verified_at = ?",
                },
                [(chrono::Utc::now() - chrono::Duration::minutes(20)).into()],
            ))
            .await?;
        assert_eq!(
            backend.delete_passkey(&ada, added.id, "", "").await,
            Err(PasskeyError::App(app::error::AppError::ReverifyRequired)),
            "{name}"
        );
        assert_eq!(
            backend.delete_passkey(&ada, added.id, PASSWORD, "").await,
            Err(PasskeyError::App(app::error::AppError::Forbidden(
                app::error::Refusal::ConfirmWithPasskey
            ))),
            "{name}: the password alone does not do for a second factor; the passkey is asked for"
        );
        let new = "a brand new passphrase";
        assert_eq!(
            backend.change_password(&ada, PASSWORD, new, new, "").await,
            Err(app::error::AppError::Forbidden(
                app::error::Refusal::ConfirmWithPasskey
            )),
            "{name}: Change password asks for the passkey too, not for a code she has no app for"
        );
        assert!(
            backend
                .start_passkey_registration(&ada, "Phone", "", "")
                .await
                .is_err(),
            "{name}"
        );
        let options = backend.start_passkey_confirmation(&ada).await?;
        let answer = key.get(&options, "http://evil.example", true)?;
        assert_eq!(
            refused(backend.finish_passkey_confirmation(&ada, &answer).await),
            Some(PasskeyRefusal::NotAccepted),
            "{name}: another origin"
        );
        let options = backend.start_passkey_confirmation(&ada).await?;
        let answer = key.get(&options, ORIGIN, true)?;
        backend.finish_passkey_confirmation(&ada, &answer).await?;
        assert_eq!(
            refused(backend.finish_passkey_confirmation(&ada, &answer).await),
            Some(PasskeyRefusal::CeremonyExpired),
            "{name}: once"
        );
        backend
            .change_password(&ada, PASSWORD, new, new, "")
            .await?;
        backend.delete_passkey(&ada, added.id, "", "").await?;
        assert!(backend.passkeys(&ada).await?.is_empty(), "{name}");
    }
    Ok(())
}

/// "Default sign-in method": beside an authenticator app and a passkey, sign-in asks for the
/// app first until the person chooses the passkey; "Sign in another way" lists the rest, then
/// the recovery codes; a choice of a kind the person lacks is refused, and one whose last
/// method goes is passed over.
#[tokio::test]
async fn the_default_sign_in_method_orders_the_second_step() -> TestResult {
    use app::model::SecondFactor::{AuthenticatorApp, Passkey};
    use app::model::SecondStepWay;
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        assert!(
            matches!(
                backend.set_default_method(&ada, Passkey).await,
                Err(app::error::AppError::Invalid { .. })
            ),
            "{name}: no passkey to choose"
        );
        add_authenticator(&backend, &ada).await?;
        let mut key = SoftKey::new();
        let added = add_passkey(&backend, &ada, &mut key, "Laptop").await?;
        backend
            .new_recovery_codes(&ada, &app::model::IdentityCheck::default())
            .await?;
        let info = backend.security_info(&ada).await?;
        assert_eq!(info.second_factors, [AuthenticatorApp, Passkey], "{name}");
        assert_eq!(info.default_method, "Authenticator app", "{name}");
        let (step, pending) = password_sign_in(&backend, "192.0.2.2").await?;
        assert_eq!(
            step,
            SignInStep::SecondStep(SecondStepWay::AuthenticatorApp)
        );
        assert_eq!(
            backend.second_step_ways(&pending).await?,
            [
                SecondStepWay::AuthenticatorApp,
                SecondStepWay::Passkey,
                SecondStepWay::RecoveryCode
            ],
            "{name}"
        );

        backend.set_default_method(&ada, Passkey).await?;
        let info = backend.security_info(&ada).await?;
        assert_eq!(info.second_factors, [Passkey, AuthenticatorApp], "{name}");
        assert_eq!(info.default_method, "Passkey or security key", "{name}");
        let user_id = user_id_of(&backend, &ada).await?;
        assert!(
            backend
                .store()
                .audit_events_of(user_id)
                .await?
                .iter()
                .any(|event| event.kind == "default_method.changed"),
            "{name}: audited"
        );
        let (step, pending) = password_sign_in(&backend, "192.0.2.3").await?;
        assert_eq!(
            step,
            SignInStep::SecondStep(SecondStepWay::Passkey),
            "{name}"
        );
        assert_eq!(
            backend.second_step_ways(&pending).await?,
            [
                SecondStepWay::Passkey,
                SecondStepWay::AuthenticatorApp,
                SecondStepWay::RecoveryCode
            ],
            "{name}"
        );
        let options = backend.start_passkey_second_step(&pending).await?;
        let answer = key.get(&options, ORIGIN, true)?;
        backend
            .finish_passkey_second_step(&pending, &answer)
            .await?;
        assert!(
            backend.second_step_ways(&pending).await?.is_empty(),
            "{name}: no sign-in waits any more"
        );

        // The passkey goes: the choice is passed over, not lost.
        backend.delete_passkey(&ada, added.id, "", "").await?;
        let (step, _) = password_sign_in(&backend, "192.0.2.4").await?;
        assert_eq!(
            step,
            SignInStep::SecondStep(SecondStepWay::AuthenticatorApp),
            "{name}"
        );
        assert_eq!(
            backend.security_info(&ada).await?.default_method,
            "Authenticator app"
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_ip_address_public_url_turns_passkeys_off_with_the_reason() -> TestResult {
    use clap::Parser;
    // The default public URL, http://127.0.0.1:3000 (from --addr), is an IP address.
    let defaults = server::config::Cli::try_parse_from(["latchkey"])?;
    let local =
        server::config::Cli::try_parse_from(["latchkey", "--public-url", "http://localhost:3000"])?;
    let database = TestDatabase::sqlite().await;
    let backend = backend_at(&database, &defaults.config.backend_settings().public_url).await?;
    let PasskeyAvailability::Unavailable { reason } = backend.passkey_availability() else {
        return Err("passkeys on an IP address".into());
    };
    assert!(
        reason.contains("127.0.0.1")
            && reason.contains("IP address")
            && reason.contains("localhost"),
        "{reason}"
    );
    support::set_up_organization(&backend).await;
    support::add_user(&backend, ADA).await;
    let (step, ada) = password_sign_in(&backend, "192.0.2.1").await?;
    assert_eq!(step, SignInStep::SignedIn, "the rest works");
    assert!(matches!(
        refused(
            backend
                .start_passkey_registration(&ada, "Key", "", "")
                .await
        ),
        Some(PasskeyRefusal::Unavailable { .. })
    ));
    assert!(matches!(
        refused(
            backend
                .start_passkey_sign_in(&context("192.0.2.1", None))
                .await
        ),
        Some(PasskeyRefusal::Unavailable { .. })
    ));

    let backend = backend_at(&database, &local.config.backend_settings().public_url).await?;
    assert_eq!(
        backend.passkey_availability(),
        PasskeyAvailability::Available
    );
    Ok(())
}

/// p50, p90, p99 and the slowest of `samples` (sorted here).
fn percentiles(samples: &mut [std::time::Duration]) -> [std::time::Duration; 4] {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    [at(0.50), at(0.90), at(0.99), at(1.0)]
}

/// The server's time for a passkey sign-in's answer (`finish_passkey_sign_in`: the ceremony
/// claimed, the signature checked, the use recorded, the session started), 200 times; printed.
#[tokio::test]
async fn passkey_sign_in_server_time() -> TestResult {
    const RUNS: usize = 200;
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        let mut key = SoftKey::new();
        add_passkey(&backend, &ada, &mut key, "Laptop").await?;
        let mut samples = Vec::with_capacity(RUNS);
        for run in 0..RUNS {
            // Each run from an address of its own: 30 sign-in attempts a minute per address.
            let ip = format!("198.51.{}.{}", run / 200, run % 200 + 1);
            let browser = context(&ip, None);
            let start = backend.start_passkey_sign_in(&browser).await?;
            let answer = key.get(&start.options, ORIGIN, true)?;
            let started = std::time::Instant::now();
            backend
                .finish_passkey_sign_in(&browser, &start.ceremony, &answer)
                .await?;
            samples.push(started.elapsed());
        }
        let [p50, p90, p99, slowest] = percentiles(&mut samples);
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        println!(
            "passkey sign-in server time ({name}, debug build, {RUNS} runs): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, slowest {:.2} ms",
            ms(p50),
            ms(p90),
            ms(p99),
            ms(slowest)
        );
        assert!(p50 < std::time::Duration::from_secs(1), "{name}: {p50:?}");
    }
    Ok(())
}

/// Ada's user id, from her session.
async fn user_id_of(backend: &ServerBackend, ctx: &RequestContext) -> Result<i32, Error> {
    Ok(backend.signed_in(ctx).await?.ok_or("signed in")?.user.id)
}

/// Adds an authenticator app to the signed-in `ctx`'s person.
async fn add_authenticator(backend: &ServerBackend, ctx: &RequestContext) -> Result<(), Error> {
    let enrollment = backend
        .begin_authenticator(ctx, &Default::default())
        .await?;
    backend
        .confirm_authenticator(
            ctx,
            &support::code_for(&enrollment.secret, support::now_unix())?,
            "",
        )
        .await?;
    Ok(())
}

/// How many recovery codes Ada has left, as Security info says (0 without a set).
async fn codes_left(backend: &ServerBackend, ctx: &RequestContext) -> Result<u32, Error> {
    Ok(backend
        .security_info(ctx)
        .await?
        .recovery_codes
        .map_or(0, |codes| codes.left))
}

/// A passkey is a second factor for recovery codes, Security info, the organization's rule
/// and deleting the authenticator app: a passkey-only person gets codes and is not asked to
/// add two-step verification; deleting the app beside a passkey keeps the codes and is allowed
/// where the organization requires two-step verification; deleting the last passkey beside the
/// app too; the last second factor of either kind stays there.
#[tokio::test]
async fn a_passkey_counts_as_the_second_factor_for_codes_security_info_and_deleting_the_app()
-> TestResult {
    use app::model::IdentityCheck;
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        let info = backend.security_info(&ada).await?;
        assert!(
            !info.has_two_step && !info.passkey_only && info.recovery_codes.is_none(),
            "{name}: {info:?}"
        );
        let mut key = SoftKey::new();
        let passkey = add_passkey(&backend, &ada, &mut key, "Laptop").await?;

        // Only a passkey: codes are offered and given, Security info says so.
        let codes = backend
            .new_recovery_codes(&ada, &IdentityCheck::default())
            .await?;
        assert_eq!(codes.codes.len(), 10, "{name}");
        let info = backend.security_info(&ada).await?;
        assert!(info.has_two_step && info.passkey_only, "{name}: {info:?}");
        assert_eq!(info.default_method, "Passkey or security key", "{name}");
        assert_eq!(info.recovery_codes.map(|codes| codes.left), Some(10));
        support::set_policy(
            &backend,
            server::domain::policy::Setting::RequireTwoStep,
            true,
        )
        .await?;
        let info = backend.security_info(&ada).await?;
        assert!(!info.two_step_required, "{name}: the banner asks for one");
        let signed_in = backend.signed_in(&ada).await?.ok_or("signed in")?;
        assert!(
            !backend.must_add_two_step(&signed_in, &ada).await?,
            "{name}"
        );

        // The app beside the passkey, then deleted: the codes stay, also where the
        // organization requires two-step verification (the passkey is left).
        add_authenticator(&backend, &ada).await?;
        let info = backend.security_info(&ada).await?;
        assert!(info.has_two_step && !info.passkey_only, "{name}: {info:?}");
        backend
            .delete_authenticator(
                &ada,
                support::first_authenticator_id(&backend, &ada).await?,
                "",
                "",
            )
            .await?;
        assert_eq!(codes_left(&backend, &ada).await?, 10, "{name}: codes kept");
        // The store's own deletion (the command line's and tests') keeps them too.
        add_authenticator(&backend, &ada).await?;
        let user_id = user_id_of(&backend, &ada).await?;
        assert!(
            backend.store().delete_authenticator(user_id).await?,
            "{name}"
        );
        assert_eq!(codes_left(&backend, &ada).await?, 10, "{name}: codes kept");

        // The last passkey beside the app goes; then the app is the last one and stays.
        add_authenticator(&backend, &ada).await?;
        backend.delete_passkey(&ada, passkey.id, "", "").await?;
        assert_eq!(codes_left(&backend, &ada).await?, 10, "{name}: codes kept");
        assert_eq!(
            backend
                .delete_authenticator(
                    &ada,
                    support::first_authenticator_id(&backend, &ada).await?,
                    "",
                    ""
                )
                .await,
            Err(app::error::AppError::Forbidden(
                app::error::Refusal::TwoStepRequiredByOrganization
            )),
            "{name}"
        );
        assert!(backend.security_info(&ada).await?.has_two_step, "{name}");

        // Without the rule, the last second factor takes the codes with it.
        support::set_policy(
            &backend,
            server::domain::policy::Setting::RequireTwoStep,
            false,
        )
        .await?;
        backend
            .delete_authenticator(
                &ada,
                support::first_authenticator_id(&backend, &ada).await?,
                "",
                "",
            )
            .await?;
        let info = backend.security_info(&ada).await?;
        assert!(
            !info.has_two_step && info.recovery_codes.is_none(),
            "{name}: {info:?}"
        );
        assert_eq!(
            count(&backend, "SELECT COUNT(*) AS n FROM recovery_codes").await?,
            0,
            "{name}"
        );
        assert_eq!(
            backend
                .new_recovery_codes(&ada, &IdentityCheck::default())
                .await
                .err(),
            Some(app::error::AppError::Forbidden(
                app::error::Refusal::TwoStepVerificationFirst
            )),
            "{name}"
        );
    }
    Ok(())
}

/// A passkey stored straight in the database for `user_id` (its credential is never used).
async fn stored_passkey(
    backend: &ServerBackend,
    user_id: i32,
    keep_session: i32,
    n: usize,
) -> Result<server::db::entities::passkey::Model, Error> {
    Ok(backend
        .store()
        .add_passkey(
            server::db::NewPasskey {
                user_id,
                name: format!("Key {n}"),
                credential_id: format!("credential-{n}"),
                user_handle: format!("handle-{n}"),
                credential: "{}".to_owned(),
                sign_count: 0,
            },
            keep_session,
            &server::db::Actor::default(),
            chrono::Utc::now(),
        )
        .await?)
}

/// Under the locks the store takes (PostgreSQL `FOR UPDATE`, SQLite's IMMEDIATE transaction),
/// changes at the same moment never leave recovery codes without a second factor: new codes
/// while the last passkey goes, and the app and the last passkey deleted at once (each sees
/// the other's deletion, so the last one takes the codes).
#[tokio::test]
async fn codes_never_outlive_the_last_second_factor_under_concurrent_changes() -> TestResult {
    let actor = server::db::Actor::default();
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        let signed_in = backend.signed_in(&ada).await?.ok_or("signed in")?;
        let (user_id, session_id) = (signed_in.user.id, signed_in.session.id);
        for round in 0..6 {
            let passkey = stored_passkey(&backend, user_id, session_id, round).await?;
            let with_app = round % 2 == 1;
            let app_id = if with_app {
                add_authenticator(&backend, &ada).await?;
                support::first_authenticator_id(&backend, &ada).await?
            } else {
                0
            };
            backend
                .new_recovery_codes(&ada, &app::model::IdentityCheck::default())
                .await?;
            let now = chrono::Utc::now();
            let hashes = (0..10).map(|i| format!("round {round} code {i}")).collect();
            let (replaced, removed, app_removed) = tokio::join!(
                async {
                    if with_app {
                        Ok(())
                    } else {
                        backend
                            .store()
                            .replace_recovery_codes(user_id, hashes, &actor, now)
                            .await
                    }
                },
                backend
                    .store()
                    .remove_passkey(user_id, passkey.id, session_id, false, &actor, now),
                async {
                    if with_app {
                        backend
                            .store()
                            .remove_authenticator(user_id, app_id, session_id, false, &actor, now)
                            .await
                            .map(Some)
                    } else {
                        Ok(None)
                    }
                },
            );
            // New codes either came first (then went with the passkey) or found none left.
            assert!(
                matches!(replaced, Ok(()) | Err(server::db::StoreError::NotFound)),
                "{name}: {replaced:?}"
            );
            assert!(
                matches!(removed, Ok(server::db::PasskeyRemoval::Removed { .. })),
                "{name}: {removed:?}"
            );
            assert!(
                matches!(
                    app_removed,
                    Ok(None | Some(server::db::AuthenticatorRemoval::Removed { .. }))
                ),
                "{name}: {app_removed:?}"
            );
            assert!(!backend.security_info(&ada).await?.has_two_step, "{name}");
            assert_eq!(
                count(&backend, "SELECT COUNT(*) AS n FROM recovery_codes").await?,
                0,
                "{name} round {round}: codes left without a second factor"
            );
        }
    }
    Ok(())
}

/// The console counts a passkey as two-step verification (the people list and its "Reset
/// methods" offer), and resetting a person's methods deletes their passkeys and codes.
#[tokio::test]
async fn the_console_counts_passkeys_and_a_reset_deletes_them() -> TestResult {
    use app::model::{IdentityCheck, PersonAction};
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        let (admin, _) =
            support::signed_in_with_authenticator(&backend, "admin@contoso.example", "192.0.2.9")
                .await?;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        let ada_row = async |backend: &ServerBackend| -> Result<_, Error> {
            Ok(backend
                .people(&admin, "ada", None)
                .await?
                .people
                .into_iter()
                .find(|person| person.username == ADA)
                .ok_or("Ada is listed")?)
        };
        assert!(!ada_row(&backend).await?.has_two_step, "{name}");
        let mut key = SoftKey::new();
        add_passkey(&backend, &ada, &mut key, "Laptop").await?;
        backend
            .new_recovery_codes(&ada, &IdentityCheck::default())
            .await?;
        assert!(ada_row(&backend).await?.has_two_step, "{name}: a passkey");

        let row = backend
            .act_on_person(
                &admin,
                ADA,
                PersonAction::ResetMethods,
                &IdentityCheck::default(),
            )
            .await?;
        assert!(!row.has_two_step, "{name}");
        assert!(!ada_row(&backend).await?.has_two_step, "{name}");
        assert_eq!(
            count(&backend, "SELECT COUNT(*) AS n FROM passkeys").await?,
            0,
            "{name}"
        );
        assert_eq!(
            count(&backend, "SELECT COUNT(*) AS n FROM recovery_codes").await?,
            0,
            "{name}"
        );
    }
    Ok(())
}

/// The two-step gate: in an organization that requires two-step verification a person with
/// only a passkey uses every page (the session's second factor counts it), one with none is
/// kept on Security info.
#[tokio::test]
async fn a_passkey_only_person_passes_the_two_step_gate() -> TestResult {
    for database in TestDatabase::all().await {
        let name = database.name;
        let backend = with_ada(&database).await?;
        support::add_user(&backend, "bob@contoso.example").await;
        let (_, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        let mut key = SoftKey::new();
        add_passkey(&backend, &ada, &mut key, "Laptop").await?;
        support::set_policy(
            &backend,
            server::domain::policy::Setting::RequireTwoStep,
            true,
        )
        .await?;
        // A new sign-in, with the passkey as the second step.
        let (step, ada) = password_sign_in(&backend, "192.0.2.1").await?;
        assert_eq!(
            step,
            SignInStep::SecondStep(app::model::SecondStepWay::Passkey),
            "{name}"
        );
        let options = backend.start_passkey_second_step(&ada).await?;
        let answer = key.get(&options, ORIGIN, true)?;
        let cookie = backend.finish_passkey_second_step(&ada, &answer).await?;
        let ada = context("192.0.2.1", Some(&cookie));
        backend.recent_activity(&ada, None).await?;
        backend.app_passwords(&ada).await?;
        assert!(
            !backend.security_info(&ada).await?.two_step_required,
            "{name}"
        );

        let (_, cookie) = backend
            .sign_in(&context("192.0.2.2", None), "bob@contoso.example", PASSWORD)
            .await?;
        let bob = context("192.0.2.2", Some(&cookie));
        assert_eq!(
            backend.recent_activity(&bob, None).await.err(),
            Some(app::error::AppError::Forbidden(
                app::error::Refusal::AddTwoStepFirst
            )),
            "{name}"
        );
        assert!(
            backend.security_info(&bob).await?.two_step_required,
            "{name}"
        );
    }
    Ok(())
}
