'use strict';
// kafkajs producer: acks 0/1/-1, keyed records on the murmur2 partition, headers,
// send/sendBatch, per-partition order; the idempotent producer.

const { describe, it, before, after } = require('node:test');
const {
  StromBroker, waitUntil, murmur2, javaPartition, readBatches, uniq, collect, byPartition, assert,
} = require('./helpers');

const TIMEOUT = { timeout: 60_000 };

describe('producer', () => {
  const broker = new StromBroker('producer.test.js');
  let kafka;
  let admin;

  before(async () => {
    await broker.start();
    kafka = broker.kafka('producer-test');
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    if (admin) await admin.disconnect();
    await broker.stop();
  });

  /** Reads every record of `topic` from the beginning until `count` arrived. */
  async function readAll(topic, count) {
    const consumer = kafka.consumer({ groupId: uniq(`${topic}-reader`), maxWaitTimeInMs: 200 });
    const got = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await collect(consumer, got);
      await waitUntil(`${count} records of ${topic}`, () => got.length >= count);
    } finally {
      await consumer.disconnect();
    }
    assert.equal(got.length, count, `exactly ${count} records of ${topic}`);
    return got;
  }

  it('partitioner: murmur2 here matches the Java client\'s known values and kafkajs', () => {
    // Values from Apache Kafka's UtilsTest.testMurmur2.
    const cases = {
      21: -973932308,
      foobar: -790332482,
      'a-little-bit-long-string': -985981536,
      'a-little-bit-longer-string': -1486304829,
      lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
      abc: 479470107,
    };
    // eslint-disable-next-line global-require
    const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2');
    for (const [key, want] of Object.entries(cases)) {
      assert.equal(murmur2(key), want, `murmur2(${key})`);
      assert.equal(kafkajsMurmur2(key), want, `kafkajs murmur2(${key})`);
    }
  });

  for (const acks of [0, 1, -1]) {
    it(`produce: acks=${acks} keyed records with headers land on the murmur2 partition, in order`, TIMEOUT, broker.guard(async () => {
      const topic = uniq(`acks${acks === -1 ? 'all' : acks}`);
      const partitions = 6;
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] }), true);
      const producer = kafka.producer();
      await producer.connect();
      const n = 60;
      const sent = [];
      try {
        // One send per record so each produce result names exactly one partition.
        for (let i = 0; i < n; i++) {
          const key = `key-${i % 20}`;
          const message = { key, value: `value-${i}`, headers: { idx: String(i), kind: 'node' } };
          const res = await producer.send({ topic, acks, messages: [message] });
          if (acks === 0) {
            // acks=0: the broker sends no response, so kafkajs has no result to give.
            assert.deepEqual(res, []);
            sent.push({ ...message, partition: javaPartition(key, partitions), offset: null });
            continue;
          }
          assert.equal(res.length, 1);
          assert.equal(res[0].topicName, topic);
          assert.equal(res[0].errorCode, 0);
          assert.equal(res[0].partition, javaPartition(key, partitions), `partition the broker reports for ${key}`);
          sent.push({ ...message, partition: res[0].partition, offset: Number(res[0].baseOffset) });
        }
      } finally {
        await producer.disconnect();
      }
      // Offsets are dense per partition, in send order.
      for (const [p, recs] of byPartition(sent)) {
        if (acks !== 0) recs.forEach((r, j) => assert.equal(r.offset, j, `offset of record ${j} of partition ${p}`));
      }
      const got = await readAll(topic, n);
      for (const r of got) {
        assert.equal(r.partition, javaPartition(r.key, partitions), `consumer finds ${r.key} on its murmur2 partition`);
        const i = Number(r.value.slice('value-'.length));
        assert.equal(r.key, `key-${i % 20}`);
        assert.deepEqual(r.headers, { idx: String(i), kind: 'node' });
      }
      // Per-partition order: the consumer sees each partition's records in the order sent.
      const sentBy = byPartition(sent);
      for (const [p, recs] of byPartition(got)) {
        assert.deepEqual(recs.map((r) => r.value), sentBy.get(p).map((r) => r.value), `order of partition ${p}`);
        assert.deepEqual(recs.map((r) => r.offset), recs.map((_, j) => j), `offsets of partition ${p}`);
      }
      const offsets = await admin.fetchTopicOffsets(topic);
      for (const o of offsets) {
        assert.equal(Number(o.high), (sentBy.get(o.partition) || []).length, `high watermark of partition ${o.partition}`);
      }
    }));
  }

  it('produce: sendBatch to two topics, explicit partitions and timestamps, null values, unkeyed round-robin', TIMEOUT, broker.guard(async () => {
    const a = uniq('batch-a');
    const b = uniq('batch-b');
    await admin.createTopics({ topics: [{ topic: a, numPartitions: 3 }, { topic: b, numPartitions: 4 }] });
    const producer = kafka.producer();
    await producer.connect();
    const ts = Date.now() - 3_600_000;
    let res;
    try {
      res = await producer.sendBatch({
        acks: -1,
        topicMessages: [
          {
            topic: a,
            messages: [
              { partition: 2, key: 'p2-a', value: 'one', timestamp: String(ts) },
              { partition: 2, key: 'p2-b', value: null, timestamp: String(ts + 1) },
              { partition: 0, key: null, value: 'no key', timestamp: String(ts + 2) },
            ],
          },
          // 8 unkeyed records: kafkajs's default partitioner spreads them round-robin.
          { topic: b, messages: Array.from({ length: 8 }, (_, i) => ({ value: `rr-${i}` })) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const byTp = Object.fromEntries(res.map((r) => [`${r.topicName}/${r.partition}`, r]));
    assert.equal(Number(byTp[`${a}/2`].baseOffset), 0);
    assert.equal(Number(byTp[`${a}/0`].baseOffset), 0);
    for (const r of res) assert.equal(r.errorCode, 0);
    const gotA = await readAll(a, 3);
    const p2 = gotA.filter((r) => r.partition === 2);
    assert.deepEqual(p2.map((r) => [r.offset, r.key, r.value, r.timestamp]),
      [[0, 'p2-a', 'one', ts], [1, 'p2-b', null, ts + 1]]);
    const p0 = gotA.filter((r) => r.partition === 0);
    assert.deepEqual(p0.map((r) => [r.offset, r.key, r.value, r.timestamp]), [[0, null, 'no key', ts + 2]]);
    const gotB = await readAll(b, 8);
    const counts = [0, 1, 2, 3].map((p) => gotB.filter((r) => r.partition === p).length);
    assert.deepEqual(counts, [2, 2, 2, 2], 'round-robin over 4 partitions');
    assert.deepEqual(gotB.map((r) => r.value).sort(), Array.from({ length: 8 }, (_, i) => `rr-${i}`).sort());
  }));

  it('produce: sending to a new topic auto-creates it with num.partitions (1)', TIMEOUT, broker.guard(async () => {
    const topic = uniq('auto-created');
    assert.ok(!(await admin.listTopics()).includes(topic));
    const producer = kafka.producer(); // allowAutoTopicCreation defaults to true
    await producer.connect();
    let res;
    try {
      res = await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] });
    } finally {
      await producer.disconnect();
    }
    assert.deepEqual(res.map((r) => [r.topicName, r.partition, r.errorCode, Number(r.baseOffset)]), [[topic, 0, 0, 0]]);
    const { topics: [t] } = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(t.partitions.length, 1);
    const got = await readAll(topic, 2);
    assert.deepEqual(got.map((r) => [r.offset, r.key, r.value]), [[0, 'a', '1'], [1, 'b', '2']]);
  }));

  it('idempotence: idempotent producer gets a producer id, dense offsets and no duplicates', TIMEOUT, broker.guard(async () => {
    const topic = uniq('idempotent');
    const partitions = 3;
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const n = 300;
    const perPartition = [0, 0, 0];
    try {
      // Concurrent sends of 10 batches of 30 records (kafkajs queues them one in flight).
      await Promise.all(Array.from({ length: 10 }, (_, b) => producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 30 }, (_, i) => {
          const key = `k-${b}-${i}`;
          perPartition[javaPartition(key, partitions)] += 1;
          return { key, value: `v-${b * 30 + i}` };
        }),
      })));
    } finally {
      await producer.disconnect();
    }
    const got = await readAll(topic, n);
    // No duplicates, nothing lost.
    const values = got.map((r) => r.value);
    assert.equal(new Set(values).size, n);
    // Dense offsets 0..count-1 per partition, and the high watermark agrees.
    for (const [p, recs] of byPartition(got)) {
      assert.deepEqual(recs.map((r) => r.offset), recs.map((_, j) => j), `dense offsets of partition ${p}`);
      assert.equal(recs.length, perPartition[p]);
    }
    const offsets = await admin.fetchTopicOffsets(topic);
    for (const o of offsets) assert.equal(Number(o.high), perPartition[o.partition]);
    // The batches on disk carry a producer id, epoch 0 and consecutive sequences.
    for (let p = 0; p < partitions; p++) {
      const batches = readBatches(broker.segmentPath(topic, p));
      assert.ok(batches.length > 0);
      const pids = new Set(batches.map((x) => x.producerId));
      assert.equal(pids.size, 1, `one producer id on partition ${p}`);
      assert.ok([...pids][0] >= 0, 'producer id assigned by InitProducerId');
      let nextSeq = 0;
      for (const x of batches) {
        assert.equal(x.producerEpoch, 0);
        assert.equal(x.baseSequence, nextSeq, `sequence of the batch at offset ${x.baseOffset}`);
        nextSeq += x.count;
      }
      assert.equal(nextSeq, perPartition[p]);
    }
  }));
});
