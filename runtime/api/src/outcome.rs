//! The typed result of every invocation.

use rulebox_abi::{LogLevel, Output};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// How a call ended. Exactly one per call; hostile behaviour maps to a kind,
/// never to a host error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Ok,
    FuelExhausted,
    Timeout,
    MemoryLimit,
    StackOverflow,
    Trap,
    InvalidModule,
    AbiViolation,
    CapabilityDenied,
    InputTooLarge,
    /// The tenant is over its concurrency or rate quota; nothing ran.
    RateLimited,
    /// No runtime could take the call (every node down or unreachable);
    /// nothing ran.
    Unavailable,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::FuelExhausted => "fuel_exhausted",
            Self::Timeout => "timeout",
            Self::MemoryLimit => "memory_limit",
            Self::StackOverflow => "stack_overflow",
            Self::Trap => "trap",
            Self::InvalidModule => "invalid_module",
            Self::AbiViolation => "abi_violation",
            Self::CapabilityDenied => "capability_denied",
            Self::InputTooLarge => "input_too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
        }
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line a guest logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// The guest's output; `Some` only when `kind` is `Ok`.
    pub output: Option<Output>,
    /// Human-readable cause; `None` only when `kind` is `Ok`.
    pub error: Option<String>,
    pub logs: Vec<LogLine>,
    pub logs_truncated: bool,
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    pub duration_us: u64,
    /// The steps a multi-step call finished with `step_end`, each with its
    /// own output, logs, fuel and duration. The fields above then describe
    /// what ran after the last of them: for a flow that failed, the step
    /// that failed. Empty for an ordinary call.
    pub steps: Vec<Outcome>,
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        self.kind == OutcomeKind::Ok
    }

    pub fn commands(&self) -> &[rulebox_abi::Command] {
        self.output.as_ref().map_or(&[], |o| &o.commands)
    }

    /// An outcome for a call refused before any guest code ran (an upload
    /// that failed validation, an input over the limit, no free slot).
    pub fn refused(kind: OutcomeKind, error: String, duration_us: u64) -> Self {
        Self {
            kind,
            output: None,
            error: Some(error),
            logs: Vec::new(),
            logs_truncated: false,
            fuel_used: 0,
            peak_memory_bytes: 0,
            duration_us,
            steps: Vec::new(),
        }
    }
}

/// The flat JSON shape `rulebox run` prints and the runtime service returns:
/// `{"outcome", "commands", "logs", "fuel_used", "peak_memory_bytes",
/// "duration_us", "error"}` plus `logs_truncated` and, when present, `result`
/// and `steps` (each in this same shape).
impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let result = self.output.as_ref().and_then(|o| o.result.as_ref());
        let extra = usize::from(result.is_some()) + usize::from(!self.steps.is_empty());
        let mut m = s.serialize_map(Some(8 + extra))?;
        m.serialize_entry("outcome", &self.kind)?;
        m.serialize_entry("commands", self.commands())?;
        if let Some(r) = result {
            m.serialize_entry("result", r)?;
        }
        m.serialize_entry("logs", &self.logs)?;
        m.serialize_entry("logs_truncated", &self.logs_truncated)?;
        m.serialize_entry("fuel_used", &self.fuel_used)?;
        m.serialize_entry("peak_memory_bytes", &self.peak_memory_bytes)?;
        m.serialize_entry("duration_us", &self.duration_us)?;
        m.serialize_entry("error", &self.error)?;
        if !self.steps.is_empty() {
            m.serialize_entry("steps", &self.steps)?;
        }
        m.end()
    }
}

/// The flat shape above, read back (the proxy and remote callers receive
/// outcomes over HTTP).
impl<'de> serde::Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Flat {
            outcome: OutcomeKind,
            #[serde(default)]
            commands: Vec<rulebox_abi::Command>,
            #[serde(default)]
            result: Option<serde_json::Value>,
            #[serde(default)]
            logs: Vec<LogLine>,
            #[serde(default)]
            logs_truncated: bool,
            #[serde(default)]
            fuel_used: u64,
            #[serde(default)]
            peak_memory_bytes: u64,
            #[serde(default)]
            duration_us: u64,
            #[serde(default)]
            error: Option<String>,
            #[serde(default)]
            steps: Vec<Outcome>,
        }
        let f = Flat::deserialize(d)?;
        let output = (f.outcome == OutcomeKind::Ok).then_some(Output {
            commands: f.commands,
            result: f.result,
        });
        Ok(Outcome {
            kind: f.outcome,
            output,
            error: f.error,
            logs: f.logs,
            logs_truncated: f.logs_truncated,
            fuel_used: f.fuel_used,
            peak_memory_bytes: f.peak_memory_bytes,
            duration_us: f.duration_us,
            steps: f.steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_survive_the_wire() {
        let ok = Outcome {
            kind: OutcomeKind::Ok,
            output: Some(Output {
                commands: vec![rulebox_abi::Command::AddScope {
                    scope: "read".into(),
                }],
                result: Some(serde_json::json!({"user": {"id": 1}})),
            }),
            error: None,
            logs: vec![LogLine {
                level: LogLevel::Info,
                message: "hi".into(),
            }],
            logs_truncated: true,
            fuel_used: 12,
            peak_memory_bytes: 65536,
            duration_us: 7,
            steps: vec![Outcome::refused(OutcomeKind::Trap, "step".into(), 2)],
        };
        let back: Outcome =
            serde_json::from_str(&serde_json::to_string(&ok).expect("ser")).expect("de");
        assert_eq!(back, ok);
        let refused = Outcome::refused(OutcomeKind::RateLimited, "over quota".into(), 3);
        let back: Outcome =
            serde_json::from_str(&serde_json::to_string(&refused).expect("ser")).expect("de");
        assert_eq!(back, refused);
        assert_eq!(back.kind.as_str(), "rate_limited");
    }
}
