//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`: header values
//! as their string form; reading infers booleans and numbers, and keeps
//! anything else a string.

use super::HeaderConverter;
use crate::data::{Schema, SchemaRef, Type, Value};
use crate::error::Result;

pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    fn header_to_bytes(
        &self,
        _topic: &str,
        _key: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        Ok(match value {
            Value::Null => None,
            Value::Bytes(b) => Some(b.clone()),
            Value::Map(_) | Value::Array(_) | Value::Struct(_) => {
                Some(value.to_json().to_string().into_bytes())
            }
            v => Some(v.to_string().into_bytes()),
        })
    }

    fn header_to_connect(
        &self,
        _topic: &str,
        _key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<SchemaRef>, Value)> {
        let Some(data) = data else {
            return Ok((None, Value::Null));
        };
        let text = String::from_utf8_lossy(data).into_owned();
        let t = text.trim();
        if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
            return Ok((
                Some(Schema::of(Type::Boolean)),
                Value::Boolean(t.eq_ignore_ascii_case("true")),
            ));
        }
        if let Ok(n) = t.parse::<i64>() {
            return Ok(if let Ok(n) = i8::try_from(n) {
                (Some(Schema::of(Type::Int8)), Value::Int8(n))
            } else if let Ok(n) = i16::try_from(n) {
                (Some(Schema::of(Type::Int16)), Value::Int16(n))
            } else if let Ok(n) = i32::try_from(n) {
                (Some(Schema::of(Type::Int32)), Value::Int32(n))
            } else {
                (Some(Schema::of(Type::Int64)), Value::Int64(n))
            });
        }
        Ok((Some(Schema::of(Type::String)), Value::String(text)))
    }
}
