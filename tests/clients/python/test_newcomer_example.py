"""The kafka-python example a newcomer copies from the docs, unchanged except
for the port: produce one message, then read it back with a consumer that has
no group. The topic does not exist beforehand: the producer's metadata request
creates it (auto.create.topics.enable)."""

from kafka import KafkaConsumer, KafkaProducer


def test_newcomer_example(strom_bootstrap):
    # --- as in the docs -----------------------------------------------------
    producer = KafkaProducer(bootstrap_servers=strom_bootstrap)
    producer.send('test_topic', value=b'Hello, Kafka!')
    producer.flush()

    consumer = KafkaConsumer(
        'test_topic',
        bootstrap_servers=strom_bootstrap,
        auto_offset_reset='earliest',
        consumer_timeout_ms=10000,
    )
    seen = []
    for message in consumer:
        print(f"{message.topic}:{message.partition}:{message.offset}: "
              f"key={message.key} value={message.value}")
        seen.append(message)
    # -------------------------------------------------------------------------
    consumer.close()
    producer.close()

    assert [(m.topic, m.value) for m in seen] == [('test_topic', b'Hello, Kafka!')]
    assert seen[0].offset == 0
    assert seen[0].key is None
