//! strom-broker: a broker that speaks the Apache Kafka wire protocol.
//!
//! The parts, in the order a request meets them:
//! - [`config`]: Kafka-named properties (`server.properties`, `STROM_*` env, `--override`);
//!   [`topic_config`]: topic configs, their broker synonyms and defaults.
//! - [`server`]: listeners (IPv4 and IPv6 loopback for `localhost`), one reader and
//!   one writer task per connection, answers in request order.
//! - [`codec`]: frame decoding with the `kafka-protocol` crate, for exactly the
//!   APIs and versions in [`handlers::api_versions::SUPPORTED`], and response
//!   encoding (Fetch by [`codec::fetch_response`], which leaves the records read
//!   from the log uncopied); [`alloc_guard`] keeps hostile array counts from
//!   aborting the process.
//! - [`handlers`]: one file per API (`produce.rs`, `fetch.rs`, ...).
//! - [`coordinator`]: consumer groups (the classic protocol) and committed
//!   offsets in `__consumer_offsets`.
//! - [`log_cleaner`]: background segment roll, retention and compaction jobs.
//! - [`broker`]: shared state — topics, partitions and their logs (`strom-log`),
//!   and the operations that change them, each first written to the
//!   [`metadata`] log (the single-voter form of KRaft's metadata log).

pub mod alloc_guard;
pub mod broker;
pub mod codec;
pub mod config;
pub mod coordinator;
pub mod handlers;
pub mod log_cleaner;
pub mod metadata;
pub mod server;
pub mod topic_config;

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::task::JoinSet;

pub use config::BrokerConfig;

#[global_allocator]
static GLOBAL: alloc_guard::GuardedAlloc = alloc_guard::GuardedAlloc;

/// A running broker: its bound listener addresses, and a way to stop it.
pub struct RunningBroker {
    broker: Arc<broker::Broker>,
    addrs: Vec<SocketAddr>,
    acceptors: JoinSet<()>,
    connections: Arc<Mutex<JoinSet<()>>>,
    maintenance: Vec<tokio::task::JoinHandle<()>>,
    maintenance_lock: log_cleaner::MaintenanceLock,
}

impl RunningBroker {
    /// The actual socket addresses the listeners are bound to (port 0 resolved).
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.addrs.clone()
    }

    /// `host:port` of the first advertised listener, for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        self.broker
            .endpoints
            .read()
            .first()
            .map(|e| format!("{}:{}", e.host, e.port))
            .unwrap_or_default()
    }

    /// The shared broker state (for tests and embedding).
    pub fn state(&self) -> Arc<broker::Broker> {
        self.broker.clone()
    }

    /// Stop accepting, drop connections, flush and close every log.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.acceptors.shutdown().await;
        let mut conns = std::mem::take(&mut *self.connections.lock());
        conns.shutdown().await;
        // Wait for a running maintenance pass, then stop them all.
        let lock = self.maintenance_lock.clone();
        tokio::task::spawn_blocking(move || *lock.lock() = true).await?;
        for job in &self.maintenance {
            job.abort();
        }
        self.broker.groups.stop();
        let broker = self.broker.clone();
        tokio::task::spawn_blocking(move || broker.close()).await??;
        tracing::info!("broker stopped");
        Ok(())
    }
}

/// Bind the listeners, open the logs (recovering them), and start serving.
pub async fn start(config: BrokerConfig) -> anyhow::Result<RunningBroker> {
    let broker = tokio::task::spawn_blocking(move || broker::Broker::open(config)).await??;
    let broker = Arc::new(broker);
    let (sockets, endpoints) = server::bind(&broker).await?;
    *broker.endpoints.write() = endpoints;
    // Groups and committed offsets come back before the first request.
    coordinator::GroupCoordinator::start(&broker).await?;
    let mut addrs = Vec::new();
    let connections = Arc::new(Mutex::new(JoinSet::new()));
    let mut acceptors = JoinSet::new();
    for (socket, name) in sockets {
        addrs.push(socket.local_addr()?);
        acceptors.spawn(server::accept_loop(
            broker.clone(),
            socket,
            name,
            connections.clone(),
        ));
    }
    let maintenance_lock = log_cleaner::MaintenanceLock::default();
    let maintenance = log_cleaner::spawn(&broker, &maintenance_lock);
    tracing::info!(
        node_id = broker.node_id,
        cluster_id = %broker.cluster_id,
        addrs = ?addrs,
        "broker started"
    );
    Ok(RunningBroker {
        broker,
        addrs,
        acceptors,
        connections,
        maintenance,
        maintenance_lock,
    })
}

/// Start, run until `shutdown` completes, then stop cleanly.
pub async fn run(
    config: BrokerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let broker = start(config).await?;
    shutdown.await;
    broker.shutdown().await
}
