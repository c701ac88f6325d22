//! `TimestampConverter$Key` / `$Value`: convert a timestamp (the whole
//! key/value, or `field`) between `string` (a `SimpleDateFormat` pattern in
//! `format`, UTC), `unix` (a long in `unix.precision`), and Connect's
//! `Date`, `Time` and `Timestamp` logical types.
//!
//! Schemaless `Date` / `Time` / `Timestamp` results are Java `Date`s in
//! Kafka; here they are their milliseconds since the epoch (an INT64).

use super::datefmt::{DateFormat, MILLIS_PER_DAY};
use super::util::{self, key, value, Side};
use super::{RecordContext, Transformation};
use crate::config::def::{ConfigType, Default, Importance, Validator};
use crate::config::{ConfigDef, Props};
use crate::data::{logical, ConnectRecord, Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "converting timestamp formats";

const TYPES: [&str; 5] = ["string", "unix", "Date", "Time", "Timestamp"];
const PRECISIONS: [&str; 4] = ["nanoseconds", "microseconds", "milliseconds", "seconds"];

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(key(
            "field",
            ConfigType::String,
            value(""),
            Importance::High,
            "The field containing the timestamp, or empty if the entire value is a timestamp",
        ))
        .define(
            key(
                "target.type",
                ConfigType::String,
                Default::Required,
                Importance::High,
                "The desired timestamp representation: string, unix, Date, Time, or Timestamp",
            )
            .validator(Validator::OneOf(&TYPES, false)),
        )
        .define(key(
            "format",
            ConfigType::String,
            value(""),
            Importance::Medium,
            "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string.",
        ))
        .define(
            key(
                "unix.precision",
                ConfigType::String,
                value("milliseconds"),
                Importance::Low,
                "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input type is unix.",
            )
            .validator(Validator::OneOf(&PRECISIONS, false)),
        )
        .define(util::replace_null_key())
        .define(util::field_syntax_key())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }

    fn schema(self, optional: bool) -> SchemaRef {
        let b = match self {
            Kind::String => SchemaBuilder::new(Type::String),
            Kind::Unix => SchemaBuilder::new(Type::Int64),
            Kind::Date => logical::date(),
            Kind::Time => logical::time(),
            Kind::Timestamp => logical::timestamp(),
        };
        b.set_optional(optional).build()
    }
}

pub struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DateFormat>,
    /// `unix.precision`: the unit of unix values.
    precision: &'static str,
    replace_null_with_default: bool,
}

pub fn build(props: &Props, side: Side) -> Result<Box<dyn Transformation>> {
    let c = util::parse(&config_def(), props)?;
    let target = Kind::parse(&c.string("target.type").unwrap_or_default())
        .ok_or_else(|| Error::config("Unknown timestamp type in TimestampConverter"))?;
    let pattern = c.string("format").unwrap_or_default();
    if target == Kind::String && pattern.trim().is_empty() {
        return Err(Error::config(
            "TimestampConverter requires format option to be specified when using string timestamps",
        ));
    }
    let format = if pattern.trim().is_empty() {
        None
    } else {
        Some(DateFormat::new(&pattern).map_err(|_| {
            Error::config(format!(
                "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern}"
            ))
        })?)
    };
    util::require_top_level(
        &c,
        &[c.string("field").unwrap_or_default()],
        "TimestampConverter",
    )?;
    let precision = match c.string("unix.precision").as_deref() {
        Some("nanoseconds") => "nanoseconds",
        Some("microseconds") => "microseconds",
        Some("seconds") => "seconds",
        _ => "milliseconds",
    };
    Ok(Box::new(TimestampConverter {
        side,
        field: c.string("field").unwrap_or_default(),
        target,
        format,
        precision,
        replace_null_with_default: c.bool(util::REPLACE_NULL_WITH_DEFAULT),
    }))
}

impl TimestampConverter {
    /// The input kind by schema (`timestampTypeFromSchema`).
    fn kind_of_schema(schema: &Schema) -> Result<Kind> {
        match schema.name.as_deref() {
            Some(logical::TIMESTAMP) => return Ok(Kind::Timestamp),
            Some(logical::DATE) => return Ok(Kind::Date),
            Some(logical::TIME) => return Ok(Kind::Time),
            _ => {}
        }
        match schema.ty {
            Type::String => Ok(Kind::String),
            Type::Int64 => Ok(Kind::Unix),
            t => Err(Error::Connect(format!(
                "Schema Schema{{{t}}} does not correspond to a known timestamp type format"
            ))),
        }
    }

    /// The input kind of a schemaless value (`inferTimestampType`).
    fn kind_of_value(v: &Value) -> Result<Kind> {
        match v {
            Value::Int64(_) => Ok(Kind::Unix),
            Value::String(_) => Ok(Kind::String),
            other => Err(Error::data(format!(
                "TimestampConverter does not support class {} objects as timestamps",
                other.java_class()
            ))),
        }
    }

