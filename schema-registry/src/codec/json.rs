//! JSON Schema: a value is checked against the schema (its own draft); the
//! payload is the value's JSON text. `$ref`s to other registered schemas
//! are not followed yet (a schema with such references validates only what
//! it states itself).

use serde_json::Value;

use super::CodecError;
use crate::schema::json::{Draft, JsonSchema};

fn draft(d: Draft) -> jsonschema::Draft {
    match d {
        Draft::Draft4 => jsonschema::Draft::Draft4,
        Draft::Draft6 => jsonschema::Draft::Draft6,
        Draft::Draft7 => jsonschema::Draft::Draft7,
        Draft::Draft201909 => jsonschema::Draft::Draft201909,
        Draft::Draft202012 => jsonschema::Draft::Draft202012,
    }
}

/// `Ok` when `value` is valid under `schema`; else the validation errors.
pub fn validate(schema: &JsonSchema, value: &Value) -> Result<(), CodecError> {
    let validator = jsonschema::options()
        .with_draft(draft(schema.draft()))
        .build(schema.value())
        .map_err(|e| CodecError::Mismatch(format!("the schema cannot validate: {e}")))?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(5)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("{at}: {e}")
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CodecError::Mismatch(format!(
            "the value does not match the JSON schema: {}",
            errors.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_by_draft() {
        let s = JsonSchema::parse(
            r#"{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
                "properties":{"n":{"type":"integer","minimum":1},"s":{"type":"string"}},
                "required":["n"],"additionalProperties":false}"#,
            &[],
        )
        .unwrap();
        assert!(validate(&s, &json!({"n": 2, "s": "x"})).is_ok());
        let err = validate(&s, &json!({"n": 0, "extra": true})).unwrap_err();
        let CodecError::Mismatch(m) = err else {
            panic!()
        };
        assert!(m.contains("/n"), "{m}");
        assert!(validate(&s, &json!({"s": "x"})).is_err());
        assert!(validate(&s, &json!("text")).is_err());
    }
}
