//! Shared state of the auth-core service.

use crate::crypto::jwt::Signer;
use crate::crypto::keys::KeyPair;
use crate::error::ApiError;
use crate::log_writer::LogWriter;
use crate::store::{Client, Connection, Store, StoreError, StoreResult, Tenant};
use crate::tenant::{
    ClientEntry, ConfigCache, FlowPlan, LoginSnapshot, RuleSet, TenantCtx, TenantKeys, generate_key,
};
use rulebox_runtime_api::Sandbox;
use std::sync::Arc;
use std::time::Duration;

/// Service-wide settings (per-tenant ones live in the store).
#[derive(Debug, Clone)]
pub struct Settings {
    /// bcrypt cost for new password hashes (Auth0 uses 10).
    pub bcrypt_cost: u32,
    /// Access-token lifetime.
    pub access_token_ttl_secs: u64,
    /// Longest ID-token lifetime; clients choose theirs up to it
    /// (`jwt_configuration.lifetime_in_seconds`, Auth0's default 10 h).
    pub id_token_ttl_secs: u64,
    /// Refresh-token lifetime.
    pub refresh_token_ttl_secs: u64,
    /// How long a refresh token may sit unused before it expires (Auth0's
    /// `idle_token_lifetime`); each rotation starts it again.
    pub refresh_token_idle_ttl_secs: u64,
    /// One deadline for all tenant code of one login.
    pub pipeline_deadline_ms: u64,
    /// Failed logins of one user from one IP within `brute_force_window_secs` before
    /// that pair is throttled (Auth0's brute-force protection: 10).
    pub brute_force_threshold: u32,
    /// Failed logins from one IP, whatever the user, before the IP is throttled
    /// (Auth0's suspicious-IP throttling: 100).
    pub brute_force_ip_threshold: u32,
    pub brute_force_window_secs: u64,
    /// Proxies in front of this server whose `X-Forwarded-For` entries are trusted
    /// (0: the client IP is the TCP peer). See `http::client_ip`.
    pub trusted_proxies: u32,
    /// How long execution logs are kept before housekeeping deletes them.
    pub log_retention: Duration,
    /// Sandbox limits of tenants whose policy does not say otherwise.
    pub default_limits: rulebox_runtime_api::Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bcrypt_cost: 10,
            access_token_ttl_secs: 86_400,
            id_token_ttl_secs: 36_000,
            refresh_token_ttl_secs: 30 * 86_400,
            refresh_token_idle_ttl_secs: 15 * 86_400,
            pipeline_deadline_ms: 20_000,
            brute_force_threshold: 10,
            brute_force_ip_threshold: 100,
            brute_force_window_secs: 900,
            trusted_proxies: 0,
            // Auth0 keeps tenant logs for 2 to 30 days depending on the plan.
            log_retention: Duration::from_secs(30 * 86_400),
            default_limits: rulebox_runtime_api::Limits::default(),
        }
    }
}

pub struct AppState {
    pub store: Store,
    pub sandbox: Arc<dyn Sandbox>,
    pub settings: Settings,
    /// Tenant configuration the login path reads on every login.
    config: ConfigCache,
    /// Execution logs on their way to the store.
    pub logs: LogWriter,
    /// `api.cache` of Actions (per node, best effort).
    pub action_cache: crate::caches::action_cache::ActionCache,
    /// Legacy Rules' `global` (per node, best effort).
    pub rules_global: crate::caches::action_cache::RulesGlobal,
    /// `getUser` answers of custom-database connections that opted in.
    pub get_user_cache: crate::caches::get_user::GetUserCache,
    /// Compiled flows: a trigger's JavaScript Actions in one snapshot.
    pub flow_modules: crate::caches::flow_modules::FlowModules,
    /// `GET /metrics`, when the binary installed a recorder.
    pub metrics: Option<rulebox_runtime_api::MetricsRender>,
    /// Whether a load balancer should send this node new work (`/readyz`); false once
    /// shutdown began, while in-flight logins finish.
    pub ready: std::sync::atomic::AtomicBool,
    /// Becomes true when shutdown begins: long-lived responses (log tails) end
    /// so in-flight requests can finish.
    pub draining: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    pub fn new(store: Store, sandbox: Arc<dyn Sandbox>, settings: Settings) -> Self {
        Self {
            logs: LogWriter::new(store.clone()),
            action_cache: crate::caches::action_cache::ActionCache::new(),
            rules_global: crate::caches::action_cache::RulesGlobal::new(),
            get_user_cache: crate::caches::get_user::GetUserCache::default(),
            flow_modules: crate::caches::flow_modules::FlowModules::default(),
            metrics: None,
            ready: std::sync::atomic::AtomicBool::new(true),
            draining: tokio::sync::watch::Sender::new(false),
            store,
            sandbox,
            settings,
            config: ConfigCache::new(),
        }
    }

