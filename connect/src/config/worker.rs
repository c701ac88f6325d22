//! The worker's configuration, with Kafka Connect's property names so an
//! existing `connect-standalone.properties` or `connect-distributed.properties`
//! carries over. Sources, later ones win: the properties file, then
//! environment variables (see [`super::env_overrides`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use strom_common::service::{self, strip_security_protocols};

use super::{with_prefix, Props};
use crate::error::{Error, Result};

/// How the worker keeps its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One worker; connector configs from the command line and the REST API
    /// (in memory), source offsets in `offset.storage.file.filename`.
    Standalone { offsets_file: PathBuf },
    /// A cluster of workers sharing `group.id`; configs, offsets and status in
    /// compacted topics.
    Distributed,
}

/// Everything a worker needs to start.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub mode: Mode,
    /// `bootstrap.servers` (`PLAINTEXT://` prefixes stripped).
    pub bootstrap_servers: String,
    /// `listeners`: the REST listener, `http://host:port` (port 0 picks a free port).
    pub listener: String,
    /// `rest.advertised.host.name`.
    pub advertised_host: Option<String>,
    /// `rest.advertised.port`.
    pub advertised_port: Option<u16>,
    /// `group.id` (distributed).
    pub group_id: String,
    /// `config.storage.topic`, `offset.storage.topic`, `status.storage.topic`.
    pub config_topic: String,
    pub offset_topic: String,
    pub status_topic: String,
    /// `*.storage.replication.factor` (-1: the broker's default).
    pub config_replication_factor: i32,
    pub offset_replication_factor: i32,
    pub status_replication_factor: i32,
    /// `offset.storage.partitions`, `status.storage.partitions`.
    pub offset_partitions: i32,
    pub status_partitions: i32,
    /// `offset.flush.interval.ms`: how often tasks commit offsets.
    pub offset_flush_interval: Duration,
    /// `offset.flush.timeout.ms`.
    pub offset_flush_timeout: Duration,
    /// `session.timeout.ms`, `heartbeat.interval.ms`, `rebalance.timeout.ms`.
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
    /// `task.shutdown.graceful.timeout.ms`.
    pub task_shutdown_timeout: Duration,
    /// `topic.tracking.enable`, `topic.tracking.allow.reset`.
    pub topic_tracking: bool,
    pub topic_tracking_reset: bool,
    /// `connect.protocol`: only `eager` is spoken (see docs/connect.md).
    pub connect_protocol: String,
    /// Every property as given: converters (`key.converter.*`), client
    /// overrides (`producer.*`, `consumer.*`, `admin.*`).
    pub props: Props,
}

impl WorkerConfig {
    /// From Kafka-named properties.
    pub fn from_properties(mode_name: &str, props: Props) -> Result<Self> {
        let get = |k: &str| {
            props
                .get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mode = match mode_name {
            "standalone" => Mode::Standalone {
                offsets_file: PathBuf::from(get("offset.storage.file.filename").ok_or_else(|| {
                    Error::Config(
                        "Missing required configuration \"offset.storage.file.filename\" which has no default value."
                            .to_string(),
                    )
                })?),
            },
            "distributed" => Mode::Distributed,
            other => return Err(Error::Config(format!("unknown mode {other}"))),
        };
        let required = |k: &str| {
            get(k).ok_or_else(|| {
                Error::Config(format!(
                    "Missing required configuration \"{k}\" which has no default value."
                ))
            })
        };
        let ms = |k: &str, default: u64| -> Result<Duration> {
            match get(k) {
                Some(v) => v.parse().map(Duration::from_millis).map_err(|_| {
                    Error::Config(format!(
                        "Invalid value {v} for configuration {k}: Not a number of type LONG"
                    ))
                }),
                None => Ok(Duration::from_millis(default)),
            }
        };
        let int = |k: &str, default: i32| -> Result<i32> {
            match get(k) {
                Some(v) => v.parse().map_err(|_| {
                    Error::Config(format!(
                        "Invalid value {v} for configuration {k}: Not a number of type INT"
                    ))
                }),
                None => Ok(default),
            }
        };
        let boolean = |k: &str, default: bool| -> Result<bool> {
            match get(k).map(|v| v.to_ascii_lowercase()) {
                None => Ok(default),
                Some(v) if v == "true" => Ok(true),
                Some(v) if v == "false" => Ok(false),
                Some(v) => Err(Error::Config(format!(
                    "Invalid value {v} for configuration {k}: Expected value to be either true or false"
                ))),
            }
        };
        let distributed = mode == Mode::Distributed;
        let topic = |k: &str| {
            if distributed {
                required(k)
            } else {
                Ok(get(k).unwrap_or_default())
            }
        };
        let listener = match get("listeners") {
            Some(v) => v
                .split(',')
                .map(str::trim)
                .find(|s| !s.is_empty())
                .unwrap_or("http://:8083")
                .to_string(),
            None => "http://:8083".to_string(),
        };
        listener_host_port(&listener)?;
        let c = WorkerConfig {
            bootstrap_servers: strip_security_protocols(
                &get("bootstrap.servers").unwrap_or_else(|| "localhost:9092".to_string()),
            ),
            listener,
            advertised_host: get("rest.advertised.host.name"),
            advertised_port: match get("rest.advertised.port") {
                Some(p) => Some(p.parse().map_err(|_| {
                    Error::Config(format!("Invalid value {p} for configuration rest.advertised.port: Not a number of type INT"))
                })?),
                None => None,
            },
            group_id: if distributed { required("group.id")? } else { get("group.id").unwrap_or_default() },
            config_topic: topic("config.storage.topic")?,
            offset_topic: topic("offset.storage.topic")?,
            status_topic: topic("status.storage.topic")?,
            config_replication_factor: int("config.storage.replication.factor", 3)?,
            offset_replication_factor: int("offset.storage.replication.factor", 3)?,
            status_replication_factor: int("status.storage.replication.factor", 3)?,
            offset_partitions: int("offset.storage.partitions", 25)?,
            status_partitions: int("status.storage.partitions", 5)?,
            offset_flush_interval: ms("offset.flush.interval.ms", 60_000)?,
            offset_flush_timeout: ms("offset.flush.timeout.ms", 5_000)?,
            session_timeout: ms("session.timeout.ms", 10_000)?,
            heartbeat_interval: ms("heartbeat.interval.ms", 3_000)?,
            rebalance_timeout: ms("rebalance.timeout.ms", 60_000)?,
            task_shutdown_timeout: ms("task.shutdown.graceful.timeout.ms", 5_000)?,
            topic_tracking: boolean("topic.tracking.enable", true)?,
            topic_tracking_reset: boolean("topic.tracking.allow.reset", true)?,
            connect_protocol: get("connect.protocol").unwrap_or_else(|| "eager".to_string()),
            mode,
            props: props.clone(),
        };
        Ok(c)
    }

    /// Read a properties file, apply environment overrides, and build the config.
    pub fn load(mode_name: &str, path: &Path) -> Result<Self> {
        let props =
            service::load_properties(Some(path), &super::ENV_PREFIXES).map_err(Error::Config)?;
        Self::from_properties(mode_name, props)
    }

    /// The host and port of the REST listener.
    pub fn listener_host_port(&self) -> Result<(String, u16)> {
        listener_host_port(&self.listener)
    }

    /// The worker's converter class for `key.converter`, `value.converter` or
    /// `header.converter`, with its `<name>.`-prefixed properties.
    pub fn converter(&self, which: &str) -> (String, Props) {
        let default = match which {
            "header.converter" => "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            _ => "org.apache.kafka.connect.json.JsonConverter",
        };
        let class = self
            .props
            .get(which)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| default.to_string());
        (class, with_prefix(&self.props, &format!("{which}.")))
    }

