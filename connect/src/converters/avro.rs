//! `io.confluent.connect.avro.AvroConverter`: Connect data as Avro in
//! Confluent's wire format (magic byte 0, the schema id, the Avro datum).
//!
//! Schemas map as Confluent's `AvroData` maps them:
//!
//! - INT8/INT16 are `int` with `connect.type` `int8`/`int16`; INT32 `int`,
//!   INT64 `long`, FLOAT32 `float`, FLOAT64 `double`, BOOLEAN, STRING, BYTES.
//! - Decimal is `bytes` with `logicalType: decimal`, `scale` and `precision`
//!   (parameter `connect.decimal.precision`, default 64); Date `int`/`date`,
//!   Time `int`/`time-millis`, Timestamp `long`/`timestamp-millis`.
//! - ARRAY is `array`; MAP with STRING keys is `map`, other keys an array of
//!   `io.confluent.connect.avro.MapEntry` records (`key`, `value`).
//! - STRUCT is a `record` named as the schema, `io.confluent.connect.avro.ConnectDefault`
//!   (then `ConnectDefault2`, ...) when unnamed; the struct
//!   `io.confluent.connect.avro.Union` is an Avro union.
//! - An optional schema is `["null", T]` (`[T, "null"]` when it has a non-null
//!   default); optional fields default to null.
//! - With `connect.meta.data=true`: `connect.name`, `connect.doc`,
//!   `connect.version`, `connect.parameters`, `connect.default`, `connect.type`.
//!
//! On read: the reverse, plus Avro enums (STRING with the
//! `io.confluent.connect.avro.Enum` parameters), `fixed` (BYTES with
//! `connect.fixed.size`) and general unions (the Union struct).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Map, Value as Json};
use strom_schema_registry::codec;
use strom_schema_registry::schema::avro::{self as av, AvroSchema, NamedKind, Primitive};
use strom_schema_registry::schema::SchemaType;

use super::avro_value::{json_to_connect, to_avro_value};
use super::registry::{self, Registry, SchemaCache};
use super::Converter;
use crate::config::def::{ConfigKey, ConfigType, Default, Importance};
use crate::config::{ConfigDef, Props, Width};
use crate::data::schema::logical;
use crate::data::{Schema, SchemaBuilder, SchemaRef, Type, Value};
use crate::error::{Error, Result};

pub const NAMESPACE: &str = "io.confluent.connect.avro";
pub const DEFAULT_NAME: &str = "ConnectDefault";
pub const UNION: &str = "io.confluent.connect.avro.Union";
pub const ENUM: &str = "io.confluent.connect.avro.Enum";
pub const MAP_ENTRY: &str = "MapEntry";
pub const PRECISION: &str = "connect.decimal.precision";
pub const FIXED_SIZE: &str = "connect.fixed.size";
const DEFAULT_PRECISION: i64 = 64;

pub fn config_def() -> ConfigDef {
    let mut def = registry::config_def();
    let key = |name: &str, default: &str, doc: &str, order| {
        ConfigKey::new(
            name,
            ConfigType::Boolean,
            Default::Value(default.into()),
            Importance::Low,
            doc,
        )
        .group("Avro", order, Width::Medium, name)
    };
    def.add(key(
        "enhanced.avro.schema.support",
        "false",
        "Keep Avro enum symbols and record namespaces when converting.",
        0,
    ));
    def.add(key(
        "connect.meta.data",
        "true",
        "Add Connect's metadata (connect.name, connect.version, ...) to Avro schemas.",
        1,
    ));
    def
}

/// Options of the schema mapping (`AvroDataConfig`).
#[derive(Clone, Copy, Debug)]
pub struct AvroData {
    pub connect_meta_data: bool,
}

impl std::default::Default for AvroData {
    fn default() -> Self {
        AvroData {
            connect_meta_data: true,
        }
    }
}

/// A writer schema ready for use: the Avro JSON text, its parse.
struct Prepared {
    text: String,
    record_name: Option<String>,
}

pub struct AvroConverter {
    registry: Registry,
    data: AvroData,
    written: SchemaCache<Arc<Prepared>>,
    read: Mutex<HashMap<i32, SchemaRef>>,
}

