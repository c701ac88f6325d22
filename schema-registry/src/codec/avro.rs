//! Avro's binary datum encoding, from and to Avro's JSON encoding — the
//! form Confluent's REST Proxy takes and gives: records as objects, enums as
//! symbol strings, `bytes` and `fixed` as strings of code points 0–255, maps
//! as objects, and a union value as `null` or `{"<branch type name>": value}`
//! (primitive name, full name of a named type, `array` or `map`).
//!
//! A record field missing from the JSON takes its default (a union default
//! is a value of the union's first branch). Logical types are encoded as
//! their underlying type.

use serde_json::{Map, Number, Value};

use super::CodecError;
use crate::schema::avro::{AvroSchema, NamedKind, Primitive, Schema};
use crate::schema::jsonvalue::JsonValue;

fn mismatch(path: &str, msg: impl std::fmt::Display) -> CodecError {
    let at = if path.is_empty() { "the value" } else { path };
    CodecError::Mismatch(format!("{at}: {msg}"))
}

fn primitive_name(p: Primitive) -> &'static str {
    match p {
        Primitive::Null => "null",
        Primitive::Boolean => "boolean",
        Primitive::Int => "int",
        Primitive::Long => "long",
        Primitive::Float => "float",
        Primitive::Double => "double",
        Primitive::Bytes => "bytes",
        Primitive::String => "string",
    }
}

/// The name a union branch goes by in the JSON encoding.
fn branch_name(schema: &AvroSchema, s: &Schema) -> String {
    match s {
        Schema::Primitive { kind, .. } => primitive_name(*kind).to_string(),
        Schema::Named(i) => schema.named(*i).name.full_name(),
        Schema::Array { .. } => "array".to_string(),
        Schema::Map { .. } => "map".to_string(),
        Schema::Union(_) => "union".to_string(),
    }
}

/// Encode `value` (Avro's JSON encoding) under `schema`.
pub fn encode(schema: &AvroSchema, value: &Value) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    Encoder { schema }.write(schema.root(), value, "", &mut out)?;
    Ok(out)
}

fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn latin1(s: &str, path: &str) -> Result<Vec<u8>, CodecError> {
    s.chars()
        .map(|c| {
            u8::try_from(u32::from(c))
                .map_err(|_| mismatch(path, "bytes must be a string of code points 0-255"))
        })
        .collect()
}

struct Encoder<'a> {
    schema: &'a AvroSchema,
}

