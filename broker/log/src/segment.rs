//! One segment: a `<base offset>.log` file of whole record batches plus its offset
//! and time indexes (held in memory here; the appender writes their files).
//!
//! A segment is shared (`Arc`) between the appender, readers and the syncer. Only
//! the appender (under the partition's append lock) writes; it writes bytes past
//! the published `size` and then publishes the new size, so readers, which use
//! positional reads up to the published size, never see a partial batch and never
//! wait for an append.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, IoSlice};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::batch::{self, BatchHeader, RECORD_BATCH_OVERHEAD};
use crate::compression;
use crate::index::{self, OffsetEntry, TimeEntry};
use crate::{Result, TimestampOffset, TimestampType};

pub(crate) const LOG_SUFFIX: &str = "log";
pub(crate) const INDEX_SUFFIX: &str = "index";
pub(crate) const TIME_INDEX_SUFFIX: &str = "timeindex";

/// Kafka's file name for a segment file: the base offset, zero-padded to 20 digits.
pub(crate) fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}.{suffix}")
}

/// How much of the log file a header scan reads at a time.
const SCAN_CHUNK: usize = 16 * 1024;
/// Bytes read at a time when only headers are wanted ([`Segment::range`]): a
/// Java producer's batches are 16 KiB, so a larger read would mostly fetch
/// record data that is not looked at.
const RANGE_SCAN_CHUNK: usize = 512;

/// Whether a read may wait for the disk. [`Wait::No`] reads only what the page
/// cache already holds, with `preadv2(RWF_NOWAIT)`, and fails with an error of
/// kind [`ErrorKind::WouldBlock`] where it would have to wait (also where the
/// file system cannot tell): the caller then retries on a thread that may block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Yes,
    No,
}

/// Fills `buf` from `pos` of `file`, under `wait`.
fn fill_at(file: &File, buf: &mut [u8], pos: u64, wait: Wait) -> std::io::Result<()> {
    if wait == Wait::Yes {
        return file.read_exact_at(buf, pos);
    }
    let mut done = 0;
    while done < buf.len() {
        let slice = &mut [std::io::IoSliceMut::new(&mut buf[done..])];
        match rustix::io::preadv2(
            file,
            slice,
            pos + done as u64,
            rustix::io::ReadWriteFlags::NOWAIT,
        ) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(rustix::io::Errno::INTR) => {}
            // AGAIN: not all cached; OPNOTSUPP: the file system cannot say.
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::OPNOTSUPP) => {
                return Err(ErrorKind::WouldBlock.into())
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads `len` bytes at `pos` of `file` into a new buffer, under `wait`.
pub(crate) fn read_at_with(
    file: &File,
    pos: u64,
    len: usize,
    wait: Wait,
) -> std::io::Result<Vec<u8>> {
    if wait == Wait::Yes {
        return read_at(file, pos, len);
    }
    let mut buf = vec![0; len];
    fill_at(file, &mut buf, pos, wait)?;
    Ok(buf)
}

/// Reads `len` bytes at `pos` of `file` into a new buffer that is not zeroed first.
pub(crate) fn read_at(file: &File, pos: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        let at = pos + buf.len() as u64;
        let n = rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), at)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
    }
    // The allocator may have given more room than asked for, and pread may
    // have filled it: only the asked-for range is published data.
    buf.truncate(len);
    Ok(buf)
}

/// Where the run of whole batches starting at `end` (after a first batch already
/// taken) stops: at the first batch at or past `hw`, or that would end past
/// `limit`, or where `header_at` finds no batch.
fn whole_batches_end(
    mut end: u64,
    limit: u64,
    hw: i64,
    mut header_at: impl FnMut(u64) -> Result<Option<BatchHeader>>,
) -> Result<u64> {
    while let Some(h) = header_at(end)? {
        let next = end + h.size() as u64;
        if h.base_offset >= hw || h.size() < RECORD_BATCH_OVERHEAD || next > limit {
            break;
        }
        end = next;
    }
    Ok(end)
}

/// Reads batch headers from a log file, a chunk at a time.
pub(crate) struct HeaderReader<'a> {
    file: &'a File,
    limit: u64,
    buf: Vec<u8>,
    start: u64,
    /// Bytes read at a time.
    chunk: usize,
    wait: Wait,
}

