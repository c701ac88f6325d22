//! Committed offsets: OffsetCommit / OffsetFetch / OffsetDelete over every
//! served version, their durability across a restart (a new consumer resumes
//! exactly where the group committed, metadata included), the records in
//! `__consumer_offsets` (Kafka's formats, Kafka's partition for a group),
//! deleted groups staying deleted, and offset retention.

mod common;
mod raw;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::FutureExt;

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequest, OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    DeleteGroupsRequest, LeaveGroupRequest, OffsetCommitResponse, OffsetFetchResponse, TopicName,
};
use raw::*;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use strom_broker::coordinator::records::{decode_group_value, partition_for};

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const OFFSET_METADATA_TOO_LARGE: i16 = 12;
const ILLEGAL_GENERATION: i16 = 22;
const GROUP_ID_NOT_FOUND: i16 = 69;
const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;

fn group_consumer(bootstrap: &str, group: &str) -> StreamConsumer {
    client_config(
        bootstrap,
        &[
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "250"),
            ("fetch.wait.max.ms", "100"),
            ("enable.partition.eof", "false"),
            ("allow.auto.create.topics", "false"),
        ],
    )
    .create()
    .expect("create group consumer")
}

async fn produce_per_partition(bootstrap: &str, topic: &str, partitions: i32, n: usize) {
    let producer = producer(bootstrap, &[]);
    for p in 0..partitions {
        for i in 0..n {
            let v = format!("p{p}-{i}");
            producer
                .send(
                    FutureRecord::to(topic).partition(p).key(&v).payload(&v),
                    STEP_TIMEOUT,
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
        }
    }
}

/// (offset, metadata) per partition of `topic` committed for the consumer's group.
fn committed(consumer: &StreamConsumer, topic: &str, partitions: i32) -> Vec<(Offset, String)> {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = blocking(|| consumer.committed_offsets(tpl, STEP_TIMEOUT)).expect("OffsetFetch");
    (0..partitions)
        .map(|p| {
            let e = got.find_partition(topic, p).expect("partition in answer");
            (e.offset(), e.metadata().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_consumer_resumes_at_the_committed_offsets_after_a_restart() {
    let mut broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "4"),
    ])
    .await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("resume");
    create_topic(&admin(&bootstrap), &topic, 3, &[]).await;
    produce_per_partition(&bootstrap, &topic, 3, 10).await;
    let group = unique_name("resume-group");

    // A member of the group commits offsets with metadata, then leaves.
    let first = group_consumer(&bootstrap, &group);
    first.subscribe(&[&topic]).expect("subscribe");
    wait_until(
        "the member owns all three partitions",
        STEP_TIMEOUT,
        || async {
            let _ = tokio::time::timeout(Duration::from_millis(100), first.recv()).await;
            first.assignment().map(|a| a.count()).unwrap_or(0) == 3
        },
    )
    .await;
    let wanted = [(5, "meta-0"), (3, "meta-1"), (7, "")];
    let mut tpl = TopicPartitionList::new();
    for (p, (offset, metadata)) in wanted.iter().enumerate() {
        tpl.add_partition_offset(&topic, p as i32, Offset::Offset(*offset))
            .expect("offset");
        tpl.find_partition(&topic, p as i32)
            .expect("just added")
            .set_metadata(*metadata);
    }
    blocking(|| first.commit(&tpl, CommitMode::Sync)).expect("commit");
    let expected: Vec<(Offset, String)> = wanted
        .iter()
        .map(|(o, m)| (Offset::Offset(*o), m.to_string()))
        .collect();
    assert_eq!(committed(&first, &topic, 3), expected);
    blocking(move || drop(first));

    broker.restart().await;
    let bootstrap = broker.bootstrap();

    // After the restart: the same offsets and metadata, and a new member of
    // the group starts exactly there (not at the beginning: auto.offset.reset
    // is earliest).
    let second = group_consumer(&bootstrap, &group);
    assert_eq!(committed(&second, &topic, 3), expected);
    second.subscribe(&[&topic]).expect("subscribe");
    let messages = consume_n(&second, 15, STEP_TIMEOUT).await;
    let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for m in &messages {
        by_partition
            .entry(m.partition())
            .or_default()
            .push(m.offset());
    }
    for (p, (offset, _)) in wanted.iter().enumerate() {
        let want: Vec<i64> = (*offset..10).collect();
        assert_eq!(by_partition[&(p as i32)], want, "partition {p}");
    }
    blocking(move || drop(second));

    // A deleted group stays deleted: its offsets got tombstones.
    let mut raw = Raw::connect(broker.listen_addr()).await;
    let r = raw
        .call(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![raw::group(&group)]),
        )
        .await;
    assert_eq!(r.results[0].error_code, 0);
    broker.restart().await;
    let mut raw = Raw::connect(broker.listen_addr()).await;
    let fetched = fetch_v7(&mut raw, &group, None).await;
    assert!(fetched.topics.is_empty(), "{fetched:?}");
    let listed = raw.call(4, &ListGroupsRequest::default()).await;
    assert!(listed.groups.iter().all(|g| g.group_id.0.as_str() != group));
    broker.shutdown().await;
}

fn commit_req(
    group_id: &str,
    generation: i32,
    member: &str,
    topic: &str,
    partitions: &[(i32, i64, i32, Option<&str>)],
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(raw::group(group_id))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partitions(
                partitions
                    .iter()
                    .map(|(p, offset, epoch, metadata)| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(*p)
                            .with_committed_offset(*offset)
                            .with_committed_leader_epoch(*epoch)
                            .with_committed_metadata(metadata.map(s))
                    })
                    .collect(),
            )])
}

