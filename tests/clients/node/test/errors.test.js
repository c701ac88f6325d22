'use strict';
// Error codes for bad requests, as kafkajs reports them (KafkaJSProtocolError
// .type / .code). This file's broker runs with auto.create.topics.enable=false.

const { describe, it, before, after } = require('node:test');
const { ConfigResourceTypes } = require('kafkajs');
const {
  StromBroker, waitUntil, uniq, collect, assert,
} = require('./helpers');

const TIMEOUT = { timeout: 60_000 };

/** The KafkaJSProtocolError inside `e` (kafkajs wraps some in retry errors). */
function protocolError(e) {
  let x = e;
  for (let i = 0; x && i < 5; i++) {
    if (x.name === 'KafkaJSProtocolError' || x.name === 'KafkaJSCreateTopicError') return x;
    // createTopics reports per-topic errors in a KafkaJSAggregateError.
    x = x.name === 'KafkaJSAggregateError' && x.errors.length === 1 ? x.errors[0] : x.originalError || x.cause;
  }
  return e;
}

/** Asserts `promise` rejects with a kafkajs protocol error of this type and code. */
async function rejectsWith(promise, type, code) {
  await assert.rejects(promise, (e) => {
    const pe = protocolError(e);
    assert.equal(pe.type, type, `${e.name}: ${e.message}`);
    assert.equal(pe.code, code);
    return true;
  });
}

