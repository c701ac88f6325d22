//! Compatibility levels, their transitive logic, and dispatch to the
//! format-specific checkers.
//!
//! Direction: BACKWARD means the candidate (new) schema reads data written
//! with an existing (old) one — new is the reader. FORWARD means an existing
//! schema reads data written with the candidate — old is the reader. FULL is
//! both. Non-transitive levels look only at the latest existing version;
//! `*_TRANSITIVE` at all of them (newest first, as Confluent reports them).

use std::fmt;
use std::str::FromStr;

use super::{Inner, ParsedSchema, SchemaError};

/// A subject's or the registry's compatibility level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityLevel {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    pub const ALL: [CompatibilityLevel; 7] = [
        CompatibilityLevel::None,
        CompatibilityLevel::Backward,
        CompatibilityLevel::BackwardTransitive,
        CompatibilityLevel::Forward,
        CompatibilityLevel::ForwardTransitive,
        CompatibilityLevel::Full,
        CompatibilityLevel::FullTransitive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }

    fn checks_backward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Backward
                | CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    fn checks_forward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Forward
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CompatibilityLevel {
    type Err = SchemaError;

    /// Accepts the names in any case (Confluent upper-cases the request's value).
    fn from_str(s: &str) -> Result<CompatibilityLevel, SchemaError> {
        let upper = s.to_ascii_uppercase();
        CompatibilityLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == upper)
            .ok_or_else(|| SchemaError::new(format!("Invalid compatibility level {s}")))
    }
}

/// Checks `candidate` against the subject's existing versions (`existing`, oldest first) at `level`.
/// Non-transitive levels compare only with the latest (last) one; transitive with all.
/// Returns the incompatibilities as human-readable messages in the style of Confluent's verbose output;
/// empty = compatible. Schemas of different types are incompatible (message says so).
pub fn check_compatibility(
    level: CompatibilityLevel,
    candidate: &ParsedSchema,
    existing: &[ParsedSchema],
) -> Vec<String> {
    if level == CompatibilityLevel::None {
        return Vec::new();
    }
    let previous: Vec<&ParsedSchema> = if level.is_transitive() {
        existing.iter().rev().collect()
    } else {
        existing.last().into_iter().collect()
    };
    let mut messages = Vec::new();
    for old in previous {
        if level.checks_backward() {
            // new reads old
            messages.extend(reader_writer(candidate, old, "new", "old"));
        }
        if level.checks_forward() {
            // old reads new
            messages.extend(reader_writer(old, candidate, "old", "new"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    messages.retain(|m| seen.insert(m.clone()));
    messages
}

/// Can data written with `writer` be read with `reader`? The labels name the
/// two schemas in the messages ("new"/"old").
pub fn reader_writer(
    reader: &ParsedSchema,
    writer: &ParsedSchema,
    reader_label: &str,
    writer_label: &str,
) -> Vec<String> {
    match (&reader.inner, &writer.inner) {
        (Inner::Avro(r), Inner::Avro(w)) => super::avro::check(r, w, reader_label, writer_label),
        (Inner::Json(r), Inner::Json(w)) => super::json::check(r, w, reader_label, writer_label),
        (Inner::Protobuf(r), Inner::Protobuf(w)) => {
            super::protobuf::check(r, w, reader_label, writer_label)
        }
        _ => vec!["Incompatible because of different schema type".to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaType;

    fn avro(text: &str) -> ParsedSchema {
        ParsedSchema::parse(SchemaType::Avro, text, &[]).unwrap()
    }

    #[test]
    fn level_names() {
        for level in CompatibilityLevel::ALL {
            assert_eq!(level.as_str().parse::<CompatibilityLevel>().unwrap(), level);
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
            assert_eq!(
                serde_json::from_str::<CompatibilityLevel>(&json).unwrap(),
                level
            );
        }
        assert_eq!(
            "backward".parse::<CompatibilityLevel>().unwrap(),
            CompatibilityLevel::Backward
        );
        assert!("SIDEWAYS".parse::<CompatibilityLevel>().is_err());
        assert_eq!(CompatibilityLevel::default(), CompatibilityLevel::Backward);
    }

    #[test]
    fn transitive_looks_at_all_versions() {
        // v1 has a required field a; v2 drops it; v3 adds it back without default.
        let v1 = avro(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
        let v2 = avro(r#"{"type":"record","name":"R","fields":[]}"#);
        let v3 = avro(
            r#"{"type":"record","name":"R","fields":[{"name":"b","type":"int","default":1}]}"#,
        );
        // v3 vs v2: backward ok (b has default). v3 vs v1: fine too (a ignored, b default).
        assert!(check_compatibility(
            CompatibilityLevel::BackwardTransitive,
            &v3,
            &[v1.clone(), v2.clone()]
        )
        .is_empty());
        // forward: old reads new. v1 reading v3 lacks a (no default) → incompatible; v2 reading v3 fine.
        assert!(
            check_compatibility(CompatibilityLevel::Forward, &v3, &[v1.clone(), v2.clone()])
                .is_empty()
        );
        assert!(
            !check_compatibility(CompatibilityLevel::ForwardTransitive, &v3, &[v1, v2]).is_empty()
        );
    }

    #[test]
    fn different_types_are_incompatible() {
        let a = avro(r#""string""#);
        let j = ParsedSchema::parse(SchemaType::Json, r#"{"type":"string"}"#, &[]).unwrap();
        assert_eq!(
            check_compatibility(CompatibilityLevel::Backward, &j, std::slice::from_ref(&a)),
            vec!["Incompatible because of different schema type".to_string()]
        );
        assert!(check_compatibility(CompatibilityLevel::None, &j, &[a]).is_empty());
    }

    #[test]
    fn no_existing_versions_is_compatible() {
        let a = avro(r#""string""#);
        assert!(check_compatibility(CompatibilityLevel::FullTransitive, &a, &[]).is_empty());
    }
}
