//! strom-rest-proxy: Confluent's REST Proxy (API v2 and v3) over a
//! Kafka-protocol broker.
//!
//! The parts, in the order a request meets them:
//! - [`config`]: Confluent's property names (`listeners`, `bootstrap.servers`,
//!   `schema.registry.url`, `consumer.instance.timeout.ms`, ...).
//! - [`api`]: the HTTP API (axum), path for path as Confluent serves it:
//!   [`api::v2`] (topics, partitions, brokers, produce, consumer instances)
//!   and [`api::v3`] (clusters, brokers, topics, configs, partitions,
//!   records, consumer groups); one file per resource.
//! - [`error`]: the one error type and its mapping to HTTP status and
//!   Confluent `error_code`.
//! - [`kafka`]: the cluster through librdkafka (metadata, admin, one
//!   idempotent producer) and the Kafka protocol (configs with synonyms).
//! - [`consumers`]: v2 consumer instances (one librdkafka consumer each),
//!   closed when idle for `consumer.instance.timeout.ms`.
//! - [`schemas`]: `avro`/`jsonschema`/`protobuf` values through the schema
//!   registry client and the registry library's codecs.
//! - [`produce`]: enqueue a record, learn its offset later.
//! - [`metrics`]: Prometheus counters behind `/metrics`.
//! - [`time`]: ISO-8601 timestamps as Java prints them.
//!
//! Entry points: [`start`] (returns a [`RunningProxy`]) and [`run`].

pub mod api;
pub mod config;
pub mod consumers;
pub mod error;
pub mod kafka;
pub mod metrics;
pub mod produce;
pub mod schemas;
pub mod time;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::ProxyConfig;
pub use error::{Error, Result};

/// What every request handler shares.
pub struct Proxy {
    pub config: ProxyConfig,
    pub kafka: kafka::Kafka,
    pub metrics: metrics::Metrics,
    pub consumers: consumers::ConsumerManager,
    pub schemas: schemas::Schemas,
}

impl Proxy {
    /// Live v2 consumer instances.
    pub fn consumer_instance_count(&self) -> usize {
        self.consumers.count()
    }
}

/// A running proxy: its address, and a way to stop it.
pub struct RunningProxy {
    addr: SocketAddr,
    proxy: Arc<Proxy>,
    server: JoinHandle<()>,
    expiry: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
}

impl RunningProxy {
    /// The bound HTTP address (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port` of the bound listener.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state (for embedding and tests).
    pub fn proxy(&self) -> Arc<Proxy> {
        self.proxy.clone()
    }

    /// Stop serving and close every client.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop_server.send(());
        if let Err(e) = self.server.await {
            tracing::warn!(error = %e, "HTTP server task failed");
        }
        self.expiry.abort();
        self.proxy.consumers.close_all().await;
        tracing::info!("rest proxy stopped");
        Ok(())
    }
}

/// Create the Kafka clients, bind the listener and start serving.
pub async fn start(config: ProxyConfig) -> Result<RunningProxy> {
    let (host, port) = config.listener_host_port()?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let addr = listener.local_addr()?;
    let kafka = kafka::Kafka::new(&config)?;
    let proxy = Arc::new(Proxy {
        consumers: consumers::ConsumerManager::new(&config),
        schemas: schemas::Schemas::new(config.schema_registry_url.as_deref())?,
        config,
        kafka,
        metrics: metrics::Metrics::default(),
    });
    let expiry = {
        let proxy = proxy.clone();
        let period = (proxy.config.consumer_instance_timeout / 4).clamp(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_secs(1),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                proxy.consumers.expire_idle().await;
            }
        })
    };
    let app = api::router(proxy.clone());
    let (stop_server, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    tracing::info!(%addr, "rest proxy started");
    Ok(RunningProxy {
        addr,
        proxy,
        server,
        expiry,
        stop_server,
    })
}

/// Start, run until `shutdown` completes, then stop cleanly.
pub async fn run(
    config: ProxyConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let running = start(config).await?;
    shutdown.await;
    running.shutdown().await
}
