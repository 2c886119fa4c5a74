//! The runtime protocol's JSON bodies: `POST /v1/modules` takes a
//! [`Source`] and answers `{"id", "handlers"}`; `POST /v1/invoke` takes an
//! [`InvokeBody`] and answers the flat outcome JSON (`rulebox run`'s shape).
//! A node that does not hold the module answers 404 with
//! `{"error": "module_not_loaded"}` and the caller pushes the source: code
//! is content-addressed, so a push can never be stale.

use base64::Engine;
use rulebox_runtime_api::{Code, JsKind, Limits, LoadError, ModuleId, OutcomeKind, Quota, Trigger};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Code as uploaded. Its [`Source::id`] names it everywhere in the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    Wasm {
        wasm_base64: String,
    },
    Js {
        js_kind: JsKind,
        source: String,
        /// The npm packages installed for the script; absent without.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        modules: BTreeMap<String, String>,
    },
}

impl Source {
    pub fn wasm(bytes: &[u8]) -> Self {
        Source::Wasm {
            wasm_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    pub fn js(kind: &JsKind, source: &str) -> Self {
        Source::Js {
            js_kind: kind.clone(),
            source: source.to_owned(),
            modules: BTreeMap::new(),
        }
    }

    pub fn of(code: Code) -> Self {
        match code {
            Code::Wasm(bytes) => Self::wasm(&bytes),
            Code::Js {
                kind,
                source,
                modules,
            } => Source::Js {
                js_kind: kind,
                source,
                modules: Arc::unwrap_or_clone(modules),
            },
        }
    }

    /// Whether an upload of this code is checked against the triggers it
    /// handles (an Action or a module), so a cached answer of "cannot tell"
    /// from an older node is asked again; a rule, a script or a flow, loaded
    /// on every login, is not.
    pub fn upload_checks_handlers(&self) -> bool {
        matches!(
            self,
            Source::Wasm { .. }
                | Source::Js {
                    js_kind: JsKind::Action,
                    ..
                }
        )
    }

    /// A module's id is the SHA-256 of its bytes (what runtimes use too); a
    /// script's is the SHA-256 of its kind and text, because its compiled
    /// form (a pre-initialised snapshot) is made by each runtime.
    pub fn id(&self) -> Result<ModuleId, String> {
        match self {
            Source::Wasm { .. } => Ok(ModuleId::of(&self.wasm_bytes()?)),
            Source::Js {
                js_kind,
                source,
                modules,
            } => {
                let kind = serde_json::to_string(js_kind).map_err(|e| e.to_string())?;
                let mut h = Sha256::new();
                h.update(b"rulebox-js\0");
                h.update(kind.as_bytes());
                h.update(b"\0");
                h.update(source.as_bytes());
                // Only with packages, so the ids of scripts without stay as they were.
                for (path, text) in modules {
                    for part in [path, text] {
                        h.update((part.len() as u64).to_le_bytes());
                        h.update(part.as_bytes());
                    }
                }
                let digest: [u8; 32] = h.finalize().into();
                hex_id(&digest)
            }
        }
    }

    /// The code to load on a sandbox (bad base64 refused as `invalid_module`).
    pub fn code(&self) -> Result<Code, LoadError> {
        match self {
            Source::Wasm { .. } => {
                let bytes = self.wasm_bytes().map_err(|m| LoadError {
                    kind: OutcomeKind::InvalidModule,
                    message: m,
                    line: None,
                    column: None,
                })?;
                Ok(Code::Wasm(bytes))
            }
            Source::Js {
                js_kind,
                source,
                modules,
            } => Ok(Code::Js {
                kind: js_kind.clone(),
                source: source.clone(),
                modules: Arc::new(modules.clone()),
            }),
        }
    }

    /// [`Source::code`], consuming the source (no copy of a script's text).
    pub fn into_code(self) -> Result<Code, LoadError> {
        match self {
            Source::Js {
                js_kind,
                source,
                modules,
            } => Ok(Code::Js {
                kind: js_kind,
                source,
                modules: Arc::new(modules),
            }),
            wasm => wasm.code(),
        }
    }

    pub fn wasm_bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Source::Wasm { wasm_base64 } => base64::engine::general_purpose::STANDARD
                .decode(wasm_base64)
                .map_err(|e| format!("wasm_base64: {e}")),
            Source::Js { .. } => Err("not a wasm module".into()),
        }
    }

    /// Bytes held in memory, for cache weighing.
    pub fn size(&self) -> usize {
        match self {
            Source::Wasm { wasm_base64 } => wasm_base64.len(),
            Source::Js {
                source, modules, ..
            } => {
                source.len()
                    + modules
                        .iter()
                        .map(|(p, t)| p.len() + t.len())
                        .sum::<usize>()
            }
        }
    }
}

fn hex_id(digest: &[u8; 32]) -> Result<ModuleId, String> {
    let text: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    text.parse().map_err(|e| format!("{e:?}"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadedBody {
    pub id: ModuleId,
    /// The triggers the code answers ([`rulebox_runtime_api::Loaded::handlers`]);
    /// absent from a node that cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handlers: Option<Vec<Trigger>>,
}

/// Code a caller loaded: its source, to re-feed a node that lost it, and
/// what the node that validated it said it handles.
#[derive(Debug)]
pub struct Held {
    pub source: Source,
    pub handlers: Option<Vec<Trigger>>,
}

impl Held {
    /// Bytes held in memory, for cache weighing.
    pub fn weight(&self) -> u32 {
        u32::try_from(self.source.size()).unwrap_or(u32::MAX)
    }
}

/// One call over the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvokeBody {
    pub tenant: String,
    #[serde(default)]
    pub quota: Quota,
    pub module: ModuleId,
    pub trigger: Trigger,
    /// The event JSON, as text.
    pub input: String,
    pub limits: Limits,
    /// Fixes the guest clock (milliseconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now_ms: Option<u64>,
    /// A flow's whole-call budget (`Call::flow_timeout_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_timeout_ms: Option<u64>,
}

/// `{"error", "error_description"}`, plus the load error for refused code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub error_description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_error: Option<rulebox_runtime_api::LoadError>,
}

pub const MODULE_NOT_LOADED: &str = "module_not_loaded";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_content_addresses() {
        let wasm = Source::wasm(b"\0asm\x01\0\0\0");
        assert_eq!(wasm.id(), Ok(ModuleId::of(b"\0asm\x01\0\0\0")));
        let a = Source::js(&JsKind::Action, "exports.x = 1");
        let r = Source::js(&JsKind::Rule, "exports.x = 1");
        assert_ne!(a.id(), r.id(), "the kind is part of a script's identity");
        assert_eq!(a.id(), Source::js(&JsKind::Action, "exports.x = 1").id());
        let back: Source =
            serde_json::from_str(&serde_json::to_string(&a).expect("ser")).expect("de");
        assert_eq!(back, a);
    }
}
