"""kafka-python consuming without a group: assign, seek / seek_to_beginning /
seek_to_end, position, offsets_for_times, pause / resume, per-partition order,
and a fetch beyond the log end with auto_offset_reset='none'."""

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import OffsetOutOfRangeError

from helpers import unique, wait_until

TIMEOUT_S = 30.0
BASE_TS = 1_700_000_000_000  # record i of a partition has timestamp BASE_TS + 1000 * i
PER_PARTITION = 20


@pytest.fixture(scope="module")
def admin(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=15000)
    yield client
    client.close()


def create_topic(admin, partitions):
    name = unique("py-kp-consume")
    resp = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    assert [(t[0], t[1]) for t in resp.topic_errors] == [(name, 0)]
    return name


def produce(bootstrap, topic, indexes_by_partition, ts=True):
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    futures = [producer.send(topic, partition=p, value=f"p{p}-{i}".encode(),
                             timestamp_ms=BASE_TS + 1000 * i if ts else None)
               for p, indexes in indexes_by_partition.items() for i in indexes]
    producer.flush()
    for f in futures:
        f.get(timeout=TIMEOUT_S)
    producer.close()


@pytest.fixture(scope="module")
def topic(broker, admin):
    name = create_topic(admin, 3)
    produce(broker.bootstrap, name, {p: range(PER_PARTITION) for p in range(3)})
    return name


def new_consumer(bootstrap, **config):
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **config)


def take(consumer, n, what=""):
    """Polls until n records came (deadline); returns [(partition, offset, value)]."""
    got = []

    def enough():
        for records in consumer.poll(timeout_ms=300, max_records=n - len(got)).values():
            got.extend((r.partition, r.offset, r.value.decode()) for r in records)
        return len(got) >= n
    wait_until(enough, f"{n} records {what}")
    return got


def test_kafka_python_assign_seek_and_order(broker, topic):
    c = new_consumer(broker.bootstrap)
    tp0, tp1, tp2 = (TopicPartition(topic, p) for p in range(3))
    try:
        c.assign([tp0, tp1, tp2])
        assert c.assignment() == {tp0, tp1, tp2}
        c.seek(tp0, 15)
        c.seek_to_beginning(tp1)
        c.seek_to_end(tp2)
        assert c.position(tp2) == PER_PARTITION
        got = take(c, 5 + PER_PARTITION)
        assert [x for x in got if x[0] == 0] == [(0, i, f"p0-{i}") for i in range(15, 20)]
        assert [x for x in got if x[0] == 1] == [(1, i, f"p1-{i}") for i in range(PER_PARTITION)], \
            "per-partition order"
        assert c.poll(timeout_ms=500) == {}, "partition 2 starts at its end"
        assert (c.position(tp0), c.position(tp1)) == (PER_PARTITION, PER_PARTITION)

        c.seek(tp1, 7)
        assert c.position(tp1) == 7
        produce(broker.bootstrap, topic, {2: [PER_PARTITION]})
        # Partition 1 again from 7; partition 2 delivers what came after its end.
        got = take(c, PER_PARTITION - 7 + 1)
        assert [x for x in got if x[0] == 1] == [(1, i, f"p1-{i}") for i in range(7, PER_PARTITION)]
        assert [x for x in got if x[0] == 2] == [(2, PER_PARTITION, f"p2-{PER_PARTITION}")]
    finally:
        c.close()


def test_kafka_python_offsets_for_times(broker, topic):
    c = new_consumer(broker.bootstrap)
    tp0, tp1, tp2 = (TopicPartition(topic, p) for p in range(3))
    try:
        assert c.beginning_offsets([tp0, tp1]) == {tp0: 0, tp1: 0}
        ends = c.end_offsets([tp0, tp1])
        assert ends[tp0] == PER_PARTITION
        found = c.offsets_for_times({tp0: BASE_TS + 4500, tp1: BASE_TS, tp2: BASE_TS + 10**9})
        assert (found[tp0].offset, found[tp0].timestamp) == (5, BASE_TS + 5000), "first at or after"
        assert (found[tp1].offset, found[tp1].timestamp) == (0, BASE_TS)
        assert found[tp2] is None, "no record that late"

        c.assign([tp0])
        c.seek(tp0, found[tp0].offset)
        assert take(c, 3) == [(0, i, f"p0-{i}") for i in (5, 6, 7)]
    finally:
        c.close()


def test_kafka_python_pause_and_resume(broker, admin):
    topic = create_topic(admin, 2)
    produce(broker.bootstrap, topic, {0: range(5), 1: range(5)}, ts=False)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    c = new_consumer(broker.bootstrap, auto_offset_reset="earliest")
    try:
        c.assign([tp0, tp1])
        assert sorted(take(c, 10)) == sorted((p, i, f"p{p}-{i}") for p in (0, 1) for i in range(5))

        c.pause(tp0)
        assert c.paused() == {tp0}
        produce(broker.bootstrap, topic, {0: range(5, 10), 1: range(5, 10)}, ts=False)
        assert take(c, 5, "from the unpaused partition") == [(1, i, f"p1-{i}") for i in range(5, 10)]
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert c.poll(timeout_ms=300) == {}, "a paused partition delivers nothing"
        assert c.end_offsets([tp0]) == {tp0: 10}

        c.resume(tp0)
        assert c.paused() == set()
        assert take(c, 5, "after resume") == [(0, i, f"p0-{i}") for i in range(5, 10)]
    finally:
        c.close()


def test_kafka_python_offset_out_of_range(broker, admin):
    topic = create_topic(admin, 1)
    produce(broker.bootstrap, topic, {0: range(3)}, ts=False)
    tp = TopicPartition(topic, 0)
    c = new_consumer(broker.bootstrap, auto_offset_reset="none")
    try:
        c.assign([tp])
        c.seek(tp, 42)
        with pytest.raises(OffsetOutOfRangeError) as e:
            wait_until(lambda: c.poll(timeout_ms=300), "an error for a fetch beyond the log end")
        assert e.value.args[0] == {tp: 42}
    finally:
        c.close()
