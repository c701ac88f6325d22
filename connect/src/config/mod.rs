//! Configuration: Java-style properties files, the worker's properties with
//! Kafka Connect's names ([`worker`]), and config definitions that drive both
//! validation and `/connector-plugins/{p}/config` ([`def`]).

pub mod def;
pub mod worker;

use std::collections::BTreeMap;

use strom_common::service;
pub use strom_common::service::parse_properties;

pub use def::{ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, Width};
pub use worker::{Mode, WorkerConfig};

/// A connector's or task's configuration: string keys to string values, as Connect keeps them.
pub type Props = BTreeMap<String, String>;

/// Environment variable prefixes that set worker properties
/// (`STROM_CONNECT_BOOTSTRAP_SERVERS` or Confluent's docker-style
/// `CONNECT_BOOTSTRAP_SERVERS` → `bootstrap.servers`).
pub const ENV_PREFIXES: [&str; 2] = ["STROM_CONNECT_", "CONNECT_"];

/// Properties named by environment variables with one of [`ENV_PREFIXES`]:
/// strip the prefix, lower-case, `_` → `.`.
pub fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> Props {
    service::env_overrides(vars, &ENV_PREFIXES)
}

/// Entries of `props` whose key starts with `prefix`, with the prefix removed.
pub fn with_prefix(props: &Props, prefix: &str) -> Props {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|r| (r.to_string(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        let p = env_overrides(
            vec![
                ("STROM_CONNECT_GROUP_ID".to_string(), "g".to_string()),
                ("CONNECT_BOOTSTRAP_SERVERS".to_string(), "b:1".to_string()),
                ("OTHER".to_string(), "x".to_string()),
            ]
            .into_iter(),
        );
        assert_eq!(p["group.id"], "g");
        assert_eq!(p["bootstrap.servers"], "b:1");
        assert_eq!(p.len(), 2);
    }
}
