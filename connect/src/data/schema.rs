//! Connect schemas.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::value::Value;

/// Connect's `Schema.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl Type {
    /// The lower-case name used by the JSON converter (`int32`, `struct`, ...).
    pub fn json_name(self) -> &'static str {
        match self {
            Type::Int8 => "int8",
            Type::Int16 => "int16",
            Type::Int32 => "int32",
            Type::Int64 => "int64",
            Type::Float32 => "float",
            Type::Float64 => "double",
            Type::Boolean => "boolean",
            Type::String => "string",
            Type::Bytes => "bytes",
            Type::Array => "array",
            Type::Map => "map",
            Type::Struct => "struct",
        }
    }

    pub fn from_json_name(name: &str) -> Option<Type> {
        Some(match name {
            "int8" => Type::Int8,
            "int16" => Type::Int16,
            "int32" => Type::Int32,
            "int64" => Type::Int64,
            "float" | "float32" => Type::Float32,
            "double" | "float64" => Type::Float64,
            "boolean" => Type::Boolean,
            "string" => Type::String,
            "bytes" => Type::Bytes,
            "array" => Type::Array,
            "map" => Type::Map,
            "struct" => Type::Struct,
            _ => return None,
        })
    }

    /// Connect's upper-case name (`INT32`, `STRUCT`, ...), as in Cast's spec and messages.
    pub fn upper_name(self) -> &'static str {
        match self {
            Type::Int8 => "INT8",
            Type::Int16 => "INT16",
            Type::Int32 => "INT32",
            Type::Int64 => "INT64",
            Type::Float32 => "FLOAT32",
            Type::Float64 => "FLOAT64",
            Type::Boolean => "BOOLEAN",
            Type::String => "STRING",
            Type::Bytes => "BYTES",
            Type::Array => "ARRAY",
            Type::Map => "MAP",
            Type::Struct => "STRUCT",
        }
    }

    pub fn from_upper_name(name: &str) -> Option<Type> {
        Self::from_json_name(&name.to_ascii_lowercase()).or(match name {
            "FLOAT32" => Some(Type::Float32),
            "FLOAT64" => Some(Type::Float64),
            _ => None,
        })
    }

    pub fn is_primitive(self) -> bool {
        !matches!(self, Type::Array | Type::Map | Type::Struct)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.upper_name())
    }
}

/// A shared schema.
pub type SchemaRef = Arc<Schema>;

/// A field of a STRUCT schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub index: usize,
    pub schema: SchemaRef,
}

/// A Connect schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    pub ty: Type,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    pub parameters: BTreeMap<String, String>,
    /// STRUCT fields.
    pub fields: Vec<Field>,
    /// MAP key schema.
    pub key_schema: Option<SchemaRef>,
    /// ARRAY element / MAP value schema.
    pub value_schema: Option<SchemaRef>,
}

impl Schema {
    pub fn of(ty: Type) -> SchemaRef {
        SchemaBuilder::new(ty).build()
    }

    pub fn optional(ty: Type) -> SchemaRef {
        SchemaBuilder::new(ty).optional().build()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether `value` fits this schema (Connect's `ConnectSchema.validateValue`).
    pub fn validate(&self, value: &Value) -> Result<(), String> {
        match value {
            Value::Null => {
                if self.optional || self.default.is_some() {
                    Ok(())
                } else {
                    Err("Invalid value: null used for required field".to_string())
                }
            }
            v => {
                let ok = matches!(
                    (self.ty, v),
                    (Type::Int8, Value::Int8(_))
                        | (Type::Int16, Value::Int16(_))
                        | (Type::Int32, Value::Int32(_))
                        | (Type::Int64, Value::Int64(_))
                        | (Type::Float32, Value::Float32(_))
                        | (Type::Float64, Value::Float64(_))
                        | (Type::Boolean, Value::Boolean(_))
                        | (Type::String, Value::String(_))
                        | (Type::Bytes, Value::Bytes(_))
                        | (Type::Array, Value::Array(_))
                        | (Type::Map, Value::Map(_))
                        | (Type::Struct, Value::Struct(_))
                );
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "Invalid Java object for schema with type {}: {}",
                        self.ty,
                        v.java_class()
                    ))
                }
            }
        }
    }
}

