//! The subcommands.

mod customer;
mod demo;

use crate::cli::{Cli, Command, ConfigArgs, CustomerCommand};
use std::process::ExitCode;
use voxbin_core::config::{self, Config};

/// Exit status for bad configuration or usage.
pub const EXIT_CONFIG: u8 = 2;

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Roles => {
            for (name, about) in crate::roles::all() {
                println!("{name:<12} {about}");
            }
            ExitCode::SUCCESS
        }
        Command::Config(args) => match load(&args) {
            Ok(c) => match toml::to_string_pretty(&c.masked()) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("voxbin: cannot print the configuration: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(code) => code,
        },
        Command::Migrate(args) => match load(&args) {
            Ok(c) => crate::serve::migrate(c).await,
            Err(code) => code,
        },
        Command::Customer { command } => match command {
            CustomerCommand::Create {
                name,
                username,
                password,
                config,
            } => match load(&config) {
                Ok(c) => customer::create(c, &name, &username, &password).await,
                Err(code) => code,
            },
            CustomerCommand::List { config } => match load(&config) {
                Ok(c) => customer::list(c).await,
                Err(code) => code,
            },
        },
        Command::Demo(args) => demo::run(args).await,
        Command::Serve(args) => match load(&args) {
            Ok(c) => crate::serve::run(c).await,
            Err(code) => code,
        },
    }
}

/// Loads and checks configuration, printing the problem and giving exit code 2 on failure.
fn load(args: &ConfigArgs) -> Result<Config, ExitCode> {
    let fail = |msg: String| {
        eprintln!("voxbin: {msg}");
        ExitCode::from(EXIT_CONFIG)
    };
    let sources = args.sources().map_err(fail)?;
    let c = config::load(&sources).map_err(|e| fail(e.to_string()))?;
    crate::roles::resolve(&c.roles).map_err(|e| fail(format!("config error: key `roles`: {e}")))?;
    Ok(c)
}