impl AvroConverter {
    pub fn configure(props: &Props, is_key: bool) -> Result<Self> {
        let parsed = config_def().parse(props).map_err(Error::Config)?;
        if parsed.bool("enhanced.avro.schema.support") {
            // Not built: refuse rather than write schemas without it.
            return Err(Error::Config(
                "enhanced.avro.schema.support=true is not supported by Strom's AvroConverter yet"
                    .to_string(),
            ));
        }
        Ok(AvroConverter {
            registry: Registry::configure(props, is_key, SchemaType::Avro)?,
            data: AvroData {
                connect_meta_data: parsed.bool("connect.meta.data"),
            },
            written: SchemaCache::new(),
            read: Mutex::new(HashMap::new()),
        })
    }

    fn prepared(&self, schema: &SchemaRef) -> Result<Arc<Prepared>> {
        self.written.get_or_try(schema, || self.prepare(schema))
    }

    fn prepare(&self, schema: &SchemaRef) -> Result<Arc<Prepared>> {
        let avro = self.data.from_connect_schema(schema)?;
        let record_name = match &avro {
            Json::Object(o) if o.get("type") == Some(&json!("record")) => o
                .get("name")
                .and_then(Json::as_str)
                .map(|n| match o.get("namespace").and_then(Json::as_str) {
                    Some(ns) if !n.contains('.') => format!("{ns}.{n}"),
                    _ => n.to_string(),
                }),
            _ => None,
        };
        Ok(Arc::new(Prepared {
            text: avro.to_string(),
            record_name,
        }))
    }
}

impl Converter for AvroConverter {
    fn to_bytes(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if value.is_null() {
            return Ok(None);
        }
        let schema = registry::schema_or_inferred(schema, value, "AvroConverter")?;
        let prepared = self.prepared(&schema)?;
        let w = self
            .registry
            .for_write(topic, &prepared.text, prepared.record_name.as_deref())?;
        let avro = w.schema.as_avro().expect("an Avro schema");
        let datum = to_avro_value(avro, avro.root(), value).map_err(|e| {
            Error::data(format!("Failed to convert to Avro for topic {topic}: {e}"))
        })?;
        codec::encode(&w.schema, w.id, &datum)
            .map(Some)
            .map_err(|e| {
                Error::data(format!(
                    "Failed to serialize Avro data from topic {topic}: {e}"
                ))
            })
    }

    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let Some(data) = data else {
            return Ok((None, Value::Null));
        };
        let (id, payload) = registry::split(data)?;
        let parsed = self.registry.for_read(id)?;
        let avro = parsed.as_avro().expect("an Avro schema");
        let cached = self.read.lock().get(&id).cloned();
        let schema = match cached {
            Some(s) => s,
            None => {
                let s = self.data.to_connect_schema(avro)?;
                self.read.lock().insert(id, s.clone());
                s
            }
        };
        let json = codec::avro::decode(avro, payload).map_err(|e| {
            Error::data(format!(
                "Failed to deserialize data for topic {topic} to Avro: {e}"
            ))
        })?;
        let value = json_to_connect(avro, avro.root(), &schema, &json)?;
        Ok((Some(schema), value))
    }
}

// ---------------------------------------------------------------- Connect → Avro schema

struct ToAvro {
    data: AvroData,
    defaults: usize,
    entries: usize,
    /// Records already defined (Avro defines a name once), by full name.
    defined: BTreeMap<String, Json>,
}

impl AvroData {
    /// The Avro schema (JSON) of a Connect schema.
    pub fn from_connect_schema(&self, schema: &Schema) -> Result<Json> {
        let mut t = ToAvro {
            data: *self,
            defaults: 0,
            entries: 0,
            defined: BTreeMap::new(),
        };
        t.schema(schema, true)
    }

    /// The Connect schema of an Avro schema.
    pub fn to_connect_schema(&self, schema: &AvroSchema) -> Result<SchemaRef> {
        let mut stack = Vec::new();
        to_connect_schema(schema, schema.root(), &mut stack, None)
    }
}

