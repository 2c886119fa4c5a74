//! Auth0-style identifiers. Their shapes matter because tenants' code and SDKs pattern-match
//! them (e.g. `user_id.startsWith("auth0|")`).

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use rand::distributions::Alphanumeric;

/// `n` random ASCII letters and digits from the thread-local CSPRNG.
pub fn random_alphanumeric(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// `con_` + 16 alphanumerics, like Auth0 connection ids.
pub fn connection_id() -> String {
    format!("con_{}", random_alphanumeric(16))
}

/// 32 alphanumerics, like Auth0 client ids.
pub fn client_id() -> String {
    random_alphanumeric(32)
}

/// `cgr_` + 16 alphanumerics, like Auth0 client grant ids.
pub fn client_grant_id() -> String {
    format!("cgr_{}", random_alphanumeric(16))
}

/// `rul_` + 16 alphanumerics, like Auth0 rule ids.
pub fn rule_id() -> String {
    format!("rul_{}", random_alphanumeric(16))
}

/// `auth0|` + 24 lowercase hex digits, like users of Auth0 database connections.
pub fn user_id() -> String {
    let bytes: [u8; 12] = rand::thread_rng().r#gen();
    format!("auth0|{}", hex::encode(bytes))
}

/// A random (v4) UUID, used for Actions, versions, bindings and internal rows.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Execution log ids sort by time, like Auth0 log ids: 15-digit milliseconds, a 9-digit
/// per-process sequence (orders logs written in the same millisecond), then 8 random
/// characters so ids from different processes never collide.
pub fn log_id(date_ms: i64) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 1_000_000_000;
    format!("{:015}{seq:09}{}", date_ms.max(0), random_alphanumeric(8))
}
