"""aiokafka consumer groups (eager rebalance, the only protocol aiokafka has)
against strom-broker.

Three AIOKafkaConsumer members, each in its own task, share a 6-partition
topic: once stable they own disjoint partitions covering it (as they see it
and as DescribeGroups reports it); one member leaves mid-stream and its
partitions move to the others; with a commit after each batch nothing is lost,
no record comes again once a successful commit covered it, and committed()
reads back the log end offsets. Then a new member of the group resumes at the
committed offsets."""

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import CommitFailedError, IllegalGenerationError, RebalanceInProgressError

from helpers import DEADLINE_S, async_wait_until, unique

COMMIT_REJECTED = (CommitFailedError, IllegalGenerationError, RebalanceInProgressError)


async def produce(bootstrap, topic, start, stop):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
                   for i in range(start, stop)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def describe_group(admin, group):
    """(state, protocol_type, {client_id: sorted partitions}) from DescribeGroups."""
    [response] = await admin.describe_consumer_groups([group])
    [g] = response.groups
    error_code, group_id, state, protocol_type, _protocol, members = g[:6]
    assert (error_code, group_id) == (0, group)
    owned = {}
    for member in members:
        client_id, assignment = member[1], member[4]
        decoded = ConsumerProtocolMemberAssignment.decode(assignment) if assignment else None
        owned[client_id] = sorted(tp.partition for tp in decoded.partitions()) if decoded else []
    return state, protocol_type, owned


class Ledger:
    def __init__(self):
        self.counts = {}
        self.committed = set()
        self.uncommitted = set()
        self.after_commit = set()


class Member:
    """One member: getmany, record, commit the batch; a rejected commit (rebalance)
    leaves its records as uncommitted."""

    def __init__(self, bootstrap, group, topic, name, ledger):
        self.name, self.topic, self.ledger = name, topic, ledger
        self.c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id=name,
                                  enable_auto_commit=False, auto_offset_reset="earliest",
                                  session_timeout_ms=10000, heartbeat_interval_ms=300)
        self.processed = set()
        self.stopping = asyncio.Event()
        self.task = None

    def owned(self):
        return sorted(tp.partition for tp in self.c.assignment())

    async def start(self):
        await self.c.start()
        self.task = asyncio.create_task(self._run())

    async def _run(self):
        while not self.stopping.is_set():
            batches = await self.c.getmany(timeout_ms=100, max_records=25)
            offsets, ids = {}, []
            for tp, records in batches.items():
                for r in records:
                    rid = (r.partition, r.offset)
                    if rid in self.ledger.committed:
                        self.ledger.after_commit.add(rid)
                    self.ledger.counts[rid] = self.ledger.counts.get(rid, 0) + 1
                    self.processed.add(rid)
                    ids.append(rid)
                offsets[tp] = records[-1].offset + 1
            if offsets:
                try:
                    await self.c.commit(offsets)
                    self.ledger.committed.update(ids)
                except COMMIT_REJECTED:
                    self.ledger.uncommitted.update(ids)

    async def stop(self):
        self.stopping.set()
        if self.task is not None:
            await self.task  # re-raises what went wrong in the loop
        await self.c.stop()  # LeaveGroup


def test_aiokafka_group_rebalances_without_loss(broker):
    async def run():
        partitions, first, total = 6, 300, 600
        topic, group = unique("py-aio-group"), unique("py-aio-group")
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        resp = await admin.create_topics([NewTopic(topic, partitions, 1)])
        assert [(t[0], t[1]) for t in resp.topic_errors] == [(topic, 0)]
        await produce(broker.bootstrap, topic, 0, first)

        ledger = Ledger()
        members = [Member(broker.bootstrap, group, topic, f"{group}-m{i}", ledger) for i in range(3)]
        for m in members:
            await m.start()

        async def wait(what, cond):
            async def check():
                for m in members:
                    if m.task.done():
                        m.task.result()  # raises the member's error
                return await cond()
            await async_wait_until(check, what, DEADLINE_S)

        async def disjoint_cover():
            owned = [m.owned() for m in members]
            return sorted(p for ps in owned for p in ps) == list(range(partitions)) and all(owned)

        try:
            await wait("three members own disjoint partitions covering the topic", disjoint_cover)

            async def described():
                return await describe_group(admin, group) == \
                    ("Stable", "consumer", {m.name: m.owned() for m in members})
            await wait("DescribeGroups: Stable with the members' assignments", described)

            async def some_processed():
                return len(ledger.counts) >= first // 3
            await wait("a third of the first records processed", some_processed)
            leaving = members.pop()
            orphaned = leaving.owned()
            await leaving.stop()
            await wait("the two remaining members own every partition", disjoint_cover)
            await produce(broker.bootstrap, topic, first, total)

            async def all_processed():
                return len(ledger.counts) == total
            await wait("every record processed", all_processed)

            tps = [TopicPartition(topic, p) for p in range(partitions)]
            ends = {tp.partition: o for tp, o in (await members[0].c.end_offsets(tps)).items()}
            assert sum(ends.values()) == total

            async def committed_at_end():
                got = {tp.partition: await members[0].c.committed(tp) for tp in tps}
                return got == ends
            await wait("committed() reads back the log end offsets", committed_at_end)
            offsets = await admin.list_consumer_group_offsets(group)
            assert {tp.partition: om.offset for tp, om in offsets.items()} == ends

            by_others = set().union(*(m.processed for m in members))
            for p in orphaned:
                assert (p, ends[p] - 1) in by_others, f"partition {p} of the member that left taken over"
            assert not ledger.after_commit, f"delivered again after a commit: {sorted(ledger.after_commit)}"
            twice = {k for k, n in ledger.counts.items() if n > 1}
            assert twice <= ledger.uncommitted, \
                f"redelivered although committed: {sorted(twice - ledger.uncommitted)}"
        finally:
            for m in members:
                await m.stop()

        # All gone: a new member resumes at the committed offsets, so nothing is left to read.
        await produce(broker.bootstrap, topic, total, total + 6)
        late = Member(broker.bootstrap, group, topic, f"{group}-late", Ledger())
        await late.c.start()
        try:
            got = []
            async with asyncio.timeout(DEADLINE_S):
                while len(got) < 6:
                    for records in (await late.c.getmany(timeout_ms=300)).values():
                        got.extend(r.value for r in records)
            assert sorted(got) == sorted(f"v{i}".encode() for i in range(total, total + 6))
        finally:
            await late.c.stop()
            await admin.close()
    asyncio.run(run())