fn codes(r: &OffsetCommitResponse) -> Vec<i16> {
    r.topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect()
}

async fn fetch_v7(
    raw: &mut Raw,
    group_id: &str,
    topics: Option<&[(&str, &[i32])]>,
) -> OffsetFetchResponse {
    let topics = topics.map(|ts| {
        ts.iter()
            .map(|(t, ps)| {
                OffsetFetchRequestTopic::default()
                    .with_name(TopicName(s(t)))
                    .with_partition_indexes(ps.to_vec())
            })
            .collect()
    });
    raw.call(
        7,
        &OffsetFetchRequest::default()
            .with_group_id(raw::group(group_id))
            .with_topics(topics)
            .with_require_stable(true),
    )
    .await
}

/// (partition, offset, leader epoch, metadata) of one topic in a v1–v7 answer.
fn partitions_of(r: &OffsetFetchResponse, topic: &str) -> Vec<(i32, i64, i32, Option<String>)> {
    r.topics
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                assert_eq!(p.error_code, 0);
                (
                    p.partition_index,
                    p.committed_offset,
                    p.committed_leader_epoch,
                    p.metadata.as_ref().map(|m| m.to_string()),
                )
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_commit_and_fetch_across_versions() {
    let broker = TestBroker::start_with(&[("offsets.topic.num.partitions", "4")]).await;
    let topic = unique_name("versions");
    create_topic(&admin(&broker.bootstrap()), &topic, 2, &[]).await;
    let mut raw = Raw::connect(broker.listen_addr()).await;
    let g = unique_name("simple");

    // Simple commits (no member, generation -1) at v2 and v8.
    let r = raw
        .call(
            2,
            &commit_req(
                &g,
                -1,
                "",
                &topic,
                &[(0, 10, -1, Some("m0")), (1, 20, -1, None)],
            ),
        )
        .await;
    assert_eq!(codes(&r), vec![0, 0]);
    let r = raw
        .call(
            8,
            &commit_req(&g, -1, "", &topic, &[(1, 21, 4, Some("m1"))]),
        )
        .await;
    assert_eq!(codes(&r), vec![0]);

    // v1: the requested partitions; none committed: -1 and empty metadata.
    let r = raw
        .call(
            1,
            &OffsetFetchRequest::default()
                .with_group_id(raw::group(&g))
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(TopicName(s(&topic)))
                    .with_partition_indexes(vec![0, 1, 7])])),
        )
        .await;
    let got: Vec<(i32, i64, Option<String>)> = r.topics[0]
        .partitions
        .iter()
        .map(|p| {
            (
                p.partition_index,
                p.committed_offset,
                p.metadata.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 10, Some("m0".into())),
            (1, 21, Some("m1".into())),
            (7, -1, Some(String::new())),
        ]
    );
    // v5+: leader epochs (-1 when the commit had none); v7: all topics when none are named.
    let r = fetch_v7(&mut raw, &g, None).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(
        partitions_of(&r, &topic),
        vec![
            (0, 10, -1, Some("m0".into())),
            (1, 21, 4, Some("m1".into()))
        ]
    );
    // An unknown group: nothing committed.
    let unknown = unique_name("unknown");
    let r = fetch_v7(&mut raw, &unknown, Some(&[(topic.as_str(), &[0][..])])).await;
    assert_eq!(
        partitions_of(&r, &topic),
        vec![(0, -1, -1, Some(String::new()))]
    );

    // v8+: several groups in one request.
    let request = OffsetFetchRequest::default().with_groups(vec![
        OffsetFetchRequestGroup::default()
            .with_group_id(raw::group(&g))
            .with_topics(None),
        OffsetFetchRequestGroup::default()
            .with_group_id(raw::group(&unknown))
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(TopicName(s(&topic)))
                .with_partition_indexes(vec![1])])),
    ]);
    for version in [8, 9] {
        let r = raw.call(version, &request).await;
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[0].error_code, 0);
        let first: Vec<(i32, i64)> = r.groups[0].topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.committed_offset))
            .collect();
        assert_eq!(first, vec![(0, 10), (1, 21)]);
        let second = &r.groups[1].topics[0].partitions[0];
        assert_eq!(
            (second.committed_offset, second.committed_leader_epoch),
            (-1, -1)
        );
    }

    // Commit errors.
    let big = "x".repeat(4097);
    let r = raw
        .call(
            9,
            &commit_req(
                &g,
                -1,
                "",
                &topic,
                &[(0, 1, -1, Some(&big)), (5, 1, -1, None), (1, 30, -1, None)],
            ),
        )
        .await;
    assert_eq!(
        codes(&r),
        vec![OFFSET_METADATA_TOO_LARGE, UNKNOWN_TOPIC_OR_PARTITION, 0]
    );
    let r = raw
        .call(
            9,
            &commit_req(&g, -1, "", "no-such-topic", &[(0, 1, -1, None)]),
        )
        .await;
    assert_eq!(codes(&r), vec![UNKNOWN_TOPIC_OR_PARTITION]);
    // A generation for a group the coordinator does not know: v9 says so, older versions say ILLEGAL_GENERATION.
    let r = raw
        .call(
            9,
            &commit_req(&unknown, 3, "m", &topic, &[(0, 1, -1, None)]),
        )
        .await;
    assert_eq!(codes(&r), vec![GROUP_ID_NOT_FOUND]);
    let r = raw
        .call(
            5,
            &commit_req(&unknown, 3, "m", &topic, &[(0, 1, -1, None)]),
        )
        .await;
    assert_eq!(codes(&r), vec![ILLEGAL_GENERATION]);
    broker.shutdown().await;
}

