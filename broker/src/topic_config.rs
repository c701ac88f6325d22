//! Topic-level configs: Kafka's names, types, defaults and broker synonyms.
//!
//! A topic's effective value for a config is, in order: its dynamic override
//! (set by CreateTopics/AlterConfigs), the broker property that is its synonym
//! (`log.retention.ms` for `retention.ms`, ...), or Kafka's default.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context};
use strom_log::{CompressionType, LogConfig, TimestampType};

/// The type of a config value, with DescribeConfigs v3's type codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// One topic config: its name, type, Kafka default and broker synonyms.
#[derive(Debug)]
pub struct TopicConfigDef {
    pub name: &'static str,
    pub kind: ConfigType,
    pub default: &'static str,
    /// Broker properties that set this config's default, most specific first,
    /// each with the factor that converts its unit into this config's unit.
    pub synonyms: &'static [(&'static str, i64)],
    pub allowed: &'static [&'static str],
    /// Smallest accepted value for numbers.
    pub min: Option<i64>,
}

const H: i64 = 3_600_000;
const M: i64 = 60_000;

macro_rules! def {
    ($name:expr, $kind:ident, $default:expr, [$($syn:expr),*], allowed = [$($a:expr),*], min = $min:expr) => {
        TopicConfigDef { name: $name, kind: ConfigType::$kind, default: $default, synonyms: &[$($syn),*], allowed: &[$($a),*], min: $min }
    };
}

