//! Retention and compaction through the broker's background jobs, seen by
//! real clients: a compacted topic shrinks to about one record per key and a
//! fresh consumer reads the latest values; a tombstoned key disappears after
//! `delete.retention.ms`; time retention moves the log start offset forward.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;

const FAST_JOBS: &[(&str, &str)] = &[
    ("log.cleaner.backoff.ms", "100"),
    ("log.retention.check.interval.ms", "100"),
];

/// key -> last value, over everything a fresh consumer reads.
async fn latest_values(bootstrap: &str, topic: &str) -> (usize, BTreeMap<String, Option<String>>) {
    let records = read_all(bootstrap, topic, STEP_TIMEOUT).await;
    let mut latest = BTreeMap::new();
    let mut count = 0;
    for m in records.values().flatten() {
        count += 1;
        let value = m.payload().map(|v| String::from_utf8_lossy(v).to_string());
        latest.insert(key_str(m).to_string(), value);
    }
    (count, latest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_topic_keeps_the_latest_value_per_key() {
    let broker = TestBroker::start_with(FAST_JOBS).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("compacted");
    create_topic(
        &admin(&bootstrap),
        &topic,
        1,
        &[
            ("cleanup.policy", "compact"),
            ("segment.bytes", "2048"),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("delete.retention.ms", "500"),
        ],
    )
    .await;
    let producer = producer(&bootstrap, &[("linger.ms", "0")]);
    let keys = 5;
    let updates = 400;
    for i in 0..updates {
        produce_one(
            &producer,
            &topic,
            &format!("key{}", i % keys),
            &format!("value{i}"),
        )
        .await;
    }
    let expected: BTreeMap<String, Option<String>> = (0..keys)
        .map(|k| {
            let last = (0..updates).filter(|i| i % keys == k).max().unwrap_or(0);
            (format!("key{k}"), Some(format!("value{last}")))
        })
        .collect();
    // The cleaner shrinks the log; the active segment stays as written.
    wait_until("the topic is compacted", Duration::from_secs(30), || {
        let bootstrap = bootstrap.clone();
        let topic = topic.clone();
        let expected = expected.clone();
        async move {
            let (count, latest) = latest_values(&bootstrap, &topic).await;
            count < updates / 4 && latest == expected
        }
    })
    .await;

    // A tombstone for key0: the key disappears once delete.retention.ms has passed.
    producer
        .send(
            FutureRecord::<str, str>::to(&topic).key("key0"),
            STEP_TIMEOUT,
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("tombstone: {e}"));
    for i in 0..200 {
        // More traffic on other keys, so the tombstone's segment is rolled and cleaned.
        produce_one(
            &producer,
            &topic,
            &format!("key{}", 1 + i % (keys - 1)),
            &format!("later{i}"),
        )
        .await;
    }
    wait_until(
        "the tombstoned key is gone",
        Duration::from_secs(30),
        || {
            let bootstrap = bootstrap.clone();
            let topic = topic.clone();
            async move {
                let (_, latest) = latest_values(&bootstrap, &topic).await;
                !latest.contains_key("key0") && latest.len() == keys - 1
            }
        },
    )
    .await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_retention_deletes_old_segments() {
    let broker = TestBroker::start_with(FAST_JOBS).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("retention");
    create_topic(
        &admin(&bootstrap),
        &topic,
        1,
        &[("retention.ms", "60000"), ("segment.bytes", "1024")],
    )
    .await;
    let producer = producer(&bootstrap, &[("linger.ms", "0")]);
    let old = rdkafka::util::current_time_millis() - 3_600_000;
    for i in 0..50 {
        producer
            .send(
                FutureRecord::to(&topic)
                    .key("k")
                    .payload(&format!("old{i:03}-{}", "x".repeat(100)))
                    .timestamp(old),
                STEP_TIMEOUT,
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
    }
    for i in 0..5 {
        produce_one(&producer, &topic, "k", &format!("new{i}")).await;
    }
    let consumer = consumer(&bootstrap, &[]);
    wait_until("old segments are deleted", Duration::from_secs(30), || {
        let (low, high) = watermarks(&consumer, &topic, 0);
        async move { low > 0 && high == 55 }
    })
    .await;
    // Whole segments go; the active one (holding the new records) stays.
    let (low, _) = watermarks(&consumer, &topic, 0);
    let records = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
    let got = &records[&0];
    assert_eq!(
        got.first().map(|m| m.offset()),
        Some(low),
        "reads start at the new log start"
    );
    assert_eq!(got.len() as i64, 55 - low);
    let tail: Vec<&str> = got[got.len() - 5..].iter().map(payload_str).collect();
    assert_eq!(tail, ["new0", "new1", "new2", "new3", "new4"]);
    // Below the log start offset: OFFSET_OUT_OF_RANGE.
    let strict = common::consumer(&bootstrap, &[("auto.offset.reset", "error")]);
    assign(&strict, &topic, &[0], rdkafka::Offset::Offset(0));
    let err = tokio::time::timeout(STEP_TIMEOUT, strict.recv())
        .await
        .expect("an answer")
        .expect_err("offset 0 was deleted");
    // librdkafka turns the broker's OFFSET_OUT_OF_RANGE into its reset policy;
    // with `auto.offset.reset=error` that is this error.
    assert!(format!("{err:?}").contains("AutoOffsetReset"), "{err:?}");
    broker.shutdown().await;
}
