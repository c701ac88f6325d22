//! Produce and consume through librdkafka: keys, headers, timestamps, partitioning,
//! acks levels, compression codecs, `max.message.bytes`, and auto-creation off.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::*;
use futures::future::join_all;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Timestamp;

/// 2024-01-01T00:00:00Z in milliseconds: far enough from "now" that a broker
/// substituting its own clock would be caught.
const BASE_TS: i64 = 1_704_067_200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_with_headers_and_timestamps_round_trip_across_six_partitions() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("six-partitions");
    create_topic(&admin(&bootstrap), &topic, 6, &[]).await;

    const N: usize = 600;
    let producer = producer(&bootstrap, &[]);
    let keys: Vec<String> = (0..N).map(|i| format!("key-{}", i % 37)).collect();
    let values: Vec<String> = (0..N).map(|i| format!("value-{i:05}")).collect();
    let sends = (0..N).map(|i| {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "seq",
                value: Some(&i.to_string()),
            })
            .insert(Header {
                key: "source",
                value: Some("strom-test"),
            })
            .insert(Header {
                key: "null-header",
                value: None::<&str>,
            })
            .insert(Header {
                key: "binary",
                value: Some(&[0u8, 255, 7, 0][..]),
            });
        producer.send(
            FutureRecord::to(&topic)
                .key(&keys[i])
                .payload(&values[i])
                .headers(headers)
                .timestamp(BASE_TS + i as i64),
            STEP_TIMEOUT,
        )
    });
    let mut delivered = HashMap::new(); // value index -> (partition, offset)
    for (i, result) in join_all(sends).await.into_iter().enumerate() {
        let d = result.unwrap_or_else(|(e, _)| panic!("record {i} not delivered: {e}"));
        delivered.insert(i, (d.partition, d.offset));
    }

    // Same key -> same partition (librdkafka's default consistent_random partitioner).
    let mut key_partition: HashMap<&str, i32> = HashMap::new();
    for (i, (partition, _)) in &delivered {
        let previous = key_partition.insert(&keys[*i], *partition);
        assert!(
            previous.is_none_or(|p| p == *partition),
            "key {} went to partitions {previous:?} and {partition}",
            keys[*i]
        );
    }
    let used: std::collections::BTreeSet<i32> = key_partition.values().copied().collect();
    assert!(
        used.len() > 1,
        "37 keys all landed in one partition: {used:?}"
    );
    assert!(
        used.iter().all(|p| (0..6).contains(p)),
        "partitions {used:?}"
    );

    let all = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
    assert_eq!(all.len(), 6, "six partitions");
    let total: usize = all.values().map(Vec::len).sum();
    assert_eq!(total, N, "exactly {N} records across all partitions");

    let mut per_partition_expected: BTreeMap<i32, usize> = BTreeMap::new();
    for (p, _) in delivered.values() {
        *per_partition_expected.entry(*p).or_default() += 1;
    }
    for (p, messages) in &all {
        assert_eq!(
            messages.len(),
            per_partition_expected.get(p).copied().unwrap_or(0),
            "record count of partition {p}"
        );
        let mut last_seq = None;
        for (expected_offset, m) in messages.iter().enumerate() {
            assert_eq!(
                m.offset(),
                expected_offset as i64,
                "offsets of partition {p} are dense from 0"
            );
            let value = payload_str(m);
            let i: usize = value["value-".len()..].parse().expect("value-N payload");
            assert_eq!(
                delivered[&i],
                (*p, m.offset()),
                "record {i} is where its delivery report said"
            );
            assert_eq!(key_str(m), keys[i], "key of record {i}");
            assert!(
                last_seq < Some(i),
                "partition {p}: record {i} after record {last_seq:?} (send order broken)"
            );
            last_seq = Some(i);
            assert_eq!(
                m.timestamp(),
                Timestamp::CreateTime(BASE_TS + i as i64),
                "timestamp of record {i}"
            );
            assert_eq!(
                headers_of(m),
                vec![
                    ("seq".to_string(), Some(i.to_string().into_bytes())),
                    ("source".to_string(), Some(b"strom-test".to_vec())),
                    ("null-header".to_string(), None),
                    ("binary".to_string(), Some(vec![0u8, 255, 7, 0])),
                ],
                "headers of record {i}"
            );
        }
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_one_and_all_each_deliver() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    for acks in ["0", "1", "all"] {
        let topic = unique_name(&format!("acks-{acks}"));
        create_topic(&admin, &topic, 1, &[]).await;
        let producer = producer(&bootstrap, &[("acks", acks)]);
        let values: Vec<String> = (0..50).map(|i| format!("acks={acks} #{i}")).collect();
        let sends = values
            .iter()
            .map(|v| producer.send(FutureRecord::to(&topic).key("k").payload(v), STEP_TIMEOUT));
        for (i, r) in join_all(sends).await.into_iter().enumerate() {
            let d = r.unwrap_or_else(|(e, _)| panic!("acks={acks}: record {i} failed: {e}"));
            if acks != "0" {
                assert_eq!(d.offset, i as i64, "acks={acks}: offset of record {i}");
            }
        }
        // acks=0 gives no acknowledgement: wait for the records to become visible.
        let c = consumer(&bootstrap, &[]);
        wait_until(
            &format!("acks={acks}: 50 records visible"),
            STEP_TIMEOUT,
            || async { watermarks(&c, &topic, 0).1 >= 50 },
        )
        .await;
        let got = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
        let got: Vec<&str> = got[&0].iter().map(payload_str).collect();
        assert_eq!(got, values, "acks={acks}: every record, in order");
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_compression_codec_round_trips() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = unique_name(&format!("codec-{codec}"));
        create_topic(&admin, &topic, 2, &[]).await;
        // A longer linger makes librdkafka put many records in one compressed batch.
        let producer = producer(
            &bootstrap,
            &[("compression.type", codec), ("linger.ms", "50")],
        );
        let mut values: Vec<String> = (0..300)
            .map(|i| format!("{codec} record {i:04} {}", "compressible ".repeat(i % 20)))
            .collect();
        values.push(format!("{codec} big {}", "x".repeat(200_000)));
        let sends = values.iter().enumerate().map(|(i, v)| {
            producer.send(
                FutureRecord::to(&topic)
                    .partition((i % 2) as i32)
                    .key(v.as_bytes().get(..12).unwrap_or_default())
                    .payload(v)
                    .timestamp(BASE_TS + i as i64),
                STEP_TIMEOUT,
            )
        });
        for (i, r) in join_all(sends).await.into_iter().enumerate() {
            r.unwrap_or_else(|(e, _)| panic!("{codec}: record {i} failed: {e}"));
        }
        let all = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
        for p in 0..2 {
            let expected: Vec<&str> = values
                .iter()
                .enumerate()
                .filter(|(i, _)| (i % 2) as i32 == p)
                .map(|(_, v)| v.as_str())
                .collect();
            let got = &all[&p];
            let got_values: Vec<&str> = got.iter().map(payload_str).collect();
            assert_eq!(
                got_values.len(),
                expected.len(),
                "{codec}: record count of partition {p}"
            );
            assert!(
                got_values == expected,
                "{codec}: partition {p} values differ"
            );
            for (n, m) in got.iter().enumerate() {
                assert_eq!(
                    m.offset(),
                    n as i64,
                    "{codec}: offsets in compressed batches are dense"
                );
                let v = payload_str(m);
                assert_eq!(m.key(), v.as_bytes().get(..12), "{codec}: key of {n}");
                let i = values.iter().position(|x| x == v).expect("known value");
                assert_eq!(
                    m.timestamp(),
                    Timestamp::CreateTime(BASE_TS + i as i64),
                    "{codec}: timestamp"
                );
            }
        }
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_with_gzip_compression_type_accepts_lz4_batches() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("gzip-topic");
    create_topic(
        &admin(&bootstrap),
        &topic,
        1,
        &[("compression.type", "gzip")],
    )
    .await;
    let producer = producer(
        &bootstrap,
        &[("compression.type", "lz4"), ("linger.ms", "50")],
    );
    let values: Vec<String> = (0..200)
        .map(|i| format!("lz4 into gzip topic {i} {}", "abc".repeat(i)))
        .collect();
    let sends = values
        .iter()
        .map(|v| producer.send(FutureRecord::to(&topic).key("k").payload(v), STEP_TIMEOUT));
    for (i, r) in join_all(sends).await.into_iter().enumerate() {
        r.unwrap_or_else(|(e, _)| panic!("record {i} failed: {e}"));
    }
    let all = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
    let got: Vec<&str> = all[&0].iter().map(payload_str).collect();
    assert_eq!(got, values, "every lz4-produced record readable, in order");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_larger_than_max_message_bytes_is_rejected() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("small-max-message");
    create_topic(
        &admin(&bootstrap),
        &topic,
        1,
        &[("max.message.bytes", "2048")],
    )
    .await;
    let producer = producer(
        &bootstrap,
        &[("compression.type", "none"), ("linger.ms", "0")],
    );

    let big = "B".repeat(10_000);
    let err = producer
        .send(
            FutureRecord::to(&topic).key("big").payload(&big),
            STEP_TIMEOUT,
        )
        .await
        .expect_err("a 10 kB record must not fit max.message.bytes=2048");
    assert_eq!(
        err.0.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge),
        "error for an oversized record: {}",
        err.0
    );

    // A record that fits is still accepted, and only it is stored.
    let (partition, offset) = produce_one(&producer, &topic, "small", "fits").await;
    assert_eq!(
        (partition, offset),
        (0, 0),
        "the rejected record took no offset"
    );
    let all = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
    let got: Vec<&str> = all[&0].iter().map(payload_str).collect();
    assert_eq!(got, vec!["fits"]);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_to_missing_topic_without_auto_create_fails() {
    let broker = TestBroker::start_with(&[("auto.create.topics.enable", "false")]).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("does-not-exist");
    let producer = producer(
        &bootstrap,
        &[
            ("message.timeout.ms", "10000"),
            ("topic.metadata.propagation.max.ms", "1000"),
        ],
    );
    let err = producer
        .send(FutureRecord::to(&topic).key("k").payload("v"), STEP_TIMEOUT)
        .await
        .expect_err("producing to a missing topic must fail when auto-creation is off");
    let code = err.0.rdkafka_error_code();
    assert!(
        matches!(
            code,
            Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic)
        ),
        "expected UnknownTopicOrPartition, got {code:?}: {}",
        err.0
    );
    let admin = admin(&bootstrap);
    assert!(
        !topics(admin.inner()).contains_key(&topic),
        "the producer's Metadata request must not have created {topic}"
    );

    // The consumer side sees no such topic either.
    let c = consumer(&bootstrap, &[]);
    let metadata =
        blocking(|| rdkafka::consumer::Consumer::fetch_metadata(&c, Some(&topic), STEP_TIMEOUT))
            .expect("Metadata request");
    let t = metadata.topics().iter().find(|t| t.name() == topic);
    assert!(
        t.is_none_or(|t| t.error().is_some()),
        "Metadata for a missing topic carries an error"
    );
    broker.shutdown().await;
}

