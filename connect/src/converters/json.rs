//! `org.apache.kafka.connect.json.JsonConverter`.
//!
//! With `schemas.enable=true` (the default) every message is an envelope
//! `{"schema": <schema>, "payload": <value>}`; a schema is
//! `{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],
//! "optional":false,"name":"x","version":1,"doc":"..","parameters":{..},"default":..}`
//! with `items` for arrays and `keys`/`values` for maps. Bytes are base64;
//! Decimal is base64 of its unscaled bytes (`decimal.format=BASE64`) or a JSON
//! number (`NUMERIC`); Date, Time and Timestamp are their integers. Without
//! schemas, JSON maps to schemaless values (integers → INT64, other numbers →
//! FLOAT64, objects → maps).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Map, Value as Json};

use super::Converter;
use crate::config::def::{ConfigKey, ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::schema::logical;
use crate::data::{Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(
                "schemas.enable",
                ConfigType::Boolean,
                Default::Value("true".into()),
                Importance::High,
                "Include schemas within each of the serialized values and keys.",
            )
            .group("Schemas", 0, crate::config::Width::Medium, "Enable Schemas"),
        )
        .define(
            ConfigKey::new(
                "schemas.cache.size",
                ConfigType::Int,
                Default::Value("1000".into()),
                Importance::High,
                "The maximum number of schemas that can be cached in this converter instance.",
            )
            .group(
                "Schemas",
                1,
                crate::config::Width::Medium,
                "Schema Cache Size",
            ),
        )
        .define(
            ConfigKey::new(
                "decimal.format",
                ConfigType::String,
                Default::Value("BASE64".into()),
                Importance::Low,
                "How Decimal values are written: BASE64 (bytes) or NUMERIC (a JSON number).",
            )
            .validator(Validator::OneOf(&["BASE64", "NUMERIC"], true))
            .group(
                "Serialization",
                0,
                crate::config::Width::Medium,
                "Decimal Format",
            ),
        )
        .define(
            ConfigKey::new(
                "replace.null.with.default",
                ConfigType::Boolean,
                Default::Value("true".into()),
                Importance::Low,
                "Whether a null field with a default is written as the default.",
            )
            .group(
                "Serialization",
                1,
                crate::config::Width::Medium,
                "Replace null with default",
            ),
        )
}

pub struct JsonConverter {
    schemas_enable: bool,
    decimal_numeric: bool,
    replace_null_with_default: bool,
}

impl JsonConverter {
    pub fn configure(props: &Props, _is_key: bool) -> Result<Self> {
        let parsed = config_def().parse(props).map_err(Error::Config)?;
        Ok(JsonConverter {
            schemas_enable: parsed.bool("schemas.enable"),
            decimal_numeric: parsed
                .string("decimal.format")
                .is_some_and(|f| f.eq_ignore_ascii_case("NUMERIC")),
            replace_null_with_default: parsed.bool("replace.null.with.default"),
        })
    }

    /// A converter with the given `schemas.enable` and defaults otherwise.
    pub fn new(schemas_enable: bool) -> Self {
        JsonConverter {
            schemas_enable,
            decimal_numeric: false,
            replace_null_with_default: true,
        }
    }

    /// Connect data to the JSON tree (an envelope when schemas are enabled).
    pub fn to_json_tree(&self, schema: Option<&SchemaRef>, value: &Value) -> Result<Json> {
        let payload = self.convert_to_json(schema.map(|s| s.as_ref()), value)?;
        if self.schemas_enable {
            Ok(json!({
                "schema": schema.map(|s| schema_to_json(s, self)).transpose()?,
                "payload": payload,
            }))
        } else {
            Ok(payload)
        }
    }

