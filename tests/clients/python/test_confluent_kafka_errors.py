"""confluent-kafka (librdkafka) sees Kafka's error codes for bad requests, on a
broker with `auto.create.topics.enable=false`."""

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewPartitions, NewTopic, ResourceType)

from helpers import unique, wait_until

TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def strict(broker_factory):
    return broker_factory(**{"auto.create.topics.enable": "false"})


@pytest.fixture(scope="module")
def admin(strict):
    return AdminClient({"bootstrap.servers": strict.bootstrap})


def create_topic(admin, partitions=1, **config):
    name = unique("py-ck-err")
    admin.create_topics([NewTopic(name, partitions, 1, config=config)])[name].result(TIMEOUT_S)
    return name


def code_of(future) -> int:
    with pytest.raises(KafkaException) as e:
        future.result(TIMEOUT_S)
    return e.value.args[0].code()


def test_confluent_kafka_admin_errors(admin):
    topic = create_topic(admin, 2)

    def create(new_topic):
        return code_of(admin.create_topics([new_topic])[new_topic.topic])

    assert create(NewTopic(topic, 2, 1)) == KafkaError.TOPIC_ALREADY_EXISTS
    assert create(NewTopic(unique("py-ck-err"), 1, 3)) == KafkaError.INVALID_REPLICATION_FACTOR
    assert create(NewTopic(unique("py-ck-err"), 1, 1, config={"retention.ms": "soon"})) \
        == KafkaError.INVALID_CONFIG
    assert create(NewTopic(unique("py-ck-err"), 1, 1, config={"no.such.config": "1"})) \
        == KafkaError.INVALID_CONFIG
    assert create(NewTopic("bad/name", 1, 1)) == KafkaError.TOPIC_EXCEPTION
    assert create(NewTopic("x" * 250, 1, 1)) == KafkaError.TOPIC_EXCEPTION
    assert create(NewTopic(unique("py-ck-err"), 0, 1)) == KafkaError.INVALID_PARTITIONS

    # Fewer or as many partitions as now.
    assert code_of(admin.create_partitions([NewPartitions(topic, 1)])[topic]) == KafkaError.INVALID_PARTITIONS
    assert code_of(admin.create_partitions([NewPartitions(topic, 2)])[topic]) == KafkaError.INVALID_PARTITIONS
    missing = unique("py-ck-missing")
    assert code_of(admin.create_partitions([NewPartitions(missing, 4)])[missing]) \
        == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert code_of(admin.delete_topics([missing])[missing]) == KafkaError.UNKNOWN_TOPIC_OR_PART

    resource = ConfigResource(ResourceType.TOPIC, missing)
    assert code_of(admin.describe_configs([resource])[resource]) == KafkaError.UNKNOWN_TOPIC_OR_PART
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "-5x", incremental_operation=AlterConfigOpType.SET)])
    assert code_of(admin.incremental_alter_configs([resource])[resource]) == KafkaError.INVALID_CONFIG

    # DeleteRecords beyond the high watermark (0 here).
    futures = admin.delete_records([TopicPartition(topic, 0, 5)])
    assert [code_of(f) for f in futures.values()] == [KafkaError.OFFSET_OUT_OF_RANGE]


def delivery_errors(bootstrap, topic, values, **config):
    p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 20000,
                  "topic.metadata.propagation.max.ms": 1000, **config})
    errors = []
    for v in values:
        p.produce(topic, value=v, on_delivery=lambda err, _m: errors.append(err))
    assert p.flush(TIMEOUT_S) == 0
    return [None if e is None else e.code() for e in errors]


def test_confluent_kafka_produce_errors(strict, admin):
    # No topic and no auto-creation.
    missing = unique("py-ck-missing")
    assert delivery_errors(strict.bootstrap, missing, [b"x"]) == [KafkaError.UNKNOWN_TOPIC_OR_PART]
    assert missing not in admin.list_topics(timeout=TIMEOUT_S).topics

    # A batch above the topic's max.message.bytes is refused; a small one goes in.
    topic = create_topic(admin, **{"max.message.bytes": "2048"})
    assert delivery_errors(strict.bootstrap, topic, [b"y" * 8000]) == [KafkaError.MSG_SIZE_TOO_LARGE]
    assert delivery_errors(strict.bootstrap, topic, [b"small"]) == [None]
    c = Consumer({"bootstrap.servers": strict.bootstrap, "group.id": unique("unused")})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S) == (0, 1)
    finally:
        c.close()

    # Clients may not write to the offsets topic.
    assert delivery_errors(strict.bootstrap, "__consumer_offsets", [b"z"]) == [KafkaError.TOPIC_EXCEPTION]


def test_confluent_kafka_offset_out_of_range(strict, admin):
    topic = create_topic(admin)
    assert delivery_errors(strict.bootstrap, topic, [b"a", b"b", b"c"]) == [None, None, None]
    c = Consumer({"bootstrap.servers": strict.bootstrap, "group.id": unique("unused"),
                  "auto.offset.reset": "error", "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, 0, 42)])
        errors = []
        wait_until(lambda: errors.extend(m.error() for m in c.consume(1, timeout=0.5) if m.error())
                   or errors, "an error for a fetch beyond the log end")
        err = errors[0]
        # librdkafka turns the broker's OFFSET_OUT_OF_RANGE into _AUTO_OFFSET_RESET
        # when auto.offset.reset=error, naming the broker's error in the message.
        assert err.code() == KafkaError._AUTO_OFFSET_RESET, err
        assert "Offset out of range" in err.str() or "OFFSET_OUT_OF_RANGE" in err.str(), err.str()
    finally:
        c.close()
