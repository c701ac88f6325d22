//! `io.confluent.connect.protobuf.ProtobufConverter`: a Connect STRUCT as a
//! proto3 message in Confluent's wire format (magic byte 0, the schema id,
//! the message indexes — `[0]`, written as the single byte 0 — and the
//! message).
//!
//! The schema is a generated `.proto` file with one top-level message named
//! as the struct (its namespace as the package; `ConnectDefault1` when
//! unnamed). Fields are numbered in order from 1: INT8/INT16/INT32 as
//! `int32`, INT64 `int64`, FLOAT32 `float`, FLOAT64 `double`, BOOLEAN
//! `bool`, STRING `string`, BYTES `bytes`, ARRAY `repeated`, MAP `map<K, V>`,
//! nested STRUCTs as nested messages; optional primitive fields are proto3
//! `optional` fields (so a null stays null).
//!
//! On read, the writer schema's message becomes a STRUCT: unsigned and
//! 64-bit integers INT64, enums STRING, `repeated` ARRAY, maps MAP; fields
//! with presence (`optional`, messages) are optional.
//!
//! Not mapped: Connect's logical types go as their underlying type (Decimal
//! as `bytes`, Date/Time as `int32`, Timestamp as `int64`), and INT8/INT16
//! read back as INT32 (Confluent's `connect.type` field options need its
//! `confluent/meta.proto`).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use prost_reflect::prost::Message;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value as Pb,
};
use strom_schema_registry::schema::SchemaType;
use strom_schema_registry::serde as wire;

use super::registry::{self, Registry, SchemaCache};
use super::Converter;
use crate::config::{ConfigDef, Props};
use crate::data::{Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

pub const DEFAULT_NAME: &str = "ConnectDefault";

pub fn config_def() -> ConfigDef {
    registry::config_def()
}

/// A generated `.proto` text and its message's full name.
type Proto = Arc<(String, String)>;

pub struct ProtobufConverter {
    registry: Registry,
    written: SchemaCache<Proto>,
    read: Mutex<HashMap<i32, (MessageDescriptor, SchemaRef)>>,
}

impl ProtobufConverter {
    pub fn configure(props: &Props, is_key: bool) -> Result<Self> {
        Ok(ProtobufConverter {
            registry: Registry::configure(props, is_key, SchemaType::Protobuf)?,
            written: SchemaCache::new(),
            read: Mutex::new(HashMap::new()),
        })
    }

    /// The `.proto` text and the full message name of a struct schema.
    fn proto(&self, schema: &SchemaRef) -> Result<Proto> {
        self.written
            .get_or_try(schema, || Ok(Arc::new(to_proto(schema)?)))
    }
}

impl Converter for ProtobufConverter {
    fn to_bytes(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if value.is_null() {
            return Ok(None);
        }
        let (Some(schema), Value::Struct(st)) = (schema, value) else {
            return Err(Error::data(
                "ProtobufConverter converts STRUCT values with a schema only",
            ));
        };
        let proto = self.proto(schema)?;
        let w = self.registry.for_write(topic, &proto.0, Some(&proto.1))?;
        let pb = w.schema.as_protobuf().expect("a Protobuf schema");
        let desc = pb
            .file()
            .messages()
            .next()
            .ok_or_else(|| Error::data("The Protobuf schema has no message"))?;
        let msg = to_message(&desc, st)?;
        let mut out = Vec::new();
        wire::write_header(&mut out, w.id);
        wire::write_message_indexes(&mut out, &[0]);
        msg.encode(&mut out)
            .map_err(|e| Error::data(format!("Failed to serialize Protobuf data: {e}")))?;
        Ok(Some(out))
    }

    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let Some(data) = data else {
            return Ok((None, Value::Null));
        };
        let (id, payload) = registry::split(data)?;
        let (indexes, rest) = wire::decode_message_indexes(payload)
            .map_err(|e| Error::data(format!("Error deserializing Protobuf message: {e}")))?;
        let cached = self.read.lock().get(&id).cloned();
        let (desc, schema) = match cached {
            Some(c) if indexes == [0] => c,
            _ => {
                let parsed = self.registry.for_read(id)?;
                let pb = parsed.as_protobuf().expect("a Protobuf schema");
                let name = pb.message_name(&indexes).ok_or_else(|| {
                    Error::data(format!("No message at indexes {indexes:?} in schema {id}"))
                })?;
                let desc = pb
                    .file()
                    .parent_pool()
                    .get_message_by_name(&name)
                    .ok_or_else(|| Error::data(format!("No message {name}")))?;
                let schema = message_schema(&desc, &mut Vec::new())?;
                if indexes == [0] {
                    self.read.lock().insert(id, (desc.clone(), schema.clone()));
                }
                (desc, schema)
            }
        };
        let msg = DynamicMessage::decode(desc, rest).map_err(|e| {
            Error::data(format!(
                "Failed to deserialize Protobuf data for topic {topic}: {e}"
            ))
        })?;
        let value = from_message(&schema, &msg)?;
        Ok((Some(schema), value))
    }
}

