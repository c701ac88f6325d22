//! Buffers for reads that are reused once every slice handed out of them has
//! been dropped.
//!
//! A fetch hands the bytes it read to the connection, which keeps them until
//! they are on the socket (the response is not copied), so a consumer reading
//! six partitions frees six ~1 MiB buffers at once after each answer. The
//! system allocator gives such memory back to the OS and faults it in again
//! for the next fetch: measured, seven times the page faults of reading into
//! a fresh buffer and freeing it at once. A buffer here stays allocated and
//! initialised (zeroed once, when created) and is reused when it is unique
//! again, so reads go into memory that is already mapped.

use std::fs::File;
use std::os::unix::fs::FileExt;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;

/// Reads shorter than this use a buffer of their own.
const MIN_READ: usize = 16 * 1024;
/// Smallest pooled buffer (sizes are powers of two from here).
const MIN_BUFFER: usize = 64 * 1024;
/// Reads longer than this use a buffer of their own.
const MAX_BUFFER: usize = 8 << 20;
/// Most memory the pool keeps, in use or not.
const MAX_POOLED_BYTES: usize = 32 << 20;

/// Every pooled buffer, whole; it is free when this is its only reference.
static POOL: Mutex<Vec<Bytes>> = Mutex::new(Vec::new());

/// Reads `len` bytes at `pos` of `file` into a pooled buffer when the size
/// suits one; `None` when the caller should read into a buffer of its own.
pub(crate) fn read_exact_at(file: &File, pos: u64, len: usize) -> Option<std::io::Result<Bytes>> {
    if !(MIN_READ..=MAX_BUFFER).contains(&len) {
        return None;
    }
    let mut buf = take(len).filter(|b| b.len() >= len)?;
    if let Err(e) = file.read_exact_at(&mut buf[..len], pos) {
        give_back(buf.freeze());
        return Some(Err(e));
    }
    let whole = buf.freeze();
    let read = whole.slice(..len);
    give_back(whole);
    Some(Ok(read))
}

/// A free buffer of at least `len` bytes, or a new one if the pool may grow.
fn take(len: usize) -> Option<BytesMut> {
    let mut pool = POOL.lock();
    let mut best: Option<usize> = None;
    for (i, b) in pool.iter().enumerate() {
        if b.len() >= len && b.is_unique() && best.is_none_or(|j| b.len() < pool[j].len()) {
            best = Some(i);
        }
    }
    if let Some(i) = best {
        // Unique: nothing else can clone it while the pool is locked.
        match pool.swap_remove(i).try_into_mut() {
            Ok(buf) => return Some(buf),
            Err(b) => pool.push(b),
        }
    }
    let size = len.next_power_of_two().max(MIN_BUFFER);
    let mut pooled: usize = pool.iter().map(Bytes::len).sum();
    if pooled + size > MAX_POOLED_BYTES {
        // Make room by dropping free buffers, smallest first.
        pool.sort_by_key(Bytes::len);
        pool.retain(|b| {
            if pooled + size > MAX_POOLED_BYTES && b.is_unique() {
                pooled -= b.len();
                false
            } else {
                true
            }
        });
        if pooled + size > MAX_POOLED_BYTES {
            return None;
        }
    }
    drop(pool);
    Some(BytesMut::zeroed(size))
}

fn give_back(whole: Bytes) {
    POOL.lock().push(whole);
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn buffers_are_reused_once_free_and_keep_their_memory() {
        let mut f = tempfile::tempfile().expect("tempfile");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        f.write_all(&data).expect("write");

        let a = read_exact_at(&f, 10, 100_000)
            .expect("pooled")
            .expect("read");
        assert_eq!(&a[..], &data[10..100_010]);
        let a_ptr = a.as_ptr();
        // In use: a second read gets another buffer.
        let b = read_exact_at(&f, 0, 50_000).expect("pooled").expect("read");
        assert_eq!(&b[..], &data[..50_000]);
        assert_ne!(b.as_ptr(), a_ptr);
        // Free again (every slice dropped): reused, and holds the new bytes.
        let kept = a.slice(5..10);
        drop(a);
        let c = read_exact_at(&f, 1, 100_000)
            .expect("pooled")
            .expect("read");
        assert_ne!(c.as_ptr(), a_ptr, "a slice still holds the first buffer");
        drop(kept);
        drop(c);
        let d = read_exact_at(&f, 2, 90_000).expect("pooled").expect("read");
        assert_eq!(&d[..], &data[2..90_002]);
        drop(b);

        // Reads past the end fail and leave the buffer free.
        assert!(read_exact_at(&f, 150_000, 60_000).expect("pooled").is_err());
        // Sizes outside the pool's range are the caller's.
        assert!(read_exact_at(&f, 0, 100).is_none());
        assert!(read_exact_at(&f, 0, MAX_BUFFER + 1).is_none());
    }
}
