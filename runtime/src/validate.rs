//! Upload-time checks: a module is refused with a reason before it can ever run.

use rulebox_abi::{Trigger, exports, imports};
use rulebox_runtime_api::OutcomeKind;
use wasmtime::wasmparser::{self, Parser, Payload, TypeRef};

/// WASI preview1 functions that language runtimes call while starting and
/// that grant no authority here: no preopens, no env, no args, stdio
/// discarded. Everything else WASI offers (files, sockets, poll) is refused.
pub(crate) const WASI_ALLOWED: &[&str] = &[
    "fd_write",
    "fd_close",
    "fd_seek",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "environ_get",
    "environ_sizes_get",
    "args_get",
    "args_sizes_get",
    "clock_time_get",
    "clock_res_get",
    "random_get",
    "proc_exit",
    "sched_yield",
];

pub(crate) const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// Why a module was refused. Each names the offending item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("module is {size} bytes, over the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("not a valid WebAssembly module: {0}")]
    Malformed(String),
    #[error("missing required export `{0}`")]
    MissingExport(&'static str),
    #[error("export `{name}` has the wrong type: expected {expected}")]
    WrongExportType {
        name: String,
        expected: &'static str,
    },
    #[error("module exports no handler (one of {})", bindable_exports())]
    NoHandler,
    #[error("capability denied: import `{module}.{name}` ({what}) is not available in the sandbox")]
    ImportDenied {
        module: String,
        name: String,
        what: &'static str,
    },
    #[error("import `{module}.{name}` must be a function")]
    ImportNotFunction { module: String, name: String },
    #[error("import signature mismatch: {0}")]
    ImportSignature(String),
    #[error(
        "the module's memory starts at {initial} bytes, over the platform's {max}-byte maximum"
    )]
    InitialMemoryTooLarge { initial: u64, max: u64 },
    #[error("module has no handler for trigger `{0}`")]
    NoSuchHandler(&'static str),
    #[error("{message}{}", location(*line, *column))]
    Script {
        message: String,
        line: Option<u32>,
        column: Option<u32>,
    },
}

/// The handler exports of the triggers Actions bind to, from the declaration.
fn bindable_exports() -> String {
    let names: Vec<&str> = Trigger::bindable().map(Trigger::export_name).collect();
    names.join(", ")
}

fn location(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

impl ValidationError {
    /// The outcome kind a call of such a module reports.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Self::TooLarge { .. } | Self::Malformed(_) | Self::Script { .. } => {
                OutcomeKind::InvalidModule
            }
            Self::ImportDenied { .. } => OutcomeKind::CapabilityDenied,
            Self::InitialMemoryTooLarge { .. } => OutcomeKind::MemoryLimit,
            Self::MissingExport(_)
            | Self::WrongExportType { .. }
            | Self::NoHandler
            | Self::ImportNotFunction { .. }
            | Self::ImportSignature(_)
            | Self::NoSuchHandler(_) => OutcomeKind::AbiViolation,
        }
    }
}

/// What the host learned about a valid module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub abi_version: u32,
    pub handlers: Vec<Trigger>,
    pub has_initialize: bool,
}

/// Shape of an export, as far as the ABI cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportShape {
    /// A function with this many params and results, all i32 where it matters.
    Func {
        params: usize,
        results: ResultShape,
    },
    Memory,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultShape {
    None,
    I32,
    Other,
}

