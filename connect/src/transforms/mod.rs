//! Single message transforms (SMTs) and predicates, built from a
//! connector's `transforms` / `predicates` settings by Kafka class name
//! (`org.apache.kafka.connect.transforms.InsertField$Value`, ...).
//!
//! A [`TransformChain`] applies each transformation in order, each guarded
//! by an optional predicate (`transforms.<alias>.predicate`, `negate`); a
//! transformation returning `None` drops the record.
//!
//! One file per transformation or small group: [`insert_field`],
//! [`replace_field`], [`mask_field`], [`cast`], [`extract_hoist`]
//! (ExtractField, HoistField), [`value_to_key`], [`flatten`],
//! [`timestamp_converter`] (with [`datefmt`], Java's `SimpleDateFormat`),
//! [`routers`] (TimestampRouter, RegexRouter), [`filter`], [`headers`]
//! (DropHeaders, InsertHeader, HeaderFrom), [`predicates`]; shared helpers
//! in [`util`].

pub mod cast;
pub mod datefmt;
pub mod extract_hoist;
pub mod filter;
pub mod flatten;
pub mod headers;
pub mod insert_field;
pub mod mask_field;
pub mod predicates;
pub mod replace_field;
pub mod routers;
pub mod timestamp_converter;
pub mod util;
pub mod value_to_key;

use std::sync::Arc;

use crate::config::def::split_list;
use crate::config::{with_prefix, ConfigDef, Props};
use crate::data::ConnectRecord;
use crate::error::{Error, Result};

/// What a transformation may know about a record beyond [`ConnectRecord`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordContext {
    /// The Kafka offset of a sink record; `None` for source records
    /// (Connect's `SinkRecord.kafkaOffset`).
    pub kafka_offset: Option<i64>,
}

/// A single message transform.
pub trait Transformation: Send + Sync {
    /// The transformed record, or `None` to drop it.
    fn apply(&self, record: ConnectRecord, ctx: &RecordContext) -> Result<Option<ConnectRecord>>;
}

/// A condition on records.
pub trait Predicate: Send + Sync {
    fn test(&self, record: &ConnectRecord) -> bool;
}

type BuildTransformation = fn(&Props) -> Result<Box<dyn Transformation>>;
type BuildPredicate = fn(&Props) -> Result<Box<dyn Predicate>>;

/// A transformation class: name, config definition, constructor.
pub struct TransformationPlugin {
    pub class: &'static str,
    pub config_def: fn() -> ConfigDef,
    pub build: BuildTransformation,
}

/// A predicate class.
pub struct PredicatePlugin {
    pub class: &'static str,
    pub config_def: fn() -> ConfigDef,
    pub build: BuildPredicate,
}

const PKG: &str = "org.apache.kafka.connect.transforms.";

/// A `$Key` and a `$Value` plugin for a transformation module.
macro_rules! key_value {
    ($out:ident, $name:literal, $m:ident) => {
        $out.push(TransformationPlugin {
            class: concat!("org.apache.kafka.connect.transforms.", $name, "$Key"),
            config_def: $m::config_def,
            build: |p| $m::build(p, util::Side::Key),
        });
        $out.push(TransformationPlugin {
            class: concat!("org.apache.kafka.connect.transforms.", $name, "$Value"),
            config_def: $m::config_def,
            build: |p| $m::build(p, util::Side::Value),
        });
    };
}

/// Every built-in transformation (Kafka's `connect-transforms`).
#[allow(clippy::vec_init_then_push)]
pub fn transformation_plugins() -> Vec<TransformationPlugin> {
    let mut out = Vec::new();
    key_value!(out, "Cast", cast);
    out.push(TransformationPlugin {
        class: "org.apache.kafka.connect.transforms.DropHeaders",
        config_def: headers::drop_headers_config_def,
        build: headers::build_drop_headers,
    });
    key_value!(out, "ExtractField", extract_hoist);
    out.push(TransformationPlugin {
        class: "org.apache.kafka.connect.transforms.Filter",
        config_def: filter::config_def,
        build: filter::build,
    });
    key_value!(out, "Flatten", flatten);
    key_value!(out, "HeaderFrom", headers);
    out.push(TransformationPlugin {
        class: "org.apache.kafka.connect.transforms.HoistField$Key",
        config_def: extract_hoist::hoist_config_def,
        build: |p| extract_hoist::build_hoist(p, util::Side::Key),
    });
    out.push(TransformationPlugin {
        class: "org.apache.kafka.connect.transforms.HoistField$Value",
        config_def: extract_hoist::hoist_config_def,
        build: |p| extract_hoist::build_hoist(p, util::Side::Value),
    });
    key_value!(out, "InsertField", insert_field);
    out.push(TransformationPlugin {
        class: "org.apache.kafka.connect.transforms.InsertHeader",
        config_def: headers::insert_header_config_def,
        build: headers::build_insert_header,
    });
    key_value!(out, "MaskField", mask_field);
    out.push(TransformationPlugin {
        class: "org.apache.kafka.connect.transforms.RegexRouter",
        config_def: routers::regex_config_def,
        build: routers::build_regex,
    });
    key_value!(out, "ReplaceField", replace_field);
    key_value!(out, "TimestampConverter", timestamp_converter);
    out.push(TransformationPlugin {
        class: "org.apache.kafka.connect.transforms.TimestampRouter",
        config_def: routers::timestamp_config_def,
        build: routers::build_timestamp,
    });
    out.push(TransformationPlugin {
        class: "org.apache.kafka.connect.transforms.ValueToKey",
        config_def: value_to_key::config_def,
        build: value_to_key::build,
    });
    debug_assert!(out.iter().all(|p| p.class.starts_with(PKG)));
    out
}

