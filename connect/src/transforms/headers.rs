//! Header transformations: `DropHeaders` (`headers`), `InsertHeader`
//! (`header` = `value.literal`, typed as Connect's `Values.parseString`
//! would: boolean, the smallest integer type, float, else string), and
//! `HeaderFrom$Key` / `$Value` (copy or move `fields` into `headers`).

use super::util::{self, key, Side};
use super::{RecordContext, Transformation};
use crate::config::def::{ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::{ConnectRecord, Header, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

pub fn drop_headers_config_def() -> ConfigDef {
    ConfigDef::new().define(
        key(
            "headers",
            ConfigType::List,
            Default::Required,
            Importance::High,
            "The name of the headers to be removed.",
        )
        .validator(util::non_empty_list_validator()),
    )
}

pub struct DropHeaders(Vec<String>);

pub fn build_drop_headers(props: &Props) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&drop_headers_config_def(), props)?;
    Ok(Box::new(DropHeaders(c.list("headers"))))
}

impl Transformation for DropHeaders {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        r.headers.retain(|h| !self.0.contains(&h.key));
        Ok(Some(r))
    }
}

pub fn insert_header_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            key(
                "header",
                ConfigType::String,
                Default::Required,
                Importance::High,
                "The name of the header.",
            )
            .validator(Validator::NonEmptyString),
        )
        .define(
            key(
                "value.literal",
                ConfigType::String,
                Default::Required,
                Importance::High,
                "The literal value that is to be set as the header value on all records.",
            )
            .validator(Validator::NonEmptyString),
        )
}

/// A literal's schema and value, as `Values.parseString` infers them.
pub fn parse_literal(text: &str) -> (Option<SchemaRef>, Value) {
    let t = text.trim();
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        return (
            Some(Schema::of(Type::Boolean)),
            Value::Boolean(t.eq_ignore_ascii_case("true")),
        );
    }
    if let Ok(n) = t.parse::<i64>() {
        return if let Ok(n) = i8::try_from(n) {
            (Some(Schema::of(Type::Int8)), Value::Int8(n))
        } else if let Ok(n) = i16::try_from(n) {
            (Some(Schema::of(Type::Int16)), Value::Int16(n))
        } else if let Ok(n) = i32::try_from(n) {
            (Some(Schema::of(Type::Int32)), Value::Int32(n))
        } else {
            (Some(Schema::of(Type::Int64)), Value::Int64(n))
        };
    }
    let numeric = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && t.chars().any(|c| c.is_ascii_digit());
    if numeric {
        if let Ok(f) = t.parse::<f64>() {
            let f32v = f as f32;
            return if f32v.is_finite() && f64::from(f32v) == f {
                (Some(Schema::of(Type::Float32)), Value::Float32(f32v))
            } else {
                (Some(Schema::of(Type::Float64)), Value::Float64(f))
            };
        }
    }
    (
        Some(Schema::of(Type::String)),
        Value::String(text.to_string()),
    )
}

pub struct InsertHeader {
    header: String,
    schema: Option<SchemaRef>,
    value: Value,
}

pub fn build_insert_header(props: &Props) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&insert_header_config_def(), props)?;
    let (schema, value) = parse_literal(&c.string("value.literal").unwrap_or_default());
    Ok(Box::new(InsertHeader {
        header: c.string("header").unwrap_or_default(),
        schema,
        value,
    }))
}

impl Transformation for InsertHeader {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        r.headers.push(Header {
            key: self.header.clone(),
            schema: self.schema.clone(),
            value: self.value.clone(),
        });
        Ok(Some(r))
    }
}

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            key(
                "fields",
                ConfigType::List,
                Default::Required,
                Importance::High,
                "Field names in the record whose values are to be copied or moved to headers.",
            )
            .validator(util::non_empty_list_validator()),
        )
        .define(
            key(
                "headers",
                ConfigType::List,
                Default::Required,
                Importance::High,
                "Header names, in the same order as the field names listed in the fields configuration property.",
            )
            .validator(util::non_empty_list_validator()),
        )
        .define(
            key(
                "operation",
                ConfigType::String,
                Default::Required,
                Importance::High,
                "Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value).",
            )
            .validator(Validator::OneOf(&["move", "copy"], false)),
        )
        .define(util::replace_null_key())
        .define(util::field_syntax_key())
}

pub struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    is_move: bool,
    replace_null_with_default: bool,
}

pub fn build(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), props)?;
    let fields = c.list("fields");
    util::require_top_level(&c, &fields, "HeaderFrom")?;
    let headers = c.list("headers");
    if fields.len() != headers.len() {
        return Err(Error::config(
            "'fields' config must have the same number of elements as 'headers' config.",
        ));
    }
    Ok(Box::new(HeaderFrom {
        side,
        fields,
        headers,
        is_move: c.string("operation").as_deref() == Some("move"),
        replace_null_with_default: c.bool(util::REPLACE_NULL_WITH_DEFAULT),
    }))
}

impl HeaderFrom {
    fn purpose(&self) -> &'static str {
        if self.is_move {
            "header move"
        } else {
            "header copy"
        }
    }
}

