//! `rulebox run`: the local test loop tenants lack today — one invocation,
//! same sandbox and limits as production, result as one JSON object.

use anyhow::{Context, bail};
use clap::Args;
use rulebox_runtime::{Limits, Runtime, RuntimeConfig, Trigger, WallClock};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The rule: a compiled module (`.wasm`) or WebAssembly text (`.wat`).
    pub module: PathBuf,
    /// The event JSON, from a file or `-` for standard input.
    #[arg(long)]
    pub event: String,
    /// Trigger whose handler to call.
    #[arg(long, default_value = "post-login")]
    pub trigger: String,
    /// Fuel budget (about one unit per wasm instruction).
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Wall-clock budget in milliseconds.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Linear-memory cap in MiB.
    #[arg(long)]
    pub memory_mb: Option<u64>,
    /// Fix the guest's clock (RFC 3339, e.g. 2026-11-28T10:00:00Z) for reproducible runs.
    #[arg(long)]
    pub now: Option<String>,
    /// Compiled-artifact cache directory (default: $XDG_CACHE_HOME/rulebox or ~/.cache/rulebox).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the compiled-artifact cache.
    #[arg(long)]
    pub no_cache: bool,
}

fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("rulebox").join("artifacts"))
}

fn read_event(spec: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = if spec == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the event from standard input")?;
        buf
    } else {
        std::fs::read(spec).with_context(|| format!("reading event file {spec}"))?
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).context("the event is not valid JSON")?;
    if !value.is_object() {
        bail!("the event must be a JSON object");
    }
    Ok(bytes)
}

/// Module bytes from `.wasm` or `.wat`; the id is always that of the binary.
pub fn read_module(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "wat") {
        return wat::parse_bytes(&bytes)
            .map(|b| b.into_owned())
            .with_context(|| format!("parsing WebAssembly text {}", path.display()));
    }
    Ok(bytes)
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let trigger = Trigger::from_id(&args.trigger).with_context(|| {
        format!(
            "unknown trigger `{}` (post-login, credentials-exchange, pre-user-registration, post-user-registration)",
            args.trigger
        )
    })?;
    let clock = match &args.now {
        Some(t) => WallClock::Fixed(
            humantime::parse_rfc3339_weak(t).with_context(|| format!("--now `{t}` is not RFC 3339"))?,
        ),
        None => WallClock::System,
    };
    let event = read_event(&args.event)?;
    let module = read_module(&args.module)?;

    let mut config = RuntimeConfig {
        // One call: a small pool starts faster and needs less address space.
        max_concurrent: 1,
        pool_slots: 2,
        ..RuntimeConfig::default()
    };
    if !args.no_cache {
        config.artifact_dir = args.cache_dir.clone().or_else(default_cache_dir);
    }
    let runtime = Runtime::new(config)?;
    let mut limits: Limits = runtime.config().defaults.clone();
    if let Some(f) = args.fuel {
        limits.fuel = f;
    }
    if let Some(t) = args.timeout_ms {
        limits.timeout_ms = t;
    }
    if let Some(m) = args.memory_mb {
        limits.memory_bytes = m.saturating_mul(1 << 20);
    }
    let outcome = runtime.run_module(&module, trigger, &event, &limits, clock);
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
