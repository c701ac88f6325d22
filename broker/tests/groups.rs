//! Consumer groups (the classic protocol): real librdkafka consumers sharing
//! partitions and rebalancing (eager and cooperative-sticky), and Kafka's
//! error codes over the raw protocol (member ids, generations, protocols,
//! static membership, session expiry, DescribeGroups / ListGroups /
//! DeleteGroups, FindCoordinator).

mod common;
mod raw;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use kafka_protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{DeleteGroupsRequest, DescribeGroupsResponse, TopicName};
use raw::*;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const UNKNOWN_MEMBER_ID: i16 = 25;
const ILLEGAL_GENERATION: i16 = 22;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const REBALANCE_IN_PROGRESS: i16 = 27;
const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const INVALID_REQUEST: i16 = 42;

/// The session timeout the rdkafka consumers use.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);

fn group_consumer(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> StreamConsumer {
    let session = SESSION_TIMEOUT.as_millis().to_string();
    let mut config = client_config(
        bootstrap,
        &[
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", session.as_str()),
            ("heartbeat.interval.ms", "250"),
            ("fetch.wait.max.ms", "100"),
            ("enable.partition.eof", "false"),
            ("allow.auto.create.topics", "false"),
        ],
    );
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config.create().expect("create group consumer")
}

/// (partition, offset, consumer) of every record consumed and committed.
type Seen = Arc<Mutex<Vec<(i32, i64, usize)>>>;

/// A member's consuming task: receive, commit synchronously (retrying while
/// the partition stays assigned, e.g. through a rebalance), record. Stops
/// between records when told to.
fn spawn_member(
    consumer: Arc<StreamConsumer>,
    topic: String,
    index: usize,
    seen: Seen,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                _ = &mut stopped => return,
                m = consumer.recv() => m,
            };
            let m = match received {
                Ok(m) => m.detach(),
                Err(e) => {
                    eprintln!("consumer {index}: {e}");
                    continue;
                }
            };
            let deadline = Instant::now() + STEP_TIMEOUT;
            loop {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset(&topic, m.partition(), Offset::Offset(m.offset() + 1))
                    .expect("offset");
                match blocking(|| consumer.commit(&tpl, CommitMode::Sync)) {
                    Ok(()) => {
                        seen.lock()
                            .unwrap()
                            .push((m.partition(), m.offset(), index));
                        break;
                    }
                    Err(e) => {
                        let still_assigned = consumer
                            .assignment()
                            .map(|a| a.find_partition(&topic, m.partition()).is_some())
                            .unwrap_or(false);
                        if !still_assigned {
                            // Redelivered to the partition's next owner.
                            break;
                        }
                        assert!(
                            Instant::now() < deadline,
                            "consumer {index}: commit of {}/{} keeps failing: {e}",
                            m.partition(),
                            m.offset()
                        );
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    });
    (stop, handle)
}

fn assigned(consumer: &StreamConsumer, topic: &str) -> BTreeSet<i32> {
    consumer
        .assignment()
        .map(|a| {
            a.elements_for_topic(topic)
                .iter()
                .map(|e| e.partition())
                .collect()
        })
        .unwrap_or_default()
}

/// Every partition is assigned to exactly one of `consumers`, each has some.
fn partitions_split(consumers: &[&StreamConsumer], topic: &str, partitions: i32) -> bool {
    let mut all = Vec::new();
    for c in consumers {
        let mine = assigned(c, topic);
        if mine.is_empty() {
            return false;
        }
        all.extend(mine);
    }
    all.sort_unstable();
    all == (0..partitions).collect::<Vec<_>>()
}

async fn produce_round(bootstrap: &str, topic: &str, round: usize, per_partition: usize) {
    let producer = producer(bootstrap, &[]);
    for p in 0..6 {
        for i in 0..per_partition {
            let payload = format!("r{round}-p{p}-{i}");
            producer
                .send(
                    FutureRecord::to(topic)
                        .partition(p)
                        .key(&payload)
                        .payload(&payload),
                    STEP_TIMEOUT,
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
        }
    }
}

async fn wait_seen(seen: &Seen, n: usize, what: &str) {
    wait_until(what, STEP_TIMEOUT, || async {
        let seen = seen.lock().unwrap();
        let unique: BTreeSet<(i32, i64)> = seen.iter().map(|(p, o, _)| (*p, *o)).collect();
        unique.len() >= n
    })
    .await;
}

/// Three members split a 6-partition topic; one leaves; the other two take
/// its partitions; every record is consumed and committed exactly once.
async fn three_members_then_one_leaves(extra: &[(&str, &str)], protocol: &str) {
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "300"),
        ("offsets.topic.num.partitions", "5"),
    ])
    .await;
    let bootstrap = broker.bootstrap();
    let topic = unique_name("groups");
    create_topic(&admin(&bootstrap), &topic, 6, &[]).await;
    let group = unique_name("group");
    produce_round(&bootstrap, &topic, 0, 10).await;

    let seen: Seen = Arc::default();
    let consumers: Vec<Arc<StreamConsumer>> = (0..3)
        .map(|_| Arc::new(group_consumer(&bootstrap, &group, extra)))
        .collect();
    let mut members = Vec::new();
    for (i, c) in consumers.iter().enumerate() {
        c.subscribe(&[&topic]).expect("subscribe");
        members.push(spawn_member(c.clone(), topic.clone(), i, seen.clone()));
    }
    wait_until(
        "each partition assigned to exactly one of three members",
        STEP_TIMEOUT,
        || async {
            let all: Vec<&StreamConsumer> = consumers.iter().map(|c| c.as_ref()).collect();
            partitions_split(&all, &topic, 6)
        },
    )
    .await;
    wait_seen(&seen, 60, "the first 60 records consumed").await;
    let groups = blocking(|| consumers[0].fetch_group_list(Some(&group), STEP_TIMEOUT))
        .expect("ListGroups/DescribeGroups");
    let described = &groups.groups()[0];
    assert_eq!(
        (
            described.state(),
            described.protocol_type(),
            described.protocol()
        ),
        ("Stable", "consumer", protocol)
    );
    assert_eq!(described.members().len(), 3);

    // Member 0 stops between records and leaves the group.
    let (stop, handle) = members.remove(0);
    let _ = stop.send(());
    handle.await.expect("member task");
    let mut consumers = consumers;
    let leaving = consumers.remove(0);
    let left_at = Instant::now();
    // Closing the consumer sends LeaveGroup.
    blocking(move || drop(leaving));
    let rest: Vec<&StreamConsumer> = consumers.iter().map(|c| c.as_ref()).collect();
    wait_until(
        "the two remaining members own all six partitions",
        SESSION_TIMEOUT + Duration::from_secs(4),
        || async { partitions_split(&rest, &topic, 6) },
    )
    .await;
    eprintln!("partitions moved in {:?}", left_at.elapsed());

    produce_round(&bootstrap, &topic, 1, 10).await;
    wait_seen(&seen, 120, "all 120 records consumed").await;

    let seen = seen.lock().unwrap().clone();
    let mut count: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for (p, o, _) in &seen {
        *count.entry((*p, *o)).or_default() += 1;
    }
    let duplicated: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "records consumed twice: {duplicated:?}"
    );
    for p in 0..6 {
        for o in 0..20 {
            assert!(count.contains_key(&(p, o)), "record {p}/{o} never consumed");
        }
    }
    let mut tpl = TopicPartitionList::new();
    for p in 0..6 {
        tpl.add_partition(&topic, p);
    }
    let committed =
        blocking(|| consumers[0].committed_offsets(tpl, STEP_TIMEOUT)).expect("committed");
    for e in committed.elements() {
        assert_eq!(
            e.offset(),
            Offset::Offset(20),
            "committed offset of {}",
            e.partition()
        );
    }
    for (stop, handle) in members {
        let _ = stop.send(());
        handle.await.expect("member task");
    }
    blocking(move || drop(consumers));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eager_members_split_partitions_and_take_over_a_leaver() {
    three_members_then_one_leaves(&[], "range").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cooperative_sticky_members_split_partitions_and_take_over_a_leaver() {
    three_members_then_one_leaves(
        &[("partition.assignment.strategy", "cooperative-sticky")],
        "cooperative-sticky",
    )
    .await;
}

fn commit(
    group_id: &str,
    generation: i32,
    member: &str,
    instance: Option<&str>,
    topic: &str,
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(group(group_id))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_group_instance_id(instance.map(s))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(1)])])
}

