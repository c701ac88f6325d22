package dev.strom.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Java KafkaConsumers in groups (classic protocol) with the eager Range and the
 * cooperative-sticky assignors: exclusive ownership, rebalance when a member
 * closes mid-stream, no loss, no redelivery of a committed record, committed
 * offsets at the log end; commitSync with metadata, resume, and the Admin group APIs.
 * The broker runs with {@code group.initial.rebalance.delay.ms=0} (see StromBroker).
 */
class ConsumerGroupTest {
    @RegisterExtension
    static final StromBroker BROKER = new StromBroker();

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final long WAIT_S = 30;

    /** What all members of one group saw, shared between their threads. */
    static final class Ledger {
        /** "partition@offset" -> how many times a member processed it. */
        final Map<String, Integer> counts = new ConcurrentHashMap<>();
        /** Records whose offset a successful commitSync covered. */
        final Set<String> committed = ConcurrentHashMap.newKeySet();
        /** Records processed but never covered by a successful commit of that member. */
        final Set<String> uncommitted = ConcurrentHashMap.newKeySet();
        /** Records processed again after a successful commit covered them: must stay empty. */
        final Set<String> afterCommit = ConcurrentHashMap.newKeySet();
    }

    /**
     * One group member polling in its own thread. After each poll batch it commits
     * (commitSync) the next offset of every partition it processed; a commit that
     * fails (rebalance in progress, revoked) is retried after the next poll for the
     * partitions it still owns, and the records of revoked partitions count as
     * uncommitted (they may be delivered again, to the new owner).
     */
    static final class Member implements Runnable {
        final String name;
        final KafkaConsumer<byte[], byte[]> consumer;
        final Ledger ledger;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Set<String> processed = ConcurrentHashMap.newKeySet();
        volatile Set<TopicPartition> owned = Set.of();
        final Thread thread;

        Member(String name, Properties props, String topic, Ledger ledger) {
            this.name = name;
            props.put(ConsumerConfig.CLIENT_ID_CONFIG, name);
            this.consumer = new KafkaConsumer<>(props);
            this.ledger = ledger;
            consumer.subscribe(List.of(topic));
            thread = new Thread(this, name);
            thread.start();
        }

        @Override
        public void run() {
            Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
            Map<TopicPartition, List<String>> pendingIds = new HashMap<>();
            try {
                while (!stop.get()) {
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                    owned = Set.copyOf(consumer.assignment());
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        String id = r.partition() + "@" + r.offset();
                        if (ledger.committed.contains(id)) {
                            ledger.afterCommit.add(id);
                        }
                        ledger.counts.merge(id, 1, Integer::sum);
                        processed.add(id);
                        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                        pending.put(tp, new OffsetAndMetadata(r.offset() + 1));
                        pendingIds.computeIfAbsent(tp, k -> new ArrayList<>()).add(id);
                    }
                    commit(pending, pendingIds);
                }
                commit(pending, pendingIds);
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                for (List<String> ids : pendingIds.values()) {
                    ledger.uncommitted.addAll(ids);
                }
                consumer.close(Duration.ofSeconds(10));
            }
        }

        private void commit(Map<TopicPartition, OffsetAndMetadata> pending,
                            Map<TopicPartition, List<String>> pendingIds) {
            Set<TopicPartition> assignment = consumer.assignment();
            for (TopicPartition tp : new ArrayList<>(pending.keySet())) {
                if (!assignment.contains(tp)) { // revoked before its commit went through
                    pending.remove(tp);
                    ledger.uncommitted.addAll(pendingIds.remove(tp));
                }
            }
            if (pending.isEmpty()) {
                return;
            }
            try {
                consumer.commitSync(pending);
            } catch (KafkaException e) { // RebalanceInProgress / CommitFailed: retried next round
                return;
            }
            for (List<String> ids : pendingIds.values()) {
                ledger.committed.addAll(ids);
            }
            pending.clear();
            pendingIds.clear();
        }