impl<'a> HeaderReader<'a> {
    pub fn new(file: &'a File, limit: u64) -> Self {
        Self::with_chunk(file, limit, SCAN_CHUNK)
    }

    /// A reader that reads `chunk` bytes at a time (at least a header).
    pub fn with_chunk(file: &'a File, limit: u64, chunk: usize) -> Self {
        HeaderReader {
            file,
            limit,
            buf: Vec::new(),
            start: 0,
            chunk: chunk.max(RECORD_BATCH_OVERHEAD),
            wait: Wait::Yes,
        }
    }

    /// The same reader, reading under `wait`.
    pub fn waiting(self, wait: Wait) -> Self {
        HeaderReader { wait, ..self }
    }

    /// The header of the batch at `pos`, or `None` at the end of the data (or at a
    /// batch whose framing does not fit in the data, which published data never has).
    pub fn header_at(&mut self, pos: u64) -> Result<Option<BatchHeader>> {
        let header_len = RECORD_BATCH_OVERHEAD as u64;
        if pos.saturating_add(header_len) > self.limit {
            return Ok(None);
        }
        let buffered = pos >= self.start && pos + header_len <= self.start + self.buf.len() as u64;
        if !buffered {
            let len = (self.limit - pos).min(self.chunk as u64) as usize;
            self.buf.resize(len, 0);
            fill_at(self.file, &mut self.buf, pos, self.wait)?;
            self.start = pos;
        }
        let h = BatchHeader::parse(&self.buf[(pos - self.start) as usize..]);
        Ok(h.filter(|h| {
            h.size() >= RECORD_BATCH_OVERHEAD
                && h.magic == batch::MAGIC_V2
                && pos + h.size() as u64 <= self.limit
        }))
    }
}

/// The records section of a batch, decompressed if needed.
pub(crate) fn records_section<'b>(
    batch_bytes: &'b [u8],
    h: &BatchHeader,
    limit: usize,
) -> Result<Cow<'b, [u8]>> {
    let payload = batch_bytes.get(RECORD_BATCH_OVERHEAD..).unwrap_or_default();
    match h.compression_id() {
        compression::NONE => Ok(Cow::Borrowed(payload)),
        codec => Ok(Cow::Owned(compression::decompress(codec, payload, limit)?)),
    }
}

/// The first record of a batch with offset ≥ `min_offset` and timestamp ≥ `target`.
pub(crate) fn first_record_at_or_after(
    batch_bytes: &[u8],
    h: &BatchHeader,
    target: i64,
    min_offset: i64,
    limit: usize,
) -> Result<Option<TimestampOffset>> {
    if h.record_count <= 0 {
        return Ok(None);
    }
    if h.timestamp_type() == TimestampType::LogAppendTime {
        // Every record carries the batch's append time.
        let offset = h.base_offset.max(min_offset);
        return Ok(
            (h.max_timestamp >= target && offset <= h.last_offset()).then_some(TimestampOffset {
                timestamp: h.max_timestamp,
                offset,
            }),
        );
    }
    let section = records_section(batch_bytes, h, limit)?;
    let mut found = None;
    batch::for_each_record(&section, h.record_count, |r| {
        let offset = h.base_offset + i64::from(r.offset_delta);
        let timestamp = h.base_timestamp.saturating_add(r.timestamp_delta);
        if offset >= min_offset && timestamp >= target {
            found = Some(TimestampOffset { timestamp, offset });
            return false;
        }
        true
    })?;
    Ok(found)
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub base_offset: i64,
    log_path: PathBuf,
    index_path: PathBuf,
    time_index_path: PathBuf,
    pub(crate) log: Arc<File>,
    /// Published (readable) bytes of the log file.
    size: AtomicU64,
    /// Bytes known to be fsynced.
    flushed_size: AtomicU64,
    /// The offset after the last batch.
    next_offset: AtomicI64,
    pub(crate) offset_index: RwLock<Vec<OffsetEntry>>,
    pub(crate) time_index: RwLock<Vec<TimeEntry>>,
    /// Largest timestamp in the segment and the first offset carrying it.
    max_timestamp: Mutex<Option<(i64, i64)>>,
    deleted: AtomicBool,
}

/// Everything needed to build a [`Segment`] (recovery builds these).
pub(crate) struct SegmentState {
    pub size: u64,
    pub next_offset: i64,
    pub offsets: Vec<OffsetEntry>,
    pub times: Vec<TimeEntry>,
    pub max_timestamp: Option<(i64, i64)>,
}

