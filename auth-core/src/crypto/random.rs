//! Random identifiers and secrets, token hashing and constant-time
//! comparison.
//!
//! All randomness comes from a CSPRNG: `OsRng` (the kernel) for secrets,
//! `thread_rng` (ChaCha12, seeded and periodically reseeded from the OS) for
//! identifiers, where one syscall per character would be wasteful. Both
//! panic only if the OS RNG itself is unavailable, which is not a condition
//! a login server can continue from.

use rand::Rng as _;
use rand::RngCore as _;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use super::b64url;

/// Bytes of entropy for a client secret: 48 bytes encode to exactly the 64
/// characters of an Auth0 client secret.
pub const CLIENT_SECRET_BYTES: usize = 48;

/// Bytes of entropy for authorization codes, refresh tokens and similar
/// bearer values: 256 bits, 43 characters.
pub const TOKEN_BYTES: usize = 32;

/// `len` characters from `[A-Za-z0-9]`, uniformly (rejection sampling, no
/// modulo bias). Auth0 client ids are 32 such characters (~190 bits).
pub fn random_id(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `bytes` random bytes from the OS RNG as base64url without padding
/// (URL-, header- and form-safe). See [`CLIENT_SECRET_BYTES`] and
/// [`TOKEN_BYTES`].
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    b64url(buf)
}

/// Lower-case hex SHA-256. Bearer secrets (refresh tokens, authorization
/// codes, client secrets) are stored only as this hash: they already carry
/// 256 bits of entropy, so a fast unsalted hash is enough and lets the
/// store look them up by hash, while a database leak reveals nothing usable.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Compares two byte strings in time that depends only on their lengths,
/// so comparing a presented secret with the expected one leaks no prefix
/// information. The length is not secret (all our tokens have fixed
/// lengths), so unequal lengths return early.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early-exit compare.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64url_decode;
    use std::collections::HashSet;

    #[test]
    fn ids_are_alphanumeric_and_distinct() {
        let ids: HashSet<String> = (0..1000).map(|_| random_id(32)).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
        assert_eq!(random_id(0), "");
        // All 62 symbols show up (the alphabet is not accidentally narrow).
        let chars: HashSet<char> = random_id(10_000).chars().collect();
        assert_eq!(chars.len(), 62);
    }

    #[test]
    fn tokens() {
        let secret = random_token(CLIENT_SECRET_BYTES);
        assert_eq!(secret.len(), 64, "Auth0-sized client secret");
        let code = random_token(TOKEN_BYTES);
        assert_eq!(code.len(), 43);
        for t in [&secret, &code] {
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{t}"
            );
        }
        assert_eq!(b64url_decode(&code).expect("b64").len(), TOKEN_BYTES);
        assert_ne!(random_token(TOKEN_BYTES), random_token(TOKEN_BYTES));
        assert_eq!(random_token(0), "");
    }

    #[test]
    fn sha256() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ct_eq() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
