"""confluent-kafka (librdkafka) producing: acks 0 / 1 / all, headers, where keys
land (the default `consistent_random` partitioner = CRC-32 of the key, and
`murmur2_random` = the Java client's murmur2), the idempotent producer, and
every compression codec, checked on the consumed records and on the batches
the broker stored."""

import json

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from helpers import (CODECS, crc32_partition, java_partition, stored_batches, unique,
                     wait_until)

TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create_topic(admin, partitions: int, prefix: str = "py-ck", **config) -> str:
    """Creates a topic and waits until metadata shows a leader for every partition
    (Apache Kafka applies a new topic asynchronously; an acks=0 record sent before
    that is dropped)."""
    topic = unique(prefix)
    admin.create_topics([NewTopic(topic, partitions, 1, config=config)])[topic].result(TIMEOUT_S)

    def ready():
        t = admin.list_topics(topic, timeout=TIMEOUT_S).topics.get(topic)
        return t is not None and t.error is None and len(t.partitions) == partitions \
            and all(p.leader >= 0 and p.error is None for p in t.partitions.values())
    wait_until(ready, f"leaders for every partition of {topic}")
    return topic


def produce_all(producer: Producer, records) -> list:
    """Produces (topic, key, value, headers) tuples; returns the delivered messages
    in send order. Every delivery report must be free of errors."""
    reports = [None] * len(records)

    def on_delivery(i):
        def cb(err, msg):
            reports[i] = (err, msg)
        return cb

    for i, (topic, key, value, headers) in enumerate(records):
        producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery(i))
        producer.poll(0)
    assert producer.flush(TIMEOUT_S) == 0, "every record delivered before the deadline"
    errors = [err for err, _ in reports if err is not None]
    assert errors == [], errors
    return [msg for _, msg in reports]


def consume_from_start(bootstrap: str, topic: str, partitions: int, expected: int) -> list:
    """Assigns every partition at offset 0 and reads `expected` records, then checks
    nothing more comes."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("unused"),
                  "enable.auto.commit": False, "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        got = []
        wait_until(lambda: got.extend(m for m in c.consume(100, timeout=0.5) if check(m))
                   or len(got) >= expected, f"{expected} records from {topic}")
        assert len(got) == expected, f"read {len(got)} of {expected}"
        assert c.consume(100, timeout=0.5) == [], "nothing beyond what was produced"
        return got
    finally:
        c.close()


def check(msg) -> bool:
    assert msg.error() is None, msg.error()
    return True


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_confluent_kafka_produce_acks(broker, admin, acks):
    partitions, n = 3, 60
    topic = create_topic(admin, partitions)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": acks, "linger.ms": 5})
    records = [(topic, f"key-{i % 7}".encode(), f"value-{i}".encode(),
                [("seq", str(i).encode()), ("acks", acks.encode())]) for i in range(n)]
    delivered = produce_all(producer, records)

    for (_, key, _, _), msg in zip(records, delivered):
        assert msg.partition() == crc32_partition(key, partitions), key
    if acks == "0":
        # No answer from the broker: no offset in the delivery reports.
        assert {m.offset() for m in delivered} == {None}
    else:
        by_partition = {}
        for msg in delivered:
            by_partition.setdefault(msg.partition(), []).append(msg.offset())
        for p, offsets in by_partition.items():
            assert offsets == list(range(len(offsets))), f"partition {p}: dense offsets from 0"

    got = consume_from_start(broker.bootstrap, topic, partitions, n)
    for p in range(partitions):
        sent = [(k, v, h) for (_, k, v, h) in records if crc32_partition(k, partitions) == p]
        read = [(m.key(), m.value(), m.headers()) for m in got if m.partition() == p]
        assert read == sent, f"partition {p}: keys, values, headers in send order"
        assert [m.offset() for m in got if m.partition() == p] == list(range(len(sent)))


@pytest.mark.parametrize("partitioner", ["consistent_random", "murmur2_random"])
def test_confluent_kafka_partitioner(broker, admin, partitioner):
    """The default `consistent_random` puts a key on CRC-32(key) % n; with
    `murmur2_random` it agrees with the Java client. Null keys spread randomly."""
    partitions, n = 6, 120
    topic = create_topic(admin, partitions)
    config = {"bootstrap.servers": broker.bootstrap, "linger.ms": 5}
    if partitioner != "consistent_random":
        config["partitioner"] = partitioner
    expected = crc32_partition if partitioner == "consistent_random" else java_partition
    keys = [f"user-{i}".encode() for i in range(n)]
    delivered = produce_all(Producer(config), [(topic, k, b"v", None) for k in keys])
    assert [m.partition() for m in delivered] == [expected(k, partitions) for k in keys]
    assert len({m.partition() for m in delivered}) == partitions, "keys cover every partition"

    got = consume_from_start(broker.bootstrap, topic, partitions, n)
    assert sorted((m.partition(), m.key()) for m in got) == sorted((expected(k, partitions), k) for k in keys)


def producer_stats(producer: Producer, stats: list) -> dict:
    """The `eos` part of the producer's statistics once it has a producer id."""
    def assigned():
        producer.poll(0.1)  # serves the statistics callback
        return stats and stats[-1].get("eos", {}).get("idemp_state") == "Assigned"
    wait_until(assigned, "the producer's statistics show an assigned producer id")
    return stats[-1]["eos"]


