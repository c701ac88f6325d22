//! Protobuf: a message between the proto3 JSON mapping and its binary
//! encoding, through prost-reflect's dynamic messages. JSON out uses
//! protobuf's JsonFormat defaults (lowerCamelCase names, default values
//! left out, 64-bit integers as strings), as Confluent's proxy prints them;
//! JSON in accepts both field names and JSON names.

use prost_reflect::prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;

use super::CodecError;

/// Encode the JSON `value` as a `message`.
pub fn encode(message: &MessageDescriptor, value: &Value) -> Result<Vec<u8>, CodecError> {
    let msg = DynamicMessage::deserialize(message.clone(), value.clone()).map_err(|e| {
        CodecError::Mismatch(format!(
            "the value is not a {} message: {e}",
            message.full_name()
        ))
    })?;
    Ok(msg.encode_to_vec())
}

/// Decode `bytes` as a `message` into its JSON form.
pub fn decode(message: &MessageDescriptor, bytes: &[u8]) -> Result<Value, CodecError> {
    let msg = DynamicMessage::decode(message.clone(), bytes).map_err(|e| {
        CodecError::Malformed(format!("not a {} message: {e}", message.full_name()))
    })?;
    msg.serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
        .map_err(|e| CodecError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::protobuf::ProtobufSchema;
    use serde_json::json;

    #[test]
    fn json_round_trip() {
        let s = ProtobufSchema::parse(
            r#"syntax = "proto3";
               package p;
               message Order { int64 order_id = 1; repeated string items = 2; Kind kind = 3; Inner inner = 4; }
               message Inner { bool ok = 1; }
               enum Kind { NONE = 0; BIG = 1; }"#,
            &[],
        )
        .unwrap();
        let m = s.file().messages().next().unwrap();
        let v = json!({"orderId": "12", "items": ["a", "b"], "kind": "BIG", "inner": {"ok": true}});
        let bytes = encode(&m, &v).unwrap();
        assert_eq!(decode(&m, &bytes).unwrap(), v);
        // Field names are accepted too; defaults are left out of the JSON.
        let bytes = encode(&m, &json!({"order_id": 0, "items": []})).unwrap();
        assert!(bytes.is_empty());
        assert_eq!(decode(&m, &bytes).unwrap(), json!({}));
        assert!(matches!(
            encode(&m, &json!({"nope": 1})),
            Err(CodecError::Mismatch(_))
        ));
        assert!(matches!(
            encode(&m, &json!({"orderId": "x"})),
            Err(CodecError::Mismatch(_))
        ));
        assert!(matches!(decode(&m, &[0xff]), Err(CodecError::Malformed(_))));
    }
}
