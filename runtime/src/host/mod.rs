//! What a guest can reach: the per-call store state and the linker that
//! exposes the ABI's host functions and the allowed WASI subset.
//!
//! Each host capability is one module (`wasi`, `io`, `log`, `http`, `steps`)
//! owning its state, its view of the limits, its per-step reset and its
//! `add_to_linker` (see [`capability`]), generic over the store data it is
//! linked for. This module is the one list of them and the only file that
//! knows them all: [`HostState`] has a field per capability and implements
//! each one's view, [`each_capability`] names each type once for the
//! linker, and the wiring test checks the two agree.
//! Nothing here imports `call` or `js`: what host functions raise lives in
//! `outcome`, the CPU core they give up in `admission`.

pub(crate) mod capability;
pub(crate) mod guest;
pub(crate) mod http;
mod io;
mod limiter;
mod log;
pub(crate) mod steps;
mod wasi;

use crate::admission::CoreHold;
use capability::{CallContext, Capabilities, Capability, CapabilityTypes, StepStart};
use guest::GuestMemory;
use http::{OutboundCtx, OutboundState, OutboundView};
use io::{Io, IoView};
use log::LogView;
use rulebox_runtime_api::LogLine;
use steps::StepsView;
use wasi::{Wasi, WasiView};
use wasmtime::{Engine, Linker, Memory};

pub use capability::Clock;
pub(crate) use limiter::MemoryLimiter;
pub(crate) use log::LogBuffer;
pub(crate) use steps::Steps;

/// Store data of one invocation; dropped with the store.
pub(crate) struct HostState {
    /// The instance's memory, once bound (`call::bind_memory`).
    pub(crate) memory: Option<Memory>,
    pub(crate) limiter: MemoryLimiter,
    /// The call's hold on a CPU core.
    pub(crate) core: CoreHold,
    // The capabilities; each is listed in `each_capability` too.
    pub(crate) wasi: Wasi,
    pub(crate) io: Io,
    pub(crate) logs: LogBuffer,
    pub(crate) outbound: OutboundState,
    pub(crate) steps: Steps,
}

impl HostState {
    /// Every capability armed for one call from its limits and policy.
    pub(crate) fn arm(call: &CallContext<'_>, core: CoreHold) -> Self {
        Self {
            memory: None,
            limiter: MemoryLimiter::new(call.limits),
            core,
            wasi: armed(call),
            io: armed(call),
            logs: armed(call),
            outbound: armed(call),
            steps: armed(call),
        }
    }

    /// Runs `v` on each capability of this call. The pattern names every
    /// field, so a field added without deciding whether it is a capability
    /// does not compile.
    pub(crate) fn visit_capabilities(&mut self, v: &mut impl Capabilities<Self>) {
        let Self {
            memory: _,
            limiter: _,
            core: _,
            wasi,
            io,
            logs,
            outbound,
            steps,
        } = self;
        v.visit(wasi);
        v.visit(io);
        v.visit(logs);
        v.visit(outbound);
        v.visit(steps);
    }

    /// Re-arms every capability for the next step of a flow.
    pub(crate) fn next_step(&mut self, step: &StepStart) {
        struct NextStep<'a>(&'a StepStart);
        impl Capabilities<HostState> for NextStep<'_> {
            fn visit<C: Capability<HostState>>(&mut self, capability: &mut C) {
                capability.next_step(self.0);
            }
        }
        self.visit_capabilities(&mut NextStep(step));
    }
}

/// One capability's state for the call, as linked into a `HostState` store.
fn armed<C: Capability<HostState>>(call: &CallContext<'_>) -> C {
    C::arm(call)
}

/// Runs `v` on each capability type, in the order the linker defines them.
pub(crate) fn each_capability(v: &mut impl CapabilityTypes<HostState>) -> wasmtime::Result<()> {
    v.visit::<Wasi>()?;
    v.visit::<Io>()?;
    v.visit::<LogBuffer>()?;
    v.visit::<OutboundState>()?;
    v.visit::<Steps>()?;
    Ok(())
}

/// One linker for the process; its definitions are shared by every
/// `InstancePre`, so a call never re-resolves imports.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    struct AddToLinker(Linker<HostState>);
    impl CapabilityTypes<HostState> for AddToLinker {
        fn visit<C: Capability<HostState>>(&mut self) -> wasmtime::Result<()> {
            C::add_to_linker(&mut self.0)
                .map_err(|e| e.context(format!("linking the {} capability", C::NAME)))
        }
    }
    let mut add = AddToLinker(Linker::new(engine));
    each_capability(&mut add)?;
    Ok(add.0)
}

impl GuestMemory for HostState {
    fn guest_memory(&self) -> Option<Memory> {
        self.memory
    }
}

impl WasiView for HostState {
    fn wasi(&mut self) -> &mut Wasi {
        &mut self.wasi
    }
}

impl IoView for HostState {
    fn io(&mut self) -> &mut Io {
        &mut self.io
    }
}

impl LogView for HostState {
    fn logs(&mut self) -> &mut LogBuffer {
        &mut self.logs
    }
}

impl StepsView for HostState {
    fn steps(&mut self) -> &mut Steps {
        &mut self.steps
    }

