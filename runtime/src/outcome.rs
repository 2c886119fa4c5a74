//! What a call can end with, below everything that can end it.
//!
//! Host functions, the memory limiter and the epoch callback raise these
//! errors; `call` classifies them into an [`OutcomeKind`]. They live here, at
//! the bottom, so that raising one never means importing the code that
//! classifies it (host → call would be an import circle). Reading a guest's
//! output into an [`Output`] lives here too: a step's end (host) and a call's
//! end (call) both do it.

use rulebox_abi::Output;
use rulebox_runtime_api::OutcomeKind;
use std::time::Instant;

/// Errors host functions raise to stop the guest with a precise outcome.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HostTrap {
    #[error("{0}")]
    AbiViolation(String),
    /// The guest asked for something its tenant's policy does not grant.
    #[error("{0}")]
    CapabilityDenied(String),
}

/// The call's wall-clock budget ran out.
#[derive(Debug, thiserror::Error)]
#[error("wall-clock timeout: the call ran past its deadline")]
pub(crate) struct DeadlineExceeded;

/// Raised from inside `memory.grow` (or instantiation) when the cap is hit,
/// so the call ends as `memory_limit` instead of the guest seeing -1 and
/// failing in some less legible way.
#[derive(Debug, thiserror::Error)]
#[error("linear memory limit of {limit} bytes exceeded (wanted {desired})")]
pub(crate) struct MemoryLimitExceeded {
    pub(crate) limit: u64,
    pub(crate) desired: u64,
}

/// Microseconds since `since`, as outcomes report durations.
pub(crate) fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The outcome of a handler that returned success with `raw` as its output.
pub(crate) fn finish_output(raw: Option<&[u8]>) -> (OutcomeKind, Option<Output>, Option<String>) {
    match raw {
        None => (
            OutcomeKind::AbiViolation,
            None,
            Some("handler returned without writing output".into()),
        ),
        Some(bytes) => match serde_json::from_slice::<Output>(bytes) {
            Ok(out) => (OutcomeKind::Ok, Some(out), None),
            Err(e) => (
                OutcomeKind::AbiViolation,
                None,
                Some(format!("malformed output: {e}")),
            ),
        },
    }
}
