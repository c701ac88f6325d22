//! `io.confluent.connect.json.JsonSchemaConverter`: Connect data as JSON
//! validated by a JSON Schema from the registry, in Confluent's wire format
//! (magic byte 0, the schema id, the JSON text).
//!
//! Schemas map as Confluent's `JsonSchemaData` maps them: integers are
//! `integer` with `connect.type` `int8`..`int64`, FLOAT32/FLOAT64 `number`
//! with `float32`/`float64`, BYTES `string` with `connect.type: bytes`
//! (base64 values), ARRAY `array`, MAP `object` with `additionalProperties`
//! (STRING keys) or an `array` of `{key, value}` objects, both with
//! `connect.type: map`; STRUCT `object` with `properties` (each with
//! `connect.index`), `required` for the non-optional fields and `title` the
//! struct's name. An optional schema is `{"oneOf": [{"type": "null"}, T]}`.
//! Names go to `title`, docs to `description`, versions and parameters to
//! `connect.version` / `connect.parameters`; Decimal is a `number`, Date,
//! Time and Timestamp integers, each titled with its logical name.
//!
//! On read, schemas without Connect's annotations map plainly: `integer` to
//! INT64, `number` to FLOAT64, an `object` with `properties` to a STRUCT
//! (properties not `required` optional), other objects to a MAP.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use parking_lot::Mutex;
use serde_json::{json, Map, Value as Json};
use strom_schema_registry::codec;
use strom_schema_registry::schema::SchemaType;

use super::registry::{self, Registry, SchemaCache};
use super::Converter;
use crate::config::{ConfigDef, Props};
use crate::data::schema::logical;
use crate::data::{Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

const CONNECT_TYPE: &str = "connect.type";
const CONNECT_INDEX: &str = "connect.index";

pub fn config_def() -> ConfigDef {
    registry::config_def()
}

pub struct JsonSchemaConverter {
    registry: Registry,
    written: SchemaCache<Arc<String>>,
    read: Mutex<HashMap<i32, SchemaRef>>,
}

impl JsonSchemaConverter {
    pub fn configure(props: &Props, is_key: bool) -> Result<Self> {
        Ok(JsonSchemaConverter {
            registry: Registry::configure(props, is_key, SchemaType::Json)?,
            written: SchemaCache::new(),
            read: Mutex::new(HashMap::new()),
        })
    }

    fn schema_text(&self, schema: &SchemaRef) -> Result<Arc<String>> {
        self.written.get_or_try(schema, || {
            Ok(Arc::new(from_connect_schema(schema).to_string()))
        })
    }
}

impl Converter for JsonSchemaConverter {
    fn to_bytes(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if value.is_null() {
            return Ok(None);
        }
        let schema = registry::schema_or_inferred(schema, value, "JsonSchemaConverter")?;
        let schema = &schema;
        let text = self.schema_text(schema)?;
        let w = self
            .registry
            .for_write(topic, &text, schema.name.as_deref())?;
        let json = to_json_value(schema, value)?;
        codec::encode(&w.schema, w.id, &json)
            .map(Some)
            .map_err(|e| {
                Error::data(format!(
                    "Converting Kafka Connect data to byte[] failed for topic {topic}: {e}"
                ))
            })
    }

    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let Some(data) = data else {
            return Ok((None, Value::Null));
        };
        let (id, payload) = registry::split(data)?;
        let parsed = self.registry.for_read(id)?;
        let cached = self.read.lock().get(&id).cloned();
        let schema = match cached {
            Some(s) => s,
            None => {
                let js = parsed.as_json().expect("a JSON schema");
                let s = to_connect_schema(js.value(), false)?;
                self.read.lock().insert(id, s.clone());
                s
            }
        };
        let json: Json = serde_json::from_slice(payload).map_err(|e| {
            Error::data(format!(
                "Converting byte[] to Kafka Connect data failed for topic {topic}: {e}"
            ))
        })?;
        Ok((Some(schema.clone()), from_json_value(&schema, &json)?))
    }
}

// ---------------------------------------------------------------- schemas

