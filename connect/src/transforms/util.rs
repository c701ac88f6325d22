//! Helpers shared by the transformations: which side of the record one
//! operates on (`$Key` / `$Value`), Kafka's `Requirements` checks with
//! their messages, `SchemaUtil.copySchemaBasics`, schemaless map editing,
//! and config definition shorthands.

use crate::config::def::{ConfigKey, ConfigType, Default, Importance, Parsed, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::{ConnectRecord, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

/// The part of the record a `$Key` / `$Value` transformation works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    pub fn schema(self, r: &ConnectRecord) -> Option<&SchemaRef> {
        match self {
            Side::Key => r.key_schema.as_ref(),
            Side::Value => r.value_schema.as_ref(),
        }
    }

    pub fn value(self, r: &ConnectRecord) -> &Value {
        match self {
            Side::Key => &r.key,
            Side::Value => &r.value,
        }
    }

    /// Take the schema and value out of the record (leaving null).
    pub fn take(self, r: &mut ConnectRecord) -> (Option<SchemaRef>, Value) {
        match self {
            Side::Key => (
                r.key_schema.take(),
                std::mem::replace(&mut r.key, Value::Null),
            ),
            Side::Value => (
                r.value_schema.take(),
                std::mem::replace(&mut r.value, Value::Null),
            ),
        }
    }

    /// Connect's `newRecord` for this side.
    pub fn set(self, r: &mut ConnectRecord, schema: Option<SchemaRef>, value: Value) {
        match self {
            Side::Key => {
                r.key_schema = schema;
                r.key = value;
            }
            Side::Value => {
                r.value_schema = schema;
                r.value = value;
            }
        }
    }
}

/// The class name a Java transformation would report for a value (`getClass().getName()`).
pub fn class_name(v: &Value) -> &'static str {
    v.java_class()
}

/// `Requirements.requireMap`.
pub fn require_map<'a>(v: &'a Value, purpose: &str) -> Result<&'a Vec<(Value, Value)>> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(Error::data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            class_name(other)
        ))),
    }
}

/// `Requirements.requireStruct`.
pub fn require_struct<'a>(v: &'a Value, purpose: &str) -> Result<&'a Struct> {
    match v {
        Value::Struct(s) => Ok(s),
        other => Err(Error::data(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            class_name(other)
        ))),
    }
}

/// `Requirements.requireMapOrNull`: `None` for null.
pub fn require_map_or_null<'a>(
    v: &'a Value,
    purpose: &str,
) -> Result<Option<&'a Vec<(Value, Value)>>> {
    if v.is_null() {
        return Ok(None);
    }
    require_map(v, purpose).map(Some)
}

/// `Requirements.requireStructOrNull`: `None` for null.
pub fn require_struct_or_null<'a>(v: &'a Value, purpose: &str) -> Result<Option<&'a Struct>> {
    if v.is_null() {
        return Ok(None);
    }
    require_struct(v, purpose).map(Some)
}

/// `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc, parameters.
pub fn copy_basics(source: &Schema, mut b: SchemaBuilder) -> SchemaBuilder {
    if let Some(n) = &source.name {
        b = b.name(n);
    }
    if let Some(v) = source.version {
        b = b.version(v);
    }
    if let Some(d) = &source.doc {
        b = b.doc(d);
    }
    for (k, v) in &source.parameters {
        b = b.parameter(k, v);
    }
    b
}

/// `SchemaUtil.copySchemaBasics(source)`: a builder of the same type
/// (with its element / key and value schemas) and the basics.
pub fn copy_schema_basics(source: &Schema) -> SchemaBuilder {
    let b = match source.ty {
        Type::Array => SchemaBuilder::array(
            source
                .value_schema
                .clone()
                .unwrap_or_else(|| Schema::optional(Type::String)),
        ),
        Type::Map => SchemaBuilder::map(
            source
                .key_schema
                .clone()
                .unwrap_or_else(|| Schema::optional(Type::String)),
            source
                .value_schema
                .clone()
                .unwrap_or_else(|| Schema::optional(Type::String)),
        ),
        t => SchemaBuilder::new(t),
    };
    copy_basics(source, b)
}

/// A struct field's value: `Struct.get` (the schema default for null) or,
/// with `replace.null.with.default=false`, `Struct.getWithoutDefault`.
pub fn field_value(s: &Struct, name: &str, replace_null_with_default: bool) -> Value {
    if replace_null_with_default {
        s.get_or_default(name).unwrap_or(Value::Null)
    } else {
        s.get(name).cloned().unwrap_or(Value::Null)
    }
}

/// Put into a new struct, turning a schema mismatch into a `DataException`.
pub fn put(s: &mut Struct, name: &str, v: Value) -> Result<()> {
    s.put(name, v).map_err(Error::data)
}

/// A schemaless map entry by string key.
pub fn map_get<'a>(m: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// `Map.put` on a schemaless map: replace the entry, or append it.
pub fn map_put(m: &mut Vec<(Value, Value)>, key: &str, v: Value) {
    if let Some(e) = m.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        e.1 = v;
    } else {
        m.push((Value::String(key.to_string()), v));
    }
}

/// `Map.remove` on a schemaless map.
pub fn map_remove(m: &mut Vec<(Value, Value)>, key: &str) {
    m.retain(|(k, _)| k.as_str() != Some(key));
}

/// The name of a map key as Java's `String.valueOf` would print it.
pub fn key_name(k: &Value) -> String {
    k.to_string()
}

pub fn key(name: &str, ty: ConfigType, default: Default, imp: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ty, default, imp, doc)
}

pub fn value(v: &str) -> Default {
    Default::Value(v.to_string())
}