fn split_name(full: &str) -> (Option<&str>, &str) {
    match full.rfind('.') {
        Some(i) => (Some(&full[..i]), &full[i + 1..]),
        None => (None, full),
    }
}

impl ToAvro {
    /// `with_optional`: wrap an optional schema in its null union.
    fn schema(&mut self, s: &Schema, with_optional: bool) -> Result<Json> {
        let base = self.base(s)?;
        if !(with_optional && s.optional) {
            return Ok(base);
        }
        Ok(match &s.default {
            Some(d) if !d.is_null() => json!([base, "null"]),
            _ => json!(["null", base]),
        })
    }

    fn meta(&self, s: &Schema, mut base: Json, is_record: bool) -> Result<Json> {
        let mut props = Map::new();
        if self.data.connect_meta_data {
            if let Some(n) = &s.name {
                props.insert("connect.name".into(), json!(n));
            }
            if let (Some(d), false) = (&s.doc, is_record) {
                props.insert("connect.doc".into(), json!(d));
            }
            if let Some(v) = s.version {
                props.insert("connect.version".into(), json!(v));
            }
            if !s.parameters.is_empty() {
                props.insert("connect.parameters".into(), json!(s.parameters));
            }
            if let Some(d) = s.default.as_ref().filter(|d| !d.is_null()) {
                props.insert("connect.default".into(), default_json(s, d)?);
            }
        }
        if props.is_empty() {
            return Ok(base);
        }
        if let Json::String(t) = base {
            base = json!({ "type": t });
        }
        if let Json::Object(o) = &mut base {
            o.extend(props);
        }
        Ok(base)
    }

    fn base(&mut self, s: &Schema) -> Result<Json> {
        let name = s.name.as_deref();
        let meta = self.data.connect_meta_data;
        let out = match s.ty {
            Type::Int8 | Type::Int16 if meta => {
                json!({"type": "int", "connect.type": if s.ty == Type::Int8 { "int8" } else { "int16" }})
            }
            Type::Int8 | Type::Int16 => json!("int"),
            Type::Int32 => match name {
                Some(logical::DATE) => json!({"type": "int", "logicalType": "date"}),
                Some(logical::TIME) => json!({"type": "int", "logicalType": "time-millis"}),
                _ => json!("int"),
            },
            Type::Int64 => match name {
                Some(logical::TIMESTAMP) => {
                    json!({"type": "long", "logicalType": "timestamp-millis"})
                }
                _ => json!("long"),
            },
            Type::Float32 => json!("float"),
            Type::Float64 => json!("double"),
            Type::Boolean => json!("boolean"),
            Type::String => match (name, s.parameters.get(ENUM)) {
                (Some(n), Some(_)) => {
                    let prefix = format!("{ENUM}.");
                    let symbols: Vec<&str> = s
                        .parameters
                        .keys()
                        .filter_map(|k| k.strip_prefix(&prefix))
                        .collect();
                    let (ns, simple) = split_name(n);
                    let mut e = json!({"type": "enum", "name": simple, "symbols": symbols});
                    if let Some(ns) = ns {
                        e["namespace"] = json!(ns);
                    }
                    return self.named(n, e, s);
                }
                _ => json!("string"),
            },
            Type::Bytes => match (name, s.parameters.get(FIXED_SIZE)) {
                (Some(logical::DECIMAL), _) => {
                    let precision = s
                        .parameters
                        .get(PRECISION)
                        .and_then(|p| p.parse::<i64>().ok())
                        .unwrap_or(DEFAULT_PRECISION);
                    json!({"type": "bytes", "scale": logical::scale(s), "precision": precision,
                           "logicalType": "decimal"})
                }
                (Some(n), Some(size)) => {
                    let size: u64 = size
                        .parse()
                        .map_err(|_| Error::data(format!("Invalid {FIXED_SIZE}: {size}")))?;
                    let (ns, simple) = split_name(n);
                    let mut f = json!({"type": "fixed", "name": simple, "size": size});
                    if let Some(ns) = ns {
                        f["namespace"] = json!(ns);
                    }
                    return self.named(n, f, s);
                }
                _ => json!("bytes"),
            },
            Type::Array => {
                let items = s.value_schema.as_ref().ok_or_else(|| missing("items"))?;
                json!({"type": "array", "items": self.schema(items, true)?})
            }
            Type::Map => {
                let k = s.key_schema.as_ref().ok_or_else(|| missing("map keys"))?;
                let v = s
                    .value_schema
                    .as_ref()
                    .ok_or_else(|| missing("map values"))?;
                if k.ty == Type::String && !k.optional {
                    json!({"type": "map", "values": self.schema(v, true)?})
                } else {
                    self.entries += 1;
                    let entry = if self.entries == 1 {
                        MAP_ENTRY.to_string()
                    } else {
                        format!("{MAP_ENTRY}{}", self.entries)
                    };
                    json!({"type": "array", "items": {
                    "type": "record", "name": entry, "namespace": NAMESPACE,
                    "fields": [
                        {"name": "key", "type": self.schema(k, true)?},
                        {"name": "value", "type": self.schema(v, true)?},
                    ]}})
                }
            }
            Type::Struct if name == Some(UNION) => {
                let branches = s
                    .fields
                    .iter()
                    .map(|f| self.schema(&f.schema, false))
                    .collect::<Result<Vec<_>>>()?;
                return Ok(Json::Array(branches));
            }
            Type::Struct => return self.record(s),
        };
        self.meta(s, out, false)
    }

