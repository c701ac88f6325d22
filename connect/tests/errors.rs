//! Connect's error handling in sink tasks, against a real broker: a
//! converter failure fails the task with `errors.tolerance=none` (trace in
//! `/status`, other connectors keep running); with `errors.tolerance=all`
//! bad records are skipped and land in the dead letter queue with the
//! `__connect.errors.*` context headers, good records go through.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use support::{read_lines, wait_until, Env, Http, DEADLINE};

const GOOD_1: &str = r#"{"schema":{"type":"string","optional":false},"payload":"good-1"}"#;
const GOOD_2: &str = r#"{"schema":{"type":"string","optional":false},"payload":"good-2"}"#;
const GOOD_3: &str = r#"{"schema":{"type":"string","optional":false},"payload":"good-3"}"#;

async fn produce(env: &Env, topic: &str, values: &[&str]) {
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &env.bootstrap)
        .create()
        .expect("producer");
    for v in values {
        let r: FutureRecord<'_, str, str> = FutureRecord::to(topic).payload(*v).key("key");
        p.send(r, Duration::from_secs(30))
            .await
            .expect("record produced");
    }
}

/// A consumed record: value and headers (last value per key).
struct Consumed {
    key: Option<String>,
    value: String,
    headers: BTreeMap<String, String>,
}

async fn read_with_headers(env: &Env, topic: &str, count: usize) -> Vec<Consumed> {
    read_until(env, topic, |got| got.len() >= count).await
}

/// Read a topic from the beginning until `done` holds for what was read.
async fn read_until(env: &Env, topic: &str, done: impl Fn(&[Consumed]) -> bool) -> Vec<Consumed> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env.bootstrap)
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut out = Vec::new();
    while !done(&out) {
        let m = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out reading {topic}: {} records", out.len()))
            .expect("message");
        let mut headers = BTreeMap::new();
        if let Some(hs) = m.headers() {
            for h in hs.iter() {
                headers.insert(
                    h.key.to_string(),
                    String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                );
            }
        }
        out.push(Consumed {
            key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
            value: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
            headers,
        });
    }
    out
}

