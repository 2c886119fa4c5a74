//! `rulebox actions deploy|test|rollback`: the tenant's Actions from a
//! terminal, through the Management API (so against any rulebox, local or
//! remote), with progress on stderr and results as JSON on stdout.

use super::mgmt_client::{MgmtClient, TenantAccess};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ActionsArgs {
    #[command(subcommand)]
    pub command: ActionsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// Upload a JavaScript Action (create or update by name), deploy it and bind it to the
    /// trigger (appended if not bound yet).
    Deploy {
        file: PathBuf,
        #[arg(long, default_value = "post-login")]
        trigger: String,
        /// The Action's name (default: the file name without extension).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        access: TenantAccess,
    },
    /// Run the file's code server-side against an event, with the tenant's limits (the
    /// Action's draft is updated, not deployed).
    Test {
        file: PathBuf,
        #[arg(long)]
        event: PathBuf,
        #[arg(long, default_value = "post-login")]
        trigger: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        access: TenantAccess,
    },
    /// Deploy an earlier version again (default: the one before the deployed one).
    Rollback {
        name: String,
        /// Version number to deploy.
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        access: TenantAccess,
    },
}

fn step(msg: &str) {
    eprintln!("==> {msg}");
}

fn action_name(file: &Path, name: &Option<String>) -> anyhow::Result<String> {
    match name {
        Some(n) => Ok(n.clone()),
        None => file
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_owned)
            .context("cannot take a name from the file name; pass --name"),
    }
}

/// Creates the Action or updates its draft; returns its id.
async fn upsert(c: &MgmtClient, name: &str, code: &str, trigger: &str) -> anyhow::Result<String> {
    match action_id(c, name).await? {
        Some(id) => {
            step(&format!("updating the draft of {name} ({id})"));
            c.call(
                Method::PATCH,
                &format!("actions/actions/{id}"),
                Some(json!({"code": code})),
            )
            .await?;
            Ok(id)
        }
        None => {
            step(&format!("creating {name}"));
            let a = c
                .call(
                    Method::POST,
                    "actions/actions",
                    Some(json!({"name": name, "code": code,
                    "supported_triggers": [{"id": trigger, "version": "v3"}]})),
                )
                .await?;
            a["id"]
                .as_str()
                .map(str::to_owned)
                .context("no id in the created Action")
        }
    }
}

/// The id of the Action named `name`, asked of the server by name: a list
/// of all Actions would be only its first page.
async fn action_id(c: &MgmtClient, name: &str) -> anyhow::Result<Option<String>> {
    let list = c.get("actions/actions", &[("actionName", name)]).await?;
    Ok(list["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == name)
        .and_then(|a| a["id"].as_str())
        .map(str::to_owned))
}

async fn find(c: &MgmtClient, name: &str) -> anyhow::Result<String> {
    action_id(c, name)
        .await?
        .with_context(|| format!("no Action named {name}"))
}

pub fn actions(args: ActionsArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args.command))
}

async fn run(cmd: ActionsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ActionsCommand::Deploy {
            file,
            trigger,
            name,
            access,
        } => {
            let code = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let name = action_name(&file, &name)?;
            let c = MgmtClient::connect(&access).await?;
            let id = upsert(&c, &name, &code, &trigger).await?;
            step("deploying");
            let version = c
                .call(Method::POST, &format!("actions/actions/{id}/deploy"), None)
                .await?;
            // Binding replaces the whole list, so every page of it is read first.
            let bindings = c
                .list_all(&format!("actions/triggers/{trigger}/bindings"), "bindings")
                .await?;
            let mut refs: Vec<Value> = bindings
                .iter()
                .filter_map(|b| b["action"]["id"].as_str().map(|a| json!({"ref": {"type": "action_id", "value": a}, "display_name": b["display_name"]})))
                .collect();
            if refs.iter().any(|r| r["ref"]["value"] == id) {
                step(&format!("already bound to {trigger}"));
            } else {
                refs.push(json!({"ref": {"type": "action_id", "value": id}, "display_name": name}));
                step(&format!("binding to {trigger} at position {}", refs.len()));
                c.call(
                    Method::PATCH,
                    &format!("actions/triggers/{trigger}/bindings"),
                    Some(json!({"bindings": refs})),
                )
                .await?;
            }
            println!(
                "{}",
                json!({"id": id, "name": name, "version": version["number"], "trigger": trigger})
            );
            Ok(ExitCode::SUCCESS)
        }
        ActionsCommand::Test {
            file,
            event,
            trigger,
            name,
            access,
        } => {
            let code = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let payload: Value = serde_json::from_str(
                &std::fs::read_to_string(&event)
                    .with_context(|| format!("reading {}", event.display()))?,
            )
            .with_context(|| format!("{} is not JSON", event.display()))?;
            let name = action_name(&file, &name)?;
            let c = MgmtClient::connect(&access).await?;
            let id = upsert(&c, &name, &code, &trigger).await?;
            step("running on the server with the tenant's limits");
            let result = c
                .call(
                    Method::POST,
                    &format!("actions/actions/{id}/test"),
                    Some(json!({"payload": payload})),
                )
                .await?;
            println!("{}", result["payload"]);
            Ok(if result["payload"]["outcome"] == "ok" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ActionsCommand::Rollback {
            name,
            version,
            access,
        } => {
            let c = MgmtClient::connect(&access).await?;
            let id = find(&c, &name).await?;
            let list = c
                .list_all(&format!("actions/actions/{id}/versions"), "versions")
                .await?;
            let deployed = list
                .iter()
                .find(|v| v["deployed"] == true)
                .and_then(|v| v["number"].as_u64());
            let want = match (version, deployed) {
                (Some(n), _) => u64::from(n),
                (None, Some(d)) if d > 1 => d - 1,
                _ => bail!("no earlier version to roll back to; pass --version"),
            };
            let target = list
                .iter()
                .find(|v| v["number"].as_u64() == Some(want))
                .and_then(|v| v["id"].as_str())
                .with_context(|| format!("{name} has no version {want}"))?;
            step(&format!("deploying version {want} of {name}"));
            c.call(
                Method::POST,
                &format!("actions/actions/{id}/versions/{target}/deploy"),
                None,
            )
            .await?;
            println!("{}", json!({"id": id, "name": name, "version": want}));
            Ok(ExitCode::SUCCESS)
        }
    }
}