    /// Any input to milliseconds since the epoch.
    fn to_millis(&self, v: &Value, kind: Kind) -> Result<i64> {
        match (kind, v) {
            (Kind::String, Value::String(s)) => {
                let f = self.format.as_ref().ok_or_else(|| {
                    Error::Connect(
                        "TimestampConverter requires format option to be specified when using string timestamps"
                            .into(),
                    )
                })?;
                f.parse(s).ok_or_else(|| {
                    Error::data(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        f.pattern()
                    ))
                })
            }
            (Kind::Unix, Value::Int64(n)) => Ok(match self.precision {
                "nanoseconds" => n / 1_000_000,
                "microseconds" => n / 1000,
                "seconds" => n * 1000,
                _ => *n,
            }),
            (Kind::Date, Value::Int32(days)) => Ok(i64::from(*days) * MILLIS_PER_DAY),
            (Kind::Time, Value::Int32(ms)) => Ok(i64::from(*ms)),
            (Kind::Timestamp, Value::Int64(ms)) => Ok(*ms),
            (Kind::Date | Kind::Time, Value::Int64(ms)) => Ok(*ms),
            (k, other) => Err(Error::data(format!(
                "Expected {} to be a {}, but found class {}",
                match k {
                    Kind::String => "string",
                    Kind::Unix => "unix",
                    Kind::Date => "Date",
                    Kind::Time => "Time",
                    Kind::Timestamp => "Timestamp",
                },
                match k {
                    Kind::String => "java.lang.String",
                    Kind::Unix => "java.lang.Long",
                    _ => "java.util.Date",
                },
                other.java_class()
            ))),
        }
    }

    /// Milliseconds to the target representation; `schemaless` gives Java's
    /// `Date` objects as millis.
    fn millis_to_target(&self, ms: i64, schemaless: bool) -> Value {
        match self.target {
            Kind::String => Value::String(
                self.format
                    .as_ref()
                    .map(|f| f.format(ms))
                    .unwrap_or_default(),
            ),
            Kind::Unix => Value::Int64(match self.precision {
                "nanoseconds" => ms.saturating_mul(1_000_000),
                "microseconds" => ms.saturating_mul(1000),
                "seconds" => ms.div_euclid(1000),
                _ => ms,
            }),
            Kind::Date => {
                let days = ms.div_euclid(MILLIS_PER_DAY);
                if schemaless {
                    Value::Int64(days * MILLIS_PER_DAY)
                } else {
                    Value::Int32(days as i32)
                }
            }
            Kind::Time => {
                let t = ms.rem_euclid(MILLIS_PER_DAY);
                if schemaless {
                    Value::Int64(t)
                } else {
                    Value::Int32(t as i32)
                }
            }
            Kind::Timestamp => Value::Int64(ms),
        }
    }

    fn convert(&self, v: &Value, kind: Option<Kind>) -> Result<Value> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        let kind = match kind {
            Some(k) => k,
            None => Self::kind_of_value(v)?,
        };
        let ms = self.to_millis(v, kind)?;
        Ok(self.millis_to_target(ms, false))
    }

    fn convert_schemaless(&self, v: &Value) -> Result<Value> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        let kind = Self::kind_of_value(v)?;
        let ms = self.to_millis(v, kind)?;
        Ok(self.millis_to_target(ms, true))
    }

    fn struct_value(&self, value: &Struct, updated: &SchemaRef) -> Result<Struct> {
        let mut out = Struct::new(updated.clone());
        for f in &value.schema.fields {
            let v = util::field_value(value, &f.name, self.replace_null_with_default);
            let v = if f.name == self.field {
                self.convert(&v, Some(Self::kind_of_schema(&f.schema)?))?
            } else {
                v
            };
            util::put(&mut out, &f.name, v)?;
        }
        Ok(out)
    }
}