def test_confluent_kafka_idempotent_producer(broker, admin):
    partitions, n = 2, 400
    topic = create_topic(admin, partitions)
    # Two producers, each with its own statistics: each gets a producer id of its own.
    first_stats, second_stats = [], []
    producers = [
        Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                  "max.in.flight.requests.per.connection": 5, "linger.ms": 2,
                  "batch.num.messages": 50, "statistics.interval.ms": 100,
                  "stats_cb": lambda s, out=out: out.append(json.loads(s))})
        for out in (first_stats, second_stats)
    ]
    eos = [producer_stats(p, s) for p, s in zip(producers, (first_stats, second_stats))]
    assert all(e["producer_id"] >= 0 for e in eos), eos
    assert eos[0]["producer_id"] != eos[1]["producer_id"], "every producer gets its own id"

    records = [(topic, f"k{i}".encode(), f"v{i}".encode(), None) for i in range(n)]
    delivered = produce_all(producers[0], records)
    for p in range(partitions):
        offsets = [m.offset() for m in delivered if m.partition() == p]
        assert offsets == list(range(len(offsets))), f"partition {p}: dense offsets, no duplicate"

    got = consume_from_start(broker.bootstrap, topic, partitions, n)
    for p in range(partitions):
        assert [m.value() for m in got if m.partition() == p] == \
            [m.value() for m in delivered if m.partition() == p]

    # The stored batches carry the producer id, epoch and consecutive sequences.
    pid = eos[0]["producer_id"]
    for p in range(partitions):
        batches = stored_batches(broker.properties["log.dirs"], topic, p)
        assert batches, f"partition {p} has batches"
        next_seq = 0
        for b in batches:
            assert (b.producer_id, b.producer_epoch) == (pid, eos[0]["producer_epoch"])
            assert b.base_sequence == next_seq == b.base_offset, b
            next_seq += b.records
        assert next_seq == sum(1 for m in delivered if m.partition() == p)
    for prod in producers:
        assert prod.flush(TIMEOUT_S) == 0


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_confluent_kafka_compression(broker, admin, codec):
    topic, n = create_topic(admin, 1), 300
    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec,
                         "linger.ms": 20, "acks": "all"})
    values = [f"record {i} ".encode() + b"abcdefgh" * 40 for i in range(n)]
    delivered = produce_all(producer, [(topic, str(i).encode(), v, None) for i, v in enumerate(values)])
    assert [m.offset() for m in delivered] == list(range(n))

    batches = stored_batches(broker.properties["log.dirs"], topic, 0)
    assert {b.codec for b in batches} == {CODECS[codec]}, f"stored batches are {codec}-compressed"
    assert sum(b.records for b in batches) == n
    assert len(batches) < n, "records were batched"

    got = consume_from_start(broker.bootstrap, topic, 1, n)
    assert [m.offset() for m in got] == list(range(n))
    assert [m.value() for m in got] == values
    assert [m.key() for m in got] == [str(i).encode() for i in range(n)]


def test_confluent_kafka_null_keys_spread_over_partitions(broker, admin):
    """Without a key, consistent_random picks a random partition per batch."""
    partitions = 3
    topic = create_topic(admin, partitions)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    delivered = produce_all(producer, [(topic, None, f"v{i}".encode(), None) for i in range(90)])
    counts = {p: sum(1 for m in delivered if m.partition() == p) for p in range(partitions)}
    assert all(counts.values()), f"every partition got null-key records: {counts}"
