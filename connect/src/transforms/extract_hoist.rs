//! `ExtractField$Key` / `$Value` (replace the key/value with one of its
//! fields; null passes through) and `HoistField$Key` / `$Value` (wrap the
//! key/value in a single-field Struct or Map).

use super::util::{self, key, Side};
use super::{RecordContext, Transformation};
use crate::config::def::{ConfigType, Default, Importance};
use crate::config::{ConfigDef, Props};
use crate::data::{ConnectRecord, SchemaBuilder, Struct, Value};
use crate::error::{Error, Result};

const EXTRACT_PURPOSE: &str = "field extraction";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(key(
            "field",
            ConfigType::String,
            Default::Required,
            Importance::Medium,
            "Field name to extract.",
        ))
        .define(util::replace_null_key())
        .define(util::field_syntax_key())
}

pub fn hoist_config_def() -> ConfigDef {
    ConfigDef::new().define(key(
        "field",
        ConfigType::String,
        Default::Required,
        Importance::Medium,
        "Field name for the single field that will be created in the resulting Struct or Map.",
    ))
}

pub struct ExtractField {
    side: Side,
    field: String,
    /// The steps of `field` (one unless `field.syntax.version=V2`).
    path: Vec<String>,
    replace_null_with_default: bool,
}

pub fn build(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), props)?;
    let field = c.string("field").unwrap_or_default();
    Ok(Box::new(ExtractField {
        side,
        path: util::field_path(&field, util::is_v2(&c)),
        field,
        replace_null_with_default: c.bool(util::REPLACE_NULL_WITH_DEFAULT),
    }))
}

impl ExtractField {
    /// The value at the path in nested Maps; null when a step is missing.
    fn in_map(&self, m: &[(Value, Value)]) -> Value {
        let mut cur = util::map_get(m, &self.path[0]);
        for step in &self.path[1..] {
            cur = match cur {
                Some(Value::Map(inner)) => util::map_get(inner, step),
                _ => None,
            };
        }
        cur.cloned().unwrap_or(Value::Null)
    }

    /// The schema at the path in nested Struct schemas.
    fn field_schema(&self, schema: &crate::data::Schema) -> Option<crate::data::SchemaRef> {
        let mut cur = schema.field(&self.path[0])?.schema.clone();
        for step in &self.path[1..] {
            if cur.ty != crate::data::Type::Struct {
                return None;
            }
            let next = cur.field(step)?.schema.clone();
            cur = next;
        }
        Some(cur)
    }

    /// The value at the path in nested Structs; null below a null.
    fn in_struct(&self, s: &Struct) -> Value {
        let mut cur = util::field_value(s, &self.path[0], self.replace_null_with_default);
        for step in &self.path[1..] {
            cur = match &cur {
                Value::Struct(inner) => {
                    util::field_value(inner, step, self.replace_null_with_default)
                }
                _ => Value::Null,
            };
        }
        cur
    }
}

impl Transformation for ExtractField {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        match self.side.schema(&r).cloned() {
            None => {
                let v = match util::require_map_or_null(self.side.value(&r), EXTRACT_PURPOSE)? {
                    None => Value::Null,
                    Some(m) => self.in_map(m),
                };
                self.side.set(&mut r, None, v);
            }
            Some(schema) => {
                let value = util::require_struct_or_null(self.side.value(&r), EXTRACT_PURPOSE)?;
                let fs = self
                    .field_schema(&schema)
                    .ok_or_else(|| Error::data(format!("Unknown field: {}", self.field)))?;
                let v = match value {
                    None => Value::Null,
                    Some(s) => self.in_struct(s),
                };
                self.side.set(&mut r, Some(fs), v);
            }
        }
        Ok(Some(r))
    }
}

pub struct HoistField {
    side: Side,
    field: String,
}

pub fn build_hoist(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&hoist_config_def(), props)?;
    Ok(Box::new(HoistField {
        side,
        field: c.string("field").unwrap_or_default(),
    }))
}

