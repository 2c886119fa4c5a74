//! `rulebox logs tail --tenant T`: a tenant's execution logs as they happen
//! (console output, outcome, duration, fuel), one JSON object per line,
//! from `GET /api/v2/logs/tail` (server-sent events).

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(subcommand)]
    pub command: LogsCommand,
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Stream a tenant's execution logs until interrupted.
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// The tenant (addressed as {server}/t/{tenant}).
    #[arg(long)]
    pub tenant: String,
    /// Where rulebox serves.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// A management client of the tenant (needs read:logs).
    #[arg(long, env = "RULEBOX_CLIENT_ID")]
    pub client_id: String,
    #[arg(long, env = "RULEBOX_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
}

pub fn logs(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let LogsCommand::Tail(args) = args.command;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(tail(args))
}

async fn tail(args: TailArgs) -> anyhow::Result<ExitCode> {
    let base = format!("{}/t/{}", args.server.trim_end_matches('/'), args.tenant);
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": args.client_id,
                      "client_secret": args.client_secret, "audience": format!("{base}/api/v2/")}),
        )
        .send()
        .await
        .with_context(|| format!("reaching {base}"))?
        .json()
        .await?;
    let Some(token) = token["access_token"].as_str() else {
        bail!("no management token: {token}");
    };
    let mut res = http
        .get(format!("{base}/api/v2/logs/tail"))
        .bearer_auth(token)
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("{}: {}", res.status(), res.text().await.unwrap_or_default());
    }
    eprintln!(
        "tailing the execution logs of {} (Ctrl-C to stop)",
        args.tenant
    );
    let mut buf = String::new();
    let mut out = std::io::stdout();
    while let Some(chunk) = res.chunk().await? {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if !data.is_empty() {
                writeln!(out, "{}", data.join("\n"))?;
                out.flush()?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
