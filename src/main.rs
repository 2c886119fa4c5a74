//! `rulebox`: one binary for the whole platform.

mod cli;
mod platform_config;

use clap::Parser;
use std::process::ExitCode;

/// The login path allocates many small, short-lived objects on several
/// threads (JSON values, headers, spans); glibc's malloc spent ~8% of the
/// refresh path's CPU in `_int_malloc`/`_int_free` and arena locking.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.log_format);
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
