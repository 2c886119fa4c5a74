//! `rulebox config check [FILE]` and the `--config FILE` option the servers share.

use crate::platform_config::{ConfigError, PlatformConfig};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// `--config FILE`, flattened into every server command.
#[derive(Debug, Clone, Args)]
pub struct ConfigFile {
    /// Platform configuration (TOML). `RULEBOX_<SECTION>__<KEY>` environment variables
    /// override its keys; command-line flags override both.
    #[arg(long = "config", env = "RULEBOX_CONFIG", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

impl ConfigFile {
    /// The file (if any) with the process environment applied, validated.
    pub fn load(&self) -> anyhow::Result<PlatformConfig> {
        PlatformConfig::load(self.path.as_deref(), std::env::vars())
            .map_err(|e| anyhow::anyhow!("invalid configuration:\n{e}"))
    }
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file (with the environment's overrides applied): prints
    /// every problem and exits 1, or prints the effective configuration and exits 0.
    Check {
        /// The TOML file; without it, the built-in defaults and the environment are checked.
        file: Option<PathBuf>,
        /// Print nothing when the configuration is valid.
        #[arg(long, short)]
        quiet: bool,
    },
}

pub fn config(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ConfigCommand::Check { file, quiet } => {
            match PlatformConfig::load(file.as_deref(), std::env::vars()) {
                Ok(config) => {
                    if !quiet {
                        let name = file
                            .as_deref()
                            .map_or_else(|| "defaults".to_owned(), |p| p.display().to_string());
                        println!("# {name}: ok; the effective configuration:");
                        print!("{}", toml::to_string(&config)?);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let problems = match &e {
                        ConfigError::Invalid(list) => list.len(),
                        _ => 1,
                    };
                    eprintln!("{e}");
                    eprintln!(
                        "configuration refused: {problems} problem{}",
                        if problems == 1 { "" } else { "s" }
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
