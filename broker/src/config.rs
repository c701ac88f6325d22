//! Broker configuration, with Kafka's property names.
//!
//! A [`BrokerConfig`] is built from a `server.properties` file, then
//! environment variables named the way Confluent's and Apache Kafka's images
//! name them (`KAFKA_ADVERTISED_LISTENERS` → `advertised.listeners`; Strom's
//! own `STROM_LOG_DIRS` → `log.dirs` wins over them), then `--override
//! key=value` pairs, in that order of precedence (last wins), exactly the
//! layering `kafka-server-start.sh` users know. Every property is kept by name
//! in `props` so DescribeConfigs can report it; the typed fields below are the
//! ones the broker reads on its hot paths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::topic_config;

/// The broker's configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `node.id` (Kafka's `broker.id` is accepted as a synonym).
    pub node_id: i32,
    /// `listeners`, e.g. `PLAINTEXT://localhost:9092`; port 0 picks a free port.
    pub listeners: Vec<String>,
    /// `advertised.listeners`; when absent the bound listeners are advertised.
    pub advertised_listeners: Option<Vec<String>>,
    /// `log.dirs` (or `log.dir`): the data directory (exactly one for now).
    pub log_dirs: Vec<PathBuf>,
    /// Every property as given, by Kafka name.
    pub props: BTreeMap<String, String>,
}

/// Broker properties that are not topic-config synonyms, with Kafka's defaults,
/// reported by DescribeConfigs for the broker resource.
pub const BROKER_DEFAULTS: &[(&str, &str)] = &[
    ("node.id", "1"),
    ("listeners", "PLAINTEXT://:9092"),
    ("advertised.listeners", ""),
    ("log.dirs", "/tmp/kraft-combined-logs"),
    ("num.partitions", "1"),
    ("default.replication.factor", "1"),
    ("auto.create.topics.enable", "true"),
    ("delete.topic.enable", "true"),
    ("socket.request.max.bytes", "104857600"),
    ("socket.send.buffer.bytes", "102400"),
    ("socket.receive.buffer.bytes", "-1"),
    ("log.flush.scheduler.interval.ms", "9223372036854775807"),
    ("offsets.topic.num.partitions", "50"),
    ("broker.rack", ""),
    ("process.roles", "broker,controller"),
    ("group.initial.rebalance.delay.ms", "3000"),
    ("group.min.session.timeout.ms", "6000"),
    ("group.max.session.timeout.ms", "1800000"),
    ("group.max.size", "2147483647"),
    ("offsets.topic.segment.bytes", "104857600"),
    ("offsets.retention.minutes", "10080"),
    ("offsets.retention.check.interval.ms", "600000"),
    ("offset.metadata.max.bytes", "4096"),
    ("log.retention.check.interval.ms", "300000"),
    ("log.cleaner.enable", "true"),
    ("log.cleaner.backoff.ms", "15000"),
    ("producer.id.expiration.ms", "86400000"),
];

impl BrokerConfig {
    /// Defaults for a single local broker with its data under `data_dir`,
    /// listening on `localhost:port` (IPv4 and IPv6 loopback; port 0 picks one).
    pub fn local(data_dir: &Path, port: u16) -> Self {
        let mut props = BTreeMap::new();
        props.insert("node.id".to_string(), "1".to_string());
        props.insert(
            "listeners".to_string(),
            format!("PLAINTEXT://localhost:{port}"),
        );
        props.insert("log.dirs".to_string(), data_dir.display().to_string());
        Self {
            node_id: 1,
            listeners: vec![format!("PLAINTEXT://localhost:{port}")],
            advertised_listeners: None,
            log_dirs: vec![data_dir.to_path_buf()],
            props,
        }
    }

    /// From Kafka-named properties (a parsed `server.properties` plus overrides).
    pub fn from_properties(props: BTreeMap<String, String>) -> anyhow::Result<Self> {
        let node_id = match props.get("node.id").or_else(|| props.get("broker.id")) {
            Some(v) => v
                .trim()
                .parse()
                .with_context(|| format!("node.id: not an integer: {v}"))?,
            None => 1,
        };
        let listeners = split_list(
            props
                .get("listeners")
                .map(String::as_str)
                .unwrap_or("PLAINTEXT://:9092"),
        );
        if listeners.is_empty() {
            bail!("listeners: at least one listener is required");
        }
        let advertised_listeners = props
            .get("advertised.listeners")
            .map(|v| split_list(v))
            .filter(|v| !v.is_empty());
        let log_dirs: Vec<PathBuf> = split_list(
            props
                .get("log.dirs")
                .or_else(|| props.get("log.dir"))
                .map(String::as_str)
                .unwrap_or("/tmp/kraft-combined-logs"),
        )
        .into_iter()
        .map(PathBuf::from)
        .collect();
        if log_dirs.is_empty() {
            bail!("log.dirs: at least one directory is required");
        }
        if log_dirs.len() > 1 {
            bail!(
                "log.dirs: {} directories given; Strom stores all partitions in one data directory for now, so list exactly one",
                log_dirs.len()
            );
        }
        let config = Self {
            node_id,
            listeners,
            advertised_listeners,
            log_dirs,
            props,
        };
        config.validate()?;
        Ok(config)
    }

