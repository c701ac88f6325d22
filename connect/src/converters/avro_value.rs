//! Connect values ⇄ Avro's JSON encoding (the form the registry library's
//! Avro codec encodes and decodes), for [`super::avro::AvroConverter`].
//!
//! Writing walks the Avro schema with the value: a union takes the branch the
//! value fits (a struct's by its name; the `io.confluent.connect.avro.Union`
//! struct's by its set field), bytes and `fixed` are ISO-8859-1 strings, a MAP
//! written as an array of `MapEntry` records becomes `{"key", "value"}`
//! objects, a null field with an Avro default is left to the default. Reading
//! walks the Connect schema made from the writer schema.

use serde_json::{json, Map, Value as Json};
use strom_schema_registry::schema::avro::{self as av, AvroSchema, NamedKind, Primitive};

use super::avro::{branch_name, map_entry, UNION};
use crate::data::{SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

/// A Connect value in Avro's JSON encoding under `node`.
pub fn to_avro_value(schema: &AvroSchema, node: &av::Schema, v: &Value) -> Result<Json, String> {
    let wrong = || {
        format!(
            "a {} does not fit Avro {}",
            v.java_class(),
            branch_name(schema, node)
        )
    };
    match node {
        av::Schema::Union(branches) => {
            if v.is_null() {
                return if branches.iter().any(|b| branch_name(schema, b) == "null") {
                    Ok(Json::Null)
                } else {
                    Err("null for a union without null".into())
                };
            }
            let (branch, inner) = match v {
                Value::Struct(st) if st.schema.name.as_deref() == Some(UNION) => {
                    let f = st
                        .schema
                        .fields
                        .iter()
                        .find(|f| !st.values[f.index].is_null())
                        .ok_or("a Union struct with no branch set")?;
                    let b = branches
                        .iter()
                        .find(|b| branch_name(schema, b) == f.name)
                        .ok_or_else(|| format!("no union branch {}", f.name))?;
                    (b, &st.values[f.index])
                }
                _ => {
                    let fits = |b: &&av::Schema, strict: bool| fits(schema, b, v, strict);
                    let b = branches
                        .iter()
                        .find(|b| fits(b, true))
                        .or_else(|| branches.iter().find(|b| fits(b, false)))
                        .ok_or_else(wrong)?;
                    (b, v)
                }
            };
            let mut o = Map::new();
            o.insert(
                branch_name(schema, branch),
                to_avro_value(schema, branch, inner)?,
            );
            Ok(Json::Object(o))
        }
        av::Schema::Primitive { kind, .. } => Ok(match (kind, v) {
            (Primitive::Null, Value::Null) => Json::Null,
            (Primitive::Int | Primitive::Long, _) if v.as_i64().is_some() && !is_float(v) => {
                json!(v.as_i64())
            }
            (Primitive::Float | Primitive::Double, _) if v.as_f64().is_some() => {
                json!(v.as_f64())
            }
            (Primitive::Boolean, Value::Boolean(b)) => json!(b),
            (Primitive::String, Value::String(s)) => json!(s),
            (Primitive::Bytes, Value::Bytes(b)) => latin1(b),
            _ => return Err(wrong()),
        }),
        av::Schema::Named(i) => match (&schema.named(*i).kind, v) {
            (NamedKind::Record { fields, .. }, Value::Struct(st)) => {
                let mut o = Map::new();
                for f in fields {
                    match st.get(&f.name) {
                        Some(fv) if !(fv.is_null() && f.default.is_some()) => {
                            let j = to_avro_value(schema, &f.schema, fv)
                                .map_err(|e| format!("field {}: {e}", f.name))?;
                            o.insert(f.name.clone(), j);
                        }
                        _ => {} // the codec takes the field's default
                    }
                }
                Ok(Json::Object(o))
            }
            (NamedKind::Enum { .. }, Value::String(s)) => Ok(json!(s)),
            (NamedKind::Fixed { .. }, Value::Bytes(b)) => Ok(latin1(b)),
            _ => Err(wrong()),
        },
        av::Schema::Array { items, .. } => match v {
            Value::Array(a) => a
                .iter()
                .map(|i| to_avro_value(schema, items, i))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array),
            Value::Map(entries) => {
                let (k, val) = map_entry(schema, items).ok_or_else(wrong)?;
                let mut out = Vec::with_capacity(entries.len());
                for (ek, ev) in entries {
                    out.push(json!({
                        "key": to_avro_value(schema, k, ek)?,
                        "value": to_avro_value(schema, val, ev)?,
                    }));
                }
                Ok(Json::Array(out))
            }
            _ => Err(wrong()),
        },
        av::Schema::Map { values, .. } => match v {
            Value::Map(entries) => {
                let mut o = Map::new();
                for (k, ev) in entries {
                    let k = k.as_str().ok_or("a map key that is not a string")?;
                    o.insert(k.to_string(), to_avro_value(schema, values, ev)?);
                }
                Ok(Json::Object(o))
            }
            _ => Err(wrong()),
        },
    }
}