/// Builds a [`Schema`] (Connect's `SchemaBuilder`).
#[derive(Clone, Debug)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    pub fn new(ty: Type) -> Self {
        SchemaBuilder {
            schema: Schema {
                ty,
                optional: false,
                default: None,
                name: None,
                version: None,
                doc: None,
                parameters: BTreeMap::new(),
                fields: Vec::new(),
                key_schema: None,
                value_schema: None,
            },
        }
    }

    pub fn struct_() -> Self {
        Self::new(Type::Struct)
    }

    pub fn array(items: SchemaRef) -> Self {
        let mut b = Self::new(Type::Array);
        b.schema.value_schema = Some(items);
        b
    }

    pub fn map(keys: SchemaRef, values: SchemaRef) -> Self {
        let mut b = Self::new(Type::Map);
        b.schema.key_schema = Some(keys);
        b.schema.value_schema = Some(values);
        b
    }

    /// Start from an existing schema (to change its optionality, name, ...).
    pub fn from_schema(s: &Schema) -> Self {
        SchemaBuilder { schema: s.clone() }
    }

    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }

    pub fn required(mut self) -> Self {
        self.schema.optional = false;
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.schema.name = Some(name.to_string());
        self
    }

    pub fn version(mut self, v: i32) -> Self {
        self.schema.version = Some(v);
        self
    }

    pub fn doc(mut self, d: &str) -> Self {
        self.schema.doc = Some(d.to_string());
        self
    }

    pub fn default_value(mut self, v: Value) -> Self {
        self.schema.default = Some(v);
        self
    }

    pub fn parameter(mut self, k: &str, v: &str) -> Self {
        self.schema.parameters.insert(k.to_string(), v.to_string());
        self
    }

    pub fn field(mut self, name: &str, schema: SchemaRef) -> Self {
        let index = self.schema.fields.len();
        self.schema.fields.push(Field {
            name: name.to_string(),
            index,
            schema,
        });
        self
    }

    pub fn set_optional(mut self, optional: bool) -> Self {
        self.schema.optional = optional;
        self
    }

    pub fn build(self) -> SchemaRef {
        Arc::new(self.schema)
    }
}

/// Connect's logical types: names, and conversions between the logical and
/// the underlying (physical) value.
pub mod logical {
    use super::*;

    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// Decimal's parameter holding the scale.
    pub const SCALE: &str = "scale";

    pub const MILLIS_PER_DAY: i64 = 86_400_000;

    pub fn decimal(scale: i32) -> SchemaBuilder {
        SchemaBuilder::new(Type::Bytes)
            .name(DECIMAL)
            .version(1)
            .parameter(SCALE, &scale.to_string())
    }

    pub fn date() -> SchemaBuilder {
        SchemaBuilder::new(Type::Int32).name(DATE).version(1)
    }

    pub fn time() -> SchemaBuilder {
        SchemaBuilder::new(Type::Int32).name(TIME).version(1)
    }

    pub fn timestamp() -> SchemaBuilder {
        SchemaBuilder::new(Type::Int64).name(TIMESTAMP).version(1)
    }

    /// The scale of a Decimal schema.
    pub fn scale(schema: &Schema) -> i32 {
        schema
            .parameters
            .get(SCALE)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Decimal's bytes (big-endian two's complement unscaled value) to a decimal string.
    pub fn decimal_to_string(bytes: &[u8], scale: i32) -> String {
        let unscaled = twos_complement_to_i128(bytes);
        let negative = unscaled < 0;
        let digits = unscaled.unsigned_abs().to_string();
        let mut s = if scale <= 0 {
            let mut d = digits;
            if d != "0" {
                d.extend(std::iter::repeat_n('0', (-scale) as usize));
            }
            d
        } else {
            let scale = scale as usize;
            let padded = if digits.len() <= scale {
                format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
            } else {
                digits
            };
            let (int, frac) = padded.split_at(padded.len() - scale);
            format!("{int}.{frac}")
        };
        if negative {
            s.insert(0, '-');
        }
        s
    }

    /// A decimal string at `scale` to Decimal's bytes; `None` if it does not parse.
    pub fn decimal_from_string(text: &str, scale: i32) -> Option<Vec<u8>> {
        let text = text.trim();
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let scale_u = scale.max(0) as usize;
        let mut digits = String::from(int);
        let mut frac = frac.to_string();
        if frac.len() > scale_u {
            frac.truncate(scale_u);
        }
        while frac.len() < scale_u {
            frac.push('0');
        }
        digits.push_str(&frac);
        let mut n: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        if negative {
            n = -n;
        }
        Some(i128_to_twos_complement(n))
    }

    pub fn twos_complement_to_i128(bytes: &[u8]) -> i128 {
        if bytes.is_empty() {
            return 0;
        }
        let mut n: i128 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
        for b in bytes.iter().take(16) {
            n = (n << 8) | i128::from(*b);
        }
        n
    }

    /// The shortest big-endian two's complement form (as Java's `BigInteger.toByteArray`).
    pub fn i128_to_twos_complement(n: i128) -> Vec<u8> {
        let bytes = n.to_be_bytes();
        let mut start = 0;
        while start < 15 {
            let b = bytes[start];
            let next = bytes[start + 1];
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        bytes[start..].to_vec()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn decimals() {
            let b = decimal_from_string("-12.345", 3).unwrap();
            assert_eq!(decimal_to_string(&b, 3), "-12.345");
            assert_eq!(i128_to_twos_complement(128), vec![0, 128]);
            assert_eq!(i128_to_twos_complement(-1), vec![0xff]);
            assert_eq!(decimal_to_string(&i128_to_twos_complement(5), 2), "0.05");
            assert_eq!(twos_complement_to_i128(&[0xff, 0x38]), -200);
        }
    }
}
