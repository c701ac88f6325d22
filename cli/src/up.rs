//! `strom up`: run Strom on this machine, in this process, until Ctrl-C.
//!
//! That is the broker (Kafka API, port 9092, data under `--data-dir`), the
//! schema registry (port 8081, state in the broker's `_schemas` topic), the
//! REST proxy (port 8082) and a Connect worker (port 8083, distributed mode
//! with one worker, so connectors, offsets and status live in the broker's
//! `connect-*` topics and survive a restart); SQL (port 8088) joins when it
//! is built. `--only` runs a subset, the others being reached at
//! `--bootstrap-server` / `--schema-registry-url`.
//! Everything listens on `localhost` only: this is a laptop set-up.
//!
//! Start-up: the broker first (the others are its clients), then the
//! schema registry (which waits for its leader election), the REST proxy and
//! the Connect worker (which waits for its first rebalance) all at once.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use strom_broker::BrokerConfig;
use strom_connect::WorkerConfig;
use strom_rest_proxy::ProxyConfig;
use strom_schema_registry::RegistryConfig;

/// A service `strom up` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    Broker,
    SchemaRegistry,
    RestProxy,
    Connect,
    /// The SQL service (not built yet).
    Sql,
}

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

    /// Run only these services (comma-separated), e.g.
    /// `--only broker,schema-registry`; the others are expected elsewhere
    /// (see --bootstrap-server and --schema-registry-url). Default: all.
    #[arg(long, value_name = "SERVICES", value_delimiter = ',')]
    pub only: Vec<Service>,

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

    /// Port of the SQL service (8088 once it is built; SQL is not built
    /// yet, so setting it is refused).
    #[arg(long, value_name = "PORT", env = "STROM_SQL_PORT")]
    pub sql_port: Option<u16>,

    /// The broker to use when --only leaves it out (default:
    /// localhost:<--broker-port>).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,

    /// The schema registry the REST proxy uses when --only leaves it out
    /// (default: http://localhost:<--schema-registry-port>).
    #[arg(long, value_name = "URL")]
    pub schema_registry_url: Option<String>,
}

impl UpArgs {
    /// Whether `service` runs in this process.
    pub fn runs(&self, service: Service) -> bool {
        if self.only.is_empty() {
            service != Service::Sql
        } else {
            self.only.contains(&service)
        }
    }
}

/// One line of the banner: `  NAME<padding>listening on ADDRESS`.
pub fn service_line(name: &str, address: &str) -> String {
    format!("  {name:<20} listening on {address}")
}

/// What `strom up` prints once everything is listening: the data directory
/// (when the broker runs here), each service with its address, and the
/// services used elsewhere.
pub fn banner(
    data_dir: Option<&str>,
    services: &[(&str, String)],
    elsewhere: &[(&str, String)],
) -> String {
    let mut out = format!("Strom {}\n", env!("CARGO_PKG_VERSION"));
    if let Some(data_dir) = data_dir {
        out.push_str(&format!("  {:<20} {data_dir}\n", "data directory"));
    }
    for (name, address) in services {
        out.push_str(&service_line(name, address));
        out.push('\n');
    }
    for (name, address) in elsewhere {
        out.push_str(&format!("  {name:<20} using {address}\n"));
    }
    out.push_str("Strom is up. Press Ctrl-C to stop.\n");
    out
}

/// The services running in this process.
#[derive(Default)]
struct Running {
    broker: Option<strom_broker::RunningBroker>,
    registry: Option<strom_schema_registry::RunningRegistry>,
    proxy: Option<strom_rest_proxy::RunningProxy>,
    connect: Option<strom_connect::RunningWorker>,
}

