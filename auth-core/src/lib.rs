//! auth-core: tenants, clients, connections and users; the OAuth2/OIDC
//! endpoints and JWT issuing; the post-login pipeline; the Management API.
//!
//! auth-core never touches wasmtime: tenant code runs behind the
//! [`rulebox_runtime_api::Sandbox`] trait, which the proxy (or, in
//! `rulebox serve`, an in-process runtime) implements.

pub mod app;
pub mod authn;
pub mod bootstrap;
pub mod caches;
pub mod code;
pub mod crypto;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod log_writer;
pub mod store;
pub mod tenant;

pub use app::{AppState, Settings};