// ---------------------------------------------------------------- Connect → .proto

fn camel(name: &str) -> String {
    name.split(['_', '.', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The `.proto` text of a STRUCT schema, and its message's full name.
pub fn to_proto(schema: &Schema) -> Result<(String, String)> {
    if schema.ty != Type::Struct {
        return Err(Error::data("ProtobufConverter needs a STRUCT schema"));
    }
    let (package, name) = match schema.name.as_deref() {
        Some(n) => match n.rfind('.') {
            Some(i) => (Some(&n[..i]), camel(&n[i + 1..])),
            None => (None, camel(n)),
        },
        None => (None, format!("{DEFAULT_NAME}1")),
    };
    let mut out = String::from("syntax = \"proto3\";\n");
    if let Some(p) = package {
        out.push_str(&format!("package {p};\n"));
    }
    out.push('\n');
    message_text(schema, &name, 0, &mut out)?;
    let full = match package {
        Some(p) => format!("{p}.{name}"),
        None => name,
    };
    Ok((out, full))
}

fn message_text(s: &Schema, name: &str, depth: usize, out: &mut String) -> Result<()> {
    let pad = "  ".repeat(depth);
    out.push_str(&format!("{pad}message {name} {{\n"));
    let mut nested = Vec::new();
    for f in &s.fields {
        let (label, ty) = match f.schema.ty {
            Type::Array => {
                let item = f.schema.value_schema.as_ref().ok_or_else(|| no(&f.name))?;
                ("repeated ", type_name(item, &f.name, &mut nested)?)
            }
            Type::Map => {
                let k = f.schema.key_schema.as_ref().ok_or_else(|| no(&f.name))?;
                let v = f.schema.value_schema.as_ref().ok_or_else(|| no(&f.name))?;
                if !matches!(
                    k.ty,
                    Type::Int8
                        | Type::Int16
                        | Type::Int32
                        | Type::Int64
                        | Type::Boolean
                        | Type::String
                ) {
                    return Err(Error::data(format!(
                        "Protobuf map keys cannot be {} (field {})",
                        k.ty, f.name
                    )));
                }
                let kt = type_name(k, &f.name, &mut nested)?;
                let vt = type_name(v, &f.name, &mut nested)?;
                ("", format!("map<{kt}, {vt}>"))
            }
            Type::Struct => ("", type_name(&f.schema, &f.name, &mut nested)?),
            _ if f.schema.optional => ("optional ", type_name(&f.schema, &f.name, &mut nested)?),
            _ => ("", type_name(&f.schema, &f.name, &mut nested)?),
        };
        out.push_str(&format!(
            "{pad}  {label}{ty} {} = {};\n",
            f.name,
            f.index + 1
        ));
    }
    for (n, st) in nested {
        message_text(&st, &n, depth + 1, out)?;
    }
    out.push_str(&format!("{pad}}}\n"));
    Ok(())
}

fn no(field: &str) -> Error {
    Error::data(format!("Invalid schema for field {field}"))
}

/// A field or element type; nested structs are added to `nested`.
fn type_name(s: &SchemaRef, field: &str, nested: &mut Vec<(String, SchemaRef)>) -> Result<String> {
    Ok(match s.ty {
        Type::Int8 | Type::Int16 | Type::Int32 => "int32".into(),
        Type::Int64 => "int64".into(),
        Type::Float32 => "float".into(),
        Type::Float64 => "double".into(),
        Type::Boolean => "bool".into(),
        Type::String => "string".into(),
        Type::Bytes => "bytes".into(),
        Type::Struct => {
            let base = match s.name.as_deref() {
                Some(n) => camel(n.rsplit('.').next().unwrap_or(n)),
                None => camel(field),
            };
            if let Some((n, _)) = nested.iter().find(|(_, st)| st == s) {
                return Ok(n.clone());
            }
            let mut name = base.clone();
            let mut i = 2;
            while nested.iter().any(|(n, _)| *n == name) {
                name = format!("{base}{i}");
                i += 1;
            }
            nested.push((name.clone(), s.clone()));
            name
        }
        Type::Array | Type::Map => {
            return Err(Error::data(format!(
                "Nested {} in field {field} has no Protobuf form",
                s.ty
            )))
        }
    })
}

// ---------------------------------------------------------------- descriptor → Connect

fn kind_schema(kind: &Kind, stack: &mut Vec<String>) -> Result<SchemaRef> {
    Ok(match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Schema::of(Type::Int32),
        Kind::Int64
        | Kind::Sint64
        | Kind::Sfixed64
        | Kind::Uint32
        | Kind::Fixed32
        | Kind::Uint64
        | Kind::Fixed64 => Schema::of(Type::Int64),
        Kind::Float => Schema::of(Type::Float32),
        Kind::Double => Schema::of(Type::Float64),
        Kind::Bool => Schema::of(Type::Boolean),
        Kind::String | Kind::Enum(_) => Schema::of(Type::String),
        Kind::Bytes => Schema::of(Type::Bytes),
        Kind::Message(m) => message_schema(m, stack)?,
    })
}

/// The Connect STRUCT of a message.
pub fn message_schema(desc: &MessageDescriptor, stack: &mut Vec<String>) -> Result<SchemaRef> {
    let full = desc.full_name().to_string();
    if stack.contains(&full) {
        return Err(Error::data(format!(
            "Recursive Protobuf message {full} is not supported"
        )));
    }
    stack.push(full.clone());
    let mut b = SchemaBuilder::struct_();
    let simple = full.rsplit('.').next().unwrap_or(&full);
    if !simple.starts_with(DEFAULT_NAME) {
        b = b.name(&full);
    }
    for fd in desc.fields() {
        let s = if fd.is_map() {
            let Kind::Message(entry) = fd.kind() else {
                return Err(no(fd.name()));
            };
            let k = kind_schema(&entry.map_entry_key_field().kind(), stack)?;
            let v = kind_schema(&entry.map_entry_value_field().kind(), stack)?;
            SchemaBuilder::map(k, v).build()
        } else if fd.is_list() {
            SchemaBuilder::array(kind_schema(&fd.kind(), stack)?).build()
        } else {
            let s = kind_schema(&fd.kind(), stack)?;
            SchemaBuilder::from_schema(&s)
                .set_optional(fd.supports_presence())
                .build()
        };
        b = b.field(fd.name(), s);
    }
    stack.pop();
    Ok(b.build())
}

// ---------------------------------------------------------------- values

fn to_message(desc: &MessageDescriptor, st: &Struct) -> Result<DynamicMessage> {
    let mut msg = DynamicMessage::new(desc.clone());
    for fd in desc.fields() {
        let Some(v) = st.get(fd.name()).filter(|v| !v.is_null()) else {
            continue;
        };
        let pb = field_value(&fd, v)?;
        msg.try_set_field(&fd, pb)
            .map_err(|e| Error::data(format!("Field {}: {e}", fd.name())))?;
    }
    Ok(msg)
}

fn field_value(fd: &FieldDescriptor, v: &Value) -> Result<Pb> {
    let wrong = || Error::data(format!("Invalid value {v} for field {}", fd.name()));
    if fd.is_map() {
        let Kind::Message(entry) = fd.kind() else {
            return Err(wrong());
        };
        let (kk, vk) = (
            entry.map_entry_key_field().kind(),
            entry.map_entry_value_field().kind(),
        );
        let Value::Map(entries) = v else {
            return Err(wrong());
        };
        let mut out = HashMap::new();
        for (k, ev) in entries {
            let key = match (kind_value(&kk, k)?, &kk) {
                (Pb::I32(i), _) => MapKey::I32(i),
                (Pb::I64(i), _) => MapKey::I64(i),
                (Pb::U32(i), _) => MapKey::U32(i),
                (Pb::U64(i), _) => MapKey::U64(i),
                (Pb::Bool(b), _) => MapKey::Bool(b),
                (Pb::String(s), _) => MapKey::String(s),
                _ => return Err(wrong()),
            };
            out.insert(key, kind_value(&vk, ev)?);
        }
        return Ok(Pb::Map(out));
    }
    if fd.is_list() {
        let Value::Array(items) = v else {
            return Err(wrong());
        };
        let kind = fd.kind();
        return items
            .iter()
            .map(|i| kind_value(&kind, i))
            .collect::<Result<Vec<_>>>()
            .map(Pb::List);
    }
    kind_value(&fd.kind(), v)
}

fn kind_value(kind: &Kind, v: &Value) -> Result<Pb> {
    let wrong = || Error::data(format!("Invalid value {v} for Protobuf {kind:?}"));
    let int = || {
        v.as_i64()
            .filter(|_| !matches!(v, Value::Float32(_) | Value::Float64(_)))
    };
    Ok(match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Pb::I32(int().ok_or_else(wrong)? as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Pb::I64(int().ok_or_else(wrong)?),
        Kind::Uint32 | Kind::Fixed32 => Pb::U32(int().ok_or_else(wrong)? as u32),
        Kind::Uint64 | Kind::Fixed64 => Pb::U64(int().ok_or_else(wrong)? as u64),
        Kind::Float => Pb::F32(v.as_f64().ok_or_else(wrong)? as f32),
        Kind::Double => Pb::F64(v.as_f64().ok_or_else(wrong)?),
        Kind::Bool => match v {
            Value::Boolean(b) => Pb::Bool(*b),
            _ => return Err(wrong()),
        },
        Kind::String => Pb::String(v.as_str().ok_or_else(wrong)?.to_string()),
        Kind::Bytes => match v {
            Value::Bytes(b) => Pb::Bytes(b.clone().into()),
            _ => return Err(wrong()),
        },
        Kind::Enum(e) => {
            let name = v.as_str().ok_or_else(wrong)?;
            Pb::EnumNumber(e.get_value_by_name(name).ok_or_else(wrong)?.number())
        }
        Kind::Message(m) => match v {
            Value::Struct(st) => Pb::Message(to_message(m, st)?),
            _ => return Err(wrong()),
        },
    })
}

fn from_message(schema: &SchemaRef, msg: &DynamicMessage) -> Result<Value> {
    let desc = msg.descriptor();
    let mut st = Struct::new(schema.clone());
    for f in &schema.fields {
        let Some(fd) = desc.get_field_by_name(&f.name) else {
            continue;
        };
        if fd.supports_presence() && !msg.has_field(&fd) {
            continue;
        }
        let v = msg.get_field(&fd);
        st.values[f.index] = from_pb(&f.schema, &fd.kind(), &v)?;
    }
    Ok(Value::Struct(st))
}

fn from_pb(s: &SchemaRef, kind: &Kind, v: &Pb) -> Result<Value> {
    let bad = || Error::data(format!("Unexpected Protobuf value {v:?} for a {}", s.ty));
    Ok(match v {
        Pb::Bool(b) => Value::Boolean(*b),
        Pb::I32(i) => Value::Int32(*i),
        Pb::I64(i) => Value::Int64(*i),
        Pb::U32(i) => Value::Int64(i64::from(*i)),
        Pb::U64(i) => Value::Int64(*i as i64),
        Pb::F32(f) => Value::Float32(*f),
        Pb::F64(f) => Value::Float64(*f),
        Pb::String(t) => Value::String(t.clone()),
        Pb::Bytes(b) => Value::Bytes(b.to_vec()),
        Pb::EnumNumber(n) => match kind {
            Kind::Enum(e) => Value::String(
                e.get_value(*n)
                    .map(|ev| ev.name().to_string())
                    .unwrap_or_else(|| n.to_string()),
            ),
            _ => return Err(bad()),
        },
        Pb::Message(m) => from_message(s, m)?,
        Pb::List(items) => {
            let item = s.value_schema.as_ref().ok_or_else(bad)?;
            Value::Array(
                items
                    .iter()
                    .map(|i| from_pb(item, kind, i))
                    .collect::<Result<_>>()?,
            )
        }
        Pb::Map(entries) => {
            let Kind::Message(entry) = kind else {
                return Err(bad());
            };
            let (ks, vs) = match (&s.key_schema, &s.value_schema) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(bad()),
            };
            let vk = entry.map_entry_value_field().kind();
            let mut out = Vec::with_capacity(entries.len());
            for (k, ev) in entries {
                let key = match (k, ks.ty) {
                    (MapKey::Bool(b), _) => Value::Boolean(*b),
                    (MapKey::I32(i), _) => Value::Int32(*i),
                    (MapKey::I64(i), _) => Value::Int64(*i),
                    (MapKey::U32(i), _) => Value::Int64(i64::from(*i)),
                    (MapKey::U64(i), _) => Value::Int64(*i as i64),
                    (MapKey::String(t), _) => Value::String(t.clone()),
                };
                out.push((key, from_pb(vs, &vk, ev)?));
            }
            // HashMap order is arbitrary: sort by key text for a stable result.
            out.sort_by_key(|(k, _)| k.to_string());
            Value::Map(out)
        }
    })
}
