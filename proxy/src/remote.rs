//! The client side of the runtime protocol: a [`Sandbox`] at the far end of
//! a URL (a `rulebox runtime` node, or a `rulebox proxy` in front of many).
//!
//! Loads and calls are network I/O only, so [`RemoteSandbox`] answers
//! `Sandbox`'s async operations on the caller's own task: no thread waits for
//! the length of a remote call.

use crate::wire::{ErrorBody, Held, InvokeBody, LoadedBody, MODULE_NOT_LOADED, Source};
use rulebox_runtime_api::{
    Call, Code, LoadError, Loaded, ModuleId, Outcome, OutcomeKind, Pending, Sandbox,
};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time allowed beyond a call's own timeout for the network and queueing on a node.
const CALL_MARGIN: Duration = Duration::from_secs(2);
/// Time allowed beyond a call's own timeout when the far end is a proxy: the
/// first call of new code on a node includes compiling it there (seconds for a
/// JavaScript snapshot), which the guest's own budget does not pay for.
const PROXIED_CALL_MARGIN: Duration = Duration::from_secs(30);
/// Compiling or snapshotting code can take a while the first time.
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a node did not answer a call with an outcome.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node does not hold the module; push its source and retry.
    #[error("module not loaded on the node")]
    NotLoaded,
    /// The request never reached the node (connection refused or timed out):
    /// nothing ran, so another node may take the call.
    #[error("node unreachable: {0}")]
    Unreachable(String),
    /// The node took the request and then failed to answer (reset, timeout,
    /// crash): the call may have run, in part.
    #[error("node lost the call: {0}")]
    Lost(String),
    /// The node refused the code.
    #[error("{0}")]
    Refused(LoadError),
    /// The node answered something this client does not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Async client of one node; the proxy drives many of these.
#[derive(Clone)]
pub struct NodeClient {
    pub base: String,
    http: reqwest::Client,
}

impl NodeClient {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    fn unreachable(e: reqwest::Error) -> NodeError {
        if e.is_connect() {
            NodeError::Unreachable(e.to_string())
        } else {
            NodeError::Lost(e.to_string())
        }
    }

    async fn error_body(r: reqwest::Response) -> NodeError {
        let status = r.status();
        match r.json::<ErrorBody>().await {
            Ok(b) if b.error == MODULE_NOT_LOADED => NodeError::NotLoaded,
            Ok(ErrorBody {
                load_error: Some(e),
                ..
            }) => NodeError::Refused(e),
            Ok(b) => NodeError::Protocol(format!("{status}: {}", b.error_description)),
            Err(e) => NodeError::Protocol(format!("{status}: {e}")),
        }
    }

    pub async fn load(&self, source: &Source) -> Result<LoadedBody, NodeError> {
        let r = self
            .http
            .post(format!("{}/v1/modules", self.base))
            .timeout(LOAD_TIMEOUT)
            .json(source)
            .send()
            .await
            .map_err(Self::unreachable)?;
        if !r.status().is_success() {
            return Err(Self::error_body(r).await);
        }
        r.json().await.map_err(Self::unreachable)
    }

    pub async fn invoke(&self, body: &InvokeBody) -> Result<Outcome, NodeError> {
        self.invoke_within(body, CALL_MARGIN).await
    }

    async fn invoke_within(
        &self,
        body: &InvokeBody,
        margin: Duration,
    ) -> Result<Outcome, NodeError> {
        let r = self
            .http
            .post(format!("{}/v1/invoke", self.base))
            .timeout(Duration::from_millis(body.limits.timeout_ms) + margin)
            .json(body)
            .send()
            .await
            .map_err(Self::unreachable)?;
        if !r.status().is_success() {
            return Err(Self::error_body(r).await);
        }
        r.json().await.map_err(Self::unreachable)
    }

    /// Liveness: `GET /healthz` within `timeout`.
    pub async fn healthy(&self, timeout: Duration) -> bool {
        matches!(
            self.http.get(format!("{}/healthz", self.base)).timeout(timeout).send().await,
            Ok(r) if r.status().is_success()
        )
    }
}

