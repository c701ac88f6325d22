"""The JDBC connectors with Confluent's AvroConverter, against `strom up`:

- a JDBC source reads a SQLite table into a topic as Avro registered in the
  schema registry, and confluent-kafka's AvroDeserializer reads it back with
  the column types (DECIMAL as Decimal, TIMESTAMP as datetime, NULLs);
- records written by confluent-kafka's AvroSerializer are upserted by a JDBC
  sink into a table it creates.
"""

import datetime
import sqlite3
import time
from decimal import Decimal

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from conftest import create_connector, wait_until

AVRO = "io.confluent.connect.avro.AvroConverter"
UTC = datetime.timezone.utc


def avro_config(up) -> dict:
    return {
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": AVRO,
        "value.converter.schema.registry.url": up.registry,
    }


def read_avro(up, topic: str, count: int) -> list:
    registry = SchemaRegistryClient({"url": up.registry})
    deserializer = AvroDeserializer(registry)
    consumer = Consumer(
        {
            "bootstrap.servers": up.bootstrap,
            "group.id": f"reader-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    values = []
    deadline = time.monotonic() + 60
    try:
        while len(values) < count:
            assert time.monotonic() < deadline, f"read {len(values)} of {count} from {topic}"
            m = consumer.poll(0.5)
            if m is None or m.error():
                continue
            ctx = SerializationContext(topic, MessageField.VALUE)
            values.append(deserializer(m.value(), ctx))
    finally:
        consumer.close()
    return values


def test_jdbc_source_writes_avro_that_the_avro_deserializer_reads(up, tmp_path):
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.executescript(
        """
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            customer TEXT NOT NULL,
            amount DECIMAL(10,2) NOT NULL,
            placed TIMESTAMP NOT NULL,
            note TEXT
        );
        INSERT INTO orders (customer, amount, placed, note) VALUES
            ('ada', 12.50, '2026-01-02 03:04:05', 'first'),
            ('grace', 99, '2026-01-03 00:00:00', NULL);
        """
    )
    con.commit()
    create_connector(
        up,
        "orders-source",
        {
            "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
            "connection.url": f"jdbc:sqlite:{db}",
            "mode": "incrementing",
            "incrementing.column.name": "id",
            "topic.prefix": "sqlite-",
            "poll.interval.ms": "200",
            **avro_config(up),
        },
    )
    values = read_avro(up, "sqlite-orders", 2)
    assert values == [
        {
            "id": 1,
            "customer": "ada",
            "amount": Decimal("12.50"),
            "placed": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "note": "first",
        },
        {
            "id": 2,
            "customer": "grace",
            "amount": Decimal("99.00"),
            "placed": datetime.datetime(2026, 1, 3, tzinfo=UTC),
            "note": None,
        },
    ]
    # The value schema is registered under the topic's subject, named after the table.
    registry = SchemaRegistryClient({"url": up.registry})
    latest = registry.get_latest_version("sqlite-orders-value")
    assert '"name":"orders"' in latest.schema.schema_str.replace(" ", "")

    # A new row follows.
    con.execute(
        "INSERT INTO orders (customer, amount, placed) VALUES ('linus', 7.25, '2026-01-04 12:00:00')"
    )
    con.commit()
    con.close()
    third = read_avro(up, "sqlite-orders", 3)[2]
    assert third["customer"] == "linus" and third["amount"] == Decimal("7.25"), third


PAYMENT = """
{"type": "record", "name": "payment", "namespace": "shop",
 "fields": [
   {"name": "id", "type": "int"},
   {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
   {"name": "payer", "type": ["null", "string"], "default": null}
 ]}
"""


def test_avro_serializer_records_are_upserted_by_a_jdbc_sink(up, tmp_path):
    registry = SchemaRegistryClient({"url": up.registry})
    serializer = AvroSerializer(registry, PAYMENT)
    producer = Producer({"bootstrap.servers": up.bootstrap})
    payments = [
        {"id": 1, "amount": Decimal("10.00"), "payer": "ada"},
        {"id": 2, "amount": Decimal("-3.50"), "payer": None},
        {"id": 1, "amount": Decimal("11.25"), "payer": "ada"},
    ]
    for p in payments:
        ctx = SerializationContext("payments", MessageField.VALUE)
        producer.produce("payments", value=serializer(p, ctx))
    assert producer.flush(30) == 0

    db = tmp_path / "sink.db"
    create_connector(
        up,
        "payments-sink",
        {
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "connection.url": f"jdbc:sqlite:{db}",
            "topics": "payments",
            "insert.mode": "upsert",
            "pk.mode": "record_value",
            "pk.fields": "id",
            "auto.create": "true",
            **avro_config(up),
        },
    )

    def rows():
        try:
            con = sqlite3.connect(db)
            try:
                return con.execute(
                    "SELECT id, CAST(amount AS TEXT), payer FROM payments ORDER BY id"
                ).fetchall()
            finally:
                con.close()
        except sqlite3.OperationalError:
            return None

    wait_until(lambda: rows() == [(1, "11.25", "ada"), (2, "-3.5", None)], "the upserted rows")