fn is_float(v: &Value) -> bool {
    matches!(v, Value::Float32(_) | Value::Float64(_))
}

/// Whether `v` can be written as union branch `b` (`strict`: names must match too).
fn fits(schema: &AvroSchema, b: &av::Schema, v: &Value, strict: bool) -> bool {
    match (b, v) {
        (av::Schema::Primitive { kind, .. }, _) => {
            matches!(
                (kind, v),
                (
                    Primitive::Int,
                    Value::Int8(_) | Value::Int16(_) | Value::Int32(_)
                ) | (Primitive::Long, Value::Int64(_))
                    | (Primitive::Float, Value::Float32(_))
                    | (Primitive::Double, Value::Float64(_))
                    | (Primitive::Boolean, Value::Boolean(_))
                    | (Primitive::String, Value::String(_))
                    | (Primitive::Bytes, Value::Bytes(_))
            ) || (!strict
                && matches!(
                    (kind, v),
                    (
                        Primitive::Long,
                        Value::Int8(_) | Value::Int16(_) | Value::Int32(_)
                    ) | (Primitive::Double, Value::Float32(_))
                ))
        }
        (av::Schema::Named(i), _) => {
            let def = schema.named(*i);
            match (&def.kind, v) {
                (NamedKind::Record { .. }, Value::Struct(st)) => {
                    !strict || st.schema.name.as_deref() == Some(&def.name.full_name())
                }
                (NamedKind::Enum { .. }, Value::String(_)) => !strict,
                (NamedKind::Fixed { .. }, Value::Bytes(_)) => !strict,
                _ => false,
            }
        }
        (av::Schema::Array { items, .. }, Value::Array(_)) => {
            !strict || map_entry(schema, items).is_none()
        }
        (av::Schema::Array { items, .. }, Value::Map(_)) => map_entry(schema, items).is_some(),
        (av::Schema::Map { .. }, Value::Map(_)) => true,
        _ => false,
    }
}

fn latin1(b: &[u8]) -> Json {
    Json::String(b.iter().map(|&c| char::from(c)).collect())
}

fn from_latin1(s: &str) -> Result<Vec<u8>> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| Error::data("bytes out of range")))
        .collect()
}

