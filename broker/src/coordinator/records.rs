//! The records of `__consumer_offsets`, byte for byte as Kafka writes them, and
//! the group → partition mapping.
//!
//! A record's key starts with an int16 that says what it is (Kafka's key
//! "version", today the coordinator record type):
//!
//! | key version | key fields                 | value                          |
//! |-------------|----------------------------|--------------------------------|
//! | 0, 1        | group, topic, partition    | OffsetCommitValue v0–v4        |
//! | 2           | group                      | GroupMetadataValue v0–v4       |
//! | 3+          | KIP-848 / share groups     | ignored here                   |
//!
//! A record without a value is a tombstone. We write OffsetCommitKey with key
//! version 1 and OffsetCommitValue v3 (v1 when the commit carries an expire
//! timestamp, as Kafka does), GroupMetadataKey version 2 and
//! GroupMetadataValue v3. Non-flexible versions use int16-length strings,
//! int32-length bytes and int32-count arrays, all big-endian; v4 values are
//! flexible (compact lengths, tagged fields) and are read, never written.

use bytes::{BufMut, Bytes, BytesMut};

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Key version of an offset commit (0 and 1 share a schema; Kafka writes 1).
pub const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
/// Key version of a group metadata record.
pub const GROUP_METADATA_KEY_VERSION: i16 = 2;

/// Java's `String.hashCode`: over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `__consumer_offsets` partition of a group: Kafka's
/// `Utils.abs(groupId.hashCode) % partitionCount`.
pub fn partition_for(group_id: &str, partition_count: i32) -> i32 {
    let h = java_string_hash(group_id);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partition_count.max(1)
}

/// A decoded record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
    /// A record type the classic coordinator does not use.
    Other(i16),
}

/// A committed offset (OffsetCommitValue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    pub offset: i64,
    /// -1 when unknown.
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
    /// Set by OffsetCommit v2–v4 `retention_time_ms`.
    pub expire_timestamp: Option<i64>,
}

/// One member in a GroupMetadataValue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberValue {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// GroupMetadataValue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// -1 when unknown.
    pub current_state_timestamp: i64,
    pub members: Vec<MemberValue>,
}

fn put_string(buf: &mut BytesMut, s: &str) {
    // Group ids, topic names and member ids are far below 32 KiB; a longer one
    // is cut rather than written with a wrapped length.
    let bytes = &s.as_bytes()[..s.len().min(i16::MAX as usize)];
    buf.put_i16(bytes.len() as i16);
    buf.put_slice(bytes);
}

fn put_nullable_string(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_string(buf, s),
        None => buf.put_i16(-1),
    }
}

fn put_bytes(buf: &mut BytesMut, b: &[u8]) {
    buf.put_i32(b.len() as i32);
    buf.put_slice(b);
}

/// OffsetCommitKey (key version 1).
pub fn offset_key(group: &str, topic: &str, partition: i32) -> Bytes {
    let mut buf = BytesMut::with_capacity(8 + group.len() + topic.len());
    buf.put_i16(OFFSET_COMMIT_KEY_VERSION);
    put_string(&mut buf, group);
    put_string(&mut buf, topic);
    buf.put_i32(partition);
    buf.freeze()
}

/// GroupMetadataKey (key version 2).
pub fn group_key(group: &str) -> Bytes {
    let mut buf = BytesMut::with_capacity(4 + group.len());
    buf.put_i16(GROUP_METADATA_KEY_VERSION);
    put_string(&mut buf, group);
    buf.freeze()
}

/// OffsetCommitValue v3 (v1 when there is an expire timestamp).
pub fn offset_value(v: &OffsetValue) -> Bytes {
    let mut buf = BytesMut::with_capacity(32 + v.metadata.len());
    match v.expire_timestamp {
        Some(expire) => {
            buf.put_i16(1);
            buf.put_i64(v.offset);
            put_string(&mut buf, &v.metadata);
            buf.put_i64(v.commit_timestamp);
            buf.put_i64(expire);
        }
        None => {
            buf.put_i16(3);
            buf.put_i64(v.offset);
            buf.put_i32(v.leader_epoch);
            put_string(&mut buf, &v.metadata);
            buf.put_i64(v.commit_timestamp);
        }
    }
    buf.freeze()
}