impl Encoder<'_> {
    fn write(
        &self,
        s: &Schema,
        v: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        match s {
            Schema::Primitive { kind, .. } => self.primitive(*kind, v, path, out),
            Schema::Array { items, .. } => {
                let arr = v
                    .as_array()
                    .ok_or_else(|| mismatch(path, "expected an array"))?;
                if !arr.is_empty() {
                    write_long(out, arr.len() as i64);
                    for (i, item) in arr.iter().enumerate() {
                        self.write(items, item, &format!("{path}[{i}]"), out)?;
                    }
                }
                out.push(0);
                Ok(())
            }
            Schema::Map { values, .. } => {
                let map = v
                    .as_object()
                    .ok_or_else(|| mismatch(path, "expected an object (map)"))?;
                if !map.is_empty() {
                    write_long(out, map.len() as i64);
                    for (k, item) in map {
                        write_long(out, k.len() as i64);
                        out.extend_from_slice(k.as_bytes());
                        self.write(values, item, &format!("{path}.{k}"), out)?;
                    }
                }
                out.push(0);
                Ok(())
            }
            Schema::Union(branches) => {
                if v.is_null() {
                    let i = branches
                        .iter()
                        .position(|b| {
                            matches!(
                                b,
                                Schema::Primitive {
                                    kind: Primitive::Null,
                                    ..
                                }
                            )
                        })
                        .ok_or_else(|| mismatch(path, "null is not a branch of the union"))?;
                    write_long(out, i as i64);
                    return Ok(());
                }
                let obj = v.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
                    mismatch(
                        path,
                        "a union value must be null or an object with one key, the branch type",
                    )
                })?;
                let (name, inner) = obj.iter().next().expect("one entry");
                let i = branches
                    .iter()
                    .position(|b| &branch_name(self.schema, b) == name)
                    .ok_or_else(|| {
                        mismatch(path, format!("{name} is not a branch of the union"))
                    })?;
                write_long(out, i as i64);
                self.write(&branches[i], inner, path, out)
            }
            Schema::Named(i) => {
                let def = self.schema.named(*i);
                match &def.kind {
                    NamedKind::Record { fields, .. } => {
                        let obj = v.as_object().ok_or_else(|| {
                            mismatch(
                                path,
                                format!("expected an object ({})", def.name.full_name()),
                            )
                        })?;
                        for f in fields {
                            let fpath = if path.is_empty() {
                                f.name.clone()
                            } else {
                                format!("{path}.{}", f.name)
                            };
                            match (obj.get(&f.name), &f.default) {
                                (Some(fv), _) => self.write(&f.schema, fv, &fpath, out)?,
                                (None, Some(d)) => self.write_default(&f.schema, d, &fpath, out)?,
                                (None, None) => {
                                    return Err(mismatch(&fpath, "missing and has no default"))
                                }
                            }
                        }
                        Ok(())
                    }
                    NamedKind::Enum { symbols, .. } => {
                        let sym = v
                            .as_str()
                            .ok_or_else(|| mismatch(path, "expected an enum symbol"))?;
                        let i = symbols.iter().position(|s| s == sym).ok_or_else(|| {
                            mismatch(
                                path,
                                format!("{sym} is not a symbol of {}", def.name.full_name()),
                            )
                        })?;
                        write_long(out, i as i64);
                        Ok(())
                    }
                    NamedKind::Fixed { size } => {
                        let s = v
                            .as_str()
                            .ok_or_else(|| mismatch(path, "expected a string (fixed)"))?;
                        let bytes = latin1(s, path)?;
                        if bytes.len() as u64 != *size {
                            return Err(mismatch(
                                path,
                                format!(
                                    "fixed {} takes {size} bytes, got {}",
                                    def.name.full_name(),
                                    bytes.len()
                                ),
                            ));
                        }
                        out.extend(bytes);
                        Ok(())
                    }
                }
            }
        }
    }

    /// A field default: JSON as in the schema, a union's being of its first branch.
    fn write_default(
        &self,
        s: &Schema,
        d: &JsonValue,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let v = d.to_serde();
        match s {
            Schema::Union(branches) => {
                let first = branches
                    .first()
                    .ok_or_else(|| mismatch(path, "empty union"))?;
                write_long(out, 0);
                self.write(first, &v, path, out)
            }
            _ => self.write(s, &v, path, out),
        }
    }

    fn primitive(
        &self,
        kind: Primitive,
        v: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        match kind {
            Primitive::Null => {
                if !v.is_null() {
                    return Err(mismatch(path, "expected null"));
                }
            }
            Primitive::Boolean => {
                let b = v
                    .as_bool()
                    .ok_or_else(|| mismatch(path, "expected a boolean"))?;
                out.push(u8::from(b));
            }
            Primitive::Int => {
                let n = v
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| mismatch(path, "expected an int"))?;
                write_long(out, i64::from(n));
            }
            Primitive::Long => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| mismatch(path, "expected a long"))?;
                write_long(out, n);
            }
            Primitive::Float => {
                let n = v
                    .as_f64()
                    .ok_or_else(|| mismatch(path, "expected a float"))?;
                out.extend_from_slice(&(n as f32).to_le_bytes());
            }
            Primitive::Double => {
                let n = v
                    .as_f64()
                    .ok_or_else(|| mismatch(path, "expected a double"))?;
                out.extend_from_slice(&n.to_le_bytes());
            }
            Primitive::Bytes => {
                let s = v
                    .as_str()
                    .ok_or_else(|| mismatch(path, "expected a string (bytes)"))?;
                let bytes = latin1(s, path)?;
                write_long(out, bytes.len() as i64);
                out.extend(bytes);
            }
            Primitive::String => {
                let s = v
                    .as_str()
                    .ok_or_else(|| mismatch(path, "expected a string"))?;
                write_long(out, s.len() as i64);
                out.extend_from_slice(s.as_bytes());
            }
        }
        Ok(())
    }
}

/// Decode an Avro datum under `schema` into Avro's JSON encoding. The whole
/// input must be consumed.
pub fn decode(schema: &AvroSchema, bytes: &[u8]) -> Result<Value, CodecError> {
    let mut d = Decoder {
        schema,
        bytes,
        pos: 0,
        depth: 0,
    };
    let v = d.read(schema.root())?;
    if d.pos != bytes.len() {
        return Err(CodecError::Malformed(format!(
            "{} bytes left after the datum",
            bytes.len() - d.pos
        )));
    }
    Ok(v)
}

struct Decoder<'a> {
    schema: &'a AvroSchema,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