/// The wire form of a call.
pub fn invoke_body(r: &Call, module: ModuleId) -> InvokeBody {
    InvokeBody {
        tenant: r.tenant.clone(),
        quota: r.quota,
        module,
        trigger: r.trigger,
        input: String::from_utf8_lossy(&r.input).into_owned(),
        limits: r.limits.clone(),
        now_ms: r
            .now
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64),
        flow_timeout_ms: r.flow_timeout_ms,
    }
}

/// The clock a wire call asks for.
pub fn wire_now(now_ms: Option<u64>) -> Option<SystemTime> {
    now_ms.map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
}

/// A remote [`Sandbox`]. It remembers the source of everything it loaded,
/// so a far end that restarted (and lost its modules) is re-fed on the next
/// call instead of failing it.
pub struct RemoteSandbox {
    node: NodeClient,
    sources: moka::sync::Cache<ModuleId, Arc<Held>>,
}

impl RemoteSandbox {
    pub fn new(base: &str) -> Self {
        Self {
            node: NodeClient::new(base),
            sources: moka::sync::Cache::builder()
                .weigher(|_, h: &Arc<Held>| h.weight())
                .max_capacity(256 << 20)
                .build(),
        }
    }

    /// Loads `source` on the far end. An upload asks what the code handles,
    /// so an answer cached from a node that could not tell is asked again.
    async fn load(&self, source: Source) -> Result<Loaded, LoadError> {
        // Content-addressed: code this client already loaded is not sent again
        // (a far end that lost it is re-fed on the next call).
        if let Ok(id) = source.id()
            && let Some(held) = self.sources.get(&id)
            && (held.handlers.is_some() || !source.upload_checks_handlers())
        {
            return Ok(Loaded {
                id,
                handlers: held.handlers.clone(),
            });
        }
        let loaded = self.node.load(&source).await.map_err(|e| match e {
            NodeError::Refused(e) => e,
            other => LoadError {
                kind: OutcomeKind::Unavailable,
                message: other.to_string(),
                line: None,
                column: None,
            },
        })?;
        self.sources.insert(
            loaded.id,
            Arc::new(Held {
                source,
                handlers: loaded.handlers.clone(),
            }),
        );
        Ok(Loaded {
            id: loaded.id,
            handlers: loaded.handlers,
        })
    }
}

/// Loads and calls are network I/O only: the caller awaits them on its own
/// task, holding no thread for the length of a remote call.
impl Sandbox for RemoteSandbox {
    fn load_code(self: Arc<Self>, code: Code) -> Pending<Result<Loaded, LoadError>> {
        Box::pin(async move { self.load(Source::of(code)).await })
    }

    fn is_loaded(&self, module: &ModuleId) -> bool {
        self.sources.contains_key(module)
    }

    fn call(self: Arc<Self>, call: Call) -> Pending<Outcome> {
        Box::pin(async move { self.invoke(call).await })
    }
}

impl RemoteSandbox {
    /// One invocation; a far end that lost the module is re-fed its source once.
    async fn invoke(&self, r: Call) -> Outcome {
        let start = Instant::now();
        let body = invoke_body(&r, r.module);
        let call = async {
            match self.node.invoke_within(&body, PROXIED_CALL_MARGIN).await {
                Err(NodeError::NotLoaded) => {
                    let Some(source) = self.sources.get(&r.module) else {
                        return Err(NodeError::NotLoaded);
                    };
                    self.node.load(&source.source).await?;
                    self.node.invoke_within(&body, PROXIED_CALL_MARGIN).await
                }
                other => other,
            }
        };
        match call.await {
            Ok(o) => o,
            Err(NodeError::NotLoaded) => {
                self.sources.invalidate(&r.module);
                Outcome::refused(
                    OutcomeKind::InvalidModule,
                    format!("module {} is not loaded", r.module),
                    micros(start),
                )
            }
            Err(e) => Outcome::refused(OutcomeKind::Unavailable, e.to_string(), micros(start)),
        }
    }
}

pub(crate) fn micros(start: Instant) -> u64 {
    start.elapsed().as_micros() as u64
}
