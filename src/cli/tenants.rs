//! `rulebox tenants ...`: tenant administration on a data directory.

use crate::cli::auth_core::{DB_FILE, open_store};
use clap::{Args, Subcommand};
use rulebox_auth_core::bootstrap;
use rulebox_auth_core::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct TenantsArgs {
    /// The database of a multi-node deployment (`postgres://...`) instead of --data-dir.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
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
    /// A tenant's sandbox limits and quota (applied to its next call, no restart).
    Limits {
        #[command(subcommand)]
        command: LimitsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum LimitsCommand {
    /// Print the tenant's overrides as JSON (absent keys use the platform default).
    Get {
        name: String,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Change overrides; keys not given keep their value.
    Set {
        name: String,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        #[command(flatten)]
        set: LimitFlags,
    },
}

#[derive(Debug, Args)]
pub struct LimitFlags {
    /// Fuel per call (about one unit per wasm instruction).
    #[arg(long)]
    fuel: Option<u64>,
    /// Wall-clock budget per call, in milliseconds.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Linear-memory cap per call, in MiB.
    #[arg(long)]
    memory_mb: Option<u64>,
    /// Calls in flight at once across the pool.
    #[arg(long)]
    concurrency: Option<u32>,
    /// Calls per second (token bucket).
    #[arg(long)]
    rate_per_sec: Option<u32>,
    /// Hosts tenant code may call (HOST, *.DOMAIN, optionally :PORT); replaces the list.
    #[arg(long = "allow-host", value_name = "HOST[:PORT]")]
    allow_hosts: Vec<String>,
}

impl LimitFlags {
    fn merge_into(&self, limits: &mut serde_json::Map<String, serde_json::Value>) {
        let mut put = |k: &str, v: Option<u64>| {
            if let Some(v) = v {
                limits.insert(k.into(), v.into());
            }
        };
        put("fuel", self.fuel);
        put("timeout_ms", self.timeout_ms);
        put("memory_bytes", self.memory_mb.map(|m| m << 20));
        put("concurrency", self.concurrency.map(u64::from));
        put("rate_per_sec", self.rate_per_sec.map(u64::from));
        if !self.allow_hosts.is_empty() {
            limits.insert("allow_hosts".into(), self.allow_hosts.clone().into());
        }
    }
}

pub fn tenants(args: TenantsArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let url = args.database_url;
    let open = |data_dir: PathBuf| {
        let url = url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join(DB_FILE).display()));
        async move { open_store(&url).await }
    };
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
                let store: Store = open(data_dir).await?;
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
            TenantsCommand::Limits {
                command: LimitsCommand::Get { name, data_dir },
            } => {
                let store: Store = open(data_dir).await?;
                let t = store.get_tenant(&name).await?;
                println!("{}", t.limits);
            }
            TenantsCommand::Limits {
                command:
                    LimitsCommand::Set {
                        name,
                        data_dir,
                        set,
                    },
            } => {
                if set.concurrency == Some(0) || set.rate_per_sec == Some(0) {
                    anyhow::bail!("--concurrency and --rate-per-sec must be at least 1");
                }
                let store: Store = open(data_dir).await?;
                let t = store.get_tenant(&name).await?;
                let mut limits = t.limits.as_object().cloned().unwrap_or_default();
                set.merge_into(&mut limits);
                let limits = serde_json::Value::Object(limits);
                // Refuse what the sandbox would not understand, before storing it.
                serde_json::from_value::<rulebox_runtime_api::TenantPolicy>(limits.clone())
                    .map_err(|e| anyhow::anyhow!("invalid limits: {e}"))?;
                let t = store
                    .update_tenant_settings(&name, None, Some(limits))
                    .await?;
                println!("{}", t.limits);
            }
            TenantsCommand::List { data_dir } => {
                let store: Store = open(data_dir).await?;
                for t in store.list_tenants().await? {
                    println!("{}\t{}", t.id, t.domain.unwrap_or_default());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
