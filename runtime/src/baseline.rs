//! Raw wasmtime, for benchmarks only: the same module and the same host
//! functions, instantiated from an `InstancePre` and called with no fuel, no
//! deadline, no limiter, no scheduler and no output parsing. The gap between
//! this and [`crate::Runtime::invoke`] is what rulebox's safety costs.

use crate::config::RuntimeConfig;
use crate::engine;
use crate::host::{self, Clock, HostState, MemoryLimiter, build_wasi};
use crate::logs::LogBuffer;
use rulebox_abi::Trigger;
use wasmtime::{Engine, Extern, InstanceAllocationStrategy, InstancePre, Module, Store};

pub struct RawBaseline {
    engine: Engine,
    pre: InstancePre<HostState>,
    handler: String,
}

impl RawBaseline {
    /// Same engine settings and pool sizing as a [`crate::Runtime`] with
    /// `config`, minus fuel and epoch interruption.
    pub fn new(bytes: &[u8], trigger: Trigger, config: &RuntimeConfig) -> wasmtime::Result<Self> {
        let mut c = engine::base_config(false);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(engine::pooling(config)));
        let engine = Engine::new(&c)?;
        let module = Module::from_binary(&engine, bytes)?;
        let pre = host::linker(&engine)?.instantiate_pre(&module)?;
        Ok(Self {
            engine,
            pre,
            handler: trigger.export_name().to_owned(),
        })
    }

    /// One instantiate + call; returns the handler's return code.
    pub fn call(&self, input: &[u8]) -> wasmtime::Result<i32> {
        let forever = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        let state = HostState {
            wasi: build_wasi(Clock::System, None),
            limiter: MemoryLimiter {
                memory_limit: u64::MAX,
                table_elements: u64::MAX,
                instances: 10_000,
                tables: 10_000,
                memories: 10_000,
                peak_memory: 0,
                exceeded: false,
            },
            memory: None,
            core: crate::admission::CoreHold::none(),
            input: input.to_vec(),
            output: None,
            max_output: usize::MAX,
            logs: LogBuffer::new(usize::MAX),
            outbound: crate::host::http::OutboundState::new(
                rulebox_runtime_api::Outbound::default(),
                forever,
            ),
            steps: crate::host::steps::Steps::new(
                &rulebox_runtime_api::Limits::default(),
                std::time::Instant::now(),
                forever,
            ),
        };
        let mut store = Store::new(&self.engine, state);
        let instance = self.pre.instantiate(&mut store)?;
        store.data_mut().memory = instance.get_memory(&mut store, "memory");
        let f = instance
            .get_export(&mut store, &self.handler)
            .and_then(Extern::into_func)
            .ok_or_else(|| wasmtime::format_err!("no handler export"))?;
        f.typed::<(), i32>(&store)?.call(&mut store, ())
    }
}