impl Running {
    /// Stop everything, the broker's clients first; the first error, if any.
    async fn shutdown(self) -> Result<()> {
        let mut first_error: Option<anyhow::Error> = None;
        let mut note = |r: Result<()>| {
            if let Err(e) = r {
                tracing::error!("{e:#}");
                first_error.get_or_insert(e);
            }
        };
        if let Some(connect) = self.connect {
            note(
                connect
                    .shutdown()
                    .await
                    .context("the Connect worker did not stop cleanly"),
            );
        }
        if let Some(proxy) = self.proxy {
            note(
                proxy
                    .shutdown()
                    .await
                    .context("the REST proxy did not stop cleanly"),
            );
        }
        if let Some(registry) = self.registry {
            note(
                registry
                    .shutdown()
                    .await
                    .context("the schema registry did not stop cleanly"),
            );
        }
        if let Some(broker) = self.broker {
            note(
                broker
                    .shutdown()
                    .await
                    .context("the broker did not stop cleanly"),
            );
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

pub async fn run(args: UpArgs) -> Result<()> {
    let started = Instant::now();
    let mut signals = ShutdownSignals::listen()?;
    // A signal while the services start (a registry waiting for a broker
    // that is not there, say) stops at once; the broker fsyncs what it
    // acknowledges, so no acknowledged write is lost.
    let mut startup_signals = ShutdownSignals::listen()?;
    let starting = tokio::spawn(async move {
        let signal = startup_signals.next().await;
        eprintln!("{signal} while starting: stopping");
        std::process::exit(130);
    });
    start_and_serve(args, started, &mut signals, starting).await
}

async fn start_and_serve(
    args: UpArgs,
    started: Instant,
    signals: &mut ShutdownSignals,
    starting: tokio::task::JoinHandle<()>,
) -> Result<()> {
    if args.runs(Service::Sql) {
        bail!("the SQL service is not built yet; leave `sql` out of --only");
    }
    if args.sql_port.is_some() {
        bail!("--sql-port (STROM_SQL_PORT): the SQL service is not built yet");
    }
    if args.bootstrap_server.is_some() && args.runs(Service::Broker) {
        bail!("--bootstrap-server names a broker run elsewhere: use it with an --only that leaves `broker` out");
    }
    if args.schema_registry_url.is_some() && args.runs(Service::SchemaRegistry) {
        bail!("--schema-registry-url names a registry run elsewhere: use it with an --only that leaves `schema-registry` out");
    }
    let mut running = Running::default();
    let mut services: Vec<(&str, String)> = Vec::new();
    let mut elsewhere: Vec<(&str, String)> = Vec::new();

    let bootstrap = if args.runs(Service::Broker) {
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
        tracing::info!(addrs = ?broker.listen_addrs(), elapsed_ms = started.elapsed().as_millis() as u64, "broker listening");
        let bootstrap = broker.bootstrap_servers();
        services.push(("broker (Kafka API)", bootstrap.clone()));
        running.broker = Some(broker);
        bootstrap
    } else {
        let bootstrap = args
            .bootstrap_server
            .clone()
            .unwrap_or_else(|| format!("localhost:{}", args.broker_port));
        elsewhere.push(("broker (Kafka API)", bootstrap.clone()));
        bootstrap
    };

    // The registry's URL is needed by the REST proxy: known in advance unless
    // the port is 0 (tests), in which case the proxy waits for the registry.
    let fixed_registry_url = if args.runs(Service::SchemaRegistry) {
        (args.schema_registry_port != 0)
            .then(|| format!("http://localhost:{}", args.schema_registry_port))
    } else {
        Some(
            args.schema_registry_url
                .clone()
                .unwrap_or_else(|| format!("http://localhost:{}", args.schema_registry_port)),
        )
    };
    let (registry_tx, registry_rx) = tokio::sync::watch::channel::<Option<String>>(None);
    let registry = async {
        if !args.runs(Service::SchemaRegistry) {
            return None;
        }
        let mut config = RegistryConfig::local(&bootstrap);
        config.listener = format!("http://localhost:{}", args.schema_registry_port);
        let result = strom_schema_registry::start(config)
            .await
            .context("the schema registry did not start");
        if let Ok(r) = &result {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "schema registry ready"
            );
            let _ = registry_tx.send(Some(format!("http://{}", r.local_addr())));
        }
        drop(registry_tx);
        Some(result)
    };
    let proxy = async {
        if !args.runs(Service::RestProxy) {
            return None;
        }
        let url = match &fixed_registry_url {
            Some(url) => url.clone(),
            None => {
                let mut rx = registry_rx.clone();
                let waited = rx.wait_for(Option::is_some).await;
                match waited {
                    Ok(url) => url.clone().unwrap_or_default(),
                    // The registry did not start: its error is reported.
                    Err(_) => return None,
                }
            }
        };
        let mut config = ProxyConfig::local(&bootstrap);
        config.listener = format!("http://localhost:{}", args.rest_proxy_port);
        config.schema_registry_url = Some(url);
        let result = strom_rest_proxy::start(config)
            .await
            .context("the REST proxy did not start");
        if result.is_ok() {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "REST proxy ready"
            );
        }
        Some(result)
    };
    let connect = async {
        if !args.runs(Service::Connect) {
            return None;
        }
        let result = start_connect(&bootstrap, args.connect_port)
            .await
            .context("the Connect worker did not start");
        if result.is_ok() {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "Connect worker ready"
            );
        }
        Some(result)
    };
    let (registry, proxy, connect) = tokio::join!(registry, proxy, connect);

