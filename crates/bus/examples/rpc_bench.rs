//! Bus RPC round trips: the in-process bus (the embedded shape, the anchor) next to [`AmqpBus`]
//! over RabbitMQ (the distributed shape), measured in the same run on the same machine.
//!
//! ```text
//! cargo run --release -p voxbin-bus --example rpc_bench -- \
//!     [--url amqp://guest:guest@127.0.0.1:5672/%2f] [--sequential 2000] \
//!     [--callers 64] [--seconds 5] [--requests N]
//! ```
//!
//! For each bus it serves a trivial echo [`Router`] (one `POST /v1/echo` route answering its
//! body) and calls it through a [`BusClient`], as services do:
//! 1. sequential: `--sequential` round trips one after the other (after 200 warm-up calls);
//!    p50, p99 and max latency;
//! 2. concurrent: `--callers` callers in a loop for `--seconds` (or `--requests` round trips in
//!    all); round trips per second and p50/p99 latency.
//!
//! Every answer is checked against what was sent. The RabbitMQ queue is a durable quorum queue
//! named `bin-manager.voxbin-bench-<8 hex>-manager.request` (the adapter's naming, with a
//! `voxbin-bench-` service name); at the end the server is stopped, the bus closed and the
//! queue deleted. A run killed midway leaves that queue behind: find it by the
//! `voxbin-bench-` part of its name.

use lapin::options::QueueDeleteOptions;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use voxbin_bus::{AmqpBus, AmqpOptions, Bus, BusClient, Ctx, InProcBus, Method, Router};

const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const WARM_UP: usize = 200;
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

struct Args {
    url: String,
    sequential: usize,
    callers: usize,
    seconds: f64,
    requests: Option<u64>,
}

fn usage() -> String {
    format!(
        "usage: rpc_bench [--url URL] [--sequential N] [--callers N] [--seconds S] [--requests N]\n\
         defaults: --url {DEFAULT_URL} --sequential 2000 --callers 64 --seconds 5\n\
         (--requests N: the concurrent phase stops after N round trips in all instead of after S seconds)"
    )
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: DEFAULT_URL.to_owned(),
        sequential: 2000,
        callers: 64,
        seconds: 5.0,
        requests: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(usage());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--url" => args.url = value,
            "--sequential" => args.sequential = value.parse().map_err(|e| bad(&e))?,
            "--callers" => args.callers = value.parse().map_err(|e| bad(&e))?,
            "--seconds" => args.seconds = value.parse().map_err(|e| bad(&e))?,
            "--requests" => args.requests = Some(value.parse().map_err(|e| bad(&e))?),
            _ => return Err(format!("unknown option {flag}\n{}", usage())),
        }
    }
    if args.sequential == 0
        || args.callers == 0
        || args.requests == Some(0)
        || !args.seconds.is_finite()
        || args.seconds <= 0.0
    {
        return Err(format!(
            "--sequential, --callers, --seconds and --requests must be positive\n{}",
            usage()
        ));
    }
    Ok(args)
}

/// What one bus measured.
struct Figures {
    seq_p50: Duration,
    seq_p99: Duration,
    seq_max: Duration,
    conc_rate: f64,
    conc_p50: Duration,
    conc_p99: Duration,
    conc_calls: usize,
    conc_errors: u64,
}

/// The `p`-th percentile (nearest rank) of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn echo_router(service: &str) -> Router {
    Router::new(service).route(Method::Post, "/v1/echo", |ctx: Ctx| async move {
        ctx.body::<Value>()
    })
}

/// One round trip; an answer that is not the echo of what was sent is an error.
async fn round_trip(client: &BusClient, service: &str, n: u64) -> Result<(), String> {
    let body = json!({"n": n, "text": "hello"});
    let answer = client
        .call(service, Method::Post, "/v1/echo", Some(body.clone()))
        .await
        .map_err(|e| e.to_string())?;
    if answer == body {
        Ok(())
    } else {
        Err(format!("wrong echo: sent {body}, got {answer}"))
    }
}

/// Serves the echo router on `bus`, runs both phases, stops the server.
async fn measure(bus: Arc<dyn Bus>, service: &str, args: &Args) -> Result<Figures, String> {
    let router = echo_router(service);
    let server = bus
        .serve(&router.queue(), Arc::new(router))
        .await
        .map_err(|e| format!("cannot serve the echo router: {e}"))?;
    let client = BusClient::new(bus, "bench-caller", CALL_TIMEOUT);
    let result = phases(&client, service, args).await;
    server.shutdown().await;
    result
}

