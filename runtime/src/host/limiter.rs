//! Memory and table caps that also record the peak and why growth stopped.

use crate::outcome::MemoryLimitExceeded;
use wasmtime::ResourceLimiter;

pub(crate) struct MemoryLimiter {
    pub(crate) memory_limit: u64,
    pub(crate) table_elements: u64,
    pub(crate) instances: usize,
    pub(crate) tables: usize,
    pub(crate) memories: usize,
    pub(crate) peak_memory: u64,
    /// Set when a growth was refused, in case the trap reaches us re-wrapped.
    pub(crate) exceeded: bool,
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
