'use strict';
// kafkajs admin: topics (create/list/metadata/partitions/delete), configs
// (describe/alter), groups (list/describe/delete, fetch/set/reset offsets),
// records (deleteTopicRecords, fetchTopicOffsets[ByTimestamp]), describeCluster.

const { describe, it, before, after } = require('node:test');
const { AssignerProtocol, ConfigResourceTypes, ConfigSource } = require('kafkajs');
const {
  StromBroker, waitUntil, uniq, collect, assert,
} = require('./helpers');

const TIMEOUT = { timeout: 60_000 };

describe('admin', () => {
  const broker = new StromBroker('admin.test.js');
  let kafka;
  let admin;
  let producer;

  before(async () => {
    await broker.start();
    kafka = broker.kafka('admin-test');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });

  after(async () => {
    if (producer) await producer.disconnect();
    if (admin) await admin.disconnect();
    await broker.stop();
  });

  /** configName -> entry, for one topic. */
  async function topicConfigs(topic, configNames, includeSynonyms = false) {
    const { resources } = await admin.describeConfigs({
      includeSynonyms,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames }],
    });
    assert.equal(resources.length, 1);
    assert.equal(resources[0].errorCode, 0);
    assert.equal(resources[0].resourceName, topic);
    return Object.fromEntries(resources[0].configEntries.map((e) => [e.configName, e]));
  }

  it('admin-topics: createTopics (validateOnly, configs), listTopics, fetchTopicMetadata, createPartitions, deleteTopics', TIMEOUT, broker.guard(async () => {
    const t1 = uniq('admin-t1');
    const t2 = uniq('admin-t2');
    const dry = uniq('admin-dry');
    // validateOnly: the request succeeds, nothing is created. (waitForLeaders: false,
    // else kafkajs waits for the metadata of a topic that validateOnly never creates.)
    assert.equal(await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: dry, numPartitions: 4 }] }), true);
    assert.ok(!(await admin.listTopics()).includes(dry), 'validateOnly created nothing');

    assert.equal(await admin.createTopics({
      topics: [
        { topic: t1, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        { topic: t2, numPartitions: 1 },
      ],
    }), true);
    const names = await admin.listTopics();
    assert.ok(names.includes(t1) && names.includes(t2), `listTopics: ${names}`);
    assert.ok(!names.includes(dry));

    const { topics } = await admin.fetchTopicMetadata({ topics: [t1, t2] });
    const meta = Object.fromEntries(topics.map((t) => [t.name, t]));
    assert.deepEqual(meta[t1].partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
    assert.deepEqual(meta[t2].partitions.map((p) => p.partitionId), [0]);
    for (const p of [...meta[t1].partitions, ...meta[t2].partitions]) {
      assert.equal(p.partitionErrorCode, 0);
      assert.equal(p.leader, 1);
      assert.deepEqual(p.replicas, [1]);
      assert.deepEqual(p.isr, [1]);
    }
    // The config given at creation is the topic's override.
    assert.equal((await topicConfigs(t1, ['retention.ms']))['retention.ms'].configValue, '3600000');

    // createPartitions: 3 -> 5; the new partitions take records.
    await admin.createPartitions({ topicPartitions: [{ topic: t1, count: 5 }] });
    const after5 = await admin.fetchTopicMetadata({ topics: [t1] });
    assert.deepEqual(after5.topics[0].partitions.map((p) => p.partitionId).sort(), [0, 1, 2, 3, 4]);
    const res = await producer.send({ topic: t1, acks: -1, messages: [{ partition: 4, value: 'on the new partition' }] });
    assert.deepEqual(res.map((r) => [r.partition, Number(r.baseOffset)]), [[4, 0]]);
    const offs = await admin.fetchTopicOffsets(t1);
    assert.deepEqual(offs.map((o) => [o.partition, Number(o.high)]).sort(), [[0, 0], [1, 0], [2, 0], [3, 0], [4, 1]]);

    // deleteTopics: gone from listTopics.
    await admin.deleteTopics({ topics: [t1, t2] });
    await waitUntil('deleted topics unlisted', async () => {
      const now = await admin.listTopics();
      return !now.includes(t1) && !now.includes(t2);
    });
    // A topic of the same name can be created again, empty.
    assert.equal(await admin.createTopics({ topics: [{ topic: t2, numPartitions: 2 }] }), true);
    const again = await admin.fetchTopicOffsets(t2);
    assert.deepEqual(again.map((o) => [o.partition, Number(o.low), Number(o.high)]).sort(), [[0, 0, 0], [1, 0, 0]]);
  }));

  it('admin-configs: describeConfigs (values, sources, synonyms) and alterConfigs replace a topic\'s overrides', TIMEOUT, broker.guard(async () => {
    const topic = uniq('admin-configs');
    await admin.createTopics({
      topics: [{
        topic,
        numPartitions: 1,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'retention.ms', value: '123456' }],
      }],
    });
    // No configNames (kafkajs sends an empty list): every config of the topic.
    let c = await topicConfigs(topic, undefined, true);
    assert.equal(c['cleanup.policy'].configValue, 'compact');
    assert.equal(c['cleanup.policy'].configSource, ConfigSource.TOPIC_CONFIG);
    assert.equal(c['cleanup.policy'].isDefault, false);
    assert.equal(c['retention.ms'].configValue, '123456');
    assert.equal(c['retention.ms'].configSource, ConfigSource.TOPIC_CONFIG);
    // The first synonym of an override is the override itself.
    assert.deepEqual(
      { ...c['retention.ms'].configSynonyms[0] },
      { configName: 'retention.ms', configValue: '123456', configSource: ConfigSource.TOPIC_CONFIG },
    );
    // Not overridden: Kafka's default, source DEFAULT_CONFIG.
    assert.equal(c['max.message.bytes'].configValue, '1048588');
    assert.equal(c['max.message.bytes'].configSource, ConfigSource.DEFAULT_CONFIG);
    assert.equal(c['max.message.bytes'].isDefault, true);
    assert.equal(c['compression.type'].configValue, 'producer');
    for (const name of ['segment.bytes', 'min.insync.replicas', 'message.timestamp.type', 'delete.retention.ms']) {
      assert.ok(c[name], `${name} described`);
    }

    // configNames limits the answer to those names.
    c = await topicConfigs(topic, ['retention.ms', 'cleanup.policy']);
    assert.deepEqual(Object.keys(c).sort(), ['cleanup.policy', 'retention.ms']);

    // validateOnly changes nothing.
    await admin.alterConfigs({
      validateOnly: true,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '999' }] }],
    });
    assert.equal((await topicConfigs(topic, ['retention.ms']))['retention.ms'].configValue, '123456');

    // AlterConfigs (not incremental) replaces the whole set of overrides: what is not
    // named goes back to its default.
    await admin.alterConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: '2048' }] }],
    });
    c = await topicConfigs(topic, ['max.message.bytes', 'retention.ms', 'cleanup.policy']);
    assert.equal(c['max.message.bytes'].configValue, '2048');
    assert.equal(c['max.message.bytes'].configSource, ConfigSource.TOPIC_CONFIG);
    assert.equal(c['retention.ms'].configValue, '604800000');
    assert.equal(c['retention.ms'].configSource, ConfigSource.DEFAULT_CONFIG);
    assert.equal(c['cleanup.policy'].configValue, 'delete');
    assert.equal(c['cleanup.policy'].configSource, ConfigSource.DEFAULT_CONFIG);

    // The new limit is enforced on produce.
    await assert.rejects(
      producer.send({ topic, acks: -1, messages: [{ value: Buffer.alloc(4096, 'x') }] }),
      (e) => e.type === 'MESSAGE_TOO_LARGE',
    );

    // Broker configs: those of server.properties are STATIC_BROKER_CONFIG.
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['node.id', 'log.dirs', 'num.partitions'] }],
    });
    assert.equal(resources[0].errorCode, 0);
    const b = Object.fromEntries(resources[0].configEntries.map((e) => [e.configName, e]));
    assert.deepEqual(Object.keys(b).sort(), ['log.dirs', 'node.id', 'num.partitions']);
    assert.equal(b['node.id'].configValue, '1');
    assert.equal(b['node.id'].configSource, ConfigSource.STATIC_BROKER_CONFIG);
    assert.equal(b['log.dirs'].configValue, broker.dataDir);
    assert.equal(b['log.dirs'].configSource, ConfigSource.STATIC_BROKER_CONFIG);
    assert.equal(b['num.partitions'].configValue, '1');
    assert.equal(b['num.partitions'].configSource, ConfigSource.DEFAULT_CONFIG);
  }));

  it('admin-groups: listGroups, describeGroups, deleteGroups, fetchOffsets, setOffsets, resetOffsets', TIMEOUT, broker.guard(async () => {
    const topic = uniq('admin-groups');
    const groupId = uniq('g-admin');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `m-${i}` })) });

    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    const got = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await collect(consumer, got);
      await waitUntil('10 records', () => got.length >= 10);
      await waitUntil('offsets committed', async () => {
        const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return t.partitions.every((p) => Number(p.offset) === 5);
      });

      const { groups } = await admin.listGroups();
      assert.deepEqual(groups.filter((g) => g.groupId === groupId), [{ groupId, protocolType: 'consumer' }]);

      const { groups: [g] } = await admin.describeGroups([groupId]);
      assert.equal(g.groupId, groupId);
      assert.equal(g.errorCode, 0);
      assert.equal(g.state, 'Stable');
      assert.equal(g.protocolType, 'consumer');
      assert.equal(g.protocol, 'RoundRobinAssigner');
      assert.equal(g.members.length, 1);
      assert.equal(g.members[0].clientId, 'admin-test');
      const assignment = AssignerProtocol.MemberAssignment.decode(g.members[0].memberAssignment);
      assert.deepEqual([...assignment.assignment[topic]].sort(), [0, 1]);
      const meta = AssignerProtocol.MemberMetadata.decode(g.members[0].memberMetadata);
      assert.deepEqual(meta.topics, [topic]);

      // A group with a member cannot be deleted: NON_EMPTY_GROUP (68).
      await assert.rejects(admin.deleteGroups([groupId]), (e) => {
        assert.equal(e.name, 'KafkaJSDeleteGroupsError');
        assert.equal(e.groups.length, 1);
        assert.equal(e.groups[0].groupId, groupId);
        assert.equal(e.groups[0].errorCode, 68);
        assert.equal(e.groups[0].error.type, 'NON_EMPTY_GROUP');
        return true;
      });
    } finally {
      await consumer.disconnect();
    }
    const { groups: [empty] } = await admin.describeGroups([groupId]);
    assert.equal(empty.state, 'Empty');
    assert.deepEqual(empty.members, []);

    // fetchOffsets / setOffsets / resetOffsets on the empty group. (Each kafkajs
    // setOffsets/resetOffsets/resolveOffsets runs a paused consumer for one fetch
    // cycle, about 5 s: kafkajs's default maxWaitTimeInMs, not configurable there.)
    const offsetsOf = async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.equal(t.topic, topic);
      return t.partitions.map((p) => [p.partition, Number(p.offset)]).sort();
    };
    assert.deepEqual(await offsetsOf(), [[0, 5], [1, 5]]);
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }, { partition: 1, offset: '4' }] });
    assert.deepEqual(await offsetsOf(), [[0, 2], [1, 4]]);

    // A new member starts at the offsets set by the admin.
    const resumed = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    const got2 = [];
    await resumed.connect();
    try {
      await resumed.subscribe({ topics: [topic], fromBeginning: true });
      await collect(resumed, got2);
      await waitUntil('4 records from the set offsets', () => got2.length >= 4);
    } finally {
      await resumed.disconnect();
    }
    assert.deepEqual(got2.map((r) => [r.partition, r.offset]).sort(), [[0, 2], [0, 3], [0, 4], [1, 4]]);
    assert.deepEqual(await offsetsOf(), [[0, 5], [1, 5]]);

    // resetOffsets commits kafkajs's sentinel (-2 = earliest); fetchOffsets with
    // resolveOffsets turns it into the log start offset (ListOffsets) and commits that.
    await admin.resetOffsets({ groupId, topic, earliest: true });
    const [resolved] = await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true });
    assert.deepEqual(resolved.partitions.map((p) => [p.partition, Number(p.offset)]).sort(), [[0, 0], [1, 0]]);
    assert.deepEqual(await offsetsOf(), [[0, 0], [1, 0]]);

    // Delete the (empty) group: unlisted, its offsets gone.
    await admin.deleteGroups([groupId]);
    const { groups: after } = await admin.listGroups();
    assert.ok(!after.some((x) => x.groupId === groupId), 'deleted group unlisted');
    assert.deepEqual(await offsetsOf(), [[0, -1], [1, -1]]);
  }));

  it('admin-records: deleteTopicRecords, fetchTopicOffsets, fetchTopicOffsetsByTimestamp, describeCluster', TIMEOUT, broker.guard(async () => {
    const topic = uniq('admin-records');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const base = Date.now() - 100_000;
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `d-${i}`, timestamp: String(base + 10 * i) })),
    });
    let offs = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(offs.map((o) => [o.partition, Number(o.low), Number(o.high), Number(o.offset)]).sort(),
      [[0, 0, 5, 5], [1, 0, 5, 5]]);

    // Timestamps: partition 0 has base+0,20,40,60,80; partition 1 base+10,30,50,70,90.
    const byTs = await admin.fetchTopicOffsetsByTimestamp(topic, base + 45);
    assert.deepEqual(byTs.map((o) => [o.partition, Number(o.offset)]).sort(), [[0, 3], [1, 2]]);
    const first = await admin.fetchTopicOffsetsByTimestamp(topic, base - 1);
    assert.deepEqual(first.map((o) => [o.partition, Number(o.offset)]).sort(), [[0, 0], [1, 0]]);

    // Delete records before offset 3 of partition 0, and all of partition 1 (-1 = high watermark).
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '-1' }] });
    offs = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(offs.map((o) => [o.partition, Number(o.low), Number(o.high)]).sort(), [[0, 3, 5], [1, 5, 5]]);

    // A consumer from the beginning starts at the new log start offsets.
    const consumer = kafka.consumer({ groupId: uniq('g-after-delete'), maxWaitTimeInMs: 200 });
    const got = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await collect(consumer, got);
      await waitUntil('2 records left', () => got.length >= 2);
      await producer.send({ topic, acks: -1, messages: [{ partition: 1, value: 'after' }] });
      await waitUntil('the new record', () => got.length >= 3);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(got.map((r) => [r.partition, r.offset, r.value]).sort(),
      [[0, 3, 'd-6'], [0, 4, 'd-8'], [1, 5, 'after']]);

    // describeCluster: one broker, node 1, at the address we bootstrapped from.
    const cluster = await admin.describeCluster();
    const [host, port] = broker.bootstrap.split(':');
    assert.deepEqual(cluster.brokers, [{ nodeId: 1, host, port: Number(port) }]);
    assert.equal(cluster.controller, 1);
    assert.equal(cluster.clusterId, broker.clusterIdOnDisk());
    assert.ok(cluster.clusterId && cluster.clusterId.length >= 22, `cluster id ${cluster.clusterId}`);
  }));
});
