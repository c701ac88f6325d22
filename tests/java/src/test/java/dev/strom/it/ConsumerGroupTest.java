package dev.strom.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.NewTopic;
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
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Java KafkaConsumers in groups (classic protocol) with the eager Range and the
 * cooperative-sticky assignors: exclusive ownership, rebalance on leave, no loss,
 * redelivery only of records whose commit failed; committed offsets and Admin.
 */
class ConsumerGroupTest {
    @RegisterExtension
    static final StromBroker BROKER = new StromBroker();

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** One group member polling in its own thread, committing after each record. */
    static final class Member implements Runnable {
        final KafkaConsumer<byte[], byte[]> consumer;
        final Map<TopicPartition, Set<Long>> seen;
        final Map<String, Integer> counts;
        final Set<String> commitFailed;
        final AtomicBoolean stop = new AtomicBoolean();
        volatile Set<TopicPartition> owned = Set.of();
        final Thread thread;

        Member(Properties props, String topic, Map<String, Integer> counts, Set<String> commitFailed) {
            this.consumer = new KafkaConsumer<>(props);
            this.seen = new ConcurrentHashMap<>();
            this.counts = counts;
            this.commitFailed = commitFailed;
            consumer.subscribe(List.of(topic));
            thread = new Thread(this, "member");
            thread.start();
        }

        @Override
        public void run() {
            try {
                while (!stop.get()) {
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                    owned = Set.copyOf(consumer.assignment());
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        String id = r.partition() + "@" + r.offset();
                        counts.merge(id, 1, Integer::sum);
                        try {
                            consumer.commitSync(Map.of(new TopicPartition(r.topic(), r.partition()),
                                new OffsetAndMetadata(r.offset() + 1)));
                        } catch (RuntimeException e) {
                            commitFailed.add(id); // revoked mid-rebalance: may come again
                        }
                    }
                }
            } finally {
                consumer.close(Duration.ofSeconds(10));
            }
        }

        void leave() throws InterruptedException {
            stop.set(true);
            thread.join(TIMEOUT.toMillis());
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
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return props;
    }

    static void produce(String topic, int n) throws Exception {
        Properties props = BROKER.clientProps();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, ("k" + i % 13).getBytes(UTF_8), ("v" + i).getBytes(UTF_8)));
            }
            producer.flush();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(classes = {RangeAssignor.class, CooperativeStickyAssignor.class})
    void membersShareAndRebalanceWithoutLoss(Class<?> assignor) throws Exception {
        String topic = "java-group-" + assignor.getSimpleName();
        String group = topic + "-group";
        int partitions = 6;
        int total = 600;
        try (Admin admin = BROKER.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
            produce(topic, total);
            Map<String, Integer> counts = new ConcurrentHashMap<>();
            Set<String> commitFailed = ConcurrentHashMap.newKeySet();
            List<Member> members = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                members.add(new Member(consumerProps(group, assignor.getName()), topic, counts, commitFailed));
            }
            StromBroker.waitUntil("three members own disjoint partitions covering the topic", TIMEOUT, () -> {
                List<Integer> all = members.stream().flatMap(m -> m.owned.stream())
                    .map(TopicPartition::partition).sorted().toList();
                return all.equals(IntStream.range(0, partitions).boxed().toList())
                    && members.stream().allMatch(m -> !m.owned.isEmpty());
            });
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
                .get(30, TimeUnit.SECONDS).get(group);
            assertEquals(GroupState.STABLE, d.groupState());
            assertEquals(3, d.members().size());

            StromBroker.waitUntil("a third of the records consumed", TIMEOUT, () -> counts.size() >= total / 3);
            Member leaving = members.remove(2);
            leaving.leave();
            StromBroker.waitUntil("all records consumed", TIMEOUT, () -> counts.size() == total);
            StromBroker.waitUntil("the two members own every partition", TIMEOUT, () ->
                members.stream().mapToInt(m -> m.owned.size()).sum() == partitions);
            for (Member m : members) {
                m.leave();
            }
            Set<String> twice = counts.entrySet().stream().filter(e -> e.getValue() > 1)
                .map(Map.Entry::getKey).collect(Collectors.toSet());
            twice.removeAll(commitFailed);
            assertTrue(twice.isEmpty(), "redelivered although committed: " + twice);

            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new java.util.HashMap<>();
            for (int p = 0; p < partitions; p++) {
                latest.put(new TopicPartition(topic, p), org.apache.kafka.clients.admin.OffsetSpec.latest());
            }
            var ends = admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
            for (var e : ends.entrySet()) {
                assertEquals(e.getValue().offset(), committed.get(e.getKey()).offset(), "committed " + e.getKey());
            }
        }
    }

    @Test
    void committedOffsetsWithMetadataAndResume() throws Exception {
        String topic = "java-group-resume";
        String group = "java-group-resume-group";
        try (Admin admin = BROKER.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            produce(topic, 20);
            TopicPartition tp = new TopicPartition(topic, 0);
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps(group, RangeAssignor.class.getName()))) {
                c.subscribe(List.of(topic));
                List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (got.size() < 20 && System.nanoTime() < deadline) {
                    c.poll(Duration.ofMillis(200)).forEach(got::add);
                }
                assertEquals(20, got.size());
                c.commitSync(Map.of(tp, new OffsetAndMetadata(12, "checkpoint-12")));
                OffsetAndMetadata om = c.committed(Set.of(tp)).get(tp);
                assertEquals(12, om.offset());
                assertEquals("checkpoint-12", om.metadata());
            }
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps(group, RangeAssignor.class.getName()))) {
                c.subscribe(List.of(topic));
                List<String> rest = new ArrayList<>();
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (rest.size() < 8 && System.nanoTime() < deadline) {
                    c.poll(Duration.ofMillis(200)).forEach(r -> rest.add(new String(r.value(), UTF_8)));
                }
                assertEquals(IntStream.range(12, 20).mapToObj(i -> "v" + i).toList(), rest);
            }
            Collection<String> groups = admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS)
                .stream().map(g -> g.groupId()).toList();
            assertTrue(groups.contains(group), "listed: " + groups);
            admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
            Set<String> after = new HashSet<>(admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS)
                .stream().map(g -> g.groupId()).toList());
            assertTrue(!after.contains(group), "deleted: " + after);
        }
    }
}
