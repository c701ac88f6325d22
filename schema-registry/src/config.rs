//! Configuration with Confluent Schema Registry's own property names, so an
//! existing `schema-registry.properties` carries over.
//!
//! Sources, later ones win: the properties file, then environment variables
//! (`STROM_SR_KAFKASTORE_BOOTSTRAP_SERVERS` or Confluent's docker-style
//! `SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS` → `kafkastore.bootstrap.servers`:
//! strip the prefix, lower-case, `_` → `.`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use strom_common::service::{self, strip_security_protocols};

use crate::error::Error;
use crate::schema::CompatibilityLevel;

/// Environment variable prefixes that set properties.
pub const ENV_PREFIXES: [&str; 2] = ["STROM_SR_", "SCHEMA_REGISTRY_"];

/// Everything the registry needs to start.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// `listeners`: the HTTP listener, `http://host:port` (port 0 picks a free port).
    pub listener: String,
    /// `host.name`: the host other instances use to reach this one (forwarding).
    /// Default: the listener's host, or `localhost` for a wildcard listener.
    pub host_name: Option<String>,
    /// `kafkastore.bootstrap.servers` (`PLAINTEXT://` prefixes are accepted and stripped).
    pub bootstrap_servers: String,
    /// `kafkastore.topic`.
    pub topic: String,
    /// `kafkastore.topic.replication.factor` (capped at the number of brokers).
    pub topic_replication_factor: i32,
    /// `schema.registry.group.id`: the group used for leader election.
    pub group_id: String,
    /// `leader.eligibility` (older `master.eligibility`).
    pub leader_eligibility: bool,
    /// `schema.compatibility.level` (older `avro.compatibility.level`): the
    /// global level until one is set through `PUT /config`.
    pub compatibility_level: CompatibilityLevel,
    /// `kafkastore.init.timeout.ms`: reading `_schemas` to its end at start-up.
    pub init_timeout: Duration,
    /// `kafkastore.timeout.ms`: a write must be read back within this time (else 50002).
    pub store_timeout: Duration,
    /// `mode.mutability`: whether `PUT /mode` is allowed.
    pub mode_mutability: bool,
    /// Largest request body accepted (`request.max.bytes`, Strom's own; default 16 MiB).
    pub max_request_bytes: usize,
    /// Every property as given (for settings not modelled above).
    pub props: BTreeMap<String, String>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            listener: "http://0.0.0.0:8081".to_string(),
            host_name: None,
            bootstrap_servers: "localhost:9092".to_string(),
            topic: "_schemas".to_string(),
            topic_replication_factor: 3,
            group_id: "schema-registry".to_string(),
            leader_eligibility: true,
            compatibility_level: CompatibilityLevel::Backward,
            init_timeout: Duration::from_millis(60_000),
            store_timeout: Duration::from_millis(500),
            mode_mutability: true,
            max_request_bytes: 16 * 1024 * 1024,
            props: BTreeMap::new(),
        }
    }
}

impl RegistryConfig {
    /// A registry on loopback port 0 against `bootstrap_servers`, for tests and embedding.
    pub fn local(bootstrap_servers: &str) -> Self {
        Self {
            listener: "http://127.0.0.1:0".to_string(),
            bootstrap_servers: bootstrap_servers.to_string(),
            topic_replication_factor: 1,
            ..Self::default()
        }
    }

