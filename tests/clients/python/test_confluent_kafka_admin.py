"""confluent-kafka's AdminClient (librdkafka) against strom-broker: topics
(create / list / describe / create partitions / delete), configs (describe,
incremental and whole alter), records (delete records, list offsets, describe
cluster) and consumer groups (list / describe / offsets / alter offsets /
delete)."""

import warnings
from pathlib import Path

import pytest
from confluent_kafka import (Consumer, ConsumerGroupState, ConsumerGroupTopicPartitions,
                             KafkaError, KafkaException, Producer, TopicCollection,
                             TopicPartition)
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   ConfigSource, NewPartitions, NewTopic, OffsetSpec,
                                   ResourceType)

from helpers import unique, wait_until

TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create_topic(admin, partitions, prefix="py-ck-admin", **config):
    name = unique(prefix)
    admin.create_topics([NewTopic(name, partitions, 1, config=config)])[name].result(TIMEOUT_S)
    return name


def produce(bootstrap, topic, partition, values, timestamps=None):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    errors = []
    for i, v in enumerate(values):
        p.produce(topic, partition=partition, value=v, timestamp=timestamps[i] if timestamps else 0,
                  on_delivery=lambda err, _m: err and errors.append(err))
    assert p.flush(TIMEOUT_S) == 0
    assert errors == []


def topic_configs(admin, topic):
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return admin.describe_configs([resource])[resource].result(TIMEOUT_S)


def error_of(future) -> KafkaError:
    with pytest.raises(KafkaException) as e:
        future.result(TIMEOUT_S)
    return e.value.args[0]


