//! What a guest can reach: the per-call store state and the linker that
//! exposes the ABI's host functions and the allowed WASI subset.

mod abi;
pub(crate) mod http;
mod limiter;
pub(crate) mod steps;
mod wasi;

pub(crate) use limiter::MemoryLimiter;

use crate::admission::CoreHold;
use crate::logs::LogBuffer;
use wasmtime::{Engine, Linker, Memory};
use wasmtime_wasi::p1::WasiP1Ctx;

/// Store data of one invocation; dropped with the store.
pub(crate) struct HostState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) memory: Option<Memory>,
    /// The call's hold on a CPU core.
    pub(crate) core: CoreHold,
    pub(crate) input: Vec<u8>,
    pub(crate) output: Option<Vec<u8>>,
    pub(crate) max_output: usize,
    pub(crate) logs: LogBuffer,
    pub(crate) outbound: http::OutboundState,
    pub(crate) steps: steps::Steps,
}

pub use wasi::Clock;
pub(crate) use wasi::build_wasi;

/// One linker for the process; its definitions are shared by every
/// `InstancePre`, so a call never re-resolves imports.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut HostState| &mut s.wasi)?;
    abi::add_to_linker(&mut linker)?;
    http::add_to_linker(&mut linker)?;
    Ok(linker)
}