    /// From Confluent-named properties.
    pub fn from_properties(props: BTreeMap<String, String>) -> Result<Self, Error> {
        let mut c = Self::default();
        let get = |k: &str| props.get(k).map(|v| v.trim().to_string());
        if let Some(v) = get("listeners") {
            let first = v
                .split(',')
                .map(str::trim)
                .find(|s| !s.is_empty())
                .ok_or_else(|| Error::Config("listeners: empty".to_string()))?;
            c.listener = first.to_string();
        } else if let Some(port) = get("port") {
            // Confluent's deprecated `port` property.
            c.listener = format!("http://0.0.0.0:{port}");
        }
        if let Some(v) = get("host.name").filter(|v| !v.is_empty()) {
            c.host_name = Some(v);
        }
        if let Some(v) = get("kafkastore.bootstrap.servers") {
            c.bootstrap_servers = strip_security_protocols(&v);
        }
        if let Some(v) = get("kafkastore.topic") {
            c.topic = v;
        }
        if let Some(v) = get("kafkastore.topic.replication.factor") {
            c.topic_replication_factor = parse_num("kafkastore.topic.replication.factor", &v)?;
        }
        if let Some(v) = get("schema.registry.group.id") {
            c.group_id = v;
        }
        if let Some(v) = get("leader.eligibility").or_else(|| get("master.eligibility")) {
            c.leader_eligibility = parse_bool("leader.eligibility", &v)?;
        }
        if let Some(v) =
            get("schema.compatibility.level").or_else(|| get("avro.compatibility.level"))
        {
            c.compatibility_level = v.parse().map_err(|_| {
                Error::Config(format!("schema.compatibility.level: invalid level {v}"))
            })?;
        }
        if let Some(v) = get("kafkastore.init.timeout.ms") {
            c.init_timeout = Duration::from_millis(parse_num("kafkastore.init.timeout.ms", &v)?);
        }
        if let Some(v) = get("kafkastore.timeout.ms") {
            c.store_timeout = Duration::from_millis(parse_num("kafkastore.timeout.ms", &v)?);
        }
        if let Some(v) = get("mode.mutability") {
            c.mode_mutability = parse_bool("mode.mutability", &v)?;
        }
        if let Some(v) = get("request.max.bytes") {
            c.max_request_bytes = parse_num("request.max.bytes", &v)?;
        }
        // Validate the listener now rather than at bind time.
        listener_host_port(&c.listener)?;
        c.props = props;
        Ok(c)
    }

    /// Read a properties file, apply environment overrides, and build the config.
    pub fn load(path: Option<&Path>) -> Result<Self, Error> {
        let props = service::load_properties(path, &ENV_PREFIXES).map_err(Error::Config)?;
        Self::from_properties(props)
    }

    /// The host and port of the configured listener.
    pub fn listener_host_port(&self) -> Result<(String, u16), Error> {
        listener_host_port(&self.listener)
    }
}

/// Properties named by environment variables with one of [`ENV_PREFIXES`].
pub fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    service::env_overrides(vars, &ENV_PREFIXES)
}

fn listener_host_port(listener: &str) -> Result<(String, u16), Error> {
    service::http_listener_host_port(listener).map_err(Error::Config)
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, Error> {
    v.parse()
        .map_err(|_| Error::Config(format!("{key}: not a number: {v}")))
}

fn parse_bool(key: &str, v: &str) -> Result<bool, Error> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::Config(format!("{key}: not a boolean: {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strom_common::service::parse_properties;

    #[test]
    fn confluent_names() {
        let props = parse_properties(
            "# comment\nlisteners=http://127.0.0.1:0\nkafkastore.bootstrap.servers=PLAINTEXT://localhost:9092\n\
             kafkastore.topic=_s\nschema.compatibility.level=full\nleader.eligibility=false\n\
             kafkastore.timeout.ms: 1500\nmode.mutability=false\n",
        );
        let c = RegistryConfig::from_properties(props).unwrap();
        assert_eq!(
            c.listener_host_port().unwrap(),
            ("127.0.0.1".to_string(), 0)
        );
        assert_eq!(c.bootstrap_servers, "localhost:9092");
        assert_eq!(c.topic, "_s");
        assert_eq!(c.compatibility_level, CompatibilityLevel::Full);
        assert!(!c.leader_eligibility);
        assert_eq!(c.store_timeout, Duration::from_millis(1500));
        assert!(!c.mode_mutability);
    }

    #[test]
    fn older_names_and_env() {
        let mut props = parse_properties("avro.compatibility.level=none\n");
        props.extend(env_overrides(
            vec![(
                "STROM_SR_KAFKASTORE_TOPIC".to_string(),
                "_other".to_string(),
            )]
            .into_iter(),
        ));
        let c = RegistryConfig::from_properties(props).unwrap();
        assert_eq!(c.compatibility_level, CompatibilityLevel::None);
        assert_eq!(c.topic, "_other");
        assert_eq!(c.listener, "http://0.0.0.0:8081");
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = |k: &str, v: &str| {
            let mut p = BTreeMap::new();
            p.insert(k.to_string(), v.to_string());
            RegistryConfig::from_properties(p).is_err()
        };
        assert!(bad("listeners", "https://0.0.0.0:8081"));
        assert!(bad("listeners", "http://0.0.0.0"));
        assert!(bad("schema.compatibility.level", "sideways"));
        assert!(bad("leader.eligibility", "maybe"));
        assert!(bad("kafkastore.timeout.ms", "soon"));
    }
}
