//! `rulebox serve`: the all-in-one server — auth-core with an in-process
//! runtime behind the Sandbox trait, SQLite in the data directory.

use anyhow::Context;
use clap::Args;
use rulebox_auth_core::store::Store;
use rulebox_auth_core::{AppState, Settings, bootstrap};
use rulebox_runtime::{Runtime, RuntimeConfig};
use std::path::{Path, PathBuf};
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
}

pub async fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    Store::open(&data_dir.join("rulebox.db"))
        .await
        .with_context(|| format!("opening the database in {}", data_dir.display()))
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let store = open_store(&args.data_dir).await?;
        let runtime = Runtime::new(RuntimeConfig {
            artifact_dir: Some(args.data_dir.join("artifacts")),
            ..RuntimeConfig::default()
        })?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        if store.list_tenants().await?.is_empty() {
            // First run: one tenant to start from; the secret is shown once.
            let creds =
                bootstrap::create_tenant(&store, "default", None, &format!("http://{addr}"))
                    .await?;
            println!("{}", serde_json::to_string(&creds)?);
            eprintln!("first run: created tenant `default` (credentials above are shown once)");
        }
        let settings = Settings {
            bcrypt_cost: args.bcrypt_cost,
            ..Settings::default()
        };
        let app = Arc::new(AppState::new(store, Arc::new(runtime), settings));
        eprintln!("rulebox listening on http://{addr}");
        rulebox_auth_core::http::serve(listener, app.clone(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        // Logs of the last logins may still be queued.
        app.logs.flush().await;
        app.store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
