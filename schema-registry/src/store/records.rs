//! The `_schemas` topic's record formats, byte-compatible with Confluent's
//! registry so that either can read (and compact) the other's topic.
//!
//! Keys are JSON objects with the fields in this order (the bytes matter:
//! compaction keeps the last record per exact key):
//!
//! | keytype | key |
//! |---|---|
//! | SCHEMA | `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}` |
//! | CONFIG | `{"keytype":"CONFIG","subject":"s","magic":0}` (global: no `subject`) |
//! | MODE | `{"keytype":"MODE","subject":"s","magic":0}` (global: no `subject`) |
//! | DELETE_SUBJECT | `{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}` |
//! | CLEAR_SUBJECT | `{"keytype":"CLEAR_SUBJECT","subject":"s","magic":0}` |
//! | NOOP | `{"keytype":"NOOP","magic":0}` |
//!
//! Values: [`SchemaValue`] (`schemaType` absent for AVRO, `references`
//! absent when empty), [`ConfigValue`], [`ModeValue`], [`DeleteSubjectValue`]
//! (soft-deletes versions up to `version`), [`ClearSubjectValue`] (drops
//! soft-deleted versions). A null value is a tombstone (hard delete). Other
//! key types Confluent writes (CONTEXT, ...) are read and ignored.

use serde::{Deserialize, Serialize};

use crate::schema::SchemaReference;

/// A decoded key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Schema {
        subject: String,
        version: i32,
    },
    /// `None` = the global config.
    Config {
        subject: Option<String>,
    },
    /// `None` = the global mode.
    Mode {
        subject: Option<String>,
    },
    DeleteSubject {
        subject: String,
    },
    ClearSubject {
        subject: String,
    },
    Noop,
    /// A key type this registry does not use.
    Other(String),
}

#[derive(Serialize, Deserialize)]
struct RawKey {
    keytype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<i32>,
    #[serde(default)]
    magic: i32,
}

impl Key {
    /// The key's bytes, exactly as Confluent's registry writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let raw = match self {
            Key::Schema { subject, version } => RawKey {
                keytype: "SCHEMA".into(),
                subject: Some(subject.clone()),
                version: Some(*version),
                magic: 1,
            },
            Key::Config { subject } => RawKey {
                keytype: "CONFIG".into(),
                subject: subject.clone(),
                version: None,
                magic: 0,
            },
            Key::Mode { subject } => RawKey {
                keytype: "MODE".into(),
                subject: subject.clone(),
                version: None,
                magic: 0,
            },
            Key::DeleteSubject { subject } => RawKey {
                keytype: "DELETE_SUBJECT".into(),
                subject: Some(subject.clone()),
                version: None,
                magic: 0,
            },
            Key::ClearSubject { subject } => RawKey {
                keytype: "CLEAR_SUBJECT".into(),
                subject: Some(subject.clone()),
                version: None,
                magic: 0,
            },
            Key::Noop => RawKey {
                keytype: "NOOP".into(),
                subject: None,
                version: None,
                magic: 0,
            },
            Key::Other(keytype) => RawKey {
                keytype: keytype.clone(),
                subject: None,
                version: None,
                magic: 0,
            },
        };
        // Serializing a struct of strings and integers cannot fail.
        serde_json::to_vec(&raw).unwrap_or_default()
    }

    /// Decode a key; `Err` for bytes that are not a registry key at all.
    pub fn from_bytes(bytes: &[u8]) -> Result<Key, String> {
        let raw: RawKey = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let subject = raw.subject.filter(|s| !s.is_empty());
        let need_subject =
            |s: Option<String>| s.ok_or_else(|| format!("{} key without subject", raw.keytype));
        Ok(match raw.keytype.as_str() {
            "SCHEMA" => Key::Schema {
                subject: need_subject(subject)?,
                version: raw.version.ok_or("SCHEMA key without version")?,
            },
            "CONFIG" => Key::Config { subject },
            "MODE" => Key::Mode { subject },
            "DELETE_SUBJECT" => Key::DeleteSubject {
                subject: need_subject(subject)?,
            },
            "CLEAR_SUBJECT" => Key::ClearSubject {
                subject: need_subject(subject)?,
            },
            "NOOP" => Key::Noop,
            other => Key::Other(other.to_string()),
        })
    }
}

