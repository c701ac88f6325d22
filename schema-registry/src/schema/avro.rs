//! Avro schemas: parsing (Avro 1.11 rules: names, namespaces, aliases,
//! defaults), Confluent's canonical string (`Schema.toString()`), the
//! normalized form, and reader/writer compatibility per the Avro
//! specification's "Schema Resolution" — reported the way Confluent's
//! verbose compatibility check reports it (`{errorType:'…', description:'…',
//! additionalInfo:'…'}`).
//!
//! References: every named type of every referenced schema (depth-first) is
//! defined before the referring schema is parsed, so the referring schema can
//! use them by name; the canonical string prints those types by name only, as
//! Confluent's `AvroSchema.canonicalString()` does.
//!
//! Not done: default values are not checked against their field's type
//! (Confluent's registry does not either unless `avro.validate.defaults`);
//! logical types are kept as properties and not validated.

use std::collections::{HashMap, HashSet};

use super::jsonvalue::{write_json_string, JsonValue};
use super::{ResolvedReference, SchemaError};

/// Keys of a schema object that are not kept as properties.
const SCHEMA_RESERVED: &[&str] = &[
    "doc",
    "fields",
    "items",
    "name",
    "namespace",
    "size",
    "symbols",
    "values",
    "type",
    "aliases",
    "default",
];
/// Keys of a field object that are not kept as properties.
const FIELD_RESERVED: &[&str] = &["default", "doc", "name", "order", "type", "aliases"];

/// The primitive types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Primitive {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
}

impl Primitive {
    fn from_name(name: &str) -> Option<Primitive> {
        Some(match name {
            "null" => Primitive::Null,
            "boolean" => Primitive::Boolean,
            "int" => Primitive::Int,
            "long" => Primitive::Long,
            "float" => Primitive::Float,
            "double" => Primitive::Double,
            "bytes" => Primitive::Bytes,
            "string" => Primitive::String,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Primitive::Null => "null",
            Primitive::Boolean => "boolean",
            Primitive::Int => "int",
            Primitive::Long => "long",
            Primitive::Float => "float",
            Primitive::Double => "double",
            Primitive::Bytes => "bytes",
            Primitive::String => "string",
        }
    }
}

type Props = Vec<(String, JsonValue)>;

/// A schema node. Named types live in [`AvroSchema`]'s table and are referred
/// to by index, so recursive types are plain.
#[derive(Clone, Debug)]
pub enum Schema {
    Primitive { kind: Primitive, props: Props },
    Named(usize),
    Array { items: Box<Schema>, props: Props },
    Map { values: Box<Schema>, props: Props },
    Union(Vec<Schema>),
}

/// A name and its namespace (`None`: the null namespace).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name {
    pub name: String,
    pub namespace: Option<String>,
}

impl Name {
    fn new(name: &str, enclosing: Option<&str>) -> Name {
        match name.rfind('.') {
            Some(dot) => Name {
                name: name[dot + 1..].to_owned(),
                namespace: Some(name[..dot].to_owned()).filter(|s| !s.is_empty()),
            },
            None => Name {
                name: name.to_owned(),
                namespace: enclosing.filter(|s| !s.is_empty()).map(str::to_owned),
            },
        }
    }

    pub fn full_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The name as written where `space` is the current namespace.
    fn qualified(&self, space: Option<&str>) -> String {
        if self.namespace.is_none() || self.namespace.as_deref() == space {
            self.name.clone()
        } else {
            self.full_name()
        }
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub doc: Option<String>,
    pub schema: Schema,
    pub default: Option<JsonValue>,
    pub order: Option<String>,
    pub aliases: Vec<String>,
    pub props: Props,
}

#[derive(Clone, Debug)]
pub enum NamedKind {
    Record {
        fields: Vec<Field>,
        is_error: bool,
    },
    Enum {
        symbols: Vec<String>,
        default: Option<String>,
    },
    Fixed {
        size: u64,
    },
}

#[derive(Clone, Debug)]
pub struct NamedDef {
    pub name: Name,
    pub aliases: Vec<Name>,
    pub doc: Option<String>,
    pub props: Props,
    pub kind: NamedKind,
}

impl NamedDef {
    fn type_label(&self) -> &'static str {
        match self.kind {
            NamedKind::Record { .. } => "RECORD",
            NamedKind::Enum { .. } => "ENUM",
            NamedKind::Fixed { .. } => "FIXED",
        }
    }
}

/// A parsed Avro schema with the named types it can see.
#[derive(Clone, Debug)]
pub struct AvroSchema {
    root: Schema,
    named: Vec<NamedDef>,
    /// Named types below this index come from references.
    own_start: usize,
}

