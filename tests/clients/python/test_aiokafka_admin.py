"""aiokafka's AIOKafkaAdminClient (every method 0.14.0 has: create / list /
describe / delete topics, create partitions, describe / alter configs, delete
records, describe cluster, list / describe groups, group offsets) and the
errors of bad requests, on a broker with `auto.create.topics.enable=false`.

aiokafka 0.14.0's admin client has no delete_consumer_groups, no list_offsets
(the consumer's beginning/end_offsets and offsets_for_times stand in) and no
incremental_alter_configs."""

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import (InvalidPartitionsError, MessageSizeTooLargeError,
                             OffsetOutOfRangeError, UnknownTopicOrPartitionError)

from helpers import DEADLINE_S, async_wait_until, unique

# Kafka error codes as the admin client hands them back in raw responses.
NONE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION = 0, 3, 17
TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG = 36, 37, 38, 40


@pytest.fixture(scope="module")
def strict(broker_factory):
    return broker_factory(**{"auto.create.topics.enable": "false"})


class Admin:
    """An async context manager around a started AIOKafkaAdminClient."""

    def __init__(self, bootstrap):
        self.client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)

    async def __aenter__(self):
        await self.client.start()
        return self.client

    async def __aexit__(self, *exc):
        await self.client.close()


async def create(admin, name, partitions=1, configs=None, replication=1):
    """Creates a topic; returns its error code."""
    resp = await admin.create_topics([NewTopic(name, partitions, replication, topic_configs=configs or {})])
    [(topic, code, *_)] = resp.topic_errors
    assert topic == name
    return code


async def topic_configs(admin, topic):
    configs = {}
    for response in await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]):
        for error_code, _msg, _type, name, entries in (r[:5] for r in response.resources):
            assert (error_code, name) == (0, topic)
            configs.update({e[0]: e[1] for e in entries})
    return configs


async def produce(bootstrap, topic, values, partition=0):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v, partition=partition)
    finally:
        await producer.stop()


def test_aiokafka_admin_topics_configs_and_records(strict):
    async def run():
        async with Admin(strict.bootstrap) as admin:
            topic = unique("py-aio-admin")
            assert await create(admin, topic, 2, {"cleanup.policy": "compact", "retention.ms": "3600000"}) == NONE
            assert topic in await admin.list_topics()
            [described] = await admin.describe_topics([topic])
            assert described["topic"] == topic and described["error_code"] == NONE
            assert sorted((p["partition"], p["leader"]) for p in described["partitions"]) == [(0, 1), (1, 1)]

            configs = await topic_configs(admin, topic)
            assert (configs["cleanup.policy"], configs["retention.ms"]) == ("compact", "3600000")
            assert configs["segment.bytes"] == "1073741824", "every config, defaults too"

            # AlterConfigs replaces the whole set: what is not named returns to its default.
            responses = await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": "7200000"})])
            assert [(r[0], r[3]) for resp in responses for r in resp.resources] == [(NONE, topic)]
            configs = await topic_configs(admin, topic)
            assert (configs["cleanup.policy"], configs["retention.ms"]) == ("delete", "7200000")

            await admin.create_partitions({topic: NewPartitions(4)})

            async def four():
                return len((await admin.describe_topics([topic]))[0]["partitions"]) == 4
            await async_wait_until(four, "4 partitions")

            await produce(strict.bootstrap, topic, [f"v{i}".encode() for i in range(10)], partition=3)
            tp = TopicPartition(topic, 3)
            assert await admin.delete_records({tp: RecordsToDelete(6)}) == {tp: 6}
            consumer = AIOKafkaConsumer(bootstrap_servers=strict.bootstrap, enable_auto_commit=False,
                                        auto_offset_reset="earliest")
            await consumer.start()
            try:
                assert await consumer.beginning_offsets([tp]) == {tp: 6}
                assert await consumer.end_offsets([tp]) == {tp: 10}
                consumer.assign([tp])
                assert await consumer.position(tp) == 6, "auto_offset_reset=earliest: the log start"
                got = []
                async with asyncio.timeout(DEADLINE_S):
                    while len(got) < 4:
                        got.extend(r.value for rs in (await consumer.getmany(timeout_ms=300)).values() for r in rs)
                assert got == [f"v{i}".encode() for i in range(6, 10)]
            finally:
                await consumer.stop()

            resp = await admin.delete_topics([topic])
            assert [tuple(t[:2]) for t in resp.topic_error_codes] == [(topic, NONE)]

            async def gone():
                return topic not in await admin.list_topics()
            await async_wait_until(gone, "the topic gone")
    asyncio.run(run())


