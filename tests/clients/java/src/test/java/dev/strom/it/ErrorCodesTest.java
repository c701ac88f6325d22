package dev.strom.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.GroupSubscribedToTopicException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bad requests get Kafka's error codes, seen as the exact exception types the Java
 * client maps them to. The broker runs with {@code auto.create.topics.enable=false},
 * so unknown topics stay unknown.
 */
class ErrorCodesTest {
    @RegisterExtension
    static final StromBroker BROKER = new StromBroker(Map.of("auto.create.topics.enable", "false"));

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

    // --- topics ----------------------------------------------------------------------

    @Test
    void createExistingTopicIsTopicExists() throws Exception {
        String topic = "err-exists";
        createTopic(topic, 2);
        assertCause(TopicExistsException.class, admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all());
        // validateOnly checks existence too.
        assertCause(TopicExistsException.class, admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1)),
            new CreateTopicsOptions().validateOnly(true)).all());
        assertEquals(2, partitionCount(topic), "the existing topic is unchanged");
    }

    @Test
    void invalidTopicNamesAreInvalidTopic() throws Exception {
        List<String> names = List.of("has space", "slash/name", "star*", "x".repeat(250), ".", "..");
        CreateTopicsResult result = admin.createTopics(
            names.stream().map(n -> new NewTopic(n, 1, (short) 1)).toList());
        for (String name : names) {
            assertCause(InvalidTopicException.class, result.values().get(name), "createTopics \"" + name + "\"");
        }
        Set<String> topics = get(admin.listTopics(new ListTopicsOptions().listInternal(true)).names());
        assertTrue(names.stream().noneMatch(topics::contains), "created: " + topics);

        // The producer asking Metadata for such a name is told at once, not after max.block.ms.
        try (KafkaProducer<String, String> producer = producer(Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000))) {
            long start = System.nanoTime();
            Future<RecordMetadata> send = producer.send(new ProducerRecord<>("has space", "v"));
            assertCause(InvalidTopicException.class, send, "produce to \"has space\"");
            assertTrue(elapsedMs(start) < 10_000, "InvalidTopicException after " + elapsedMs(start) + " ms");
        }
    }

    @Test
    void invalidConfigValuesAreInvalidConfiguration() throws Exception {
        Map<String, Map<String, String>> bad = Map.of(
            "err-config-policy", Map.of("cleanup.policy", "sometimes"),
            "err-config-number", Map.of("retention.ms", "a-week"),
            "err-config-range", Map.of("min.insync.replicas", "0"),
            "err-config-unknown", Map.of("no.such.topic.config", "1"));
        CreateTopicsResult result = admin.createTopics(bad.entrySet().stream()
            .map(e -> new NewTopic(e.getKey(), 1, (short) 1).configs(e.getValue())).toList());
        for (var e : bad.entrySet()) {
            assertCause(InvalidConfigurationException.class, result.values().get(e.getKey()),
                "createTopics with " + e.getValue());
        }
        Set<String> topics = get(admin.listTopics().names());
        assertTrue(bad.keySet().stream().noneMatch(topics::contains), "created: " + topics);
        // validateOnly refuses the same way.
        assertCause(InvalidConfigurationException.class, admin.createTopics(
            List.of(new NewTopic("err-config-validate", 1, (short) 1).configs(Map.of("retention.ms", "soon"))),
            new CreateTopicsOptions().validateOnly(true)).all());

        // incrementalAlterConfigs with a bad value leaves the topic's config alone.
        String topic = "err-config-alter";
        createTopic(topic, 1);
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        assertCause(InvalidConfigurationException.class, admin.incrementalAlterConfigs(Map.of(resource, List.of(
            new AlterConfigOp(new ConfigEntry("retention.ms", "a-week"), AlterConfigOp.OpType.SET)))).all());
        assertCause(InvalidConfigurationException.class, admin.incrementalAlterConfigs(Map.of(resource, List.of(
            new AlterConfigOp(new ConfigEntry("cleanup.policy", "sometimes"), AlterConfigOp.OpType.SET)))).all());
        ConfigEntry retention = get(admin.describeConfigs(List.of(resource)).all()).get(resource).get("retention.ms");
        assertEquals("604800000", retention.value(), "retention.ms after the refused alter");
        assertTrue(retention.isDefault(), "retention.ms still the default: " + retention);
    }

    @Test
    void badPartitionCountsAndReplicationFactors() throws Exception {
        String topic = "err-partitions";
        createTopic(topic, 3);
        // Fewer, or as many as it has: INVALID_PARTITIONS.
        assertCause(InvalidPartitionsException.class,
            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all(), "3 -> 2 partitions");
        assertCause(InvalidPartitionsException.class,
            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3))).all(), "3 -> 3 partitions");
        assertEquals(3, partitionCount(topic));
        assertCause(UnknownTopicOrPartitionException.class,
            admin.createPartitions(Map.of("err-partitions-missing", NewPartitions.increaseTo(2))).all());

        // createTopics: no partitions, more replicas than brokers.
        assertCause(InvalidPartitionsException.class,
            admin.createTopics(List.of(new NewTopic("err-zero-partitions", 0, (short) 1))).all());
        assertCause(InvalidReplicationFactorException.class,
            admin.createTopics(List.of(new NewTopic("err-three-replicas", 1, (short) 3))).all());
    }

    // --- produce ---------------------------------------------------------------------

    @Test
    void recordAboveTopicMaxMessageBytesIsRecordTooLarge() throws Exception {
        String topic = "err-too-large";
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(Map.of("max.message.bytes", "1024"))))
            .all().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        // The producer itself would send 5 MB: the broker is the one refusing.
        try (KafkaProducer<String, String> producer = producer(Map.of(
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 5 * 1024 * 1024,
                ProducerConfig.BUFFER_MEMORY_CONFIG, 16 * 1024 * 1024,
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "none"))) {
            Future<RecordMetadata> big = producer.send(new ProducerRecord<>(topic, "k", "x".repeat(4_000)));
            assertCause(RecordTooLargeException.class, big, "4000-byte record, max.message.bytes=1024");
            // Smaller records still go in, from offset 0: the refused one was not stored.
            RecordMetadata md = producer.send(new ProducerRecord<>(topic, "k", "small"))
                .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(0, md.offset());
        }
    }

    @Test
    void unknownTopicWithoutAutoCreate() throws Exception {
        String topic = "err-no-such-topic";
        assertCause(UnknownTopicOrPartitionException.class, admin.describeTopics(List.of(topic)).allTopicNames());

        // What the Java producer does against Kafka: it waits max.block.ms for the topic
        // to appear in metadata, then fails the send with a TimeoutException.
        int maxBlockMs = 2_000;
        try (KafkaProducer<String, String> producer = producer(Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, maxBlockMs))) {
            long start = System.nanoTime();
            Throwable cause = assertCause(TimeoutException.class,
                producer.send(new ProducerRecord<>(topic, "k", "v")), "produce to a missing topic");
            long took = elapsedMs(start);
            assertTrue(cause.getMessage().contains("not present in metadata"), "message: " + cause.getMessage());
            assertTrue(took >= maxBlockMs - 100 && took < maxBlockMs + 10_000,
                "failed after " + took + " ms, max.block.ms=" + maxBlockMs);
        }
        // The consumer's partitionsFor: nothing (and nothing created on the way).
        try (KafkaConsumer<String, String> consumer = consumer(null, "earliest")) {
            assertEquals(List.of(), consumer.partitionsFor(topic, TIMEOUT));
        }
        assertFalse(get(admin.listTopics().names()).contains(topic), "auto-created despite the broker config");
    }

    @Test
    void transactionalProducerInitIsRefusedQuickly() {
        // Strom has no transaction coordinator: InitProducerId with a transactional id is
        // refused. The client must fail well before max.block.ms, not hang.
        int maxBlockMs = 15_000;
        try (KafkaProducer<String, String> producer = producer(Map.of(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "err-txn",
                ProducerConfig.MAX_BLOCK_MS_CONFIG, maxBlockMs))) {
            long start = System.nanoTime();
            Exception e = assertThrows(Exception.class, producer::initTransactions);
            long took = elapsedMs(start);
            System.err.println("initTransactions against strom-broker: " + e + " after " + took + " ms"
                + (e.getCause() != null ? "; cause " + e.getCause() : ""));
            assertFalse(e instanceof TimeoutException, "timed out instead of being refused: " + e);
            assertTrue(took < maxBlockMs / 2, "refused after " + took + " ms (max.block.ms " + maxBlockMs + ")");
            assertEquals(KafkaException.class, e.getClass(), "exception: " + e);
            assertTrue(e.getMessage().contains("InitProducerId"), "message: " + e.getMessage());
        }
    }

    // --- consume ---------------------------------------------------------------------

    @Test
    void outOfRangeFetchAndNoCommittedOffsetWithResetNone() throws Exception {
        String topic = "err-out-of-range";
        createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaProducer<String, String> producer = producer(Map.of())) {
            for (int i = 0; i < 5; i++) {
                producer.send(new ProducerRecord<>(topic, "v" + i));
            }
            producer.flush();
        }
        // Fetch past the log end with auto.offset.reset=none: OFFSET_OUT_OF_RANGE.
        try (KafkaConsumer<String, String> consumer = consumer(null, "none")) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, 100);
            OffsetOutOfRangeException e = pollUntilThrows(consumer, OffsetOutOfRangeException.class);
            assertEquals(Map.of(tp, 100L), e.offsetOutOfRangePartitions());
        }
        // A group with no committed offset and auto.offset.reset=none.
        try (KafkaConsumer<String, String> consumer = consumer("err-no-offset-group", "none")) {
            consumer.assign(List.of(tp));
            NoOffsetForPartitionException e = pollUntilThrows(consumer, NoOffsetForPartitionException.class);
            assertEquals(Set.of(tp), e.partitions());
        }
        // DeleteRecords past the high watermark (the Admin client's own OffsetOutOfRangeException).
        assertCause(org.apache.kafka.common.errors.OffsetOutOfRangeException.class,
            admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(50))).all());
    }

    // --- groups ----------------------------------------------------------------------

    @Test
    void liveGroupRefusesDeleteAlterAndOffsetDelete() throws Exception {
        String topic = "err-live-group";
        String group = "err-live-group-group";
        createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> member = consumer(group, "earliest")) {
            member.subscribe(List.of(topic));
            StromBroker.waitUntil(group + " member assigned " + tp, TIMEOUT, () -> {
                member.poll(Duration.ofMillis(100));
                return member.assignment().equals(Set.of(tp));
            });
            member.commitSync(Map.of(tp, new OffsetAndMetadata(0)));

            assertCause(GroupNotEmptyException.class, admin.deleteConsumerGroups(List.of(group)).all());
            // Admin offset commits (generation -1) are only for an empty group.
            assertCause(UnknownMemberIdException.class,
                admin.alterConsumerGroupOffsets(group, Map.of(tp, new OffsetAndMetadata(0))).all());
            // OffsetDelete of a partition the group is subscribed to.
            assertCause(GroupSubscribedToTopicException.class,
                admin.deleteConsumerGroupOffsets(group, Set.of(tp)).partitionResult(tp));
        }
    }

    @Test
    void unknownGroupIsGroupIdNotFound() throws Exception {
        String group = "err-no-such-group";
        assertCause(GroupIdNotFoundException.class, admin.deleteConsumerGroups(List.of(group)).all());
        assertCause(GroupIdNotFoundException.class,
            admin.deleteConsumerGroupOffsets(group, Set.of(new TopicPartition("err-any", 0))).all());
    }

    // --- helpers ---------------------------------------------------------------------

    static <T> T get(KafkaFuture<T> future) throws Exception {
        return future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    static void createTopic(String topic, int partitions) throws Exception {
        get(admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all());
    }

    static int partitionCount(String topic) throws Exception {
        return get(admin.describeTopics(List.of(topic)).allTopicNames()).get(topic).partitions().size();
    }

    static long elapsedMs(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** The future fails, with an ExecutionException whose cause is exactly of type {@code want}. */
    static <E extends Throwable> E assertCause(Class<E> want, Future<?> future) {
        return assertCause(want, future, "");
    }

    static <E extends Throwable> E assertCause(Class<E> want, Future<?> future, String what) {
        try {
            Object value = future.get(TIMEOUT.toSeconds() * 2, TimeUnit.SECONDS);
            return fail(what + ": expected " + want.getSimpleName() + ", but it succeeded with " + value);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            assertEquals(want, cause.getClass(), what + ": cause " + cause);
            return want.cast(cause);
        } catch (java.util.concurrent.TimeoutException | InterruptedException e) {
            return fail(what + ": no answer within " + TIMEOUT.toSeconds() * 2 + " s", e);
        }
    }

    static <E extends Exception> E pollUntilThrows(KafkaConsumer<String, String> consumer, Class<E> want) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() - deadline < 0) {
            try {
                int n = consumer.poll(Duration.ofMillis(200)).count();
                assertEquals(0, n, "records instead of " + want.getSimpleName());
            } catch (Exception e) {
                assertEquals(want, e.getClass(), "poll threw " + e);
                return want.cast(e);
            }
        }
        return fail("poll did not throw " + want.getSimpleName() + " within " + TIMEOUT);
    }

    static KafkaProducer<String, String> producer(Map<String, Object> overrides) {
        Properties props = BROKER.clientProps();
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        props.putAll(overrides);
        return new KafkaProducer<>(props);
    }

    static KafkaConsumer<String, String> consumer(String group, String autoOffsetReset) {
        Properties props = BROKER.clientProps();
        if (group != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        }
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, autoOffsetReset);
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        return new KafkaConsumer<>(props);
    }
}
