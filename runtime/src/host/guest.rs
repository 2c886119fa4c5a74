//! Guest memory as host functions see it: bound once per call, read and
//! written through checked ranges.
//!
//! Every capability whose imports take `(ptr, len)` needs the same three
//! checks; they live here so that no capability imports another for them.

use crate::outcome::HostTrap;
use wasmtime::{Caller, Memory};

/// Store data that can hand out the instance's memory once it is bound.
pub(crate) trait GuestMemory {
    fn guest_memory(&self) -> Option<Memory>;
}

pub(crate) fn memory<T: GuestMemory>(caller: &Caller<'_, T>) -> wasmtime::Result<Memory> {
    caller.data().guest_memory().ok_or_else(|| {
        wasmtime::Error::new(HostTrap::AbiViolation(
            "host function called before the module's memory was bound".into(),
        ))
    })
}

pub(crate) fn range(ptr: i32, len: i32, what: &str) -> wasmtime::Result<(usize, usize)> {
    let (Ok(ptr), Ok(len)) = (u32::try_from(ptr), u32::try_from(len)) else {
        return Err(wasmtime::Error::new(HostTrap::AbiViolation(format!(
            "{what}: negative pointer or length"
        ))));
    };
    Ok((ptr as usize, len as usize))
}

pub(crate) fn oob(what: &str, ptr: usize, len: usize) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::AbiViolation(format!(
        "{what}: range {ptr:#x}+{len} is outside guest memory"
    )))
}
