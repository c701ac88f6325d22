//! `InsertField$Key` / `InsertField$Value`: add the record's topic,
//! partition, offset (sink records only), timestamp, or a static string.
//! A field name ending in `!` is required, in `?` (or nothing) optional.
//! Null keys/values (tombstones) pass through unchanged.

use super::util::{self, key, Side};
use super::{RecordContext, Transformation};
use crate::config::def::{ConfigType, Default, Importance};
use crate::config::{ConfigDef, Props};
use crate::data::{logical, ConnectRecord, Schema, SchemaBuilder, Struct, Type, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "field insertion";

pub fn config_def() -> ConfigDef {
    let field = |name: &str, doc: &str| {
        key(
            name,
            ConfigType::String,
            Default::Null,
            Importance::Medium,
            doc,
        )
    };
    let suffix =
        " Suffix with ! to make this a required field, or ? to keep it optional (the default).";
    ConfigDef::new()
        .define(field(
            "topic.field",
            &format!("Field name for Kafka topic.{suffix}"),
        ))
        .define(field(
            "partition.field",
            &format!("Field name for Kafka partition.{suffix}"),
        ))
        .define(field(
            "offset.field",
            &format!("Field name for Kafka offset - only applicable to sink connectors.{suffix}"),
        ))
        .define(field(
            "timestamp.field",
            &format!("Field name for record timestamp.{suffix}"),
        ))
        .define(field(
            "static.field",
            &format!("Field name for static data field.{suffix}"),
        ))
        .define(field(
            "static.value",
            "Static field value, if field name configured.",
        ))
        .define(util::replace_null_key())
}

/// A field to insert: name and whether it is optional.
#[derive(Clone, Debug, PartialEq)]
struct Spec {
    name: String,
    optional: bool,
}

fn spec(v: Option<String>) -> Option<Spec> {
    let v = v?;
    Some(if let Some(n) = v.strip_suffix('?') {
        Spec {
            name: n.to_string(),
            optional: true,
        }
    } else if let Some(n) = v.strip_suffix('!') {
        Spec {
            name: n.to_string(),
            optional: false,
        }
    } else {
        Spec {
            name: v,
            optional: true,
        }
    })
}

pub struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
}

pub fn build(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), props)?;
    Ok(Box::new(InsertField {
        side,
        topic: spec(c.string("topic.field")),
        partition: spec(c.string("partition.field")),
        offset: spec(c.string("offset.field")),
        timestamp: spec(c.string("timestamp.field")),
        static_field: spec(c.string("static.field")),
        static_value: c.string("static.value"),
        replace_null_with_default: c.bool(util::REPLACE_NULL_WITH_DEFAULT),
    }))
}

fn sink_offset(ctx: &RecordContext) -> Result<i64> {
    ctx.kafka_offset.ok_or_else(|| {
        Error::data(format!(
            "Only SinkRecord supported for [{PURPOSE}], found: org.apache.kafka.connect.source.SourceRecord"
        ))
    })
}

impl InsertField {
    /// The (name, value) pairs to insert, in Kafka's order; `None` values are skipped.
    /// Timestamps are the Long (schemaless) or a Timestamp of the same millis.
    fn inserts(&self, r: &ConnectRecord, ctx: &RecordContext) -> Result<Vec<(String, Value)>> {
        let mut out = Vec::new();
        if let Some(f) = &self.topic {
            out.push((f.name.clone(), Value::String(r.topic.clone())));
        }
        if let (Some(f), Some(p)) = (&self.partition, r.kafka_partition) {
            out.push((f.name.clone(), Value::Int32(p)));
        }
        if let Some(f) = &self.offset {
            out.push((f.name.clone(), Value::Int64(sink_offset(ctx)?)));
        }
        if let (Some(f), Some(ts)) = (&self.timestamp, r.timestamp) {
            out.push((f.name.clone(), Value::Int64(ts)));
        }
        if let (Some(f), Some(v)) = (&self.static_field, &self.static_value) {
            out.push((f.name.clone(), Value::String(v.clone())));
        }
        Ok(out)
    }

    fn updated_schema(&self, schema: &Schema) -> crate::data::SchemaRef {
        let mut b = util::copy_basics(schema, SchemaBuilder::struct_());
        for f in &schema.fields {
            b = b.field(&f.name, f.schema.clone());
        }
        let add = |b: SchemaBuilder, f: &Option<Spec>, base: SchemaBuilder| match f {
            Some(s) => b.field(&s.name, base.set_optional(s.optional).build()),
            None => b,
        };
        b = add(b, &self.topic, SchemaBuilder::new(Type::String));
        b = add(b, &self.partition, SchemaBuilder::new(Type::Int32));
        b = add(b, &self.offset, SchemaBuilder::new(Type::Int64));
        b = add(b, &self.timestamp, logical::timestamp());
        b = add(b, &self.static_field, SchemaBuilder::new(Type::String));
        if schema.optional {
            b = b.optional();
        }
        b.build()
    }
}

