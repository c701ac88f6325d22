"""aiokafka consuming without a group: assign, seek / seek_to_beginning /
seek_to_end, position, offsets_for_times, beginning/end offsets, getmany,
pause / resume, per-partition order, and a fetch beyond the log end with
auto_offset_reset='none'."""

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import OffsetOutOfRangeError

from helpers import DEADLINE_S, unique

BASE_TS = 1_700_000_000_000  # record i of a partition has timestamp BASE_TS + 1000 * i
PER_PARTITION = 20


async def create_topic(bootstrap, partitions):
    name = unique("py-aio-consume")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resp = await admin.create_topics([NewTopic(name, partitions, 1)])
        assert [(t[0], t[1]) for t in resp.topic_errors] == [(name, 0)]
    finally:
        await admin.close()
    return name


async def produce(bootstrap, topic, indexes_by_partition, ts=True):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, partition=p, value=f"p{p}-{i}".encode(),
                                       timestamp_ms=BASE_TS + 1000 * i if ts else None)
                   for p, indexes in indexes_by_partition.items() for i in indexes]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def take(consumer, n):
    """getmany until n records came (deadline); returns [(partition, offset, value)]."""
    got = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < n:
        assert time.monotonic() < deadline, f"only {len(got)} of {n} records: {got}"
        for records in (await consumer.getmany(timeout_ms=300, max_records=n - len(got))).values():
            got.extend((r.partition, r.offset, r.value.decode()) for r in records)
    return got


async def started_consumer(bootstrap, **config):
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **config)
    await c.start()
    return c


def test_aiokafka_assign_seek_offsets_for_times_and_order(broker):
    async def run():
        topic = await create_topic(broker.bootstrap, 3)
        await produce(broker.bootstrap, topic, {p: range(PER_PARTITION) for p in range(3)})
        tp0, tp1, tp2 = (TopicPartition(topic, p) for p in range(3))
        c = await started_consumer(broker.bootstrap)
        try:
            c.assign([tp0, tp1, tp2])
            assert c.assignment() == {tp0, tp1, tp2}
            # assign() starts an offset reset (auto_offset_reset, 'latest') in the
            # background; a seek made before it finished is overwritten by it
            # (aiokafka 0.14.0), so wait for the initial positions first.
            assert [await c.position(tp) for tp in (tp0, tp1, tp2)] == [PER_PARTITION] * 3
            assert await c.beginning_offsets([tp0, tp1]) == {tp0: 0, tp1: 0}
            assert await c.end_offsets([tp0, tp1]) == {tp0: PER_PARTITION, tp1: PER_PARTITION}

            c.seek(tp0, 15)
            await c.seek_to_beginning(tp1)
            await c.seek_to_end(tp2)
            assert await c.position(tp2) == PER_PARTITION
            got = await take(c, 5 + PER_PARTITION)
            assert [x for x in got if x[0] == 0] == [(0, i, f"p0-{i}") for i in range(15, 20)]
            assert [x for x in got if x[0] == 1] == [(1, i, f"p1-{i}") for i in range(PER_PARTITION)], \
                "per-partition order"
            assert await c.getmany(timeout_ms=500) == {}, "partition 2 starts at its end"
            assert (await c.position(tp0), await c.position(tp1)) == (PER_PARTITION, PER_PARTITION)

            c.seek(tp1, 7)
            await produce(broker.bootstrap, topic, {2: [PER_PARTITION]})
            got = await take(c, PER_PARTITION - 7 + 1)
            assert [x for x in got if x[0] == 1] == [(1, i, f"p1-{i}") for i in range(7, PER_PARTITION)]
            assert [x for x in got if x[0] == 2] == [(2, PER_PARTITION, f"p2-{PER_PARTITION}")]

            found = await c.offsets_for_times({tp0: BASE_TS + 4500, tp1: BASE_TS, tp2: BASE_TS + 10**9})
            assert (found[tp0].offset, found[tp0].timestamp) == (5, BASE_TS + 5000), "first at or after"
            assert (found[tp1].offset, found[tp1].timestamp) == (0, BASE_TS)
            assert found[tp2] is None, "no record that late"
            c.seek(tp0, found[tp0].offset)
            assert await take(c, 3) == [(0, i, f"p0-{i}") for i in (5, 6, 7)]
        finally:
            await c.stop()
    asyncio.run(run())


def test_aiokafka_pause_and_resume(broker):
    async def run():
        topic = await create_topic(broker.bootstrap, 2)
        await produce(broker.bootstrap, topic, {0: range(5), 1: range(5)}, ts=False)
        tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
        c = await started_consumer(broker.bootstrap, auto_offset_reset="earliest")
        try:
            c.assign([tp0, tp1])
            assert sorted(await take(c, 10)) == sorted((p, i, f"p{p}-{i}") for p in (0, 1) for i in range(5))

            c.pause(tp0)
            assert c.paused() == {tp0}
            await produce(broker.bootstrap, topic, {0: range(5, 10), 1: range(5, 10)}, ts=False)
            assert await take(c, 5) == [(1, i, f"p1-{i}") for i in range(5, 10)]
            for _ in range(4):
                assert await c.getmany(timeout_ms=300) == {}, "a paused partition delivers nothing"
            assert await c.end_offsets([tp0]) == {tp0: 10}

            c.resume(tp0)
            assert c.paused() == set()
            assert await take(c, 5) == [(0, i, f"p0-{i}") for i in range(5, 10)]
        finally:
            await c.stop()
    asyncio.run(run())


def test_aiokafka_offset_out_of_range(broker):
    async def run():
        topic = await create_topic(broker.bootstrap, 1)
        await produce(broker.bootstrap, topic, {0: range(3)}, ts=False)
        tp = TopicPartition(topic, 0)
        c = await started_consumer(broker.bootstrap, auto_offset_reset="none")
        try:
            c.assign([tp])
            c.seek(tp, 42)
            with pytest.raises(OffsetOutOfRangeError) as e:
                async with asyncio.timeout(DEADLINE_S):
                    while True:
                        await c.getmany(timeout_ms=300)
            assert e.value.args[0] == {tp: 42}
        finally:
            await c.stop()
    asyncio.run(run())
