//! auth-core: tenants, clients, connections and users; the OAuth2/OIDC
//! endpoints and JWT issuing; the post-login pipeline; the Management API.
//!
//! auth-core never touches wasmtime: tenant code runs behind the
//! [`rulebox_runtime_api::Sandbox`] trait, which the proxy (or, in
//! `rulebox serve`, an in-process runtime) implements.

pub mod action_cache;
pub mod app;
pub mod bootstrap;
pub mod config_cache;
pub mod crypto;
pub mod custom_claims;
pub mod custom_db;
pub mod error;
pub mod flow_modules;
pub mod housekeeping;
pub mod http;
pub mod log_writer;
pub mod login;
pub mod mfa;
pub mod pipeline;
pub mod store;
pub mod tenancy;

pub use app::{AppState, Settings};