fn json_sink(name: &str, topic: &str, file: &std::path::Path, extra: Value) -> Value {
    let mut config = json!({
        "connector.class": "FileStreamSink",
        "topics": topic,
        "file": file.display().to_string(),
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    json!({"name": name, "config": config})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tolerance_none_fails_only_that_task() {
    let env = Env::start().await;
    env.create_topic("mixed", 1).await;
    env.create_topic("plain", 1).await;
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);
    let strict_out = env.path("strict.txt");
    let healthy_out = env.path("healthy.txt");

    let (code, body) = http
        .post(
            "/connectors",
            &json_sink(
                "strict",
                "mixed",
                &strict_out,
                json!({"errors.tolerance": "none"}),
            ),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = http
        .post(
            "/connectors",
            &json!({"name": "healthy", "config": {
                "connector.class": "FileStreamSink", "topics": "plain",
                "file": healthy_out.display().to_string()}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    http.wait_status("strict", "RUNNING", 1, "RUNNING").await;
    http.wait_status("healthy", "RUNNING", 1, "RUNNING").await;

    produce(&env, "mixed", &[GOOD_1, "plain text, not JSON", GOOD_2]).await;
    let status = http.wait_status("strict", "RUNNING", 1, "FAILED").await;
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.starts_with(
            "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler"
        ),
        "{status}"
    );
    assert!(
        trace.contains("org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed due to serialization error"),
        "{status}"
    );
    assert_eq!(status["connector"]["state"], "RUNNING");
    // As in Connect, a failure in converting a batch fails it before `put`:
    // the good record before the bad one may or may not have been delivered
    // (same poll or an earlier one), the one after never is.

    // The other connector keeps running.
    produce(&env, "plain", &["still", "working"]).await;
    wait_until("the healthy sink's records", || {
        let p = healthy_out.clone();
        async move { read_lines(&p) == ["still", "working"] }
    })
    .await;
    http.wait_status("healthy", "RUNNING", 1, "RUNNING").await;
    let (_, task) = http.get("/connectors/strict/tasks/0/status").await;
    assert_eq!(task["state"], "FAILED", "{task}");
    let strict_lines = read_lines(&strict_out);
    assert!(
        strict_lines.is_empty() || strict_lines == ["good-1"],
        "{strict_lines:?}"
    );
    worker.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tolerance_all_sends_bad_records_to_the_dlq() {
    let env = Env::start().await;
    env.create_topic("mixed", 1).await;
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);
    let out = env.path("out.txt");
    let (code, body) = http
        .post(
            "/connectors",
            &json_sink(
                "tolerant",
                "mixed",
                &out,
                json!({
                    "errors.tolerance": "all",
                    "errors.log.enable": "true",
                    "errors.log.include.messages": "true",
                    "errors.deadletterqueue.topic.name": "dlq",
                    "errors.deadletterqueue.topic.replication.factor": "1",
                    "errors.deadletterqueue.context.headers.enable": "true",
                }),
            ),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    http.wait_status("tolerant", "RUNNING", 1, "RUNNING").await;
    produce(
        &env,
        "mixed",
        &[GOOD_1, "not json", GOOD_2, r#"{"no":"envelope"}"#, GOOD_3],
    )
    .await;
    wait_until("the good records", || {
        let p = out.clone();
        async move { read_lines(&p).len() >= 3 }
    })
    .await;
    assert_eq!(read_lines(&out), ["good-1", "good-2", "good-3"]);

    let dlq = read_with_headers(&env, "dlq", 2).await;
    assert_eq!(dlq[0].value, "not json");
    assert_eq!(dlq[1].value, r#"{"no":"envelope"}"#);
    for (record, offset) in dlq.iter().zip([1, 3]) {
        let h = &record.headers;
        assert_eq!(record.key.as_deref(), Some("key"));
        assert_eq!(h["__connect.errors.topic"], "mixed");
        assert_eq!(h["__connect.errors.partition"], "0");
        assert_eq!(h["__connect.errors.offset"], offset.to_string());
        assert_eq!(h["__connect.errors.connector.name"], "tolerant");
        assert_eq!(h["__connect.errors.task.id"], "0");
        assert_eq!(h["__connect.errors.stage"], "VALUE_CONVERTER");
        assert_eq!(
            h["__connect.errors.class.name"],
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert_eq!(
            h["__connect.errors.exception.class.name"],
            "org.apache.kafka.connect.errors.DataException"
        );
        assert!(h["__connect.errors.exception.stacktrace"]
            .starts_with("org.apache.kafka.connect.errors.DataException: "));
    }
    assert!(dlq[0].headers["__connect.errors.exception.message"]
        .starts_with("Converting byte[] to Kafka Connect data failed due to serialization error"));
    assert!(
        dlq[1].headers["__connect.errors.exception.message"].starts_with(
            "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields"
        )
    );
    http.wait_status("tolerant", "RUNNING", 1, "RUNNING").await;
    worker.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transformation_failures_are_tolerated_too() {
    let env = Env::start().await;
    env.create_topic("strings", 1).await;
    let worker = env.standalone(&env.path("offsets"), Vec::new()).await;
    let http = Http::new(&worker);
    let out = env.path("out.txt");
    // A StringConverter value is a STRING: ExtractField needs a Struct.
    let (code, body) = http
        .post(
            "/connectors",
            &json!({"name": "extracting", "config": {
                "connector.class": "FileStreamSink", "topics": "strings",
                "file": out.display().to_string(),
                "transforms": "extract",
                "transforms.extract.type": "ExtractField$Value",
                "transforms.extract.field": "f",
                "transforms.extract.predicate": "notSkipped",
                "transforms.extract.negate": "true",
                "predicates": "notSkipped",
                "predicates.notSkipped.type": "TopicNameMatches",
                "predicates.notSkipped.pattern": "other",
                "errors.tolerance": "all",
                "errors.deadletterqueue.topic.name": "dlq-transform",
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true"}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    http.wait_status("extracting", "RUNNING", 1, "RUNNING")
        .await;
    produce(&env, "strings", &["one", "two"]).await;
    let dlq = read_with_headers(&env, "dlq-transform", 2).await;
    assert_eq!(dlq[0].value, "one");
    assert_eq!(dlq[1].value, "two");
    let h = &dlq[1].headers;
    assert_eq!(h["__connect.errors.stage"], "TRANSFORMATION");
    assert_eq!(
        h["__connect.errors.class.name"],
        "org.apache.kafka.connect.transforms.ExtractField$Value"
    );
    assert_eq!(
        h["__connect.errors.exception.message"],
        "Only Struct objects supported for [field extraction], found: java.lang.String"
    );
    assert!(read_lines(&out).is_empty());

    // Without context headers the DLQ record carries only its own headers (none).
    let (code, _) = http
        .put(
            "/connectors/extracting/config",
            &json!({
                "connector.class": "FileStreamSink", "topics": "strings",
                "file": out.display().to_string(),
                "errors.tolerance": "all",
                "errors.deadletterqueue.topic.name": "dlq-transform",
                "errors.deadletterqueue.topic.replication.factor": "1",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "true"}),
        )
        .await;
    assert_eq!(code, 200);
    produce(&env, "strings", &["three"]).await;
    // (A restart may replay uncommitted records first: look for "three".)
    let dlq = read_until(&env, "dlq-transform", |got| {
        got.last().is_some_and(|c| c.value == "three")
    })
    .await;
    let three = dlq.last().unwrap();
    assert!(three.headers.is_empty(), "{:?}", three.headers);
    worker.shutdown().await.unwrap();
    env.shutdown().await;
}