    /// The bound, deployed Actions of `trigger` with their secrets.
    pub async fn flow_plan(&self, tenant: &str, trigger: &str) -> Result<FlowPlan, ApiError> {
        if let Some(p) = self.config.plan(tenant, trigger) {
            return Ok(p);
        }
        let bound = self
            .store
            .bound_deployed_versions(tenant, trigger)
            .await
            .map_err(|e| ApiError::server_error(format!("bindings: {e}")))?;
        let mut plan = Vec::with_capacity(bound.len());
        for (action, version) in bound {
            let secrets = self
                .store
                .action_secrets(tenant, &action.id)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            plan.push((action, version, secrets));
        }
        let plan = Arc::new(plan);
        self.config.remember_plan(tenant, trigger, plan.clone());
        Ok(plan)
    }

    /// Drops the tenant's cached configuration after a management change on this node.
    pub fn forget_tenant_config(&self, tenant: &str) {
        self.config.forget_tenant(tenant);
    }

    /// The tenant a request addresses by `/t/{id}` (`by_id`) or by its domain.
    pub async fn tenant_by_hint(&self, hint: &str, by_id: bool) -> Option<Arc<Tenant>> {
        let key = format!("{}{hint}", if by_id { "id:" } else { "host:" });
        self.config
            .tenant(&key, async {
                if by_id {
                    return self.store.get_tenant(hint).await.ok();
                }
                match self.store.tenant_by_domain(hint).await {
                    Ok(t) => Some(t),
                    Err(_) => {
                        let domain = hint.split(':').next().unwrap_or(hint);
                        self.store.tenant_by_domain(domain).await.ok()
                    }
                }
            })
            .await
    }

    /// A client and its secret hash.
    pub async fn client(&self, tenant: &str, client_id: &str) -> StoreResult<Arc<ClientEntry>> {
        self.config
            .client(tenant, client_id, async {
                Ok(ClientEntry {
                    client: self.store.get_client(tenant, client_id).await?,
                    secret_hash: self.store.client_secret_hash(tenant, client_id).await?,
                })
            })
            .await
    }

    /// A connection by name.
    pub async fn connection(&self, tenant: &str, name: &str) -> StoreResult<Arc<Connection>> {
        self.config
            .connection(tenant, name, self.store.connection_by_name(tenant, name))
            .await
    }

    /// The tenant's enabled rules in order, with the rules configuration.
    pub async fn rule_set(&self, tenant: &str) -> StoreResult<Arc<RuleSet>> {
        self.config
            .rules(tenant, async {
                let rules = self.store.list_rules(tenant).await?;
                let rules: Vec<_> = rules.into_iter().filter(|r| r.enabled).collect();
                let configuration = if rules.is_empty() {
                    serde_json::Map::new()
                } else {
                    self.store.rules_config_values(tenant).await?
                };
                Ok(RuleSet {
                    rules,
                    configuration,
                })
            })
            .await
    }

