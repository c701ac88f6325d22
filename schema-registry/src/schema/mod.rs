//! The schema model: parsing, canonical forms, references and compatibility
//! for the three schema types of Confluent's Schema Registry.
//!
//! - [`ParsedSchema::parse`] turns registered text (plus its already-resolved
//!   references) into a schema, or a [`SchemaError`] (HTTP 422, error code
//!   42201 "Invalid schema" at the REST layer).
//! - [`ParsedSchema::canonical`] is what the registry stores and compares for
//!   identity (Confluent's `canonicalString()`); [`ParsedSchema::normalized`]
//!   is the form used with `normalize=true`.
//! - [`check_compatibility`] applies a [`CompatibilityLevel`] to a candidate
//!   and a subject's existing versions.
//!
//! Format specifics live in [`avro`], [`json`] and [`protobuf`]; levels and
//! their transitive logic in [`compat`].

use std::fmt;
use std::str::FromStr;

pub mod avro;
pub mod compat;
pub mod json;
pub mod jsonvalue;
pub mod protobuf;

pub use compat::{check_compatibility, CompatibilityLevel};

/// The `schemaType` of a registered schema. Absent means AVRO.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaType {
    #[default]
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    /// The wire name: "AVRO", "JSON" or "PROTOBUF".
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SchemaType {
    type Err = SchemaError;

    /// Confluent looks schema providers up by the exact upper-case name; so do we.
    fn from_str(s: &str) -> Result<SchemaType, SchemaError> {
        match s {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            other => Err(SchemaError::new(format!("Invalid schema type {other}"))),
        }
    }
}

/// A reference as registered: `name` is how the referring schema names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

/// A reference the registry has resolved: the name the referring schema uses for it
/// (Avro: the full name of the named type, or the subject; JSON: the $ref URL; Protobuf: the import path),
/// and the referenced schema, itself with its own references resolved (depth-first).
#[derive(Clone, Debug)]
pub struct ResolvedReference {
    pub name: String,
    pub schema_type: SchemaType,
    pub schema: String,
    pub references: Vec<ResolvedReference>,
}

/// A schema that could not be parsed or validated.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct SchemaError {
    pub message: String,
}

impl SchemaError {
    pub fn new(message: impl Into<String>) -> SchemaError {
        SchemaError {
            message: message.into(),
        }
    }
}

/// A parsed, validated schema of one of the three types.
#[derive(Clone, Debug)]
pub struct ParsedSchema {
    pub(crate) inner: Inner,
}

#[derive(Clone, Debug)]
pub(crate) enum Inner {
    Avro(Box<avro::AvroSchema>),
    Json(Box<json::JsonSchema>),
    Protobuf(Box<protobuf::ProtobufSchema>),
}

impl ParsedSchema {
    /// Parses `text` as a schema of `schema_type`. `references` are the
    /// schema's references, already resolved by the registry (each with its
    /// own references, depth-first).
    pub fn parse(
        schema_type: SchemaType,
        text: &str,
        references: &[ResolvedReference],
    ) -> Result<ParsedSchema, SchemaError> {
        let inner = match schema_type {
            SchemaType::Avro => Inner::Avro(Box::new(avro::AvroSchema::parse(text, references)?)),
            SchemaType::Json => Inner::Json(Box::new(json::JsonSchema::parse(text, references)?)),
            SchemaType::Protobuf => {
                Inner::Protobuf(Box::new(protobuf::ProtobufSchema::parse(text, references)?))
            }
        };
        Ok(ParsedSchema { inner })
    }

    pub fn schema_type(&self) -> SchemaType {
        match &self.inner {
            Inner::Avro(_) => SchemaType::Avro,
            Inner::Json(_) => SchemaType::Json,
            Inner::Protobuf(_) => SchemaType::Protobuf,
        }
    }

    /// What the registry stores and returns as "schema", and what identity (same id across subjects) compares:
    /// Confluent's canonicalString(). Avro: compact JSON as Avro's `Schema.toString()`;
    /// JSON Schema: compact JSON, key order preserved; Protobuf: the .proto re-printed from
    /// its parsed descriptor in Wire's layout.
    pub fn canonical(&self) -> String {
        match &self.inner {
            Inner::Avro(s) => s.canonical(),
            Inner::Json(s) => s.canonical(),
            Inner::Protobuf(s) => s.canonical(),
        }
    }

    /// The form used when the client passes normalize=true (Avro: canonical with names fully
    /// qualified and no "namespace" keys; JSON: keys sorted; Protobuf: options and imports sorted,
    /// type names fully qualified).
    pub fn normalized(&self) -> String {
        match &self.inner {
            Inner::Avro(s) => s.normalized(),
            Inner::Json(s) => s.normalized(),
            Inner::Protobuf(s) => s.normalized(),
        }
    }

    /// For Avro: the full names of the named types the schema defines (the top-level type first);
    /// Protobuf: message full names in file order (depth-first, nested after their parent, map
    /// entries excluded); JSON: the top-level "title" if any.
    pub fn record_names(&self) -> Vec<String> {
        match &self.inner {
            Inner::Avro(s) => s.record_names(),
            Inner::Json(s) => s.record_names(),
            Inner::Protobuf(s) => s.record_names(),
        }
    }

    /// The name RecordNameStrategy uses for this schema: Avro's top-level record full name,
    /// Protobuf's first message, JSON's "title". `None` when the schema has none (e.g. Avro `"string"`).
    pub fn record_name(&self) -> Option<String> {
        match &self.inner {
            Inner::Avro(s) => s.top_level_name(),
            _ => self.record_names().into_iter().next(),
        }
    }

    pub fn as_avro(&self) -> Option<&avro::AvroSchema> {
        match &self.inner {
            Inner::Avro(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_json(&self) -> Option<&json::JsonSchema> {
        match &self.inner {
            Inner::Json(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_protobuf(&self) -> Option<&protobuf::ProtobufSchema> {
        match &self.inner {
            Inner::Protobuf(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_type_names() {
        assert_eq!("AVRO".parse::<SchemaType>().unwrap(), SchemaType::Avro);
        assert_eq!(
            "PROTOBUF".parse::<SchemaType>().unwrap(),
            SchemaType::Protobuf
        );
        assert!("avro".parse::<SchemaType>().is_err());
        assert_eq!(SchemaType::Json.to_string(), "JSON");
        assert_eq!(
            serde_json::to_string(&SchemaType::Protobuf).unwrap(),
            "\"PROTOBUF\""
        );
        assert_eq!(
            serde_json::from_str::<SchemaType>("\"JSON\"").unwrap(),
            SchemaType::Json
        );
        assert_eq!(SchemaType::default(), SchemaType::Avro);
    }
}
