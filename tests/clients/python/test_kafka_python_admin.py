"""kafka-python's KafkaAdminClient beyond test_kafka_python_more: describe
cluster, create partitions, alter configs; and the errors of bad requests, on a
broker with `auto.create.topics.enable=false`."""

from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import (InvalidConfigurationError, KafkaError, InvalidPartitionsError,
                          InvalidReplicationFactorError, InvalidTopicError, KafkaTimeoutError,
                          MessageSizeTooLargeError, OffsetOutOfRangeError,
                          TopicAlreadyExistsError, UnknownTopicOrPartitionError)

from helpers import unique, wait_until

TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def strict(broker_factory):
    return broker_factory(**{"auto.create.topics.enable": "false"})


@pytest.fixture(scope="module")
def admin(strict):
    client = KafkaAdminClient(bootstrap_servers=strict.bootstrap, request_timeout_ms=15000)
    yield client
    client.close()


def create_topic(admin, partitions=1, configs=None):
    name = unique("py-kp-admin")
    resp = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                         topic_configs=configs or {})])
    assert [(t[0], t[1]) for t in resp.topic_errors] == [(name, 0)]
    return name


def topic_configs(admin, topic):
    configs = {}
    for response in admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]):
        for error_code, _msg, _type, name, entries in (r[:5] for r in response.resources):
            assert (error_code, name) == (0, topic)
            configs.update({e[0]: e[1] for e in entries})
    return configs


def end_offset(bootstrap, topic, partition):
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tp = TopicPartition(topic, partition)
        return c.end_offsets([tp])[tp]
    finally:
        c.close()


def test_kafka_python_describe_cluster(strict, admin):
    cluster = admin.describe_cluster()
    meta = dict(line.split("=", 1) for line in
                Path(strict.properties["log.dirs"], "meta.properties").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    assert cluster["cluster_id"] == meta["cluster.id"]
    assert cluster["controller_id"] == 1
    assert [(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]] == \
        [(1, strict.host, strict.port)]


def test_kafka_python_create_partitions_and_alter_configs(strict, admin):
    topic = create_topic(admin, 2, {"cleanup.policy": "compact", "retention.ms": "3600000"})
    admin.create_partitions({topic: NewPartitions(total_count=4)})
    wait_until(lambda: len(admin.describe_topics([topic])[0]["partitions"]) == 4, "4 partitions")
    producer = KafkaProducer(bootstrap_servers=strict.bootstrap)
    producer.send(topic, key=b"k", value=b"on partition 3", partition=3).get(timeout=TIMEOUT_S)
    producer.close()
    assert end_offset(strict.bootstrap, topic, 3) == 1

    # AlterConfigs replaces the whole set: what is not named returns to its default.
    responses = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                    configs={"retention.ms": "7200000"})])
    assert [(r[0], r[3]) for resp in [responses] for r in resp.resources] == [(0, topic)]
    configs = topic_configs(admin, topic)
    assert configs["retention.ms"] == "7200000"
    assert configs["cleanup.policy"] == "delete"


def test_kafka_python_admin_errors(strict, admin):
    topic = create_topic(admin, 2)

    def create_error(new_topic):
        with pytest.raises(Exception) as e:
            admin.create_topics([new_topic])
        return type(e.value)

    assert create_error(NewTopic(topic, 2, 1)) is TopicAlreadyExistsError
    assert create_error(NewTopic(unique("py-kp-err"), 1, 3)) is InvalidReplicationFactorError
    assert create_error(NewTopic(unique("py-kp-err"), 1, 1, topic_configs={"retention.ms": "soon"})) \
        is InvalidConfigurationError
    assert create_error(NewTopic("bad/name", 1, 1)) is InvalidTopicError

    with pytest.raises(InvalidPartitionsError):
        admin.create_partitions({topic: NewPartitions(total_count=1)})
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics([unique("py-kp-missing")])

    # DeleteRecords beyond the high watermark.
    with pytest.raises(OffsetOutOfRangeError):
        admin.delete_records({TopicPartition(topic, 0): 5})


def test_kafka_python_produce_errors(strict, admin):
    # No auto-creation: the producer never learns the partitions of a missing topic.
    missing = unique("py-kp-missing")
    producer = KafkaProducer(bootstrap_servers=strict.bootstrap, max_block_ms=2000)
    with pytest.raises(KafkaTimeoutError):
        producer.send(missing, value=b"x")
    producer.close()
    assert missing not in admin.list_topics()

    # Above the topic's max.message.bytes (the client's own limit is 1 MiB).
    topic = create_topic(admin, 1, {"max.message.bytes": "2048"})
    producer = KafkaProducer(bootstrap_servers=strict.bootstrap, retries=0)
    with pytest.raises(MessageSizeTooLargeError):
        producer.send(topic, value=b"y" * 8000).get(timeout=TIMEOUT_S)
    assert producer.send(topic, value=b"small").get(timeout=TIMEOUT_S).offset == 0

    # Clients may not write to the offsets topic. The first FindCoordinator creates
    # it (Kafka answers COORDINATOR_NOT_AVAILABLE, then NOT_COORDINATOR, until it is
    # loaded: retriable errors).
    def offsets_topic_ready():
        try:
            assert admin.list_consumer_group_offsets(unique("py-kp-nogroup")) == {}
        except KafkaError as e:
            if e.retriable:
                return False
            raise
        return "__consumer_offsets" in admin.list_topics()
    wait_until(offsets_topic_ready, "the offsets topic exists")
    with pytest.raises(InvalidTopicError):
        producer.send("__consumer_offsets", value=b"z").get(timeout=TIMEOUT_S)
    producer.close()
    assert end_offset(strict.bootstrap, topic, 0) == 1