/// Every built-in predicate.
pub fn predicate_plugins() -> Vec<PredicatePlugin> {
    vec![
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
            config_def: predicates::has_header_key_config_def,
            build: predicates::build_has_header_key,
        },
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            config_def: ConfigDef::new,
            build: predicates::build_record_is_tombstone,
        },
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            config_def: predicates::topic_name_matches_config_def,
            build: predicates::build_topic_name_matches,
        },
    ]
}

/// The one class `name` names: the full name, or an alias only one class
/// has (Connect drops ambiguous aliases such as `Value`).
fn resolve_unique(classes: Vec<&'static str>, name: &str, suffix: &str) -> Option<&'static str> {
    if let Some(c) = classes.iter().find(|c| **c == name) {
        return Some(c);
    }
    let mut found = classes
        .into_iter()
        .filter(|c| crate::plugins::matches_alias(c, name, suffix));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

pub fn transformation_classes() -> Vec<&'static str> {
    transformation_plugins().iter().map(|p| p.class).collect()
}

pub fn predicate_classes() -> Vec<&'static str> {
    predicate_plugins().iter().map(|p| p.class).collect()
}

/// The full class name of a transformation name or alias.
pub fn resolve_transformation(name: &str) -> Option<&'static str> {
    resolve_unique(transformation_classes(), name.trim(), "Transformation")
}

pub fn resolve_predicate(name: &str) -> Option<&'static str> {
    resolve_unique(predicate_classes(), name.trim(), "Predicate")
}

pub fn transformation_config_def(class: &str) -> Option<ConfigDef> {
    transformation_plugins()
        .into_iter()
        .find(|p| p.class == class)
        .map(|p| (p.config_def)())
}

pub fn predicate_config_def(class: &str) -> Option<ConfigDef> {
    predicate_plugins()
        .into_iter()
        .find(|p| p.class == class)
        .map(|p| (p.config_def)())
}

struct Stage {
    alias: String,
    class: &'static str,
    transformation: Box<dyn Transformation>,
    predicate: Option<(Arc<dyn Predicate>, bool)>,
}

/// A connector's transformations, in order.
#[derive(Default)]
pub struct TransformChain {
    stages: Vec<Stage>,
}

