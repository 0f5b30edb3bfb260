//! cachecat: a Redis-protocol key-value cache. This file only reads the
//! configuration, sets up logging and hands over to the server.

mod alloc;
mod apply;
mod clock;
mod commands;
mod config;
mod conn;
mod core;
mod faults;
mod local;
mod net;
mod pubsub;
mod raft;
mod sequencer;
mod server;
mod shared;
mod snapshot;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match config::Config::from_args(&args) {
        Ok(Some(cfg)) => cfg,
        Ok(None) => return Ok(()),
        Err(e) => {
            eprintln!("cachecat: {e} (try --help)");
            std::process::exit(2);
        }
    };
    let level = match cfg.loglevel.as_str() {
        "debug" => "debug",
        "verbose" => "info",
        "warning" | "nothing" => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                // openraft narrates every election at info level.
                tracing_subscriber::EnvFilter::new(format!("{level},openraft=warn"))
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    server::run(cfg)
}
