//! What every client command shares: how to reach the cluster (`-b`,
//! `--command-config`, `-X`), building librdkafka configs from that, and
//! turning librdkafka error codes into Kafka's own error names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientConfig;

/// How long admin and metadata requests may take before we give up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection options shared by every client command.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Broker(s) to bootstrap from, `HOST:PORT[,HOST:PORT...]`.
    #[arg(
        short = 'b',
        long = "bootstrap-server",
        visible_alias = "bootstrap-servers",
        value_name = "HOST:PORT",
        env = "STROM_BOOTSTRAP_SERVER",
        default_value = "localhost:9092",
        global = true
    )]
    pub bootstrap_server: String,

    /// A properties file (`key=value` lines, `#` comments) of extra client
    /// settings, e.g. security settings; Kafka's and librdkafka's names.
    #[arg(long = "command-config", value_name = "FILE", global = true)]
    pub command_config: Option<PathBuf>,

    /// Set a librdkafka property (repeatable), e.g. `-X security.protocol=SSL`.
    /// Applied after --command-config; `-X bootstrap.servers=...` wins over -b.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_key_value, global = true)]
    pub extra_properties: Vec<(String, String)>,
}

impl ClientArgs {
    /// The extra properties from `--command-config` and `-X`, in the order
    /// they apply (later wins), with `bootstrap.servers` settled.
    pub fn properties(&self) -> Result<BTreeMap<String, String>> {
        let mut props = BTreeMap::new();
        if let Some(file) = &self.command_config {
            props.extend(read_properties_file(file)?);
        }
        // The file's bootstrap.servers gives way to -b; an explicit -X does not.
        props.insert("bootstrap.servers".into(), self.bootstrap_server.clone());
        for (k, v) in &self.extra_properties {
            props.insert(k.clone(), v.clone());
        }
        Ok(props)
    }

    /// A librdkafka config holding `base` defaults, then the user's properties
    /// (which may override any default).
    pub fn client_config(&self, base: &[(&str, &str)]) -> Result<ClientConfig> {
        let mut config = ClientConfig::new();
        config.set("client.id", "strom-cli");
        for (k, v) in base {
            config.set(*k, *v);
        }
        for (k, v) in self.properties()? {
            config.set(k, v);
        }
        Ok(config)
    }

    /// Whether the connection is plain TCP (no TLS/SASL), so that a raw
    /// protocol request can be sent directly.
    pub fn is_plaintext(&self) -> Result<bool> {
        let props = self.properties()?;
        Ok(props
            .get("security.protocol")
            .is_none_or(|p| p.eq_ignore_ascii_case("plaintext")))
    }
}

/// The librdkafka client context of every command: its logs and errors go
/// to `tracing` (stderr) with Kafka's error names, and the errors that the
/// commands handle themselves (end of partition, offset resets) stay quiet.
#[derive(Debug, Clone, Copy, Default)]
pub struct CliContext;

impl ClientContext for CliContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", "{facility}: {message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", "{facility}: {message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", "{facility}: {message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", "{facility}: {message}")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(
                RDKafkaErrorCode::PartitionEOF
                | RDKafkaErrorCode::AutoOffsetReset
                | RDKafkaErrorCode::OffsetOutOfRange,
            ) => tracing::debug!(target: "librdkafka", "{}: {reason}", kafka_error(&error)),
            _ => tracing::warn!(target: "librdkafka", "{}: {reason}", kafka_error(&error)),
        }
    }
}

impl ConsumerContext for CliContext {}

/// Parse `key=value` (split at the first `=`; the key must not be empty).
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        Some(_) => Err(format!("empty key in '{s}'")),
        None => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

/// Read a Java-style properties file.
pub fn read_properties_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    parse_properties(&text).with_context(|| format!("in config file {}", path.display()))
}

/// Parse Java-style properties: one `key=value` (or `key: value`, or
/// `key value`) per line; `#` and `!` start comment lines; blank lines are
/// skipped; a trailing `\` continues a line.
pub fn parse_properties(text: &str) -> Result<BTreeMap<String, String>> {
    let mut props = BTreeMap::new();
    let mut pending = String::new();
    for (number, raw) in text.lines().enumerate() {
        let line = if pending.is_empty() {
            raw.trim()
        } else {
            raw.trim_start()
        };
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(continued) = line.strip_suffix('\\') {
            pending.push_str(continued);
            continue;
        }
        pending.push_str(line);
        let logical = std::mem::take(&mut pending);
        let split = logical.find(['=', ':', ' ', '\t']);
        let (key, value) = match split {
            Some(i) => {
                let rest = logical[i..].trim_start();
                let rest = rest
                    .strip_prefix(['=', ':'])
                    .map(str::trim_start)
                    .unwrap_or(rest);
                (logical[..i].trim(), rest.trim_end())
            }
            None => (logical.as_str(), ""),
        };
        if key.is_empty() {
            bail!("line {}: missing key", number + 1);
        }
        props.insert(key.to_string(), value.to_string());
    }
    if !pending.is_empty() {
        bail!("file ends inside a continued line");
    }
    Ok(props)
}

