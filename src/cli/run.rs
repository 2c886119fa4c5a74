//! `rulebox run`: the local test loop tenants lack today — one invocation,
//! same sandbox and limits as production, result as one JSON object.

use anyhow::{Context, bail};
use clap::Args;
use rulebox_runtime::{
    Invocation, JsKind, Limits, Outcome, Runtime, RuntimeConfig, Trigger, WallClock,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The rule: a compiled module (`.wasm`), WebAssembly text (`.wat`) or JavaScript (`.js`).
    pub module: PathBuf,
    /// The event JSON, from a file or `-` for standard input. For `--kind rule`,
    /// `{"user": ..., "context": ...}`. Not used by `--kind custom-db`.
    #[arg(long)]
    pub event: Option<String>,
    /// Trigger whose handler to call.
    #[arg(long, default_value = "post-login")]
    pub trigger: String,
    /// Shape of a `.js` source (default: detected from the source).
    #[arg(long, value_enum)]
    pub kind: Option<JsShape>,
    /// Custom-DB script name (login, getUser, create, verify, changePassword, delete, changeEmail).
    #[arg(long)]
    pub script: Option<String>,
    /// Custom-DB script arguments, inline as a JSON array, e.g. '["a@b.c","pw"]'.
    #[arg(long)]
    pub args: Option<String>,
    /// Action secrets (JSON object file), visible as `event.secrets`.
    #[arg(long)]
    pub secrets: Option<PathBuf>,
    /// Rules / custom-DB `configuration` (JSON object file).
    #[arg(long)]
    pub configuration: Option<PathBuf>,
    /// Fuel budget (about one unit per wasm instruction).
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Wall-clock budget in milliseconds.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Linear-memory cap in MiB.
    #[arg(long)]
    pub memory_mb: Option<u64>,
    /// A host the code may call (HOST, *.DOMAIN, or either with :PORT; an IP literal
    /// to reach a loopback or private address). Repeatable; nothing by default.
    #[arg(long = "allow-host", value_name = "HOST[:PORT]")]
    pub allow_hosts: Vec<String>,
    /// Fix the guest's clock (RFC 3339, e.g. 2026-11-28T10:00:00Z) for reproducible runs.
    #[arg(long)]
    pub now: Option<String>,
    /// Seed the guest's randomness (WASI random_get, JavaScript's Math.random): the same
    /// seed, event and clock replay the same call.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Compiled-artifact cache directory (default: $XDG_CACHE_HOME/rulebox or ~/.cache/rulebox).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the compiled-artifact cache.
    #[arg(long)]
    pub no_cache: bool,
    /// An npm package a `.js` source requires: NAME@RANGE, or NAME for its latest
    /// version. Resolved and installed from `--npm-registry` before the run, as
    /// saving an Action with `dependencies` does. Repeatable.
    #[arg(long = "dependency", value_name = "NAME@RANGE")]
    pub dependencies: Vec<String>,
    /// The npm registry `--dependency` packages come from.
    #[arg(long, env = "RULEBOX_NPM_REGISTRY", value_name = "URL")]
    pub npm_registry: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JsShape {
    Action,
    Rule,
    CustomDb,
}

fn read_object(
    path: &Path,
    what: &str,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading {what} file {}", path.display()))?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => bail!("{what} must be a JSON object"),
        Err(e) => bail!("{what} is not valid JSON: {e}"),
    }
}

/// What the JavaScript source is, and the input its handler gets.
fn js_call(args: &RunArgs, source: &str) -> anyhow::Result<(JsKind, Trigger, Vec<u8>)> {
    let configuration = match &args.configuration {
        Some(p) => serde_json::Value::Object(read_object(p, "configuration")?),
        None => serde_json::json!({}),
    };
    let detected = rulebox_runtime::detect_kind(source);
    let shape = args.kind.unwrap_or(match &detected {
        // detect_kind never answers Flow: flows are assembled by auth-core.
        JsKind::Action | JsKind::Flow => JsShape::Action,
        JsKind::Rule => JsShape::Rule,
        JsKind::CustomDb { .. } => JsShape::CustomDb,
    });
    match shape {
        JsShape::Action => {
            let trigger = parse_trigger(&args.trigger)?;
            Ok((JsKind::Action, trigger, event_with_secrets(args)?))
        }
        JsShape::Rule => {
            let mut input = read_event_object(args.event.as_deref())?;
            input.insert("configuration".into(), configuration);
            Ok((
                JsKind::Rule,
                Trigger::PostLogin,
                serde_json::to_vec(&input)?,
            ))
        }
        JsShape::CustomDb => {
            let from_source = match detected {
                JsKind::CustomDb { script } => Some(script),
                _ => None,
            };
            let script = args
                .script
                .clone()
                .or(from_source)
                .context("--kind custom-db needs --script (login, getUser, create, verify, changePassword, delete, changeEmail)")?;
            let call_args: serde_json::Value = match &args.args {
                Some(a) => serde_json::from_str(a).context("--args must be a JSON array")?,
                None => serde_json::json!([]),
            };
            if !call_args.is_array() {
                bail!("--args must be a JSON array");
            }
            let input = serde_json::json!({"args": call_args, "configuration": configuration});
            Ok((
                JsKind::CustomDb { script },
                Trigger::CustomDb,
                serde_json::to_vec(&input)?,
            ))
        }
    }
}