def test_aiokafka_admin_describe_cluster(strict):
    async def run():
        async with Admin(strict.bootstrap) as admin:
            cluster = await admin.describe_cluster()
        meta = dict(line.split("=", 1) for line in
                    Path(strict.properties["log.dirs"], "meta.properties").read_text().splitlines()
                    if "=" in line and not line.startswith("#"))
        assert cluster["cluster_id"] == meta["cluster.id"]
        assert cluster["controller_id"] == 1
        assert [(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]] == \
            [(1, strict.host, strict.port)]
    asyncio.run(run())


def test_aiokafka_admin_groups(strict):
    async def run():
        topic, group = unique("py-aio-admin"), unique("py-aio-admin-group")
        async with Admin(strict.bootstrap) as admin:
            assert await create(admin, topic, 2) == NONE
            await produce(strict.bootstrap, topic, [b"a", b"b", b"c"], partition=0)
            member = AIOKafkaConsumer(topic, bootstrap_servers=strict.bootstrap, group_id=group,
                                      client_id=f"{group}-member", enable_auto_commit=False,
                                      auto_offset_reset="earliest", heartbeat_interval_ms=300)
            await member.start()
            try:
                got = []
                async with asyncio.timeout(DEADLINE_S):
                    while len(got) < 3:
                        got.extend(r for rs in (await member.getmany(timeout_ms=300)).values() for r in rs)
                tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
                await member.commit({tp0: (2, "from-aiokafka"), tp1: 0})
                assert await member.committed(tp0) == 2

                groups = await admin.list_consumer_groups()
                assert (group, "consumer") in [tuple(g[:2]) for g in groups]
                [response] = await admin.describe_consumer_groups([group])
                [g] = response.groups
                assert tuple(g[:5]) == (NONE, group, "Stable", "consumer", "roundrobin")
                assert [m[1] for m in g[5]] == [f"{group}-member"]
            finally:
                await member.stop()

            async def empty():
                [response] = await admin.describe_consumer_groups([group])
                return response.groups[0][2] == "Empty"
            await async_wait_until(empty, "the group is Empty after its member left")
            offsets = await admin.list_consumer_group_offsets(group)
            assert {tp: (om.offset, om.metadata) for tp, om in offsets.items()} == \
                {tp0: (2, "from-aiokafka"), tp1: (0, "")}
            only = await admin.list_consumer_group_offsets(group, partitions=[tp1])
            assert {tp: om.offset for tp, om in only.items()} == {tp1: 0}
    asyncio.run(run())


def test_aiokafka_admin_errors(strict):
    async def run():
        async with Admin(strict.bootstrap) as admin:
            topic = unique("py-aio-err")
            assert await create(admin, topic, 2) == NONE
            assert await create(admin, topic, 2) == TOPIC_ALREADY_EXISTS
            assert await create(admin, unique("py-aio-err"), 1, replication=3) == INVALID_REPLICATION_FACTOR
            assert await create(admin, unique("py-aio-err"), 1, {"retention.ms": "soon"}) == INVALID_CONFIG
            assert await create(admin, "bad/name") == INVALID_TOPIC_EXCEPTION
            assert await create(admin, unique("py-aio-err"), 0) == INVALID_PARTITIONS

            with pytest.raises(InvalidPartitionsError):
                await admin.create_partitions({topic: NewPartitions(1)})
            missing = unique("py-aio-missing")
            resp = await admin.delete_topics([missing])
            assert [tuple(t[:2]) for t in resp.topic_error_codes] == [(missing, UNKNOWN_TOPIC_OR_PARTITION)]
            with pytest.raises(OffsetOutOfRangeError):
                await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(5)})
            with pytest.raises(UnknownTopicOrPartitionError):
                await admin.create_partitions({missing: NewPartitions(3)})
    asyncio.run(run())


def test_aiokafka_produce_errors(strict):
    async def run():
        async with Admin(strict.bootstrap) as admin:
            topic = unique("py-aio-err")
            assert await create(admin, topic, 1, {"max.message.bytes": "2048"}) == NONE
            producer = AIOKafkaProducer(bootstrap_servers=strict.bootstrap, request_timeout_ms=2000)
            await producer.start()
            try:
                # No auto-creation: Metadata answers UNKNOWN_TOPIC_OR_PARTITION until the
                # producer's request timeout, then aiokafka raises it.
                missing = unique("py-aio-missing")
                with pytest.raises(UnknownTopicOrPartitionError):
                    await producer.send_and_wait(missing, b"x")
                assert missing not in await admin.list_topics()

                # Above the topic's max.message.bytes (the client's own limit is 1 MiB).
                with pytest.raises(MessageSizeTooLargeError):
                    await producer.send_and_wait(topic, b"y" * 8000)
                md = await producer.send_and_wait(topic, b"small")
                assert md.offset == 0
            finally:
                await producer.stop()
    asyncio.run(run())
