//! Schema-based formats against a real strom-schema-registry: v2 `avro`,
//! `jsonschema` and `protobuf` produce and consume, v3 AVRO / JSONSCHEMA /
//! PROTOBUF; the bytes on the topic checked byte for byte (Confluent's
//! framing), and records framed by another producer read through the proxy.

mod support;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{json, Value};
use strom_schema_registry::client::RegistryClient;
use strom_schema_registry::schema::SchemaType;
use support::{assert_error, read_topic, Env, Http, DEADLINE, V2};

const AVRO: &str = "application/vnd.kafka.avro.v2+json";
const JSONSCHEMA: &str = "application/vnd.kafka.jsonschema.v2+json";
const PROTOBUF: &str = "application/vnd.kafka.protobuf.v2+json";

const USER: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":["null","int"],"default":null}]}"#;

fn framed(id: i64, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend_from_slice(&(id as i32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

async fn produce_bytes(bootstrap: &str, topic: &str, value: Vec<u8>) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::<[u8], [u8]>::to(topic)
                .partition(0)
                .payload(&value),
            DEADLINE,
        )
        .await
        .expect("delivered");
}

/// Create an instance of `format` assigned to partition 0 of `topic`; read `n` records.
async fn consume(
    h: &Http,
    group: &str,
    topic: &str,
    format: &str,
    accept: &str,
    n: usize,
) -> Vec<Value> {
    let (status, _, v) = h
        .post(
            &format!("/consumers/{group}"),
            V2,
            &json!({"format": format, "auto.offset.reset": "earliest", "fetch.min.bytes": 1}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let inst = format!(
        "/consumers/{group}/instances/{}",
        v["instance_id"].as_str().unwrap()
    );
    let (status, _, _) = h
        .post(
            &format!("{inst}/assignments"),
            V2,
            &json!({"partitions": [{"topic": topic, "partition": 0}]}),
        )
        .await;
    assert_eq!(status, 204);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut out = Vec::new();
    while out.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "read {} of {n}",
            out.len()
        );
        let (status, ct, v) = h.get_accept(&format!("{inst}/records"), accept).await;
        assert_eq!((status, ct.as_str()), (200, accept), "{v}");
        out.extend(v.as_array().unwrap().iter().cloned());
    }
    assert_eq!(out.len(), n);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_avro_produce_and_consume() {
    let env = Env::with_registry(&[]).await;
    env.create_topic("av", 1).await;
    let h = &env.http;
    let body = json!({
        "key_schema": "\"string\"",
        "value_schema": USER,
        "records": [
            {"key": "k1", "value": {"name": "ann", "age": {"int": 30}}},
            {"key": "k2", "value": {"name": "bob", "age": null}},
        ],
    });
    let (status, ct, v) = h.post("/topics/av", AVRO, &body).await;
    assert_eq!((status, ct.as_str()), (200, V2), "{v}");
    let key_id = v["key_schema_id"].as_i64().expect("key schema id");
    let value_id = v["value_schema_id"].as_i64().expect("value schema id");
    assert_ne!(key_id, value_id);
    assert_eq!(v["offsets"][1]["offset"], 1);

    // Registered under TopicNameStrategy subjects.
    let client = RegistryClient::new(env.registry_url.as_deref().unwrap()).unwrap();
    let latest = client.latest("av-value").await.unwrap();
    assert_eq!(
        (latest.id as i64, latest.version, latest.schema_type),
        (value_id, Some(1), SchemaType::Avro)
    );
    assert_eq!(client.latest("av-key").await.unwrap().id as i64, key_id);

    // The bytes: Confluent framing around Avro's binary encoding.
    let read = read_topic(&env.bootstrap, "av", 1, 2).await;
    assert_eq!(
        read[0].key.as_deref(),
        Some(&framed(key_id, &[0x04, b'k', b'1'])[..])
    );
    assert_eq!(
        read[0].value.as_deref(),
        Some(&framed(value_id, &[0x06, b'a', b'n', b'n', 0x02, 0x3c])[..])
    );
    assert_eq!(
        read[1].value.as_deref(),
        Some(&framed(value_id, &[0x06, b'b', b'o', b'b', 0x00])[..])
    );

    // By id; and errors, none of which writes anything.
    let by_id = json!({"value_schema_id": value_id, "records": [{"value": {"name": "cy"}}]});
    let (status, _, v) = h.post("/topics/av", AVRO, &by_id).await;
    assert_eq!(
        (status, v["value_schema_id"].as_i64()),
        (200, Some(value_id)),
        "{v}"
    );
    let bad_value = json!({"value_schema_id": value_id, "records": [{"value": {"name": 5}}]});
    let got = h.post("/topics/av", AVRO, &bad_value).await;
    assert_error(&got, 422, 42205);
    assert!(
        got.2["message"]
            .as_str()
            .unwrap()
            .contains("records[0].value"),
        "{}",
        got.2
    );
    assert_error(
        &h.post(
            "/topics/av",
            AVRO,
            &json!({"value_schema": USER, "records": [{"key": "k", "value": {"name": "x"}}]}),
        )
        .await,
        422,
        42201,
    );
    assert_error(
        &h.post(
            "/topics/av",
            AVRO,
            &json!({"key_schema": "\"string\"", "records": [{"key": "k", "value": {"name": "x"}}]}),
        )
        .await,
        422,
        42202,
    );
    assert_error(
        &h.post(
            "/topics/av",
            AVRO,
            &json!({"value_schema_id": 9999, "records": [{"value": {"name": "x"}}]}),
        )
        .await,
        408,
        40801,
    );
    assert_error(
        &h.post(
            "/topics/av",
            AVRO,
            &json!({"value_schema": "{\"type\": \"nope\"}", "records": [{"value": 1}]}),
        )
        .await,
        422,
        42205,
    );
    let (_, _, v) = h.get("/topics/av/partitions/0/offsets").await;
    assert_eq!(v["end_offset"], 3);

    // A record framed by another producer (golden bytes) reads back as JSON.
    produce_bytes(
        &env.bootstrap,
        "av",
        framed(value_id, &[0x04, b'd', b'i', 0x02, 0x54]),
    )
    .await;
    let got = consume(h, "avg", "av", "avro", AVRO, 4).await;
    assert_eq!(got[0]["key"], "k1");
    assert_eq!(got[0]["value"], json!({"name": "ann", "age": {"int": 30}}));
    assert_eq!(got[1]["value"], json!({"name": "bob", "age": null}));
    assert_eq!(got[2]["key"], Value::Null);
    assert_eq!(got[2]["value"], json!({"name": "cy", "age": null}));
    assert_eq!(got[3]["value"], json!({"name": "di", "age": {"int": 42}}));
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_jsonschema_and_protobuf() {
    let env = Env::with_registry(&[]).await;
    env.create_topic("js", 1).await;
    env.create_topic("pb", 1).await;
    let h = &env.http;

    let schema = r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#;
    let (status, _, v) = h
        .post(
            "/topics/js",
            JSONSCHEMA,
            &json!({"value_schema": schema, "records": [{"value": {"n": 1}}]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let js_id = v["value_schema_id"].as_i64().unwrap();
    assert_error(
        &h.post(
            "/topics/js",
            JSONSCHEMA,
            &json!({"value_schema_id": js_id, "records": [{"value": {"n": "x"}}]}),
        )
        .await,
        422,
        42205,
    );
    let read = read_topic(&env.bootstrap, "js", 1, 1).await;
    assert_eq!(
        read[0].value.as_deref(),
        Some(&framed(js_id, br#"{"n":1}"#)[..])
    );
    let got = consume(h, "jsg", "js", "jsonschema", JSONSCHEMA, 1).await;
    assert_eq!(got[0]["value"], json!({"n": 1}));

    let proto = "syntax = \"proto3\";\nmessage M {\n  int32 a = 1;\n  string b = 2;\n}\n";
    let (status, _, v) = h
        .post(
            "/topics/pb",
            PROTOBUF,
            &json!({"value_schema": proto, "records": [{"value": {"a": 150, "b": "x"}}]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let pb_id = v["value_schema_id"].as_i64().unwrap();
    assert_error(
        &h.post(
            "/topics/pb",
            PROTOBUF,
            &json!({"value_schema_id": pb_id, "records": [{"value": {"zz": 1}}]}),
        )
        .await,
        422,
        42205,
    );
    // A JSON Schema id used for protobuf is refused.
    assert_error(
        &h.post(
            "/topics/pb",
            PROTOBUF,
            &json!({"value_schema_id": js_id, "records": [{"value": {"a": 1}}]}),
        )
        .await,
        422,
        42205,
    );
    let read = read_topic(&env.bootstrap, "pb", 1, 1).await;
    // Message indexes [0] as the single byte 0, then the message.
    assert_eq!(
        read[0].value.as_deref(),
        Some(&framed(pb_id, &[0x00, 0x08, 0x96, 0x01, 0x12, 0x01, b'x'])[..])
    );
    let got = consume(h, "pbg", "pb", "protobuf", PROTOBUF, 1).await;
    assert_eq!(got[0]["value"], json!({"a": 150, "b": "x"}));
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_schema_types() {
    let env = Env::with_registry(&[]).await;
    env.create_topic("t3", 1).await;
    let id = env.cluster_id().await;
    let h = &env.http;
    let path = format!("/v3/clusters/{id}/topics/t3/records");

    // A raw schema is registered under {topic}-value.
    let (status, _, v) = h
        .post_json(&path, &json!({"value": {"type": "AVRO", "schema": USER, "data": {"name": "ann", "age": {"int": 1}}}}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["error_code"], 200, "{v}");
    let avro_id = v["value"]["schema_id"].as_i64().unwrap();
    assert_eq!(
        v["value"],
        json!({"type": "AVRO", "subject": "t3-value", "schema_id": avro_id, "schema_version": 1, "size": 11})
    );
    // By id, by version, and with no type at all (the subject's latest).
    for value in [
        json!({"schema_id": avro_id, "data": {"name": "b"}}),
        json!({"type": "AVRO", "schema_version": 1, "data": {"name": "c"}}),
        json!({"data": {"name": "d"}}),
    ] {
        let (_, _, v) = h.post_json(&path, &json!({"value": value})).await;
        assert_eq!(v["error_code"], 200, "{v}");
        assert_eq!(
            (v["value"]["type"].clone(), v["value"]["schema_id"].as_i64()),
            (json!("AVRO"), Some(avro_id))
        );
        assert_eq!(v["value"]["schema_version"], 1);
    }
    // A PROTOBUF schema is not compatible with t3-value's AVRO one: the registry's 409 is 40801.
    let (_, _, v) = h
        .post_json(&path, &json!({"value": {"type": "PROTOBUF", "schema": "syntax = \"proto3\"; message V { string s = 1; }", "data": {"s": "hi"}}}))
        .await;
    assert_eq!(v["error_code"], 40801, "{v}");
    // JSONSCHEMA and PROTOBUF with their own subjects.
    let client = RegistryClient::new(env.registry_url.as_deref().unwrap()).unwrap();
    let js_id = client
        .register(
            "keys-js",
            SchemaType::Json,
            r#"{"type":"string","maxLength":3}"#,
            &[],
        )
        .await
        .unwrap();
    let (_, _, v) = h
        .post_json(&path, &json!({
            "key": {"type": "JSONSCHEMA", "subject": "keys-js", "schema_id": js_id, "data": "abc"},
            "value": {"type": "PROTOBUF", "subject": "t3-pb", "schema": "syntax = \"proto3\"; message V { string s = 1; }", "data": {"s": "hi"}},
        }))
        .await;
    assert_eq!(v["error_code"], 200, "{v}");
    assert_eq!(
        v["key"],
        json!({"type": "JSONSCHEMA", "subject": "keys-js", "schema_id": js_id, "schema_version": 1, "size": 10})
    );
    assert_eq!(v["value"]["type"], "PROTOBUF");
    assert_eq!(v["value"]["subject"], "t3-pb");
    assert_eq!(v["value"]["schema_version"], 1);
    let pb_id = v["value"]["schema_id"].as_i64().unwrap();

    // Errors, one answer each.
    let (_, _, v) = h
        .post_json(&path, &json!({"key": {"type": "JSONSCHEMA", "subject": "keys-js", "schema_id": js_id, "data": "toolong"}}))
        .await;
    assert_eq!(v["error_code"], 42205, "{v}");
    let (_, _, v) = h
        .post_json(
            &path,
            &json!({"value": {"type": "AVRO", "schema_id": 4242, "data": {}}}),
        )
        .await;
    assert_eq!(v["error_code"], 40801, "{v}");
    let (_, _, v) = h
        .post_json(
            &path,
            &json!({"value": {"type": "AVRO", "schema_id": pb_id, "data": {}}}),
        )
        .await;
    assert_eq!(v["error_code"], 42205, "a PROTOBUF id for AVRO data: {v}");

    // The bytes read back.
    let read = read_topic(&env.bootstrap, "t3", 1, 5).await;
    assert_eq!(
        read[0].value.as_deref(),
        Some(&framed(avro_id, &[0x06, b'a', b'n', b'n', 0x02, 0x02])[..])
    );
    assert_eq!(
        read[4].key.as_deref(),
        Some(&framed(js_id as i64, br#""abc""#)[..])
    );
    assert_eq!(
        read[4].value.as_deref(),
        Some(&framed(pb_id, &[0x00, 0x0a, 0x02, b'h', b'i'])[..])
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_unreachable_is_40801_and_no_registry_is_refused() {
    let env = Env::with(&[], &[("schema.registry.url", "http://127.0.0.1:1")]).await;
    env.create_topic("u", 1).await;
    let h = &env.http;
    assert_error(
        &h.post(
            "/topics/u",
            AVRO,
            &json!({"value_schema": USER, "records": [{"value": {"name": "x"}}]}),
        )
        .await,
        408,
        40801,
    );
    env.shutdown().await;

    let env = Env::start().await;
    env.create_topic("u", 1).await;
    let h = &env.http;
    assert_error(
        &h.post(
            "/topics/u",
            AVRO,
            &json!({"value_schema": USER, "records": [{"value": {"name": "x"}}]}),
        )
        .await,
        408,
        40801,
    );
    assert_error(
        &h.post("/consumers/g", V2, &json!({"format": "avro"})).await,
        422,
        42204,
    );
    // Binary still works.
    let (status, _, _) = h
        .post(
            "/topics/u",
            support::V2_BINARY,
            &json!({"records": [{"value": support::b64(b"x")}]}),
        )
        .await;
    assert_eq!(status, 200);
    env.shutdown().await;
}