    fn convert_to_json(&self, schema: Option<&Schema>, value: &Value) -> Result<Json> {
        let Some(schema) = schema else {
            return Ok(schemaless_to_json(value));
        };
        if value.is_null() {
            if self.replace_null_with_default {
                if let Some(d) = &schema.default {
                    return self.convert_to_json(Some(schema), d);
                }
            }
            if schema.optional {
                return Ok(Json::Null);
            }
            return Err(Error::data(
                "Conversion error: null value for field that is required and has no default value",
            ));
        }
        if let Some(name) = schema.name.as_deref() {
            if name == logical::DECIMAL {
                let Value::Bytes(b) = value else {
                    return Err(Error::data(format!(
                        "Invalid type for Decimal, expected bytes but was {}",
                        value.java_class()
                    )));
                };
                if self.decimal_numeric {
                    let text = logical::decimal_to_string(b, logical::scale(schema));
                    let n: serde_json::Number = serde_json::from_str(&text)
                        .map_err(|e| Error::data(format!("Decimal {text}: {e}")))?;
                    return Ok(Json::Number(n));
                }
                return Ok(Json::String(
                    base64::engine::general_purpose::STANDARD.encode(b),
                ));
            }
        }
        let mismatch = || {
            Error::data(format!(
                "Invalid type for {}: {}",
                schema.ty,
                value.java_class()
            ))
        };
        Ok(match (schema.ty, value) {
            (Type::Int8, Value::Int8(v)) => json!(v),
            (Type::Int16, Value::Int16(v)) => json!(v),
            (Type::Int32, Value::Int32(v)) => json!(v),
            (Type::Int64, Value::Int64(v)) => json!(v),
            (Type::Float32, Value::Float32(v)) => json!(v),
            (Type::Float64, Value::Float64(v)) => json!(v),
            (Type::Boolean, Value::Boolean(v)) => json!(v),
            (Type::String, Value::String(v)) => json!(v),
            (Type::Bytes, Value::Bytes(b)) => {
                Json::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            (Type::Array, Value::Array(items)) => {
                let item_schema = schema.value_schema.as_deref();
                Json::Array(
                    items
                        .iter()
                        .map(|v| self.convert_to_json(item_schema, v))
                        .collect::<Result<_>>()?,
                )
            }
            (Type::Map, Value::Map(entries)) => {
                let key_schema = schema.key_schema.as_deref();
                let value_schema = schema.value_schema.as_deref();
                let string_keys = key_schema.is_some_and(|k| k.ty == Type::String);
                if string_keys {
                    let mut m = Map::new();
                    for (k, v) in entries {
                        let k = k.as_str().ok_or_else(mismatch)?;
                        m.insert(k.to_string(), self.convert_to_json(value_schema, v)?);
                    }
                    Json::Object(m)
                } else {
                    Json::Array(
                        entries
                            .iter()
                            .map(|(k, v)| {
                                Ok(json!([
                                    self.convert_to_json(key_schema, k)?,
                                    self.convert_to_json(value_schema, v)?
                                ]))
                            })
                            .collect::<Result<_>>()?,
                    )
                }
            }
            (Type::Struct, Value::Struct(s)) => {
                if s.schema.fields.len() != schema.fields.len()
                    || s.schema
                        .fields
                        .iter()
                        .zip(&schema.fields)
                        .any(|(a, b)| a.name != b.name)
                {
                    return Err(Error::data("Mismatching schema."));
                }
                let mut m = Map::new();
                for f in &schema.fields {
                    m.insert(
                        f.name.clone(),
                        self.convert_to_json(Some(&f.schema), &s.values[f.index])?,
                    );
                }
                Json::Object(m)
            }
            _ => return Err(mismatch()),
        })
    }

    /// The JSON tree to Connect data.
    pub fn from_json_tree(&self, tree: Json) -> Result<(Option<SchemaRef>, Value)> {
        if !self.schemas_enable {
            return Ok((None, Value::from_json(&tree)));
        }
        let Json::Object(mut envelope) = tree else {
            return Err(Error::data(ENVELOPE_ERROR));
        };
        if envelope.len() != 2
            || !envelope.contains_key("schema")
            || !envelope.contains_key("payload")
        {
            return Err(Error::data(ENVELOPE_ERROR));
        }
        let schema_json = envelope.remove("schema").unwrap_or(Json::Null);
        let payload = envelope.remove("payload").unwrap_or(Json::Null);
        let schema = schema_from_json(&schema_json)?;
        let value = match &schema {
            Some(s) => convert_to_connect(s, &payload)?,
            None => Value::from_json(&payload),
        };
        Ok((schema, value))
    }
}

impl Converter for JsonConverter {
    fn to_bytes(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let tree = self.to_json_tree(schema, value)?;
        serde_json::to_vec(&tree).map(Some).map_err(|e| {
            Error::data(format!(
                "Converting Kafka Connect data to byte[] failed due to serialization error: {e}"
            ))
        })
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let Some(data) = data else {
            return Ok((None, Value::Null));
        };
        let tree: Json = serde_json::from_slice(data).map_err(|e| {
            Error::data(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
            ))
        })?;
        self.from_json_tree(tree)
    }
}

