'use strict';
// Compression: kafkajs has gzip built in; snappy (kafkajs-snappy, snappyjs), lz4
// (kafkajs-lz4, lz4) and zstd (@sensejs/kafkajs-zstd-support, zstd-napi) are codec
// packages registered in kafkajs's CompressionCodecs. For each codec: batches the
// client compressed are stored with that codec (read off the broker's segment file)
// and read back intact; and a topic whose compression.type is the codec makes the
// broker recompress uncompressed batches, which kafkajs decompresses.

const { describe, it, before, after } = require('node:test');
const { CompressionTypes, CompressionCodecs } = require('kafkajs');
const SnappyCodec = require('kafkajs-snappy');
const LZ4Codec = require('kafkajs-lz4');
const {
  StromBroker, waitUntil, readBatches, uniq, collect, assert,
} = require('./helpers');

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;

const TIMEOUT = { timeout: 60_000 };
// Kafka's codec ids (the low 3 bits of a record batch's attributes).
const CODECS = [
  { name: 'gzip', type: CompressionTypes.GZIP, id: 1 },
  { name: 'snappy', type: CompressionTypes.Snappy, id: 2 },
  { name: 'lz4', type: CompressionTypes.LZ4, id: 3 },
  { name: 'zstd', type: CompressionTypes.ZSTD, id: 4 },
];

describe('compression', () => {
  const broker = new StromBroker('compression.test.js');
  let kafka;
  let admin;
  let producer;

  before(async () => {
    // Registers CompressionCodecs[ZSTD]. Its CommonJS build is broken (it calls tslib's
    // __importDefault without defining it), so load its ES module build.
    await import('@sensejs/kafkajs-zstd-support');
    assert.equal(typeof CompressionCodecs[CompressionTypes.ZSTD], 'function');
    await broker.start();
    kafka = broker.kafka('compression-test');
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

  const N = 200;
  function messages(tag) {
    // Compressible values, and one large enough to span several lz4 / snappy blocks.
    return Array.from({ length: N }, (_, i) => ({
      key: `key-${i}`,
      value: i === 7 ? `${tag}-big-`.repeat(40_000) : `${tag}-value-${i}-${'abc'.repeat(i % 50)}`,
      headers: { i: String(i), codec: tag },
    }));
  }

  async function readBack(topic) {
    const consumer = kafka.consumer({ groupId: uniq(`${topic}-reader`), maxWaitTimeInMs: 200 });
    const got = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await collect(consumer, got);
      await waitUntil(`${N} records of ${topic}`, () => got.length >= N);
    } finally {
      await consumer.disconnect();
    }
    return got;
  }

  function assertSame(got, sent) {
    assert.equal(got.length, sent.length);
    got.forEach((r, i) => {
      assert.equal(r.offset, i);
      assert.equal(r.key, sent[i].key);
      assert.equal(r.value, sent[i].value, `value of offset ${i}`);
      assert.deepEqual(r.headers, sent[i].headers);
    });
  }

  for (const codec of CODECS) {
    it(`${codec.name}: batches kafkajs compresses are stored as ${codec.name} and read back intact`, TIMEOUT, broker.guard(async () => {
      const topic = uniq(`client-${codec.name}`);
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const sent = messages(codec.name);
      // Two sends: two compressed batches.
      await producer.send({ topic, acks: -1, compression: codec.type, messages: sent.slice(0, 100) });
      await producer.send({ topic, acks: 1, compression: codec.type, messages: sent.slice(100) });
      const batches = readBatches(broker.segmentPath(topic, 0));
      assert.deepEqual(batches.map((b) => [b.baseOffset, b.count, b.magic, b.codec]), [[0, 100, 2, codec.id], [100, 100, 2, codec.id]]);
      assertSame(await readBack(topic), sent);
    }));

    it(`${codec.name}: a topic with compression.type=${codec.name} recompresses, kafkajs decompresses`, TIMEOUT, broker.guard(async () => {
      const topic = uniq(`topic-${codec.name}`);
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: codec.name }] }] });
      const sent = messages(`t${codec.name}`);
      await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: sent });
      const batches = readBatches(broker.segmentPath(topic, 0));
      assert.ok(batches.length >= 1);
      for (const b of batches) assert.equal(b.codec, codec.id, `stored codec of the batch at ${b.baseOffset}`);
      assert.equal(batches.reduce((n, b) => n + b.count, 0), N);
      assertSame(await readBack(topic), sent);
    }));
  }
});
