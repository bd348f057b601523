//! Command-line interface.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use voxbin_core::config::Sources;

/// Voxbin: a self-hostable programmable voice platform.
#[derive(Parser, Debug)]
#[command(name = "voxbin", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the platform (all roles unless --role is given).
    Serve(ConfigArgs),
    /// List the roles a process can run.
    Roles,
    /// Apply database migrations and exit.
    Migrate(ConfigArgs),
    /// Print the effective configuration, secrets masked.
    Config(ConfigArgs),
    /// Start a throwaway platform and call an IVR on it from a built-in phone.
    Demo(DemoArgs),
    /// Manage customers from the command line (operator tool).
    Customer {
        #[command(subcommand)]
        command: CustomerCommand,
    },
}

/// `voxbin demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Data directory of the demo platform (a new temporary one when absent).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The digit the phone presses at the menu: 1 (sales) or 2 (support).
    #[arg(long, default_value = "1")]
    pub digit: String,
}

/// `voxbin customer ...`.
#[derive(Subcommand, Debug)]
pub enum CustomerCommand {
    /// Create a customer with an admin login and an access key; prints JSON (the key's token
    /// appears only here).
    Create {
        /// Customer name.
        #[arg(long)]
        name: String,
        /// Login name of the customer's first admin.
        #[arg(long)]
        username: String,
        /// Password of that admin (8 to 128 characters).
        #[arg(long)]
        password: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List customers as JSON.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// Flags shared by every command that reads configuration. Precedence: defaults < file <
/// environment < these flags.
#[derive(Args, Debug, Default)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "VOXBIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Run only this role (repeatable); see `voxbin roles`.
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    /// `embedded` or `production` defaults.
    #[arg(long)]
    pub profile: Option<String>,
    /// Data directory (SQLite file, recordings, certificates).
    #[arg(long)]
    pub data_dir: Option<String>,
    /// Database DSN: sqlite://path or mysql://user:pass@host:port/db.
    #[arg(long)]
    pub database: Option<String>,
    /// Bus: inproc or amqp://user:pass@host:port.
    #[arg(long)]
    pub bus: Option<String>,
    /// Cache: memory or redis://host:port.
    #[arg(long)]
    pub cache: Option<String>,
    /// API listen address (host:port).
    #[arg(long)]
    pub api_listen: Option<String>,
    /// Health listen address (host:port).
    #[arg(long)]
    pub health_listen: Option<String>,
    /// Metrics listen address (host:port).
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// SIP listen address (host:port).
    #[arg(long)]
    pub sip_listen: Option<String>,
    /// Set any key: --set section.key=value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ConfigArgs {
    /// The configuration sources these flags describe, with the process environment.
    pub fn sources(&self) -> Result<Sources, String> {
        let mut flags = Vec::new();
        let mut push = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                flags.push((k.to_string(), v.clone()));
            }
        };
        push("profile", &self.profile);
        push("data_dir", &self.data_dir);
        push("database.dsn", &self.database);
        push("bus.address", &self.bus);
        push("cache.address", &self.cache);
        push("api.listen", &self.api_listen);
        push("health.listen", &self.health_listen);
        push("metrics.listen", &self.metrics_listen);
        push("sip.listen", &self.sip_listen);
        for kv in &self.set {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                format!("--set {kv:?}: expected KEY=VALUE, e.g. --set api.listen=127.0.0.1:8000")
            })?;
            flags.push((k.trim().to_string(), v.to_string()));
        }
        if !self.roles.is_empty() {
            flags.push(("roles".into(), self.roles.join(",")));
        }
        Ok(Sources {
            file: self.config.clone(),
            env: std::env::vars().collect(),
            flags,
        })
    }
}
