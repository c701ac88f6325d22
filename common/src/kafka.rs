//! A minimal Kafka protocol connection: one request in flight at a time,
//! frames built and parsed with the `kafka-protocol` crate.
//!
//! It is what the group-membership client needs and no more: no pipelining,
//! no metadata cache, no TLS or SASL.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response frame accepted (group responses are small; this bounds a
/// hostile or corrupt size prefix).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why a request failed on the connection (the connection is unusable after any of these).
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("connect to {0}: timed out")]
    ConnectTimeout(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("protocol: {0}")]
    Protocol(String),
}

/// One TCP connection to a broker.
pub struct KafkaConnection {
    addr: String,
    stream: TcpStream,
    client_id: StrBytes,
    next_correlation_id: i32,
}

impl KafkaConnection {
    /// Connect to `addr` (`host:port`) within `timeout`.
    pub async fn connect(
        addr: &str,
        client_id: &str,
        timeout: Duration,
    ) -> Result<Self, ConnectionError> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Err(_) => return Err(ConnectionError::ConnectTimeout(addr.to_string())),
            Ok(Err(source)) => {
                return Err(ConnectionError::Connect {
                    addr: addr.to_string(),
                    source,
                })
            }
            Ok(Ok(s)) => s,
        };
        stream.set_nodelay(true)?;
        Ok(Self {
            addr: addr.to_string(),
            stream,
            client_id: StrBytes::from_string(client_id.to_string()),
            next_correlation_id: 1,
        })
    }

    /// The `host:port` this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Send `request` at `version` and wait (at most `timeout`) for its response.
    pub async fn send<R: Request>(
        &mut self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, ConnectionError> {
        match tokio::time::timeout(timeout, self.round_trip(request, version)).await {
            Ok(r) => r,
            Err(_) => Err(ConnectionError::Timeout(timeout)),
        }
    }

    async fn round_trip<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, ConnectionError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let mut buf = BytesMut::with_capacity(256);
        buf.put_i32(0);
        header
            .encode(&mut buf, R::header_version(version))
            .map_err(|e| ConnectionError::Protocol(format!("encode header: {e:#}")))?;
        request
            .encode(&mut buf, version)
            .map_err(|e| ConnectionError::Protocol(format!("encode request: {e:#}")))?;
        let size = i32::try_from(buf.len() - 4)
            .map_err(|_| ConnectionError::Protocol("request too large".to_string()))?;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&buf).await?;

        let size = self.stream.read_i32().await?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= MAX_RESPONSE_BYTES)
            .ok_or_else(|| ConnectionError::Protocol(format!("bad response size {size}")))?;
        let mut frame = vec![0u8; size];
        self.stream.read_exact(&mut frame).await?;
        let mut frame = Bytes::from(frame);
        let header = ResponseHeader::decode(&mut frame, R::Response::header_version(version))
            .map_err(|e| ConnectionError::Protocol(format!("decode response header: {e:#}")))?;
        if header.correlation_id != correlation_id {
            return Err(ConnectionError::Protocol(format!(
                "correlation id {} does not match request {correlation_id}",
                header.correlation_id
            )));
        }
        let response = R::Response::decode(&mut frame, version)
            .map_err(|e| ConnectionError::Protocol(format!("decode response: {e:#}")))?;
        if frame.has_remaining() {
            tracing::debug!(
                trailing = frame.remaining(),
                "ignoring trailing response bytes"
            );
        }
        Ok(response)
    }
}
