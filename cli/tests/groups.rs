//! `strom groups` against a broker started in this process: describe shows
//! committed offsets, log-end offsets, lag and the owning member, like
//! `kafka-consumer-groups.sh --describe`; list, reset-offsets and delete.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::Broker;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

const STEP: Duration = Duration::from_secs(30);

fn start_broker() -> Broker {
    Broker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "3"),
    ])
}

/// The describe table's rows by partition: the columns after GROUP and TOPIC.
fn describe_rows(stdout: &str, topic: &str) -> BTreeMap<i32, Vec<String>> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|cols| cols.len() >= 6 && cols[1] == topic)
        .map(|cols| (cols[2].parse().expect("partition"), cols[3..].to_vec()))
        .collect()
}

fn consumer(bootstrap: &str, group: &str, client_id: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("client.id", client_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "250")
        .create()
        .expect("consumer")
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn describe_shows_lag_and_members_and_reset_moves_offsets() {
    let broker = start_broker();
    let b = broker.bootstrap.as_str();
    // Run `strom ARGS -b BOOTSTRAP`, which must succeed; its stdout.
    let ok = |args: &[&str]| broker.strom(args, b"").success().stdout;
    let topic = format!("cli-groups-{}", std::process::id());
    let group = format!("cli-group-{}", std::process::id());
    ok(&["topics", "create", &topic, "--partitions", "2"]);

    // 10 records in partition 0, 4 in partition 1.
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", b)
        .set("enable.idempotence", "false")
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    for (partition, n) in [(0, 10), (1, 4)] {
        for i in 0..n {
            let v = format!("v{i}");
            producer
                .send(
                    BaseRecord::<str, str>::to(&topic)
                        .partition(partition)
                        .payload(&v),
                )
                .map_err(|(e, _)| e)
                .expect("enqueue");
        }
    }
    producer.flush(STEP).expect("flush");

    // The group commits 7 and 4 from outside (generation -1): no members.
    let c = consumer(b, &group, "committer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(7))
        .unwrap();
    tpl.add_partition_offset(&topic, 1, Offset::Offset(4))
        .unwrap();
    c.commit(&tpl, CommitMode::Sync).expect("commit");
    drop(c);

    let out = ok(&["groups", "describe", &group]);
    assert!(
        out.contains(&format!("Consumer group '{group}' has no active members.")),
        "{out}"
    );
    let header = out
        .lines()
        .find(|l| l.starts_with("GROUP"))
        .expect("header");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ]
    );
    let rows = describe_rows(&out, &topic);
    assert_eq!(rows[&0], ["7", "10", "3", "-", "-", "-"], "{out}");
    assert_eq!(rows[&1], ["4", "4", "0", "-", "-", "-"], "{out}");
    assert!(ok(&["groups", "list"]).lines().any(|l| l == group));

    // With a member: its id and client id own the partitions.
    let member = Arc::new(consumer(b, &group, "cli-test-member"));
    member.subscribe(&[&topic]).expect("subscribe");
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (member, stop) = (member.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = member.poll(Duration::from_millis(50));
            }
        })
    };
    let mut out = String::new();
    wait_for("the member owns both partitions", || {
        out = ok(&["groups", "describe", &group]);
        let rows = describe_rows(&out, &topic);
        rows.len() == 2
            && rows
                .values()
                .all(|r| r.len() == 6 && r[5] == "cli-test-member")
    });
    let rows = describe_rows(&out, &topic);
    assert_eq!(rows[&0][..3], ["7", "10", "3"]);
    assert!(
        !rows[&0][3].is_empty() && rows[&0][3] != "-",
        "consumer id: {out}"
    );
    assert!(ok(&["groups", "list", "--state"])
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == [group.as_str(), "Stable"]));
    // No resets (and no deletion) while the group has members.
    let refused = broker
        .strom(
            &[
                "groups",
                "reset-offsets",
                &group,
                "--topic",
                &topic,
                "--to-earliest",
                "--execute",
            ],
            b"",
        )
        .failure();
    assert!(refused.stderr.contains("inactive"), "{}", refused.stderr);
    let refused = broker.strom(&["groups", "delete", &group], b"").failure();
    assert!(
        refused.stderr.contains("NON_EMPTY_GROUP"),
        "{}",
        refused.stderr
    );
    stop.store(true, Ordering::Relaxed);
    poller.join().expect("poller");
    let member = Arc::try_unwrap(member).unwrap_or_else(|_| panic!("member still shared"));
    drop(member); // leaves the group

    // Dry run (the default): shows the new offsets, commits nothing.
    let out = ok(&[
        "groups",
        "reset-offsets",
        &group,
        "--topic",
        &topic,
        "--to-earliest",
    ]);
    let new: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c.len() == 4 && c[1] == topic)
        .collect();
    assert_eq!(
        new,
        [
            [group.as_str(), topic.as_str(), "0", "0"],
            [group.as_str(), topic.as_str(), "1", "0"]
        ]
    );
    let rows = describe_rows(&ok(&["groups", "describe", &group]), &topic);
    assert_eq!(rows[&0][..3], ["7", "10", "3"]);

    // --execute: to offset 2 (partition 1 only has 4), shift, latest.
    ok(&[
        "groups",
        "reset-offsets",
        &group,
        "--topic",
        &topic,
        "--to-offset",
        "2",
        "--execute",
    ]);
    let rows = describe_rows(&ok(&["groups", "describe", &group]), &topic);
    assert_eq!(
        (rows[&0][..3].to_vec(), rows[&1][..3].to_vec()),
        (
            vec!["2".to_string(), "10".into(), "8".into()],
            vec!["2".to_string(), "4".into(), "2".into()]
        )
    );
    ok(&[
        "groups",
        "reset-offsets",
        &group,
        "--topic",
        &format!("{topic}:1"),
        "--shift-by",
        "-1",
        "--execute",
    ]);
    let rows = describe_rows(&ok(&["groups", "describe", &group]), &topic);
    assert_eq!((rows[&0][0].as_str(), rows[&1][0].as_str()), ("2", "1"));
    ok(&[
        "groups",
        "reset-offsets",
        &group,
        "--all-topics",
        "--to-latest",
        "--execute",
    ]);
    let rows = describe_rows(&ok(&["groups", "describe", &group]), &topic);
    assert_eq!((rows[&0][2].as_str(), rows[&1][2].as_str()), ("0", "0"));

    // Delete: gone from the list; describe says it does not exist.
    let out = ok(&["groups", "delete", &group]);
    assert!(out.contains("was successful"), "{out}");
    assert!(!ok(&["groups", "list"]).lines().any(|l| l == group));
    let missing = broker.strom(&["groups", "describe", &group], b"").failure();
    assert!(
        missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );
}
