//! `voxbin`: the whole platform in one binary.
//!
//! `voxbin serve` runs every role in one process (embedded shape); `voxbin serve --role <name>`
//! runs only the named roles (distributed shape). The other subcommands are operator tools.

mod cli;
mod commands;
mod roles;
mod serve;

use clap::Parser;
use std::process::ExitCode;

// Per-thread free lists: the SIP edge allocates per message (bench/sip-edge.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("voxbin: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(commands::run(cli))
}
