//! The proxy: one [`Sandbox`] in front of a pool of nodes.
//!
//! * **Affinity.** A call goes to the first healthy node of its tenant's
//!   rendezvous ranking, so a tenant's code stays compiled on one node (the
//!   compiled-cache hit rate is what makes calls microseconds, not the
//!   milliseconds of a compile or a JavaScript snapshot).
//! * **Spill.** When that node has `spill_at` calls in flight and the next
//!   ranked node has fewer, the call goes there instead.
//! * **Failover.** A node that cannot be reached is marked down (a health
//!   check brings it back) and the call is retried on the next node. A node
//!   that took a call and died before answering may have run part of it: the
//!   call is retried only if it could have no effect outside the sandbox, that
//!   is, its tenant's policy allows no outbound requests.
//! * **Quotas.** Per-tenant concurrency and rate, answered at once with
//!   `rate_limited`.
//! * **Module cache.** Code by content address in a bounded moka cache; a
//!   node that lacks a module is sent its source on first use (push, so a
//!   node needs no route back to whichever proxy called it).

use crate::affinity::ranking;
use crate::quota::{QuotaDefaults, Quotas};
use crate::remote::{NodeClient, NodeError, invoke_body, micros};
use crate::wire::{Held, Source};
use rulebox_runtime_api::{
    Call, Code, LoadError, Loaded, ModuleId, Outcome, OutcomeKind, Pending, Sandbox,
};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// One member of the pool.
pub enum Node {
    /// A runtime in this process (`rulebox serve`): no network hop.
    Local(Arc<dyn Sandbox>),
    /// A `rulebox runtime --listen` at this base URL.
    Remote(String),
}

enum Transport {
    Local(Arc<dyn Sandbox>),
    Remote(NodeClient),
}

struct Slot {
    name: String,
    transport: Transport,
    healthy: AtomicBool,
    in_flight: AtomicUsize,
    /// Proxy id → the node's own id, for code the node holds.
    loaded: moka::sync::Cache<ModuleId, ModuleId>,
}

#[derive(Debug, Clone, Copy)]
pub struct ProxyConfig {
    pub quotas: QuotaDefaults,
    /// Calls in flight on a tenant's first node before the next one is used.
    pub spill_at: usize,
    /// How often remote nodes are health-checked.
    pub health_interval: Duration,
    /// Bytes of module sources kept.
    pub source_cache_bytes: u64,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            quotas: QuotaDefaults::default(),
            spill_at: 16,
            health_interval: Duration::from_millis(250),
            source_cache_bytes: 512 << 20,
        }
    }
}

/// Counters since start (the benchmark and `/metrics` read them).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ProxyStats {
    pub calls: u64,
    /// Calls whose module the chosen node already held.
    pub compiled_hits: u64,
    /// Sources pushed to nodes.
    pub pushes: u64,
    /// Calls moved to another node because one was unreachable.
    pub failovers: u64,
    pub rate_limited: u64,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    compiled_hits: AtomicU64,
    pushes: AtomicU64,
    failovers: AtomicU64,
    rate_limited: AtomicU64,
}

pub struct Proxy {
    slots: Vec<Arc<Slot>>,
    names: Vec<String>,
    sources: moka::sync::Cache<ModuleId, Arc<Held>>,
    quotas: Quotas,
    config: ProxyConfig,
    counters: Counters,
}

/// A node failed the call in a way another node may not.
enum Failure {
    /// Nothing ran.
    Unreachable(String),
    /// The call may have run, in part.
    Lost(String),
    Refused(LoadError),
}

impl From<NodeError> for Failure {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Refused(e) => Failure::Refused(e),
            NodeError::Lost(m) => Failure::Lost(m),
            other => Failure::Unreachable(other.to_string()),
        }
    }
}