    /// Load a `server.properties`-style file (optional), then `KAFKA_*` and
    /// `STROM_*` environment variables ([`env_overrides`]), then `key=value`
    /// overrides.
    pub fn load(file: Option<&Path>, overrides: &[String]) -> anyhow::Result<Self> {
        let mut props = BTreeMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            props.extend(parse_properties(&text));
        }
        props.extend(env_overrides(std::env::vars()));
        for o in overrides {
            let (k, v) = o
                .split_once('=')
                .with_context(|| format!("--override expects key=value, got `{o}`"))?;
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        Self::from_properties(props)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let int = |key: &str| -> anyhow::Result<Option<i64>> {
            self.props
                .get(key)
                .map(|v| {
                    v.trim()
                        .parse()
                        .with_context(|| format!("{key}: not an integer: {v}"))
                })
                .transpose()
        };
        for key in [
            "num.partitions",
            "default.replication.factor",
            "socket.request.max.bytes",
        ] {
            if let Some(n) = int(key)? {
                if n <= 0 {
                    bail!("{key}: must be positive, got {n}");
                }
            }
        }
        for key in ["socket.send.buffer.bytes", "socket.receive.buffer.bytes"] {
            if let Some(n) = int(key)? {
                if n != -1 && !(1..=i64::from(i32::MAX)).contains(&n) {
                    bail!("{key}: must be -1 (the OS default) or a positive size, got {n}");
                }
            }
        }
        for key in ["auto.create.topics.enable"] {
            if let Some(v) = self.props.get(key) {
                parse_bool(v).with_context(|| format!("{key}: not a boolean: {v}"))?;
            }
        }
        // Topic-config synonyms given at broker level must be valid topic values.
        topic_config::broker_defaults(&self.props)?;
        Ok(())
    }

    fn get_i64(&self, key: &str, default: i64) -> i64 {
        self.props
            .get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// `num.partitions`: partitions of an auto-created topic or a CreateTopics with -1.
    pub fn num_partitions(&self) -> i32 {
        self.get_i64("num.partitions", 1) as i32
    }

    /// `default.replication.factor`.
    pub fn default_replication_factor(&self) -> i16 {
        self.get_i64("default.replication.factor", 1) as i16
    }

    /// `auto.create.topics.enable`.
    pub fn auto_create_topics(&self) -> bool {
        self.props
            .get("auto.create.topics.enable")
            .and_then(|v| parse_bool(v).ok())
            .unwrap_or(true)
    }

    /// `socket.request.max.bytes`: the largest request frame accepted.
    pub fn socket_request_max_bytes(&self) -> usize {
        self.get_i64("socket.request.max.bytes", 104_857_600).max(1) as usize
    }

    /// `socket.send.buffer.bytes`: SO_SNDBUF of the listening sockets
    /// (inherited by accepted connections), `None` for the OS default (-1).
    /// Kafka's default, 102400, also serves Strom best: with the OS's
    /// autotuning, Fetch answers of several MiB cost the broker more CPU per
    /// GB and a Java consumer on the same machine read slower (bench/README.md).
    pub fn socket_send_buffer_bytes(&self) -> Option<u32> {
        self.socket_buffer("socket.send.buffer.bytes", 102_400)
    }

    /// `socket.receive.buffer.bytes`: SO_RCVBUF of the listening sockets,
    /// `None` for the OS default (-1). Unlike Kafka (102400) the default is
    /// the OS's autotuning: a fixed 100 KiB window cost Strom about 7% of its
    /// produce throughput and more CPU per GB (bench/README.md).
    pub fn socket_receive_buffer_bytes(&self) -> Option<u32> {
        self.socket_buffer("socket.receive.buffer.bytes", -1)
    }

    fn socket_buffer(&self, key: &str, default: i64) -> Option<u32> {
        u32::try_from(self.get_i64(key, default))
            .ok()
            .filter(|n| *n > 0)
    }

    /// True when the operator chose Kafka's page-cache flush policy
    /// (`log.flush.interval.messages` / `log.flush.interval.ms` set): then
    /// acknowledged writes are not fsynced before the answer.
    pub fn page_cache_flush_policy(&self) -> bool {
        self.props.contains_key("log.flush.interval.messages")
            || self.props.contains_key("log.flush.interval.ms")
    }

    /// How often the background task rolls segments by age and applies flush-by-time.
    pub fn log_maintenance_interval(&self) -> Duration {
        let ms = self.get_i64("log.flush.scheduler.interval.ms", 500);
        Duration::from_millis(ms.clamp(50, 1_000) as u64)
    }

    /// `broker.rack`, if set.
    pub fn rack(&self) -> Option<String> {
        self.props
            .get("broker.rack")
            .filter(|r| !r.is_empty())
            .cloned()
    }
}

/// Parse Java `.properties` text: `key=value` or `key: value`, `#`/`!` comments,
/// trailing-backslash line continuations.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(stripped) = line.strip_suffix('\\') {
            pending.push_str(stripped);
            continue;
        }
        pending.push_str(line);
        let entry = std::mem::take(&mut pending);
        let split = entry.find(['=', ':']);
        let (k, v) = match split {
            Some(i) => (&entry[..i], &entry[i + 1..]),
            None => (entry.as_str(), ""),
        };
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    out
}

