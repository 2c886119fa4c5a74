//! A tenant's signing keys, parsed once: parsing PEM per token would
//! dominate the refresh path.

use crate::crypto::jwt::Signer;
use crate::crypto::keys::KeyPair;
use crate::error::ApiError;

/// A tenant's parsed signing keys: parsing PEM per token would dominate
/// the refresh path.
pub struct TenantKeys {
    /// The current key of the tenant's algorithm: access tokens, and ID tokens of
    /// clients that name no algorithm.
    pub signer: Signer,
    /// Current keys of the tenant's other algorithms, for clients whose
    /// `jwt_configuration.alg` asks for one.
    pub others: Vec<Signer>,
    pub jwks: serde_json::Value,
}

impl TenantKeys {
    /// The signer of `alg`, if the tenant has a current key of it.
    pub fn signer_for(&self, alg: crate::crypto::keys::Alg) -> Option<&Signer> {
        std::iter::once(&self.signer)
            .chain(&self.others)
            .find(|s| s.alg() == alg)
    }
}

/// A new signing key, made off the async workers (an RSA key takes tens of
/// milliseconds of CPU).
pub async fn generate_key(alg: crate::crypto::keys::Alg) -> Result<KeyPair, ApiError> {
    tokio::task::spawn_blocking(move || KeyPair::generate(alg))
        .await?
        .map_err(|e| ApiError::server_error(format!("signing key: {e}")))
}
