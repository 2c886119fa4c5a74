//! Guest ABI v1 of rulebox, shared by the host runtime and every guest SDK.
//!
//! The host and the guests must agree byte for byte on these names and on the
//! command schema; keeping them in one dependency-light crate means a rename
//! cannot silently split the two sides. The prose contract is `docs/abi.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The ABI version this crate describes.
pub const ABI_VERSION: u32 = 1;

/// Import module name of every rulebox host function.
pub const IMPORT_MODULE: &str = "rulebox";

/// Host imports of ABI v1 (module [`IMPORT_MODULE`]).
pub mod imports {
    /// `() -> i32`: length in bytes of the input JSON.
    pub const INPUT_LEN: &str = "input_len";
    /// `(ptr: i32, len: i32) -> i32`: copies up to `len` input bytes to `ptr`, returns the count.
    pub const INPUT_READ: &str = "input_read";
    /// `(ptr: i32, len: i32) -> i32`: sets the output JSON (last write wins), returns 0.
    pub const OUTPUT_WRITE: &str = "output_write";
    /// `(level: i32, ptr: i32, len: i32)`: appends one UTF-8 log line.
    pub const LOG: &str = "log";
    /// `() -> i32`: ends one step of a multi-step call (a flow of several
    /// handlers in one instance). The output written so far, the logs since the
    /// previous step and the fuel it used become that step's result; the output
    /// is cleared and fuel, deadline and budgets are re-armed for the next step.
    /// Returns 0.
    pub const STEP_END: &str = "step_end";

    /// `http_request(ptr, len) -> i32`: performs the request described by the
    /// JSON at `ptr` (`{method, url, headers, body}`) and returns the length of
    /// the JSON answer (`{status, url, headers, body}` or `{error}`). A request
    /// the tenant's policy does not allow ends the call with `capability_denied`.
    pub const HTTP_REQUEST: &str = "http_request";
    /// `http_response_read(ptr, len) -> i32`: copies the last answer out.
    pub const HTTP_RESPONSE_READ: &str = "http_response_read";

    /// Every host function a v1 guest may import without a capability grant.
    pub const CORE: &[&str] = &[INPUT_LEN, INPUT_READ, OUTPUT_WRITE, LOG, STEP_END];

    /// Capabilities: importing them is allowed; each use is checked against the
    /// calling tenant's policy (which grants nothing by default).
    pub const CAPABILITIES: &[&str] = &[HTTP_REQUEST, HTTP_RESPONSE_READ];

    /// Names reserved for capability work after v1 (a host-side cache).
    /// A module importing one is refused with `capability_denied`.
    pub const RESERVED_CAPABILITIES: &[&str] = &["cache_get", "cache_set", "cache_delete"];
}

/// Exports a v1 guest must or may provide.
pub mod exports {
    /// The linear memory the host reads and writes through.
    pub const MEMORY: &str = "memory";
    /// A `() -> ()` marker whose presence declares ABI v1; never called.
    pub const ABI_MARKER_V1: &str = "rulebox_abi_v1";
    /// Optional WASI reactor initialiser, called once before the handler.
    pub const INITIALIZE: &str = "_initialize";
}

/// Log levels of the `log` import, in its `level` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl LogLevel {
    /// Unknown levels are treated as `info` rather than failing the call:
    /// a log line is never worth an ABI violation.
    pub fn from_i32(level: i32) -> Self {
        match level {
            0 => Self::Debug,
            2 => Self::Warn,
            3 => Self::Error,
            _ => Self::Info,
        }
    }
}

/// Values a handler returns. Anything but [`handler_codes::OK`] ends the call
/// without output; the codes let a language runtime inside the guest (the
/// JavaScript engine) report *why* precisely.
pub mod handler_codes {
    /// Output written; the call succeeded.
    pub const OK: i32 = 0;
    /// The tenant's code failed (uncaught error): outcome `trap`.
    pub const FAILED: i32 = 1;
    /// The code can never finish (no callback call and no pending work): outcome `timeout`.
    pub const NEVER_SETTLES: i32 = 2;
    /// The tenant's code broke a protocol (e.g. called back twice): outcome `abi_violation`.
    pub const PROTOCOL_VIOLATION: i32 = 3;
    /// The guest's own stack limit was hit: outcome `stack_overflow`.
    pub const STACK_OVERFLOW: i32 = 4;
    /// The guest's own heap limit was hit: outcome `memory_limit`.
    pub const OUT_OF_MEMORY: i32 = 5;
}

