'use strict';
// kafkajs consumer: consumer.run with eachMessage / eachBatch, fromBeginning vs
// latest, seek (also to an offset found by timestamp), pause/resume.

const { describe, it, before, after } = require('node:test');
const {
  StromBroker, waitUntil, javaPartition, uniq, collect, byPartition, assert,
} = require('./helpers');

const TIMEOUT = { timeout: 60_000 };

describe('consumer', () => {
  const broker = new StromBroker('consumer.test.js');
  let kafka;
  let admin;
  let producer;

  before(async () => {
    await broker.start();
    kafka = broker.kafka('consumer-test');
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

  function consumerFor(groupId, extra = {}) {
    return kafka.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 10_000, heartbeatInterval: 1_000, ...extra });
  }

  /** Produces `n` records value-0..n-1 with keys spread over the topic's partitions. */
  async function produce(topic, n, from = 0, extra = {}) {
    const messages = Array.from({ length: n }, (_, j) => ({ key: `k${(from + j) % 7}`, value: `v-${from + j}`, ...extra }));
    await producer.send({ topic, acks: -1, messages });
    return messages;
  }

  it('consume: eachMessage from the beginning reads every record once, in order per partition', TIMEOUT, broker.guard(async () => {
    const topic = uniq('each-message');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const sent = await produce(topic, 90);
    const consumer = consumerFor(uniq('g-each-message'));
    const got = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await collect(consumer, got);
      await waitUntil('90 records', () => got.length >= 90);
    } finally {
      await consumer.disconnect();
    }
    assert.equal(got.length, 90);
    const sentBy = new Map();
    for (const m of sent) {
      const p = javaPartition(m.key, 3);
      if (!sentBy.has(p)) sentBy.set(p, []);
      sentBy.get(p).push(m.value);
    }
    for (const [p, recs] of byPartition(got)) {
      assert.deepEqual(recs.map((r) => r.value), sentBy.get(p), `partition ${p} in order`);
      assert.deepEqual(recs.map((r) => r.offset), recs.map((_, j) => j));
    }
  }));

  it('consume: without fromBeginning a new group starts at the log end', TIMEOUT, broker.guard(async () => {
    const topic = uniq('latest');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await produce(topic, 5);
    const consumer = consumerFor(uniq('g-latest'));
    const got = [];
    let fetches = 0;
    consumer.on(consumer.events.FETCH, () => { fetches += 1; });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await collect(consumer, got);
      // A completed fetch means the start position (ListOffsets latest = 5) is resolved.
      await waitUntil('first fetch', () => fetches > 0);
      await produce(topic, 3, 100);
      await waitUntil('3 new records', () => got.length >= 3);
    } finally {
      await consumer.disconnect();
    }
    // None of the 5 records produced before the group existed is delivered.
    assert.deepEqual(got.map((r) => [r.offset, r.value]), [[5, 'v-100'], [6, 'v-101'], [7, 'v-102']]);
  }));

  it('consume: eachBatch delivers batches with offsets, high watermark, resolveOffset', TIMEOUT, broker.guard(async () => {
    const topic = uniq('each-batch');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 2, value: `b-${i}` })) });
    const groupId = uniq('g-each-batch');
    const consumer = consumerFor(groupId);
    const got = [];
    const batches = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
          batches.push({
            partition: batch.partition,
            first: Number(batch.firstOffset()),
            last: Number(batch.lastOffset()),
            high: Number(batch.highWatermark),
            n: batch.messages.length,
            lag: Number(batch.offsetLag()),
          });
          for (const m of batch.messages) {
            if (!isRunning()) break;
            got.push({ partition: batch.partition, offset: Number(m.offset), value: m.value.toString() });
            resolveOffset(m.offset);
          }
          await heartbeat();
        },
      });
      await waitUntil('40 records', () => got.length >= 40);
      // Auto-commit of resolved offsets: the group's committed offsets reach 20 / 20.
      await waitUntil('committed 20/20', async () => {
        const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return t.partitions.every((p) => Number(p.offset) === 20);
      });
    } finally {
      await consumer.disconnect();
    }
    assert.equal(got.length, 40);
    for (const b of batches) {
      assert.equal(b.high, 20, 'high watermark of each partition');
      assert.equal(b.last - b.first + 1, b.n, 'dense offsets inside a batch');
      assert.equal(b.lag, 20 - 1 - b.last, 'offsetLag = high - 1 - lastOffset');
    }
    for (const [p, recs] of byPartition(got)) {
      assert.deepEqual(recs.map((r) => r.offset), Array.from({ length: 20 }, (_, j) => j));
      assert.deepEqual(recs.map((r) => r.value), Array.from({ length: 20 }, (_, j) => `b-${2 * j + p}`));
    }
  }));

  it('consume: seek to an offset, and to the offset fetchTopicOffsetsByTimestamp finds', TIMEOUT, broker.guard(async () => {
    const topic = uniq('seek');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const base = Date.now() - 600_000;
    // Partition 0: timestamps base + 1000*i; partition 1: 10 records too.
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 20 }, (_, i) => ({
        partition: i % 2, value: `s-${i}`, timestamp: String(base + 1000 * Math.floor(i / 2)),
      })),
    });
    // The first offset with timestamp >= base + 3500 is 4 on both partitions.
    const byTs = await admin.fetchTopicOffsetsByTimestamp(topic, base + 3500);
    assert.deepEqual(byTs.map((o) => [o.partition, Number(o.offset)]).sort(), [[0, 4], [1, 4]]);
    // Past the last timestamp: kafkajs answers with the high watermark.
    const late = await admin.fetchTopicOffsetsByTimestamp(topic, base + 60_000);
    assert.deepEqual(late.map((o) => [o.partition, Number(o.offset)]).sort(), [[0, 10], [1, 10]]);

    const consumer = consumerFor(uniq('g-seek'));
    const got = [];
    let seeked = false;
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.push({ partition, offset: Number(message.offset), ts: Number(message.timestamp) });
        },
      });
      // seek() after run(): partition 0 to the offset found by timestamp, partition 1 to 7.
      consumer.seek({ topic, partition: 0, offset: byTs.find((o) => o.partition === 0).offset });
      consumer.seek({ topic, partition: 1, offset: '7' });
      seeked = true;
      await waitUntil('both partitions read to the end after seeking', () => {
        const p0 = got.filter((r) => r.partition === 0);
        const p1 = got.filter((r) => r.partition === 1);
        return p0.length && p0[p0.length - 1].offset === 9 && p1.length && p1[p1.length - 1].offset === 9;
      });
    } finally {
      await consumer.disconnect();
    }
    assert.ok(seeked);
    // Whatever was fetched before the seek took effect, the records after it are the
    // seek target onwards, in order: p0 ends with 4..9, p1 with 7..9.
    const p0 = got.filter((r) => r.partition === 0).map((r) => r.offset);
    const p1 = got.filter((r) => r.partition === 1).map((r) => r.offset);
    assert.deepEqual(p0.slice(p0.lastIndexOf(4)), [4, 5, 6, 7, 8, 9], `partition 0: ${p0}`);
    assert.deepEqual(p1.slice(p1.lastIndexOf(7)), [7, 8, 9], `partition 1: ${p1}`);
    const p0ts = got.filter((r) => r.partition === 0 && r.offset === 4).map((r) => r.ts);
    assert.ok(p0ts.every((t) => t === base + 4000), 'timestamp of offset 4 as produced');
  }));

  it('consume: seek before any fetch starts exactly at the sought offset', TIMEOUT, broker.guard(async () => {
    const topic = uniq('seek-first');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await produce(topic, 30);
    const consumer = consumerFor(uniq('g-seek-first'));
    const got = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      // Seek as soon as the partition is assigned, before run() fetches anything.
      consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek({ topic, partition: 0, offset: '25' }));
      await collect(consumer, got);
      await waitUntil('offsets 25..29', () => got.length >= 5);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(got.map((r) => r.offset), [25, 26, 27, 28, 29]);
    assert.deepEqual(got.map((r) => r.value), ['v-25', 'v-26', 'v-27', 'v-28', 'v-29']);
  }));

  it('consume: pause stops one partition while the other flows; resume delivers the rest', TIMEOUT, broker.guard(async () => {
    const topic = uniq('pause');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const consumer = consumerFor(uniq('g-pause'));
    const got = [];
    let assigned = false;
    let fetchStarts = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => { assigned = true; });
    consumer.on(consumer.events.FETCH_START, () => { fetchStarts += 1; });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await collect(consumer, got);
      await waitUntil('assignment', () => assigned);
      consumer.pause([{ topic, partitions: [0] }]);
      assert.deepEqual(consumer.paused(), [{ topic, partitions: [0] }]);
      // Fetches started from now on leave partition 0 out.
      const startsAtPause = fetchStarts;
      await waitUntil('a fetch started after the pause', () => fetchStarts > startsAtPause);
      // Partition 0's records go first, then partition 1's: once all of partition
      // 1's arrived, partition 0 (same fetch requests) would have too, had it not been paused.
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `p0-${i}` })) });
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 1, value: `p1-${i}` })) });
      await waitUntil('partition 1 consumed', () => got.filter((r) => r.partition === 1).length >= 10);
      // One more round of partition 1 so at least one full fetch cycle ran after the pause.
      await producer.send({ topic, acks: -1, messages: [{ partition: 1, value: 'p1-10' }] });
      await waitUntil('partition 1 record 10', () => got.some((r) => r.value === 'p1-10'));
      assert.equal(got.filter((r) => r.partition === 0).length, 0, 'nothing from the paused partition');
      consumer.resume([{ topic, partitions: [0] }]);
      assert.deepEqual(consumer.paused(), []);
      await waitUntil('partition 0 consumed after resume', () => got.filter((r) => r.partition === 0).length >= 10);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(got.filter((r) => r.partition === 0).map((r) => r.value), Array.from({ length: 10 }, (_, i) => `p0-${i}`));
    assert.deepEqual(got.filter((r) => r.partition === 1).map((r) => r.offset), Array.from({ length: 11 }, (_, i) => i));
  }));
});