def test_confluent_kafka_admin_topics(broker, admin):
    topic = create_topic(admin, 3)
    metadata = admin.list_topics(timeout=TIMEOUT_S)
    assert topic in metadata.topics
    assert sorted(metadata.topics[topic].partitions) == [0, 1, 2]
    assert {p.leader for p in metadata.topics[topic].partitions.values()} == {1}
    assert "__cluster_metadata" not in metadata.topics, "the metadata log is not a topic clients see"

    described = admin.describe_topics(TopicCollection([topic]))[topic].result(TIMEOUT_S)
    assert described.name == topic
    assert not described.is_internal
    assert [p.id for p in described.partitions] == [0, 1, 2]
    for p in described.partitions:
        assert p.leader.id == 1
        assert [r.id for r in p.replicas] == [1] and [r.id for r in p.isr] == [1]

    # validate_only creates nothing.
    dry = unique("py-ck-dry")
    admin.create_topics([NewTopic(dry, 2, 1)], validate_only=True)[dry].result(TIMEOUT_S)
    assert dry not in admin.list_topics(timeout=TIMEOUT_S).topics

    # 3 -> 5 partitions; the new ones take records.
    admin.create_partitions([NewPartitions(topic, 5)])[topic].result(TIMEOUT_S)
    wait_until(lambda: len(admin.list_topics(topic, timeout=TIMEOUT_S).topics[topic].partitions) == 5,
               "5 partitions in metadata")
    produce(broker.bootstrap, topic, 4, [b"on a new partition"])
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("unused")})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 4), timeout=TIMEOUT_S) == (0, 1)
    finally:
        c.close()

    admin.delete_topics([topic])[topic].result(TIMEOUT_S)
    wait_until(lambda: topic not in admin.list_topics(timeout=TIMEOUT_S).topics, "the topic gone")
    err = error_of(admin.describe_topics(TopicCollection([topic]))[topic])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_confluent_kafka_admin_configs(broker, admin):
    topic = create_topic(admin, 1, **{"retention.ms": "3600000", "cleanup.policy": "compact"})
    configs = topic_configs(admin, topic)
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert not configs["retention.ms"].is_default
    assert configs["cleanup.policy"].value == "compact"
    # Every topic config is returned, with its default and source.
    assert configs["segment.bytes"].value == "1073741824"
    assert configs["segment.bytes"].is_default
    assert configs["max.message.bytes"].value == "1048588"
    assert configs["min.insync.replicas"].value == "1"

    # IncrementalAlterConfigs: SET one, DELETE another (back to its default), APPEND to a list.
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.APPEND),
        ConfigEntry("segment.bytes", "", incremental_operation=AlterConfigOpType.DELETE),
    ])
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)
    configs = topic_configs(admin, topic)
    assert configs["retention.ms"].value == "7200000"
    assert configs["cleanup.policy"].value == "compact,delete"
    assert configs["segment.bytes"].is_default

    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "", incremental_operation=AlterConfigOpType.DELETE),
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SUBTRACT),
    ])
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)
    configs = topic_configs(admin, topic)
    assert configs["retention.ms"].value == "604800000" and configs["retention.ms"].is_default
    assert configs["cleanup.policy"].value == "delete"

    # AlterConfigs (whole set): what is not named goes back to its default.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        resource = ConfigResource(ResourceType.TOPIC, topic, set_config={"max.message.bytes": "2000000"})
        admin.alter_configs([resource])[resource].result(TIMEOUT_S)
    configs = topic_configs(admin, topic)
    assert configs["max.message.bytes"].value == "2000000"
    assert configs["cleanup.policy"].value == "delete" and configs["cleanup.policy"].is_default

    # The broker's own configs.
    resource = ConfigResource(ResourceType.BROKER, "1")
    broker_configs = admin.describe_configs([resource])[resource].result(TIMEOUT_S)
    assert broker_configs["log.dirs"].value == broker.properties["log.dirs"]
    assert broker_configs["log.dirs"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert broker_configs["num.partitions"].value == "1"


def test_confluent_kafka_admin_records_offsets_and_cluster(broker, admin):
    topic = create_topic(admin, 1)
    base = 1_700_000_000_000
    produce(broker.bootstrap, topic, 0, [f"v{i}".encode() for i in range(10)],
            timestamps=[base + 10 * i for i in range(10)])
    tp = TopicPartition(topic, 0)

    def offset(spec):
        return admin.list_offsets({tp: spec})[tp].result(TIMEOUT_S)

    assert offset(OffsetSpec.earliest()).offset == 0
    assert offset(OffsetSpec.latest()).offset == 10
    newest = offset(OffsetSpec.max_timestamp())
    assert (newest.offset, newest.timestamp) == (9, base + 90)
    found = offset(OffsetSpec.for_timestamp(base + 35))
    assert (found.offset, found.timestamp) == (4, base + 40)

    deleted = admin.delete_records([TopicPartition(topic, 0, 6)])
    assert [d.low_watermark for d in (f.result(TIMEOUT_S) for f in deleted.values())] == [6]
    assert offset(OffsetSpec.earliest()).offset == 6
    assert offset(OffsetSpec.latest()).offset == 10
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("unused"),
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, 0, 0)])  # below the log start: reset to earliest
        got = []
        wait_until(lambda: got.extend(m.value() for m in c.consume(10, timeout=0.5)) or len(got) >= 4,
                   "the records after the deleted ones")
        assert got == [f"v{i}".encode() for i in range(6, 10)]
    finally:
        c.close()

    cluster = admin.describe_cluster().result(TIMEOUT_S)
    meta = dict(line.split("=", 1) for line in
                Path(broker.properties["log.dirs"], "meta.properties").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    assert cluster.cluster_id == meta["cluster.id"]
    assert [(n.id, n.host, n.port) for n in cluster.nodes] == [(1, broker.host, broker.port)]
    assert cluster.controller.id == 1


def group_member(bootstrap, group, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": f"{group}-member",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    c.subscribe([topic])
    return c


def test_confluent_kafka_admin_groups(broker, admin):
    topic = create_topic(admin, 2)
    group = unique("py-ck-admin-group")
    produce(broker.bootstrap, topic, 0, [b"a", b"b", b"c"])
    produce(broker.bootstrap, topic, 1, [b"d", b"e"])

    member = group_member(broker.bootstrap, group, topic)
    got = []
    wait_until(lambda: got.extend(m for m in member.consume(10, timeout=0.5) if not m.error())
               or len(got) >= 5, "the group member reads every record")
    member.commit(offsets=[TopicPartition(topic, 0, 3, "from-python"), TopicPartition(topic, 1, 1)],
                  asynchronous=False)
    committed = member.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=TIMEOUT_S)
    assert [(tp.partition, tp.offset, tp.metadata) for tp in committed] == \
        [(0, 3, "from-python"), (1, 1, None)]

    listed = admin.list_consumer_groups().result(TIMEOUT_S)
    assert listed.errors == []
    mine = [g for g in listed.valid if g.group_id == group]
    assert [(g.state, g.is_simple_consumer_group) for g in mine] == [(ConsumerGroupState.STABLE, False)]
    stable = admin.list_consumer_groups(states={ConsumerGroupState.STABLE}).result(TIMEOUT_S)
    assert group in [g.group_id for g in stable.valid]

    d = admin.describe_consumer_groups([group])[group].result(TIMEOUT_S)
    assert (d.group_id, d.state, d.partition_assignor) == (group, ConsumerGroupState.STABLE, "range")
    assert d.coordinator.id == 1
    assert [(m.client_id, sorted(tp.partition for tp in m.assignment.topic_partitions))
            for m in d.members] == [(f"{group}-member", [0, 1])]

    # A group with a member cannot be deleted.
    err = error_of(admin.delete_consumer_groups([group])[group])
    assert err.code() == KafkaError.NON_EMPTY_GROUP, err

    member.close()  # leaves the group
    wait_until(lambda: admin.describe_consumer_groups([group])[group].result(TIMEOUT_S).state
               == ConsumerGroupState.EMPTY, "the group is Empty after its member left")

    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0), TopicPartition(topic, 1)])
    offsets = admin.list_consumer_group_offsets([request])[group].result(TIMEOUT_S)
    assert [(tp.partition, tp.offset, tp.metadata) for tp in offsets.topic_partitions] == \
        [(0, 3, "from-python"), (1, 1, None)]

    new = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 1), TopicPartition(topic, 1, 2)])
    altered = admin.alter_consumer_group_offsets([new])[group].result(TIMEOUT_S)
    assert [(tp.partition, tp.offset, tp.error) for tp in altered.topic_partitions] == \
        [(0, 1, None), (1, 2, None)]
    offsets = admin.list_consumer_group_offsets([request])[group].result(TIMEOUT_S)
    assert [(tp.partition, tp.offset) for tp in offsets.topic_partitions] == [(0, 1), (1, 2)]

    # A new member starts at the altered offsets.
    member = group_member(broker.bootstrap, group, topic)
    got = []
    wait_until(lambda: got.extend(m for m in member.consume(10, timeout=0.5) if not m.error())
               or len(got) >= 2, "records from the altered offsets")
    assert sorted((m.partition(), m.offset(), m.value()) for m in got) == [(0, 1, b"b"), (0, 2, b"c")]
    member.close()

    wait_until(lambda: admin.describe_consumer_groups([group])[group].result(TIMEOUT_S).state
               == ConsumerGroupState.EMPTY, "the group is Empty again")
    admin.delete_consumer_groups([group])[group].result(TIMEOUT_S)
    listed = admin.list_consumer_groups().result(TIMEOUT_S)
    assert group not in [g.group_id for g in listed.valid]
    offsets = admin.list_consumer_group_offsets([request])[group].result(TIMEOUT_S)
    assert [tp.offset for tp in offsets.topic_partitions] == [-1001, -1001], "no offsets left"
