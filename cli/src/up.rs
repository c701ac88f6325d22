//! `strom up`: run Strom on this machine, in this process, until Ctrl-C.
//!
//! Today that is the broker (Kafka API, port 9092), the schema registry
//! (port 8081, state in the broker's `_schemas` topic), the REST proxy
//! (port 8082) and a Connect worker (port 8083, distributed mode with one
//! worker, so connectors, offsets and status live in the broker's
//! `connect-*` topics and survive a restart); SQL joins here when it is
//! built.
//! Everything listens on `localhost` only: this is a laptop set-up.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use strom_broker::BrokerConfig;
use strom_connect::WorkerConfig;
use strom_rest_proxy::ProxyConfig;
use strom_schema_registry::RegistryConfig;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Directory holding all of Strom's data (created if missing).
    #[arg(
        long,
        value_name = "DIR",
        env = "STROM_DATA_DIR",
        default_value = "./strom-data"
    )]
    pub data_dir: PathBuf,

    /// Port of the broker's Kafka API (0 picks a free port).
    #[arg(
        long,
        value_name = "PORT",
        env = "STROM_BROKER_PORT",
        default_value_t = 9092
    )]
    pub broker_port: u16,

    /// Port of the schema registry's REST API (0 picks a free port).
    #[arg(
        long,
        value_name = "PORT",
        env = "STROM_SCHEMA_REGISTRY_PORT",
        default_value_t = 8081
    )]
    pub schema_registry_port: u16,

    /// Port of the REST proxy (0 picks a free port).
    #[arg(
        long,
        value_name = "PORT",
        env = "STROM_REST_PROXY_PORT",
        default_value_t = 8082
    )]
    pub rest_proxy_port: u16,

    /// Port of the Connect worker's REST API (0 picks a free port).
    #[arg(
        long,
        value_name = "PORT",
        env = "STROM_CONNECT_PORT",
        default_value_t = 8083
    )]
    pub connect_port: u16,
}

/// One line of the banner: `  NAME<padding>listening on ADDRESS`.
pub fn service_line(name: &str, address: &str) -> String {
    format!("  {name:<20} listening on {address}")
}

/// What `strom up` prints once everything is listening.
pub fn banner(data_dir: &str, services: &[(&str, String)]) -> String {
    let mut out = format!("Strom {}\n", env!("CARGO_PKG_VERSION"));
    out.push_str(&format!("  {:<20} {data_dir}\n", "data directory"));
    for (name, address) in services {
        out.push_str(&service_line(name, address));
        out.push('\n');
    }
    out.push_str("Strom is up. Press Ctrl-C to stop.\n");
    out
}

pub async fn run(args: UpArgs) -> Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let mut config = BrokerConfig::local(&args.data_dir, args.broker_port);
    // One laptop, one member per group at start: no reason to wait 3 s for more
    // to join (Confluent's own local stacks set this to 0 too).
    config
        .props
        .entry("group.initial.rebalance.delay.ms".to_string())
        .or_insert_with(|| "0".to_string());
    let broker = strom_broker::start(config)
        .await
        .context("the broker did not start")?;
    tracing::info!(addrs = ?broker.listen_addrs(), "broker listening");

    let mut sr_config = RegistryConfig::local(&broker.bootstrap_servers());
    sr_config.listener = format!("http://localhost:{}", args.schema_registry_port);
    let registry = match strom_schema_registry::start(sr_config).await {
        Ok(registry) => registry,
        Err(e) => {
            let _ = broker.shutdown().await;
            return Err(anyhow::Error::new(e).context("the schema registry did not start"));
        }
    };
    let registry_url = format!("http://{}", registry.local_addr());

    let mut proxy_config = ProxyConfig::local(&broker.bootstrap_servers());
    proxy_config.listener = format!("http://localhost:{}", args.rest_proxy_port);
    proxy_config.schema_registry_url = Some(registry_url.clone());
    let proxy = match strom_rest_proxy::start(proxy_config).await {
        Ok(proxy) => proxy,
        Err(e) => {
            let _ = registry.shutdown().await;
            let _ = broker.shutdown().await;
            return Err(anyhow::Error::new(e).context("the REST proxy did not start"));
        }
    };

    let connect = match start_connect(&broker.bootstrap_servers(), args.connect_port).await {
        Ok(connect) => connect,
        Err(e) => {
            let _ = proxy.shutdown().await;
            let _ = registry.shutdown().await;
            let _ = broker.shutdown().await;
            return Err(e.context("the Connect worker did not start"));
        }
    };

    let text = banner(
        &args.data_dir.display().to_string(),
        &[
            ("broker (Kafka API)", broker.bootstrap_servers()),
            ("schema registry", registry_url),
            ("REST proxy", format!("http://{}", proxy.local_addr())),
            ("Connect", format!("http://{}", connect.local_addr())),
        ],
    );
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    drop(stdout);

    let signal = shutdown_signal().await?;
    tracing::info!("{signal}: shutting down");
    // A second signal while shutting down stops at once.
    tokio::spawn(async {
        if let Ok(signal) = shutdown_signal().await {
            eprintln!("{signal} again: stopping without a clean shutdown");
            std::process::exit(130);
        }
    });
    // The broker's clients first.
    let connect_stopped = connect.shutdown().await;
    let proxy_stopped = proxy.shutdown().await;
    let registry_stopped = registry.shutdown().await;
    broker.shutdown().await.context("clean shutdown failed")?;
    connect_stopped.context("the Connect worker did not stop cleanly")?;
    proxy_stopped.context("the REST proxy did not stop cleanly")?;
    registry_stopped.context("the schema registry did not stop cleanly")?;
    println!("Strom stopped.");
    Ok(())
}

/// A one-worker Connect cluster (distributed mode, group `strom-connect`),
/// with the internal topics at replication factor 1, as Confluent's
/// single-broker stacks configure it.
async fn start_connect(bootstrap: &str, port: u16) -> Result<strom_connect::RunningWorker> {
    let props = [
        ("bootstrap.servers", bootstrap.to_string()),
        ("listeners", format!("http://localhost:{port}")),
        ("group.id", "strom-connect".to_string()),
        ("config.storage.topic", "connect-configs".to_string()),
        ("offset.storage.topic", "connect-offsets".to_string()),
        ("status.storage.topic", "connect-status".to_string()),
        ("config.storage.replication.factor", "1".to_string()),
        ("offset.storage.replication.factor", "1".to_string()),
        ("status.storage.replication.factor", "1".to_string()),
        ("offset.flush.interval.ms", "10000".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = WorkerConfig::from_properties("distributed", props)?;
    Ok(strom_connect::start(config, Vec::new()).await?)
}

/// Wait for Ctrl-C (SIGINT) or SIGTERM; returns which one came.
async fn shutdown_signal() -> Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map(|()| "interrupted").context("cannot listen for Ctrl-C"),
            _ = term.recv() => Ok("terminated"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")?;
        Ok("interrupted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_lists_the_broker() {
        let text = banner(
            "./strom-data",
            &[("broker (Kafka API)", "localhost:9092".to_string())],
        );
        assert!(text.starts_with("Strom "));
        assert!(text.contains("  broker (Kafka API)   listening on localhost:9092\n"));
        assert!(text.ends_with("Strom is up. Press Ctrl-C to stop.\n"));
        // The integration tests find the address this way.
        let line = text.lines().find(|l| l.contains("listening on")).unwrap();
        let address = line.split("listening on ").nth(1).unwrap();
        assert_eq!(address.split_whitespace().next(), Some("localhost:9092"));
    }
}
