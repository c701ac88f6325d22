"""Registry processes come and go; the state in the topic stays.

- A restarted registry (a new process on the same `kafkastore.topic`) answers
  Confluent's client with the same ids and versions, and a deserializer reads
  records serialized before the restart.
- Two registries on one topic and group: a write sent to the follower (an
  instance with `leader.eligibility=false`) lands through the leader, and
  both instances serve it under the same id.
"""

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError

from conftest import _binary, _start
from helpers import consume, produce

ORDER_V1 = """{"type": "record", "name": "Order", "namespace": "cluster.test",
 "fields": [{"name": "id", "type": "long"}, {"name": "item", "type": "string"}]}"""
ORDER_V2 = """{"type": "record", "name": "Order", "namespace": "cluster.test",
 "fields": [{"name": "id", "type": "long"}, {"name": "item", "type": "string"},
            {"name": "qty", "type": "int", "default": 1}]}"""


def start_registry(tmp_path_factory, bootstrap: str, topic: str, *extra: str):
    base = tmp_path_factory.mktemp("registry")
    props = base / "schema-registry.properties"
    props.write_text(
        "\n".join(
            [
                "listeners=http://127.0.0.1:0",
                f"kafkastore.bootstrap.servers=PLAINTEXT://{bootstrap}",
                f"kafkastore.topic={topic}",
                f"schema.registry.group.id={topic}-group",
                "kafkastore.topic.replication.factor=1",
                "kafkastore.timeout.ms=20000",
                *extra,
            ]
        )
        + "\n"
    )
    binary = _binary("STROM_SCHEMA_REGISTRY_BIN", "strom-schema-registry")
    server, addr = _start(f"strom-schema-registry-{topic}", [str(binary), str(props)], base)
    server.url = f"http://{addr}"
    return server


def stop(server) -> None:
    code = server.stop()
    assert code == 0, f"registry exited {code} after SIGTERM\n" + server.diagnostics()


def test_restarted_registry_keeps_ids_and_versions(tmp_path_factory, bootstrap):
    topic = "cluster-orders"
    first = start_registry(tmp_path_factory, bootstrap, "_schemas_restart")
    try:
        client = SchemaRegistryClient({"url": first.url})
        serializer = AvroSerializer(client, ORDER_V1)
        sent = produce(bootstrap, topic, serializer, [{"id": i, "item": f"item-{i}"} for i in range(5)])
        v2_id = client.register_schema(f"{topic}-value", Schema(ORDER_V2, "AVRO"))
        other_id = client.register_schema("other-value", Schema('"string"', "AVRO"))
        before = {
            s: (client.get_latest_version(s).schema_id, client.get_latest_version(s).version)
            for s in (f"{topic}-value", "other-value")
        }
        v1_id = client.get_version(f"{topic}-value", 1).schema_id
    finally:
        stop(first)
    assert before == {f"{topic}-value": (v2_id, 2), "other-value": (other_id, 1)}
    assert v1_id != v2_id
    # the records carry magic byte 0 and v1's id
    assert {bytes(b[:5]) for b in sent} == {b"\x00" + v1_id.to_bytes(4, "big")}

    second = start_registry(tmp_path_factory, bootstrap, "_schemas_restart")
    try:
        client = SchemaRegistryClient({"url": second.url})
        after = {
            s: (client.get_latest_version(s).schema_id, client.get_latest_version(s).version)
            for s in (f"{topic}-value", "other-value")
        }
        assert after == before
        assert client.get_version(f"{topic}-value", 1).schema_id == v1_id
        assert sorted(client.get_subjects()) == sorted([f"{topic}-value", "other-value"])
        # records written before the restart read back through the new process
        got = consume(bootstrap, topic, AvroDeserializer(client), 5)
        assert got == [{"id": i, "item": f"item-{i}"} for i in range(5)]
        # and the next new schema gets a fresh id, not a reused one
        third_id = client.register_schema("third-value", Schema('"long"', "AVRO"))
        assert third_id not in (v1_id, v2_id, other_id)
    finally:
        stop(second)


def test_write_to_follower_lands_through_the_leader(tmp_path_factory, bootstrap):
    leader = start_registry(tmp_path_factory, bootstrap, "_schemas_pair")
    follower = None
    try:
        follower = start_registry(tmp_path_factory, bootstrap, "_schemas_pair", "leader.eligibility=false")
        via_follower = SchemaRegistryClient({"url": follower.url})
        via_leader = SchemaRegistryClient({"url": leader.url})

        schema_id = via_follower.register_schema("pair-value", Schema(ORDER_V1, "AVRO"))
        # The leader wrote it: the leader serves it at once, under that id.
        registered = via_leader.get_latest_version("pair-value")
        assert (registered.schema_id, registered.version) == (schema_id, 1)
        assert via_leader.get_schema(schema_id).schema_type == "AVRO"

        # Settings written through the follower land too.
        via_follower.set_compatibility("pair-value", "FULL")
        assert via_leader.get_compatibility("pair-value") == "FULL"

        # A rejected write through the follower is the leader's answer (409).
        with pytest.raises(SchemaRegistryError) as e:
            via_follower.register_schema(
                "pair-value",
                Schema('{"type": "record", "name": "Order", "namespace": "cluster.test", "fields": []}', "AVRO"),
            )
        assert e.value.http_status_code == 409
        assert via_leader.get_versions("pair-value") == [1]
    finally:
        if follower is not None:
            stop(follower)
        stop(leader)
