//! `rulebox bench`: rulebox's full invocation path side by side with raw
//! wasmtime on the same module, same process, interleaved rounds so machine
//! noise hits both alike.

use crate::cli::run::read_module;
use anyhow::{Context, bail};
use clap::Args;
use rulebox_runtime::baseline::RawBaseline;
use rulebox_runtime::{Invocation, JsKind, Limits, Runtime, RuntimeConfig, Trigger};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLE_EVENT: &str = include_str!("../../rules-examples/events/post-login.json");

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("rule").required(true).args(["module", "js"])))]
pub struct BenchArgs {
    /// A compiled rule (`.wasm` or `.wat`), e.g. the `trivial` example:
    /// compared with raw wasmtime.
    #[arg(long)]
    pub module: Option<PathBuf>,
    /// A post-login Action (`.js`): rulebox from its snapshot vs. rulebox
    /// without pre-initialisation vs. Node.js with a fresh `vm` context per call.
    #[arg(long)]
    pub js: Option<PathBuf>,
    /// The Node.js baseline script.
    #[arg(long, default_value = "bench/node-vm.js")]
    pub node_script: PathBuf,
    /// Event JSON (default: the sample post-login event in rules-examples/events).
    #[arg(long)]
    pub event: Option<PathBuf>,
    /// Calls per side in the latency phase.
    #[arg(long, default_value_t = 20_000)]
    pub iterations: usize,
    /// Threads in the throughput phase (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seconds per side in the throughput phase.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// An npm package the `--js` Action requires (NAME@RANGE), installed from
    /// `--npm-registry` into its snapshot, as `rulebox run --dependency` does.
    /// Repeatable. With dependencies only the snapshot side runs: the cold
    /// path and the Node baseline do not load packages yet.
    #[arg(long = "dependency", value_name = "NAME@RANGE")]
    pub dependencies: Vec<String>,
    #[arg(long, env = "RULEBOX_NPM_REGISTRY", value_name = "URL")]
    pub npm_registry: Option<String>,
    /// The calls' linear-memory cap in MiB (default: the platform's): a snapshot
    /// holding packages can outgrow the default 10 MiB.
    #[arg(long)]
    pub memory_mb: Option<u64>,
}

#[derive(Debug, serde::Serialize)]
struct Side {
    p50_us: f64,
    p99_us: f64,
    calls_per_sec_1_thread: f64,
    calls_per_sec_all_threads: f64,
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

fn throughput(threads: usize, seconds: f64, call: Arc<dyn Fn() + Send + Sync>) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let call = call.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < until {
                    call();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    total as f64 / seconds
}

fn read_bench_event(args: &BenchArgs) -> anyhow::Result<Vec<u8>> {
    match &args.event {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display())),
        None => Ok(SAMPLE_EVENT.as_bytes().to_vec()),
    }
}

/// Times `n` calls of `f`, sorted.
fn timed(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match (&args.module, &args.js) {
        (Some(m), _) => bench_module(m.clone(), &args),
        (None, Some(js)) => bench_js(js.clone(), &args),
        (None, None) => bail!("give --module or --js"),
    }
}

