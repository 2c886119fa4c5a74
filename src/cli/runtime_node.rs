//! `rulebox runtime --listen ADDR`: one sandbox node serving the runtime
//! protocol (`POST /v1/modules`, `POST /v1/invoke`, `/healthz`, `/readyz`).
//! Compiled modules and JavaScript snapshots persist in `--data-dir`, so a
//! restarted node is warm again as soon as code is pushed to it.

use super::config::ConfigFile;
use anyhow::Context;
use clap::Args;
use rulebox_runtime::Runtime;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// Its `[limits]` and `[runtime]` sections size this node and set tenants' defaults.
    #[command(flatten)]
    pub config: ConfigFile,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// Where compiled artifacts and snapshots are cached.
    #[arg(long, default_value = "./data/runtime")]
    pub data_dir: PathBuf,
}

pub fn runtime(args: RuntimeArgs) -> anyhow::Result<ExitCode> {
    let platform = args.config.load()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("creating {}", args.data_dir.display()))?;
        let runtime = Runtime::new(platform.runtime_config(Some(args.data_dir.join("artifacts"))))?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        eprintln!(
            "rulebox runtime listening on http://{}",
            listener.local_addr()?
        );
        rulebox_proxy::service::serve(
            listener,
            Arc::new(runtime),
            super::metrics::install(),
            super::signals::shutdown(),
        )
        .await?;
        Ok(ExitCode::SUCCESS)
    })
}
