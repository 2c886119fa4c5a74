//! Flow snapshots: the Actions bound to one trigger, compiled together so a
//! login runs them in one sandbox call instead of one call each.
//!
//! Building a snapshot takes about a second, so no login waits for one: the
//! first login after a binding change runs its Actions one by one while the
//! flow is built in the background (once per node, however many logins ask),
//! and later logins use it. A flow is named by its deployed versions (whose
//! code never changes), so a deploy or a rebinding simply asks for a new one.

use crate::tenant::FlowPlan;
use rulebox_runtime_api::{Code, JsKind, Loaded, ModuleId, Sandbox};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A flow that failed to build is not retried for this long (each of its
/// Actions loaded on its own, so this is rare: a flow too big as a whole).
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct FlowModules {
    inner: Arc<Inner>,
}

struct Inner {
    ready: moka::sync::Cache<[u8; 32], ModuleId>,
    failed: moka::sync::Cache<[u8; 32], ()>,
    building: Mutex<HashSet<[u8; 32]>>,
}

impl Default for FlowModules {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                ready: moka::sync::Cache::new(10_000),
                failed: moka::sync::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(RETRY_FAILED_AFTER)
                    .build(),
                building: Mutex::new(HashSet::new()),
            }),
        }
    }
}

/// The flow source of a plan, if every Action in it is JavaScript: the JSON
/// array of their sources in binding order (see [`JsKind::Flow`]).
pub fn flow_source(plan: &FlowPlan) -> Option<String> {
    let sources: Option<Vec<&str>> = plan
        .iter()
        .map(|(_, version, _)| {
            (!crate::store::is_wasm(&version.runtime)).then_some(version.code.as_str())
        })
        .collect();
    serde_json::to_string(&sources?).ok()
}

/// Names a plan's flow by its versions' ids: cheap to compute on every login,
/// unlike hashing the sources.
fn flow_key(plan: &FlowPlan) -> [u8; 32] {
    let mut h = Sha256::new();
    for (_, version, _) in plan.iter() {
        h.update(version.id.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

impl FlowModules {
    /// The compiled flow of `plan` if the sandbox holds it; otherwise `None`,
    /// and a background build is under way (when every Action in the plan is
    /// JavaScript).
    pub fn get(&self, sandbox: &Arc<dyn Sandbox>, plan: &FlowPlan) -> Option<ModuleId> {
        let key = flow_key(plan);
        if let Some(id) = self.inner.ready.get(&key) {
            if sandbox.is_loaded(&id) {
                return Some(id);
            }
            // The sandbox let it go (evicted, or a node restarted): build again.
            self.inner.ready.invalidate(&key);
        }
        if self.inner.failed.contains_key(&key) {
            return None;
        }
        let source = flow_source(plan)?;
        let fresh = self
            .inner
            .building
            .lock()
            .map(|mut b| b.insert(key))
            .unwrap_or(false);
        if fresh {
            self.build(sandbox.clone(), key, source);
        }
        None
    }

    fn build(&self, sandbox: Arc<dyn Sandbox>, key: [u8; 32], source: String) {
        let inner = self.inner.clone();
        let span = tracing::info_span!("flow_snapshot");
        let build = async move {
            match sandbox.load_code(Code::js(JsKind::Flow, source)).await {
                Ok(Loaded { id, .. }) => {
                    tracing::info!(%id, "flow snapshot ready");
                    inner.ready.insert(key, id);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "flow snapshot failed; its Actions run one by one");
                    inner.failed.insert(key, ());
                }
            }
            if let Ok(mut b) = inner.building.lock() {
                b.remove(&key);
            }
        };
        tokio::spawn(tracing::Instrument::instrument(build, span));
    }
}
