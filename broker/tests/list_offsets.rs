//! ListOffsets through librdkafka: offsets by timestamp, watermarks, and the low
//! watermark after DeleteRecords.

mod common;
mod raw;

use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

const BASE_TS: i64 = 1_704_067_200_000;

/// Produce one record per timestamp, each acknowledged before the next (so each is its own batch).
async fn produce_with_timestamps(
    producer: &FutureProducer,
    topic: &str,
    partition: i32,
    timestamps: &[i64],
) {
    for (i, ts) in timestamps.iter().enumerate() {
        let value = format!("record-{i}");
        let d = producer
            .send(
                FutureRecord::to(topic)
                    .partition(partition)
                    .key("k")
                    .payload(&value)
                    .timestamp(*ts),
                STEP_TIMEOUT,
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce {value}: {e}"));
        assert_eq!(d.offset, i as i64, "offset of {value}");
    }
}

/// ListOffsets by timestamp for one partition, as librdkafka's `offsets_for_times` reports it.
fn offset_for_time(
    consumer: &rdkafka::consumer::StreamConsumer,
    topic: &str,
    partition: i32,
    ts: i64,
) -> Offset {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(ts))
        .expect("timestamp as offset");
    let result = blocking(|| consumer.offsets_for_times(tpl, STEP_TIMEOUT))
        .unwrap_or_else(|e| panic!("offsets_for_times({ts}): {e}"));
    let elem = result
        .find_partition(topic, partition)
        .expect("partition in the answer");
    elem.error()
        .unwrap_or_else(|e| panic!("offsets_for_times({ts}) partition error: {e}"));
    elem.offset()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_for_times_returns_first_offset_at_or_after_target() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("by-time");
    create_topic(&admin(&bootstrap), &topic, 2, &[]).await;
    let producer = producer(&bootstrap, &[]);

    // Partition 0: increasing timestamps, one second apart.
    let increasing: Vec<i64> = (0..10).map(|i| BASE_TS + i * 1000).collect();
    produce_with_timestamps(&producer, &topic, 0, &increasing).await;
    // Partition 1: out of order. The answer is the first offset whose timestamp
    // is >= the target, not the record with the nearest timestamp.
    let shuffled = [
        BASE_TS + 1000,
        BASE_TS + 5000,
        BASE_TS + 3000,
        BASE_TS + 7000,
    ];
    produce_with_timestamps(&producer, &topic, 1, &shuffled).await;

    let c = consumer(&bootstrap, &[]);
    for (target, expected) in [
        (BASE_TS - 1, Offset::Offset(0)),
        (BASE_TS, Offset::Offset(0)),
        (BASE_TS + 1, Offset::Offset(1)),
        (BASE_TS + 2500, Offset::Offset(3)),
        (BASE_TS + 3000, Offset::Offset(3)),
        (BASE_TS + 9000, Offset::Offset(9)),
        (BASE_TS + 9001, Offset::End),
    ] {
        assert_eq!(
            offset_for_time(&c, &topic, 0, target),
            expected,
            "partition 0, target timestamp BASE+{}",
            target - BASE_TS
        );
    }
    for (target, expected) in [
        (BASE_TS + 500, Offset::Offset(0)),
        (BASE_TS + 2000, Offset::Offset(1)),
        (BASE_TS + 4000, Offset::Offset(1)),
        (BASE_TS + 5000, Offset::Offset(1)),
        (BASE_TS + 6000, Offset::Offset(3)),
        (BASE_TS + 7001, Offset::End),
    ] {
        assert_eq!(
            offset_for_time(&c, &topic, 1, target),
            expected,
            "partition 1 (out-of-order timestamps), target BASE+{}",
            target - BASE_TS
        );
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermarks_and_delete_records_move_the_low_watermark() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let topic = unique_name("delete-records");
    create_topic(&admin, &topic, 1, &[]).await;
    let producer = producer(&bootstrap, &[]);
    let c = consumer(&bootstrap, &[]);

    assert_eq!(watermarks(&c, &topic, 0), (0, 0), "empty partition");
    let timestamps: Vec<i64> = (0..10).map(|i| BASE_TS + i * 1000).collect();
    produce_with_timestamps(&producer, &topic, 0, &timestamps).await;
    assert_eq!(watermarks(&c, &topic, 0), (0, 10), "after 10 records");

    // Delete everything below offset 4.
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(4))
        .expect("offset");
    let result = admin
        .delete_records(&tpl, &admin_options())
        .await
        .expect("DeleteRecords request");
    let elem = result
        .find_partition(&topic, 0)
        .expect("partition in the answer");
    elem.error().expect("DeleteRecords partition result");
    assert_eq!(
        elem.offset(),
        Offset::Offset(4),
        "new low watermark reported by DeleteRecords"
    );
    assert_eq!(
        watermarks(&c, &topic, 0),
        (4, 10),
        "watermarks after DeleteRecords(4)"
    );

    // Reading from the beginning starts at the new low watermark.
    let from_start = consumer(&bootstrap, &[]);
    assign(&from_start, &topic, &[0], Offset::Beginning);
    let got = consume_n(&from_start, 6, STEP_TIMEOUT).await;
    let offsets: Vec<i64> = got.iter().map(|m| m.offset()).collect();
    assert_eq!(
        offsets,
        (4..10).collect::<Vec<_>>(),
        "records from the beginning"
    );
    assert_eq!(payload_str(&got[0]), "record-4");

    // Reading below the low watermark with auto.offset.reset=earliest skips to it.
    let below = consumer(&bootstrap, &[("auto.offset.reset", "earliest")]);
    assign(&below, &topic, &[0], Offset::Offset(1));
    let got = consume_n(&below, 1, STEP_TIMEOUT).await;
    assert_eq!(
        got[0].offset(),
        4,
        "a fetch below the low watermark is reset to it"
    );

    // ... and with auto.offset.reset=error it fails (OFFSET_OUT_OF_RANGE surfaced).
    let strict = consumer(&bootstrap, &[("auto.offset.reset", "error")]);
    assign(&strict, &topic, &[0], Offset::Offset(1));
    match tokio::time::timeout(STEP_TIMEOUT, strict.recv()).await {
        Err(_) => panic!("no error within {STEP_TIMEOUT:?} for a fetch below the low watermark"),
        Ok(Ok(m)) => panic!(
            "fetch below the low watermark returned a record at offset {}",
            m.offset()
        ),
        Ok(Err(e)) => {
            let code = e.rdkafka_error_code();
            assert!(
                matches!(
                    code,
                    Some(RDKafkaErrorCode::AutoOffsetReset | RDKafkaErrorCode::OffsetOutOfRange)
                ),
                "expected an offset-out-of-range error, got {e}"
            );
        }
    }

    // Time lookups never answer below the log start offset.
    assert_eq!(
        offset_for_time(&c, &topic, 0, BASE_TS),
        Offset::Offset(4),
        "a timestamp of a deleted record maps to the low watermark"
    );

    // Deleting up to the high watermark empties the partition; new records continue the offsets.
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::End)
        .expect("offset");
    admin
        .delete_records(&tpl, &admin_options())
        .await
        .expect("DeleteRecords(high watermark)")
        .find_partition(&topic, 0)
        .expect("partition in the answer")
        .error()
        .expect("DeleteRecords(high watermark) partition result");
    assert_eq!(
        watermarks(&c, &topic, 0),
        (10, 10),
        "after deleting everything"
    );
    let (_, offset) = produce_one(&producer, &topic, "k", "after-delete").await;
    assert_eq!(offset, 10, "offsets continue after DeleteRecords");
    assert_eq!(watermarks(&c, &topic, 0), (10, 11));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_beyond_high_watermark_is_rejected() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let topic = unique_name("delete-too-far");
    create_topic(&admin, &topic, 1, &[]).await;
    let producer = producer(&bootstrap, &[]);
    produce_one(&producer, &topic, "k", "only").await;

    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(5))
        .expect("offset");
    let result = admin
        .delete_records(&tpl, &admin_options())
        .await
        .expect("DeleteRecords request");
    let err = result
        .find_partition(&topic, 0)
        .expect("partition in the answer")
        .error()
        .expect_err("deleting beyond the high watermark is an error");
    assert_eq!(
        err.rdkafka_error_code(),
        Some(RDKafkaErrorCode::OffsetOutOfRange),
        "error for DeleteRecords beyond the high watermark: {err}"
    );
    let c = consumer(&bootstrap, &[]);
    assert_eq!(watermarks(&c, &topic, 0), (0, 1), "nothing was deleted");
    broker.shutdown().await;
}

/// Every advertised ListOffsets version is answered (kafkajs 2.2.4 speaks v3; v1-v3
/// responses have no leader epoch, and once failed to encode).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_advertised_version_answers() {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};

    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("list-offsets-versions");
    create_topic(&admin(&bootstrap), &topic, 1, &[]).await;
    let producer = producer(&bootstrap, &[]);
    for i in 0..3 {
        produce_one(&producer, &topic, "k", &format!("v{i}")).await;
    }
    let mut raw = raw::Raw::connect(broker.listen_addr()).await;
    for version in 1..=10 {
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(raw::s(&topic)))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-1)])]);
        let resp = raw.call(version, &req).await;
        let p = &resp.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.offset),
            (0, 3),
            "ListOffsets v{version} latest"
        );
    }
    broker.shutdown().await;
}