/// Kafka's name for an error code, e.g. `TOPIC_ALREADY_EXISTS`.
pub fn error_name(code: RDKafkaErrorCode) -> String {
    let camel = format!("{code:?}");
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// librdkafka's description of an error code, without its `Broker: ` or
/// `Local: ` prefix, e.g. `Topic already exists`.
pub fn error_description(code: RDKafkaErrorCode) -> String {
    // Display is "Name (Description)".
    let shown = code.to_string();
    let name = format!("{code:?}");
    let desc = shown
        .strip_prefix(&name)
        .map(str::trim)
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(&shown);
    desc.strip_prefix("Broker: ")
        .or_else(|| desc.strip_prefix("Local: "))
        .unwrap_or(desc)
        .to_string()
}

/// `NAME: message` for an error code concerning `topic`.
pub fn topic_error(code: RDKafkaErrorCode, topic: &str) -> String {
    let message = match code {
        RDKafkaErrorCode::TopicAlreadyExists => format!("Topic '{topic}' already exists."),
        RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
            format!("Topic '{topic}' does not exist.")
        }
        _ => format!("{} (topic '{topic}').", error_description(code)),
    };
    format!("{}: {message}", error_name(code))
}

/// A one-line message for a client-level error (no topic involved).
pub fn kafka_error(err: &KafkaError) -> String {
    let code = match err {
        KafkaError::AdminOp(code) => Some(*code),
        other => other.rdkafka_error_code(),
    };
    match code {
        Some(code) => format!("{}: {}", error_name(code), error_description(code)),
        None => err.to_string(),
    }
}

/// Wrap a librdkafka error as an `anyhow` error with Kafka's error name.
pub fn kafka_err(err: KafkaError) -> anyhow::Error {
    anyhow::anyhow!(kafka_error(&err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        client: ClientArgs,
    }

    #[test]
    fn key_value() {
        assert_eq!(
            parse_key_value("a.b=c=d").unwrap(),
            ("a.b".into(), "c=d".into())
        );
        assert_eq!(parse_key_value("k=").unwrap(), ("k".into(), "".into()));
        assert!(parse_key_value("novalue").is_err());
        assert!(parse_key_value("=v").is_err());
    }

    #[test]
    fn properties_file_syntax() {
        let text = "# comment\n! also comment\n\nsecurity.protocol=SASL_SSL\n\
                    sasl.mechanism : PLAIN\nclient.id strom test\n  a=b=c\n\
                    long=one,\\\n   two\nempty=\n";
        let p = parse_properties(text).unwrap();
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.mechanism"], "PLAIN");
        assert_eq!(p["client.id"], "strom test");
        assert_eq!(p["a"], "b=c");
        assert_eq!(p["long"], "one,two");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 6);
        assert!(parse_properties("=x\n").is_err());
        assert!(parse_properties("a=b\\\n").is_err());
    }

    #[test]
    fn precedence_file_then_bootstrap_then_x() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("client.properties");
        std::fs::write(
            &file,
            "bootstrap.servers=file:1\nacks=0\nsecurity.protocol=SSL\n",
        )
        .unwrap();
        let t = T::try_parse_from([
            "t",
            "-b",
            "flag:2",
            "--command-config",
            file.to_str().unwrap(),
            "-X",
            "acks=1",
            "-X",
            "linger.ms=5",
        ])
        .unwrap();
        let p = t.client.properties().unwrap();
        assert_eq!(p["bootstrap.servers"], "flag:2");
        assert_eq!(p["acks"], "1");
        assert_eq!(p["linger.ms"], "5");
        assert!(!t.client.is_plaintext().unwrap());

        let t = T::try_parse_from(["t", "-X", "bootstrap.servers=x:3"]).unwrap();
        assert_eq!(t.client.properties().unwrap()["bootstrap.servers"], "x:3");
        assert!(t.client.is_plaintext().unwrap());
        assert!(T::try_parse_from(["t", "-X", "oops"]).is_err());
    }

    #[test]
    fn default_bootstrap() {
        let t = T::try_parse_from(["t"]).unwrap();
        if std::env::var_os("STROM_BOOTSTRAP_SERVER").is_none() {
            assert_eq!(t.client.bootstrap_server, "localhost:9092");
        }
    }

    #[test]
    fn kafka_error_names() {
        assert_eq!(
            error_name(RDKafkaErrorCode::TopicAlreadyExists),
            "TOPIC_ALREADY_EXISTS"
        );
        assert_eq!(
            error_name(RDKafkaErrorCode::UnknownTopicOrPartition),
            "UNKNOWN_TOPIC_OR_PARTITION"
        );
        assert_eq!(
            topic_error(RDKafkaErrorCode::TopicAlreadyExists, "x"),
            "TOPIC_ALREADY_EXISTS: Topic 'x' already exists."
        );
        assert_eq!(
            error_description(RDKafkaErrorCode::InvalidPartitions),
            "Invalid number of partitions"
        );
        assert_eq!(
            kafka_error(&KafkaError::AdminOp(RDKafkaErrorCode::OperationTimedOut)),
            "OPERATION_TIMED_OUT: Timed out"
        );
        assert_eq!(
            kafka_error(&KafkaError::MetadataFetch(
                RDKafkaErrorCode::BrokerTransportFailure
            )),
            "BROKER_TRANSPORT_FAILURE: Broker transport failure"
        );
    }
}
