//! `rulebox logs tail --tenant T`: a tenant's execution logs as they happen
//! (console output, outcome, duration, fuel), one JSON object per line,
//! from `GET /api/v2/logs/tail` (server-sent events).

use super::mgmt_client::{MgmtClient, TenantAccess};
use anyhow::bail;
use clap::{Args, Subcommand};
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
    /// The tenant and a management client of it (needs read:logs).
    #[command(flatten)]
    pub access: TenantAccess,
}

pub fn logs(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let LogsCommand::Tail(args) = args.command;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(tail(args))
}

async fn tail(args: TailArgs) -> anyhow::Result<ExitCode> {
    let client = MgmtClient::connect(&args.access).await?;
    let mut res = client
        .request(reqwest::Method::GET, "logs/tail")
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("{}: {}", res.status(), res.text().await.unwrap_or_default());
    }
    eprintln!(
        "tailing the execution logs of {} (Ctrl-C to stop)",
        args.access.tenant
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
            let lagged = event.lines().any(|l| l.trim() == "event: lagged");
            if lagged {
                // Not a log: keep stdout one JSON log per line for whatever reads it.
                eprintln!("warning: {}", data.join(" "));
            } else if !data.is_empty() {
                writeln!(out, "{}", data.join("\n"))?;
                out.flush()?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
