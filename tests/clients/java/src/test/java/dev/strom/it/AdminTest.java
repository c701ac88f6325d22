package dev.strom.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupsOptions;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
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

    @Test
    void describeTopicsWithAuthorizedOperations() throws Exception {
        String topic = "admin-describe-ops";
        createTopic(topic, 2, Map.of());

        // Not asked for: null, as Kafka's client reports an omitted field.
        TopicDescription plain = describeTopic(topic);
        assertNull(plain.authorizedOperations(), "authorized operations not asked for");

        TopicDescription withOps = get(admin.describeTopics(List.of(topic),
            new DescribeTopicsOptions().includeAuthorizedOperations(true)).allTopicNames()).get(topic);
        // No authorizer: every operation a topic supports (Kafka's AclEntry.supportedOperations(TOPIC)).
        assertEquals(Set.of(AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE,
            AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS),
            withOps.authorizedOperations());
        assertEquals(2, withOps.partitions().size());
    }

    @Test
    void describeTopicsByTopicId() throws Exception {
        String topic = "admin-describe-by-id";
        createTopic(topic, 2, Map.of());
        Uuid id = describeTopic(topic).topicId();
        // Java sends Metadata v12+ with topics [{topic_id: id, name: ""}].
        TopicDescription byId = get(admin.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds())
            .get(id);
        assertNotNull(byId, "described by id " + id);
        assertEquals(topic, byId.name());
        assertEquals(id, byId.topicId());
        assertEquals(2, byId.partitions().size());
    }

    @Test
    void describeClusterWithAuthorizedOperations() throws Exception {
        assertNull(get(admin.describeCluster().authorizedOperations()), "authorized operations not asked for");
        DescribeClusterResult cluster = admin.describeCluster(
            new DescribeClusterOptions().includeAuthorizedOperations(true));
        // No authorizer: every operation the cluster resource supports.
        assertEquals(Set.of(AclOperation.CREATE, AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS,
            AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.ALTER, AclOperation.DESCRIBE),
            get(cluster.authorizedOperations()));
        assertEquals(List.of(StromBroker.NODE_ID), get(cluster.nodes()).stream().map(Node::id).toList());
        assertEquals(StromBroker.NODE_ID, get(cluster.controller()).id());
    }

    @Test
    void describeLogDirsSizesPerPartition() throws Exception {
        String topic = "admin-log-dirs";
        createTopic(topic, 2, Map.of());
        TopicPartition tp0 = new TopicPartition(topic, 0);
        TopicPartition tp1 = new TopicPartition(topic, 1);
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int i = 0; i < 20; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, ("v" + i + "-" + "x".repeat(1000)).getBytes(UTF_8)))
                    .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
        }

        Map<Integer, Map<String, LogDirDescription>> all =
            get(admin.describeLogDirs(List.of(StromBroker.NODE_ID)).allDescriptions());
        assertEquals(Set.of(StromBroker.NODE_ID), all.keySet());
        Map<String, LogDirDescription> dirs = all.get(StromBroker.NODE_ID);
        assertEquals(1, dirs.size(), "one log dir: " + dirs.keySet());
        String dir = dirs.keySet().iterator().next();
        LogDirDescription description = dirs.get(dir);
        assertNull(description.error(), "log dir error");
        Path path = Paths.get(dir);
        assertTrue(path.isAbsolute() && Files.isDirectory(path), "log dir " + dir + " is an absolute directory");

        ReplicaInfo r0 = description.replicaInfos().get(tp0);
        ReplicaInfo r1 = description.replicaInfos().get(tp1);
        assertNotNull(r0, "replica of " + tp0 + " in " + description.replicaInfos().keySet());
        assertNotNull(r1, "replica of " + tp1 + " in " + description.replicaInfos().keySet());
        assertTrue(r0.size() > 20 * 1000, "size of " + tp0 + ": " + r0.size());
        assertEquals(0, r1.size(), "size of the empty " + tp1);
        // The reported size is what the partition's segment files hold on disk.
        assertEquals(segmentBytes(path.resolve(topic + "-0")), r0.size(), "size of " + tp0 + " vs its .log files");
        assertEquals(0, r0.offsetLag());
        assertFalse(r0.isFuture());
    }

    @Test
    @SuppressWarnings({"removal", "deprecation"}) // listConsumerGroups: deprecated for listGroups in 4.x, still served
    void listConsumerGroupsWithStatesAndTypes() throws Exception {
        String topic = "admin-list-groups";
        String active = "admin-list-groups-active";
        String offsetsOnly = "admin-list-groups-offsets-only";
        createTopic(topic, 1, Map.of());
        TopicPartition tp = new TopicPartition(topic, 0);
        // A group with only committed offsets (written by the Admin client, no member).
        get(admin.alterConsumerGroupOffsets(offsetsOnly, Map.of(tp, new OffsetAndMetadata(0))).all());

        try (KafkaConsumer<String, String> member = groupConsumer(active)) {
            member.subscribe(List.of(topic));
            StromBroker.waitUntil(active + " member assigned " + tp, TIMEOUT, () -> {
                member.poll(Duration.ofMillis(100));
                return member.assignment().equals(Set.of(tp));
            });
            StromBroker.waitUntil("listConsumerGroups shows " + active + " Stable", TIMEOUT, () ->
                consumerGroupListings(new ListConsumerGroupsOptions()).get(active) != null
                    && consumerGroupListings(new ListConsumerGroupsOptions()).get(active).groupState()
                        .equals(Optional.of(GroupState.STABLE)));

            Map<String, ConsumerGroupListing> all = consumerGroupListings(new ListConsumerGroupsOptions());
            ConsumerGroupListing a = all.get(active);
            assertFalse(a.isSimpleConsumerGroup(), active + " uses the consumer protocol: " + a);
            assertEquals(Optional.of(GroupType.CLASSIC), a.type());
            ConsumerGroupListing o = all.get(offsetsOnly);
            assertNotNull(o, offsetsOnly + " listed: " + all.keySet());
            assertEquals(Optional.of(GroupState.EMPTY), o.groupState());
            assertTrue(o.isSimpleConsumerGroup(), offsetsOnly + " has no protocol type: " + o);

            // Filtered by state on the broker.
            Map<String, ConsumerGroupListing> stable = consumerGroupListings(
                new ListConsumerGroupsOptions().inGroupStates(Set.of(GroupState.STABLE)));
            assertTrue(stable.containsKey(active) && !stable.containsKey(offsetsOnly), "Stable: " + stable.keySet());
            Map<String, ConsumerGroupListing> empty = consumerGroupListings(
                new ListConsumerGroupsOptions().inGroupStates(Set.of(GroupState.EMPTY)));
            assertTrue(empty.containsKey(offsetsOnly) && !empty.containsKey(active), "Empty: " + empty.keySet());
            assertTrue(consumerGroupListings(new ListConsumerGroupsOptions().inGroupStates(Set.of(GroupState.DEAD)))
                .isEmpty(), "no Dead groups");

            // The same through listGroups (its replacement in 4.x).
            Map<String, GroupListing> groups = get(admin.listGroups(ListGroupsOptions.forConsumerGroups()).all())
                .stream().collect(Collectors.toMap(GroupListing::groupId, g -> g));
            assertEquals(Optional.of(GroupType.CLASSIC), groups.get(active).type());
            assertEquals("consumer", groups.get(active).protocol());
            assertEquals(Optional.of(GroupState.STABLE), groups.get(active).groupState());
            assertEquals("", groups.get(offsetsOnly).protocol());
            assertEquals(Optional.of(GroupState.EMPTY), groups.get(offsetsOnly).groupState());
        }
    }

    @Test
    void alterAndDeleteConsumerGroupOffsets() throws Exception {
        String topic = "admin-group-offsets";
        String group = "admin-group-offsets-group";
        createTopic(topic, 2, Map.of());
        TopicPartition tp0 = new TopicPartition(topic, 0);
        TopicPartition tp1 = new TopicPartition(topic, 1);
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int i = 0; i < 10; i++) {
                for (int p = 0; p < 2; p++) {
                    producer.send(new ProducerRecord<>(topic, p, null, ("p" + p + "-" + i).getBytes(UTF_8)));
                }
            }
            producer.flush();
        }

        // Set the offsets of a group that has no member yet.
        get(admin.alterConsumerGroupOffsets(group, Map.of(
            tp0, new OffsetAndMetadata(6, "set-by-admin"),
            tp1, new OffsetAndMetadata(2))).all());
        assertEquals(Map.of(tp0, new OffsetAndMetadata(6, "set-by-admin"), tp1, new OffsetAndMetadata(2, "")),
            groupOffsets(group));

        // A member of the group starts where the Admin client put it.
        try (KafkaConsumer<String, String> c = groupConsumer(group)) {
            c.subscribe(List.of(topic));
            Map<Integer, List<Long>> got = pollOffsets(c, 4 + 8);
            assertEquals(List.of(6L, 7L, 8L, 9L), got.get(0));
            assertEquals(List.of(2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), got.get(1));
        }

        // Alter again (now Empty), then delete tp0's offset: only tp1's is left.
        get(admin.alterConsumerGroupOffsets(group, Map.of(tp1, new OffsetAndMetadata(5))).all());
        var deleted = admin.deleteConsumerGroupOffsets(group, Set.of(tp0));
        get(deleted.all());
        get(deleted.partitionResult(tp0));
        assertEquals(Map.of(tp1, new OffsetAndMetadata(5, "")), groupOffsets(group));

        // tp0 now starts from auto.offset.reset (earliest), tp1 from 5.
        try (KafkaConsumer<String, String> c = groupConsumer(group)) {
            c.subscribe(List.of(topic));
            Map<Integer, List<Long>> got = pollOffsets(c, 10 + 5);
            assertEquals(0L, got.get(0).get(0), "tp0 from the beginning");
            assertEquals(10, got.get(0).size());
            assertEquals(List.of(5L, 6L, 7L, 8L, 9L), got.get(1));
        }
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
    static KafkaConsumer<String, String> groupConsumer(String group) {
        Properties props = BROKER.clientProps();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        return new KafkaConsumer<>(props);
    }

    /** Polls until {@code n} records came; their offsets by partition, in arrival order. */
    static Map<Integer, List<Long>> pollOffsets(KafkaConsumer<String, String> consumer, int n) {
        Map<Integer, List<Long>> got = new HashMap<>();
        int count = 0;
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (count < n && System.nanoTime() - deadline < 0) {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                got.computeIfAbsent(r.partition(), k -> new java.util.ArrayList<>()).add(r.offset());
                count++;
            }
        }
        assertEquals(n, count, "records polled within " + TIMEOUT + ": " + got);
        assertEquals(0, consumer.poll(Duration.ofMillis(500)).count(), "extra records after " + got);
        return got;
    }

    static Map<TopicPartition, OffsetAndMetadata> groupOffsets(String group) throws Exception {
        return get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
    }

    @SuppressWarnings({"removal", "deprecation"})
    static Map<String, ConsumerGroupListing> consumerGroupListings(ListConsumerGroupsOptions options) {
        try {
            return get(admin.listConsumerGroups(options).all()).stream()
                .collect(Collectors.toMap(ConsumerGroupListing::groupId, g -> g));
        } catch (Exception e) {
            throw new AssertionError("listConsumerGroups", e);
        }
    }

    /** Bytes in the {@code .log} segment files of one partition directory. */
    static long segmentBytes(Path partitionDir) throws Exception {
        try (Stream<Path> files = Files.list(partitionDir)) {
            long total = 0;
            for (Path f : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".log"))::iterator) {
                total += Files.size(f);
            }
            return total;
        }
    }
}
