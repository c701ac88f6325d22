package dev.strom.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The Java {@link Admin} client against one strom-broker. */
class AdminTest {
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

    static <T> T get(KafkaFuture<T> future) throws Exception {
        return future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    static Set<String> topicNames() throws Exception {
        return get(admin.listTopics(new ListTopicsOptions().listInternal(false)).names());
    }

    static void createTopic(String topic, int partitions, Map<String, String> configs) throws Exception {
        get(admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs))).all());
    }

    static TopicDescription describeTopic(String topic) throws Exception {
        return get(admin.describeTopics(List.of(topic)).allTopicNames()).get(topic);
    }

    static Config describeTopicConfig(String topic) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return get(admin.describeConfigs(List.of(resource)).all()).get(resource);
    }

    static boolean exists(String topic) {
        try {
            return topicNames().contains(topic);
        } catch (Exception e) {
            throw new AssertionError("listTopics failed", e);
        }
    }

    @Test
    void createListDescribeAndDeleteTopic() throws Exception {
        String topic = "admin-lifecycle";
        createTopic(topic, 3, Map.of());
        assertTrue(topicNames().contains(topic), "listTopics shows the new topic");

        TopicDescription description = describeTopic(topic);
        assertEquals(topic, description.name());
        assertFalse(description.isInternal());
        assertNotEquals(Uuid.ZERO_UUID, description.topicId(), "topic id");
        List<TopicPartitionInfo> partitions = description.partitions();
        assertEquals(3, partitions.size());
        for (int p = 0; p < 3; p++) {
            TopicPartitionInfo info = partitions.get(p);
            assertEquals(p, info.partition());
            assertNotNull(info.leader(), "leader of partition " + p);
            assertEquals(StromBroker.NODE_ID, info.leader().id(), "leader of partition " + p);
            assertEquals(List.of(StromBroker.NODE_ID), info.replicas().stream().map(Node::id).toList());
            assertEquals(List.of(StromBroker.NODE_ID), info.isr().stream().map(Node::id).toList());
        }

        get(admin.deleteTopics(List.of(topic)).all());
        StromBroker.waitUntil("topic " + topic + " gone from listTopics", TIMEOUT, () -> !exists(topic));
        ExecutionException e = assertThrows(ExecutionException.class, () -> describeTopic(topic));
        assertInstanceOf(UnknownTopicOrPartitionException.class, e.getCause());
    }

    @Test
    void createDuplicateTopicFailsWithTopicExists() throws Exception {
        String topic = "admin-duplicate";
        createTopic(topic, 1, Map.of());
        ExecutionException e = assertThrows(ExecutionException.class, () -> createTopic(topic, 1, Map.of()));
        assertInstanceOf(TopicExistsException.class, e.getCause());
    }

    @Test
    void validateOnlyCreatesNothing() throws Exception {
        String topic = "admin-validate-only";
        get(admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1)),
            new CreateTopicsOptions().validateOnly(true)).all());
        assertFalse(topicNames().contains(topic), "validateOnly must not create " + topic);
        // And creating it for real afterwards works.
        createTopic(topic, 2, Map.of());
        assertEquals(2, describeTopic(topic).partitions().size());
    }

    @Test
    void topicConfigsDescribeAndIncrementalAlter() throws Exception {
        String topic = "admin-configs";
        createTopic(topic, 1, Map.of("retention.ms", "3600000", "cleanup.policy", "compact"));

        Config config = describeTopicConfig(topic);
        ConfigEntry retention = config.get("retention.ms");
        assertNotNull(retention, "retention.ms described");
        assertEquals("3600000", retention.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source());
        assertFalse(retention.isDefault());
        assertEquals("compact", config.get("cleanup.policy").value());
        // Every topic config is described, not only the overrides.
        ConfigEntry segmentBytes = config.get("segment.bytes");
        assertNotNull(segmentBytes, "segment.bytes described; got " + names(config.entries()));
        assertNotEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, segmentBytes.source());
        assertNotNull(config.get("max.message.bytes"), "max.message.bytes described");

        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        get(admin.incrementalAlterConfigs(Map.of(resource, List.of(
            new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
            new AlterConfigOp(new ConfigEntry("cleanup.policy", ""), AlterConfigOp.OpType.DELETE),
            new AlterConfigOp(new ConfigEntry("max.message.bytes", "2000000"), AlterConfigOp.OpType.SET))))
            .all());

        Config altered = describeTopicConfig(topic);
        assertEquals("7200000", altered.get("retention.ms").value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, altered.get("retention.ms").source());
        assertEquals("2000000", altered.get("max.message.bytes").value());
        ConfigEntry cleanup = altered.get("cleanup.policy");
        assertEquals("delete", cleanup.value(), "cleanup.policy back to its default");
        assertNotEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, cleanup.source());
    }

    @Test
    void createPartitionsGrowsTheTopic() throws Exception {
        String topic = "admin-grow";
        createTopic(topic, 1, Map.of());
        get(admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all());
        StromBroker.waitUntil(topic + " has 4 partitions", TIMEOUT, () -> {
            try {
                return describeTopic(topic).partitions().size() == 4;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        // The new partitions take writes.
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            RecordMetadata md = producer.send(new ProducerRecord<>(topic, 3, null, "p3".getBytes(UTF_8)))
                .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(3, md.partition());
            assertEquals(0, md.offset());
        }
    }

    @Test
    void deleteRecordsMovesTheLowWatermark() throws Exception {
        String topic = "admin-delete-records";
        createTopic(topic, 1, Map.of());
        TopicPartition tp = new TopicPartition(topic, 0);
        produceWithTimestamps(tp, 10, 1_700_000_000_000L);

        var lowWatermark = get(admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(5)))
            .lowWatermarks().get(tp));
        assertEquals(5, lowWatermark.lowWatermark());

        assertEquals(5, listOffset(tp, OffsetSpec.earliest()).offset());
        assertEquals(10, listOffset(tp, OffsetSpec.latest()).offset());
    }

    @Test
    void listOffsetsEarliestLatestByTimestampAndMaxTimestamp() throws Exception {
        String topic = "admin-list-offsets";
        createTopic(topic, 1, Map.of());
        TopicPartition tp = new TopicPartition(topic, 0);
        long t0 = 1_700_000_000_000L;
        // Timestamps t0, t0+1000, ..., t0+9000 except offset 6 carries the largest one.
        produceWithTimestamps(tp, 10, t0);

        assertEquals(0, listOffset(tp, OffsetSpec.earliest()).offset());
        assertEquals(10, listOffset(tp, OffsetSpec.latest()).offset());

        // The first offset whose timestamp is >= the target, not the nearest.
        ListOffsetsResultInfo at = listOffset(tp, OffsetSpec.forTimestamp(t0 + 2_500));
        assertEquals(3, at.offset());
        assertEquals(t0 + 3_000, at.timestamp());
        assertEquals(0, listOffset(tp, OffsetSpec.forTimestamp(t0 - 1)).offset());
        ListOffsetsResultInfo exact = listOffset(tp, OffsetSpec.forTimestamp(t0 + 4_000));
        assertEquals(4, exact.offset());
        // Past the last timestamp: no offset (-1).
        assertEquals(-1, listOffset(tp, OffsetSpec.forTimestamp(t0 + 1_000_000)).offset());

        ListOffsetsResultInfo max = listOffset(tp, OffsetSpec.maxTimestamp());
        assertEquals(6, max.offset());
        assertEquals(t0 + 100_000, max.timestamp());
    }

    @Test
    void describeClusterHasOneNode() throws Exception {
        DescribeClusterResult cluster = admin.describeCluster();
        String clusterId = get(cluster.clusterId());
        assertNotNull(clusterId);
        assertFalse(clusterId.isBlank(), "cluster id non-empty");
        Collection<Node> nodes = get(cluster.nodes());
        assertEquals(1, nodes.size(), "nodes " + nodes);
        Node node = nodes.iterator().next();
        assertEquals(StromBroker.NODE_ID, node.id());
        assertFalse(node.host().isBlank(), "advertised host");
        String bootstrap = BROKER.bootstrapServers();
        assertEquals(bootstrap.substring(bootstrap.lastIndexOf(':') + 1), Integer.toString(node.port()),
            "advertised port is the one listened on");
        Node controller = get(cluster.controller());
        assertNotNull(controller);
    }

    // --- helpers -------------------------------------------------------------------

    static KafkaProducer<byte[], byte[]> producer() {
        Properties props = BROKER.clientProps();
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return new KafkaProducer<>(props);
    }

    /**
     * Offsets 0..n-1 with timestamps t0 + 1000*i, except offset 6 (when n > 6)
     * whose timestamp is t0 + 100000, the partition's largest.
     */
    static void produceWithTimestamps(TopicPartition tp, int n, long t0) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int i = 0; i < n; i++) {
                long ts = i == 6 ? t0 + 100_000 : t0 + 1_000L * i;
                Future<RecordMetadata> f = producer.send(new ProducerRecord<>(tp.topic(), tp.partition(), ts,
                    null, ("v" + i).getBytes(UTF_8)));
                // One at a time, so each record is its own batch with its own max timestamp.
                RecordMetadata md = f.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(i, md.offset());
                assertEquals(ts, md.timestamp(), "CreateTime kept");
            }
        }
    }

    static ListOffsetsResultInfo listOffset(TopicPartition tp, OffsetSpec spec) throws Exception {
        return get(admin.listOffsets(Map.of(tp, spec)).partitionResult(tp));
    }

    static List<String> names(Collection<ConfigEntry> entries) {
        return entries.stream().map(ConfigEntry::name).sorted().toList();
    }
}