    /// A named type, or a reference to it when defined already.
    fn named(&mut self, full: &str, def: Json, s: &Schema) -> Result<Json> {
        if self.defined.contains_key(full) {
            return Ok(json!(full));
        }
        self.defined.insert(full.to_string(), Json::Null);
        self.meta(s, def, false)
    }

    fn record(&mut self, s: &Schema) -> Result<Json> {
        let full = match &s.name {
            Some(n) => n.clone(),
            None => {
                self.defaults += 1;
                if self.defaults == 1 {
                    format!("{NAMESPACE}.{DEFAULT_NAME}")
                } else {
                    format!("{NAMESPACE}.{DEFAULT_NAME}{}", self.defaults)
                }
            }
        };
        if self.defined.contains_key(&full) {
            return Ok(json!(full));
        }
        self.defined.insert(full.clone(), Json::Null);
        let (ns, simple) = split_name(&full);
        let mut fields = Vec::with_capacity(s.fields.len());
        for f in &s.fields {
            let mut field = json!({"name": f.name, "type": self.schema(&f.schema, true)?});
            match &f.schema.default {
                Some(d) if !d.is_null() => field["default"] = default_json(&f.schema, d)?,
                _ if f.schema.optional => field["default"] = Json::Null,
                _ => {}
            }
            fields.push(field);
        }
        let mut r = json!({"type": "record", "name": simple, "fields": fields});
        if let Some(ns) = ns {
            r["namespace"] = json!(ns);
        }
        if let Some(d) = &s.doc {
            r["doc"] = json!(d);
        }
        self.meta(s, r, true)
    }
}

fn missing(what: &str) -> Error {
    Error::data(format!("Invalid schema: no {what}"))
}

/// A default value in Avro's JSON form (bytes as ISO-8859-1 strings).
fn default_json(s: &Schema, v: &Value) -> Result<Json> {
    Ok(match v {
        Value::Bytes(b) => Json::String(b.iter().map(|&c| char::from(c)).collect()),
        Value::Struct(st) => {
            let mut o = Map::new();
            for f in &st.schema.fields {
                o.insert(
                    f.name.clone(),
                    default_json(&f.schema, &st.values[f.index])?,
                );
            }
            Json::Object(o)
        }
        Value::Array(items) => {
            let item = s.value_schema.as_ref().ok_or_else(|| missing("items"))?;
            Json::Array(
                items
                    .iter()
                    .map(|i| default_json(item, i))
                    .collect::<Result<_>>()?,
            )
        }
        other => other.to_json(),
    })
}

// ---------------------------------------------------------------- Avro → Connect schema

