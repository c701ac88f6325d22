"""JSONSerializer / JSONDeserializer through strom-schema-registry and strom-broker."""

import json

from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

from helpers import consume, produce

ORDER = json.dumps(
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Order",
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "item": {"type": "string"},
            "price": {"type": "number"},
        },
        "required": ["id", "item"],
    }
)


def test_json_schema_round_trip(bootstrap, sr_client):
    topic = "json-orders"
    orders = [{"id": i, "item": f"thing-{i}", "price": i * 1.5} for i in range(10)]
    produce(bootstrap, topic, JSONSerializer(ORDER, sr_client), orders)

    registered = sr_client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "JSON"
    fetched = sr_client.get_schema(registered.schema_id)
    assert fetched.schema_type == "JSON"
    assert json.loads(fetched.schema_str)["title"] == "Order"

    # With the reader's schema, and with the writer's schema fetched by id.
    assert consume(bootstrap, topic, JSONDeserializer(ORDER), len(orders)) == orders
    assert consume(bootstrap, topic, JSONDeserializer(None, schema_registry_client=sr_client), len(orders)) == orders


def test_json_schema_validation_happens_client_side(bootstrap, sr_client):
    import pytest
    from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

    serializer = JSONSerializer(ORDER, sr_client)
    with pytest.raises(SerializationError):
        serializer({"id": "not a number"}, SerializationContext("json-bad", MessageField.VALUE))
