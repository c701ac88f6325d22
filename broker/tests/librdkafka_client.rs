//! librdkafka (through `rdkafka`) features that the other integration tests do not
//! cover, for the client compatibility matrix (`tests/clients/rdkafka/matrix.toml`):
//! its partitioners against independently computed partitions, seek / pause /
//! resume, group administration, and the cluster as Metadata describes it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

/// Kafka's murmur2 (the Java client's `Utils.murmur2`), written out here so the
/// test does not trust any client's copy of it.
fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// CRC-32 (IEEE, reflected), as librdkafka's `rd_crc32`.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The Java client's (and librdkafka `murmur2_random`'s) partition for a key.
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// librdkafka's default `consistent_random` partition for a (non-empty) key.
fn consistent_partition(key: &[u8], partitions: i32) -> i32 {
    (crc32(key) % partitions as u32) as i32
}

#[test]
fn hash_functions_match_known_values() {
    // Values from Kafka's own tests of Utils.murmur2 and the CRC-32 check value.
    assert_eq!(murmur2(b"21"), -973_932_308);
    assert_eq!(murmur2(b"foobar"), -790_332_482);
    assert_eq!(murmur2(b"abc"), 479_470_107);
    assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

/// Produces `keys` with the given `partitioner` and checks that every record was
/// delivered to, and is read back from, the partition `expected` computes.
async fn keys_land_where_computed(partitioner: &str, expected: fn(&[u8], i32) -> i32) {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name(&format!("partitioner-{partitioner}"));
    const PARTITIONS: i32 = 7;
    create_topic(&admin(&bootstrap), &topic, PARTITIONS, &[]).await;

    let producer = producer(&bootstrap, &[("partitioner", partitioner)]);
    let keys: Vec<String> = (0..200).map(|i| format!("customer-{i}")).collect();
    let mut want: BTreeMap<String, i32> = BTreeMap::new();
    for key in &keys {
        let p = expected(key.as_bytes(), PARTITIONS);
        let (partition, _) = produce_one(&producer, &topic, key, key).await;
        assert_eq!(
            partition, p,
            "{partitioner}: key {key} delivered to partition {partition}, computed {p}"
        );
        want.insert(key.clone(), p);
    }
    let used: BTreeSet<i32> = want.values().copied().collect();
    assert_eq!(
        used.len(),
        PARTITIONS as usize,
        "200 keys spread over all partitions"
    );

    let all = read_all(&bootstrap, &topic, STEP_TIMEOUT).await;
    let mut seen = 0;
    for (partition, messages) in &all {
        for m in messages {
            assert_eq!(
                want[key_str(m)],
                *partition,
                "{partitioner}: key {} read back from partition {partition}",
                key_str(m)
            );
            seen += 1;
        }
    }
    assert_eq!(seen, keys.len(), "every keyed record read back once");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_consistent_random_partitioner_puts_keys_on_crc32_partitions() {
    keys_land_where_computed("consistent_random", consistent_partition).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn murmur2_random_partitioner_agrees_with_the_java_client() {
    keys_land_where_computed("murmur2_random", java_partition).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_pause_and_resume_on_assigned_partitions() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("seek-pause");
    create_topic(&admin(&bootstrap), &topic, 2, &[]).await;
    let producer = producer(&bootstrap, &[]);
    for partition in 0..2 {
        for i in 0..10 {
            producer
                .send(
                    FutureRecord::to(&topic)
                        .partition(partition)
                        .key("k")
                        .payload(&format!("p{partition}-{i}")),
                    STEP_TIMEOUT,
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
        }
    }

    let consumer = consumer(&bootstrap, &[]);
    assign(&consumer, &topic, &[0, 1], Offset::Beginning);
    let first = consume_n(&consumer, 20, STEP_TIMEOUT).await;
    assert_eq!(first.len(), 20);

    // Seek partition 0 back to offset 7: exactly offsets 7, 8, 9 come again.
    blocking(|| consumer.seek(&topic, 0, Offset::Offset(7), STEP_TIMEOUT)).expect("seek");
    let again = consume_n(&consumer, 3, STEP_TIMEOUT).await;
    let got: Vec<(i32, i64, &str)> = again
        .iter()
        .map(|m| (m.partition(), m.offset(), payload_str(m)))
        .collect();
    assert_eq!(got, vec![(0, 7, "p0-7"), (0, 8, "p0-8"), (0, 9, "p0-9")]);

    // Pause partition 1, then produce to both: only partition 0's record arrives.
    let mut paused = TopicPartitionList::new();
    paused.add_partition(&topic, 1);
    consumer.pause(&paused).expect("pause");
    for partition in 0..2 {
        producer
            .send(
                FutureRecord::to(&topic)
                    .partition(partition)
                    .key("k")
                    .payload(&format!("late-{partition}")),
                STEP_TIMEOUT,
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
    }
    let m = consume_n(&consumer, 1, STEP_TIMEOUT).await;
    assert_eq!((m[0].partition(), payload_str(&m[0])), (0, "late-0"));
    let nothing = tokio::time::timeout(Duration::from_millis(1500), consumer.recv()).await;
    assert!(
        nothing.is_err(),
        "a paused partition delivered a record: {:?}",
        nothing.map(|r| r.map(|m| m.detach()))
    );
    consumer.resume(&paused).expect("resume");
    let m = consume_n(&consumer, 1, STEP_TIMEOUT).await;
    assert_eq!(
        (m[0].partition(), m[0].offset(), payload_str(&m[0])),
        (1, 10, "late-1")
    );
    broker.shutdown().await;
}

fn group_member(bootstrap: &str, group: &str) -> StreamConsumer {
    client_config(
        bootstrap,
        &[
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", "6000"),
            ("fetch.wait.max.ms", "100"),
        ],
    )
    .create()
    .expect("create group consumer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_list_describe_commit_and_delete() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("group-admin");
    let group = unique_name("group-admin");
    create_topic(&admin(&bootstrap), &topic, 3, &[]).await;
    let producer = producer(&bootstrap, &[]);
    for i in 0..9 {
        producer
            .send(
                FutureRecord::to(&topic)
                    .partition(i % 3)
                    .key("k")
                    .payload(&format!("v{i}")),
                STEP_TIMEOUT,
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
    }

    let member = group_member(&bootstrap, &group);
    member.subscribe(&[&topic]).expect("subscribe");
    let got = consume_n(&member, 9, STEP_TIMEOUT).await;
    assert_eq!(got.len(), 9);
    member
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");

    // Committed offsets read back: the log end of each partition.
    let mut tpl = TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition(&topic, p);
    }
    let committed = blocking(|| member.committed_offsets(tpl, STEP_TIMEOUT)).expect("committed");
    let offsets: Vec<(i32, Offset)> = committed
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();
    assert_eq!(
        offsets,
        vec![
            (0, Offset::Offset(3)),
            (1, Offset::Offset(3)),
            (2, Offset::Offset(3))
        ]
    );

    // ListGroups + DescribeGroups through librdkafka's group list.
    let list = blocking(|| member.fetch_group_list(Some(&group), STEP_TIMEOUT)).expect("groups");
    let info = list
        .groups()
        .iter()
        .find(|g| g.name() == group)
        .unwrap_or_else(|| panic!("group {group} not listed"));
    assert_eq!(info.state(), "Stable");
    assert_eq!(info.protocol_type(), "consumer");
    assert_eq!(
        info.protocol(),
        "range",
        "librdkafka's default assignor list starts with range"
    );
    assert_eq!(info.members().len(), 1, "one member");
    assert!(
        info.members()[0]
            .assignment()
            .is_some_and(|a| !a.is_empty()),
        "the member's assignment is described"
    );

    // A group with a member cannot be deleted; once it is empty it can.
    let admin = admin(&bootstrap);
    let results = admin
        .delete_groups(&[&group], &admin_options())
        .await
        .expect("DeleteGroups");
    assert_eq!(
        results,
        vec![Err((group.clone(), RDKafkaErrorCode::NonEmptyGroup))]
    );
    member.unsubscribe();
    drop(member); // closes the consumer: LeaveGroup
    wait_until("the group is empty", STEP_TIMEOUT, || async {
        let probe = consumer(&bootstrap, &[]);
        blocking(|| probe.fetch_group_list(Some(&group), STEP_TIMEOUT))
            .map(|l| {
                l.groups()
                    .iter()
                    .any(|g| g.name() == group && g.state() == "Empty")
            })
            .unwrap_or(false)
    })
    .await;
    let results = admin
        .delete_groups(&[&group], &admin_options())
        .await
        .expect("DeleteGroups");
    assert_eq!(results, vec![Ok(group.clone())]);
    let results = admin
        .delete_groups(&[&group], &admin_options())
        .await
        .expect("DeleteGroups");
    assert_eq!(
        results,
        vec![Err((group.clone(), RDKafkaErrorCode::GroupIdNotFound))]
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_describes_the_cluster() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let metadata = blocking(|| admin.inner().fetch_metadata(None, STEP_TIMEOUT)).expect("Metadata");
    assert_eq!(metadata.brokers().len(), 1);
    let b = &metadata.brokers()[0];
    assert_eq!(b.id(), broker.config().node_id);
    assert_eq!(
        format!("{}:{}", b.host(), b.port()),
        bootstrap,
        "the broker advertises the address clients connected to"
    );
    let cluster_id = blocking(|| admin.inner().fetch_cluster_id(STEP_TIMEOUT));
    let cluster_id = cluster_id.expect("a cluster id");
    assert_eq!(
        cluster_id.len(),
        22,
        "a base64 UUID like Kafka's: {cluster_id}"
    );
    broker.shutdown().await;
}