describe('errors', () => {
  const broker = new StromBroker('errors.test.js', { 'auto.create.topics.enable': 'false' });
  let kafka;
  let admin;

  before(async () => {
    await broker.start();
    kafka = broker.kafka('errors-test');
    // Few retries: kafkajs retries retriable codes (UNKNOWN_TOPIC_OR_PARTITION) before reporting them.
    admin = kafka.admin({ retry: { retries: 2, initialRetryTime: 50 } });
    await admin.connect();
  });

  after(async () => {
    if (admin) await admin.disconnect();
    await broker.stop();
  });

  it('errors: createTopics on an existing topic is TOPIC_ALREADY_EXISTS (36), a bad name INVALID_TOPIC_EXCEPTION (17)', TIMEOUT, broker.guard(async () => {
    const topic = uniq('exists');
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), true);
    // kafkajs turns an all-TOPIC_ALREADY_EXISTS answer into `false`.
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), false);
    // Mixed: each topic's own error code.
    const fresh = uniq('fresh');
    await assert.rejects(admin.createTopics({
      topics: [{ topic, numPartitions: 1 }, { topic: 'bad topic name!', numPartitions: 1 }, { topic: fresh, numPartitions: 1 }],
    }), (e) => {
      assert.equal(e.name, 'KafkaJSAggregateError');
      const byTopic = Object.fromEntries(e.errors.map((x) => [x.topic, [x.type, x.code]]));
      assert.deepEqual(byTopic, {
        [topic]: ['TOPIC_ALREADY_EXISTS', 36],
        'bad topic name!': ['INVALID_TOPIC_EXCEPTION', 17],
      });
      return true;
    });
    // The valid topic of that request was created; the existing one is unchanged.
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic, fresh] });
    assert.deepEqual(topics.map((t) => [t.name, t.partitions.length]).sort(), [[fresh, 1], [topic, 2]].sort());
    await rejectsWith(admin.createTopics({ topics: [{ topic: 'x'.repeat(250), numPartitions: 1 }] }), 'INVALID_TOPIC_EXCEPTION', 17);
    await rejectsWith(admin.createTopics({ topics: [{ topic: '..', numPartitions: 1 }] }), 'INVALID_TOPIC_EXCEPTION', 17);
  }));

  it('errors: bad topic configs are INVALID_CONFIG (40), too many replicas INVALID_REPLICATION_FACTOR (38)', TIMEOUT, broker.guard(async () => {
    const topic = uniq('bad-config');
    await rejectsWith(admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: 'soon' }] }],
    }), 'INVALID_CONFIG', 40);
    await rejectsWith(admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'sometimes' }] }],
    }), 'INVALID_CONFIG', 40);
    await rejectsWith(admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] }), 'INVALID_REPLICATION_FACTOR', 38);
    assert.ok(!(await admin.listTopics()).includes(topic), 'nothing created');

    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await rejectsWith(admin.alterConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: 'lots' }] }],
    }), 'INVALID_CONFIG', 40);
  }));

  it('errors: describeConfigs / deleteTopics / createPartitions of an unknown topic are UNKNOWN_TOPIC_OR_PARTITION (3)', TIMEOUT, broker.guard(async () => {
    const missing = uniq('missing');
    await rejectsWith(admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: missing }],
    }), 'UNKNOWN_TOPIC_OR_PARTITION', 3);
    await rejectsWith(admin.deleteTopics({ topics: [missing], timeout: 2_000 }), 'UNKNOWN_TOPIC_OR_PARTITION', 3);
    await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic: missing, count: 3 }] }), 'UNKNOWN_TOPIC_OR_PARTITION', 3);
  }));

  it('errors: createPartitions to fewer or equal partitions is INVALID_PARTITIONS (37)', TIMEOUT, broker.guard(async () => {
    const topic = uniq('shrink');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic, count: 1 }] }), 'INVALID_PARTITIONS', 37);
    await rejectsWith(admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }), 'INVALID_PARTITIONS', 37);
    const { topics: [t] } = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(t.partitions.length, 3);
  }));

  it('errors: producing to an unknown topic with auto-create off is UNKNOWN_TOPIC_OR_PARTITION (3)', TIMEOUT, broker.guard(async () => {
    const missing = uniq('no-such-topic');
    const producer = kafka.producer({ retry: { retries: 2, initialRetryTime: 50 } });
    await producer.connect();
    try {
      await rejectsWith(producer.send({ topic: missing, acks: -1, messages: [{ value: 'x' }] }), 'UNKNOWN_TOPIC_OR_PARTITION', 3);
    } finally {
      await producer.disconnect();
    }
    assert.ok(!(await admin.listTopics()).includes(missing), 'not auto-created');
  }));

  it('errors: a record above max.message.bytes is MESSAGE_TOO_LARGE (10) and nothing is stored', TIMEOUT, broker.guard(async () => {
    const topic = uniq('too-large');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] }] });
    const producer = kafka.producer({ retry: { retries: 2, initialRetryTime: 50 } });
    await producer.connect();
    try {
      await rejectsWith(producer.send({ topic, acks: -1, messages: [{ value: Buffer.alloc(4096, 'y') }] }), 'MESSAGE_TOO_LARGE', 10);
      // A small record still goes through, at offset 0.
      const [r] = await producer.send({ topic, acks: -1, messages: [{ value: 'small' }] });
      assert.equal(Number(r.baseOffset), 0);
    } finally {
      await producer.disconnect();
    }
    const [o] = await admin.fetchTopicOffsets(topic);
    assert.equal(Number(o.high), 1);
  }));

  it('errors: producing to __consumer_offsets is INVALID_TOPIC_EXCEPTION (17)', TIMEOUT, broker.guard(async () => {
    // FindCoordinator (here through fetchOffsets) makes sure the internal topic exists.
    const topic = uniq('for-offsets');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.fetchOffsets({ groupId: uniq('g-internal'), topics: [topic] });
    const producer = kafka.producer({ retry: { retries: 1, initialRetryTime: 50 } });
    await producer.connect();
    try {
      await rejectsWith(producer.send({ topic: '__consumer_offsets', acks: -1, messages: [{ partition: 0, key: 'k', value: 'v' }] }),
        'INVALID_TOPIC_EXCEPTION', 17);
    } finally {
      await producer.disconnect();
    }
  }));

  it('errors: deleting a group with members is NON_EMPTY_GROUP (68), an unknown group GROUP_ID_NOT_FOUND (69)', TIMEOUT, broker.guard(async () => {
    const topic = uniq('group-del');
    const groupId = uniq('g-del');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await collect(consumer, []);
      await waitUntil('group joined', () => joined);
      await assert.rejects(admin.deleteGroups([groupId]), (e) => {
        assert.equal(e.name, 'KafkaJSDeleteGroupsError');
        assert.deepEqual(e.groups.map((g) => [g.groupId, g.errorCode, g.error.type]), [[groupId, 68, 'NON_EMPTY_GROUP']]);
        return true;
      });
    } finally {
      await consumer.disconnect();
    }
    const unknown = uniq('g-unknown');
    await assert.rejects(admin.deleteGroups([unknown]), (e) => {
      assert.equal(e.name, 'KafkaJSDeleteGroupsError');
      assert.deepEqual(e.groups.map((g) => [g.groupId, g.errorCode, g.error.type]), [[unknown, 69, 'GROUP_ID_NOT_FOUND']]);
      return true;
    });
    // Once empty it can be deleted.
    const res = await admin.deleteGroups([groupId]);
    assert.deepEqual(res.map((g) => [g.groupId, g.errorCode]), [[groupId, 0]]);
  }));

  it('errors: deleteTopicRecords beyond the high watermark is OFFSET_OUT_OF_RANGE (1)', TIMEOUT, broker.guard(async () => {
    const topic = uniq('delete-beyond');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
    } finally {
      await producer.disconnect();
    }
    // (kafkajs's deleteTopicRecords needs the topic's metadata loaded in the admin
    // client, else it fails with "Could not find the leader": fetchTopicOffsets loads it.)
    const [before] = await admin.fetchTopicOffsets(topic);
    assert.equal(Number(before.high), 2);
    await assert.rejects(admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] }), (err) => {
      // kafkajs's retrier wraps the non-retriable error (KafkaJSNonRetriableError, cause = it).
      const e = err.name === 'KafkaJSNonRetriableError' ? err.cause : err;
      assert.equal(e.name, 'KafkaJSDeleteTopicRecordsError');
      assert.deepEqual(e.partitions.map((p) => [p.partition, p.error.type, p.error.code]), [[0, 'OFFSET_OUT_OF_RANGE', 1]]);
      return true;
    });
    const [o] = await admin.fetchTopicOffsets(topic);
    assert.deepEqual([Number(o.low), Number(o.high)], [0, 2]);
  }));

  it('errors: a transactional producer is refused cleanly (transactions are not built in Strom)', TIMEOUT, broker.guard(async () => {
    // Strom refuses InitProducerId with a transactional id (INVALID_REQUEST, 42)
    // until transactions exist; kafkajs reports that error from transaction().
    const producer = kafka.producer({
      transactionalId: uniq('tx'), idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, initialRetryTime: 50 },
    });
    await producer.connect();
    try {
      await rejectsWith(producer.transaction(), 'INVALID_REQUEST', 42);
    } finally {
      await producer.disconnect();
    }
  }));
});
