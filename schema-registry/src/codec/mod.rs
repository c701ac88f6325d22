//! Values of a schema between their JSON form and their bytes, as the REST
//! proxy (and later Connect and SQL) need them:
//!
//! - [`avro`]: Avro's binary datum encoding from and to Avro's JSON encoding
//!   (unions as `{"type": value}`, bytes as ISO-8859-1 strings), on the
//!   crate's own [`crate::schema::avro`] model.
//! - [`json`]: validating a value against a JSON Schema (the payload is the
//!   JSON text itself).
//! - [`protobuf`]: the proto3 JSON mapping from and to protobuf bytes
//!   (prost-reflect's `serde` support).
//!
//! [`encode`] and [`decode`] add and strip Confluent's wire format
//! ([`crate::serde`]): magic byte, schema id and, for Protobuf, the message
//! indexes.

pub mod avro;
pub mod json;
pub mod protobuf;

use serde_json::Value;

use crate::schema::ParsedSchema;

/// Why a value could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The JSON value does not match the schema.
    #[error("{0}")]
    Mismatch(String),
    /// The bytes are not a valid encoding under the schema.
    #[error("{0}")]
    Malformed(String),
}

/// The JSON `value` as a framed payload of `schema` (registered as `schema_id`).
/// Protobuf values are of the schema's first message.
pub fn encode(schema: &ParsedSchema, schema_id: i32, value: &Value) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    crate::serde::write_header(&mut out, schema_id);
    if let Some(s) = schema.as_avro() {
        out.extend(avro::encode(s, value)?);
    } else if let Some(s) = schema.as_json() {
        json::validate(s, value)?;
        out.extend(serde_json::to_vec(value).map_err(|e| CodecError::Mismatch(e.to_string()))?);
    } else if let Some(s) = schema.as_protobuf() {
        let message = s
            .file()
            .messages()
            .next()
            .ok_or_else(|| CodecError::Mismatch("the schema has no message".to_string()))?;
        crate::serde::write_message_indexes(&mut out, &[0]);
        out.extend(protobuf::encode(&message, value)?);
    }
    Ok(out)
}

/// The schema id of a framed payload, and the rest.
pub fn split(bytes: &[u8]) -> Result<(i32, &[u8]), CodecError> {
    crate::serde::decode(bytes).map_err(|e| CodecError::Malformed(e.to_string()))
}

/// The JSON form of `payload` (the bytes after the 5-byte header) under `schema`.
pub fn decode(schema: &ParsedSchema, payload: &[u8]) -> Result<Value, CodecError> {
    if let Some(s) = schema.as_avro() {
        avro::decode(s, payload)
    } else if schema.as_json().is_some() {
        serde_json::from_slice(payload).map_err(|e| CodecError::Malformed(format!("not JSON: {e}")))
    } else if let Some(s) = schema.as_protobuf() {
        let (indexes, rest) = crate::serde::decode_message_indexes(payload)
            .map_err(|e| CodecError::Malformed(e.to_string()))?;
        let name = s
            .message_name(&indexes)
            .ok_or_else(|| CodecError::Malformed(format!("no message at indexes {indexes:?}")))?;
        let message = s
            .file()
            .parent_pool()
            .get_message_by_name(&name)
            .ok_or_else(|| CodecError::Malformed(format!("no message {name}")))?;
        protobuf::decode(&message, rest)
    } else {
        Err(CodecError::Malformed("unknown schema type".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaType;
    use serde_json::json;

    #[test]
    fn framed_round_trips() {
        let avro = ParsedSchema::parse(
            SchemaType::Avro,
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#,
            &[],
        )
        .unwrap();
        let bytes = encode(&avro, 7, &json!({"a": 3})).unwrap();
        assert_eq!(bytes, vec![0, 0, 0, 0, 7, 6]);
        let (id, rest) = split(&bytes).unwrap();
        assert_eq!(id, 7);
        assert_eq!(decode(&avro, rest).unwrap(), json!({"a": 3}));

        let js = ParsedSchema::parse(
            SchemaType::Json,
            r#"{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}"#,
            &[],
        )
        .unwrap();
        let bytes = encode(&js, 1, &json!({"a": 1})).unwrap();
        assert_eq!(&bytes[5..], br#"{"a":1}"#);
        assert!(matches!(
            encode(&js, 1, &json!({"a": "x"})),
            Err(CodecError::Mismatch(_))
        ));

        let pb = ParsedSchema::parse(
            SchemaType::Protobuf,
            "syntax = \"proto3\"; message M { int32 a = 1; string b = 2; }",
            &[],
        )
        .unwrap();
        let bytes = encode(&pb, 2, &json!({"a": 150, "b": "x"})).unwrap();
        assert_eq!(
            bytes,
            vec![0, 0, 0, 0, 2, 0, 0x08, 0x96, 0x01, 0x12, 1, b'x']
        );
        let (_, rest) = split(&bytes).unwrap();
        assert_eq!(decode(&pb, rest).unwrap(), json!({"a": 150, "b": "x"}));
    }
}
