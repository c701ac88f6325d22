//! Clean shutdown and restart on the same data directory: acknowledged records,
//! topic configs and offsets survive.

mod common;

use std::collections::BTreeMap;

use common::*;
use futures::future::join_all;
use rdkafka::admin::{ConfigSource, ResourceSpecifier};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Timestamp;

const PARTITIONS: i32 = 3;
const BASE_TS: i64 = 1_704_067_200_000;

/// Produce `values` round-robin over the partitions; returns (partition, offset, value) per ack.
async fn produce_round_robin(
    producer: &FutureProducer,
    topic: &str,
    values: &[String],
) -> Vec<(i32, i64, String)> {
    let sends = values.iter().enumerate().map(|(i, v)| {
        producer.send(
            FutureRecord::to(topic)
                .partition(i as i32 % PARTITIONS)
                .key(v)
                .payload(v)
                .timestamp(BASE_TS + i as i64),
            STEP_TIMEOUT,
        )
    });
    join_all(sends)
        .await
        .into_iter()
        .zip(values)
        .map(|(r, v)| {
            let d = r.unwrap_or_else(|(e, _)| panic!("produce {v}: {e}"));
            (d.partition, d.offset, v.clone())
        })
        .collect()
}

/// Assert the topic holds exactly `acked`, each at its acknowledged offset, in order.
async fn assert_topic_holds(
    bootstrap: &str,
    topic: &str,
    acked: &[(i32, i64, String)],
    when: &str,
) {
    let mut expected: BTreeMap<i32, Vec<(i64, &str)>> = BTreeMap::new();
    for (p, o, v) in acked {
        expected.entry(*p).or_default().push((*o, v.as_str()));
    }
    for list in expected.values_mut() {
        list.sort();
    }
    let all = read_all(bootstrap, topic, STEP_TIMEOUT).await;
    for p in 0..PARTITIONS {
        let got: Vec<(i64, &str)> = all[&p]
            .iter()
            .map(|m| (m.offset(), payload_str(m)))
            .collect();
        let want = expected.get(&p).cloned().unwrap_or_default();
        assert_eq!(
            got.len(),
            want.len(),
            "{when}: record count of partition {p}"
        );
        assert!(
            got == want,
            "{when}: partition {p} differs from what was acknowledged"
        );
        for m in &all[&p] {
            assert_eq!(
                key_str(m),
                payload_str(m),
                "{when}: key of offset {}",
                m.offset()
            );
            assert!(
                matches!(m.timestamp(), Timestamp::CreateTime(ts) if ts >= BASE_TS),
                "{when}: create-time timestamp kept"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_configs_and_offsets_survive_restart() {
    let mut broker = TestBroker::start().await;
    let topic = unique_name("durable");
    {
        let bootstrap = broker.bootstrap();
        create_topic(
            &admin(&bootstrap),
            &topic,
            PARTITIONS,
            &[("retention.ms", "86400001"), ("cleanup.policy", "delete")],
        )
        .await;
    }

    let first: Vec<String> = (0..300).map(|i| format!("before-restart-{i:04}")).collect();
    let mut acked = {
        let producer = producer(&broker.bootstrap(), &[("compression.type", "lz4")]);
        produce_round_robin(&producer, &topic, &first).await
    };
    assert_eq!(acked.len(), first.len());

    for round in 1..=2 {
        broker.restart().await;
        let bootstrap = broker.bootstrap();
        let when = format!("after restart #{round}");

        assert_topic_holds(&bootstrap, &topic, &acked, &when).await;

        let admin = admin(&bootstrap);
        assert_eq!(
            topics(admin.inner()).get(&topic),
            Some(&(PARTITIONS as usize)),
            "{when}: partitions"
        );
        let described = admin
            .describe_configs([&ResourceSpecifier::Topic(&topic)], &admin_options())
            .await
            .expect("DescribeConfigs request")
            .remove(0)
            .expect("DescribeConfigs topic result");
        let retention = described
            .get("retention.ms")
            .expect("retention.ms described");
        assert_eq!(
            retention.value.as_deref(),
            Some("86400001"),
            "{when}: topic config kept"
        );
        assert_eq!(
            retention.source,
            ConfigSource::DynamicTopic,
            "{when}: still a topic override"
        );

        // Offsets continue where they were: new records go after the old ones.
        let mut high_before = BTreeMap::new();
        let c = consumer(&bootstrap, &[]);
        for p in 0..PARTITIONS {
            high_before.insert(p, watermarks(&c, &topic, p).1);
        }
        let more: Vec<String> = (0..60)
            .map(|i| format!("after-restart-{round}-{i:03}"))
            .collect();
        let producer = producer(&bootstrap, &[]);
        let new_acks = produce_round_robin(&producer, &topic, &more).await;
        for (p, o, v) in &new_acks {
            assert!(
                *o >= high_before[p],
                "{when}: {v} got offset {o} in partition {p}, below the old high watermark {}",
                high_before[p]
            );
        }
        for p in 0..PARTITIONS {
            let mut offsets: Vec<i64> = new_acks.iter().filter(|a| a.0 == p).map(|a| a.1).collect();
            offsets.sort();
            let expected: Vec<i64> =
                (high_before[&p]..high_before[&p] + offsets.len() as i64).collect();
            assert_eq!(
                offsets, expected,
                "{when}: new offsets of partition {p} continue densely"
            );
        }
        acked.extend(new_acks);
        assert_topic_holds(
            &bootstrap,
            &topic,
            &acked,
            &format!("{when}, after producing more"),
        )
        .await;
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_topics_and_delete_records_survive_restart() {
    let mut broker = TestBroker::start().await;
    let kept = unique_name("kept");
    let dropped = unique_name("dropped");
    {
        let bootstrap = broker.bootstrap();
        let admin = admin(&bootstrap);
        create_topic(&admin, &kept, 1, &[]).await;
        create_topic(&admin, &dropped, 1, &[]).await;
        let producer = producer(&bootstrap, &[]);
        for i in 0..10 {
            produce_one(&producer, &kept, "k", &format!("v{i}")).await;
        }
        produce_one(&producer, &dropped, "k", "gone").await;
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(&kept, 0, rdkafka::Offset::Offset(6))
            .expect("offset");
        admin
            .delete_records(&tpl, &admin_options())
            .await
            .expect("DeleteRecords request")
            .find_partition(&kept, 0)
            .expect("partition result")
            .error()
            .expect("DeleteRecords succeeded");
        let results = admin
            .delete_topics(&[&dropped], &admin_options())
            .await
            .expect("DeleteTopics request");
        assert_eq!(results, vec![Ok(dropped.clone())]);
    }
    broker.restart().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let listed = topics(admin.inner());
    assert!(listed.contains_key(&kept), "{kept} still exists");
    assert!(
        !listed.contains_key(&dropped),
        "a deleted topic stays deleted after restart"
    );
    let c = consumer(&bootstrap, &[]);
    assert_eq!(
        watermarks(&c, &kept, 0),
        (6, 10),
        "log start offset from DeleteRecords is kept"
    );
    let all = read_all(&bootstrap, &kept, STEP_TIMEOUT).await;
    let got: Vec<&str> = all[&0].iter().map(payload_str).collect();
    assert_eq!(got, vec!["v6", "v7", "v8", "v9"]);
    broker.shutdown().await;
}