/// Builds the manifest from a module's exports; shared by upload validation
/// and by artifacts loaded back from disk, so both agree on what is valid.
pub(crate) fn manifest_from_exports<'a>(
    exports_iter: impl IntoIterator<Item = (&'a str, ExportShape)>,
) -> Result<Manifest, ValidationError> {
    let mut memory = false;
    let mut marker = false;
    let mut has_initialize = false;
    let mut handlers = Vec::new();
    for (name, shape) in exports_iter {
        match name {
            exports::MEMORY => {
                if shape != ExportShape::Memory {
                    return Err(ValidationError::WrongExportType {
                        name: name.into(),
                        expected: "memory",
                    });
                }
                memory = true;
            }
            exports::ABI_MARKER_V1 => marker = true,
            exports::INITIALIZE => {
                if !matches!(
                    shape,
                    ExportShape::Func {
                        params: 0,
                        results: ResultShape::None
                    }
                ) {
                    return Err(ValidationError::WrongExportType {
                        name: name.into(),
                        expected: "func () -> ()",
                    });
                }
                has_initialize = true;
            }
            other => {
                if let Some(t) = Trigger::from_export_name(other) {
                    if !matches!(
                        shape,
                        ExportShape::Func {
                            params: 0,
                            results: ResultShape::I32
                        }
                    ) {
                        return Err(ValidationError::WrongExportType {
                            name: name.into(),
                            expected: "func () -> i32",
                        });
                    }
                    handlers.push(t);
                }
            }
        }
    }
    if !memory {
        return Err(ValidationError::MissingExport(exports::MEMORY));
    }
    if !marker {
        return Err(ValidationError::MissingExport(exports::ABI_MARKER_V1));
    }
    if handlers.is_empty() {
        return Err(ValidationError::NoHandler);
    }
    Ok(Manifest {
        abi_version: 1,
        handlers,
        has_initialize,
    })
}

fn check_import(module: &str, name: &str, ty: &TypeRef) -> Result<(), ValidationError> {
    let denied = |what| ValidationError::ImportDenied {
        module: module.into(),
        name: name.into(),
        what,
    };
    let allowed = match module {
        imports_module if imports_module == rulebox_abi::IMPORT_MODULE => {
            if imports::CORE.contains(&name) || imports::CAPABILITIES.contains(&name) {
                true
            } else if imports::RESERVED_CAPABILITIES.contains(&name) {
                return Err(denied("capability not granted to this tenant"));
            } else {
                return Err(denied("unknown rulebox host function"));
            }
        }
        WASI_MODULE => {
            if WASI_ALLOWED.contains(&name) {
                true
            } else if name.starts_with("sock_") {
                return Err(denied("WASI sockets"));
            } else if name.starts_with("path_") || name.starts_with("fd_") {
                return Err(denied("WASI filesystem"));
            } else {
                return Err(denied("WASI function outside the sandbox's allow-list"));
            }
        }
        _ => return Err(denied("not provided by rulebox")),
    };
    if allowed && !matches!(ty, TypeRef::Func(_)) {
        return Err(ValidationError::ImportNotFunction {
            module: module.into(),
            name: name.into(),
        });
    }
    Ok(())
}

