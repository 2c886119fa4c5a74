//! CPU fencing between calls: a two-level feedback scheduler over the cores.
//!
//! Only `cores` calls execute guest code at once. A call that has run longer
//! than one slice yields its core (from the epoch callback) whenever a fresh
//! call is waiting, and then queues behind fresh calls. So a tenant spinning
//! in `while(true)` until its fuel runs out delays other tenants' short rules
//! by at most one preemption point, not by its whole budget — the OS
//! scheduler alone would time-slice them evenly and make every call slow.
//!
//! Long-running calls also never hold every core: at most `cores - 1` run at
//! once (one on a single core), so the request path around the sandbox (HTTP,
//! the proxy, the next login's short rules) always finds a core even while a
//! tenant keeps several spinning calls in flight. The OS cannot be told this
//! cheaply (an unprivileged thread cannot raise its priority back after
//! lowering it), so the scheduler does it.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub(crate) struct CpuScheduler {
    state: Mutex<State>,
    /// One queue per level, woken one waiter at a time: waking every waiter
    /// on each release costs more context switches than the calls themselves.
    fresh_cv: Condvar,
    preempted_cv: Condvar,
    /// How long a call runs before it must give way to fresh calls.
    pub(crate) slice: Duration,
}

struct State {
    free: usize,
    fresh_waiting: usize,
    preempted_waiting: usize,
    preempted_running: usize,
    /// Most long-running calls on cores at once.
    preempted_cap: usize,
}

impl State {
    fn runnable(&self, level: Level) -> bool {
        self.free > 0
            && match level {
                Level::Fresh => true,
                Level::Preempted => {
                    self.fresh_waiting == 0 && self.preempted_running < self.preempted_cap
                }
            }
    }

    fn take(&mut self, level: Level) {
        self.free -= 1;
        if level == Level::Preempted {
            self.preempted_running += 1;
        }
    }
}

/// Whether the caller is new, or a call known to run long: one preempted in
/// its run, or a new call of a module whose last call used a whole slice.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Fresh,
    Preempted,
}

impl CpuScheduler {
    pub(crate) fn new(cores: usize, slice: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                free: cores.max(1),
                fresh_waiting: 0,
                preempted_waiting: 0,
                preempted_running: 0,
                preempted_cap: cores.saturating_sub(1).max(1),
            }),
            fresh_cv: Condvar::new(),
            preempted_cv: Condvar::new(),
            slice,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a free core to the next waiter, fresh ones first.
    fn wake_next(&self, s: &State) {
        if s.free == 0 {
            return;
        }
        if s.fresh_waiting > 0 {
            self.fresh_cv.notify_one();
        } else if s.preempted_waiting > 0 && s.preempted_running < s.preempted_cap {
            self.preempted_cv.notify_one();
        }
    }

    /// Takes a core; fresh calls go before preempted ones. `on_wait` runs
    /// once if the caller has to queue (the runtime bumps the epoch there so
    /// running calls reach a preemption point at once). `false` when the
    /// deadline passed first.
    pub(crate) fn acquire(&self, level: Level, deadline: Instant, on_wait: impl FnOnce()) -> bool {
        let mut s = self.lock();
        if s.runnable(level) {
            s.take(level);
            return true;
        }
        match level {
            Level::Fresh => s.fresh_waiting += 1,
            Level::Preempted => s.preempted_waiting += 1,
        }
        drop(s);
        on_wait();
        let cv = match level {
            Level::Fresh => &self.fresh_cv,
            Level::Preempted => &self.preempted_cv,
        };
        let mut s = self.lock();
        let got = loop {
            if s.runnable(level) {
                s.take(level);
                break true;
            }
            let now = Instant::now();
            if now >= deadline {
                break false;
            }
            s = cv
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        match level {
            Level::Fresh => s.fresh_waiting -= 1,
            Level::Preempted => s.preempted_waiting -= 1,
        }
        // Pass on a wake-up we did not use, or one that our leaving the
        // fresh queue made useful for a preempted call.
        self.wake_next(&s);
        got
    }

    /// Takes a core for a fresh call if one is free now; never waits.
    pub(crate) fn try_acquire_fresh(&self) -> bool {
        let mut s = self.lock();
        let free = s.runnable(Level::Fresh);
        if free {
            s.take(Level::Fresh);
        }
        free
    }

    /// Gives back a core taken at `level`.
    pub(crate) fn release(&self, level: Level) {
        let mut s = self.lock();
        s.free += 1;
        if level == Level::Preempted {
            s.preempted_running -= 1;
        }
        self.wake_next(&s);
    }

    /// True when a fresh call is queued for a core.
    pub(crate) fn fresh_waiting(&self) -> bool {
        self.lock().fresh_waiting > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fresh_calls_overtake_preempted_ones() {
        let s = Arc::new(CpuScheduler::new(1, Duration::from_millis(1)));
        let far = Instant::now() + Duration::from_secs(5);
        assert!(s.acquire(Level::Fresh, far, || {}));
        // A preempted call queues first, then a fresh one: the fresh one must win.
        let order = Arc::new(Mutex::new(Vec::new()));
        let (s1, o1) = (s.clone(), order.clone());
        let pre = std::thread::spawn(move || {
            assert!(s1.acquire(Level::Preempted, far, || {}));
            o1.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push("preempted");
            s1.release(Level::Preempted);
        });
        std::thread::sleep(Duration::from_millis(20));
        let (s2, o2) = (s.clone(), order.clone());
        let fresh = std::thread::spawn(move || {
            assert!(s2.acquire(Level::Fresh, far, || {}));
            o2.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push("fresh");
            s2.release(Level::Fresh);
        });
        while !s.fresh_waiting() {
            std::thread::sleep(Duration::from_millis(1));
        }
        s.release(Level::Fresh);
        let _ = pre.join();
        let _ = fresh.join();
        let order = order.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(order, vec!["fresh", "preempted"]);
    }

    #[test]
    fn long_running_calls_leave_a_core_for_fresh_ones() {
        let s = CpuScheduler::new(2, Duration::from_millis(1));
        let soon = || Instant::now() + Duration::from_millis(20);
        assert!(s.acquire(Level::Preempted, soon(), || {}));
        assert!(
            !s.acquire(Level::Preempted, soon(), || {}),
            "a second long call must not take the last core"
        );
        assert!(
            s.acquire(Level::Fresh, soon(), || {}),
            "a fresh call gets it"
        );
        s.release(Level::Fresh);
        s.release(Level::Preempted);
        assert!(
            s.acquire(Level::Preempted, soon(), || {}),
            "released: next long call runs"
        );
        s.release(Level::Preempted);
        let one = CpuScheduler::new(1, Duration::from_millis(1));
        assert!(
            one.acquire(Level::Preempted, soon(), || {}),
            "one core: one long call"
        );
    }

    #[test]
    fn gives_up_at_the_deadline() {
        let s = CpuScheduler::new(1, Duration::from_millis(1));
        assert!(s.acquire(Level::Fresh, Instant::now() + Duration::from_secs(1), || {}));
        let mut waited = false;
        assert!(!s.acquire(
            Level::Fresh,
            Instant::now() + Duration::from_millis(10),
            || waited = true
        ));
        assert!(waited);
        assert!(!s.fresh_waiting());
    }
}
