//! Raw wasmtime, for benchmarks only: the same module and the same host
//! functions, instantiated from an `InstancePre` and called with no fuel, no
//! deadline, no limiter, no scheduler and no output parsing. The gap between
//! this and [`crate::Runtime::invoke`] is what rulebox's safety costs.

use crate::admission::CoreHold;
use crate::config::RuntimeConfig;
use crate::engine;
use crate::host::capability::CallContext;
use crate::host::{self, Clock, HostState};
use rulebox_abi::Trigger;
use rulebox_runtime_api::Limits;
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
        let now = std::time::Instant::now();
        let forever = now + std::time::Duration::from_secs(3600);
        let unlimited = Limits {
            max_output_bytes: u64::MAX,
            max_log_bytes: u64::MAX,
            ..Limits::default()
        };
        // The store's limiter is never installed: the limits only size buffers.
        let call = CallContext {
            limits: &unlimited,
            input,
            clock: Clock::System,
            random_seed: None,
            started: now,
            deadline: forever,
            call_deadline: forever,
        };
        let state = HostState::arm(&call, CoreHold::none());
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
