//! `Flatten$Key` / `Flatten$Value`: nested Maps (schemaless) or Structs
//! (with a schema) become one level, field names joined with `delimiter`.
//! Arrays are kept as they are; schemaless Structs and MAP fields with a
//! schema are refused, as in Kafka.

use super::util::{self, key, value, Side};
use super::{RecordContext, Transformation};
use crate::config::def::{ConfigType, Importance};
use crate::config::{ConfigDef, Props};
use crate::data::{ConnectRecord, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "flattening";

pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(key(
        "delimiter",
        ConfigType::String,
        value("."),
        Importance::Medium,
        "Delimiter to insert between field names from the input record when generating field names for the output record",
    ))
}

pub struct Flatten {
    side: Side,
    delimiter: String,
}

pub fn build(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), props)?;
    Ok(Box::new(Flatten {
        side,
        delimiter: c.string("delimiter").unwrap_or_default(),
    }))
}

impl Flatten {
    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    fn schemaless(
        &self,
        m: &[(Value, Value)],
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<()> {
        for (k, v) in m {
            let name = self.name(prefix, &util::key_name(k));
            match v {
                Value::Map(inner) => self.schemaless(inner, &name, out)?,
                Value::Struct(_) => {
                    return Err(Error::data(format!(
                        "Flatten transformation does not support class {} for record without schemas (for field {name}).",
                        v.java_class()
                    )))
                }
                v => util::map_put(out, &name, v.clone()),
            }
        }
        Ok(())
    }

    fn build_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        mut out: SchemaBuilder,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<SchemaBuilder> {
        for f in &schema.fields {
            let name = self.name(prefix, &f.name);
            let field_optional = optional || f.schema.optional;
            let default = f
                .schema
                .default
                .clone()
                .or_else(|| parent_default.and_then(|d| d.get(&f.name).cloned()))
                .filter(|d| !d.is_null());
            match f.schema.ty {
                Type::Struct => {
                    let d = match &default {
                        Some(Value::Struct(s)) => Some(s),
                        _ => None,
                    };
                    out = self.build_schema(&f.schema, &name, out, field_optional, d)?;
                }
                Type::Map => {
                    return Err(Error::data(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                _ => {
                    let mut b = util::copy_schema_basics(&f.schema);
                    if field_optional {
                        b = b.optional();
                    }
                    if let Some(d) = default {
                        b = b.default_value(d);
                    }
                    out = out.field(&name, b.build());
                }
            }
        }
        Ok(out)
    }

    fn build_value(&self, s: &Struct, prefix: &str, out: &mut Struct) -> Result<()> {
        for f in &s.schema.fields {
            let name = self.name(prefix, &f.name);
            let v = &s.values[f.index];
            match f.schema.ty {
                Type::Struct => {
                    if let Value::Struct(inner) = v {
                        self.build_value(inner, &name, out)?;
                    }
                }
                _ => util::put(out, &name, v.clone())?,
            }
        }
        Ok(())
    }

    fn updated_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let default = match &schema.default {
            Some(Value::Struct(s)) => Some(s),
            _ => None,
        };
        let b = util::copy_basics(schema, SchemaBuilder::struct_());
        let mut b = self.build_schema(schema, "", b, schema.optional, default)?;
        if schema.optional {
            b = b.optional();
        }
        Ok(b.build())
    }
}

impl Transformation for Flatten {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        match self.side.schema(&r).cloned() {
            None => {
                let v = match util::require_map_or_null(self.side.value(&r), PURPOSE)? {
                    None => Value::Null,
                    Some(m) => {
                        let mut out = Vec::new();
                        self.schemaless(m, "", &mut out)?;
                        Value::Map(out)
                    }
                };
                self.side.set(&mut r, None, v);
            }
            Some(schema) => {
                let value = util::require_struct_or_null(self.side.value(&r), PURPOSE)?;
                let updated = self.updated_schema(&schema)?;
                let v = match value {
                    None => Value::Null,
                    Some(s) => {
                        let mut out = Struct::new(updated.clone());
                        self.build_value(s, "", &mut out)?;
                        Value::Struct(out)
                    }
                };
                self.side.set(&mut r, Some(updated), v);
            }
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::test_support::*;
    use super::*;

    fn ctx() -> RecordContext {
        RecordContext::default()
    }

    #[test]
    fn schemaless_nested() {
        let t = build(&props(&[]), Side::Value).unwrap();
        let v = map(vec![
            ("A", map(vec![("B", map(vec![("int", Value::Int64(1))]))])),
            ("arr", Value::Array(vec![Value::Int64(1)])),
            ("n", Value::Null),
        ]);
        let out = t.apply(record(v), &ctx()).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("A.B.int", Value::Int64(1)),
                ("arr", Value::Array(vec![Value::Int64(1)])),
                ("n", Value::Null),
            ])
        );
        let t = build(&props(&[("delimiter", "#")]), Side::Key).unwrap();
        let mut r = record(Value::Null);
        r.key = map(vec![("a", map(vec![("b", s("x"))]))]);
        assert_eq!(
            t.apply(r, &ctx()).unwrap().unwrap().key,
            map(vec![("a#b", s("x"))])
        );
        let out = t.apply(record(Value::Null), &ctx()).unwrap().unwrap();
        assert_eq!(out.key, Value::Null);
    }

    #[test]
    fn with_schema() {
        let inner = SchemaBuilder::struct_()
            .optional()
            .field("int16", Schema::of(Type::Int16))
            .field("str", Schema::of(Type::String))
            .build();
        let schema = SchemaBuilder::struct_()
            .name("top")
            .field("A", inner.clone())
            .field("b", Schema::of(Type::Boolean))
            .build();
        let iv = Struct::new(inner)
            .with("int16", Value::Int16(2))
            .unwrap()
            .with("str", s("x"))
            .unwrap();
        let v = Struct::new(schema.clone())
            .with("A", Value::Struct(iv))
            .unwrap()
            .with("b", Value::Boolean(true))
            .unwrap();
        let t = build(&props(&[]), Side::Value).unwrap();
        let out = t
            .apply(
                ConnectRecord::new("t", Some(schema), Value::Struct(v)),
                &ctx(),
            )
            .unwrap()
            .unwrap();
        let sch = out.value_schema.unwrap();
        assert_eq!(sch.name.as_deref(), Some("top"));
        let names: Vec<&str> = sch.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["A.int16", "A.str", "b"]);
        // Fields of an optional struct become optional.
        assert!(sch.field("A.int16").unwrap().schema.optional);
        assert!(!sch.field("b").unwrap().schema.optional);
        let st = out.value.as_struct().unwrap();
        assert_eq!(st.get("A.int16"), Some(&Value::Int16(2)));
        assert_eq!(st.get("b"), Some(&Value::Boolean(true)));
    }

    #[test]
    fn unsupported() {
        let t = build(&props(&[]), Side::Value).unwrap();
        let schema = SchemaBuilder::struct_()
            .field(
                "m",
                SchemaBuilder::map(Schema::of(Type::String), Schema::of(Type::String)).build(),
            )
            .build();
        let e = t
            .apply(
                ConnectRecord::new(
                    "t",
                    Some(schema.clone()),
                    Value::Struct(Struct::new(schema)),
                ),
                &ctx(),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Flatten transformation does not support MAP for record with schemas (for field m)."
        );
        let e = t.apply(record(s("x")), &ctx()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [flattening], found: java.lang.String"
        );
    }
}
