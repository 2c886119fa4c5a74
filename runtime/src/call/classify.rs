//! From how a call ended to what it is reported as: every trap, host error
//! and handler return code becomes an [`OutcomeKind`] and a message.
//!
//! One function per source of endings, so the `js` snapshotter and a call
//! classify a trap the same way.

use crate::outcome::{DeadlineExceeded, HostTrap, MemoryLimitExceeded};
use rulebox_runtime_api::OutcomeKind;
use wasmtime::Trap;

/// The outcome of a call that ended with `err`; `limit_hit` when the memory
/// limiter refused a growth (its error may reach us re-wrapped).
pub(crate) fn classify(err: &wasmtime::Error, limit_hit: bool) -> (OutcomeKind, String) {
    if limit_hit || err.downcast_ref::<MemoryLimitExceeded>().is_some() {
        let msg = err
            .downcast_ref::<MemoryLimitExceeded>()
            .map_or_else(|| format!("{err:#}"), ToString::to_string);
        return (OutcomeKind::MemoryLimit, msg);
    }
    if let Some(d) = err.downcast_ref::<DeadlineExceeded>() {
        return (OutcomeKind::Timeout, d.to_string());
    }
    match err.downcast_ref::<HostTrap>() {
        Some(HostTrap::AbiViolation(msg)) => return (OutcomeKind::AbiViolation, msg.clone()),
        Some(HostTrap::CapabilityDenied(msg)) => {
            return (OutcomeKind::CapabilityDenied, msg.clone());
        }
        None => {}
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => (OutcomeKind::FuelExhausted, "fuel budget exhausted".into()),
            Trap::Interrupt => (
                OutcomeKind::Timeout,
                "wall-clock timeout: the call ran past its deadline".into(),
            ),
            Trap::StackOverflow => (OutcomeKind::StackOverflow, "call stack exhausted".into()),
            other => (OutcomeKind::Trap, other.to_string()),
        };
    }
    (OutcomeKind::Trap, format!("{err:#}"))
}

/// Maps a non-zero handler return code (docs/abi.md) to its outcome.
pub(crate) fn reported_failure(code: i32, last_error: Option<&str>) -> (OutcomeKind, String) {
    use rulebox_abi::handler_codes as c;
    let kind = match code {
        c::NEVER_SETTLES => OutcomeKind::Timeout,
        c::PROTOCOL_VIOLATION => OutcomeKind::AbiViolation,
        c::STACK_OVERFLOW => OutcomeKind::StackOverflow,
        c::OUT_OF_MEMORY => OutcomeKind::MemoryLimit,
        _ => OutcomeKind::Trap,
    };
    let message = match (code, last_error) {
        (c::FAILED..=c::OUT_OF_MEMORY, Some(m)) => m.to_owned(),
        (_, Some(m)) => format!("handler returned {code}: {m}"),
        (_, None) => format!("handler returned {code}"),
    };
    (kind, message)
}