/// Every topic config Strom knows, sorted by name.
pub static TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def!(
        "cleanup.policy",
        List,
        "delete",
        [("log.cleanup.policy", 1)],
        allowed = ["delete", "compact"],
        min = None
    ),
    def!(
        "compression.gzip.level",
        Int,
        "-1",
        [("compression.gzip.level", 1)],
        allowed = [],
        min = Some(-1)
    ),
    def!(
        "compression.lz4.level",
        Int,
        "9",
        [("compression.lz4.level", 1)],
        allowed = [],
        min = Some(1)
    ),
    def!(
        "compression.type",
        String,
        "producer",
        [("compression.type", 1)],
        allowed = ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
        min = None
    ),
    def!(
        "compression.zstd.level",
        Int,
        "3",
        [("compression.zstd.level", 1)],
        allowed = [],
        min = None
    ),
    def!(
        "delete.retention.ms",
        Long,
        "86400000",
        [("log.cleaner.delete.retention.ms", 1)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "file.delete.delay.ms",
        Long,
        "60000",
        [("log.segment.delete.delay.ms", 1)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "flush.messages",
        Long,
        "9223372036854775807",
        [("log.flush.interval.messages", 1)],
        allowed = [],
        min = Some(1)
    ),
    def!(
        "flush.ms",
        Long,
        "9223372036854775807",
        [("log.flush.interval.ms", 1)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "index.interval.bytes",
        Int,
        "4096",
        [("log.index.interval.bytes", 1)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "max.compaction.lag.ms",
        Long,
        "9223372036854775807",
        [("log.cleaner.max.compaction.lag.ms", 1)],
        allowed = [],
        min = Some(1)
    ),
    def!(
        "max.message.bytes",
        Int,
        "1048588",
        [("message.max.bytes", 1)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "message.timestamp.after.max.ms",
        Long,
        "3600000",
        [("log.message.timestamp.after.max.ms", 1)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "message.timestamp.before.max.ms",
        Long,
        "9223372036854775807",
        [("log.message.timestamp.before.max.ms", 1)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "message.timestamp.type",
        String,
        "CreateTime",
        [("log.message.timestamp.type", 1)],
        allowed = ["CreateTime", "LogAppendTime"],
        min = None
    ),
    def!(
        "min.cleanable.dirty.ratio",
        Double,
        "0.5",
        [("log.cleaner.min.cleanable.ratio", 1)],
        allowed = [],
        min = None
    ),
    def!(
        "min.compaction.lag.ms",
        Long,
        "0",
        [("log.cleaner.min.compaction.lag.ms", 1)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "min.insync.replicas",
        Int,
        "1",
        [("min.insync.replicas", 1)],
        allowed = [],
        min = Some(1)
    ),
    def!(
        "preallocate",
        Boolean,
        "false",
        [("log.preallocate", 1)],
        allowed = [],
        min = None
    ),
    def!(
        "retention.bytes",
        Long,
        "-1",
        [("log.retention.bytes", 1)],
        allowed = [],
        min = None
    ),
    def!(
        "retention.ms",
        Long,
        "604800000",
        [
            ("log.retention.ms", 1),
            ("log.retention.minutes", M),
            ("log.retention.hours", H)
        ],
        allowed = [],
        min = Some(-1)
    ),
    def!(
        "segment.bytes",
        Int,
        "1073741824",
        [("log.segment.bytes", 1)],
        allowed = [],
        min = Some(14)
    ),
    def!(
        "segment.index.bytes",
        Int,
        "10485760",
        [("log.index.size.max.bytes", 1)],
        allowed = [],
        min = Some(4)
    ),
    def!(
        "segment.jitter.ms",
        Long,
        "0",
        [("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", H)],
        allowed = [],
        min = Some(0)
    ),
    def!(
        "segment.ms",
        Long,
        "604800000",
        [("log.roll.ms", 1), ("log.roll.hours", H)],
        allowed = [],
        min = Some(1)
    ),
    def!(
        "unclean.leader.election.enable",
        Boolean,
        "false",
        [("unclean.leader.election.enable", 1)],
        allowed = [],
        min = None
    ),
];

/// The definition of topic config `name`, if Strom knows it.
pub fn lookup(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Check that `value` is acceptable for topic config `def`.
pub fn validate(def: &TopicConfigDef, value: &str) -> anyhow::Result<()> {
    let v = value.trim();
    match def.kind {
        ConfigType::Boolean => {
            crate::config::parse_bool(v)?;
        }
        ConfigType::Int | ConfigType::Long => {
            let n: i64 = v
                .parse()
                .with_context(|| format!("`{v}` is not a number"))?;
            if def.kind == ConfigType::Int && i32::try_from(n).is_err() {
                bail!("`{v}` is out of range for an int");
            }
            if let Some(min) = def.min {
                if n < min {
                    bail!(
                        "Invalid value {v} for configuration {}: Value must be at least {min}",
                        def.name
                    );
                }
            }
        }
        ConfigType::Double => {
            let d: f64 = v
                .parse()
                .with_context(|| format!("`{v}` is not a number"))?;
            if !(0.0..=1.0).contains(&d) {
                bail!(
                    "Invalid value {v} for configuration {}: Value must be between 0 and 1",
                    def.name
                );
            }
        }
        ConfigType::String => {
            if !def.allowed.is_empty() && !def.allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) {
                bail!(
                    "Invalid value {v} for configuration {}: String must be one of: {}",
                    def.name,
                    def.allowed.join(", ")
                );
            }
        }
        ConfigType::List => {
            for item in v.split(',').map(str::trim) {
                if !def.allowed.is_empty() && !def.allowed.contains(&item) {
                    bail!(
                        "Invalid value {v} for configuration {}: List items must be one of: {}",
                        def.name,
                        def.allowed.join(", ")
                    );
                }
            }
        }
    }
    Ok(())
}

/// Where a topic's effective value for a config comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerDefault {
    pub value: String,
    /// The broker property that set it, or None for Kafka's built-in default.
    pub synonym: Option<&'static str>,
}

/// The broker-level default of every topic config, from the broker's properties.
pub fn broker_defaults(
    props: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<&'static str, BrokerDefault>> {
    let mut out = BTreeMap::new();
    for def in TOPIC_CONFIGS {
        let mut found = None;
        for (syn, factor) in def.synonyms {
            if let Some(v) = props.get(*syn) {
                let value = if *factor == 1 {
                    v.trim().to_string()
                } else {
                    let n: i64 = v
                        .trim()
                        .parse()
                        .with_context(|| format!("{syn}: not a number: {v}"))?;
                    n.saturating_mul(*factor).to_string()
                };
                validate(def, &value).with_context(|| format!("broker property {syn}"))?;
                found = Some(BrokerDefault {
                    value,
                    synonym: Some(syn),
                });
                break;
            }
        }
        out.insert(
            def.name,
            found.unwrap_or(BrokerDefault {
                value: def.default.to_string(),
                synonym: None,
            }),
        );
    }
    Ok(out)
}

/// Validate a set of topic overrides; returns the first problem as a message.
pub fn validate_overrides(overrides: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in overrides {
        let def = lookup(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
        validate(def, value).map_err(|e| format!("{e:#}"))?;
    }
    Ok(())
}

/// Effective config values for a topic: broker defaults overlaid with its overrides.
pub fn effective(
    defaults: &BTreeMap<&'static str, BrokerDefault>,
    overrides: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = defaults
        .iter()
        .map(|(k, v)| (k.to_string(), v.value.clone()))
        .collect();
    for (k, v) in overrides {
        out.insert(k.clone(), v.clone());
    }
    out
}

fn num(values: &BTreeMap<String, String>, key: &str, default: i64) -> i64 {
    values
        .get(key)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The storage engine's config for a topic with these effective values.
pub fn log_config(values: &BTreeMap<String, String>, page_cache_policy: bool) -> LogConfig {
    let never = i64::MAX;
    let flush_messages = num(values, "flush.messages", never);
    let flush_ms = num(values, "flush.ms", never);
    let segment_ms = num(values, "segment.ms", 604_800_000);
    let cleanup_policy: Vec<String> = values
        .get("cleanup.policy")
        .map_or("delete", String::as_str)
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    LogConfig {
        segment_bytes: num(values, "segment.bytes", 1_073_741_824).max(14) as u64,
        segment_ms: Some(Duration::from_millis(segment_ms.max(1) as u64)),
        index_interval_bytes: num(values, "index.interval.bytes", 4096).clamp(0, i32::MAX as i64)
            as u32,
        max_message_bytes: num(values, "max.message.bytes", 1_048_588).max(0) as usize,
        message_timestamp_type: match values.get("message.timestamp.type").map(String::as_str) {
            Some(t) if t.eq_ignore_ascii_case("LogAppendTime") => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        },
        compression_type: match values
            .get("compression.type")
            .map(|s| s.to_ascii_lowercase())
            .as_deref()
        {
            Some("uncompressed") => CompressionType::Uncompressed,
            Some("gzip") => CompressionType::Gzip,
            Some("snappy") => CompressionType::Snappy,
            Some("lz4") => CompressionType::Lz4,
            Some("zstd") => CompressionType::Zstd,
            _ => CompressionType::Producer,
        },
        flush_interval_messages: (page_cache_policy && flush_messages != never)
            .then_some(flush_messages.max(1) as u64),
        flush_interval_ms: (page_cache_policy && flush_ms != never)
            .then(|| Duration::from_millis(flush_ms.max(0) as u64)),
        cleanup_delete: cleanup_policy.iter().any(|p| p == "delete"),
        cleanup_compact: cleanup_policy.iter().any(|p| p == "compact"),
        retention_ms: num(values, "retention.ms", 604_800_000),
        retention_bytes: num(values, "retention.bytes", -1),
        delete_retention_ms: num(values, "delete.retention.ms", 86_400_000),
        min_compaction_lag_ms: num(values, "min.compaction.lag.ms", 0),
        max_compaction_lag_ms: num(values, "max.compaction.lag.ms", i64::MAX),
        min_cleanable_dirty_ratio: values
            .get("min.cleanable.dirty.ratio")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|r| r.is_finite())
            .unwrap_or(0.5),
        producer_id_expiration_ms: num(values, "producer.id.expiration.ms", 86_400_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_and_units() {
        let mut props = BTreeMap::new();
        props.insert("log.retention.hours".to_string(), "2".to_string());
        props.insert("log.segment.bytes".to_string(), "1048576".to_string());
        let d = broker_defaults(&props).expect("defaults");
        assert_eq!(d["retention.ms"].value, "7200000");
        assert_eq!(d["retention.ms"].synonym, Some("log.retention.hours"));
        assert_eq!(d["segment.bytes"].value, "1048576");
        assert_eq!(d["cleanup.policy"].synonym, None);
        props.insert("log.retention.ms".to_string(), "5".to_string());
        assert_eq!(
            broker_defaults(&props).expect("defaults")["retention.ms"].value,
            "5"
        );
    }

    #[test]
    fn validates_overrides() {
        let ok: BTreeMap<String, String> =
            [("cleanup.policy".to_string(), "compact,delete".to_string())].into();
        assert!(validate_overrides(&ok).is_ok());
        let bad: BTreeMap<String, String> =
            [("compression.type".to_string(), "brotli".to_string())].into();
        assert!(validate_overrides(&bad).is_err());
        let unknown: BTreeMap<String, String> = [("no.such".to_string(), "1".to_string())].into();
        assert!(validate_overrides(&unknown).is_err());
        let neg: BTreeMap<String, String> =
            [("segment.bytes".to_string(), "-1".to_string())].into();
        assert!(validate_overrides(&neg).is_err());
    }

    #[test]
    fn builds_log_config() {
        let d = broker_defaults(&BTreeMap::new()).expect("defaults");
        let mut o = BTreeMap::new();
        o.insert("compression.type".to_string(), "gzip".to_string());
        o.insert(
            "message.timestamp.type".to_string(),
            "LogAppendTime".to_string(),
        );
        let c = log_config(&effective(&d, &o), false);
        assert_eq!(c.compression_type, CompressionType::Gzip);
        assert_eq!(c.message_timestamp_type, TimestampType::LogAppendTime);
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(c.flush_interval_messages, None);
    }
}