/// GroupMetadataValue v3.
pub fn group_value(v: &GroupValue) -> Bytes {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i16(3);
    put_string(&mut buf, &v.protocol_type);
    buf.put_i32(v.generation);
    put_nullable_string(&mut buf, v.protocol.as_deref());
    put_nullable_string(&mut buf, v.leader.as_deref());
    buf.put_i64(v.current_state_timestamp);
    buf.put_i32(v.members.len() as i32);
    for m in &v.members {
        put_string(&mut buf, &m.member_id);
        put_nullable_string(&mut buf, m.group_instance_id.as_deref());
        put_string(&mut buf, &m.client_id);
        put_string(&mut buf, &m.client_host);
        buf.put_i32(m.rebalance_timeout);
        buf.put_i32(m.session_timeout);
        put_bytes(&mut buf, &m.subscription);
        put_bytes(&mut buf, &m.assignment);
    }
    buf.freeze()
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed __consumer_offsets record: {0}")]
pub struct FormatError(pub &'static str);

/// A cursor over a record's bytes, with Kafka's primitive types.
struct Reader<'a> {
    buf: &'a [u8],
    flexible: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if self.buf.len() < n {
            return Err(FormatError("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, FormatError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, FormatError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Result<i64, FormatError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    fn uvarint(&mut self) -> Result<u32, FormatError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = self.take(1)?[0];
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(FormatError("varint too long"))
    }

    /// A length: int16/int32 for classic versions, compact (n+1) for flexible
    /// ones. None is null.
    fn length(&mut self, wide: bool) -> Result<Option<usize>, FormatError> {
        if self.flexible {
            let n = self.uvarint()?;
            return Ok(n.checked_sub(1).map(|n| n as usize));
        }
        let n = if wide {
            self.i32()?
        } else {
            i32::from(self.i16()?)
        };
        Ok(usize::try_from(n).ok())
    }

    fn nullable_string(&mut self) -> Result<Option<String>, FormatError> {
        match self.length(false)? {
            None => Ok(None),
            Some(n) => {
                let b = self.take(n)?;
                Ok(Some(String::from_utf8_lossy(b).into_owned()))
            }
        }
    }

    fn string(&mut self) -> Result<String, FormatError> {
        Ok(self.nullable_string()?.unwrap_or_default())
    }

    fn bytes(&mut self) -> Result<Bytes, FormatError> {
        match self.length(true)? {
            None => Ok(Bytes::new()),
            Some(n) => Ok(Bytes::copy_from_slice(self.take(n)?)),
        }
    }

    fn array_len(&mut self) -> Result<usize, FormatError> {
        let n = self.length(true)?.unwrap_or(0);
        // Every element takes at least one byte: a count beyond that is corrupt.
        if n > self.buf.len() {
            return Err(FormatError("array count beyond the record"));
        }
        Ok(n)
    }

    /// Skip a flexible struct's tagged fields.
    fn tagged_fields(&mut self) -> Result<(), FormatError> {
        if !self.flexible {
            return Ok(());
        }
        let n = self.uvarint()?;
        for _ in 0..n {
            self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size)?;
        }
        Ok(())
    }
}

/// Read a record key.
pub fn decode_key(buf: &[u8]) -> Result<RecordKey, FormatError> {
    let mut r = Reader {
        buf,
        flexible: false,
    };
    let version = r.i16()?;
    match version {
        0 | 1 => Ok(RecordKey::Offset {
            group: r.string()?,
            topic: r.string()?,
            partition: r.i32()?,
        }),
        2 => Ok(RecordKey::Group { group: r.string()? }),
        v if v > 2 => Ok(RecordKey::Other(v)),
        _ => Err(FormatError("negative key version")),
    }
}

/// Read an OffsetCommitValue (v0–v4).
pub fn decode_offset_value(buf: &[u8]) -> Result<OffsetValue, FormatError> {
    let mut r = Reader {
        buf,
        flexible: false,
    };
    let version = r.i16()?;
    if !(0..=4).contains(&version) {
        return Err(FormatError("unknown OffsetCommitValue version"));
    }
    r.flexible = version >= 4;
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp = r.i64()?;
    let expire_timestamp = if version == 1 {
        Some(r.i64()?).filter(|t| *t >= 0)
    } else {
        None
    };
    r.tagged_fields()?;
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
        expire_timestamp,
    })
}

