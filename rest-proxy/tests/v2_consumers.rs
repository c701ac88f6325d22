//! API v2 consumer instances: lifecycle and errors, subscription,
//! assignment, seeking, records with max_bytes, offsets; two instances of
//! one group splitting a topic, committing, and a new instance resuming
//! after the committed offsets; idle expiry. Cross-checked with rdkafka and
//! the v3 consumer-group endpoints.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use support::{assert_error, b64, produce, Env, Http, DEADLINE, V2, V2_BINARY, V2_JSON};

const ACCEPT_BINARY: &str = "application/vnd.kafka.binary.v2+json";
const ACCEPT_JSON: &str = "application/vnd.kafka.json.v2+json";

/// Create an instance (asserting success); returns its path.
async fn create(h: &Http, group: &str, body: Value) -> String {
    let (status, ct, v) = h.post(&format!("/consumers/{group}"), V2, &body).await;
    assert_eq!((status, ct.as_str()), (200, V2), "create in {group}: {v}");
    let id = v["instance_id"].as_str().unwrap();
    assert_eq!(
        v["base_uri"],
        format!("{}/consumers/{group}/instances/{id}", h.base)
    );
    format!("/consumers/{group}/instances/{id}")
}

/// One `records` read.
async fn read(h: &Http, inst: &str, accept: &str, query: &str) -> Vec<Value> {
    let (status, _, v) = h
        .get_accept(&format!("{inst}/records{query}"), accept)
        .await;
    assert_eq!(status, 200, "records: {v}");
    v.as_array().expect("records array").clone()
}

/// Read until `n` records arrived (asserting no more than `n`).
async fn read_n(h: &Http, inst: &str, accept: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut out = Vec::new();
    while out.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "read {} of {n} records",
            out.len()
        );
        out.extend(read(h, inst, accept, "").await);
    }
    assert_eq!(out.len(), n, "{out:?}");
    out
}

