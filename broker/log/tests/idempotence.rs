//! Idempotent producers: duplicates, sequence and epoch checks, producer state
//! snapshots across restarts and crashes, expiry.

mod common;

use std::fs::OpenOptions;
use std::io::Write;

use common::*;
use kafka_protocol::records::Compression;
use strom_log::{Error, LogConfig, PartitionLog};

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        ..config()
    }
}

#[test]
fn duplicate_batches_get_the_original_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let first = log.append(idem_batch(7, 0, 0, 0, 3)).unwrap();
    assert_eq!(
        (first.base_offset, first.last_offset, first.duplicate),
        (0, 2, false)
    );
    log.append(batch(100, 2, 0, Compression::None)).unwrap(); // a plain producer
    for seq in [3, 4, 5, 6] {
        log.append(idem_batch(7, 0, seq, u64::from(seq as u32), 1))
            .unwrap();
    }
    let end = log.log_end_offset();
    // A retry of the first batch (still among the last five): the original offsets.
    let dup = log.append(idem_batch(7, 0, 0, 0, 3)).unwrap();
    assert!(dup.duplicate);
    assert_eq!(
        (dup.base_offset, dup.last_offset, dup.record_count),
        (0, 2, 3)
    );
    assert_eq!(log.log_end_offset(), end, "nothing appended");
    let dup = log.append(idem_batch(7, 0, 5, 5, 1)).unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.base_offset, 7);
    assert_eq!(read_all(&log).len() as i64, end);

    let state = log.producer_state(7).unwrap();
    assert_eq!(
        (state.epoch, state.last_seq, state.last_offset),
        (0, 6, end - 1)
    );
    assert_eq!(log.producer_count(), 1);
    assert!(log.producer_state(8).is_none());
    assert_eq!(log.producers(), vec![state]);
}

#[test]
fn sequence_and_epoch_checks() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    log.append(idem_batch(1, 2, 0, 0, 2)).unwrap();
    // Gap.
    let e = log.append(idem_batch(1, 2, 3, 0, 1)).unwrap_err();
    assert!(matches!(e, Error::OutOfOrderSequence(_)), "{e}");
    // Stale epoch.
    let e = log.append(idem_batch(1, 1, 2, 0, 1)).unwrap_err();
    assert!(matches!(e, Error::InvalidProducerEpoch(_)), "{e}");
    // A new epoch must start at 0.
    let e = log.append(idem_batch(1, 3, 2, 0, 1)).unwrap_err();
    assert!(matches!(e, Error::OutOfOrderSequence(_)), "{e}");
    assert_eq!(log.log_end_offset(), 2);
    let bumped = log.append(idem_batch(1, 3, 0, 0, 1)).unwrap();
    assert!(!bumped.duplicate);
    assert_eq!(log.producer_state(1).unwrap().epoch, 3);
    // The old epoch is fenced now, even for what was a duplicate.
    let e = log.append(idem_batch(1, 2, 0, 0, 2)).unwrap_err();
    assert!(matches!(e, Error::InvalidProducerEpoch(_)), "{e}");
    // In sequence again.
    log.append(idem_batch(1, 3, 1, 0, 1)).unwrap();
    // Unknown producer id: any sequence is accepted (Kafka >= 2.5, KIP-360).
    log.append(idem_batch(9, 0, 42, 0, 1)).unwrap();
    assert_eq!(log.producer_state(9).unwrap().last_seq, 42);
    // Sequence wrap-around.
    log.append(idem_batch(10, 0, i32::MAX - 1, 0, 2)).unwrap();
    log.append(idem_batch(10, 0, 0, 0, 1)).unwrap();
}

#[test]
fn an_append_with_a_bad_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    log.append(idem_batch(1, 0, 0, 0, 1)).unwrap();
    let two = concat(&[idem_batch(1, 0, 1, 0, 2), idem_batch(1, 0, 4, 0, 1)]);
    assert!(matches!(log.append(two), Err(Error::OutOfOrderSequence(_))));
    assert_eq!(log.log_end_offset(), 1);
    assert_eq!(log.producer_state(1).unwrap().last_seq, 0);
    let two = concat(&[idem_batch(1, 0, 1, 0, 2), idem_batch(1, 0, 3, 0, 1)]);
    assert_eq!(log.append(two).unwrap().last_offset, 3);
    assert_eq!(log.producer_state(1).unwrap().last_seq, 3);
}

