//! The `rulebox` import module of ABI v1: input, output, log.

use super::HostState;
use crate::outcome::HostTrap;
use rulebox_abi::{IMPORT_MODULE, LogLevel, imports};
use wasmtime::{Caller, Linker, Memory};

pub(super) fn memory(caller: &Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    caller.data().memory.ok_or_else(|| {
        wasmtime::Error::new(HostTrap::AbiViolation(
            "host function called before the module's memory was bound".into(),
        ))
    })
}

pub(super) fn range(ptr: i32, len: i32, what: &str) -> wasmtime::Result<(usize, usize)> {
    let (Ok(ptr), Ok(len)) = (u32::try_from(ptr), u32::try_from(len)) else {
        return Err(wasmtime::Error::new(HostTrap::AbiViolation(format!(
            "{what}: negative pointer or length"
        ))));
    };
    Ok((ptr as usize, len as usize))
}

pub(super) fn oob(what: &str, ptr: usize, len: usize) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::AbiViolation(format!(
        "{what}: range {ptr:#x}+{len} is outside guest memory"
    )))
}

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        IMPORT_MODULE,
        imports::INPUT_LEN,
        |caller: Caller<'_, HostState>| {
            // Inputs are capped far below 2 GiB before the call starts.
            i32::try_from(caller.data().input.len()).unwrap_or(i32::MAX)
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        imports::INPUT_READ,
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let (ptr, len) = range(ptr, len, "input_read")?;
            let mem = memory(&caller)?;
            let (data, state) = mem.data_and_store_mut(&mut caller);
            let n = len.min(state.input.len());
            let dst = data
                .get_mut(ptr..ptr.saturating_add(n))
                .ok_or_else(|| oob("input_read", ptr, n))?;
            dst.copy_from_slice(&state.input[..n]);
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        imports::OUTPUT_WRITE,
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let (ptr, len) = range(ptr, len, "output_write")?;
            let max = caller.data().max_output;
            if len > max {
                return Err(wasmtime::Error::new(HostTrap::AbiViolation(format!(
                    "output of {len} bytes exceeds the {max}-byte output limit"
                ))));
            }
            let mem = memory(&caller)?;
            let (data, state) = mem.data_and_store_mut(&mut caller);
            let src = data
                .get(ptr..ptr.saturating_add(len))
                .ok_or_else(|| oob("output_write", ptr, len))?;
            state.output = Some(src.to_vec());
            Ok(0)
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        imports::LOG,
        |mut caller: Caller<'_, HostState>,
         level: i32,
         ptr: i32,
         len: i32|
         -> wasmtime::Result<()> {
            let (ptr, len) = range(ptr, len, "log")?;
            let mem = memory(&caller)?;
            let (data, state) = mem.data_and_store_mut(&mut caller);
            let src = data
                .get(ptr..ptr.saturating_add(len))
                .ok_or_else(|| oob("log", ptr, len))?;
            state.logs.push(LogLevel::from_i32(level), src);
            Ok(())
        },
    )?;

    linker.func_wrap(IMPORT_MODULE, imports::STEP_END, super::steps::end_step)?;
    Ok(())
}