    fn step_output(&self) -> Option<&[u8]> {
        self.io.output()
    }

    fn take_step_logs(&mut self) -> (Vec<LogLine>, bool) {
        self.logs.take()
    }

    fn peak_memory(&self) -> u64 {
        self.limiter.peak_memory
    }

    fn next_step(&mut self, step: &StepStart) {
        HostState::next_step(self, step);
    }
}

impl OutboundView for HostState {
    fn outbound(&mut self) -> OutboundCtx<'_> {
        OutboundCtx {
            state: &mut self.outbound,
            core: &mut self.core,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rulebox_abi::{IMPORT_MODULE, imports};
    use rulebox_runtime_api::Limits;
    use std::time::{Duration, Instant};
    use wasmtime::Store;

    fn call(limits: &Limits) -> CallContext<'_> {
        let started = Instant::now();
        let deadline = started + limits.timeout();
        CallContext {
            limits,
            input: b"{}",
            clock: Clock::System,
            random_seed: Some(1),
            started,
            deadline,
            call_deadline: deadline + limits.timeout(),
        }
    }

    /// The capability types the linker goes through, with their imports.
    fn linked() -> Vec<(&'static str, &'static [&'static str])> {
        struct Linked(Vec<(&'static str, &'static [&'static str])>);
        impl CapabilityTypes<HostState> for Linked {
            fn visit<C: Capability<HostState>>(&mut self) -> wasmtime::Result<()> {
                self.0.push((C::NAME, C::IMPORTS));
                Ok(())
            }
        }
        let mut linked = Linked(Vec::new());
        each_capability(&mut linked).expect("listing cannot fail");
        linked.0
    }

    /// The capabilities a call's state holds (and re-arms at each step).
    fn held(state: &mut HostState) -> Vec<&'static str> {
        struct Held(Vec<&'static str>);
        impl Capabilities<HostState> for Held {
            fn visit<C: Capability<HostState>>(&mut self, _: &mut C) {
                self.0.push(C::NAME);
            }
        }
        let mut held = Held(Vec::new());
        state.visit_capabilities(&mut held);
        held.0
    }

    /// Fails when a capability is declared but not wired: held by the store
    /// but not linked (or the other way round), or linked without defining
    /// the imports it declares, or an import of the ABI that no capability
    /// defines.
    #[test]
    fn every_capability_is_armed_linked_and_reset_per_step() {
        let limits = Limits::default();
        let mut state = HostState::arm(&call(&limits), CoreHold::none());
        let linked = linked();
        let linked_names: Vec<&str> = linked.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            held(&mut state),
            linked_names,
            "the capabilities a call holds and re-arms are the ones linked"
        );

        let engine = Engine::default();
        let linker = linker(&engine).expect("links");
        let mut store = Store::new(&engine, state);
        let defined: Vec<(String, String)> = linker
            .iter(&mut store)
            .map(|(module, name, _)| (module.to_owned(), name.to_owned()))
            .collect();
        let rulebox: Vec<&str> = defined
            .iter()
            .filter(|(m, _)| m == IMPORT_MODULE)
            .map(|(_, n)| n.as_str())
            .collect();
        for (name, declared) in &linked {
            for import in *declared {
                assert!(
                    rulebox.contains(import),
                    "the {name} capability declares `{import}` but does not define it"
                );
            }
        }
        for import in &rulebox {
            let owners: Vec<&str> = linked
                .iter()
                .filter(|(_, declared)| declared.contains(import))
                .map(|(name, _)| *name)
                .collect();
            assert_eq!(owners.len(), 1, "`{import}` is declared by {owners:?}");
        }
        for import in imports::CORE.iter().chain(imports::CAPABILITIES) {
            assert!(
                rulebox.contains(import),
                "the ABI's `{import}` is defined by no capability"
            );
        }
        assert!(
            defined
                .iter()
                .any(|(m, n)| m == "wasi_snapshot_preview1" && n == "random_get"),
            "WASI is linked"
        );
    }

    #[test]
    fn a_step_boundary_rearms_every_per_step_budget() {
        let limits = Limits {
            max_log_bytes: 4,
            ..Limits::default()
        };
        let mut state = HostState::arm(&call(&limits), CoreHold::none());
        state.io.set_output(b"{}");
        state
            .logs
            .push(rulebox_abi::LogLevel::Info, b"more than four");
        state.outbound.count_request();
        let later = Instant::now() + Duration::from_millis(5);
        let next = StepStart {
            started: later,
            deadline: later + Duration::from_millis(7),
        };
        state.next_step(&next);
        assert_eq!(state.io.output(), None, "output");
        let (lines, truncated) = state.logs.take();
        assert!(lines.is_empty() && !truncated, "logs");
        assert_eq!(state.outbound.requests(), 0, "outbound requests");
        assert_eq!(
            state.outbound.deadline(),
            next.deadline,
            "outbound deadline"
        );
        assert_eq!(state.steps.started, next.started, "step start");
        assert_eq!(state.steps.deadline, next.deadline, "step deadline");
        state.logs.push(rulebox_abi::LogLevel::Info, b"four");
        assert_eq!(
            state.logs.take().0.len(),
            1,
            "the log budget is whole again"
        );
    }
}