#[test]
fn state_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let mut infos = Vec::new();
    for i in 0..4 {
        infos.push(log.append(idem_batch(5, 1, i * 2, 0, 2)).unwrap());
    }
    log.close().unwrap();
    let snapshots = files_with(dir.path(), ".snapshot");
    assert_eq!(snapshots.len(), 1);
    assert!(snapshots[0].ends_with("00000000000000000008.snapshot"));

    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.producer_state(5).unwrap().last_seq, 7);
    for (i, info) in infos.iter().enumerate() {
        let dup = log.append(idem_batch(5, 1, i as i32 * 2, 0, 2)).unwrap();
        assert!(dup.duplicate);
        assert_eq!(dup.base_offset, info.base_offset);
    }
    assert_eq!(log.log_end_offset(), 8);
    assert_eq!(
        log.append(idem_batch(5, 1, 8, 0, 1)).unwrap().base_offset,
        8
    );
}

#[test]
fn state_survives_a_crash_with_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    let mut seq = 0;
    let mut last = None;
    for _ in 0..40 {
        last = Some(log.append(idem_batch(3, 0, seq, 0, 2)).unwrap());
        seq += 2;
    }
    let last = last.unwrap();
    assert!(log.segment_count() > 3);
    // Snapshots at segment rolls, only the latest two kept.
    let snapshots = files_with(dir.path(), ".snapshot");
    assert_eq!(snapshots.len(), 2);
    let active = files_with(dir.path(), ".log").pop().unwrap();
    drop(log); // crash: no close

    // A torn write at the end of the active segment.
    OpenOptions::new()
        .append(true)
        .open(&active)
        .unwrap()
        .write_all(&[1, 2, 3, 4, 5, 6, 7])
        .unwrap();
    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.log_end_offset(), last.last_offset + 1);
    let state = log.producer_state(3).unwrap();
    assert_eq!(
        (state.last_seq, state.last_offset),
        (seq - 1, last.last_offset)
    );
    // The retry of the last batch is recognised, and so are the four before it.
    for back in 1..=5 {
        let dup = log.append(idem_batch(3, 0, seq - 2 * back, 0, 2)).unwrap();
        assert!(dup.duplicate, "batch {back} from the end");
        assert_eq!(dup.last_offset, last.last_offset - 2 * i64::from(back - 1));
    }
    assert!(!log.append(idem_batch(3, 0, seq, 0, 2)).unwrap().duplicate);

    // Without any snapshot, the whole log is replayed.
    drop(log);
    for s in files_with(dir.path(), ".snapshot") {
        std::fs::remove_file(s).unwrap();
    }
    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.producer_state(3).unwrap().last_seq, seq + 1);
    assert!(log.append(idem_batch(3, 0, seq, 0, 2)).unwrap().duplicate);
}

#[test]
fn a_snapshot_past_the_recovered_log_end_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    log.append(idem_batch(4, 0, 0, 0, 1)).unwrap();
    let lost = idem_batch(4, 0, 1, 0, 1);
    log.append(lost.clone()).unwrap();
    log.close().unwrap();
    // The last batch is lost (cut from the file) after the snapshot at offset 2.
    let active = files_with(dir.path(), ".log").pop().unwrap();
    let len = std::fs::metadata(&active).unwrap().len();
    let f = OpenOptions::new().write(true).open(&active).unwrap();
    f.set_len(len - lost.len() as u64).unwrap();
    drop(f);
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.log_end_offset(), 1);
    assert!(files_with(dir.path(), ".snapshot").is_empty());
    assert_eq!(log.producer_state(4).unwrap().last_seq, 0);
    // The lost batch is appended again, not taken for a duplicate.
    let info = log.append(lost).unwrap();
    assert!(!info.duplicate);
    assert_eq!(info.base_offset, 1);
}

#[test]
fn idle_producers_expire() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        producer_id_expiration_ms: 60_000,
        ..config()
    };
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    let old = now_ms() - 120_000;
    let recs = [kv(Some("a"), Some("1"), old)];
    log.append(producer_batch(1, 0, 0, &recs, Compression::None))
        .unwrap();
    log.append(idem_batch(2, 0, 0, 0, 1)).unwrap();
    assert_eq!(log.producer_count(), 2);
    log.maybe_roll().unwrap();
    assert_eq!(log.producer_count(), 1);
    assert!(log.producer_state(1).is_none());
    // An expired producer is unknown: any sequence is accepted.
    log.append(producer_batch(1, 0, 17, &recs, Compression::None))
        .unwrap();
    assert_eq!(log.producer_count(), 2);
    // Expired producers are not reloaded from a snapshot.
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.producer_count(), 1);
    assert!(log.producer_state(2).is_some());
    assert_eq!(log.remove_expired_producers(now_ms() + 3_600_000), 1);
    assert_eq!(log.producer_count(), 0);
}