/// Validates raw module bytes: size, structure, imports, required exports.
/// Runs before compilation so a bad upload costs a parse, not a compile.
pub fn validate(
    bytes: &[u8],
    max_size: usize,
    max_memory: u64,
) -> Result<Manifest, ValidationError> {
    if bytes.len() > max_size {
        return Err(ValidationError::TooLarge {
            size: bytes.len(),
            max: max_size,
        });
    }
    let malformed = |e: wasmparser::BinaryReaderError| ValidationError::Malformed(e.to_string());
    let mut func_types: Vec<(usize, ResultShape)> = Vec::new();
    let mut func_sigs: Vec<u32> = Vec::new();
    let mut exported: Vec<(String, wasmparser::ExternalKind, u32)> = Vec::new();
    let mut saw_header = false;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(malformed)? {
            Payload::Version { encoding, .. } => {
                if encoding != wasmparser::Encoding::Module {
                    return Err(ValidationError::Malformed(
                        "components are not supported; upload a core module".into(),
                    ));
                }
                saw_header = true;
            }
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    let f = ty.map_err(malformed)?;
                    let results = match f.results() {
                        [] => ResultShape::None,
                        [wasmparser::ValType::I32] => ResultShape::I32,
                        _ => ResultShape::Other,
                    };
                    func_types.push((f.params().len(), results));
                }
            }
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    let imp = imp.map_err(malformed)?;
                    check_import(imp.module, imp.name, &imp.ty)?;
                    if let TypeRef::Func(idx) = imp.ty {
                        func_sigs.push(idx);
                    }
                }
            }
            Payload::MemorySection(r) => {
                for m in r {
                    let initial = m.map_err(malformed)?.initial.saturating_mul(64 << 10);
                    if initial > max_memory {
                        return Err(ValidationError::InitialMemoryTooLarge {
                            initial,
                            max: max_memory,
                        });
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for f in r {
                    func_sigs.push(f.map_err(malformed)?);
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.map_err(malformed)?;
                    exported.push((e.name.to_owned(), e.kind, e.index));
                }
            }
            _ => {}
        }
    }
    if !saw_header {
        return Err(ValidationError::Malformed("empty input".into()));
    }
    // Full validation (types, bodies) so the compiler never sees an invalid module.
    let mut validator = wasmparser::Validator::new_with_features(
        wasmparser::WasmFeatures::default()
            - wasmparser::WasmFeatures::THREADS
            - wasmparser::WasmFeatures::SHARED_EVERYTHING_THREADS
            - wasmparser::WasmFeatures::MEMORY64
            - wasmparser::WasmFeatures::MULTI_MEMORY
            - wasmparser::WasmFeatures::COMPONENT_MODEL,
    );
    validator.validate_all(bytes).map_err(malformed)?;
    let shapes = exported.iter().map(|(name, kind, index)| {
        let shape = match kind {
            wasmparser::ExternalKind::Memory => ExportShape::Memory,
            wasmparser::ExternalKind::Func => func_sigs
                .get(*index as usize)
                .and_then(|t| func_types.get(*t as usize))
                .map_or(ExportShape::Other, |&(params, results)| ExportShape::Func {
                    params,
                    results,
                }),
            _ => ExportShape::Other,
        };
        (name.as_str(), shape)
    });
    manifest_from_exports(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(src: &str) -> Vec<u8> {
        wat::parse_str(src).expect("test WAT parses")
    }

    const GOOD: &str = r#"(module
        (import "rulebox" "output_write" (func (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "rulebox_abi_v1"))
        (func (export "on_post_login") (result i32) i32.const 0))"#;

    #[test]
    fn accepts_a_minimal_module() {
        let m = validate(&wat(GOOD), 1 << 20, 1 << 30).expect("valid");
        assert_eq!(m.handlers, vec![Trigger::PostLogin]);
        assert!(!m.has_initialize);
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(matches!(
            validate(&wat(GOOD), 10, 1 << 30),
            Err(ValidationError::TooLarge { max: 10, .. })
        ));
        assert!(matches!(
            validate(b"\0asm garbage", 1 << 20, 1 << 30),
            Err(ValidationError::Malformed(_))
        ));
        let no_handler =
            r#"(module (memory (export "memory") 1) (func (export "rulebox_abi_v1")))"#;
        assert_eq!(
            validate(&wat(no_handler), 1 << 20, 1 << 30),
            Err(ValidationError::NoHandler)
        );
        let fs = r#"(module (import "wasi_snapshot_preview1" "path_open"
            (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
            (memory (export "memory") 1) (func (export "rulebox_abi_v1"))
            (func (export "on_post_login") (result i32) i32.const 0))"#;
        let err = validate(&wat(fs), 1 << 20, 1 << 30).expect_err("refused");
        assert_eq!(err.kind(), OutcomeKind::CapabilityDenied);
        assert!(err.to_string().contains("path_open"), "{err}");
        let bad_sig = r#"(module (memory (export "memory") 1) (func (export "rulebox_abi_v1"))
            (func (export "on_post_login") (param i32)))"#;
        assert!(matches!(
            validate(&wat(bad_sig), 1 << 20, 1 << 30),
            Err(ValidationError::WrongExportType { .. })
        ));
    }
}
