//! JSON Schema compatibility table (Confluent's rules: open/closed/partially
//! open content models, required properties, type changes, enums, limits).

use strom_schema_registry::schema::{
    check_compatibility, CompatibilityLevel, ParsedSchema, ResolvedReference, SchemaType,
};

fn json(text: &str) -> ParsedSchema {
    ParsedSchema::parse(SchemaType::Json, text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn assert_levels(name: &str, old: &str, new: &str, backward: bool, forward: bool) {
    let (old, new) = (json(old), json(new));
    let existing = [old];
    for level in CompatibilityLevel::ALL {
        let expected = match level {
            CompatibilityLevel::None => true,
            CompatibilityLevel::Backward | CompatibilityLevel::BackwardTransitive => backward,
            CompatibilityLevel::Forward | CompatibilityLevel::ForwardTransitive => forward,
            CompatibilityLevel::Full | CompatibilityLevel::FullTransitive => backward && forward,
        };
        let messages = check_compatibility(level, &new, &existing);
        assert_eq!(
            messages.is_empty(),
            expected,
            "{name} at {level}: {messages:?}"
        );
    }
}

const OPEN_A: &str = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;
const OPEN_AB: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}}"#;
const CLOSED_A: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#;
const CLOSED_AB: &str = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":false}"#;