fn commit_code(r: &kafka_protocol::messages::OffsetCommitResponse) -> i16 {
    r.topics[0].partitions[0].error_code
}

async fn describe(raw: &mut Raw, version: i16, group_id: &str) -> DescribeGroupsResponse {
    raw.call(
        version,
        &DescribeGroupsRequest::default().with_groups(vec![group(group_id)]),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_errors_over_the_raw_protocol() {
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "3"),
    ])
    .await;
    let topic = unique_name("raw-groups");
    create_topic(&admin(&broker.bootstrap()), &topic, 1, &[]).await;
    let addr = broker.listen_addr();
    let mut a = Raw::connect_as(addr, "client-a").await;
    let g = unique_name("raw-group");

    // MEMBER_ID_REQUIRED round trip (v4+): an id `clientId-UUID`, then a join with it.
    let first = a.call(5, &join(&g, "", 10_000)).await;
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    assert_eq!(first.generation_id, -1);
    let a_id = first.member_id.to_string();
    assert!(a_id.starts_with("client-a-"), "member id {a_id}");
    let joined = a.call(5, &join(&g, &a_id, 10_000)).await;
    assert_eq!(joined.error_code, 0, "{joined:?}");
    assert_eq!(joined.generation_id, 1);
    assert_eq!(joined.leader.as_str(), a_id);
    assert_eq!(joined.protocol_name.as_deref(), Some("range"));
    assert_eq!(joined.members.len(), 1, "the leader gets every member");
    assert_eq!(joined.members[0].metadata, subscription(&["t"]));
    // v0-v3 have no round trip: the first join gets an id at once (a new group here).
    let mut v3 = Raw::connect(addr).await;
    let g3 = unique_name("raw-group-v3");
    let r = v3.call(3, &join(&g3, "", 10_000)).await;
    assert_eq!((r.error_code, r.generation_id), (0, 1));

    // Not a member / nothing to sync yet.
    assert_eq!(
        heartbeat_code(&mut a, &g, 1, "nobody").await,
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        heartbeat_code(&mut a, &unique_name("no-group"), 1, &a_id).await,
        UNKNOWN_MEMBER_ID
    );
    let r = a.call(5, &join(&g, "nobody", 10_000)).await;
    assert_eq!(r.error_code, UNKNOWN_MEMBER_ID);
    let synced = a
        .call(3, &sync(&g, 1, &a_id, &[(&a_id, b"assignment-a")]))
        .await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(&synced.assignment[..], b"assignment-a");

    // Another protocol type, or no protocol in common: INCONSISTENT_GROUP_PROTOCOL.
    let mut other = Raw::connect(addr).await;
    let r = other
        .call(5, &join(&g, "", 10_000).with_protocol_type(s("connect")))
        .await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL);
    let mut rr = join(&g, "", 10_000);
    rr.protocols[0].name = s("roundrobin");
    assert_eq!(
        other.call(5, &rr).await.error_code,
        INCONSISTENT_GROUP_PROTOCOL
    );
    // SyncGroup v5 checks the protocol type and name too.
    let r = a
        .call(
            5,
            &sync(&g, 1, &a_id, &[]).with_protocol_type(Some(s("connect"))),
        )
        .await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL);

    // A second member joins: the group rebalances; A learns it from its heartbeat.
    let mut b = Raw::connect_as(addr, "client-b").await;
    let b_first = b.call(5, &join(&g, "", 10_000)).await;
    assert_eq!(b_first.error_code, MEMBER_ID_REQUIRED);
    let b_id = b_first.member_id.to_string();
    let b_join = {
        let req = join(&g, &b_id, 10_000);
        tokio::spawn(async move {
            let r = b.call(5, &req).await;
            (b, r)
        })
    };
    heartbeat_until(&mut a, &g, 1, &a_id, REBALANCE_IN_PROGRESS, STEP_TIMEOUT).await;
    // Commits are still accepted while the group prepares to rebalance.
    assert_eq!(
        commit_code(&a.call(8, &commit(&g, 1, &a_id, None, &topic)).await),
        0
    );
    let a_rejoined = a.call(5, &join(&g, &a_id, 10_000)).await;
    let (mut b, b_joined) = b_join.await.expect("join task");
    assert_eq!((a_rejoined.error_code, b_joined.error_code), (0, 0));
    assert_eq!(a_rejoined.generation_id, 2);
    assert_eq!(b_joined.generation_id, 2);
    assert_eq!(
        a_rejoined.leader.as_str(),
        a_id,
        "the first member stays leader"
    );
    assert_eq!(a_rejoined.members.len(), 2);
    assert!(b_joined.members.is_empty(), "followers get no member list");

    // Before the leader syncs, commits get REBALANCE_IN_PROGRESS.
    assert_eq!(
        commit_code(&b.call(8, &commit(&g, 2, &b_id, None, &topic)).await),
        REBALANCE_IN_PROGRESS
    );
    // The follower waits in SyncGroup until the leader hands in the assignments.
    let follower = {
        let req = sync(&g, 2, &b_id, &[]);
        tokio::spawn(async move {
            let r = b.call(3, &req).await;
            (b, r)
        })
    };
    let leader = a
        .call(
            3,
            &sync(&g, 2, &a_id, &[(&a_id, b"to-a"), (&b_id, b"to-b")]),
        )
        .await;
    assert_eq!(
        (leader.error_code, &leader.assignment[..]),
        (0, &b"to-a"[..])
    );
    let (mut b, follower) = follower.await.expect("sync task");
    assert_eq!(
        (follower.error_code, &follower.assignment[..]),
        (0, &b"to-b"[..])
    );

    // The old generation is stale now.
    assert_eq!(
        heartbeat_code(&mut a, &g, 1, &a_id).await,
        ILLEGAL_GENERATION
    );
    assert_eq!(
        a.call(3, &sync(&g, 1, &a_id, &[])).await.error_code,
        ILLEGAL_GENERATION
    );
    assert_eq!(
        commit_code(&a.call(8, &commit(&g, 1, &a_id, None, &topic)).await),
        ILLEGAL_GENERATION
    );
    assert_eq!(
        commit_code(&a.call(8, &commit(&g, 2, "nobody", None, &topic)).await),
        UNKNOWN_MEMBER_ID
    );
    // A simple commit (no member, generation -1) is refused while the group has members.
    assert_eq!(
        commit_code(&a.call(8, &commit(&g, -1, "", None, &topic)).await),
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        commit_code(&a.call(8, &commit(&g, 2, &a_id, None, &topic)).await),
        0
    );
    assert_eq!(heartbeat_code(&mut b, &g, 2, &b_id).await, 0);

    // DescribeGroups: Stable, protocol, members with metadata and assignments.
    let d = describe(&mut a, 5, &g).await;
    let dg = &d.groups[0];
    assert_eq!(dg.error_code, 0);
    assert_eq!(dg.group_state.as_str(), "Stable");
    assert_eq!(dg.protocol_type.as_str(), "consumer");
    assert_eq!(dg.protocol_data.as_str(), "range");
    let members: BTreeMap<String, (String, Vec<u8>)> = dg
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                (m.client_id.to_string(), m.member_assignment.to_vec()),
            )
        })
        .collect();
    assert_eq!(members[&a_id], ("client-a".to_string(), b"to-a".to_vec()));
    assert_eq!(members[&b_id], ("client-b".to_string(), b"to-b".to_vec()));

    // DeleteGroups: not while it has members; unknown groups are not found.
    let unknown = unique_name("no-such-group");
    let r = a
        .call(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![group(&g), group(&unknown)]),
        )
        .await;
    let codes: Vec<i16> = r.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND]);

    // LeaveGroup v5, batched: per-member errors; v1: the member's error on top.
    let leave = LeaveGroupRequest::default()
        .with_group_id(group(&g))
        .with_members(vec![
            MemberIdentity::default().with_member_id(s(&b_id)),
            MemberIdentity::default().with_member_id(s("nobody")),
        ]);
    let r = a.call(5, &leave).await;
    assert_eq!(r.error_code, 0);
    let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
    assert_eq!(codes, vec![0, UNKNOWN_MEMBER_ID]);
    assert_eq!(
        heartbeat_code(&mut a, &g, 2, &a_id).await,
        REBALANCE_IN_PROGRESS
    );
    let r = a
        .call(
            1,
            &LeaveGroupRequest::default()
                .with_group_id(group(&g))
                .with_member_id(s(&a_id)),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let d = describe(&mut a, 5, &g).await;
    assert_eq!(d.groups[0].group_state.as_str(), "Empty");
    assert!(d.groups[0].members.is_empty());

    // Empty now: it can be deleted, and then it is gone.
    let r = a
        .call(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![group(&g)]),
        )
        .await;
    assert_eq!(r.results[0].error_code, 0);
    let d = describe(&mut a, 5, &g).await;
    assert_eq!(
        (d.groups[0].error_code, d.groups[0].group_state.as_str()),
        (0, "Dead")
    );
    let d = describe(&mut a, 6, &g).await;
    assert_eq!(d.groups[0].error_code, GROUP_ID_NOT_FOUND);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_members_rejoin_without_rebalance_and_fence_the_old_id() {
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "3"),
    ])
    .await;
    let topic = unique_name("static");
    create_topic(&admin(&broker.bootstrap()), &topic, 1, &[]).await;
    let addr = broker.listen_addr();
    let mut a = Raw::connect_as(addr, "static-client").await;
    let g = unique_name("static-group");

    // A static member gets its id at once (no MEMBER_ID_REQUIRED round trip).
    let req = join(&g, "", 10_000).with_group_instance_id(Some(s("instance-1")));
    let r = a.call(5, &req).await;
    assert_eq!(r.error_code, 0, "{r:?}");
    let old_id = r.member_id.to_string();
    assert!(old_id.starts_with("instance-1-"), "{old_id}");
    assert_eq!(r.generation_id, 1);
    let synced = a
        .call(
            3,
            &sync(&g, 1, &old_id, &[(&old_id, b"mine")])
                .with_group_instance_id(Some(s("instance-1"))),
        )
        .await;
    assert_eq!(synced.error_code, 0);

    // The instance restarts and joins without its id: a new id, same
    // generation, no rebalance; the leader reported is the old id.
    let mut restarted = Raw::connect_as(addr, "static-client").await;
    let r = restarted.call(5, &req).await;
    assert_eq!(r.error_code, 0, "{r:?}");
    let new_id = r.member_id.to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(r.generation_id, 1, "no rebalance");
    assert_eq!(r.leader.as_str(), old_id);
    let d = describe(&mut restarted, 5, &g).await;
    assert_eq!(d.groups[0].group_state.as_str(), "Stable");
    assert_eq!(d.groups[0].members.len(), 1);
    assert_eq!(d.groups[0].members[0].member_id.as_str(), new_id);
    assert_eq!(
        d.groups[0].members[0].group_instance_id.as_deref(),
        Some("instance-1")
    );
    assert_eq!(&d.groups[0].members[0].member_assignment[..], b"mine");

    // The old id is fenced; the new one works.
    let hb = |member: &str| heartbeat(&g, 1, member).with_group_instance_id(Some(s("instance-1")));
    assert_eq!(a.call(3, &hb(&old_id)).await.error_code, FENCED_INSTANCE_ID);
    assert_eq!(restarted.call(3, &hb(&new_id)).await.error_code, 0);
    let r = a
        .call(8, &commit(&g, 1, &old_id, Some("instance-1"), &topic))
        .await;
    assert_eq!(commit_code(&r), FENCED_INSTANCE_ID);
    let r = a
        .call(
            5,
            &join(&g, &old_id, 10_000).with_group_instance_id(Some(s("instance-1"))),
        )
        .await;
    assert_eq!(r.error_code, FENCED_INSTANCE_ID);
    let r = restarted
        .call(8, &commit(&g, 1, &new_id, Some("instance-1"), &topic))
        .await;
    assert_eq!(commit_code(&r), 0);
    // Without the instance id the old member id is simply unknown.
    assert_eq!(
        heartbeat_code(&mut a, &g, 1, &old_id).await,
        UNKNOWN_MEMBER_ID
    );

    // An administrator removes the instance by its id alone (LeaveGroup v3+).
    let r = a
        .call(
            4,
            &LeaveGroupRequest::default()
                .with_group_id(group(&g))
                .with_members(vec![MemberIdentity::default()
                    .with_member_id(s(""))
                    .with_group_instance_id(Some(s("instance-1")))]),
        )
        .await;
    assert_eq!((r.error_code, r.members[0].error_code), (0, 0));
    let d = describe(&mut a, 5, &g).await;
    assert_eq!(d.groups[0].group_state.as_str(), "Empty");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_and_missing_rejoins_remove_members() {
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("group.min.session.timeout.ms", "100"),
        ("offsets.topic.num.partitions", "3"),
    ])
    .await;
    let addr = broker.listen_addr();
    let g = unique_name("expiry");
    let mut a = Raw::connect_as(addr, "a").await;
    let mut b = Raw::connect_as(addr, "b").await;
    let (a_id, generation) = join_alone(&mut a, &g).await;

    // B joins; A rejoins on its heartbeat's REBALANCE_IN_PROGRESS.
    let b_id = b.call(5, &join(&g, "", 800)).await.member_id.to_string();
    let b_join = {
        let req = join(&g, &b_id, 800);
        tokio::spawn(async move {
            let r = b.call(5, &req).await;
            (b, r)
        })
    };
    heartbeat_until(
        &mut a,
        &g,
        generation,
        &a_id,
        REBALANCE_IN_PROGRESS,
        STEP_TIMEOUT,
    )
    .await;
    let a_joined = a.call(5, &join(&g, &a_id, 800)).await;
    let (mut b, b_joined) = b_join.await.expect("join task");
    assert_eq!((a_joined.error_code, b_joined.error_code), (0, 0));
    let generation = a_joined.generation_id;
    let follower = {
        let req = sync(&g, generation, &b_id, &[]);
        tokio::spawn(async move {
            let r = b.call(3, &req).await;
            (b, r)
        })
    };
    assert_eq!(
        a.call(3, &sync(&g, generation, &a_id, &[]))
            .await
            .error_code,
        0
    );
    let (mut b, synced) = follower.await.expect("sync task");
    assert_eq!(synced.error_code, 0);

    // A stops heartbeating: its session expires, B is told to rejoin, and
    // the next generation has B alone.
    let started = Instant::now();
    // B is told to rejoin once A's session expired.
    heartbeat_until(
        &mut b,
        &g,
        generation,
        &b_id,
        REBALANCE_IN_PROGRESS,
        STEP_TIMEOUT,
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "expired too early"
    );
    let r = b.call(5, &join(&g, &b_id, 800)).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.generation_id, generation + 1);
    assert_eq!(r.leader.as_str(), b_id, "B leads now");
    assert_eq!(r.members.len(), 1);
    assert_eq!(
        heartbeat_code(&mut a, &g, generation, &a_id).await,
        UNKNOWN_MEMBER_ID
    );
    let generation = r.generation_id;
    assert_eq!(
        b.call(3, &sync(&g, generation, &b_id, &[]))
            .await
            .error_code,
        0
    );

    // A new member joins; B keeps heartbeating but never rejoins: after the
    // rebalance timeout the generation goes on without B.
    let mut c = Raw::connect_as(addr, "c").await;
    let c_id = c.call(5, &join(&g, "", 800)).await.member_id.to_string();
    let c_join = {
        let req = join(&g, &c_id, 800);
        tokio::spawn(async move { c.call(5, &req).await })
    };
    let started = Instant::now();
    let c_joined = c_join.await.expect("join task");
    assert_eq!(c_joined.error_code, 0);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "rebalance timeout honoured"
    );
    assert_eq!(c_joined.generation_id, generation + 1);
    assert_eq!(c_joined.leader.as_str(), c_id);
    assert_eq!(
        heartbeat_code(&mut b, &g, generation, &b_id).await,
        UNKNOWN_MEMBER_ID
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_creates_the_internal_offsets_topic() {
    let broker = TestBroker::start_with(&[("offsets.topic.num.partitions", "7")]).await;
    let addr = broker.listen_addr();
    let mut raw = Raw::connect(addr).await;
    let r = raw
        .call(
            1,
            &FindCoordinatorRequest::default().with_key(s("some-group")),
        )
        .await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.node_id.0, 1);
    assert_eq!(r.port, i32::from(addr.port()));
    let r = raw
        .call(
            4,
            &FindCoordinatorRequest::default()
                .with_key_type(0)
                .with_coordinator_keys(vec![s("g1"), s("g2")]),
        )
        .await;
    assert_eq!(r.coordinators.len(), 2);
    assert!(r
        .coordinators
        .iter()
        .all(|c| c.error_code == 0 && c.node_id.0 == 1));
    assert_eq!(r.coordinators[1].key.as_str(), "g2");
    let r = raw
        .call(
            1,
            &FindCoordinatorRequest::default()
                .with_key(s("txn"))
                .with_key_type(1),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let r = raw
        .call(
            3,
            &FindCoordinatorRequest::default()
                .with_key(s("x"))
                .with_key_type(7),
        )
        .await;
    assert_eq!(r.error_code, INVALID_REQUEST);
    let r = raw
        .call(
            5,
            &FindCoordinatorRequest::default()
                .with_key_type(3)
                .with_coordinator_keys(vec![s("x")]),
        )
        .await;
    assert_eq!(r.coordinators[0].error_code, INVALID_REQUEST);

    // __consumer_offsets: internal, compacted, offsets.topic.num.partitions partitions.
    let md = raw
        .call(
            12,
            &MetadataRequest::default()
                .with_topics(Some(vec![MetadataRequestTopic::default()
                    .with_name(Some(TopicName(s("__consumer_offsets"))))])),
        )
        .await;
    assert_eq!(md.topics.len(), 1);
    assert_eq!(md.topics[0].error_code, 0);
    assert!(md.topics[0].is_internal);
    assert_eq!(md.topics[0].partitions.len(), 7);
    let configs = raw
        .call(
            4,
            &DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("__consumer_offsets"))
                    .with_configuration_keys(Some(vec![
                        s("cleanup.policy"),
                        s("segment.bytes"),
                        s("compression.type"),
                    ])),
            ]),
        )
        .await;
    let values: BTreeMap<String, String> = configs.results[0]
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.value.as_deref().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(values["cleanup.policy"], "compact");
    assert_eq!(values["segment.bytes"], "104857600");
    assert_eq!(values["compression.type"], "producer");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_groups_filters_by_state_and_type() {
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "3"),
    ])
    .await;
    let topic = unique_name("listed");
    create_topic(&admin(&broker.bootstrap()), &topic, 1, &[]).await;
    let mut raw = Raw::connect(broker.listen_addr()).await;
    let stable = unique_name("stable");
    join_alone(&mut raw, &stable).await;
    // A group that only stores offsets (a "simple" group): Empty, no protocol type.
    let simple = unique_name("simple");
    let r = raw.call(2, &commit(&simple, -1, "", None, &topic)).await;
    assert_eq!(commit_code(&r), 0);

    let list = |states: &[&str], types: &[&str]| {
        ListGroupsRequest::default()
            .with_states_filter(states.iter().map(|x| s(x)).collect())
            .with_types_filter(types.iter().map(|x| s(x)).collect())
    };
    let r = raw.call(5, &list(&[], &[])).await;
    let groups: BTreeMap<String, (String, String, String)> = r
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.0.to_string(),
                (
                    g.protocol_type.to_string(),
                    g.group_state.to_string(),
                    g.group_type.to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(
        groups[&stable],
        ("consumer".into(), "Stable".into(), "classic".into())
    );
    assert_eq!(
        groups[&simple],
        ("".into(), "Empty".into(), "classic".into())
    );
    let names = |r: &kafka_protocol::messages::ListGroupsResponse| -> BTreeSet<String> {
        r.groups.iter().map(|g| g.group_id.0.to_string()).collect()
    };
    let r = raw.call(4, &list(&["stable"], &[])).await;
    assert_eq!(names(&r), BTreeSet::from([stable.clone()]));
    let r = raw.call(5, &list(&["Empty"], &["Classic"])).await;
    assert_eq!(names(&r), BTreeSet::from([simple.clone()]));
    let r = raw.call(5, &list(&[], &["consumer"])).await;
    assert!(r.groups.is_empty(), "no KIP-848 groups here");
    let r = raw.call(0, &ListGroupsRequest::default()).await;
    assert!(names(&r).is_superset(&BTreeSet::from([stable.clone(), simple.clone()])));

    // DescribeGroups v3+: authorized operations when asked.
    let r = raw
        .call(
            5,
            &DescribeGroupsRequest::default()
                .with_groups(vec![group(&simple), group(&stable)])
                .with_include_authorized_operations(true),
        )
        .await;
    assert_eq!(r.groups[0].group_state.as_str(), "Empty");
    assert_eq!(r.groups[0].protocol_type.as_str(), "");
    assert_eq!(
        r.groups[1].authorized_operations,
        (1 << 3) | (1 << 6) | (1 << 8)
    );
    broker.shutdown().await;
}