fn props_of<'a>(schema: &'a AvroSchema, node: &'a av::Schema) -> &'a [(String, JsonProp)] {
    match node {
        av::Schema::Primitive { props, .. }
        | av::Schema::Array { props, .. }
        | av::Schema::Map { props, .. } => props,
        av::Schema::Named(i) => &schema.named(*i).props,
        av::Schema::Union(_) => &[],
    }
}

type JsonProp = strom_schema_registry::schema::jsonvalue::JsonValue;

fn prop(props: &[(String, JsonProp)], key: &str) -> Option<Json> {
    props
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_serde())
}

fn to_connect_schema(
    schema: &AvroSchema,
    node: &av::Schema,
    stack: &mut Vec<usize>,
    field_default: Option<&Json>,
) -> Result<SchemaRef> {
    let props = props_of(schema, node);
    let logical_type = prop(props, "logicalType");
    let logical_type = logical_type.as_ref().and_then(Json::as_str);
    let mut b = match node {
        av::Schema::Union(branches) => {
            let non_null: Vec<&av::Schema> = branches
                .iter()
                .filter(|b| {
                    !matches!(
                        b,
                        av::Schema::Primitive {
                            kind: Primitive::Null,
                            ..
                        }
                    )
                })
                .collect();
            let nullable = non_null.len() < branches.len();
            if non_null.len() == 1 {
                let inner = to_connect_schema(schema, non_null[0], stack, field_default)?;
                return Ok(SchemaBuilder::from_schema(&inner)
                    .set_optional(nullable)
                    .build());
            }
            let mut u = SchemaBuilder::struct_().name(UNION);
            for br in non_null {
                let s = to_connect_schema(schema, br, stack, None)?;
                let s = SchemaBuilder::from_schema(&s).optional().build();
                u = u.field(&branch_name(schema, br), s);
            }
            u.set_optional(nullable)
        }
        av::Schema::Primitive { kind, .. } => match (kind, logical_type) {
            (Primitive::Int, Some("date")) => logical::date(),
            (Primitive::Int, Some("time-millis")) => logical::time(),
            (Primitive::Long, Some("timestamp-millis")) => logical::timestamp(),
            (Primitive::Bytes, Some("decimal")) => {
                let scale = prop(props, "scale").and_then(|v| v.as_i64()).unwrap_or(0);
                let mut d = logical::decimal(scale as i32);
                if let Some(p) = prop(props, "precision").and_then(|v| v.as_i64()) {
                    d = d.parameter(PRECISION, &p.to_string());
                }
                d
            }
            (Primitive::Int, _) => {
                match prop(props, "connect.type").as_ref().and_then(Json::as_str) {
                    Some("int8") => SchemaBuilder::new(Type::Int8),
                    Some("int16") => SchemaBuilder::new(Type::Int16),
                    _ => SchemaBuilder::new(Type::Int32),
                }
            }
            (Primitive::Long, _) => SchemaBuilder::new(Type::Int64),
            (Primitive::Float, _) => SchemaBuilder::new(Type::Float32),
            (Primitive::Double, _) => SchemaBuilder::new(Type::Float64),
            (Primitive::Boolean, _) => SchemaBuilder::new(Type::Boolean),
            (Primitive::String, _) => SchemaBuilder::new(Type::String),
            (Primitive::Bytes, _) => SchemaBuilder::new(Type::Bytes),
            (Primitive::Null, _) => {
                return Err(Error::data("Avro null schemas have no Connect equivalent"))
            }
        },
        av::Schema::Array { items, .. } => match map_entry(schema, items) {
            Some((k, v)) => SchemaBuilder::map(
                to_connect_schema(schema, k, stack, None)?,
                to_connect_schema(schema, v, stack, None)?,
            ),
            None => SchemaBuilder::array(to_connect_schema(schema, items, stack, None)?),
        },
        av::Schema::Map { values, .. } => SchemaBuilder::map(
            Schema::of(Type::String),
            to_connect_schema(schema, values, stack, None)?,
        ),
        av::Schema::Named(i) => {
            if stack.contains(i) {
                return Err(Error::data("Cyclic Avro schemas are not supported"));
            }
            let def = schema.named(*i);
            let full = def.name.full_name();
            match &def.kind {
                NamedKind::Record { fields, .. } => {
                    stack.push(*i);
                    let mut r = SchemaBuilder::struct_();
                    if !full.starts_with(&format!("{NAMESPACE}.{DEFAULT_NAME}")) {
                        r = r.name(&full);
                    }
                    if let Some(d) = &def.doc {
                        r = r.doc(d);
                    }
                    for f in fields {
                        let dflt = f.default.as_ref().map(JsonProp::to_serde);
                        let fs = to_connect_schema(schema, &f.schema, stack, dflt.as_ref())?;
                        r = r.field(&f.name, fs);
                    }
                    stack.pop();
                    r
                }
                NamedKind::Enum { symbols, .. } => {
                    let mut e = SchemaBuilder::new(Type::String)
                        .name(&full)
                        .parameter(ENUM, &full);
                    for s in symbols {
                        e = e.parameter(&format!("{ENUM}.{s}"), s);
                    }
                    e
                }
                NamedKind::Fixed { size } => SchemaBuilder::new(Type::Bytes)
                    .name(&full)
                    .parameter(FIXED_SIZE, &size.to_string()),
            }
        }
    };
    // Connect's metadata overrides what the Avro type implies.
    if let Some(n) = prop(props, "connect.name").as_ref().and_then(Json::as_str) {
        b = b.name(n);
    }
    if let Some(d) = prop(props, "connect.doc").as_ref().and_then(Json::as_str) {
        b = b.doc(d);
    }
    if let Some(v) = prop(props, "connect.version").and_then(|v| v.as_i64()) {
        b = b.version(v as i32);
    }
    if let Some(Json::Object(params)) = prop(props, "connect.parameters") {
        for (k, v) in params {
            b = b.parameter(&k, v.as_str().unwrap_or_default());
        }
    }
    let built = b.build();
    let default = prop(props, "connect.default").or_else(|| field_default.cloned());
    match default.filter(|d| !d.is_null()) {
        Some(d) => {
            let v = default_to_connect(&built, &d)?;
            Ok(SchemaBuilder::from_schema(&built).default_value(v).build())
        }
        None => Ok(built),
    }
}

