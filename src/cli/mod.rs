//! Command-line surface: one subcommand per module.

mod actions;
mod auth_core;
mod bench;
mod bench_logins;
mod bench_proxy;
pub mod config;
mod load_client;
mod logs;
mod metrics;
mod mgmt_client;
mod proxy;
mod run;
mod runtime_node;
mod serve;
mod signals;
mod tenants;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "rulebox",
    version,
    about = "Tenant code inside the login, in fuel-limited wasmtime sandboxes"
)]
pub struct Cli {
    /// Format of diagnostic logs on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one rule locally against an event and print the outcome as JSON.
    Run(run::RunArgs),
    /// Benchmark a rule: rulebox's invocation path against raw wasmtime.
    Bench(bench::BenchArgs),
    /// Logins per second over HTTP against an in-process server (3 JS Actions bound).
    BenchLogins(bench_logins::BenchLoginsArgs),
    /// The proxy's cost per invocation and its compiled-cache hit rate across runtime nodes.
    BenchProxy(bench_proxy::BenchProxyArgs),
    /// The all-in-one server: auth-core with an in-process runtime, SQLite in --data-dir.
    Serve(serve::ServeArgs),
    /// Tenant administration.
    Tenants(tenants::TenantsArgs),
    /// A tenant's Actions from the terminal: deploy, test, rollback.
    Actions(actions::ActionsArgs),
    /// A tenant's execution logs, live.
    Logs(logs::LogsArgs),
    /// One sandbox node serving the runtime protocol over HTTP.
    Runtime(runtime_node::RuntimeArgs),
    /// The caching proxy in front of runtime nodes.
    Proxy(proxy::ProxyArgs),
    /// The login service alone, reaching tenant code through --proxy.
    AuthCore(auth_core::AuthCoreArgs),
    /// Platform configuration: `rulebox config check FILE`.
    Config(config::ConfigArgs),
}

/// What is logged without `RULEBOX_LOG`. Info, not warn: the per-request span (tenant,
/// request id) is an info span, and a span the filter disables gives the warnings inside it
/// no context.
const DEFAULT_LOG_FILTER: &str = "info";

pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RULEBOX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    // A closed stderr (a supervisor that went away, a test that stopped reading) must not
    // turn every later log line into a panic: tracing-subscriber reports its own write
    // failures with eprintln!, which panics on a broken pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Bench(args) => bench::bench(args),
        Command::Serve(args) => serve::serve(args),
        Command::BenchLogins(args) => bench_logins::bench_logins(args),
        Command::BenchProxy(args) => bench_proxy::bench_proxy(args),
        Command::Tenants(args) => tenants::tenants(args),
        Command::Runtime(args) => runtime_node::runtime(args),
        Command::Logs(args) => logs::logs(args),
        Command::Actions(args) => actions::actions(args),
        Command::Proxy(args) => proxy::proxy(args),
        Command::AuthCore(args) => auth_core::auth_core(args),
        Command::Config(args) => config::config(args),
    }
}
