//! `Cast$Key` / `Cast$Value`: cast fields (`spec=a:int32,b:string`) or the
//! whole key/value (`spec=int64`) to another primitive type. Inputs may be
//! any primitive or BYTES (to string, as base64); logical types (Decimal,
//! Date, Time, Timestamp) are read as their number, or their ISO text for
//! strings.

use base64::Engine;

use super::datefmt::{DateFormat, MILLIS_PER_DAY};
use super::util::{self, key, Side};
use super::{RecordContext, Transformation};
use crate::config::def::{split_list, ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::{logical, ConnectRecord, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "cast types";

const OUTPUT: [Type; 8] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
];

const INPUT: [Type; 9] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
    Type::Bytes,
];

fn type_list(types: &[Type]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.upper_name()).collect();
    format!("[{}]", names.join(", "))
}

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            key(
                "spec",
                ConfigType::List,
                Default::Required,
                Importance::High,
                "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string.",
            )
            .validator(Validator::Custom(check_spec)),
        )
        .define(util::replace_null_key())
        .define(util::field_syntax_key())
}

fn check_spec(v: &str) -> Option<String> {
    let list = split_list(v);
    if list.is_empty() {
        return Some("Must specify at least one field to cast.".to_string());
    }
    parse_spec(&list).err()
}

/// What to cast: the whole value, or named fields.
#[derive(Clone, Debug, PartialEq)]
enum Spec {
    Whole(Type),
    Fields(Vec<(String, Type)>),
}

fn output_type(name: &str) -> Result<Type, String> {
    let t = Type::from_upper_name(&name.trim().to_ascii_uppercase())
        .ok_or_else(|| format!("Invalid type found in casting spec: {}", name.trim()))?;
    if OUTPUT.contains(&t) {
        Ok(t)
    } else {
        Err(format!(
            "Cast transformation does not support casting to {t}; supported types are {}",
            type_list(&OUTPUT)
        ))
    }
}

fn parse_spec(list: &[String]) -> Result<Spec, String> {
    let mut fields = Vec::new();
    let mut whole = None;
    for m in list {
        let parts: Vec<&str> = m.split(':').collect();
        match parts.len() {
            1 => whole = Some(output_type(parts[0])?),
            2 => fields.push((parts[0].trim().to_string(), output_type(parts[1])?)),
            _ => return Err(format!("Invalid rename mapping: {m}")),
        }
    }
    match whole {
        Some(_) if list.len() > 1 => Err(
            "Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec"
                .to_string(),
        ),
        Some(t) => Ok(Spec::Whole(t)),
        None => Ok(Spec::Fields(fields)),
    }
}

pub struct Cast {
    side: Side,
    spec: Spec,
    replace_null_with_default: bool,
}

pub fn build(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), props)?;
    let spec = parse_spec(&c.list("spec")).map_err(Error::config)?;
    if let Spec::Fields(f) = &spec {
        let names: Vec<String> = f.iter().map(|(n, _)| n.clone()).collect();
        util::require_top_level(&c, &names, "Cast")?;
    }
    Ok(Box::new(Cast {
        side,
        spec,
        replace_null_with_default: c.bool(util::REPLACE_NULL_WITH_DEFAULT),
    }))
}

/// A number as Java's `Number` sees it: integral or floating.
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn as_i64(&self) -> i64 {
        match self {
            Num::Int(i) => *i as i64,
            Num::Float(f) => *f as i64,
        }
    }
    fn as_f64(&self) -> f64 {
        match self {
            Num::Int(i) => *i as f64,
            Num::Float(f) => *f,
        }
    }
}

fn out_of_range(v: &str) -> Error {
    Error::data(format!(
        "Value ({v}) was out of range for requested data type"
    ))
}

