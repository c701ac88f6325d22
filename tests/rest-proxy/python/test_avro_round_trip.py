"""Avro through the REST proxy and Confluent's own Python serializers, both ways.

- v2 produce with `value_schema` (the proxy registers it and frames each value
  with magic byte 0 + schema id) -> confluent-kafka's `AvroDeserializer` reads
  the records from the broker.
- confluent-kafka's `AvroSerializer` produces -> a proxy consumer instance with
  the `avro` format reads them back as JSON, with the schema id.
- v3 produce with `"type": "AVRO"` -> `AvroDeserializer`.
"""

import json
import time

import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

DEADLINE_S = 60.0
V2_AVRO = "application/vnd.kafka.avro.v2+json"
V2 = "application/vnd.kafka.v2+json"
PAYMENT = {
    "type": "record",
    "name": "Payment",
    "namespace": "strom.test",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}


def read_all(bootstrap: str, topic: str, count: int) -> list:
    """Raw records of partition 0 from the beginning."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{topic}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out, deadline = [], time.monotonic() + DEADLINE_S
    try:
        while len(out) < count:
            assert time.monotonic() < deadline, f"read {len(out)} of {count} records of {topic}"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append(msg)
    finally:
        consumer.close()
    return out


def create_topic(proxy_url: str, topic: str) -> None:
    cluster = requests.get(f"{proxy_url}/v3/clusters", timeout=30).json()["data"][0]["cluster_id"]
    r = requests.post(
        f"{proxy_url}/v3/clusters/{cluster}/topics",
        json={"topic_name": topic, "partitions_count": 1},
        timeout=30,
    )
    assert r.status_code == 201, r.text


def test_proxy_avro_produce_reads_with_avro_deserializer(bootstrap, registry_url, proxy_url):
    topic = "payments-v2"
    create_topic(proxy_url, topic)
    values = [{"id": f"p{i}", "amount": i * 1.5, "note": {"string": f"n{i}"} if i % 2 else None} for i in range(6)]
    r = requests.post(
        f"{proxy_url}/topics/{topic}",
        data=json.dumps({"value_schema": json.dumps(PAYMENT), "records": [{"value": v} for v in values]}),
        headers={"Content-Type": V2_AVRO, "Accept": V2},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    schema_id = answer["value_schema_id"]
    assert isinstance(schema_id, int) and schema_id > 0, answer
    assert [o["offset"] for o in answer["offsets"]] == list(range(6)), answer

    client = SchemaRegistryClient({"url": registry_url})
    registered = client.get_latest_version(f"{topic}-value")
    assert registered.schema_id == schema_id
    deserializer = AvroDeserializer(client)
    records = read_all(bootstrap, topic, 6)
    got = []
    for msg in records:
        assert msg.value()[0] == 0 and int.from_bytes(msg.value()[1:5], "big") == schema_id
        got.append(deserializer(msg.value(), SerializationContext(topic, MessageField.VALUE)))
    # The Avro JSON encoding of a union ({"string": ...}) reads back as the plain value.
    assert got == [
        {"id": f"p{i}", "amount": i * 1.5, "note": f"n{i}" if i % 2 else None} for i in range(6)
    ]


def test_avro_serializer_records_read_through_a_proxy_consumer(bootstrap, registry_url, proxy_url):
    topic = "payments-serialized"
    create_topic(proxy_url, topic)
    client = SchemaRegistryClient({"url": registry_url})
    serializer = AvroSerializer(client, json.dumps(PAYMENT))
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    values = [{"id": f"s{i}", "amount": float(i), "note": None if i % 2 else "even"} for i in range(5)]
    for v in values:
        producer.produce(topic, value=serializer(v, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(DEADLINE_S) == 0
    schema_id = client.get_latest_version(f"{topic}-value").schema_id

    group = "avro-readers"
    r = requests.post(
        f"{proxy_url}/consumers/{group}",
        json={"name": "reader-1", "format": "avro", "auto.offset.reset": "earliest"},
        headers={"Content-Type": V2},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    base = r.json()["base_uri"]
    assert base.endswith(f"/consumers/{group}/instances/reader-1"), base
    try:
        r = requests.post(f"{base}/subscription", json={"topics": [topic]}, headers={"Content-Type": V2}, timeout=30)
        assert r.status_code == 204, r.text
        got, deadline = [], time.monotonic() + DEADLINE_S
        while len(got) < len(values):
            assert time.monotonic() < deadline, f"the proxy consumer read {len(got)} of {len(values)}"
            r = requests.get(f"{base}/records?timeout=1000", headers={"Accept": V2_AVRO}, timeout=30)
            assert r.status_code == 200, r.text
            got.extend(r.json())
        assert [g["offset"] for g in got] == list(range(len(values)))
        assert all(g["topic"] == topic and g["partition"] == 0 for g in got)
        assert all(g.get("value_schema_id", schema_id) == schema_id for g in got)
        # The proxy answers in Avro's JSON encoding: a non-null union branch is {"string": ...}.
        assert [g["value"] for g in got] == [
            {"id": f"s{i}", "amount": float(i), "note": None if i % 2 else {"string": "even"}} for i in range(5)
        ]
    finally:
        r = requests.delete(base, headers={"Content-Type": V2}, timeout=30)
        assert r.status_code == 204, r.text


def test_v3_avro_produce_reads_with_avro_deserializer(bootstrap, registry_url, proxy_url):
    topic = "payments-v3"
    create_topic(proxy_url, topic)
    cluster = requests.get(f"{proxy_url}/v3/clusters", timeout=30).json()["data"][0]["cluster_id"]
    value = {"id": "v3", "amount": 9.75, "note": {"string": "via v3"}}
    r = requests.post(
        f"{proxy_url}/v3/clusters/{cluster}/topics/{topic}/records",
        json={"value": {"type": "AVRO", "schema": json.dumps(PAYMENT), "data": value}},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["error_code"] == 200 and r.json()["offset"] == 0, r.text
    msg = read_all(bootstrap, topic, 1)[0]
    client = SchemaRegistryClient({"url": registry_url})
    got = AvroDeserializer(client)(msg.value(), SerializationContext(topic, MessageField.VALUE))
    assert got == {"id": "v3", "amount": 9.75, "note": "via v3"}
