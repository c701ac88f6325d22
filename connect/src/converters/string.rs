//! `org.apache.kafka.connect.storage.StringConverter`: values as text
//! (`converter.encoding`, UTF-8 by default); anything not a string is
//! written as Java's `toString` of it.

use super::Converter;
use crate::config::def::{ConfigKey, ConfigType, Default, Importance};
use crate::config::{ConfigDef, Props};
use crate::data::{Schema, SchemaRef, Type, Value};
use crate::error::{Error, Result};

pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new(
        "converter.encoding",
        ConfigType::String,
        Default::Value("UTF-8".into()),
        Importance::High,
        "The name of the character encoding for strings.",
    ))
}

pub struct StringConverter {
    latin1: bool,
}

impl StringConverter {
    pub fn configure(props: &Props) -> Result<Self> {
        let enc = props
            .get("converter.encoding")
            .map(|s| s.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "UTF-8".to_string());
        let latin1 = match enc.as_str() {
            "UTF-8" | "UTF8" | "US-ASCII" | "ASCII" => false,
            "ISO-8859-1" | "LATIN1" => true,
            other => return Err(Error::config(format!("Unsupported encoding {other}"))),
        };
        Ok(StringConverter { latin1 })
    }
}

impl Converter for StringConverter {
    fn to_bytes(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if value.is_null() {
            return Ok(None);
        }
        let s = value.to_string();
        Ok(Some(if self.latin1 {
            s.chars()
                .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                .collect()
        } else {
            s.into_bytes()
        }))
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let schema = Some(Schema::optional(Type::String));
        match data {
            None => Ok((schema, Value::Null)),
            Some(b) if self.latin1 => Ok((
                schema,
                Value::String(b.iter().map(|&c| c as char).collect()),
            )),
            Some(b) => Ok((
                schema,
                Value::String(String::from_utf8_lossy(b).into_owned()),
            )),
        }
    }
}