impl TransformChain {
    /// Build from a connector's config (`transforms`, `transforms.<alias>.*`,
    /// `predicates`, `predicates.<alias>.*`).
    pub fn from_config(props: &Props) -> Result<Self> {
        let mut predicates = std::collections::BTreeMap::new();
        for alias in split_list(props.get("predicates").map(String::as_str).unwrap_or("")) {
            let prefix = format!("predicates.{alias}.");
            let own = with_prefix(props, &prefix);
            let class_name = own.get("type").cloned().unwrap_or_default();
            let plugin = resolve_predicate(&class_name)
                .and_then(|c| predicate_plugins().into_iter().find(|p| p.class == c))
                .ok_or_else(|| {
                    Error::config(format!(
                        "Invalid value {class_name} for configuration {prefix}type: Class {class_name} could not be found."
                    ))
                })?;
            let p: Arc<dyn Predicate> = Arc::from((plugin.build)(&own)?);
            predicates.insert(alias, p);
        }
        let mut stages = Vec::new();
        for alias in split_list(props.get("transforms").map(String::as_str).unwrap_or("")) {
            let prefix = format!("transforms.{alias}.");
            let own = with_prefix(props, &prefix);
            let class_name = own.get("type").cloned().unwrap_or_default();
            let plugin = resolve_transformation(&class_name)
                .and_then(|c| transformation_plugins().into_iter().find(|p| p.class == c))
                .ok_or_else(|| {
                    Error::config(format!(
                        "Invalid value {class_name} for configuration {prefix}type: Class {class_name} could not be found."
                    ))
                })?;
            let transformation = (plugin.build)(&own)?;
            let predicate = match own
                .get("predicate")
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
            {
                Some(p) => {
                    let pred = predicates.get(p).cloned().ok_or_else(|| {
                        Error::config(format!(
                            "Invalid value {p} for configuration {prefix}predicate: Predicate {p} not found"
                        ))
                    })?;
                    let negate = own
                        .get("negate")
                        .is_some_and(|n| n.trim().eq_ignore_ascii_case("true"));
                    Some((pred, negate))
                }
                None => None,
            };
            stages.push(Stage {
                alias,
                class: plugin.class,
                transformation,
                predicate,
            });
        }
        Ok(TransformChain { stages })
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Apply every stage to a source record; `Err((class, error))` names
    /// the failing transformation.
    pub fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, (String, Error)> {
        self.apply_with(record, &RecordContext::default())
    }

    /// Apply every stage to a sink record read at `kafka_offset`.
    pub fn apply_sink(
        &self,
        record: ConnectRecord,
        kafka_offset: i64,
    ) -> Result<Option<ConnectRecord>, (String, Error)> {
        self.apply_with(
            record,
            &RecordContext {
                kafka_offset: Some(kafka_offset),
            },
        )
    }

    fn apply_with(
        &self,
        mut record: ConnectRecord,
        ctx: &RecordContext,
    ) -> Result<Option<ConnectRecord>, (String, Error)> {
        for s in &self.stages {
            if let Some((p, negate)) = &s.predicate {
                if p.test(&record) == *negate {
                    continue;
                }
            }
            match s.transformation.apply(record, ctx) {
                Ok(Some(r)) => record = r,
                Ok(None) => return Ok(None),
                Err(e) => {
                    tracing::debug!(alias = %s.alias, error = %e, "transformation failed");
                    return Err((s.class.to_string(), e));
                }
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::util::test_support::*;
    use super::*;
    use crate::data::Value;

    #[test]
    fn registry_and_aliases() {
        let classes = transformation_classes();
        assert_eq!(classes.len(), 24);
        assert_eq!(
            resolve_transformation("InsertField$Value"),
            Some("org.apache.kafka.connect.transforms.InsertField$Value")
        );
        assert_eq!(
            resolve_transformation("RegexRouter"),
            Some("org.apache.kafka.connect.transforms.RegexRouter")
        );
        assert_eq!(resolve_transformation("Value"), None, "ambiguous alias");
        assert_eq!(
            resolve_predicate("TopicNameMatches"),
            Some("org.apache.kafka.connect.transforms.predicates.TopicNameMatches")
        );
        assert_eq!(predicate_classes().len(), 3);
        for p in transformation_plugins() {
            for k in (p.config_def)().keys {
                assert!(!k.documentation.is_empty(), "{} {}", p.class, k.name);
            }
        }
    }

    #[test]
    fn chain_with_predicates() {
        let chain = TransformChain::from_config(&props(&[
            ("transforms", "hoist,insert,route,drop"),
            ("transforms.hoist.type", "HoistField$Value"),
            ("transforms.hoist.field", "line"),
            (
                "transforms.insert.type",
                "org.apache.kafka.connect.transforms.InsertField$Value",
            ),
            ("transforms.insert.static.field", "origin"),
            ("transforms.insert.static.value", "file"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "(.*)-raw"),
            ("transforms.route.replacement", "$1-clean"),
            ("transforms.drop.type", "Filter"),
            ("transforms.drop.predicate", "isTest"),
            ("transforms.drop.negate", "true"),
            ("predicates", "isTest"),
            ("predicates.isTest.type", "TopicNameMatches"),
            ("predicates.isTest.pattern", "test.*"),
        ]))
        .unwrap();
        let mut r = record(s("hello"));
        r.topic = "test-raw".into();
        let out = chain.apply(r).unwrap().unwrap();
        assert_eq!(out.topic, "test-clean");
        assert_eq!(
            out.value,
            map(vec![("line", s("hello")), ("origin", s("file"))])
        );
        let mut r = record(s("hello"));
        r.topic = "other".into();
        assert_eq!(chain.apply(r).unwrap(), None, "negated predicate: filtered");

        let e = TransformChain::from_config(&props(&[
            ("transforms", "x"),
            ("transforms.x.type", "ExtractField$Key"),
        ]))
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "configuration: Missing required configuration \"field\" which has no default value."
        );
        let (class, e) = TransformChain::from_config(&props(&[
            ("transforms", "x"),
            ("transforms.x.type", "ExtractField$Value"),
            ("transforms.x.field", "f"),
        ]))
        .unwrap()
        .apply(record(Value::Int64(1)))
        .unwrap_err();
        assert_eq!(
            class,
            "org.apache.kafka.connect.transforms.ExtractField$Value"
        );
        assert!(matches!(e, Error::Data(_)));
    }

    #[test]
    fn sink_offsets_reach_insert_field() {
        let chain = TransformChain::from_config(&props(&[
            ("transforms", "i"),
            ("transforms.i.type", "InsertField$Value"),
            ("transforms.i.offset.field", "off"),
        ]))
        .unwrap();
        let out = chain.apply_sink(record(map(vec![])), 7).unwrap().unwrap();
        assert_eq!(out.value, map(vec![("off", Value::Int64(7))]));
        assert!(chain.apply(record(map(vec![]))).is_err());
    }
}
