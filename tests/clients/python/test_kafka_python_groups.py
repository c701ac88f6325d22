"""kafka-python consumer groups (eager rebalance, the only protocol 2.3.3 has)
and KafkaAdminClient's group APIs against strom-broker.

Three members, each in its own thread, share a 6-partition topic: once stable
they own disjoint partitions covering it (as they see it and as DescribeGroups
reports it); one member leaves mid-stream and its partitions move to the
others; with a synchronous commit after each batch nothing is lost, and no
record comes again once a successful commit covered it."""

import threading
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import CommitFailedError, GroupIdNotFoundError, NonEmptyGroupError, NoError
from kafka.structs import OffsetAndMetadata

from helpers import unique, wait_until

DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def admin(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=15000)
    yield client
    client.close()


def create_topic(admin, partitions):
    name = unique("py-kp-group")
    resp = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    assert [(t[0], t[1]) for t in resp.topic_errors] == [(name, 0)]
    return name


def produce(bootstrap, topic, start, stop):
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()) for i in range(start, stop)]
    producer.flush()
    for f in futures:
        f.get(timeout=30)
    producer.close()


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}             # (partition, offset) -> deliveries
        self.committed = set()       # covered by a successful commit
        self.uncommitted = set()     # delivered, commit failed or never made: may come again
        self.after_commit = set()    # delivered again although committed: a bug


class Member(threading.Thread):
    """A group member in its own thread: poll, record, commit the batch synchronously.
    A failed commit (rebalance) leaves its records as uncommitted."""

    def __init__(self, bootstrap, group, topic, name, ledger):
        super().__init__(name=name, daemon=True)
        self.bootstrap, self.group, self.topic, self.ledger = bootstrap, group, topic, ledger
        self.owned: list[int] = []
        self.processed: set = set()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        consumer = KafkaConsumer(
            self.topic, bootstrap_servers=self.bootstrap, group_id=self.group, client_id=self.name,
            enable_auto_commit=False, auto_offset_reset="earliest", session_timeout_ms=10000,
            heartbeat_interval_ms=300, max_poll_records=25)
        try:
            while not self.stopping.is_set():
                batches = consumer.poll(timeout_ms=100)
                pending = {}
                ids = []
                with self.ledger.lock:
                    for tp, records in batches.items():
                        for r in records:
                            rid = (r.partition, r.offset)
                            if rid in self.ledger.committed:
                                self.ledger.after_commit.add(rid)
                            self.ledger.counts[rid] = self.ledger.counts.get(rid, 0) + 1
                            self.processed.add(rid)
                            ids.append(rid)
                        pending[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
                if pending:
                    try:
                        consumer.commit(offsets=pending)
                        done = self.ledger.committed
                    except CommitFailedError:
                        done = self.ledger.uncommitted
                    with self.ledger.lock:
                        done.update(ids)
                self.owned = sorted(tp.partition for tp in consumer.assignment())
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            consumer.close()  # LeaveGroup


def group_state(admin, group):
    g = admin.describe_consumer_groups([group])[0]
    members = {m.client_id: sorted(p for _t, ps in m.member_assignment.assignment for p in ps)
               for m in g.members}
    return g.state, g.protocol_type, members


def test_kafka_python_eager_group_rebalances_without_loss(broker, admin):
    partitions, first, total = 6, 300, 600
    topic = create_topic(admin, partitions)
    group = unique("py-kp-group")
    produce(broker.bootstrap, topic, 0, first)
    ledger = Ledger()
    members = [Member(broker.bootstrap, group, topic, f"{group}-m{i}", ledger) for i in range(3)]
    for m in members:
        m.start()

    def wait(what, cond):
        def check():
            for m in members:
                assert m.error is None, f"{m.name}: {m.error!r}"
            return cond()
        wait_until(check, what, DEADLINE_S)

    def disjoint_cover(ms):
        owned = [m.owned for m in ms]
        return sorted(p for ps in owned for p in ps) == list(range(partitions)) and all(owned)

    try:
        wait("three members own disjoint partitions covering the topic", lambda: disjoint_cover(members))
        wait("DescribeGroups: Stable with the members' assignments",
             lambda: group_state(admin, group) == ("Stable", "consumer", {m.name: m.owned for m in members}))

        wait("a third of the first records processed", lambda: len(ledger.counts) >= first // 3)
        leaving = members.pop()
        orphaned = leaving.owned
        leaving.stopping.set()
        leaving.join(30)
        assert not leaving.is_alive() and leaving.error is None, leaving.error
        wait("the two remaining members own every partition", lambda: disjoint_cover(members))
        produce(broker.bootstrap, topic, first, total)
        wait("every record processed", lambda: len(ledger.counts) == total)

        probe = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = {tp.partition: o for tp, o in probe.end_offsets(tps).items()}
        probe.close()
        assert sum(ends.values()) == total

        def committed():
            got = admin.list_consumer_group_offsets(group, partitions=tps)
            return {tp.partition: om.offset for tp, om in got.items()}
        wait("committed offsets reach the log end offsets", lambda: committed() == ends)

        by_others = set().union(*(m.processed for m in members))
        for p in orphaned:
            assert (p, ends[p] - 1) in by_others, f"partition {p} of the member that left taken over"
        assert not ledger.after_commit, f"delivered again after a commit: {sorted(ledger.after_commit)}"
        twice = {k for k, n in ledger.counts.items() if n > 1}
        assert twice <= ledger.uncommitted, f"redelivered although committed: {sorted(twice - ledger.uncommitted)}"
    finally:
        for m in members:
            m.stopping.set()
        for m in members:
            m.join(30)


def poll_values(consumer, n):
    out = []
    deadline = time.monotonic() + DEADLINE_S
    while len(out) < n:
        assert time.monotonic() < deadline, f"only {len(out)} of {n} records: {out}"
        for records in consumer.poll(timeout_ms=200, max_records=n - len(out)).values():
            out.extend(r.value.decode() for r in records)
    return out


def test_kafka_python_group_resumes_at_committed_offsets(broker):
    topic = unique("py-kp-group")  # auto-created by the producer's metadata request
    group = unique("py-kp-group")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(20):
        producer.send(topic, value=f"m{i}".encode())
    producer.flush()
    producer.close()
    tp = TopicPartition(topic, 0)

    first = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=False)
    assert poll_values(first, 12) == [f"m{i}" for i in range(12)]
    first.commit()  # the consumed position: offset 12
    assert first.committed(tp) == 12
    first.close()

    second = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                           auto_offset_reset="earliest", enable_auto_commit=False)
    assert poll_values(second, 8) == [f"m{i}" for i in range(12, 20)], \
        "resumes exactly at the committed offset"
    assert second.poll(timeout_ms=500) == {}, "nothing after the end"
    second.commit()
    assert second.committed(tp) == 20
    second.close()