/// `KAFKA_*` variables that configure the JVM, logging or the image itself in
/// Confluent's and Apache Kafka's images rather than naming a broker property.
const NOT_PROPERTIES: &[&str] = &[
    "KAFKA_VERSION",
    "KAFKA_HOME",
    "KAFKA_HEAP_OPTS",
    "KAFKA_OPTS",
    "KAFKA_DEBUG",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_ZOOKEEPER_CLIENT_CNXN_SOCKET",
];
/// Prefixes of such variables, and of other services' (`KAFKA_REST_*` is the
/// REST proxy's).
const NOT_PROPERTY_PREFIXES: &[&str] = &["KAFKA_REST_", "KAFKA_JMX_", "KAFKA_LOG4J_"];

/// Broker properties set by environment variables: `KAFKA_*` as Confluent's
/// (`cp-kafka`) and Apache Kafka's images read them
/// (`KAFKA_ADVERTISED_LISTENERS` → `advertised.listeners`,
/// `KAFKA_LOG_DIRS` → `log.dirs`; the JVM, JMX, log4j and REST proxy
/// variables are not properties), then Strom's own `STROM_*`
/// (`STROM_LOG_DIRS` → `log.dirs`), which win. `STROM_BOOTSTRAP_SERVER` is
/// the `strom` command's and is skipped.
pub fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    use strom_common::service::env_name_to_property;
    let mut kafka = BTreeMap::new();
    let mut strom = BTreeMap::new();
    for (key, value) in vars {
        if let Some(name) = key.strip_prefix("STROM_") {
            if !name.is_empty() && name != "BOOTSTRAP_SERVER" {
                strom.insert(env_name_to_property(name), value);
            }
        } else if let Some(name) = key.strip_prefix("KAFKA_") {
            if name.is_empty()
                || NOT_PROPERTIES.contains(&key.as_str())
                || NOT_PROPERTY_PREFIXES.iter().any(|p| key.starts_with(p))
            {
                continue;
            }
            kafka.insert(env_name_to_property(name), value);
        }
    }
    kafka.extend(strom);
    kafka
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Kafka booleans: `true`/`false`, case-insensitive.
pub fn parse_bool(v: &str) -> anyhow::Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => bail!("expected true or false, got `{other}`"),
    }
}

