"""Helpers shared by the Python client tests: deadlines, unique names, and the
partitioners' hash functions written out here, independently of the clients,
so a test can check where a client put a key."""

import asyncio
import struct
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

DEADLINE_S = 60.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(condition, what: str, timeout: float = DEADLINE_S):
    """Polls `condition` until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(delay)  # back-off between polls of a condition
        delay = min(delay * 2, 0.5)


async def async_wait_until(condition, what: str, timeout: float = DEADLINE_S):
    """`wait_until` for a coroutine function `condition`."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


# --- partitioners ----------------------------------------------------------------

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """The Java client's `Utils.murmur2` (MurmurHash2, seed 0x9747b28c), as an
    unsigned 32-bit value."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def signed32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def java_partition(key: bytes, partitions: int) -> int:
    """The Java client's default partition of a non-null key: toPositive(murmur2) % n."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def crc32_partition(key: bytes, partitions: int) -> int:
    """librdkafka's `consistent_random` / `consistent` partition: CRC-32 of the key % n."""
    return zlib.crc32(key) % partitions


# --- what the broker stored --------------------------------------------------------

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
_BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")  # RecordBatch v2 header, 61 bytes


@dataclass(frozen=True)
class StoredBatch:
    base_offset: int
    last_offset: int
    magic: int
    codec: int
    transactional: bool
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records: int


def stored_batches(log_dir: str | Path, topic: str, partition: int) -> list[StoredBatch]:
    """The record batch headers in a partition's segment files, in offset order:
    Kafka's on-disk layout `<log.dirs>/<topic>-<partition>/<base offset>.log`, each
    file a sequence of RecordBatch v2 (offset, length, leader epoch, magic, crc,
    attributes, ...). Used to check what a client sent (codec, producer id,
    sequence numbers), as the broker stores batches as the producer sent them."""
    out = []
    for segment in sorted(Path(log_dir, f"{topic}-{partition}").glob("*.log")):
        data = segment.read_bytes()
        pos = 0
        while pos + _BATCH_HEADER.size <= len(data):
            (base, length, _epoch, magic, _crc, attrs, last_delta, _ts, _max_ts,
             pid, pepoch, seq, count) = _BATCH_HEADER.unpack_from(data, pos)
            if length <= 0 or pos + 12 + length > len(data):
                break  # a preallocated or partly written tail
            out.append(StoredBatch(base, base + last_delta, magic, attrs & 0x7, bool(attrs & 0x10),
                                   pid, pepoch, seq, count))
            pos += 12 + length
    return out
