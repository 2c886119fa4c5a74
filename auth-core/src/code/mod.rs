//! Running tenant code: the Actions pipeline and legacy Rules of a login,
//! each trigger's event and decisions (`triggers/`), and custom-database
//! scripts. Reaches the sandbox only through `rulebox_runtime_api::Sandbox`;
//! knows nothing of HTTP.

pub mod custom_db;
pub mod loader;
pub mod pipeline;
pub mod post_login;
pub mod triggers;
