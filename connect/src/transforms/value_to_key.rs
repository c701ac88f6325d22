//! `ValueToKey`: replace the key with a Struct (or Map) of the value's `fields`.

use super::util::{self, key};
use super::{RecordContext, Transformation};
use crate::config::def::{ConfigType, Default, Importance};
use crate::config::{ConfigDef, Props};
use crate::data::{ConnectRecord, SchemaBuilder, Struct, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "copying fields from value to key";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            key(
                "fields",
                ConfigType::List,
                Default::Required,
                Importance::High,
                "Field names on the record value to extract as the record key.",
            )
            .validator(util::non_empty_list_validator()),
        )
        .define(util::replace_null_key())
        .define(util::field_syntax_key())
}

pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
}

pub fn build(props: &Props) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), props)?;
    util::require_top_level(&c, &c.list("fields"), "ValueToKey")?;
    Ok(Box::new(ValueToKey {
        fields: c.list("fields"),
        replace_null_with_default: c.bool(util::REPLACE_NULL_WITH_DEFAULT),
    }))
}

impl Transformation for ValueToKey {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        match &r.value_schema {
            None => {
                let value = util::require_map(&r.value, PURPOSE)?;
                let key: Vec<(Value, Value)> = self
                    .fields
                    .iter()
                    .map(|f| {
                        (
                            Value::String(f.clone()),
                            util::map_get(value, f).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                r.key_schema = None;
                r.key = Value::Map(key);
            }
            Some(_) => {
                let value = util::require_struct(&r.value, PURPOSE)?;
                let mut b = SchemaBuilder::struct_();
                for f in &self.fields {
                    let from = value
                        .schema
                        .field(f)
                        .ok_or_else(|| Error::data(format!("Field does not exist: {f}")))?;
                    b = b.field(f, from.schema.clone());
                }
                let key_schema = b.build();
                let mut key = Struct::new(key_schema.clone());
                for f in &self.fields {
                    let v = util::field_value(value, f, self.replace_null_with_default);
                    util::put(&mut key, f, v)?;
                }
                r.key_schema = Some(key_schema);
                r.key = Value::Struct(key);
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

    #[test]
    fn schemaless_and_with_schema() {
        let t = build(&props(&[("fields", "a,b")])).unwrap();
        let v = map(vec![
            ("a", Value::Int64(1)),
            ("b", Value::Int64(2)),
            ("c", Value::Int64(3)),
        ]);
        let out = t
            .apply(record(v.clone()), &RecordContext::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            out.key,
            map(vec![("a", Value::Int64(1)), ("b", Value::Int64(2))])
        );
        assert_eq!(out.value, v);

        let schema = SchemaBuilder::struct_()
            .field("a", Schema::of(Type::Int32))
            .field("b", Schema::of(Type::Int32))
            .field("c", Schema::of(Type::Int32))
            .build();
        let v = Struct::new(schema.clone())
            .with("a", Value::Int32(1))
            .unwrap()
            .with("b", Value::Int32(2))
            .unwrap()
            .with("c", Value::Int32(3))
            .unwrap();
        let out = t
            .apply(
                ConnectRecord::new("t", Some(schema.clone()), Value::Struct(v.clone())),
                &RecordContext::default(),
            )
            .unwrap()
            .unwrap();
        let k = out.key.as_struct().unwrap();
        assert_eq!(k.schema.fields.len(), 2);
        assert_eq!(k.get("b"), Some(&Value::Int32(2)));
        let t = build(&props(&[("fields", "a,nope")])).unwrap();
        let e = t
            .apply(
                ConnectRecord::new("t", Some(schema), Value::Struct(v)),
                &RecordContext::default(),
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "Field does not exist: nope");
    }
}
