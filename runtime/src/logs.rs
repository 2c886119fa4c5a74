//! Guest log capture with a hard byte budget.

use rulebox_abi::LogLevel;
pub use rulebox_runtime_api::LogLine;

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
