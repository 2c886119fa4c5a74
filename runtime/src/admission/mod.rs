//! Who may run now: the bottom layer every call passes through before and
//! while it executes guest code.
//!
//! It exists apart from `call` and `host` because both need it and neither
//! may own it: `call` queues for a sandbox slot and a core and gives them
//! back, `host` gives the core up while it waits on the network. Admission
//! knows nothing of wasm, stores or outcomes; it only hands out and takes
//! back slots and cores, bounded by deadlines.

mod gate;
mod hold;
mod scheduler;

pub(crate) use gate::Gate;
pub(crate) use hold::{CoreHold, CoreLost};
pub(crate) use scheduler::{CpuScheduler, Level};
