//! `rulebox bench-proxy`: what the proxy costs per invocation and whether
//! affinity keeps code compiled where its tenant's calls land.
//!
//! Everything runs in this process on loopback, the same JavaScript Action
//! each time, interleaved rounds so machine noise hits every path alike:
//! * `runtime` — the in-process runtime, no proxy (the floor);
//! * `in-process proxy` — `rulebox serve`'s path: the proxy over a local node;
//! * `node over HTTP` — a client calling one `rulebox runtime` service;
//! * `proxy over HTTP` — the same client calling a proxy service in front of
//!   the nodes (one more hop plus routing, quotas and the module cache).
//!
//! Then a steady-state hit-rate run: many tenants, each with its own Action,
//! spread over the nodes by the proxy.

use super::bench::percentile;
use clap::Args;
use rulebox_proxy::{Node, Proxy, ProxyConfig, RemoteSandbox};
use rulebox_runtime::{Runtime, RuntimeConfig};
use rulebox_runtime_api::{Call, Code, JsKind, Limits, ModuleId, Quota, Sandbox, Trigger};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const EVENT: &str = include_str!("../../rules-examples/events/post-login.json");
const ACTION: &str = "exports.onExecutePostLogin = async (event, api) => {\n  const roles = (event.user.app_metadata && event.user.app_metadata.roles) || [];\n  api.idToken.setCustomClaim('https://example.com/roles', roles);\n};";