/// Every trigger, declared once: its Auth0 id, the wasm handler export, the
/// export of a JavaScript Action (`None`: custom-database scripts have their
/// own names), and whether tenants bind Actions to it (the upload check and
/// `GET /api/v2/actions/triggers` list exactly these). The host's [`Trigger`]
/// is generated from this list, and so are guests' handler exports (the
/// JavaScript engine's: `for_each_trigger!(your_macro)` calls `your_macro!`
/// with every row), so no trigger can exist on one side only.
///
/// Adding a trigger: a row here, its event builder and its decisions in
/// auth-core (`code::triggers`), and its tests (`docs/architecture.md`).
#[macro_export]
macro_rules! for_each_trigger {
    ($callback:ident) => {
        $callback! {
            (PostLogin, "post-login", on_post_login, Some("onExecutePostLogin"), true,
                "After a user's credentials (or refresh token) are accepted, before tokens are issued."),
            (ContinuePostLogin, "continue-post-login", on_continue_post_login, Some("onContinuePostLogin"), false,
                "The return from an `api.redirect.sendUserTo` round trip (`onContinuePostLogin`)."),
            (CredentialsExchange, "credentials-exchange", on_credentials_exchange, Some("onExecuteCredentialsExchange"), true,
                "A machine client's client-credentials grant, before its access token is issued."),
            (PreUserRegistration, "pre-user-registration", on_pre_user_registration, Some("onExecutePreUserRegistration"), true,
                "A database signup, before the user is created."),
            (PostUserRegistration, "post-user-registration", on_post_user_registration, Some("onExecutePostUserRegistration"), true,
                "A database signup, after the user was created."),
            (CustomDb, "custom-db", on_custom_db, None, false,
                "One script of a custom-database connection (`login`, `getUser`, ...); the script name and arguments travel in the input."),
        }
    };
}

/// What [`for_each_trigger!`] declares about one trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerInfo {
    pub trigger: Trigger,
    /// The Auth0 trigger id (`post-login`, ...), as used on the command line and the API.
    pub id: &'static str,
    /// The export name a guest provides for this trigger.
    pub export: &'static str,
    /// The function an Auth0 JavaScript Action exports for it (`exports.onExecutePostLogin`).
    pub js_export: Option<&'static str>,
    /// Tenants bind Actions to it.
    pub bindable: bool,
}

macro_rules! declare_triggers {
    ($( ($variant:ident, $id:literal, $export:ident, $js:expr, $bindable:literal, $doc:literal) ),+ $(,)?) => {
        /// Handler exports: `() -> i32`, returning 0 when the output has been written.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Trigger {
            $( #[doc = $doc] $variant, )+
        }

        /// Every trigger's declaration, in [`Trigger`] order.
        pub const TRIGGERS: &[TriggerInfo] = &[
            $( TriggerInfo {
                trigger: Trigger::$variant,
                id: $id,
                export: stringify!($export),
                js_export: $js,
                bindable: $bindable,
            }, )+
        ];
    };
}
for_each_trigger!(declare_triggers);

impl Trigger {
    pub const ALL: [Trigger; TRIGGERS.len()] = {
        let mut all = [Trigger::PostLogin; TRIGGERS.len()];
        let mut i = 0;
        while i < TRIGGERS.len() {
            all[i] = TRIGGERS[i].trigger;
            i += 1;
        }
        all
    };

    /// This trigger's declaration.
    pub fn info(self) -> &'static TriggerInfo {
        &TRIGGERS[self as usize]
    }

    /// The triggers tenants bind Actions to.
    pub fn bindable() -> impl Iterator<Item = Trigger> {
        TRIGGERS.iter().filter(|t| t.bindable).map(|t| t.trigger)
    }

    /// The export name a guest provides for this trigger.
    pub fn export_name(self) -> &'static str {
        self.info().export
    }

    /// The Auth0 trigger id (`post-login`, ...), as used on the command line and the API.
    pub fn id(self) -> &'static str {
        self.info().id
    }

    pub fn from_id(id: &str) -> Option<Self> {
        TRIGGERS.iter().find(|t| t.id == id).map(|t| t.trigger)
    }

    /// The function an Auth0 JavaScript Action exports for this trigger
    /// (`exports.onExecutePostLogin`); custom-database scripts have none.
    pub fn js_export_name(self) -> Option<&'static str> {
        self.info().js_export
    }

    pub fn from_export_name(name: &str) -> Option<Self> {
        TRIGGERS
            .iter()
            .find(|t| t.export == name)
            .map(|t| t.trigger)
    }
}