        void close() throws InterruptedException {
            stop.set(true);
            thread.join(TIMEOUT.toMillis());
            assertFalse(thread.isAlive(), name + " did not stop");
            if (failure.get() != null) {
                throw new AssertionError(name + " failed", failure.get());
            }
        }
    }

    static Properties consumerProps(String group, String assignor) {
        Properties props = BROKER.clientProps();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6000);
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 25);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return props;
    }

    /** Sends records {@code from..to-1}, keyed, and waits for every ack. */
    static void produce(String topic, int from, int to) throws Exception {
        Properties props = BROKER.clientProps();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
            for (int i = from; i < to; i++) {
                acks.add(producer.send(new ProducerRecord<>(topic, ("k" + i).getBytes(UTF_8), ("v" + i).getBytes(UTF_8))));
            }
            for (var ack : acks) {
                ack.get(WAIT_S, TimeUnit.SECONDS);
            }
        }
    }

    static Map<TopicPartition, Long> endOffsets(Admin admin, String topic, int partitions) throws Exception {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        return admin.listOffsets(latest).all().get(WAIT_S, TimeUnit.SECONDS).entrySet().stream()
            .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    static Map<TopicPartition, Long> committedOffsets(Admin admin, String group) throws Exception {
        return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
            .get(WAIT_S, TimeUnit.SECONDS).entrySet().stream()
            .filter(e -> e.getValue() != null)
            .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    static ConsumerGroupDescription describe(Admin admin, String group) {
        try {
            return admin.describeConsumerGroups(List.of(group)).all().get(WAIT_S, TimeUnit.SECONDS).get(group);
        } catch (Exception e) {
            throw new AssertionError("describeConsumerGroups " + group, e);
        }
    }

    /** Partition numbers each member of a description owns, by client id. */
    static Map<String, List<Integer>> assignments(ConsumerGroupDescription d) {
        Map<String, List<Integer>> out = new HashMap<>();
        for (MemberDescription m : d.members()) {
            out.put(m.clientId(), m.assignment().topicPartitions().stream()
                .map(TopicPartition::partition).sorted().toList());
        }
        return out;
    }

    static boolean disjointCover(Iterable<? extends Iterable<Integer>> owned, int partitions) {
        List<Integer> all = new ArrayList<>();
        owned.forEach(ps -> ps.forEach(all::add));
        all.sort(null);
        return all.equals(IntStream.range(0, partitions).boxed().toList());
    }

    static List<Integer> partitionsOf(Member m) {
        return m.owned.stream().map(TopicPartition::partition).sorted().toList();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(classes = {RangeAssignor.class, CooperativeStickyAssignor.class})
    void membersShareAndRebalanceWithoutLoss(Class<?> assignor) throws Exception {
        String topic = "java-group-" + assignor.getSimpleName();
        String group = topic + "-group";
        int partitions = 6;
        int firstHalf = 600;
        int total = 1200;
        try (Admin admin = BROKER.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(WAIT_S, TimeUnit.SECONDS);
            produce(topic, 0, firstHalf);
            Ledger ledger = new Ledger();
            List<Member> members = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    members.add(new Member(group + "-m" + i, consumerProps(group, assignor.getName()), topic, ledger));
                }
                // Stable: each partition owned by exactly one member, every member owns some.
                StromBroker.waitUntil("three members own disjoint partitions covering the topic", TIMEOUT, () ->
                    disjointCover(members.stream().map(ConsumerGroupTest::partitionsOf).toList(), partitions)
                        && members.stream().allMatch(m -> !m.owned.isEmpty()));
                // The coordinator agrees: Stable, three members, the same assignment.
                StromBroker.waitUntil("describeConsumerGroups: Stable, the members' own assignments", TIMEOUT, () -> {
                    ConsumerGroupDescription d = describe(admin, group);
                    Map<String, List<Integer>> byClient = members.stream()
                        .collect(Collectors.toMap(m -> m.name, ConsumerGroupTest::partitionsOf));
                    return d.groupState() == GroupState.STABLE && assignments(d).equals(byClient);
                });
                ConsumerGroupDescription d = describe(admin, group);
                assertEquals(3, d.members().size());
                assertTrue(disjointCover(assignments(d).values(), partitions), "described: " + assignments(d));
                assertEquals(GroupType.CLASSIC, d.type());
                assertEquals(assignor == RangeAssignor.class ? "range" : "cooperative-sticky", d.partitionAssignor());

                // Mid-stream: part of the data processed, then one member closes.
                StromBroker.waitUntil("a third of the first records processed", TIMEOUT,
                    () -> ledger.counts.size() >= firstHalf / 3);
                Member leaving = members.remove(2);
                List<Integer> orphaned = partitionsOf(leaving);
                leaving.close();
                StromBroker.waitUntil("the two remaining members own every partition", TIMEOUT, () ->
                    disjointCover(members.stream().map(ConsumerGroupTest::partitionsOf).toList(), partitions));
                StromBroker.waitUntil("describeConsumerGroups: Stable with two members", TIMEOUT, () -> {
                    ConsumerGroupDescription d2 = describe(admin, group);
                    return d2.groupState() == GroupState.STABLE && d2.members().size() == 2
                        && disjointCover(assignments(d2).values(), partitions);
                });
                produce(topic, firstHalf, total);

                StromBroker.waitUntil("every record processed", TIMEOUT, () -> ledger.counts.size() == total);
                Map<TopicPartition, Long> ends = endOffsets(admin, topic, partitions);
                assertEquals(total, ends.values().stream().mapToLong(Long::longValue).sum(), "log end offsets");
                StromBroker.waitUntil("committed offsets reach the log end offsets", TIMEOUT, () -> {
                    try {
                        return committedOffsets(admin, group).equals(ends);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
                for (Member m : members) {
                    m.close();
                }

                // Records on the closed member's partitions after it left went to the others.
                Set<String> byOthers = new HashSet<>();
                members.forEach(m -> byOthers.addAll(m.processed));
                for (int p : orphaned) {
                    long lastOffset = ends.get(new TopicPartition(topic, p)) - 1;
                    assertTrue(byOthers.contains(p + "@" + lastOffset),
                        "partition " + p + " of the closed member taken over");
                }
                assertTrue(ledger.afterCommit.isEmpty(),
                    "delivered again after its offset was committed: " + new TreeSet<>(ledger.afterCommit));
                Set<String> twice = ledger.counts.entrySet().stream().filter(e -> e.getValue() > 1)
                    .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
                twice.removeAll(ledger.uncommitted);
                assertTrue(twice.isEmpty(), "redelivered although its first delivery was committed: " + twice);
                assertEquals(committedOffsets(admin, group), ends, "committed offsets after close");
            } finally {
                for (Member m : members) {
                    m.stop.set(true);
                    m.thread.join(TIMEOUT.toMillis());
                }
            }
        }
    }

    @Test
    void committedOffsetsWithMetadataResumeAndAdmin() throws Exception {
        String topic = "java-group-resume";
        String group = "java-group-resume-group";
        try (Admin admin = BROKER.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(WAIT_S, TimeUnit.SECONDS);
            TopicPartition tp0 = new TopicPartition(topic, 0);
            TopicPartition tp1 = new TopicPartition(topic, 1);
            Properties pp = BROKER.clientProps();
            pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
            pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
                for (int i = 0; i < 20; i++) {
                    producer.send(new ProducerRecord<>(topic, i % 2, null, ("v" + i).getBytes(UTF_8)))
                        .get(WAIT_S, TimeUnit.SECONDS);
                }
            }
            // 10 records per partition: p0 = v0,v2,..,v18; p1 = v1,v3,..,v19.
            Properties props = consumerProps(group, RangeAssignor.class.getName());
            props.put(ConsumerConfig.CLIENT_ID_CONFIG, "resume-first");
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
                c.subscribe(List.of(topic));
                int got = 0;
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (got < 20 && System.nanoTime() < deadline) {
                    got += c.poll(Duration.ofMillis(200)).count();
                }
                assertEquals(20, got);
                c.commitSync(Map.of(tp0, new OffsetAndMetadata(6, "checkpoint-p0"),
                                    tp1, new OffsetAndMetadata(3, "")));
                Map<TopicPartition, OffsetAndMetadata> committed = c.committed(Set.of(tp0, tp1));
                assertEquals(6, committed.get(tp0).offset());
                assertEquals("checkpoint-p0", committed.get(tp0).metadata());
                assertEquals(3, committed.get(tp1).offset());
                assertEquals("", committed.get(tp1).metadata());

                // While the member is in the group: listed, described, not deletable.
                ConsumerGroupDescription d = describe(admin, group);
                assertEquals(GroupState.STABLE, d.groupState());
                assertEquals(1, d.members().size());
                MemberDescription m = d.members().iterator().next();
                assertEquals("resume-first", m.clientId());
                assertEquals(Set.of(tp0, tp1), m.assignment().topicPartitions());
                assertEquals("range", d.partitionAssignor());
                assertFalse(d.isSimpleConsumerGroup());
                ExecutionException notEmpty = assertThrows(ExecutionException.class,
                    () -> admin.deleteConsumerGroups(List.of(group)).all().get(WAIT_S, TimeUnit.SECONDS));
                assertInstanceOf(GroupNotEmptyException.class, notEmpty.getCause());
            }
            Map<TopicPartition, OffsetAndMetadata> listed = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(WAIT_S, TimeUnit.SECONDS);
            assertEquals(Map.of(tp0, new OffsetAndMetadata(6, "checkpoint-p0"), tp1, new OffsetAndMetadata(3, "")),
                listed);

            // A new consumer of the group resumes at the committed offsets.
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps(group, RangeAssignor.class.getName()))) {
                c.subscribe(List.of(topic));
                Map<Integer, List<String>> rest = new HashMap<>();
                int got = 0;
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (got < 11 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                        rest.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(new String(r.value(), UTF_8));
                        got++;
                    }
                }
                assertEquals(IntStream.range(6, 10).mapToObj(i -> "v" + (2 * i)).toList(), rest.get(0));
                assertEquals(IntStream.range(3, 10).mapToObj(i -> "v" + (2 * i + 1)).toList(), rest.get(1));
                assertEquals(Map.of(tp0, 10L, tp1, 10L), Map.of(tp0, c.position(tp0), tp1, c.position(tp1)));
            }

            // Empty now: listed (state Empty), deletable; then gone with its offsets.
            StromBroker.waitUntil("listConsumerGroups shows the group Empty", TIMEOUT, () -> {
                try {
                    return admin.listConsumerGroups().all().get(WAIT_S, TimeUnit.SECONDS).stream()
                        .anyMatch(g -> g.groupId().equals(group)
                            && g.groupState().equals(java.util.Optional.of(GroupState.EMPTY)));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            assertEquals(GroupState.EMPTY, describe(admin, group).groupState());
            assertTrue(describe(admin, group).members().isEmpty());
            admin.deleteConsumerGroups(List.of(group)).all().get(WAIT_S, TimeUnit.SECONDS);
            Set<String> after = admin.listConsumerGroups().all().get(WAIT_S, TimeUnit.SECONDS)
                .stream().map(ConsumerGroupListing::groupId).collect(Collectors.toSet());
            assertFalse(after.contains(group), "deleted group still listed: " + after);
            Map<TopicPartition, OffsetAndMetadata> gone = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(WAIT_S, TimeUnit.SECONDS);
            assertTrue(gone.isEmpty(), "offsets of a deleted group: " + gone);
        }
    }
}
