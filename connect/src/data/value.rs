//! Connect values: what a schema describes, or schemaless data (maps with
//! string keys, lists, longs, doubles, ... as the JSON converter makes them).

use std::fmt;

use super::schema::{Schema, SchemaRef, Type};

/// A Connect value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Boolean(bool),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Entries in insertion order.
    Map(Vec<(Value, Value)>),
    Struct(Struct),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The Java class Connect would hold this value as (for error messages).
    pub fn java_class(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int8(_) => "java.lang.Byte",
            Value::Int16(_) => "java.lang.Short",
            Value::Int32(_) => "java.lang.Integer",
            Value::Int64(_) => "java.lang.Long",
            Value::Float32(_) => "java.lang.Float",
            Value::Float64(_) => "java.lang.Double",
            Value::Boolean(_) => "java.lang.Boolean",
            Value::String(_) => "java.lang.String",
            Value::Bytes(_) => "[B",
            Value::Array(_) => "java.util.ArrayList",
            Value::Map(_) => "java.util.HashMap",
            Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
        }
    }

    /// The schema type a schemaless value would have (`Values.inferSchema`).
    pub fn inferred_type(&self) -> Option<Type> {
        Some(match self {
            Value::Null => return None,
            Value::Int8(_) => Type::Int8,
            Value::Int16(_) => Type::Int16,
            Value::Int32(_) => Type::Int32,
            Value::Int64(_) => Type::Int64,
            Value::Float32(_) => Type::Float32,
            Value::Float64(_) => Type::Float64,
            Value::Boolean(_) => Type::Boolean,
            Value::String(_) => Type::String,
            Value::Bytes(_) => Type::Bytes,
            Value::Array(_) => Type::Array,
            Value::Map(_) => Type::Map,
            Value::Struct(_) => Type::Struct,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// The number as an i64 (integers, and floats truncated).
    pub fn as_i64(&self) -> Option<i64> {
        Some(match self {
            Value::Int8(v) => i64::from(*v),
            Value::Int16(v) => i64::from(*v),
            Value::Int32(v) => i64::from(*v),
            Value::Int64(v) => *v,
            Value::Float32(v) => *v as i64,
            Value::Float64(v) => *v as i64,
            _ => return None,
        })
    }

    pub fn as_f64(&self) -> Option<f64> {
        Some(match self {
            Value::Int8(v) => f64::from(*v),
            Value::Int16(v) => f64::from(*v),
            Value::Int32(v) => f64::from(*v),
            Value::Int64(v) => *v as f64,
            Value::Float32(v) => f64::from(*v),
            Value::Float64(v) => *v,
            _ => return None,
        })
    }

    /// A map entry by string key (schemaless records).
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Schemaless value from JSON: integers → INT64, other numbers → FLOAT64,
    /// objects → MAP with string keys (the JSON converter with `schemas.enable=false`).
    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Boolean(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int64(i),
                None => Value::Float64(n.as_f64().unwrap_or_default()),
            },
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::Array(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| (Value::String(k.clone()), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Schemaless value to JSON (bytes as base64, maps with non-string keys
    /// as arrays of `[key, value]`).
    pub fn to_json(&self) -> serde_json::Value {
        use base64::Engine;
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Int8(v) => (*v).into(),
            Value::Int16(v) => (*v).into(),
            Value::Int32(v) => (*v).into(),
            Value::Int64(v) => (*v).into(),
            Value::Float32(v) => serde_json::Number::from_f64(f64::from(*v))
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Float64(v) => serde_json::Number::from_f64(*v)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Boolean(b) => (*b).into(),
            Value::String(s) => s.clone().into(),
            Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b).into(),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_json).collect()),
            Value::Map(entries) => {
                if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                    serde_json::Value::Object(
                        entries
                            .iter()
                            .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.to_json()))
                            .collect(),
                    )
                } else {
                    serde_json::Value::Array(
                        entries
                            .iter()
                            .map(|(k, v)| serde_json::Value::Array(vec![k.to_json(), v.to_json()]))
                            .collect(),
                    )
                }
            }
            Value::Struct(s) => serde_json::Value::Object(
                s.schema
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), s.values[f.index].to_json()))
                    .collect(),
            ),
        }
    }
}

/// Java's `toString` of the value (what FileStreamSink writes, what
/// StringConverter produces).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => write!(f, "{}", java_float(f64::from(*v))),
            Value::Float64(v) => write!(f, "{}", java_float(*v)),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => {
                // Java prints "[B@hash"; Connect's StringConverter decodes as text: do that.
                f.write_str(&String::from_utf8_lossy(b))
            }
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
            Value::Struct(s) => write!(f, "{s}"),
        }
    }
}

fn java_float(v: f64) -> String {
    if v.fract() == 0.0 && v.is_finite() && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// A STRUCT value: its schema and one value per field.
#[derive(Clone, Debug, PartialEq)]
pub struct Struct {
    pub schema: SchemaRef,
    pub values: Vec<Value>,
}

impl Struct {
    /// All fields null (set them with [`Struct::put`]).
    pub fn new(schema: SchemaRef) -> Self {
        let values = vec![Value::Null; schema.fields.len()];
        Struct { schema, values }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.schema.field(name).map(|f| &self.values[f.index])
    }

    /// The field's value, or its schema default when null.
    pub fn get_or_default(&self, name: &str) -> Option<Value> {
        let f = self.schema.field(name)?;
        match &self.values[f.index] {
            Value::Null => Some(f.schema.default.clone().unwrap_or(Value::Null)),
            v => Some(v.clone()),
        }
    }

    pub fn put(&mut self, name: &str, value: Value) -> Result<(), String> {
        let f = self
            .schema
            .field(name)
            .ok_or_else(|| format!("{name} is not a valid field name"))?;
        f.schema
            .validate(&value)
            .map_err(|e| format!("{e} for field: \"{name}\""))?;
        self.values[f.index] = value;
        Ok(())
    }

    /// Builder-style [`Struct::put`].
    pub fn with(mut self, name: &str, value: Value) -> Result<Self, String> {
        self.put(name, value)?;
        Ok(self)
    }

    /// Every required field is set (Connect's `Struct.validate`).
    pub fn validate(&self) -> Result<(), String> {
        for f in &self.schema.fields {
            f.schema
                .validate(&self.values[f.index])
                .map_err(|e| format!("{e} for field: \"{}\"", f.name))?;
        }
        Ok(())
    }
}

impl fmt::Display for Struct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Struct{")?;
        let mut first = true;
        for field in &self.schema.fields {
            let v = &self.values[field.index];
            if v.is_null() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{}={}", field.name, v)?;
        }
        f.write_str("}")
    }
}

/// A schema for a schemaless primitive value (used by SMTs that need one).
pub fn schema_for_primitive(t: Type) -> SchemaRef {
    Schema::optional(t)
}
