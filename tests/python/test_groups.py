"""Consumer groups through Python clients: confluent-kafka (librdkafka) with the
eager and cooperative-sticky assignors, and kafka-python's group consumer.

Checks: once stable, every partition is owned by exactly one member; when a
member leaves, its partitions move to the others; with a synchronous commit
after each record nothing is lost and a record is only delivered twice if its
commit failed; committed offsets end at the log end; a new consumer of the
group resumes at the committed offsets.
"""

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer

DEADLINE_S = 60.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    futures[topic].result(timeout=30)


def produce(bootstrap: str, topic: str, n: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    errors = []
    for i in range(n):
        p.produce(topic, key=f"k{i % 17}", value=f"v{i}",
                  on_delivery=lambda err, _msg: errors.append(err) if err else None)
    assert p.flush(30) == 0, "every record delivered"
    assert errors == []


def group_consumer(bootstrap: str, group: str, strategy: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "partition.assignment.strategy": strategy,
    })


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_confluent_kafka_group_rebalances_without_loss(strom_bootstrap, strategy):
    topic = unique("py-group")
    group = unique("py-group")
    partitions, total = 6, 600
    create_topic(strom_bootstrap, topic, partitions)
    produce(strom_bootstrap, topic, total)

    consumers = [group_consumer(strom_bootstrap, group, strategy) for _ in range(3)]
    for c in consumers:
        c.subscribe([topic])
    seen: dict[tuple[int, int], int] = {}
    commit_failed: set[tuple[int, int]] = set()

    def poll_round(active):
        for c in active:
            msg = c.poll(0.05)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            key = (msg.partition(), msg.offset())
            seen[key] = seen.get(key, 0) + 1
            try:
                c.commit(message=msg, asynchronous=False)
            except KafkaException:
                commit_failed.add(key)  # e.g. revoked mid-rebalance: may be redelivered

    # Stable: the three assignments are disjoint and cover every partition.
    deadline = time.monotonic() + DEADLINE_S
    while True:
        poll_round(consumers)
        owned = [sorted(tp.partition for tp in c.assignment()) for c in consumers]
        flat = sorted(p for ps in owned for p in ps)
        if flat == list(range(partitions)) and all(owned):
            break
        assert time.monotonic() < deadline, f"group never became stable: {owned}"

    # Consume part of the data, then one member leaves.
    deadline = time.monotonic() + DEADLINE_S
    while len(seen) < total // 3:
        poll_round(consumers)
        assert time.monotonic() < deadline, f"only {len(seen)} records consumed"
    leaving = consumers.pop()
    leaving.close()

    deadline = time.monotonic() + DEADLINE_S
    while len(seen) < total:
        poll_round(consumers)
        assert time.monotonic() < deadline, f"only {len(seen)} of {total} records consumed"
    owned = [sorted(tp.partition for tp in c.assignment()) for c in consumers]
    assert sorted(p for ps in owned for p in ps) == list(range(partitions)), owned

    twice = {k for k, n in seen.items() if n > 1}
    assert twice <= commit_failed, f"redelivered although committed: {sorted(twice - commit_failed)}"
    checker = consumers[0]
    committed = checker.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
    for tp in committed:
        _low, high = checker.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=30)
        assert tp.offset == high, f"partition {tp.partition}: committed {tp.offset}, end {high}"
    for c in consumers:
        c.close()


def test_kafka_python_group_resumes_at_committed_offsets(strom_bootstrap):
    topic = unique("py-kp-group")
    group = unique("py-kp-group")
    producer = KafkaProducer(bootstrap_servers=strom_bootstrap)
    for i in range(20):
        producer.send(topic, value=f"m{i}".encode())
    producer.flush()

    first = KafkaConsumer(topic, bootstrap_servers=strom_bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=False,
                          consumer_timeout_ms=20000)
    got = []
    for msg in first:
        got.append(msg.value.decode())
        if len(got) == 12:
            break
    first.commit()
    first.close()
    assert got == [f"m{i}" for i in range(12)]

    second = KafkaConsumer(topic, bootstrap_servers=strom_bootstrap, group_id=group,
                           auto_offset_reset="earliest", enable_auto_commit=False,
                           consumer_timeout_ms=10000)
    rest = [msg.value.decode() for msg in second]
    second.close()
    assert rest == [f"m{i}" for i in range(12, 20)], "resumes exactly at the committed offset"
