//! Criterion benches of the storage engine's hot paths, so a regression shows up
//! without a full `bench/run.sh`:
//!
//! - `append`: one producer batch (16 records of 1 KiB) appended to a partition
//!   log (page-cache policy: no fsync per append, as Kafka's default).
//! - `offset_lookup`: `read` of one batch at a random offset of a 100 000-record
//!   log spread over many segments (index lookup + positional read).
//! - `fetch_read`: a 1 MiB fetch from the start of a warm log.
//!
//!     cargo bench -p strom-log --bench log
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strom_log::{LogConfig, PartitionLog};

const RECORDS_PER_BATCH: usize = 16;
const VALUE_LEN: usize = 1024;

fn batch() -> Bytes {
    let records: Vec<Record> = (0..RECORDS_PER_BATCH)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: 1_700_000_000_000 + i as i64,
            key: None,
            value: Some(Bytes::from(vec![b'x'; VALUE_LEN])),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 8 * 1024 * 1024,
        segment_ms: None,
        ..LogConfig::default()
    }
}

fn filled_log(dir: &std::path::Path, batches: usize) -> PartitionLog {
    let log = PartitionLog::open(dir, config()).expect("open log");
    let b = batch();
    for _ in 0..batches {
        log.append(b.clone()).expect("append");
    }
    log
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = PartitionLog::open(dir.path(), config()).expect("open log");
    let b = batch();
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Bytes(b.len() as u64));
    group.bench_function("16x1KiB", |bench| {
        bench.iter_batched(
            || b.clone(),
            |b| log.append(b).expect("append"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn offset_lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = 100_000 / RECORDS_PER_BATCH;
    let log = filled_log(dir.path(), batches);
    let end = log.log_end_offset();
    let mut next: u64 = 0x9e37_79b9_7f4a_7c15;
    c.bench_function("offset_lookup/random", |bench| {
        bench.iter(|| {
            next ^= next << 13;
            next ^= next >> 7;
            next ^= next << 17;
            let offset = (next % end as u64) as i64;
            black_box(log.read(offset, 1, true).expect("read"))
        })
    });
}

fn fetch_read(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = filled_log(dir.path(), 4096);
    let mut group = c.benchmark_group("fetch_read");
    group.throughput(Throughput::Bytes(1024 * 1024));
    group.bench_function("1MiB", |bench| {
        bench.iter(|| black_box(log.read(0, 1024 * 1024, true).expect("read")))
    });
    group.finish();
}

criterion_group!(benches, append, offset_lookup, fetch_read);
criterion_main!(benches);