/// `replace.null.with.default` (KIP-1040), shared by several transformations.
pub fn replace_null_key() -> ConfigKey {
    key(
        REPLACE_NULL_WITH_DEFAULT,
        ConfigType::Boolean,
        value("true"),
        Importance::Medium,
        "Whether a null field that has a default value is replaced with the default (true) or kept null (false).",
    )
}

pub const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

/// `field.syntax.version` (KIP-821): `V1` names top-level fields only;
/// `V2` reads dotted paths into nested Structs / Maps, with backticks
/// around names that contain dots.
pub const FIELD_SYNTAX_VERSION: &str = "field.syntax.version";

pub fn field_syntax_key() -> ConfigKey {
    key(
        FIELD_SYNTAX_VERSION,
        ConfigType::String,
        value("V1"),
        Importance::High,
        "Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to access the elements at the root level of the struct or map. If set to `V2`, the syntax will support accessing nested elements. To access nested elements, dotted notation is used. If dots are already included in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the subfield `baz` from a field named \"foo.bar\" in a struct/map the following format can be used to access its elements: \"`foo.bar`.baz\".",
    )
    .validator(Validator::OneOf(&["V1", "V2"], true))
}

/// Whether the parsed config asks for `V2` field paths.
pub fn is_v2(c: &Parsed) -> bool {
    c.string(FIELD_SYNTAX_VERSION)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("V2"))
}

/// A field path: one name with `V1`; with `V2` the dot-separated steps,
/// a step wrapped in backticks may contain dots (a backtick inside one is
/// written `\``).
pub fn field_path(path: &str, v2: bool) -> Vec<String> {
    if !v2 || (!path.contains('.') && !path.contains('`')) {
        return vec![path.to_string()];
    }
    let chars: Vec<char> = path.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    loop {
        let mut step = String::new();
        if chars.get(i) == Some(&'`') {
            // Quoted: up to a backtick followed by a dot or the end.
            let mut j = i + 1;
            let mut closed = None;
            while j < chars.len() {
                if chars[j] == '\\' && chars.get(j + 1) == Some(&'`') {
                    step.push('`');
                    j += 2;
                    continue;
                }
                if chars[j] == '`' && matches!(chars.get(j + 1), None | Some('.')) {
                    closed = Some(j);
                    break;
                }
                step.push(chars[j]);
                j += 1;
            }
            match closed {
                Some(end) => {
                    steps.push(step);
                    i = end + 1;
                }
                None => {
                    // No closing backtick: the rest is a plain step.
                    let rest: String = chars[i..].iter().collect();
                    steps.extend(rest.split('.').map(str::to_string));
                    return steps;
                }
            }
        } else {
            while i < chars.len() && chars[i] != '.' {
                step.push(chars[i]);
                i += 1;
            }
            steps.push(step);
        }
        if i >= chars.len() {
            return steps;
        }
        i += 1; // the dot
        if i >= chars.len() {
            steps.push(String::new());
            return steps;
        }
    }
}

/// Refuse nested `V2` paths in a transformation that reads top-level fields only.
pub fn require_top_level(c: &Parsed, fields: &[String], class: &str) -> Result<()> {
    if !is_v2(c) {
        return Ok(());
    }
    match fields.iter().find(|f| field_path(f, true).len() > 1) {
        Some(f) => Err(Error::config(format!(
            "Invalid value {f}: {class} supports only top-level fields here; nested field paths (field.syntax.version=V2) are not supported"
        ))),
        None => Ok(()),
    }
}

/// `ConfigDef.NonEmptyListValidator` as a custom check.
pub fn non_empty_list(v: &str) -> Option<String> {
    crate::config::def::split_list(v)
        .is_empty()
        .then(|| "Empty list".to_string())
}

/// The validator for `ConfigDef.NonEmptyList`.
pub fn non_empty_list_validator() -> Validator {
    Validator::Custom(non_empty_list)
}

/// `RegexValidator`: the pattern compiles.
pub fn valid_regex(v: &str) -> Option<String> {
    regex::Regex::new(v).err().map(|e| e.to_string())
}

/// Parse a transformation's config against its definition; the first error
/// is a `ConfigException`.
pub fn parse(def: &ConfigDef, props: &Props) -> Result<Parsed> {
    def.parse(props).map_err(Error::config)
}

/// Schema of a primitive value that came without one (`Values.inferSchema`).
pub fn infer_schema(v: &Value) -> Option<SchemaRef> {
    v.inferred_type()
        .filter(|t| t.is_primitive())
        .map(Schema::of)
}

#[cfg(test)]
mod tests {
    use super::field_path;

    #[test]
    fn field_paths() {
        assert_eq!(field_path("a.b", false), ["a.b"]);
        assert_eq!(field_path("a.b.c", true), ["a", "b", "c"]);
        assert_eq!(field_path("`a.b`.c", true), ["a.b", "c"]);
        assert_eq!(field_path("a.`b.c`", true), ["a", "b.c"]);
        assert_eq!(field_path("`a\\`b`", true), ["a`b"]);
        assert_eq!(field_path("plain", true), ["plain"]);
    }
}

#[cfg(test)]
pub mod test_support {
    use crate::config::Props;
    use crate::data::{ConnectRecord, Value};

    pub fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A schemaless map from string keys.
    pub fn map(pairs: Vec<(&str, Value)>) -> Value {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Value::String(k.to_string()), v))
                .collect(),
        )
    }

    pub fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    pub fn record(value: Value) -> ConnectRecord {
        let mut r = ConnectRecord::new("test", None, value);
        r.kafka_partition = Some(0);
        r
    }
}
