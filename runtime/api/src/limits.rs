//! Per-invocation limits: platform defaults, tenant overrides, hard ceilings.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The limits one invocation runs under, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Fuel units (about one per wasm instruction) before `fuel_exhausted`.
    pub fuel: u64,
    /// Wall-clock budget for the whole call, instantiation included.
    pub timeout_ms: u64,
    /// Linear-memory cap across the instance's memories.
    pub memory_bytes: u64,
    pub table_elements: u64,
    pub instances: u32,
    pub tables: u32,
    pub memories: u32,
    pub max_input_bytes: u64,
    pub max_output_bytes: u64,
    pub max_log_bytes: u64,
    /// What the call may reach on the network (nothing by default).
    #[serde(default)]
    pub outbound: Outbound,
}

/// The outbound-HTTP capability of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outbound {
    /// Hosts the call may reach: `api.example.com`, `*.example.com` (any
    /// subdomain), optionally with `:port`; an IP literal (`10.0.0.5:8080`) is
    /// the only way to reach a loopback, private, link-local or metadata
    /// address, and only by that literal.
    pub allow_hosts: Vec<String>,
    /// Requests per call, redirects included.
    pub max_requests: u32,
    /// Per request (the call's own deadline cuts it shorter).
    pub request_timeout_ms: u64,
    /// Response body bytes kept; a larger body fails the request.
    pub max_response_bytes: u64,
}

impl Default for Outbound {
    fn default() -> Self {
        Self {
            allow_hosts: Vec::new(),
            max_requests: 10,
            request_timeout_ms: 5_000,
            max_response_bytes: 1 << 20,
        }
    }
}

impl Default for Limits {
    /// In the spirit of the published peers (Shopify Functions: 11M
    /// instructions, 10 MB memory, 128 kB in, 20 kB out): tight enough that
    /// a login pipeline stays fast, loose enough for real rules.
    fn default() -> Self {
        Self {
            fuel: 11_000_000,
            timeout_ms: 1_000,
            memory_bytes: 10 << 20,
            table_elements: 20_000,
            instances: 1,
            tables: 4,
            memories: 1,
            max_input_bytes: 128 << 10,
            max_output_bytes: 20 << 10,
            outbound: Outbound::default(),
            max_log_bytes: 4 << 10,
        }
    }
}

impl Limits {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Applies a tenant's overrides, then clamps every value to `ceiling`, so a
    /// policy can never buy more than the platform is sized for.
    pub fn resolve(defaults: &Limits, policy: &TenantPolicy, ceiling: &Limits) -> Limits {
        let l = Limits {
            fuel: policy.fuel.unwrap_or(defaults.fuel),
            timeout_ms: policy.timeout_ms.unwrap_or(defaults.timeout_ms),
            memory_bytes: policy.memory_bytes.unwrap_or(defaults.memory_bytes),
            table_elements: policy.table_elements.unwrap_or(defaults.table_elements),
            instances: policy.instances.unwrap_or(defaults.instances),
            tables: policy.tables.unwrap_or(defaults.tables),
            memories: policy.memories.unwrap_or(defaults.memories),
            max_input_bytes: policy.max_input_bytes.unwrap_or(defaults.max_input_bytes),
            max_output_bytes: policy.max_output_bytes.unwrap_or(defaults.max_output_bytes),
            max_log_bytes: policy.max_log_bytes.unwrap_or(defaults.max_log_bytes),
            outbound: Outbound {
                allow_hosts: policy
                    .allow_hosts
                    .clone()
                    .unwrap_or_else(|| defaults.outbound.allow_hosts.clone()),
                max_requests: policy
                    .max_outbound_requests
                    .unwrap_or(defaults.outbound.max_requests),
                request_timeout_ms: policy
                    .outbound_timeout_ms
                    .unwrap_or(defaults.outbound.request_timeout_ms),
                max_response_bytes: policy
                    .max_response_bytes
                    .unwrap_or(defaults.outbound.max_response_bytes),
            },
        };
        l.clamp_to(ceiling)
    }

