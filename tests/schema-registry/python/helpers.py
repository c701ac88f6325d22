"""Produce with a Confluent serializer, consume with the matching deserializer."""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.serialization import MessageField, SerializationContext

DEADLINE_S = 60.0


def produce(bootstrap: str, topic: str, serializer, values) -> list:
    """Serialize and produce `values`; returns the raw bytes sent."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    sent = []
    errors = []
    for v in values:
        data = serializer(v, SerializationContext(topic, MessageField.VALUE))
        sent.append(data)
        producer.produce(topic, value=data, on_delivery=lambda err, _msg: err and errors.append(err))
    assert producer.flush(DEADLINE_S) == 0, "undelivered messages"
    assert not errors, errors
    return sent


def consume(bootstrap: str, topic: str, deserializer, count: int) -> list:
    """Read `count` records from the start of partition 0 and deserialize them."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"reader-{topic}", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while len(out) < count:
            assert time.monotonic() < deadline, f"read {len(out)} of {count} records from {topic}"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append(deserializer(msg.value(), SerializationContext(topic, MessageField.VALUE)))
    finally:
        consumer.close()
    return out
