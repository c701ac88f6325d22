"""AvroSerializer / AvroDeserializer through strom-schema-registry and strom-broker."""

import json
import struct

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError

from helpers import consume, produce

USER_V1 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "strom.test",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "favorite_number", "type": ["null", "long"], "default": None},
        ],
    }
)

USER_V2 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "strom.test",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "favorite_number", "type": ["null", "long"], "default": None},
            {"name": "email", "type": "string", "default": ""},
        ],
    }
)


def test_avro_round_trip(bootstrap, sr_client):
    topic = "avro-users"
    users = [{"name": f"user-{i}", "favorite_number": i if i % 2 else None} for i in range(20)]
    sent = produce(bootstrap, topic, AvroSerializer(sr_client, USER_V1), users)

    registered = sr_client.get_latest_version(f"{topic}-value")
    assert registered.version == 1
    assert registered.schema.schema_type == "AVRO"
    # Confluent's wire format: magic byte 0, then the schema id.
    magic, schema_id = struct.unpack(">bI", sent[0][:5])
    assert (magic, schema_id) == (0, registered.schema_id)

    got = consume(bootstrap, topic, AvroDeserializer(sr_client), len(users))
    assert got == users


def test_avro_evolution_and_incompatible_change(bootstrap, sr_client):
    topic = "avro-evolve"
    produce(bootstrap, topic, AvroSerializer(sr_client, USER_V1), [{"name": "a", "favorite_number": 1}])
    produce(bootstrap, topic, AvroSerializer(sr_client, USER_V2), [{"name": "b", "favorite_number": None, "email": "b@x"}])
    assert sr_client.get_versions(f"{topic}-value") == [1, 2]

    # A reader on v2 reads both (the v1 record gets the default).
    reader = AvroDeserializer(sr_client, USER_V2)
    got = consume(bootstrap, topic, reader, 2)
    assert got == [
        {"name": "a", "favorite_number": 1, "email": ""},
        {"name": "b", "favorite_number": None, "email": "b@x"},
    ]

    # Changing a field's type is not BACKWARD compatible: 409 from the registry.
    bad = json.dumps(
        {"type": "record", "name": "User", "namespace": "strom.test", "fields": [{"name": "name", "type": "int"}]}
    )
    with pytest.raises(SchemaRegistryError) as e:
        sr_client.register_schema(f"{topic}-value", Schema(bad, "AVRO"))
    assert e.value.http_status_code == 409
    assert e.value.error_code == 409
    assert not sr_client.test_compatibility(f"{topic}-value", Schema(bad, "AVRO"))
    assert sr_client.test_compatibility(f"{topic}-value", Schema(USER_V2, "AVRO"))
