//! `rulebox tenants ...`: tenant administration on a data directory.

use crate::cli::serve::open_store;
use clap::{Args, Subcommand};
use rulebox_auth_core::bootstrap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct TenantsArgs {
    #[command(subcommand)]
    pub command: TenantsCommand,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant with a signing key and a management client.
    Create {
        name: String,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// A custom domain the tenant is also reachable at (by `Host` header).
        #[arg(long)]
        domain: Option<String>,
        /// How clients reach the server, for the reported issuer.
        #[arg(long, default_value = "http://localhost:8080")]
        public_url: String,
        /// Print one JSON object {tenant, domain, issuer, client_id, client_secret}.
        #[arg(long)]
        json: bool,
        /// Token signing algorithm: RS256 (default) or ES256.
        #[arg(long, default_value = "RS256")]
        signing_alg: String,
    },
    /// List tenants.
    List {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
}

pub fn tenants(args: TenantsArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match args.command {
            TenantsCommand::Create {
                name,
                data_dir,
                domain,
                public_url,
                json,
                signing_alg,
            } => {
                let alg = signing_alg
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--signing-alg must be RS256 or ES256"))?;
                let store = open_store(&data_dir).await?;
                let creds = bootstrap::create_tenant_with(
                    &store,
                    &name,
                    domain.as_deref(),
                    &public_url,
                    alg,
                )
                .await?;
                if json {
                    println!("{}", serde_json::to_string(&creds)?);
                } else {
                    println!("tenant:        {}", creds.tenant);
                    println!("domain:        {}", creds.domain);
                    println!("issuer:        {}", creds.issuer);
                    println!("client_id:     {}", creds.client_id);
                    println!("client_secret: {}   (shown once)", creds.client_secret);
                }
            }
            TenantsCommand::List { data_dir } => {
                let store = open_store(&data_dir).await?;
                for t in store.list_tenants().await? {
                    println!("{}\t{}", t.id, t.domain.unwrap_or_default());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
