//! Account password hashing with argon2id at OWASP's recommended parameters
//! (m = 19456 KiB, t = 2, p = 1), encoded as a PHC string. Hashing is deliberately slow,
//! so callers on async code use the `*_blocking` wrappers, which run on a few threads of our
//! own: as many hashes at once as there are cores, a bounded queue behind them, and past that
//! an immediate [`HashError::Busy`] (answered 503 with `Retry-After`). A flood
//! of sign-ins therefore cannot hold hundreds of 19 MiB hashes in memory, nor starve the
//! requests that need no hashing.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::random::RandomSource;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("a password-hashing thread stopped before answering")]
    Lost,
    /// Every hashing slot and queue place is taken; try again in a moment.
    #[error("too many password checks at once")]
    Busy,
}

/// Requests that may wait for a hashing thread, per core.
const QUEUED_PER_CORE: usize = 16;

/// What the hashing threads are doing, for the metrics (read with [`hashing_load`]).
static WAITING: AtomicUsize = AtomicUsize::new(0);
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// The hashing pool's load at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLoad {
    /// Hashes waiting for a thread.
    pub waiting: usize,
    /// Hashes being computed.
    pub running: usize,
    /// Threads (one per core).
    pub threads: usize,
    /// Places in the queue; a hash that finds them all taken is refused ([`HashError::Busy`]).
    pub queue_capacity: usize,
    /// Hashes refused as busy since the process started.
    pub refused: u64,
}

/// How loaded the hashing pool is now.
pub fn hashing_load() -> HashingLoad {
    let threads = cores();
    HashingLoad {
        waiting: WAITING.load(Ordering::Relaxed),
        running: RUNNING.load(Ordering::Relaxed),
        threads,
        queue_capacity: threads * QUEUED_PER_CORE,
        refused: REFUSED.load(Ordering::Relaxed),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

type Job = Box<dyn FnOnce() + Send>;

/// The threads that run argon2: one per core, fed by a bounded queue. Their own threads, not
/// tokio's blocking pool, so only these few threads ever hold argon2's memory (the allocator
/// keeps an arena per thread; a pool of hundreds of threads kept hundreds of MiB).
struct HashingPool {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

static POOL: std::sync::LazyLock<HashingPool> = std::sync::LazyLock::new(|| {
    let cores = cores();
    let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(cores * QUEUED_PER_CORE);
    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
    for n in 0..cores {
        let queue = std::sync::Arc::clone(&queue);
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    // A job that panics must not take the thread with it.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a password-hashing thread");
        }
    }
    HashingPool { jobs }
});

/// One hash in [`WAITING`] until a thread starts it, then in [`RUNNING`]; uncounted when
/// dropped, however it ends (done, panicked, or refused and never run).
struct Counted {
    started: bool,
}

impl Counted {
    fn waiting() -> Self {
        WAITING.fetch_add(1, Ordering::Relaxed);
        Self { started: false }
    }

    fn start(&mut self) {
        WAITING.fetch_sub(1, Ordering::Relaxed);
        RUNNING.fetch_add(1, Ordering::Relaxed);
        self.started = true;
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let counter = if self.started { &RUNNING } else { &WAITING };
        counter.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `work` on a hashing thread, or refuses at once when the queue is full.
async fn through_gate<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    // Counted before it is queued, so a thread taking it at once never counts below zero.
    let mut counted = Counted::waiting();
    let job: Job = Box::new(move || {
        counted.start();
        let _ = answer.send(work());
        drop(counted);
    });
    if POOL.jobs.try_send(job).is_err() {
        REFUSED.fetch_add(1, Ordering::Relaxed);
        return Err(HashError::Busy);
    }
    answered.await.map_err(|_| HashError::Lost)
}

/// OWASP Password Storage Cheat Sheet, argon2id first choice.
pub fn hasher() -> Argon2<'static> {
    #[expect(clippy::expect_used, reason = "constant parameters, checked by a test")]
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

thread_local! {
    /// Argon2's working memory for this thread, allocated once and reused. Letting argon2
    /// allocate and free 19 MiB per hash fragments the allocator's heap: measured, 20 sign-ins
    /// in a row left the server holding 360 MiB; with this, about 50.
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Most memory a stored hash may ask for (ours ask for 19 MiB); more is refused, not run.
const MAX_BLOCKS: usize = 256 * 1024;

/// Runs argon2 with `argon2`'s parameters into `out`, in this thread's reusable memory.
fn compute(argon2: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let blocks = argon2.params().block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .is_ok()
    })
}

/// Hashes a password with a fresh random salt, as a PHC string.
pub fn hash_password(password: &str, rng: &mut impl RandomSource) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt);
    let argon2 = hasher();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !compute(&argon2, password.as_bytes(), &salt, &mut out) {
        return Err(HashError::Hash(argon2::password_hash::Error::Password));
    }
    let salt = SaltString::encode_b64(&salt).map_err(HashError::Hash)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(HashError::Hash)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(HashError::Hash)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the encoded `hash`. A malformed hash never matches; the
/// comparison takes the same time wherever the outputs differ.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buffer = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buffer) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    compute(
        &Argon2::new(algorithm, version, params),
        password.as_bytes(),
        salt,
        &mut out,
    ) && Output::new(&out).is_ok_and(|actual| actual == expected)
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
    through_gate(move || verify_password(&password, &hash)).await
}

