//! The plugins this worker has, by Kafka class name and alias: connectors,
//! converters, transformations and predicates. Aliases are Connect's: the
//! full class name, the simple name, and the simple name without the
//! plugin-type suffix (`FileStreamSource`, `JsonConverter`, `Json`).

use std::sync::Arc;

use serde_json::{json, Value as Json};

use crate::connectors::{self, ConnectorPlugin};
use crate::converters;
use crate::transforms;

/// The version reported for every built-in plugin and by `GET /`: the
/// Apache Kafka release whose Connect behaviour this worker follows.
pub const KAFKA_VERSION: &str = "3.9.0";

/// Whether `name` names the plugin `full` (`suffix` is the type suffix to prune).
pub fn matches_alias(full: &str, name: &str, suffix: &str) -> bool {
    if name == full {
        return true;
    }
    let simple = full.rsplit(['.', '$']).next().unwrap_or(full);
    // Transformation inner classes (`InsertField$Value`) keep their outer name.
    let simple_outer = full.rsplit('.').next().unwrap_or(full);
    name == simple
        || name == simple_outer
        || simple
            .strip_suffix(suffix)
            .is_some_and(|p| !p.is_empty() && p == name)
}

/// The connector plugin for a class name or alias.
pub fn connector(name: &str) -> Option<Arc<dyn ConnectorPlugin>> {
    let name = name.trim();
    connectors::all()
        .into_iter()
        .find(|c| matches_alias(c.class(), name, "Connector"))
}

/// Whether a class name (or alias) names any plugin (the `CLASS` config type).
pub fn class_exists(name: &str) -> bool {
    connector(name).is_some()
        || converters::resolve(name).is_some()
        || transforms::resolve_transformation(name).is_some()
        || transforms::resolve_predicate(name).is_some()
}

/// `GET /connector-plugins`: `{"class","type","version"}` for each plugin,
/// connectors only unless `connectors_only` is false.
pub fn plugin_list(connectors_only: bool) -> Vec<Json> {
    let mut out: Vec<Json> = connectors::all()
        .iter()
        .map(|c| json!({"class": c.class(), "type": c.connector_type().name(), "version": KAFKA_VERSION}))
        .collect();
    if !connectors_only {
        for (class, _) in converters::converter_plugins() {
            out.push(json!({"class": class, "type": "converter", "version": KAFKA_VERSION}));
        }
        for class in [
            converters::SIMPLE_HEADER_CONVERTER,
            converters::JSON_CONVERTER,
            converters::STRING_CONVERTER,
            converters::BYTE_ARRAY_CONVERTER,
        ] {
            out.push(json!({"class": class, "type": "header_converter", "version": KAFKA_VERSION}));
        }
        for class in transforms::transformation_classes() {
            out.push(json!({"class": class, "type": "transformation", "version": KAFKA_VERSION}));
        }
        for class in transforms::predicate_classes() {
            out.push(json!({"class": class, "type": "predicate", "version": KAFKA_VERSION}));
        }
    }
    out
}

/// The config definition of any plugin by name (`GET /connector-plugins/{p}/config`).
pub fn plugin_config_def(name: &str) -> Option<crate::config::ConfigDef> {
    if let Some(c) = connector(name) {
        return Some(c.config_def());
    }
    if let Some(class) = converters::resolve(name) {
        return Some(
            converters::converter_plugins()
                .into_iter()
                .find(|(c, _)| *c == class)
                .map(|(_, d)| d)
                .unwrap_or_default(),
        );
    }
    if let Some(class) = transforms::resolve_transformation(name) {
        return transforms::transformation_config_def(class);
    }
    if let Some(class) = transforms::resolve_predicate(name) {
        return transforms::predicate_config_def(class);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        let full = "org.apache.kafka.connect.file.FileStreamSourceConnector";
        assert!(matches_alias(full, full, "Connector"));
        assert!(matches_alias(
            full,
            "FileStreamSourceConnector",
            "Connector"
        ));
        assert!(matches_alias(full, "FileStreamSource", "Connector"));
        assert!(!matches_alias(full, "FileStreamSink", "Connector"));
        assert!(connector("FileStreamSink").is_some());
        assert!(connector("org.example.Nope").is_none());
        assert!(class_exists(
            "org.apache.kafka.connect.storage.StringConverter"
        ));
    }
}
