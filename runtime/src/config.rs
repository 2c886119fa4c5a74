//! Process-wide runtime configuration.

use rulebox_runtime_api::Limits;
use std::path::PathBuf;
use std::time::Duration;

/// Sizing of the one engine a process runs. Defaults fit a 2-core / 24 GiB
/// node: 128 pool slots of up to 128 MiB each is 16 GiB if every slot were
/// full, which the concurrency gate keeps far from happening.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Calls allowed in flight at once; more wait (up to their own timeout)
    /// instead of failing on an exhausted pool.
    pub max_concurrent: usize,
    /// Pool slots (instances, memories, tables); must be ≥ `max_concurrent`.
    pub pool_slots: u32,
    /// Largest linear memory any tenant can be granted.
    pub max_memory_bytes: u64,
    /// Largest module accepted at upload.
    pub max_module_bytes: usize,
    /// Bytes of each pool slot's memory kept mapped between calls (reset in
    /// place). Up to `pool_slots` times this stays resident.
    pub keep_resident_bytes: u64,
    /// Byte budget of the in-memory compiled-module cache.
    pub module_cache_bytes: u64,
    /// Where compiled artifacts persist across restarts; `None` disables it.
    pub artifact_dir: Option<PathBuf>,
    /// Granularity of wall-clock deadlines.
    pub epoch_tick: Duration,
    /// Calls executing guest code at once; normally the core count.
    pub cpu_slots: usize,
    /// Run time after which a call yields its core to waiting fresh calls.
    pub cpu_slice: Duration,
    /// Use the pooling allocator (falls back to on-demand if it cannot reserve memory).
    pub pooling: bool,
    /// Limits when a tenant has no policy.
    pub defaults: Limits,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        let max_memory_bytes = 128 << 20;
        Self {
            max_concurrent: 64,
            pool_slots: 128,
            max_memory_bytes,
            max_module_bytes: 16 << 20,
            // The default per-call memory cap: 128 slots x 10 MiB = 1.25 GiB at most.
            keep_resident_bytes: 10 << 20,
            module_cache_bytes: 512 << 20,
            artifact_dir: None,
            epoch_tick: Duration::from_millis(1),
            cpu_slots: std::thread::available_parallelism().map_or(2, |n| n.get()),
            cpu_slice: Duration::from_millis(1),
            pooling: true,
            defaults: Limits::default(),
        }
    }
}

impl RuntimeConfig {
    pub fn ceiling(&self) -> Limits {
        Limits::ceiling(self.max_memory_bytes)
    }
}