/// The JSON Schema of a Connect schema.
pub fn from_connect_schema(s: &Schema) -> Json {
    let mut out = match s.ty {
        Type::Int8 | Type::Int16 | Type::Int32 | Type::Int64 => {
            json!({"type": "integer", CONNECT_TYPE: s.ty.json_name()})
        }
        Type::Float32 => json!({"type": "number", CONNECT_TYPE: "float32"}),
        Type::Float64 => json!({"type": "number", CONNECT_TYPE: "float64"}),
        Type::Boolean => json!({"type": "boolean"}),
        Type::String => json!({"type": "string"}),
        Type::Bytes if s.name.as_deref() == Some(logical::DECIMAL) => {
            json!({"type": "number", CONNECT_TYPE: "bytes"})
        }
        Type::Bytes => json!({"type": "string", CONNECT_TYPE: "bytes"}),
        Type::Array => {
            let items = s.value_schema.as_deref().map(from_connect_schema);
            json!({"type": "array", "items": items})
        }
        Type::Map => {
            let k = s.key_schema.as_deref();
            let v = s.value_schema.as_deref().map(from_connect_schema);
            match k {
                Some(k) if k.ty == Type::String && !k.optional => {
                    json!({"type": "object", "additionalProperties": v, CONNECT_TYPE: "map"})
                }
                _ => json!({"type": "array", CONNECT_TYPE: "map", "items": {
                    "type": "object",
                    "properties": {"key": k.map(from_connect_schema), "value": v},
                }}),
            }
        }
        Type::Struct => {
            let mut props = Map::new();
            let mut required = Vec::new();
            for f in &s.fields {
                let mut fs = from_connect_schema(&f.schema);
                fs[CONNECT_INDEX] = json!(f.index);
                props.insert(f.name.clone(), fs);
                if !f.schema.optional {
                    required.push(json!(f.name));
                }
            }
            let mut o = json!({"type": "object", "properties": props});
            if !required.is_empty() {
                o["required"] = Json::Array(required);
            }
            o
        }
    };
    if let Some(n) = &s.name {
        out["title"] = json!(n);
    }
    if let Some(d) = &s.doc {
        out["description"] = json!(d);
    }
    if let Some(v) = s.version {
        out["connect.version"] = json!(v);
    }
    if !s.parameters.is_empty() {
        out["connect.parameters"] = json!(s.parameters);
    }
    if let Some(d) = s.default.as_ref().filter(|d| !d.is_null()) {
        if let Ok(j) = to_json_value(s, d) {
            out["default"] = j;
        }
    }
    if s.optional {
        json!({"oneOf": [{"type": "null"}, out]})
    } else {
        out
    }
}

