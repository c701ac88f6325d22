//! `strom-broker server.properties [--override key=value]...`, like `kafka-server-start.sh`.

use std::path::PathBuf;

use clap::Parser;
use strom_broker::BrokerConfig;

/// Strom's Kafka-protocol broker.
#[derive(Parser, Debug)]
#[command(name = "strom-broker", version, about)]
struct Args {
    /// A server.properties file with Kafka's property names.
    config: Option<PathBuf>,
    /// Override a property: --override key=value (repeatable).
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = BrokerConfig::load(args.config.as_deref(), &args.overrides)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let broker = strom_broker::start(config).await?;
        for addr in broker.listen_addrs() {
            println!("[strom-broker] listening on {addr}");
        }
        println!(
            "[strom-broker] started, listening on {} (bootstrap.servers={})",
            broker
                .listen_addrs()
                .first()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            broker.bootstrap_servers()
        );
        shutdown_signal().await;
        broker.shutdown().await
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