fn offsets_of(records: &[Value]) -> Vec<(i64, i64)> {
    records
        .iter()
        .map(|r| {
            (
                r["partition"].as_i64().unwrap(),
                r["offset"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn rdkafka_committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<Offset> {
    let bootstrap = bootstrap.to_string();
    let group = group.to_string();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", &group)
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(&topic, p);
        }
        let got = c.committed_offsets(tpl, DEADLINE).unwrap();
        got.elements().iter().map(|e| e.offset()).collect()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_consumer_lifecycle_subscription_and_offsets() {
    let env = Env::start().await;
    env.create_topic("c1", 1).await;
    let h = &env.http;
    let records: Vec<(Option<i32>, Option<&str>, &str)> = vec![
        (None, Some("k0"), "m0"),
        (None, Some("k1"), "m1"),
        (None, Some("k2"), "m2"),
        (None, None, "m3"),
        (None, Some("k4"), "m4"),
    ];
    produce(&env.bootstrap, "c1", &records).await;

    let cfg = json!({"name": "a", "format": "binary", "auto.offset.reset": "earliest",
        "auto.commit.enable": "false", "fetch.min.bytes": "1"});
    let inst = create(h, "g1", cfg.clone()).await;
    assert_error(&h.post("/consumers/g1", V2, &cfg).await, 409, 40902);
    // The same name in another group is another instance.
    let other = create(h, "g1-other", cfg.clone()).await;
    let generated = create(h, "g1", json!({})).await;
    assert!(
        generated.starts_with("/consumers/g1/instances/rest-consumer-"),
        "{generated}"
    );
    assert_error(
        &h.post("/consumers/g1", V2, &json!({"format": "avro"}))
            .await,
        422,
        42204,
    );
    assert_error(
        &h.post("/consumers/g1", V2, &json!({"format": "xml"})).await,
        422,
        42204,
    );
    assert_error(
        &h.post(
            "/consumers/g1",
            V2,
            &json!({"auto.offset.reset": "sometimes"}),
        )
        .await,
        422,
        42204,
    );
    assert_error(
        &h.post("/consumers/g1", "text/plain", &json!({})).await,
        415,
        415,
    );

    // Unknown instances.
    let ghost = "/consumers/g1/instances/ghost";
    assert_error(
        &h.get_accept(&format!("{ghost}/records"), ACCEPT_BINARY)
            .await,
        404,
        40403,
    );
    assert_error(
        &h.post(
            &format!("{ghost}/subscription"),
            V2,
            &json!({"topics": ["c1"]}),
        )
        .await,
        404,
        40403,
    );
    assert_error(&h.get(&format!("{ghost}/assignments")).await, 404, 40403);
    assert_error(
        &h.post(&format!("{ghost}/offsets"), V2, &json!({})).await,
        404,
        40403,
    );
    assert_error(&h.delete(ghost).await, 404, 40403);

    // Subscribe and read.
    let (status, _, _) = h
        .post(
            &format!("{inst}/subscription"),
            V2,
            &json!({"topics": ["c1"]}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        h.get(&format!("{inst}/subscription")).await.2,
        json!({"topics": ["c1"]})
    );
    assert_error(
        &h.post(
            &format!("{inst}/assignments"),
            V2,
            &json!({"partitions": [{"topic": "c1", "partition": 0}]}),
        )
        .await,
        409,
        40903,
    );
    let got = read_n(h, &inst, ACCEPT_BINARY, 5).await;
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r["topic"], "c1");
        assert_eq!(r["partition"], 0);
        assert_eq!(r["offset"], i as i64);
        assert_eq!(r["value"], b64(format!("m{i}").as_bytes()));
        match i {
            3 => assert_eq!(r["key"], Value::Null),
            _ => assert_eq!(r["key"], b64(format!("k{i}").as_bytes())),
        }
    }
    // The format is the instance's: asking for another is 40601.
    assert_error(
        &h.get_accept(&format!("{inst}/records"), ACCEPT_JSON).await,
        406,
        40601,
    );
    assert_error(
        &h.get_accept(&format!("{inst}/records"), "text/html").await,
        406,
        406,
    );
    let (status, ct, _) = h
        .get_accept(&format!("{inst}/records?timeout=10"), V2)
        .await;
    assert_eq!((status, ct.as_str()), (200, V2));

    // Commit given offsets: Kafka stores offset + 1, as Confluent's proxy does.
    let (status, _, v) = h
        .post(
            &format!("{inst}/offsets"),
            V2,
            &json!({"offsets": [{"topic": "c1", "partition": 0, "offset": 2}]}),
        )
        .await;
    assert_eq!((status, v), (200, json!([])));
    let committed = json!({"partitions": [{"topic": "c1", "partition": 0}]});
    let get_committed = || async {
        h.send(
            h.client
                .get(h.url(&format!("{inst}/offsets")))
                .header("content-type", V2)
                .body(committed.to_string()),
        )
        .await
    };
    let (status, _, v) = get_committed().await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"offsets": [{"topic": "c1", "partition": 0, "offset": 3, "metadata": ""}]})
    );
    assert_eq!(
        rdkafka_committed(&env.bootstrap, "g1", "c1", 1).await,
        vec![Offset::Offset(3)]
    );
    assert_error(&h.get(&format!("{inst}/offsets")).await, 404, 40402);
    // Commit all: after every record returned.
    let (status, _, _) = h.post_raw(&format!("{inst}/offsets"), V2, Vec::new()).await;
    assert_eq!(status, 200);
    assert_eq!(get_committed().await.2["offsets"][0]["offset"], 5);
    assert_eq!(
        rdkafka_committed(&env.bootstrap, "g1", "c1", 1).await,
        vec![Offset::Offset(5)]
    );

    // Unsubscribe, delete.
    assert_eq!(h.delete(&format!("{inst}/subscription")).await.0, 204);
    assert_eq!(
        h.get(&format!("{inst}/subscription")).await.2,
        json!({"topics": []})
    );
    assert_eq!(h.delete(&inst).await.0, 204);
    assert_error(&h.get(&format!("{inst}/subscription")).await, 404, 40403);
    assert_error(&h.delete(&inst).await, 404, 40403);
    // The other instances are unaffected.
    assert_eq!(h.get(&format!("{other}/subscription")).await.0, 200);
    assert_eq!(h.get(&format!("{generated}/subscription")).await.0, 200);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_consumer_assign_seek_max_bytes_json() {
    let env = Env::start().await;
    env.create_topic("c2", 2).await;
    let h = &env.http;
    let p0: Vec<Value> = (0..10).map(|i| json!({"value": {"i": i}})).collect();
    let p1: Vec<Value> = (0..3).map(|i| json!({"value": {"j": i}})).collect();
    assert_eq!(
        h.post("/topics/c2/partitions/0", V2_JSON, &json!({"records": p0}))
            .await
            .0,
        200
    );
    assert_eq!(
        h.post("/topics/c2/partitions/1", V2_JSON, &json!({"records": p1}))
            .await
            .0,
        200
    );

    let inst = create(
        h,
        "g2",
        json!({"format": "json", "auto.offset.reset": "earliest", "fetch.min.bytes": 1}),
    )
    .await;
    let both =
        json!({"partitions": [{"topic": "c2", "partition": 0}, {"topic": "c2", "partition": 1}]});
    assert_eq!(
        h.post(&format!("{inst}/assignments"), V2, &both).await.0,
        204
    );
    assert_eq!(h.get(&format!("{inst}/assignments")).await.2, both);
    assert_error(
        &h.post(
            &format!("{inst}/subscription"),
            V2,
            &json!({"topics": ["c2"]}),
        )
        .await,
        409,
        40903,
    );

    let got = read_n(h, &inst, ACCEPT_JSON, 13).await;
    let mut by_partition: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for r in &got {
        by_partition
            .entry(r["partition"].as_i64().unwrap())
            .or_default()
            .push(r["value"].clone());
    }
    assert_eq!(
        by_partition[&0],
        (0..10).map(|i| json!({"i": i})).collect::<Vec<_>>()
    );
    assert_eq!(
        by_partition[&1],
        (0..3).map(|i| json!({"j": i})).collect::<Vec<_>>()
    );
    assert_error(
        &h.get_accept(&format!("{inst}/records"), ACCEPT_BINARY)
            .await,
        406,
        40601,
    );

    // Seek to an offset.
    let (status, _, v) = h
        .post(
            &format!("{inst}/positions"),
            V2,
            &json!({"offsets": [{"topic": "c2", "partition": 0, "offset": 7}]}),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    assert_eq!(
        offsets_of(&read_n(h, &inst, ACCEPT_JSON, 3).await),
        vec![(0, 7), (0, 8), (0, 9)]
    );
    // To the beginning.
    let p1_only = json!({"partitions": [{"topic": "c2", "partition": 1}]});
    assert_eq!(
        h.post(&format!("{inst}/positions/beginning"), V2, &p1_only)
            .await
            .0,
        204
    );
    assert_eq!(
        offsets_of(&read_n(h, &inst, ACCEPT_JSON, 3).await),
        vec![(1, 0), (1, 1), (1, 2)]
    );
    // To the end: only what comes after.
    let p0_only = json!({"partitions": [{"topic": "c2", "partition": 0}]});
    assert_eq!(
        h.post(&format!("{inst}/positions/end"), V2, &p0_only)
            .await
            .0,
        204
    );
    assert!(read(h, &inst, ACCEPT_JSON, "?timeout=300").await.is_empty());
    assert_eq!(
        h.post(
            "/topics/c2/partitions/0",
            V2_JSON,
            &json!({"records": [{"value": {"i": 10}}]})
        )
        .await
        .0,
        200
    );
    let got = read_n(h, &inst, ACCEPT_JSON, 1).await;
    assert_eq!(
        (offsets_of(&got), got[0]["value"].clone()),
        (vec![(0, 10)], json!({"i": 10}))
    );
    // Seeking a partition that is not assigned is an illegal state.
    assert_error(
        &h.post(
            &format!("{inst}/positions"),
            V2,
            &json!({"offsets": [{"topic": "c2", "partition": 5, "offset": 0}]}),
        )
        .await,
        409,
        40903,
    );

    // max_bytes: each value {"i":n} is 7 bytes; 20 bytes hold 2 records. Nothing is lost between reads.
    assert_eq!(
        h.post(&format!("{inst}/positions/beginning"), V2, &p0_only)
            .await
            .0,
        204
    );
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while seen.len() < 11 {
        assert!(tokio::time::Instant::now() < deadline, "read {seen:?}");
        let batch = read(h, &inst, ACCEPT_JSON, "?max_bytes=20").await;
        assert!(
            batch.len() <= 2,
            "max_bytes=20 gave {} records",
            batch.len()
        );
        seen.extend(offsets_of(&batch));
    }
    assert_eq!(seen, (0..11).map(|o| (0, o)).collect::<Vec<_>>());
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_group_split_commit_and_resume() {
    let env = Env::start().await;
    env.create_topic("split", 4).await;
    let id = env.cluster_id().await;
    let h = &env.http;
    let mut records = Vec::new();
    let values: Vec<String> = (0..40).map(|i| format!("r{i}")).collect();
    for (i, v) in values.iter().enumerate() {
        records.push((Some((i % 4) as i32), None, v.as_str()));
    }
    produce(&env.bootstrap, "split", &records).await;

    let cfg = json!({"format": "binary", "auto.offset.reset": "earliest", "auto.commit.enable": "false",
        "fetch.min.bytes": "1", "consumer.request.timeout.ms": "300"});
    let a = create(h, "sg", cfg.clone()).await;
    let b = create(h, "sg", cfg.clone()).await;
    for inst in [&a, &b] {
        assert_eq!(
            h.post(
                &format!("{inst}/subscription"),
                V2,
                &json!({"topics": ["split"]})
            )
            .await
            .0,
            204
        );
    }

    // Both read until the group settles with the partitions split between them.
    let assignment = |inst: String| async move {
        let v = h.get(&format!("{inst}/assignments")).await.2;
        v["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["partition"].as_i64().unwrap())
            .collect::<BTreeSet<i64>>()
    };
    let mut seen: BTreeSet<(i64, i64)> = BTreeSet::new();
    // Per instance, the last offset it returned per partition.
    let mut last: [BTreeMap<i64, i64>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let (pa, pb) = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no split; read {seen:?}"
        );
        for (i, inst) in [&a, &b].into_iter().enumerate() {
            for (p, o) in offsets_of(&read(h, inst, ACCEPT_BINARY, "").await) {
                seen.insert((p, o));
                last[i].insert(p, o);
            }
        }
        let (pa, pb) = (assignment(a.clone()).await, assignment(b.clone()).await);
        if !pa.is_empty() && !pb.is_empty() && pa.is_disjoint(&pb) && pa.len() + pb.len() == 4 {
            break (pa, pb);
        }
    };
    // Then each reads its own partitions to the end (records read before the
    // split by the other instance are read again: nothing was committed).
    let caught_up = |last: &BTreeMap<i64, i64>, owned: &BTreeSet<i64>| {
        owned.iter().all(|p| last.get(p) == Some(&9))
    };
    while !(caught_up(&last[0], &pa) && caught_up(&last[1], &pb)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not caught up: {last:?}, owned {pa:?} / {pb:?}"
        );
        for (i, inst) in [&a, &b].into_iter().enumerate() {
            let owner = if i == 0 { &pa } else { &pb };
            for (p, o) in offsets_of(&read(h, inst, ACCEPT_BINARY, "").await) {
                assert!(
                    owner.contains(&p),
                    "{inst} read partition {p} it does not own"
                );
                seen.insert((p, o));
                last[i].insert(p, o);
            }
        }
    }
    assert_eq!(
        seen,
        (0..4).flat_map(|p| (0..10).map(move |o| (p, o))).collect()
    );

    // The group as v3 shows it.
    let groups = format!("/v3/clusters/{id}/consumer-groups");
    let (status, _, v) = h.get(&groups).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["kind"], "KafkaConsumerGroupList");
    let g = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["consumer_group_id"] == "sg")
        .expect("sg listed")
        .clone();
    assert_eq!(
        (
            g["kind"].clone(),
            g["state"].clone(),
            g["is_simple"].clone()
        ),
        (json!("KafkaConsumerGroup"), json!("STABLE"), json!(false))
    );
    assert_eq!(g["partition_assignor"], "range");
    assert!(g["coordinator"]["related"]
        .as_str()
        .unwrap()
        .ends_with("/brokers/1"));
    assert_eq!(h.get(&format!("{groups}/sg")).await.2, g);
    assert_error(&h.get(&format!("{groups}/nope")).await, 404, 404);
    let (_, _, consumers) = h.get(&format!("{groups}/sg/consumers")).await;
    assert_eq!(consumers["kind"], "KafkaConsumerList");
    let members = consumers["data"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    let mut v3_sets = Vec::new();
    for m in members {
        let mid = m["consumer_id"].as_str().unwrap();
        assert_eq!(h.get(&format!("{groups}/sg/consumers/{mid}")).await.2, *m);
        let (_, _, asg) = h
            .get(&format!("{groups}/sg/consumers/{mid}/assignments"))
            .await;
        assert_eq!(asg["kind"], "KafkaConsumerAssignmentList");
        let set: BTreeSet<i64> = asg["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                assert_eq!(x["topic_name"], "split");
                x["partition_id"].as_i64().unwrap()
            })
            .collect();
        let first = *set.iter().next().unwrap();
        let (status, _, one) = h
            .get(&format!(
                "{groups}/sg/consumers/{mid}/assignments/split/partitions/{first}"
            ))
            .await;
        assert_eq!(
            (status, one["kind"].clone()),
            (200, json!("KafkaConsumerAssignment"))
        );
        v3_sets.push(set);
    }
    v3_sets.sort();
    let mut v2_sets = vec![pa.clone(), pb.clone()];
    v2_sets.sort();
    assert_eq!(
        v3_sets, v2_sets,
        "v3 assignments are the v2 instances' assignments"
    );

    // Commit all on both; lags are 0.
    for inst in [&a, &b] {
        assert_eq!(
            h.post_raw(&format!("{inst}/offsets"), V2, Vec::new())
                .await
                .0,
            200
        );
    }
    assert_eq!(
        rdkafka_committed(&env.bootstrap, "sg", "split", 4).await,
        vec![Offset::Offset(10); 4]
    );
    let (_, _, lags) = h.get(&format!("{groups}/sg/lags")).await;
    assert_eq!(lags["kind"], "KafkaConsumerLagList");
    let lag_rows = lags["data"].as_array().unwrap();
    assert_eq!(lag_rows.len(), 4);
    for l in lag_rows {
        assert_eq!(
            (
                l["current_offset"].clone(),
                l["log_end_offset"].clone(),
                l["lag"].clone()
            ),
            (json!(10), json!(10), json!(0))
        );
        assert!(!l["consumer_id"].as_str().unwrap().is_empty());
    }
    // Five more on partition 0: the lag shows them.
    produce(
        &env.bootstrap,
        "split",
        &[
            (Some(0), None, "n0"),
            (Some(0), None, "n1"),
            (Some(0), None, "n2"),
            (Some(0), None, "n3"),
            (Some(0), None, "n4"),
        ],
    )
    .await;
    let (_, _, l0) = h.get(&format!("{groups}/sg/lags/split/partitions/0")).await;
    assert_eq!(
        (
            l0["kind"].clone(),
            l0["lag"].clone(),
            l0["log_end_offset"].clone()
        ),
        (json!("KafkaConsumerLag"), json!(5), json!(15))
    );
    let owner0 = l0["consumer_id"].clone();
    let (_, _, sum) = h.get(&format!("{groups}/sg/lag-summary")).await;
    assert_eq!(sum["kind"], "KafkaConsumerGroupLagSummary");
    assert_eq!(
        (
            sum["max_lag"].clone(),
            sum["total_lag"].clone(),
            sum["max_lag_partition_id"].clone(),
            sum["max_lag_topic_name"].clone()
        ),
        (json!(5), json!(5), json!(0), json!("split"))
    );
    assert_eq!(sum["max_lag_consumer_id"], owner0);

    // Delete both; a new instance resumes after the committed offsets: exactly the five new records.
    assert_eq!(h.delete(&a).await.0, 204);
    assert_eq!(h.delete(&b).await.0, 204);
    let c = create(h, "sg", cfg).await;
    assert_eq!(
        h.post(
            &format!("{c}/subscription"),
            V2,
            &json!({"topics": ["split"]})
        )
        .await
        .0,
        204
    );
    let got = read_n(h, &c, ACCEPT_BINARY, 5).await;
    assert_eq!(
        offsets_of(&got),
        (10..15).map(|o| (0, o)).collect::<Vec<_>>()
    );
    assert_eq!(got[0]["value"], b64(b"n0"));
    // And nothing else arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while tokio::time::Instant::now() < deadline {
        assert!(read(h, &c, ACCEPT_BINARY, "").await.is_empty());
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_instances_expire_and_others_stay() {
    let env = Env::with(&[], &[("consumer.instance.timeout.ms", "2000")]).await;
    env.create_topic("e", 1).await;
    let h = &env.http;
    let idle = create(h, "ge", json!({"name": "idle"})).await;
    let busy = create(h, "ge", json!({"name": "busy"})).await;
    assert_eq!(
        h.post(
            &format!("{busy}/subscription"),
            V2,
            &json!({"topics": ["e"]})
        )
        .await
        .0,
        204
    );
    let metrics = || async {
        h.client
            .get(h.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(metrics()
        .await
        .contains("strom_rest_proxy_consumer_instances 2"));
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "idle instance never expired"
        );
        // Keep the busy one busy (a short records read) while the idle one ages.
        read(h, &busy, ACCEPT_BINARY, "?timeout=100").await;
        if metrics()
            .await
            .contains("strom_rest_proxy_consumer_instances 1")
        {
            break;
        }
    }
    assert_error(&h.get(&format!("{idle}/subscription")).await, 404, 40403);
    assert_eq!(
        h.get(&format!("{busy}/subscription")).await.2,
        json!({"topics": ["e"]})
    );
    // A produce through the proxy still works.
    assert_eq!(
        h.post(
            "/topics/e",
            V2_BINARY,
            &json!({"records": [{"value": b64(b"x")}]})
        )
        .await
        .0,
        200
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_topic_pattern_subscription() {
    let env = Env::start().await;
    for t in ["pat-a", "pat-b", "other"] {
        env.create_topic(t, 1).await;
        produce(&env.bootstrap, t, &[(None, None, t)]).await;
    }
    let h = &env.http;
    let inst = create(
        h,
        "gp",
        json!({"auto.offset.reset": "earliest", "fetch.min.bytes": 1}),
    )
    .await;
    assert_error(
        &h.post(
            &format!("{inst}/subscription"),
            V2,
            &json!({"topic_pattern": "pat-(["}),
        )
        .await,
        422,
        422,
    );
    let (status, _, _) = h
        .post(
            &format!("{inst}/subscription"),
            V2,
            &json!({"topic_pattern": "pat-.*"}),
        )
        .await;
    assert_eq!(status, 204);
    // GET lists the topics the pattern matches, as Java's consumer does.
    assert_eq!(
        h.get(&format!("{inst}/subscription")).await.2,
        json!({"topics": ["pat-a", "pat-b"]})
    );
    let got = read_n(h, &inst, ACCEPT_BINARY, 2).await;
    let mut topics: Vec<&str> = got.iter().map(|r| r["topic"].as_str().unwrap()).collect();
    topics.sort();
    assert_eq!(topics, vec!["pat-a", "pat-b"]);
    assert!(got
        .iter()
        .all(|r| r["value"] == b64(r["topic"].as_str().unwrap().as_bytes())));
    // Nothing from the topic the pattern does not match.
    assert!(read(h, &inst, ACCEPT_BINARY, "?timeout=500")
        .await
        .is_empty());
    assert_error(
        &h.post(
            &format!("{inst}/subscription"),
            V2,
            &json!({"topics": ["pat-a"], "topic_pattern": "pat-.*"}),
        )
        .await,
        409,
        40903,
    );
    env.shutdown().await;
}