/// Java's `toString` of a logical value as `Values.dateFormatFor` prints it.
fn date_string(millis: i64) -> String {
    let pattern = if (0..MILLIS_PER_DAY).contains(&millis) {
        "HH:mm:ss.SSS'Z'"
    } else if millis % MILLIS_PER_DAY == 0 {
        "yyyy-MM-dd"
    } else {
        "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    };
    DateFormat::new(pattern)
        .map(|f| f.format(millis))
        .unwrap_or_default()
}

/// `Cast.castValueToType`.
pub fn cast_value(schema: Option<&Schema>, value: &Value, target: Type) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match schema {
        Some(s) => s.ty,
        None => value.inferred_type().ok_or_else(|| {
            Error::data(format!(
                "Cast transformation was passed a value of type class {} which is not supported by Connect's data API",
                value.java_class()
            ))
        })?,
    };
    if !INPUT.contains(&inferred) {
        return Err(Error::data(format!(
            "Cast transformation does not support casting from {inferred}; supported types are {}",
            type_list(&INPUT)
        )));
    }
    let logical_name = schema.and_then(|s| s.name.as_deref());
    // Logical values: Decimal as a number, Date/Time/Timestamp as millis (or text).
    let num: Option<Num> = match (logical_name, value) {
        (Some(logical::DECIMAL), Value::Bytes(b)) => {
            let scale = schema.map(logical::scale).unwrap_or(0);
            if target == Type::String {
                return Ok(Value::String(logical::decimal_to_string(b, scale)));
            }
            let text = logical::decimal_to_string(b, scale);
            if matches!(target, Type::Float32 | Type::Float64) {
                Some(Num::Float(text.parse().unwrap_or(0.0)))
            } else {
                Some(Num::Int(
                    text.split('.').next().unwrap_or("0").parse().unwrap_or(0),
                ))
            }
        }
        (Some(logical::DATE), Value::Int32(days)) => {
            if target == Type::String {
                return Ok(Value::String(date_string(
                    i64::from(*days) * MILLIS_PER_DAY,
                )));
            }
            Some(Num::Int(i128::from(*days)))
        }
        (Some(logical::TIME), Value::Int32(ms)) => {
            if target == Type::String {
                return Ok(Value::String(date_string(i64::from(*ms))));
            }
            Some(Num::Int(i128::from(*ms)))
        }
        (Some(logical::TIMESTAMP), Value::Int64(ms)) => {
            if target == Type::String {
                return Ok(Value::String(date_string(*ms)));
            }
            Some(Num::Int(i128::from(*ms)))
        }
        (_, Value::Int8(v)) => Some(Num::Int(i128::from(*v))),
        (_, Value::Int16(v)) => Some(Num::Int(i128::from(*v))),
        (_, Value::Int32(v)) => Some(Num::Int(i128::from(*v))),
        (_, Value::Int64(v)) => Some(Num::Int(i128::from(*v))),
        (_, Value::Float32(v)) => Some(Num::Float(f64::from(*v))),
        (_, Value::Float64(v)) => Some(Num::Float(*v)),
        _ => None,
    };
    let unexpected = || {
        Error::data(format!(
            "Unexpected type in Cast transformation: class {}",
            value.java_class()
        ))
    };
    let text = value.as_str().map(str::trim);
    let int = |bits: u32| -> Result<i64> {
        if let Some(n) = &num {
            // Java's byteValue()/shortValue()/intValue() wrap around.
            let v = n.as_i64();
            return Ok(match bits {
                8 => i64::from(v as i8),
                16 => i64::from(v as i16),
                32 => i64::from(v as i32),
                _ => v,
            });
        }
        match value {
            Value::Boolean(b) => Ok(i64::from(*b)),
            Value::String(s) => {
                let v: i64 = s.trim().parse().map_err(|_| out_of_range(s))?;
                let ok = match bits {
                    8 => i8::try_from(v).is_ok(),
                    16 => i16::try_from(v).is_ok(),
                    32 => i32::try_from(v).is_ok(),
                    _ => true,
                };
                if ok {
                    Ok(v)
                } else {
                    Err(out_of_range(s))
                }
            }
            _ => Err(unexpected()),
        }
    };
    let float = || -> Result<f64> {
        if let Some(n) = &num {
            return Ok(n.as_f64());
        }
        match value {
            Value::Boolean(b) => Ok(if *b { 1.0 } else { 0.0 }),
            Value::String(s) => s.trim().parse().map_err(|_| out_of_range(s)),
            _ => Err(unexpected()),
        }
    };
    Ok(match target {
        Type::Int8 => Value::Int8(int(8)? as i8),
        Type::Int16 => Value::Int16(int(16)? as i16),
        Type::Int32 => Value::Int32(int(32)? as i32),
        Type::Int64 => Value::Int64(int(64)?),
        Type::Float32 => Value::Float32(float()? as f32),
        Type::Float64 => Value::Float64(float()?),
        Type::Boolean => match (&num, value) {
            (Some(n), _) => Value::Boolean(n.as_i64() != 0),
            (None, Value::Boolean(b)) => Value::Boolean(*b),
            (None, Value::String(_)) => {
                Value::Boolean(text.is_some_and(|t| t.eq_ignore_ascii_case("true")))
            }
            _ => return Err(unexpected()),
        },
        Type::String => match value {
            Value::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            v => Value::String(v.to_string()),
        },
        other => {
            return Err(Error::data(format!(
                "{other} is not supported in the Cast transformation."
            )))
        }
    })
}

