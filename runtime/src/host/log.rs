//! The log capability, `rulebox.log`: guest log capture with a hard byte
//! budget per step.
//!
//! Guests log only through this import (WASI stdout and stderr are
//! discarded), so every line is bounded and attributed to its step.

use super::capability::{CallContext, Capability, StepStart};
use super::guest::{GuestMemory, memory, oob, range};
use rulebox_abi::{IMPORT_MODULE, LogLevel, imports};
pub use rulebox_runtime_api::LogLine;
use wasmtime::{Caller, Linker};

/// Keeps lines until `budget` bytes of message text are stored, then drops the
/// rest and remembers that it did: a log flood costs the guest its own fuel,
/// never host memory.
#[derive(Debug)]
pub(crate) struct LogBuffer {
    lines: Vec<LogLine>,
    used: usize,
    budget: usize,
    truncated: bool,
}

impl LogBuffer {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            lines: Vec::new(),
            used: 0,
            budget,
            truncated: false,
        }
    }

    pub(crate) fn push(&mut self, level: LogLevel, bytes: &[u8]) {
        let room = self.budget.saturating_sub(self.used);
        if room == 0 {
            self.truncated = true;
            return;
        }
        let take = if bytes.len() > room {
            self.truncated = true;
            // Cut on a char boundary so the kept prefix stays valid UTF-8.
            let text = String::from_utf8_lossy(&bytes[..room]);
            text.trim_end_matches('\u{FFFD}').to_owned()
        } else {
            String::from_utf8_lossy(bytes).into_owned()
        };
        self.used += take.len().max(1);
        self.lines.push(LogLine {
            level,
            message: take,
        });
    }

    pub(crate) fn last_error(&self) -> Option<&str> {
        self.lines
            .iter()
            .rev()
            .find(|l| l.level == LogLevel::Error)
            .map(|l| l.message.as_str())
    }

    pub(crate) fn finish(self) -> (Vec<LogLine>, bool) {
        (self.lines, self.truncated)
    }

    /// The lines so far, leaving a fresh buffer with the same budget.
    pub(crate) fn take(&mut self) -> (Vec<LogLine>, bool) {
        std::mem::replace(self, Self::new(self.budget)).finish()
    }
}

/// The projection of store data its host function sees.
pub(crate) trait LogView: GuestMemory {
    fn logs(&mut self) -> &mut LogBuffer;
}

impl<T: LogView + 'static> Capability<T> for LogBuffer {
    const NAME: &'static str = "log";
    const IMPORTS: &'static [&'static str] = &[imports::LOG];

    fn arm(call: &CallContext<'_>) -> Self {
        Self::new(usize::try_from(call.limits.max_log_bytes).unwrap_or(usize::MAX))
    }

    /// Each step gets the whole budget again.
    fn next_step(&mut self, _: &StepStart) {
        *self = Self::new(self.budget);
    }

    fn add_to_linker(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        linker.func_wrap(
            IMPORT_MODULE,
            imports::LOG,
            |mut caller: Caller<'_, T>, level: i32, ptr: i32, len: i32| -> wasmtime::Result<()> {
                let (ptr, len) = range(ptr, len, "log")?;
                let mem = memory(&caller)?;
                let (data, state) = mem.data_and_store_mut(&mut caller);
                let src = data
                    .get(ptr..ptr.saturating_add(len))
                    .ok_or_else(|| oob("log", ptr, len))?;
                state.logs().push(LogLevel::from_i32(level), src);
                Ok(())
            },
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_budget_and_flags_truncation() {
        let mut b = LogBuffer::new(10);
        b.push(LogLevel::Info, b"hello");
        b.push(LogLevel::Info, "wörld!".as_bytes());
        b.push(LogLevel::Error, b"dropped");
        let (lines, truncated) = b.finish();
        assert!(truncated);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].message, "hello");
        assert!(lines[1].message.len() <= 5);
        assert!(lines.iter().map(|l| l.message.len()).sum::<usize>() <= 10);
    }
}
