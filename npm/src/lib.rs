//! npm dependencies of tenant code: Auth0's Action `dependencies`
//! (`[{name, version}]`, a semver range or `latest`) and the packages a Rule
//! `require`s, resolved against a registry when the code is saved.
//!
//! Saving resolves the ranges to a [`Tree`] (every package's exact version
//! and integrity, and where it sits under `node_modules`), which is recorded
//! with the code's version: a deployed version never changes under its
//! tenant, and a rollback gets its own tree back, because [`install`] of a
//! recorded tree never resolves again. Installing downloads each tarball
//! (through a local cache, by integrity), checks it against the packument's
//! `dist.integrity`, and unpacks it in memory. Nothing in a package ever
//! runs here: there are no install scripts, and a package that needs a
//! native add-on is refused with that reason (it could not load in the
//! sandbox anyway).
//!
//! Why its own crate: auth-core (save time) and `rulebox run --dependency`
//! both need it, and it knows nothing of tenants, stores or the sandbox.

mod error;
mod install;
mod packument;
mod registry;
mod spec;
mod tarball;
mod tree;

#[cfg(feature = "fixture-registry")]
pub mod testing;

pub use error::NpmError;
pub use install::{Installed, install};
pub use registry::{Registry, RegistryConfig};
pub use spec::Dependency;
pub use tree::{Limits, Placed, Tree, resolve};
