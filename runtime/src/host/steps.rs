//! Calls of several steps: a flow of handlers run one after another in one
//! instance (the Actions bound to a trigger), each under its own budgets.
//!
//! Instantiating, converting the event and resetting the memory dominate a
//! short JavaScript call; a flow pays them once instead of once per Action.
//! What the tenant is promised per Action still holds per step: the guest
//! ends a step with `step_end`, which files that step's result and re-arms
//! fuel, deadline and every capability's per-step budgets (through
//! [`StepsView::next_step`], `HostState::next_step`) for the next one. The whole call stays bounded
//! by its own deadline and by [`MAX_STEPS`].
//!
//! This is the step boundary itself, so it lives in `host` (the `step_end`
//! import) and not in `call`: host functions must not import `call`.

use super::capability::{CallContext, Capability, StepStart};
use crate::outcome::{HostTrap, finish_output, micros};
use rulebox_abi::{IMPORT_MODULE, imports};
use rulebox_runtime_api::{LogLine, Outcome, OutcomeKind};
use std::time::{Duration, Instant};
use wasmtime::{Caller, Linker};

/// Steps one call may end: re-arming fuel must not become a way to run forever.
pub(crate) const MAX_STEPS: usize = rulebox_runtime_api::MAX_FLOW_ACTIONS;

/// The budgets of the step under way and the results of those already ended.
pub(crate) struct Steps {
    pub(crate) finished: Vec<Outcome>,
    /// When the current step started (the first one: when the call did).
    pub(crate) started: Instant,
    /// The current step's deadline: its own timeout, cut to the call's.
    pub(crate) deadline: Instant,
    call_deadline: Instant,
    fuel: u64,
    timeout: Duration,
}

impl Steps {
    /// The most fuel any one step used, `last` being the step still open.
    pub(crate) fn max_fuel_used(&self, last: u64) -> u64 {
        self.finished
            .iter()
            .map(|s| s.fuel_used)
            .fold(last, u64::max)
    }
}

/// What a step's end needs of the rest of the store: it files what the other
/// capabilities hold for the step, then has them all re-armed.
pub(crate) trait StepsView {
    fn steps(&mut self) -> &mut Steps;
    /// The output the step wrote, if any.
    fn step_output(&self) -> Option<&[u8]>;
    /// The step's log lines and whether some were dropped, leaving none.
    fn take_step_logs(&mut self) -> (Vec<LogLine>, bool);
    /// The most linear memory the instance has had so far.
    fn peak_memory(&self) -> u64;
    /// Re-arms every capability (this one included) for `step`.
    fn next_step(&mut self, step: &StepStart);
}

impl<T: StepsView + 'static> Capability<T> for Steps {
    const NAME: &'static str = "steps";
    const IMPORTS: &'static [&'static str] = &[imports::STEP_END];

    fn arm(call: &CallContext<'_>) -> Self {
        let timeout = call.limits.timeout();
        Self {
            finished: Vec::new(),
            started: call.started,
            deadline: (call.started + timeout).min(call.call_deadline),
            call_deadline: call.call_deadline,
            fuel: call.limits.fuel,
            timeout,
        }
    }

    fn next_step(&mut self, step: &StepStart) {
        self.started = step.started;
        self.deadline = step.deadline;
    }

    fn add_to_linker(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        linker.func_wrap(IMPORT_MODULE, imports::STEP_END, end_step::<T>)?;
        Ok(())
    }
}

/// The `step_end` import: files the current step and starts the next.
fn end_step<T: StepsView>(mut caller: Caller<'_, T>) -> wasmtime::Result<i32> {
    let remaining = caller.get_fuel()?;
    let now = Instant::now();
    let state = caller.data_mut();
    if state.steps().finished.len() >= MAX_STEPS {
        return Err(wasmtime::Error::new(HostTrap::AbiViolation(format!(
            "a call may end at most {MAX_STEPS} steps"
        ))));
    }
    // A step's output is checked when it ends, so every filed step is `ok`
    // and a malformed one ends the call where it happened.
    let (kind, output, error) = finish_output(state.step_output());
    if kind != OutcomeKind::Ok {
        return Err(wasmtime::Error::new(HostTrap::AbiViolation(
            error.unwrap_or_default(),
        )));
    }
    let (logs, logs_truncated) = state.take_step_logs();
    let peak_memory_bytes = state.peak_memory();
    let steps = state.steps();
    steps.finished.push(Outcome {
        kind,
        output,
        error,
        logs,
        logs_truncated,
        fuel_used: steps.fuel.saturating_sub(remaining),
        peak_memory_bytes,
        duration_us: micros(steps.started),
        steps: Vec::new(),
    });
    let next = StepStart {
        started: now,
        deadline: (now + steps.timeout).min(steps.call_deadline),
    };
    let fuel = steps.fuel;
    state.next_step(&next);
    caller.set_fuel(fuel)?;
    Ok(0)
}
