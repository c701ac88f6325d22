//! Single message transforms (SMTs) and predicates, built from a
//! connector's `transforms` / `predicates` settings by Kafka class name
//! (`org.apache.kafka.connect.transforms.InsertField$Value`, ...).
//!
//! A [`TransformChain`] applies each transformation in order, each guarded
//! by an optional predicate (`transforms.<alias>.predicate`, `negate`); a
//! transformation returning `None` drops the record.

use std::sync::Arc;

use crate::config::def::split_list;
use crate::config::{with_prefix, ConfigDef, Props};
use crate::data::ConnectRecord;
use crate::error::{Error, Result};

/// A single message transform.
pub trait Transformation: Send + Sync {
    /// The transformed record, or `None` to drop it.
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>>;
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

/// Every built-in transformation.
pub fn transformation_plugins() -> Vec<TransformationPlugin> {
    Vec::new()
}

/// Every built-in predicate.
pub fn predicate_plugins() -> Vec<PredicatePlugin> {
    Vec::new()
}

pub fn transformation_classes() -> Vec<&'static str> {
    transformation_plugins().iter().map(|p| p.class).collect()
}

pub fn predicate_classes() -> Vec<&'static str> {
    predicate_plugins().iter().map(|p| p.class).collect()
}

/// The full class name of a transformation name or alias.
pub fn resolve_transformation(name: &str) -> Option<&'static str> {
    let name = name.trim();
    transformation_plugins()
        .into_iter()
        .map(|p| p.class)
        .find(|c| crate::plugins::matches_alias(c, name, "Transformation"))
}

pub fn resolve_predicate(name: &str) -> Option<&'static str> {
    let name = name.trim();
    predicate_plugins()
        .into_iter()
        .map(|p| p.class)
        .find(|c| crate::plugins::matches_alias(c, name, "Predicate"))
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
            let plugin = predicate_plugins()
                .into_iter()
                .find(|p| crate::plugins::matches_alias(p.class, class_name.trim(), "Predicate"))
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
            let plugin = transformation_plugins()
                .into_iter()
                .find(|p| crate::plugins::matches_alias(p.class, class_name.trim(), "Transformation"))
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

    /// Apply every stage; `Err((class, error))` names the failing transformation.
    pub fn apply(
        &self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, (String, Error)> {
        for s in &self.stages {
            if let Some((p, negate)) = &s.predicate {
                if p.test(&record) == *negate {
                    continue;
                }
            }
            match s.transformation.apply(record) {
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
