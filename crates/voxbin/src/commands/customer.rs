//! `voxbin customer create|list`: operator access to the customer service without the API.
//!
//! The command opens the configured database (migrating an embedded one) and runs the
//! customer and agent services on a private in-process bus, so it works whether or not a
//! `voxbin serve` is running against the same database.

use crate::serve;
use std::process::ExitCode;
use std::sync::Arc;
use voxbin_core::config::Config;
use voxbin_services::{start_service, Deps};

async fn open(config: Config) -> Result<(Deps, Vec<voxbin_bus::Consumer>), String> {
    let config = Arc::new(config);
    let db = Arc::new(serve::open_db(&config).await?);
    if config.profile == "embedded" {
        db.migrate()
            .await
            .map_err(|e| format!("migration failed: {}", e.message))?;
    }
    let deps = Deps {
        bus: Arc::new(voxbin_bus::InProcBus::new()),
        db,
        cache: serve::open_cache(&config).await?,
        config,
    };
    let mut consumers = Vec::new();
    for name in ["customer", "agent"] {
        consumers.push(
            start_service(name, &deps)
                .await
                .map_err(|e| format!("{name}: {}", e.message))?,
        );
    }
    Ok((deps, consumers))
}

fn print_json(v: &serde_json::Value) -> ExitCode {
    match serde_json::to_string_pretty(v) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("voxbin: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Creates a customer with an admin login and a first access key.
pub async fn create(config: Config, name: &str, username: &str, password: &str) -> ExitCode {
    let (deps, _consumers) = match open(config).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("voxbin: {e}");
            return ExitCode::FAILURE;
        }
    };
    match voxbin_svc_customer::create_customer_with_key(&deps, name, username, password).await {
        Ok(v) => print_json(&v),
        Err(e) => {
            eprintln!(
                "voxbin: cannot create the customer: {} ({})",
                e.message, e.reason
            );
            ExitCode::from(if e.http_status() < 500 { 2 } else { 1 })
        }
    }
}

/// Lists customers.
pub async fn list(config: Config) -> ExitCode {
    let (deps, _consumers) = match open(config).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("voxbin: {e}");
            return ExitCode::FAILURE;
        }
    };
    match voxbin_svc_customer::list_customers(&deps).await {
        Ok(v) => print_json(&serde_json::Value::Array(v)),
        Err(e) => {
            eprintln!("voxbin: cannot list customers: {}", e.message);
            ExitCode::FAILURE
        }
    }
}
