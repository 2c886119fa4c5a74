//! The opt-in per-node cache of custom-database `getUser` answers ("not found"
//! included), kept as long as the connection's `options.get_user_cache_ttl`
//! says (see `code::custom_db` for why it is opt-in).

use serde_json::Value;
use std::time::{Duration, Instant};

/// The longest a connection may ask answers to be kept.
pub const MAX_GET_USER_TTL: Duration = Duration::from_secs(3600);
/// Answers kept per node.
const CACHE_ENTRIES: u64 = 100_000;

/// `(tenant, connection, lower-cased email)` → when the answer expires, and the profile
/// (`None`: the store has no such user).
pub type Key = (String, String, String);

pub struct GetUserCache {
    entries: moka::sync::Cache<Key, (Instant, Option<Value>)>,
}

impl Default for GetUserCache {
    fn default() -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(CACHE_ENTRIES)
                // Per-entry expiry is checked on read; this bounds what an idle entry costs.
                .time_to_live(MAX_GET_USER_TTL)
                .build(),
        }
    }
}

impl GetUserCache {
    /// A remembered answer that has not expired.
    pub fn lookup(&self, key: &Key) -> Option<Option<Value>> {
        let (expires, answer) = self.entries.get(key)?;
        if Instant::now() < expires {
            return Some(answer);
        }
        self.entries.invalidate(key);
        None
    }

    /// Keeps `answer` for `ttl`.
    pub fn remember(&self, key: Key, ttl: Duration, answer: Option<Value>) {
        self.entries.insert(key, (Instant::now() + ttl, answer));
    }

    /// Drops every answer of one connection.
    pub fn forget_connection(&self, tenant: &str, connection: &str) {
        // A full scan, but only on a management write of a custom-database connection.
        for (key, _) in self.entries.iter() {
            if key.0 == tenant && key.1 == connection {
                self.entries.invalidate(&*key);
            }
        }
    }
}
