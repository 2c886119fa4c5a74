//! A per-node snapshot of the tenant configuration every login reads:
//! the tenant itself, clients (with their secret hash), connections, rules,
//! flow plans and parsed signing keys.
//!
//! Why: a refresh-token login otherwise spends most of its time in
//! SQLite round trips for rows that change a few times a day. Why it is
//! safe: every entry is at most [`CONFIG_TTL`] old, so a change made on
//! another node is visible here within that time (the same bound a
//! deploy has), and this node's own management writes drop the tenant's
//! snapshot at once ([`ConfigCache::forget_tenant`]). Users, tokens and
//! everything a login writes are never cached.

use super::{FlowPlan, TenantKeys};
use crate::store::{Client, Connection, Rule, StoreResult, Tenant};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How old a cached configuration row may be: half the one second within which
/// a deploy must be visible on every node, leaving the rest for the login itself.
pub const CONFIG_TTL: Duration = Duration::from_millis(500);

/// A client as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct ClientEntry {
    pub client: Client,
    pub secret_hash: Option<String>,
}

/// An authenticated client is used as the client it is.
impl std::ops::Deref for ClientEntry {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// A tenant's enabled rules and their configuration values.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub configuration: Map<String, Value>,
}

/// Rows of one tenant, all loaded during the same [`CONFIG_TTL`] window.
#[derive(Default)]
struct TenantSnapshot {
    clients: Mutex<HashMap<String, Arc<ClientEntry>>>,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
    rules: Mutex<HashMap<(), Arc<RuleSet>>>,
    keys: Mutex<HashMap<(), Arc<TenantKeys>>>,
    /// Flow plans by trigger id.
    plans: Mutex<HashMap<String, FlowPlan>>,
}

/// See the module docs.
pub struct ConfigCache {
    /// Tenant lookups by `/t/{id}` or `Host` hint; `None` caches "unknown"
    /// so a flood of requests for a missing tenant costs no queries.
    tenants: moka::sync::Cache<String, Option<Arc<Tenant>>>,
    snapshots: moka::sync::Cache<String, Arc<TenantSnapshot>>,
}

impl Default for ConfigCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads `key` from `map`, or loads and remembers it. Two concurrent
/// misses both load; the rows are identical, so that is only wasted work.
async fn get_or_load<K, V, F>(
    map: &Mutex<HashMap<K, Arc<V>>>,
    key: K,
    load: F,
) -> StoreResult<Arc<V>>
where
    K: Eq + Hash,
    F: Future<Output = StoreResult<V>>,
{
    if let Some(v) = map.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(v);
    }
    let v = Arc::new(load.await?);
    if let Ok(mut m) = map.lock() {
        m.insert(key, v.clone());
    }
    Ok(v)
}

impl ConfigCache {
    pub fn new() -> Self {
        Self {
            tenants: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CONFIG_TTL)
                .build(),
            snapshots: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(CONFIG_TTL)
                .build(),
        }
    }

    fn snapshot(&self, tenant: &str) -> Arc<TenantSnapshot> {
        self.snapshots
            .get_with_by_ref(tenant, || Arc::new(TenantSnapshot::default()))
    }

    /// The tenant addressed by `hint` (cached, including "no such tenant").
    pub async fn tenant<F>(&self, hint: &str, load: F) -> Option<Arc<Tenant>>
    where
        F: Future<Output = Option<Tenant>>,
    {
        if let Some(t) = self.tenants.get(hint) {
            return t;
        }
        let t = load.await.map(Arc::new);
        self.tenants.insert(hint.to_owned(), t.clone());
        t
    }

    pub async fn client<F>(&self, tenant: &str, id: &str, load: F) -> StoreResult<Arc<ClientEntry>>
    where
        F: Future<Output = StoreResult<ClientEntry>>,
    {
        get_or_load(&self.snapshot(tenant).clients, id.to_owned(), load).await
    }

    pub async fn connection<F>(
        &self,
        tenant: &str,
        name: &str,
        load: F,
    ) -> StoreResult<Arc<Connection>>
    where
        F: Future<Output = StoreResult<Connection>>,
    {
        get_or_load(&self.snapshot(tenant).connections, name.to_owned(), load).await
    }

    pub async fn rules<F>(&self, tenant: &str, load: F) -> StoreResult<Arc<RuleSet>>
    where
        F: Future<Output = StoreResult<RuleSet>>,
    {
        get_or_load(&self.snapshot(tenant).rules, (), load).await
    }

    pub async fn keys<F>(&self, tenant: &str, load: F) -> StoreResult<Arc<TenantKeys>>
    where
        F: Future<Output = StoreResult<TenantKeys>>,
    {
        get_or_load(&self.snapshot(tenant).keys, (), load).await
    }

    pub fn plan(&self, tenant: &str, trigger: &str) -> Option<FlowPlan> {
        let snap = self.snapshots.get(tenant)?;
        let plans = snap.plans.lock().ok()?;
        plans.get(trigger).cloned()
    }

    pub fn remember_plan(&self, tenant: &str, trigger: &str, plan: FlowPlan) {
        if let Ok(mut plans) = self.snapshot(tenant).plans.lock() {
            plans.insert(trigger.to_owned(), plan);
        }
    }

    /// Drops everything cached for `tenant` (after this node changed it).
    pub fn forget_tenant(&self, tenant: &str) {
        self.snapshots.invalidate(tenant);
        // Tenant rows are keyed by hint (id or domain); there are few and
        // changes are rare, so dropping all of them is simplest.
        self.tenants.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_cached_row_is_loaded_once_until_forgotten_or_expired() {
        let cache = ConfigCache::new();
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(RuleSet::default())
        };
        cache.rules("t1", load()).await.ok();
        cache.rules("t1", load()).await.ok();
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        cache.rules("t2", load()).await.ok();
        assert_eq!(
            loads.load(Ordering::SeqCst),
            2,
            "tenants never share entries"
        );
        cache.forget_tenant("t1");
        cache.rules("t1", load()).await.ok();
        assert_eq!(loads.load(Ordering::SeqCst), 3);
        tokio::time::sleep(CONFIG_TTL + Duration::from_millis(100)).await;
        cache.rules("t2", load()).await.ok();
        assert_eq!(
            loads.load(Ordering::SeqCst),
            4,
            "entries expire after CONFIG_TTL"
        );
    }

    #[tokio::test]
    async fn failed_loads_are_not_cached() {
        let cache = ConfigCache::new();
        let r = cache
            .connection("t", "db", async { Err(StoreError::NotFound("connection")) })
            .await;
        assert!(matches!(r, Err(StoreError::NotFound(_))));
        let r = cache
            .connection("t", "db", async { Err(StoreError::NotFound("connection")) })
            .await;
        assert!(
            r.is_err(),
            "the error came from the loader again, not a cache"
        );
    }

    #[test]
    fn plans_are_per_tenant_and_trigger() {
        let cache = ConfigCache::new();
        cache.remember_plan("t", "post-login", Arc::new(Vec::new()));
        assert!(cache.plan("t", "post-login").is_some());
        assert!(cache.plan("t", "credentials-exchange").is_none());
        assert!(cache.plan("u", "post-login").is_none());
        cache.forget_tenant("t");
        assert!(cache.plan("t", "post-login").is_none());
    }
}