fn parse_trigger(id: &str) -> anyhow::Result<Trigger> {
    Trigger::from_id(id).with_context(|| {
        let known: Vec<&str> = Trigger::bindable().map(Trigger::id).collect();
        format!("unknown trigger `{id}` ({})", known.join(", "))
    })
}

fn read_event_object(
    spec: Option<&str>,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let bytes = read_event(spec.context("--event is required")?)?;
    match serde_json::from_slice(&bytes)? {
        serde_json::Value::Object(m) => Ok(m),
        _ => bail!("the event must be a JSON object"),
    }
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
    let clock = match &args.now {
        Some(t) => WallClock::Fixed(
            humantime::parse_rfc3339_weak(t)
                .with_context(|| format!("--now `{t}` is not RFC 3339"))?,
        ),
        None => WallClock::System,
    };
    let is_js = args.module.extension().is_some_and(|e| e == "js");

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
    limits.outbound.allow_hosts = args.allow_hosts.clone();
    let (loaded, trigger, input) = if is_js {
        let source = std::fs::read_to_string(&args.module)
            .with_context(|| format!("reading {}", args.module.display()))?;
        let (kind, trigger, input) = js_call(&args, &source)?;
        let modules = match installed_modules(&args.dependencies, args.npm_registry.as_deref()) {
            Ok(m) => m,
            Err(e) => {
                let outcome = Outcome::refused(
                    rulebox_runtime::OutcomeKind::InvalidModule,
                    format!("dependencies: {e}"),
                    0,
                );
                println!("{}", serde_json::to_string(&outcome)?);
                return Ok(ExitCode::FAILURE);
            }
        };
        let loaded = runtime
            .load_js_with(&kind, &source, &modules)
            .map(|(id, _)| id);
        (loaded, trigger, input)
    } else {
        let trigger = parse_trigger(&args.trigger)?;
        args.event.as_deref().context("--event is required")?;
        let event = event_with_secrets(&args)?;
        let module = read_module(&args.module)?;
        (runtime.load(&module), trigger, event)
    };
    let outcome = match loaded {
        Ok(id) => {
            let mut inv = Invocation::new(&id, trigger, &input, &limits);
            inv.clock = clock;
            inv.random_seed = args.seed;
            runtime.invoke(&inv)
        }
        Err(e) => Outcome::refused(e.kind(), e.to_string(), 0),
    };
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The `--event` object with `--secrets` merged into its `secrets`.
fn event_with_secrets(args: &RunArgs) -> anyhow::Result<Vec<u8>> {
    let mut event = read_event_object(args.event.as_deref())?;
    if let Some(p) = &args.secrets {
        let secrets = read_object(p, "secrets")?;
        let slot = event
            .entry("secrets")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let serde_json::Value::Object(m) = slot {
            m.extend(secrets);
        }
    }
    Ok(serde_json::to_vec(&event)?)
}

/// The `--dependency` packages, resolved and installed: the files the
/// script's `require` resolves over (none without dependencies).
pub(crate) fn installed_modules(
    dependencies: &[String],
    npm_registry: Option<&str>,
) -> anyhow::Result<rulebox_runtime_api::Modules> {
    if dependencies.is_empty() {
        return Ok(Default::default());
    }
    let url = npm_registry
        .context("--dependency needs --npm-registry URL (or RULEBOX_NPM_REGISTRY)")?
        .to_owned();
    let deps = dependencies
        .iter()
        .map(|d| rulebox_npm::Dependency::parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    let registry = rulebox_npm::Registry::new(rulebox_npm::RegistryConfig {
        url,
        cache_dir: default_cache_dir().map(|d| d.join("npm")),
        timeout: std::time::Duration::from_secs(60),
    });
    let limits = rulebox_npm::Limits::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let installed = rt.block_on(async {
        let tree = rulebox_npm::resolve(&registry, &deps, limits).await?;
        rulebox_npm::install(&registry, &tree, limits).await
    })?;
    Ok(std::sync::Arc::new(installed.into_scripts()))
}
