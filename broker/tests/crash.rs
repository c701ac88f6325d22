//! Crash safety: the `strom-broker` binary is killed with SIGKILL while several
//! `acks=all` producers are writing; after a restart on the same directories every
//! acknowledged record is there, at its acknowledged offset, in send order per
//! producer and partition, and nothing corrupt or partial is served.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

const PRODUCERS: usize = 4;
const PARTITIONS: i32 = 4;
/// Acknowledged records (over all producers) to wait for before each kill.
const ACKED_BEFORE_KILL: usize = 2_000;
/// Outstanding (unacknowledged) records per producer.
const WINDOW: usize = 200;

/// One acknowledged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Ack {
    partition: i32,
    offset: i64,
    producer: usize,
    round: usize,
    seq: u64,
}

fn value_of(producer: usize, round: usize, seq: u64) -> String {
    format!("p{producer}-r{round}-{seq:010}")
}

/// Parse `p{producer}-r{round}-{seq}`; anything else is a corrupt record.
fn parse_value(v: &str) -> Option<(usize, usize, u64)> {
    let mut parts = v.split('-');
    let producer = parts.next()?.strip_prefix('p')?.parse().ok()?;
    let round = parts.next()?.strip_prefix('r')?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((producer, round, seq))
}

/// Write records until `stop`, keeping up to WINDOW in flight; returns the acknowledged ones.
async fn run_producer(
    bootstrap: String,
    topic: String,
    producer_id: usize,
    round: usize,
    stop: Arc<AtomicBool>,
    acked_total: Arc<AtomicUsize>,
) -> Vec<Ack> {
    let producer = producer(
        &bootstrap,
        &[
            ("acks", "all"),
            // One request in flight per connection: acknowledged records of one
            // producer are in send order by construction, retries or not.
            ("max.in.flight.requests.per.connection", "1"),
            ("message.timeout.ms", "5000"),
            ("linger.ms", "2"),
            ("reconnect.backoff.max.ms", "200"),
        ],
    );
    let mut in_flight = FuturesUnordered::new();
    let mut acks = Vec::new();
    let mut seq = 0u64;
    let mut record_ack =
        |seq: u64, result: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, _>| {
            if let Ok(Ok(d)) = result {
                acks.push(Ack {
                    partition: d.partition,
                    offset: d.offset,
                    producer: producer_id,
                    round,
                    seq,
                });
                acked_total.fetch_add(1, Ordering::Relaxed);
            }
        };
    while !stop.load(Ordering::Relaxed) {
        if in_flight.len() >= WINDOW {
            if let Some((s, r)) = in_flight.next().await {
                record_ack(s, r);
            }
            continue;
        }
        let value = value_of(producer_id, round, seq);
        let key = format!("p{producer_id}");
        let record = FutureRecord::to(&topic)
            .partition((seq % PARTITIONS as u64) as i32)
            .key(&key)
            .payload(&value);
        match producer.send_result(record) {
            Ok(delivery) => {
                let s = seq;
                in_flight.push(async move { (s, delivery.await) });
                seq += 1;
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                match in_flight.next().await {
                    Some((s, r)) => record_ack(s, r),
                    None => tokio::task::yield_now().await,
                }
            }
            Err((e, _)) => panic!("producer {producer_id}: enqueue failed: {e}"),
        }
    }
    // The broker is gone: every outstanding record resolves within message.timeout.ms.
    while let Some((s, r)) = in_flight.next().await {
        record_ack(s, r);
    }
    acks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_kill_9() {
    let dir = tempfile::Builder::new()
        .prefix("strom-crash-test-")
        .tempdir()
        .expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let properties = write_properties(
        dir.path(),
        &[
            ("node.id", "1".to_string()),
            ("listeners", "PLAINTEXT://127.0.0.1:0".to_string()),
            ("log.dirs", data.display().to_string()),
        ],
    );
    let log_file = dir.path().join("broker.stderr.log");
    let topic = unique_name("crash");

    let mut all_acks: Vec<Ack> = Vec::new();
    let mut process = BrokerProcess::spawn(&properties, &[], &log_file);
    create_topic(&admin(process.bootstrap()), &topic, PARTITIONS, &[]).await;

    for round in 0..2 {
        let stop = Arc::new(AtomicBool::new(false));
        let acked_total = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                tokio::spawn(run_producer(
                    process.bootstrap().to_string(),
                    topic.clone(),
                    p,
                    round,
                    stop.clone(),
                    acked_total.clone(),
                ))
            })
            .collect();
        wait_until(
            &format!("round {round}: {ACKED_BEFORE_KILL} acknowledged records"),
            Duration::from_secs(120),
            || {
                let n = acked_total.load(Ordering::Relaxed);
                async move { n >= ACKED_BEFORE_KILL }
            },
        )
        .await;

        // Mid-stream: producers are still sending.
        process.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            all_acks.extend(t.await.expect("producer task"));
        }
        assert!(
            all_acks.len() >= ACKED_BEFORE_KILL * (round + 1),
            "round {round}: acknowledged {} records",
            all_acks.len()
        );

        process = BrokerProcess::spawn(&properties, &[], &log_file);
        verify(process.bootstrap(), &topic, &all_acks, round).await;
    }

    // The recovered log takes new appends at the next offsets.
    let c = consumer(process.bootstrap(), &[]);
    let producer = producer(process.bootstrap(), &[]);
    for p in 0..PARTITIONS {
        let (_, high) = watermarks(&c, &topic, p);
        let d = producer
            .send(
                FutureRecord::to(&topic)
                    .partition(p)
                    .key("p9")
                    .payload(&value_of(9, 9, 0)),
                STEP_TIMEOUT,
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("append after recovery to partition {p}: {e}"));
        assert_eq!(d.offset, high, "partition {p}: first append after recovery");
    }
    drop(process);
}

