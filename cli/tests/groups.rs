//! `strom groups` against a broker started in this process: describe shows
//! committed offsets, log-end offsets, lag and the owning member, like
//! `kafka-consumer-groups.sh --describe`; list, reset-offsets and delete.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use strom_broker::{BrokerConfig, RunningBroker};

/// How long one `strom` invocation may take before the test fails.
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_secs(30);

struct Broker {
    runtime: tokio::runtime::Runtime,
    broker: Option<RunningBroker>,
    bootstrap: String,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = BrokerConfig::local(dir.path(), 0);
        for (k, v) in [
            ("group.initial.rebalance.delay.ms", "0"),
            ("offsets.topic.num.partitions", "3"),
        ] {
            config.props.insert(k.into(), v.into());
        }
        let broker = runtime
            .block_on(strom_broker::start(config))
            .expect("broker starts");
        let bootstrap = broker.bootstrap_servers();
        Broker {
            runtime,
            broker: Some(broker),
            bootstrap,
            _dir: dir,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(broker) = self.broker.take() {
            let result = self.runtime.block_on(broker.shutdown());
            if !thread::panicking() {
                result.expect("broker shuts down cleanly");
            }
        }
    }
}

struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Run `strom ARGS -b BOOTSTRAP` to completion (with a deadline).
fn strom(bootstrap: &str, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strom"))
        .env_remove("STROM_BOOTSTRAP_SERVER")
        .env("RUST_LOG", "warn")
        .args(args)
        .args(["-b", bootstrap])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn strom");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(COMMAND_DEADLINE) {
        Ok(status) => status.expect("wait for strom"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!(
                "`strom {}` did not finish in {COMMAND_DEADLINE:?}",
                args.join(" ")
            );
        }
    };
    Output {
        success: status.success(),
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}

fn ok(bootstrap: &str, args: &[&str]) -> String {
    let out = strom(bootstrap, args);
    assert!(
        out.success,
        "`strom {}` failed:\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.stdout,
        out.stderr
    );
    out.stdout
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
    let broker = Broker::start();
    let b = broker.bootstrap.as_str();
    let topic = format!("cli-groups-{}", std::process::id());
    let group = format!("cli-group-{}", std::process::id());
    ok(b, &["topics", "create", &topic, "--partitions", "2"]);

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

    let out = ok(b, &["groups", "describe", &group]);
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
    assert!(ok(b, &["groups", "list"]).lines().any(|l| l == group));

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
        out = ok(b, &["groups", "describe", &group]);
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
    assert!(ok(b, &["groups", "list", "--state"])
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == [group.as_str(), "Stable"]));
    // No resets (and no deletion) while the group has members.
    let refused = strom(
        b,
        &[
            "groups",
            "reset-offsets",
            &group,
            "--topic",
            &topic,
            "--to-earliest",
            "--execute",
        ],
    );
    assert!(!refused.success);
    assert!(refused.stderr.contains("inactive"), "{}", refused.stderr);
    let refused = strom(b, &["groups", "delete", &group]);
    assert!(!refused.success);
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
    let out = ok(
        b,
        &[
            "groups",
            "reset-offsets",
            &group,
            "--topic",
            &topic,
            "--to-earliest",
        ],
    );
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
    let rows = describe_rows(&ok(b, &["groups", "describe", &group]), &topic);
    assert_eq!(rows[&0][..3], ["7", "10", "3"]);

    // --execute: to offset 2 (partition 1 only has 4), shift, latest.
    ok(
        b,
        &[
            "groups",
            "reset-offsets",
            &group,
            "--topic",
            &topic,
            "--to-offset",
            "2",
            "--execute",
        ],
    );
    let rows = describe_rows(&ok(b, &["groups", "describe", &group]), &topic);
    assert_eq!(
        (rows[&0][..3].to_vec(), rows[&1][..3].to_vec()),
        (
            vec!["2".to_string(), "10".into(), "8".into()],
            vec!["2".to_string(), "4".into(), "2".into()]
        )
    );
    ok(
        b,
        &[
            "groups",
            "reset-offsets",
            &group,
            "--topic",
            &format!("{topic}:1"),
            "--shift-by",
            "-1",
            "--execute",
        ],
    );
    let rows = describe_rows(&ok(b, &["groups", "describe", &group]), &topic);
    assert_eq!((rows[&0][0].as_str(), rows[&1][0].as_str()), ("2", "1"));
    ok(
        b,
        &[
            "groups",
            "reset-offsets",
            &group,
            "--all-topics",
            "--to-latest",
            "--execute",
        ],
    );
    let rows = describe_rows(&ok(b, &["groups", "describe", &group]), &topic);
    assert_eq!((rows[&0][2].as_str(), rows[&1][2].as_str()), ("0", "0"));

    // Delete: gone from the list; describe says it does not exist.
    let out = ok(b, &["groups", "delete", &group]);
    assert!(out.contains("was successful"), "{out}");
    assert!(!ok(b, &["groups", "list"]).lines().any(|l| l == group));
    let missing = strom(b, &["groups", "describe", &group]);
    assert!(!missing.success);
    assert!(
        missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );
}