/// Java's `String.hashCode`, written independently of the broker's.
fn java_hash(s: &str) -> i32 {
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(unit as i32);
    }
    h
}

/// Every (key, value) in one partition of `__consumer_offsets`.
async fn offsets_records(bootstrap: &str, partition: i32) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let consumer = consumer(bootstrap, &[]);
    let (_, high) = watermarks(&consumer, "__consumer_offsets", partition);
    assign(
        &consumer,
        "__consumer_offsets",
        &[partition],
        Offset::Beginning,
    );
    let messages = consume_n(&consumer, high as usize, STEP_TIMEOUT).await;
    messages
        .iter()
        .map(|m| {
            (
                m.key().expect("key").to_vec(),
                m.payload().map(<[u8]>::to_vec),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_offsets_records_use_kafka_formats_and_partitioning() {
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "7"),
    ])
    .await;
    let bootstrap = broker.bootstrap();
    let topic = "formats";
    create_topic(&admin(&bootstrap), topic, 1, &[]).await;
    let mut raw = Raw::connect_as(broker.listen_addr(), "format-client").await;
    let g = "format-group";
    let partition = java_hash(g).unsigned_abs() as i32 % 7;
    assert_eq!(partition, partition_for(g, 7));

    let before = now_ms();
    let r = raw
        .call(
            9,
            &commit_req(g, -1, "", topic, &[(0, 42, 7, Some("meta"))]),
        )
        .await;
    assert_eq!(codes(&r), vec![0]);
    let after = now_ms();
    let (member, _) = join_alone(&mut raw, g).await;
    let r = raw
        .call(
            1,
            &LeaveGroupRequest::default()
                .with_group_id(raw::group(g))
                .with_member_id(s(&member)),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let r = raw
        .call(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![raw::group(g)]),
        )
        .await;
    assert_eq!(r.results[0].error_code, 0);

    let records = offsets_records(&bootstrap, partition).await;
    let mut offset_key = vec![0, 1, 0, g.len() as u8];
    offset_key.extend_from_slice(g.as_bytes());
    offset_key.extend_from_slice(&[0, topic.len() as u8]);
    offset_key.extend_from_slice(topic.as_bytes());
    offset_key.extend_from_slice(&0i32.to_be_bytes());
    let mut group_key = vec![0, 2, 0, g.len() as u8];
    group_key.extend_from_slice(g.as_bytes());

    // 1: the commit, OffsetCommitKey v1 + OffsetCommitValue v3.
    let (key, value) = &records[0];
    assert_eq!(key, &offset_key);
    let value = value.as_ref().expect("a value");
    assert_eq!(&value[..2], &[0, 3], "OffsetCommitValue v3");
    assert_eq!(&value[2..10], &42i64.to_be_bytes(), "offset");
    assert_eq!(&value[10..14], &7i32.to_be_bytes(), "leader epoch");
    assert_eq!(&value[14..20], &[0, 4, b'm', b'e', b't', b'a'], "metadata");
    let ts = i64::from_be_bytes(value[20..28].try_into().unwrap());
    assert!((before..=after).contains(&ts), "commit timestamp {ts}");
    assert_eq!(value.len(), 28);

    // 2: the group after the leader's sync: GroupMetadataKey v2 + GroupMetadataValue v3.
    let (key, value) = &records[1];
    assert_eq!(key, &group_key);
    let value = value.as_ref().expect("a value");
    assert_eq!(&value[..2], &[0, 3], "GroupMetadataValue v3");
    let v = decode_group_value(value).expect("decodes");
    assert_eq!(v.protocol_type, "consumer");
    assert_eq!((v.generation, v.protocol.as_deref()), (1, Some("range")));
    assert_eq!(v.leader.as_deref(), Some(member.as_str()));
    assert_eq!(v.members.len(), 1);
    let m = &v.members[0];
    assert_eq!(
        (m.member_id.as_str(), m.client_id.as_str()),
        (member.as_str(), "format-client")
    );
    assert_eq!((m.session_timeout, m.rebalance_timeout), (10_000, 10_000));
    assert_eq!(m.subscription, subscription(&["t"]));
    assert_eq!(m.assignment, Bytes::from_static(b"a"));

    // 3: empty after the member left (generation 2, no protocol, no members).
    let (key, value) = &records[2];
    assert_eq!(key, &group_key);
    let v = decode_group_value(value.as_ref().expect("a value")).expect("decodes");
    assert_eq!((v.generation, v.protocol, v.members.len()), (2, None, 0));

    // 4: DeleteGroups: tombstones for the offset and the group, in one batch.
    assert_eq!(records[3], (offset_key, None));
    assert_eq!(records[4], (group_key, None));
    assert_eq!(records.len(), 5);
    broker.shutdown().await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn delete_req(group_id: &str, topics: &[(&str, i32)]) -> OffsetDeleteRequest {
    OffsetDeleteRequest::default()
        .with_group_id(raw::group(group_id))
        .with_topics(
            topics
                .iter()
                .map(|(t, p)| {
                    OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(s(t)))
                        .with_partitions(vec![
                            OffsetDeleteRequestPartition::default().with_partition_index(*p)
                        ])
                })
                .collect(),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_delete_spares_topics_a_member_subscribes_to() {
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "4"),
    ])
    .await;
    let bootstrap = broker.bootstrap();
    let subscribed = unique_name("subscribed");
    let other = unique_name("other");
    create_topic(&admin(&bootstrap), &subscribed, 1, &[]).await;
    create_topic(&admin(&bootstrap), &other, 1, &[]).await;
    let mut raw = Raw::connect(broker.listen_addr()).await;

    // A Stable consumer group subscribed to one topic, with offsets for both.
    let g = unique_name("stable");
    let member = stable_member(&mut raw, &g, &subscribed).await;
    for t in [&subscribed, &other] {
        let r = raw
            .call(8, &commit_req(&g, 1, &member, t, &[(0, 5, -1, None)]))
            .await;
        assert_eq!(codes(&r), vec![0]);
    }
    let r = raw
        .call(
            0,
            &delete_req(&g, &[(&subscribed, 0), (&other, 0), ("missing-topic", 0)]),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let got: Vec<i16> = r
        .topics
        .iter()
        .map(|t| t.partitions[0].error_code)
        .collect();
    assert_eq!(
        got,
        vec![GROUP_SUBSCRIBED_TO_TOPIC, 0, UNKNOWN_TOPIC_OR_PARTITION]
    );
    let r = fetch_v7(&mut raw, &g, None).await;
    assert_eq!(partitions_of(&r, &subscribed).len(), 1);
    assert!(partitions_of(&r, &other).is_empty(), "deleted");
    let r = raw
        .call(0, &delete_req(&unique_name("nope"), &[(&other, 0)]))
        .await;
    assert_eq!(r.error_code, GROUP_ID_NOT_FOUND);

    // Once the group is empty, its offsets can be deleted whatever the topic.
    let r = raw
        .call(
            1,
            &LeaveGroupRequest::default()
                .with_group_id(raw::group(&g))
                .with_member_id(s(&member)),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let r = raw.call(0, &delete_req(&g, &[(&subscribed, 0)])).await;
    assert_eq!((r.error_code, r.topics[0].partitions[0].error_code), (0, 0));
    let r = fetch_v7(&mut raw, &g, None).await;
    assert!(r.topics.is_empty());
    broker.shutdown().await;
}

/// Join `group` alone with a subscription to `topic`; the member id.
async fn stable_member(raw: &mut Raw, group_id: &str, topic: &str) -> String {
    let mut req = join(group_id, "", 10_000);
    req.protocols[0].metadata = subscription(&[topic]);
    let joined = join_with_id(raw, 5, req).await;
    assert_eq!(joined.error_code, 0);
    let member = joined.member_id.to_string();
    let r = raw
        .call(3, &sync(group_id, joined.generation_id, &member, &[]))
        .await;
    assert_eq!(r.error_code, 0);
    member
}

async fn listed(addr: std::net::SocketAddr, group_id: &str) -> bool {
    let mut raw = Raw::connect(addr).await;
    let listed = raw.call(4, &ListGroupsRequest::default()).await;
    listed
        .groups
        .iter()
        .any(|g| g.group_id.0.as_str() == group_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_expires_offsets_of_groups_without_members() {
    let mut broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "4"),
        // Retention 0: offsets of groups without members expire at the next check.
        ("offsets.retention.minutes", "0"),
        ("offsets.retention.check.interval.ms", "100"),
    ])
    .await;
    let topic = unique_name("retained");
    create_topic(&admin(&broker.bootstrap()), &topic, 1, &[]).await;
    let addr = broker.listen_addr();
    let mut raw = Raw::connect(addr).await;

    // A Stable group keeps the offsets of the topic its member subscribes to.
    let g = unique_name("stable");
    let member = stable_member(&mut raw, &g, &topic).await;
    let r = raw
        .call(8, &commit_req(&g, 1, &member, &topic, &[(0, 5, -1, None)]))
        .await;
    assert_eq!(codes(&r), vec![0]);
    // A simple group (offsets only) loses them at the next check, and the
    // group goes with them.
    let simple = unique_name("simple");
    let r = raw
        .call(2, &commit_req(&simple, -1, "", &topic, &[(0, 3, -1, None)]))
        .await;
    assert_eq!(codes(&r), vec![0]);
    wait_until("the simple group's offsets expire", STEP_TIMEOUT, || {
        listed(addr, &simple).map(|l| !l)
    })
    .await;
    let r = fetch_v7(&mut raw, &simple, None).await;
    assert!(r.topics.is_empty());
    let r = fetch_v7(&mut raw, &g, None).await;
    assert_eq!(
        partitions_of(&r, &topic),
        vec![(0, 5, -1, Some(String::new()))]
    );

    // The expiry wrote tombstones: still gone after a restart.
    broker.restart().await;
    let addr = broker.listen_addr();
    let mut raw = Raw::connect(addr).await;
    let r = fetch_v7(&mut raw, &simple, None).await;
    assert!(r.topics.is_empty(), "{r:?}");
    broker.shutdown().await;
}
