//! Write rulebox login rules in Rust.
//!
//! A rule is a function of the Auth0-style [`Event`] that records decisions
//! on an [`Api`], exported with one macro; the crate is built as a `cdylib`
//! for `wasm32-wasip1`:
//!
//! ```
//! use rulebox_sdk::{Api, Event};
//!
//! fn handle(event: &Event, api: &mut Api) {
//!     if !event.user.email_verified {
//!         api.access().deny("Please verify your email before logging in.");
//!     }
//!     api.id_token().set_custom_claim("https://example.com/plan", "pro");
//! }
//!
//! rulebox_sdk::export_post_login!(handle);
//! ```
//!
//! The macro produces the exports the host looks for (`on_post_login` and
//! the ABI marker `rulebox_abi_v1`) and the glue that reads the event,
//! calls the function and writes the recorded commands. Nothing else is
//! needed: no allocator hooks, no `main`.
//!
//! Because decisions are data, a rule is tested on the host like any Rust
//! function: build an [`Event`] (from JSON or `Event::default()`), call the
//! handler with [`Api::new`] and assert on [`Api::commands`].

mod api;
mod event;
#[doc(hidden)]
pub mod guest;
pub mod http;
pub mod log;
#[cfg(target_arch = "wasm32")]
mod sys;
pub mod time;

pub use api::{
    Access, AccessToken, Api, IdToken, Multifactor, Redirect, TransactionApi, UserApi, run_handler,
};
pub use event::{
    Authentication, AuthenticationMethod, Authorization, Client, Connection, Event, GeoIp,
    Identity, Metadata, Organization, Request, ResourceServer, Stats, Tenant, Transaction, User,
};
pub use rulebox_abi::{Command, LogLevel, Output};
/// Re-exported so a rule can build claim values (`json!`) without its own
/// dependency, and always with the version the SDK serialises with.
pub use serde_json::{self, Value, json};

/// Exports `f` as the post-login handler (`on_post_login`) of this module.
///
/// `f` is any `FnOnce(&Event, &mut Api)`. Use [`export_handlers!`] instead
/// when one module serves several triggers: each macro call also exports
/// the ABI marker, which may exist only once per module.
#[macro_export]
macro_rules! export_post_login {
    ($handler:expr $(,)?) => {
        $crate::export_handlers!(post_login: $handler);
    };
}

/// Exports `f` as the credentials-exchange handler (`on_credentials_exchange`).
///
/// The event has the post-login shape minus the user; the same [`Api`]
/// records the decisions (`access().deny`, `access_token()` claims).
#[macro_export]
macro_rules! export_credentials_exchange {
    ($handler:expr $(,)?) => {
        $crate::export_handlers!(credentials_exchange: $handler);
    };
}

/// Exports several handlers from one module, with a single ABI marker:
/// `export_handlers!(post_login: on_login, credentials_exchange: on_m2m);`
///
/// The marker is emitted here, in the rule's own crate, rather than from the
/// SDK: `#[no_mangle]` items of the final crate are exported by the linker
/// whatever LTO decides about upstream code.
#[macro_export]
macro_rules! export_handlers {
    ($($trigger:ident : $handler:expr),+ $(,)?) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            /// Declares rulebox guest ABI v1; never called.
            #[unsafe(no_mangle)]
            pub extern "C" fn rulebox_abi_v1() {}
        };

        $( $crate::__export_trigger!($trigger, $handler); )+
    };
}

// Each trigger gets a module-level shim that names the tenant's handler, and
// the export (inside an anonymous block, to keep it out of the module's
// namespace) calls the shim. The indirection lets the tenant call their
// function `on_post_login` too: inside the block that name would resolve to
// the export itself. On the host the shim still type-checks the handler.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_trigger {
    (post_login, $handler:expr) => {
        #[doc(hidden)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        fn __rulebox_post_login(event: &$crate::Event, api: &mut $crate::Api) {
            ($handler)(event, api)
        }

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            #[unsafe(no_mangle)]
            pub extern "C" fn on_post_login() -> i32 {
                $crate::guest::run(__rulebox_post_login)
            }
        };
    };
    (credentials_exchange, $handler:expr) => {
        #[doc(hidden)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        fn __rulebox_credentials_exchange(event: &$crate::Event, api: &mut $crate::Api) {
            ($handler)(event, api)
        }

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            #[unsafe(no_mangle)]
            pub extern "C" fn on_credentials_exchange() -> i32 {
                $crate::guest::run(__rulebox_credentials_exchange)
            }
        };
    };
    ($other:ident, $handler:expr) => {
        ::core::compile_error!(concat!(
            "rulebox-sdk has no handler export for trigger `",
            stringify!($other),
            "`; supported: post_login, credentials_exchange"
        ));
    };
}

#[cfg(test)]
mod tests;