async fn verify(bootstrap: &str, topic: &str, acks: &[Ack], round: usize) {
    let all = read_all(bootstrap, topic, Duration::from_secs(120)).await;
    let mut by_position: BTreeMap<(i32, i64), (usize, usize, u64)> = BTreeMap::new();
    for (p, messages) in &all {
        for (i, m) in messages.iter().enumerate() {
            // Offsets are dense from 0: no holes left by a truncated tail.
            assert_eq!(
                m.offset(),
                i as i64,
                "round {round}: partition {p} offsets are dense"
            );
            let value = std::str::from_utf8(m.payload().unwrap_or_else(|| {
                panic!("round {round}: {p}/{}: record without payload", m.offset())
            }))
            .unwrap_or_else(|_| panic!("round {round}: {p}/{}: payload is not UTF-8", m.offset()));
            let parsed = parse_value(value).unwrap_or_else(|| {
                panic!(
                    "round {round}: {p}/{}: corrupt record {value:?}",
                    m.offset()
                )
            });
            assert_eq!(
                m.key(),
                Some(format!("p{}", parsed.0).as_bytes()),
                "round {round}: key of {value}"
            );
            assert_eq!(
                (parsed.2 % PARTITIONS as u64) as i32,
                *p,
                "round {round}: {value} found in partition {p}"
            );
            by_position.insert((*p, m.offset()), parsed);
        }
    }

    let stored: usize = all.values().map(Vec::len).sum();
    eprintln!(
        "round {round}: {} acknowledged records so far, {stored} records in the log after restart",
        acks.len()
    );

    // Every acknowledged record is at its acknowledged offset.
    let mut missing = Vec::new();
    for a in acks {
        match by_position.get(&(a.partition, a.offset)) {
            Some(&found) if found == (a.producer, a.round, a.seq) => {}
            other => missing.push((a, other.copied())),
        }
    }
    assert!(
        missing.is_empty(),
        "round {round}: {} of {} acknowledged records lost or overwritten, e.g. {:?}",
        missing.len(),
        acks.len(),
        &missing[..missing.len().min(5)]
    );

    // Within a partition, each producer's acknowledged records are in send order.
    let mut sorted = acks.to_vec();
    sorted.sort();
    let mut last: BTreeMap<(i32, usize), (usize, u64)> = BTreeMap::new();
    for a in &sorted {
        let r = a.round;
        if let Some(prev) = last.insert((a.partition, a.producer), (r, a.seq)) {
            assert!(
                prev < (r, a.seq),
                "round {round}: partition {}: producer {} record (round {r}, seq {}) stored after (round {}, seq {})",
                a.partition,
                a.producer,
                a.seq,
                prev.0,
                prev.1
            );
        }
    }
}
