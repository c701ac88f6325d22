"""aiokafka producing against strom-broker: acks 0 / 1 / all with keys (the
default partitioner is the Java client's murmur2) and headers, send_and_wait's
metadata, create_batch / send_batch, the idempotent producer, and every
compression codec, checked on the consumed records and the stored batches.

Each test drives its coroutine with asyncio.run()."""

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from helpers import CODECS, DEADLINE_S, java_partition, stored_batches, unique

TIMEOUT_S = 30.0


async def create_topic(bootstrap, partitions):
    name = unique("py-aio")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resp = await admin.create_topics([NewTopic(name, partitions, 1)])
        assert [(t[0], t[1]) for t in resp.topic_errors] == [(name, 0)]
    finally:
        await admin.close()
    return name


async def consume_all(bootstrap, topic, partitions, expected):
    """Reads `expected` records from the start of every partition; nothing more may come."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        for tp in tps:  # the reset assign() started is over: a seek now is not undone
            await consumer.position(tp)
        await consumer.seek_to_beginning(*tps)
        records = []
        async with asyncio.timeout(DEADLINE_S):
            while len(records) < expected:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
        assert len(records) == expected
        assert await consumer.getmany(timeout_ms=300) == {}, "nothing beyond what was produced"
        return records
    finally:
        await consumer.stop()


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_aiokafka_produce_acks(broker, acks):
    async def run():
        partitions, n = 3, 60
        topic = await create_topic(broker.bootstrap, partitions)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=acks, linger_ms=5)
        await producer.start()
        try:
            sent = []
            for i in range(n):
                key, value = f"key-{i % 7}".encode(), f"value-{i}".encode()
                headers = [("seq", str(i).encode()), ("acks", str(acks).encode())]
                fut = await producer.send(topic, key=key, value=value, headers=headers)
                sent.append((key, value, headers, fut))
            metadata = await asyncio.gather(*(f for *_, f in sent))
        finally:
            await producer.stop()

        if acks == 0:
            assert metadata == [None] * n, "no answer: aiokafka resolves the sends to None"
        else:
            for (key, *_), md in zip(sent, metadata):
                assert (md.topic, md.partition) == (topic, java_partition(key, partitions)), key
            for p in range(partitions):
                offsets = [md.offset for md in metadata if md.partition == p]
                assert offsets == list(range(len(offsets))), f"partition {p}: dense offsets from 0"

        # Where each key landed, as stored: the murmur2 partition.
        records = await consume_all(broker.bootstrap, topic, partitions, n)
        for p in range(partitions):
            want = [(k, v, h) for k, v, h, _ in sent if java_partition(k, partitions) == p]
            got = [(r.key, r.value, [(hk, bytes(hv)) for hk, hv in r.headers])
                   for r in records if r.partition == p]
            assert got == want, f"partition {p}: keys, values and headers in send order"
    asyncio.run(run())


def test_aiokafka_send_and_wait_and_send_batch(broker):
    async def run():
        topic = await create_topic(broker.bootstrap, 2)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            md = await producer.send_and_wait(topic, b"first", key=b"a", partition=1, timestamp_ms=1234)
            assert (md.topic, md.partition, md.offset, md.timestamp) == (topic, 1, 0, 1234)
            assert md.topic_partition == TopicPartition(topic, 1)

            batch = producer.create_batch()
            for i in range(10):
                assert batch.append(key=f"b{i}".encode(), value=f"batched-{i}".encode(),
                                    timestamp=2000 + i, headers=[("i", str(i).encode())]) is not None
            assert batch.record_count() == 10
            md = await (await producer.send_batch(batch, topic, partition=1))
            assert (md.partition, md.offset) == (1, 1), "the batch's base offset follows the first record"

            md = await producer.send_and_wait(topic, b"after", partition=1)
            assert md.offset == 11
        finally:
            await producer.stop()

        # One batch of ten stored as it was sent.
        batches = stored_batches(broker.properties["log.dirs"], topic, 1)
        assert [(b.base_offset, b.records) for b in batches] == [(0, 1), (1, 10), (11, 1)]

        records = await consume_all(broker.bootstrap, topic, 2, 12)
        assert [(r.offset, r.key, r.value, r.timestamp) for r in records][1:11] == \
            [(1 + i, f"b{i}".encode(), f"batched-{i}".encode(), 2000 + i) for i in range(10)]
        assert [r.value for r in records] == [b"first"] + [f"batched-{i}".encode() for i in range(10)] + [b"after"]
    asyncio.run(run())


def test_aiokafka_idempotent_producer(broker):
    async def run():
        partitions, n = 2, 300
        topic = await create_topic(broker.bootstrap, partitions)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True,
                                    linger_ms=2, max_batch_size=2048)
        other = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True)
        await producer.start()
        await other.start()
        try:
            futures = [await producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
                       for i in range(n)]
            metadata = await asyncio.gather(*futures)
            await other.send_and_wait(topic, b"other", partition=0)
            txn = producer._txn_manager  # no public accessor for the producer id
            pid, epoch = txn.producer_id, txn.producer_epoch
            other_pid = other._txn_manager.producer_id
        finally:
            await producer.stop()
            await other.stop()
        assert pid >= 0 and epoch >= 0, "InitProducerId gave the producer an id"
        assert other_pid >= 0 and other_pid != pid, "every producer gets its own id"
        for p in range(partitions):
            offsets = [md.offset for md in metadata if md.partition == p]
            assert offsets == list(range(len(offsets))), f"partition {p}: dense offsets, no duplicate"

        records = await consume_all(broker.bootstrap, topic, partitions, n + 1)
        assert sorted(r.value for r in records) == sorted([f"v{i}".encode() for i in range(n)] + [b"other"])

        for p in range(partitions):
            mine = [b for b in stored_batches(broker.properties["log.dirs"], topic, p) if b.producer_id == pid]
            next_seq = 0
            for b in mine:
                assert b.producer_epoch == epoch and b.base_sequence == next_seq, b
                next_seq += b.records
            assert next_seq == sum(1 for md in metadata if md.partition == p)
            assert len(mine) > 1, "several batches, so sequences advanced"
    asyncio.run(run())


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_aiokafka_compression(broker, codec):
    async def run():
        topic, n = await create_topic(broker.bootstrap, 1), 200
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec,
                                    linger_ms=20, max_batch_size=64 * 1024)
        await producer.start()
        values = [f"record {i} ".encode() + b"abcdefgh" * 40 for i in range(n)]
        try:
            futures = [await producer.send(topic, key=str(i).encode(), value=v) for i, v in enumerate(values)]
            metadata = await asyncio.gather(*futures)
        finally:
            await producer.stop()
        assert [md.offset for md in metadata] == list(range(n))

        batches = stored_batches(broker.properties["log.dirs"], topic, 0)
        assert {b.codec for b in batches} == {CODECS[codec]}, f"stored batches are {codec}-compressed"
        assert sum(b.records for b in batches) == n and len(batches) < n

        records = await consume_all(broker.bootstrap, topic, 1, n)
        assert [r.offset for r in records] == list(range(n))
        assert [r.value for r in records] == values
        assert [r.key for r in records] == [str(i).encode() for i in range(n)]
    asyncio.run(run())