fn schemaless_to_json(value: &Value) -> Json {
    value.to_json()
}

/// A schema as the JSON converter writes it.
pub fn schema_to_json(schema: &Schema, conv: &JsonConverter) -> Result<Json> {
    let mut m = Map::new();
    m.insert("type".into(), Json::String(schema.ty.json_name().into()));
    match schema.ty {
        Type::Array => {
            if let Some(items) = &schema.value_schema {
                m.insert("items".into(), schema_to_json(items, conv)?);
            }
        }
        Type::Map => {
            if let Some(k) = &schema.key_schema {
                m.insert("keys".into(), schema_to_json(k, conv)?);
            }
            if let Some(v) = &schema.value_schema {
                m.insert("values".into(), schema_to_json(v, conv)?);
            }
        }
        Type::Struct => {
            let mut fields = Vec::new();
            for f in &schema.fields {
                let mut fj = schema_to_json(&f.schema, conv)?;
                if let Json::Object(o) = &mut fj {
                    o.insert("field".into(), Json::String(f.name.clone()));
                }
                fields.push(fj);
            }
            m.insert("fields".into(), Json::Array(fields));
        }
        _ => {}
    }
    m.insert("optional".into(), Json::Bool(schema.optional));
    if let Some(n) = &schema.name {
        m.insert("name".into(), Json::String(n.clone()));
    }
    if let Some(v) = schema.version {
        m.insert("version".into(), json!(v));
    }
    if let Some(d) = &schema.doc {
        m.insert("doc".into(), Json::String(d.clone()));
    }
    if !schema.parameters.is_empty() {
        m.insert("parameters".into(), json!(schema.parameters));
    }
    if let Some(d) = &schema.default {
        m.insert("default".into(), conv.convert_to_json(Some(schema), d)?);
    }
    Ok(Json::Object(m))
}

/// A schema from the JSON converter's form; `null` is no schema.
pub fn schema_from_json(j: &Json) -> Result<Option<SchemaRef>> {
    if j.is_null() {
        return Ok(None);
    }
    let o = j
        .as_object()
        .ok_or_else(|| Error::data("Schema must be an object"))?;
    let type_name = o
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| Error::data("Schema must contain 'type' field"))?;
    let ty = Type::from_json_name(type_name)
        .ok_or_else(|| Error::data(format!("Unknown schema type: {type_name}")))?;
    let mut b = match ty {
        Type::Array => {
            let items = o
                .get("items")
                .ok_or_else(|| Error::data("Array schema did not specify the element type"))?;
            SchemaBuilder::array(
                schema_from_json(items)?
                    .ok_or_else(|| Error::data("Array schema did not specify the element type"))?,
            )
        }
        Type::Map => {
            let keys = o
                .get("keys")
                .and_then(|k| schema_from_json(k).transpose())
                .transpose()?
                .ok_or_else(|| Error::data("Map schema did not specify the key type"))?;
            let values = o
                .get("values")
                .and_then(|v| schema_from_json(v).transpose())
                .transpose()?
                .ok_or_else(|| Error::data("Map schema did not specify the value type"))?;
            SchemaBuilder::map(keys, values)
        }
        Type::Struct => {
            let mut b = SchemaBuilder::struct_();
            let fields = o.get("fields").and_then(Json::as_array).ok_or_else(|| {
                Error::data("Struct schema's \"fields\" argument is not an array.")
            })?;
            for f in fields {
                let name = f.get("field").and_then(Json::as_str).ok_or_else(|| {
                    Error::data("Struct schema's field name not specified properly")
                })?;
                let fs = schema_from_json(f)?
                    .ok_or_else(|| Error::data("Struct schema's field schema not specified"))?;
                b = b.field(name, fs);
            }
            b
        }
        t => SchemaBuilder::new(t),
    };
    match o.get("optional") {
        Some(Json::Bool(true)) => b = b.optional(),
        Some(Json::Bool(false)) | None | Some(Json::Null) => {}
        Some(_) => return Err(Error::data("Optional field must be a boolean")),
    }
    if let Some(n) = o.get("name").and_then(Json::as_str) {
        b = b.name(n);
    }
    if let Some(v) = o.get("version").and_then(Json::as_i64) {
        b = b.version(v as i32);
    }
    if let Some(d) = o.get("doc").and_then(Json::as_str) {
        b = b.doc(d);
    }
    if let Some(p) = o.get("parameters").and_then(Json::as_object) {
        for (k, v) in p {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            b = b.parameter(k, &v);
        }
    }
    if let Some(d) = o.get("default") {
        if !d.is_null() {
            let partial = b.clone().build();
            let dv = convert_to_connect(&partial, d)?;
            b = b.default_value(dv);
        }
    }
    Ok(Some(b.build()))
}

