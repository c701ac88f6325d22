//! Admin APIs through librdkafka's `AdminClient`: CreateTopics (configs,
//! validate_only, invalid names, duplicates), DescribeConfigs (topic and broker),
//! AlterConfigs, CreatePartitions, DeleteTopics — and Metadata reflecting each change.

mod common;

use common::*;
use rdkafka::admin::{
    AdminClient, AlterConfig, ConfigResource, ConfigSource, NewPartitions, NewTopic,
    OwnedResourceSpecifier, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

type Admin = AdminClient<DefaultClientContext>;

async fn describe(admin: &Admin, resource: ResourceSpecifier<'_>) -> ConfigResource {
    let mut results = admin
        .describe_configs([&resource], &admin_options())
        .await
        .expect("DescribeConfigs request");
    assert_eq!(results.len(), 1, "one result per resource");
    results
        .remove(0)
        .unwrap_or_else(|code| panic!("DescribeConfigs {resource:?}: {code:?}"))
}

fn value<'a>(resource: &'a ConfigResource, name: &str) -> Option<&'a str> {
    resource
        .get(name)
        .unwrap_or_else(|| panic!("config {name} missing from DescribeConfigs"))
        .value
        .as_deref()
}

async fn create_one(
    admin: &Admin,
    topic: &NewTopic<'_>,
    validate_only: bool,
) -> Result<String, (String, RDKafkaErrorCode)> {
    let results = admin
        .create_topics([topic], &admin_options().validate_only(validate_only))
        .await
        .expect("CreateTopics request");
    assert_eq!(results.len(), 1, "one result per topic");
    results.into_iter().next().expect("one result")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_with_configs_describe_and_alter() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let topic = unique_name("configured");
    create_topic(
        &admin,
        &topic,
        3,
        &[
            ("retention.ms", "123456789"),
            ("cleanup.policy", "compact"),
            ("max.message.bytes", "65536"),
        ],
    )
    .await;
    assert_eq!(
        topics(admin.inner()).get(&topic),
        Some(&3),
        "metadata lists 3 partitions"
    );

    let described = describe(&admin, ResourceSpecifier::Topic(&topic)).await;
    assert_eq!(
        described.specifier,
        OwnedResourceSpecifier::Topic(topic.clone())
    );
    for (name, expected) in [
        ("retention.ms", "123456789"),
        ("cleanup.policy", "compact"),
        ("max.message.bytes", "65536"),
    ] {
        let entry = described
            .get(name)
            .unwrap_or_else(|| panic!("{name} described"));
        assert_eq!(entry.value.as_deref(), Some(expected), "value of {name}");
        assert_eq!(entry.source, ConfigSource::DynamicTopic, "source of {name}");
        assert!(!entry.is_default, "{name} was set explicitly");
    }
    // DescribeConfigs lists every topic config, not only the overrides.
    for name in [
        "cleanup.policy",
        "compression.type",
        "max.message.bytes",
        "retention.ms",
        "retention.bytes",
        "segment.bytes",
        "segment.ms",
        "message.timestamp.type",
        "min.insync.replicas",
        "min.compaction.lag.ms",
    ] {
        assert!(
            described.get(name).is_some(),
            "topic config {name} is described"
        );
    }
    let untouched = described.get("min.compaction.lag.ms").expect("described");
    assert_eq!(
        untouched.value.as_deref(),
        Some("0"),
        "Kafka's default min.compaction.lag.ms"
    );
    assert!(untouched.is_default, "a config nobody set is a default");
    assert_eq!(
        untouched.source,
        ConfigSource::Default,
        "source of an unset config"
    );

    // AlterConfigs (the non-incremental API) replaces the whole set of overrides:
    // cleanup.policy, not mentioned, falls back to its default.
    let alter = AlterConfig::new(ResourceSpecifier::Topic(&topic))
        .set("retention.ms", "999000")
        .set("max.message.bytes", "2048");
    let results = admin
        .alter_configs([&alter], &admin_options())
        .await
        .expect("AlterConfigs request");
    assert_eq!(
        results,
        vec![Ok(OwnedResourceSpecifier::Topic(topic.clone()))]
    );
    let described = describe(&admin, ResourceSpecifier::Topic(&topic)).await;
    assert_eq!(value(&described, "retention.ms"), Some("999000"));
    assert_eq!(value(&described, "max.message.bytes"), Some("2048"));
    assert_eq!(
        value(&described, "cleanup.policy"),
        Some("delete"),
        "not in AlterConfigs -> default"
    );
    assert!(
        described
            .get("cleanup.policy")
            .expect("described")
            .is_default
    );

    // The altered max.message.bytes is enforced.
    let producer = producer(
        &bootstrap,
        &[("compression.type", "none"), ("linger.ms", "0")],
    );
    let big = "M".repeat(8_000);
    let err = producer
        .send(
            FutureRecord::to(&topic).partition(0).key("k").payload(&big),
            STEP_TIMEOUT,
        )
        .await
        .expect_err("8 kB record over the altered max.message.bytes=2048");
    assert_eq!(
        err.0.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge)
    );

    // Altering a topic that does not exist: rdkafka's AlterConfigs future drops
    // per-resource errors, so the error code is checked over raw protocol in
    // bad_input.rs (alter_configs_of_a_missing_topic_is_unknown_topic); here we
    // check that the request does not create the topic.
    let missing = unique_name("missing");
    let alter = AlterConfig::new(ResourceSpecifier::Topic(&missing)).set("retention.ms", "1000");
    admin
        .alter_configs([&alter], &admin_options())
        .await
        .expect("AlterConfigs request");
    assert!(
        !topics(admin.inner()).contains_key(&missing),
        "AlterConfigs must not create {missing}"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_only_creates_nothing_and_bad_configs_are_rejected() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let topic = unique_name("validate-only");
    let new = NewTopic::new(&topic, 4, TopicReplication::Fixed(1)).set("retention.ms", "60000");
    assert_eq!(
        create_one(&admin, &new, true).await,
        Ok(topic.clone()),
        "validate_only succeeds"
    );
    assert!(
        !topics(admin.inner()).contains_key(&topic),
        "validate_only must not create {topic}"
    );
    // Creating it for real afterwards works (nothing half-created is in the way).
    assert_eq!(create_one(&admin, &new, false).await, Ok(topic.clone()));
    assert_eq!(topics(admin.inner()).get(&topic), Some(&4));

    let bad = unique_name("bad-config");
    let new =
        NewTopic::new(&bad, 1, TopicReplication::Fixed(1)).set("retention.ms", "not-a-number");
    assert_eq!(
        create_one(&admin, &new, false).await,
        Err((bad.clone(), RDKafkaErrorCode::InvalidConfig)),
        "a non-numeric retention.ms"
    );
    assert!(
        !topics(admin.inner()).contains_key(&bad),
        "rejected topic not created"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_duplicate_topic_names_are_rejected() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let too_long = "x".repeat(250);
    for name in [
        "bad/name",
        "..",
        ".",
        "has space",
        "ünicode",
        "star*",
        too_long.as_str(),
    ] {
        let new = NewTopic::new(name, 1, TopicReplication::Fixed(1));
        assert_eq!(
            create_one(&admin, &new, false).await,
            Err((name.to_string(), RDKafkaErrorCode::InvalidTopic)),
            "topic name {name:?}"
        );
    }
    let legal_249 = "y".repeat(249);
    let new = NewTopic::new(&legal_249, 1, TopicReplication::Fixed(1));
    assert_eq!(
        create_one(&admin, &new, false).await,
        Ok(legal_249.clone()),
        "249 chars is legal"
    );

    let topic = unique_name("dup");
    create_topic(&admin, &topic, 2, &[]).await;
    let again = NewTopic::new(&topic, 5, TopicReplication::Fixed(1));
    assert_eq!(
        create_one(&admin, &again, false).await,
        Err((topic.clone(), RDKafkaErrorCode::TopicAlreadyExists))
    );
    assert_eq!(
        create_one(&admin, &again, true).await,
        Err((topic.clone(), RDKafkaErrorCode::TopicAlreadyExists)),
        "validate_only reports the duplicate too"
    );
    assert_eq!(
        topics(admin.inner()).get(&topic),
        Some(&2),
        "the original topic is unchanged"
    );
    let listed = topics(admin.inner());
    for bad in ["bad/name", "..", "has space"] {
        assert!(!listed.contains_key(bad), "{bad:?} must not exist");
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_and_delete_topics() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let topic = unique_name("grow");
    create_topic(&admin, &topic, 3, &[]).await;

    let results = admin
        .create_partitions([&NewPartitions::new(&topic, 5)], &admin_options())
        .await
        .expect("CreatePartitions request");
    assert_eq!(results, vec![Ok(topic.clone())]);
    assert_eq!(
        topics(admin.inner()).get(&topic),
        Some(&5),
        "metadata shows 5 partitions"
    );

    // The new partitions take records.
    let producer = producer(&bootstrap, &[]);
    let d = producer
        .send(
            FutureRecord::to(&topic)
                .partition(4)
                .key("k")
                .payload("in new partition"),
            STEP_TIMEOUT,
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce to new partition 4: {e}"));
    assert_eq!((d.partition, d.offset), (4, 0));

    // Shrinking, or "growing" to the same count, is INVALID_PARTITIONS.
    for count in [2, 5] {
        let results = admin
            .create_partitions([&NewPartitions::new(&topic, count)], &admin_options())
            .await
            .expect("CreatePartitions request");
        assert_eq!(
            results,
            vec![Err((topic.clone(), RDKafkaErrorCode::InvalidPartitions))],
            "CreatePartitions to {count}"
        );
    }
    assert_eq!(
        topics(admin.inner()).get(&topic),
        Some(&5),
        "still 5 partitions"
    );

    let missing = unique_name("no-such");
    let results = admin
        .create_partitions([&NewPartitions::new(&missing, 3)], &admin_options())
        .await
        .expect("CreatePartitions request");
    assert_eq!(
        results,
        vec![Err((
            missing.clone(),
            RDKafkaErrorCode::UnknownTopicOrPartition
        ))]
    );

    // Delete, and the topic disappears from Metadata.
    let results = admin
        .delete_topics(&[&topic], &admin_options())
        .await
        .expect("DeleteTopics request");
    assert_eq!(results, vec![Ok(topic.clone())]);
    wait_until("deleted topic leaves Metadata", STEP_TIMEOUT, || async {
        !topics(admin.inner()).contains_key(&topic)
    })
    .await;
    let results = admin
        .delete_topics(&[&topic], &admin_options())
        .await
        .expect("DeleteTopics request");
    assert_eq!(
        results,
        vec![Err((
            topic.clone(),
            RDKafkaErrorCode::UnknownTopicOrPartition
        ))],
        "deleting twice"
    );

    // The name can be reused; the new topic starts empty.
    create_topic(&admin, &topic, 1, &[]).await;
    assert_eq!(topics(admin.inner()).get(&topic), Some(&1));
    let c = consumer(&bootstrap, &[]);
    assert_eq!(
        watermarks(&c, &topic, 0),
        (0, 0),
        "a re-created topic has no old records"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_configs_and_auto_created_topics() {
    let broker = TestBroker::start_with(&[
        ("num.partitions", "2"),
        ("group.initial.rebalance.delay.ms", "250"),
        ("offsets.retention.minutes", "60"),
    ])
    .await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let id = broker_id(admin.inner());
    let described = describe(&admin, ResourceSpecifier::Broker(id)).await;
    assert_eq!(described.specifier, OwnedResourceSpecifier::Broker(id));

    // Every broker property the broker reads is described, as Kafka does:
    // set ones as STATIC_BROKER_CONFIG, the rest as DEFAULT.
    for (name, value) in [
        ("group.initial.rebalance.delay.ms", "250"),
        ("offsets.retention.minutes", "60"),
    ] {
        let entry = described
            .get(name)
            .unwrap_or_else(|| panic!("{name} described"));
        assert_eq!(entry.value.as_deref(), Some(value), "{name}");
        assert_eq!(entry.source, ConfigSource::StaticBroker, "{name}");
    }
    let max_size = described
        .get("group.max.size")
        .expect("group.max.size described");
    assert_eq!(max_size.value.as_deref(), Some("2147483647"));
    assert_eq!(max_size.source, ConfigSource::Default);

    let num_partitions = described
        .get("num.partitions")
        .expect("num.partitions described");
    assert_eq!(num_partitions.value.as_deref(), Some("2"));
    assert_eq!(
        num_partitions.source,
        ConfigSource::StaticBroker,
        "set in the broker's properties"
    );
    assert!(!num_partitions.is_default);

    let rf = described
        .get("default.replication.factor")
        .expect("default.replication.factor described");
    assert_eq!(rf.value.as_deref(), Some("1"));
    assert!(rf.is_default, "not set by the test");
    assert_eq!(rf.source, ConfigSource::Default);

    // Auto-creation (on by default) uses num.partitions.
    let topic = unique_name("auto-created");
    let producer = producer(&bootstrap, &[]);
    produce_one(&producer, &topic, "k", "creates the topic").await;
    assert_eq!(
        topics(admin.inner()).get(&topic),
        Some(&2),
        "auto-created with num.partitions=2"
    );
    broker.shutdown().await;
}
