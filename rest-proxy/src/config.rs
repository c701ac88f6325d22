//! Configuration with Confluent REST Proxy's own property names, so an
//! existing `kafka-rest.properties` carries over.
//!
//! Sources, later ones win: the properties file, then environment variables
//! (`STROM_REST_BOOTSTRAP_SERVERS` or Confluent's docker-style
//! `KAFKA_REST_BOOTSTRAP_SERVERS` → `bootstrap.servers`: strip the prefix,
//! lower-case, `_` → `.`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use strom_common::service::{self, strip_security_protocols};

use crate::error::Error;

/// Environment variable prefixes that set properties.
pub const ENV_PREFIXES: [&str; 2] = ["STROM_REST_", "KAFKA_REST_"];

/// Everything the proxy needs to start.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// `listeners`: the HTTP listener, `http://host:port` (port 0 picks a free port).
    pub listener: String,
    /// `advertised.listeners` / `host.name`: the base of absolute URIs handed
    /// to clients (`base_uri` of consumer instances). Default: from the
    /// request's `Host` header.
    pub advertised_url: Option<String>,
    /// `bootstrap.servers` (`PLAINTEXT://` prefixes are accepted and stripped).
    pub bootstrap_servers: String,
    /// `schema.registry.url`: the first URL of the list.
    pub schema_registry_url: Option<String>,
    /// `id`: this proxy instance's id, part of generated consumer instance ids.
    pub id: String,
    /// `consumer.instance.timeout.ms`: idle consumer instances are closed after this.
    pub consumer_instance_timeout: Duration,
    /// `consumer.request.timeout.ms`: the longest a `records` read waits.
    pub consumer_request_timeout: Duration,
    /// `consumer.request.max.bytes`: the most bytes a `records` read returns.
    pub consumer_request_max_bytes: u64,
    /// `request.max.bytes` (Strom's own): largest request body (default 64 MiB).
    pub max_request_bytes: usize,
    /// Every property as given; `producer.*`, `consumer.*`, `client.*` and
    /// `admin.*` prefixed ones are passed on to librdkafka.
    pub props: BTreeMap<String, String>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            listener: "http://0.0.0.0:8082".to_string(),
            advertised_url: None,
            bootstrap_servers: "localhost:9092".to_string(),
            schema_registry_url: None,
            id: String::new(),
            consumer_instance_timeout: Duration::from_millis(300_000),
            consumer_request_timeout: Duration::from_millis(1_000),
            consumer_request_max_bytes: 64 * 1024 * 1024,
            max_request_bytes: 64 * 1024 * 1024,
            props: BTreeMap::new(),
        }
    }
}

