//! Validated, compiled modules by content hash: memory first, then disk.

use crate::artifacts::ArtifactCache;
use crate::host::HostState;
use crate::validate::{self, ExportShape, Manifest, ResultShape, ValidationError};
use rulebox_abi::{Trigger, exports};
use rulebox_runtime_api::ModuleId;
use std::sync::Arc;
use wasmtime::{Engine, ExternType, InstancePre, Linker, Module, ModuleExport, ValType};

/// Everything a call needs, resolved once per module: the pre-linked
/// instance template and the export indices (so a call never looks a name up).
pub(crate) struct Compiled {
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) manifest: Manifest,
    pub(crate) memory: ModuleExport,
    pub(crate) initialize: Option<ModuleExport>,
    handlers: Vec<(Trigger, ModuleExport)>,
    weight: u32,
    /// Whether this module's last call ran for a whole scheduler slice or
    /// more; its next call then queues behind short calls from the start.
    pub(crate) heavy: std::sync::atomic::AtomicBool,
}

impl Compiled {
    pub(crate) fn handler(&self, trigger: Trigger) -> Option<&ModuleExport> {
        self.handlers
            .iter()
            .find(|(t, _)| *t == trigger)
            .map(|(_, e)| e)
    }
}

pub(crate) struct Registry {
    engine: Engine,
    linker: Linker<HostState>,
    memory: moka::sync::Cache<ModuleId, Arc<Compiled>>,
    disk: Option<ArtifactCache>,
    max_module_bytes: usize,
    max_memory_bytes: u64,
}

fn shape_of(ty: &ExternType) -> ExportShape {
    match ty {
        ExternType::Memory(_) => ExportShape::Memory,
        ExternType::Func(f) => {
            let results: Vec<ValType> = f.results().collect();
            ExportShape::Func {
                params: f.params().len(),
                results: match results.as_slice() {
                    [] => ResultShape::None,
                    [ValType::I32] => ResultShape::I32,
                    _ => ResultShape::Other,
                },
            }
        }
        _ => ExportShape::Other,
    }
}

impl Registry {
    pub(crate) fn new(
        engine: Engine,
        linker: Linker<HostState>,
        capacity_bytes: u64,
        disk: Option<ArtifactCache>,
        max_module_bytes: usize,
        max_memory_bytes: u64,
    ) -> Self {
        let memory = moka::sync::Cache::builder()
            .max_capacity(capacity_bytes)
            .weigher(|_, c: &Arc<Compiled>| c.weight)
            .build();
        Self {
            engine,
            linker,
            memory,
            disk,
            max_module_bytes,
            max_memory_bytes,
        }
    }

    /// Validates and compiles `bytes` (or finds them already compiled).
    pub(crate) fn load(&self, bytes: &[u8]) -> Result<(ModuleId, Arc<Compiled>), ValidationError> {
        let id = ModuleId::of(bytes);
        if let Some(c) = self.memory.get(&id) {
            return Ok((id, c));
        }
        let manifest = validate::validate(bytes, self.max_module_bytes, self.max_memory_bytes)?;
        // Concurrent loads of one module compile it once.
        let compiled = self
            .memory
            .try_get_with(id, || self.compile(&id, bytes, manifest))
            .map_err(|e: Arc<ValidationError>| (*e).clone())?;
        Ok((id, compiled))
    }

    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// A loaded module, from memory or from the disk cache of an earlier run.
    pub(crate) fn get(&self, id: &ModuleId) -> Option<Arc<Compiled>> {
        if let Some(c) = self.memory.get(id) {
            return Some(c);
        }
        let disk = self.disk.as_ref()?;
        let module = disk.load(&self.engine, id)?;
        let exports = module
            .exports()
            .map(|e| (e.name(), shape_of(&e.ty())))
            .collect::<Vec<_>>();
        let manifest = validate::manifest_from_exports(exports).ok()?;
        let weight = module.text().len();
        let compiled = Arc::new(self.finish(module, manifest, weight).ok()?);
        self.memory.insert(*id, compiled.clone());
        Some(compiled)
    }

    fn compile(
        &self,
        id: &ModuleId,
        bytes: &[u8],
        manifest: Manifest,
    ) -> Result<Arc<Compiled>, ValidationError> {
        let cached = self.disk.as_ref().and_then(|d| d.load(&self.engine, id));
        let module = match cached {
            Some(m) => m,
            None => {
                let _span =
                    tracing::info_span!("compile", module = %id, bytes = bytes.len()).entered();
                let m = Module::from_binary(&self.engine, bytes)
                    .map_err(|e| ValidationError::Malformed(format!("{e:#}")))?;
                if let Some(d) = &self.disk {
                    d.store(id, &m);
                }
                m
            }
        };
        Ok(Arc::new(self.finish(module, manifest, bytes.len())?))
    }

    fn finish(
        &self,
        module: Module,
        manifest: Manifest,
        weight: usize,
    ) -> Result<Compiled, ValidationError> {
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| ValidationError::ImportSignature(format!("{e:#}")))?;
        // Build the copy-on-write image now rather than on the first call.
        let _ = module.initialize_copy_on_write_image();
        let memory = module
            .get_export_index(exports::MEMORY)
            .ok_or(ValidationError::MissingExport(exports::MEMORY))?;
        let initialize = manifest
            .has_initialize
            .then(|| module.get_export_index(exports::INITIALIZE))
            .flatten();
        let handlers = manifest
            .handlers
            .iter()
            .filter_map(|t| module.get_export_index(t.export_name()).map(|e| (*t, e)))
            .collect();
        Ok(Compiled {
            pre,
            manifest,
            memory,
            initialize,
            handlers,
            weight: u32::try_from(weight).unwrap_or(u32::MAX).max(1),
            heavy: std::sync::atomic::AtomicBool::new(false),
        })
    }
}