fn bench_js(path: PathBuf, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let source =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let event = read_bench_event(args)?;
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let mut limits = runtime.config().defaults.clone();
    if let Some(m) = args.memory_mb {
        limits.memory_bytes = m.saturating_mul(1 << 20);
    }
    let kind = JsKind::Action;
    let modules =
        crate::cli::run::installed_modules(&args.dependencies, args.npm_registry.as_deref())?;
    let t = Instant::now();
    let (id, _) = runtime.load_js_with(&kind, &source, &modules)?;
    let snapshot_ms = t.elapsed().as_secs_f64() * 1e3;
    if !modules.is_empty() {
        return bench_js_snapshot_only(&path, args, &runtime, &id, &event, &limits, snapshot_ms);
    }
    let first = runtime.invoke(&Invocation::new(&id, Trigger::PostLogin, &event, &limits));
    if !first.is_ok() {
        bail!(
            "the Action does not succeed on this event: {}",
            serde_json::to_string(&first)?
        );
    }
    let cold_limits = Limits {
        fuel: limits.fuel * 20,
        ..limits.clone()
    };
    let cold = runtime.invoke_js_cold(&kind, &source, Trigger::PostLogin, &event, &cold_limits);
    if !cold.is_ok() {
        bail!(
            "the Action fails without a snapshot: {}",
            serde_json::to_string(&cold)?
        );
    }

    let n = args.iterations.min(5_000);
    let warm = |f: &mut dyn FnMut()| (0..n / 10).for_each(|_| f());
    let mut snap = || {
        let _ = runtime.invoke(&Invocation::new(&id, Trigger::PostLogin, &event, &limits));
    };
    warm(&mut snap);
    let snap_t = timed(n, snap);
    let cold_n = (n / 10).max(50);
    let cold_t = timed(cold_n, || {
        let _ = runtime.invoke_js_cold(&kind, &source, Trigger::PostLogin, &event, &cold_limits);
    });

    let dir = tempfile_dir()?;
    let event_path = dir.join("event.json");
    std::fs::write(&event_path, &event)?;
    let node = std::process::Command::new("node")
        .arg(&args.node_script)
        .arg(&path)
        .arg(&event_path)
        .arg(n.to_string())
        .output()
        .context("running node (is Node.js installed?)")?;
    let _ = std::fs::remove_dir_all(&dir);
    if !node.status.success() {
        bail!(
            "node baseline failed: {}",
            String::from_utf8_lossy(&node.stderr)
        );
    }
    let node_report: serde_json::Value =
        serde_json::from_slice(&node.stdout).context("node baseline output")?;
    let node_p50 = node_report["p50_us"].as_f64().unwrap_or(f64::NAN);
    let node_p99 = node_report["p99_us"].as_f64().unwrap_or(f64::NAN);

    let rows = [
        (
            "rulebox (snapshot)",
            percentile(&snap_t, 0.5),
            percentile(&snap_t, 0.99),
            first.fuel_used,
        ),
        (
            "rulebox (no snapshot)",
            percentile(&cold_t, 0.5),
            percentile(&cold_t, 0.99),
            cold.fuel_used,
        ),
        ("node vm.createContext", node_p50, node_p99, 0),
    ];
    let report = serde_json::json!({
        "action": path.display().to_string(),
        "snapshot_build_ms": snapshot_ms,
        "node": node_report["node"],
        "iterations": {"snapshot": snap_t.len(), "no_snapshot": cold_t.len(), "node": n},
        "rows": rows.iter().map(|(name, p50, p99, fuel)| serde_json::json!({
            "name": name, "p50_us": p50, "p99_us": p99, "fuel": fuel})).collect::<Vec<_>>(),
        "ratio_node_over_snapshot_p50": node_p50 / rows[0].1,
        "ratio_no_snapshot_over_snapshot_p50": rows[1].1 / rows[0].1,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "action {} ({} event bytes; snapshot built in {:.0} ms; node {})",
            path.display(),
            event.len(),
            snapshot_ms,
            node_report["node"].as_str().unwrap_or("?")
        );
        println!(
            "{:<24} {:>10} {:>10} {:>12}",
            "", "p50 µs", "p99 µs", "fuel/call"
        );
        for (name, p50, p99, fuel) in &rows {
            println!("{name:<24} {p50:>10.1} {p99:>10.1} {fuel:>12}");
        }
        println!(
            "node/snapshot p50: {:.2}x   no-snapshot/snapshot p50: {:.2}x",
            node_p50 / rows[0].1,
            rows[1].1 / rows[0].1
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench --js` for an Action with npm packages: its snapshot's p50/p99 and fuel.
fn bench_js_snapshot_only(
    path: &std::path::Path,
    args: &BenchArgs,
    runtime: &Runtime,
    id: &rulebox_runtime::ModuleId,
    event: &[u8],
    limits: &Limits,
    snapshot_ms: f64,
) -> anyhow::Result<ExitCode> {
    let first = runtime.invoke(&Invocation::new(id, Trigger::PostLogin, event, limits));
    if !first.is_ok() {
        bail!(
            "the Action does not succeed on this event: {}",
            serde_json::to_string(&first)?
        );
    }
    let n = args.iterations.min(5_000);
    let call = || {
        let _ = runtime.invoke(&Invocation::new(id, Trigger::PostLogin, event, limits));
    };
    (0..n / 10).for_each(|_| call());
    let t = timed(n, call);
    let report = serde_json::json!({
        "action": path.display().to_string(),
        "dependencies": args.dependencies,
        "snapshot_build_ms": snapshot_ms,
        "iterations": {"snapshot": t.len()},
        "rows": [{"name": "rulebox (snapshot)", "p50_us": percentile(&t, 0.5),
            "p99_us": percentile(&t, 0.99), "fuel": first.fuel_used,
            "peak_memory_bytes": first.peak_memory_bytes}],
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "action {} with {:?}: snapshot built in {snapshot_ms:.0} ms; p50 {:.1} µs, p99 {:.1} µs, fuel {}",
            path.display(),
            args.dependencies,
            percentile(&t, 0.5),
            percentile(&t, 0.99),
            first.fuel_used
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("rulebox-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn bench_module(path: PathBuf, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let module = read_module(&path)?;
    let event = read_bench_event(args)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));

    let runtime = Arc::new(Runtime::new(RuntimeConfig::default())?);
    let id = runtime.load(&module)?;
    let limits = runtime.config().defaults.clone();
    let first = runtime.invoke(&Invocation::new(&id, Trigger::PostLogin, &event, &limits));
    if !first.is_ok() {
        bail!(
            "the rule does not succeed on this event: {}",
            serde_json::to_string(&first)?
        );
    }
    let raw = Arc::new(
        RawBaseline::new(&module, Trigger::PostLogin, runtime.config())
            .map_err(|e| anyhow::anyhow!("{e:#}"))?,
    );
    if raw.call(&event).map_err(|e| anyhow::anyhow!("{e:#}"))? != 0 {
        bail!("the rule fails under raw wasmtime");
    }

    // Latency: interleaved rounds of each side after a warm-up.
    let rounds = 20;
    let per_round = (args.iterations / rounds).max(1);
    let mut raw_t = Vec::with_capacity(per_round * rounds);
    let mut rb_t = Vec::with_capacity(per_round * rounds);
    for round in 0..=rounds {
        let warmup = round == 0;
        for _ in 0..per_round {
            let t = Instant::now();
            let _ = raw.call(&event);
            if !warmup {
                raw_t.push(t.elapsed());
            }
        }
        for _ in 0..per_round {
            let t = Instant::now();
            let o = runtime.invoke(&Invocation::new(&id, Trigger::PostLogin, &event, &limits));
            if !warmup {
                rb_t.push(t.elapsed());
            }
            debug_assert!(o.is_ok());
        }
    }
    raw_t.sort();
    rb_t.sort();
    let mean = |v: &[Duration]| v.iter().sum::<Duration>().as_secs_f64() / v.len().max(1) as f64;

    let raw_tp = {
        let (raw, event) = (raw.clone(), event.clone());
        throughput(
            threads,
            args.seconds,
            Arc::new(move || {
                let _ = raw.call(&event);
            }),
        )
    };
    let rb_tp = {
        let (rt, event, limits) = (runtime.clone(), event.clone(), limits.clone());
        throughput(
            threads,
            args.seconds,
            Arc::new(move || {
                let _ = rt.invoke(&Invocation::new(&id, Trigger::PostLogin, &event, &limits));
            }),
        )
    };

    let raw_side = Side {
        p50_us: percentile(&raw_t, 0.5),
        p99_us: percentile(&raw_t, 0.99),
        calls_per_sec_1_thread: 1.0 / mean(&raw_t),
        calls_per_sec_all_threads: raw_tp,
    };
    let rb_side = Side {
        p50_us: percentile(&rb_t, 0.5),
        p99_us: percentile(&rb_t, 0.99),
        calls_per_sec_1_thread: 1.0 / mean(&rb_t),
        calls_per_sec_all_threads: rb_tp,
    };
    let report = serde_json::json!({
        "module": path.display().to_string(),
        "module_id": id.to_string(),
        "event_bytes": event.len(),
        "fuel_per_call": first.fuel_used,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "threads": threads,
        "allocator": runtime.allocator(),
        "iterations_per_side": raw_t.len(),
        "raw_wasmtime": raw_side,
        "rulebox": rb_side,
        "ratio_p50": rb_side.p50_us / raw_side.p50_us,
        "ratio_p99": rb_side.p99_us / raw_side.p99_us,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "module {} ({} event bytes, {} fuel/call, {:?} allocator, {} threads)",
            path.display(),
            event.len(),
            first.fuel_used,
            runtime.allocator(),
            threads
        );
        println!(
            "{:<14} {:>9} {:>9} {:>16} {:>18}",
            "",
            "p50 µs",
            "p99 µs",
            "calls/s 1 thread",
            format!("calls/s {threads} threads")
        );
        for (name, s) in [("raw wasmtime", &raw_side), ("rulebox", &rb_side)] {
            println!(
                "{:<14} {:>9.1} {:>9.1} {:>16.0} {:>18.0}",
                name, s.p50_us, s.p99_us, s.calls_per_sec_1_thread, s.calls_per_sec_all_threads
            );
        }
        println!(
            "ratio rulebox/raw: p50 {:.2}x, p99 {:.2}x",
            rb_side.p50_us / raw_side.p50_us,
            rb_side.p99_us / raw_side.p99_us
        );
    }
    Ok(ExitCode::SUCCESS)
}