impl Transformation for HeaderFrom {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        match self.side.schema(&r).cloned() {
            None => {
                let value = util::require_map(self.side.value(&r), self.purpose())?;
                let mut m = value.clone();
                let mut added = Vec::new();
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let v = util::map_get(value, field).cloned().unwrap_or(Value::Null);
                    if self.is_move {
                        util::map_remove(&mut m, field);
                    }
                    added.push(Header {
                        key: header.clone(),
                        schema: None,
                        value: v,
                    });
                }
                r.headers.extend(added);
                self.side.set(&mut r, None, Value::Map(m));
            }
            Some(schema) => {
                let value = util::require_struct(self.side.value(&r), self.purpose())?;
                let mut added = Vec::new();
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let f = schema.field(field).ok_or_else(|| {
                        Error::data(format!("Field {field} not found in the schema"))
                    })?;
                    added.push(Header {
                        key: header.clone(),
                        schema: Some(f.schema.clone()),
                        value: util::field_value(value, field, self.replace_null_with_default),
                    });
                }
                if self.is_move {
                    let mut b = SchemaBuilder::struct_();
                    for f in &value.schema.fields {
                        if !self.fields.contains(&f.name) {
                            b = b.field(&f.name, f.schema.clone());
                        }
                    }
                    let updated = b.build();
                    let mut out = Struct::new(updated.clone());
                    for f in &updated.fields {
                        let v = util::field_value(value, &f.name, self.replace_null_with_default);
                        util::put(&mut out, &f.name, v)?;
                    }
                    self.side.set(&mut r, Some(updated), Value::Struct(out));
                }
                r.headers.extend(added);
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

    fn header(k: &str, v: Value) -> Header {
        Header {
            key: k.into(),
            schema: None,
            value: v,
        }
    }

    #[test]
    fn drop_and_insert() {
        let t = build_drop_headers(&props(&[("headers", "a,b")])).unwrap();
        let mut r = record(Value::Null);
        r.headers = vec![
            header("a", s("1")),
            header("c", s("2")),
            header("b", s("3")),
        ];
        let out = t.apply(r, &ctx()).unwrap().unwrap();
        assert_eq!(out.headers, vec![header("c", s("2"))]);

        let t = build_insert_header(&props(&[("header", "h"), ("value.literal", "42")])).unwrap();
        let out = t.apply(out, &ctx()).unwrap().unwrap();
        assert_eq!(out.headers[1].value, Value::Int8(42));
        assert_eq!(parse_literal("hello").1, s("hello"));
        assert_eq!(parse_literal("true").1, Value::Boolean(true));
        assert_eq!(parse_literal("1.5").1, Value::Float32(1.5));
        assert_eq!(parse_literal("100000").1, Value::Int32(100_000));
        let values = insert_header_config_def().validate(&props(&[("header", "")]));
        assert_eq!(
            values[0].errors,
            ["Invalid value  for configuration header: String must be non-empty"]
        );
        assert_eq!(
            values[1].errors,
            ["Missing required configuration \"value.literal\" which has no default value."]
        );
    }

    #[test]
    fn header_from_schemaless() {
        let t = build(
            &props(&[
                ("fields", "a,b"),
                ("headers", "ha,hb"),
                ("operation", "move"),
            ]),
            Side::Value,
        )
        .unwrap();
        let mut r = record(map(vec![
            ("a", s("x")),
            ("b", Value::Int64(1)),
            ("c", s("y")),
        ]));
        r.headers.push(header("old", s("o")));
        let out = t.apply(r, &ctx()).unwrap().unwrap();
        assert_eq!(out.value, map(vec![("c", s("y"))]));
        assert_eq!(
            out.headers,
            vec![
                header("old", s("o")),
                header("ha", s("x")),
                header("hb", Value::Int64(1))
            ]
        );
        assert!(build(
            &props(&[("fields", "a,b"), ("headers", "ha"), ("operation", "copy")]),
            Side::Value
        )
        .is_err());
    }

    #[test]
    fn header_from_with_schema() {
        let t = build(
            &props(&[("fields", "a"), ("headers", "ha"), ("operation", "copy")]),
            Side::Key,
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::of(Type::String))
            .field("b", Schema::of(Type::Int32))
            .build();
        let v = Struct::new(schema.clone())
            .with("a", s("x"))
            .unwrap()
            .with("b", Value::Int32(2))
            .unwrap();
        let mut r = record(Value::Null);
        r.key_schema = Some(schema.clone());
        r.key = Value::Struct(v);
        let out = t.apply(r.clone(), &ctx()).unwrap().unwrap();
        assert_eq!(out.key, r.key);
        assert_eq!(out.headers[0].value, s("x"));
        assert_eq!(out.headers[0].schema, Some(Schema::of(Type::String)));

        let t = build(
            &props(&[("fields", "a"), ("headers", "ha"), ("operation", "move")]),
            Side::Key,
        )
        .unwrap();
        let out = t.apply(r, &ctx()).unwrap().unwrap();
        let k = out.key.as_struct().unwrap();
        assert_eq!(k.schema.fields.len(), 1);
        assert_eq!(k.get("b"), Some(&Value::Int32(2)));
        let e = t.apply(record(s("x")), &ctx()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only Map objects supported in absence of schema for [header move], found: null"
        );
    }
}
