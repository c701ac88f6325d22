'use strict';
// kafkajs consumer groups (classic protocol, eager rebalance with kafkajs's
// RoundRobinAssigner): three members share a 6-partition topic, one leaves and
// its partitions move; commits; committed offsets resume a new member.

const { describe, it, before, after } = require('node:test');
const { AssignerProtocol } = require('kafkajs');
const {
  StromBroker, waitUntil, uniq, collect, assert,
} = require('./helpers');

const TIMEOUT = { timeout: 90_000 };
const PARTITIONS = [0, 1, 2, 3, 4, 5];

describe('groups', () => {
  const broker = new StromBroker('groups.test.js');
  let kafka;
  let admin;
  let producer;

  before(async () => {
    await broker.start();
    kafka = broker.kafka('groups-test');
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

  /**
   * A group member that processes every record (eachBatch), then commits the next
   * offset of the batch's partition itself (autoCommit off) and remembers which
   * deliveries a successful commit covered.
   */
  function member(name, groupId, topic, log) {
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 6_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 200,
    });
    const m = { name, consumer, assignment: [], generation: -1, memberId: null };
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      m.assignment = [...(payload.memberAssignment[topic] || [])].sort((a, b) => a - b);
      m.memberId = payload.memberId;
      m.joins = (m.joins || 0) + 1;
    });
    m.start = async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, isRunning, isStale }) => {
          const delivered = [];
          for (const msg of batch.messages) {
            if (!isRunning() || isStale()) break;
            const rec = { member: name, partition: batch.partition, offset: Number(msg.offset), value: msg.value.toString(), committed: false };
            log.push(rec);
            delivered.push(rec);
          }
          if (delivered.length === 0) return;
          const next = String(delivered[delivered.length - 1].offset + 1);
          try {
            await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }]);
            for (const r of delivered) r.committed = true;
          } catch (e) {
            // A commit refused during a rebalance: these deliveries stay uncommitted
            // and the partition's next owner gets them again.
            m.failedCommits = (m.failedCommits || 0) + 1;
          }
        },
      });
    };
    return m;
  }

  /** The group's members and their assignments (decoded), as DescribeGroups reports them. */
  async function describeGroup(groupId, topic) {
    const { groups: [g] } = await admin.describeGroups([groupId]);
    return {
      state: g.state,
      protocol: g.protocol,
      protocolType: g.protocolType,
      members: g.members.map((mm) => ({
        memberId: mm.memberId,
        clientId: mm.clientId,
        partitions: [...((AssignerProtocol.MemberAssignment.decode(mm.memberAssignment) || { assignment: {} }).assignment[topic] || [])].sort((a, b) => a - b),
      })),
    };
  }

  function assertDisjointCover(assignments) {
    const all = assignments.flat().sort((a, b) => a - b);
    assert.deepEqual(all, PARTITIONS, `assignments ${JSON.stringify(assignments)} are disjoint and cover the topic`);
  }

  async function produceRange(topic, from, to) {
    const messages = [];
    for (let i = from; i < to; i++) messages.push({ partition: i % 6, key: `k${i}`, value: `r-${i}` });
    await producer.send({ topic, acks: -1, messages });
  }

  it('groups: three members split 6 partitions, a leaver\'s partitions move, every record consumed and committed', TIMEOUT, broker.guard(async () => {
    const topic = uniq('shared');
    const groupId = uniq('g-shared');
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    const log = [];
    const members = ['a', 'b', 'c'].map((n) => member(n, groupId, topic, log));
    const N = 600;
    try {
      await Promise.all(members.map((m) => m.start()));
      // All three joined one generation: disjoint assignments covering 0..5, and the
      // coordinator's view (DescribeGroups) agrees member by member.
      const stable3 = await waitUntil('3 members stable with disjoint assignments', async () => {
        const d = await describeGroup(groupId, topic);
        if (d.state !== 'Stable' || d.members.length !== 3) return null;
        const mine = members.map((m) => d.members.find((x) => x.memberId === m.memberId));
        if (mine.some((x) => !x)) return null;
        if (mine.some((x, i) => JSON.stringify(x.partitions) !== JSON.stringify(members[i].assignment))) return null;
        return d;
      }, 45_000);
      assert.equal(stable3.protocolType, 'consumer');
      assert.equal(stable3.protocol, 'RoundRobinAssigner');
      assertDisjointCover(members.map((m) => m.assignment));
      for (const m of members) assert.equal(m.assignment.length, 2, `${m.name} owns 2 partitions`);

      await produceRange(topic, 0, N / 2);
      await waitUntil('first half consumed and committed', () => log.filter((r) => r.committed).length >= N / 2 &&
        new Set(log.filter((r) => r.committed).map((r) => r.value)).size === N / 2, 30_000);
      const owned = Object.fromEntries(members.map((m) => [m.name, m.assignment]));
      for (const r of log) assert.ok(owned[r.member].includes(r.partition), `${r.member} consumed only its own partitions`);

      // Member c leaves cleanly (LeaveGroup); a and b take over all six partitions.
      const leaver = members[2];
      await leaver.consumer.disconnect();
      const rest = members.slice(0, 2);
      await waitUntil('2 members stable owning all partitions', async () => {
        const d = await describeGroup(groupId, topic);
        if (d.state !== 'Stable' || d.members.length !== 2) return false;
        const mine = rest.map((m) => d.members.find((x) => x.memberId === m.memberId));
        if (mine.some((x) => !x)) return false;
        if (mine.some((x, i) => JSON.stringify(x.partitions) !== JSON.stringify(rest[i].assignment))) return false;
        return rest.map((m) => m.assignment).flat().length === 6;
      }, 45_000);
      assertDisjointCover(rest.map((m) => m.assignment));
      for (const p of leaver.assignment) {
        assert.ok(rest.some((m) => m.assignment.includes(p)), `partition ${p} of the leaver moved`);
      }

      await produceRange(topic, N / 2, N);
      await waitUntil('all records consumed and committed', () =>
        new Set(log.filter((r) => r.committed).map((r) => r.value)).size === N, 30_000);
      // Records of the leaver's former partitions produced after it left went to a and b.
      for (const r of log.filter((x) => Number(x.value.slice(2)) >= N / 2)) {
        assert.notEqual(r.member, 'c');
      }
      // Every record consumed; one delivered twice only if its first delivery was never committed.
      const seen = new Map();
      for (const r of log) {
        const prev = seen.get(r.value);
        if (prev) assert.ok(prev.every((x) => !x.committed), `${r.value} redelivered after a successful commit`);
        seen.set(r.value, [...(prev || []), r]);
      }
      assert.equal(seen.size, N);

      // Committed offsets read back (OffsetFetch) equal the log end offsets (ListOffsets latest).
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      const want = ends.map((o) => [o.partition, Number(o.high)]).sort((x, y) => x[0] - y[0]);
      assert.deepEqual(want, PARTITIONS.map((p) => [p, N / 6]));
      assert.deepEqual(committed.partitions.map((p) => [p.partition, Number(p.offset)]).sort((x, y) => x[0] - y[0]), want);
    } finally {
      await Promise.all(members.map((m) => m.consumer.disconnect()));
    }
    // All members gone: the group is Empty and keeps its offsets.
    const d = await describeGroup(groupId, topic);
    assert.equal(d.state, 'Empty');
    assert.equal(d.members.length, 0);
  }));

  it('groups: auto-committed offsets let a new member of the group resume where the last stopped', TIMEOUT, broker.guard(async () => {
    const topic = uniq('resume');
    const groupId = uniq('g-resume');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: `x-${i}` })) });

    // First member: consumes all 20 with kafkajs's default auto-commit.
    const first = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    const got1 = [];
    await first.connect();
    try {
      await first.subscribe({ topics: [topic], fromBeginning: true });
      await collect(first, got1);
      await waitUntil('20 records', () => got1.length >= 20);
    } finally {
      await first.disconnect(); // commits what it resolved before leaving
    }
    const [c1] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(c1.partitions.map((p) => [p.partition, Number(p.offset)]).sort(), [[0, 10], [1, 10]]);

    // More records; a new member of the same group gets exactly those.
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, value: `y-${i}` })) });
    const second = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    const got2 = [];
    await second.connect();
    try {
      await second.subscribe({ topics: [topic], fromBeginning: true });
      await collect(second, got2);
      await waitUntil('6 new records', () => got2.length >= 6);
    } finally {
      await second.disconnect();
    }
    assert.deepEqual(got2.map((r) => [r.partition, r.offset, r.value]).sort(),
      [[0, 10, 'y-0'], [0, 11, 'y-2'], [0, 12, 'y-4'], [1, 10, 'y-1'], [1, 11, 'y-3'], [1, 12, 'y-5']]);
    const [c2] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(c2.partitions.map((p) => [p.partition, Number(p.offset)]).sort(), [[0, 13], [1, 13]]);
  }));
});
