//! The one wasmtime engine of a process, and its epoch ticker.

use crate::config::RuntimeConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllocatorKind {
    Pooling,
    OnDemand,
}

/// Native stack for guest code: a deep recursion must end as
/// `stack_overflow` long before it could touch the host's own stack.
const MAX_WASM_STACK: usize = 512 << 10;

/// `metered: false` is for the raw-wasmtime benchmark baseline only.
pub(crate) fn base_config(metered: bool) -> Config {
    let mut c = Config::new();
    c.consume_fuel(metered)
        .epoch_interruption(metered)
        .memory_init_cow(true)
        .max_wasm_stack(MAX_WASM_STACK)
        // Outcomes carry messages, not stacks; walking 10k frames of a deep
        // recursion on every trap would be host CPU no fuel accounts for.
        .wasm_backtrace_max_frames(None)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true)
        // Features a login rule has no use for and that widen the attack
        // surface or the resource model.
        .wasm_memory64(false)
        .wasm_multi_memory(false);
    // Lets `perf` attribute samples in JIT-compiled guest code (README, "Benchmarks").
    if std::env::var_os("RULEBOX_WASM_PERFMAP").is_some() {
        c.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    c
}

pub(crate) fn pooling(cfg: &RuntimeConfig) -> PoolingAllocationConfig {
    let mut p = PoolingAllocationConfig::default();
    p.total_core_instances(cfg.pool_slots)
        .total_memories(cfg.pool_slots)
        .total_tables(cfg.pool_slots * 2)
        .max_memories_per_module(1)
        .max_tables_per_module(4)
        .table_elements(100_000)
        .max_core_instance_size(4 << 20)
        .max_memory_size(usize::try_from(cfg.max_memory_bytes).unwrap_or(usize::MAX))
        // Reset reused slots in place instead of decommitting them: page
        // faults on a fresh CoW mapping cost more than the guest's own work
        // (measured: the JS Action p50 went from ~209 µs to ~77 µs, and two
        // threads stopped serialising on the kernel's mm lock).
        .linear_memory_keep_resident(usize::try_from(cfg.keep_resident_bytes).unwrap_or(usize::MAX))
        .table_keep_resident(16 << 10);
    p
}

/// Builds the engine; when the pool cannot reserve its virtual memory
/// (small `ulimit -v`, restrictive overcommit) it falls back to on-demand
/// allocation rather than refusing to start.
pub(crate) fn build(cfg: &RuntimeConfig) -> Result<(Engine, AllocatorKind), wasmtime::Error> {
    if cfg.pooling {
        let mut c = base_config(true);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(cfg)));
        match Engine::new(&c) {
            Ok(engine) => return Ok((engine, AllocatorKind::Pooling)),
            Err(e) => tracing::warn!(
                error = %e,
                "pooling allocator unavailable, falling back to on-demand allocation"
            ),
        }
    }
    let mut c = base_config(true);
    // Whatever made the pool's reservation fail (usually a small `ulimit -v`)
    // would also refuse a 4 GiB reservation per memory: reserve only what a
    // memory uses and let compiled code check bounds explicitly.
    c.allocation_strategy(InstanceAllocationStrategy::OnDemand)
        .memory_reservation(0)
        .memory_guard_size(0)
        .memory_reservation_for_growth(1 << 20);
    Ok((Engine::new(&c)?, AllocatorKind::OnDemand))
}

/// Advances the engine's epoch on its own OS thread: a ticker inside an async
/// runtime can be starved by the very load it is meant to bound.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine, tick: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rulebox-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
