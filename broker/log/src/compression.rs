//! The record-batch compression codecs, in the framings Kafka's clients use:
//! gzip (RFC 1952, members may be concatenated), snappy (xerial/snappy-java block
//! framing, with a fallback to raw snappy), lz4 (LZ4 frame, independent 64 KiB
//! blocks, as Kafka's `KafkaLZ4BlockOutputStream`) and zstd (zstd frames).
//!
//! Decompression is bounded: output larger than `limit` is an error, never an
//! allocation of whatever a hostile batch claims.

use std::io::{Read, Write};

use crate::{Error, Result};

pub(crate) const NONE: u8 = 0;
pub(crate) const GZIP: u8 = 1;
pub(crate) const SNAPPY: u8 = 2;
pub(crate) const LZ4: u8 = 3;
pub(crate) const ZSTD: u8 = 4;

const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

fn corrupt(codec: u8, e: impl std::fmt::Display) -> Error {
    Error::CorruptRecord(format!("failed to decompress {} records: {e}", name(codec)))
}

pub(crate) fn name(codec: u8) -> &'static str {
    match codec {
        NONE => "uncompressed",
        GZIP => "gzip",
        SNAPPY => "snappy",
        LZ4 => "lz4",
        ZSTD => "zstd",
        _ => "unknown",
    }
}

fn too_large(limit: usize) -> Error {
    Error::MessageTooLarge {
        size: limit.saturating_add(1),
        max: limit,
    }
}

/// Decompressed bytes in a buffer that is reused: `buf` is all initialised
/// (zeroed once when it grows), `len` bytes of it are the output. Reusing it
/// spares the zeroing and the page faults of a fresh buffer for every batch.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    buf: Vec<u8>,
    len: usize,
}

/// Scratch buffers larger than this are not kept for the next batch.
const SCRATCH_KEEP: usize = 4 << 20;

impl Scratch {
    /// The output of the last [`Self::decompress`].
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Makes `buf[..n]` writable, growing (and zeroing the new part) if needed.
    fn ensure(&mut self, n: usize) -> &mut [u8] {
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        &mut self.buf[..n]
    }

    /// Decompresses a batch's records section into this buffer. `limit` bounds
    /// the output size.
    pub fn decompress(&mut self, codec: u8, data: &[u8], limit: usize) -> Result<&[u8]> {
        self.len = 0;
        match codec {
            NONE => {
                if data.len() > limit {
                    return Err(too_large(limit));
                }
                self.ensure(data.len()).copy_from_slice(data);
                self.len = data.len();
            }
            GZIP => self.read_bounded(codec, flate2::read::MultiGzDecoder::new(data), limit)?,
            SNAPPY => self.snappy(data, limit)?,
            LZ4 => {
                let decoder = lz4::Decoder::new(data).map_err(|e| corrupt(codec, e))?;
                self.read_bounded(codec, decoder, limit)?
            }
            ZSTD => {
                let decoder = zstd::stream::read::Decoder::with_buffer(data)
                    .map_err(|e| corrupt(codec, e))?;
                self.read_bounded(codec, decoder, limit)?
            }
            other => return Err(Error::UnsupportedCompression(other)),
        }
        Ok(self.data())
    }

    /// Gives up the buffer if it grew past what is worth keeping.
    pub fn trim(&mut self) {
        if self.buf.len() > SCRATCH_KEEP {
            *self = Scratch::default();
        }
    }

    /// Reads `reader` to its end; more than `limit` bytes is an error.
    fn read_bounded(&mut self, codec: u8, mut reader: impl Read, limit: usize) -> Result<()> {
        let cap = limit.saturating_add(1);
        loop {
            let end = self.buf.len().min(cap);
            if self.len == end {
                if end == cap {
                    return Err(too_large(limit));
                }
                let grown = self.buf.len().saturating_mul(2).max(64 * 1024).min(cap);
                self.ensure(grown);
                continue;
            }
            let n = match reader.read(&mut self.buf[self.len..end]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(corrupt(codec, e)),
            };
            if n == 0 {
                return Ok(());
            }
            self.len += n;
        }
    }

    fn snappy(&mut self, data: &[u8], limit: usize) -> Result<()> {
        let mut decoder = snap::raw::Decoder::new();
        if data.len() < XERIAL_HEADER_LEN || data[..XERIAL_MAGIC.len()] != XERIAL_MAGIC[..] {
            // Raw snappy, as snappy-java falls back to.
            let len = snap::raw::decompress_len(data).map_err(|e| corrupt(SNAPPY, e))?;
            if len > limit {
                return Err(too_large(limit));
            }
            self.len = decoder
                .decompress(data, self.ensure(len))
                .map_err(|e| corrupt(SNAPPY, e))?;
            return Ok(());
        }
        let mut pos = XERIAL_HEADER_LEN;
        while pos < data.len() {
            let len_bytes = data
                .get(pos..pos + 4)
                .ok_or_else(|| corrupt(SNAPPY, "truncated block length"))?;
            let block_len =
                u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]])
                    as usize;
            pos += 4;
            let block = pos
                .checked_add(block_len)
                .and_then(|end| data.get(pos..end))
                .ok_or_else(|| corrupt(SNAPPY, "truncated block"))?;
            pos += block_len;
            let len = snap::raw::decompress_len(block).map_err(|e| corrupt(SNAPPY, e))?;
            let start = self.len;
            let end = start.checked_add(len).filter(|e| *e <= limit);
            let Some(end) = end else {
                return Err(too_large(limit));
            };
            let n = decoder
                .decompress(block, &mut self.ensure(end)[start..])
                .map_err(|e| corrupt(SNAPPY, e))?;
            self.len = start + n;
        }
        Ok(())
    }
}