impl Transformation for HoistField {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut r);
        match schema {
            None => {
                let m = vec![(Value::String(self.field.clone()), value)];
                self.side.set(&mut r, None, Value::Map(m));
            }
            Some(schema) => {
                let updated = SchemaBuilder::struct_().field(&self.field, schema).build();
                let mut s = Struct::new(updated.clone());
                util::put(&mut s, &self.field, value)?;
                self.side.set(&mut r, Some(updated), Value::Struct(s));
            }
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::test_support::*;
    use super::*;
    use crate::data::{Schema, Type};

    fn ctx() -> RecordContext {
        RecordContext::default()
    }

    #[test]
    fn extract() {
        let t = build(&props(&[("field", "magic")]), Side::Key).unwrap();
        let mut r = record(Value::Null);
        r.key = map(vec![("magic", Value::Int64(42))]);
        assert_eq!(t.apply(r, &ctx()).unwrap().unwrap().key, Value::Int64(42));
        let r = record(Value::Null);
        assert_eq!(t.apply(r, &ctx()).unwrap().unwrap().key, Value::Null);
        let mut r = record(Value::Null);
        r.key = s("x");
        assert_eq!(
            t.apply(r, &ctx()).unwrap_err().to_string(),
            "Only Map objects supported in absence of schema for [field extraction], found: java.lang.String"
        );

        let schema = SchemaBuilder::struct_()
            .field("magic", Schema::of(Type::Int32))
            .build();
        let v = Struct::new(schema.clone())
            .with("magic", Value::Int32(42))
            .unwrap();
        let t = build(&props(&[("field", "magic")]), Side::Value).unwrap();
        let out = t
            .apply(
                ConnectRecord::new("t", Some(schema.clone()), Value::Struct(v)),
                &ctx(),
            )
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int32(42));
        assert_eq!(out.value_schema, Some(Schema::of(Type::Int32)));
        let out = t
            .apply(
                ConnectRecord::new("t", Some(schema.clone()), Value::Null),
                &ctx(),
            )
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Null);
        let t = build(&props(&[("field", "nope")]), Side::Value).unwrap();
        let e = t
            .apply(ConnectRecord::new("t", Some(schema), Value::Null), &ctx())
            .unwrap_err();
        assert_eq!(e.to_string(), "Unknown field: nope");
        let values = config_def().validate(&props(&[]));
        assert_eq!(
            values[0].errors,
            ["Missing required configuration \"field\" which has no default value."]
        );
    }

    #[test]
    fn extract_nested_v2() {
        let t = build(
            &props(&[("field", "a.`b.c`"), ("field.syntax.version", "V2")]),
            Side::Value,
        )
        .unwrap();
        let v = map(vec![("a", map(vec![("b.c", Value::Int64(7))]))]);
        assert_eq!(
            t.apply(record(v), &ctx()).unwrap().unwrap().value,
            Value::Int64(7)
        );
        let inner = SchemaBuilder::struct_()
            .field("b.c", Schema::of(Type::Int32))
            .build();
        let schema = SchemaBuilder::struct_().field("a", inner.clone()).build();
        let v = Struct::new(schema.clone())
            .with(
                "a",
                Value::Struct(Struct::new(inner).with("b.c", Value::Int32(3)).unwrap()),
            )
            .unwrap();
        let out = t
            .apply(
                ConnectRecord::new("t", Some(schema), Value::Struct(v)),
                &ctx(),
            )
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int32(3));
        assert_eq!(out.value_schema, Some(Schema::of(Type::Int32)));
        // V1 reads the dotted name as one field.
        let t = build(&props(&[("field", "a.b")]), Side::Value).unwrap();
        let v = map(vec![("a.b", Value::Int64(1))]);
        assert_eq!(
            t.apply(record(v), &ctx()).unwrap().unwrap().value,
            Value::Int64(1)
        );
    }

    #[test]
    fn replace_null_with_default() {
        let schema = SchemaBuilder::struct_()
            .field(
                "f",
                SchemaBuilder::new(Type::Int32)
                    .optional()
                    .default_value(Value::Int32(9))
                    .build(),
            )
            .build();
        let rec = || {
            ConnectRecord::new(
                "t",
                Some(schema.clone()),
                Value::Struct(Struct::new(schema.clone())),
            )
        };
        let t = build(&props(&[("field", "f")]), Side::Value).unwrap();
        assert_eq!(
            t.apply(rec(), &ctx()).unwrap().unwrap().value,
            Value::Int32(9)
        );
        let t = build(
            &props(&[("field", "f"), ("replace.null.with.default", "false")]),
            Side::Value,
        )
        .unwrap();
        assert_eq!(t.apply(rec(), &ctx()).unwrap().unwrap().value, Value::Null);
    }

    #[test]
    fn hoist() {
        let t = build_hoist(&props(&[("field", "magic")]), Side::Key).unwrap();
        let mut r = record(Value::Null);
        r.key = Value::Int64(42);
        let out = t.apply(r, &ctx()).unwrap().unwrap();
        assert_eq!(out.key, map(vec![("magic", Value::Int64(42))]));
        let mut r = record(Value::Null);
        r.key = Value::Int32(42);
        r.key_schema = Some(Schema::of(Type::Int32));
        let out = t.apply(r, &ctx()).unwrap().unwrap();
        let ks = out.key_schema.unwrap();
        assert_eq!(ks.ty, Type::Struct);
        assert_eq!(ks.fields[0].name, "magic");
        assert_eq!(
            out.key.as_struct().unwrap().get("magic"),
            Some(&Value::Int32(42))
        );
    }
}