/// A parsed listener: name, host (empty = all interfaces) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl Listener {
    /// Parse `NAME://host:port` (IPv6 hosts in brackets).
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let (name, rest) = s
            .split_once("://")
            .with_context(|| format!("listener `{s}`: expected NAME://host:port"))?;
        let (host, port) = rest
            .rsplit_once(':')
            .with_context(|| format!("listener `{s}`: missing port"))?;
        let port: u16 = port
            .parse()
            .with_context(|| format!("listener `{s}`: bad port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Self {
            name: name.to_string(),
            host: host.to_string(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_properties_file() {
        let p = parse_properties(
            "# comment\nnode.id=3\nlisteners = PLAINTEXT://localhost:9093\nlog.dirs: /a,/b\nlong=one\\\n  two\n",
        );
        assert_eq!(p["node.id"], "3");
        assert_eq!(p["listeners"], "PLAINTEXT://localhost:9093");
        assert_eq!(p["log.dirs"], "/a,/b");
        assert_eq!(p["long"], "onetwo");
    }

    #[test]
    fn overrides_win() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("server.properties");
        std::fs::write(&file, "node.id=2\nlog.dirs=/tmp/x\nnum.partitions=3\n").expect("write");
        let c = BrokerConfig::load(Some(&file), &["num.partitions=6".into()]).expect("load");
        assert!(BrokerConfig::load(Some(&file), &["log.dirs=/a,/b".into()]).is_err());
        assert_eq!(c.node_id, 2);
        assert_eq!(c.num_partitions(), 6);
        assert_eq!(c.log_dirs, vec![PathBuf::from("/tmp/x")]);
    }

    #[test]
    fn environment_variables_as_the_images_map_them() {
        let vars = [
            ("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://broker:29092"),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "PLAINTEXT:PLAINTEXT",
            ),
            ("KAFKA_LOG_DIRS", "/var/lib/kafka/data"),
            ("KAFKA_NODE_ID", "1"),
            ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1"),
            ("KAFKA_CONFLUENT_LICENSE__TOPIC", "_confluent-license"),
            ("KAFKA_SOME___DASHED", "x"),
            ("STROM_LOG_DIRS", "/data"),
            ("STROM_BOOTSTRAP_SERVER", "h:1"),
            // Not properties: the JVM's, JMX's, log4j's, the image's, the REST proxy's.
            ("KAFKA_HEAP_OPTS", "-Xmx1G"),
            ("KAFKA_OPTS", "-D"),
            ("KAFKA_JMX_PORT", "9101"),
            ("KAFKA_JMX_HOSTNAME", "localhost"),
            ("KAFKA_LOG4J_ROOT_LOGLEVEL", "WARN"),
            ("KAFKA_LOG4J_LOGGERS", "kafka=WARN"),
            ("KAFKA_VERSION", "4.0.0"),
            ("KAFKA_REST_BOOTSTRAP_SERVERS", "broker:29092"),
            ("KAFKA_", "nothing"),
            ("CLUSTER_ID", "abc"),
            ("PATH", "/bin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let p = env_overrides(vars);
        assert_eq!(p["advertised.listeners"], "PLAINTEXT://broker:29092");
        assert_eq!(p["listener.security.protocol.map"], "PLAINTEXT:PLAINTEXT");
        assert_eq!(p["node.id"], "1");
        assert_eq!(p["offsets.topic.replication.factor"], "1");
        assert_eq!(p["confluent.license_topic"], "_confluent-license");
        assert_eq!(p["some-dashed"], "x");
        // STROM_* wins over KAFKA_*.
        assert_eq!(p["log.dirs"], "/data");
        let keys: Vec<&str> = p.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "advertised.listeners",
                "confluent.license_topic",
                "listener.security.protocol.map",
                "log.dirs",
                "node.id",
                "offsets.topic.replication.factor",
                "some-dashed",
            ]
        );
    }

    #[test]
    fn rejects_bad_values() {
        let mut p = BTreeMap::new();
        p.insert("num.partitions".to_string(), "zero".to_string());
        assert!(BrokerConfig::from_properties(p).is_err());
        let mut p = BTreeMap::new();
        p.insert("log.segment.bytes".to_string(), "-5".to_string());
        assert!(BrokerConfig::from_properties(p).is_err());
        for bad in ["0", "-2", "big"] {
            let mut p = BTreeMap::new();
            p.insert("socket.send.buffer.bytes".to_string(), bad.to_string());
            assert!(BrokerConfig::from_properties(p).is_err(), "{bad}");
        }
    }

    #[test]
    fn socket_buffers_default_and_minus_one_means_the_os_default() {
        let c = BrokerConfig::from_properties(BTreeMap::new()).expect("config");
        assert_eq!(c.socket_send_buffer_bytes(), Some(102_400));
        assert_eq!(c.socket_receive_buffer_bytes(), None);
        let mut p = BTreeMap::new();
        p.insert("socket.send.buffer.bytes".to_string(), "-1".to_string());
        p.insert(
            "socket.receive.buffer.bytes".to_string(),
            "65536".to_string(),
        );
        let c = BrokerConfig::from_properties(p).expect("config");
        assert_eq!(c.socket_send_buffer_bytes(), None);
        assert_eq!(c.socket_receive_buffer_bytes(), Some(65_536));
    }

    #[test]
    fn parses_listeners() {
        let l = Listener::parse("PLAINTEXT://[::1]:9092").expect("parse");
        assert_eq!(l.host, "::1");
        assert_eq!(l.port, 9092);
        let l = Listener::parse("PLAINTEXT://:0").expect("parse");
        assert_eq!(l.host, "");
        assert!(Listener::parse("localhost:9092").is_err());
    }
}
