//! Idempotent-producer state of a partition (Kafka's `ProducerStateManager`,
//! `ProducerStateEntry` and `ProducerAppendInfo`), and its snapshot files.
//!
//! Per producer id: the current epoch, the metadata of its last
//! [`NUM_BATCHES_TO_RETAIN`] data batches (sequence range, offset range, max
//! timestamp), the coordinator epoch of its last transaction marker and the first
//! offset of its ongoing transaction. Appends are checked against it under the append
//! lock (see [`ProducerStateManager::check_append`]), as Kafka does:
//!
//! - an epoch lower than the stored one: [`Error::InvalidProducerEpoch`] (client and
//!   coordinator appends; replication only logs);
//! - client appends only: a batch of the current epoch whose sequence range equals
//!   one of the cached batches is a duplicate (the append returns the original's
//!   offsets, nothing is written); a new epoch must start at sequence 0; within an
//!   epoch the first sequence must follow the last one (`i32::MAX` wraps to 0); else
//!   [`Error::OutOfOrderSequence`];
//! - a producer id without state accepts any sequence: Kafka's rule since 2.5
//!   (KIP-360; `ProducerAppendInfo.checkSequence`: "if there is no current producer
//!   epoch (possibly because all producer records have been deleted due to retention
//!   or the DeleteRecords API) accept writes with any sequence number"). So
//!   [`Error::UnknownProducerId`] is never returned by the sequence check.
//!
//! Snapshot file `<offset, 20 digits>.snapshot`: the state as of that offset (every
//! batch below it applied), in Kafka's producer snapshot format version 1, all
//! big-endian:
//!
//! ```text
//! version i16 (= 1) | crc u32 (CRC-32C of everything after it) | count i32 | entries:
//!   producer_id i64, epoch i16, last_sequence i32, last_offset i64,
//!   offset_delta i32 (last - first, of sequence and offset alike), timestamp i64,
//!   coordinator_epoch i32, current_txn_first_offset i64 (-1: none)
//! ```
//!
//! Kafka writes one entry per producer (its last batch). Strom writes one entry per
//! retained batch, oldest first, so a restart still recognises a retry of any of the
//! last five batches; Kafka's own reader keeps the last entry of each producer id,
//! which is the same state Kafka would have written. A producer without batches
//! (only a transaction marker seen) has one entry with last_sequence and
//! last_offset -1.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::warn;

use crate::batch::{self, decrement_sequence, increment_sequence};
use crate::log::AppendOrigin;
use crate::recovery::sync_dir;
use crate::segment::{records_section, Segment};
use crate::validate::{end_txn_coordinator_epoch, PreparedBatch};
use crate::{Error, Result};

/// Batches remembered per producer for duplicate detection (Kafka's
/// `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`, the producer's
/// `max.in.flight.requests.per.connection` limit for idempotence).
pub const NUM_BATCHES_TO_RETAIN: usize = 5;

pub(crate) const SNAPSHOT_SUFFIX: &str = "snapshot";
/// Snapshot files kept in the partition directory.
const SNAPSHOTS_TO_KEEP: usize = 2;
const SNAPSHOT_VERSION: i16 = 1;
const SNAPSHOT_HEADER: usize = 2 + 4 + 4;
const SNAPSHOT_ENTRY: usize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
const NO_EPOCH: i16 = -1;

/// The state of one producer id, as exposed to the broker (DescribeProducers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerEntry {
    pub producer_id: i64,
    pub epoch: i16,
    /// Sequence of the last record of the last batch (-1: none).
    pub last_seq: i32,
    /// Offset of the last record of the last batch (-1: none).
    pub last_offset: i64,
    /// Max timestamp of the last batch (or the last marker's timestamp).
    pub last_timestamp: i64,
    /// Coordinator epoch of the last transaction marker (-1: none).
    pub coordinator_epoch: i32,
    /// First offset of the producer's ongoing transaction.
    pub current_txn_start_offset: Option<i64>,
}

/// One appended batch of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    /// The batch's max timestamp.
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProducerStateEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMetadata>,
    pub coordinator_epoch: i32,
    pub last_timestamp: i64,
    pub current_txn_first_offset: Option<i64>,
}

impl Default for ProducerStateEntry {
    fn default() -> Self {
        ProducerStateEntry {
            epoch: NO_EPOCH,
            batches: VecDeque::new(),
            coordinator_epoch: -1,
            last_timestamp: -1,
            current_txn_first_offset: None,
        }
    }
}

