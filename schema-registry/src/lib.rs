//! strom-schema-registry: a Confluent Schema Registry compatible service.
//!
//! The schema model (shared with the serializers, Connect and SQL):
//! - [`schema`]: parsing, canonical forms, references and compatibility for
//!   Avro, JSON Schema and Protobuf; [`serde`]: Confluent's wire format;
//!   [`codec`]: values between their JSON form and their bytes.
//!
//! The server, in the order a request meets it:
//! - [`config`]: Confluent's property names (`listeners`,
//!   `kafkastore.bootstrap.servers`, `schema.compatibility.level`, ...).
//! - [`api`]: the REST API (axum), path for path as Confluent serves it, with
//!   Confluent's status codes and `error_code`s ([`api::error`]); followers
//!   forward writes to the leader ([`api::forward`]).
//! - [`registry`]: the operations (register, lookup, delete, config, mode,
//!   compatibility) over the in-memory image.
//! - [`store`]: the compacted `_schemas` topic in Confluent's key/value
//!   formats ([`store::records`]), written with a producer and read back by a
//!   reader task into the [`store::Image`]; a write is acknowledged only
//!   after it has been read back.
//! - [`leader`]: leader election through the Kafka group protocol (protocol
//!   type `sr`, over [`strom_common::group`]).
//! - [`client`]: a caching registry client for the other Strom services.
//! - [`error`]: the one error type.
//!
//! Entry points: [`start`] (returns a [`RunningRegistry`]) and [`run`].

pub mod api;
pub mod client;
pub mod codec;
pub mod config;
pub mod error;
pub mod leader;
pub mod protobuf_text;
pub mod registry;
pub mod schema;
pub mod serde;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::RwLock;
use strom_common::group::{GroupConfig, GroupMember};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::RegistryConfig;
pub use error::{Error, Result};

/// A running registry: its address, and a way to stop it.
pub struct RunningRegistry {
    addr: SocketAddr,
    url: String,
    registry: Arc<registry::Registry>,
    group: Option<GroupMember>,
    server: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
}

impl RunningRegistry {
    /// The bound HTTP address (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port` of this instance (as other instances reach it).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The registry itself (for embedding and tests).
    pub fn registry(&self) -> Arc<registry::Registry> {
        self.registry.clone()
    }

    /// Whether this instance is currently the leader.
    pub fn is_leader(&self) -> bool {
        self.registry.leader().current() == leader::Leader::Me
    }

    /// Stop serving, leave the group, stop reading the topic.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop_server.send(());
        if let Err(e) = self.server.await {
            tracing::warn!(error = %e, "HTTP server task failed");
        }
        if let Some(g) = self.group {
            g.leave().await;
        }
        self.registry.store().close().await;
        tracing::info!("schema registry stopped");
        Ok(())
    }
}

/// Bind the listener, read `_schemas` to its end, join the leader election,
/// and start serving.
pub async fn start(config: RegistryConfig) -> Result<RunningRegistry> {
    let (host, port) = config.listener_host_port()?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let addr = listener.local_addr()?;
    let advertised_host = config.host_name.clone().unwrap_or_else(|| {
        if addr.ip().is_unspecified() {
            "localhost".to_string()
        } else {
            addr.ip().to_string()
        }
    });
    let identity = leader::Identity::new(&advertised_host, addr.port(), config.leader_eligibility);
    let url = identity.url();

    let image = Arc::new(RwLock::new(store::Image::default()));
    let kafka = store::KafkaStore::start(&config, image.clone()).await?;
    let leader_state = leader::LeaderState::new(identity);
    let mut group_config = GroupConfig::new(&config.bootstrap_servers, &config.group_id, "sr");
    group_config.client_id = format!("strom-schema-registry-{}", addr.port());
    let group = GroupMember::start(
        group_config,
        Arc::new(leader::SrProtocol {
            state: leader_state.clone(),
        }),
    );
    // Confluent waits for the first election before serving; so do we (bounded).
    if tokio::time::timeout(config.init_timeout, leader_state.wait_elected())
        .await
        .is_err()
    {
        tracing::warn!("no leader elected within kafkastore.init.timeout.ms; serving reads");
    }

    let registry = Arc::new(registry::Registry::new(
        config.clone(),
        image,
        kafka,
        leader_state,
    ));
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
    let app = api::router(api::AppState {
        registry: registry.clone(),
        http,
    });
    let (stop_server, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    tracing::info!(%addr, %url, "schema registry started");
    Ok(RunningRegistry {
        addr,
        url,
        registry,
        group: Some(group),
        server,
        stop_server,
    })
}

/// Start, run until `shutdown` completes, then stop cleanly.
pub async fn run(
    config: RegistryConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let running = start(config).await?;
    shutdown.await;
    running.shutdown().await
}