/// A JSON payload to a value of `schema`.
pub fn convert_to_connect(schema: &Schema, j: &Json) -> Result<Value> {
    if j.is_null() {
        if let Some(d) = &schema.default {
            return Ok(d.clone());
        }
        if schema.optional {
            return Ok(Value::Null);
        }
        return Err(Error::data(format!(
            "Invalid null value for required {} field",
            schema.ty
        )));
    }
    let wrong = || {
        Error::data(format!(
            "Invalid type for {}: {}",
            schema.ty,
            json_type_name(j)
        ))
    };
    if schema.name.as_deref() == Some(logical::DECIMAL) {
        return match j {
            Json::String(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(Value::Bytes)
                .map_err(|e| Error::data(format!("Invalid bytes field: {e}"))),
            Json::Number(n) => logical::decimal_from_string(&n.to_string(), logical::scale(schema))
                .map(Value::Bytes)
                .ok_or_else(wrong),
            _ => Err(wrong()),
        };
    }
    Ok(match schema.ty {
        Type::Int8 => Value::Int8(
            j.as_i64()
                .and_then(|v| i8::try_from(v).ok())
                .ok_or_else(wrong)?,
        ),
        Type::Int16 => Value::Int16(
            j.as_i64()
                .and_then(|v| i16::try_from(v).ok())
                .ok_or_else(wrong)?,
        ),
        Type::Int32 => Value::Int32(
            j.as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(wrong)?,
        ),
        Type::Int64 => Value::Int64(j.as_i64().ok_or_else(wrong)?),
        Type::Float32 => Value::Float32(j.as_f64().ok_or_else(wrong)? as f32),
        Type::Float64 => Value::Float64(j.as_f64().ok_or_else(wrong)?),
        Type::Boolean => Value::Boolean(j.as_bool().ok_or_else(wrong)?),
        Type::String => Value::String(j.as_str().ok_or_else(wrong)?.to_string()),
        Type::Bytes => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(j.as_str().ok_or_else(wrong)?)
                .map_err(|e| Error::data(format!("Invalid bytes field: {e}")))?,
        ),
        Type::Array => {
            let items = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| Error::data("Array schema did not specify the element type"))?;
            Value::Array(
                j.as_array()
                    .ok_or_else(wrong)?
                    .iter()
                    .map(|v| convert_to_connect(items, v))
                    .collect::<Result<_>>()?,
            )
        }
        Type::Map => {
            let ks = schema
                .key_schema
                .as_deref()
                .ok_or_else(|| Error::data("Map schema did not specify the key type"))?;
            let vs = schema
                .value_schema
                .as_deref()
                .ok_or_else(|| Error::data("Map schema did not specify the value type"))?;
            if ks.ty == Type::String {
                Value::Map(
                    j.as_object()
                        .ok_or_else(wrong)?
                        .iter()
                        .map(|(k, v)| Ok((Value::String(k.clone()), convert_to_connect(vs, v)?)))
                        .collect::<Result<_>>()?,
                )
            } else {
                let pairs = j.as_array().ok_or_else(wrong)?;
                let mut out = Vec::with_capacity(pairs.len());
                for p in pairs {
                    let pa = p.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                        Error::data("Found invalid map entry instead of array tuple")
                    })?;
                    out.push((
                        convert_to_connect(ks, &pa[0])?,
                        convert_to_connect(vs, &pa[1])?,
                    ));
                }
                Value::Map(out)
            }
        }
        Type::Struct => {
            let o = j.as_object().ok_or_else(wrong)?;
            let schema_ref: SchemaRef = std::sync::Arc::new(schema.clone());
            let mut s = Struct::new(schema_ref);
            for f in &schema.fields {
                let v = convert_to_connect(&f.schema, o.get(&f.name).unwrap_or(&Json::Null))?;
                s.values[f.index] = v;
            }
            Value::Struct(s)
        }
    })
}