#[derive(Debug, Args)]
pub struct BenchProxyArgs {
    /// Runtime nodes behind the proxy (each its own runtime and HTTP service in this process).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Calls per path and round.
    #[arg(long, default_value_t = 2_000)]
    pub calls: usize,
    /// Interleaved rounds.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Tenants in the hit-rate run.
    #[arg(long, default_value_t = 200)]
    pub tenants: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn runtime(dir: &std::path::Path, i: usize) -> anyhow::Result<Runtime> {
    Ok(Runtime::new(RuntimeConfig {
        artifact_dir: Some(dir.join(format!("node-{i}"))),
        ..RuntimeConfig::default()
    })?)
}

async fn serve(sandbox: Arc<dyn Sandbox>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(rulebox_proxy::service::serve(
        listener,
        sandbox,
        None,
        std::future::pending(),
    ));
    Ok(url)
}

async fn call(s: &Arc<dyn Sandbox>, tenant: &str, module: &ModuleId, limits: &Limits) -> Duration {
    let start = Instant::now();
    let o = s
        .clone()
        .call(Call {
            tenant: tenant.to_owned(),
            quota: Quota::default(),
            module: *module,
            trigger: Trigger::PostLogin,
            input: EVENT.as_bytes().to_vec(),
            limits: limits.clone(),
            now: None,
            flow_timeout_ms: None,
        })
        .await;
    let took = start.elapsed();
    assert!(
        o.is_ok(),
        "benchmark call failed: {:?} {:?}",
        o.kind,
        o.error
    );
    took
}

pub fn bench_proxy(args: BenchProxyArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile_dir()?;
    let result: anyhow::Result<serde_json::Value> = rt.block_on(async {
        let mut urls = Vec::new();
        for i in 0..args.nodes.max(1) {
            urls.push(serve(Arc::new(runtime(&dir, i)?)).await?);
        }
        let local_runtime: Arc<dyn Sandbox> = Arc::new(runtime(&dir, 99)?);
        let local_proxy: Arc<dyn Sandbox> =
            Proxy::new(vec![Node::Local(local_runtime.clone())], ProxyConfig::default());
        let pool = Proxy::new(
            urls.iter().cloned().map(Node::Remote).collect(),
            ProxyConfig::default(),
        );
        let proxy_url = serve(pool.clone()).await?;
        let node_client: Arc<dyn Sandbox> = Arc::new(RemoteSandbox::new(&urls[0]));
        let proxy_client: Arc<dyn Sandbox> = Arc::new(RemoteSandbox::new(&proxy_url));
        let args_calls = args.calls;
        let rounds = args.rounds;
        let tenants = args.tenants;
        let pool_for_hits: Arc<dyn Sandbox> = pool.clone();
        let bench = async move {
            let limits = Limits::default();
            let paths: Vec<(&str, Arc<dyn Sandbox>)> = vec![
                ("runtime", local_runtime),
                ("in-process proxy", local_proxy),
                ("node over HTTP", node_client),
                ("proxy over HTTP", proxy_client),
            ];
            let mut ids = Vec::new();
            for (name, s) in &paths {
                let id = s
                    .clone()
                    .load_code(Code::js(JsKind::Action, ACTION.to_owned()))
                    .await
                    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?
                    .id;
                for _ in 0..200 {
                    call(s, "bench", &id, &limits).await;
                }
                ids.push(id);
            }
            let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); paths.len()];
            for _ in 0..rounds {
                for (i, (_, s)) in paths.iter().enumerate() {
                    for _ in 0..args_calls {
                        samples[i].push(call(s, "bench", &ids[i], &limits).await);
                    }
                }
            }
            let mut rows = Vec::new();
            for (i, (name, _)) in paths.iter().enumerate() {
                samples[i].sort();
                rows.push(serde_json::json!({"path": name, "p50_us": percentile(&samples[i], 0.5), "p99_us": percentile(&samples[i], 0.99)}));
            }
            // Hit rate: every tenant its own Action, calls spread over tenants.
            let mut modules = Vec::new();
            for t in 0..tenants {
                let src = format!("{ACTION}\n// tenant {t}");
                let loaded = pool_for_hits.clone().load_code(Code::js(JsKind::Action, src)).await;
                modules.push(loaded.map_err(|e| anyhow::anyhow!("{e}"))?.id);
            }
            let warm = async |n: usize| {
                for k in 0..n {
                    let t = k % tenants;
                    call(&pool_for_hits, &format!("tenant-{t}"), &modules[t], &limits).await;
                }
            };
            warm(tenants * 2).await;
            let before = pool.stats();
            warm(tenants * 20).await;
            let after = pool.stats();
            let calls = after.calls - before.calls;
            let hits = after.compiled_hits - before.compiled_hits;
            Ok(serde_json::json!({"rows": rows, "hit_rate": {"tenants": tenants, "calls": calls, "compiled_hits": hits,
                "rate": hits as f64 / calls.max(1) as f64, "pushes_in_window": after.pushes - before.pushes}}))
        };
        bench.await
    });
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let p50 = |name: &str| {
        report["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["path"] == name))
            .and_then(|r| r["p50_us"].as_f64())
            .unwrap_or(0.0)
    };
    let in_process = p50("in-process proxy") - p50("runtime");
    let over_http = p50("proxy over HTTP") - p50("node over HTTP");
    let report = serde_json::json!({"cores": cores, "nodes": args.nodes, "calls_per_path": args.calls * args.rounds,
        "rows": report["rows"], "proxy_overhead_p50_us": {"in_process": in_process, "over_http": over_http},
        "hit_rate": report["hit_rate"]});
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{cores} cores, {} runtime nodes, {} calls per path",
            args.nodes,
            args.calls * args.rounds
        );
        println!("{:<18} {:>9} {:>9}", "path", "p50 us", "p99 us");
        for r in report["rows"].as_array().into_iter().flatten() {
            println!(
                "{:<18} {:>9.1} {:>9.1}",
                r["path"].as_str().unwrap_or(""),
                r["p50_us"].as_f64().unwrap_or(0.0),
                r["p99_us"].as_f64().unwrap_or(0.0)
            );
        }
        println!(
            "proxy overhead at p50: in process {in_process:.1} us; over HTTP {over_http:.1} us (one more hop + routing)"
        );
        let h = &report["hit_rate"];
        println!(
            "steady state, {} tenants: compiled-cache hit rate {:.2}% ({} of {} calls; {} pushes)",
            h["tenants"],
            100.0 * h["rate"].as_f64().unwrap_or(0.0),
            h["compiled_hits"],
            h["calls"],
            h["pushes_in_window"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("rulebox-bench-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