fn invalid(msg: impl std::fmt::Display) -> SchemaError {
    SchemaError::new(format!("Invalid schema: {msg}"))
}

impl AvroSchema {
    pub fn parse(text: &str, references: &[ResolvedReference]) -> Result<AvroSchema, SchemaError> {
        let mut parser = Parser::default();
        let mut seen = HashSet::new();
        for reference in references {
            parser.define_reference(reference, &mut seen)?;
        }
        let own_start = parser.named.len();
        let json = JsonValue::parse(text).map_err(|e| invalid(format!("Invalid JSON: {e}")))?;
        let root = parser.parse(&json, None)?;
        Ok(AvroSchema {
            root,
            named: parser.named,
            own_start,
        })
    }

    pub fn root(&self) -> &Schema {
        &self.root
    }

    pub fn named(&self, index: usize) -> &NamedDef {
        &self.named[index]
    }

    /// Confluent's canonical string: `Schema.toString()` with referenced types printed by name.
    pub fn canonical(&self) -> String {
        let mut writer = Writer::new(self, false);
        writer.write(&self.root);
        writer.out
    }

    /// The normalized form: as canonical, but every name fully qualified and no "namespace" keys.
    pub fn normalized(&self) -> String {
        let mut writer = Writer::new(self, true);
        writer.write(&self.root);
        writer.out
    }

    /// The full names of the named types this schema defines, in definition order.
    pub fn record_names(&self) -> Vec<String> {
        self.named[self.own_start..]
            .iter()
            .map(|n| n.name.full_name())
            .collect()
    }

    /// The full name of the top-level type when it is a named type.
    pub fn top_level_name(&self) -> Option<String> {
        match &self.root {
            Schema::Named(i) => Some(self.named[*i].name.full_name()),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Parser {
    named: Vec<NamedDef>,
    index: HashMap<String, usize>,
}

fn validate_name(name: &str) -> Result<(), SchemaError> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(invalid("Empty name")),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Err(invalid(format!("Illegal initial character: {name}")));
        }
        _ => {}
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
        return Err(invalid(format!("Illegal character in: {name}")));
    }
    Ok(())
}

fn string_list(v: Option<&JsonValue>, what: &str) -> Result<Vec<String>, SchemaError> {
    match v {
        None => Ok(Vec::new()),
        Some(JsonValue::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("{what} must be strings: {i}")))
            })
            .collect(),
        Some(other) => Err(invalid(format!("{what} not an array: {other}"))),
    }
}

fn optional_string(v: &JsonValue, key: &str) -> Result<Option<String>, SchemaError> {
    match v.get(key) {
        None => Ok(None),
        Some(JsonValue::String(s)) => Ok(Some(s.clone())),
        Some(JsonValue::Null) if key == "namespace" => Ok(None),
        Some(other) => Err(invalid(format!("\"{key}\" must be a string: {other}"))),
    }
}

fn props_of(v: &JsonValue, reserved: &[&str]) -> Props {
    v.as_object()
        .unwrap_or(&[])
        .iter()
        .filter(|(k, _)| !reserved.contains(&k.as_str()))
        .cloned()
        .collect()
}

impl Parser {
    fn define_reference(
        &mut self,
        reference: &ResolvedReference,
        seen: &mut HashSet<String>,
    ) -> Result<(), SchemaError> {
        for nested in &reference.references {
            self.define_reference(nested, seen)?;
        }
        // The same referenced schema may be reached through two paths; define it once.
        if !seen.insert(reference.schema.clone()) {
            return Ok(());
        }
        let json = JsonValue::parse(&reference.schema)
            .map_err(|e| invalid(format!("Invalid JSON in reference {}: {e}", reference.name)))?;
        self.parse(&json, None).map(|_| ())
    }

    fn lookup(&self, name: &str, space: Option<&str>) -> Option<usize> {
        let qualified = Name::new(name, space).full_name();
        self.index
            .get(&qualified)
            .or_else(|| self.index.get(name))
            .copied()
    }

    fn parse(&mut self, v: &JsonValue, space: Option<&str>) -> Result<Schema, SchemaError> {
        match v {
            JsonValue::String(s) => self.parse_type_name(s, space),
            JsonValue::Array(branches) => {
                let mut out = Vec::with_capacity(branches.len());
                let mut seen: HashSet<String> = HashSet::new();
                for branch in branches {
                    let schema = self.parse(branch, space)?;
                    let key = match &schema {
                        Schema::Union(_) => return Err(invalid(format!("Nested union: {v}"))),
                        Schema::Primitive { kind, .. } => kind.name().to_owned(),
                        Schema::Array { .. } => "array".to_owned(),
                        Schema::Map { .. } => "map".to_owned(),
                        Schema::Named(i) => self.named[*i].name.full_name(),
                    };
                    if !seen.insert(key.clone()) {
                        return Err(invalid(format!("Duplicate in union:{key}")));
                    }
                    out.push(schema);
                }
                Ok(Schema::Union(out))
            }
            JsonValue::Object(_) => self.parse_object(v, space),
            other => Err(invalid(format!("Schema not yet supported: {other}"))),
        }
    }

