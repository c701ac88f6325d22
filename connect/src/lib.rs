//! strom-connect: a Kafka Connect worker.
//!
//! The parts, in the order a connector meets them:
//! - [`config`]: the worker's properties with Kafka Connect's names, and
//!   config definitions ([`config::def`]) that drive validation.
//! - [`api`]: the REST API (axum), path for path as Kafka Connect serves it.
//! - [`herder`]: the operations behind it, validation, and the reconcile loop
//!   that runs what this worker owns.
//! - [`distributed`]: the `connect` group protocol (eager), assignment and
//!   rebalancing across workers.
//! - [`storage`]: configs, statuses and source offsets — in memory and the
//!   offsets file (standalone), or compacted topics (distributed).
//! - [`runtime`]: the worker running source and sink tasks, with error
//!   tolerance and the dead letter queue.
//! - [`connectors`]: connector and task traits; FileStreamSource/Sink.
//! - [`converters`]: JsonConverter, StringConverter, ByteArrayConverter,
//!   SimpleHeaderConverter.
//! - [`transforms`]: single message transforms and predicates.
//! - [`data`]: Connect's data model (schemas, values, records).
//! - [`plugins`]: every plugin by class name and alias.
//!
//! Entry points: [`start`] (returns a [`RunningWorker`]) and [`run`].

pub mod api;
pub mod config;
pub mod connectors;
pub mod converters;
pub mod data;
pub mod distributed;
pub mod error;
pub mod herder;
pub mod plugins;
pub mod runtime;
pub mod storage;
pub mod transforms;

use std::net::SocketAddr;
use std::sync::atomic::AtomicI32;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use config::{Mode, Props, WorkerConfig};
pub use error::{Error, Result};

use herder::Herder;
use runtime::{Worker, WorkerShared};
use storage::config::ConfigStore;
use storage::offsets::OffsetStore;
use storage::status::StatusStore;

/// A running worker: its REST address, and a way to stop it.
pub struct RunningWorker {
    addr: SocketAddr,
    herder: Arc<Herder>,
    server: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
    reconcile: JoinHandle<()>,
    stop_reconcile: watch::Sender<bool>,
    cluster: Option<distributed::Cluster>,
}

impl RunningWorker {
    /// The bound REST address (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// This worker's URL, as other workers reach it.
    pub fn url(&self) -> String {
        self.herder.url.clone()
    }

    pub fn herder(&self) -> Arc<Herder> {
        self.herder.clone()
    }

    /// Stop serving, stop the tasks (committing their offsets), leave the group.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop_server.send(());
        if let Err(e) = self.server.await {
            tracing::warn!(error = %e, "REST server task failed");
        }
        // Leaving the group first: revocation stops the tasks through the
        // reconcile loop (committing offsets), then the group rebalances.
        if let Some(c) = self.cluster {
            c.shutdown().await;
        }
        let _ = self.stop_reconcile.send(true);
        if let Err(e) = self.reconcile.await {
            tracing::warn!(error = %e, "reconcile task failed");
        }
        tracing::info!("Kafka Connect stopped");
        Ok(())
    }
}

/// The URL other workers use to reach this one.
fn advertised_url(config: &WorkerConfig, addr: SocketAddr) -> (String, String) {
    let host = config.advertised_host.clone().unwrap_or_else(|| {
        if addr.ip().is_unspecified() {
            "localhost".to_string()
        } else {
            addr.ip().to_string()
        }
    });
    let port = config.advertised_port.unwrap_or(addr.port());
    let host_part = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    (
        format!("http://{host_part}:{port}"),
        format!("{host_part}:{port}"),
    )
}

/// The Kafka cluster id, best effort.
async fn fetch_cluster_id(config: &WorkerConfig) -> String {
    let client: std::result::Result<rdkafka::consumer::BaseConsumer, _> =
        storage::kafka::client_config(config, "admin.").create();
    let Ok(client) = client else {
        return String::new();
    };
    use rdkafka::consumer::Consumer;
    tokio::task::spawn_blocking(move || client.client().fetch_cluster_id(Duration::from_secs(10)))
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Bind the REST listener, load state, join the cluster (distributed), create
/// the connectors given on the command line (standalone), and serve.
pub async fn start(config: WorkerConfig, connector_configs: Vec<Props>) -> Result<RunningWorker> {
    let config = Arc::new(config);
    let (host, port) = config.listener_host_port()?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let addr = listener.local_addr()?;
    let (url, worker_id) = advertised_url(&config, addr);

    let configs = ConfigStore::new();
    let statuses = StatusStore::new();
    let offsets = match &config.mode {
        Mode::Standalone { offsets_file } => OffsetStore::file(offsets_file.clone())?,
        Mode::Distributed => OffsetStore::memory(),
    };
    let shared = Arc::new(WorkerShared {
        worker_id: worker_id.clone(),
        config: config.clone(),
        statuses: statuses.clone(),
        offsets: offsets.clone(),
        generation: AtomicI32::new(0),
    });
    let worker = Worker::new(shared);
    let membership = match config.mode {
        Mode::Distributed => Some(Arc::new(herder::Membership::default())),
        Mode::Standalone { .. } => None,
    };
    let herder = Herder::new(
        config.clone(),
        worker,
        configs,
        statuses,
        offsets,
        url.clone(),
        membership,
    );
    *herder.kafka_cluster_id.write() = fetch_cluster_id(&config).await;

    let cluster = match config.mode {
        Mode::Distributed => Some(distributed::Cluster::start(herder.clone()).await?),
        Mode::Standalone { .. } => None,
    };

    let (stop_reconcile, stop_rx) = watch::channel(false);
    let reconcile = tokio::spawn(herder::reconcile::run(herder.clone(), stop_rx));

    for props in connector_configs {
        let name = props.get("name").cloned().unwrap_or_default();
        herder
            .put_connector_config(&name, props, true, None)
            .await
            .map_err(|e| Error::Config(format!("Failed to create connector for {name}: {e}")))?;
        tracing::info!(connector = %name, "created connector");
    }

    let app = api::router(api::AppState {
        herder: herder.clone(),
        http: reqwest::Client::new(),
    });
    let (stop_server, stop_server_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop_server_rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "REST server failed");
        }
    });
    tracing::info!(%addr, %url, "Kafka Connect started");
    Ok(RunningWorker {
        addr,
        herder,
        server,
        stop_server,
        reconcile,
        stop_reconcile,
        cluster,
    })
}

/// Start, run until `shutdown` completes, then stop cleanly.
pub async fn run(
    config: WorkerConfig,
    connector_configs: Vec<Props>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let running = start(config, connector_configs).await?;
    shutdown.await;
    running.shutdown().await
}

/// A connector config file: Java properties, or JSON (`{"name","config"}` or a plain object).
pub fn load_connector_config(path: &std::path::Path) -> Result<Props> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    if text.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let (name, cfg) = match v.get("config") {
            Some(c) => (
                v.get("name").and_then(|n| n.as_str()).map(str::to_string),
                c.clone(),
            ),
            None => (None, v),
        };
        let mut props = api::props_from_body(&cfg).map_err(|e| Error::Config(e.to_string()))?;
        if let Some(n) = name {
            props.entry("name".into()).or_insert(n);
        }
        return Ok(props);
    }
    Ok(config::parse_properties(&text))
}
