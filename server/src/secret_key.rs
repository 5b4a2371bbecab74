//! The server's secret key (32 random bytes), used for keyed hashes such as the app-password
//! lookup hash. It lives in a file readable only by the server's user, never in the database,
//! so a stolen database alone is not enough to test guesses offline.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::domain::random::RandomSource;

/// Marks sealed values bound to an owner (associated data).
const BOUND_PREFIX: &str = "2.";

const KEY_BYTES: usize = 32;

/// The short name of the key whose check value is `check_value` (see [`SecretKey::id`]).
pub fn short_key_id(check_value: &str) -> String {
    check_value.chars().take(12).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("cannot read the secret key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the secret key file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the secret key file {path} is damaged (expected {KEY_BYTES} bytes as hex); restore it from a backup: without it, existing app passwords cannot be checked"
    )]
    Malformed { path: PathBuf },
    #[error(
        "the secret key file {path} can be read by other users (mode {mode:o}); run: chmod 600 {path}"
    )]
    TooOpen { path: PathBuf, mode: u32 },
}

/// The key bytes. `Debug` prints nothing secret.
#[derive(Clone)]
pub struct SecretKey([u8; KEY_BYTES]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A key from its bytes (tests use fixed ones).
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// What a database records to recognise this key later (`key_checks`): a keyed hash of
    /// a constant, which reveals nothing about the key.
    pub fn check_value(&self) -> String {
        self.keyed_hash("key-check", b"latchkey")
    }

    /// A short name for the key in messages: the start of its check value.
    pub fn id(&self) -> String {
        short_key_id(&self.check_value())
    }

    /// HMAC-SHA-256 of `data` under a key derived for `purpose`, as hex. Used for lookup
    /// hashes that must be found by equality but not be computable without the key.
    pub fn keyed_hash(&self, purpose: &str, data: &[u8]) -> String {
        hex::encode(self.mac(purpose, data))
    }

    /// Whether `hex_mac` is [`SecretKey::keyed_hash`] of `data` for `purpose`, compared in
    /// constant time (for signatures an attacker may try to guess).
    pub fn verify_keyed_hash(&self, purpose: &str, data: &[u8], hex_mac: &str) -> bool {
        let Ok(given) = hex::decode(hex_mac) else {
            return false;
        };
        use subtle::ConstantTimeEq;
        given.len() == 32 && bool::from(self.mac(purpose, data).ct_eq(&given[..]))
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        // HMAC accepts keys of any length, so this cannot fail; fall back to a fresh instance
        // of the same construction rather than panicking.
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| {
            <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(&Default::default())
        });
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Encrypts `plaintext` (ChaCha20-Poly1305 with a key derived for `purpose`) bound to
    /// `owner`: it opens only for the same owner, so a sealed value copied to another row is
    /// useless. Returns "2." + hex of nonce and ciphertext.
    pub fn seal(
        &self,
        purpose: &str,
        owner: &[u8],
        plaintext: &[u8],
        rng: &mut impl RandomSource,
    ) -> String {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let cipher =
            chacha20poly1305::ChaCha20Poly1305::new(&self.mac(purpose, b"encryption key").into());
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: owner,
        };
        // Encryption in memory only fails for inputs larger than the cipher's limit (256 GiB).
        let ciphertext = cipher.encrypt(&nonce.into(), payload).unwrap_or_default();
        format!(
            "{BOUND_PREFIX}{}{}",
            hex::encode(nonce),
            hex::encode(ciphertext)
        )
    }

    /// Decrypts what [`SecretKey::seal`] made for the same `purpose` and `owner`; `None` if it
    /// was altered, sealed with another key or for another owner. Values sealed before owners
    /// were bound (no "2." prefix) still open, for databases from earlier versions.
    pub fn open(&self, purpose: &str, owner: &[u8], sealed: &str) -> Option<Vec<u8>> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let (hex_text, aad) = match sealed.strip_prefix(BOUND_PREFIX) {
            Some(rest) => (rest, owner),
            None => (sealed, &[][..]),
        };
        let bytes = hex::decode(hex_text).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let cipher =
            chacha20poly1305::ChaCha20Poly1305::new(&self.mac(purpose, b"encryption key").into());
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        cipher
            .decrypt(chacha20poly1305::Nonce::from_slice(nonce), payload)
            .ok()
    }

    /// Reads the key from `path`, or generates one there (mode 0600) when the file is missing.
    pub fn load_or_create(
        path: &Path,
        rng: &mut impl RandomSource,
    ) -> Result<Self, SecretKeyError> {
        match fs::read_to_string(path) {
            Ok(text) => Self::from_file_text(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path, rng),
            Err(source) => Err(SecretKeyError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Reads the key from `path`, which must exist.
    pub fn load(path: &Path) -> Result<Self, SecretKeyError> {
        let text = fs::read_to_string(path).map_err(|source| SecretKeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_file_text(path, &text)
    }

    /// Writes the key to a new file at `path` (mode 0600); never replaces an existing file.
    pub fn write_new(&self, path: &Path) -> Result<(), SecretKeyError> {
        write_key_file(path, &self.0)
    }

    fn from_file_text(path: &Path, text: &str) -> Result<Self, SecretKeyError> {
        let metadata = fs::metadata(path).map_err(|source| SecretKeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretKeyError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        let bytes = hex::decode(text.trim()).map_err(|_| SecretKeyError::Malformed {
            path: path.to_owned(),
        })?;
        let key: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| SecretKeyError::Malformed {
            path: path.to_owned(),
        })?;
        Ok(Self(key))
    }

    fn create(path: &Path, rng: &mut impl RandomSource) -> Result<Self, SecretKeyError> {
        let mut key = [0u8; KEY_BYTES];
        rng.fill(&mut key);
        write_key_file(path, &key)?;
        tracing::info!(path = %path.display(), "generated a new server secret key");
        Ok(Self(key))
    }
}

/// Writes `key` as hex to a new file (and its directory) with mode 0600, synced to disk.
fn write_key_file(path: &Path, key: &[u8; KEY_BYTES]) -> Result<(), SecretKeyError> {
    let create_error = |source| SecretKeyError::Create {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(create_error)?;
    }
    // create_new: never overwrite a key another process wrote a moment ago.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(create_error)?;
    file.write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .map_err(create_error)?;
    file.sync_all().map_err(create_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    #[test]
    fn creates_a_private_key_file_once_and_reads_it_back() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested/secret.key");
        let first = SecretKey::load_or_create(&path, &mut OsRandom)?;
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        let second = SecretKey::load_or_create(&path, &mut OsRandom)?;
        assert_eq!(first.as_bytes(), second.as_bytes());
        assert_eq!(format!("{first:?}"), "SecretKey(..)");
        Ok(())
    }

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_purpose() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let key = SecretKey::load_or_create(&dir.path().join("a"), &mut OsRandom)?;
        let other = SecretKey::load_or_create(&dir.path().join("b"), &mut OsRandom)?;
        let sealed = key.seal("totp", b"user 1", b"secret bytes", &mut OsRandom);
        assert!(!sealed.contains(&hex::encode(b"secret bytes")));
        assert_eq!(
            key.open("totp", b"user 1", &sealed).as_deref(),
            Some(&b"secret bytes"[..])
        );
        assert_eq!(key.open("other purpose", b"user 1", &sealed), None);
        assert_eq!(other.open("totp", b"user 1", &sealed), None);
        // Bound to its owner: copied to another user's row, it does not open; nor with the
        // prefix stripped (the owner is authenticated, not just named).
        assert_eq!(key.open("totp", b"user 2", &sealed), None);
        let stripped = sealed.trim_start_matches(BOUND_PREFIX);
        assert_eq!(key.open("totp", b"user 1", stripped), None);
        assert_eq!(key.open("totp", b"user 1", "00"), None);
        assert_eq!(
            key.keyed_hash("lookup", b"x"),
            key.keyed_hash("lookup", b"x")
        );
        assert_ne!(
            key.keyed_hash("lookup", b"x"),
            other.keyed_hash("lookup", b"x")
        );
        assert_ne!(
            key.keyed_hash("lookup", b"x"),
            key.keyed_hash("other", b"x")
        );
        Ok(())
    }

    #[test]
    fn refuses_damaged_or_readable_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secret.key");
        fs::write(&path, "not hex")?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
        assert!(matches!(
            SecretKey::load_or_create(&path, &mut OsRandom),
            Err(SecretKeyError::Malformed { .. })
        ));
        fs::write(&path, format!("{}\n", "ab".repeat(32)))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        assert!(matches!(
            SecretKey::load_or_create(&path, &mut OsRandom),
            Err(SecretKeyError::TooOpen { .. })
        ));
        Ok(())
    }
}
