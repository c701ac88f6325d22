//! `org.apache.kafka.connect.converters.ByteArrayConverter`: bytes pass through.

use super::Converter;
use crate::data::{Schema, SchemaRef, Type, Value};
use crate::error::{Error, Result};

pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn to_bytes(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(s) = schema {
            if s.ty != Type::Bytes {
                return Err(Error::data(format!(
                    "Invalid schema type for ByteArrayConverter: {}",
                    s.ty
                )));
            }
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(Error::data(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                other.java_class()
            ))),
        }
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        Ok((
            Some(Schema::optional(Type::Bytes)),
            data.map(|b| Value::Bytes(b.to_vec()))
                .unwrap_or(Value::Null),
        ))
    }
}
