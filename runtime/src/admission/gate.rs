//! Bounded admission in front of the instance pool (sandbox slots).
//!
//! Past the pool's capacity wasmtime fails instantiation outright; callers
//! would rather wait a little, bounded by their own deadline.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

pub(crate) struct Gate {
    free: Mutex<usize>,
    cv: Condvar,
}

pub(crate) struct Permit<'a>(&'a Gate);

impl Gate {
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            free: Mutex::new(slots.max(1)),
            cv: Condvar::new(),
        }
    }

    /// Waits for a slot until `deadline`; `None` when the deadline passed first.
    /// A slot if one is free now; never waits.
    pub(crate) fn try_acquire(&self) -> Option<Permit<'_>> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        (*free > 0).then(|| {
            *free -= 1;
            Permit(self)
        })
    }

    pub(crate) fn acquire(&self, deadline: Instant) -> Option<Permit<'_>> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *free > 0 {
                *free -= 1;
                return Some(Permit(self));
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            free = self
                .cv
                .wait_timeout(free, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(PoisonError::into_inner);
        *free += 1;
        self.0.cv.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waits_then_gives_up_at_the_deadline() {
        let g = Gate::new(1);
        let p = g.acquire(Instant::now() + Duration::from_millis(5));
        assert!(p.is_some());
        assert!(
            g.acquire(Instant::now() + Duration::from_millis(5))
                .is_none()
        );
        drop(p);
        assert!(
            g.acquire(Instant::now() + Duration::from_millis(5))
                .is_some()
        );
    }
}
