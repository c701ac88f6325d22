//! Records as connectors, converters and transforms see them.

use super::schema::SchemaRef;
use super::value::Value;

/// A record header: key, optional schema, value.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// Connect's `ConnectRecord`: what transforms operate on.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectRecord {
    pub topic: String,
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    pub headers: Vec<Header>,
}

impl ConnectRecord {
    /// A record with a value only.
    pub fn new(topic: &str, value_schema: Option<SchemaRef>, value: Value) -> Self {
        ConnectRecord {
            topic: topic.to_string(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: None,
            headers: Vec::new(),
        }
    }

    pub fn header(&self, key: &str) -> Option<&Header> {
        self.headers.iter().rev().find(|h| h.key == key)
    }
}

/// A record produced by a source task, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceRecord {
    /// The source partition, e.g. `{"filename": "/tmp/in.txt"}`.
    pub source_partition: serde_json::Map<String, serde_json::Value>,
    /// The position in it, e.g. `{"position": 1234}`.
    pub source_offset: serde_json::Map<String, serde_json::Value>,
    pub record: ConnectRecord,
}

/// A record delivered to a sink task, with its Kafka coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct SinkRecord {
    pub record: ConnectRecord,
    pub kafka_offset: i64,
    /// The partition the record was read from (transforms may change `record.kafka_partition`).
    pub original_partition: i32,
    pub original_topic: String,
}