async fn phases(client: &BusClient, service: &str, args: &Args) -> Result<Figures, String> {
    for n in 0..WARM_UP as u64 {
        round_trip(client, service, n).await?;
    }

    // 1. Sequential: one call at a time.
    let mut samples = Vec::with_capacity(args.sequential);
    for n in 0..args.sequential as u64 {
        let started = Instant::now();
        round_trip(client, service, n).await?;
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    let (seq_p50, seq_p99) = (percentile(&samples, 50.0), percentile(&samples, 99.0));
    let seq_max = *samples.last().expect("at least one sample");

    // 2. Concurrent: `callers` tasks calling in a loop until the deadline or the request budget.
    let budget = args.requests.unwrap_or(u64::MAX);
    let issued = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    // The first error, kept for the message.
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = match args.requests {
        Some(_) => None,
        None => Some(started + Duration::from_secs_f64(args.seconds)),
    };
    let tasks: Vec<_> = (0..args.callers)
        .map(|_| {
            let (client, service) = (client.clone(), service.to_owned());
            let (issued, errors, first_error) =
                (issued.clone(), errors.clone(), first_error.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let n = issued.fetch_add(1, Ordering::Relaxed);
                    if n >= budget {
                        break;
                    }
                    let call_started = Instant::now();
                    match round_trip(&client, &service, n).await {
                        Ok(()) => latencies.push(call_started.elapsed()),
                        Err(error) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().get_or_insert(error);
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| format!("a caller failed: {e}"))?);
    }
    let elapsed = started.elapsed();
    if latencies.is_empty() {
        return Err(format!(
            "no concurrent call succeeded: {}",
            first_error.lock().take().unwrap_or_default()
        ));
    }
    if let Some(error) = first_error.lock().take() {
        eprintln!("first concurrent error ({service}): {error}");
    }
    latencies.sort_unstable();
    Ok(Figures {
        seq_p50,
        seq_p99,
        seq_max,
        conc_rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        conc_p50: percentile(&latencies, 50.0),
        conc_p99: percentile(&latencies, 99.0),
        conc_calls: latencies.len(),
        conc_errors: errors.load(Ordering::Relaxed),
    })
}

/// Deletes `queue` with a connection of its own; the bus offers no way to delete a queue.
async fn delete_queue(url: &str, queue: &str) -> Result<(), String> {
    let connection = lapin::Connection::connect(url, Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    let deleted = channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await
        .map_err(|e| e.to_string());
    let _ = connection.close(200, "bench cleaned up".into()).await;
    deleted.map(drop)
}

fn fmt_latency(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let service = format!(
        "voxbin-bench-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let queue = voxbin_bus::request_queue(&service);

    let inproc = InProcBus::new();
    let anchor = measure(Arc::new(inproc.clone()), &service, &args).await;
    inproc.close().await;
    let anchor = match anchor {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("in-process bus: {error}");
            return ExitCode::FAILURE;
        }
    };

    let amqp = match AmqpBus::connect(&args.url, AmqpOptions::default()).await {
        Ok(bus) => bus,
        Err(error) => {
            eprintln!("cannot connect to RabbitMQ: {error}");
            return ExitCode::FAILURE;
        }
    };
    let broker = measure(Arc::new(amqp.clone()), &service, &args).await;
    amqp.close().await;
    drop(amqp);
    let cleaned = delete_queue(&args.url, &queue).await;
    let broker = match broker {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("RabbitMQ bus: {error}");
            if let Err(e) = cleaned {
                eprintln!("could not delete {queue}: {e}");
            }
            return ExitCode::FAILURE;
        }
    };

    let concurrent = match args.requests {
        Some(n) => format!("{} callers, {n} round trips in all", args.callers),
        None => format!("{} callers for {} s", args.callers, args.seconds),
    };
    println!(
        "bus RPC round trips to an echo Router through BusClient, {} cores shared with the broker",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "sequential: {} calls after {WARM_UP} warm-up; concurrent: {concurrent}; AmqpBus defaults (prefetch {})",
        args.sequential,
        AmqpOptions::default().prefetch
    );
    println!();
    let rows: [(&str, String, String, String); 8] = [
        (
            "sequential p50",
            fmt_latency(anchor.seq_p50),
            fmt_latency(broker.seq_p50),
            ratio(broker.seq_p50.as_secs_f64(), anchor.seq_p50.as_secs_f64()),
        ),
        (
            "sequential p99",
            fmt_latency(anchor.seq_p99),
            fmt_latency(broker.seq_p99),
            ratio(broker.seq_p99.as_secs_f64(), anchor.seq_p99.as_secs_f64()),
        ),
        (
            "sequential max",
            fmt_latency(anchor.seq_max),
            fmt_latency(broker.seq_max),
            ratio(broker.seq_max.as_secs_f64(), anchor.seq_max.as_secs_f64()),
        ),
        (
            "concurrent round trips/s",
            format!("{:.0}", anchor.conc_rate),
            format!("{:.0}", broker.conc_rate),
            ratio(anchor.conc_rate, broker.conc_rate),
        ),
        (
            "concurrent messages/s (req+reply)",
            format!("{:.0}", 2.0 * anchor.conc_rate),
            format!("{:.0}", 2.0 * broker.conc_rate),
            String::new(),
        ),
        (
            "concurrent p50",
            fmt_latency(anchor.conc_p50),
            fmt_latency(broker.conc_p50),
            ratio(broker.conc_p50.as_secs_f64(), anchor.conc_p50.as_secs_f64()),
        ),
        (
            "concurrent p99",
            fmt_latency(anchor.conc_p99),
            fmt_latency(broker.conc_p99),
            ratio(broker.conc_p99.as_secs_f64(), anchor.conc_p99.as_secs_f64()),
        ),
        (
            "concurrent calls ok / errors",
            format!("{} / {}", anchor.conc_calls, anchor.conc_errors),
            format!("{} / {}", broker.conc_calls, broker.conc_errors),
            String::new(),
        ),
    ];
    println!(
        "{:<34} {:>20} {:>20} {:>9}",
        "", "in-process (anchor)", "RabbitMQ (AmqpBus)", "slower"
    );
    for (name, a, b, r) in rows {
        println!("{name:<34} {a:>20} {b:>20} {r:>9}");
    }
    println!();
    match cleaned {
        Ok(()) => println!("cleaned up: server stopped, bus closed, queue {queue} deleted"),
        Err(e) => println!("could not delete queue {queue} ({e}); delete it by hand"),
    }
    if anchor.conc_errors + broker.conc_errors > 0 {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// How many times worse `worse` is than `better`, e.g. `31.2x`.
fn ratio(worse: f64, better: f64) -> String {
    if better > 0.0 {
        format!("{:.1}x", worse / better)
    } else {
        String::new()
    }
}
