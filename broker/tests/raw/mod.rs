//! A raw Kafka-protocol client for the group and offset tests: one TCP
//! connection, requests encoded and responses decoded with `kafka-protocol`,
//! and builders for the group requests the tests send again and again.
//!
//! Each test file that needs it includes it with `mod raw;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupResponse, RequestHeader, ResponseHeader,
    SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take (a JoinGroup waits for a rebalance).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub fn group(v: &str) -> GroupId {
    GroupId(s(v))
}

/// One connection to the broker.
pub struct Raw {
    stream: TcpStream,
    correlation_id: i32,
    client_id: String,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_as(addr, "strom-raw-test").await
    }

    /// Connect with this client id (it prefixes generated member ids).
    pub async fn connect_as(addr: SocketAddr, client_id: &str) -> Self {
        let stream = tokio::time::timeout(CALL_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect to the broker");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            correlation_id: 0,
            client_id: client_id.to_string(),
        }
    }

    /// Send one request at `version` and read its response.
    pub async fn call<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        let correlation_id = self.send(version, req).await;
        self.receive::<R>(version, correlation_id).await
    }

    /// Send one request without waiting for its answer (pipelining); returns
    /// its correlation id for [`Raw::receive`].
    pub async fn send<R: Request>(&mut self, version: i16, req: &R) -> i32 {
        self.correlation_id += 1;
        let correlation_id = self.correlation_id;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(s(&self.client_id)));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .expect("encode request header");
        req.encode(&mut body, version)
            .unwrap_or_else(|e| panic!("encode API {} v{version}: {e}", R::KEY));
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        tokio::time::timeout(CALL_TIMEOUT, self.stream.write_all(&frame))
            .await
            .unwrap_or_else(|_| panic!("API {} v{version}: send timed out", R::KEY))
            .unwrap_or_else(|e| panic!("API {} v{version}: connection failed: {e}", R::KEY));
        correlation_id
    }

    /// Read the answer to a request sent with [`Raw::send`] (answers come in order).
    pub async fn receive<R: Request>(&mut self, version: i16, correlation_id: i32) -> R::Response {
        let io = async {
            let len = self.stream.read_i32().await?;
            let mut buf = vec![0u8; len as usize];
            self.stream.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        let buf = tokio::time::timeout(CALL_TIMEOUT, io)
            .await
            .unwrap_or_else(|_| panic!("API {} v{version}: no answer in {CALL_TIMEOUT:?}", R::KEY))
            .unwrap_or_else(|e| panic!("API {} v{version}: connection failed: {e}", R::KEY));
        let mut buf = Bytes::from(buf);
        let header = ResponseHeader::decode(&mut buf, R::Response::header_version(version))
            .expect("decode response header");
        assert_eq!(header.correlation_id, correlation_id, "correlation id");
        R::Response::decode(&mut buf, version)
            .unwrap_or_else(|e| panic!("decode API {} v{version} response: {e}", R::KEY))
    }
}

/// Consumer-protocol subscription metadata for these topics (version 1).
pub fn subscription(topics: &[&str]) -> Bytes {
    let sub =
        ConsumerProtocolSubscription::default().with_topics(topics.iter().map(|t| s(t)).collect());
    let mut buf = BytesMut::new();
    buf.put_i16(1);
    sub.encode(&mut buf, 1).expect("encode subscription");
    buf.freeze()
}

/// A JoinGroup for protocol type `consumer` with one `range` protocol.
pub fn join(group_id: &str, member_id: &str, session_timeout_ms: i32) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(group(group_id))
        .with_session_timeout_ms(session_timeout_ms)
        .with_rebalance_timeout_ms(session_timeout_ms)
        .with_member_id(s(member_id))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(subscription(&["t"]))])
}

/// A SyncGroup; the leader passes the assignments.
pub fn sync(
    group_id: &str,
    generation: i32,
    member_id: &str,
    assignments: &[(&str, &[u8])],
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(group(group_id))
        .with_generation_id(generation)
        .with_member_id(s(member_id))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::copy_from_slice(a))
                })
                .collect(),
        )
}

pub fn heartbeat(group_id: &str, generation: i32, member_id: &str) -> HeartbeatRequest {
    HeartbeatRequest::default()
        .with_group_id(group(group_id))
        .with_generation_id(generation)
        .with_member_id(s(member_id))
}

/// Join with the v4+ round trip (MEMBER_ID_REQUIRED, then again with the id);
/// returns the final JoinGroup response.
pub async fn join_with_id(raw: &mut Raw, version: i16, req: JoinGroupRequest) -> JoinGroupResponse {
    let first = raw.call(version, &req).await;
    if first.error_code != 79 {
        return first;
    }
    raw.call(version, &req.with_member_id(first.member_id))
        .await
}

/// Join, and sync as the only member: (member id, generation).
pub async fn join_alone(raw: &mut Raw, group_id: &str) -> (String, i32) {
    let joined = join_with_id(raw, 5, join(group_id, "", 10_000)).await;
    assert_eq!(joined.error_code, 0, "join {group_id}: {joined:?}");
    let member = joined.member_id.to_string();
    assert_eq!(joined.leader.as_str(), member, "the only member leads");
    let synced: SyncGroupResponse = raw
        .call(
            3,
            &sync(group_id, joined.generation_id, &member, &[(&member, b"a")]),
        )
        .await;
    assert_eq!(synced.error_code, 0, "sync {group_id}");
    (member, joined.generation_id)
}

/// Heartbeat error code.
pub async fn heartbeat_code(raw: &mut Raw, group_id: &str, generation: i32, member: &str) -> i16 {
    let r: HeartbeatResponse = raw.call(3, &heartbeat(group_id, generation, member)).await;
    r.error_code
}

/// Heartbeat (every 50 ms) until the answer is `code`; panics after `timeout`.
pub async fn heartbeat_until(
    raw: &mut Raw,
    group_id: &str,
    generation: i32,
    member: &str,
    code: i16,
    timeout: Duration,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let got = heartbeat_code(raw, group_id, generation, member).await;
        if got == code {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "heartbeat of {member} in {group_id} still answers {got}, not {code}, after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
