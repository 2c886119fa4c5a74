//! `rulebox auth-core --listen ADDR --proxy URL [--data-dir DIR | --database-url URL]`:
//! the login service alone, reaching tenant code through a `rulebox proxy`.
//! `rulebox serve` runs the same service with an in-process sandbox.

use super::config::ConfigFile;
use anyhow::Context;
use clap::Args;
use rulebox_auth_core::store::Store;
use rulebox_auth_core::{AppState, Settings, bootstrap};
use rulebox_proxy::RemoteSandbox;
use rulebox_runtime_api::Sandbox;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct AuthCoreArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    /// Where the SQLite database lives [default: ./data, or server.data_dir].
    #[arg(long, conflicts_with = "database_url")]
    pub data_dir: Option<PathBuf>,
    /// A database URL instead of --data-dir: `sqlite://PATH`, or `postgres://USER@HOST/DB`
    /// for several auth-core nodes sharing one database (then `RULEBOX_SECRETS_KEY` must be
    /// set, the same on every node).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080, or server.listen].
    #[arg(long)]
    pub listen: Option<String>,
    /// The proxy (or a single runtime node) tenant code runs behind.
    #[arg(long)]
    pub proxy: String,
    /// bcrypt cost for new password hashes [default: 10, or server.bcrypt_cost].
    #[arg(long)]
    pub bcrypt_cost: Option<u32>,
}

pub fn auth_core(args: AuthCoreArgs) -> anyhow::Result<ExitCode> {
    let mut platform = args.config.load()?;
    let server = &mut platform.server;
    server.listen = args.listen.unwrap_or(server.listen.clone());
    server.bcrypt_cost = args.bcrypt_cost.unwrap_or(server.bcrypt_cost);
    platform.validate()?;
    let data_dir = args.data_dir.unwrap_or(platform.server.data_dir.clone());
    let database_url = args
        .database_url
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join(DB_FILE).display()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let sandbox = Arc::new(RemoteSandbox::new(&args.proxy));
        run_auth_core(AuthCoreRun {
            database_url,
            listen: platform.server.listen.clone(),
            settings: platform.settings(),
            sandbox,
        })
        .await
    })
}

/// The database file inside a data directory.
pub const DB_FILE: &str = "rulebox.db";

pub struct AuthCoreRun {
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    pub listen: String,
    pub settings: Settings,
    pub sandbox: Arc<dyn Sandbox>,
}

/// Opens the store at `url`: `sqlite://PATH` (creating the file and its directory) or
/// `postgres://...`.
pub async fn open_store(url: &str) -> anyhow::Result<Store> {
    Store::connect(url)
        .await
        .with_context(|| format!("opening the database {}", redact_password(url)))
}

/// A database URL fit for an error message: the password of `user:password@` is elided.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Opens the store, bootstraps a first tenant on an empty database (its
/// credentials go to stdout, once), and serves until SIGTERM or Ctrl-C.
pub async fn run_auth_core(run: AuthCoreRun) -> anyhow::Result<ExitCode> {
    let store = open_store(&run.database_url).await?;
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
    let mut app = AppState::new(store, run.sandbox, run.settings);
    app.metrics = super::metrics::install();
    let app = Arc::new(app);
    let housekeeping = rulebox_auth_core::housekeeping::spawn(app.clone());
    eprintln!("rulebox listening on http://{addr}");
    rulebox_auth_core::http::serve(listener, app.clone(), super::signals::shutdown()).await?;
    housekeeping.abort();
    // Logs of the last logins may still be queued.
    app.logs.flush().await;
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}
