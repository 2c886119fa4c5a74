//! `rulebox bench`: rulebox's full invocation path side by side with raw
//! wasmtime on the same module, same process, interleaved rounds so machine
//! noise hits both alike.

use crate::cli::run::read_module;
use anyhow::{Context, bail};
use clap::Args;
use rulebox_runtime::baseline::RawBaseline;
use rulebox_runtime::{Invocation, Runtime, RuntimeConfig, Trigger};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLE_EVENT: &str = include_str!("../../rules-examples/events/post-login.json");

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The rule to call (`.wasm` or `.wat`), e.g. the `trivial` example.
    #[arg(long)]
    pub module: PathBuf,
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
}

#[derive(Debug, serde::Serialize)]
struct Side {
    p50_us: f64,
    p99_us: f64,
    calls_per_sec_1_thread: f64,
    calls_per_sec_all_threads: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
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

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let module = read_module(&args.module)?;
    let event = match &args.event {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => SAMPLE_EVENT.as_bytes().to_vec(),
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));

    let runtime = Arc::new(Runtime::new(RuntimeConfig::default())?);
    let id = runtime.load(&module)?;
    let limits = runtime.config().defaults.clone();
    let first = runtime.invoke(&Invocation::new(&id, Trigger::PostLogin, &event, &limits));
    if !first.is_ok() {
        bail!("the rule does not succeed on this event: {}", serde_json::to_string(&first)?);
    }
    let raw = Arc::new(
        RawBaseline::new(&module, Trigger::PostLogin).map_err(|e| anyhow::anyhow!("{e:#}"))?,
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
        throughput(threads, args.seconds, Arc::new(move || {
            let _ = raw.call(&event);
        }))
    };
    let rb_tp = {
        let (rt, event, limits) = (runtime.clone(), event.clone(), limits.clone());
        throughput(threads, args.seconds, Arc::new(move || {
            let _ = rt.invoke(&Invocation::new(&id, Trigger::PostLogin, &event, &limits));
        }))
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
        "module": args.module.display().to_string(),
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
            args.module.display(),
            event.len(),
            first.fuel_used,
            runtime.allocator(),
            threads
        );
        println!(
            "{:<14} {:>9} {:>9} {:>16} {:>18}",
            "", "p50 µs", "p99 µs", "calls/s 1 thread", format!("calls/s {threads} threads")
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
