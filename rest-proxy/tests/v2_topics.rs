//! API v2: topics, partitions, offsets, brokers, and produce in the binary
//! and json formats, read back with an rdkafka consumer.

mod support;

use std::collections::HashMap;

use serde_json::{json, Value};
use support::{assert_error, b64, read_topic, Env, V2, V2_BINARY, V2_JSON};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_metadata_endpoints() {
    let env = Env::start().await;
    env.create_topic("meta", 3).await;
    let h = &env.http;

    let (status, ct, v) = h.get("/").await;
    assert_eq!((status, ct.as_str(), &v), (200, V2, &json!({})));

    let (status, ct, v) = h.get("/topics").await;
    assert_eq!((status, ct.as_str()), (200, V2));
    assert_eq!(v, json!(["meta"]), "topic names");

    let (status, _, v) = h.get("/topics/meta").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["name"], "meta");
    assert_eq!(v["configs"]["cleanup.policy"], "delete");
    assert_eq!(v["configs"]["retention.ms"], "604800000");
    let parts = v["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(
            p,
            &json!({"partition": i, "leader": 1, "replicas": [{"broker": 1, "leader": true, "in_sync": true}]})
        );
    }

    // A missing topic is 40401, and asking does not create it.
    let missing = h.get("/topics/nope").await;
    assert_error(&missing, 404, 40401);
    assert_eq!(missing.1, V2, "errors carry the v2 content type");
    assert_eq!(h.get("/topics").await.2, json!(["meta"]));

    let (status, _, v) = h.get("/topics/meta/partitions").await;
    assert_eq!(status, 200);
    assert_eq!(
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["partition"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    let (status, _, v) = h.get("/topics/meta/partitions/2").await;
    assert_eq!(status, 200);
    assert_eq!(v["partition"], 2);
    assert_eq!(v["leader"], 1);
    assert_error(&h.get("/topics/meta/partitions/3").await, 404, 40402);
    assert_error(&h.get("/topics/meta/partitions/x").await, 404, 40402);
    assert_error(&h.get("/topics/nope/partitions").await, 404, 40401);

    // Offsets follow what is produced.
    let (status, _, v) = h.get("/topics/meta/partitions/1/offsets").await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"beginning_offset": 0, "end_offset": 0}));
    let body =
        json!({"records": [{"value": b64(b"a")}, {"value": b64(b"b")}, {"value": b64(b"c")}]});
    let (status, _, v) = h.post("/topics/meta/partitions/1", V2_BINARY, &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["offsets"],
        json!([
            {"partition": 1, "offset": 0, "error_code": null, "error": null},
            {"partition": 1, "offset": 1, "error_code": null, "error": null},
            {"partition": 1, "offset": 2, "error_code": null, "error": null},
        ])
    );
    assert_eq!(v["key_schema_id"], Value::Null);
    let (_, _, v) = h.get("/topics/meta/partitions/1/offsets").await;
    assert_eq!(v, json!({"beginning_offset": 0, "end_offset": 3}));
    assert_error(
        &h.post("/topics/meta/partitions/9", V2_BINARY, &body).await,
        404,
        40402,
    );

    let (status, _, v) = h.get("/brokers").await;
    assert_eq!((status, v), (200, json!({"brokers": [1]})));

    // Unknown paths and methods: Jersey-style errors.
    assert_error(&h.get("/no/such/path").await, 404, 404);
    assert_error(&h.delete("/topics/meta").await, 405, 405);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_produce_binary_and_json_read_back() {
    let env = Env::start().await;
    env.create_topic("p", 4).await;
    let h = &env.http;

    // Binary: keys, no key, an explicit partition; 10 records per key in order.
    let mut records = Vec::new();
    for i in 0..40 {
        let key = format!("key-{}", i % 4);
        records.push(json!({"key": b64(key.as_bytes()), "value": b64(format!("v{i}").as_bytes())}));
    }
    records.push(json!({"value": b64(b"no-key")}));
    records.push(json!({"key": b64(b"pinned"), "value": b64(&[0u8, 255, 1]), "partition": 2}));
    records.push(json!({"key": null, "value": null}));
    let (status, ct, v) = h
        .post("/topics/p", V2_BINARY, &json!({ "records": records }))
        .await;
    assert_eq!((status, ct.as_str()), (200, V2), "{v}");
    let offsets = v["offsets"].as_array().unwrap().clone();
    assert_eq!(offsets.len(), records.len());
    assert!(offsets
        .iter()
        .all(|o| o["error_code"].is_null() && o["error"].is_null()));
    assert_eq!(offsets[41]["partition"], 2, "explicit partition");

    // Each key always lands in one partition, and offsets grow in request order there.
    let mut key_partition: HashMap<String, i64> = HashMap::new();
    let mut last_offset: HashMap<i64, i64> = HashMap::new();
    for (i, o) in offsets.iter().enumerate() {
        let p = o["partition"].as_i64().unwrap();
        let off = o["offset"].as_i64().unwrap();
        if i < 40 {
            let key = format!("key-{}", i % 4);
            assert_eq!(*key_partition.entry(key).or_insert(p), p, "record {i}");
        }
        if let Some(prev) = last_offset.insert(p, off) {
            assert!(off > prev, "offsets in request order in partition {p}");
        }
    }

    // The bytes read back are the bytes sent, at the offsets reported.
    let read = read_topic(&env.bootstrap, "p", 4, records.len()).await;
    let at: HashMap<(i32, i64), &support::Read> =
        read.iter().map(|r| ((r.partition, r.offset), r)).collect();
    for (i, o) in offsets.iter().enumerate() {
        let r = at[&(
            o["partition"].as_i64().unwrap() as i32,
            o["offset"].as_i64().unwrap(),
        )];
        match i {
            0..=39 => {
                assert_eq!(r.key.as_deref(), Some(format!("key-{}", i % 4).as_bytes()));
                assert_eq!(r.value.as_deref(), Some(format!("v{i}").as_bytes()));
            }
            40 => assert_eq!(
                (r.key.as_deref(), r.value.as_deref()),
                (None, Some(&b"no-key"[..]))
            ),
            41 => assert_eq!(r.value.as_deref(), Some(&[0u8, 255, 1][..])),
            _ => assert_eq!((r.key.as_deref(), r.value.as_deref()), (None, None)),
        }
    }

    // Keys are partitioned as Kafka's Java clients do (murmur2): the same key
    // produced by librdkafka with the murmur2 partitioner lands in the same partition.
    support::produce(&env.bootstrap, "p", &[(None, Some("key-1"), "direct")]).await;
    let read = read_topic(&env.bootstrap, "p", 4, records.len() + 1).await;
    let direct = read
        .iter()
        .find(|r| r.value.as_deref() == Some(b"direct"))
        .unwrap();
    assert_eq!(i64::from(direct.partition), key_partition["key-1"]);

    // JSON: any JSON value, stored as its JSON text.
    env.create_topic("pj", 1).await;
    let values = [
        json!({"a": 1, "b": [true, null, "x"]}),
        json!("text"),
        json!(12.5),
    ];
    let body = json!({"records": [
        {"key": {"id": 7}, "value": values[0]},
        {"value": values[1]},
        {"value": values[2]},
    ]});
    let (status, _, v) = h.post("/topics/pj", V2_JSON, &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["offsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["offset"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    let read = read_topic(&env.bootstrap, "pj", 1, 3).await;
    let parse = |b: &Option<Vec<u8>>| serde_json::from_slice::<Value>(b.as_ref().unwrap()).unwrap();
    assert_eq!(parse(&read[0].key), json!({"id": 7}));
    for (r, want) in read.iter().zip(values.iter()) {
        assert_eq!(&parse(&r.value), want);
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_bad_input_gets_clear_errors() {
    let env = Env::with(
        &[("auto.create.topics.enable", "false")],
        &[("request.max.bytes", "4096")],
    )
    .await;
    env.create_topic("bad", 1).await;
    let h = &env.http;
    let good = json!({"records": [{"value": b64(b"ok")}]});

    assert_error(&h.post("/topics/bad", "text/plain", &good).await, 415, 415);
    // An embedded format that does not exist.
    assert_error(
        &h.post("/topics/bad", "application/vnd.kafka.xml.v2+json", &good)
            .await,
        415,
        415,
    );
    let bad_b64 = json!({"records": [{"value": b64(b"fine")}, {"value": "not base64!"}]});
    let got = h.post("/topics/bad", V2_BINARY, &bad_b64).await;
    assert_error(&got, 422, 422);
    assert!(
        got.2["message"]
            .as_str()
            .unwrap()
            .contains("records[1].value"),
        "{}",
        got.2
    );
    assert_error(
        &h.post(
            "/topics/bad",
            V2_BINARY,
            &json!({"records": [{"value": 5}]}),
        )
        .await,
        422,
        422,
    );
    assert_error(
        &h.post_raw("/topics/bad", V2_BINARY, b"{\"records\": [".to_vec())
            .await,
        400,
        400,
    );
    assert_error(
        &h.post("/topics/bad", V2_BINARY, &json!({"records": []}))
            .await,
        422,
        422,
    );
    assert_error(
        &h.post("/topics/missing", V2_BINARY, &good).await,
        404,
        40401,
    );
    let huge = json!({"records": [{"value": b64(&vec![7u8; 8192])}]});
    assert_error(&h.post("/topics/bad", V2_BINARY, &huge).await, 413, 413);

    // Nothing of the refused requests was written; the proxy and broker still work.
    let (_, _, v) = h.get("/topics/bad/partitions/0/offsets").await;
    assert_eq!(v, json!({"beginning_offset": 0, "end_offset": 0}));
    let (status, _, v) = h.post("/topics/bad", V2_BINARY, &good).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["offsets"][0]["offset"], 0);
    let read = read_topic(&env.bootstrap, "bad", 1, 1).await;
    assert_eq!(read[0].value.as_deref(), Some(&b"ok"[..]));
    env.shutdown().await;
}

/// Where the broker auto-creates topics, a v2 produce to a missing topic
/// creates it, as Confluent's proxy (a Kafka producer) would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_produce_auto_creates_where_the_broker_does() {
    let env = Env::with(&[("num.partitions", "2")], &[]).await;
    let h = &env.http;
    let body = json!({"records": [{"value": b64(b"first")}]});
    let (status, _, v) = h.post("/topics/fresh", V2_BINARY, &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["offsets"][0]["offset"], 0, "{v}");
    let (status, _, v) = h.get("/topics/fresh/partitions").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v.as_array().map(Vec::len), Some(2), "num.partitions=2: {v}");
    let read = read_topic(&env.bootstrap, "fresh", 2, 1).await;
    assert_eq!(read[0].value.as_deref(), Some(&b"first"[..]));
    env.shutdown().await;
}
