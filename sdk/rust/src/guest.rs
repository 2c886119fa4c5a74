//! What runs between the host's call of a handler export and the tenant's
//! function. Only the macros in `lib.rs` use this module.

use crate::{Api, Event};
#[cfg(target_arch = "wasm32")]
use rulebox_abi::handler_codes;

/// The part of a call that does not touch the host: input bytes in, output
/// bytes (or the message to log) out. Split from `run` so the host-side
/// unit tests exercise the same path the guest takes.
pub fn handle(input: &[u8], handler: impl FnOnce(&Event, &mut Api)) -> Result<Vec<u8>, String> {
    let event = Event::from_json(input)
        .map_err(|e| format!("rulebox-sdk: the input is not an event this SDK can read: {e}"))?;
    let mut api = Api::new();
    handler(&event, &mut api);
    serde_json::to_vec(&api.into_output())
        .map_err(|e| format!("rulebox-sdk: the commands could not be serialised: {e}"))
}

/// The body of every handler export: returns the ABI's handler code.
#[cfg(target_arch = "wasm32")]
pub fn run(handler: impl FnOnce(&Event, &mut Api)) -> i32 {
    // stderr is discarded by the sandbox; without this hook a panic would
    // reach the host as a bare `unreachable` trap with no explanation.
    std::panic::set_hook(Box::new(|info| {
        crate::log::error(&format!("panic: {info}"))
    }));
    let result = read_input().and_then(|input| handle(&input, handler));
    match result.and_then(|output| write_output(&output)) {
        Ok(()) => handler_codes::OK,
        Err(message) => {
            crate::log::error(&message);
            handler_codes::FAILED
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn read_input() -> Result<Vec<u8>, String> {
    // SAFETY: `input_len` takes no arguments and only reports a number.
    let declared = unsafe { crate::sys::input_len() };
    let len = usize::try_from(declared)
        .map_err(|_| format!("rulebox-sdk: the host reported input length {declared}"))?;
    let mut buf = vec![0u8; len];
    // SAFETY: `buf` owns `len` writable bytes and the host writes at most
    // `declared` (= `len`) bytes into it.
    let copied = unsafe { crate::sys::input_read(buf.as_mut_ptr(), declared) };
    let copied = usize::try_from(copied)
        .ok()
        .filter(|&n| n <= len)
        .ok_or_else(|| {
            format!("rulebox-sdk: the host reported copying {copied} of {len} input bytes")
        })?;
    buf.truncate(copied);
    Ok(buf)
}

#[cfg(target_arch = "wasm32")]
fn write_output(output: &[u8]) -> Result<(), String> {
    let len = i32::try_from(output.len())
        .map_err(|_| format!("rulebox-sdk: output of {} bytes is too large", output.len()))?;
    // SAFETY: `output` is a live byte range of this guest's memory; the host
    // copies it during the call.
    let rc = unsafe { crate::sys::output_write(output.as_ptr(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!("rulebox-sdk: output_write returned {rc}"))
    }
}
