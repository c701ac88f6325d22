'use strict';
// Shared by every test file: a real strom-broker process per file (StromBroker),
// kafkajs clients pointed at it, polling with a deadline, and Java's murmur2
// computed here independently of kafkajs.

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { Kafka, logLevel } = require('kafkajs');

const REPO = path.resolve(__dirname, '..', '..', '..', '..');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const LISTENING = /listening on (\S+)/;

/** SIGTERM/SIGINT end the process through process.exit, so 'exit' handlers run. */
let signalExitInstalled = false;
function installSignalExit() {
  if (signalExitInstalled) return;
  signalExitInstalled = true;
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.once(sig, () => process.exit(128 + os.constants.signals[sig]));
  }
}

function brokerBinary() {
  const env = process.env.STROM_BROKER_BIN;
  return env ? path.resolve(env) : path.join(REPO, 'target', 'debug', 'strom-broker');
}

/**
 * One strom-broker process: `await broker.start()` in a `before` hook,
 * `await broker.stop()` in `after`. Listens on 127.0.0.1:0; `bootstrap` is the
 * HOST:PORT it printed. `extraProps` are more server.properties lines.
 */
class StromBroker {
  constructor(name, extraProps = {}) {
    this.name = name;
    this.extraProps = extraProps;
    this.stdout = [];
    this.clientLogs = [];
    this.proc = null;
    this.bootstrap = null;
    this.exit = null;
  }

  async start() {
    const binary = brokerBinary();
    try {
      fs.accessSync(binary, fs.constants.X_OK);
    } catch {
      throw new Error(`strom-broker not found or not executable: ${binary} ` +
        '(build it with `cargo build --workspace`, or set STROM_BROKER_BIN)');
    }
    this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strom-node-it-'));
    this.dataDir = path.join(this.workDir, 'data');
    fs.mkdirSync(this.dataDir);
    const props = {
      'node.id': '1',
      'listeners': 'PLAINTEXT://127.0.0.1:0',
      'log.dirs': this.dataDir,
      'group.initial.rebalance.delay.ms': '0',
      ...this.extraProps,
    };
    this.config = path.join(this.workDir, 'server.properties');
    fs.writeFileSync(this.config, `# written by tests/clients/node for ${this.name}\n` +
      Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    this.stderrFile = path.join(this.workDir, 'broker.stderr');
    const stderrFd = fs.openSync(this.stderrFile, 'w');
    this.proc = spawn(binary, [this.config], { cwd: this.workDir, stdio: ['ignore', 'pipe', stderrFd] });
    fs.closeSync(stderrFd);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => {
      this.exit = { code, signal };
      process.removeListener('exit', this.onExit);
      resolve(this.exit);
    }));
    // If this test process ends without `after` (the runner cancels a file on its
    // timeout with a signal), do not leave the broker or its temp dir behind.
    this.onExit = () => {
      if (this.exit === null) this.proc.kill('SIGKILL');
      fs.rmSync(this.workDir, { recursive: true, force: true });
    };
    process.on('exit', this.onExit);
    installSignalExit();
    // Keep draining stdout for the life of the process, so it never blocks on a full pipe.
    const lines = readline.createInterface({ input: this.proc.stdout });
    const ready = new Promise((resolve, reject) => {
      lines.on('line', (line) => {
        this.stdout.push(line);
        if (this.stdout.length > 200) this.stdout.shift();
        const m = LISTENING.exec(line);
        if (m && !this.bootstrap) {
          this.bootstrap = m[1];
          resolve(m[1]);
        }
      });
      this.exited.then(() => reject(new Error('strom-broker exited before it was ready')));
      this.proc.on('error', reject);
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(
        `strom-broker printed no 'listening on HOST:PORT' within ${READY_TIMEOUT_MS / 1000}s`)), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([ready, timeout]);
    } catch (e) {
      console.error(`=== ${this.name}: ${e.message} ===\n${this.diagnostics()}`);
      await this.stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return this.bootstrap;
  }