impl Transformation for TimestampConverter {
    fn apply(&self, mut r: ConnectRecord, _: &RecordContext) -> Result<Option<ConnectRecord>> {
        match self.side.schema(&r).cloned() {
            None => {
                let raw = self.side.value(&r);
                let v = if raw.is_null() || self.field.is_empty() {
                    self.convert_schemaless(raw)?
                } else {
                    let orig = util::require_map(raw, PURPOSE)?;
                    let mut m = orig.clone();
                    let fv = util::map_get(orig, &self.field)
                        .cloned()
                        .unwrap_or(Value::Null);
                    util::map_put(&mut m, &self.field, self.convert_schemaless(&fv)?);
                    Value::Map(m)
                };
                self.side.set(&mut r, None, v);
            }
            Some(schema) => {
                if self.field.is_empty() {
                    let updated = self.target.schema(schema.optional);
                    let v =
                        self.convert(self.side.value(&r), Some(Self::kind_of_schema(&schema)?))?;
                    self.side.set(&mut r, Some(updated), v);
                    return Ok(Some(r));
                }
                let value = util::require_struct_or_null(self.side.value(&r), PURPOSE)?;
                let mut b = util::copy_basics(&schema, SchemaBuilder::struct_());
                for f in &schema.fields {
                    if f.name == self.field {
                        b = b.field(&f.name, self.target.schema(f.schema.optional));
                    } else {
                        b = b.field(&f.name, f.schema.clone());
                    }
                }
                if schema.optional {
                    b = b.optional();
                }
                if let Some(Value::Struct(d)) = &schema.default {
                    let provisional = b.clone().build();
                    b = b.default_value(Value::Struct(self.struct_value(d, &provisional)?));
                }
                let updated = b.build();
                let v = match value {
                    None => Value::Null,
                    Some(s) => Value::Struct(self.struct_value(s, &updated)?),
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

    const MS: i64 = 1_483_425_001_864; // 2017-01-03T06:30:01.864Z
    const DATE_DAYS: i32 = 17169; // 2017-01-03
    const TIME_MS: i32 = (6 * 3600 + 30 * 60 + 1) * 1000 + 864;

    fn ctx() -> RecordContext {
        RecordContext::default()
    }

    fn conv(pairs: &[(&str, &str)]) -> Box<dyn Transformation> {
        build(&props(pairs), Side::Value).unwrap()
    }

    #[test]
    fn schemaless_whole_value() {
        let t = conv(&[
            ("target.type", "string"),
            ("format", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
        ]);
        let out = t.apply(record(Value::Int64(MS)), &ctx()).unwrap().unwrap();
        assert_eq!(out.value, s("2017-01-03T06:30:01.864Z"));
        let t = conv(&[
            ("target.type", "unix"),
            ("format", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
            ("unix.precision", "seconds"),
        ]);
        let out = t
            .apply(record(s("2017-01-03T06:30:01.864Z")), &ctx())
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Int64(MS / 1000));
        let t = conv(&[("target.type", "Date")]);
        let out = t.apply(record(Value::Int64(MS)), &ctx()).unwrap().unwrap();
        assert_eq!(
            out.value,
            Value::Int64(i64::from(DATE_DAYS) * MILLIS_PER_DAY)
        );
        let out = t.apply(record(Value::Null), &ctx()).unwrap().unwrap();
        assert_eq!(out.value, Value::Null);
        let e = t.apply(record(Value::Boolean(true)), &ctx()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "TimestampConverter does not support class java.lang.Boolean objects as timestamps"
        );
    }

    #[test]
    fn with_schema_and_field() {
        let t = conv(&[("target.type", "Time"), ("field", "ts")]);
        let schema = SchemaBuilder::struct_()
            .field("ts", logical::timestamp().build())
            .field("other", Schema::of(Type::String))
            .build();
        let v = Struct::new(schema.clone())
            .with("ts", Value::Int64(MS))
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
        assert_eq!(
            sch.field("ts").unwrap().schema.name.as_deref(),
            Some(logical::TIME)
        );
        let st = out.value.as_struct().unwrap();
        assert_eq!(st.get("ts"), Some(&Value::Int32(TIME_MS)));
        assert_eq!(st.get("other"), Some(&s("x")));

        let t = conv(&[
            ("target.type", "Timestamp"),
            ("unix.precision", "microseconds"),
        ]);
        let r = ConnectRecord::new("t", Some(Schema::of(Type::Int64)), Value::Int64(MS * 1000));
        let out = t.apply(r, &ctx()).unwrap().unwrap();
        assert_eq!(out.value, Value::Int64(MS));
        assert_eq!(
            out.value_schema.unwrap().name.as_deref(),
            Some(logical::TIMESTAMP)
        );
        let t = conv(&[("target.type", "string"), ("format", "yyyy-MM-dd")]);
        let r = ConnectRecord::new("t", Some(logical::date().build()), Value::Int32(DATE_DAYS));
        assert_eq!(t.apply(r, &ctx()).unwrap().unwrap().value, s("2017-01-03"));
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            build(&props(&[("target.type", "string")]), Side::Value)
                .err()
                .unwrap()
                .to_string(),
            "configuration: TimestampConverter requires format option to be specified when using string timestamps"
        );
        let values = config_def().validate(&props(&[("target.type", "date")]));
        assert_eq!(
            values[1].errors,
            ["Invalid value date for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp"]
        );
        let t = conv(&[("target.type", "unix"), ("format", "yyyy")]);
        let e = t.apply(record(s("nope")), &ctx()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Could not parse timestamp: value (nope) does not match pattern (yyyy)"
        );
    }
}