/// The last member of a Stable group leaves: the group is Empty at once (the
/// join completes with nobody in it), so a DeleteGroups right behind the
/// LeaveGroup succeeds, as on Kafka. (franz-go's Close() + DeleteGroups found it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_member_leaving_a_stable_group_empties_it_at_once() {
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "1"),
    ])
    .await;
    let mut raw = Raw::connect(broker.listen_addr()).await;
    for round in 0..10 {
        let g = unique_name(&format!("leave-{round}"));
        let (member, generation) = join_alone(&mut raw, &g).await;
        assert_eq!(heartbeat_code(&mut raw, &g, generation, &member).await, 0);
        // LeaveGroup, DescribeGroups and DeleteGroups back to back on one
        // connection: the broker handles them in order, with no time between.
        let leave = raw
            .send(
                1,
                &LeaveGroupRequest::default()
                    .with_group_id(group(&g))
                    .with_member_id(s(&member)),
            )
            .await;
        let describe_id = raw
            .send(
                5,
                &kafka_protocol::messages::DescribeGroupsRequest::default()
                    .with_groups(vec![group(&g)]),
            )
            .await;
        let delete = raw
            .send(
                2,
                &DeleteGroupsRequest::default().with_groups_names(vec![group(&g)]),
            )
            .await;
        let r = raw.receive::<LeaveGroupRequest>(1, leave).await;
        assert_eq!(r.error_code, 0);
        let d = raw
            .receive::<kafka_protocol::messages::DescribeGroupsRequest>(5, describe_id)
            .await;
        assert_eq!(
            d.groups[0].group_state.as_str(),
            "Empty",
            "round {round}: state right after the last LeaveGroup"
        );
        let r = raw.receive::<DeleteGroupsRequest>(2, delete).await;
        assert_eq!(r.results[0].error_code, 0, "round {round}: DeleteGroups");
    }
    broker.shutdown().await;
}