    pub fn clamp_to(&self, c: &Limits) -> Limits {
        Limits {
            fuel: self.fuel.min(c.fuel),
            timeout_ms: self.timeout_ms.min(c.timeout_ms),
            memory_bytes: self.memory_bytes.min(c.memory_bytes),
            table_elements: self.table_elements.min(c.table_elements),
            instances: self.instances.min(c.instances),
            tables: self.tables.min(c.tables),
            memories: self.memories.min(c.memories),
            max_input_bytes: self.max_input_bytes.min(c.max_input_bytes),
            max_output_bytes: self.max_output_bytes.min(c.max_output_bytes),
            max_log_bytes: self.max_log_bytes.min(c.max_log_bytes),
            outbound: Outbound {
                allow_hosts: self.outbound.allow_hosts.clone(),
                max_requests: self.outbound.max_requests.min(c.outbound.max_requests),
                request_timeout_ms: self
                    .outbound
                    .request_timeout_ms
                    .min(c.outbound.request_timeout_ms),
                max_response_bytes: self
                    .outbound
                    .max_response_bytes
                    .min(c.outbound.max_response_bytes),
            },
        }
    }

    /// The most any tenant may be granted on a platform whose pool slots hold
    /// `max_memory_bytes` each.
    pub fn ceiling(max_memory_bytes: u64) -> Limits {
        Limits {
            fuel: 10_000_000_000,
            timeout_ms: 30_000,
            memory_bytes: max_memory_bytes,
            table_elements: 100_000,
            instances: 4,
            tables: 8,
            memories: 1,
            max_input_bytes: 8 << 20,
            max_output_bytes: 8 << 20,
            max_log_bytes: 1 << 20,
            outbound: Outbound {
                allow_hosts: Vec::new(),
                max_requests: 50,
                request_timeout_ms: 30_000,
                max_response_bytes: 10 << 20,
            },
        }
    }
}

/// A tenant's overrides of the platform defaults; `None` means "default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPolicy {
    pub fuel: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub table_elements: Option<u64>,
    pub instances: Option<u32>,
    pub tables: Option<u32>,
    pub memories: Option<u32>,
    pub max_input_bytes: Option<u64>,
    pub max_output_bytes: Option<u64>,
    pub max_log_bytes: Option<u64>,
    /// Hosts tenant code may call (see [`Outbound::allow_hosts`]).
    pub allow_hosts: Option<Vec<String>>,
    pub max_outbound_requests: Option<u32>,
    /// Per outbound request (the call's deadline still bounds it).
    pub outbound_timeout_ms: Option<u64>,
    /// Response body bytes an outbound request may return.
    pub max_response_bytes: Option<u64>,
    /// Calls of this tenant in flight at once across the pool.
    pub concurrency: Option<u32>,
    /// Calls per second (token bucket, burst of one second's worth).
    pub rate_per_sec: Option<u32>,
}

impl TenantPolicy {
    pub fn quota(&self) -> Quota {
        Quota {
            concurrency: self.concurrency,
            rate_per_sec: self.rate_per_sec,
        }
    }
}

/// A tenant's share of the pool, enforced by the proxy; `None` means the
/// proxy's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quota {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_sec: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_overrides_defaults_and_ceiling_clamps() {
        let defaults = Limits::default();
        let policy = TenantPolicy {
            fuel: Some(5),
            memory_bytes: Some(u64::MAX),
            ..TenantPolicy::default()
        };
        let l = Limits::resolve(&defaults, &policy, &Limits::ceiling(64 << 20));
        assert_eq!(l.fuel, 5);
        assert_eq!(l.memory_bytes, 64 << 20);
        assert_eq!(l.timeout_ms, defaults.timeout_ms);
        let outbound = TenantPolicy {
            allow_hosts: Some(vec!["api.example.com".into()]),
            outbound_timeout_ms: Some(u64::MAX),
            max_response_bytes: Some(1024),
            ..TenantPolicy::default()
        };
        let l = Limits::resolve(&defaults, &outbound, &Limits::ceiling(64 << 20));
        assert_eq!(l.outbound.allow_hosts, ["api.example.com"]);
        assert_eq!(
            l.outbound.request_timeout_ms, 30_000,
            "clamped to the ceiling"
        );
        assert_eq!(l.outbound.max_response_bytes, 1024);
    }
}
