//! The server's secret key (32 random bytes), used for keyed hashes such as the app-password
//! lookup hash. It lives in a file readable only by the server's user, never in the database,
//! so a stolen database alone is not enough to test guesses offline.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::domain::random::RandomSource;

const KEY_BYTES: usize = 32;

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
    pub fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
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
        let create_error = |source| SecretKeyError::Create {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(create_error)?;
        }
        let mut key = [0u8; KEY_BYTES];
        rng.fill(&mut key);
        // create_new: never overwrite a key another process wrote a moment ago.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(create_error)?;
        file.write_all(format!("{}\n", hex::encode(key)).as_bytes())
            .map_err(create_error)?;
        file.sync_all().map_err(create_error)?;
        tracing::info!(path = %path.display(), "generated a new server secret key");
        Ok(Self(key))
    }
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
