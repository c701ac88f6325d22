//! An order-preserving JSON value.
//!
//! Confluent's canonical strings keep the key order of the schema as it was
//! registered (Jackson's `ObjectNode` is a `LinkedHashMap`), while
//! `serde_json::Value` sorts keys unless its `preserve_order` feature is on —
//! and turning that feature on would change every other crate of the
//! workspace. So the schema model reads JSON into this small type instead.

use std::fmt::{self, Write as _};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value whose objects keep their keys in document order.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<JsonValue>),
    /// Keys in document order; a key that appears twice keeps its last value
    /// at its first position (as Jackson does).
    Object(Vec<(String, JsonValue)>),
}

impl JsonValue {
    /// Parses JSON text; the error message is serde_json's.
    pub fn parse(text: &str) -> Result<JsonValue, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The value of `key` when this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&JsonValue> {
        match self {
            JsonValue::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsonValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[JsonValue]> {
        match self {
            JsonValue::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, JsonValue)]> {
        match self {
            JsonValue::Object(entries) => Some(entries),
            _ => None,
        }
    }

    /// A short name of the JSON type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "boolean",
            JsonValue::Number(_) => "number",
            JsonValue::String(_) => "string",
            JsonValue::Array(_) => "array",
            JsonValue::Object(_) => "object",
        }
    }

    /// Compact JSON text (no whitespace), keys in stored order.
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    /// Compact JSON text with the keys of every object sorted.
    pub fn to_sorted_compact(&self) -> String {
        self.sorted().to_compact()
    }

    /// A copy with the keys of every object sorted (recursively).
    pub fn sorted(&self) -> JsonValue {
        match self {
            JsonValue::Array(items) => {
                JsonValue::Array(items.iter().map(JsonValue::sorted).collect())
            }
            JsonValue::Object(entries) => {
                let mut entries: Vec<(String, JsonValue)> = entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.sorted()))
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                JsonValue::Object(entries)
            }
            other => other.clone(),
        }
    }

    pub fn write_compact(&self, out: &mut String) {
        match self {
            JsonValue::Null => out.push_str("null"),
            JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JsonValue::Number(n) => {
                let _ = write!(out, "{n}");
            }
            JsonValue::String(s) => write_json_string(out, s),
            JsonValue::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            JsonValue::Object(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(out, k);
                    out.push(':');
                    v.write_compact(out);
                }
                out.push('}');
            }
        }
    }

    /// The same value as a `serde_json::Value` (key order is then serde_json's).
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            JsonValue::Null => serde_json::Value::Null,
            JsonValue::Bool(b) => serde_json::Value::Bool(*b),
            JsonValue::Number(n) => serde_json::Value::Number(n.clone()),
            JsonValue::String(s) => serde_json::Value::String(s.clone()),
            JsonValue::Array(items) => {
                serde_json::Value::Array(items.iter().map(JsonValue::to_serde).collect())
            }
            JsonValue::Object(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.clone(), v.to_serde());
                }
                serde_json::Value::Object(map)
            }
        }
    }
}

/// Writes `s` as a JSON string literal (serde_json's escaping: `"`, `\`,
/// control characters; non-ASCII as is, like Jackson).
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl fmt::Display for JsonValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_compact())
    }
}

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonValue, D::Error> {
        deserializer.deserialize_any(JsonValueVisitor)
    }
}

struct JsonValueVisitor;

impl<'de> Visitor<'de> for JsonValueVisitor {
    type Value = JsonValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonValue, E> {
        Ok(JsonValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonValue, E> {
        Ok(JsonValue::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonValue, E> {
        Ok(JsonValue::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonValue, E> {
        serde_json::Number::from_f64(v)
            .map(JsonValue::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<JsonValue, D::Error> {
        JsonValue::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<JsonValue>()? {
            items.push(item);
        }
        Ok(JsonValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        let mut entries: Vec<(String, JsonValue)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, JsonValue>()? {
            if let Some(slot) = entries.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                entries.push((key, value));
            }
        }
        Ok(JsonValue::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_compacts() {
        let v =
            JsonValue::parse(r#"{ "b": 1, "a": [true, null, "x\"y"], "c": {"z": 1.5, "y": -2} }"#)
                .unwrap();
        assert_eq!(
            v.to_compact(),
            r#"{"b":1,"a":[true,null,"x\"y"],"c":{"z":1.5,"y":-2}}"#
        );
        assert_eq!(
            v.to_sorted_compact(),
            r#"{"a":[true,null,"x\"y"],"b":1,"c":{"y":-2,"z":1.5}}"#
        );
    }

    #[test]
    fn duplicate_keys_keep_last_value() {
        let v = JsonValue::parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(v.to_compact(), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn escapes_control_characters() {
        let v = JsonValue::String("a\u{1}\n".into());
        assert_eq!(v.to_compact(), "\"a\\u0001\\n\"");
    }
}
