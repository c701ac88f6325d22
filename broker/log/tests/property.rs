//! Random appends, reads and restarts checked against a simple model.

mod common;

use common::*;
use kafka_protocol::records::Record;
use strom_log::{LogConfig, PartitionLog, Wait};

/// The model: every record appended, by offset (key id, timestamp).
struct Model {
    records: Vec<(u64, i64)>,
    batch_bounds: Vec<(i64, i64)>,
}

fn check_read(log: &PartitionLog, model: &Model, offset: i64, max_bytes: usize, min_one: bool) {
    let r = log.read(offset, max_bytes, min_one).unwrap();
    // The region to send with sendfile holds exactly the bytes a read returns.
    let region = log
        .read_region(offset, max_bytes, min_one, Wait::Yes)
        .unwrap();
    // Just written, so in the page cache: a read that must not wait finds the
    // same (unless memory pressure evicted it, when it says so).
    match log.read_region(offset, max_bytes, min_one, Wait::No) {
        Ok(cached) => assert_eq!(
            cached.records.as_ref().map(|g| (g.pos, g.len)),
            region.records.as_ref().map(|g| (g.pos, g.len))
        ),
        Err(strom_log::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => panic!("{e}"),
    }
    assert_eq!(
        (
            region.high_watermark,
            region.log_start_offset,
            region.last_stable_offset
        ),
        (r.high_watermark, r.log_start_offset, r.last_stable_offset)
    );
    match &region.records {
        None => assert!(
            r.records.is_empty(),
            "no region for {} bytes",
            r.records.len()
        ),
        Some(g) => assert_eq!(
            g.read(Wait::Yes).unwrap(),
            r.records,
            "region at {offset}, max {max_bytes}"
        ),
    }
    assert_eq!(r.high_watermark, model.records.len() as i64);
    if offset == r.high_watermark {
        assert!(r.records.is_empty());
        return;
    }
    if r.records.is_empty() {
        assert!(!min_one, "min_one_batch returned nothing at {offset}");
        return;
    }
    assert!(r.records.len() <= max_bytes || headers(&r.records).len() == 1);
    let hs = headers(&r.records);
    // The first batch contains the offset; batches are contiguous and whole.
    assert!(hs[0].base_offset <= offset && offset <= hs[0].last_offset());
    assert!(model
        .batch_bounds
        .contains(&(hs[0].base_offset, hs[0].last_offset())));
    for w in hs.windows(2) {
        assert_eq!(w[0].last_offset() + 1, w[1].base_offset);
    }
    let recs: Vec<Record> = decode(&r.records);
    for rec in recs {
        let (id, ts) = model.records[rec.offset as usize];
        assert_eq!(key_id(&rec), id);
        assert_eq!(rec.timestamp, ts);
    }
}

#[test]
fn random_appends_reads_and_restarts() {
    for seed in 1..=4u64 {
        let mut rng = Rng::new(seed * 7919);
        let dir = tempfile::tempdir().unwrap();
        let cfg = LogConfig {
            segment_bytes: 24 * 1024 + rng.below(16 * 1024),
            index_interval_bytes: 1 + rng.below(2048) as u32,
            ..config()
        };
        let mut log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        let mut model = Model {
            records: Vec::new(),
            batch_bounds: Vec::new(),
        };
        let mut next_id = 0u64;
        for step in 0..300 {
            match rng.below(10) {
                0..=5 => {
                    // An append of 1-3 batches of 1-20 records each.
                    let mut parts = Vec::new();
                    let mut ids = Vec::new();
                    for _ in 0..1 + rng.below(3) {
                        let n = 1 + rng.below(20) as usize;
                        let recs: Vec<Record> = (0..n)
                            .map(|_| {
                                let ts = 1_000_000 + rng.below(100_000) as i64;
                                let r = record(next_id, ts, rng.below(300) as usize);
                                ids.push((next_id, ts));
                                next_id += 1;
                                r
                            })
                            .collect();
                        let c = COMPRESSIONS[rng.below(5) as usize];
                        parts.push((encode_batch(&recs, c), n));
                    }
                    let bytes = concat(&parts.iter().map(|p| p.0.clone()).collect::<Vec<_>>());
                    let info = log.append(bytes).unwrap();
                    assert_eq!(info.base_offset, model.records.len() as i64);
                    let mut base = info.base_offset;
                    for (_, n) in &parts {
                        model.batch_bounds.push((base, base + *n as i64 - 1));
                        base += *n as i64;
                    }
                    model.records.extend(ids);
                    assert_eq!(info.last_offset + 1, model.records.len() as i64);
                }
                6..=7 if !model.records.is_empty() => {
                    let offset = rng.below(model.records.len() as u64 + 1) as i64;
                    let max_bytes = rng.below(4000) as usize;
                    check_read(&log, &model, offset, max_bytes, rng.below(2) == 0);
                }
                8 if !model.records.is_empty() => {
                    let target = 1_000_000 + rng.below(110_000) as i64;
                    let want = model
                        .records
                        .iter()
                        .position(|(_, ts)| *ts >= target)
                        .map(|o| (o as i64, model.records[o].1));
                    let got = log
                        .offset_for_timestamp(target)
                        .unwrap()
                        .map(|t| (t.offset, t.timestamp));
                    assert_eq!(got, want, "seed {seed} step {step} target {target}");
                    let max = model.records.iter().map(|r| r.1).max().unwrap();
                    let first = model.records.iter().position(|r| r.1 == max).unwrap();
                    let m = log.max_timestamp().unwrap();
                    assert_eq!((m.timestamp, m.offset), (max, first as i64));
                }
                9 => {
                    // Restart, cleanly or not.
                    if rng.below(2) == 0 {
                        log.close().unwrap();
                    } else {
                        log.flush().unwrap();
                    }
                    drop(log);
                    log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
                    assert_eq!(log.log_end_offset(), model.records.len() as i64);
                }
                _ => {}
            }
        }
        assert!(log.segment_count() > 1, "seed {seed} never rolled");
        let all = read_all_from(&log, 0, 1 + rng.below(5000) as usize);
        assert_eq!(all.len(), model.records.len());
        for (i, r) in all.iter().enumerate() {
            assert_eq!((key_id(r), r.timestamp), model.records[i]);
        }
    }
}
