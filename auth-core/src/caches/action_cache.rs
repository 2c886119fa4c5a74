//! `api.cache` for Actions: small per-tenant, per-trigger key/value entries
//! with expiry, under Auth0's published limits (20 entries, keys ≤ 64 bytes,
//! values ≤ 4 KB, default TTL 15 minutes).
//!
//! Best effort and per node, as Auth0 documents its own cache: an entry may
//! vanish at any time (eviction, another node, a restart), so code must treat
//! a miss as normal. The guest reads a snapshot passed in the event
//! (`__rb_cache`) and writes through `cache_set` / `cache_delete` commands,
//! applied here after each Action so later Actions of the flow see them.

use rulebox_runtime_api::Command;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const MAX_ENTRIES: usize = 20;
pub const MAX_KEY_BYTES: usize = 64;
pub const MAX_VALUE_BYTES: usize = 4096;
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
/// No entry outlives this, whatever it asks for.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
struct Entry {
    value: String,
    expires_at_ms: u64,
}

type Entries = Arc<Mutex<BTreeMap<String, Entry>>>;

pub struct ActionCache {
    scopes: moka::sync::Cache<(String, String), Entries>,
}

impl Default for ActionCache {
    fn default() -> Self {
        Self::new()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl ActionCache {
    pub fn new() -> Self {
        Self {
            scopes: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(MAX_TTL)
                .build(),
        }
    }

    fn entries(&self, tenant: &str, trigger: &str) -> Entries {
        self.scopes
            .get_with((tenant.to_owned(), trigger.to_owned()), Default::default)
    }

    /// The live entries, as the guest's `__rb_cache`: `{key: {value, expires_at}}`.
    pub fn snapshot(&self, tenant: &str, trigger: &str) -> Map<String, Value> {
        let now = now_ms();
        let entries = self.entries(tenant, trigger);
        let Ok(mut map) = entries.lock() else {
            return Map::new();
        };
        map.retain(|_, e| e.expires_at_ms > now);
        map.iter()
            .map(|(k, e)| {
                (
                    k.clone(),
                    json!({"value": e.value, "expires_at": e.expires_at_ms}),
                )
            })
            .collect()
    }

    /// Applies the cache commands of one Action's outcome. Writes over the
    /// limits are dropped (and logged): the cache is best effort.
    pub fn apply(&self, tenant: &str, trigger: &str, commands: &[Command]) {
        let now = now_ms();
        let entries = self.entries(tenant, trigger);
        let Ok(mut map) = entries.lock() else {
            return;
        };
        for cmd in commands {
            match cmd {
                Command::CacheSet {
                    key,
                    value,
                    ttl_ms,
                    expires_at,
                } => {
                    if key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES {
                        tracing::warn!(
                            tenant,
                            trigger,
                            key_bytes = key.len(),
                            value_bytes = value.len(),
                            "api.cache.set over the limits (key 64 B, value 4 KB): dropped"
                        );
                        continue;
                    }
                    let latest = now + MAX_TTL.as_millis() as u64;
                    let expires_at_ms = match (expires_at, ttl_ms) {
                        (Some(at), _) => *at,
                        (None, Some(ttl)) => now.saturating_add(*ttl),
                        (None, None) => now + DEFAULT_TTL.as_millis() as u64,
                    }
                    .min(latest);
                    map.insert(
                        key.clone(),
                        Entry {
                            value: value.clone(),
                            expires_at_ms,
                        },
                    );
                }
                Command::CacheDelete { key } => {
                    map.remove(key);
                }
                _ => {}
            }
        }
        map.retain(|_, e| e.expires_at_ms > now);
        // Over the entry limit: the entries closest to expiry go first.
        while map.len() > MAX_ENTRIES {
            let Some(soonest) = map
                .iter()
                .min_by_key(|(_, e)| e.expires_at_ms)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&soonest);
        }
    }
}

/// Legacy Rules' `global` object, kept per tenant on this node between
/// calls: best effort, as Auth0 documents it ("may vanish at any time").
pub struct RulesGlobal {
    by_tenant: moka::sync::Cache<String, Arc<Value>>,
}

/// Largest `global` kept per tenant (serialised JSON bytes); larger ones are dropped.
pub const MAX_RULES_GLOBAL_BYTES: usize = 64 << 10;

impl Default for RulesGlobal {
    fn default() -> Self {
        Self::new()
    }
}

impl RulesGlobal {
    pub fn new() -> Self {
        Self {
            by_tenant: moka::sync::Cache::builder()
                .max_capacity(64 << 20)
                .weigher(|_, v: &Arc<Value>| u32::try_from(v.to_string().len()).unwrap_or(u32::MAX))
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        }
    }

    pub fn get(&self, tenant: &str) -> Value {
        self.by_tenant
            .get(tenant)
            .map_or_else(|| json!({}), |v| v.as_ref().clone())
    }

    pub fn put(&self, tenant: &str, global: &Value) {
        if !global.is_object() {
            return;
        }
        if global.to_string().len() > MAX_RULES_GLOBAL_BYTES {
            tracing::warn!(tenant, "a rule's global object is over 64 KiB: not kept");
            self.by_tenant.invalidate(tenant);
            return;
        }
        self.by_tenant
            .insert(tenant.to_owned(), Arc::new(global.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: &str, value: &str, ttl_ms: Option<u64>) -> Command {
        Command::CacheSet {
            key: key.into(),
            value: value.into(),
            ttl_ms,
            expires_at: None,
        }
    }

    #[test]
    fn entries_are_scoped_limited_and_expire() {
        let c = ActionCache::new();
        c.apply(
            "t",
            "post-login",
            &[set("a", "1", None), set("gone", "x", Some(0))],
        );
        let snap = c.snapshot("t", "post-login");
        assert_eq!(snap["a"]["value"], "1");
        assert!(snap.get("gone").is_none(), "expired at once");
        assert!(
            c.snapshot("t", "credentials-exchange").is_empty(),
            "per trigger"
        );
        assert!(c.snapshot("u", "post-login").is_empty(), "per tenant");
        c.apply(
            "t",
            "post-login",
            &[
                set(&"k".repeat(65), "v", None),
                set("big", &"v".repeat(4097), None),
            ],
        );
        assert_eq!(
            c.snapshot("t", "post-login").len(),
            1,
            "over-limit writes dropped"
        );
        let many: Vec<Command> = (0..25)
            .map(|i| set(&format!("k{i}"), "v", Some(1_000_000 + i)))
            .collect();
        c.apply("t", "post-login", &many);
        let snap = c.snapshot("t", "post-login");
        assert_eq!(snap.len(), MAX_ENTRIES);
        assert!(snap.get("a").is_none(), "the soonest to expire went first");
        c.apply(
            "t",
            "post-login",
            &[Command::CacheDelete { key: "k24".into() }],
        );
        assert!(c.snapshot("t", "post-login").get("k24").is_none());
    }

    #[test]
    fn a_rules_global_is_kept_per_tenant_up_to_its_size_limit() {
        let g = RulesGlobal::new();
        assert_eq!(g.get("t"), json!({}));
        g.put("t", &json!({"token": "abc"}));
        assert_eq!(g.get("t"), json!({"token": "abc"}));
        assert_eq!(g.get("u"), json!({}), "per tenant");
        g.put("t", &json!({"big": "x".repeat(MAX_RULES_GLOBAL_BYTES)}));
        assert_eq!(
            g.get("t"),
            json!({}),
            "over the limit: dropped, not kept stale"
        );
    }
}
