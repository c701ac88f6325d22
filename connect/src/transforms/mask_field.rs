//! `MaskField$Key` / `MaskField$Value`: replace `fields` with the "empty"
//! value of their type (0, false, "", empty list/map, epoch, decimal 0), or
//! with `replacement` parsed as the field's type (numbers and strings only).

use super::util::{self, key, Side};
use super::{RecordContext, Transformation};
use crate::config::def::{ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::{logical, ConnectRecord, Schema, Struct, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "mask fields";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            key(
                "fields",
                ConfigType::List,
                Default::Required,
                Importance::High,
                "Names of fields to mask.",
            )
            .validator(util::non_empty_list_validator()),
        )
        .define(
            key(
                "replacement",
                ConfigType::String,
                Default::Null,
                Importance::Low,
                "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).",
            )
            .validator(Validator::NonEmptyString),
        )
        .define(util::replace_null_key())
        .define(util::field_syntax_key())
}

pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

pub fn build(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), props)?;
    util::require_top_level(&c, &c.list("fields"), "MaskField")?;
    Ok(Box::new(MaskField {
        side,
        fields: c.list("fields"),
        replacement: c.string("replacement"),
        replace_null_with_default: c.bool(util::REPLACE_NULL_WITH_DEFAULT),
    }))
}

/// Java's `getClass()` printed: `class java.lang.Integer`.
fn class_of(v: &Value, schema: Option<&Schema>) -> String {
    format!("class {}", java_class(v, schema))
}

fn java_class(v: &Value, schema: Option<&Schema>) -> &'static str {
    match schema.and_then(|s| s.name.as_deref()) {
        Some(logical::DECIMAL) => "java.math.BigDecimal",
        Some(logical::DATE | logical::TIME | logical::TIMESTAMP) => "java.util.Date",
        _ => v.java_class(),
    }
}

fn is_decimal(schema: Option<&Schema>) -> bool {
    schema.and_then(|s| s.name.as_deref()) == Some(logical::DECIMAL)
}

fn is_date(schema: Option<&Schema>) -> bool {
    matches!(
        schema.and_then(|s| s.name.as_deref()),
        Some(logical::DATE | logical::TIME | logical::TIMESTAMP)
    )
}

impl MaskField {
    fn masked(&self, v: &Value, schema: Option<&Schema>) -> Result<Value> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => mask_with_null(v, schema),
            Some(r) => mask_with_replacement(v, schema, r),
        }
    }
}

fn mask_with_null(v: &Value, schema: Option<&Schema>) -> Result<Value> {
    if is_decimal(schema) {
        return Ok(Value::Bytes(vec![0]));
    }
    Ok(match v {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => {
            return Err(Error::data(format!(
                "Cannot mask value of type: {}",
                class_of(other, schema)
            )))
        }
    })
}

fn mask_with_replacement(v: &Value, schema: Option<&Schema>, r: &str) -> Result<Value> {
    let not_number = || {
        Error::data(format!(
            "Unable to convert {r} (class java.lang.String) to number"
        ))
    };
    if is_decimal(schema) {
        let scale = schema.map(logical::scale).unwrap_or(0);
        return logical::decimal_from_string(r, scale)
            .map(Value::Bytes)
            .ok_or_else(not_number);
    }
    if is_date(schema) {
        return Err(Error::data(format!(
            "Cannot mask value of type {} with custom replacement.",
            class_of(v, schema)
        )));
    }
    let t = r.trim();
    Ok(match v {
        Value::Int8(_) => Value::Int8(t.parse().map_err(|_| not_number())?),
        Value::Int16(_) => Value::Int16(t.parse().map_err(|_| not_number())?),
        Value::Int32(_) => Value::Int32(t.parse().map_err(|_| not_number())?),
        Value::Int64(_) => Value::Int64(t.parse().map_err(|_| not_number())?),
        Value::Float32(_) => Value::Float32(t.parse().map_err(|_| not_number())?),
        Value::Float64(_) => Value::Float64(t.parse().map_err(|_| not_number())?),
        Value::String(_) => Value::String(r.to_string()),
        other => {
            return Err(Error::data(format!(
                "Cannot mask value of type {} with custom replacement.",
                class_of(other, schema)
            )))
        }
    })
}