fn json_type_name(j: &Json) -> &'static str {
    match j {
        Json::Null => "NULL",
        Json::Bool(_) => "BOOLEAN",
        Json::Number(_) => "NUMBER",
        Json::String(_) => "STRING",
        Json::Array(_) => "ARRAY",
        Json::Object(_) => "OBJECT",
    }
}

/// Parameters as a map (for tests and callers that build schemas from JSON).
pub fn parameters(schema: &Schema) -> BTreeMap<String, String> {
    schema.parameters.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(enabled: bool) -> JsonConverter {
        JsonConverter::new(enabled)
    }

    fn roundtrip(schema: SchemaRef, value: Value, expected: Json) {
        let c = conv(true);
        let bytes = c.to_bytes("t", Some(&schema), &value).unwrap().unwrap();
        let tree: Json = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(tree, expected);
        let (s, v) = c.to_connect("t", Some(&bytes)).unwrap();
        assert_eq!(v, value);
        assert_eq!(s.unwrap().ty, schema.ty);
    }

    #[test]
    fn primitive_envelopes() {
        roundtrip(
            Schema::of(Type::Int32),
            Value::Int32(12),
            json!({"schema":{"type":"int32","optional":false},"payload":12}),
        );
        roundtrip(
            Schema::of(Type::Boolean),
            Value::Boolean(true),
            json!({"schema":{"type":"boolean","optional":false},"payload":true}),
        );
        roundtrip(
            Schema::optional(Type::String),
            Value::String("x".into()),
            json!({"schema":{"type":"string","optional":true},"payload":"x"}),
        );
        roundtrip(
            Schema::of(Type::Bytes),
            Value::Bytes(b"hi".to_vec()),
            json!({"schema":{"type":"bytes","optional":false},"payload":"aGk="}),
        );
        roundtrip(
            Schema::of(Type::Float64),
            Value::Float64(1.5),
            json!({"schema":{"type":"double","optional":false},"payload":1.5}),
        );
        roundtrip(
            Schema::of(Type::Float32),
            Value::Float32(2.5),
            json!({"schema":{"type":"float","optional":false},"payload":2.5}),
        );
    }

    #[test]
    fn struct_envelope_as_documented() {
        let schema = SchemaBuilder::struct_()
            .name("com.example.User")
            .field("id", Schema::of(Type::Int64))
            .field("name", Schema::optional(Type::String))
            .field(
                "tags",
                SchemaBuilder::array(Schema::of(Type::String)).build(),
            )
            .field(
                "attrs",
                SchemaBuilder::map(Schema::of(Type::String), Schema::of(Type::Int32))
                    .optional()
                    .build(),
            )
            .build();
        let value = Struct::new(schema.clone())
            .with("id", Value::Int64(7))
            .unwrap()
            .with("name", Value::String("ann".into()))
            .unwrap()
            .with("tags", Value::Array(vec![Value::String("a".into())]))
            .unwrap()
            .with(
                "attrs",
                Value::Map(vec![(Value::String("k".into()), Value::Int32(1))]),
            )
            .unwrap();
        roundtrip(
            schema,
            Value::Struct(value),
            json!({
                "schema": {"type":"struct","optional":false,"name":"com.example.User","fields":[
                    {"type":"int64","optional":false,"field":"id"},
                    {"type":"string","optional":true,"field":"name"},
                    {"type":"array","items":{"type":"string","optional":false},"optional":false,"field":"tags"},
                    {"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":true,"field":"attrs"}
                ]},
                "payload": {"id":7,"name":"ann","tags":["a"],"attrs":{"k":1}}
            }),
        );
    }

    #[test]
    fn logical_types() {
        let dec = logical::decimal(2).build();
        let bytes = logical::decimal_from_string("1.25", 2).unwrap();
        roundtrip(
            dec.clone(),
            Value::Bytes(bytes.clone()),
            json!({"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"fQ=="}),
        );
        let numeric = JsonConverter {
            schemas_enable: true,
            decimal_numeric: true,
            replace_null_with_default: true,
        };
        let out = numeric
            .to_bytes("t", Some(&dec), &Value::Bytes(bytes))
            .unwrap()
            .unwrap();
        let tree: Json = serde_json::from_slice(&out).unwrap();
        assert_eq!(tree["payload"], json!(1.25));
        roundtrip(
            logical::date().build(),
            Value::Int32(19000),
            json!({"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":19000}),
        );
        roundtrip(
            logical::timestamp().build(),
            Value::Int64(1_700_000_000_000),
            json!({"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":1_700_000_000_000i64}),
        );
    }

    #[test]
    fn map_with_non_string_keys_is_pairs() {
        let s = SchemaBuilder::map(Schema::of(Type::Int32), Schema::of(Type::String)).build();
        roundtrip(
            s,
            Value::Map(vec![(Value::Int32(1), Value::String("a".into()))]),
            json!({"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false},"payload":[[1,"a"]]}),
        );
    }

    #[test]
    fn defaults_and_nulls() {
        let s = SchemaBuilder::new(Type::Int32)
            .optional()
            .default_value(Value::Int32(5))
            .build();
        let out = conv(true)
            .to_bytes("t", Some(&s), &Value::Null)
            .unwrap()
            .unwrap();
        let tree: Json = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            tree,
            json!({"schema":{"type":"int32","optional":true,"default":5},"payload":5})
        );
        assert_eq!(conv(true).to_bytes("t", None, &Value::Null).unwrap(), None);
        assert_eq!(
            conv(true).to_connect("t", None).unwrap(),
            (None, Value::Null)
        );
        let required = Schema::of(Type::String);
        assert!(conv(true)
            .to_bytes("t", Some(&required), &Value::Null)
            .is_err());
        let err = conv(true)
            .to_connect(
                "t",
                Some(br#"{"schema":{"type":"string","optional":false},"payload":null}"#),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid null value for required STRING field"
        );
    }

    #[test]
    fn envelope_is_required_when_enabled() {
        let err = conv(true).to_connect("t", Some(br#"{"a":1}"#)).unwrap_err();
        assert_eq!(err.to_string(), ENVELOPE_ERROR);
        let (s, v) = conv(true)
            .to_connect("t", Some(br#"{"schema":null,"payload":{"a":1}}"#))
            .unwrap();
        assert!(s.is_none());
        assert_eq!(
            v,
            Value::Map(vec![(Value::String("a".into()), Value::Int64(1))])
        );
    }

    #[test]
    fn schemaless() {
        let c = conv(false);
        let (s, v) = c
            .to_connect("t", Some(br#"{"n":1,"f":1.5,"l":[true,null],"s":"x"}"#))
            .unwrap();
        assert!(s.is_none());
        assert_eq!(v.map_get("n"), Some(&Value::Int64(1)));
        assert_eq!(v.map_get("f"), Some(&Value::Float64(1.5)));
        assert_eq!(
            v.map_get("l"),
            Some(&Value::Array(vec![Value::Boolean(true), Value::Null]))
        );
        let out = c.to_bytes("t", None, &v).unwrap().unwrap();
        let tree: Json = serde_json::from_slice(&out).unwrap();
        assert_eq!(tree, json!({"n":1,"f":1.5,"l":[true,null],"s":"x"}));
        assert!(c
            .to_connect("t", Some(b"{nope"))
            .unwrap_err()
            .to_string()
            .starts_with(
                "Converting byte[] to Kafka Connect data failed due to serialization error"
            ));
    }
}
