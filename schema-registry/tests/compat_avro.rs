//! Avro compatibility table: each row is (old, new) with the expected outcome
//! at every level; transitive rows use three versions.

use strom_schema_registry::schema::{
    check_compatibility, CompatibilityLevel, ParsedSchema, SchemaType,
};

fn avro(text: &str) -> ParsedSchema {
    ParsedSchema::parse(SchemaType::Avro, text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"User","namespace":"com.acme","fields":[{fields}]}}"#)
}

/// Asserts the outcome at all seven levels for one old → new change.
/// `backward`: new reads old; `forward`: old reads new.
fn assert_levels(name: &str, old: &str, new: &str, backward: bool, forward: bool) {
    let (old, new) = (avro(old), avro(new));
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

#[test]
fn classic_changes() {
    let base = record(r#"{"name":"id","type":"long"}"#);
    #[rustfmt::skip]
    let rows: Vec<(&str, String, String, bool, bool)> = vec![
        ("identical", base.clone(), base.clone(), true, true),
        ("add field with default", base.clone(), record(r#"{"name":"id","type":"long"},{"name":"email","type":"string","default":""}"#), true, true),
        ("add field without default", base.clone(), record(r#"{"name":"id","type":"long"},{"name":"email","type":"string"}"#), false, true),
        ("add nullable field with null default", base.clone(), record(r#"{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}"#), true, true),
        ("remove field with default", record(r#"{"name":"id","type":"long"},{"name":"email","type":"string","default":""}"#), base.clone(), true, true),
        ("remove field without default", record(r#"{"name":"id","type":"long"},{"name":"email","type":"string"}"#), base.clone(), true, false),
        ("promote int to long", record(r#"{"name":"n","type":"int"}"#), record(r#"{"name":"n","type":"long"}"#), true, false),
        ("promote int to double", record(r#"{"name":"n","type":"int"}"#), record(r#"{"name":"n","type":"double"}"#), true, false),
        ("promote long to float", record(r#"{"name":"n","type":"long"}"#), record(r#"{"name":"n","type":"float"}"#), true, false),
        ("promote float to double", record(r#"{"name":"n","type":"float"}"#), record(r#"{"name":"n","type":"double"}"#), true, false),
        ("demote long to int", record(r#"{"name":"n","type":"long"}"#), record(r#"{"name":"n","type":"int"}"#), false, true),
        ("string to bytes", record(r#"{"name":"s","type":"string"}"#), record(r#"{"name":"s","type":"bytes"}"#), true, true),
        ("string to int", record(r#"{"name":"s","type":"string"}"#), record(r#"{"name":"s","type":"int"}"#), false, false),
        ("enum symbol added", record(r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}"#), record(r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}"#), true, false),
        ("enum symbol removed", record(r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}"#), record(r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}"#), false, true),
        ("enum symbol removed, reader default", record(r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"],"default":"A"}}"#), record(r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}}"#), true, true),
        ("union branch added", record(r#"{"name":"u","type":["null","string"]}"#), record(r#"{"name":"u","type":["null","string","int"]}"#), true, false),
        ("union branch removed", record(r#"{"name":"u","type":["null","string","int"]}"#), record(r#"{"name":"u","type":["null","string"]}"#), false, true),
        ("type to union containing it", record(r#"{"name":"u","type":"string"}"#), record(r#"{"name":"u","type":["null","string"]}"#), true, false),
        ("union to one of its branches", record(r#"{"name":"u","type":["null","string"]}"#), record(r#"{"name":"u","type":"string"}"#), false, true),
        ("field renamed without alias", record(r#"{"name":"a","type":"string"}"#), record(r#"{"name":"b","type":"string"}"#), false, false),
        ("field renamed with alias", record(r#"{"name":"a","type":"string"}"#), record(r#"{"name":"b","type":"string","aliases":["a"]}"#), true, false),
        ("record renamed", r#"{"type":"record","name":"A","fields":[]}"#.to_string(), r#"{"type":"record","name":"B","fields":[]}"#.to_string(), false, false),
        ("record renamed with alias", r#"{"type":"record","name":"A","namespace":"n","fields":[]}"#.to_string(), r#"{"type":"record","name":"B","namespace":"n","aliases":["A"],"fields":[]}"#.to_string(), true, false),
        ("namespace changed", r#"{"type":"record","name":"A","namespace":"x","fields":[]}"#.to_string(), r#"{"type":"record","name":"A","namespace":"y","fields":[]}"#.to_string(), true, true),
        ("fixed size changed", record(r#"{"name":"f","type":{"type":"fixed","name":"F","size":4}}"#), record(r#"{"name":"f","type":{"type":"fixed","name":"F","size":8}}"#), false, false),
        ("array items promoted", record(r#"{"name":"a","type":{"type":"array","items":"int"}}"#), record(r#"{"name":"a","type":{"type":"array","items":"long"}}"#), true, false),
        ("map values changed", record(r#"{"name":"m","type":{"type":"map","values":"string"}}"#), record(r#"{"name":"m","type":{"type":"map","values":"int"}}"#), false, false),
        ("nested record field added without default", record(r#"{"name":"r","type":{"type":"record","name":"In","fields":[]}}"#), record(r#"{"name":"r","type":{"type":"record","name":"In","fields":[{"name":"x","type":"int"}]}}"#), false, true),
        ("primitive to another", r#""string""#.to_string(), r#""int""#.to_string(), false, false),
        ("primitive object form is the same", r#""string""#.to_string(), r#"{"type":"string"}"#.to_string(), true, true),
    ];
    for (name, old, new, backward, forward) in rows {
        assert_levels(name, &old, &new, backward, forward);
    }
}

#[test]
fn transitive_levels_check_all_versions() {
    // v1: id; v2: id + email (default); v3: id + email (no default), which only
    // v2's data can satisfy (v2 writes email; v1 does not).
    let v1 = avro(&record(r#"{"name":"id","type":"long"}"#));
    let v2 = avro(&record(
        r#"{"name":"id","type":"long"},{"name":"email","type":"string","default":""}"#,
    ));
    let v3 = avro(&record(
        r#"{"name":"id","type":"long"},{"name":"email","type":"string"}"#,
    ));
    let existing = [v1, v2];
    let outcome = |level| check_compatibility(level, &v3, &existing).is_empty();
    assert!(outcome(CompatibilityLevel::Backward));
    assert!(!outcome(CompatibilityLevel::BackwardTransitive));
    assert!(outcome(CompatibilityLevel::Forward));
    assert!(outcome(CompatibilityLevel::ForwardTransitive));
    assert!(outcome(CompatibilityLevel::Full));
    assert!(!outcome(CompatibilityLevel::FullTransitive));
    assert!(outcome(CompatibilityLevel::None));
}

#[test]
fn verbose_messages() {
    let old = avro(&record(r#"{"name":"id","type":"long"}"#));
    let new = avro(&record(
        r#"{"name":"id","type":"long"},{"name":"email","type":"string"}"#,
    ));
    assert_eq!(
        check_compatibility(CompatibilityLevel::Backward, &new, std::slice::from_ref(&old)),
        vec!["{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'email' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'email'}"]
    );
    // FORWARD: the old schema is the reader.
    assert_eq!(
        check_compatibility(CompatibilityLevel::Forward, &old, &[new]),
        vec!["{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'email' at path '/fields/1' in the old schema has no default value and is missing in the new schema', additionalInfo:'email'}"]
    );
    let e3 = avro(&record(
        r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}}"#,
    ));
    let e2 = avro(&record(
        r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}"#,
    ));
    assert_eq!(
        check_compatibility(CompatibilityLevel::Backward, &e2, &[e3]),
        vec!["{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum symbols '[B, C]' at path '/fields/0/type/symbols' in the old schema', additionalInfo:'[B, C]'}"]
    );
    let s = avro(&record(r#"{"name":"s","type":"string"}"#));
    let i = avro(&record(r#"{"name":"s","type":"int"}"#));
    assert_eq!(
        check_compatibility(CompatibilityLevel::Backward, &i, &[s]),
        vec!["{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: INT not compatible with writer type: STRING'}"]
    );
    let a = avro(r#"{"type":"record","name":"A","namespace":"n","fields":[]}"#);
    let b = avro(r#"{"type":"record","name":"B","namespace":"n","fields":[]}"#);
    assert_eq!(
        check_compatibility(CompatibilityLevel::Backward, &b, &[a]),
        vec!["{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path '/name')', additionalInfo:'expected: n.A'}"]
    );
}

#[test]
fn named_types_across_references() {
    use strom_schema_registry::schema::ResolvedReference;
    let address_v1 = r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"}]}"#;
    let address_v2 = r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"},{"name":"zip","type":"string"}]}"#;
    let user = r#"{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}"#;
    let reference = |schema: &str| ResolvedReference {
        name: "com.acme.Address".into(),
        schema_type: SchemaType::Avro,
        schema: schema.into(),
        references: vec![],
    };
    let old = ParsedSchema::parse(SchemaType::Avro, user, &[reference(address_v1)]).unwrap();
    let new = ParsedSchema::parse(SchemaType::Avro, user, &[reference(address_v2)]).unwrap();
    // Same text, same canonical string; but the referenced type changed incompatibly.
    assert_eq!(old.canonical(), new.canonical());
    assert!(!check_compatibility(
        CompatibilityLevel::Backward,
        &new,
        std::slice::from_ref(&old)
    )
    .is_empty());
    assert!(check_compatibility(CompatibilityLevel::Forward, &new, &[old]).is_empty());
    // An unresolved name is invalid.
    assert!(ParsedSchema::parse(SchemaType::Avro, user, &[]).is_err());
}

#[test]
fn canonical_forms() {
    assert_eq!(avro(r#"{"type": "string"}"#).canonical(), r#""string""#);
    assert_eq!(avro(r#"  "string"  "#).canonical(), r#""string""#);
    // Whitespace and the order of a record's own keys do not matter ...
    let a = avro(
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1,"doc":"d"}]}"#,
    );
    let b = avro("{\n  \"fields\": [ {\"doc\": \"d\", \"default\": 1, \"type\": \"int\", \"name\": \"a\"} ],\n  \"namespace\": \"n\",\n  \"name\": \"R\",\n  \"type\": \"record\"\n}");
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(
        a.canonical(),
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","doc":"d","default":1}]}"#
    );
    // ... a full name written as name + namespace is the same schema ...
    let c = avro(
        r#"{"type":"record","name":"n.R","fields":[{"name":"a","type":"int","default":1,"doc":"d"}]}"#,
    );
    assert_eq!(a.canonical(), c.canonical());
    // ... but field order, docs and defaults do matter.
    let d = avro(
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":2,"doc":"d"}]}"#,
    );
    assert_ne!(a.canonical(), d.canonical());
    let e = avro(
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1}]}"#,
    );
    assert_ne!(a.canonical(), e.canonical());
    // Custom properties are kept, in their order.
    let f = avro(r#"{"type":"record","name":"R","fields":[],"z":1,"a":{"k":true}}"#);
    assert_eq!(
        f.canonical(),
        r#"{"type":"record","name":"R","fields":[],"z":1,"a":{"k":true}}"#
    );
    // Normalized: full names everywhere.
    assert_eq!(
        a.normalized(),
        r#"{"type":"record","name":"n.R","fields":[{"name":"a","type":"int","doc":"d","default":1}]}"#
    );
}

#[test]
fn invalid_schemas_are_rejected_with_a_message() {
    let err = ParsedSchema::parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}"#,
        &[],
    )
    .unwrap_err();
    assert!(err.message.starts_with("Invalid schema"), "{err}");
    assert!(err.message.contains("Nope"), "{err}");
    assert!(ParsedSchema::parse(SchemaType::Avro, "{", &[]).is_err());
}
