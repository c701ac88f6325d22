"""confluent-kafka (librdkafka) consuming without a group: assign at given
offsets, seek, position, watermarks, offsets_for_times, pause / resume, and
per-partition order."""

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from helpers import unique, wait_until

TIMEOUT_S = 30.0
BASE_TS = 1_700_000_000_000  # ms; record i of a partition has timestamp BASE_TS + 1000 * i
PER_PARTITION = 20


@pytest.fixture(scope="module")
def topic(broker):
    """A 3-partition topic: partition p holds values `p<p>-<i>`, i in 0..20, with
    timestamps BASE_TS + 1000 * i."""
    name = create_topic(broker, "py-ck-consume", 3)
    produce(broker.bootstrap, name, {p: range(PER_PARTITION) for p in range(3)})
    return name


def create_topic(broker, prefix, partitions):
    name = unique(prefix)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})  # alive until the result came
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(TIMEOUT_S)
    return name


def produce(bootstrap, topic, indexes_by_partition, ts=True):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    errors = []
    for p, indexes in indexes_by_partition.items():
        for i in indexes:
            producer.produce(topic, partition=p, value=f"p{p}-{i}".encode(),
                             timestamp=BASE_TS + 1000 * i if ts else 0,
                             on_delivery=lambda err, _m: err and errors.append(err))
    assert producer.flush(TIMEOUT_S) == 0
    assert errors == []


def new_consumer(bootstrap):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": unique("unused"),
                     "enable.auto.commit": False, "auto.offset.reset": "earliest"})


def take(consumer, n, what=""):
    """Consumes until n records came (deadline); returns [(partition, offset, value)]."""
    got = []

    def enough():
        for m in consumer.consume(n - len(got), timeout=0.5):
            assert m.error() is None, m.error()
            got.append((m.partition(), m.offset(), m.value().decode()))
        return len(got) >= n
    wait_until(enough, f"{n} records {what}")
    return got


def test_confluent_kafka_assign_at_offsets_seek_and_order(broker, topic):
    c = new_consumer(broker.bootstrap)
    try:
        # Partition 0 from offset 15, partition 1 from the beginning, 2 from the end.
        c.assign([TopicPartition(topic, 0, 15), TopicPartition(topic, 1, OFFSET_BEGINNING),
                  TopicPartition(topic, 2, OFFSET_END)])
        got = take(c, 5 + PER_PARTITION)
        assert [x for x in got if x[0] == 0] == [(0, i, f"p0-{i}") for i in range(15, 20)]
        assert [x for x in got if x[0] == 1] == [(1, i, f"p1-{i}") for i in range(PER_PARTITION)], \
            "per-partition order"
        assert c.consume(10, timeout=0.5) == [], "partition 2 starts at its end"
        positions = {tp.partition: tp.offset for tp in c.position(
            [TopicPartition(topic, p) for p in range(3)])}
        assert positions[0] == positions[1] == PER_PARTITION

        # Seek back within an assigned partition.
        c.seek(TopicPartition(topic, 1, 7))
        assert take(c, 3) == [(1, 7, "p1-7"), (1, 8, "p1-8"), (1, 9, "p1-9")]
        # Partition 1 goes on from there; partition 2 delivers what is produced after
        # the assignment at its end.
        produce(broker.bootstrap, topic, {2: [PER_PARTITION]})
        got = take(c, 10 + 1)
        assert [x for x in got if x[0] == 1] == [(1, i, f"p1-{i}") for i in range(10, PER_PARTITION)]
        assert [x for x in got if x[0] == 2] == [(2, PER_PARTITION, f"p2-{PER_PARTITION}")]
    finally:
        c.close()


def test_confluent_kafka_watermarks_and_offsets_for_times(broker, topic):
    c = new_consumer(broker.bootstrap)
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, 1), timeout=TIMEOUT_S)
        assert (low, high) == (0, PER_PARTITION)

        # First offset whose timestamp is >= the target, per partition.
        targets = [TopicPartition(topic, 0, BASE_TS + 4500),   # between 4 and 5 -> 5
                   TopicPartition(topic, 1, BASE_TS),          # exactly the first -> 0
                   TopicPartition(topic, 2, BASE_TS + 1000 * 19)]  # exactly the last -> 19
        found = c.offsets_for_times(targets, timeout=TIMEOUT_S)
        assert [(tp.partition, tp.offset, tp.error) for tp in found] == \
            [(0, 5, None), (1, 0, None), (2, 19, None)]
        # Later than every record: no offset (-1), as Kafka answers.
        late = c.offsets_for_times([TopicPartition(topic, 1, BASE_TS + 10**9)], timeout=TIMEOUT_S)
        assert [(tp.offset, tp.error) for tp in late] == [(-1, None)]

        # Start consuming at a looked-up offset.
        c.assign([found[0]])
        assert take(c, 3) == [(0, i, f"p0-{i}") for i in (5, 6, 7)]
    finally:
        c.close()


def test_confluent_kafka_pause_and_resume(broker):
    topic = create_topic(broker, "py-ck-pause", 2)
    produce(broker.bootstrap, topic, {0: range(5), 1: range(5)}, ts=False)
    c = new_consumer(broker.bootstrap)
    try:
        tps = [TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0)]
        c.assign(tps)
        assert sorted(take(c, 10)) == sorted((p, i, f"p{p}-{i}") for p in (0, 1) for i in range(5))

        c.pause([TopicPartition(topic, 0)])
        produce(broker.bootstrap, topic, {0: range(5, 10), 1: range(5, 10)}, ts=False)
        assert take(c, 5, "from the unpaused partition") == [(1, i, f"p1-{i}") for i in range(5, 10)]
        # Nothing from the paused partition, although it has records.
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert c.consume(10, timeout=0.3) == [], "a paused partition delivers nothing"
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S) == (0, 10)

        c.resume([TopicPartition(topic, 0)])
        assert take(c, 5, "after resume") == [(0, i, f"p0-{i}") for i in range(5, 10)]
    finally:
        c.close()
