//! The caching proxy between auth-core and a pool of runtimes (issue 5):
//! tenant-affinity routing, health and failover, per-tenant quotas, a
//! content-addressed module cache. Not built yet — `rulebox serve` hands
//! auth-core the in-process runtime through `rulebox_runtime_api::Sandbox`,
//! the trait this crate will implement over HTTP.
