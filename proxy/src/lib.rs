//! The caching proxy between auth-core and a pool of runtimes, and the HTTP
//! protocol both speak.
//!
//! Data flows auth-core → proxy → runtime. Every hop implements the same
//! [`rulebox_runtime_api::Sandbox`] trait, so auth-core cannot tell an
//! in-process runtime ([`Proxy`] over a local node, what `rulebox serve`
//! runs) from a remote pool ([`RemoteSandbox`] pointed at `rulebox proxy`).
//!
//! * [`wire`] — the JSON bodies of the runtime protocol.
//! * [`service`] — serves any `Sandbox` over that protocol (`rulebox runtime`
//!   and `rulebox proxy` both mount it).
//! * [`remote`] — the client side: a `Sandbox` on the far end of a URL.
//! * [`affinity`] — rendezvous hashing of tenants onto nodes.
//! * [`quota`] — per-tenant concurrency and rate limits.
//! * [`proxy`] — routing, spill-over, health, failover and the
//!   content-addressed module cache.

pub mod affinity;
pub mod proxy;
pub mod quota;
pub mod remote;
pub mod service;
pub mod wire;

pub use proxy::{Node, Proxy, ProxyConfig};
pub use remote::RemoteSandbox;
