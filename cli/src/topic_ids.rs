//! Topic ids for `strom topics describe`.
//!
//! librdkafka's metadata API (as exposed by `rdkafka`) has no topic ids, so we
//! ask a broker directly: ApiVersions v0, then Metadata at the highest
//! version both sides speak (ids exist from v10 on). Best effort, plain TCP
//! only: when anything fails, topics show Kafka's zero id, as
//! `kafka-topics.sh` does for a cluster without ids.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::Engine;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Kafka's zero topic id, as printed by its tools.
pub const ZERO_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// The largest response we accept (a metadata response for many topics).
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Kafka's text form of a UUID: URL-safe base64 without padding.
pub fn format_topic_id(id: &[u8; 16]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// Topic name -> topic id (Kafka's text form), from the first bootstrap
/// server that answers.
pub async fn fetch(bootstrap_servers: &str, timeout: Duration) -> Result<HashMap<String, String>> {
    let mut last_err = anyhow::anyhow!("no bootstrap server given");
    for server in bootstrap_servers.split(',').map(str::trim) {
        let server = server
            .rsplit_once("://")
            .map_or(server, |(_, address)| address);
        if server.is_empty() {
            continue;
        }
        match tokio::time::timeout(timeout, fetch_from(server)).await {
            Ok(Ok(ids)) => return Ok(ids),
            Ok(Err(e)) => last_err = e,
            Err(_) => last_err = anyhow::anyhow!("{server}: timed out"),
        }
    }
    Err(last_err)
}

async fn fetch_from(server: &str) -> Result<HashMap<String, String>> {
    let mut stream = TcpStream::connect(server)
        .await
        .with_context(|| format!("connect to {server}"))?;

    let versions: ApiVersionsResponse =
        round_trip(&mut stream, 1, 0, ApiVersionsRequest::default()).await?;
    if versions.error_code != 0 {
        bail!("ApiVersions failed with error code {}", versions.error_code);
    }
    let metadata_max = versions
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Metadata as i16)
        .map(|k| k.max_version)
        .context("broker does not offer Metadata")?;
    let version = metadata_max.min(MetadataRequest::VERSIONS.max);
    if version < 10 {
        return Ok(HashMap::new());
    }
    let request = MetadataRequest::default().with_topics(None);
    let response: MetadataResponse = round_trip(&mut stream, 2, version, request).await?;
    let mut ids = HashMap::new();
    for topic in response.topics {
        if let Some(name) = topic.name {
            ids.insert(
                name.0.to_string(),
                format_topic_id(topic.topic_id.as_bytes()),
            );
        }
    }
    Ok(ids)
}

/// Send one request and read its response.
async fn round_trip<Req, Resp>(
    stream: &mut TcpStream,
    correlation_id: i32,
    version: i16,
    request: Req,
) -> Result<Resp>
where
    Req: Encodable + HeaderVersion + ApiKeyed,
    Resp: Decodable + HeaderVersion,
{
    let header = RequestHeader::default()
        .with_request_api_key(Req::KEY as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("strom-cli")));
    let mut body = BytesMut::new();
    header.encode(&mut body, Req::header_version(version))?;
    request.encode(&mut body, version)?;
    let length = i32::try_from(body.len()).context("request too large")?;
    let mut frame = BytesMut::with_capacity(body.len() + 4);
    frame.put_i32(length);
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await?;

    let length = stream.read_i32().await?;
    let length = usize::try_from(length)
        .ok()
        .filter(|&n| n <= MAX_RESPONSE_BYTES)
        .with_context(|| format!("bad response length {length}"))?;
    let mut buf = vec![0u8; length];
    stream.read_exact(&mut buf).await?;
    let mut buf = Bytes::from(buf);
    let header = ResponseHeader::decode(&mut buf, Resp::header_version(version))?;
    if header.correlation_id != correlation_id {
        bail!("response correlation id mismatch");
    }
    let response = Resp::decode(&mut buf, version)?;
    if buf.has_remaining() {
        tracing::debug!(extra = buf.remaining(), "response has trailing bytes");
    }
    Ok(response)
}

/// The API key a request type is sent under.
trait ApiKeyed {
    const KEY: ApiKey;
}

impl ApiKeyed for ApiVersionsRequest {
    const KEY: ApiKey = ApiKey::ApiVersions;
}

impl ApiKeyed for MetadataRequest {
    const KEY: ApiKey = ApiKey::Metadata;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_id_format() {
        assert_eq!(format_topic_id(&[0; 16]), ZERO_ID);
    }

    #[test]
    fn id_format_matches_kafka() {
        // Kafka: new Uuid(0x0123456789abcdefL, 0xfedcba9876543210L).toString()
        let id = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
            0x32, 0x10,
        ];
        assert_eq!(format_topic_id(&id), "ASNFZ4mrze_-3LqYdlQyEA");
    }

    #[tokio::test]
    async fn unreachable_server_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let result = fetch(&address.to_string(), Duration::from_secs(5)).await;
        assert!(result.is_err());
    }
}
