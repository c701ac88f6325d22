//! Request frames in, response frames out.
//!
//! A frame is a 4-byte big-endian size followed by that many bytes. The size
//! is checked against `socket.request.max.bytes` by the connection before
//! anything is allocated; [`decode_request`] then decodes the header and the
//! body with the `kafka-protocol` crate, for the APIs and versions Strom
//! serves (see [`crate::handlers::api_versions::SUPPORTED`]). Responses are
//! encoded by the crate too, except Fetch: [`fetch_response`] keeps the
//! records read from the log out of the encoded buffer, so they are not copied.

pub mod fetch_response;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};
use strom_log::FileRegion;

use crate::handlers::api_versions::supported_range;

/// A decoded request: header plus body.
#[derive(Debug)]
pub struct DecodedRequest {
    pub header: RequestHeader,
    pub body: RequestKind,
}

impl DecodedRequest {
    /// The request's API key (it decoded, so it is known).
    pub fn api_key(&self) -> ApiKey {
        ApiKey::try_from(self.header.request_api_key).unwrap_or(ApiKey::ApiVersions)
    }
}

/// Why a frame could not be decoded. The connection answers or closes accordingly.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Garbage, truncated, or trailing bytes: Kafka closes the connection.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// An API key Strom does not serve (or that does not exist): the connection closes.
    #[error("unsupported API key {api_key}")]
    UnsupportedApi { api_key: i16, correlation_id: i32 },
    /// A version outside the advertised range. For ApiVersions the broker
    /// answers with UNSUPPORTED_VERSION in v0 framing (KIP-511); otherwise it closes.
    #[error("unsupported version {version} of API key {api_key}")]
    UnsupportedVersion {
        api_key: i16,
        version: i16,
        correlation_id: i32,
    },
}

/// Decode one request frame (the bytes after the 4-byte length prefix).
/// Never panics; see [`crate::alloc_guard`] for how hostile counts are contained.
pub fn decode_request(frame: Bytes) -> Result<DecodedRequest, CodecError> {
    if frame.len() < 8 {
        return Err(CodecError::Malformed(format!(
            "frame of {} bytes is shorter than a request header",
            frame.len()
        )));
    }
    let mut peek = &frame[..8];
    let api_key_raw = peek.get_i16();
    let version = peek.get_i16();
    let correlation_id = peek.get_i32();
    let api_key = ApiKey::try_from(api_key_raw).map_err(|_| CodecError::UnsupportedApi {
        api_key: api_key_raw,
        correlation_id,
    })?;
    let Some(range) = supported_range(api_key) else {
        return Err(CodecError::UnsupportedApi {
            api_key: api_key_raw,
            correlation_id,
        });
    };
    if version < range.min || version > range.max {
        return Err(CodecError::UnsupportedVersion {
            api_key: api_key_raw,
            version,
            correlation_id,
        });
    }
    let mut buf = frame;
    let header_version = api_key.request_header_version(version);
    let header = RequestHeader::decode(&mut buf, header_version)
        .map_err(|e| CodecError::Malformed(format!("header: {e:#}")))?;
    let body = RequestKind::decode(api_key, &mut buf, version)
        .map_err(|e| CodecError::Malformed(format!("{api_key:?} v{version}: {e:#}")))?;
    if buf.has_remaining() {
        // Kafka ignores bytes after the body (librdkafka's all-topics Metadata
        // request carries a few), so we do too.
        tracing::debug!(
            ?api_key,
            version,
            trailing = buf.remaining(),
            "ignoring trailing request bytes"
        );
    }
    Ok(DecodedRequest { header, body })
}

/// An encoded response frame, size prefix included.
#[derive(Debug)]
pub enum Frame {
    /// The whole frame in one buffer.
    Buf(BytesMut),
    /// The frame in parts, written in order (a Fetch response: header parts
    /// and the partitions' records, which are not copied).
    Chunks(Vec<Chunk>),
}

/// A part of a chunked frame.
#[derive(Debug, Clone)]
pub enum Chunk {
    Mem(Bytes),
    /// Records still in a segment file, sent from the page cache with
    /// `sendfile(2)` without passing through the broker's memory.
    File(FileRegion),
}

impl Chunk {
    pub fn len(&self) -> usize {
        match self {
            Chunk::Mem(b) => b.len(),
            Chunk::File(r) => r.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Frame {
    /// Size of the frame in bytes, size prefix included.
    pub fn len(&self) -> usize {
        match self {
            Frame::Buf(b) => b.len(),
            Frame::Chunks(c) => c.iter().map(Chunk::len).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<BytesMut> for Frame {
    fn from(b: BytesMut) -> Self {
        Frame::Buf(b)
    }
}

/// Encode a response frame (size prefix, header, body) for `api_key` at `version`.
pub fn encode_response(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> anyhow::Result<BytesMut> {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header.encode(&mut buf, api_key.response_header_version(version))?;
    body.encode(&mut buf, version)?;
    let size = i32::try_from(buf.len() - 4)?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::MetadataRequest;

    fn frame(api_key: i16, version: i16, body: &[u8]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(api_key);
        b.put_i16(version);
        b.put_i32(7);
        b.put_i16(-1); // null client id
        b.extend_from_slice(body);
        b.freeze()
    }

    #[test]
    fn decodes_metadata() {
        let mut body = BytesMut::new();
        MetadataRequest::default()
            .encode(&mut body, 1)
            .expect("encode");
        let r = decode_request(frame(3, 1, &body)).expect("decode");
        assert_eq!(r.header.correlation_id, 7);
        assert!(matches!(r.body, RequestKind::Metadata(_)));
    }

    #[test]
    fn rejects_short_unknown_and_hostile() {
        assert!(matches!(
            decode_request(Bytes::from_static(&[0, 3, 0])),
            Err(CodecError::Malformed(_))
        ));
        assert!(matches!(
            decode_request(frame(999, 0, &[])),
            Err(CodecError::UnsupportedApi { .. })
        ));
        assert!(matches!(
            decode_request(frame(18, 99, &[])),
            Err(CodecError::UnsupportedVersion {
                correlation_id: 7,
                ..
            })
        ));
        // Metadata v0 with a topic array claiming 0x7fffffff entries.
        assert!(matches!(
            decode_request(frame(3, 0, &[0x7f, 0xff, 0xff, 0xff])),
            Err(CodecError::Malformed(_))
        ));
    }
}