/// Avro's JSON encoding (as the codec decodes it) to a Connect value of schema `s`.
pub fn json_to_connect(
    schema: &AvroSchema,
    node: &av::Schema,
    s: &SchemaRef,
    j: &Json,
) -> Result<Value> {
    let union = |j: &Json| -> Option<(String, Json)> {
        match j {
            Json::Object(o) if o.len() == 1 => o.iter().next().map(|(k, v)| (k.clone(), v.clone())),
            _ => None,
        }
    };
    if let av::Schema::Union(branches) = node {
        if j.is_null() {
            return Ok(Value::Null);
        }
        let (name, inner) = union(j).ok_or_else(|| Error::data("Invalid Avro union value"))?;
        let branch = branches
            .iter()
            .find(|b| branch_name(schema, b) == name)
            .ok_or_else(|| Error::data(format!("No union branch {name}")))?;
        if s.ty == Type::Struct && s.name.as_deref() == Some(UNION) {
            let f = s
                .field(&name)
                .ok_or_else(|| Error::data(format!("No union field {name}")))?;
            let v = json_to_connect(schema, branch, &f.schema, &inner)?;
            let mut st = Struct::new(s.clone());
            st.values[f.index] = v;
            return Ok(Value::Struct(st));
        }
        return json_to_connect(schema, branch, s, &inner);
    }
    let nested = |s: &SchemaRef, j: &Json| -> Option<Result<Value>> {
        let field_node = |name: &str| match node {
            av::Schema::Named(i) => match &schema.named(*i).kind {
                NamedKind::Record { fields, .. } => {
                    fields.iter().find(|f| f.name == name).map(|f| &f.schema)
                }
                _ => None,
            },
            _ => None,
        };
        match (s.ty, node) {
            (Type::Struct, _) => {
                let Json::Object(o) = j else {
                    return Some(Err(Error::data("Avro record expected")));
                };
                let mut st = Struct::new(s.clone());
                for f in &s.fields {
                    let (Some(fj), Some(fnode)) = (o.get(&f.name), field_node(&f.name)) else {
                        continue;
                    };
                    match json_to_connect(schema, fnode, &f.schema, fj) {
                        Ok(v) => st.values[f.index] = v,
                        Err(e) => return Some(Err(e)),
                    }
                }
                Some(Ok(Value::Struct(st)))
            }
            (Type::Array, av::Schema::Array { items, .. }) => {
                let item = s.value_schema.as_ref()?;
                let a = j.as_array()?;
                Some(
                    a.iter()
                        .map(|i| json_to_connect(schema, items, item, i))
                        .collect::<Result<Vec<_>>>()
                        .map(Value::Array),
                )
            }
            (Type::Map, av::Schema::Array { items, .. }) => {
                let (kn, vn) = map_entry(schema, items)?;
                let (ks, vs) = (s.key_schema.as_ref()?, s.value_schema.as_ref()?);
                let mut out = Vec::new();
                for e in j.as_array()? {
                    let k = json_to_connect(schema, kn, ks, e.get("key")?);
                    let v = json_to_connect(schema, vn, vs, e.get("value")?);
                    match (k, v) {
                        (Ok(k), Ok(v)) => out.push((k, v)),
                        (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
                    }
                }
                Some(Ok(Value::Map(out)))
            }
            (Type::Map, av::Schema::Map { values, .. }) => {
                let vs = s.value_schema.as_ref()?;
                let mut out = Vec::new();
                for (k, v) in j.as_object()? {
                    match json_to_connect(schema, values, vs, v) {
                        Ok(v) => out.push((Value::String(k.clone()), v)),
                        Err(e) => return Some(Err(e)),
                    }
                }
                Some(Ok(Value::Map(out)))
            }
            _ => None,
        }
    };
    json_value(s, j, &|s, j| nested(s, j))
}

pub(crate) type Nested<'a> = dyn Fn(&SchemaRef, &Json) -> Option<Result<Value>> + 'a;

/// Primitive values from JSON by the Connect type; complex ones through `nested`
/// (or plainly, for defaults).
pub(crate) fn json_value(s: &SchemaRef, j: &Json, nested: &Nested<'_>) -> Result<Value> {
    if j.is_null() {
        return Ok(Value::Null);
    }
    let bad = || Error::data(format!("Invalid Avro value {j} for a {} schema", s.ty));
    if let Some(v) = nested(s, j) {
        return v;
    }
    Ok(match s.ty {
        Type::Int8 => Value::Int8(j.as_i64().ok_or_else(bad)? as i8),
        Type::Int16 => Value::Int16(j.as_i64().ok_or_else(bad)? as i16),
        Type::Int32 => Value::Int32(j.as_i64().ok_or_else(bad)? as i32),
        Type::Int64 => Value::Int64(j.as_i64().ok_or_else(bad)?),
        Type::Float32 => Value::Float32(j.as_f64().ok_or_else(bad)? as f32),
        Type::Float64 => Value::Float64(j.as_f64().ok_or_else(bad)?),
        Type::Boolean => Value::Boolean(j.as_bool().ok_or_else(bad)?),
        Type::String => Value::String(j.as_str().ok_or_else(bad)?.to_string()),
        Type::Bytes => Value::Bytes(from_latin1(j.as_str().ok_or_else(bad)?)?),
        Type::Array => {
            let item = s.value_schema.as_ref().ok_or_else(bad)?;
            Value::Array(
                j.as_array()
                    .ok_or_else(bad)?
                    .iter()
                    .map(|i| json_value(item, i, nested))
                    .collect::<Result<_>>()?,
            )
        }
        Type::Map => {
            let vs = s.value_schema.as_ref().ok_or_else(bad)?;
            let mut out = Vec::new();
            for (k, v) in j.as_object().ok_or_else(bad)? {
                out.push((Value::String(k.clone()), json_value(vs, v, nested)?));
            }
            Value::Map(out)
        }
        Type::Struct => {
            let o = j.as_object().ok_or_else(bad)?;
            let mut st = Struct::new(s.clone());
            for f in &s.fields {
                if let Some(fj) = o.get(&f.name) {
                    st.values[f.index] = json_value(&f.schema, fj, nested)?;
                }
            }
            Value::Struct(st)
        }
    })
}