/// Spends the time of one verification without a real hash; always false.
pub async fn verify_unknown_user_blocking(password: String) -> Result<bool, HashError> {
    through_gate(move || {
        let _ = verify_password(&password, &DUMMY_HASH);
        false
    })
    .await
}

/// [`hash_password`] on the blocking pool, with the OS random source.
pub async fn hash_password_blocking(password: String) -> Result<String, HashError> {
    through_gate(move || hash_password(&password, &mut super::random::OsRandom)).await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::random::OsRandom;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn our_hashes_are_the_argon2_crates_own() {
        // Hashed here, verified by the crate's own verifier, and the other way round.
        let ours = hash_password("correct horse battery", &mut OsRandom).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            hasher()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = hasher()
            .hash_password(b"correct horse battery", &salt)
            .unwrap();
        assert!(verify_password(
            "correct horse battery",
            &theirs.to_string()
        ));
        assert!(!verify_password(
            "correct horse batterY",
            &theirs.to_string()
        ));
    }

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

    #[tokio::test]
    async fn the_load_counts_waiting_hashes_and_refusals() {
        let before = hashing_load();
        assert!(before.threads >= 1);
        assert_eq!(before.queue_capacity, before.threads * QUEUED_PER_CORE);
        // More than the threads and the queue can hold, submitted at once (each future hands
        // its job over when first polled).
        let hash = hash_password("a password here", &mut OsRandom).unwrap_or_default();
        let jobs = before.threads + before.queue_capacity + 16;
        let all = futures::future::join_all(
            (0..jobs).map(|_| verify_password_blocking("a password here".into(), hash.clone())),
        );
        let mut all = std::pin::pin!(all);
        assert!(futures::poll!(&mut all).is_pending());
        let flooded = hashing_load();
        assert!(flooded.waiting > 0, "{flooded:?}");
        let answers = all.await;
        let busy = answers
            .iter()
            .filter(|answer| matches!(answer, Err(HashError::Busy)))
            .count();
        assert!(busy > 0, "the queue overflowed");
        assert!(
            answers
                .iter()
                .all(|answer| matches!(answer, Ok(true) | Err(HashError::Busy)))
        );
        let after = hashing_load();
        assert!(after.refused - before.refused >= busy as u64, "{after:?}");
    }

    #[test]
    fn salts_differ() {
        let a = hash_password("same password!", &mut OsRandom).map_err(|e| e.to_string());
        let b = hash_password("same password!", &mut OsRandom).map_err(|e| e.to_string());
        assert_ne!(a, b);
    }
}