thread_local! {
    /// One scratch buffer per thread (appends run on tokio's blocking pool).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Decompresses a records section into this thread's reusable buffer and calls
/// `f` with it: for checks that read the records once and keep nothing.
pub(crate) fn with_decompressed<T>(
    codec: u8,
    data: &[u8],
    limit: usize,
    f: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let result = scratch.decompress(codec, data, limit).and_then(f);
            scratch.trim();
            result
        }
        // Re-entered from `f` (not done today): use a buffer of its own.
        Err(_) => f(&decompress(codec, data, limit)?),
    })
}

/// Decompresses a batch's records section into a new buffer. `limit` bounds the
/// output size.
pub(crate) fn decompress(codec: u8, data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut scratch = Scratch::default();
    scratch.decompress(codec, data, limit)?;
    let mut out = scratch.buf;
    out.truncate(scratch.len);
    Ok(out)
}

fn compress_failed(codec: u8, e: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!(
        "failed to compress records with {}: {e}",
        name(codec)
    )))
}

/// Compresses a records section with `codec`.
pub(crate) fn compress(codec: u8, data: &[u8]) -> Result<Vec<u8>> {
    match codec {
        NONE => Ok(data.to_vec()),
        GZIP => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(data.len() / 2),
                flate2::Compression::default(),
            );
            enc.write_all(data).map_err(|e| compress_failed(codec, e))?;
            enc.finish().map_err(|e| compress_failed(codec, e))
        }
        SNAPPY => {
            let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + data.len() / 2);
            out.extend_from_slice(XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes()); // version
            out.extend_from_slice(&1i32.to_be_bytes()); // compatible version
            let mut encoder = snap::raw::Encoder::new();
            for block in data.chunks(XERIAL_BLOCK_SIZE) {
                let compressed = encoder
                    .compress_vec(block)
                    .map_err(|e| compress_failed(codec, e))?;
                out.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
                out.extend_from_slice(&compressed);
            }
            Ok(out)
        }
        LZ4 => {
            let mut enc = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .build(Vec::with_capacity(data.len() / 2))
                .map_err(|e| compress_failed(codec, e))?;
            enc.write_all(data).map_err(|e| compress_failed(codec, e))?;
            let (out, res) = enc.finish();
            res.map_err(|e| compress_failed(codec, e))?;
            Ok(out)
        }
        ZSTD => zstd::bulk::compress(data, 3).map_err(|e| compress_failed(codec, e)),
        other => Err(Error::UnsupportedCompression(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn roundtrip_every_codec() {
        let data = sample();
        for codec in [NONE, GZIP, SNAPPY, LZ4, ZSTD] {
            let c = compress(codec, &data).unwrap();
            let d = decompress(codec, &c, data.len()).unwrap();
            assert_eq!(d, data, "codec {codec}");
            // Empty input too.
            let c = compress(codec, &[]).unwrap();
            assert!(
                decompress(codec, &c, 10).unwrap().is_empty(),
                "codec {codec}"
            );
        }
    }

    #[test]
    fn a_reused_scratch_buffer_gives_each_output_exactly() {
        let big = sample();
        let small = b"a short records section".to_vec();
        let mut scratch = Scratch::default();
        for codec in [NONE, GZIP, SNAPPY, LZ4, ZSTD] {
            for data in [&big, &small, &big, &Vec::new()] {
                let c = compress(codec, data).unwrap();
                assert_eq!(
                    scratch.decompress(codec, &c, big.len()).unwrap(),
                    &data[..],
                    "codec {codec}, {} bytes",
                    data.len()
                );
            }
            // A buffer grown by an earlier batch does not lift the limit.
            let c = compress(codec, &big).unwrap();
            assert!(
                matches!(
                    scratch.decompress(codec, &c, big.len() - 1),
                    Err(Error::MessageTooLarge { .. })
                ),
                "codec {codec}"
            );
        }
        let c = compress(LZ4, &big).unwrap();
        let n = with_decompressed(LZ4, &c, big.len(), |d| {
            assert_eq!(d, &big[..]);
            Ok(d.len())
        })
        .unwrap();
        assert_eq!(n, big.len());
    }

    #[test]
    fn bomb_is_bounded() {
        let data = vec![0u8; 1 << 20];
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            let c = compress(codec, &data).unwrap();
            assert!(
                matches!(
                    decompress(codec, &c, 1000),
                    Err(Error::MessageTooLarge { .. })
                ),
                "codec {codec}"
            );
        }
    }

    #[test]
    fn garbage_is_corrupt() {
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            assert!(
                decompress(codec, b"definitely not compressed data", 1 << 20).is_err(),
                "codec {codec}"
            );
        }
        assert!(matches!(
            decompress(5, b"", 10),
            Err(Error::UnsupportedCompression(5))
        ));
    }

    #[test]
    fn raw_snappy_fallback() {
        let data = sample();
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decompress(SNAPPY, &raw, data.len()).unwrap(), data);
    }

    #[test]
    fn kafka_protocol_crate_can_read_ours() {
        // kafka-protocol's own decompressors (used by many Rust clients) accept our framing.
        use kafka_protocol::compression::{Decompressor, Lz4, Snappy};
        let data = sample();
        let mut c = bytes::Bytes::from(compress(SNAPPY, &data).unwrap());
        let d = Snappy::decompress(&mut c, |b| Ok(b.clone())).unwrap();
        assert_eq!(&d[..], &data[..]);
        let mut c = bytes::Bytes::from(compress(LZ4, &data).unwrap());
        let d = Lz4::decompress(&mut c, |b| Ok(b.clone())).unwrap();
        assert_eq!(&d[..], &data[..]);
    }
}
