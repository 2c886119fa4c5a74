//! Per-node, best-effort caches of what tenant code leaves behind or needs
//! fast: `api.cache` and Rules' `global`, compiled flow snapshots, and
//! custom-database `getUser` answers. Each may be dropped at any time; none is
//! a source of truth.

pub mod action_cache;
pub mod flow_modules;
pub mod get_user;
