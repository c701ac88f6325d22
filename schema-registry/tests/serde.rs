//! Confluent wire format: framing, Protobuf message indexes, subject name strategies.

use strom_schema_registry::schema::{ParsedSchema, SchemaType};
use strom_schema_registry::serde::{
    decode, decode_message_indexes, encode, encode_message_indexes, message_indexes, message_name,
    SubjectNameStrategy, WireError, MAGIC_BYTE,
};

#[test]
fn framing_golden_bytes() {
    assert_eq!(MAGIC_BYTE, 0);
    assert_eq!(
        encode(1, b"hi"),
        vec![0x00, 0x00, 0x00, 0x00, 0x01, b'h', b'i']
    );
    assert_eq!(encode(0x0102_0304, &[]), vec![0x00, 0x01, 0x02, 0x03, 0x04]);
    assert_eq!(encode(-1, &[7]), vec![0x00, 0xff, 0xff, 0xff, 0xff, 7]);
    let (id, payload) = decode(&[0x00, 0x00, 0x00, 0x01, 0x00, 0xaa, 0xbb]).unwrap();
    assert_eq!(id, 256);
    assert_eq!(payload, &[0xaa, 0xbb]);
}

#[test]
fn framing_errors() {
    assert_eq!(decode(&[]), Err(WireError::TooShort(0)));
    assert_eq!(
        decode(&[0x00, 0x00, 0x00, 0x01]),
        Err(WireError::TooShort(4))
    );
    assert_eq!(
        decode(&[0x01, 0x00, 0x00, 0x00, 0x01]),
        Err(WireError::UnknownMagicByte(1))
    );
    // header only is fine: an empty payload
    assert_eq!(decode(&[0x00, 0x00, 0x00, 0x00, 0x05]), Ok((5, &[][..])));
}

#[test]
fn message_indexes_golden_bytes() {
    // Confluent: count and indexes are zigzag varints; [0] is the single byte 0.
    assert_eq!(encode_message_indexes(&[0]), vec![0x00]);
    assert_eq!(encode_message_indexes(&[]), vec![0x00]);
    assert_eq!(encode_message_indexes(&[1]), vec![0x02, 0x02]);
    assert_eq!(encode_message_indexes(&[0, 1]), vec![0x04, 0x00, 0x02]);
    assert_eq!(
        encode_message_indexes(&[2, 0, 1]),
        vec![0x06, 0x04, 0x00, 0x02]
    );
    assert_eq!(encode_message_indexes(&[64]), vec![0x02, 0x80, 0x01]);
}

#[test]
fn message_indexes_decode() {
    assert_eq!(
        decode_message_indexes(&[0x00, 0xaa]).unwrap(),
        (vec![0], &[0xaa][..])
    );
    assert_eq!(
        decode_message_indexes(&[0x02, 0x02]).unwrap(),
        (vec![1], &[][..])
    );
    assert_eq!(
        decode_message_indexes(&[0x04, 0x00, 0x02, 0x99]).unwrap(),
        (vec![0, 1], &[0x99][..])
    );
    assert_eq!(
        decode_message_indexes(&[0x02, 0x80, 0x01]).unwrap(),
        (vec![64], &[][..])
    );
    for indexes in [vec![0], vec![3], vec![0, 0], vec![1, 2, 3], vec![1000, 5]] {
        let bytes = encode_message_indexes(&indexes);
        assert_eq!(decode_message_indexes(&bytes).unwrap().0, indexes);
    }
    assert!(decode_message_indexes(&[0x06, 0x02]).is_err());
    assert!(decode_message_indexes(&[0x03]).is_err());
}

#[test]
fn message_index_paths_in_a_schema() {
    let schema = ParsedSchema::parse(
        SchemaType::Protobuf,
        "syntax = \"proto3\";\npackage acme;\nmessage A { message B {} }\nmessage C { message D { message E {} } }",
        &[],
    )
    .unwrap();
    assert_eq!(message_indexes(&schema, "acme.A"), Some(vec![0]));
    assert_eq!(message_indexes(&schema, "acme.A.B"), Some(vec![0, 0]));
    assert_eq!(message_indexes(&schema, "acme.C"), Some(vec![1]));
    assert_eq!(message_indexes(&schema, "acme.C.D.E"), Some(vec![1, 0, 0]));
    assert_eq!(message_name(&schema, &[1, 0]), Some("acme.C.D".to_string()));
    assert_eq!(message_name(&schema, &[0]), Some("acme.A".to_string()));
    assert_eq!(message_name(&schema, &[5]), None);
    let full = [
        encode(7, &encode_message_indexes(&[1, 0, 0])),
        b"x".to_vec(),
    ]
    .concat();
    let (id, rest) = decode(&full).unwrap();
    let (indexes, payload) = decode_message_indexes(rest).unwrap();
    assert_eq!((id, indexes, payload), (7, vec![1, 0, 0], &b"x"[..]));
    let avro = ParsedSchema::parse(SchemaType::Avro, "\"string\"", &[]).unwrap();
    assert_eq!(message_indexes(&avro, "x"), None);
}

#[test]
fn subject_name_strategies() {
    use SubjectNameStrategy::*;
    assert_eq!(
        TopicName.subject("orders", false, None).unwrap(),
        "orders-value"
    );
    assert_eq!(
        TopicName.subject("orders", true, Some("x")).unwrap(),
        "orders-key"
    );
    assert_eq!(
        RecordName
            .subject("orders", false, Some("com.acme.Order"))
            .unwrap(),
        "com.acme.Order"
    );
    assert_eq!(
        TopicRecordName
            .subject("orders", true, Some("com.acme.Order"))
            .unwrap(),
        "orders-com.acme.Order"
    );
    assert!(RecordName.subject("orders", false, None).is_err());
    for s in [TopicName, RecordName, TopicRecordName] {
        assert_eq!(s.class_name().parse::<SubjectNameStrategy>().unwrap(), s);
    }
    assert_eq!(
        "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
            .parse::<SubjectNameStrategy>()
            .unwrap(),
        TopicRecordName
    );
    assert_eq!(
        "RecordNameStrategy".parse::<SubjectNameStrategy>().unwrap(),
        RecordName
    );
    assert!("com.example.MyStrategy"
        .parse::<SubjectNameStrategy>()
        .is_err());
    assert_eq!(SubjectNameStrategy::default(), TopicName);
}

#[test]
fn record_names_for_strategies() {
    let avro = ParsedSchema::parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"l","type":{"type":"record","name":"Line","fields":[]}}]}"#,
        &[],
    )
    .unwrap();
    assert_eq!(avro.record_name().as_deref(), Some("com.acme.Order"));
    assert_eq!(avro.record_names(), vec!["com.acme.Order", "com.acme.Line"]);
    let prim = ParsedSchema::parse(SchemaType::Avro, r#""string""#, &[]).unwrap();
    assert_eq!(prim.record_name(), None);
    let proto = ParsedSchema::parse(
        SchemaType::Protobuf,
        "syntax = \"proto3\";\npackage p;\nmessage M {}\nmessage N {}",
        &[],
    )
    .unwrap();
    assert_eq!(proto.record_name().as_deref(), Some("p.M"));
    let json = ParsedSchema::parse(
        SchemaType::Json,
        r#"{"title":"Order","type":"object"}"#,
        &[],
    )
    .unwrap();
    assert_eq!(json.record_name().as_deref(), Some("Order"));
}