impl Transformation for InsertField {
    fn apply(&self, mut r: ConnectRecord, ctx: &RecordContext) -> Result<Option<ConnectRecord>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r) {
            None => {
                let mut m = util::require_map(self.side.value(&r), PURPOSE)?.clone();
                for (k, v) in self.inserts(&r, ctx)? {
                    util::map_put(&mut m, &k, v);
                }
                self.side.set(&mut r, None, Value::Map(m));
            }
            Some(_) => {
                let value = util::require_struct(self.side.value(&r), PURPOSE)?;
                let updated = self.updated_schema(&value.schema);
                let mut out = Struct::new(updated.clone());
                for f in &value.schema.fields {
                    let v = util::field_value(value, &f.name, self.replace_null_with_default);
                    util::put(&mut out, &f.name, v)?;
                }
                for (k, v) in self.inserts(&r, ctx)? {
                    util::put(&mut out, &k, v)?;
                }
                self.side.set(&mut r, Some(updated), Value::Struct(out));
            }
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::test_support::*;
    use super::*;

    fn ctx(o: i64) -> RecordContext {
        RecordContext {
            kafka_offset: Some(o),
        }
    }

    #[test]
    fn schemaless_all_fields() {
        let t = build(
            &props(&[
                ("topic.field", "topic_field!"),
                ("partition.field", "partition_field"),
                ("offset.field", "offset_field?"),
                ("timestamp.field", "timestamp_field"),
                ("static.field", "instance_id"),
                ("static.value", "my-instance-id"),
            ]),
            Side::Value,
        )
        .unwrap();
        let mut r = record(map(vec![("magic", Value::Int64(42))]));
        r.timestamp = Some(1_483_425_001_864);
        r.kafka_partition = Some(3);
        let out = t.apply(r, &ctx(42)).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("magic", Value::Int64(42)),
                ("topic_field", s("test")),
                ("partition_field", Value::Int32(3)),
                ("offset_field", Value::Int64(42)),
                ("timestamp_field", Value::Int64(1_483_425_001_864)),
                ("instance_id", s("my-instance-id")),
            ])
        );
    }

    #[test]
    fn with_schema() {
        let t = build(
            &props(&[
                ("topic.field", "topic_field!"),
                ("partition.field", "partition_field"),
                ("timestamp.field", "timestamp_field?"),
                ("static.field", "instance_id"),
                ("static.value", "my-instance-id"),
            ]),
            Side::Value,
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .name("name")
            .version(1)
            .doc("doc")
            .field("magic", Schema::optional(Type::Int64))
            .build();
        let v = Struct::new(schema.clone())
            .with("magic", Value::Int64(42))
            .unwrap();
        let mut r = ConnectRecord::new("test", Some(schema), Value::Struct(v));
        r.kafka_partition = Some(0);
        r.timestamp = Some(5);
        let out = t.apply(r, &RecordContext::default()).unwrap().unwrap();
        let s2 = out.value_schema.unwrap();
        assert_eq!(s2.name.as_deref(), Some("name"));
        assert_eq!(s2.version, Some(1));
        assert_eq!(s2.doc.as_deref(), Some("doc"));
        let names: Vec<&str> = s2.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "magic",
                "topic_field",
                "partition_field",
                "timestamp_field",
                "instance_id"
            ]
        );
        assert!(!s2.field("topic_field").unwrap().schema.optional);
        assert!(s2.field("partition_field").unwrap().schema.optional);
        assert_eq!(
            s2.field("timestamp_field").unwrap().schema.name.as_deref(),
            Some(logical::TIMESTAMP)
        );
        let st = out.value.as_struct().unwrap();
        assert_eq!(st.get("topic_field"), Some(&s("test")));
        assert_eq!(st.get("partition_field"), Some(&Value::Int32(0)));
        assert_eq!(st.get("timestamp_field"), Some(&Value::Int64(5)));
        assert_eq!(st.get("instance_id"), Some(&s("my-instance-id")));
    }

    #[test]
    fn tombstones_pass_and_offset_needs_a_sink_record() {
        let t = build(&props(&[("offset.field", "o")]), Side::Value).unwrap();
        let r = record(Value::Null);
        assert_eq!(
            t.apply(r.clone(), &RecordContext::default()).unwrap(),
            Some(r)
        );
        let e = t
            .apply(record(map(vec![])), &RecordContext::default())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord"
        );
        let e = t.apply(record(s("x")), &ctx(1)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [field insertion], found: java.lang.String"
        );
    }

    #[test]
    fn key_side() {
        let t = build(&props(&[("topic.field", "t")]), Side::Key).unwrap();
        let mut r = record(s("v"));
        r.key = map(vec![]);
        let out = t.apply(r, &ctx(0)).unwrap().unwrap();
        assert_eq!(out.key, map(vec![("t", s("test"))]));
        assert_eq!(out.value, s("v"));
    }
}
