//! Connectors and their tasks.
//!
//! A [`ConnectorPlugin`] describes a connector class: its type, its config
//! definition, how it splits work into task configs, and the task it runs.
//! Tasks are synchronous, as in Connect (the worker runs each on the
//! blocking pool): a [`SourceTask`] polls records with their source partition
//! and offset, a [`SinkTask`] takes records and flushes what it took before
//! the worker commits the consumer offsets.
//!
//! Built in: [`file_source`] and [`file_sink`] (Kafka's FileStream
//! connectors), and [`jdbc`] (Confluent's JDBC source and sink).
//! [`common`] holds the settings every connector has (`name`,
//! `connector.class`, `tasks.max`, converters, transforms, error handling).

pub mod common;
pub mod file_sink;
pub mod file_source;
pub mod jdbc;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::config::{ConfigDef, ConfigValue, Props};
use crate::data::{SinkRecord, SourceRecord};
use crate::error::Result;
use crate::storage::offsets::OffsetReader;

/// Source or sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorType {
    Source,
    Sink,
}

impl ConnectorType {
    /// `source` / `sink`, as the REST API writes it.
    pub fn name(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

/// A connector class.
pub trait ConnectorPlugin: Send + Sync {
    /// The full Kafka class name.
    fn class(&self) -> &'static str;

    fn connector_type(&self) -> ConnectorType;

    /// The connector's own settings (`Connector.config()`).
    fn config_def(&self) -> ConfigDef;

    /// Checks beyond the config definition (`Connector.validate`), adding
    /// errors to `values`.
    fn validate(&self, _props: &Props, _values: &mut [ConfigValue]) {}

    /// Start the connector with `props` and return up to `max_tasks` task
    /// configs (`Connector.start` + `taskConfigs`).
    fn task_configs(&self, props: &Props, max_tasks: usize) -> Result<Vec<Props>>;

    /// A new source task (source connectors).
    fn source_task(&self) -> Option<Box<dyn SourceTask>> {
        None
    }

    /// A new sink task (sink connectors).
    fn sink_task(&self) -> Option<Box<dyn SinkTask>> {
        None
    }

    /// KIP-875 `alterOffsets`: check offsets about to be written (`None`
    /// offset = reset). `Ok(true)`: the connector accepts them. A sink's
    /// offsets live in Kafka (its consumer group), so sinks accept them unless
    /// they say otherwise; a source must check its own.
    fn alter_offsets(&self, _props: &Props, _offsets: &[(Json, Option<Json>)]) -> Result<bool> {
        Ok(self.connector_type() == ConnectorType::Sink)
    }
}

/// A source task: reads an external system into records.
pub trait SourceTask: Send {
    /// Start with the task's config; `offsets` reads what was committed before.
    fn start(&mut self, props: &Props, offsets: OffsetReader) -> Result<()>;

    /// Records available now (possibly none); may block briefly.
    fn poll(&mut self) -> Result<Vec<SourceRecord>>;

    fn stop(&mut self);
}

/// A sink task: writes records to an external system.
pub trait SinkTask: Send {
    fn start(&mut self, props: &Props) -> Result<()>;

    /// Write `records`. [`Error::Retriable`] asks the worker to hand the
    /// same records back after [`SinkTask::retry_backoff`].
    fn put(&mut self, records: &[SinkRecord]) -> Result<()>;

    /// How long to wait before handing records back after a retriable
    /// failure (Connect's `SinkTaskContext.timeout`).
    fn retry_backoff(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    /// Make everything put so far durable; the worker then commits
    /// `offsets` (topic, partition) → next offset.
    fn flush(&mut self, offsets: &BTreeMap<(String, i32), i64>) -> Result<()>;

    fn stop(&mut self);
}

/// Every built-in connector.
pub fn all() -> Vec<Arc<dyn ConnectorPlugin>> {
    vec![
        Arc::new(file_sink::FileStreamSinkConnector),
        Arc::new(file_source::FileStreamSourceConnector),
        Arc::new(jdbc::sink::JdbcSinkConnector),
        Arc::new(jdbc::source::JdbcSourceConnector),
    ]
}
