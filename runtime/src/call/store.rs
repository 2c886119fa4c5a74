//! Arming a store for one call: every capability's state from the call's
//! limits and policy, then the store-wide limits (memory limiter, fuel,
//! epoch deadline) on top.
//!
//! Shared by a call and by the `js` snapshotter, which runs the engine's
//! initialiser under the same fences.

use super::epoch::on_epoch;
use crate::admission::CoreHold;
use crate::host::HostState;
use crate::host::capability::CallContext;
use crate::outcome::HostTrap;
use wasmtime::{Engine, Extern, Store};

/// A fresh store with every limit armed: memory/table limiter, fuel, and the
/// epoch callback enforcing the step's deadline (and CPU fencing when `core`
/// has a scheduler).
pub(crate) fn armed_store(
    engine: &Engine,
    call: &CallContext<'_>,
    core: CoreHold,
) -> wasmtime::Result<Store<HostState>> {
    let mut store = Store::new(engine, HostState::arm(call, core));
    store.limiter(|s| &mut s.limiter);
    store.set_fuel(call.limits.fuel)?;
    // Note: wasmtime 48 does not flush the guest's fuel counter at an epoch
    // callback (only at calls, returns and fuel checks), so for a timed-out
    // call `fuel_used` is a lower bound. docs/abi.md says so.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(on_epoch());
    Ok(store)
}

/// Makes the instance's memory reachable from host functions.
pub(crate) fn bind_memory(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    export: &wasmtime::ModuleExport,
) -> wasmtime::Result<()> {
    let memory = instance
        .get_module_export(&mut *store, export)
        .and_then(Extern::into_memory)
        .ok_or_else(|| abi("export `memory` is not a memory"))?;
    store.data_mut().memory = Some(memory);
    Ok(())
}

/// Calls a `() -> ()` export by name (initialisers).
pub(crate) fn call_init(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    name: &str,
) -> wasmtime::Result<()> {
    let f = instance
        .get_func(&mut *store, name)
        .ok_or_else(|| abi(format!("module has no `{name}` export")))?;
    f.typed::<(), ()>(&*store)?.call(&mut *store, ())
}

pub(super) fn abi(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::AbiViolation(msg.into()))
}
