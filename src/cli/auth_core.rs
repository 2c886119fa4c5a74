//! `rulebox auth-core --listen ADDR --proxy URL [--data-dir DIR | --database-url URL]`:
//! the login service alone, reaching tenant code through a `rulebox proxy`.
//! `rulebox serve` runs the same service with an in-process sandbox.

use anyhow::{Context, bail};
use clap::Args;
use rulebox_auth_core::store::Store;
use rulebox_auth_core::{AppState, Settings, bootstrap};
use rulebox_proxy::RemoteSandbox;
use rulebox_runtime_api::Sandbox;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct AuthCoreArgs {
    /// Where the SQLite database lives.
    #[arg(long, default_value = "./data", conflicts_with = "database_url")]
    pub data_dir: PathBuf,
    /// A database URL instead of --data-dir: `sqlite://PATH`.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The proxy (or a single runtime node) tenant code runs behind.
    #[arg(long)]
    pub proxy: String,
    /// bcrypt cost for new password hashes.
    #[arg(long, default_value_t = 10)]
    pub bcrypt_cost: u32,
}

pub fn auth_core(args: AuthCoreArgs) -> anyhow::Result<ExitCode> {
    let db_path = match args.database_url.as_deref() {
        None => args.data_dir.join(DB_FILE),
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => bail!(
                "unsupported --database-url {url:?}: this build stores in SQLite (sqlite://PATH/rulebox.db)"
            ),
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let sandbox = Arc::new(RemoteSandbox::new(&args.proxy));
        run_auth_core(AuthCoreRun {
            db_path,
            listen: args.listen,
            bcrypt_cost: args.bcrypt_cost,
            sandbox,
        })
        .await
    })
}

/// The database file inside a data directory.
pub const DB_FILE: &str = "rulebox.db";

pub struct AuthCoreRun {
    pub db_path: PathBuf,
    pub listen: String,
    pub bcrypt_cost: u32,
    pub sandbox: Arc<dyn Sandbox>,
}

/// Opens (creating it and its directory) the database file at `path`.
pub async fn open_store(path: &Path) -> anyhow::Result<Store> {
    Store::open(path)
        .await
        .with_context(|| format!("opening the database {}", path.display()))
}

/// Opens the store, bootstraps a first tenant on an empty database (its
/// credentials go to stdout, once), and serves until SIGTERM or Ctrl-C.
pub async fn run_auth_core(run: AuthCoreRun) -> anyhow::Result<ExitCode> {
    let store = open_store(&run.db_path).await?;
    let listener = tokio::net::TcpListener::bind(&run.listen)
        .await
        .with_context(|| format!("listening on {}", run.listen))?;
    let addr = listener.local_addr()?;
    if store.list_tenants().await?.is_empty() {
        let creds =
            bootstrap::create_tenant(&store, "default", None, &format!("http://{addr}")).await?;
        println!("{}", serde_json::to_string(&creds)?);
        eprintln!("first run: created tenant `default` (credentials above are shown once)");
    }
    let settings = Settings {
        bcrypt_cost: run.bcrypt_cost,
        ..Settings::default()
    };
    let mut app = AppState::new(store, run.sandbox, settings);
    app.metrics = super::metrics::install();
    let app = Arc::new(app);
    eprintln!("rulebox listening on http://{addr}");
    rulebox_auth_core::http::serve(listener, app.clone(), super::signals::shutdown()).await?;
    // Logs of the last logins may still be queued.
    app.logs.flush().await;
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}