/// One decision a handler records, mirroring Auth0's post-login `api` object.
///
/// Commands are data, not effects: the login pipeline applies them after the
/// call, which is what lets `deny` be followed by more commands, as in Auth0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// `api.access.deny(reason)`; credentials-exchange's `deny(code, reason)`
    /// also carries the OAuth error `code`.
    Deny {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// `api.idToken.setCustomClaim(name, value)`
    SetIdTokenClaim { name: String, value: Value },
    /// `api.accessToken.setCustomClaim(name, value)`
    SetAccessTokenClaim { name: String, value: Value },
    /// `api.accessToken.addScope(scope)`
    AddScope { scope: String },
    /// `api.accessToken.removeScope(scope)`
    RemoveScope { scope: String },
    /// `api.user.setAppMetadata(name, value)`
    SetAppMetadata { name: String, value: Value },
    /// `api.user.setUserMetadata(name, value)`
    SetUserMetadata { name: String, value: Value },
    /// `api.multifactor.enable(provider, options)`
    EnableMfa {
        provider: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        options: Option<Value>,
    },
    /// `api.redirect.sendUserTo(url, { query })`
    Redirect {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<Value>,
    },
    /// `api.transaction.setMetadata(name, value)`
    SetTransactionMetadata { name: String, value: Value },
    /// `api.cache.set(key, value, { ttl | expires_at })`
    CacheSet {
        key: String,
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
    },
    /// `api.cache.delete(key)`
    CacheDelete { key: String },
}

/// What a guest writes through `output_write`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    #[serde(default)]
    pub commands: Vec<Command>,
    /// Shape-specific result (a legacy rule's `user`/`context`, a custom-DB
    /// script's callback value); absent for post-login modules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_with_op_tags() {
        let json = r#"{"commands":[{"op":"deny","reason":"no"},{"op":"add_scope","scope":"read"},
            {"op":"set_id_token_claim","name":"https://x/c","value":{"a":1}},
            {"op":"enable_mfa","provider":"any"}]}"#;
        let out: Output = serde_json::from_str(json).expect("valid output");
        assert_eq!(out.commands.len(), 4);
        assert_eq!(
            out.commands[0],
            Command::Deny {
                reason: "no".into(),
                code: None
            }
        );
        let back = serde_json::to_value(&out).expect("serialises");
        assert_eq!(
            back["commands"][3],
            serde_json::json!({"op":"enable_mfa","provider":"any"})
        );
    }

    #[test]
    fn unknown_ops_and_fields_are_rejected() {
        assert!(serde_json::from_str::<Output>(r#"{"commands":[{"op":"format_disk"}]}"#).is_err());
        assert!(serde_json::from_str::<Output>(r#"{"commands":[],"extra":1}"#).is_err());
        assert!(
            serde_json::from_str::<Output>(r#"{"commands":[{"op":"deny","reason":"x","y":2}]}"#)
                .is_err()
        );
    }

    #[test]
    fn the_declaration_is_in_enum_order() {
        for (i, info) in TRIGGERS.iter().enumerate() {
            assert_eq!(info.trigger as usize, i, "{}", info.id);
            assert_eq!(info.trigger.info(), info);
        }
        let bindable: Vec<&str> = Trigger::bindable().map(Trigger::id).collect();
        assert_eq!(
            bindable,
            [
                "post-login",
                "credentials-exchange",
                "pre-user-registration",
                "post-user-registration"
            ]
        );
    }

    #[test]
    fn triggers_map_ids_and_exports_both_ways() {
        for t in Trigger::ALL {
            assert_eq!(Trigger::from_id(t.id()), Some(t));
            assert_eq!(Trigger::from_export_name(t.export_name()), Some(t));
        }
        assert_eq!(Trigger::from_id("pre-login"), None);
    }
}
