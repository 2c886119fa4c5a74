//! `rulebox serve`: the all-in-one server — auth-core, the proxy and one
//! runtime in one process (the proxy over an in-process node, so there is
//! no loopback hop), SQLite in the data directory.

use super::auth_core::{AuthCoreRun, DB_FILE, run_auth_core};
use super::config::ConfigFile;
use clap::Args;
use rulebox_proxy::{Node, Proxy, ProxyConfig};
use rulebox_runtime::Runtime;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Flags left out fall back to the configuration file, then to the built-in defaults
/// (`rulebox config check` prints them).
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    /// Where the database, compiled artifacts and snapshots live [default: ./data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<String>,
    /// bcrypt cost for new password hashes [default: 10].
    #[arg(long)]
    pub bcrypt_cost: Option<u32>,
    /// Calls one tenant may have in flight at once (tenant limits override it) [default: 64].
    #[arg(long)]
    pub tenant_concurrency: Option<u32>,
    /// Calls per second per tenant (token bucket); unlimited when absent.
    #[arg(long)]
    pub tenant_rate: Option<u32>,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut platform = args.config.load()?;
    let server = &mut platform.server;
    server.data_dir = args.data_dir.unwrap_or(server.data_dir.clone());
    server.listen = args.listen.unwrap_or(server.listen.clone());
    server.bcrypt_cost = args.bcrypt_cost.unwrap_or(server.bcrypt_cost);
    let quotas = &mut platform.quotas;
    quotas.tenant_concurrency = args.tenant_concurrency.unwrap_or(quotas.tenant_concurrency);
    quotas.tenant_rate = args.tenant_rate.or(quotas.tenant_rate);
    platform.validate()?;
    let data_dir = platform.server.data_dir.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let runtime = Runtime::new(platform.runtime_config(Some(data_dir.join("artifacts"))))?;
        let config = ProxyConfig {
            quotas: platform.quotas(),
            ..ProxyConfig::default()
        };
        let sandbox = Proxy::new(vec![Node::Local(Arc::new(runtime))], config);
        run_auth_core(AuthCoreRun {
            database_url: format!("sqlite://{}", data_dir.join(DB_FILE).display()),
            listen: platform.server.listen.clone(),
            settings: platform.settings(),
            sandbox,
        })
        .await
    })
}