    /// A user's login's configuration, read once when its client and connection are
    /// known: the post-login Actions and Rules and the keys its tokens are signed with.
    pub async fn login_snapshot(
        &self,
        t: &TenantCtx,
        client: Arc<ClientEntry>,
        conn: Arc<Connection>,
    ) -> Result<LoginSnapshot, ApiError> {
        let rules = async {
            self.rule_set(t.id())
                .await
                .map_err(|e| ApiError::server_error(format!("rules: {e}")))
        };
        let (plan, rules, keys) = tokio::try_join!(
            self.flow_plan(t.id(), rulebox_runtime_api::Trigger::PostLogin.id()),
            rules,
            self.client_keys(&t.tenant, &client),
        )?;
        Ok(LoginSnapshot {
            client,
            conn,
            plan,
            rules,
            keys,
        })
    }

    /// The keys `client`'s tokens are signed with: the tenant's, with a key of the
    /// client's ID-token algorithm (Auth0's `jwt_configuration.alg`) among them when
    /// it chose one.
    pub async fn client_keys(
        &self,
        tenant: &Tenant,
        client: &Client,
    ) -> Result<Arc<TenantKeys>, ApiError> {
        match client_alg(client) {
            Some(alg) => self.keys_with(tenant, alg).await,
            None => self.keys(tenant).await,
        }
    }

    /// The tenant's current signer and JWKS, cached like the rest of its configuration
    /// (parsing a key per token would dominate the refresh path; a rotation on another
    /// node is picked up within `CONFIG_TTL`).
    pub async fn keys(&self, tenant: &Tenant) -> Result<Arc<TenantKeys>, ApiError> {
        self.config
            .keys(&tenant.id, async {
                let stored = self.store.signing_keys(&tenant.id).await?;
                let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("signing key", e);
                let mut signers = Vec::new();
                for key in stored.iter().filter(|k| k.state == "current") {
                    let pair = KeyPair {
                        kid: key.kid.clone(),
                        alg: key.alg.parse().map_err(|_| corrupt(&"unknown algorithm"))?,
                        private_pem: key.private_pem.clone(),
                        public_jwk: key.public_jwk.clone(),
                    };
                    signers.push(Signer::new(&pair).map_err(|e| corrupt(&e))?);
                }
                // The tenant's own algorithm signs by default; a tenant created before
                // that was recorded falls back to its newest current key.
                let primary = signers
                    .iter()
                    .position(|s| s.alg().as_str() == tenant.signing_alg)
                    .unwrap_or(0);
                if signers.is_empty() {
                    return Err(corrupt(&"the tenant has no current signing key"));
                }
                let signer = signers.remove(primary);
                let jwks = serde_json::json!({"keys": stored.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>()});
                Ok(TenantKeys {
                    signer,
                    others: signers,
                    jwks,
                })
            })
            .await
            .map_err(|e| ApiError::server_error(format!("signing keys: {e}")))
    }

    /// The tenant's keys, with a current key of `alg` among them: the first client that
    /// asks for an algorithm the tenant has no key of gets one made (several nodes may
    /// race to; the database keeps one, and the others use it).
    pub async fn keys_with(
        &self,
        tenant: &Tenant,
        alg: crate::crypto::keys::Alg,
    ) -> Result<Arc<TenantKeys>, ApiError> {
        let keys = self.keys(tenant).await?;
        if keys.signer_for(alg).is_some() {
            return Ok(keys);
        }
        let pair = generate_key(alg).await?;
        let inserted = self
            .store
            .insert_signing_key(
                &tenant.id,
                &pair.kid,
                alg.as_str(),
                &pair.private_pem,
                &pair.public_jwk,
                "current",
            )
            .await;
        match inserted {
            Ok(_) => {
                tracing::info!(tenant = %tenant.id, alg = alg.as_str(), kid = %pair.kid, "signing key added for a client's algorithm")
            }
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(ApiError::server_error(format!("signing keys: {e}"))),
        }
        self.config.forget_tenant(&tenant.id);
        self.keys(tenant).await
    }
}

/// The algorithm a client's ID tokens are signed with, when it chose one other than
/// the tenant's default. Validated when the client was stored.
pub fn client_alg(client: &Client) -> Option<crate::crypto::keys::Alg> {
    client
        .jwt_configuration
        .alg
        .as_deref()
        .and_then(|a| a.parse().ok())
}
