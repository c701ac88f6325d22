//! Converters between Connect data and the bytes in Kafka records, built
//! from config by class name as Connect does (`key.converter`,
//! `value.converter`, `header.converter`, with `<name>.`-prefixed settings):
//!
//! - [`json::JsonConverter`] (`org.apache.kafka.connect.json.JsonConverter`):
//!   with `schemas.enable=true` the `{"schema":..,"payload":..}` envelope.
//! - [`string::StringConverter`] (`org.apache.kafka.connect.storage.StringConverter`).
//! - [`bytearray::ByteArrayConverter`] (`org.apache.kafka.connect.converters.ByteArrayConverter`).
//! - [`header::SimpleHeaderConverter`] (`org.apache.kafka.connect.storage.SimpleHeaderConverter`),
//!   the default header converter.
//! - [`avro::AvroConverter`] (`io.confluent.connect.avro.AvroConverter`):
//!   Avro in Confluent's wire format, schemas in a schema registry
//!   ([`registry`] holds what the registry converters share).
//! - [`json_schema::JsonSchemaConverter`] (`io.confluent.connect.json.JsonSchemaConverter`):
//!   JSON validated by a registered JSON Schema.
//! - [`protobuf::ProtobufConverter`] (`io.confluent.connect.protobuf.ProtobufConverter`):
//!   STRUCTs as proto3 messages.

pub mod avro;
pub mod avro_value;
pub mod bytearray;
pub mod header;
pub mod json;
pub mod json_schema;
pub mod protobuf;
pub mod registry;
pub mod string;

use std::sync::Arc;

use crate::config::{ConfigDef, Props};
use crate::data::{SchemaRef, Value};
use crate::error::{Error, Result};

pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const STRING_CONVERTER: &str = "org.apache.kafka.connect.storage.StringConverter";
pub const BYTE_ARRAY_CONVERTER: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
pub const SIMPLE_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";
pub const AVRO_CONVERTER: &str = "io.confluent.connect.avro.AvroConverter";
pub const JSON_SCHEMA_CONVERTER: &str = "io.confluent.connect.json.JsonSchemaConverter";
pub const PROTOBUF_CONVERTER: &str = "io.confluent.connect.protobuf.ProtobufConverter";

/// Connect data ⇄ bytes for record keys and values.
pub trait Converter: Send + Sync {
    /// Connect data to bytes; `None` is a null (tombstone) value.
    fn to_bytes(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>>;

    /// Bytes (or null) to Connect data.
    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)>;
}

/// Connect data ⇄ bytes for record headers.
pub trait HeaderConverter: Send + Sync {
    fn header_to_bytes(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>>;

    fn header_to_connect(
        &self,
        topic: &str,
        key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value)>;
}

/// Every converter as plugin metadata: (class, config definition).
pub fn converter_plugins() -> Vec<(&'static str, ConfigDef)> {
    vec![
        (JSON_CONVERTER, json::config_def()),
        (STRING_CONVERTER, string::config_def()),
        (BYTE_ARRAY_CONVERTER, ConfigDef::new()),
        (AVRO_CONVERTER, avro::config_def()),
        (JSON_SCHEMA_CONVERTER, json_schema::config_def()),
        (PROTOBUF_CONVERTER, protobuf::config_def()),
    ]
}

/// The full class name for a converter name or alias (`JsonConverter`, `Json`).
pub fn resolve(name: &str) -> Option<&'static str> {
    let name = name.trim();
    [
        JSON_CONVERTER,
        STRING_CONVERTER,
        BYTE_ARRAY_CONVERTER,
        SIMPLE_HEADER_CONVERTER,
        AVRO_CONVERTER,
        JSON_SCHEMA_CONVERTER,
        PROTOBUF_CONVERTER,
    ]
    .into_iter()
    .find(|full| crate::plugins::matches_alias(full, name, "Converter"))
}

/// Build a key/value converter from its class and settings.
pub fn converter(class: &str, props: &Props, is_key: bool) -> Result<Arc<dyn Converter>> {
    match resolve(class) {
        Some(JSON_CONVERTER) => Ok(Arc::new(json::JsonConverter::configure(props, is_key)?)),
        Some(STRING_CONVERTER) => Ok(Arc::new(string::StringConverter::configure(props)?)),
        Some(BYTE_ARRAY_CONVERTER) => Ok(Arc::new(bytearray::ByteArrayConverter)),
        Some(AVRO_CONVERTER) => Ok(Arc::new(avro::AvroConverter::configure(props, is_key)?)),
        Some(JSON_SCHEMA_CONVERTER) => Ok(Arc::new(json_schema::JsonSchemaConverter::configure(
            props, is_key,
        )?)),
        Some(PROTOBUF_CONVERTER) => Ok(Arc::new(protobuf::ProtobufConverter::configure(
            props, is_key,
        )?)),
        _ => Err(Error::config(format!(
            "Failed to find any class that implements Converter and which name matches {class}"
        ))),
    }
}

/// Build a header converter from its class and settings.
pub fn header_converter(class: &str, props: &Props) -> Result<Arc<dyn HeaderConverter>> {
    match resolve(class) {
        Some(SIMPLE_HEADER_CONVERTER) => Ok(Arc::new(header::SimpleHeaderConverter)),
        Some(JSON_CONVERTER) => Ok(Arc::new(json::JsonConverter::configure(props, false)?)),
        Some(STRING_CONVERTER) => Ok(Arc::new(string::StringConverter::configure(props)?)),
        Some(BYTE_ARRAY_CONVERTER) => Ok(Arc::new(bytearray::ByteArrayConverter)),
        _ => Err(Error::config(format!(
            "Failed to find any class that implements HeaderConverter and which name matches {class}"
        ))),
    }
}

/// Key/value converters that also convert headers use their value form.
macro_rules! header_via_converter {
    ($t:ty) => {
        impl HeaderConverter for $t {
            fn header_to_bytes(
                &self,
                topic: &str,
                _key: &str,
                schema: Option<&SchemaRef>,
                value: &Value,
            ) -> Result<Option<Vec<u8>>> {
                self.to_bytes(topic, schema, value)
            }

            fn header_to_connect(
                &self,
                topic: &str,
                _key: &str,
                data: Option<&[u8]>,
            ) -> Result<(Option<SchemaRef>, Value)> {
                self.to_connect(topic, data)
            }
        }
    };
}

header_via_converter!(json::JsonConverter);
header_via_converter!(string::StringConverter);
header_via_converter!(bytearray::ByteArrayConverter);
header_via_converter!(avro::AvroConverter);
header_via_converter!(json_schema::JsonSchemaConverter);
header_via_converter!(protobuf::ProtobufConverter);
