//! The epoch callback: how a running call is stopped at its deadline and
//! made to give its core to fresh calls.
//!
//! It runs at every epoch tick, inside guest execution, so it is the one
//! place time and CPU fencing act on guest code (host functions fence their
//! own waits).

use crate::host::HostState;
use crate::outcome::DeadlineExceeded;
use std::time::{Duration, Instant};
use wasmtime::{StoreContextMut, UpdateDeadline};

/// CPU time this thread has used. Preemption is decided on CPU time, not
/// wall time: a short call that the OS merely descheduled must not be
/// mistaken for a long one.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Runs at every epoch tick while the call executes: enforces the current
/// step's deadline by the real clock and, once this call has used a slice of
/// CPU since its first tick, yields the core to waiting fresh calls (see
/// `admission::scheduler`). Only a call whose core hold has a scheduler is
/// ever preempted.
pub(crate) fn on_epoch()
-> impl FnMut(StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> + Send + Sync + 'static
{
    let mut slice_start: Option<Duration> = None;
    move |mut ctx| {
        let state = ctx.data_mut();
        let deadline = state.steps.deadline;
        if Instant::now() >= deadline {
            return Err(wasmtime::Error::new(DeadlineExceeded));
        }
        let Some(scheduler) = state.core.scheduler() else {
            return Ok(UpdateDeadline::Continue(1));
        };
        let cpu = thread_cpu_time();
        let started = *slice_start.get_or_insert(cpu);
        if cpu.saturating_sub(started) >= scheduler.slice && scheduler.fresh_waiting() {
            if state.core.yield_to_fresh(deadline).is_err() {
                return Err(wasmtime::Error::new(DeadlineExceeded));
            }
            slice_start = Some(thread_cpu_time());
        }
        Ok(UpdateDeadline::Continue(1))
    }
}
