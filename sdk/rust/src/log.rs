//! Log lines for the invocation's captured logs.
//!
//! stdout and stderr are discarded by the sandbox, so `println!` shows
//! nothing; these go through the `rulebox.log` import instead. The host keeps
//! lines up to the invocation's log budget and drops the rest (the result
//! then says `logs_truncated`); logging never fails the call. The last
//! `error` line becomes the outcome's message when the handler fails.

use rulebox_abi::LogLevel;

pub fn debug(msg: &str) {
    write(LogLevel::Debug, msg);
}

pub fn info(msg: &str) {
    write(LogLevel::Info, msg);
}

pub fn warn(msg: &str) {
    write(LogLevel::Warn, msg);
}

pub fn error(msg: &str) {
    write(LogLevel::Error, msg);
}

/// One line at `level`.
#[cfg(target_arch = "wasm32")]
pub fn write(level: LogLevel, msg: &str) {
    // Lines beyond 2 GiB cannot exist in a 32-bit guest's memory alongside
    // anything else; clamping keeps the call well-formed regardless.
    let len = i32::try_from(msg.len()).unwrap_or(i32::MAX);
    // SAFETY: `msg` is a live, initialised byte range of this guest's memory;
    // the host only reads `len` bytes from it during the call.
    unsafe { crate::sys::log(level as i32, msg.as_ptr(), len) }
}

/// Off wasm (a rule's unit tests on the host) there is no sandbox log;
/// stderr is what `cargo test` shows for a failing test.
#[cfg(not(target_arch = "wasm32"))]
pub fn write(level: LogLevel, msg: &str) {
    let level = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    eprintln!("[{level}] {msg}");
}