    fn parse_type_name(&self, name: &str, space: Option<&str>) -> Result<Schema, SchemaError> {
        if let Some(kind) = Primitive::from_name(name) {
            return Ok(Schema::Primitive {
                kind,
                props: Vec::new(),
            });
        }
        match self.lookup(name, space) {
            Some(i) => Ok(Schema::Named(i)),
            None => Err(invalid(format!("\"{name}\" is not a defined name"))),
        }
    }

    fn parse_object(&mut self, v: &JsonValue, space: Option<&str>) -> Result<Schema, SchemaError> {
        let ty = match v.get("type") {
            None => return Err(invalid(format!("No type: {v}"))),
            Some(JsonValue::String(t)) => t.as_str(),
            Some(nested @ (JsonValue::Object(_) | JsonValue::Array(_))) => {
                return self.parse(nested, space)
            }
            Some(other) => return Err(invalid(format!("Schema not yet supported: {other}"))),
        };
        if let Some(kind) = Primitive::from_name(ty) {
            return Ok(Schema::Primitive {
                kind,
                props: props_of(v, SCHEMA_RESERVED),
            });
        }
        match ty {
            "record" | "error" => self.parse_record(v, space, ty == "error"),
            "enum" => self.parse_enum(v, space),
            "fixed" => self.parse_fixed(v, space),
            "array" => {
                let items = v
                    .get("items")
                    .ok_or_else(|| invalid(format!("Array has no items type: {v}")))?;
                let items = self.parse(items, space)?;
                Ok(Schema::Array {
                    items: Box::new(items),
                    props: props_of(v, SCHEMA_RESERVED),
                })
            }
            "map" => {
                let values = v
                    .get("values")
                    .ok_or_else(|| invalid(format!("Map has no values type: {v}")))?;
                let values = self.parse(values, space)?;
                Ok(Schema::Map {
                    values: Box::new(values),
                    props: props_of(v, SCHEMA_RESERVED),
                })
            }
            other => self.parse_type_name(other, space),
        }
    }

    /// Reads name, namespace, doc and aliases of a named type and registers it.
    fn define(
        &mut self,
        v: &JsonValue,
        space: Option<&str>,
        kind: NamedKind,
    ) -> Result<usize, SchemaError> {
        let raw = match v.get("name") {
            Some(JsonValue::String(s)) => s.as_str(),
            _ => return Err(invalid(format!("No name in schema: {v}"))),
        };
        let namespace = optional_string(v, "namespace")?;
        let name = if raw.contains('.') {
            Name::new(raw, None)
        } else {
            match namespace {
                Some(ns) => Name::new(raw, Some(&ns)),
                None if v.get("namespace").is_some() => Name::new(raw, None),
                None => Name::new(raw, space),
            }
        };
        validate_name(&name.name)?;
        if let Some(ns) = &name.namespace {
            for part in ns.split('.') {
                validate_name(part)?;
            }
        }
        if Primitive::from_name(&name.name).is_some() && name.namespace.is_none() {
            return Err(invalid(format!(
                "Schemas may not be named after primitives: {}",
                name.name
            )));
        }
        let full = name.full_name();
        if self.index.contains_key(&full) {
            return Err(invalid(format!("Can't redefine: {full}")));
        }
        let aliases = string_list(v.get("aliases"), "aliases")?
            .iter()
            .map(|a| Name::new(a, name.namespace.as_deref()))
            .collect();
        let doc = optional_string(v, "doc")?;
        let index = self.named.len();
        self.named.push(NamedDef {
            name,
            aliases,
            doc,
            props: props_of(v, SCHEMA_RESERVED),
            kind,
        });
        self.index.insert(full, index);
        Ok(index)
    }