    let mut failed: Option<anyhow::Error> = None;
    match registry.transpose() {
        Ok(r) => running.registry = r,
        Err(e) => failed = failed.or(Some(e)),
    }
    match proxy.transpose() {
        Ok(p) => running.proxy = p,
        Err(e) => failed = failed.or(Some(e)),
    }
    match connect.transpose() {
        Ok(c) => running.connect = c,
        Err(e) => failed = failed.or(Some(e)),
    }
    if let Some(e) = failed {
        let _ = running.shutdown().await;
        return Err(e);
    }

    if let Some(r) = &running.registry {
        services.push(("schema registry", format!("http://{}", r.local_addr())));
    } else if args.runs(Service::RestProxy) {
        if let Some(url) = &fixed_registry_url {
            elsewhere.push(("schema registry", url.clone()));
        }
    }
    if let Some(p) = &running.proxy {
        services.push(("REST proxy", format!("http://{}", p.local_addr())));
    }
    if let Some(c) = &running.connect {
        services.push(("Connect", format!("http://{}", c.local_addr())));
    }
    let data_dir = args.data_dir.display().to_string();
    let text = banner(
        running.broker.is_some().then_some(data_dir.as_str()),
        &services,
        &elsewhere,
    );
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Strom is up"
    );

    starting.abort();
    let signal = signals.next().await;
    tracing::info!("{signal}: shutting down");
    // A second signal while shutting down stops at once.
    let mut again = ShutdownSignals::listen()?;
    tokio::spawn(async move {
        let signal = again.next().await;
        eprintln!("{signal} again: stopping without a clean shutdown");
        std::process::exit(130);
    });
    running.shutdown().await.context("clean shutdown failed")?;
    println!("Strom stopped.");
    Ok(())
}

/// A one-worker Connect cluster (distributed mode, group `strom-connect`),
/// with the internal topics at replication factor 1, as Confluent's
/// single-broker stacks configure it, and one partition each.
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
        // One worker on one laptop: one partition each instead of Connect's
        // 25 and 5 (nothing to spread over), which also makes start-up read
        // one partition to its end instead of thirty.
        ("offset.storage.partitions", "1".to_string()),
        ("status.storage.partitions", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = WorkerConfig::from_properties("distributed", props)?;
    Ok(strom_connect::start(config, Vec::new()).await?)
}

/// Ctrl-C (SIGINT) and SIGTERM, listened for from the moment `strom up`
/// starts: one that comes while the services start (or right after the
/// banner) is neither lost nor fatal the default way; it stops them cleanly.
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn listen() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?,
                terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next signal: `interrupted` (Ctrl-C) or `terminated` (SIGTERM).
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "interrupted",
                _ = self.terminate.recv() => "terminated",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "interrupted"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_lists_the_broker() {
        let text = banner(
            Some("./strom-data"),
            &[("broker (Kafka API)", "localhost:9092".to_string())],
            &[],
        );
        assert!(text.starts_with("Strom "));
        assert!(text.contains("  data directory       ./strom-data\n"));
        assert!(text.contains("  broker (Kafka API)   listening on localhost:9092\n"));
        assert!(text.ends_with("Strom is up. Press Ctrl-C to stop.\n"));
        // The integration tests find the address this way.
        let line = text.lines().find(|l| l.contains("listening on")).unwrap();
        let address = line.split("listening on ").nth(1).unwrap();
        assert_eq!(address.split_whitespace().next(), Some("localhost:9092"));
    }

    #[test]
    fn banner_names_what_runs_elsewhere() {
        let text = banner(
            None,
            &[("schema registry", "http://127.0.0.1:8081".to_string())],
            &[("broker (Kafka API)", "kafka:9092".to_string())],
        );
        assert!(!text.contains("data directory"));
        assert!(text.contains("  schema registry      listening on http://127.0.0.1:8081\n"));
        assert!(text.contains("  broker (Kafka API)   using kafka:9092\n"));
        assert_eq!(text.matches("listening on").count(), 1);
    }
}
