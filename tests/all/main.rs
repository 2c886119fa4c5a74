//! rulebox's integration tests, one binary with a module per feature (as
//! wasmtime's `tests/all` is): one link of the workspace instead of one per
//! feature. Run one feature with `cargo test --test all <module>::`, e.g.
//! `cargo test --test all structure::`.
//!
//! Most modules drive a real `rulebox` process (see `support`); the few that
//! hold a runtime in this process keep it in their own module's statics.
//!
//! One test stays a binary of its own: `tests/noisy_neighbours.rs` loads
//! every core on purpose and measures latency under that load, so it must not
//! share the machine with other tests (cargo runs test binaries one at a
//! time).

mod support;

mod action_cache;
mod action_flows;
mod actions_cli;
mod audit;
mod auth0_python_sdk;
mod auth_e2e;
mod authorize_flow;
mod brute_force;
mod cli_run;
mod client_alg;
mod cluster;
mod concurrent_writes;
mod credentials_exchange;
mod cross_tenant;
mod cross_tenant_auth;
mod custom_db_http;
mod custom_db_modes;
mod dashboard;
mod js_examples;
mod logs_tail;
mod metrics;
mod mfa;
mod mgmt_edges;
mod mgmt_lifecycle;
mod npm_run;
mod outbound;
mod pipeline_deadline;
mod platform_config;
mod request_logs;
mod rust_examples;
mod secrets_e2e;
mod signup_rules;
mod structure;
mod tenant_domains;
mod token_boundaries;
