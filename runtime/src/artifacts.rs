//! Compiled artifacts on disk, so a restart deserializes instead of recompiling.
//!
//! Artifacts load only into an engine with the same wasmtime version and a
//! compatible configuration, so the directory is keyed by the engine's
//! compatibility hash as well as by module hash. Only files this process
//! family wrote are ever deserialized (the directory is ours, writes are
//! atomic renames).

use rulebox_runtime_api::ModuleId;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

pub(crate) struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    pub(crate) fn open(root: &Path, engine: &Engine) -> std::io::Result<Self> {
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let dir = root.join(format!("{:016x}", h.finish()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, id: &ModuleId) -> PathBuf {
        self.dir.join(format!("{id}.cwasm"))
    }

    /// A previously compiled module, or `None` (missing or unusable: the
    /// caller recompiles and overwrites).
    pub(crate) fn load(&self, engine: &Engine, id: &ModuleId) -> Option<Module> {
        let path = self.path(id);
        if !path.exists() {
            return None;
        }
        // SAFETY: the file was produced by `Module::serialize` of an engine
        // with this compatibility hash and written atomically into a
        // directory only rulebox writes; wasmtime still checks its header.
        match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(%id, error = %e, "discarding unusable compiled artifact");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    pub(crate) fn store(&self, id: &ModuleId, module: &Module) {
        let result = module
            .serialize()
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                let mut tmp = tempfile_in(&self.dir)?;
                tmp.1.write_all(&bytes)?;
                tmp.1.sync_all()?;
                std::fs::rename(&tmp.0, self.path(id))
            });
        if let Err(e) = result {
            // A cache write failure costs a recompile later, not this call.
            tracing::warn!(%id, error = %e, "could not persist compiled artifact");
        }
    }
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        ".tmp-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let f = std::fs::File::create(&path)?;
    Ok((path, f))
}
