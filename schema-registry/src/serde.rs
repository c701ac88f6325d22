//! Confluent's wire format and subject name strategies, shared by the
//! serializers of the REST proxy, Connect converters and SQL.
//!
//! A framed payload is `[0x00][schema id: i32 big-endian][payload]`. For
//! Protobuf the payload starts with the message indexes: a zigzag varint
//! count followed by that many zigzag varint indexes, except that `[0]` (the
//! first message of the file, the common case) is written as the single byte
//! `0x00`.

use crate::schema::ParsedSchema;

/// The first byte of every framed payload.
pub const MAGIC_BYTE: u8 = 0;

/// Bytes before the payload: the magic byte and the schema id.
pub const HEADER_LEN: usize = 5;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WireError {
    #[error("Unknown magic byte {0}")]
    UnknownMagicByte(u8),
    #[error("Payload too short: {0} bytes, at least 5 expected")]
    TooShort(usize),
    #[error("Invalid message indexes: {0}")]
    InvalidMessageIndexes(&'static str),
    #[error("Invalid subject name strategy: {0}")]
    UnknownStrategy(String),
    #[error("The {0} subject name strategy needs a record name")]
    MissingRecordName(&'static str),
}

/// Frames `payload` with the magic byte and `schema_id`.
pub fn encode(schema_id: i32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    write_header(&mut out, schema_id);
    out.extend_from_slice(payload);
    out
}

/// Appends the 5-byte header.
pub fn write_header(out: &mut Vec<u8>, schema_id: i32) {
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// Splits a framed payload into the schema id and the rest.
pub fn decode(bytes: &[u8]) -> Result<(i32, &[u8]), WireError> {
    if bytes.len() < HEADER_LEN {
        return Err(WireError::TooShort(bytes.len()));
    }
    if bytes[0] != MAGIC_BYTE {
        return Err(WireError::UnknownMagicByte(bytes[0]));
    }
    let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[HEADER_LEN..]))
}

fn write_varint(out: &mut Vec<u8>, value: i32) {
    // zigzag, then base-128 little-endian groups
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &[u8], pos: &mut usize) -> Result<i32, WireError> {
    let mut result: u32 = 0;
    let mut shift = 0;
    loop {
        let b = *bytes
            .get(*pos)
            .ok_or(WireError::InvalidMessageIndexes("truncated varint"))?;
        *pos += 1;
        if shift > 28 {
            return Err(WireError::InvalidMessageIndexes("varint too long"));
        }
        result |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    Ok(((result >> 1) as i32) ^ -((result & 1) as i32))
}

/// Encodes Protobuf message indexes (`[0]` and `[]` both as the single byte 0).
pub fn encode_message_indexes(indexes: &[i32]) -> Vec<u8> {
    let mut out = Vec::new();
    write_message_indexes(&mut out, indexes);
    out
}

/// Appends encoded message indexes to `out`.
pub fn write_message_indexes(out: &mut Vec<u8>, indexes: &[i32]) {
    if indexes.is_empty() || indexes == [0] {
        out.push(0);
        return;
    }
    write_varint(out, i32::try_from(indexes.len()).unwrap_or(i32::MAX));
    for &i in indexes {
        write_varint(out, i);
    }
}

/// Decodes message indexes from the start of a Protobuf payload; returns them
/// (a lone 0 decodes as `[0]`) and the rest of the payload.
pub fn decode_message_indexes(bytes: &[u8]) -> Result<(Vec<i32>, &[u8]), WireError> {
    let mut pos = 0;
    let count = read_varint(bytes, &mut pos)?;
    if count == 0 {
        return Ok((vec![0], &bytes[pos..]));
    }
    let count =
        usize::try_from(count).map_err(|_| WireError::InvalidMessageIndexes("negative count"))?;
    // every index takes at least one byte: a count above what is left is hostile
    if count > bytes.len() - pos {
        return Err(WireError::InvalidMessageIndexes(
            "count larger than the payload",
        ));
    }
    let mut indexes = Vec::with_capacity(count);
    for _ in 0..count {
        let i = read_varint(bytes, &mut pos)?;
        if i < 0 {
            return Err(WireError::InvalidMessageIndexes("negative index"));
        }
        indexes.push(i);
    }
    Ok((indexes, &bytes[pos..]))
}

/// The message indexes of message `full_name` in a Protobuf schema (`None` if not a Protobuf
/// schema or no such message in its file).
pub fn message_indexes(schema: &ParsedSchema, full_name: &str) -> Option<Vec<i32>> {
    schema.as_protobuf()?.message_indexes(full_name)
}

/// The full name of the message that `indexes` designate in a Protobuf schema.
pub fn message_name(schema: &ParsedSchema, indexes: &[i32]) -> Option<String> {
    schema.as_protobuf()?.message_name(indexes)
}

/// How a serializer picks the subject of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SubjectNameStrategy {
    /// `{topic}-key` / `{topic}-value`
    #[default]
    TopicName,
    /// `{record}`
    RecordName,
    /// `{topic}-{record}`
    TopicRecordName,
}

impl SubjectNameStrategy {
    /// The subject for a record of `topic`. RecordName and TopicRecordName need `record_name`
    /// (the Avro record full name, the Protobuf message full name, the JSON title).
    pub fn subject(
        self,
        topic: &str,
        is_key: bool,
        record_name: Option<&str>,
    ) -> Result<String, WireError> {
        match self {
            SubjectNameStrategy::TopicName => {
                Ok(format!("{topic}-{}", if is_key { "key" } else { "value" }))
            }
            SubjectNameStrategy::RecordName => record_name
                .map(str::to_owned)
                .ok_or(WireError::MissingRecordName("RecordNameStrategy")),
            SubjectNameStrategy::TopicRecordName => record_name
                .map(|r| format!("{topic}-{r}"))
                .ok_or(WireError::MissingRecordName("TopicRecordNameStrategy")),
        }
    }

    /// Confluent's class name of the strategy.
    pub fn class_name(self) -> &'static str {
        match self {
            SubjectNameStrategy::TopicName => {
                "io.confluent.kafka.serializers.subject.TopicNameStrategy"
            }
            SubjectNameStrategy::RecordName => {
                "io.confluent.kafka.serializers.subject.RecordNameStrategy"
            }
            SubjectNameStrategy::TopicRecordName => {
                "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
            }
        }
    }
}

