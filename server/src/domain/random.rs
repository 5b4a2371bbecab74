//! Secure randomness from the operating system (getrandom), behind a trait so rules that
//! draw random values can be tested with a fixed source.

/// A source of random bytes.
pub trait RandomSource {
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // The OS generator failing means the machine cannot do cryptography at all;
        // continuing with predictable secrets would be worse than stopping.
        #[expect(
            clippy::expect_used,
            reason = "no safe way to continue without OS randomness"
        )]
        getrandom::fill(buf).expect("the operating system's random number generator failed");
    }
}

/// `len` random bytes as lowercase hex.
pub fn random_hex(rng: &mut impl RandomSource, len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rng.fill(&mut bytes);
    hex::encode(bytes)
}
