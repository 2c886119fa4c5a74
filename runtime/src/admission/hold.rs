//! One call's hold on a CPU core, kept in its store.
//!
//! The epoch callback (preemption) and host functions that block (outbound
//! HTTP) both give the core up and take it back; this type is the one place
//! that knows how, so neither has to know the other or the scheduler's rules.

use super::scheduler::{CpuScheduler, Level};
use std::sync::Arc;
use std::time::Instant;

/// The core could not be taken back before the call's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no core became free before the call's deadline")]
pub(crate) struct CoreLost;

pub(crate) struct CoreHold {
    /// The scheduler the call queued with, when it did (`Core::Scheduled`).
    /// Without one the caller took the core itself and gives it back when
    /// the call ends, so the call never yields it.
    scheduler: Option<Arc<CpuScheduler>>,
    /// The level at which the call holds a core, if it does.
    held: Option<Level>,
}

impl CoreHold {
    /// A call that holds no core and cannot be preempted (snapshotting, benchmarks).
    pub(crate) fn none() -> Self {
        Self {
            scheduler: None,
            held: None,
        }
    }

    /// A call holding a core at `level`, preemptible when `scheduler` is given.
    pub(crate) fn holding(scheduler: Option<Arc<CpuScheduler>>, level: Level) -> Self {
        Self {
            scheduler,
            held: Some(level),
        }
    }

    pub(crate) fn scheduler(&self) -> Option<&Arc<CpuScheduler>> {
        self.scheduler.as_ref()
    }

    /// The level the call holds a core at now, if any.
    pub(crate) fn held(&self) -> Option<Level> {
        self.held
    }

    /// Gives the core up to waiting fresh calls and queues again behind them
    /// as a preempted call. `Err` when no core came back by `deadline`.
    pub(crate) fn yield_to_fresh(&mut self, deadline: Instant) -> Result<(), CoreLost> {
        let Some(scheduler) = &self.scheduler else {
            return Ok(());
        };
        if let Some(level) = self.held.take() {
            scheduler.release(level);
        }
        if !scheduler.acquire(Level::Preempted, deadline, || {}) {
            return Err(CoreLost);
        }
        self.held = Some(Level::Preempted);
        Ok(())
    }

    /// Runs `f` without holding a core: waiting on the network is not CPU
    /// work, and other calls should run meanwhile. The core is taken back at
    /// the level it was left at, so waiting cannot turn a long-running call
    /// into a fresh one that jumps the queue.
    pub(crate) fn off_core<T>(
        &mut self,
        deadline: Instant,
        f: impl FnOnce() -> T,
    ) -> Result<T, CoreLost> {
        // Without a scheduler the caller took the core itself (`Core::Taken`)
        // and gives it back when the call ends: it must still be held then.
        let (Some(scheduler), Some(level)) = (self.scheduler.clone(), self.held) else {
            return Ok(f());
        };
        self.held = None;
        scheduler.release(level);
        let out = f();
        if !scheduler.acquire(level, deadline, || {}) {
            return Err(CoreLost);
        }
        self.held = Some(level);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_hold_without_a_scheduler_keeps_its_core_off_core() {
        let mut hold = CoreHold::holding(None, Level::Fresh);
        assert_eq!(
            hold.off_core(Instant::now(), || 7),
            Ok(7),
            "nothing to wait for"
        );
        assert!(
            hold.held() == Some(Level::Fresh),
            "still held, for the call's end to release"
        );
    }

    #[test]
    fn off_core_gives_the_core_back_and_takes_it_again() {
        let s = Arc::new(CpuScheduler::new(1, Duration::from_millis(1)));
        let far = Instant::now() + Duration::from_secs(5);
        assert!(s.acquire(Level::Preempted, far, || {}));
        let mut hold = CoreHold::holding(Some(s.clone()), Level::Preempted);
        let free_meanwhile = hold
            .off_core(far, || {
                let free = s.try_acquire_fresh();
                if free {
                    s.release(Level::Fresh);
                }
                free
            })
            .expect("core back");
        assert!(free_meanwhile, "the core was free while off core");
        assert!(hold.held() == Some(Level::Preempted), "back at its level");
    }
}
