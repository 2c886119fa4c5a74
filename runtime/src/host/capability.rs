//! What a host capability is, so that `call` can arm, re-arm and link every
//! capability without knowing any one of them.
//!
//! A capability (as in wasmtime-wasi, where one is a context, a view trait
//! and an `add_to_linker`) is one module that owns
//! * its per-call state, built by [`Capability::arm`] from the call's
//!   [`CallContext`]: its view of the limits and the policy value it is
//!   handed (it reads no globals);
//! * its per-step reset, [`Capability::next_step`], run when a step of a
//!   flow ends;
//! * its host functions, [`Capability::add_to_linker`], written against a
//!   view trait of its own so they see only their state and guest memory.
//!
//! `HostState` (in `host/mod.rs`) holds one field per capability and is the
//! one list arming, step resets and the linker go through. Capabilities are
//! generic over the store data `T` they are linked for, so no capability
//! module names `HostState`: the imports between host's files all point
//! from `mod.rs` to the capabilities and from those to this file.

use rulebox_runtime_api::Limits;
use std::time::{Instant, SystemTime};
use wasmtime::Linker;

/// The wall clock a guest reads. `Fixed` makes time-dependent rules
/// reproducible (tests, replays, `rulebox run --now`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    System,
    Fixed(SystemTime),
}

/// Everything a capability may build its per-call state from.
pub(crate) struct CallContext<'a> {
    pub(crate) limits: &'a Limits,
    /// The event JSON.
    pub(crate) input: &'a [u8],
    pub(crate) clock: Clock,
    /// Seed for the guest's random numbers; `None` draws from the OS.
    pub(crate) random_seed: Option<u64>,
    /// When the call (and so its first step) started.
    pub(crate) started: Instant,
    /// The call's own deadline, `started` + its timeout.
    pub(crate) deadline: Instant,
    /// When a call of several steps must have ended; `deadline` for one step.
    pub(crate) call_deadline: Instant,
}

/// The step a flow goes on with, handed to every capability at a step's end.
pub(crate) struct StepStart {
    pub(crate) started: Instant,
    /// The new step's deadline: its own timeout, cut to the call's.
    pub(crate) deadline: Instant,
}

/// A capability linked into stores whose data is `T` (a view of it).
pub(crate) trait Capability<T>: Sized {
    /// Its name, for errors and the wiring test.
    const NAME: &'static str;
    /// The imports of the `rulebox` module it defines (none for WASI, which
    /// defines a module of its own); the wiring test holds it to that.
    #[cfg_attr(not(test), allow(dead_code))]
    const IMPORTS: &'static [&'static str];

    /// Its state for one call.
    fn arm(call: &CallContext<'_>) -> Self;

    /// Re-arms its per-step budgets for the next step of a flow. Whatever
    /// the ended step's result needs has been read by then.
    fn next_step(&mut self, step: &StepStart);

    /// Defines its host functions.
    fn add_to_linker(linker: &mut Linker<T>) -> wasmtime::Result<()>;
}

/// Something done once per capability *type* (linking); see `host::each_capability`.
pub(crate) trait CapabilityTypes<T> {
    fn visit<C: Capability<T>>(&mut self) -> wasmtime::Result<()>;
}

/// Something done once per capability of a call's state (step resets).
pub(crate) trait Capabilities<T> {
    fn visit<C: Capability<T>>(&mut self, capability: &mut C);
}
