//! The input/output capability: `rulebox.input_len`, `rulebox.input_read`
//! and `rulebox.output_write`.
//!
//! A call's event goes in and its result comes out here and nowhere else,
//! so the output limit is enforced in one place.

use super::capability::{CallContext, Capability, StepStart};
use super::guest::{GuestMemory, memory, oob, range};
use crate::outcome::HostTrap;
use rulebox_abi::{IMPORT_MODULE, imports};
use wasmtime::{Caller, Linker};

/// Per-call state: the event, the output written so far and its limit.
pub(crate) struct Io {
    input: Vec<u8>,
    output: Option<Vec<u8>>,
    max_output: usize,
}

/// The projection of store data its host functions see.
pub(crate) trait IoView: GuestMemory {
    fn io(&mut self) -> &mut Io;
}

impl Io {
    /// The output the guest wrote last, if it wrote one.
    pub(crate) fn output(&self) -> Option<&[u8]> {
        self.output.as_deref()
    }

    /// Swaps the input (a cold start's initialiser reads its own first).
    pub(crate) fn replace_input(&mut self, input: Vec<u8>) -> Vec<u8> {
        std::mem::replace(&mut self.input, input)
    }

    pub(crate) fn clear_output(&mut self) {
        self.output = None;
    }

    #[cfg(test)]
    pub(crate) fn set_output(&mut self, output: &[u8]) {
        self.output = Some(output.to_vec());
    }
}

impl<T: IoView + 'static> Capability<T> for Io {
    const NAME: &'static str = "io";
    const IMPORTS: &'static [&'static str] = &[
        imports::INPUT_LEN,
        imports::INPUT_READ,
        imports::OUTPUT_WRITE,
    ];

    fn arm(call: &CallContext<'_>) -> Self {
        Self {
            input: call.input.to_vec(),
            output: None,
            max_output: usize::try_from(call.limits.max_output_bytes).unwrap_or(usize::MAX),
        }
    }

    /// Each step writes its own output.
    fn next_step(&mut self, _: &StepStart) {
        self.output = None;
    }

    fn add_to_linker(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        linker.func_wrap(
            IMPORT_MODULE,
            imports::INPUT_LEN,
            |mut caller: Caller<'_, T>| {
                // Inputs are capped far below 2 GiB before the call starts.
                i32::try_from(caller.data_mut().io().input.len()).unwrap_or(i32::MAX)
            },
        )?;

        linker.func_wrap(
            IMPORT_MODULE,
            imports::INPUT_READ,
            |mut caller: Caller<'_, T>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
                let (ptr, len) = range(ptr, len, "input_read")?;
                let mem = memory(&caller)?;
                let (data, state) = mem.data_and_store_mut(&mut caller);
                let input = &state.io().input;
                let n = len.min(input.len());
                let dst = data
                    .get_mut(ptr..ptr.saturating_add(n))
                    .ok_or_else(|| oob("input_read", ptr, n))?;
                dst.copy_from_slice(&input[..n]);
                Ok(i32::try_from(n).unwrap_or(i32::MAX))
            },
        )?;

        linker.func_wrap(
            IMPORT_MODULE,
            imports::OUTPUT_WRITE,
            |mut caller: Caller<'_, T>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
                let (ptr, len) = range(ptr, len, "output_write")?;
                let max = caller.data_mut().io().max_output;
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
                state.io().output = Some(src.to_vec());
                Ok(0)
            },
        )?;
        Ok(())
    }
}
