package dev.strom.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java producer (default settings, so idempotent with acks=all; acks 0/1/all;
 * every compression type) and
 * a group-less Java consumer (assign + seekToBeginning) against one strom-broker.
 */
class ProducerConsumerTest {
    @RegisterExtension
    static final StromBroker BROKER = new StromBroker();

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static Admin admin;

    @BeforeAll
    static void createAdmin() {
        admin = BROKER.admin();
    }

    @AfterAll
    static void closeAdmin() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(10));
        }
    }

    /** One record as sent, with what the producer's future said. */
    record Sent(byte[] key, byte[] value, List<Header> headers, RecordMetadata metadata) {
    }

    static Stream<Arguments> acksAndCompression() {
        return Stream.of("0", "1", "all").flatMap(acks ->
            Stream.of("none", "gzip", "snappy", "lz4", "zstd").map(codec -> Arguments.of(acks, codec)));
    }

    @ParameterizedTest(name = "acks={0} compression={1}")
    @MethodSource("acksAndCompression")
    void keyedRecordsRoundTrip(String acks, String compression) throws Exception {
        String topic = "java-acks-" + acks + "-" + compression;
        int partitions = 3;
        int n = 60;
        createTopic(topic, partitions);

        List<Sent> sent = produce(topic, n, acks, compression, partitions);

        // Keys land where the Java default partitioner (murmur2) puts them.
        Map<String, Set<Integer>> keyPartitions = new HashMap<>();
        for (Sent s : sent) {
            assertEquals(topic, s.metadata().topic());
            assertEquals(expectedPartition(s.key(), partitions), s.metadata().partition(),
                "partition of key " + new String(s.key(), UTF_8));
            keyPartitions.computeIfAbsent(new String(s.key(), UTF_8), k -> new HashSet<>())
                .add(s.metadata().partition());
            if (acks.equals("0")) {
                assertFalse(s.metadata().hasOffset(), "acks=0 gets no offset back");
            } else {
                assertTrue(s.metadata().hasOffset(), "acks=" + acks + " gets an offset back");
            }
        }
        keyPartitions.forEach((k, ps) -> assertEquals(1, ps.size(), "key " + k + " in partitions " + ps));

        List<ConsumerRecord<byte[], byte[]>> records = consumeFromBeginning(topic, partitions, n);

        for (int p = 0; p < partitions; p++) {
            final int partition = p;
            List<Sent> want = sent.stream().filter(s -> s.metadata().partition() == partition).toList();
            List<ConsumerRecord<byte[], byte[]>> got =
                records.stream().filter(r -> r.partition() == partition).toList();
            assertEquals(want.size(), got.size(), "records in partition " + p);
            for (int i = 0; i < want.size(); i++) {
                Sent s = want.get(i);
                ConsumerRecord<byte[], byte[]> r = got.get(i);
                String where = topic + "-" + p + "@" + r.offset();
                assertEquals(i, r.offset(), "dense offsets from 0 in " + where);
                if (s.metadata().hasOffset()) {
                    assertEquals(s.metadata().offset(), r.offset(), "offset the producer was told, " + where);
                }
                assertArrayEquals(s.key(), r.key(), "key at " + where);
                assertArrayEquals(s.value(), r.value(), "value at " + where + " (per-partition order)");
                assertHeaders(s.headers(), r.headers(), where);
                assertTrue(r.timestamp() > 0, "timestamp at " + where);
            }
        }
    }

    @Test
    void unkeyedRecordsAndNullValues() throws Exception {
        String topic = "java-unkeyed";
        createTopic(topic, 2);
        Properties props = producerProps("all", "none");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                byte[] value = i % 5 == 0 ? null : ("v" + i).getBytes(UTF_8);
                futures.add(producer.send(new ProducerRecord<>(topic, null, value)));
            }
            producer.flush();
            for (Future<RecordMetadata> f : futures) {
                RecordMetadata md = f.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                assertTrue(md.partition() == 0 || md.partition() == 1);
                assertTrue(md.offset() >= 0);
            }
        }
        List<ConsumerRecord<byte[], byte[]>> records = consumeFromBeginning(topic, 2, 20);
        assertEquals(4, records.stream().filter(r -> r.value() == null).count(), "tombstones kept");
        assertTrue(records.stream().allMatch(r -> r.key() == null));
    }

    @Test
    void defaultProducerIsIdempotent() throws Exception {
        String topic = "java-default-producer";
        createTopic(topic, 1);
        Properties props = BROKER.clientProps();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            for (int i = 0; i < 100; i++) {
                futures.add(producer.send(new ProducerRecord<>(topic, ("v" + i).getBytes(UTF_8))));
            }
            producer.flush();
            for (int i = 0; i < futures.size(); i++) {
                assertEquals(i, futures.get(i).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).offset());
            }
        }
        List<ConsumerRecord<byte[], byte[]>> records = consumeFromBeginning(topic, 1, 100);
        assertEquals(100, records.size());
        for (int i = 0; i < 100; i++) {
            assertArrayEquals(("v" + i).getBytes(UTF_8), records.get(i).value());
        }
    }

    // --- helpers ---------------------------------------------------------------------

    static int expectedPartition(byte[] key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key)) % partitions;
    }

    static void createTopic(String topic, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
            .all().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    static Properties producerProps(String acks, String compression) {
        Properties props = BROKER.clientProps();
        // enable.idempotence is left at Java's default: on for acks=all, off for acks 0/1.
        props.put(ProducerConfig.ACKS_CONFIG, acks);
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return props;
    }

    static List<Sent> produce(String topic, int n, String acks, String compression, int partitions)
            throws Exception {
        List<Sent> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProps(acks, compression))) {
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] key = ("key-" + (i % 7)).getBytes(UTF_8);
                byte[] value = ("value-" + i + "-" + "x".repeat(200)).getBytes(UTF_8);
                List<Header> headers = List.of(
                    new RecordHeader("seq", Integer.toString(i).getBytes(UTF_8)),
                    new RecordHeader("codec", compression.getBytes(UTF_8)),
                    new RecordHeader("empty", new byte[0]));
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, null, key, value, headers);
                records.add(record);
                futures.add(producer.send(record));
            }
            producer.flush();
            for (int i = 0; i < n; i++) {
                RecordMetadata md = futures.get(i).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                assertNotNull(md);
                ProducerRecord<byte[], byte[]> r = records.get(i);
                sent.add(new Sent(r.key(), r.value(), List.of(r.headers().toArray()), md));
            }
        }
        assertTrue(sent.stream().map(s -> s.metadata().partition()).distinct().count() >= 2,
            "7 keys over " + partitions + " partitions use at least 2 of them");
        return sent;
    }

    static List<ConsumerRecord<byte[], byte[]>> consumeFromBeginning(String topic, int partitions, int expected) {
        Properties props = BROKER.clientProps();
        // No group.id: no coordinator needed (consumer groups are not served yet).
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> tps = IntStream.range(0, partitions)
                .mapToObj(p -> new TopicPartition(topic, p)).toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (records.size() < expected && System.nanoTime() - deadline < 0) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            assertEquals(expected, records.size(), "records read back from " + topic + " within " + TIMEOUT);
            // And nothing more than was produced.
            assertEquals(0, consumer.poll(Duration.ofMillis(200)).count(), "extra records in " + topic);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            Map<TopicPartition, Long> counts = records.stream().collect(Collectors.groupingBy(
                r -> new TopicPartition(r.topic(), r.partition()), Collectors.counting()));
            for (TopicPartition tp : tps) {
                assertEquals(counts.getOrDefault(tp, 0L), end.get(tp), "end offset of " + tp);
            }
        }
        return records;
    }

    static void assertHeaders(List<Header> want, org.apache.kafka.common.header.Headers got, String where) {
        Header[] gotArray = got.toArray();
        assertEquals(want.size(), gotArray.length, "header count at " + where);
        for (int i = 0; i < want.size(); i++) {
            assertEquals(want.get(i).key(), gotArray[i].key(), "header key at " + where);
            assertArrayEquals(want.get(i).value(), gotArray[i].value(),
                "header " + want.get(i).key() + " at " + where);
        }
    }
}
