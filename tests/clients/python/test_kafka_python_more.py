"""kafka-python beyond the newcomer example: admin-created topics, keyed sends
across partitions, headers, compression, offsets lookups, configs, delete
records/topics. Consumers use no group (`group_id=None`): assign + seek."""

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError
from kafka.partitioner.default import murmur2

TIMEOUT_S = 30.0


# --- helpers ------------------------------------------------------------------

def wait_until(condition, what, timeout=TIMEOUT_S):
    """Polls `condition` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(delay)  # back-off between polls of a condition, not a wait in itself
        delay = min(delay * 2, 0.5)


@pytest.fixture(scope="module")
def admin(strom_bootstrap):
    client = KafkaAdminClient(bootstrap_servers=strom_bootstrap, request_timeout_ms=15000)
    yield client
    client.close()


def create_topic(admin, name, partitions, configs=None):
    resp = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=configs or {})]
    )
    errors = [(t[0], t[1]) for t in resp.topic_errors]
    assert errors == [(name, 0)], f"create_topics({name}) answered {resp}"
    wait_until(lambda: name in admin.list_topics(), f"topic {name} in list_topics")


def make_producer(bootstrap, **config):
    return KafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=15000, **config)


def consume_all(bootstrap, topic, partitions, expected):
    """Reads `expected` records from the start of every partition (assign + seek)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        records = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        assert len(records) == expected, f"read {len(records)} records of {expected} from {topic}"
        # Nothing beyond what was produced.
        extra = [r for batch in consumer.poll(timeout_ms=300).values() for r in batch]
        assert extra == [], f"unexpected extra records: {extra}"
        return records
    finally:
        consumer.close()


def describe_topic_configs(admin, topic):
    """{name: value} of every config DescribeConfigs returns for the topic."""
    responses = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    configs = {}
    for response in responses:
        for resource in response.resources:
            error_code, error_message, _rtype, name, entries = resource[:5]
            assert error_code == 0, f"describe_configs({topic}): error {error_code} {error_message}"
            assert name == topic
            for entry in entries:
                configs[entry[0]] = entry[1]
    return configs


# --- tests ------------------------------------------------------------------------

def test_keyed_sends_across_three_partitions(strom_bootstrap, admin):
    topic, partitions, n = "py-keyed", 3, 60
    create_topic(admin, topic, partitions)

    producer = make_producer(strom_bootstrap, acks="all")
    sent = []  # (key, value, headers, RecordMetadata)
    for i in range(n):
        key = f"key-{i % 6}".encode()
        value = f"value-{i}".encode()
        headers = [("seq", str(i).encode()), ("origin", b"python")]
        md = producer.send(topic, key=key, value=value, headers=headers).get(timeout=10)
        assert md.topic == topic
        assert 0 <= md.partition < partitions
        assert md.offset >= 0
        # kafka-python's default partitioner is the Java client's murmur2.
        assert md.partition == (murmur2(key) & 0x7FFFFFFF) % partitions
        sent.append((key, value, headers, md))
    producer.close()

    # Same key -> same partition; offsets are dense per partition, from 0.
    key_partitions = {}
    per_partition = {p: [] for p in range(partitions)}
    for key, _value, _headers, md in sent:
        key_partitions.setdefault(key, set()).add(md.partition)
        per_partition[md.partition].append(md.offset)
    assert all(len(ps) == 1 for ps in key_partitions.values()), key_partitions
    for p, offsets in per_partition.items():
        assert offsets == list(range(len(offsets))), f"partition {p} offsets {offsets}"
    assert sum(1 for offsets in per_partition.values() if offsets) >= 2

    records = consume_all(strom_bootstrap, topic, partitions, n)
    by_position = {(md.partition, md.offset): (key, value, headers) for key, value, headers, md in sent}
    for r in records:
        assert r.topic == topic
        key, value, headers = by_position[(r.partition, r.offset)]
        assert (r.key, r.value) == (key, value)
        assert [(k, bytes(v)) for k, v in r.headers] == headers
    # Per-partition order is the send order.
    for p in range(partitions):
        got = [r.value for r in records if r.partition == p]
        want = [value for _k, value, _h, md in sent if md.partition == p]
        assert got == want, f"partition {p} order"

    # Offset lookups.
    consumer = KafkaConsumer(bootstrap_servers=strom_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        assert consumer.beginning_offsets(tps) == {tp: 0 for tp in tps}
        assert consumer.end_offsets(tps) == {tp: len(per_partition[tp.partition]) for tp in tps}
    finally:
        consumer.close()


@pytest.mark.parametrize("codec", ["gzip", "lz4"])
def test_compressed_produce_round_trip(strom_bootstrap, admin, codec):
    topic, n = f"py-compressed-{codec}", 200
    create_topic(admin, topic, 1)

    producer = make_producer(strom_bootstrap, compression_type=codec, linger_ms=20, batch_size=64 * 1024)
    values = [(f"record {i} ".encode() + b"x" * 300) for i in range(n)]
    futures = [producer.send(topic, key=str(i).encode(), value=v) for i, v in enumerate(values)]
    producer.flush()
    offsets = [f.get(timeout=10).offset for f in futures]
    producer.close()
    assert offsets == list(range(n))

    records = consume_all(strom_bootstrap, topic, 1, n)
    assert [r.offset for r in records] == list(range(n))
    assert [r.value for r in records] == values
    assert [r.key for r in records] == [str(i).encode() for i in range(n)]


def test_admin_topics_and_configs(strom_bootstrap, admin):
    topic = "py-admin"
    create_topic(admin, topic, 2, configs={"retention.ms": "3600000", "cleanup.policy": "compact"})
    assert topic in admin.list_topics()

    # Creating it again fails with TOPIC_ALREADY_EXISTS (36).
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])

    described = admin.describe_topics([topic])
    assert [t["topic"] for t in described] == [topic]
    assert sorted(p["partition"] for p in described[0]["partitions"]) == [0, 1]

    configs = describe_topic_configs(admin, topic)
    assert configs.get("retention.ms") == "3600000"
    assert configs.get("cleanup.policy") == "compact"
    # DescribeConfigs returns every topic config, not only the overrides.
    assert "segment.bytes" in configs and "max.message.bytes" in configs, sorted(configs)

    resp = admin.delete_topics([topic])
    assert [(t[0], t[1]) for t in resp.topic_error_codes] == [(topic, 0)]
    wait_until(lambda: topic not in admin.list_topics(), f"topic {topic} gone from list_topics")


def test_delete_records_moves_log_start_offset(strom_bootstrap, admin):
    topic = "py-delete-records"
    create_topic(admin, topic, 1)
    producer = make_producer(strom_bootstrap)
    for i in range(10):
        producer.send(topic, value=f"v{i}".encode())
    producer.flush()
    producer.close()

    tp = TopicPartition(topic, 0)
    result = admin.delete_records({tp: 4})
    assert result[tp]["low_watermark"] == 4

    consumer = KafkaConsumer(bootstrap_servers=strom_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        assert consumer.beginning_offsets([tp]) == {tp: 4}
        assert consumer.end_offsets([tp]) == {tp: 10}
        consumer.assign([tp])
        consumer.seek_to_beginning()
        values = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(values) < 6 and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in batch)
        assert values == [f"v{i}".encode() for i in range(4, 10)]
    finally:
        consumer.close()