    fn parse_record(
        &mut self,
        v: &JsonValue,
        space: Option<&str>,
        is_error: bool,
    ) -> Result<Schema, SchemaError> {
        let index = self.define(
            v,
            space,
            NamedKind::Record {
                fields: Vec::new(),
                is_error,
            },
        )?;
        let record_space = self.named[index].name.namespace.clone();
        let record_name = self.named[index].name.full_name();
        let field_values = match v.get("fields") {
            Some(JsonValue::Array(fields)) => fields,
            _ => return Err(invalid(format!("Record has no fields: {v}"))),
        };
        let mut fields: Vec<Field> = Vec::with_capacity(field_values.len());
        for fv in field_values {
            let name = match fv.get("name") {
                Some(JsonValue::String(s)) => s.clone(),
                _ => return Err(invalid(format!("No field name: {fv}"))),
            };
            validate_name(&name)?;
            let type_value = fv
                .get("type")
                .ok_or_else(|| invalid(format!("No field type: {fv}")))?;
            let schema = self.parse(type_value, record_space.as_deref())?;
            let order = match fv.get("order") {
                None => None,
                Some(JsonValue::String(o)) if o == "ascending" => None,
                Some(JsonValue::String(o)) if o == "descending" || o == "ignore" => Some(o.clone()),
                Some(other) => {
                    return Err(invalid(format!("Invalid order {other} for field {name}")))
                }
            };
            if fields.iter().any(|f| f.name == name) {
                return Err(invalid(format!(
                    "Duplicate field {name} in record {record_name}: {fv}"
                )));
            }
            fields.push(Field {
                doc: optional_string(fv, "doc")?,
                default: fv.get("default").cloned(),
                order,
                aliases: string_list(fv.get("aliases"), "aliases")?,
                props: props_of(fv, FIELD_RESERVED),
                schema,
                name,
            });
        }
        self.named[index].kind = NamedKind::Record { fields, is_error };
        Ok(Schema::Named(index))
    }

    fn parse_enum(&mut self, v: &JsonValue, space: Option<&str>) -> Result<Schema, SchemaError> {
        let symbols = match v.get("symbols") {
            Some(JsonValue::Array(_)) => string_list(v.get("symbols"), "Enum symbols")?,
            _ => return Err(invalid(format!("Enum has no symbols: {v}"))),
        };
        let mut seen = HashSet::new();
        for s in &symbols {
            validate_name(s)?;
            if !seen.insert(s) {
                return Err(invalid(format!("Duplicate enum symbol: {s}")));
            }
        }
        let default = match v.get("default") {
            None => None,
            Some(JsonValue::String(d)) if symbols.contains(d) => Some(d.clone()),
            Some(other) => {
                return Err(invalid(format!(
                    "The Enum Default: {other} is not in the enum symbol set: [{}]",
                    symbols.join(", ")
                )))
            }
        };
        let index = self.define(v, space, NamedKind::Enum { symbols, default })?;
        Ok(Schema::Named(index))
    }

    fn parse_fixed(&mut self, v: &JsonValue, space: Option<&str>) -> Result<Schema, SchemaError> {
        let size = match v.get("size") {
            Some(JsonValue::Number(n)) => n.as_u64().filter(|s| *s <= i32::MAX as u64),
            _ => None,
        }
        .ok_or_else(|| invalid(format!("Invalid or no size: {v}")))?;
        let index = self.define(v, space, NamedKind::Fixed { size })?;
        Ok(Schema::Named(index))
    }
}

/// Writes a schema as Avro's `Schema.toJson` does.
struct Writer<'a> {
    schema: &'a AvroSchema,
    normalized: bool,
    written: Vec<bool>,
    space: Option<String>,
    out: String,
}

impl<'a> Writer<'a> {
    fn new(schema: &'a AvroSchema, normalized: bool) -> Writer<'a> {
        let mut written = vec![false; schema.named.len()];
        for w in written.iter_mut().take(schema.own_start) {
            *w = true;
        }
        Writer {
            schema,
            normalized,
            written,
            space: None,
            out: String::new(),
        }
    }

    fn key(&mut self, first: &mut bool, key: &str) {
        if !*first {
            self.out.push(',');
        }
        *first = false;
        write_json_string(&mut self.out, key);
        self.out.push(':');
    }

    fn str_field(&mut self, first: &mut bool, key: &str, value: &str) {
        self.key(first, key);
        write_json_string(&mut self.out, value);
    }

    fn props(&mut self, first: &mut bool, props: &Props) {
        for (k, v) in props {
            self.key(first, k);
            v.write_compact(&mut self.out);
        }
    }

    fn write(&mut self, schema: &Schema) {
        match schema {
            Schema::Primitive { kind, props } => {
                if props.is_empty() {
                    write_json_string(&mut self.out, kind.name());
                } else {
                    self.out.push('{');
                    let mut first = true;
                    self.str_field(&mut first, "type", kind.name());
                    self.props(&mut first, props);
                    self.out.push('}');
                }
            }
            Schema::Array { items, props } => {
                self.out.push('{');
                let mut first = true;
                self.str_field(&mut first, "type", "array");
                self.key(&mut first, "items");
                self.write(items);
                self.props(&mut first, props);
                self.out.push('}');
            }
            Schema::Map { values, props } => {
                self.out.push('{');
                let mut first = true;
                self.str_field(&mut first, "type", "map");
                self.key(&mut first, "values");
                self.write(values);
                self.props(&mut first, props);
                self.out.push('}');
            }
            Schema::Union(branches) => {
                self.out.push('[');
                for (i, b) in branches.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.write(b);
                }
                self.out.push(']');
            }
            Schema::Named(i) => self.write_named(*i),
        }
    }