fn target_schema(t: Type) -> SchemaBuilder {
    SchemaBuilder::new(t)
}

impl Cast {
    fn cast_of(&self, field: &str) -> Option<Type> {
        match &self.spec {
            Spec::Fields(f) => f.iter().find(|(n, _)| n == field).map(|(_, t)| *t),
            Spec::Whole(_) => None,
        }
    }

    fn updated_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut b = match &self.spec {
            Spec::Whole(t) => util::copy_basics(schema, target_schema(*t)),
            Spec::Fields(_) => {
                let mut b = util::copy_basics(schema, SchemaBuilder::struct_());
                for f in &schema.fields {
                    match self.cast_of(&f.name) {
                        Some(t) => {
                            let mut fb = target_schema(t);
                            if f.schema.optional {
                                fb = fb.optional();
                            }
                            if let Some(d) = &f.schema.default {
                                fb = fb.default_value(cast_value(Some(&f.schema), d, t)?);
                            }
                            b = b.field(&f.name, fb.build());
                        }
                        None => b = b.field(&f.name, f.schema.clone()),
                    }
                }
                b
            }
        };
        if schema.optional {
            b = b.optional();
        }
        if let (Some(d), Spec::Whole(t)) = (&schema.default, &self.spec) {
            b = b.default_value(cast_value(Some(schema), d, *t)?);
        }
        Ok(b.build())
    }
}