/// Fetches read from the page cache on the network threads and go to the
/// blocking pool when it lacks the data: records written back to disk and
/// dropped from the cache still come back whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_no_longer_in_the_page_cache_are_fetched_whole() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("evicted");
    create_topic(&admin(&bootstrap), &topic, 2, &[]).await;
    let producer = producer(&bootstrap, &[("acks", "all")]);
    let values: Vec<String> = (0..400)
        .map(|i| format!("evicted #{i:04} {}", "v".repeat(300)))
        .collect();
    let sends = values.iter().enumerate().map(|(i, v)| {
        producer.send(
            FutureRecord::to(&topic)
                .key("k")
                .payload(v)
                .partition((i % 2) as i32),
            STEP_TIMEOUT,
        )
    });
    for r in join_all(sends).await {
        r.unwrap_or_else(|(e, _)| panic!("send failed: {e}"));
    }

    let mut evicted = 0;
    for p in 0..2 {
        let dir = broker.data_dir().join(format!("{topic}-{p}"));
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "log") {
                let f = std::fs::File::open(&path).unwrap();
                f.sync_all().unwrap();
                rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
                evicted += 1;
            }
        }
    }
    assert_eq!(
        evicted,
        2,
        "one segment per partition under {:?}",
        broker.data_dir()
    );

    let got = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
    for p in 0..2 {
        let got: Vec<&str> = got[&p].iter().map(payload_str).collect();
        let want: Vec<&str> = values
            .iter()
            .skip(p as usize)
            .step_by(2)
            .map(String::as_str)
            .collect();
        assert_eq!(got, want, "partition {p}: every record, in order");
    }
    broker.shutdown().await;
}