/// Read a GroupMetadataValue (v0–v4).
pub fn decode_group_value(buf: &[u8]) -> Result<GroupValue, FormatError> {
    let mut r = Reader {
        buf,
        flexible: false,
    };
    let version = r.i16()?;
    if !(0..=4).contains(&version) {
        return Err(FormatError("unknown GroupMetadataValue version"));
    }
    r.flexible = version >= 4;
    let protocol_type = r.string()?;
    let generation = r.i32()?;
    let protocol = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let current_state_timestamp = if version >= 2 { r.i64()? } else { -1 };
    let count = r.array_len()?;
    let mut members = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 {
            r.nullable_string()?
        } else {
            None
        };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let session_and_rebalance = if version >= 1 {
            let rebalance = r.i32()?;
            (r.i32()?, rebalance)
        } else {
            let session = r.i32()?;
            (session, session)
        };
        let subscription = r.bytes()?;
        let assignment = r.bytes()?;
        r.tagged_fields()?;
        members.push(MemberValue {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout: session_and_rebalance.1,
            session_timeout: session_and_rebalance.0,
            subscription,
            assignment,
        });
    }
    r.tagged_fields()?;
    Ok(GroupValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_and_partition() {
        // Values computed with Java's String.hashCode.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("my-group"), -1_906_497_762);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        assert_eq!(partition_for("my-group", 50), 1_906_497_762 % 50);
        // Non-BMP characters count as two UTF-16 code units.
        assert_eq!(java_string_hash("😀"), 1_772_899);
        let neg = "console-consumer-12345";
        let h = java_string_hash(neg);
        assert_eq!(partition_for(neg, 50), h.abs() % 50);
    }

    #[test]
    fn offset_key_bytes() {
        let k = offset_key("g", "t", 3);
        assert_eq!(&k[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 3]);
        assert_eq!(
            decode_key(&k).unwrap(),
            RecordKey::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 3
            }
        );
        let g = group_key("g");
        assert_eq!(&g[..], &[0, 2, 0, 1, b'g']);
        assert_eq!(
            decode_key(&g).unwrap(),
            RecordKey::Group { group: "g".into() }
        );
        assert_eq!(decode_key(&[0, 9, 1]).unwrap(), RecordKey::Other(9));
        assert!(decode_key(&[0, 1, 0, 5, b'a']).is_err());
    }

    #[test]
    fn offset_value_v3_and_v1() {
        let v = OffsetValue {
            offset: 42,
            leader_epoch: 7,
            metadata: "m".into(),
            commit_timestamp: 1000,
            expire_timestamp: None,
        };
        let b = offset_value(&v);
        let mut expect = vec![0, 3];
        expect.extend_from_slice(&42i64.to_be_bytes());
        expect.extend_from_slice(&7i32.to_be_bytes());
        expect.extend_from_slice(&[0, 1, b'm']);
        expect.extend_from_slice(&1000i64.to_be_bytes());
        assert_eq!(&b[..], &expect[..]);
        assert_eq!(decode_offset_value(&b).unwrap(), v);
        let v1 = OffsetValue {
            expire_timestamp: Some(5000),
            leader_epoch: -1,
            ..v
        };
        assert_eq!(decode_offset_value(&offset_value(&v1)).unwrap(), v1);
    }

    #[test]
    fn offset_value_v4_flexible() {
        // offset 5, leaderEpoch -1, metadata "ab" (compact: len+1), ts 9, no tags.
        let mut b = vec![0, 4];
        b.extend_from_slice(&5i64.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&[3, b'a', b'b']);
        b.extend_from_slice(&9i64.to_be_bytes());
        b.push(0);
        let v = decode_offset_value(&b).unwrap();
        assert_eq!(
            (v.offset, v.leader_epoch, v.metadata.as_str()),
            (5, -1, "ab")
        );
        assert_eq!(v.commit_timestamp, 9);
    }

    #[test]
    fn group_value_round_trip() {
        let v = GroupValue {
            protocol_type: "consumer".into(),
            generation: 3,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            current_state_timestamp: 77,
            members: vec![MemberValue {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 300_000,
                session_timeout: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let b = group_value(&v);
        assert_eq!(&b[..2], &[0, 3]);
        assert_eq!(decode_group_value(&b).unwrap(), v);
        let empty = GroupValue {
            protocol_type: "consumer".into(),
            generation: 4,
            protocol: None,
            leader: None,
            current_state_timestamp: 1,
            members: vec![],
        };
        assert_eq!(decode_group_value(&group_value(&empty)).unwrap(), empty);
        assert!(decode_group_value(&[0, 3, 0]).is_err());
        assert!(decode_group_value(&[0, 9]).is_err());
    }
}
