//! Login transactions: checking credentials (with brute-force protection),
//! second factors, paused logins, and which custom claims tokens may carry.
//! Framework-free: HTTP (`http/`) parses requests and spells errors; this
//! layer decides, running tenant code through `code/`.

pub mod attempts;
pub mod client_auth;
pub mod custom_claims;
pub mod finish;
pub mod grants;
pub mod login;
pub mod mfa;
pub mod mfa_factors;
pub mod parked;
pub mod signup;
pub mod tokens;
