//! Helpers shared by the integration tests: building record batches with
//! `kafka-protocol`'s encoder, decoding what the log returns, a tiny PRNG.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as KTimestampType,
};
use strom_log::batch::{split_batches, BatchHeader};
use strom_log::{LogConfig, PartitionLog};

pub const COMPRESSIONS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

pub fn config() -> LogConfig {
    LogConfig {
        segment_ms: None,
        ..LogConfig::default()
    }
}

/// A record with key `k{id}`, a value of `value_len` bytes and one header.
pub fn record(id: u64, timestamp: i64, value_len: usize) -> Record {
    let mut headers = kafka_protocol::indexmap::IndexMap::new();
    headers.insert(
        StrBytes::from_string(format!("h{id}")),
        Some(Bytes::from(format!("hv{id}"))),
    );
    let value: Vec<u8> = format!("value-{id}-")
        .bytes()
        .cycle()
        .take(value_len.max(1))
        .collect();
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: KTimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp,
        key: Some(Bytes::from(format!("k{id}"))),
        value: Some(Bytes::from(value)),
        headers,
    }
}

/// One RecordBatch v2 holding `records` (offsets 0.., as a producer sends them).
pub fn encode_batch(records: &[Record], compression: Compression) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            offset: i as i64,
            sequence: if r.producer_id >= 0 {
                i as i32
            } else {
                i as i32 - 1
            },
            ..r.clone()
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

/// `n` records with ids `first_id..`, timestamps `ts + i`, in one batch.
pub fn batch(first_id: u64, n: usize, ts: i64, compression: Compression) -> Bytes {
    let records: Vec<Record> = (0..n)
        .map(|i| record(first_id + i as u64, ts + i as i64, 20))
        .collect();
    encode_batch(&records, compression)
}

pub fn concat(parts: &[Bytes]) -> Bytes {
    let mut b = BytesMut::new();
    for p in parts {
        b.extend_from_slice(p);
    }
    b.freeze()
}

pub fn decode(bytes: &Bytes) -> Vec<Record> {
    let mut b = bytes.clone();
    RecordBatchDecoder::decode_all(&mut b)
        .expect("decode batches")
        .into_iter()
        .flat_map(|set| set.records)
        .collect()
}

pub fn headers(bytes: &[u8]) -> Vec<BatchHeader> {
    split_batches(bytes)
        .expect("whole batches")
        .into_iter()
        .map(|b| BatchHeader::parse(b).expect("header"))
        .collect()
}

/// Every record from `from` to the high watermark, reading `max_bytes` at a time.
pub fn read_all_from(log: &PartitionLog, from: i64, max_bytes: usize) -> Vec<Record> {
    let mut out = Vec::new();
    let mut next = from;
    while next < log.high_watermark() {
        let r = log.read(next, max_bytes, true).expect("read");
        assert!(!r.records.is_empty(), "empty read at {next}");
        for rec in decode(&r.records) {
            if rec.offset >= next {
                next = rec.offset + 1;
                out.push(rec);
            }
        }
    }
    out
}

pub fn read_all(log: &PartitionLog) -> Vec<Record> {
    read_all_from(log, log.log_start_offset(), 64 * 1024)
}

/// Key of a record as an id (`k{id}`).
pub fn key_id(r: &Record) -> u64 {
    let k = r.key.as_ref().expect("key");
    std::str::from_utf8(&k[1..])
        .expect("utf8")
        .parse()
        .expect("id")
}

/// xorshift64*: deterministic randomness without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// A record with the given key and value (`None`: no key / a tombstone).
pub fn kv(key: Option<&str>, value: Option<&str>, timestamp: i64) -> Record {
    Record {
        key: key.map(|k| Bytes::from(k.to_string())),
        value: value.map(|v| Bytes::from(v.to_string())),
        headers: Default::default(),
        ..record(0, timestamp, 1)
    }
}

/// An idempotent producer's batch: `records` with sequences `base_seq..` (wrapping).
pub fn producer_batch(
    producer_id: i64,
    epoch: i16,
    base_seq: i32,
    records: &[Record],
    compression: Compression,
) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            producer_id,
            producer_epoch: epoch,
            offset: i as i64,
            sequence: base_seq.wrapping_add(i as i32),
            ..r.clone()
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

/// `n` records (ids `first_id..`) of an idempotent producer, timestamped now.
pub fn idem_batch(producer_id: i64, epoch: i16, base_seq: i32, first_id: u64, n: usize) -> Bytes {
    let ts = now_ms();
    let records: Vec<Record> = (0..n)
        .map(|i| record(first_id + i as u64, ts, 10))
        .collect();
    producer_batch(producer_id, epoch, base_seq, &records, Compression::None)
}

/// Every record and every batch header from the log start to the high watermark,
/// stepping over gaps and empty batches left by compaction.
pub fn read_everything(log: &PartitionLog) -> (Vec<Record>, Vec<BatchHeader>) {
    let mut records = Vec::new();
    let mut batches = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let r = log.read(next, 64 * 1024, true).expect("read");
        if r.records.is_empty() {
            break;
        }
        for h in headers(&r.records) {
            if h.last_offset() >= next {
                batches.push(h);
            }
        }
        for rec in decode(&r.records) {
            if rec.offset >= next {
                records.push(rec);
            }
        }
        let last = headers(&r.records)
            .last()
            .map(|h| h.last_offset())
            .expect("a batch");
        next = next.max(last + 1);
    }
    (records, batches)
}

pub fn files_with(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}
