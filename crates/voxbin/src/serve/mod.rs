//! `voxbin serve` and `voxbin migrate`: start-up, the role wiring, and graceful shutdown.

mod bootstrap;
mod deps;

pub use deps::{open_cache, open_db};
mod health;
mod listen;
mod media;
mod rtprelay;
mod secrets;
mod sip;
mod tls;

use health::Readiness;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use voxbin_api::auth::Authenticator;
use voxbin_api::limits::RateLimiter;
use voxbin_api::ApiState;
use voxbin_bus::BusClient;
use voxbin_core::config::Config;
use voxbin_core::shutdown::{Shutdown, Token};
use voxbin_core::telemetry::{init_logging, LogFormat};
use voxbin_services::Deps;

fn init_logs(config: &Config) {
    init_logging(
        &config.log.level,
        LogFormat::parse(&config.log.format).unwrap_or(LogFormat::Auto),
    );
}

/// Applies migrations and reports what ran.
pub async fn migrate(config: Config) -> ExitCode {
    init_logs(&config);
    let db = match deps::open_db(&config).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("voxbin: {e}");
            return ExitCode::FAILURE;
        }
    };
    match db.migrate().await {
        Ok(applied) if applied.is_empty() => println!("database is up to date"),
        Ok(applied) => {
            for m in applied {
                println!("applied {m}");
            }
        }
        Err(e) => {
            eprintln!("voxbin: migration failed: {}", e.message);
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Runs the configured roles until SIGTERM or Ctrl-C, then drains and exits.
pub async fn run(config: Config) -> ExitCode {
    let started = Instant::now();
    init_logs(&config);
    match serve(Arc::new(config), started).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "voxbin could not start");
            eprintln!("voxbin: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Arc<Config>, started: Instant) -> Result<(), String> {
    let roles = crate::roles::resolve(&config.roles)?;
    let shutdown = Shutdown::new();
    let grace = Duration::from_secs(config.shutdown.grace_period_secs);
    let readiness = Readiness::new(shutdown.clone());

    // Probes answer first, so an orchestrator sees "alive, not ready" during start-up.
    let health = listen::bind("health.listen", &config.health.listen).await?;
    let metrics = listen::bind("metrics.listen", &config.metrics.listen).await?;
    let api = match roles.iter().any(|r| r == "api") && !config.api.listen.is_empty() {
        true => Some(listen::bind("api.listen", &config.api.listen).await?),
        false => None,
    };
    let stop_probes = Token::new();
    let health_task = listen::spawn(
        health,
        health::health_app(readiness.clone()),
        stop_probes.clone(),
    );
    let metrics_task = listen::spawn(metrics, health::metrics_app(), stop_probes.clone());

    let db = Arc::new(deps::open_db(&config).await?);
    if config.profile == "embedded" {
        // Embedded installs migrate themselves; production runs `voxbin migrate` as a job.
        let applied = db
            .migrate()
            .await
            .map_err(|e| format!("migration failed: {}", e.message))?;
        for m in applied {
            tracing::info!(migration = %m, "applied migration");
        }
    }
    let bus = deps::open_bus(&config).await?;
    let cache = deps::open_cache(&config).await?;
    let deps = Deps {
        bus: bus.clone(),
        db: db.clone(),
        cache,
        config: config.clone(),
    };

    let mut consumers = Vec::new();
    for role in roles.iter().filter(|r| crate::roles::is_service(r)) {
        consumers.push(
            voxbin_services::start_service(role, &deps)
                .await
                .map_err(|e| format!("role {role}: {}", e.message))?,
        );
    }
    let _sip_edge = sip::start(&roles, &config, &deps, &shutdown).await?;
    let rtp_relay = rtprelay::start(&roles, &config, &bus).await?;
    media::start(&roles, &config, &deps, &shutdown).await?;
    let jwt_secret = secrets::jwt_secret(&config, &db).await?;

    let wants_api = roles.iter().any(|r| r == "api");
    let events = match wants_api {
        true => voxbin_api::ws::Hub::start(bus.clone(), voxbin_services::SERVICES)
            .await
            .map_err(|e| format!("websocket events: {}", e.message))?,
        false => voxbin_api::ws::Hub::new(),
    };
    let streams = match wants_api && !config.api.audiosocket_listen.is_empty() {
        true => {
            voxbin_api::stream::Streams::bind(
                &config.api.audiosocket_listen,
                &config.api.audiosocket_advertise,
                shutdown.draining_token(),
            )
            .await?
        }
        false => voxbin_api::stream::Streams::disabled(),
    };
    let api_state = wants_api.then(|| {
        let a = &config.api;
        ApiState {
            bus: BusClient::new(
                bus.clone(),
                "api-manager",
                Duration::from_millis(config.bus.rpc_timeout_ms),
            ),
            config: config.clone(),
            shutdown: shutdown.clone(),
            auth: Authenticator::new(
                jwt_secret.clone(),
                Duration::from_secs(config.auth.token_ttl_secs),
                deps.cache.clone(),
            ),
            limits: Arc::new(
                RateLimiter::new(
                    a.rate_limit_ip_per_sec,
                    a.rate_limit_ip_burst,
                    a.rate_limit_customer_per_sec,
                    a.rate_limit_customer_burst,
                )
                .shared(deps.cache.clone()),
            ),
            events,
            streams,
        }
    });
    let api_task = match (api, &api_state) {
        (Some(listener), Some(state)) => Some(listen::spawn(
            listener,
            voxbin_api::app(state.clone()),
            shutdown.draining_token(),
        )),
        _ => None,
    };
    let mut tls_files = None;
    let tls_task = match (&api_state, config.api.tls_listen.is_empty()) {
        (Some(state), false) => {
            let files = tls::files(&config)?;
            let task = tls::spawn(
                &config.api.tls_listen,
                &files,
                voxbin_api::app(state.clone()),
                shutdown.draining_token(),
                grace,
            )
            .await?;
            tls_files = Some(files);
            Some(task)
        }
        _ => None,
    };

    let credentials = if config.profile == "embedded"
        && ["customer", "agent"]
            .iter()
            .all(|r| roles.iter().any(|x| x == r))
    {
        let client = BusClient::new(
            bus.clone(),
            "voxbin",
            Duration::from_millis(config.bus.rpc_timeout_ms.max(10_000)),
        );
        Some(bootstrap::ensure(&db, &client).await?)
    } else {
        None
    };
    // Ready only once every listener serves.
    readiness.set_deps(deps.clone());
    print_banner(
        &config,
        &roles,
        tls_files.as_ref(),
        credentials.as_ref(),
        started.elapsed(),
    );
    tracing::info!(roles = %roles.join(","), startup_ms = started.elapsed().as_millis() as u64, "voxbin ready");

    shutdown.wait_for_signal().await;
    let deadline = Instant::now() + grace;
    for task in api_task.into_iter().chain(tls_task) {
        // The API servers stop accepting at once and wait for requests in flight.
        if tokio::time::timeout_at(deadline.into(), task)
            .await
            .is_err()
        {
            tracing::warn!("API requests still running at the end of the grace period");
        }
    }
    for c in consumers {
        c.stop();
    }
    rtprelay::stop(
        rtp_relay,
        deadline.saturating_duration_since(Instant::now()),
    )
    .await;
    let left = deadline.saturating_duration_since(Instant::now());
    if !shutdown.drain(left).await {
        tracing::warn!("work still running at the end of the grace period");
    }
    bus.close().await;
    db.close().await;
    stop_probes.cancel();
    let _ = tokio::join!(health_task, metrics_task);
    tracing::info!("voxbin stopped");
    Ok(())
}

fn print_banner(
    config: &Config,
    roles: &[String],
    tls: Option<&tls::TlsFiles>,
    credentials: Option<&bootstrap::Credentials>,
    took: Duration,
) {
    let all = roles.len() == crate::roles::all().len();
    println!(
        "Voxbin is ready in {} ms ({} shape, roles: {})",
        took.as_millis(),
        config.profile,
        if all {
            "all".to_string()
        } else {
            roles.join(", ")
        }
    );
    if roles.iter().any(|r| r == "api") && !config.api.listen.is_empty() {
        println!("  REST API   http://{}/v1.0/", config.api.listen);
    }
    if let Some(files) = tls {
        let note = if files.self_signed {
            " (self-signed certificate: "
        } else {
            " (certificate: "
        };
        println!(
            "  REST API   https://{}/v1.0/{note}{})",
            config.api.tls_listen,
            files.cert.display()
        );
    }
    println!(
        "  health     http://{}/health  http://{}/ready",
        config.health.listen, config.health.listen
    );
    println!("  metrics    http://{}/metrics", config.metrics.listen);
    println!(
        "  database   {}",
        voxbin_core::config::mask_url(&config.database_dsn())
    );
    match credentials {
        Some(bootstrap::Credentials::Created {
            customer_id,
            accesskey,
            username,
            password,
        }) => {
            println!("  first start: created customer {customer_id} with these credentials (shown only now):");
            println!("    access key  {accesskey}");
            println!(
                "                e.g. curl 'http://{}/v1.0/flows?accesskey={accesskey}'",
                config.api.listen
            );
            println!("    login       {username} / {password}  (POST /auth/login gives a token; super-admin)");
        }
        Some(bootstrap::Credentials::Existing) | None if roles.iter().any(|r| r == "api") => {
            println!("  authenticate with ?accesskey=<key> or Authorization: Bearer <token from POST /auth/login>;");
            println!("  a new customer and key: voxbin customer create --name N --username U --password P");
        }
        _ => {}
    }
    println!(
        "  stop with Ctrl-C (or SIGTERM); work in flight gets {} s to finish",
        config.shutdown.grace_period_secs
    );
}