def test_kafka_python_admin_groups(broker, admin):
    topic = create_topic(admin, 2)
    group = unique("py-kp-admin-group")
    produce(broker.bootstrap, topic, 0, 10)
    member = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                           client_id=f"{group}-member", enable_auto_commit=False,
                           auto_offset_reset="earliest", heartbeat_interval_ms=300)
    try:
        got = []
        wait_until(lambda: got.extend(r for rs in member.poll(timeout_ms=200).values() for r in rs)
                   or len(got) >= 10, "the member reads every record")
        tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
        member.commit({tp0: OffsetAndMetadata(2, "from-kafka-python", -1), tp1: OffsetAndMetadata(1, "", -1)})

        assert (group, "consumer") in admin.list_consumer_groups()
        state, protocol_type, members = group_state(admin, group)
        assert (state, protocol_type, members) == ("Stable", "consumer", {f"{group}-member": [0, 1]})
        assert admin.describe_consumer_groups([group])[0].protocol == "range"

        assert admin.delete_consumer_groups([group]) == [(group, NonEmptyGroupError)], \
            "a group with a member is not deleted"
    finally:
        member.close()
    wait_until(lambda: group_state(admin, group)[0] == "Empty", "the group is Empty after its member left")

    offsets = admin.list_consumer_group_offsets(group)
    assert {tp: (om.offset, om.metadata) for tp, om in offsets.items()} == \
        {tp0: (2, "from-kafka-python"), tp1: (1, "")}

    assert admin.delete_consumer_groups([group]) == [(group, NoError)]
    assert group not in [g for g, _ in admin.list_consumer_groups()]
    assert admin.list_consumer_group_offsets(group) == {}
    assert admin.delete_consumer_groups([group]) == [(group, GroupIdNotFoundError)]