impl ProducerStateEntry {
    fn last_seq(&self) -> i32 {
        self.batches.back().map_or(-1, |b| b.last_seq)
    }

    fn last_offset(&self) -> i64 {
        self.batches.back().map_or(-1, |b| b.last_offset)
    }

    /// Kafka's `maybeUpdateProducerEpoch`: a new epoch forgets the old epoch's batches.
    fn update_epoch(&mut self, epoch: i16) {
        if self.epoch != epoch {
            self.batches.clear();
            self.epoch = epoch;
        }
    }

    fn add_batch(&mut self, epoch: i16, meta: BatchMetadata) {
        self.update_epoch(epoch);
        self.batches.push_back(meta);
        while self.batches.len() > NUM_BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
        self.last_timestamp = meta.timestamp;
    }

    fn find_duplicate(&self, epoch: i16, first_seq: i32, last_seq: i32) -> Option<BatchMetadata> {
        if epoch != self.epoch {
            return None;
        }
        self.batches
            .iter()
            .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
            .copied()
    }

    fn view(&self, producer_id: i64) -> ProducerEntry {
        ProducerEntry {
            producer_id,
            epoch: self.epoch,
            last_seq: self.last_seq(),
            last_offset: self.last_offset(),
            last_timestamp: self.last_timestamp,
            coordinator_epoch: self.coordinator_epoch,
            current_txn_start_offset: self.current_txn_first_offset,
        }
    }
}

/// What a batch contributes to producer state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProducerBatch {
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub is_transactional: bool,
    /// Control batch: the marker's coordinator epoch.
    pub control: Option<i32>,
}

impl ProducerBatch {
    pub fn from_prepared(b: &PreparedBatch) -> Option<Self> {
        (b.producer_id >= 0).then(|| ProducerBatch {
            producer_id: b.producer_id,
            epoch: b.producer_epoch,
            base_sequence: b.base_sequence,
            last_sequence: increment_sequence(b.base_sequence, b.last_offset_delta),
            first_offset: b.base_offset,
            last_offset: b.last_offset(),
            max_timestamp: b.max_timestamp,
            is_transactional: b.is_transactional,
            control: b.control_coordinator_epoch,
        })
    }
}

/// The outcome of checking an append against producer state.
#[derive(Debug)]
pub(crate) enum ProducerCheck {
    /// A retry of an appended batch: answer with the original, write nothing.
    Duplicate(BatchMetadata),
    /// The updated entries, to apply once the batches are written.
    Updates(HashMap<i64, ProducerStateEntry>),
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

/// All producers of a partition.
#[derive(Debug, Default)]
pub(crate) struct ProducerStateManager {
    producers: HashMap<i64, ProducerStateEntry>,
}

impl ProducerStateManager {
    pub fn get(&self, producer_id: i64) -> Option<ProducerEntry> {
        self.producers
            .get(&producer_id)
            .map(|e| e.view(producer_id))
    }