impl Transformation for MaskField {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r) {
            None => {
                let mut m = util::require_map(self.side.value(&r), PURPOSE)?.clone();
                for f in &self.fields {
                    let orig = util::map_get(&m, f).cloned().unwrap_or(Value::Null);
                    let masked = self.masked(&orig, None)?;
                    util::map_put(&mut m, f, masked);
                }
                self.side.set(&mut r, None, Value::Map(m));
            }
            Some(schema) => {
                let schema = schema.clone();
                let value = util::require_struct(self.side.value(&r), PURPOSE)?;
                let mut out = Struct::new(value.schema.clone());
                for f in &value.schema.fields {
                    let orig = util::field_value(value, &f.name, self.replace_null_with_default);
                    let v = if self.fields.contains(&f.name) {
                        self.masked(&orig, Some(&f.schema))?
                    } else {
                        orig
                    };
                    util::put(&mut out, &f.name, v)?;
                }
                self.side.set(&mut r, Some(schema), Value::Struct(out));
            }
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::test_support::*;
    use super::*;
    use crate::data::{SchemaBuilder, Type};

    fn ctx() -> RecordContext {
        RecordContext::default()
    }

    #[test]
    fn schemaless_null_masks() {
        let t = build(&props(&[("fields", "i,b,s,l,m,missing")]), Side::Value).unwrap();
        let v = map(vec![
            ("i", Value::Int64(42)),
            ("b", Value::Boolean(true)),
            ("s", s("secret")),
            ("l", Value::Array(vec![s("x")])),
            ("m", map(vec![("k", s("v"))])),
            ("keep", s("k")),
        ]);
        let out = t.apply(record(v), &ctx()).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("i", Value::Int64(0)),
                ("b", Value::Boolean(false)),
                ("s", s("")),
                ("l", Value::Array(vec![])),
                ("m", Value::Map(vec![])),
                ("keep", s("k")),
                ("missing", Value::Null),
            ])
        );
    }

    #[test]
    fn replacement_with_schema() {
        let t = build(
            &props(&[("fields", "i,s,d"), ("replacement", "123")]),
            Side::Value,
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .field("i", Schema::of(Type::Int32))
            .field("s", Schema::of(Type::String))
            .field("d", logical::decimal(2).build())
            .field("keep", Schema::of(Type::String))
            .build();
        let v = Struct::new(schema.clone())
            .with("i", Value::Int32(7))
            .unwrap()
            .with("s", s("secret"))
            .unwrap()
            .with("d", Value::Bytes(vec![1]))
            .unwrap()
            .with("keep", s("k"))
            .unwrap();
        let out = t
            .apply(
                ConnectRecord::new("t", Some(schema), Value::Struct(v)),
                &ctx(),
            )
            .unwrap()
            .unwrap();
        let st = out.value.as_struct().unwrap();
        assert_eq!(st.get("i"), Some(&Value::Int32(123)));
        assert_eq!(st.get("s"), Some(&s("123")));
        assert_eq!(
            logical::decimal_to_string(
                match st.get("d").unwrap() {
                    Value::Bytes(b) => b,
                    _ => panic!(),
                },
                2
            ),
            "123.00"
        );
        assert_eq!(st.get("keep"), Some(&s("k")));
    }

    #[test]
    fn errors() {
        let t = build(
            &props(&[("fields", "b,i"), ("replacement", "abc")]),
            Side::Value,
        )
        .unwrap();
        let e = t
            .apply(record(map(vec![("b", Value::Boolean(true))])), &ctx())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot mask value of type class java.lang.Boolean with custom replacement."
        );
        let e = t
            .apply(record(map(vec![("i", Value::Int64(1))])), &ctx())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unable to convert abc (class java.lang.String) to number"
        );
        let t = build(&props(&[("fields", "x")]), Side::Value).unwrap();
        let e = t
            .apply(record(map(vec![("x", Value::Bytes(vec![1]))])), &ctx())
            .unwrap_err();
        assert_eq!(e.to_string(), "Cannot mask value of type: class [B");
        let e = build(
            &props(&[("fields", "a.b"), ("field.syntax.version", "V2")]),
            Side::Value,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("nested field paths"), "{e}");
        assert!(build(&props(&[("fields", "a.b")]), Side::Value).is_ok());
        let values = config_def().validate(&props(&[("fields", ""), ("replacement", "")]));
        let errs: Vec<&String> = values.iter().flat_map(|v| &v.errors).collect();
        assert_eq!(
            errs,
            [
                "Invalid value  for configuration fields: Empty list",
                "Invalid value  for configuration replacement: String must be non-empty"
            ]
        );
    }
}