impl Proxy {
    /// Builds the proxy; with remote nodes it must be called inside a tokio
    /// runtime, which then also runs the health checks.
    pub fn new(nodes: Vec<Node>, config: ProxyConfig) -> Arc<Self> {
        let slots: Vec<Arc<Slot>> = nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let (name, transport) = match n {
                    Node::Local(s) => (format!("local-{i}"), Transport::Local(s)),
                    Node::Remote(url) => (url.clone(), Transport::Remote(NodeClient::new(&url))),
                };
                Arc::new(Slot {
                    name,
                    transport,
                    healthy: AtomicBool::new(true),
                    in_flight: AtomicUsize::new(0),
                    loaded: moka::sync::Cache::builder().max_capacity(100_000).build(),
                })
            })
            .collect();
        let any_remote = slots
            .iter()
            .any(|s| matches!(s.transport, Transport::Remote(_)));
        let proxy = Arc::new(Self {
            names: slots.iter().map(|s| s.name.clone()).collect(),
            slots,
            sources: moka::sync::Cache::builder()
                .weigher(|_, h: &Arc<Held>| h.weight())
                .max_capacity(config.source_cache_bytes)
                .build(),
            quotas: Quotas::new(config.quotas),
            config,
            counters: Counters::default(),
        });
        if any_remote && let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(check_health(Arc::downgrade(&proxy)));
        }
        proxy
    }

    pub fn stats(&self) -> ProxyStats {
        let c = &self.counters;
        ProxyStats {
            calls: c.calls.load(Ordering::Relaxed),
            compiled_hits: c.compiled_hits.load(Ordering::Relaxed),
            pushes: c.pushes.load(Ordering::Relaxed),
            failovers: c.failovers.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// Which nodes are up, by name.
    pub fn health(&self) -> Vec<(String, bool)> {
        self.slots
            .iter()
            .map(|s| (s.name.clone(), s.healthy.load(Ordering::Acquire)))
            .collect()
    }

    /// Healthy nodes in `key`'s preference order; every node if none is
    /// known healthy (the health view may simply be stale).
    fn candidates(&self, key: &str) -> Vec<Arc<Slot>> {
        let ranked: Vec<Arc<Slot>> = ranking(&self.names, key)
            .into_iter()
            .map(|i| self.slots[i].clone())
            .collect();
        let healthy: Vec<Arc<Slot>> = ranked
            .iter()
            .filter(|s| s.healthy.load(Ordering::Acquire))
            .cloned()
            .collect();
        if healthy.is_empty() { ranked } else { healthy }
    }

    /// Loads `source` on `slot`'s node: its id there and what it handles.
    async fn push(&self, slot: &Slot, id: ModuleId, source: &Source) -> Result<Loaded, Failure> {
        self.counters.pushes.fetch_add(1, Ordering::Relaxed);
        let loaded = match &slot.transport {
            Transport::Local(s) => {
                let code = source.code().map_err(Failure::Refused)?;
                s.clone().load_code(code).await.map_err(Failure::Refused)?
            }
            Transport::Remote(c) => match c.load(source).await {
                Ok(loaded) => Loaded {
                    id: loaded.id,
                    handlers: loaded.handlers,
                },
                Err(NodeError::Refused(e)) => return Err(Failure::Refused(e)),
                // Loading has no effect beyond the node: always safe to redo.
                Err(e) => return Err(Failure::Unreachable(e.to_string())),
            },
        };
        slot.loaded.insert(id, loaded.id);
        Ok(loaded)
    }

    /// Loads `source` on the node its id ranks first: its id and what it handles.
    async fn load(&self, source: Source) -> Result<Loaded, LoadError> {
        let id = source.id().map_err(|m| LoadError {
            kind: OutcomeKind::InvalidModule,
            message: m,
            line: None,
            column: None,
        })?;
        // Known code (content-addressed) needs no second trip: every login
        // loads its rules and scripts by source.
        // An upload asks what the code handles: an answer cached from a node
        // that could not tell is asked again (the pool may be upgraded since).
        if let Some(held) = self.sources.get(&id)
            && (held.handlers.is_some() || !source.upload_checks_handlers())
        {
            return Ok(Loaded {
                id,
                handlers: held.handlers.clone(),
            });
        }
        // Validate (and warm) on the node the id ranks first.
        let mut last = String::from("no runtime nodes configured");
        for slot in self.candidates(&id.to_string()) {
            match self.push(&slot, id, &source).await {
                Ok(loaded) => {
                    let held = Held {
                        source,
                        handlers: loaded.handlers.clone(),
                    };
                    self.sources.insert(id, Arc::new(held));
                    return Ok(Loaded {
                        id,
                        handlers: loaded.handlers,
                    });
                }
                Err(Failure::Refused(e)) => return Err(e),
                Err(Failure::Unreachable(m) | Failure::Lost(m)) => {
                    slot.healthy.store(false, Ordering::Release);
                    last = m;
                }
            }
        }
        Err(LoadError {
            kind: OutcomeKind::Unavailable,
            message: format!("no runtime node could load the code: {last}"),
            line: None,
            column: None,
        })
    }

    /// Runs `call` on a remote node, feeding the node the source first if it
    /// lacks it (or lost it in a restart).
    async fn call_remote(
        &self,
        slot: &Slot,
        node: &NodeClient,
        source: &Source,
        call: &Call,
    ) -> Result<Outcome, Failure> {
        let node_id = self.node_id(slot, call.module, source).await?;
        match node.invoke(&invoke_body(call, node_id)).await {
            Ok(o) => Ok(o),
            Err(NodeError::NotLoaded) => {
                // The node restarted since it was fed: feed it again.
                slot.loaded.invalidate(&call.module);
                let node_id = self.push(slot, call.module, source).await?.id;
                node.invoke(&invoke_body(call, node_id))
                    .await
                    .map_err(Failure::from)
            }
            Err(e) => Err(Failure::from(e)),
        }
    }

    /// Runs `call` on a runtime in this process, which picks the call's thread
    /// itself; it either runs the call or refuses the code, so the call is
    /// never retried elsewhere and can be handed over whole.
    async fn call_local(
        &self,
        slot: &Slot,
        sandbox: &Arc<dyn Sandbox>,
        source: &Source,
        mut call: Call,
    ) -> Result<Outcome, Failure> {
        let mut node_id = self.node_id(slot, call.module, source).await?;
        if !sandbox.is_loaded(&node_id) {
            node_id = self.push(slot, call.module, source).await?.id;
        }
        call.module = node_id;
        Ok(sandbox.clone().call(call).await)
    }

    /// The id `slot`'s node knows the code by, pushing the code if it has none.
    async fn node_id(
        &self,
        slot: &Slot,
        id: ModuleId,
        source: &Source,
    ) -> Result<ModuleId, Failure> {
        match slot.loaded.get(&id) {
            Some(n) => {
                self.counters.compiled_hits.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("rulebox_proxy_compiled_cache_hits_total").increment(1);
                Ok(n)
            }
            None => {
                metrics::counter!("rulebox_proxy_compiled_cache_misses_total").increment(1);
                Ok(self.push(slot, id, source).await?.id)
            }
        }
    }
}

impl Proxy {
    /// Routes one call (see the module docs).
    pub async fn route(&self, call: Call) -> Outcome {
        let start = Instant::now();
        let tenant = call.tenant.clone();
        let trigger = call.trigger;
        let outcome = self.route_inner(call).await;
        record_call(tenant, trigger, &outcome, start);
        outcome
    }

    async fn route_inner(&self, call: Call) -> Outcome {
        let start = Instant::now();
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        let _permit = match self.quotas.admit(&call.tenant, call.quota) {
            Ok(p) => p,
            Err(e) => {
                self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("rulebox_proxy_rate_limited_total", "tenant" => call.tenant.clone())
                    .increment(1);
                return Outcome::refused(OutcomeKind::RateLimited, e.to_string(), micros(start));
            }
        };
        let Some(source) = self.sources.get(&call.module) else {
            return Outcome::refused(
                OutcomeKind::InvalidModule,
                format!("module {} is not loaded", call.module),
                micros(start),
            );
        };
        let mut order = self.candidates(&call.tenant);
        if order.len() > 1
            && order[0].in_flight.load(Ordering::Acquire) >= self.config.spill_at
            && order[1].in_flight.load(Ordering::Acquire)
                < order[0].in_flight.load(Ordering::Acquire)
        {
            order.swap(0, 1);
        }
        let may_reach_out = !call.limits.outbound.allow_hosts.is_empty();
        let mut last = String::from("no runtime nodes configured");
        let mut call = Some(call);
        for (attempt, slot) in order.iter().enumerate() {
            if attempt > 0 {
                self.counters.failovers.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("rulebox_proxy_failovers_total").increment(1);
            }
            let Some(this) = call.as_ref() else { break };
            let n = slot.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
            metrics::gauge!("rulebox_proxy_node_in_flight", "node" => slot.name.clone())
                .set(n as f64);
            let result = match &slot.transport {
                Transport::Remote(node) => self.call_remote(slot, node, &source.source, this).await,
                Transport::Local(s) => match call.take() {
                    Some(whole) => self.call_local(slot, s, &source.source, whole).await,
                    None => Err(Failure::Unreachable("the call was handed over".into())),
                },
            };
            let n = slot.in_flight.fetch_sub(1, Ordering::AcqRel) - 1;
            metrics::gauge!("rulebox_proxy_node_in_flight", "node" => slot.name.clone())
                .set(n as f64);
            match result {
                Ok(o) => return o,
                Err(Failure::Refused(e)) => {
                    return Outcome::refused(e.kind, e.message, micros(start));
                }
                Err(Failure::Lost(m)) if may_reach_out => {
                    slot.healthy.store(false, Ordering::Release);
                    return Outcome::refused(
                        OutcomeKind::Unavailable,
                        format!(
                            "runtime node {} lost the call ({m}); not retried because the call may have made outbound requests",
                            slot.name
                        ),
                        micros(start),
                    );
                }
                Err(Failure::Unreachable(m) | Failure::Lost(m)) => {
                    tracing::warn!(node = %slot.name, error = %m, "runtime node failed the call; trying the next");
                    slot.healthy.store(false, Ordering::Release);
                    last = m;
                }
            }
        }
        Outcome::refused(
            OutcomeKind::Unavailable,
            format!("no runtime node could take the call: {last}"),
            micros(start),
        )
    }
}

/// The pool as one sandbox: loads and calls are awaited on the caller's task;
/// a remote node is waited on over the network, and a runtime in this
/// process picks its own thread for the work.
impl Sandbox for Proxy {
    fn load_code(self: Arc<Self>, code: Code) -> Pending<Result<Loaded, LoadError>> {
        Box::pin(async move { self.load(Source::of(code)).await })
    }

    fn is_loaded(&self, module: &ModuleId) -> bool {
        self.sources.contains_key(module)
    }

    fn call(self: Arc<Self>, call: Call) -> Pending<Outcome> {
        Box::pin(async move { self.route(call).await })
    }
}

/// The proxy's per-call metrics, however the call was routed.
fn record_call(
    tenant: String,
    trigger: rulebox_runtime_api::Trigger,
    outcome: &Outcome,
    start: Instant,
) {
    metrics::counter!("rulebox_proxy_calls_total", "tenant" => tenant.clone(),
        "trigger" => trigger.id(), "outcome" => outcome.kind.as_str())
    .increment(1);
    metrics::histogram!("rulebox_proxy_call_duration_seconds", "tenant" => tenant)
        .record(start.elapsed().as_secs_f64());
}

/// Marks remote nodes up or down until the proxy is dropped.
async fn check_health(proxy: Weak<Proxy>) {
    loop {
        let Some(p) = proxy.upgrade() else { return };
        let interval = p.config.health_interval;
        for slot in &p.slots {
            if let Transport::Remote(c) = &slot.transport {
                let up = c.healthy(interval.max(Duration::from_millis(200))).await;
                let was = slot.healthy.swap(up, Ordering::AcqRel);
                if was != up {
                    tracing::warn!(node = %slot.name, up, "runtime node health changed");
                    if up {
                        // A node that came back may have restarted empty.
                        slot.loaded.invalidate_all();
                    }
                }
            }
        }
        drop(p);
        tokio::time::sleep(interval).await;
    }
}