    fn write_named(&mut self, index: usize) {
        let def: &'a NamedDef = &self.schema.named[index];
        if self.written[index] {
            let name = if self.normalized {
                def.name.full_name()
            } else {
                def.name.qualified(self.space.as_deref())
            };
            write_json_string(&mut self.out, &name);
            return;
        }
        self.written[index] = true;
        self.out.push('{');
        let mut first = true;
        let type_name = match &def.kind {
            NamedKind::Record { is_error: true, .. } => "error",
            NamedKind::Record { .. } => "record",
            NamedKind::Enum { .. } => "enum",
            NamedKind::Fixed { .. } => "fixed",
        };
        self.str_field(&mut first, "type", type_name);
        if self.normalized {
            self.str_field(&mut first, "name", &def.name.full_name());
        } else {
            self.str_field(&mut first, "name", &def.name.name);
            match &def.name.namespace {
                Some(ns) if Some(ns) != self.space.as_ref() => {
                    self.str_field(&mut first, "namespace", ns)
                }
                None if self.space.is_some() => self.str_field(&mut first, "namespace", ""),
                _ => {}
            }
        }
        match &def.kind {
            NamedKind::Record { fields, .. } => {
                let saved = std::mem::replace(&mut self.space, def.name.namespace.clone());
                if let Some(doc) = &def.doc {
                    self.str_field(&mut first, "doc", doc);
                }
                self.key(&mut first, "fields");
                self.out.push('[');
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.write_field(f);
                }
                self.out.push(']');
                self.props(&mut first, &def.props);
                self.aliases(&mut first, def);
                self.space = saved;
            }
            NamedKind::Enum { symbols, default } => {
                if let Some(doc) = &def.doc {
                    self.str_field(&mut first, "doc", doc);
                }
                self.key(&mut first, "symbols");
                self.out.push('[');
                for (i, s) in symbols.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    write_json_string(&mut self.out, s);
                }
                self.out.push(']');
                if let Some(d) = default {
                    self.str_field(&mut first, "default", d);
                }
                self.props(&mut first, &def.props);
                self.aliases(&mut first, def);
            }
            NamedKind::Fixed { size } => {
                if let Some(doc) = &def.doc {
                    self.str_field(&mut first, "doc", doc);
                }
                self.key(&mut first, "size");
                self.out.push_str(&size.to_string());
                self.props(&mut first, &def.props);
                self.aliases(&mut first, def);
            }
        }
        self.out.push('}');
    }

    fn aliases(&mut self, first: &mut bool, def: &NamedDef) {
        if def.aliases.is_empty() {
            return;
        }
        self.key(first, "aliases");
        self.out.push('[');
        for (i, a) in def.aliases.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let text = if self.normalized {
                a.full_name()
            } else {
                a.qualified(def.name.namespace.as_deref())
            };
            write_json_string(&mut self.out, &text);
        }
        self.out.push(']');
    }

    fn write_field(&mut self, f: &Field) {
        self.out.push('{');
        let mut first = true;
        self.str_field(&mut first, "name", &f.name);
        self.key(&mut first, "type");
        self.write(&f.schema);
        if let Some(doc) = &f.doc {
            self.str_field(&mut first, "doc", doc);
        }
        if let Some(default) = &f.default {
            self.key(&mut first, "default");
            default.write_compact(&mut self.out);
        }
        if let Some(order) = &f.order {
            self.str_field(&mut first, "order", order);
        }
        if !f.aliases.is_empty() {
            self.key(&mut first, "aliases");
            self.out.push('[');
            for (i, a) in f.aliases.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                write_json_string(&mut self.out, a);
            }
            self.out.push(']');
        }
        self.props(&mut first, &f.props);
        self.out.push('}');
    }
}

// ---------------------------------------------------------------------------
// Compatibility: Avro's reader/writer resolution rules.