/// The value of a SCHEMA record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SchemaValue {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// Absent means AVRO (Confluent omits it for AVRO).
    #[serde(
        rename = "schemaType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(rename = "ruleSet", default, skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<serde_json::Value>,
    pub schema: String,
    #[serde(default)]
    pub deleted: bool,
}

/// The value of a CONFIG record.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ConfigValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(
        rename = "compatibilityLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub compatibility_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
}

/// The value of a MODE record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ModeValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub mode: String,
}

/// The value of a DELETE_SUBJECT record: versions up to `version` are soft-deleted.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DeleteSubjectValue {
    pub subject: String,
    pub version: i32,
}

/// The value of a CLEAR_SUBJECT record: the subject's soft-deleted versions are dropped.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClearSubjectValue {
    pub subject: String,
}

/// A record to append: key and value bytes (`None` = tombstone).
#[derive(Clone, Debug)]
pub struct Record {
    pub key: Key,
    pub value: Option<Vec<u8>>,
}

impl Record {
    pub fn new<V: Serialize>(key: Key, value: &V) -> Record {
        Record {
            key,
            value: Some(serde_json::to_vec(value).unwrap_or_default()),
        }
    }

    pub fn tombstone(key: Key) -> Record {
        Record { key, value: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_byte_identical_to_confluent() {
        let k = Key::Schema {
            subject: "orders-value".into(),
            version: 3,
        };
        assert_eq!(
            String::from_utf8(k.to_bytes()).unwrap(),
            r#"{"keytype":"SCHEMA","subject":"orders-value","version":3,"magic":1}"#
        );
        assert_eq!(
            String::from_utf8(Key::Config { subject: None }.to_bytes()).unwrap(),
            r#"{"keytype":"CONFIG","magic":0}"#
        );
        assert_eq!(
            String::from_utf8(
                Key::Mode {
                    subject: Some("s".into())
                }
                .to_bytes()
            )
            .unwrap(),
            r#"{"keytype":"MODE","subject":"s","magic":0}"#
        );
        assert_eq!(
            String::from_utf8(Key::Noop.to_bytes()).unwrap(),
            r#"{"keytype":"NOOP","magic":0}"#
        );
        assert_eq!(
            String::from_utf8(
                Key::DeleteSubject {
                    subject: "s".into()
                }
                .to_bytes()
            )
            .unwrap(),
            r#"{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}"#
        );
    }

    #[test]
    fn reads_confluent_written_records() {
        // Older registries write an explicit null subject for the global config.
        assert_eq!(
            Key::from_bytes(br#"{"keytype":"CONFIG","subject":null,"magic":0}"#).unwrap(),
            Key::Config { subject: None }
        );
        assert_eq!(
            Key::from_bytes(
                br#"{"magic":0,"keytype":"CONTEXT","tenant":"default","context":".x"}"#
            )
            .unwrap(),
            Key::Other("CONTEXT".into())
        );
        assert!(Key::from_bytes(b"not json").is_err());
        let v: SchemaValue = serde_json::from_str(
            r#"{"subject":"t-value","version":1,"id":7,"schemaType":"PROTOBUF","references":[{"name":"a.proto","subject":"a","version":1}],"schema":"syntax = \"proto3\";","deleted":false,"unknownField":1}"#,
        )
        .unwrap();
        assert_eq!(v.id, 7);
        assert_eq!(v.schema_type.as_deref(), Some("PROTOBUF"));
        assert_eq!(v.references.len(), 1);
        // AVRO: no schemaType, no empty references.
        let v = SchemaValue {
            subject: "s".into(),
            version: 1,
            id: 1,
            md5: None,
            schema_type: None,
            references: vec![],
            metadata: None,
            rule_set: None,
            schema: "\"string\"".into(),
            deleted: false,
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"subject":"s","version":1,"id":1,"schema":"\"string\"","deleted":false}"#
        );
        let c: ConfigValue = serde_json::from_str(r#"{"compatibilityLevel":"FULL"}"#).unwrap();
        assert_eq!(c.compatibility_level.as_deref(), Some("FULL"));
    }
}
