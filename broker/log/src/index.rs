//! The sparse offset index (`.index`) and time index (`.timeindex`) of a segment,
//! in Kafka's file formats:
//!
//! - offset index entry, 8 bytes: relative offset (u32 BE), file position (u32 BE).
//!   Entry (o, p): the batch at position p contains offset base+o (it is that batch's
//!   last offset, as Kafka writes it), so every offset ≥ base+o is at or after p.
//! - time index entry, 12 bytes: timestamp (i64 BE), relative offset (u32 BE).
//!   Entry (t, o): t is the largest timestamp in the segment up to some batch at or
//!   after the one holding base+o, and is first reached at base+o.
//!
//! An entry is added every `index.interval.bytes` of log data ([`IndexTracker`]).
//! The entries live in memory (for lookups) and are appended to their files as the
//! log grows ([`IndexWriter`]); the files are rewritten whole after recovery.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::Result;

pub(crate) const OFFSET_ENTRY_SIZE: usize = 8;
pub(crate) const TIME_ENTRY_SIZE: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub rel_offset: u32,
    pub position: u32,
}

impl OffsetEntry {
    fn encode(self) -> [u8; OFFSET_ENTRY_SIZE] {
        let mut b = [0u8; OFFSET_ENTRY_SIZE];
        b[..4].copy_from_slice(&self.rel_offset.to_be_bytes());
        b[4..].copy_from_slice(&self.position.to_be_bytes());
        b
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub timestamp: i64,
    pub rel_offset: u32,
}

impl TimeEntry {
    fn encode(self) -> [u8; TIME_ENTRY_SIZE] {
        let mut b = [0u8; TIME_ENTRY_SIZE];
        b[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        b[8..].copy_from_slice(&self.rel_offset.to_be_bytes());
        b
    }
}

/// Decodes an offset index file; a torn trailing partial entry is dropped.
pub(crate) fn decode_offset_index(bytes: &[u8]) -> Vec<OffsetEntry> {
    bytes
        .chunks_exact(OFFSET_ENTRY_SIZE)
        .map(|c| OffsetEntry {
            rel_offset: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            position: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Decodes a time index file; a torn trailing partial entry is dropped.
pub(crate) fn decode_time_index(bytes: &[u8]) -> Vec<TimeEntry> {
    bytes
        .chunks_exact(TIME_ENTRY_SIZE)
        .map(|c| {
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&c[..8]);
            TimeEntry {
                timestamp: i64::from_be_bytes(ts),
                rel_offset: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
            }
        })
        .collect()
}

/// Offset index entries must grow strictly in both offset and position and point
/// inside the log file.
pub(crate) fn offset_index_is_sane(entries: &[OffsetEntry], log_len: u64) -> bool {
    entries
        .windows(2)
        .all(|w| w[0].rel_offset < w[1].rel_offset && w[0].position < w[1].position)
        && entries
            .last()
            .is_none_or(|e| u64::from(e.position) < log_len && e.rel_offset <= i32::MAX as u32)
}

/// Time index entries must grow strictly in timestamp and never go back in offset.
pub(crate) fn time_index_is_sane(entries: &[TimeEntry]) -> bool {
    entries
        .windows(2)
        .all(|w| w[0].timestamp < w[1].timestamp && w[0].rel_offset <= w[1].rel_offset)
}

/// The last entry with relative offset ≤ `rel_target`.
pub(crate) fn lookup_offset(entries: &[OffsetEntry], rel_target: u32) -> Option<OffsetEntry> {
    let n = entries.partition_point(|e| e.rel_offset <= rel_target);
    n.checked_sub(1).map(|i| entries[i])
}

/// The last entry with timestamp < `timestamp` and relative offset < `rel_limit`:
/// every batch before the one holding its offset has only smaller timestamps.
pub(crate) fn lookup_time(
    entries: &[TimeEntry],
    timestamp: i64,
    rel_limit: u32,
) -> Option<TimeEntry> {
    let n = entries.partition_point(|e| e.timestamp < timestamp && e.rel_offset < rel_limit);
    n.checked_sub(1).map(|i| entries[i])
}

/// Decides when to add index entries: Kafka's `LogSegment.append` loop.
#[derive(Debug, Clone)]
pub(crate) struct IndexTracker {
    pub base_offset: i64,
    /// Log bytes appended since the last offset index entry.
    pub bytes_since_entry: u64,
    /// Largest timestamp in the segment so far and the offset first carrying it.
    pub max_so_far: Option<(i64, i64)>,
    /// Timestamp of the last time index entry (-1 when there is none).
    pub last_time_entry_ts: i64,
}

impl IndexTracker {
    pub fn new(base_offset: i64) -> Self {
        IndexTracker {
            base_offset,
            bytes_since_entry: 0,
            max_so_far: None,
            last_time_entry_ts: -1,
        }
    }

    fn rel(&self, offset: i64) -> u32 {
        u32::try_from(offset - self.base_offset).unwrap_or(u32::MAX)
    }

    /// Accounts for one batch at `position`; returns the index entries to add.
    pub fn on_batch(
        &mut self,
        position: u64,
        size: u64,
        last_offset: i64,
        max_timestamp: i64,
        offset_of_max_timestamp: i64,
        interval: u32,
    ) -> (Option<OffsetEntry>, Option<TimeEntry>) {
        if self.max_so_far.is_none_or(|(ts, _)| max_timestamp > ts) {
            self.max_so_far = Some((max_timestamp, offset_of_max_timestamp));
        }
        let mut out = (None, None);
        if self.bytes_since_entry > u64::from(interval) {
            out.0 = Some(OffsetEntry {
                rel_offset: self.rel(last_offset),
                position: u32::try_from(position).unwrap_or(u32::MAX),
            });
            out.1 = self.time_entry();
            self.bytes_since_entry = 0;
        }
        self.bytes_since_entry += size;
        out
    }

    /// A time index entry for the max timestamp so far, if it is newer than the last one
    /// (also the final entry Kafka writes when a segment is rolled or closed).
    pub fn time_entry(&mut self) -> Option<TimeEntry> {
        let (ts, offset) = self.max_so_far?;
        if ts <= self.last_time_entry_ts {
            return None;
        }
        self.last_time_entry_ts = ts;
        Some(TimeEntry {
            timestamp: ts,
            rel_offset: self.rel(offset),
        })
    }
}

/// Appends entries to a segment's index files.
#[derive(Debug)]
pub(crate) struct IndexWriter {
    offset_file: File,
    time_file: File,
    offset_count: u64,
    time_count: u64,
}

fn open_rw(path: &Path) -> Result<File> {
    Ok(OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?)
}

impl IndexWriter {
    /// Opens (creating if missing) the index files and rewrites them with `offsets`
    /// and `times` when `rewrite`, else positions after `offsets.len()` / `times.len()`.
    pub fn open(
        offset_path: &Path,
        time_path: &Path,
        offsets: &[OffsetEntry],
        times: &[TimeEntry],
        rewrite: bool,
    ) -> Result<Self> {
        let w = IndexWriter {
            offset_file: open_rw(offset_path)?,
            time_file: open_rw(time_path)?,
            offset_count: offsets.len() as u64,
            time_count: times.len() as u64,
        };
        if rewrite {
            let bytes: Vec<u8> = offsets.iter().flat_map(|e| e.encode()).collect();
            w.offset_file.set_len(0)?;
            w.offset_file.write_all_at(&bytes, 0)?;
            let bytes: Vec<u8> = times.iter().flat_map(|e| e.encode()).collect();
            w.time_file.set_len(0)?;
            w.time_file.write_all_at(&bytes, 0)?;
        } else {
            // Drop anything past the entries we keep (e.g. a torn partial entry).
            w.offset_file
                .set_len(w.offset_count * OFFSET_ENTRY_SIZE as u64)?;
            w.time_file.set_len(w.time_count * TIME_ENTRY_SIZE as u64)?;
        }
        Ok(w)
    }

    pub fn append_offset(&mut self, e: OffsetEntry) -> Result<()> {
        self.offset_file
            .write_all_at(&e.encode(), self.offset_count * OFFSET_ENTRY_SIZE as u64)?;
        self.offset_count += 1;
        Ok(())
    }

    pub fn append_time(&mut self, e: TimeEntry) -> Result<()> {
        self.time_file
            .write_all_at(&e.encode(), self.time_count * TIME_ENTRY_SIZE as u64)?;
        self.time_count += 1;
        Ok(())
    }

    pub fn sync(&self) -> Result<()> {
        self.offset_file.sync_data()?;
        self.time_file.sync_data()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_roundtrip_and_torn_tail() {
        let offs = vec![
            OffsetEntry {
                rel_offset: 3,
                position: 4100,
            },
            OffsetEntry {
                rel_offset: 9,
                position: 8300,
            },
        ];
        let mut bytes: Vec<u8> = offs.iter().flat_map(|e| e.encode()).collect();
        bytes.extend_from_slice(&[1, 2, 3]);
        assert_eq!(decode_offset_index(&bytes), offs);
        let times = vec![TimeEntry {
            timestamp: 1_700_000_000_000,
            rel_offset: 3,
        }];
        let mut bytes: Vec<u8> = times.iter().flat_map(|e| e.encode()).collect();
        bytes.push(0);
        assert_eq!(decode_time_index(&bytes), times);
    }

    #[test]
    fn lookups() {
        let offs = [
            OffsetEntry {
                rel_offset: 10,
                position: 100,
            },
            OffsetEntry {
                rel_offset: 20,
                position: 200,
            },
        ];
        assert_eq!(lookup_offset(&offs, 5), None);
        assert_eq!(lookup_offset(&offs, 10).map(|e| e.position), Some(100));
        assert_eq!(lookup_offset(&offs, 19).map(|e| e.position), Some(100));
        assert_eq!(lookup_offset(&offs, 25).map(|e| e.position), Some(200));
        assert!(offset_index_is_sane(&offs, 201));
        assert!(!offset_index_is_sane(&offs, 200));
        assert!(!offset_index_is_sane(&[offs[1], offs[0]], 1000));
        // Kafka's preallocated zero entries are not sane.
        let zeros = [OffsetEntry {
            rel_offset: 0,
            position: 0,
        }; 2];
        assert!(!offset_index_is_sane(&zeros, 1000));

        let times = [
            TimeEntry {
                timestamp: 100,
                rel_offset: 0,
            },
            TimeEntry {
                timestamp: 200,
                rel_offset: 7,
            },
        ];
        assert_eq!(lookup_time(&times, 100, u32::MAX), None);
        assert_eq!(lookup_time(&times, 101, u32::MAX), Some(times[0]));
        assert_eq!(lookup_time(&times, 500, u32::MAX), Some(times[1]));
        assert_eq!(lookup_time(&times, 500, 7), Some(times[0]));
        assert!(time_index_is_sane(&times));
        assert!(!time_index_is_sane(&[times[1], times[0]]));
    }

    #[test]
    fn tracker_follows_interval() {
        let mut t = IndexTracker::new(100);
        // First batch never gets an entry (nothing before it).
        assert_eq!(t.on_batch(0, 3000, 104, 50, 101, 4096), (None, None));
        assert_eq!(t.on_batch(3000, 3000, 109, 40, 105, 4096), (None, None));
        let (o, ti) = t.on_batch(6000, 10, 110, 60, 110, 4096);
        assert_eq!(
            o,
            Some(OffsetEntry {
                rel_offset: 10,
                position: 6000
            })
        );
        assert_eq!(
            ti,
            Some(TimeEntry {
                timestamp: 60,
                rel_offset: 10
            })
        );
        assert_eq!(t.time_entry(), None);
    }
}