/// Checks that data written with `writer` can be read with `reader`.
/// `reader_label`/`writer_label` ("new"/"old") fill Confluent's message templates.
pub fn check(
    reader: &AvroSchema,
    writer: &AvroSchema,
    reader_label: &str,
    writer_label: &str,
) -> Vec<String> {
    let mut checker = Checker {
        reader,
        writer,
        reader_label,
        writer_label,
        in_progress: HashSet::new(),
        location: Vec::new(),
        out: Vec::new(),
    };
    checker.compatible(&reader.root, &writer.root);
    let mut seen = HashSet::new();
    checker.out.retain(|m| seen.insert(m.clone()));
    checker.out
}

struct Checker<'a> {
    reader: &'a AvroSchema,
    writer: &'a AvroSchema,
    reader_label: &'a str,
    writer_label: &'a str,
    in_progress: HashSet<(usize, usize)>,
    location: Vec<String>,
    out: Vec<String>,
}

/// A schema node's type as Avro's `Schema.Type`, for messages and dispatch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Prim(Primitive),
    Record,
    Enum,
    Fixed,
    Array,
    Map,
    Union,
}

impl Kind {
    fn label(self) -> String {
        match self {
            Kind::Prim(p) => p.name().to_uppercase(),
            Kind::Record => "RECORD".into(),
            Kind::Enum => "ENUM".into(),
            Kind::Fixed => "FIXED".into(),
            Kind::Array => "ARRAY".into(),
            Kind::Map => "MAP".into(),
            Kind::Union => "UNION".into(),
        }
    }
}

fn kind_of(schema: &AvroSchema, s: &Schema) -> Kind {
    match s {
        Schema::Primitive { kind, .. } => Kind::Prim(*kind),
        Schema::Array { .. } => Kind::Array,
        Schema::Map { .. } => Kind::Map,
        Schema::Union(_) => Kind::Union,
        Schema::Named(i) => match schema.named[*i].kind {
            NamedKind::Record { .. } => Kind::Record,
            NamedKind::Enum { .. } => Kind::Enum,
            NamedKind::Fixed { .. } => Kind::Fixed,
        },
    }
}