/// The key and value schemas of an `io.confluent.connect.avro.MapEntry` record.
pub(crate) fn map_entry<'a>(
    schema: &'a AvroSchema,
    items: &'a av::Schema,
) -> Option<(&'a av::Schema, &'a av::Schema)> {
    let av::Schema::Named(i) = items else {
        return None;
    };
    let def = schema.named(*i);
    let NamedKind::Record { fields, .. } = &def.kind else {
        return None;
    };
    let is_entry = def.name.namespace.as_deref() == Some(NAMESPACE)
        && def.name.name.starts_with(MAP_ENTRY)
        && fields.len() == 2
        && fields[0].name == "key"
        && fields[1].name == "value";
    is_entry.then(|| (&fields[0].schema, &fields[1].schema))
}

/// The name of a union branch in Avro's JSON encoding (and the Union struct's field).
pub(crate) fn branch_name(schema: &AvroSchema, node: &av::Schema) -> String {
    match node {
        av::Schema::Primitive { kind, .. } => match kind {
            Primitive::Null => "null",
            Primitive::Boolean => "boolean",
            Primitive::Int => "int",
            Primitive::Long => "long",
            Primitive::Float => "float",
            Primitive::Double => "double",
            Primitive::Bytes => "bytes",
            Primitive::String => "string",
        }
        .to_string(),
        av::Schema::Named(i) => schema.named(*i).name.full_name(),
        av::Schema::Array { .. } => "array".to_string(),
        av::Schema::Map { .. } => "map".to_string(),
        av::Schema::Union(_) => "union".to_string(),
    }
}

/// A default (Avro JSON form, no union wrapping) as a Connect value.
fn default_to_connect(s: &SchemaRef, j: &Json) -> Result<Value> {
    super::avro_value::json_value(s, j, &|_, _| None)
}
