"""kafka-python producing against strom-broker: acks 0 / 1 / all with keys
(murmur2, as the Java client) and headers, the idempotent producer, and every
compression codec, checked on the consumed records and the stored batches."""

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from helpers import CODECS, java_partition, stored_batches, unique, wait_until

TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def admin(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=15000)
    yield client
    client.close()


def create_topic(admin, partitions):
    name = unique("py-kp")
    resp = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    assert [(t[0], t[1]) for t in resp.topic_errors] == [(name, 0)]
    return name


def consume_all(bootstrap, topic, partitions, expected):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        consumer.seek_to_beginning()
        records = []
        wait_until(lambda: records.extend(r for batch in consumer.poll(timeout_ms=500).values()
                                          for r in batch) or len(records) >= expected,
                   f"{expected} records from {topic}")
        assert len(records) == expected
        assert consumer.poll(timeout_ms=300) == {}, "nothing beyond what was produced"
        return records
    finally:
        consumer.close()


# kafka-python 2.3.3 never writes an acks=0 Produce request to the socket:
# KafkaClient.send() (kafka/client_async.py) registers the connection for write
# only when the request's future is not done yet, and conn.send() completes the
# future of a request that expects no response at once; the bytes wait in the
# connection's buffer until some later request on that connection flushes them.
# A raw Produce v8 acks=0 request is stored by the broker (checked by hand with
# a socket); through KafkaProducer nothing reaches the wire (seen with a proxy).
ACKS_0_NEVER_SENT = pytest.mark.xfail(
    strict=True, reason="kafka-python 2.3.3 bug: acks=0 produce requests stay in the client's send buffer")


@pytest.mark.parametrize("acks", [pytest.param(0, marks=ACKS_0_NEVER_SENT), 1, "all"])
def test_kafka_python_produce_acks(broker, admin, acks):
    partitions, n = 3, 60
    topic = create_topic(admin, partitions)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=acks, linger_ms=5)
    sent = []
    for i in range(n):
        key, value = f"key-{i % 7}".encode(), f"value-{i}".encode()
        headers = [("seq", str(i).encode()), ("acks", str(acks).encode())]
        sent.append((key, value, headers, producer.send(topic, key=key, value=value, headers=headers)))
    producer.flush()
    metadata = [f.get(timeout=TIMEOUT_S) for *_, f in sent]
    producer.close()

    # Every record is in the log (acks=0: once the broker has handled the request).
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        wait_until(lambda: sum(consumer.end_offsets(tps).values()) == n,
                   f"{n} records in {topic}", timeout=5 if acks == 0 else TIMEOUT_S)
    finally:
        consumer.close()

    for (key, *_), md in zip(sent, metadata):
        assert md.partition == java_partition(key, partitions), key
    if acks == 0:
        assert {md.offset for md in metadata} == {-1}, "no answer, no offset"
    else:
        for p in range(partitions):
            offsets = [md.offset for md in metadata if md.partition == p]
            assert offsets == list(range(len(offsets))), f"partition {p}: dense offsets from 0"

    records = consume_all(broker.bootstrap, topic, partitions, n)
    for p in range(partitions):
        want = [(k, v, h) for k, v, h, _ in sent if java_partition(k, partitions) == p]
        got = [(r.key, r.value, [(hk, bytes(hv)) for hk, hv in r.headers]) for r in records if r.partition == p]
        assert got == want, f"partition {p}: keys, values and headers in send order"


def test_kafka_python_idempotent_producer(broker, admin):
    partitions, n = 2, 300
    topic = create_topic(admin, partitions)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True,
                             linger_ms=2, batch_size=2048)
    futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()) for i in range(n)]
    producer.flush()
    metadata = [f.get(timeout=TIMEOUT_S) for f in futures]
    pid = producer._transaction_manager.producer_id_and_epoch  # no public accessor in 2.3.3
    producer.close()
    assert pid.producer_id >= 0 and pid.epoch >= 0, "InitProducerId gave the producer an id"
    for p in range(partitions):
        offsets = [md.offset for md in metadata if md.partition == p]
        assert offsets == list(range(len(offsets))), f"partition {p}: dense offsets, no duplicate"

    records = consume_all(broker.bootstrap, topic, partitions, n)
    assert sorted(r.value for r in records) == sorted(f"v{i}".encode() for i in range(n))

    for p in range(partitions):
        batches = stored_batches(broker.properties["log.dirs"], topic, p)
        next_seq = 0
        for b in batches:
            assert (b.producer_id, b.producer_epoch) == (pid.producer_id, pid.epoch), b
            assert b.base_sequence == next_seq, b
            next_seq += b.records
        assert next_seq == sum(1 for md in metadata if md.partition == p)
        assert len(batches) > 1, "several batches, so sequences advanced"


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_kafka_python_compression(broker, admin, codec):
    topic, n = create_topic(admin, 1), 200
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec,
                             linger_ms=20, batch_size=64 * 1024)
    values = [f"record {i} ".encode() + b"abcdefgh" * 40 for i in range(n)]
    futures = [producer.send(topic, key=str(i).encode(), value=v) for i, v in enumerate(values)]
    producer.flush()
    assert [f.get(timeout=TIMEOUT_S).offset for f in futures] == list(range(n))
    producer.close()

    batches = stored_batches(broker.properties["log.dirs"], topic, 0)
    assert {b.codec for b in batches} == {CODECS[codec]}, f"stored batches are {codec}-compressed"
    assert sum(b.records for b in batches) == n and len(batches) < n

    records = consume_all(broker.bootstrap, topic, 1, n)
    assert [r.offset for r in records] == list(range(n))
    assert [r.value for r in records] == values
    assert [r.key for r in records] == [str(i).encode() for i in range(n)]