impl Checker<'_> {
    fn path(&self) -> String {
        if self.location.is_empty() {
            "/".to_owned()
        } else {
            format!("/{}", self.location.join("/"))
        }
    }

    fn report(&mut self, error_type: &str, description: String, info: String) {
        self.out.push(format!(
            "{{errorType:'{error_type}', description:'{description}', additionalInfo:'{info}'}}"
        ));
    }

    /// Runs a check without reporting, for union branch selection.
    fn quietly(&mut self, reader: &Schema, writer: &Schema) -> bool {
        let saved_out = std::mem::take(&mut self.out);
        let saved_loc = self.location.clone();
        self.compatible(reader, writer);
        let ok = self.out.is_empty();
        self.out = saved_out;
        self.location = saved_loc;
        ok
    }

    fn type_mismatch(&mut self, reader: Kind, writer: Kind) {
        let path = self.path();
        let (rl, wl) = (self.reader_label, self.writer_label);
        self.report(
            "TYPE_MISMATCH",
            format!("The type (path '{path}') of a field in the {rl} schema does not match with the {wl} schema"),
            format!("reader type: {} not compatible with writer type: {}", reader.label(), writer.label()),
        );
    }

    fn compatible(&mut self, reader: &Schema, writer: &Schema) {
        let rk = kind_of(self.reader, reader);
        let wk = kind_of(self.writer, writer);
        if rk == wk {
            match (reader, writer) {
                (Schema::Named(r), Schema::Named(w)) => self.named(*r, *w),
                (Schema::Array { items: r, .. }, Schema::Array { items: w, .. }) => {
                    self.location.push("items".into());
                    self.compatible(r, w);
                    self.location.pop();
                }
                (Schema::Map { values: r, .. }, Schema::Map { values: w, .. }) => {
                    self.location.push("values".into());
                    self.compatible(r, w);
                    self.location.pop();
                }
                (Schema::Union(_), Schema::Union(wb)) => self.writer_union(reader, wb),
                _ => {}
            }
            return;
        }
        if let Schema::Union(wb) = writer {
            // A reader compatible with every branch of the writer's union is compatible.
            for (i, branch) in wb.iter().enumerate() {
                self.location.push(i.to_string());
                self.compatible(reader, branch);
                self.location.pop();
            }
            return;
        }
        use Primitive as P;
        let promotable = matches!(
            (rk, wk),
            (Kind::Prim(P::Long), Kind::Prim(P::Int))
                | (Kind::Prim(P::Float), Kind::Prim(P::Int | P::Long))
                | (
                    Kind::Prim(P::Double),
                    Kind::Prim(P::Int | P::Long | P::Float)
                )
                | (Kind::Prim(P::Bytes), Kind::Prim(P::String))
                | (Kind::Prim(P::String), Kind::Prim(P::Bytes))
        );
        if promotable {
            return;
        }
        if let Schema::Union(rb) = reader {
            if rb.iter().any(|b| self.quietly(b, writer)) {
                return;
            }
            let path = self.path();
            let (rl, wl) = (self.reader_label, self.writer_label);
            self.report(
                "MISSING_UNION_BRANCH",
                format!("The {rl} schema is missing a type inside a union field at path '{path}' in the {wl} schema"),
                format!("reader union lacking writer type: {}", wk.label()),
            );
            return;
        }
        self.type_mismatch(rk, wk);
    }

    fn writer_union(&mut self, reader: &Schema, writer_branches: &[Schema]) {
        for (i, branch) in writer_branches.iter().enumerate() {
            self.location.push(i.to_string());
            let ok = self.quietly(reader, branch);
            if !ok {
                let path = self.path();
                let (rl, wl) = (self.reader_label, self.writer_label);
                let wk = kind_of(self.writer, branch);
                self.report(
                    "MISSING_UNION_BRANCH",
                    format!("The {rl} schema is missing a type inside a union field at path '{path}' in the {wl} schema"),
                    format!("reader union lacking writer type: {}", wk.label()),
                );
            }
            self.location.pop();
        }
    }

    fn names_match(&self, r: &NamedDef, w: &NamedDef) -> bool {
        r.name.name == w.name.name
            || r.aliases
                .iter()
                .any(|a| a.full_name() == w.name.full_name())
    }

    fn named(&mut self, r: usize, w: usize) {
        if !self.in_progress.insert((r, w)) {
            return; // recursion: assume compatible, as Avro's memo does
        }
        let rd: &NamedDef = &self.reader.named[r];
        let wd: &NamedDef = &self.writer.named[w];
        if !self.names_match(rd, wd) {
            self.location.push("name".into());
            let path = self.path();
            self.report(
                "NAME_MISMATCH",
                format!("The name of the schema has changed (path '{path}')"),
                format!("expected: {}", wd.name.full_name()),
            );
            self.location.pop();
        }
        match (&rd.kind, &wd.kind) {
            (NamedKind::Record { fields: rf, .. }, NamedKind::Record { fields: wf, .. }) => {
                self.location.push("fields".into());
                for (i, field) in rf.iter().enumerate() {
                    self.location.push(i.to_string());
                    let writer_field = wf.iter().find(|f| f.name == field.name).or_else(|| {
                        field
                            .aliases
                            .iter()
                            .find_map(|a| wf.iter().find(|f| &f.name == a))
                    });
                    match writer_field {
                        Some(wfield) => {
                            self.location.push("type".into());
                            self.compatible(&field.schema, &wfield.schema);
                            self.location.pop();
                        }
                        None if field.default.is_none() => {
                            let path = self.path();
                            let (rl, wl) = (self.reader_label, self.writer_label);
                            self.report(
                                "READER_FIELD_MISSING_DEFAULT_VALUE",
                                format!(
                                    "The field '{}' at path '{path}' in the {rl} schema has no default value and is missing in the {wl} schema",
                                    field.name
                                ),
                                field.name.clone(),
                            );
                        }
                        None => {}
                    }
                    self.location.pop();
                }
                self.location.pop();
            }
            (
                NamedKind::Enum {
                    symbols: rs,
                    default,
                },
                NamedKind::Enum { symbols: ws, .. },
            ) => {
                let mut missing: Vec<&String> = ws.iter().filter(|s| !rs.contains(s)).collect();
                missing.sort();
                if !missing.is_empty() && default.is_none() {
                    self.location.push("symbols".into());
                    let path = self.path();
                    let list = format!(
                        "[{}]",
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    let (rl, wl) = (self.reader_label, self.writer_label);
                    self.report(
                        "MISSING_ENUM_SYMBOLS",
                        format!("The {rl} schema is missing enum symbols '{list}' at path '{path}' in the {wl} schema"),
                        list.clone(),
                    );
                    self.location.pop();
                }
            }
            (NamedKind::Fixed { size: rs }, NamedKind::Fixed { size: ws }) => {
                if rs != ws {
                    self.location.push("size".into());
                    let path = self.path();
                    let (rl, wl) = (self.reader_label, self.writer_label);
                    self.report(
                        "FIXED_SIZE_MISMATCH",
                        format!("The size of FIXED type field at path '{path}' in the {rl} schema does not match with the {wl} schema"),
                        format!("expected: {ws}, found: {rs}"),
                    );
                    self.location.pop();
                }
            }
            _ => {
                let (rk, wk) = (rd.type_label(), wd.type_label());
                let path = self.path();
                let (rl, wl) = (self.reader_label, self.writer_label);
                self.report(
                    "TYPE_MISMATCH",
                    format!("The type (path '{path}') of a field in the {rl} schema does not match with the {wl} schema"),
                    format!("reader type: {rk} not compatible with writer type: {wk}"),
                );
            }
        }
        self.in_progress.remove(&(r, w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        AvroSchema::parse(text, &[]).unwrap().canonical()
    }

    #[test]
    fn primitive_object_form_is_a_plain_name() {
        assert_eq!(canon(r#"{"type": "string"}"#), r#""string""#);
        assert_eq!(canon(r#""int""#), r#""int""#);
        assert_eq!(
            canon(r#"{"type":"long","logicalType":"timestamp-millis"}"#),
            r#"{"type":"long","logicalType":"timestamp-millis"}"#
        );
    }

    #[test]
    fn record_canonical_keeps_doc_default_aliases_order() {
        let text = r#"{
            "namespace": "com.acme", "type": "record", "name": "User", "doc": "a user",
            "aliases": ["Person"],
            "fields": [
                {"name": "id", "type": "long", "order": "descending"},
                {"name": "name", "type": "string", "default": "x", "doc": "the name", "aliases": ["n"]},
                {"name": "next", "type": ["null", "User"], "default": null},
                {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"], "default": "A"}},
                {"name": "other", "type": {"type": "fixed", "name": "o.Hash", "size": 4}}
            ]
        }"#;
        assert_eq!(
            canon(text),
            r#"{"type":"record","name":"User","namespace":"com.acme","doc":"a user","fields":[{"name":"id","type":"long","order":"descending"},{"name":"name","type":"string","doc":"the name","default":"x","aliases":["n"]},{"name":"next","type":["null","User"],"default":null},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"],"default":"A"}},{"name":"other","type":{"type":"fixed","name":"Hash","namespace":"o","size":4}}],"aliases":["Person"]}"#
        );
    }

    #[test]
    fn normalized_uses_full_names() {
        let s = AvroSchema::parse(
            r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":{"type":"record","name":"S","fields":[]}},{"name":"b","type":"S"}]}"#,
            &[],
        )
        .unwrap();
        assert_eq!(
            s.normalized(),
            r#"{"type":"record","name":"n.R","fields":[{"name":"a","type":{"type":"record","name":"n.S","fields":[]}},{"name":"b","type":"n.S"}]}"#
        );
        assert_eq!(s.record_names(), vec!["n.R".to_string(), "n.S".to_string()]);
    }

    #[test]
    fn invalid_schemas() {
        for bad in [
            "not json",
            r#"{"type":"record","fields":[]}"#,
            r#"{"type":"recordx","name":"a"}"#,
            r#""Unknown""#,
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#,
            r#"{"type":"enum","name":"E","symbols":["A","A"]}"#,
            r#"["int",["long"]]"#,
            r#"["int","int"]"#,
            r#"{"type":"fixed","name":"F"}"#,
            r#"{"type":"record","name":"1R","fields":[]}"#,
            "42",
        ] {
            assert!(
                AvroSchema::parse(bad, &[]).is_err(),
                "{bad} should be invalid"
            );
        }
    }

    #[test]
    fn references_are_defined_and_printed_by_name() {
        let reference = ResolvedReference {
            name: "com.acme.Address".into(),
            schema_type: super::super::SchemaType::Avro,
            schema: r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"}]}"#.into(),
            references: vec![],
        };
        let s = AvroSchema::parse(
            r#"{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}"#,
            &[reference],
        )
        .unwrap();
        assert_eq!(
            s.canonical(),
            r#"{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}"#
        );
        assert_eq!(s.record_names(), vec!["com.acme.User".to_string()]);
    }

    #[test]
    fn messages_have_confluent_shape() {
        let old = AvroSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#,
            &[],
        )
        .unwrap();
        let new = AvroSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"x","type":"string"}]}"#,
            &[],
        )
        .unwrap();
        assert_eq!(
            check(&new, &old, "new", "old"),
            vec!["{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'x' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'x'}".to_string()]
        );
        let union_old = AvroSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":["int","null"]}]}"#,
            &[],
        )
        .unwrap();
        let union_new = AvroSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":["string","null"]}]}"#,
            &[],
        )
        .unwrap();
        assert_eq!(
            check(&union_new, &union_old, "new", "old"),
            vec!["{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type inside a union field at path '/fields/0/type/0' in the old schema', additionalInfo:'reader union lacking writer type: INT'}".to_string()]
        );
    }

    #[test]
    fn recursive_records_check() {
        let s = AvroSchema::parse(
            r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]},{"name":"v","type":"int"}]}"#,
            &[],
        )
        .unwrap();
        assert!(check(&s, &s, "new", "old").is_empty());
    }
}
