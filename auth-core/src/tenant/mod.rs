//! The tenant layer: what a login knows of its tenant's configuration — the
//! resolved tenant, its clients, connections, rules, flow plans and parsed
//! signing keys — read through a short-lived per-node cache.
//!
//! Below the code that runs logins and tenant code, above the store: it
//! imports only `store`, `crypto` and `error`.

mod config_cache;
mod ctx;
mod keys;
mod plan;
mod snapshot;

pub use config_cache::{CONFIG_TTL, ClientEntry, ConfigCache, RuleSet};
pub use ctx::TenantCtx;
pub use keys::{TenantKeys, generate_key};
pub use plan::FlowPlan;
pub use snapshot::LoginSnapshot;