fn malformed(msg: impl Into<String>) -> CodecError {
    CodecError::Malformed(msg.into())
}

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CodecError> {
        if self.bytes.len() - self.pos < n {
            return Err(malformed("truncated datum"));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn long(&mut self) -> Result<i64, CodecError> {
        let mut z: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *self
                .bytes
                .get(self.pos)
                .ok_or_else(|| malformed("truncated varint"))?;
            self.pos += 1;
            if shift >= 64 {
                return Err(malformed("varint too long"));
            }
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A length or count: non-negative and not beyond the input (every element takes a byte
    /// or more, except nulls and empty records, which are bounded by the input anyway).
    fn len(&mut self) -> Result<usize, CodecError> {
        let n = self.long()?;
        usize::try_from(n).map_err(|_| malformed(format!("negative length {n}")))
    }

    /// A block's item count. Items of zero-size types (null, empty records)
    /// take no bytes, so the input cannot bound their count: a count beyond
    /// both the bytes left and a million is refused as hostile.
    fn block_count(&mut self) -> Result<usize, CodecError> {
        let n = self.long()?;
        let n = if n < 0 {
            // A negative count is followed by the block's size in bytes.
            self.long()?;
            n.unsigned_abs()
        } else {
            n as u64
        };
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left && n > 1_000_000 {
            return Err(malformed(format!("block count {n} larger than the datum")));
        }
        Ok(n as usize)
    }

    fn read(&mut self, s: &Schema) -> Result<Value, CodecError> {
        self.depth += 1;
        if self.depth > 512 {
            return Err(malformed("datum nested too deeply"));
        }
        let v = self.read_inner(s);
        self.depth -= 1;
        v
    }

    fn read_inner(&mut self, s: &Schema) -> Result<Value, CodecError> {
        Ok(match s {
            Schema::Primitive { kind, .. } => match kind {
                Primitive::Null => Value::Null,
                Primitive::Boolean => match self.take(1)?[0] {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    b => return Err(malformed(format!("bad boolean {b}"))),
                },
                Primitive::Int => {
                    let n = self.long()?;
                    let n = i32::try_from(n).map_err(|_| malformed("int out of range"))?;
                    Value::from(n)
                }
                Primitive::Long => Value::from(self.long()?),
                Primitive::Float => {
                    let b = self.take(4)?;
                    let f = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number)
                }
                Primitive::Double => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    Number::from_f64(f64::from_le_bytes(a)).map_or(Value::Null, Value::Number)
                }
                Primitive::Bytes => {
                    let n = self.len()?;
                    Value::String(self.take(n)?.iter().map(|&b| char::from(b)).collect())
                }
                Primitive::String => {
                    let n = self.len()?;
                    let b = self.take(n)?;
                    Value::String(
                        std::str::from_utf8(b)
                            .map_err(|_| malformed("string is not UTF-8"))?
                            .to_owned(),
                    )
                }
            },
            Schema::Array { items, .. } => {
                let mut out = Vec::new();
                loop {
                    let n = self.block_count()?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        out.push(self.read(items)?);
                    }
                }
                Value::Array(out)
            }
            Schema::Map { values, .. } => {
                let mut out = Map::new();
                loop {
                    let n = self.block_count()?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        let klen = self.len()?;
                        let k = std::str::from_utf8(self.take(klen)?)
                            .map_err(|_| malformed("map key is not UTF-8"))?
                            .to_owned();
                        let v = self.read(values)?;
                        out.insert(k, v);
                    }
                }
                Value::Object(out)
            }
            Schema::Union(branches) => {
                let i = self.long()?;
                let b = usize::try_from(i)
                    .ok()
                    .and_then(|i| branches.get(i))
                    .ok_or_else(|| malformed(format!("union branch {i} out of range")))?;
                if matches!(
                    b,
                    Schema::Primitive {
                        kind: Primitive::Null,
                        ..
                    }
                ) {
                    Value::Null
                } else {
                    let name = branch_name(self.schema, b);
                    let v = self.read(b)?;
                    let mut m = Map::new();
                    m.insert(name, v);
                    Value::Object(m)
                }
            }
            Schema::Named(i) => {
                let def = self.schema.named(*i);
                match &def.kind {
                    NamedKind::Record { fields, .. } => {
                        let mut m = Map::new();
                        for f in fields {
                            let v = self.read(&f.schema)?;
                            m.insert(f.name.clone(), v);
                        }
                        Value::Object(m)
                    }
                    NamedKind::Enum { symbols, .. } => {
                        let i = self.long()?;
                        let s = usize::try_from(i)
                            .ok()
                            .and_then(|i| symbols.get(i))
                            .ok_or_else(|| malformed(format!("enum index {i} out of range")))?;
                        Value::String(s.clone())
                    }
                    NamedKind::Fixed { size } => {
                        let n = usize::try_from(*size).map_err(|_| malformed("fixed too large"))?;
                        Value::String(self.take(n)?.iter().map(|&b| char::from(b)).collect())
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(text: &str) -> AvroSchema {
        AvroSchema::parse(text, &[]).unwrap()
    }

    #[test]
    fn golden_bytes() {
        // Values and bytes from the Avro specification's encoding rules.
        assert_eq!(
            encode(&schema(r#""long""#), &json!(-64)).unwrap(),
            vec![0x7f]
        );
        assert_eq!(
            encode(&schema(r#""long""#), &json!(64)).unwrap(),
            vec![0x80, 0x01]
        );
        assert_eq!(
            encode(&schema(r#""string""#), &json!("foo")).unwrap(),
            vec![6, b'f', b'o', b'o']
        );
        assert_eq!(
            encode(
                &schema(r#"{"type":"array","items":"long"}"#),
                &json!([3, 27])
            )
            .unwrap(),
            vec![0x04, 0x06, 0x36, 0x00]
        );
        assert_eq!(
            encode(&schema(r#"["null","string"]"#), &json!({"string": "a"})).unwrap(),
            vec![0x02, 0x02, b'a']
        );
        assert_eq!(
            encode(&schema(r#"["null","string"]"#), &json!(null)).unwrap(),
            vec![0x00]
        );
    }

    #[test]
    fn records_round_trip() {
        let s = schema(
            r#"{"type":"record","name":"User","namespace":"ex","fields":[
                {"name":"name","type":"string"},
                {"name":"age","type":["null","int"],"default":null},
                {"name":"tags","type":{"type":"map","values":"double"}},
                {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},
                {"name":"id","type":{"type":"fixed","name":"Id","size":2}},
                {"name":"raw","type":"bytes"},
                {"name":"next","type":["null","ex.User"],"default":null},
                {"name":"ok","type":"boolean","default":true}
            ]}"#,
        );
        let v = json!({"name": "ann", "age": {"int": 30}, "tags": {"x": 1.5}, "kind": "B",
            "id": "\u{00ff}a", "raw": "\u{0000}\u{0080}",
            "next": {"ex.User": {"name": "bob", "age": null, "tags": {}, "kind": "A", "id": "zz",
                "raw": "", "next": null, "ok": false}}, "ok": true});
        let bytes = encode(&s, &v).unwrap();
        assert_eq!(decode(&s, &bytes).unwrap(), v);

        // Defaults fill missing fields.
        let short = json!({"name": "c", "tags": {}, "kind": "A", "id": "ab", "raw": ""});
        let back = decode(&s, &encode(&s, &short).unwrap()).unwrap();
        assert_eq!(back["age"], Value::Null);
        assert_eq!(back["ok"], json!(true));
    }

    #[test]
    fn mismatches_and_malformed_input() {
        let s = schema(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"u","type":["null","string"]}]}"#,
        );
        let err = |v: Value| match encode(&s, &v) {
            Err(CodecError::Mismatch(m)) => m,
            other => panic!("expected a mismatch, got {other:?}"),
        };
        assert!(err(json!({"u": null})).contains("a: missing"));
        assert!(err(json!({"a": "1", "u": null})).contains("expected an int"));
        assert!(err(json!({"a": 1, "u": "bare"})).contains("union"));
        assert!(err(json!({"a": 1, "u": {"int": 1}})).contains("not a branch"));
        assert!(err(json!({"a": 3_000_000_000i64, "u": null})).contains("expected an int"));
        // Truncated, trailing and hostile input.
        assert!(matches!(decode(&s, &[0x02]), Err(CodecError::Malformed(_))));
        assert!(matches!(
            decode(&s, &[0x02, 0x00, 0x00]),
            Err(CodecError::Malformed(_))
        ));
        assert!(matches!(
            decode(&s, &[0x02, 0x02, 0xfe, 0xff, 0xff, 0xff, 0x0f]),
            Err(CodecError::Malformed(_))
        ));
        let arr = schema(r#"{"type":"array","items":"null"}"#);
        // A huge count of zero-size items is refused, not looped over.
        assert!(matches!(
            decode(&arr, &[0x80, 0x80, 0x80, 0x80, 0x10]),
            Err(CodecError::Malformed(_))
        ));
        assert_eq!(
            decode(&arr, &[0x06, 0x00]).unwrap(),
            json!([null, null, null])
        );
    }
}
