//! Protobuf compatibility table (Confluent's rules: fields by number, wire
//! type groups, labels, messages, oneofs, package).

use strom_schema_registry::schema::{
    check_compatibility, CompatibilityLevel, ParsedSchema, ResolvedReference, SchemaType,
};

fn proto(text: &str) -> ParsedSchema {
    ParsedSchema::parse(SchemaType::Protobuf, text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn p3(body: &str) -> String {
    format!("syntax = \"proto3\";\npackage acme;\n{body}")
}

fn p2(body: &str) -> String {
    format!("syntax = \"proto2\";\npackage acme;\n{body}")
}

fn assert_levels(name: &str, old: &str, new: &str, backward: bool, forward: bool) {
    let (old, new) = (proto(old), proto(new));
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
    let base = p3("message Car { string make = 1; int32 year = 2; }");
    #[rustfmt::skip]
    let rows: Vec<(&str, String, String, bool, bool)> = vec![
        ("identical", base.clone(), base.clone(), true, true),
        ("field added", base.clone(), p3("message Car { string make = 1; int32 year = 2; string color = 3; }"), true, true),
        ("field removed", base.clone(), p3("message Car { string make = 1; }"), true, true),
        ("field renamed", base.clone(), p3("message Car { string brand = 1; int32 year = 2; }"), true, true),
        ("field number changed (removed + added)", base.clone(), p3("message Car { string make = 3; int32 year = 2; }"), true, true),
        ("int32 to string", base.clone(), p3("message Car { string make = 1; string year = 2; }"), false, false),
        ("int32 to int64 (same wire group)", base.clone(), p3("message Car { string make = 1; int64 year = 2; }"), true, true),
        ("int32 to bool (same wire group)", base.clone(), p3("message Car { string make = 1; bool year = 2; }"), true, true),
        ("int32 to sint32", base.clone(), p3("message Car { string make = 1; sint32 year = 2; }"), false, false),
        ("int32 to fixed32", base.clone(), p3("message Car { string make = 1; fixed32 year = 2; }"), false, false),
        ("string to bytes", base.clone(), p3("message Car { bytes make = 1; int32 year = 2; }"), true, true),
        ("scalar to message", base.clone(), p3("message Car { string make = 1; Year year = 2; }\nmessage Year { int32 v = 1; }"), false, false),
        ("int32 to enum", base.clone(), p3("message Car { string make = 1; Y year = 2; }\nenum Y { Y0 = 0; }"), true, true),
        ("message removed", p3("message Car { string make = 1; }\nmessage Bike { string make = 1; }"), p3("message Car { string make = 1; }"), false, true),
        ("message added", p3("message Car { string make = 1; }"), p3("message Car { string make = 1; }\nmessage Bike { string make = 1; }"), true, false),
        ("messages reordered", p3("message A { string a = 1; }\nmessage B { string b = 1; }"), p3("message B { string b = 1; }\nmessage A { string a = 1; }"), true, true),
        ("package changed", base.clone(), "syntax = \"proto3\";\npackage other;\nmessage Car { string make = 1; int32 year = 2; }".to_string(), false, false),
        ("enum value added", p3("message Car { Color c = 1; }\nenum Color { RED = 0; }"), p3("message Car { Color c = 1; }\nenum Color { RED = 0; BLUE = 1; }"), true, true),
        ("proto2 required field added", p2("message Car { optional string make = 1; }"), p2("message Car { optional string make = 1; required int32 year = 2; }"), false, false),
        ("proto2 optional field added", p2("message Car { optional string make = 1; }"), p2("message Car { optional string make = 1; optional int32 year = 2; }"), true, true),
        ("proto2 numeric label changed", p2("message Car { optional int32 year = 1; }"), p2("message Car { repeated int32 year = 1; }"), false, false),
        ("proto2 string label changed", p2("message Car { optional string make = 1; }"), p2("message Car { repeated string make = 1; }"), true, true),
        ("oneof field removed", p3("message Car { oneof engine { string petrol = 1; int32 electric = 2; } }"), p3("message Car { oneof engine { string petrol = 1; } }"), false, true),
        ("oneof field added", p3("message Car { oneof engine { string petrol = 1; } }"), p3("message Car { oneof engine { string petrol = 1; int32 electric = 2; } }"), true, false),
        ("one field moved into a new oneof", p3("message Car { string petrol = 1; }"), p3("message Car { oneof engine { string petrol = 1; int32 electric = 2; } }"), true, true),
        ("two fields moved into a oneof", p3("message Car { string petrol = 1; int32 electric = 2; }"), p3("message Car { oneof engine { string petrol = 1; int32 electric = 2; } }"), false, true),
        ("nested message field type changed", p3("message Car { Engine e = 1; message Engine { int32 hp = 1; } }"), p3("message Car { Engine e = 1; message Engine { string hp = 1; } }"), false, false),
        ("message field type renamed", p3("message Car { Engine e = 1; }\nmessage Engine { int32 hp = 1; }\nmessage Motor { int32 hp = 1; }"), p3("message Car { Motor e = 1; }\nmessage Engine { int32 hp = 1; }\nmessage Motor { int32 hp = 1; }"), false, false),
        ("map value type changed", p3("message Car { map<string, int32> parts = 1; }"), p3("message Car { map<string, string> parts = 1; }"), false, false),
        ("map value type widened", p3("message Car { map<string, int32> parts = 1; }"), p3("message Car { map<string, int64> parts = 1; }"), true, true),
        ("scalar to map", p3("message Car { string parts = 1; }"), p3("message Car { map<string, string> parts = 1; }"), false, false),
        ("options and comments only", base.clone(), p3("option java_package = \"x\";\n// hi\nmessage Car { string make = 1; int32 year = 2 [deprecated = true]; }"), true, true),
    ];
    for (name, old, new, backward, forward) in rows {
        assert_levels(name, &old, &new, backward, forward);
    }
}

#[test]
fn transitive_levels_check_all_versions() {
    let v1 = proto(&p3(
        "message Car { string make = 1; }\nmessage Bike { string make = 1; }",
    ));
    let v2 = proto(&p3("message Car { string make = 1; }"));
    let v3 = proto(&p3("message Car { string make = 1; int32 year = 2; }"));
    let existing = [v1, v2];
    // v3 lacks Bike, which only v1 had.
    assert!(check_compatibility(CompatibilityLevel::Backward, &v3, &existing).is_empty());
    assert!(
        !check_compatibility(CompatibilityLevel::BackwardTransitive, &v3, &existing).is_empty()
    );
    assert!(check_compatibility(CompatibilityLevel::ForwardTransitive, &v3, &existing).is_empty());
    assert!(!check_compatibility(CompatibilityLevel::FullTransitive, &v3, &existing).is_empty());
}

#[test]
fn verbose_messages() {
    let old = proto("syntax = \"proto3\";\nmessage Car {\n  string make = 1;\n  string model = 2;\n  int32 year = 3;\n}\n");
    let new = proto("syntax = \"proto3\";\nmessage Car {\n  string make = 1;\n  string model = 2;\n  string year = 3;\n}\n");
    assert_eq!(
        check_compatibility(CompatibilityLevel::Backward, &new, std::slice::from_ref(&old)),
        vec!["{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at path '#/Car/3' in the new schema does not match its kind in the old schema\"}"]
    );
    let gone = proto("syntax = \"proto3\";\nmessage Bike { string make = 1; }");
    let messages = check_compatibility(CompatibilityLevel::Backward, &gone, &[old]);
    assert!(messages.contains(&"{errorType:\"MESSAGE_REMOVED\", description:\"The new schema is missing a MESSAGE type at path '#/Car' in the old schema\"}".to_string()), "{messages:?}");
}

#[test]
fn imports_and_references() {
    let other = |field: &str| ResolvedReference {
        name: "acme/engine.proto".into(),
        schema_type: SchemaType::Protobuf,
        schema: format!(
            "syntax = \"proto3\";\npackage acme;\nmessage Engine {{ {field} hp = 1; }}"
        ),
        references: vec![],
    };
    let car = "syntax = \"proto3\";\npackage acme;\nimport \"acme/engine.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage Car { Engine engine = 1; google.protobuf.Timestamp built = 2; }";
    let old = ParsedSchema::parse(SchemaType::Protobuf, car, &[other("int32")]).unwrap();
    let same = ParsedSchema::parse(SchemaType::Protobuf, car, &[other("int64")]).unwrap();
    let new = ParsedSchema::parse(SchemaType::Protobuf, car, &[other("string")]).unwrap();
    assert!(
        check_compatibility(CompatibilityLevel::Full, &same, std::slice::from_ref(&old)).is_empty()
    );
    assert!(!check_compatibility(
        CompatibilityLevel::Backward,
        &new,
        std::slice::from_ref(&old)
    )
    .is_empty());
    assert_eq!(old.record_names(), vec!["acme.Car"]);
    assert!(ParsedSchema::parse(SchemaType::Protobuf, car, &[]).is_err());
}

#[test]
fn canonical_forms() {
    let a = proto("syntax = \"proto3\";\npackage acme;\n\nmessage Car {\n  string make = 1;\n}\n");
    let b =
        proto("syntax   =   \"proto3\" ;  package acme;  /* c */ message Car { string make=1; }");
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(
        a.canonical(),
        "syntax = \"proto3\";\npackage acme;\n\nmessage Car {\n  string make = 1;\n}\n"
    );
    let c = proto("syntax = \"proto3\";\npackage acme;\nmessage Car { string model = 1; }");
    assert_ne!(a.canonical(), c.canonical());
    // Normalized: options sorted, type names fully qualified.
    let d = proto("syntax = \"proto3\";\npackage acme;\noption java_package = \"b\";\noption go_package = \"a\";\nmessage Car { Part p = 1; }\nmessage Part {}");
    assert_eq!(
        d.normalized(),
        "syntax = \"proto3\";\npackage acme;\n\noption go_package = \"a\";\noption java_package = \"b\";\n\nmessage Car {\n  .acme.Part p = 1;\n}\n\nmessage Part {}\n"
    );
    assert!(d
        .canonical()
        .contains("option java_package = \"b\";\noption go_package = \"a\";"));
    assert!(ParsedSchema::parse(SchemaType::Protobuf, "message {", &[]).is_err());
}