impl ProxyConfig {
    /// A proxy on loopback port 0 against `bootstrap_servers`, for tests and embedding.
    pub fn local(bootstrap_servers: &str) -> Self {
        Self {
            listener: "http://127.0.0.1:0".to_string(),
            bootstrap_servers: bootstrap_servers.to_string(),
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
            c.listener = format!("http://0.0.0.0:{port}");
        }
        if let Some(v) = get("advertised.listeners").filter(|v| !v.is_empty()) {
            let first = v.split(',').map(str::trim).next().unwrap_or_default();
            c.advertised_url = Some(first.trim_end_matches('/').to_string());
        } else if let Some(host) = get("host.name").filter(|v| !v.is_empty()) {
            let (_, port) = listener_host_port(&c.listener)?;
            c.advertised_url = Some(format!("http://{host}:{port}"));
        }
        if let Some(v) = get("bootstrap.servers") {
            c.bootstrap_servers = strip_security_protocols(&v);
        }
        if let Some(v) = get("schema.registry.url").filter(|v| !v.is_empty()) {
            let first = v.split(',').map(str::trim).next().unwrap_or_default();
            c.schema_registry_url = Some(first.trim_end_matches('/').to_string());
        }
        if let Some(v) = get("id") {
            c.id = v;
        }
        if let Some(v) = get("consumer.instance.timeout.ms") {
            c.consumer_instance_timeout =
                Duration::from_millis(parse_num("consumer.instance.timeout.ms", &v)?);
        }
        if let Some(v) = get("consumer.request.timeout.ms") {
            c.consumer_request_timeout =
                Duration::from_millis(parse_num("consumer.request.timeout.ms", &v)?);
        }
        if let Some(v) = get("consumer.request.max.bytes") {
            c.consumer_request_max_bytes = parse_num("consumer.request.max.bytes", &v)?;
        }
        if let Some(v) = get("request.max.bytes") {
            c.max_request_bytes = parse_num("request.max.bytes", &v)?;
        }
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

    /// librdkafka properties given with `prefix` (`producer.`, `consumer.`,
    /// `admin.`, `client.`), prefix stripped. The proxy's own `consumer.*`
    /// settings are not passed on.
    pub fn client_props(&self, prefix: &str) -> Vec<(String, String)> {
        const OWN: [&str; 5] = [
            "consumer.instance.timeout.ms",
            "consumer.request.timeout.ms",
            "consumer.request.max.bytes",
            "consumer.iterator.timeout.ms",
            "consumer.threads",
        ];
        self.props
            .iter()
            .filter(|(k, _)| !OWN.contains(&k.as_str()))
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_string(), v.clone())))
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use strom_common::service::parse_properties;

    #[test]
    fn confluent_names_and_defaults() {
        let c = ProxyConfig::from_properties(BTreeMap::new()).unwrap();
        assert_eq!(c.listener, "http://0.0.0.0:8082");
        assert_eq!(c.consumer_instance_timeout, Duration::from_millis(300_000));
        assert_eq!(c.consumer_request_timeout, Duration::from_millis(1_000));
        assert_eq!(c.schema_registry_url, None);

        let props = parse_properties(
            "# comment\nlisteners=http://127.0.0.1:0\nbootstrap.servers=PLAINTEXT://localhost:9092\n\
             schema.registry.url=http://sr:8081/,http://sr2:8081\nid=proxy-1\n\
             consumer.instance.timeout.ms: 1500\nconsumer.request.timeout.ms=250\n\
             producer.linger.ms=5\n",
        );
        let c = ProxyConfig::from_properties(props).unwrap();
        assert_eq!(
            c.listener_host_port().unwrap(),
            ("127.0.0.1".to_string(), 0)
        );
        assert_eq!(c.bootstrap_servers, "localhost:9092");
        assert_eq!(c.schema_registry_url.as_deref(), Some("http://sr:8081"));
        assert_eq!(c.id, "proxy-1");
        assert_eq!(c.consumer_instance_timeout, Duration::from_millis(1500));
        assert_eq!(c.consumer_request_timeout, Duration::from_millis(250));
        assert_eq!(
            c.client_props("producer."),
            vec![("linger.ms".to_string(), "5".to_string())]
        );
        assert!(c.client_props("consumer.").is_empty());
    }

    #[test]
    fn env_prefixes() {
        let vars = vec![
            (
                "KAFKA_REST_BOOTSTRAP_SERVERS".to_string(),
                "a:1".to_string(),
            ),
            (
                "STROM_REST_CONSUMER_INSTANCE_TIMEOUT_MS".to_string(),
                "10".to_string(),
            ),
            ("OTHER".to_string(), "x".to_string()),
        ];
        let c = ProxyConfig::from_properties(env_overrides(vars.into_iter())).unwrap();
        assert_eq!(c.bootstrap_servers, "a:1");
        assert_eq!(c.consumer_instance_timeout, Duration::from_millis(10));
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = |k: &str, v: &str| {
            let mut p = BTreeMap::new();
            p.insert(k.to_string(), v.to_string());
            ProxyConfig::from_properties(p).is_err()
        };
        assert!(bad("listeners", "https://0.0.0.0:8082"));
        assert!(bad("listeners", "http://0.0.0.0"));
        assert!(bad("consumer.instance.timeout.ms", "soon"));
    }
}