fn type_of(j: &Json) -> Option<&str> {
    match j.get("type") {
        Some(Json::String(t)) => Some(t),
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn nullable(j: &Json) -> bool {
    matches!(j.get("type"), Some(Json::Array(ts)) if ts.iter().any(|t| t == "null"))
}

/// The Connect schema of a JSON Schema.
pub fn to_connect_schema(j: &Json, optional: bool) -> Result<SchemaRef> {
    let unsupported = || Error::data(format!("Unsupported JSON schema {j}"));
    if let Some(Json::Array(branches)) = j.get("oneOf").or_else(|| j.get("anyOf")) {
        let non_null: Vec<&Json> = branches
            .iter()
            .filter(|b| b.get("type") != Some(&json!("null")))
            .collect();
        if non_null.len() == 1 && branches.len() == 2 {
            let inner = to_connect_schema(non_null[0], true)?;
            return Ok(inner);
        }
        return Err(unsupported());
    }
    let optional = optional || nullable(j);
    let connect_type = j.get(CONNECT_TYPE).and_then(Json::as_str);
    let title = j.get("title").and_then(Json::as_str);
    let mut b = match (type_of(j), connect_type) {
        (Some("integer"), t) => match (title, t) {
            (Some(logical::DATE), _) => logical::date(),
            (Some(logical::TIME), _) => logical::time(),
            (Some(logical::TIMESTAMP), _) => logical::timestamp(),
            (_, Some(t)) => SchemaBuilder::new(Type::from_json_name(t).ok_or_else(unsupported)?),
            _ => SchemaBuilder::new(Type::Int64),
        },
        (Some("number"), _) if title == Some(logical::DECIMAL) => logical::decimal(0),
        (Some("number"), Some("float32")) => SchemaBuilder::new(Type::Float32),
        (Some("number"), _) => SchemaBuilder::new(Type::Float64),
        (Some("boolean"), _) => SchemaBuilder::new(Type::Boolean),
        (Some("string"), Some("bytes")) => SchemaBuilder::new(Type::Bytes),
        (Some("string"), _) => SchemaBuilder::new(Type::String),
        (Some("array"), Some("map")) => {
            let props = j.pointer("/items/properties").ok_or_else(unsupported)?;
            SchemaBuilder::map(
                to_connect_schema(props.get("key").ok_or_else(unsupported)?, false)?,
                to_connect_schema(props.get("value").ok_or_else(unsupported)?, false)?,
            )
        }
        (Some("array"), _) => {
            let items = j.get("items").ok_or_else(unsupported)?;
            SchemaBuilder::array(to_connect_schema(items, false)?)
        }
        (Some("object"), t) if t == Some("map") || j.get("properties").is_none() => {
            let values = match j.get("additionalProperties") {
                Some(v @ Json::Object(_)) => to_connect_schema(v, false)?,
                _ => Schema::optional(Type::String),
            };
            SchemaBuilder::map(Schema::of(Type::String), values)
        }
        (Some("object"), _) => {
            let props = j
                .get("properties")
                .and_then(Json::as_object)
                .ok_or_else(unsupported)?;
            let required: Vec<&str> = j
                .get("required")
                .and_then(Json::as_array)
                .map(|r| r.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let mut fields: Vec<(&String, &Json)> = props.iter().collect();
            fields.sort_by_key(|(_, f)| {
                f.get(CONNECT_INDEX)
                    .or_else(|| f.pointer("/oneOf/1/connect.index"))
                    .and_then(Json::as_i64)
                    .unwrap_or(i64::MAX)
            });
            let mut st = SchemaBuilder::struct_();
            for (name, f) in fields {
                let opt = !required.contains(&name.as_str());
                st = st.field(name, to_connect_schema(f, opt)?);
            }
            st
        }
        _ => return Err(unsupported()),
    };
    if let Some(t) = title {
        b = b.name(t);
    }
    if let Some(d) = j.get("description").and_then(Json::as_str) {
        b = b.doc(d);
    }
    if let Some(v) = j.get("connect.version").and_then(Json::as_i64) {
        b = b.version(v as i32);
    }
    if let Some(Json::Object(params)) = j.get("connect.parameters") {
        for (k, v) in params {
            b = b.parameter(k, v.as_str().unwrap_or_default());
        }
    }
    let built = b.set_optional(optional).build();
    match j.get("default").filter(|d| !d.is_null()) {
        Some(d) => {
            let v = from_json_value(&built, d)?;
            Ok(SchemaBuilder::from_schema(&built).default_value(v).build())
        }
        None => Ok(built),
    }
}

// ---------------------------------------------------------------- values

/// A Connect value as the JSON the schema describes.
pub fn to_json_value(s: &Schema, v: &Value) -> Result<Json> {
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(match (s.ty, v) {
        (_, Value::Null) => match &s.default {
            Some(d) if !s.optional => to_json_value(s, d)?,
            _ => Json::Null,
        },
        (Type::Bytes, Value::Bytes(b)) if s.name.as_deref() == Some(logical::DECIMAL) => {
            let text = logical::decimal_to_string(b, logical::scale(s));
            serde_json::from_str(&text)
                .map_err(|e| Error::data(format!("Invalid decimal {text}: {e}")))?
        }
        (Type::Bytes, Value::Bytes(b)) => Json::String(b64.encode(b)),
        (Type::Array, Value::Array(items)) => {
            let item = s.value_schema.as_ref().ok_or_else(|| bad(s, v))?;
            Json::Array(
                items
                    .iter()
                    .map(|i| to_json_value(item, i))
                    .collect::<Result<_>>()?,
            )
        }
        (Type::Map, Value::Map(entries)) => {
            let (ks, vs) = match (&s.key_schema, &s.value_schema) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(bad(s, v)),
            };
            if ks.ty == Type::String && !ks.optional {
                let mut o = Map::new();
                for (k, ev) in entries {
                    let k = k.as_str().ok_or_else(|| bad(s, v))?;
                    o.insert(k.to_string(), to_json_value(vs, ev)?);
                }
                Json::Object(o)
            } else {
                let mut out = Vec::new();
                for (k, ev) in entries {
                    out.push(
                        json!({"key": to_json_value(ks, k)?, "value": to_json_value(vs, ev)?}),
                    );
                }
                Json::Array(out)
            }
        }
        (Type::Struct, Value::Struct(st)) => {
            let mut o = Map::new();
            for f in &s.fields {
                let fv = st.get(&f.name).unwrap_or(&Value::Null);
                o.insert(f.name.clone(), to_json_value(&f.schema, fv)?);
            }
            Json::Object(o)
        }
        _ => {
            s.validate(v).map_err(Error::data)?;
            v.to_json()
        }
    })
}

fn bad(s: &Schema, v: &impl std::fmt::Debug) -> Error {
    Error::data(format!("Invalid value {v:?} for a {} schema", s.ty))
}

/// JSON described by `s` as a Connect value.
pub fn from_json_value(s: &SchemaRef, j: &Json) -> Result<Value> {
    if j.is_null() {
        return Ok(Value::Null);
    }
    let int = || j.as_i64().ok_or_else(|| bad(s, j));
    Ok(match s.ty {
        Type::Int8 => Value::Int8(int()? as i8),
        Type::Int16 => Value::Int16(int()? as i16),
        Type::Int32 => Value::Int32(int()? as i32),
        Type::Int64 => Value::Int64(int()?),
        Type::Float32 => Value::Float32(j.as_f64().ok_or_else(|| bad(s, j))? as f32),
        Type::Float64 => Value::Float64(j.as_f64().ok_or_else(|| bad(s, j))?),
        Type::Boolean => Value::Boolean(j.as_bool().ok_or_else(|| bad(s, j))?),
        Type::String => Value::String(j.as_str().ok_or_else(|| bad(s, j))?.to_string()),
        Type::Bytes if s.name.as_deref() == Some(logical::DECIMAL) => {
            let text = match j {
                Json::Number(n) => n.to_string(),
                Json::String(t) => t.clone(),
                _ => return Err(bad(s, j)),
            };
            Value::Bytes(
                logical::decimal_from_string(&text, logical::scale(s)).ok_or_else(|| bad(s, j))?,
            )
        }
        Type::Bytes => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(j.as_str().ok_or_else(|| bad(s, j))?)
                .map_err(|e| Error::data(format!("Invalid base64 bytes: {e}")))?,
        ),
        Type::Array => {
            let item = s.value_schema.as_ref().ok_or_else(|| bad(s, j))?;
            Value::Array(
                j.as_array()
                    .ok_or_else(|| bad(s, j))?
                    .iter()
                    .map(|i| from_json_value(item, i))
                    .collect::<Result<_>>()?,
            )
        }
        Type::Map => {
            let (ks, vs) = match (&s.key_schema, &s.value_schema) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(bad(s, j)),
            };
            let mut out = Vec::new();
            match j {
                Json::Object(o) => {
                    for (k, v) in o {
                        out.push((Value::String(k.clone()), from_json_value(vs, v)?));
                    }
                }
                Json::Array(entries) => {
                    for e in entries {
                        let k = e.get("key").ok_or_else(|| bad(s, j))?;
                        let v = e.get("value").unwrap_or(&Json::Null);
                        out.push((from_json_value(ks, k)?, from_json_value(vs, v)?));
                    }
                }
                _ => return Err(bad(s, j)),
            }
            Value::Map(out)
        }
        Type::Struct => {
            let o = j.as_object().ok_or_else(|| bad(s, j))?;
            let mut st = Struct::new(s.clone());
            for f in &s.fields {
                if let Some(fj) = o.get(&f.name) {
                    st.values[f.index] = from_json_value(&f.schema, fj)?;
                }
            }
            Value::Struct(st)
        }
    })
}