impl std::str::FromStr for SubjectNameStrategy {
    type Err = WireError;

    /// Accepts Confluent's class names (`io.confluent.kafka.serializers.subject.TopicNameStrategy`,
    /// the deprecated `io.confluent.kafka.serializers.subject.strategy.*` ones), the simple class
    /// names, and `topic_name`/`record_name`/`topic_record_name`.
    fn from_str(s: &str) -> Result<SubjectNameStrategy, WireError> {
        let simple = s.trim().rsplit('.').next().unwrap_or("");
        match simple {
            "TopicNameStrategy" | "topic_name" | "TopicName" => Ok(SubjectNameStrategy::TopicName),
            "RecordNameStrategy" | "record_name" | "RecordName" => {
                Ok(SubjectNameStrategy::RecordName)
            }
            "TopicRecordNameStrategy" | "topic_record_name" | "TopicRecordName" => {
                Ok(SubjectNameStrategy::TopicRecordName)
            }
            _ => Err(WireError::UnknownStrategy(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip() {
        for v in [0, 1, -1, 63, 64, -65, 300, i32::MAX, i32::MIN] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            let mut pos = 0;
            assert_eq!(read_varint(&out, &mut pos).unwrap(), v);
            assert_eq!(pos, out.len());
        }
    }

    #[test]
    fn hostile_counts() {
        assert!(decode_message_indexes(&[0x7e]).is_err()); // count 63, nothing after
        assert!(decode_message_indexes(&[0x01]).is_err()); // negative count
        assert!(decode_message_indexes(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_message_indexes(&[]).is_err());
    }
}
