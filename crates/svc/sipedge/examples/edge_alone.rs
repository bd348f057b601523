//! The edge alone (in-process bus, memory cache) for profiling its call path without the rest
//! of `voxbin serve`: `cargo run --release -p voxbin-svc-sipedge --example edge_alone --
//! 127.0.0.1:15190 127.0.0.1:15192` (listen address, media node), stopped with Ctrl-C.

use std::sync::Arc;
use voxbin_bus::InProcBus;
use voxbin_cache::MemoryCache;
use voxbin_core::config::Config;
use voxbin_core::shutdown::Shutdown;
use voxbin_svc_sipedge::{EdgeDeps, SipEdge};

// The allocator `voxbin` runs with, so the profile is the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:15190".into());
    let node = args.next().unwrap_or_else(|| "127.0.0.1:15192".into());
    let mut config = Config::default();
    config.sip.listen = listen;
    config.sip.media_nodes = vec![node];
    config.sip.rate_limit_ip_per_sec = 1_000_000;
    config.sip.rate_limit_ip_burst = 1_000_000;
    let shutdown = Shutdown::new();
    let edge = SipEdge::start(EdgeDeps {
        bus: Arc::new(InProcBus::new()),
        cache: Arc::new(MemoryCache::new(10_000)),
        config: Arc::new(config),
        shutdown: shutdown.clone(),
        tls_files: None,
    })
    .await;
    let edge = match edge {
        Ok(edge) => edge,
        Err(e) => {
            eprintln!("edge_alone: {}", e.message);
            std::process::exit(1);
        }
    };
    let _ = tokio::signal::ctrl_c().await;
    shutdown.begin();
    edge.stopped().await;
}
