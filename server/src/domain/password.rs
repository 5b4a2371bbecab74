//! Account password hashing with argon2id at OWASP's recommended parameters
//! (m = 19456 KiB, t = 2, p = 1), encoded as a PHC string. Hashing is deliberately slow,
//! so callers on async code use the `*_blocking` wrappers, which run on tokio's blocking pool.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::random::RandomSource;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// OWASP Password Storage Cheat Sheet, argon2id first choice.
pub fn hasher() -> Argon2<'static> {
    #[expect(clippy::expect_used, reason = "constant parameters, checked by a test")]
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with a fresh random salt.
pub fn hash_password(password: &str, rng: &mut impl RandomSource) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(HashError::Hash)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(HashError::Hash)
}

/// Whether `password` matches the encoded `hash`. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Whether `hash` was made with other parameters (or another algorithm) than [`hasher`]'s,
/// so it should be replaced at the next successful sign-in.
pub fn needs_rehash(hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return true;
    };
    let current = hasher();
    let current = current.params();
    parsed.algorithm != argon2::ARGON2ID_IDENT
        || Params::try_from(&parsed).map_or(true, |p| {
            (p.m_cost(), p.t_cost(), p.p_cost())
                != (current.m_cost(), current.t_cost(), current.p_cost())
        })
}

/// A hash of a random password, verified against when a username is unknown so that the
/// answer takes as long as for a known one.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    hash_password(
        "no such user; this never matches",
        &mut super::random::OsRandom,
    )
    .unwrap_or_default()
});

/// [`verify_password`] on the blocking pool.
pub async fn verify_password_blocking(password: String, hash: String) -> Result<bool, HashError> {
    Ok(tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await?)
}

/// Spends the time of one verification without a real hash; always false.
pub async fn verify_unknown_user_blocking(password: String) -> Result<bool, HashError> {
    Ok(tokio::task::spawn_blocking(move || {
        let _ = verify_password(&password, &DUMMY_HASH);
        false
    })
    .await?)
}

/// [`hash_password`] on the blocking pool, with the OS random source.
pub async fn hash_password_blocking(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_password(&password, &mut super::random::OsRandom))
        .await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_password("correct horse battery", &mut OsRandom).map_err(|e| e.to_string());
        let hash = hash.unwrap_or_default();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn weaker_or_foreign_hashes_need_rehash() {
        let current = hash_password("a password here", &mut OsRandom).unwrap_or_default();
        assert!(!needs_rehash(&current));
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap_or_default(),
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").map_err(|e| e.to_string());
        let old = salt.and_then(|s| {
            weaker
                .hash_password(b"a password here", &s)
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        });
        let old = old.unwrap_or_default();
        assert!(
            verify_password("a password here", &old),
            "old hashes still verify"
        );
        assert!(needs_rehash(&old));
        assert!(needs_rehash("garbage"));
    }

    #[test]
    fn salts_differ() {
        let a = hash_password("same password!", &mut OsRandom).map_err(|e| e.to_string());
        let b = hash_password("same password!", &mut OsRandom).map_err(|e| e.to_string());
        assert_ne!(a, b);
    }
}
