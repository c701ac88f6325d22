"""ProtobufSerializer / ProtobufDeserializer through strom-schema-registry and strom-broker.

The Python client registers Protobuf schemas as base64 FileDescriptorProtos and
asks for them back with format=serialized; the registry stores .proto text.
"""

from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer

import user_pb2
from helpers import consume, produce


def make_user(i: int) -> "user_pb2.User":
    u = user_pb2.User(name=f"user-{i}", favorite_number=i * 7, tags=["a", str(i)])
    u.scores["x"] = i
    u.address.city = "Zurich"
    return u


def test_protobuf_round_trip(bootstrap, sr_client):
    topic = "proto-users"
    users = [make_user(i) for i in range(10)]
    produce(bootstrap, topic, ProtobufSerializer(user_pb2.User, sr_client), users)

    registered = sr_client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "PROTOBUF"
    assert "message User" in registered.schema.schema_str
    assert "map<string, int32> scores" in registered.schema.schema_str

    assert consume(bootstrap, topic, ProtobufDeserializer(user_pb2.User), len(users)) == users
    # With a registry client the deserializer fetches the writer's schema in
    # format=serialized (a base64 descriptor) and resolves the message index.
    with_registry = ProtobufDeserializer(user_pb2.User, {}, sr_client)
    assert consume(bootstrap, topic, with_registry, len(users)) == users


def test_protobuf_second_producer_reuses_the_id(bootstrap, sr_client, registry_url):
    from confluent_kafka.schema_registry import SchemaRegistryClient

    topic = "proto-again"
    produce(bootstrap, topic, ProtobufSerializer(user_pb2.User, sr_client), [make_user(1)])
    first = sr_client.get_latest_version(f"{topic}-value")
    # A fresh client (no cache) registering the same message type: same id, no new version.
    fresh = SchemaRegistryClient({"url": registry_url})
    produce(bootstrap, topic, ProtobufSerializer(user_pb2.User, fresh), [make_user(2)])
    assert fresh.get_versions(f"{topic}-value") == [first.version]
    assert fresh.get_latest_version(f"{topic}-value").schema_id == first.schema_id
    got = consume(bootstrap, topic, ProtobufDeserializer(user_pb2.User), 2)
    assert got == [make_user(1), make_user(2)]