    /// Client properties for librdkafka: `bootstrap.servers` plus the worker's
    /// `<prefix>` overrides (`producer.`, `consumer.`, `admin.`) that
    /// librdkafka understands.
    pub fn client_props(&self, prefix: &str) -> Props {
        let mut out = Props::new();
        out.insert("bootstrap.servers".into(), self.bootstrap_servers.clone());
        for (k, v) in with_prefix(&self.props, prefix) {
            if LIBRDKAFKA_PASSTHROUGH.contains(&k.as_str()) {
                out.insert(k, v);
            }
        }
        out
    }
}

/// Java client property names that mean the same in librdkafka.
const LIBRDKAFKA_PASSTHROUGH: &[&str] = &[
    "acks",
    "linger.ms",
    "compression.type",
    "batch.size",
    "enable.idempotence",
    "max.in.flight.requests.per.connection",
    "request.timeout.ms",
    "retries",
    "retry.backoff.ms",
    "client.id",
    "auto.offset.reset",
    "fetch.min.bytes",
    "max.partition.fetch.bytes",
    "isolation.level",
    "security.protocol",
    "sasl.mechanism",
    "sasl.username",
    "sasl.password",
    "message.max.bytes",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "fetch.max.bytes",
];

fn listener_host_port(listener: &str) -> Result<(String, u16)> {
    service::http_listener_host_port(listener).map_err(Error::Config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strom_common::service::parse_properties;

    #[test]
    fn distributed_names() {
        let props = parse_properties(
            "bootstrap.servers=PLAINTEXT://localhost:9092\ngroup.id=connect-cluster\n\
             config.storage.topic=connect-configs\noffset.storage.topic=connect-offsets\n\
             status.storage.topic=connect-status\nlisteners=HTTP://127.0.0.1:0\n\
             offset.flush.interval.ms=10000\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter.schemas.enable=false\nproducer.linger.ms=5\nproducer.max.request.size=1\n",
        );
        let c = WorkerConfig::from_properties("distributed", props).unwrap();
        assert_eq!(c.bootstrap_servers, "localhost:9092");
        assert_eq!(c.group_id, "connect-cluster");
        assert_eq!(c.offset_flush_interval, Duration::from_secs(10));
        assert_eq!(
            c.listener_host_port().unwrap(),
            ("127.0.0.1".to_string(), 0)
        );
        assert_eq!(
            c.converter("key.converter").0,
            "org.apache.kafka.connect.storage.StringConverter"
        );
        let (class, p) = c.converter("value.converter");
        assert_eq!(class, "org.apache.kafka.connect.json.JsonConverter");
        assert_eq!(p["schemas.enable"], "false");
        let producer = c.client_props("producer.");
        assert_eq!(producer["linger.ms"], "5");
        assert!(!producer.contains_key("max.request.size"));
    }

    #[test]
    fn required_properties() {
        assert!(WorkerConfig::from_properties("standalone", Props::new()).is_err());
        let mut p = Props::new();
        p.insert("group.id".into(), "g".into());
        assert!(WorkerConfig::from_properties("distributed", p).is_err());
        let mut p = Props::new();
        p.insert("offset.storage.file.filename".into(), "/tmp/x".into());
        let c = WorkerConfig::from_properties("standalone", p).unwrap();
        assert_eq!(c.listener, "http://:8083");
    }
}
