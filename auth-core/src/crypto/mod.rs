//! Cryptography for auth-core: signing keys and their JWKS, JWT signing and
//! verification, password hashing, random identifiers/secrets and PKCE.
//!
//! Everything here is deliberately small and synchronous. RSA signing and
//! bcrypt are CPU-bound (milliseconds per call in release builds), so async
//! callers should run them on a blocking thread
//! (`tokio::task::spawn_blocking`) rather than on the reactor.
//!
//! Layout:
//! * [`keys`]: [`Alg`], [`KeyPair`] generation, JWK/JWKS rendering, RFC 7638 `kid`s.
//! * [`jwt`]: [`Signer`] (cached, pre-parsed private key) and [`verify`].
//! * [`password`]: bcrypt hashing with `$2b$` output.
//! * [`random`]: CSPRNG ids and tokens, SHA-256 for storing tokens, constant-time compare.
//! * [`pkce`]: RFC 7636 `code_verifier` checks.
//! * [`otp`]: RFC 6238 one-time passwords for the MFA API.

pub mod jwt;
pub mod keys;
pub mod otp;
pub mod password;
pub mod pkce;
pub mod random;

pub use jwt::{Signer, verify};
pub use keys::{Alg, KeyPair, PublicJwk, jwk_thumbprint, jwks};
pub use password::{hash_password, verify_password};
pub use pkce::verify_pkce;
pub use random::{constant_time_eq, random_id, random_token, sha256_hex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Errors from the crypto module.
///
/// The `String` payloads are meant for logs and for `error_description`s;
/// for [`CryptoError::InvalidToken`] the reason strings are stable (see
/// [`jwt::verify`]) so callers may show or match them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Generating a new key pair failed (RNG or encoding failure).
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    /// A stored key could not be loaded: unparsable PEM, wrong key type for
    /// the algorithm, or a private key that does not match its public JWK.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Producing a signature failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// A token was rejected. The reason is one of `expired`, `bad signature`,
    /// `wrong issuer`, `wrong audience`, `unknown kid`, `not yet valid`,
    /// `missing claim <name>`, `unsupported algorithm <alg>`,
    /// `algorithm does not match key`, `unusable key: ...` or `malformed: ...`.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// Password hashing failed (e.g. a bcrypt cost outside 4..=31).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// base64url without padding: the encoding JOSE (RFC 7515 §2) uses for every
/// binary value in JWS/JWK, and the one Auth0 uses for secrets and codes.
pub(crate) fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict inverse of [`b64url`]: rejects padding and the standard alphabet,
/// as RFC 7515 requires.
pub(crate) fn b64url_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(s)
}

/// Keys shared by the unit tests of every submodule: RSA-2048 generation
/// takes seconds in debug builds, so each key is generated once per test
/// binary.
#[cfg(test)]
pub(crate) mod test_keys {
    use super::keys::{Alg, KeyPair};
    use std::sync::LazyLock;

    pub static RSA_A: LazyLock<KeyPair> =
        LazyLock::new(|| KeyPair::generate(Alg::RS256).expect("generate RSA key A"));
    pub static RSA_B: LazyLock<KeyPair> =
        LazyLock::new(|| KeyPair::generate(Alg::RS256).expect("generate RSA key B"));
    pub static EC_A: LazyLock<KeyPair> =
        LazyLock::new(|| KeyPair::generate(Alg::ES256).expect("generate EC key A"));
    pub static EC_B: LazyLock<KeyPair> =
        LazyLock::new(|| KeyPair::generate(Alg::ES256).expect("generate EC key B"));
}
