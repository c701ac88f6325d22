package dev.strom.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Java KafkaConsumer's positioning and flow-control API against one strom-broker:
 * subscribe with seek / seekToEnd / seekToBeginning / position, offsetsForTimes,
 * commitAsync with callbacks read back through committed(), pause / resume, and
 * per-partition order over six partitions.
 */
class ConsumerTest {
    @RegisterExtension
    static final StromBroker BROKER = new StromBroker();

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** How long a poll that must return nothing is given to return something. */
    private static final Duration QUIET = Duration.ofMillis(500);
    private static final long T0 = 1_700_000_000_000L;
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

    @Test
    void subscribeThenSeekSeekToEndAndPosition() throws Exception {
        String topic = "consumer-seek";
        createTopic(topic, 3);
        TopicPartition tp0 = new TopicPartition(topic, 0);
        TopicPartition tp1 = new TopicPartition(topic, 1);
        TopicPartition tp2 = new TopicPartition(topic, 2);
        for (int p = 0; p < 3; p++) {
            fill(topic, p, 0, 10);
        }

        Properties props = consumerProps("consumer-seek-group");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            List<Collection<TopicPartition>> assigned = new CopyOnWriteArrayList<>();
            // Positions chosen when the coordinator hands out the partitions: tp0 from 7,
            // tp1 from its end, tp2 from auto.offset.reset (earliest).
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    assigned.add(List.copyOf(partitions));
                    consumer.seek(tp0, 7);
                    consumer.seekToEnd(List.of(tp1));
                }
            });
            Map<TopicPartition, List<ConsumerRecord<String, String>>> got = byPartition(pollExactly(consumer, 3 + 10));
            assertEquals(1, assigned.size(), "one assignment: " + assigned);
            assertEquals(Set.of(tp0, tp1, tp2), Set.copyOf(assigned.get(0)));
            assertEquals(Set.of(tp0, tp1, tp2), consumer.assignment());
            assertEquals(List.of(7L, 8L, 9L), offsets(got.get(tp0)), "tp0 after seek(7)");
            assertEquals(List.of("p0-7", "p0-8", "p0-9"), values(got.get(tp0)));
            assertNull(got.get(tp1), "tp1 after seekToEnd: " + got.get(tp1));
            assertEquals(range(0, 10), offsets(got.get(tp2)), "tp2 from earliest");
            assertEquals(Map.of(tp0, 10L, tp1, 10L, tp2, 10L), positions(consumer, tp0, tp1, tp2));

            // Seeks while subscribed: tp2 back to 4, tp0 to the beginning.
            consumer.seek(tp2, 4);
            consumer.seekToBeginning(List.of(tp0));
            assertEquals(0L, consumer.position(tp0), "position after seekToBeginning");
            assertEquals(4L, consumer.position(tp2), "position after seek");
            got = byPartition(pollExactly(consumer, 6 + 10));
            assertEquals(range(0, 10), offsets(got.get(tp0)));
            assertEquals(range(4, 10), offsets(got.get(tp2)));
            assertEquals(List.of("p2-4", "p2-5", "p2-6", "p2-7", "p2-8", "p2-9"), values(got.get(tp2)));
            assertNull(got.get(tp1));

            // seekToEnd put tp1 at 10, so the next records written there are the next read.
            fill(topic, 1, 10, 12);
            got = byPartition(pollExactly(consumer, 2));
            assertEquals(List.of(10L, 11L), offsets(got.get(tp1)));
            assertEquals(List.of("p1-10", "p1-11"), values(got.get(tp1)));
            assertEquals(Map.of(tp0, 10L, tp1, 12L, tp2, 10L), positions(consumer, tp0, tp1, tp2));

            // Nothing was committed (auto commit is off).
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(Set.of(tp0, tp1, tp2));
            assertTrue(committed.values().stream().allMatch(v -> v == null), "committed: " + committed);
        }
    }

    @Test
    void offsetsForTimesThenSeek() throws Exception {
        String topic = "consumer-offsets-for-times";
        createTopic(topic, 2);
        TopicPartition tp0 = new TopicPartition(topic, 0);
        TopicPartition tp1 = new TopicPartition(topic, 1);
        fill(topic, 0, 0, 10); // timestamps T0, T0+1000, ..., T0+9000
        fill(topic, 1, 0, 5);

        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps(null))) {
            Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(
                Map.of(tp0, T0 + 2_500, tp1, T0 + 100_000), TIMEOUT);
            // The first offset whose timestamp is >= the target; none past the last one.
            assertOffsetAndTimestamp(3, T0 + 3_000, found.get(tp0));
            assertTrue(found.containsKey(tp1), "tp1 asked for: " + found);
            assertNull(found.get(tp1), "no record at or after the target in tp1");
            assertOffsetAndTimestamp(0, T0, consumer.offsetsForTimes(Map.of(tp0, T0 - 1), TIMEOUT).get(tp0));
            // An exact hit.
            assertOffsetAndTimestamp(4, T0 + 4_000,
                consumer.offsetsForTimes(Map.of(tp1, T0 + 4_000), TIMEOUT).get(tp1));

            assertEquals(Map.of(tp0, 0L, tp1, 0L), consumer.beginningOffsets(List.of(tp0, tp1), TIMEOUT));
            Map<TopicPartition, Long> ends = consumer.endOffsets(List.of(tp0, tp1), TIMEOUT);
            assertEquals(Map.of(tp0, 10L, tp1, 5L), ends);

            consumer.assign(List.of(tp0, tp1));
            consumer.seek(tp0, found.get(tp0).offset());
            consumer.seek(tp1, ends.get(tp1));
            List<ConsumerRecord<String, String>> records = pollExactly(consumer, 7);
            assertTrue(records.stream().allMatch(r -> r.partition() == 0), "only tp0 has records past the seek");
            ConsumerRecord<String, String> first = records.get(0);
            assertEquals(3, first.offset());
            assertEquals(T0 + 3_000, first.timestamp());
            assertEquals(TimestampType.CREATE_TIME, first.timestampType());
            assertEquals(range(3, 10), offsets(records));
            assertEquals(IntStream.range(3, 10).mapToObj(i -> T0 + 1_000L * i).toList(),
                records.stream().map(ConsumerRecord::timestamp).toList(), "timestamps kept");
        }
    }

    @Test
    void commitAsyncWithCallbacksThenCommitted() throws Exception {
        String topic = "consumer-commit-async";
        String group = "consumer-commit-async-group";
        createTopic(topic, 2);
        TopicPartition tp0 = new TopicPartition(topic, 0);
        TopicPartition tp1 = new TopicPartition(topic, 1);
        fill(topic, 0, 0, 10);
        fill(topic, 1, 0, 6);

        /** What one commitAsync callback was told. */
        record Completion(int seq, Map<TopicPartition, OffsetAndMetadata> offsets, Exception error) {
        }
        List<Completion> completions = new CopyOnWriteArrayList<>();

        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps(group))) {
            consumer.subscribe(List.of(topic));
            pollExactly(consumer, 16);
            assertEquals(Map.of(tp0, 10L, tp1, 6L), positions(consumer, tp0, tp1));

            // No-argument commitAsync commits the positions.
            consumer.commitAsync((offsets, error) -> completions.add(new Completion(0, offsets, error)));
            awaitCallbacks(consumer, completions, 1);
            Completion c0 = completions.get(0);
            assertNull(c0.error(), "commitAsync failed: " + c0.error());
            assertEquals(Map.of(tp0, 10L, tp1, 6L), offsetsOnly(c0.offsets()));
            assertEquals(Map.of(tp0, 10L, tp1, 6L), offsetsOnly(consumer.committed(Set.of(tp0, tp1))));

            // Explicit offsets with metadata, three commits in a row: callbacks run in
            // commit order and the last one wins.
            for (int i = 1; i <= 3; i++) {
                final int seq = i;
                Map<TopicPartition, OffsetAndMetadata> offsets = Map.of(
                    tp0, new OffsetAndMetadata(i, "async-" + i),
                    tp1, new OffsetAndMetadata(6 - i));
                consumer.commitAsync(offsets, (done, error) -> completions.add(new Completion(seq, done, error)));
            }
            awaitCallbacks(consumer, completions, 4);
            assertEquals(List.of(0, 1, 2, 3), completions.stream().map(Completion::seq).toList(),
                "commitAsync callbacks in commit order");
            for (Completion c : completions.subList(1, 4)) {
                assertNull(c.error(), "commitAsync " + c.seq() + " failed: " + c.error());
                assertEquals(Map.of(tp0, new OffsetAndMetadata(c.seq(), "async-" + c.seq()),
                    tp1, new OffsetAndMetadata(6 - c.seq())), c.offsets());
            }
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(Set.of(tp0, tp1));
            assertEquals(3, committed.get(tp0).offset());
            assertEquals("async-3", committed.get(tp0).metadata());
            assertEquals(3, committed.get(tp1).offset());
            assertEquals("", committed.get(tp1).metadata());
        }
        // The group's committed offsets as the Admin client sees them.
        Map<TopicPartition, OffsetAndMetadata> listed = admin.listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(Map.of(tp0, 3L, tp1, 3L), offsetsOnly(listed));
        assertEquals("async-3", listed.get(tp0).metadata());
    }

    @Test
    void pauseAndResume() throws Exception {
        String topic = "consumer-pause";
        createTopic(topic, 2);
        TopicPartition tp0 = new TopicPartition(topic, 0);
        TopicPartition tp1 = new TopicPartition(topic, 1);
        fill(topic, 0, 0, 10);
        fill(topic, 1, 0, 10);

        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps(null))) {
            consumer.assign(List.of(tp0, tp1));
            consumer.seekToBeginning(List.of(tp0, tp1));
            consumer.pause(List.of(tp0));
            assertEquals(Set.of(tp0), consumer.paused());

            // The paused partition returns nothing while the other one does.
            List<ConsumerRecord<String, String>> records = pollExactly(consumer, 10);
            assertEquals(Set.of(1), partitions(records), "only tp1 while tp0 is paused");
            assertEquals(range(0, 10), offsets(records));
            fill(topic, 0, 10, 15);
            fill(topic, 1, 10, 15);
            records = pollExactly(consumer, 5);
            assertEquals(Set.of(1), partitions(records), "new records: only tp1 while tp0 is paused");
            assertEquals(range(10, 15), offsets(records));
            assertEquals(0L, consumer.position(tp0), "paused tp0 did not move");

            // Resumed: tp0's records, all and in order, from where it stood.
            consumer.resume(List.of(tp0));
            assertEquals(Set.of(), consumer.paused());
            records = pollExactly(consumer, 15);
            assertEquals(Set.of(0), partitions(records));
            assertEquals(range(0, 15), offsets(records));
            assertEquals(IntStream.range(0, 15).mapToObj(i -> "p0-" + i).toList(), values(records));
            assertEquals(Map.of(tp0, 15L, tp1, 15L), positions(consumer, tp0, tp1));
        }
    }

    @Test
    void perPartitionOrderAcrossSixPartitions() throws Exception {
        String topic = "consumer-order-6";
        int partitions = 6;
        int n = 1200;
        createTopic(topic, partitions);

        // What the producer was told, per partition, in offset order.
        Map<Integer, List<String>> written = new HashMap<>();
        try (KafkaProducer<String, String> producer = producer()) {
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(producer.send(new ProducerRecord<>(topic, "key-" + (i % 24), "seq-" + i)));
            }
            Map<Integer, Map<Long, String>> byOffset = new HashMap<>();
            for (int i = 0; i < n; i++) {
                RecordMetadata md = futures.get(i).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                byOffset.computeIfAbsent(md.partition(), k -> new java.util.TreeMap<>()).put(md.offset(), "seq-" + i);
            }
            byOffset.forEach((p, m) -> {
                assertEquals(range(0, m.size()), List.copyOf(m.keySet()), "dense offsets in partition " + p);
                written.put(p, List.copyOf(m.values()));
            });
        }
        assertEquals(partitions, written.size(), "24 keys use all 6 partitions: " + written.keySet());

        Properties props = consumerProps("consumer-order-6-group");
        // Small fetches and polls, so partitions interleave across many polls.
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 37);
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1024);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> records = new ArrayList<>();
            int polls = 0;
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (records.size() < n && System.nanoTime() - deadline < 0) {
                ConsumerRecords<String, String> batch = consumer.poll(Duration.ofMillis(200));
                assertTrue(batch.count() <= 37, "max.poll.records respected: " + batch.count());
                if (!batch.isEmpty()) {
                    polls++;
                }
                batch.forEach(records::add);
            }
            assertEquals(n, records.size(), "records read within " + TIMEOUT);
            assertTrue(polls >= n / 37, "polls: " + polls);
            assertEquals(0, consumer.poll(QUIET).count(), "no extra records");

            Map<Integer, List<ConsumerRecord<String, String>>> got = records.stream()
                .collect(Collectors.groupingBy(ConsumerRecord::partition, LinkedHashMap::new, Collectors.toList()));
            assertEquals(written.keySet(), got.keySet());
            for (int p = 0; p < partitions; p++) {
                List<ConsumerRecord<String, String>> inP = got.get(p);
                assertEquals(range(0, written.get(p).size()), offsets(inP), "offsets in order in partition " + p);
                assertEquals(written.get(p), values(inP), "values in produce order in partition " + p);
            }
            // Per key, sequence numbers only grow (a key lives in one partition).
            Map<String, Integer> lastSeq = new HashMap<>();
            for (ConsumerRecord<String, String> r : records) {
                int seq = Integer.parseInt(r.value().substring(4));
                Integer before = lastSeq.put(r.key(), seq);
                assertTrue(before == null || before < seq, "key " + r.key() + ": " + before + " then " + seq);
            }
        }
    }

    // --- helpers ---------------------------------------------------------------------

    static void createTopic(String topic, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
            .all().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    static KafkaProducer<String, String> producer() {
        Properties props = BROKER.clientProps();
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        return new KafkaProducer<>(props);
    }

    /**
     * Writes values {@code "p<partition>-<i>"} for i in [from, to) to one partition,
     * with timestamps {@code T0 + 1000 * i}, and checks the offsets it is told are i.
     */
    static void fill(String topic, int partition, int from, int to) throws Exception {
        try (KafkaProducer<String, String> producer = producer()) {
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            for (int i = from; i < to; i++) {
                futures.add(producer.send(new ProducerRecord<>(topic, partition, T0 + 1_000L * i, null,
                    "p" + partition + "-" + i)));
            }
            for (int i = from; i < to; i++) {
                RecordMetadata md = futures.get(i - from).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(i, md.offset(), "offset of p" + partition + "-" + i);
            }
        }
    }

    /** A consumer; with a group id it commits nothing by itself. */
    static Properties consumerProps(String group) {
        Properties props = BROKER.clientProps();
        if (group != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
            props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
            props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
        }
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        return props;
    }

    /** Polls until exactly {@code n} records came (failing on a deadline), then checks no more come. */
    static List<ConsumerRecord<String, String>> pollExactly(KafkaConsumer<String, String> consumer, int n) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (records.size() < n && System.nanoTime() - deadline < 0) {
            consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        }
        assertEquals(n, records.size(), "records polled within " + TIMEOUT + ": " + describe(records));
        ConsumerRecords<String, String> extra = consumer.poll(QUIET);
        assertEquals(0, extra.count(), "extra records: " + describe(extra));
        return records;
    }

    /** Polls (so callbacks run) until {@code completions} holds {@code n} entries. */
    static void awaitCallbacks(KafkaConsumer<String, String> consumer, List<?> completions, int n) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (completions.size() < n && System.nanoTime() - deadline < 0) {
            ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
            assertEquals(0, records.count(), "no records expected: " + describe(records));
        }
        assertEquals(n, completions.size(), "commitAsync callbacks within " + TIMEOUT + ": " + completions);
    }

    static String describe(Iterable<ConsumerRecord<String, String>> records) {
        List<String> out = new ArrayList<>();
        records.forEach(r -> out.add(r.partition() + "@" + r.offset()));
        return out.size() > 40 ? out.subList(0, 40) + "... (" + out.size() + ")" : out.toString();
    }

    static Map<TopicPartition, List<ConsumerRecord<String, String>>> byPartition(
            List<ConsumerRecord<String, String>> records) {
        return records.stream().collect(Collectors.groupingBy(
            r -> new TopicPartition(r.topic(), r.partition()), LinkedHashMap::new, Collectors.toList()));
    }

    static List<Long> offsets(List<ConsumerRecord<String, String>> records) {
        assertNotNull(records, "no records");
        return records.stream().map(ConsumerRecord::offset).toList();
    }

    static List<String> values(List<ConsumerRecord<String, String>> records) {
        assertNotNull(records, "no records");
        return records.stream().map(ConsumerRecord::value).toList();
    }

    static Set<Integer> partitions(List<ConsumerRecord<String, String>> records) {
        return records.stream().map(ConsumerRecord::partition).collect(Collectors.toSet());
    }

    static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i < to; i++) {
            out.add(i);
        }
        return out;
    }

    static Map<TopicPartition, Long> positions(KafkaConsumer<String, String> consumer, TopicPartition... tps) {
        Map<TopicPartition, Long> out = new HashMap<>();
        for (TopicPartition tp : tps) {
            out.put(tp, consumer.position(tp, TIMEOUT));
        }
        return out;
    }

    /** Offset and timestamp (the leader epoch, also in OffsetAndTimestamp.equals, is not compared). */
    static void assertOffsetAndTimestamp(long offset, long timestamp, OffsetAndTimestamp got) {
        assertNotNull(got, "offsetsForTimes found nothing");
        assertEquals(offset, got.offset(), "offset of " + got);
        assertEquals(timestamp, got.timestamp(), "timestamp of " + got);
    }

    static Map<TopicPartition, Long> offsetsOnly(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<TopicPartition, Long> out = new HashMap<>();
        offsets.forEach((tp, om) -> out.put(tp, om == null ? null : om.offset()));
        return out;
    }
}