impl Segment {
    pub fn paths(dir: &Path, base_offset: i64) -> [PathBuf; 3] {
        [
            dir.join(file_name(base_offset, LOG_SUFFIX)),
            dir.join(file_name(base_offset, INDEX_SUFFIX)),
            dir.join(file_name(base_offset, TIME_INDEX_SUFFIX)),
        ]
    }

    pub fn open_log_file(path: &Path, create_new: bool) -> Result<File> {
        Ok(OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create_new)
            .open(path)?)
    }

    pub fn new(dir: &Path, base_offset: i64, log: File, state: SegmentState) -> Segment {
        let [log_path, index_path, time_index_path] = Self::paths(dir, base_offset);
        Segment {
            base_offset,
            log_path,
            index_path,
            time_index_path,
            log: Arc::new(log),
            size: AtomicU64::new(state.size),
            flushed_size: AtomicU64::new(0),
            next_offset: AtomicI64::new(state.next_offset),
            offset_index: RwLock::new(state.offsets),
            time_index: RwLock::new(state.times),
            max_timestamp: Mutex::new(state.max_timestamp),
            deleted: AtomicBool::new(false),
        }
    }

    /// Creates the files of a new, empty segment.
    pub fn create(dir: &Path, base_offset: i64) -> Result<Segment> {
        let [log_path, ..] = Self::paths(dir, base_offset);
        let log = Self::open_log_file(&log_path, true)?;
        Ok(Self::new(
            dir,
            base_offset,
            log,
            SegmentState {
                size: 0,
                next_offset: base_offset,
                offsets: Vec::new(),
                times: Vec::new(),
                max_timestamp: None,
            },
        ))
    }

    pub fn index_paths(&self) -> (&Path, &Path) {
        (&self.index_path, &self.time_index_path)
    }

    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    pub fn next_offset(&self) -> i64 {
        self.next_offset.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.size() == 0
    }

    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        *self.max_timestamp.lock()
    }

    #[cfg(test)]
    pub fn offset_index_len(&self) -> usize {
        self.offset_index.read().len()
    }

    #[cfg(test)]
    pub fn time_index_len(&self) -> usize {
        self.time_index.read().len()
    }

    /// Writes the buffers one after the other from `pos` (past the published size)
    /// with `pwritev`, so batches are stored from the producer's buffers without
    /// being gathered into one first; not visible until [`Self::publish`].
    pub fn write_vectored_at(&self, bufs: &[&[u8]], mut pos: u64) -> Result<()> {
        /// Linux's IOV_MAX is 1024.
        const MAX_IOVECS: usize = 512;
        for group in bufs.chunks(MAX_IOVECS) {
            let mut slices: Vec<IoSlice<'_>> = group
                .iter()
                .filter(|b| !b.is_empty())
                .map(|b| IoSlice::new(b))
                .collect();
            let mut rest = &mut slices[..];
            while !rest.is_empty() {
                let n = rustix::io::pwritev(&self.log, rest, pos).map_err(std::io::Error::from)?;
                if n == 0 {
                    return Err(std::io::Error::from(ErrorKind::WriteZero).into());
                }
                pos += n as u64;
                IoSlice::advance_slices(&mut rest, n);
            }
        }
        Ok(())
    }

    /// Adds index entries (for data about to be published).
    pub fn push_index(&self, offsets: &[OffsetEntry], times: &[TimeEntry]) {
        if !offsets.is_empty() {
            self.offset_index.write().extend_from_slice(offsets);
        }
        if !times.is_empty() {
            self.time_index.write().extend_from_slice(times);
        }
    }

    /// Makes appended bytes readable.
    pub fn publish(&self, size: u64, next_offset: i64) {
        self.size.store(size, Ordering::Release);
        self.next_offset.store(next_offset, Ordering::Release);
    }

    /// Records a batch's max timestamp; the earliest offset wins ties.
    pub fn observe_max_timestamp(&self, timestamp: i64, offset: i64) {
        let mut m = self.max_timestamp.lock();
        if m.is_none_or(|(ts, _)| timestamp > ts) {
            *m = Some((timestamp, offset));
        }
    }

    fn rel(&self, offset: i64) -> u32 {
        u32::try_from(offset.saturating_sub(self.base_offset).max(0)).unwrap_or(u32::MAX)
    }

    /// File position to start scanning from for `offset`.
    fn position_for(&self, offset: i64) -> u64 {
        let idx = self.offset_index.read();
        index::lookup_offset(&idx, self.rel(offset)).map_or(0, |e| u64::from(e.position))
    }

    /// Position and header of the first batch with last offset ≥ `offset` and base
    /// offset < `hw`, if this segment has one.
    fn find_batch(
        &self,
        reader: &mut HeaderReader<'_>,
        offset: i64,
        hw: i64,
    ) -> Result<Option<(u64, BatchHeader)>> {
        let mut pos = self.position_for(offset);
        while let Some(h) = reader.header_at(pos)? {
            if h.base_offset >= hw {
                return Ok(None);
            }
            if h.last_offset() >= offset {
                return Ok(Some((pos, h)));
            }
            pos += h.size() as u64;
        }
        Ok(None)
    }

    /// Whole batches from the one containing `offset`, at most `max_bytes` of them
    /// (but the first whole if `min_one_batch`), none at or past `hw`. `None` when
    /// this segment holds no batch at or after `offset`.
    pub fn read(
        &self,
        offset: i64,
        hw: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<Option<Bytes>> {
        let size = self.size();
        let mut reader = HeaderReader::new(&self.log, size);
        let Some((start, first)) = self.find_batch(&mut reader, offset, hw)? else {
            return Ok(None);
        };
        let first_size = first.size();
        if first_size > max_bytes && !min_one_batch {
            return Ok(Some(Bytes::new()));
        }
        let available = usize::try_from(size - start).unwrap_or(usize::MAX);
        let want = first_size.max(max_bytes.min(available));
        let buf = Bytes::from(read_at(&self.log, start, want)?);
        let end = whole_batches_end(first_size as u64, buf.len() as u64, hw, |pos| {
            Ok(buf.get(pos as usize..).and_then(BatchHeader::parse))
        })?;
        Ok(Some(buf.slice(..end as usize)))
    }

    /// The same batches [`Segment::read`] returns, as a byte range of the log
    /// file (position, length; length 0 when the first batch is over `max_bytes`
    /// and not `min_one_batch`), found by reading batch headers only, so the
    /// data can go from the page cache to a socket without being read here.
    pub fn range(
        &self,
        offset: i64,
        hw: i64,
        max_bytes: usize,
        min_one_batch: bool,
        wait: Wait,
    ) -> Result<Option<(u64, usize)>> {
        let mut reader =
            HeaderReader::with_chunk(&self.log, self.size(), RANGE_SCAN_CHUNK).waiting(wait);
        let Some((start, first)) = self.find_batch(&mut reader, offset, hw)? else {
            return Ok(None);
        };
        let first_size = first.size();
        if first_size > max_bytes && !min_one_batch {
            return Ok(Some((start, 0)));
        }
        let limit = start.saturating_add(max_bytes as u64);
        let end = whole_batches_end(start + first_size as u64, limit, hw, |pos| {
            reader.header_at(pos)
        })?;
        Ok(Some((start, (end - start) as usize)))
    }

    /// Calls `f` with the position and header of every batch from the one holding
    /// `offset` (or the first after it) to the published end, until it returns `false`.
    pub fn for_each_header_from(
        &self,
        offset: i64,
        mut f: impl FnMut(u64, &BatchHeader) -> Result<bool>,
    ) -> Result<()> {
        let mut reader = HeaderReader::new(&self.log, self.size());
        let mut pos = self.position_for(offset);
        while let Some(h) = reader.header_at(pos)? {
            if h.last_offset() >= offset && !f(pos, &h)? {
                break;
            }
            pos += h.size() as u64;
        }
        Ok(())
    }

    /// Calls `f` with the position, header and bytes of every batch, in order, until
    /// it returns `false`.
    pub fn for_each_batch(
        &self,
        mut f: impl FnMut(u64, &BatchHeader, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let mut reader = HeaderReader::new(&self.log, self.size());
        let mut pos = 0u64;
        while let Some(h) = reader.header_at(pos)? {
            let bytes = self.read_batch(pos, h.size())?;
            if !f(pos, &h, &bytes)? {
                break;
            }
            pos += h.size() as u64;
        }
        Ok(())
    }

    pub(crate) fn read_batch(&self, pos: u64, size: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; size];
        self.log.read_exact_at(&mut buf, pos)?;
        Ok(buf)
    }

    /// The earliest record with offset in [`start_offset`, `hw`) and timestamp ≥ `target`.
    pub fn find_offset_by_timestamp(
        &self,
        target: i64,
        start_offset: i64,
        hw: i64,
        decompress_limit: usize,
    ) -> Result<Option<TimestampOffset>> {
        let from = {
            let times = self.time_index.read();
            index::lookup_time(&times, target, self.rel(hw)).map_or(self.base_offset, |e| {
                self.base_offset + i64::from(e.rel_offset)
            })
        };
        let from = from.max(start_offset);
        let mut reader = HeaderReader::new(&self.log, self.size());
        let mut pos = self.position_for(from);
        while let Some(h) = reader.header_at(pos)? {
            if h.base_offset >= hw {
                break;
            }
            if h.last_offset() >= start_offset && h.max_timestamp >= target {
                let bytes = self.read_batch(pos, h.size())?;
                let found =
                    first_record_at_or_after(&bytes, &h, target, start_offset, decompress_limit)?;
                if found.is_some() {
                    return Ok(found);
                }
            }
            pos += h.size() as u64;
        }
        Ok(None)
    }

    /// Replaces the offset of the max timestamp (which may name any offset of the batch
    /// holding it, as index entries do) by the first record that carries it.
    pub fn resolve_max_timestamp(&self, decompress_limit: usize) -> Result<()> {
        let Some((ts, offset)) = self.max_timestamp() else {
            return Ok(());
        };
        let mut reader = HeaderReader::new(&self.log, self.size());
        let Some((pos, h)) = self.find_batch(&mut reader, offset, i64::MAX)? else {
            return Ok(());
        };
        if h.base_offset > offset {
            return Ok(());
        }
        let bytes = self.read_batch(pos, h.size())?;
        if let Some(r) = first_record_at_or_after(&bytes, &h, ts, h.base_offset, decompress_limit)?
        {
            if r.timestamp == ts {
                *self.max_timestamp.lock() = Some((ts, r.offset));
            }
        }
        Ok(())
    }

    /// fsyncs the log data (not the indexes, which recovery rebuilds) if it grew.
    pub fn sync_log(&self) -> Result<()> {
        let size = self.size();
        if self.flushed_size.load(Ordering::Acquire) >= size || self.is_deleted() {
            return Ok(());
        }
        self.log.sync_data()?;
        self.flushed_size.fetch_max(size, Ordering::AcqRel);
        Ok(())
    }

    /// fsyncs the log and both index files.
    pub fn sync_all(&self) -> Result<()> {
        if self.is_deleted() {
            return Ok(());
        }
        let size = self.size();
        self.log.sync_all()?;
        self.flushed_size.fetch_max(size, Ordering::AcqRel);
        for path in [&self.index_path, &self.time_index_path] {
            match File::open(path) {
                Ok(f) => f.sync_all()?,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    /// Marks the segment as replaced by a cleaned copy under the same file names:
    /// no more fsyncs, and its files are not deleted (they are the copy's now).
    pub fn mark_replaced(&self) {
        self.deleted.store(true, Ordering::Release);
    }

    /// Removes the segment's files (open handles stay readable until dropped).
    pub fn delete_files(&self) -> Result<()> {
        self.deleted.store(true, Ordering::Release);
        for path in [&self.log_path, &self.index_path, &self.time_index_path] {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectored_writes_and_uninitialised_reads_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let segment = Segment::create(dir.path(), 0).expect("create");
        // More buffers than one pwritev takes, some empty.
        let parts: Vec<Vec<u8>> = (0..1500u32)
            .map(|i| (0..i % 11).map(|j| (i * 7 + j) as u8).collect())
            .collect();
        let slices: Vec<&[u8]> = parts.iter().map(|p| &p[..]).collect();
        segment.write_vectored_at(&slices, 5).expect("write");
        let expected: Vec<u8> = parts.concat();
        let back = read_at(&segment.log, 5, expected.len()).expect("read back");
        assert_eq!(back, expected);
        assert!(
            read_at(&segment.log, 5, expected.len() + 1).is_err(),
            "past the end"
        );
    }
}