impl Transformation for Cast {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        if self.side.value(&r).is_null() {
            return Ok(Some(r));
        }
        match self.side.schema(&r).cloned() {
            None => match &self.spec {
                Spec::Whole(t) => {
                    let v = cast_value(None, self.side.value(&r), *t)?;
                    self.side.set(&mut r, None, v);
                }
                Spec::Fields(fields) => {
                    let orig = util::require_map(self.side.value(&r), PURPOSE)?;
                    let mut m = orig.clone();
                    for (name, t) in fields {
                        let v = util::map_get(orig, name).cloned().unwrap_or(Value::Null);
                        util::map_put(&mut m, name, cast_value(None, &v, *t)?);
                    }
                    self.side.set(&mut r, None, Value::Map(m));
                }
            },
            Some(schema) => {
                if let Spec::Whole(t) = &self.spec {
                    let updated = self.updated_schema(&schema)?;
                    let v = cast_value(Some(&schema), self.side.value(&r), *t)?;
                    self.side.set(&mut r, Some(updated), v);
                    return Ok(Some(r));
                }
                let value = util::require_struct(self.side.value(&r), PURPOSE)?;
                let updated = self.updated_schema(&value.schema)?;
                let mut out = Struct::new(updated.clone());
                for f in &value.schema.fields {
                    let orig = util::field_value(value, &f.name, self.replace_null_with_default);
                    let v = match self.cast_of(&f.name) {
                        Some(t) => cast_value(Some(&f.schema), &orig, t)?,
                        None => orig,
                    };
                    util::put(&mut out, &f.name, v)?;
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

    fn ctx() -> RecordContext {
        RecordContext::default()
    }

    #[test]
    fn whole_value_schemaless() {
        let t = build(&props(&[("spec", "int8")]), Side::Value).unwrap();
        let out = t.apply(record(Value::Int64(42)), &ctx()).unwrap().unwrap();
        assert_eq!(out.value, Value::Int8(42));
        let t = build(&props(&[("spec", "boolean")]), Side::Key).unwrap();
        let mut r = record(Value::Null);
        r.key = s("true");
        assert_eq!(
            t.apply(r, &ctx()).unwrap().unwrap().key,
            Value::Boolean(true)
        );
        let t = build(&props(&[("spec", "string")]), Side::Value).unwrap();
        let out = t
            .apply(record(Value::Bytes(b"hi".to_vec())), &ctx())
            .unwrap()
            .unwrap();
        assert_eq!(out.value, s("aGk="));
    }

    #[test]
    fn fields_with_schema() {
        let t = build(
            &props(&[("spec", "int8:int16,f:int32,b:string,ts:int64,d:string")]),
            Side::Value,
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .field("int8", Schema::of(Type::Int8))
            .field("f", Schema::optional(Type::Float64))
            .field("b", Schema::of(Type::Boolean))
            .field("ts", logical::timestamp().build())
            .field("d", logical::date().build())
            .field("other", Schema::of(Type::String))
            .build();
        let v = Struct::new(schema.clone())
            .with("int8", Value::Int8(8))
            .unwrap()
            .with("f", Value::Float64(32.9))
            .unwrap()
            .with("b", Value::Boolean(true))
            .unwrap()
            .with("ts", Value::Int64(1_483_425_001_864))
            .unwrap()
            .with("d", Value::Int32(17169))
            .unwrap()
            .with("other", s("x"))
            .unwrap();
        let out = t
            .apply(
                ConnectRecord::new("t", Some(schema), Value::Struct(v)),
                &ctx(),
            )
            .unwrap()
            .unwrap();
        let sch = out.value_schema.unwrap();
        assert_eq!(sch.field("int8").unwrap().schema.ty, Type::Int16);
        assert_eq!(sch.field("f").unwrap().schema.ty, Type::Int32);
        assert!(sch.field("f").unwrap().schema.optional);
        assert_eq!(sch.field("ts").unwrap().schema.name, None);
        let st = out.value.as_struct().unwrap();
        assert_eq!(st.get("int8"), Some(&Value::Int16(8)));
        assert_eq!(st.get("f"), Some(&Value::Int32(32)));
        assert_eq!(st.get("b"), Some(&s("true")));
        assert_eq!(st.get("ts"), Some(&Value::Int64(1_483_425_001_864)));
        assert_eq!(st.get("d"), Some(&s("2017-01-03")));
        assert_eq!(st.get("other"), Some(&s("x")));
    }

    #[test]
    fn schemaless_fields_and_errors() {
        let t = build(&props(&[("spec", "a:int32,missing:string")]), Side::Value).unwrap();
        let out = t
            .apply(record(map(vec![("a", s("42"))])), &ctx())
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            map(vec![("a", Value::Int32(42)), ("missing", Value::Null)])
        );
        let e = t
            .apply(record(map(vec![("a", s("x"))])), &ctx())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Value (x) was out of range for requested data type"
        );
        let e = t
            .apply(record(map(vec![("a", map(vec![]))])), &ctx())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cast transformation does not support casting from MAP; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
        );
        assert_eq!(
            check_spec("a:int8,int16").as_deref(),
            Some("Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec")
        );
        assert_eq!(
            check_spec("a:bytes").as_deref(),
            Some("Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]")
        );
        assert_eq!(
            check_spec("a:foo").as_deref(),
            Some("Invalid type found in casting spec: foo")
        );
        assert_eq!(
            check_spec("").as_deref(),
            Some("Must specify at least one field to cast.")
        );
    }
}