#[test]
fn classic_changes() {
    #[rustfmt::skip]
    let rows: Vec<(&str, &str, &str, bool, bool)> = vec![
        ("identical", OPEN_A, OPEN_A, true, true),
        ("optional property added to closed model", CLOSED_A, CLOSED_AB, true, false),
        ("property removed from closed model", CLOSED_AB, CLOSED_A, false, true),
        ("property added to open model", OPEN_A, OPEN_AB, false, true),
        ("property removed from open model", OPEN_AB, OPEN_A, true, false),
        ("property with empty schema added to open model", OPEN_A, r#"{"type":"object","properties":{"a":{"type":"string"},"b":{}}}"#, true, true),
        ("required property added to closed model", CLOSED_A, r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["b"],"additionalProperties":false}"#, false, false),
        ("required property with default added to closed model", CLOSED_A, r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string","default":"x"}},"required":["b"],"additionalProperties":false}"#, true, false),
        ("existing property made required", OPEN_A, r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}"#, false, true),
        ("existing property made optional", r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}"#, OPEN_A, true, false),
        ("property covered by partially open model", r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}"#, OPEN_AB, true, false),
        ("property not covered by partially open model", r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"integer"}}"#, r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":{"type":"integer"}}"#, false, false),
        ("closed model opened", CLOSED_A, OPEN_A, true, false),
        ("type changed", r#"{"type":"string"}"#, r#"{"type":"integer"}"#, false, false),
        ("property type changed", OPEN_A, r#"{"type":"object","properties":{"a":{"type":"boolean"}}}"#, false, false),
        ("integer widened to number", r#"{"type":"integer"}"#, r#"{"type":"number"}"#, true, false),
        ("type made nullable", r#"{"type":"string"}"#, r#"{"type":["string","null"]}"#, true, false),
        ("oneOf extended", r#"{"oneOf":[{"type":"string"},{"type":"integer"}]}"#, r#"{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"boolean"}]}"#, true, false),
        ("enum extended", r#"{"enum":["a","b"]}"#, r#"{"enum":["a","b","c"]}"#, true, false),
        ("enum changed", r#"{"enum":["a","b"]}"#, r#"{"enum":["a","c"]}"#, false, false),
        ("maxLength increased", r#"{"type":"string","maxLength":5}"#, r#"{"type":"string","maxLength":10}"#, true, false),
        ("minLength added", r#"{"type":"string"}"#, r#"{"type":"string","minLength":1}"#, false, true),
        ("pattern changed", r#"{"type":"string","pattern":"^a"}"#, r#"{"type":"string","pattern":"^b"}"#, false, false),
        ("maximum added", r#"{"type":"number"}"#, r#"{"type":"number","maximum":10}"#, false, true),
        ("minimum decreased", r#"{"type":"number","minimum":5}"#, r#"{"type":"number","minimum":1}"#, true, false),
        ("array items changed", r#"{"type":"array","items":{"type":"string"}}"#, r#"{"type":"array","items":{"type":"integer"}}"#, false, false),
        ("maxItems removed", r#"{"type":"array","items":{"type":"string"},"maxItems":3}"#, r#"{"type":"array","items":{"type":"string"}}"#, true, false),
        ("nested object property added to closed model", r#"{"type":"object","properties":{"o":{"type":"object","properties":{"x":{"type":"integer"}},"additionalProperties":false}}}"#, r#"{"type":"object","properties":{"o":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer"}},"additionalProperties":false}}}"#, true, false),
        ("description changed", r#"{"type":"string","description":"a"}"#, r#"{"type":"string","description":"b"}"#, true, true),
        ("local $ref target changed", r##"{"definitions":{"t":{"type":"string"}},"type":"object","properties":{"a":{"$ref":"#/definitions/t"}}}"##, r##"{"definitions":{"t":{"type":"integer"}},"type":"object","properties":{"a":{"$ref":"#/definitions/t"}}}"##, false, false),
        ("anything to false", r#"{"type":"string"}"#, "false", false, true),
    ];
    for (name, old, new, backward, forward) in rows {
        assert_levels(name, old, new, backward, forward);
    }
}

#[test]
fn transitive_levels_check_all_versions() {
    let v1 = json(CLOSED_AB);
    let v2 = json(CLOSED_A);
    let v3 = json(
        r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}"#,
    );
    // v3 re-adds b with another type: fine against v2 (closed, b optional), not against v1.
    let existing = [v1, v2];
    assert!(check_compatibility(CompatibilityLevel::Backward, &v3, &existing).is_empty());
    assert!(
        !check_compatibility(CompatibilityLevel::BackwardTransitive, &v3, &existing).is_empty()
    );
}

#[test]
fn verbose_messages() {
    let messages = check_compatibility(
        CompatibilityLevel::Backward,
        &json(OPEN_AB),
        &[json(OPEN_A)],
    );
    assert_eq!(
        messages,
        vec!["{errorType:\"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL\", description:\"The new schema has an open content model and has a property or item at path '#/properties/b' which is missing in the old schema\"}"]
    );
    let messages = check_compatibility(
        CompatibilityLevel::Backward,
        &json(r#"{"type":"object","properties":{"a":{"type":"integer"}}}"#),
        &[json(OPEN_A)],
    );
    assert_eq!(
        messages,
        vec!["{errorType:\"TYPE_CHANGED\", description:\"A type at path '#/properties/a' is different between the new schema and the old schema\"}"]
    );
}

#[test]
fn references_by_ref_name() {
    let address = |ty: &str| ResolvedReference {
        name: "address.json".into(),
        schema_type: SchemaType::Json,
        schema: format!(r#"{{"type":"object","properties":{{"zip":{{"type":"{ty}"}}}}}}"#),
        references: vec![],
    };
    let customer = r#"{"type":"object","properties":{"home":{"$ref":"address.json"}}}"#;
    let old = ParsedSchema::parse(SchemaType::Json, customer, &[address("string")]).unwrap();
    let new = ParsedSchema::parse(SchemaType::Json, customer, &[address("integer")]).unwrap();
    assert!(!check_compatibility(
        CompatibilityLevel::Backward,
        &new,
        std::slice::from_ref(&old)
    )
    .is_empty());
    assert!(check_compatibility(
        CompatibilityLevel::Backward,
        &old,
        std::slice::from_ref(&old)
    )
    .is_empty());
    assert!(ParsedSchema::parse(SchemaType::Json, customer, &[]).is_err());
    // A $ref relative to an $id also finds the reference.
    let with_id = r#"{"$id":"http://example.com/customer.json","type":"object","properties":{"home":{"$ref":"http://example.com/address.json"}}}"#;
    assert!(ParsedSchema::parse(SchemaType::Json, with_id, &[address("string")]).is_ok());
}

#[test]
fn canonical_forms_and_validation() {
    let a = json("{\n  \"type\": \"object\",\n  \"properties\": { \"b\": {\"type\": \"string\"}, \"a\": {\"type\": \"number\"} }\n}");
    assert_eq!(
        a.canonical(),
        r#"{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"number"}}}"#
    );
    // Key order is kept in the canonical string, so a reordered schema is a different one ...
    let b = json(r#"{"properties":{"b":{"type":"string"},"a":{"type":"number"}},"type":"object"}"#);
    assert_ne!(a.canonical(), b.canonical());
    // ... but the same once normalized.
    assert_eq!(a.normalized(), b.normalized());
    assert!(ParsedSchema::parse(SchemaType::Json, r#"{"type":"strin"}"#, &[]).is_err());
    assert!(
        ParsedSchema::parse(SchemaType::Json, r#"{"type":"object","required":"a"}"#, &[]).is_err()
    );
    assert!(ParsedSchema::parse(SchemaType::Json, "not json", &[]).is_err());
    for draft in [
        "http://json-schema.org/draft-04/schema#",
        "http://json-schema.org/draft-06/schema#",
        "http://json-schema.org/draft-07/schema#",
        "https://json-schema.org/draft/2019-09/schema",
        "https://json-schema.org/draft/2020-12/schema",
    ] {
        let text = format!(
            r#"{{"$schema":"{draft}","type":"object","properties":{{"a":{{"type":"string"}}}}}}"#
        );
        assert!(
            ParsedSchema::parse(SchemaType::Json, &text, &[]).is_ok(),
            "{draft}"
        );
    }
    // Draft 4 has boolean exclusiveMaximum; draft 7 does not.
    assert!(ParsedSchema::parse(
        SchemaType::Json,
        r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","maximum":3,"exclusiveMaximum":true}"#,
        &[]
    )
    .is_ok());
    assert!(ParsedSchema::parse(
        SchemaType::Json,
        r#"{"type":"number","maximum":3,"exclusiveMaximum":true}"#,
        &[]
    )
    .is_err());
}
