//! `rulebox proxy --listen ADDR --runtimes URL,URL,...`: the caching proxy
//! in front of a pool of runtime nodes. It speaks the same protocol as a
//! runtime node, so auth-core points `--proxy` at it.

use anyhow::{Context, bail};
use clap::Args;
use rulebox_proxy::{Node, Proxy, ProxyConfig};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub listen: String,
    /// Runtime nodes, comma-separated `http://host:port` URLs.
    #[arg(long, value_delimiter = ',', required = true)]
    pub runtimes: Vec<String>,
    /// Its `[quotas]` section sets the per-tenant defaults below.
    #[command(flatten)]
    pub config: super::config::ConfigFile,
    /// Calls one tenant may have in flight across the pool (tenant limits override it)
    /// [default: 64, or quotas.tenant_concurrency].
    #[arg(long)]
    pub tenant_concurrency: Option<u32>,
    /// Calls per second per tenant (token bucket); unlimited when absent.
    #[arg(long)]
    pub tenant_rate: Option<u32>,
    /// Calls in flight on a tenant's first node before the next node takes the overflow.
    #[arg(long, default_value_t = ProxyConfig::default().spill_at)]
    pub spill_at: usize,
}

pub fn proxy(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let mut platform = args.config.load()?;
    let quotas = &mut platform.quotas;
    quotas.tenant_concurrency = args.tenant_concurrency.unwrap_or(quotas.tenant_concurrency);
    quotas.tenant_rate = args.tenant_rate.or(quotas.tenant_rate);
    platform.validate()?;
    for url in &args.runtimes {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--runtimes takes http://host:port URLs; got {url:?}");
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let config = ProxyConfig {
            quotas: platform.quotas(),
            spill_at: args.spill_at,
            ..ProxyConfig::default()
        };
        let nodes = args.runtimes.iter().cloned().map(Node::Remote).collect();
        let proxy = Proxy::new(nodes, config);
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        eprintln!(
            "rulebox proxy listening on http://{}",
            listener.local_addr()?
        );
        rulebox_proxy::service::serve(
            listener,
            proxy,
            super::metrics::install(),
            super::signals::shutdown(),
        )
        .await?;
        Ok(ExitCode::SUCCESS)
    })
}
