"""Consumer groups through confluent-kafka (librdkafka) with the eager `range`
and the `cooperative-sticky` assignors, against `strom up`.

Checks: once stable, every partition is owned by exactly one member (as the
members see it and as DescribeGroups reports it); a member closes mid-stream and
its partitions move to the others; with a synchronous commit after each batch
nothing is lost, and no record is delivered again once a successful commit
covered it; committed offsets end at the log end offsets.
"""

import time
import uuid

import pytest
from confluent_kafka import (Consumer, ConsumerGroupState, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

DEADLINE_S = 60.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(admin: AdminClient, topic: str, partitions: int) -> None:
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    futures[topic].result(timeout=30)


def produce(bootstrap: str, topic: str, start: int, stop: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    errors = []
    for i in range(start, stop):
        p.produce(topic, key=f"k{i}", value=f"v{i}",
                  on_delivery=lambda err, _msg: errors.append(err) if err else None)
    assert p.flush(30) == 0, "every record delivered"
    assert errors == []


def group_consumer(bootstrap: str, group: str, strategy: str, client_id: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "client.id": client_id,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "partition.assignment.strategy": strategy,
    })


class Member:
    """One group member; after each consumed batch it commits synchronously the
    next offset of every partition it processed. A failed commit is retried after
    the next batch for the partitions it still owns; records of partitions revoked
    before their commit went through count as uncommitted (may come again)."""

    def __init__(self, consumer: Consumer, name: str, ledger: dict):
        self.c, self.name, self.ledger = consumer, name, ledger
        self.pending: dict[int, int] = {}          # partition -> next offset to commit
        self.pending_ids: dict[int, list] = {}
        self.processed: set[tuple[int, int]] = set()

    def owned(self) -> list[int]:
        return sorted(tp.partition for tp in self.c.assignment())

    def step(self, topic: str) -> None:
        msgs = self.c.consume(num_messages=25, timeout=0.05)
        for msg in msgs:
            assert msg.error() is None, msg.error()
            rid = (msg.partition(), msg.offset())
            if rid in self.ledger["committed"]:
                self.ledger["after_commit"].add(rid)
            self.ledger["counts"][rid] = self.ledger["counts"].get(rid, 0) + 1
            self.processed.add(rid)
            self.pending[msg.partition()] = msg.offset() + 1
            self.pending_ids.setdefault(msg.partition(), []).append(rid)
        self.commit(topic)

    def commit(self, topic: str) -> None:
        owned = set(self.owned())
        for p in [p for p in self.pending if p not in owned]:
            del self.pending[p]
            self.ledger["uncommitted"].update(self.pending_ids.pop(p))
        if not self.pending:
            return
        offsets = [TopicPartition(topic, p, o) for p, o in self.pending.items()]
        try:
            result = self.c.commit(offsets=offsets, asynchronous=False)
        except KafkaException:
            return  # e.g. rebalance in progress: retried after the next batch
        if any(tp.error is not None for tp in result):
            return
        for ids in self.pending_ids.values():
            self.ledger["committed"].update(ids)
        self.pending.clear()
        self.pending_ids.clear()

    def close(self, topic: str) -> None:
        self.commit(topic)
        for ids in self.pending_ids.values():
            self.ledger["uncommitted"].update(ids)
        self.c.close()


def described_assignments(admin: AdminClient, group: str):
    d = admin.describe_consumer_groups([group])[group].result(timeout=30)
    return d.state, {m.client_id: sorted(tp.partition for tp in m.assignment.topic_partitions)
                     for m in d.members}


def disjoint_cover(owned, partitions: int) -> bool:
    return sorted(p for ps in owned for p in ps) == list(range(partitions))


def wait_for(what: str, members, topic: str, cond) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for m in members:
            m.step(topic)


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_confluent_kafka_group_rebalances_without_loss(strom_bootstrap, strategy):
    topic = unique("py-group")
    group = unique("py-group")
    partitions, first, total = 6, 300, 600
    admin = AdminClient({"bootstrap.servers": strom_bootstrap})
    create_topic(admin, topic, partitions)
    produce(strom_bootstrap, topic, 0, first)

    ledger = {"counts": {}, "committed": set(), "uncommitted": set(), "after_commit": set()}
    members = []
    for i in range(3):
        name = f"{group}-m{i}"
        c = group_consumer(strom_bootstrap, group, strategy, name)
        c.subscribe([topic])
        members.append(Member(c, name, ledger))
    try:
        # Stable: the assignments are disjoint, cover every partition, none empty,
        # and the coordinator reports the same.
        wait_for("three members own disjoint partitions covering the topic", members, topic,
                 lambda: disjoint_cover([m.owned() for m in members], partitions)
                 and all(m.owned() for m in members))
        wait_for("DescribeGroups: Stable with the members' assignments", members, topic,
                 lambda: described_assignments(admin, group)
                 == (ConsumerGroupState.STABLE, {m.name: m.owned() for m in members}))

        # Mid-stream: part of the data processed, then one member closes.
        wait_for("a third of the first records processed", members, topic,
                 lambda: len(ledger["counts"]) >= first // 3)
        leaving = members.pop()
        orphaned = leaving.owned()
        leaving.close(topic)
        wait_for("the two remaining members own every partition", members, topic,
                 lambda: disjoint_cover([m.owned() for m in members], partitions))
        produce(strom_bootstrap, topic, first, total)

        wait_for("every record processed", members, topic, lambda: len(ledger["counts"]) == total)
        ends = {p: admin_high(members[0].c, topic, p) for p in range(partitions)}
        assert sum(ends.values()) == total

        def committed():
            got = members[0].c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
            return {tp.partition: tp.offset for tp in got}
        wait_for("committed offsets reach the log end offsets", members, topic, lambda: committed() == ends)

        by_others = set().union(*(m.processed for m in members))
        for p in orphaned:
            assert (p, ends[p] - 1) in by_others, f"partition {p} of the closed member taken over"
        assert not ledger["after_commit"], \
            f"delivered again after its offset was committed: {sorted(ledger['after_commit'])}"
        twice = {k for k, n in ledger["counts"].items() if n > 1}
        assert twice <= ledger["uncommitted"], \
            f"redelivered although its first delivery was committed: {sorted(twice - ledger['uncommitted'])}"
    finally:
        for m in members:
            m.c.close()


def admin_high(consumer: Consumer, topic: str, partition: int) -> int:
    _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
    return high
