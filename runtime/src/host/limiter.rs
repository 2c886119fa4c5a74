//! Memory and table caps that also record the peak and why growth stopped.
//!
//! Not a capability (it defines no imports): the store's resource limiter,
//! armed from the call's limits like the capabilities are.

use crate::outcome::MemoryLimitExceeded;
use rulebox_runtime_api::Limits;
use wasmtime::ResourceLimiter;

pub(crate) struct MemoryLimiter {
    memory_limit: u64,
    table_elements: u64,
    instances: usize,
    tables: usize,
    memories: usize,
    pub(crate) peak_memory: u64,
    /// Set when a growth was refused, in case the trap reaches us re-wrapped.
    pub(crate) exceeded: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            memory_limit: limits.memory_bytes,
            table_elements: limits.table_elements,
            instances: limits.instances as usize,
            tables: limits.tables as usize,
            memories: limits.memories as usize,
            peak_memory: 0,
            exceeded: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.memory_limit {
            self.exceeded = true;
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.memory_limit,
                desired,
            }));
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired as u64 <= self.table_elements)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}
