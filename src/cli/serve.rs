//! `rulebox serve`: the all-in-one server — auth-core, the proxy and one
//! runtime in one process (the proxy over an in-process node, so there is
//! no loopback hop), SQLite in the data directory.

use super::auth_core::{AuthCoreRun, DB_FILE, run_auth_core};
use clap::Args;
use rulebox_proxy::quota::QuotaDefaults;
use rulebox_proxy::{Node, Proxy, ProxyConfig};
use rulebox_runtime::{Runtime, RuntimeConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the database, compiled artifacts and snapshots live.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// bcrypt cost for new password hashes.
    #[arg(long, default_value_t = 10)]
    pub bcrypt_cost: u32,
    /// Calls one tenant may have in flight at once (tenant limits override it).
    #[arg(long, default_value_t = QuotaDefaults::default().concurrency)]
    pub tenant_concurrency: u32,
    /// Calls per second per tenant (token bucket); unlimited when absent.
    #[arg(long)]
    pub tenant_rate: Option<u32>,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let runtime = Runtime::new(RuntimeConfig {
            artifact_dir: Some(args.data_dir.join("artifacts")),
            ..RuntimeConfig::default()
        })?;
        let config = ProxyConfig {
            quotas: QuotaDefaults {
                concurrency: args.tenant_concurrency,
                rate_per_sec: args.tenant_rate,
            },
            ..ProxyConfig::default()
        };
        let sandbox = Proxy::new(vec![Node::Local(Arc::new(runtime))], config);
        run_auth_core(AuthCoreRun {
            db_path: args.data_dir.join(DB_FILE),
            listen: args.listen,
            bcrypt_cost: args.bcrypt_cost,
            sandbox,
        })
        .await
    })
}
