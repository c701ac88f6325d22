//! The registry and its `_schemas` topic: restarts, two instances with leader
//! election and forwarding, and Confluent's record formats in both directions.

mod support;

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use support::{assert_error, avro_record, wait_until, Env, Http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_ids_versions_and_settings() {
    let env = Env::start().await;
    let reg = env.registry(&[]).await;
    let http = Http::new(&reg);
    let v1 = avro_record("R", json!([{"name": "a", "type": "string"}]));
    let v2 = avro_record(
        "R",
        json!([{"name": "a", "type": "string"}, {"name": "b", "type": "int", "default": 1}]),
    );
    assert_eq!(http.register("r", v1.clone()).await, 1);
    assert_eq!(http.register("r", v2.clone()).await, 2);
    assert_eq!(http.register("s", json!({"schema": "\"string\""})).await, 3);
    assert_eq!(http.delete("/subjects/s").await.0, 200);
    http.put("/config/r", &json!({"compatibility": "FULL"}))
        .await;
    http.put("/mode/r", &json!({"mode": "READONLY"})).await;
    reg.shutdown().await.unwrap();

    let reg = env.registry(&[]).await;
    let http = Http::new(&reg);
    assert_eq!(http.get("/subjects").await, (200, json!(["r"])));
    assert_eq!(
        http.get("/subjects?deleted=true").await,
        (200, json!(["r", "s"]))
    );
    assert_eq!(http.get("/subjects/r/versions").await, (200, json!([1, 2])));
    assert_eq!(http.get("/subjects/r/versions/2").await.1["id"], 2);
    assert_eq!(http.post("/subjects/r", &v1).await.1["version"], 1);
    assert_eq!(http.get("/config/r").await.1["compatibilityLevel"], "FULL");
    assert_eq!(http.get("/mode/r").await.1["mode"], "READONLY");
    assert_eq!(http.get("/schemas/ids/3").await.1["schema"], "\"string\"");
    // New ids continue after the old ones.
    assert_eq!(http.register("t", json!({"schema": "\"int\""})).await, 4);
    reg.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_elect_one_leader_and_forward_writes() {
    let env = Env::start().await;
    let a = env
        .registry(&[("schema.registry.group.id", "sr-pair")])
        .await;
    let b = env
        .registry(&[("schema.registry.group.id", "sr-pair")])
        .await;
    let (ha, hb) = (Http::new(&a), Http::new(&b));
    // The smallest URL leads (Confluent's rule); both agree once the rebalance is done.
    let expected_leader_is_a = a.url() < b.url();
    wait_until("one leader", || async {
        a.is_leader() == expected_leader_is_a && b.is_leader() != expected_leader_is_a
    })
    .await;
    let (leader, follower, hl, hf) = if expected_leader_is_a {
        (&a, &b, ha.clone(), hb.clone())
    } else {
        (&b, &a, hb.clone(), ha.clone())
    };
    wait_until("the follower knows the leader", || async {
        follower.registry().leader().leader_url() == Some(leader.url())
    })
    .await;

    // A write sent to the follower lands through the leader; both serve it.
    let id = hf
        .register("via-follower", json!({"schema": "\"string\""}))
        .await;
    assert_eq!(id, 1);
    assert_eq!(hl.get("/subjects/via-follower/versions/1").await.1["id"], 1);
    wait_until("the follower reads it back", || {
        let hf = hf.clone();
        async move { hf.get("/subjects/via-follower/versions/1").await.0 == 200 }
    })
    .await;
    // Errors come back from the leader unchanged.
    assert_error(
        &hf.post("/subjects/via-follower/versions", &json!({"schema": "{"}))
            .await,
        422,
        42201,
    );
    assert_error(&hf.delete("/subjects/nope").await, 404, 40401);
    assert_eq!(
        hf.put("/config", &json!({"compatibility": "NONE"})).await.0,
        200
    );
    wait_until("config visible on both", || {
        let (hl, hf) = (hl.clone(), hf.clone());
        async move {
            hl.get("/config").await.1["compatibilityLevel"] == "NONE"
                && hf.get("/config").await.1["compatibilityLevel"] == "NONE"
        }
    })
    .await;

    // The leader leaves: the other instance takes over and accepts writes itself.
    let (leader, follower) = if expected_leader_is_a { (a, b) } else { (b, a) };
    leader.shutdown().await.unwrap();
    wait_until("the survivor leads", || async { follower.is_leader() }).await;
    assert_eq!(
        hf.register("after-failover", json!({"schema": "\"int\""}))
            .await,
        2
    );
    follower.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ineligible_instance_forwards_or_reports_unknown_leader() {
    let env = Env::start().await;
    let only = env
        .registry(&[
            ("leader.eligibility", "false"),
            ("schema.registry.group.id", "no-leader"),
        ])
        .await;
    let http = Http::new(&only);
    assert!(!only.is_leader());
    // No eligible instance: writes fail with 50004, reads work.
    assert_error(
        &http
            .post("/subjects/x/versions", &json!({"schema": "\"string\""}))
            .await,
        500,
        50004,
    );
    assert_eq!(http.get("/subjects").await, (200, json!([])));
    only.shutdown().await.unwrap();
    env.shutdown().await;
}

fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

async fn produce_raw(bootstrap: &str, topic: &str, records: &[(&str, Option<&str>)]) {
    let admin: AdminClient<DefaultClientContext> = client_config(bootstrap).create().unwrap();
    let t = NewTopic::new(topic, 1, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
    admin
        .create_topics(&[t], &AdminOptions::new())
        .await
        .unwrap();
    let producer: FutureProducer = client_config(bootstrap).create().unwrap();
    for (k, v) in records {
        let mut r: FutureRecord<'_, str, str> = FutureRecord::to(topic).key(*k);
        if let Some(v) = v {
            r = r.payload(*v);
        }
        producer
            .send(r, Timeout::After(Duration::from_secs(30)))
            .await
            .unwrap();
    }
}

/// Every record of the topic as (key, value) JSON.
fn read_raw(bootstrap: &str, topic: &str) -> Vec<(Value, Option<Value>)> {
    read_bytes(bootstrap, topic)
        .into_iter()
        .map(|(k, v)| {
            (
                serde_json::from_str(&k).unwrap(),
                v.map(|v| serde_json::from_str(&v).unwrap()),
            )
        })
        .collect()
}

/// Every record of the topic as (key, value) text.
fn read_bytes(bootstrap: &str, topic: &str) -> Vec<(String, Option<String>)> {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "raw-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut next = 0;
    while next < high {
        assert!(std::time::Instant::now() < deadline, "reading {topic}");
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            next = m.offset() + 1;
            let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
            let value = m.payload().map(|p| String::from_utf8(p.to_vec()).unwrap());
            out.push((key, value));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_a_topic_written_by_confluent() {
    let env = Env::start().await;
    let topic = "_schemas_from_confluent";
    let avro = r#"{"type":"record","name":"Old","fields":[{"name":"a","type":"string"}]}"#;
    let schema_v1 =
        json!({"subject":"old-value","version":1,"id":1,"schema":avro,"deleted":false}).to_string();
    let json_schema = json!({"subject":"js","version":1,"id":2,"schemaType":"JSON","schema":"{\"type\":\"object\"}","deleted":false,"md5":"AAAA","metadata":{"properties":{"owner":"x"}}}).to_string();
    let gone =
        json!({"subject":"gone","version":1,"id":3,"schema":"\"int\"","deleted":false}).to_string();
    let records: Vec<(&str, Option<&str>)> = vec![
        (r#"{"keytype":"NOOP","magic":0}"#, None),
        (
            r#"{"keytype":"SCHEMA","subject":"old-value","version":1,"magic":1}"#,
            Some(&schema_v1),
        ),
        (
            r#"{"keytype":"SCHEMA","subject":"js","version":1,"magic":1}"#,
            Some(&json_schema),
        ),
        (
            r#"{"keytype":"SCHEMA","subject":"gone","version":1,"magic":1}"#,
            Some(&gone),
        ),
        (
            r#"{"keytype":"CONFIG","subject":null,"magic":0}"#,
            Some(r#"{"compatibilityLevel":"FULL_TRANSITIVE"}"#),
        ),
        (
            r#"{"keytype":"CONFIG","subject":"js","magic":0}"#,
            Some(r#"{"subject":"js","compatibilityLevel":"NONE"}"#),
        ),
        (
            r#"{"keytype":"MODE","subject":"js","magic":0}"#,
            Some(r#"{"subject":"js","mode":"READONLY"}"#),
        ),
        (
            r#"{"keytype":"DELETE_SUBJECT","subject":"gone","magic":0}"#,
            Some(r#"{"subject":"gone","version":1}"#),
        ),
        (
            r#"{"magic":0,"keytype":"CONTEXT","tenant":"default","context":".x"}"#,
            Some(r#"{}"#),
        ),
    ];
    produce_raw(&env.bootstrap, topic, &records).await;
    let reg = env.registry(&[("kafkastore.topic", topic)]).await;
    let http = Http::new(&reg);
    assert_eq!(
        http.get("/subjects").await,
        (200, json!(["js", "old-value"]))
    );
    assert_eq!(
        http.get("/subjects/old-value/versions/1").await.1["schema"],
        avro
    );
    let (_, js) = http.get("/schemas/ids/2").await;
    assert_eq!(js["schemaType"], "JSON");
    assert_eq!(js["metadata"]["properties"]["owner"], "x");
    assert_eq!(
        http.get("/config").await.1["compatibilityLevel"],
        "FULL_TRANSITIVE"
    );
    assert_eq!(http.get("/config/js").await.1["compatibilityLevel"], "NONE");
    assert_eq!(http.get("/mode/js").await.1["mode"], "READONLY");
    assert_eq!(
        http.get("/subjects/gone/versions?deleted=true").await,
        (200, json!([1]))
    );
    // The next id follows Confluent's.
    assert_eq!(http.register("new", json!({"schema": "\"long\""})).await, 4);
    reg.shutdown().await.unwrap();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_confluents_record_formats() {
    let env = Env::start().await;
    let reg = env.registry(&[]).await;
    let http = Http::new(&reg);
    http.register("a", json!({"schema": "\"string\""})).await;
    http.register(
        "b",
        json!({"schemaType": "JSON", "schema": "{\"type\":\"string\"}"}),
    )
    .await;
    http.put("/config", &json!({"compatibility": "FULL"})).await;
    http.put("/config/a", &json!({"compatibility": "NONE"}))
        .await;
    http.put("/mode/a", &json!({"mode": "READWRITE"})).await;
    http.delete("/subjects/b").await;
    http.delete("/subjects/b?permanent=true").await;
    reg.shutdown().await.unwrap();

    let records: Vec<(Value, Option<Value>)> = read_raw(&env.bootstrap, "_schemas")
        .into_iter()
        .filter(|(k, _)| k["keytype"] != "NOOP")
        .collect();
    let expected = vec![
        (
            json!({"keytype":"SCHEMA","subject":"a","version":1,"magic":1}),
            Some(json!({"subject":"a","version":1,"id":1,"schema":"\"string\"","deleted":false})),
        ),
        (
            json!({"keytype":"SCHEMA","subject":"b","version":1,"magic":1}),
            Some(
                json!({"subject":"b","version":1,"id":2,"schemaType":"JSON","schema":"{\"type\":\"string\"}","deleted":false}),
            ),
        ),
        (
            json!({"keytype":"CONFIG","magic":0}),
            Some(json!({"compatibilityLevel":"FULL"})),
        ),
        (
            json!({"keytype":"CONFIG","subject":"a","magic":0}),
            Some(json!({"subject":"a","compatibilityLevel":"NONE"})),
        ),
        (
            json!({"keytype":"MODE","subject":"a","magic":0}),
            Some(json!({"subject":"a","mode":"READWRITE"})),
        ),
        (
            json!({"keytype":"DELETE_SUBJECT","subject":"b","magic":0}),
            Some(json!({"subject":"b","version":1})),
        ),
        (
            json!({"keytype":"SCHEMA","subject":"b","version":1,"magic":1}),
            None,
        ),
    ];
    assert_eq!(records, expected);
    // Key bytes are exactly Confluent's (field order matters for compaction).
    let keys: Vec<String> = read_bytes(&env.bootstrap, "_schemas")
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !k.contains("NOOP"))
        .collect();
    assert_eq!(
        keys[0],
        r#"{"keytype":"SCHEMA","subject":"a","version":1,"magic":1}"#
    );
    assert_eq!(keys[2], r#"{"keytype":"CONFIG","magic":0}"#);
    assert_eq!(
        keys[5],
        r#"{"keytype":"DELETE_SUBJECT","subject":"b","magic":0}"#
    );
    env.shutdown().await;
}