    pub fn all(&self) -> Vec<ProducerEntry> {
        let mut v: Vec<_> = self.producers.iter().map(|(id, e)| e.view(*id)).collect();
        v.sort_by_key(|e| e.producer_id);
        v
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Last data offset of every producer that has batches (the log cleaner keeps
    /// the batch holding it, as Kafka does, so the state can be rebuilt from the log).
    pub fn last_offsets(&self) -> HashMap<i64, i64> {
        self.producers
            .iter()
            .filter(|(_, e)| !e.batches.is_empty())
            .map(|(id, e)| (*id, e.last_offset()))
            .collect()
    }

    /// Checks an append's batches (offsets already assigned) in order; nothing changes
    /// until [`Self::apply`]. Duplicate detection and sequence checks only apply to
    /// client appends, epoch checks to client and coordinator appends.
    pub fn check_append(
        &self,
        batches: impl IntoIterator<Item = ProducerBatch>,
        origin: AppendOrigin,
    ) -> Result<ProducerCheck> {
        let mut updated: HashMap<i64, ProducerStateEntry> = HashMap::new();
        for b in batches {
            if origin == AppendOrigin::Client && b.control.is_none() {
                if let Some(dup) = self
                    .producers
                    .get(&b.producer_id)
                    .and_then(|e| e.find_duplicate(b.epoch, b.base_sequence, b.last_sequence))
                {
                    return Ok(ProducerCheck::Duplicate(dup));
                }
            }
            let current = self.producers.get(&b.producer_id);
            let entry = updated
                .entry(b.producer_id)
                .or_insert_with(|| current.cloned().unwrap_or_default());
            apply_batch(entry, current, &b, origin)?;
        }
        Ok(ProducerCheck::Updates(updated))
    }

    pub fn apply(&mut self, updates: HashMap<i64, ProducerStateEntry>) {
        self.producers.extend(updates);
    }

    /// Applies a batch read back from the log (recovery): no checks, as Kafka's
    /// replication origin.
    pub fn replay(&mut self, b: &ProducerBatch) {
        let entry = self.producers.entry(b.producer_id).or_default();
        let current = entry.clone();
        if let Err(e) = apply_batch(entry, Some(&current), b, AppendOrigin::Replication) {
            warn!(producer_id = b.producer_id, error = %e, "ignoring a batch while rebuilding producer state");
        }
    }

    /// Kafka's `removeExpiredProducers`: drops producers without an ongoing
    /// transaction whose last timestamp is `expiration_ms` or more before `now_ms`.
    pub fn remove_expired(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, e| !is_expired(e, now_ms, expiration_ms));
        before - self.producers.len()
    }

    /// The snapshot file contents for the current state.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut ids: Vec<i64> = self.producers.keys().copied().collect();
        ids.sort_unstable();
        let mut entries: Vec<u8> = Vec::new();
        let mut count = 0i32;
        for id in ids {
            let e = &self.producers[&id];
            let txn = e.current_txn_first_offset.unwrap_or(-1);
            let mut put = |last_seq: i32, last_offset: i64, delta: i32, ts: i64| {
                entries.extend_from_slice(&id.to_be_bytes());
                entries.extend_from_slice(&e.epoch.to_be_bytes());
                entries.extend_from_slice(&last_seq.to_be_bytes());
                entries.extend_from_slice(&last_offset.to_be_bytes());
                entries.extend_from_slice(&delta.to_be_bytes());
                entries.extend_from_slice(&ts.to_be_bytes());
                entries.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
                entries.extend_from_slice(&txn.to_be_bytes());
                count += 1;
            };
            if e.batches.is_empty() {
                put(-1, -1, 0, e.last_timestamp);
            }
            for (i, b) in e.batches.iter().enumerate() {
                let delta = i32::try_from(b.last_offset - b.first_offset).unwrap_or(0);
                // The last entry carries the entry's last timestamp (a later marker's).
                let ts = if i + 1 == e.batches.len() {
                    e.last_timestamp
                } else {
                    b.timestamp
                };
                put(b.last_seq, b.last_offset, delta, ts);
            }
        }
        let mut body = Vec::with_capacity(4 + entries.len());
        body.extend_from_slice(&count.to_be_bytes());
        body.extend_from_slice(&entries);
        let mut out = Vec::with_capacity(SNAPSHOT_HEADER + entries.len());
        out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Parses a snapshot file; an error for a bad version, CRC or length.
    pub fn decode_snapshot(bytes: &[u8]) -> Result<Self> {
        let corrupt = |m: &str| Error::CorruptRecord(format!("producer snapshot: {m}"));
        if bytes.len() < SNAPSHOT_HEADER {
            return Err(corrupt("too short"));
        }
        let version = i16::from_be_bytes([bytes[0], bytes[1]]);
        if version != SNAPSHOT_VERSION {
            return Err(corrupt(&format!("unknown version {version}")));
        }
        let crc = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
        if crc32c::crc32c(&bytes[6..]) != crc {
            return Err(corrupt("CRC mismatch"));
        }
        let count = i32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
        let count = usize::try_from(count).map_err(|_| corrupt("negative count"))?;
        let entries = &bytes[SNAPSHOT_HEADER..];
        if count.checked_mul(SNAPSHOT_ENTRY) != Some(entries.len()) {
            return Err(corrupt("length does not match the entry count"));
        }
        let mut producers: HashMap<i64, ProducerStateEntry> = HashMap::new();
        for c in entries.chunks_exact(SNAPSHOT_ENTRY) {
            let i64_at = |at: usize| {
                let mut a = [0u8; 8];
                a.copy_from_slice(&c[at..at + 8]);
                i64::from_be_bytes(a)
            };
            let i32_at = |at: usize| i32::from_be_bytes([c[at], c[at + 1], c[at + 2], c[at + 3]]);
            let id = i64_at(0);
            let epoch = i16::from_be_bytes([c[8], c[9]]);
            let last_seq = i32_at(10);
            let last_offset = i64_at(14);
            let delta = i32_at(22);
            let timestamp = i64_at(26);
            let coordinator_epoch = i32_at(34);
            let txn = i64_at(38);
            let e = producers.entry(id).or_default();
            e.update_epoch(epoch);
            if last_offset >= 0 {
                e.add_batch(
                    epoch,
                    BatchMetadata {
                        first_seq: decrement_sequence(last_seq, delta.max(0)),
                        last_seq,
                        first_offset: last_offset - i64::from(delta.max(0)),
                        last_offset,
                        timestamp,
                    },
                );
            }
            e.last_timestamp = timestamp;
            e.coordinator_epoch = coordinator_epoch;
            e.current_txn_first_offset = (txn >= 0).then_some(txn);
        }
        Ok(ProducerStateManager { producers })
    }
}

fn is_expired(e: &ProducerStateEntry, now_ms: i64, expiration_ms: i64) -> bool {
    e.current_txn_first_offset.is_none() && now_ms.saturating_sub(e.last_timestamp) >= expiration_ms
}

/// Kafka's `ProducerAppendInfo.append`: checks (per origin) and applies one batch to
/// `entry` (the producer's state updated by the earlier batches of the append).
fn apply_batch(
    entry: &mut ProducerStateEntry,
    current: Option<&ProducerStateEntry>,
    b: &ProducerBatch,
    origin: AppendOrigin,
) -> Result<()> {
    let pid = b.producer_id;
    if b.epoch < entry.epoch && origin != AppendOrigin::Replication {
        return Err(Error::InvalidProducerEpoch(format!(
            "epoch {} of producer {pid} at offset {} is older than the last seen epoch {}",
            b.epoch, b.first_offset, entry.epoch
        )));
    }
    if let Some(coordinator_epoch) = b.control {
        // End-transaction marker.
        entry.update_epoch(b.epoch);
        entry.coordinator_epoch = coordinator_epoch;
        entry.current_txn_first_offset = None;
        entry.last_timestamp = b.max_timestamp;
        return Ok(());
    }
    if origin == AppendOrigin::Client {
        check_sequence(entry, current, b)?;
    }
    entry.add_batch(
        b.epoch,
        BatchMetadata {
            first_seq: b.base_sequence,
            last_seq: b.last_sequence,
            first_offset: b.first_offset,
            last_offset: b.last_offset,
            timestamp: b.max_timestamp,
        },
    );
    if b.is_transactional && entry.current_txn_first_offset.is_none() {
        entry.current_txn_first_offset = Some(b.first_offset);
    }
    Ok(())
}

/// Kafka's `ProducerAppendInfo.checkSequence`.
fn check_sequence(
    entry: &ProducerStateEntry,
    current: Option<&ProducerStateEntry>,
    b: &ProducerBatch,
) -> Result<()> {
    let pid = b.producer_id;
    if b.epoch != entry.epoch {
        if b.base_sequence != 0 && entry.epoch != NO_EPOCH {
            return Err(Error::OutOfOrderSequence(format!(
                "invalid sequence number {} for new epoch {} of producer {pid} at offset {} \
                 (current epoch {}): a new epoch starts at sequence 0",
                b.base_sequence, b.epoch, b.first_offset, entry.epoch
            )));
        }
        return Ok(());
    }
    let current_epoch = current.map_or(NO_EPOCH, |c| c.epoch);
    // Known producer with no batches (e.g. after a marker): its next batch starts at 0.
    let last_seq = entry.last_seq();
    if current_epoch != NO_EPOCH && !in_sequence(last_seq, b.base_sequence) {
        return Err(Error::OutOfOrderSequence(format!(
            "out of order sequence number {} for producer {pid} at offset {}: \
             expected {} (last sequence {last_seq})",
            b.base_sequence,
            b.first_offset,
            increment_sequence(last_seq.max(-1), 1).max(0)
        )));
    }
    Ok(())
}

/// Replays the batches with last offset ≥ `from` of `segments` into `state` (Kafka's
/// `loadProducersFromRecords`, with the replication origin: no checks).
pub(crate) fn replay_segments(
    state: &mut ProducerStateManager,
    segments: &[Arc<Segment>],
    from: i64,
    decompress_limit: usize,
) -> Result<()> {
    for s in segments {
        if s.next_offset() <= from {
            continue;
        }
        s.for_each_header_from(from, |pos, h| {
            if !h.has_producer_id() {
                return Ok(true);
            }
            let control = if h.is_control() {
                if h.record_count <= 0 {
                    // The whole transaction was cleaned away.
                    return Ok(true);
                }
                let bytes = s.read_batch(pos, h.size())?;
                let section = records_section(&bytes, h, decompress_limit)?;
                let mut epoch = -1;
                batch::for_each_record_view(&section, h.record_count, |r| {
                    epoch = end_txn_coordinator_epoch(r.value);
                    Ok(false)
                })?;
                Some(epoch)
            } else {
                None
            };
            state.replay(&ProducerBatch {
                producer_id: h.producer_id,
                epoch: h.producer_epoch,
                base_sequence: h.base_sequence,
                last_sequence: h.last_sequence(),
                first_offset: h.base_offset,
                last_offset: h.last_offset(),
                max_timestamp: h.max_timestamp,
                is_transactional: h.is_transactional(),
                control,
            });
            Ok(true)
        })?;
    }
    Ok(())
}

/// Snapshot file path for `offset`.
pub(crate) fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(crate::segment::file_name(offset, SNAPSHOT_SUFFIX))
}

/// Snapshot files of the directory, by offset, ascending.
pub(crate) fn list_snapshots(dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if let Some(offset) = crate::recovery::parse_base(&name, SNAPSHOT_SUFFIX) {
            out.push((offset, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn remove_quietly(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => warn!(file = %path.display(), error = %e, "could not remove a producer snapshot"),
    }
}

/// Writes a snapshot (temp file, fsync, rename, fsync dir) and keeps only the latest
/// [`SNAPSHOTS_TO_KEEP`].
pub(crate) fn write_snapshot(dir: &Path, offset: i64, bytes: &[u8]) -> Result<()> {
    let path = snapshot_path(dir, offset);
    let tmp = dir.join(format!(
        "{}.tmp",
        crate::segment::file_name(offset, SNAPSHOT_SUFFIX)
    ));
    std::fs::write(&tmp, bytes)?;
    File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    let snapshots = list_snapshots(dir)?;
    let excess = snapshots.len().saturating_sub(SNAPSHOTS_TO_KEEP);
    for (_, old) in &snapshots[..excess] {
        remove_quietly(old);
    }
    sync_dir(dir)
}

/// Loads the latest valid snapshot at or below `log_end` (deleting later and corrupt
/// ones, and dropping expired producers); returns it with its offset.
pub(crate) fn load_latest(
    dir: &Path,
    log_end: i64,
    now_ms: i64,
    expiration_ms: i64,
) -> Result<Option<(ProducerStateManager, i64)>> {
    let mut snapshots = list_snapshots(dir)?;
    while let Some((offset, path)) = snapshots.pop() {
        if offset > log_end {
            remove_quietly(&path);
            continue;
        }
        let decoded = std::fs::read(&path)
            .map_err(Error::from)
            .and_then(|b| ProducerStateManager::decode_snapshot(&b));
        match decoded {
            Ok(mut state) => {
                state.remove_expired(now_ms, expiration_ms);
                return Ok(Some((state, offset)));
            }
            Err(e) => {
                warn!(file = %path.display(), error = %e, "ignoring an unreadable producer snapshot");
                remove_quietly(&path);
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(pid: i64, epoch: i16, seq: i32, n: i32, offset: i64) -> ProducerBatch {
        ProducerBatch {
            producer_id: pid,
            epoch,
            base_sequence: seq,
            last_sequence: increment_sequence(seq, n - 1),
            first_offset: offset,
            last_offset: offset + i64::from(n) - 1,
            max_timestamp: 1000 + offset,
            is_transactional: false,
            control: None,
        }
    }

    fn append(m: &mut ProducerStateManager, b: ProducerBatch) -> Result<Option<BatchMetadata>> {
        match m.check_append([b], AppendOrigin::Client)? {
            ProducerCheck::Duplicate(d) => Ok(Some(d)),
            ProducerCheck::Updates(u) => {
                m.apply(u);
                Ok(None)
            }
        }
    }

    #[test]
    fn sequence_rules() {
        let mut m = ProducerStateManager::default();
        // Unknown producer: any sequence (KIP-360).
        assert_eq!(append(&mut m, pb(1, 0, 7, 3, 0)).unwrap(), None);
        assert_eq!(m.get(1).unwrap().last_seq, 9);
        assert!(matches!(
            append(&mut m, pb(1, 0, 11, 1, 3)),
            Err(Error::OutOfOrderSequence(_))
        ));
        assert_eq!(append(&mut m, pb(1, 0, 10, 1, 3)).unwrap(), None);
        // Duplicate of the first batch.
        let d = append(&mut m, pb(1, 0, 7, 3, 99)).unwrap().unwrap();
        assert_eq!((d.first_offset, d.last_offset), (0, 2));
        // Stale epoch; new epoch must start at 0.
        assert!(matches!(
            append(&mut m, pb(1, -1, 11, 1, 4)),
            Err(Error::InvalidProducerEpoch(_))
        ));
        assert!(matches!(
            append(&mut m, pb(1, 1, 11, 1, 4)),
            Err(Error::OutOfOrderSequence(_))
        ));
        assert_eq!(append(&mut m, pb(1, 1, 0, 1, 4)).unwrap(), None);
        // Old epoch's batches are forgotten: not a duplicate, stale epoch.
        assert!(matches!(
            append(&mut m, pb(1, 0, 10, 1, 5)),
            Err(Error::InvalidProducerEpoch(_))
        ));
        // Wrap-around.
        let mut m = ProducerStateManager::default();
        append(&mut m, pb(2, 0, i32::MAX - 1, 2, 0)).unwrap();
        assert_eq!(m.get(2).unwrap().last_seq, i32::MAX);
        assert_eq!(append(&mut m, pb(2, 0, 0, 1, 2)).unwrap(), None);
        // Only the last five batches are remembered.
        let mut m = ProducerStateManager::default();
        for i in 0..7 {
            append(&mut m, pb(3, 0, i, 1, i64::from(i))).unwrap();
        }
        assert!(append(&mut m, pb(3, 0, 2, 1, 9)).unwrap().is_some());
        assert!(append(&mut m, pb(3, 0, 1, 1, 9)).is_err());
    }

    #[test]
    fn batches_of_one_append_are_checked_in_order() {
        let mut m = ProducerStateManager::default();
        append(&mut m, pb(1, 0, 0, 1, 0)).unwrap();
        let ok = m
            .check_append([pb(1, 0, 1, 2, 1), pb(1, 0, 3, 2, 3)], AppendOrigin::Client)
            .unwrap();
        assert!(matches!(ok, ProducerCheck::Updates(_)));
        assert!(m
            .check_append([pb(1, 0, 1, 2, 1), pb(1, 0, 4, 2, 3)], AppendOrigin::Client)
            .is_err());
        // Nothing applied by a check.
        assert_eq!(m.get(1).unwrap().last_seq, 0);
    }

    #[test]
    fn snapshot_roundtrip_keeps_five_batches() {
        let mut m = ProducerStateManager::default();
        for i in 0..6 {
            append(&mut m, pb(5, 2, i * 2, 2, i64::from(i) * 2)).unwrap();
        }
        m.producers.insert(
            9,
            ProducerStateEntry {
                epoch: 4,
                coordinator_epoch: 3,
                last_timestamp: 77,
                ..ProducerStateEntry::default()
            },
        );
        let bytes = m.encode_snapshot();
        assert_eq!(bytes.len(), SNAPSHOT_HEADER + 6 * SNAPSHOT_ENTRY);
        let back = ProducerStateManager::decode_snapshot(&bytes).unwrap();
        assert_eq!(back.producers, m.producers);
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(ProducerStateManager::decode_snapshot(&bad).is_err());
        assert!(ProducerStateManager::decode_snapshot(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn expiry() {
        let mut m = ProducerStateManager::default();
        append(&mut m, pb(1, 0, 0, 1, 0)).unwrap(); // timestamp 1000
        append(&mut m, pb(2, 0, 0, 1, 5000)).unwrap(); // timestamp 6000
        assert_eq!(m.remove_expired(3000, 2000), 1);
        assert!(m.get(1).is_none() && m.get(2).is_some());
    }
}