  /** SIGTERM; expects exit code 0 within 20 s (SIGKILL after that); deletes the temp dir. */
  async stop() {
    try {
      if (this.proc && this.exit === null) {
        this.proc.kill('SIGTERM');
        let timer;
        const result = await Promise.race([
          this.exited,
          new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS); }),
        ]);
        clearTimeout(timer);
        if (result === null) {
          console.error(`WARNING: strom-broker did not exit within ${STOP_TIMEOUT_MS / 1000}s of SIGTERM; killing it\n` +
            this.diagnostics());
          this.proc.kill('SIGKILL');
          await this.exited;
          throw new Error('strom-broker did not exit after SIGTERM');
        }
        if (result.code !== 0) {
          console.error(`WARNING: strom-broker exited with ${JSON.stringify(result)} after SIGTERM\n${this.diagnostics()}`);
          throw new Error(`strom-broker exited with ${JSON.stringify(result)} after SIGTERM, expected code 0`);
        }
      }
    } finally {
      if (this.workDir) fs.rmSync(this.workDir, { recursive: true, force: true });
    }
  }

  diagnostics() {
    const out = [`--- strom-broker ${this.name}: ${this.proc === null ? 'not started'
      : this.exit === null ? `running at ${this.bootstrap}` : `exited ${JSON.stringify(this.exit)}`}`];
    out.push('--- stdout (last 40 lines) ---', ...this.stdout.slice(-40));
    out.push(`--- stderr (last 60 lines of ${this.stderrFile}) ---`);
    try {
      out.push(...fs.readFileSync(this.stderrFile, 'utf8').split('\n').slice(-60));
    } catch (e) {
      out.push(`<cannot read: ${e.message}>`);
    }
    out.push('--- kafkajs log (last 60 lines) ---', ...this.clientLogs.slice(-60));
    return out.join('\n');
  }

  /** A kafkajs client for this broker. Its log is kept and printed when a test fails. */
  kafka(clientId = 'strom-node-it', extra = {}) {
    const logs = this.clientLogs;
    return new Kafka({
      clientId,
      brokers: [this.bootstrap],
      connectionTimeout: 5_000,
      requestTimeout: 15_000,
      retry: { initialRetryTime: 100, retries: 8 },
      logLevel: logLevel.INFO,
      logCreator: () => ({ namespace, level, log }) => {
        const { message, timestamp, ...rest } = log;
        logs.push(`${timestamp} ${logLevel[level] ?? level} [${namespace}] ${message} ${JSON.stringify(rest)}`);
        if (logs.length > 2000) logs.splice(0, 1000);
      },
      ...extra,
    });
  }

  /** The path of a partition's first segment in this broker's log dir. */
  segmentPath(topic, partition) {
    return path.join(this.dataDir, `${topic}-${partition}`, '00000000000000000000.log');
  }

  /** cluster.id from the log dir's meta.properties (as kafka-storage.sh writes it). */
  clusterIdOnDisk() {
    const text = fs.readFileSync(path.join(this.dataDir, 'meta.properties'), 'utf8');
    const m = /^cluster\.id=(.*)$/m.exec(text);
    return m && m[1].trim();
  }

  /**
   * Wraps a test body: on failure prints the broker's diagnostics (stdout, stderr
   * tail, kafkajs log) before rethrowing.
   */
  guard(fn) {
    return async (t) => {
      try {
        await fn(t);
      } catch (e) {
        console.error(`=== ${t.name} failed ===\n${this.diagnostics()}`);
        throw e;
      }
    };
  }
}

/** Polls `cond` (sync or async) every 20-250 ms until truthy; fails after `timeoutMs`. */
async function waitUntil(what, cond, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let backoff = 20;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new assert.AssertionError({ message: `timed out after ${timeoutMs / 1000}s waiting for ${what}` });
    await new Promise((r) => setTimeout(r, backoff)); // back-off between polls of a condition
    backoff = Math.min(backoff * 2, 250);
  }
}

/** Java's Utils.murmur2 (org.apache.kafka.common.utils), as a signed 32-bit int. */
function murmur2(data) {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(String(data), 'utf8');
  const length = buf.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (seed ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (buf[i4] & 0xff) + ((buf[i4 + 1] & 0xff) << 8) + ((buf[i4 + 2] & 0xff) << 16) + ((buf[i4 + 3] & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  switch (length % 4) {
    case 3: h ^= (buf[tail + 2] & 0xff) << 16; // falls through
    case 2: h ^= (buf[tail + 1] & 0xff) << 8; // falls through
    case 1:
      h ^= buf[tail] & 0xff;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Java's DefaultPartitioner (and kafkajs's default) picks for a key. */
function javaPartition(key, numPartitions) {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}

/**
 * Reads the record batches of a segment file: [{ baseOffset, lastOffsetDelta,
 * magic, attributes, codec, producerId, producerEpoch, baseSequence, count }].
 */
function readBatches(file) {
  const buf = fs.readFileSync(file);
  const batches = [];
  let pos = 0;
  while (pos + 12 <= buf.length) {
    const batchLength = buf.readInt32BE(pos + 8);
    if (batchLength <= 0 || pos + 12 + batchLength > buf.length) break;
    const attributes = buf.readInt16BE(pos + 21);
    batches.push({
      baseOffset: Number(buf.readBigInt64BE(pos)),
      magic: buf.readInt8(pos + 16),
      attributes,
      codec: attributes & 0x7,
      lastOffsetDelta: buf.readInt32BE(pos + 23),
      producerId: Number(buf.readBigInt64BE(pos + 43)),
      producerEpoch: buf.readInt16BE(pos + 51),
      baseSequence: buf.readInt32BE(pos + 53),
      count: buf.readInt32BE(pos + 57),
    });
    pos += 12 + batchLength;
  }
  return batches;
}

/** A unique name for a topic or group of one test. */
let seq = 0;
function uniq(prefix) {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}`;
}

/**
 * Runs a consumer that collects every message into `out` (an array of
 * { topic, partition, offset:Number, key, value, headers, timestamp }).
 */
async function collect(consumer, out, opts = {}) {
  await consumer.run({
    ...opts,
    eachMessage: async ({ topic, partition, message }) => {
      out.push({
        topic,
        partition,
        offset: Number(message.offset),
        key: message.key === null ? null : message.key.toString(),
        value: message.value === null ? null : message.value.toString(),
        headers: Object.fromEntries(Object.entries(message.headers || {}).map(([k, v]) => [k, v === null || v === undefined ? v : v.toString()])),
        timestamp: Number(message.timestamp),
      });
    },
  });
}

/** Groups records by partition: Map partition -> array (in arrival order). */
function byPartition(records) {
  const m = new Map();
  for (const r of records) {
    if (!m.has(r.partition)) m.set(r.partition, []);
    m.get(r.partition).push(r);
  }
  return m;
}

module.exports = {
  StromBroker, waitUntil, murmur2, javaPartition, readBatches, uniq, collect, byPartition, assert,
};
